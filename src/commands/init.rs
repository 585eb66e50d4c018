//! `dbguard init`: survey the project, write dbguard.toml (never over an existing one), and
//! say what was found and what to check.

use std::path::Path;

use crate::cli::InitArgs;
use crate::config::{self, Config};
use crate::error::{Error, Exit, Result};
use crate::init::{self, Survey};
use crate::project;

pub fn run(args: &InitArgs, explicit: Option<&Path>, quiet: bool) -> Result<Exit> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let target = explicit.map_or_else(|| cwd.join(config::FILE_NAME), Path::to_path_buf);
    if !args.print && target.symlink_metadata().is_ok() {
        return Err(Error::usage(format!(
            "{} already exists; dbguard init does not overwrite it",
            target.display()
        ))
        .with_help("edit it by hand, or see what init would write with `dbguard init --print`"));
    }
    let survey = init::survey(&cwd);
    let text = init::render(&survey, &cwd);
    // What init writes must load: an invalid file would break every later command.
    if let Err(e) = toml::from_str::<Config>(&text) {
        return Err(Error::usage(format!(
            "dbguard init produced an invalid configuration ({}); nothing was written",
            e.message()
        ))
        .with_help("please report this; meanwhile start from dbguard.toml.example"));
    }
    if args.print {
        super::write_stdout(|out| out.write_all(text.as_bytes()))?;
        return Ok(Exit::Ok);
    }
    write_new(&target, &text)?;
    if !quiet {
        print!("{}", summary(&survey, &cwd, &target));
    }
    Ok(Exit::Ok)
}

/// Creates the file, failing if it appeared meanwhile (never overwrite).
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))
}

fn summary(survey: &Survey, root: &Path, written: &Path) -> String {
    let mut lines = vec!["found:".to_string()];
    match &survey.alembic {
        Some(a) => lines.push(format!(
            "  alembic project: {} (revisions in {})",
            project::shown(&a.path, root),
            a.version_dirs
                .iter()
                .map(|d| project::shown(d, root))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => lines.push("  no alembic.ini".to_string()),
    }
    for dir in &survey.sql_dirs {
        lines.push(format!("  SQL migrations in {}", dir.display()));
    }
    match &survey.dev {
        Some(dev) => lines.push(format!(
            "  dev database: {} ({})",
            dev.target.masked_url(),
            dev.source
        )),
        None => lines.push("  no dev database URL in .env files or alembic.ini".to_string()),
    }
    if let Some(service) = &survey.compose {
        lines.push(format!(
            "  compose service {:?} ({}) serves it: backups run pg_dump inside it ([backup] exec)",
            service.name, service.image
        ));
    }
    match (&survey.test, &survey.test_dynamic) {
        (Some(test), _) => lines.push(format!(
            "  test database: {} ({})",
            test.target.masked_url(),
            test.source
        )),
        (None, Some(source)) => lines.push(format!(
            "  test database: set in {source}, but not readable without running it"
        )),
        (None, None) => lines.push("  no test database URL".to_string()),
    }
    lines.push(format!("wrote {}", written.display()));
    lines.push("check:".to_string());
    lines.push(format!(
        "  - read {} and adjust what init guessed (every value has a comment)",
        written
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    if survey.dev.as_ref().is_some_and(|d| d.has_password()) {
        lines.push("  - the dev URL holds a password, so dbguard.toml names its environment variable (url_env): export it where dbguard runs, or use ~/.pgpass".to_string());
    }
    let same_port = match (&survey.dev, &survey.test) {
        (Some(d), Some(t)) => d.target.effective_port() == t.target.effective_port(),
        _ => false,
    };
    if same_port {
        lines.push("  - the tests use the dev database's port: run them against a separate cluster on its own port".to_string());
    }
    lines.push("  - `dbguard check`: the migrations as they are now".to_string());
    lines.push("  - `dbguard verify-test-db`: the tests cannot reach the dev database (then `--mark` the test database)".to_string());
    lines.push("  - `dbguard hook install`: check staged migrations on every commit".to_string());
    lines.push("  - `dbguard psql` instead of psql, and `dbguard proxy` for GUI clients (host 127.0.0.1, port 6432): every statement typed is guarded".to_string());
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

//! `dbguard init`: what a project shows about its migrations and databases, and the
//! commented dbguard.toml that follows from it. Reads files only; never the environment of
//! the shell it runs in (a stray exported variable must not end up in the project's config)
//! and never a database.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::config::Loaded;
use crate::project::{self, alembic_ini, Value};
use crate::target::Target;
use crate::testdb::discover;

/// A database URL found in a project file.
#[derive(Clone, Debug)]
pub struct FoundUrl {
    pub var: String,
    pub target: Target,
    /// `path:line` and how.
    pub source: String,
}

impl FoundUrl {
    pub fn has_password(&self) -> bool {
        self.target.password().is_some()
    }
}

#[derive(Debug, Default)]
pub struct Survey {
    pub alembic: Option<alembic_ini::AlembicProject>,
    /// Directories holding SQL migrations, relative to the project.
    pub sql_dirs: Vec<PathBuf>,
    pub dev: Option<FoundUrl>,
    pub test: Option<FoundUrl>,
    /// A test URL found but built dynamically (cannot be read statically).
    pub test_dynamic: Option<String>,
    /// The compose service serving the dev database (it publishes the dev URL's port).
    pub compose: Option<project::compose::Service>,
}

/// `.env` files that describe the dev environment, in the order they are consulted.
const DEV_ENV_FILES: &[&str] = &[".env", ".env.local", ".env.development", ".env.dev"];
const MAX_DEPTH: usize = 4;
const SKIPPED: &[&str] = &[
    "node_modules",
    "__pycache__",
    "site-packages",
    "venv",
    "env",
    "target",
    "build",
    "dist",
];

pub fn survey(root: &Path) -> Survey {
    let no_env: BTreeMap<&str, &str> = BTreeMap::new();
    let alembic = std::iter::once(root.to_path_buf())
        .chain(subdirs(root))
        .find_map(|dir| alembic_ini::find(&dir));
    let mut sql_dirs = Vec::new();
    find_sql_dirs(root, root, 0, &mut sql_dirs);

    let mut dev = None;
    for name in DEV_ENV_FILES {
        let path = root.join(name);
        for a in project::dotenv_assignments(&path, name, &no_env) {
            let is_dev_var = a.var == discover::DEFAULT_DEV_VAR
                || (looks_like_url_var(&a.var) && !a.var.to_ascii_uppercase().contains("TEST"));
            if dev.is_none() && is_dev_var {
                dev = found(&a.var, &a.value, format!("{} in {}", a.var, a.location));
            }
        }
    }
    if dev.is_none() {
        if let Some((url, line)) = alembic.as_ref().and_then(|a| a.url.clone()) {
            let shown = project::shown(&alembic.as_ref().unwrap().path, root);
            // `driver://user:pass@localhost/dbname` is alembic's template placeholder.
            if !url.starts_with("driver://") {
                dev = found(
                    "sqlalchemy.url",
                    &Value::Known(url),
                    format!("sqlalchemy.url in {shown}:{line}"),
                );
            }
        }
    }

    // The tests' URL as verify-test-db would find it from the project's files alone.
    let loaded = Loaded::default();
    let discovery = discover::discover(&discover::Inputs {
        cli_url: None,
        config: &loaded,
        env: &no_env,
        cwd: root,
    });
    let (mut test, mut test_dynamic) = (None, None);
    match discovery.chosen {
        Some(c) => match c.raw {
            Some(raw) => {
                test = found(discover::DEFAULT_TEST_VAR, &Value::Known(raw), c.source);
            }
            None => test_dynamic = Some(c.source),
        },
        None => {
            // A TEST_DATABASE_URL kept in the dev .env files (exported before running pytest).
            for name in DEV_ENV_FILES {
                for a in project::dotenv_assignments(&root.join(name), name, &no_env) {
                    if test.is_none() && a.var == discover::DEFAULT_TEST_VAR {
                        test = found(&a.var, &a.value, format!("{} in {}", a.var, a.location));
                    }
                }
            }
        }
    }
    let compose = dev
        .as_ref()
        .and_then(|d| project::compose::service_for_port(root, d.target.effective_port()));
    Survey {
        alembic,
        sql_dirs,
        dev,
        test,
        test_dynamic,
        compose,
    }
}

fn found(var: &str, value: &Value, source: String) -> Option<FoundUrl> {
    let Value::Known(raw) = value else {
        return None;
    };
    Some(FoundUrl {
        var: var.to_string(),
        target: Target::parse(raw).ok()?,
        source,
    })
}

fn looks_like_url_var(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    (upper.contains("DATABASE") || upper.starts_with("DB_") || upper.starts_with("POSTGRES"))
        && (upper.ends_with("URL") || upper.ends_with("URI") || upper.ends_with("DSN"))
}

fn subdirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Directories with `*.sql` files whose path says "migration" (or sql/schema), topmost only.
fn find_sql_dirs(root: &Path, dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let has_sql = std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("sql"))
        })
    });
    let relative = dir.strip_prefix(root).unwrap_or(dir).to_path_buf();
    let lower = relative.to_string_lossy().to_ascii_lowercase();
    let named = lower.contains("migrat")
        || relative
            .file_name()
            .is_some_and(|n| matches!(n.to_string_lossy().as_ref(), "sql" | "schema" | "ddl"));
    if has_sql && named && !relative.as_os_str().is_empty() {
        out.push(relative);
        return;
    }
    if depth >= MAX_DEPTH {
        return;
    }
    for sub in subdirs(dir) {
        let name = sub.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.is_some_and(|n| !SKIPPED.contains(&n.as_str())) {
            find_sql_dirs(root, &sub, depth + 1, out);
        }
    }
}

/// The migration paths for `[check] paths`, relative to the project.
pub fn migration_paths(survey: &Survey, root: &Path) -> Vec<String> {
    let mut paths: Vec<String> = survey
        .alembic
        .iter()
        .flat_map(|a| &a.version_dirs)
        .map(|d| project::shown(d, root))
        .collect();
    for dir in &survey.sql_dirs {
        let dir = dir.to_string_lossy().into_owned();
        if !paths.iter().any(|p| dir.starts_with(p.as_str())) {
            paths.push(dir);
        }
    }
    paths
}

fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The commented dbguard.toml.
pub fn render(survey: &Survey, root: &Path) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# dbguard.toml, written by `dbguard init` from what this project shows. Check every\n\
         # value; dbguard.toml.example in dbguard's repository explains every key. Unknown keys\n\
         # are an error, so a typo never turns a protection off silently.\n"
    );

    let _ = writeln!(w, "[check]");
    let paths = migration_paths(survey, root);
    if paths.is_empty() {
        let _ = writeln!(
            w,
            "# No migration directory found: `dbguard check` without arguments reads every *.sql\n\
             # file under the current directory. Name the migration directories here:\n\
             # paths = [\"migrations\"]"
        );
    } else {
        let _ = writeln!(
            w,
            "# Migrations: what `dbguard check` reads without arguments and what the pre-commit hook\n\
             # checks (found: {}).",
            describe_paths(survey)
        );
        let list: Vec<String> = paths.iter().map(|p| quote(p)).collect();
        let _ = writeln!(w, "paths = [{}]", list.join(", "));
    }
    let _ = writeln!(
        w,
        "# The lowest severity that fails a check: \"data-loss\" (default), \"risky\", \"info\", \"never\".\n\
         # fail_on = \"data-loss\"\n"
    );

    let _ = writeln!(w, "[database]");
    let _ = writeln!(w, "# The dev database dbguard protects.");
    match &survey.dev {
        Some(dev) if dev.has_password() => {
            let _ = writeln!(
                w,
                "# Found {}: it holds a password, and passwords never go into this file, so\n\
                 # dbguard reads the URL from the environment variable (export it, or use url\n\
                 # without the password and keep the password in ~/.pgpass).",
                dev.source
            );
            let var = if dev.var == "sqlalchemy.url" {
                discover::DEFAULT_DEV_VAR
            } else {
                &dev.var
            };
            let _ = writeln!(w, "url_env = {}", quote(var));
        }
        Some(dev) => {
            let _ = writeln!(w, "# Found {}.", dev.source);
            let _ = writeln!(w, "url = {}", quote(&dev.target.masked_url()));
        }
        None => {
            let _ = writeln!(
                w,
                "# Not found in .env files or alembic.ini: dbguard uses $DATABASE_URL, else PG* variables.\n\
                 # url = \"postgresql://app@localhost:5433/app_dev\""
            );
        }
    }
    let _ = writeln!(w);

    if let Some(service) = &survey.compose {
        let exec: Vec<String> = service.exec().iter().map(|w| quote(w)).collect();
        let _ = writeln!(
            w,
            "[backup]\n\
             # The dev database runs in the compose service {name:?} ({file} publishes port {port}):\n\
             # pg_dump, pg_restore and psql run inside it, so their version always matches the\n\
             # server's. Streams pass through; compression, checksums and encryption stay here.\n\
             exec = [{exec}]\n",
            name = service.name,
            file = project::shown(&service.file, root),
            port = survey.dev.as_ref().map_or(0, |d| d.target.effective_port()),
            exec = exec.join(", ")
        );
    }

    let _ = writeln!(w, "[test_database]");
    let _ = writeln!(
        w,
        "# `dbguard verify-test-db` finds the tests' URL itself ($TEST_DATABASE_URL, pytest-env,\n\
         # conftest.py, .env.test); set url_env or url here only to override that."
    );
    match (&survey.test, &survey.dev) {
        (Some(test), dev) => {
            let _ = writeln!(
                w,
                "# Found now: {} ({}).",
                test.target.masked_url(),
                test.source
            );
            let port = test.target.effective_port();
            let same_port = dev
                .as_ref()
                .is_some_and(|d| d.target.effective_port() == port);
            if same_port {
                let _ = writeln!(
                    w,
                    "# The tests use the dev database's port ({port}): a separate test cluster on its own\n\
                     # port is safer. Then set it here:\n# port = 5434"
                );
            } else {
                let _ = writeln!(
                    w,
                    "# The test cluster's port: a test URL on any other port fails."
                );
                let _ = writeln!(w, "port = {port}");
            }
            match name_pattern(&test.target.effective_dbname()) {
                Some(pattern) => {
                    let _ = writeln!(w, "# Test database names must match this glob.");
                    let _ = writeln!(w, "name_pattern = {}", quote(&pattern));
                }
                None => {
                    let _ = writeln!(
                        w,
                        "# The test database's name does not say \"test\"; once it does:\n# name_pattern = \"*_test\""
                    );
                }
            }
        }
        (None, _) => {
            let _ = writeln!(
                w,
                "# No test URL found. Tell dbguard where it is, e.g.:\n\
                 # url_env = \"TEST_DATABASE_URL\"\n# port = 5434\n# name_pattern = \"*_test\""
            );
        }
    }
    let _ = writeln!(
        w,
        "# After `dbguard verify-test-db --mark`, require the marker in the test database:\n\
         # require_mark = true"
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "[proxy]");
    let _ = writeln!(
        w,
        "# `dbguard psql` (interactive psql) and `dbguard proxy` (GUI clients, REPLs, ORM shells)\n\
         # check every statement on the wire. Point a GUI client at `dbguard proxy`: host 127.0.0.1,\n\
         # port 6432, your usual database, user and password, SSL off.\n\
         # Destructive statements: \"snapshot\" protects what is at stake, then runs; \"block\" refuses.\n\
         destructive = \"snapshot\"\n\
         # listen = \"127.0.0.1:6432\""
    );
    out
}

fn describe_paths(survey: &Survey) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &survey.alembic {
        parts.push(format!(
            "alembic revisions from {}",
            a.path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
    }
    if !survey.sql_dirs.is_empty() {
        parts.push("SQL migration directories".to_string());
    }
    parts.join(" and ")
}

/// `*_test` for `app_test`, `test_*` for `test_app`.
pub fn name_pattern(dbname: &str) -> Option<String> {
    let lower = dbname.to_ascii_lowercase();
    for suffix in ["_test", "_tests", "-test", "_testing"] {
        if lower.ends_with(suffix) {
            return Some(format!("*{}", &dbname[dbname.len() - suffix.len()..]));
        }
    }
    for prefix in ["test_", "test-"] {
        if lower.starts_with(prefix) {
            return Some(format!("{}*", &dbname[..prefix.len()]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_from_names() {
        assert_eq!(name_pattern("app_test").as_deref(), Some("*_test"));
        assert_eq!(name_pattern("test_app").as_deref(), Some("test_*"));
        assert_eq!(name_pattern("app"), None);
    }

    #[test]
    fn a_compose_service_publishing_the_dev_port_is_proposed_for_exec() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".env"),
            "DATABASE_URL=postgresql://app@localhost:5433/app\n",
        )
        .unwrap();
        std::fs::write(
            root.join("compose.yaml"),
            "services:\n  postgres:\n    image: postgres:18\n    ports:\n      - 5433:5432\n",
        )
        .unwrap();
        let text = render(&survey(root), root);
        let config: crate::config::Config = toml::from_str(&text).unwrap();
        assert_eq!(
            config.backup.exec.unwrap(),
            ["docker", "compose", "exec", "-T", "postgres"]
        );
        // Another port: not the dev database's container.
        std::fs::write(
            root.join(".env"),
            "DATABASE_URL=postgresql://app@localhost:6000/app\n",
        )
        .unwrap();
        let text = render(&survey(root), root);
        assert!(!text.contains("exec ="), "{text}");
    }

    #[test]
    fn rendered_config_is_valid_and_has_no_password() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join(".env"),
            "DATABASE_URL=postgresql://app:hunter2@localhost:5433/app\n",
        )
        .unwrap();
        std::fs::write(
            root.join(".env.test"),
            "DATABASE_URL=postgresql://app:hunter2@localhost:5434/app_test\n",
        )
        .unwrap();
        std::fs::write(
            root.join("alembic.ini"),
            "[alembic]\nscript_location = alembic\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("db/migrations")).unwrap();
        std::fs::write(root.join("db/migrations/1.sql"), "SELECT 1;").unwrap();
        let survey = survey(root);
        let text = render(&survey, root);
        assert!(!text.contains("hunter2"), "{text}");
        let config: crate::config::Config = toml::from_str(&text).unwrap();
        assert_eq!(config.database.url_env.as_deref(), Some("DATABASE_URL"));
        assert_eq!(config.test_database.port, Some(5434));
        assert_eq!(config.test_database.name_pattern.as_deref(), Some("*_test"));
        assert_eq!(
            config.check.paths,
            vec![
                PathBuf::from("alembic/versions"),
                PathBuf::from("db/migrations")
            ]
        );
    }
}

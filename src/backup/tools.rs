//! Finding the PostgreSQL client programs (`pg_dump`, `pg_restore`, `psql`) that can handle
//! the server: the newest new-enough one on this machine, the ones in `[backup] bindir`, or
//! the ones inside the database's container (`[backup] exec`).
//!
//! Whatever runs them, their streams are the same stdin/stdout pipes: compression, checksums,
//! encryption and verification stay on this side.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Exit, Result};
use crate::target::Target;

/// Where the client programs come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// PATH, Debian's versioned directories and `pg_config --bindir`: the newest new enough.
    #[default]
    Search,
    /// `[backup] bindir`: only there.
    Bindir(PathBuf),
    /// `[backup] exec`: an argv prefix that runs a program where the database lives, e.g.
    /// `docker compose exec -T db`.
    Exec(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct PgTool {
    /// The program's path here, or its name inside the container.
    pub path: PathBuf,
    /// E.g. `15.18`.
    pub version: String,
    pub major: u32,
    /// Set when it runs through `[backup] exec`.
    pub exec: Option<Vec<String>>,
}

impl PgTool {
    /// How it reads in messages: `/usr/bin/pg_dump` or `pg_dump in `docker compose exec -T db``.
    pub fn describe(&self) -> String {
        match &self.exec {
            Some(prefix) => format!("{} in `{}`", self.path.display(), prefix.join(" ")),
            None => self.path.display().to_string(),
        }
    }

    /// A command running this program against `target` (or against no database, e.g. for
    /// `pg_restore --list`). Connection settings go where the program will see them: the
    /// libpq environment here; inside a container, arguments for the user and database (the
    /// container's own defaults reach its server: its socket, its port) and the password
    /// forwarded by name through the exec tool's environment (`-e PGPASSWORD`), so that it
    /// never appears in an argv `ps` can show.
    pub fn command(&self, target: Option<&Target>) -> Result<Command> {
        let Some(prefix) = &self.exec else {
            let mut command = Command::new(&self.path);
            if let Some(target) = target {
                command
                    .envs(target.libpq_env())
                    .arg(format!("--dbname={}", target.effective_dbname()));
            }
            return Ok(command);
        };
        let password = target.and_then(Target::password);
        let mut argv = prefix.clone();
        if password.is_some() {
            let at = env_flag_position(prefix).ok_or_else(|| {
                Error::usage(format!(
                    "[backup] exec = {prefix:?}: dbguard cannot tell how to pass the database password into it without putting it on a command line"
                ))
                .with_help("use `docker exec`, `docker compose exec` or `podman exec` (dbguard forwards PGPASSWORD with -e), or let the container's own trust/peer authentication or .pgpass log in and drop the password from the URL")
            })?;
            argv.splice(at..at, ["-e".to_string(), "PGPASSWORD".to_string()]);
        }
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]).arg(&self.path);
        if let Some(target) = target {
            command
                .arg(format!("--username={}", target.effective_user()))
                .arg(format!("--dbname={}", target.effective_dbname()));
            if let Some(password) = password {
                // Read by the exec tool from its own environment (`-e NAME` without a value).
                command.env("PGPASSWORD", password);
            }
        }
        Ok(command)
    }
}

/// Where `-e NAME` goes in a known exec prefix: right after its `exec` word (before the
/// container or service name). `None` for tools dbguard does not know.
fn env_flag_position(prefix: &[String]) -> Option<usize> {
    let program = Path::new(prefix.first()?)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    if !matches!(
        program.as_str(),
        "docker" | "podman" | "docker-compose" | "podman-compose" | "nerdctl"
    ) {
        return None;
    }
    prefix.iter().position(|w| w == "exec").map(|i| i + 1)
}

/// Refuses an exec prefix that would corrupt or starve the streams: a terminal (`-t`) turns
/// the binary dump into text, and `docker exec` without `-i` gives pg_restore no stdin.
pub fn check_exec(prefix: &[String]) -> Result<()> {
    let program = Path::new(&prefix[0])
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(at) = prefix.iter().position(|w| w == "exec") else {
        return Ok(());
    };
    let flags: Vec<&str> = prefix[at + 1..]
        .iter()
        .map(String::as_str)
        .filter(|w| w.starts_with('-'))
        .collect();
    let short = |letter: char| {
        flags
            .iter()
            .any(|f| !f.starts_with("--") && f[1..].contains(letter))
    };
    let long = |name: &str| flags.contains(&name);
    let compose = program.ends_with("-compose") || prefix[1..at].iter().any(|w| w == "compose");
    let bad = |why: &str, fix: &str| {
        Err(Error::usage(format!("[backup] exec = {prefix:?}: {why}")).with_help(fix.to_string()))
    };
    if compose {
        if !(short('T') || long("--no-TTY") || long("--no-tty")) {
            return bad(
                "compose gives the command a terminal unless told not to, which corrupts the dump",
                "add -T after exec, e.g. [\"docker\", \"compose\", \"exec\", \"-T\", \"db\"]",
            );
        }
    } else if matches!(program.as_str(), "docker" | "podman" | "nerdctl") {
        if short('t') || long("--tty") {
            return bad(
                "-t gives the command a terminal, which corrupts the dump",
                "use -i without -t, e.g. [\"docker\", \"exec\", \"-i\", \"my-postgres\"]",
            );
        }
        if !(short('i') || long("--interactive")) {
            return bad(
                "without -i the command gets no stdin, and a restore streams the backup into it",
                "add -i after exec, e.g. [\"docker\", \"exec\", \"-i\", \"my-postgres\"]",
            );
        }
    }
    Ok(())
}

/// Every place a PostgreSQL client program may live: PATH, Debian's versioned directories,
/// and `pg_config --bindir`.
fn candidates(name: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = which::which_all(name)
        .map(|it| it.collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        paths.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").join(name))
                .filter(|p| p.is_file()),
        );
    }
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let path = Path::new(&dir).join(name);
        if !dir.is_empty() && path.is_file() {
            paths.push(path);
        }
    }
    paths
}

/// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → (`15.18`, 15).
pub fn parse_version(output: &str) -> Option<(String, u32)> {
    let version = output
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().ok()?;
    Some((version.to_string(), major))
}

fn probe(path: &Path) -> Option<PgTool> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()?;
    let (version, major) = parse_version(&String::from_utf8_lossy(&out.stdout))?;
    Some(PgTool {
        path: path.to_path_buf(),
        version,
        major,
        exec: None,
    })
}

/// Runs `PREFIX name --version` where the database lives.
fn probe_exec(prefix: &[String], name: &str) -> Result<PgTool> {
    let shown = prefix.join(" ");
    let out = Command::new(&prefix[0])
        .args(&prefix[1..])
        .args([name, "--version"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::usage(format!("[backup] exec: cannot run `{shown}`: {e}"))
                .with_help("is the exec tool installed and on PATH?")
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match parse_version(&stdout) {
        Some((version, major)) if out.status.success() => Ok(PgTool {
            path: PathBuf::from(name),
            version,
            major,
            exec: Some(prefix.to_vec()),
        }),
        _ => Err(Error {
            exit: Exit::Backup,
            message: format!(
                "`{shown} {name} --version` failed ({}): {}",
                out.status,
                crate::target::mask_secrets(String::from_utf8_lossy(&out.stderr).trim())
            ),
            help: Some(
                "is the container running (`docker compose up -d db`) and is its name right in [backup] exec?"
                    .into(),
            ),
        }),
    }
}

/// The newest `name` whose major version is at least `min_major` (the server's), from the
/// configured source.
pub fn find_in(source: &Source, name: &str, min_major: u32) -> Result<PgTool> {
    let found: Vec<PgTool> = match source {
        Source::Exec(prefix) => {
            let tool = probe_exec(prefix, name)?;
            if tool.major >= min_major {
                return Ok(tool);
            }
            vec![tool]
        }
        Source::Bindir(dir) => probe(&dir.join(name)).into_iter().collect(),
        Source::Search => {
            // The same program is often reachable several ways (a PATH symlink into
            // /usr/lib/postgresql): ask each real file for its version once.
            let mut seen = std::collections::HashSet::new();
            let unique = candidates(name)
                .into_iter()
                .filter(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
            unique.filter_map(|p| probe(&p)).collect()
        }
    };
    let mut found = found;
    found.sort_by_key(|t| std::cmp::Reverse(t.major));
    if let Some(tool) = found.iter().find(|t| t.major >= min_major) {
        return Ok(tool.clone());
    }
    Err(not_found(source, name, min_major, &found))
}

/// [`find_in`] with the default search.
pub fn find(name: &str, min_major: u32) -> Result<PgTool> {
    find_in(&Source::Search, name, min_major)
}

/// The error when nothing fits, naming the three ways out with the exact dbguard.toml lines.
fn not_found(source: &Source, name: &str, min_major: u32, found: &[PgTool]) -> Error {
    let seen = if found.is_empty() {
        "none found".to_string()
    } else {
        found
            .iter()
            .map(|t| format!("{} {} at {}", name, t.version, t.describe()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wherein = match source {
        Source::Search => String::new(),
        Source::Bindir(dir) => format!(" in [backup] bindir {}", dir.display()),
        Source::Exec(prefix) => format!(" in [backup] exec `{}`", prefix.join(" ")),
    };
    let bindir = format!("/usr/lib/postgresql/{min_major}/bin");
    Error {
        exit: Exit::Backup,
        message: format!(
            "no {name} of version {min_major} or newer{wherein} for this PostgreSQL {min_major} server ({seen})"
        ),
        help: Some(format!(
            "any one of these fixes it:\n\
             \x20   1. install the client programs of PostgreSQL {min_major} or newer (e.g. `apt-get install postgresql-client-{min_major}` from the PostgreSQL apt repository)\n\
             \x20   2. point dbguard at ones you have, under [backup] in dbguard.toml:  bindir = \"{bindir}\"\n\
             \x20   3. run them inside the database's container, under [backup] in dbguard.toml:  exec = [\"docker\", \"compose\", \"exec\", \"-T\", \"db\"]  (db: the compose service; `dbguard init` proposes it)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_parsed() {
        assert_eq!(
            parse_version("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(("15.18".into(), 15))
        );
        assert_eq!(
            parse_version("pg_restore (PostgreSQL) 17beta1"),
            Some(("17beta1".into(), 17))
        );
        assert_eq!(parse_version("nonsense"), None);
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_password_is_forwarded_by_name_only() {
        let tool = PgTool {
            path: PathBuf::from("pg_dump"),
            version: "18.1".into(),
            major: 18,
            exec: Some(words(&["docker", "compose", "exec", "-T", "db"])),
        };
        let target = Target::parse("postgresql://app:s3cret@localhost:5433/app_dev").unwrap();
        let command = tool.command(Some(&target)).unwrap();
        let argv: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            words(&[
                "compose",
                "exec",
                "-e",
                "PGPASSWORD",
                "-T",
                "db",
                "pg_dump",
                "--username=app",
                "--dbname=app_dev"
            ])
        );
        let env: Vec<_> = command.get_envs().collect();
        assert!(env
            .iter()
            .any(|(k, v)| *k == "PGPASSWORD" && v.is_some_and(|v| v == "s3cret")));
    }

    #[test]
    fn an_unknown_exec_tool_with_a_password_is_refused() {
        let tool = PgTool {
            path: PathBuf::from("pg_dump"),
            version: "18.1".into(),
            major: 18,
            exec: Some(words(&["kubectl", "exec", "-i", "pg-0", "--"])),
        };
        let with = Target::parse("postgresql://app:s3cret@localhost/app").unwrap();
        assert!(tool.command(Some(&with)).is_err());
        let without = Target::parse("postgresql://app@localhost/app").unwrap();
        assert!(tool.command(Some(&without)).is_ok());
    }

    #[test]
    fn exec_prefixes_that_break_the_streams_are_refused() {
        assert!(check_exec(&words(&["docker", "compose", "exec", "-T", "db"])).is_ok());
        assert!(check_exec(&words(&["docker", "compose", "exec", "db"])).is_err());
        assert!(check_exec(&words(&["docker-compose", "exec", "-T", "db"])).is_ok());
        assert!(check_exec(&words(&["docker", "exec", "-i", "pg"])).is_ok());
        assert!(check_exec(&words(&["podman", "exec", "-it", "pg"])).is_err());
        assert!(check_exec(&words(&["docker", "exec", "pg"])).is_err());
        assert!(check_exec(&words(&["kubectl", "exec", "-i", "pg-0", "--"])).is_ok());
    }

    #[test]
    fn the_error_names_three_ways_out() {
        let error = not_found(&Source::Search, "pg_dump", 18, &[]);
        let help = error.help.unwrap();
        assert!(help.contains("postgresql-client-18"), "{help}");
        assert!(
            help.contains("bindir = \"/usr/lib/postgresql/18/bin\""),
            "{help}"
        );
        assert!(help.contains("exec = [\"docker\", \"compose\""), "{help}");
    }
}

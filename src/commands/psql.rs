//! `dbguard psql [PSQL ARGS…]` (and `dbguard run -- psql …` on a terminal): the real psql,
//! pointed at a private proxy on a unix socket in a fresh 0700 directory, so every statement
//! typed is guarded; a destructive one is confirmed on the terminal while psql waits.

use std::sync::Arc;

use super::Context;
use crate::analysis::command::psql;
use crate::cli::PsqlArgs;
use crate::error::{Error, Result};
use crate::proxy::{self, Listener};
use crate::target::{ProcessEnv, Target};

pub fn run(context: &Context, args: PsqlArgs) -> Result<u8> {
    let mut argv = vec!["psql".to_string()];
    argv.extend(args.args);
    run_argv(context, &argv, true)
}

/// Runs `argv` (a psql command line) through a private proxy; psql's exit code is ours.
/// `project_default`: without connection options or PG* variables, connect to `[database]`
/// (`dbguard psql`) rather than where psql itself would (`dbguard run -- psql`).
pub fn run_argv(context: &Context, argv: &[String], project_default: bool) -> Result<u8> {
    let (target, rest) = psql::connection(argv, &ProcessEnv)?;
    let target = if !project_default || has_connection(argv) {
        target
    } else {
        context.config.database(None, &ProcessEnv)?.0
    };
    let dir = private_dir()?;
    let port = target.effective_port();
    let listener = Listener::unix(&dir, port)?;
    let mode = super::proxy::mode(None, context.config.config.proxy.destructive);
    let interactive = proxy::terminal_available();
    let shared = super::proxy::shared(context, target.clone(), mode, interactive, "psql")?;
    // psql finds its password here (its .pgpass lookup would use the socket path as host).
    // Set before any proxy thread exists.
    if let Some(password) = target.password() {
        std::env::set_var("PGPASSWORD", password);
    }
    std::env::remove_var("PGHOSTADDR");
    std::env::remove_var("PGSERVICE");
    let shared = Arc::new(shared);
    std::thread::spawn(move || proxy::serve(&listener, shared));
    let mut command = vec![argv[0].clone()];
    command.extend(rest);
    command.push("-d".into());
    command.push(conninfo(&target, &dir, port));
    let code = crate::exec::run(&command, None);
    let _ = std::fs::remove_dir_all(&dir);
    code
}

/// Whether the command line says where to connect (else `[database]` applies, as for `run`).
fn has_connection(argv: &[String]) -> bool {
    let env_says = ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    env_says
        || psql::connection(argv, &ProcessEnv)
            .map_or(true, |(_, rest)| rest.len() + 1 != argv.len())
}

/// A fresh directory only this user can enter, for the proxy's socket.
fn private_dir() -> Result<std::path::PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!(
            "dbguard-psql-{}-{:x}{attempt}",
            std::process::id(),
            nanos
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::usage(format!(
                    "cannot create a private directory in {}: {e}",
                    base.display()
                )))
            }
        }
    }
    Err(Error::usage(
        "cannot create a private directory for the psql proxy",
    ))
}

/// `host=DIR port=PORT dbname=… user=…` (plus application_name), quoted for libpq.
fn conninfo(target: &Target, dir: &std::path::Path, port: u16) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = vec![
        format!("host={}", quote(&dir.display().to_string())),
        format!("port={port}"),
        format!("dbname={}", quote(&target.effective_dbname())),
        format!("user={}", quote(&target.effective_user())),
    ];
    for key in ["application_name", "options"] {
        if let Some(v) = target.params.get(key) {
            parts.push(format!("{key}={}", quote(v)));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conninfo_quotes_values() {
        let target = Target::parse("postgresql://o'neil@h/app").unwrap();
        let text = conninfo(&target, std::path::Path::new("/tmp/x y"), 5433);
        assert_eq!(
            text,
            "host='/tmp/x y' port=5433 dbname='app' user='o\\'neil'"
        );
    }
}

//! `[restore] before` / `after`: commands run around anything that puts data back into the
//! database (`dbguard restore`, and `undo`), e.g. stopping the API and workers so nothing
//! writes during the restore, and starting them again.
//!
//! `before` runs first; if it fails, nothing is touched. `after` runs once the work is done,
//! also when it failed, and also when `before` failed (it may have stopped half of what it
//! stops): the services must come back either way. Both are argv lists run
//! without a shell, from the project directory, with their output on stderr (stdout stays
//! dbguard's), and with `DBGUARD_HOOK`, `DBGUARD_DATABASE` and, for `after`,
//! `DBGUARD_RESTORE_OK` (`1` or `0`) in their environment.

use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::config::Loaded;
use crate::error::{Error, Exit, Result};
use crate::target::mask_secrets;

#[derive(Clone, Debug, Default)]
pub struct Hooks {
    pub before: Vec<String>,
    pub after: Vec<String>,
    /// Where they run: the directory of dbguard.toml.
    pub dir: Option<PathBuf>,
}

impl Hooks {
    pub fn from_config(loaded: &Loaded) -> Hooks {
        let config = &loaded.config.restore;
        Hooks {
            before: config.before.clone(),
            after: config.after.clone(),
            dir: loaded
                .path
                .as_deref()
                .and_then(|p| p.parent())
                .filter(|d| !d.as_os_str().is_empty())
                .map(PathBuf::from),
        }
    }
}

fn shown(argv: &[String]) -> String {
    mask_secrets(&argv.join(" "))
}

/// Runs one hook; `Err` says how it failed.
fn run_hook(
    hooks: &Hooks,
    which: &str,
    argv: &[String],
    env: &[(&str, String)],
) -> std::result::Result<(), String> {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).env("DBGUARD_HOOK", which);
    for (k, v) in env {
        command.env(k, v);
    }
    if let Some(dir) = &hooks.dir {
        command.current_dir(dir);
    }
    // The hook's stdout goes to our stderr: dbguard's stdout may be JSON for a script.
    let stdout: Stdio = match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => fd.into(),
        Err(_) => Stdio::null(),
    };
    let status = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", shown(argv)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` exited with {status}", shown(argv)))
    }
}

/// Runs `work` between the `before` and `after` hooks. `database` names the target for the
/// hooks' environment.
pub fn around<T>(hooks: &Hooks, database: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let env = [("DBGUARD_DATABASE", database.to_string())];
    let before = match hooks.before.is_empty() {
        true => Ok(()),
        false => run_hook(hooks, "before", &hooks.before, &env),
    };
    let result = match before {
        Ok(()) => work(),
        Err(why) => Err(Error {
            exit: Exit::Backup,
            message: format!("[restore] before failed, nothing was touched: {why}"),
            help: Some("fix the hook (or remove it from dbguard.toml) and run again".into()),
        }),
    };
    if hooks.after.is_empty() {
        return result;
    }
    let ok = if result.is_ok() { "1" } else { "0" };
    let env = [
        ("DBGUARD_DATABASE", database.to_string()),
        ("DBGUARD_RESTORE_OK", ok.to_string()),
    ];
    match (result, run_hook(hooks, "after", &hooks.after, &env)) {
        (result, Ok(())) => result,
        (Ok(_), Err(why)) => Err(Error {
            exit: Exit::Backup,
            message: format!("the restore succeeded, but [restore] after failed: {why}"),
            help: Some("what it starts may still be stopped: run it by hand".into()),
        }),
        (Err(mut e), Err(why)) => {
            e.message = format!("{}\n[restore] after failed too: {why}", e.message);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn order_and_after_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let hooks = Hooks {
            before: sh(&format!(
                "echo before $DBGUARD_DATABASE >> {}",
                log.display()
            )),
            after: sh(&format!(
                "echo after $DBGUARD_RESTORE_OK >> {}",
                log.display()
            )),
            dir: None,
        };
        let ok: Result<()> = around(&hooks, "app", || {
            std::fs::write(
                &log,
                format!("{}work\n", std::fs::read_to_string(&log).unwrap()),
            )
            .unwrap();
            Ok(())
        });
        assert!(ok.is_ok());
        let failed: Result<()> = around(&hooks, "app", || Err(Error::usage("boom")));
        assert!(failed.unwrap_err().message.contains("boom"));
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "before app\nwork\nafter 1\nbefore app\nafter 0\n"
        );
    }

    #[test]
    fn a_failing_before_skips_the_work_but_not_after() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let hooks = Hooks {
            before: sh("exit 3"),
            after: sh(&format!(
                "echo after $DBGUARD_RESTORE_OK >> {}",
                log.display()
            )),
            dir: None,
        };
        let mut ran = false;
        let result: Result<()> = around(&hooks, "app", || {
            ran = true;
            Ok(())
        });
        assert!(!ran);
        assert!(result.unwrap_err().message.contains("nothing was touched"));
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "after 0\n");
    }
}

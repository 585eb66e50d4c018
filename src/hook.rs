//! The git pre-commit hook: a small POSIX shell script that runs `dbguard check --staged`,
//! then the hook that was there before (when installed with `--force`).
//!
//! A hook dbguard wrote carries `MARKER`, so dbguard only ever replaces or removes its own.
//! A foreign hook is never overwritten: `--force` moves it to `pre-commit.dbguard-chained`
//! and dbguard's hook runs it after its own check; uninstalling moves it back.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const MARKER: &str = "# dbguard-managed-hook";
pub const HOOK: &str = "pre-commit";
pub const CHAINED: &str = "pre-commit.dbguard-chained";

/// The hook's text. `config` is a `--config` file given at install time, passed on to every
/// check.
pub fn script(binary: &Path, config: Option<&Path>) -> String {
    let binary = shell_quote(&binary.to_string_lossy());
    let config = config.map_or(String::new(), |c| {
        format!(" --config {}", shell_quote(&c.to_string_lossy()))
    });
    format!(
        r#"#!/bin/sh
{MARKER}: written by `dbguard hook install`; `dbguard hook uninstall` removes it.
# Checks the staged content of migrations (`dbguard check --staged`), then runs the hook
# that was here before, if any (kept as {CHAINED}).

dbguard={binary}
if [ ! -x "$dbguard" ]; then
    # Moved since the hook was written. Git may run hooks with a minimal environment, so
    # look beyond PATH too: where `cargo install` puts binaries.
    dbguard=$(command -v dbguard 2>/dev/null)
    for candidate in "${{CARGO_HOME:-${{HOME:-/nonexistent}}/.cargo}}/bin/dbguard" /usr/local/bin/dbguard; do
        if [ -z "$dbguard" ] && [ -x "$candidate" ]; then
            dbguard=$candidate
        fi
    done
fi
if [ -z "$dbguard" ]; then
    echo "error: dbguard pre-commit hook: the dbguard binary is gone (it was at "{binary}")" >&2
    echo "  help: reinstall dbguard and run \`dbguard hook install\`, remove the hook with \`dbguard hook uninstall\`, or skip hooks once with \`git commit --no-verify\`" >&2
    exit 1
fi

"$dbguard"{config} check --staged
status=$?
if [ "$status" -ne 0 ]; then
    echo >&2
    echo "dbguard: commit blocked (the staged migrations above would destroy data, or could not be checked)." >&2
    echo "  help: fix the staged file, or allow an intended change in the SQL with" >&2
    echo "        -- dbguard:allow RULE reason: \"why it is safe\"" >&2
    exit "$status"
fi

chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    exec "$chained" "$@"
fi
exit 0
"#
    )
}

/// `'…'` for sh, with embedded single quotes closed, escaped and reopened.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub fn is_ours(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|text| text.contains(MARKER))
}

#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    New,
    /// dbguard's own hook was rewritten (e.g. to point at a new binary).
    Updated,
    /// A foreign hook was moved aside and is chained after dbguard's check.
    Chained(PathBuf),
}

pub fn install(
    hooks_dir: &Path,
    binary: &Path,
    config: Option<&Path>,
    force: bool,
) -> Result<Installed> {
    fs::create_dir_all(hooks_dir).map_err(|e| {
        Error::usage(format!(
            "cannot create the hooks directory {}: {e}",
            hooks_dir.display()
        ))
    })?;
    let hook = hooks_dir.join(HOOK);
    let chained = hooks_dir.join(CHAINED);
    let exists = hook.symlink_metadata().is_ok();
    let outcome = if !exists {
        Installed::New
    } else if is_ours(&hook) {
        Installed::Updated
    } else if !force {
        let framework = fs::read_to_string(&hook).is_ok_and(|t| t.contains("pre-commit.com"));
        let help = if framework {
            "this hook belongs to the pre-commit framework: add dbguard to .pre-commit-config.yaml instead (see the README), or rerun with --force to run both"
        } else {
            "rerun with --force to keep it: dbguard's check runs first, then this hook (moved to pre-commit.dbguard-chained)"
        };
        return Err(Error::usage(format!(
            "{} already exists and was not written by dbguard; left it alone",
            hook.display()
        ))
        .with_help(help));
    } else if chained.symlink_metadata().is_ok() {
        return Err(Error::usage(format!(
            "cannot chain the existing hook: {} already exists",
            chained.display()
        ))
        .with_help("move one of the two hooks out of the hooks directory, then rerun"));
    } else {
        fs::rename(&hook, &chained)
            .map_err(|e| Error::usage(format!("cannot move {} aside: {e}", hook.display())))?;
        Installed::Chained(chained)
    };
    write_executable(&hook, &script(binary, config))?;
    Ok(outcome)
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_file_name(format!("{HOOK}.dbguard-tmp"));
    let write = || -> std::io::Result<()> {
        fs::write(&tmp, text)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755))?;
        }
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::usage(format!("cannot write {}: {e}", path.display()))
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Uninstalled {
    /// Removed; `Some` when the chained hook was put back.
    Removed(Option<PathBuf>),
    NotOurs,
    Missing,
}

pub fn uninstall(hooks_dir: &Path) -> Result<Uninstalled> {
    let hook = hooks_dir.join(HOOK);
    let chained = hooks_dir.join(CHAINED);
    if hook.symlink_metadata().is_err() {
        return Ok(Uninstalled::Missing);
    }
    if !is_ours(&hook) {
        return Ok(Uninstalled::NotOurs);
    }
    let io = |what: &str, e: std::io::Error| Error::usage(format!("cannot {what}: {e}"));
    if chained.symlink_metadata().is_ok() {
        // rename replaces dbguard's hook in one step: there is never no hook at all.
        fs::rename(&chained, &hook).map_err(|e| io("restore the chained hook", e))?;
        Ok(Uninstalled::Removed(Some(hook)))
    } else {
        fs::remove_file(&hook).map_err(|e| io(&format!("remove {}", hook.display()), e))?;
        Ok(Uninstalled::Removed(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_update_chain_and_uninstall() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = dir.path().join("hooks");
        let bin = Path::new("/opt/it's/dbguard");
        assert_eq!(install(&hooks, bin, None, false).unwrap(), Installed::New);
        let text = fs::read_to_string(hooks.join(HOOK)).unwrap();
        assert!(text.contains(r"dbguard='/opt/it'\''s/dbguard'"), "{text}");
        assert_eq!(
            install(&hooks, bin, None, false).unwrap(),
            Installed::Updated
        );
        assert_eq!(uninstall(&hooks).unwrap(), Uninstalled::Removed(None));
        assert_eq!(uninstall(&hooks).unwrap(), Uninstalled::Missing);

        fs::write(hooks.join(HOOK), "#!/bin/sh\necho mine\n").unwrap();
        let err = install(&hooks, bin, None, false).unwrap_err();
        assert!(
            err.message.contains("not written by dbguard"),
            "{}",
            err.message
        );
        assert_eq!(uninstall(&hooks).unwrap(), Uninstalled::NotOurs);
        assert!(matches!(
            install(&hooks, bin, None, true).unwrap(),
            Installed::Chained(_)
        ));
        assert_eq!(
            fs::read_to_string(hooks.join(CHAINED)).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert!(uninstall(&hooks).unwrap() != Uninstalled::NotOurs);
        assert_eq!(
            fs::read_to_string(hooks.join(HOOK)).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert!(!hooks.join(CHAINED).exists());
    }
}

//! `dbguard hook install|uninstall`.

use std::path::Path;

use crate::cli::HookAction;
use crate::error::{Error, Exit, Result};
use crate::git::Repo;
use crate::hook::{self, Installed, Uninstalled};

pub fn run(action: &HookAction, config: Option<&Path>, quiet: bool) -> Result<Exit> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let repo = Repo::discover(&cwd)?;
    let hooks_dir = repo.hooks_dir()?;
    let path = hooks_dir.join(hook::HOOK);
    let say = |text: String| {
        if !quiet {
            println!("{text}");
        }
    };
    match action {
        HookAction::Install { force } => {
            let binary = std::env::current_exe()
                .and_then(|p| p.canonicalize())
                .map_err(|e| {
                    Error::usage(format!("cannot tell where the dbguard binary is: {e}"))
                })?;
            // A --config given now applies to every commit, wherever git runs the hook from.
            let config = config
                .map(|c| {
                    c.canonicalize().map_err(|e| {
                        Error::usage(format!("config file not found: {}: {e}", c.display()))
                    })
                })
                .transpose()?;
            match hook::install(&hooks_dir, &binary, config.as_deref(), *force)? {
                Installed::New => say(format!("installed the pre-commit hook: {}", path.display())),
                Installed::Updated => say(format!("updated the pre-commit hook: {}", path.display())),
                Installed::Chained(chained) => say(format!(
                    "installed the pre-commit hook: {}\nyour previous hook now runs after dbguard's check, from {}",
                    path.display(),
                    chained.display()
                )),
            }
            say(format!(
                "commits now run `{} check --staged` on staged migrations",
                binary.display()
            ));
        }
        HookAction::Uninstall => match hook::uninstall(&hooks_dir)? {
            Uninstalled::Removed(None) => {
                say(format!("removed the pre-commit hook: {}", path.display()))
            }
            Uninstalled::Removed(Some(_)) => say(format!(
                "removed dbguard's pre-commit hook; your previous hook is back at {}",
                path.display()
            )),
            Uninstalled::NotOurs => say(format!(
                "{} was not written by dbguard; left it alone",
                path.display()
            )),
            Uninstalled::Missing => say(format!("no pre-commit hook at {}", path.display())),
        },
    }
    Ok(Exit::Ok)
}

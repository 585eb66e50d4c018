//! A systemd user timer (`~/.config/systemd/user/dbguard-backup-<id>.{service,timer}`) for
//! machines where systemd is the init system.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

pub fn unit_dir() -> Result<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| Error::usage("no $HOME: cannot place a systemd user unit"))?;
    Ok(config.join("systemd/user"))
}

pub fn unit_name(id: &str) -> String {
    format!("dbguard-backup-{id}")
}

/// A word for `ExecStart=`: double-quoted, with systemd's `%` and `\` escapes.
fn quote(word: &str) -> String {
    format!(
        "\"{}\"",
        word.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
    )
}

/// The two unit files' contents.
pub fn units(
    project: &Path,
    exe: &Path,
    config: Option<&Path>,
    on_calendar: &str,
) -> (String, String) {
    let mut exec = quote(&exe.display().to_string());
    if let Some(config) = config {
        exec.push_str(&format!(
            " --config {}",
            quote(&config.display().to_string())
        ));
    }
    exec.push_str(" backup --scheduled");
    let service = format!(
        "[Unit]\nDescription=dbguard scheduled backup of {project}\n\n[Service]\nType=oneshot\nWorkingDirectory={dir}\nExecStart={exec}\n",
        project = project.display(),
        dir = quote(&project.display().to_string()),
    );
    let timer = format!(
        "[Unit]\nDescription=dbguard scheduled backup of {project}\n\n[Timer]\nOnCalendar={on_calendar}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
        project = project.display(),
    );
    (service, timer)
}

fn systemctl(args: &[&str]) -> Result<()> {
    let out = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .output()
        .map_err(|e| Error::usage(format!("cannot run systemctl: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "`systemctl --user {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

pub fn install(id: &str, service: &str, timer: &str) -> Result<PathBuf> {
    let dir = unit_dir()?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))?;
    let name = unit_name(id);
    for (suffix, text) in [("service", service), ("timer", timer)] {
        let path = dir.join(format!("{name}.{suffix}"));
        std::fs::write(&path, text)
            .map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", &format!("{name}.timer")])?;
    Ok(dir.join(format!("{name}.timer")))
}

/// Removes the units of `id`; `true` when there were any.
pub fn remove(id: &str) -> Result<bool> {
    let dir = unit_dir()?;
    let name = unit_name(id);
    let timer = dir.join(format!("{name}.timer"));
    if !timer.exists() {
        return Ok(false);
    }
    let _ = systemctl(&["disable", "--now", &format!("{name}.timer")]);
    for suffix in ["service", "timer"] {
        let _ = std::fs::remove_file(dir.join(format!("{name}.{suffix}")));
    }
    let _ = systemctl(&["daemon-reload"]);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_quote_paths() {
        let (service, timer) = units(
            Path::new("/srv/my app"),
            Path::new("/usr/local/bin/dbguard"),
            None,
            "*-*-* 3:17:00",
        );
        assert!(
            service.contains("WorkingDirectory=\"/srv/my app\""),
            "{service}"
        );
        assert!(service.contains("ExecStart=\"/usr/local/bin/dbguard\" backup --scheduled"));
        assert!(timer.contains("OnCalendar=*-*-* 3:17:00"), "{timer}");
        assert!(timer.contains("Persistent=true"));
    }
}

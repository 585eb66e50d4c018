//! Scheduled backups: `dbguard backup --scheduled` of one project, installed where the
//! user's system runs jobs — the user crontab, or a systemd user timer where systemd is the
//! init system — and recorded beside the backups (`schedule.json`) so `dbguard status` can
//! tell when scheduled runs stopped happening.

pub mod cron;
pub mod systemd;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
pub use cron::Cron;

const RECORD: &str = "schedule.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cron,
    Systemd,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Cron => "cron",
            Backend::Systemd => "systemd",
        })
    }
}

/// What is installed, as recorded in the backup directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub backend: Backend,
    /// The cron expression (a systemd timer gets the same times).
    pub cron: String,
    pub project: PathBuf,
    pub command: String,
    pub installed_at: DateTime<Utc>,
}

impl Record {
    pub fn read(backup_dir: &Path) -> Option<Record> {
        let text = std::fs::read_to_string(backup_dir.join(RECORD)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, backup_dir: &Path) -> Result<()> {
        crate::backup::fsutil::create_private_dir(backup_dir)
            .and_then(|_| {
                crate::backup::fsutil::write_atomic(
                    &backup_dir.join(RECORD),
                    &serde_json::to_vec_pretty(self).expect("serializes"),
                )
            })
            .map_err(|e| Error::usage(format!("cannot record the schedule: {e}")))
    }

    pub fn remove(backup_dir: &Path) {
        let _ = std::fs::remove_file(backup_dir.join(RECORD));
    }
}

/// `--every 1d` → a cron expression. The minute is derived from the project so that many
/// projects on one machine do not all start at :00.
pub fn every_to_cron(every: &str, project: &Path) -> Result<String> {
    let minute = u32::from(id(project).as_bytes()[0]) % 60;
    let cron = match every.trim() {
        "15m" => "*/15 * * * *".to_string(),
        "30m" => "*/30 * * * *".to_string(),
        "1h" => format!("{minute} * * * *"),
        "2h" | "3h" | "4h" | "6h" | "8h" | "12h" => {
            format!("{minute} */{} * * *", every.trim_end_matches('h'))
        }
        "1d" | "24h" => format!("{minute} 3 * * *"),
        "1w" | "7d" => format!("{minute} 3 * * 0"),
        other => {
            return Err(
                Error::usage(format!("--every {other:?} is not a supported interval")).with_help(
                    "use 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d or 1w; or --cron \"EXPR\"",
                ),
            )
        }
    };
    Ok(cron)
}

/// A short stable id for a project directory (names the crontab marker and systemd units).
pub fn id(project: &Path) -> String {
    let digest = Sha256::digest(project.to_string_lossy().as_bytes());
    crate::backup::verify::hex(&digest[..6])
}

/// systemd runs user timers only when it is the init system and a user manager answers.
pub fn systemd_available() -> bool {
    Path::new("/run/systemd/system").is_dir()
        && std::process::Command::new("systemctl")
            .args(["--user", "show-environment"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The job's command line: from the project directory, this dbguard binary, this config.
pub fn job_command(project: &Path, config: Option<&Path>) -> Result<String> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::usage(format!("cannot tell where the dbguard binary is: {e}")))?;
    let mut command = format!(
        "cd {} && {}",
        cron::shell_quote(&project.display().to_string()),
        cron::shell_quote(&exe.display().to_string())
    );
    if let Some(config) = config {
        command.push_str(&format!(
            " --config {}",
            cron::shell_quote(&config.display().to_string())
        ));
    }
    command.push_str(" backup --scheduled");
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_become_cron_expressions() {
        let project = Path::new("/srv/app");
        let daily = every_to_cron("1d", project).unwrap();
        assert!(daily.ends_with(" 3 * * *"), "{daily}");
        assert!(Cron::parse(&daily).is_ok());
        assert_eq!(every_to_cron("15m", project).unwrap(), "*/15 * * * *");
        assert!(every_to_cron("6h", project)
            .unwrap()
            .ends_with(" */6 * * *"));
        assert!(every_to_cron("5d", project).is_err());
        assert_eq!(id(project), id(Path::new("/srv/app")));
        assert_ne!(id(project), id(Path::new("/srv/other")));
    }
}

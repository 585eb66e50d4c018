//! What makes a backup run fit for a scheduler: a log file (appended, private, one line per
//! event with its time) and a turn of its own — a scheduled run never overlaps another one,
//! or a backup of the same database still being written.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::catalog::TEMP_PREFIX;
use super::verify::backup_error;
use crate::error::Result;

const SCHEDULED_LOCK: &str = ".dbguard-scheduled.lock";

pub struct Log {
    path: PathBuf,
    file: File,
}

impl Log {
    pub fn open(path: &Path) -> Result<Log> {
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            let _ = super::fsutil::create_private_dir(dir);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                backup_error(format!("cannot open the log {}: {e}", path.display()))
                    .with_help("set [backup] log in dbguard.toml to a writable file")
            })?;
        Ok(Log {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends `2026-03-04T03:17:02Z [pid] text`; a log that cannot be written is said on
    /// stderr once, never fails the run.
    pub fn line(&mut self, text: &str) {
        let line = format!(
            "{} [{}] {}\n",
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            std::process::id(),
            crate::target::mask_secrets(text)
        );
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            eprintln!("warning: cannot write {}: {e}", self.path.display());
        }
    }
}

/// Whether this run may go ahead.
pub enum Turn {
    /// Held until dropped.
    Mine(File),
    /// Why not.
    Busy(String),
}

/// Takes the scheduled-run lock of a database directory without waiting, and checks that no
/// other backup of it is being written (their temporary files are locked while alive).
pub fn exclusive(db_dir: &Path) -> Result<Turn> {
    super::fsutil::create_private_dir(db_dir)
        .map_err(|e| backup_error(format!("cannot create {}: {e}", db_dir.display())))?;
    let lock = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(db_dir.join(SCHEDULED_LOCK))
            .map_err(|e| backup_error(format!("cannot open the scheduled-run lock: {e}")))?
    };
    if lock.try_lock().is_err() {
        return Ok(Turn::Busy(
            "the previous scheduled backup is still running".into(),
        ));
    }
    let running = std::fs::read_dir(db_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(TEMP_PREFIX))
        })
        .any(|p| File::open(&p).is_ok_and(|f| f.try_lock().is_err()));
    if running {
        return Ok(Turn::Busy("another backup of it is being written".into()));
    }
    Ok(Turn::Mine(lock))
}

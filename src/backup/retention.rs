//! Applying the retention policy (`policy.rs`) to a database's backups, and clearing what
//! dead runs left behind. Both run under the per-database lock, which also guards the final
//! rename of a new backup.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::catalog::{self, Backup};
use super::policy::{Policy, Reason};

const LOCK_FILE: &str = ".dbguard.lock";
/// A dump without a sidecar this old is the remains of a crashed run.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Holds the per-database lock until dropped.
pub struct DirLock(#[allow(dead_code)] File);

pub fn lock(db_dir: &Path) -> std::io::Result<DirLock> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(db_dir.join(LOCK_FILE))?;
    file.lock()?;
    Ok(DirLock(file))
}

/// Removes temporary files nobody holds a lock on (their backup died). Call under `lock`.
pub fn remove_stale_temps(db_dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(db_dir) else {
        return removed;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let is_temp = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(catalog::TEMP_PREFIX));
        if !is_temp {
            continue;
        }
        // A running backup holds a lock on its temporary file.
        let stale = File::open(&path).is_ok_and(|f| f.try_lock().is_ok());
        if stale && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The backups of a database directory, newest first, each with why `policy` keeps it (an
/// empty list: the next prune removes it).
pub fn plan(db_dir: &Path, policy: &Policy) -> Vec<(Backup, Vec<Reason>)> {
    let backups = catalog::list_dir(db_dir);
    let times: Vec<_> = backups.iter().map(|b| b.metadata.finished_at).collect();
    backups.into_iter().zip(policy.decide(&times)).collect()
}

/// The backups `policy` would remove, never one in `protected`.
pub fn doomed(db_dir: &Path, policy: &Policy, protected: &[PathBuf]) -> Vec<Backup> {
    plan(db_dir, policy)
        .into_iter()
        .filter(|(b, reasons)| reasons.is_empty() && !protected.contains(&b.path))
        .map(|(b, _)| b)
        .collect()
}

/// Keeps what `policy` keeps (always the newest), never touching `protected`; removes dumps
/// whose sidecar never got written. Call under `lock`.
pub fn apply(db_dir: &Path, policy: &Policy, protected: &[PathBuf]) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for backup in doomed(db_dir, policy, protected) {
        let sidecar = backup.sidecar_path();
        // Sidecar first: a dump without a sidecar is already not a backup.
        if std::fs::remove_file(&sidecar).is_ok() {
            let _ = std::fs::remove_file(&backup.path);
            removed.push(backup.path);
        }
    }
    let Ok(entries) = std::fs::read_dir(db_dir) else {
        return removed;
    };
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_dump = catalog::is_dump_name(name);
        let old = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > ORPHAN_AGE);
        if is_dump
            && old
            && !catalog::sidecar_path(&path).exists()
            && std::fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
    removed
}

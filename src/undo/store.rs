//! Where snapshots live: `<backup dir>/<database>/snapshots/`, a directory of its own so
//! backup retention (`[backup] keep`) never counts them; `[undo] keep` applies here. Each is
//! a stored dump with a sidecar the backup catalog reads (kind `snapshot`).

use std::path::{Path, PathBuf};

use super::model::Record;
use super::snapshot::Snapshot;
use crate::backup::{catalog, fsutil, retention, Settings};

pub const DIR: &str = "snapshots";
/// The digests of the rows an UPDATE wrote, beside the snapshot.
pub const AFTER_SUFFIX: &str = ".after";

pub fn dir(settings: &Settings, database: &str) -> PathBuf {
    settings.database_dir(database).join(DIR)
}

/// Reads one snapshot; `None` when it is no valid, complete snapshot.
pub fn read(path: &Path) -> Option<Snapshot> {
    let backup = catalog::read(path)?;
    let text = std::fs::read_to_string(catalog::sidecar_path(path)).ok()?;
    let record: Record = serde_json::from_str(&text).ok()?;
    Some(Snapshot {
        path: backup.path,
        record,
    })
}

/// The snapshots of one database, newest first.
pub fn list_dir(dir: &Path) -> Vec<Snapshot> {
    catalog::list_dir(dir)
        .into_iter()
        .filter_map(|b| read(&b.path))
        .collect()
}

/// Every database's snapshots, newest first.
pub fn list_all(settings: &Settings) -> Vec<Snapshot> {
    let Ok(entries) = std::fs::read_dir(&settings.dir) else {
        return Vec::new();
    };
    let mut all: Vec<Snapshot> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .flat_map(|e| list_dir(&e.path().join(DIR)))
        .collect();
    all.sort_by(|a, b| {
        b.record
            .metadata
            .finished_at
            .cmp(&a.record.metadata.finished_at)
            .then_with(|| b.path.cmp(&a.path))
    });
    all
}

/// A snapshot by id, by name (suffix optional) or by path.
pub fn find(settings: &Settings, database: Option<&str>, wanted: &str) -> Option<Snapshot> {
    let as_path = Path::new(wanted);
    if as_path.components().count() > 1 || as_path.is_absolute() {
        return read(as_path);
    }
    list_all(settings).into_iter().find(|s| {
        database.is_none_or(|d| s.record.metadata.database == d)
            && (s.record.snapshot.id == wanted
                || catalog::names_match(&s.record.metadata.name, wanted))
    })
}

/// Rewrites a snapshot's sidecar (after-image recorded, undone).
pub fn update(snapshot: &Snapshot) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(&snapshot.record).expect("record serializes");
    fsutil::write_atomic(&catalog::sidecar_path(&snapshot.path), &json)
}

pub fn after_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.file_name().unwrap_or_default().to_os_string();
    name.push(AFTER_SUFFIX);
    snapshot.with_file_name(name)
}

/// Keeps the newest `keep` snapshots (and `protected`), with their after-images.
pub fn apply_retention(dir: &Path, keep: usize, protected: &Path) {
    let removed = retention::apply(
        dir,
        &crate::backup::policy::Policy::last(keep),
        &[protected.to_path_buf()],
    );
    for path in removed {
        let _ = std::fs::remove_file(after_path(&path));
    }
}

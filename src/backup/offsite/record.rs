//! The offsite state of local backups lives in their own sidecars (`offsite`), so
//! `dbguard status` can tell which are not yet offsite without reaching the network. It is
//! written when an upload has been checked, and cleared when remote retention removes the copy.

use std::path::Path;

use crate::backup::catalog::{self, OffsiteRecord};
use crate::backup::{fsutil, retention};

/// Sets (or clears) the offsite record of the backup at `dump`, under the database lock.
/// A backup removed meanwhile is left alone.
pub fn set(dump: &Path, record: Option<OffsiteRecord>) -> std::io::Result<()> {
    let dir = dump.parent().unwrap_or(Path::new("."));
    let _lock = retention::lock(dir)?;
    let Some(mut backup) = catalog::read(dump) else {
        return Ok(());
    };
    if backup.metadata.offsite == record {
        return Ok(());
    }
    backup.metadata.offsite = record;
    let json = serde_json::to_vec_pretty(&backup.metadata).expect("metadata serializes");
    fsutil::write_atomic(&catalog::sidecar_path(dump), &json)
}

/// Clears the records of the named backups in `db_dir` (their remote copies are gone).
pub fn forget(db_dir: &Path, names: &[String]) {
    for backup in catalog::list_dir(db_dir) {
        if names.contains(&backup.metadata.name) {
            let _ = set(&backup.path, None);
        }
    }
}

//! The remote catalog: the same layout and the same rule as on disk. A backup is
//! `<prefix>/<db>/<name>` plus `<name>.json`; a dump without a valid sidecar (or whose size
//! disagrees with it) does not exist. Retention follows the same policy as on disk.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path;
use object_store::ObjectMeta;

use super::store::{Failure, Store, StoreResult};
use crate::backup::catalog::{self, Metadata, SIDECAR_SUFFIX};
use crate::backup::policy::Policy;
use crate::backup::settings::safe_file_component;

/// A dump without a sidecar this old is the remains of an interrupted upload.
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug)]
pub struct RemoteBackup {
    pub dump: Path,
    pub sidecar: Path,
    /// The remote sidecar (for encrypted backups, with its private fields sealed).
    pub metadata: Metadata,
    pub uploaded_at: DateTime<Utc>,
}

impl RemoteBackup {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

pub struct Listing {
    /// Valid backups, newest first.
    pub backups: Vec<RemoteBackup>,
    /// Valid pre-image snapshots (`dbguard undo`), newest first: kept by their own count, so
    /// that many small snapshots never push a full backup out of the store, and never taken
    /// for a backup to restore.
    pub snapshots: Vec<RemoteBackup>,
    /// Dumps without a valid sidecar.
    pub orphans: Vec<ObjectMeta>,
}

/// The key of a backup's dump.
pub fn dump_key(store: &Store, database: &str, name: &str) -> Path {
    store.key(&format!("{}/{name}", safe_file_component(database)))
}

/// The key of a backup's sidecar.
pub fn sidecar_key(store: &Store, database: &str, name: &str) -> Path {
    store.key(&format!(
        "{}/{name}{SIDECAR_SUFFIX}",
        safe_file_component(database)
    ))
}

/// Remote backups of `database`, or of every database.
pub fn list(store: &Store, database: Option<&str>) -> StoreResult<Listing> {
    let root = match database {
        Some(db) => Some(store.key(&safe_file_component(db))),
        None => store.root(),
    };
    let objects = store.list(root.as_ref())?;
    let by_key: HashMap<String, &ObjectMeta> = objects
        .iter()
        .map(|o| (o.location.to_string(), o))
        .collect();
    let sidecars: Vec<&ObjectMeta> = objects
        .iter()
        .filter(|o| {
            o.location
                .filename()
                .and_then(|f| f.strip_suffix(SIDECAR_SUFFIX))
                .is_some_and(catalog::is_dump_name)
        })
        .collect();
    let keys: Vec<Path> = sidecars.iter().map(|o| o.location.clone()).collect();
    let mut backups = Vec::new();
    for (meta, body) in sidecars.iter().zip(store.get_many(&keys)) {
        let body = match body {
            Ok(body) => body,
            // Removed since the listing (by retention elsewhere): not a backup any more.
            Err(e) if e.failure == Failure::Missing => continue,
            Err(e) => return Err(e),
        };
        let Ok(metadata) = serde_json::from_slice::<Metadata>(&body) else {
            continue;
        };
        let sidecar = meta.location.to_string();
        let dump = sidecar
            .strip_suffix(SIDECAR_SUFFIX)
            .unwrap_or_default()
            .to_string();
        let named_right = Path::from(dump.as_str()).filename() == Some(metadata.name.as_str());
        let whole = by_key
            .get(&dump)
            .is_some_and(|d| d.size == metadata.size_bytes);
        if named_right && whole && metadata.verified {
            backups.push(RemoteBackup {
                dump: Path::from(dump),
                sidecar: meta.location.clone(),
                metadata,
                uploaded_at: meta.last_modified,
            });
        }
    }
    backups.sort_by(|a, b| {
        b.metadata
            .finished_at
            .cmp(&a.metadata.finished_at)
            .then_with(|| b.dump.as_ref().cmp(a.dump.as_ref()))
    });
    let (snapshots, backups): (Vec<RemoteBackup>, Vec<RemoteBackup>) = backups
        .into_iter()
        .partition(|b| b.metadata.kind == catalog::BackupKind::Snapshot);
    let valid: Vec<String> = backups
        .iter()
        .chain(&snapshots)
        .map(|b| b.dump.to_string())
        .collect();
    let orphans = objects
        .iter()
        .filter(|o| {
            o.location.filename().is_some_and(catalog::is_dump_name)
                && !valid.contains(&o.location.to_string())
        })
        .cloned()
        .collect();
    Ok(Listing {
        backups,
        snapshots,
        orphans,
    })
}

/// Keeps the newest `keep` remote snapshots of `database` (and `protect`), sidecar first.
pub fn apply_snapshot_retention(
    store: &Store,
    database: &str,
    keep: usize,
    protect: &str,
) -> StoreResult<Vec<String>> {
    let listing = list(store, Some(database))?;
    let mut removed = Vec::new();
    for snapshot in listing.snapshots.iter().skip(keep.max(1)) {
        if snapshot.name() == protect {
            continue;
        }
        store.delete(&snapshot.sidecar)?;
        store.delete(&snapshot.dump)?;
        removed.push(snapshot.metadata.name.clone());
    }
    Ok(removed)
}

/// The remote backups of `database` that `policy` would remove (never `protect`).
pub fn doomed<'a>(listing: &'a Listing, policy: &Policy, protect: &str) -> Vec<&'a RemoteBackup> {
    let times: Vec<_> = listing
        .backups
        .iter()
        .map(|b| b.metadata.finished_at)
        .collect();
    listing
        .backups
        .iter()
        .zip(policy.decide(&times))
        .filter(|(b, reasons)| reasons.is_empty() && b.name() != protect)
        .map(|(b, _)| b)
        .collect()
}

/// Keeps what `policy` keeps of `database`'s remote backups (never `protect`), removing each
/// sidecar before its dump, and removes old orphans. Returns the names removed.
pub fn apply_retention(
    store: &Store,
    database: &str,
    policy: &Policy,
    protect: &str,
) -> StoreResult<Vec<String>> {
    let listing = list(store, Some(database))?;
    let mut removed = Vec::new();
    for backup in doomed(&listing, policy, protect) {
        // Sidecar first: a dump without a sidecar is already not a backup.
        store.delete(&backup.sidecar)?;
        store.delete(&backup.dump)?;
        removed.push(backup.metadata.name.clone());
    }
    for orphan in &listing.orphans {
        let age = (Utc::now() - orphan.last_modified)
            .to_std()
            .unwrap_or_default();
        if age > ORPHAN_AGE {
            store.delete(&orphan.location)?;
        }
    }
    Ok(removed)
}

//! The backup catalog: file naming, the JSON sidecar that makes a dump a backup, and listing.
//! A dump without a valid sidecar (or whose size disagrees with it) does not exist.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::settings::safe_file_component;

pub const DUMP_SUFFIX: &str = ".dump.zst";
/// An age-encrypted dump: zstd inside, age outside.
pub const ENCRYPTED_SUFFIX: &str = ".dump.zst.age";
pub const SIDECAR_SUFFIX: &str = ".json";
/// Temporary files of running (or dead) backups start with this.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Why a backup was taken: shown by `dbguard backups` so a user can tell the safety backup of a
/// restore from the one `run` took and from their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackupKind {
    /// `dbguard backup` by hand (also every backup written before kinds existed).
    #[default]
    Manual,
    /// Taken by the guard before a destructive command (`dbguard run`, the proxy).
    Guard,
    /// Taken by `dbguard restore` (or `undo`) before it overwrites anything.
    Safety,
    /// A pre-image of exactly the objects a command destroys (`dbguard undo` puts it back).
    Snapshot,
    /// `dbguard backup --scheduled` (cron, systemd timer).
    Scheduled,
}

impl BackupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackupKind::Manual => "manual",
            BackupKind::Guard => "guard",
            BackupKind::Safety => "safety",
            BackupKind::Snapshot => "snapshot",
            BackupKind::Scheduled => "scheduled",
        }
    }
}

impl std::fmt::Display for BackupKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableCount {
    pub schema: String,
    pub name: String,
    pub rows: i64,
}

/// Everything known about one backup, stored beside it as `<name>.json`. Never holds a
/// password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub format_version: u32,
    pub name: String,
    /// Why it was taken; sidecars written before kinds existed read as `manual`.
    #[serde(default)]
    pub kind: BackupKind,
    pub database: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// `system_identifier` of the cluster, when readable: tells clusters apart even when they
    /// share host names through forwarding.
    pub cluster_id: Option<String>,
    pub server_version: String,
    pub pg_dump_version: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub size_bytes: u64,
    pub uncompressed_bytes: u64,
    pub sha256: String,
    pub compression: String,
    pub format: String,
    pub verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
    /// How it was verified, e.g. `["sha256", "zstd frame checksums", "pg_restore --list: 42 entries"]`.
    pub verification: Vec<String>,
    pub reason: Option<String>,
    pub dbguard_version: String,
    /// Row counts taken in the same snapshot as the dump, to validate a restore.
    pub tables: Vec<TableCount>,
    /// Set when the dump is age-encrypted: to whom. `sha256` and `size_bytes` are of the
    /// encrypted bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<super::encryption::Info>,
    /// Set once a copy is in object storage and was checked there (local sidecars only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offsite: Option<OffsiteRecord>,
    /// Remote sidecars of encrypted backups: the private fields (host, user, cluster, reason,
    /// tables), age-encrypted to the same recipients and emptied in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

/// Where a backup's offsite copy is and how it was checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OffsiteRecord {
    /// `s3://bucket/prefix/db/name`.
    pub url: String,
    pub uploaded_at: DateTime<Utc>,
    /// E.g. `["sha256 of the object read back from the store"]`.
    pub verification: Vec<String>,
}

impl Metadata {
    pub fn encrypted(&self) -> bool {
        self.encryption.is_some()
    }
}

/// A listed backup: its dump file and sidecar.
#[derive(Clone, Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub metadata: Metadata,
}

impl Backup {
    pub fn sidecar_path(&self) -> PathBuf {
        sidecar_path(&self.path)
    }

    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

pub fn sidecar_path(dump: &Path) -> PathBuf {
    let mut name = dump.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR_SUFFIX);
    dump.with_file_name(name)
}

/// `backup_<db>_<YYYYMMDD_HHMMSS>[_N].dump.zst` (UTC).
pub fn file_name(database: &str, at: DateTime<Utc>, attempt: usize) -> String {
    file_name_for(database, at, attempt, false)
}

/// [`file_name`], ending in `.dump.zst.age` when `encrypted`.
pub fn file_name_for(database: &str, at: DateTime<Utc>, attempt: usize, encrypted: bool) -> String {
    let stamp = at.format("%Y%m%d_%H%M%S");
    let db = safe_file_component(database);
    let suffix = if encrypted {
        ENCRYPTED_SUFFIX
    } else {
        DUMP_SUFFIX
    };
    match attempt {
        0 | 1 => format!("backup_{db}_{stamp}{suffix}"),
        n => format!("backup_{db}_{stamp}_{n}{suffix}"),
    }
}

/// Whether a file name is that of a dump (plain or encrypted), temporary files excluded.
pub fn is_dump_name(name: &str) -> bool {
    (name.ends_with(DUMP_SUFFIX) || name.ends_with(ENCRYPTED_SUFFIX))
        && !name.starts_with(TEMP_PREFIX)
}

/// Reads one backup from its dump path; `None` when it is not a valid, complete backup.
pub fn read(dump: &Path) -> Option<Backup> {
    let text = std::fs::read_to_string(sidecar_path(dump)).ok()?;
    let metadata: Metadata = serde_json::from_str(&text).ok()?;
    let size = std::fs::metadata(dump).ok()?.len();
    (size == metadata.size_bytes && metadata.verified).then(|| Backup {
        path: dump.to_path_buf(),
        metadata,
    })
}

/// Every valid backup in a database directory, newest first.
pub fn list_dir(dir: &Path) -> Vec<Backup> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut backups: Vec<Backup> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_dump_name)
        })
        .filter_map(|p| read(&p))
        .collect();
    backups.sort_by(|a, b| {
        b.metadata
            .finished_at
            .cmp(&a.metadata.finished_at)
            .then_with(|| b.path.cmp(&a.path))
    });
    backups
}

/// Every valid backup under the backup root (all databases), newest first.
pub fn list_all(root: &Path) -> Vec<Backup> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut backups: Vec<Backup> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .flat_map(|e| list_dir(&e.path()))
        .collect();
    backups.sort_by_key(|b| std::cmp::Reverse(b.metadata.finished_at));
    backups
}

/// Finds a backup by file name (with or without `.dump.zst[.age]`) or by path.
pub fn find(root: &Path, name: &str) -> Option<Backup> {
    let as_path = Path::new(name);
    if as_path.components().count() > 1 || as_path.is_absolute() {
        return read(as_path);
    }
    list_all(root)
        .into_iter()
        .find(|b| names_match(&b.metadata.name, name))
}

/// Whether `wanted` (as a user typed it, suffix optional) names the backup `name`.
pub fn names_match(name: &str, wanted: &str) -> bool {
    name == wanted
        || [DUMP_SUFFIX, ENCRYPTED_SUFFIX]
            .iter()
            .any(|s| name == format!("{wanted}{s}"))
}

pub fn short_sha(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_written_before_kinds_existed_read_as_manual() {
        let json = serde_json::json!({
            "format_version": 1, "name": "backup_app_20260101_000000.dump.zst",
            "database": "app", "host": "localhost", "port": 5432, "user": "app",
            "cluster_id": null, "server_version": "15.1", "pg_dump_version": "15.1",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z",
            "size_bytes": 10, "uncompressed_bytes": 20, "sha256": "ab", "compression": "zstd:1",
            "format": "f", "verified": true, "verified_at": null, "verification": [],
            "reason": null, "dbguard_version": "0.1.0", "tables": []
        });
        let m: Metadata = serde_json::from_value(json).unwrap();
        assert_eq!(m.kind, BackupKind::Manual);
        let written = serde_json::to_value(Metadata {
            kind: BackupKind::Snapshot,
            ..m
        })
        .unwrap();
        assert_eq!(written["kind"], "snapshot");
    }
}

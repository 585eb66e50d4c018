//! The audit trail: one JSON line per guarded decision, appended to `[audit] path` (default
//! `<backup dir>/audit.jsonl`). Commands and targets are stored with secrets masked.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backup::Settings;
use crate::config::Loaded;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FindingsSummary {
    pub data_loss: usize,
    pub risky: usize,
    pub info: usize,
    pub rules: Vec<String>,
}

impl FindingsSummary {
    /// Counts by severity, and the rules in the order they first appear.
    pub fn of<'a>(findings: impl Iterator<Item = &'a crate::analysis::Finding>) -> Self {
        use crate::analysis::Severity;
        let mut s = FindingsSummary::default();
        for f in findings {
            match f.severity {
                Severity::DataLoss => s.data_loss += 1,
                Severity::Risky => s.risky += 1,
                Severity::Info => s.info += 1,
            }
            if !s.rules.iter().any(|r| r == f.rule) {
                s.rules.push(f.rule.to_string());
            }
        }
        s
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackupUsed {
    pub name: String,
    pub sha256: String,
    /// `existing` (a fresh one was there) or `taken` (dbguard took it for this command).
    pub how: String,
    /// `snapshot` (a pre-image of the objects at stake, for `dbguard undo`) or `backup`.
    #[serde(default = "full_backup_kind")]
    pub kind: String,
    /// A snapshot's id, for `dbguard undo ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What a snapshot holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<String>,
}

fn full_backup_kind() -> String {
    "backup".into()
}

impl BackupUsed {
    pub fn from_protection(p: &crate::undo::Protection, how: &str) -> BackupUsed {
        BackupUsed {
            name: p.name.clone(),
            sha256: p.sha256.clone(),
            how: how.into(),
            kind: p.kind.as_str().into(),
            id: p.id.clone(),
            objects: p.objects.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub time: DateTime<Utc>,
    pub user: String,
    pub cwd: String,
    /// The command line, secrets masked.
    pub command: String,
    pub tool: String,
    /// The target database URL, password masked.
    pub target: Option<String>,
    pub findings: FindingsSummary,
    /// `ran`, `refused`, `cancelled`, `dry-run`, `failed`; from the proxy also `snapshotted` /
    /// `backed-up` (protected, then forwarded) and `allowed` (let through by an allow annotation).
    pub decision: String,
    pub reason: Option<String>,
    pub backup: Option<BackupUsed>,
    pub exit_code: Option<u8>,
    pub duration_ms: u64,
}

pub fn path(config: &Loaded, settings: &Settings) -> PathBuf {
    match &config.config.audit.path {
        Some(p) => config.resolve(p),
        None => settings.dir.join("audit.jsonl"),
    }
}

/// Appends one line; the file is created 0600 (it names databases and commands).
pub fn append(path: &Path, entry: &Entry) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        crate::backup::fsutil::create_private_dir(dir)?;
    }
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // One write of one line: appends from concurrent runs do not interleave.
    file.write_all(&line)
}

/// Every entry, oldest first; lines that do not parse are skipped.
pub fn read(path: &Path) -> std::io::Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            // SAFETY: geteuid has no preconditions.
            format!("uid {}", unsafe { libc::geteuid() })
        })
}

//! Pre-image snapshots of exactly the objects a command puts at stake, taken right before it
//! runs, and `dbguard undo` putting them back. Snapshots are stored through backup/'s
//! catalog, encryption and retention (kind `snapshot`, under `<backup dir>/<db>/snapshots/`).
//!
//! The one entry point for `run` and the proxy: [`protect`] — a snapshot where the objects
//! are known (and `[guard] protection = "snapshot"`), a verified full backup otherwise.

pub mod after;
pub mod archive;
pub mod model;
pub mod objects;
pub mod restore;
pub mod snapshot;
pub mod store;

use std::path::PathBuf;

use crate::analysis::command::Plan;
use crate::backup::catalog::{Backup, BackupKind};
use crate::backup::offsite::{self, OffsiteSettings};
use crate::backup::{dump, Settings as BackupSettings};
use crate::config::Loaded;
use crate::error::Result;
use crate::guard::settings::{GuardSettings, ProtectionMode};
use crate::target::Target;

/// Everything protecting a command needs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub backup: BackupSettings,
    pub guard: GuardSettings,
    /// `[offsite]` with `auto`: snapshots are uploaded like backups.
    pub offsite: Option<OffsiteSettings>,
}

impl Settings {
    pub fn from_config(loaded: &Loaded) -> Result<Settings> {
        Ok(Settings {
            backup: BackupSettings::from_config(loaded)?,
            guard: GuardSettings::from_config(loaded)?,
            offsite: OffsiteSettings::from_config(loaded)?.filter(|s| s.auto),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtectionKind {
    /// A pre-image of the objects at stake (`dbguard undo` puts it back).
    Snapshot,
    /// A verified full backup (`dbguard restore` puts it back).
    Backup,
}

impl ProtectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtectionKind::Snapshot => "snapshot",
            ProtectionKind::Backup => "backup",
        }
    }
}

/// What was saved before the command ran.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Protection {
    pub kind: ProtectionKind,
    pub name: String,
    pub sha256: String,
    pub path: PathBuf,
    /// The snapshot's id for `dbguard undo ID`.
    pub id: Option<String>,
    /// What it holds, for people ("990 deleted rows of public.users").
    pub objects: Vec<String>,
    /// Things worth saying (an offsite upload that failed).
    pub notes: Vec<String>,
}

impl Protection {
    pub fn from_backup(backup: &Backup) -> Protection {
        Protection {
            kind: ProtectionKind::Backup,
            name: backup.metadata.name.clone(),
            sha256: backup.metadata.sha256.clone(),
            path: backup.path.clone(),
            id: None,
            objects: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn from_snapshot(snapshot: &snapshot::Snapshot) -> Protection {
        Protection {
            kind: ProtectionKind::Snapshot,
            name: snapshot.record.metadata.name.clone(),
            sha256: snapshot.record.metadata.sha256.clone(),
            path: snapshot.path.clone(),
            id: Some(snapshot.record.snapshot.id.clone()),
            objects: snapshot
                .record
                .snapshot
                .objects
                .iter()
                .map(model::Object::describe)
                .collect(),
            notes: Vec::new(),
        }
    }

    /// One line: `snapshot 20261201223000 (sha256 1a2b3c…): 990 deleted rows of public.users`.
    pub fn summary(&self) -> String {
        let short = crate::backup::catalog::short_sha(&self.sha256);
        match self.kind {
            ProtectionKind::Snapshot => format!(
                "snapshot {} (sha256 {short}): {}",
                self.id.as_deref().unwrap_or(&self.name),
                if self.objects.is_empty() {
                    "nothing at stake existed".to_string()
                } else {
                    self.objects.join(", ")
                }
            ),
            ProtectionKind::Backup => format!("full backup {} (sha256 {short})", self.name),
        }
    }
}

/// Whether a snapshot can protect `plan` (the objects at stake are known and
/// `protection = "snapshot"`); the reason otherwise.
pub fn snapshot_covers(settings: &GuardSettings, plan: &Plan) -> std::result::Result<(), String> {
    if settings.protection == ProtectionMode::Backup {
        return Err("[guard] protection = \"backup\"".into());
    }
    match objects::at_stake(plan) {
        Ok(wanted) if wanted.is_empty() => Err("nothing at stake a snapshot would hold".into()),
        Ok(_) => Ok(()),
        Err(why) => Err(why),
    }
}

/// Protects `plan` right before it runs: a snapshot of what is at stake where that is
/// known, otherwise a verified full backup. A failure means the command must not run.
pub fn protect(
    settings: &Settings,
    target: &Target,
    plan: &Plan,
    command_text: &str,
) -> Result<Protection> {
    match objects::at_stake(plan) {
        Ok(wanted)
            if !wanted.is_empty() && settings.guard.protection == ProtectionMode::Snapshot =>
        {
            take_snapshot(settings, target, wanted, command_text)
        }
        _ => full_backup(settings, target, command_text, false),
    }
}

/// A snapshot of `wanted`, uploaded offsite when `[offsite] auto`.
pub fn take_snapshot(
    settings: &Settings,
    target: &Target,
    wanted: Vec<objects::Wanted>,
    command_text: &str,
) -> Result<Protection> {
    let request = snapshot::Request {
        target,
        command: command_text.to_string(),
        wanted,
        keep: settings.guard.undo_keep,
    };
    let snapshot = snapshot::take(&settings.backup, &request)?;
    let mut protection = Protection::from_snapshot(&snapshot);
    if let Some(offsite) = &settings.offsite {
        if let Err(e) = upload(offsite, &snapshot.backup(), settings.guard.undo_keep) {
            protection.notes.push(format!(
                "the snapshot is kept locally, but its offsite copy failed: {}",
                e.message
            ));
        }
    }
    Ok(protection)
}

/// A verified full backup taken for the command (kind `guard`).
pub fn full_backup(
    settings: &Settings,
    target: &Target,
    command_text: &str,
    quiet: bool,
) -> Result<Protection> {
    let request = dump::Request {
        target,
        reason: Some(format!("dbguard run: {command_text}")),
        quiet,
        protected: Vec::new(),
        kind: BackupKind::Guard,
    };
    let backup = dump::take(&settings.backup, &request)?;
    Ok(Protection::from_backup(&backup))
}

/// Uploads a snapshot; the store keeps `keep` snapshots per database besides its backups.
fn upload(offsite: &OffsiteSettings, backup: &Backup, keep: usize) -> Result<()> {
    let store = offsite::Store::connect(offsite)?;
    offsite::push::push(&store, offsite, backup, true)?;
    let m = &backup.metadata;
    if let Err(e) = offsite::catalog::apply_snapshot_retention(&store, &m.database, keep, &m.name) {
        eprintln!("warning: remote snapshot retention failed: {}", e.message);
    }
    Ok(())
}

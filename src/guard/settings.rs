//! `[guard]` and `[undo]` settings resolved to concrete values: how destructive commands are
//! protected, when an UPDATE is bulk, how long counting may take, how many snapshots to keep.

use std::time::Duration;

use crate::config::Loaded;
use crate::error::{Error, Result};

pub const DEFAULT_BULK_ROWS: u64 = 100;
pub const DEFAULT_COUNT_TIMEOUT: &str = "3s";
pub const DEFAULT_UNDO_KEEP: usize = 20;

/// `[guard] protection`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtectionMode {
    /// A pre-image of exactly the objects at stake, where they are known; a full backup
    /// otherwise.
    Snapshot,
    /// Always a verified full backup (newer than max_age, or taken).
    Backup,
}

#[derive(Clone, Debug)]
pub struct GuardSettings {
    pub protection: ProtectionMode,
    pub bulk_rows: u64,
    pub count_timeout: Duration,
    pub count_timeout_text: String,
    /// `[undo] keep`: snapshots kept per database.
    pub undo_keep: usize,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            protection: ProtectionMode::Snapshot,
            bulk_rows: DEFAULT_BULK_ROWS,
            count_timeout: Duration::from_secs(3),
            count_timeout_text: DEFAULT_COUNT_TIMEOUT.into(),
            undo_keep: DEFAULT_UNDO_KEEP,
        }
    }
}

impl GuardSettings {
    pub fn from_config(loaded: &Loaded) -> Result<GuardSettings> {
        let guard = &loaded.config.guard;
        let protection = match guard.protection.as_deref() {
            None | Some("snapshot") => ProtectionMode::Snapshot,
            Some("backup") => ProtectionMode::Backup,
            Some(other) => {
                return Err(
                    Error::usage(format!("[guard] protection = {other:?} is not known"))
                        .with_help("use \"snapshot\" (the default) or \"backup\""),
                )
            }
        };
        let bulk_rows = guard.bulk_rows.unwrap_or(DEFAULT_BULK_ROWS);
        if bulk_rows == 0 {
            return Err(Error::usage("[guard] bulk_rows must be at least 1"));
        }
        let count_timeout_text = guard
            .count_timeout
            .clone()
            .unwrap_or_else(|| DEFAULT_COUNT_TIMEOUT.into());
        let count_timeout = humantime::parse_duration(&count_timeout_text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Error::usage(format!(
                    "[guard] count_timeout = {count_timeout_text:?} is not a duration"
                ))
                .with_help("use a duration like \"500ms\" or \"3s\"")
            })?;
        let undo_keep = loaded.config.undo.keep.unwrap_or(DEFAULT_UNDO_KEEP);
        if undo_keep == 0 {
            return Err(Error::usage("[undo] keep must be at least 1"));
        }
        Ok(GuardSettings {
            protection,
            bulk_rows,
            count_timeout,
            count_timeout_text,
            undo_keep,
        })
    }
}

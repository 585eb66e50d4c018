//! The one place the proxy protects a statement before forwarding it (snapshot mode, and
//! `dbguard psql` after the confirmation).
//!
//! The protection is meant to be a pre-image snapshot of exactly the objects at stake (the
//! undo issue). Until that exists this takes what `dbguard run --backup` takes: a full,
//! verified backup of the database. Slower, but still protection; never none.

use super::Shared;
use crate::analysis::command::Plan;
use crate::audit::BackupUsed;
use crate::backup::dump;
use crate::target::Target;

/// What protects the data a statement destroys.
pub struct Protection {
    pub backup: Option<BackupUsed>,
    /// One line for the person at the terminal.
    pub summary: String,
}

pub fn protect(
    shared: &Shared,
    target: &Target,
    _plan: &Plan,
    statement: &str,
) -> Result<Protection, String> {
    let request = dump::Request {
        target,
        reason: Some(format!("dbguard {}: {statement}", shared.tool)),
        quiet: true,
        protected: Vec::new(),
    };
    let backup = dump::take(&shared.settings, &request).map_err(|e| e.message)?;
    Ok(Protection {
        summary: format!(
            "backed up {} to {}",
            target.effective_dbname(),
            backup.path.display()
        ),
        backup: Some(BackupUsed {
            name: backup.metadata.name.clone(),
            sha256: backup.metadata.sha256.clone(),
            how: "taken".into(),
        }),
    })
}

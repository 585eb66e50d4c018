//! The one place the proxy protects a statement before forwarding it (snapshot mode, and
//! `dbguard psql` after the confirmation): `undo::protect`, as `dbguard run` does — a
//! pre-image snapshot of exactly the objects at stake (`dbguard undo` puts it back), or a
//! verified full backup where those objects are not known. Never no protection.

use super::Shared;
use crate::analysis::command::Plan;
use crate::target::Target;
use crate::undo::{self, Protection};

pub fn protect(
    shared: &Shared,
    target: &Target,
    plan: &Plan,
    statement: &str,
) -> Result<Protection, String> {
    undo::protect(&shared.protect, target, plan, statement).map_err(|e| e.message)
}

/// After an UPDATE ran (and its transaction ended): what it wrote, so `dbguard undo` knows
/// which rows still hold it.
pub fn record_after(shared: &Shared, target: &Target, protection: &Protection) {
    if let Err(e) = undo::after::record(&shared.protect.backup, target, protection) {
        eprintln!("dbguard proxy: warning: {}", e.message);
    }
}

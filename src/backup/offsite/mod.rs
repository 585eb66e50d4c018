//! Offsite copies in S3-compatible object storage (AWS S3, MinIO, SeaweedFS, B2, …): upload
//! after a verified local backup, checked by reading it back; remote listing and retention;
//! download for a restore. A failed upload never touches the local backup.

pub mod catalog;
pub mod credentials;
pub mod pull;
pub mod push;
pub mod record;
pub mod retry;
pub mod settings;
pub mod sidecar;
pub mod store;

pub use settings::OffsiteSettings;
pub use store::Store;

use crate::config::Loaded;
use crate::error::{Error, Result};

/// `[offsite]` settings, or a usage error saying how to configure them.
pub fn require(loaded: &Loaded) -> Result<OffsiteSettings> {
    OffsiteSettings::from_config(loaded)?.ok_or_else(|| {
        Error::usage("no offsite storage configured").with_help(
            "add an [offsite] section with url = \"s3://BUCKET/PREFIX\" to dbguard.toml (see dbguard.toml.example)",
        )
    })
}

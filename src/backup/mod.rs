//! Verified backups: `pg_dump -Fc -Z0` streamed through zstd to disk with a SHA-256 computed
//! in the same pass, read back and checked before they count, described by a JSON sidecar,
//! kept last-N, and restored all-or-nothing after a safety backup.

pub mod catalog;
pub mod dump;
pub mod encryption;
pub mod fsutil;
pub mod hooks;
pub mod notify;
pub mod offsite;
pub mod policy;
pub mod progress;
pub mod restore;
pub mod retention;
pub mod scheduled;
pub mod sessions;
pub mod settings;
pub mod tools;
pub mod verify;

pub use catalog::{Backup, Metadata};
pub use settings::Settings;

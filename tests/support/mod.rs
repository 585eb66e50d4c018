//! Shared helpers for the integration tests.
//!
//! Every test binary (`tests/*.rs`) pulls this in with `mod support;`. Each binary uses
//! only part of it, so unused items are expected and would otherwise warn per binary.
#![allow(dead_code, unused_imports)]

mod forward;
mod git;
mod pg;
mod run;

pub use forward::{closed_port, Forwarder};
pub use git::GitRepo;
pub use pg::{unique_db, PgCluster};
pub use run::{dbguard, write_files, Done, Run};

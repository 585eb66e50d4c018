//! Shared helpers for the integration tests.
//!
//! Every test binary (`tests/*.rs`) pulls this in with `mod support;`. Each binary uses
//! only part of it, so unused items are expected and would otherwise warn per binary.
#![allow(dead_code)]

mod pg;
mod venv;

pub use pg::{unique_db, PgCluster};
#[allow(unused_imports)]
pub use venv::venv_bin;

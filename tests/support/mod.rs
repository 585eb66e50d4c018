//! Shared helpers for the integration tests.
//!
//! Every test binary (`tests/*.rs`) pulls this in with `mod support;`. Each binary uses
//! only part of it, so unused items are expected and would otherwise warn per binary.
#![allow(dead_code)]

pub mod cli;
mod pg;
pub mod s3;

#[allow(unused_imports)]
pub use pg::{unique_db, PgCluster};

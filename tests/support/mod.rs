//! Shared helpers for the integration tests.
//!
//! Every test binary (`tests/*.rs`) pulls this in with `mod support;`. Each binary uses
//! only part of it, so unused items are expected and would otherwise warn per binary.
#![allow(dead_code, unused_imports)]

mod alembic;
pub mod cli;
mod forward;
mod git;
mod pg;
mod project;
pub mod proxy;
pub mod s3;
mod small_disk;
mod venv;
pub mod verdicts;

pub use alembic::{sqlalchemy_url, AlembicProject, ENV_PY};
pub use cli::{dbguard, write_files, Done, Run};
#[allow(unused_imports)]
pub use forward::{closed_port, Forwarder};
pub use git::GitRepo;
#[allow(unused_imports)]
pub use pg::{embedded_bindir, unique_db, PgCluster};
#[allow(unused_imports)]
pub use project::Project;
pub use small_disk::SmallDisk;
#[allow(unused_imports)]
pub use venv::venv_bin;

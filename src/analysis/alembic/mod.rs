//! Alembic projects: configuration (`config`, read with `crate::project::ini`), revision files (`python`, `module`,
//! `revision`, `project`), the revision graph (`graph`), which revisions a command runs
//! (`walk`), and what each `upgrade()` / `downgrade()` does (`body`, `calls`, `value`,
//! `check`).
//!
//! Everything here is pure: files in, data out. Reading the database's current revision
//! lives in `crate::plan`.

pub mod body;
pub mod calls;
pub mod check;
pub mod config;
pub mod graph;
pub mod imports;
pub mod invocation;
pub mod module;
pub mod project;
pub mod python;
pub mod revision;
pub mod value;
pub mod walk;

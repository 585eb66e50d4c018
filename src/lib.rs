//! dbguard: a safety net for PostgreSQL databases that developers migrate by hand.
//!
//! The library holds everything; `main.rs` only parses arguments and maps errors to exit codes.

pub mod analysis;
pub mod audit;
pub mod backup;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod exec;
pub mod git;
pub mod guard;
pub mod hook;
pub mod init;
pub mod output;
pub mod plan;
pub mod project;
pub mod proxy;
pub mod schedule;
pub mod target;
pub mod testdb;
pub mod undo;

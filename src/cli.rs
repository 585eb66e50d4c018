//! Every command and flag, with its help text (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES_HELP: &str = "\
EXIT CODES:
  0  success
  1  findings at or above --fail-on (check), or a failed health check
  2  usage or configuration error (bad flag, bad dbguard.toml, missing path)
  3  refused by the guard
  4  backup or restore failed";

#[derive(Debug, Parser)]
#[command(
    name = "dbguard",
    version,
    about = "A safety net for PostgreSQL databases you migrate by hand",
    long_about = "dbguard finds destructive SQL (DROP, TRUNCATE, DELETE/UPDATE without WHERE, DROP COLUMN, \
                  type changes…) before it reaches a database, and reports it like a compiler.",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Configuration file [default: dbguard.toml in the current directory or its parents]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// When to use colours (NO_COLOR is honoured with `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print only findings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find destructive statements in SQL files (like a compiler: file:line:col, rule, help)
    #[command(after_help = EXIT_CODES_HELP)]
    Check(CheckArgs),
    /// Take a verified backup of the database (pg_dump → zstd, checksummed, read back)
    #[command(after_help = EXIT_CODES_HELP)]
    Backup(BackupArgs),
    /// List verified backups
    Backups(BackupsArgs),
    /// Restore a backup (verified first, after a safety backup, all-or-nothing)
    #[command(after_help = EXIT_CODES_HELP)]
    Restore(RestoreArgs),
    /// Health of the backups: age, size, count, free space (exit 1 when a check fails)
    Status(StatusArgs),
    /// Copy local backups to the offsite store ([offsite] in dbguard.toml)
    #[command(after_help = EXIT_CODES_HELP)]
    Push(PushArgs),
    /// Create an age identity (private key) for [encryption] and print its public key
    Keygen(KeygenArgs),
    /// List every rule with its severity
    Rules(RulesArgs),
    /// Print a rule's documentation: what it catches, why, an example, how to make it safe
    Explain {
        /// A rule id, as listed by `dbguard rules`
        rule: String,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files and directories to check (directories: every *.sql inside, recursively; `-`: stdin)
    /// [default: [check] paths from dbguard.toml, else the current directory]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Exit with 1 when a finding of this severity or worse is found [default: data-loss]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Database URL (overrides [database] in dbguard.toml)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Why the backup was taken (recorded in its metadata)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print the new backup's metadata as JSON
    #[arg(long)]
    pub json: bool,
    /// Copy the backup to the offsite store too (the default when [offsite] is set, unless
    /// its `auto = false`)
    #[arg(long, conflicts_with = "no_offsite")]
    pub offsite: bool,
    /// Keep this backup local only, even when [offsite] is set
    #[arg(long)]
    pub no_offsite: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Backup to upload (as listed by `dbguard backups`) [default: the newest backup of the
    /// database]
    #[arg(value_name = "NAME", conflicts_with = "all")]
    pub name: Option<String>,
    /// Upload every local backup that is missing remotely (of every database), except those
    /// remote retention would remove at once
    #[arg(long)]
    pub all: bool,
    /// Database URL whose newest backup to upload (overrides [database] in dbguard.toml)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the identity (never overwritten) [default: [encryption] identity_file,
    /// else ~/.config/dbguard/key.txt]
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Only backups of this database
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// List the backups in the offsite store instead
    #[arg(long)]
    pub remote: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup file name (as listed by `dbguard backups`) or path
    #[arg(
        value_name = "NAME",
        required_unless_present_any = ["latest", "from_remote"],
        conflicts_with_all = ["latest", "from_remote"]
    )]
    pub name: Option<String>,
    /// Restore the newest verified backup of the target database
    #[arg(long, conflicts_with = "from_remote")]
    pub latest: bool,
    /// Download a backup from the offsite store (`latest`: the newest of the target
    /// database), check its SHA-256, then restore it
    #[arg(long, value_name = "latest|NAME")]
    pub from_remote: Option<String>,
    /// Database URL to restore into (overrides [database] in dbguard.toml)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Verify the backup and show what would be restored; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Skip the safety backup of the target taken before restoring
    #[arg(long)]
    pub no_safety_backup: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Database URL (overrides [database] in dbguard.toml)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Print the catalog as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    DataLoss,
    Risky,
    Info,
    Never,
}

impl FailOn {
    /// The lowest severity that fails the check, if any does.
    pub fn threshold(self) -> Option<crate::analysis::Severity> {
        use crate::analysis::Severity;
        match self {
            FailOn::DataLoss => Some(Severity::DataLoss),
            FailOn::Risky => Some(Severity::Risky),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

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
    /// Find destructive statements in SQL files and alembic revisions (like a compiler:
    /// file:line:col, rule, help)
    #[command(after_help = EXIT_CODES_HELP)]
    Check(CheckArgs),
    /// Show what an alembic command would run and what it would destroy, without running it
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
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
    /// Files and directories to check (directories: every *.sql and alembic revision inside,
    /// recursively; `-`: stdin)
    /// [default: [check] paths from dbguard.toml, else the current directory]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Exit with 1 when a finding of this severity or worse is found [default: data-loss]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Which functions of alembic revisions (.py) to check: `upgrade` (what a deploy runs),
    /// `downgrade`, or `both`
    #[arg(long, value_enum, default_value_t = CheckDirection::Upgrade, value_name = "WHICH")]
    pub direction: CheckDirection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckDirection {
    Upgrade,
    Downgrade,
    Both,
}

pub const PLAN_HELP: &str = "\
EXAMPLES:
  dbguard plan -- alembic upgrade head
  dbguard plan --format json -- alembic downgrade -1
  dbguard plan -- poetry run alembic -c db/alembic.ini upgrade +2

The verdict is the worst finding of any step: safe, risky or data-loss; `uncertain` is added
when the database could not be read (the plan then assumes nothing about its revision).";

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format (text or json)
    #[arg(long, value_enum, default_value_t = PlanFormat::Text, value_name = "FORMAT")]
    pub format: PlanFormat,

    /// The database to read the current revision from [default: [database] in dbguard.toml,
    /// else $DATABASE_URL, else PG* variables]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// The command that would run, e.g. `alembic upgrade head`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
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

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
    /// Take a verified backup of the database (pg_dump → zstd, checksummed, read back)
    #[command(after_help = EXIT_CODES_HELP)]
    Backup(BackupArgs),
    /// List verified backups
    Backups(BackupsArgs),
    /// Restore a backup (verified first, after a safety backup, all-or-nothing)
    #[command(after_help = EXIT_CODES_HELP)]
    Restore(RestoreArgs),
    /// Put back what a guarded command destroyed, from the snapshot taken right before it
    #[command(after_help = EXIT_CODES_HELP)]
    Undo(UndoArgs),
    /// Health of the backups: age, size, schedule, offsite, encryption, free space (exit 1 on
    /// any alert)
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Apply the retention policy now (local and offsite); --dry-run shows what would go
    Prune(PruneArgs),
    /// Install, list or remove the scheduled backup (cron, or a systemd user timer)
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Run a command through the guard: destructive commands need a recent verified backup
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Show what a command would do and what the guard would decide; run nothing
    #[command(after_help = PLAN_HELP)]
    Plan(PlanArgs),
    /// Guard every client (GUI clients, REPLs, ORMs): a PostgreSQL proxy that checks each statement
    #[command(after_help = PROXY_HELP)]
    Proxy(ProxyArgs),
    /// Interactive psql through the guard: destructive statements are confirmed and protected
    #[command(after_help = PSQL_HELP)]
    Psql(PsqlArgs),
    /// Show the audit trail of guarded commands
    Audit(AuditArgs),
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
    /// Prove the tests' database is not the dev database (before pytest, and in CI)
    #[command(name = "verify-test-db", after_help = VERIFY_TEST_DB_HELP)]
    VerifyTestDb(VerifyTestDbArgs),
    /// Install or remove the git pre-commit hook that runs `dbguard check --staged`
    Hook {
        #[command(subcommand)]
        action: HookAction,
    },
    /// Write a commented dbguard.toml from what the project shows (alembic.ini, .env, conftest.py)
    Init(InitArgs),
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

    /// Check the staged content (the git index) of added or modified migrations instead of
    /// files on disk: what the pre-commit hook runs
    #[arg(long, conflicts_with = "paths")]
    pub staged: bool,

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
  dbguard plan -- psql app_dev -f cleanup.sql

For alembic, the plan lists every migration step in order with its findings. The verdict is
the worst finding: safe, risky or data-loss; `uncertain` is added when the database could not
be read (the plan then assumes nothing about its revision, and is never safe).";

pub const VERIFY_TEST_DB_HELP: &str = "\
The test URL is the first of: --url; [test_database] url, then $TEST_DATABASE_URL (or
[test_database] url_env); pytest-env entries of the pytest configuration (pytest.ini,
pyproject.toml, tox.ini, setup.cfg); conftest.py files (read, never run); .env.test.

CHECKS:
  url       a test database URL was found
  port      it uses [test_database] port (when set), not the dev database's port
  name      its database name matches [test_database] name_pattern (when set)
  identity  it does not reach the dev database (same cluster system identifier and
            database name), whatever host name or port it uses
  mark      it carries the marker written by --mark (required with require_mark = true)

EXIT CODES:
  0  every check passed (or was skipped)
  1  a check failed
  2  usage or configuration error";

#[derive(Debug, Args)]
pub struct VerifyTestDbArgs {
    /// The test database URL [default: discovered, see below]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// The dev database URL [default: [database] url, else $DATABASE_URL, else PG* variables]
    #[arg(long, value_name = "URL")]
    pub dev_url: Option<String>,

    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,

    /// Mark the test database (a line in its COMMENT) once every other check passes
    #[arg(long)]
    pub mark: bool,
}

#[derive(Debug, Subcommand)]
pub enum HookAction {
    /// Write the pre-commit hook into the repository's hooks directory (core.hooksPath aware)
    Install {
        /// Replace a pre-commit hook dbguard did not write; it keeps running, after dbguard
        #[arg(long)]
        force: bool,
    },
    /// Remove dbguard's pre-commit hook (and put back a hook it had chained)
    Uninstall,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Print the configuration instead of writing dbguard.toml
    #[arg(long)]
    pub print: bool,
}

pub const RUN_HELP: &str = "\
EXAMPLES:
  dbguard run -- alembic downgrade -1
  dbguard run --backup -- psql -c 'TRUNCATE sessions'
  psql_script | dbguard run -- psql app_dev

EXIT CODES:
  the command's own exit code (128+N when it was killed by signal N), or
  2  usage or configuration error, or the command was not found
  3  refused by the guard (nothing was run)
  4  the backup the guard took failed (nothing was run)";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Do not ask for confirmation (needed without a terminal for risky or destructive commands)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Take the missing backup before a destructive command instead of refusing
    #[arg(long)]
    pub backup: bool,
    /// Print the plan and the decision; run nothing (same as `dbguard plan`)
    #[arg(long)]
    pub dry_run: bool,
    /// The command to run, after `--`
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

pub const PROXY_HELP: &str = "\
EXAMPLES:
  dbguard proxy                          # 127.0.0.1:6432 → the [database] URL
  dbguard proxy --listen 127.0.0.1:7432 --url postgresql://app@localhost:5433/app_dev
  dbguard proxy --socket /run/user/1000/dbguard   # psql -h /run/user/1000/dbguard
  then point the client at it: host 127.0.0.1, port 6432, your usual database, user, password

A refused statement gets SQLSTATE 42501 (a declined confirmation 57014); the session goes on.

EXIT CODES:
  2  usage or configuration error (bad address, socket directory not private)";

pub const PSQL_HELP: &str = "\
EXAMPLES:
  dbguard psql                    # the [database] URL
  dbguard psql -d app_dev -U app
  dbguard psql postgresql://app@localhost:5433/app_dev

EXIT CODES:
  psql's own exit code, or 2 on a usage or configuration error";

#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Listen on this loopback address [default: [proxy] listen, else 127.0.0.1:6432]
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "socket")]
    pub listen: Option<String>,
    /// Listen on a unix socket in this directory (created 0700) instead
    #[arg(long, value_name = "DIR")]
    pub socket: Option<PathBuf>,
    /// The port in the unix socket's name (`.s.PGSQL.PORT`, what clients pass as port)
    #[arg(long, value_name = "PORT", default_value_t = 5432, requires = "socket")]
    pub port: u16,
    /// The server to relay to [default: [database] in dbguard.toml, else $DATABASE_URL, else PG*]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// What to do with statements that destroy data [default: [proxy] destructive, else snapshot]
    #[arg(long, value_enum, value_name = "MODE")]
    pub destructive: Option<DestructiveMode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DestructiveMode {
    /// Take a snapshot of what is at stake, then run it
    Snapshot,
    /// Refuse it
    Block,
}

#[derive(Debug, Args)]
pub struct PsqlArgs {
    /// psql's own options and arguments
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PSQL ARGS"
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// The database alembic migrates [default: [database] in dbguard.toml, else $DATABASE_URL,
    /// else PG* variables]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The command to plan, after `--`
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Print JSON lines' objects as a JSON list
    #[arg(long)]
    pub json: bool,
    /// Only the newest N entries
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
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
    /// Run as the scheduled job: no prompts or progress, output appended to the log file
    /// ([backup] log), never overlapping a running backup, non-zero exit on failure
    #[arg(long)]
    pub scheduled: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Show what would be removed and why the rest is kept; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Only backups of this database
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// Leave the offsite copies alone
    #[arg(long)]
    pub no_offsite: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Install the scheduled `dbguard backup --scheduled` of this project (replacing an
    /// earlier one)
    Install(ScheduleInstallArgs),
    /// Show this project's scheduled backup
    List,
    /// Remove this project's scheduled backup
    Remove,
}

#[derive(Debug, Args)]
pub struct ScheduleInstallArgs {
    /// How often: 15m, 30m, 1h, 2h, 6h, 12h, 1d (default) or 1w
    #[arg(long, value_name = "INTERVAL", conflicts_with = "cron")]
    pub every: Option<String>,
    /// A cron expression instead (five fields, e.g. "0 3 * * *")
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// Where the job runs: cron or systemd [default: systemd when it is the init system and
    /// user timers work, else cron]
    #[arg(long, value_enum, value_name = "WHERE")]
    pub with: Option<crate::schedule::Backend>,
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
pub struct UndoArgs {
    /// The snapshot to put back (its id or name, as `--list` shows) [default: the newest]
    #[arg(value_name = "ID", conflicts_with = "list")]
    pub id: Option<String>,
    /// List the snapshots, newest first: when, which command, what objects, how many rows
    #[arg(long)]
    pub list: bool,
    /// Show what would be put back, and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short)]
    pub yes: bool,
    /// Restore rows and columns into `<table>__undo_<id>` instead, to merge by hand
    #[arg(long)]
    pub side_table: bool,
    /// Print JSON (with --list)
    #[arg(long, requires = "list")]
    pub json: bool,
    /// Only snapshots of this database
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
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
    /// End the other sessions connected to the target database before restoring (they are
    /// listed either way)
    #[arg(long)]
    pub terminate_connections: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Database URL (overrides [database] in dbguard.toml)
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Print JSON (same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format: text, json, or prometheus (node_exporter textfile collector metrics)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<StatusFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
    Prometheus,
}

const STATUS_HELP: &str = "\
Alerts (each makes the exit code 1):
  age        the newest verified backup is older than [status] max_age (default: [backup]
             max_age x 1.5)
  size       the newest backup is smaller than [status] min_size, or than half the median of
             the ones before it
  schedule   a schedule is installed and [status] missed_runs (default 2) runs went by without
             a scheduled backup
  offsite    with [offsite]: the newest local backup has no checked offsite copy
  encryption with [encryption]: the newest backup is not encrypted
  count, free space, verified backup: none at all, or too little room for the next one

--format json prints {\"ok\": bool, \"databases\": [{\"database\", \"target\", \"backup_dir\",
\"newest\", \"kept\", \"checks\": [{\"name\", \"ok\", \"detail\"}], \"alerts\": [names]}]}.
--format prometheus prints dbguard_backup_* gauges for node_exporter's textfile collector:
  dbguard status --format prometheus > /var/lib/node_exporter/textfile/dbguard.prom

Exit codes: 0 healthy, 1 an alert fired, 2 configuration error.";

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
    /// GitLab code quality report (Code Climate JSON)
    Gitlab,
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

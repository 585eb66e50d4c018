//! A wrapped command line → a `Plan`: what it will run, against which database, with which
//! findings. It reads the files (and stdin) the command would read; the only database it
//! reads is alembic's `alembic_version`, to know which migrations a command would run (the
//! guard weighs findings against the data afterwards).

pub mod alembic;
mod custom;
mod docker;
mod pgtools;
pub mod psql;
mod wrappers;

use crate::analysis::rules::Rule;
use crate::analysis::{FileReport, Finding, Severity, Span};
use crate::config::Loaded;
use crate::error::Result;
use crate::target::{mask_secrets, Env, Target};

/// What kind of command a plan is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Alembic,
    Psql,
    Dropdb,
    PgRestore,
    Docker,
    Pytest,
    /// createdb, pg_dump and friends: never destructive.
    SafePostgresTool,
    Custom,
    /// Anything else: runs without checks.
    Other,
}

/// Everything the guard needs to decide about a command.
#[derive(Debug)]
pub struct Plan {
    /// The command line, as given.
    pub argv: Vec<String>,
    pub tool: Tool,
    /// One line: what the command will do.
    pub description: String,
    /// The database the command acts on, and where that came from.
    pub target: Option<(Target, String)>,
    /// Findings, grouped by source (a file, `psql -c #1`, the command itself).
    pub reports: Vec<FileReport>,
    /// Things worth saying that are not findings (e.g. an interactive session).
    pub notes: Vec<String>,
    /// Why dbguard cannot be sure what the command does; such a plan is never safe.
    pub uncertain: Option<String>,
    /// Bytes read from our stdin that the command must be fed instead (psql reading a script).
    pub stdin: Option<Vec<u8>>,
    /// Why the command must not run at all, whatever the flags (pytest aimed at the dev
    /// database).
    pub blocked: Option<String>,
    /// For alembic commands: the migration steps, as `dbguard plan` shows them.
    pub alembic: Option<crate::plan::Plan>,
    /// Why the findings' table names cannot be looked up in the target database (the script
    /// switches databases or search_path): then they are not weighed, and keep their severity.
    pub unweighable: Option<String>,
}

impl Plan {
    pub fn new(argv: &[String], tool: Tool, description: impl Into<String>) -> Plan {
        Plan {
            argv: argv.to_vec(),
            tool,
            description: description.into(),
            target: None,
            reports: Vec::new(),
            notes: Vec::new(),
            uncertain: None,
            stdin: None,
            blocked: None,
            alembic: None,
            unweighable: None,
        }
    }

    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.reports
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| !f.suppressed)
    }

    pub fn findings_mut(&mut self) -> impl Iterator<Item = &mut Finding> {
        self.reports
            .iter_mut()
            .flat_map(|r| &mut r.findings)
            .filter(|f| !f.suppressed)
    }

    /// The worst unsuppressed finding; an uncertain plan is at least risky (fail closed).
    pub fn severity(&self) -> Option<Severity> {
        let worst = self.findings().map(|f| f.severity).max();
        if self.uncertain.is_some() {
            return Some(worst.map_or(Severity::Risky, |s| s.max(Severity::Risky)));
        }
        worst
    }

    /// After the guard weighed the findings, the alembic steps show the weighed ones and the
    /// verdict follows them (the reports hold one entry per step, in order).
    pub fn sync_alembic(&mut self) {
        let severity = self.severity();
        let Some(alembic) = self.alembic.as_mut() else {
            return;
        };
        for (step, report) in alembic.steps.iter_mut().zip(&self.reports) {
            step.findings = report.findings.clone();
        }
        alembic.verdict = match severity {
            None | Some(Severity::Info) => crate::plan::Verdict::Safe,
            Some(Severity::Risky) => crate::plan::Verdict::Risky,
            Some(Severity::DataLoss) => crate::plan::Verdict::DataLoss,
        };
    }

    /// The command line with secrets masked, for output and the audit log.
    pub fn display_command(&self) -> String {
        mask_secrets(&shell_join(&self.argv))
    }

    /// A finding about the command as a whole (dropdb, docker compose down -v, …).
    fn command_finding(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        message: String,
        target: Option<String>,
    ) {
        let statement = self.display_command();
        let finding = Finding {
            rule: rule.id,
            severity,
            path: "<command>".to_string(),
            span: Span {
                line: 1,
                column: 1,
                end_line: 1,
                end_column: statement.chars().count() + 1,
            },
            message,
            help: rule.help.to_string(),
            statement,
            suppressed: false,
            suppression_reason: None,
            target: target.map(|table| crate::analysis::ObjectRef {
                table,
                column: None,
            }),
            sql: None,
            rows: None,
        };
        self.reports.push(FileReport {
            path: "<command>".into(),
            statements: 1,
            findings: vec![finding],
        });
    }
}

/// What classification may look at besides the command line.
pub struct Inputs<'a> {
    pub config: &'a Loaded,
    pub env: &'a dyn Env,
    /// Whether our stdin is a terminal (psql without -c/-f is then interactive).
    pub stdin_is_terminal: bool,
    /// Reads all of our stdin (called only when the command would read it).
    pub read_stdin: &'a mut dyn FnMut() -> Result<Vec<u8>>,
    /// `--url`: the database alembic migrates, instead of `[database]`.
    pub database_url: Option<&'a str>,
}

pub fn classify(argv: &[String], inputs: &mut Inputs) -> Result<Plan> {
    if argv.is_empty() {
        return Err(crate::error::Error::usage("no command given")
            .with_help("dbguard run -- COMMAND [ARGS…]"));
    }
    // Project-listed commands first: the project knows its own scripts best.
    if let Some(plan) = custom::classify(argv, inputs)? {
        return Ok(plan);
    }
    let unwrapped = wrappers::unwrap(argv);
    let env = wrappers::Overlay {
        base: inputs.env,
        vars: &unwrapped.env,
    };
    let mut inputs = Inputs {
        config: inputs.config,
        env: &env,
        stdin_is_terminal: inputs.stdin_is_terminal,
        read_stdin: inputs.read_stdin,
        database_url: inputs.database_url,
    };
    let args = &unwrapped.args;
    let program = args.first().map(|p| program_name(p)).unwrap_or_default();
    let mut plan = match program.as_str() {
        "alembic" => alembic::classify(args, &inputs)?,
        "psql" => psql::classify(args, &mut inputs)?,
        "dropdb" => pgtools::dropdb(args, &inputs)?,
        "pg_restore" => pgtools::pg_restore(args, &inputs)?,
        "createdb" | "pg_dump" | "pg_dumpall" | "pg_isready" | "vacuumdb" | "reindexdb"
        | "clusterdb" => Plan::new(
            args,
            Tool::SafePostgresTool,
            format!("{program}: does not remove data"),
        ),
        "docker" | "docker-compose" | "podman" | "podman-compose" => {
            docker::classify(args, &inputs)?
        }
        "pytest" | "py.test" => pytest(args, &inputs)?,
        _ => Plan::new(
            args,
            Tool::Other,
            format!("{program}: not a database command dbguard knows; runs unchecked"),
        ),
    };
    plan.argv = argv.to_vec();
    Ok(plan)
}

/// pytest runs only when `verify-test-db` proves the tests' database is not the dev one.
fn pytest(args: &[String], inputs: &Inputs) -> Result<Plan> {
    let mut plan = Plan::new(args, Tool::Pytest, "pytest: verify-test-db must pass first");
    let cwd = std::env::current_dir().map_err(|e| {
        crate::error::Error::usage(format!("cannot read the current directory: {e}"))
    })?;
    let report = crate::testdb::verify(&crate::testdb::Request {
        url: None,
        dev_url: None,
        mark: false,
        config: inputs.config,
        env: inputs.env,
        cwd: &cwd,
    })?;
    for check in &report.checks {
        plan.notes.push(
            format!(
                "verify-test-db {}: {:?}: {}",
                check.id, check.status, check.reason
            )
            .to_lowercase(),
        );
    }
    if let Some(test) = &report.test_database {
        plan.description = format!("pytest against {} ({})", test.url, test.source);
    }
    if !report.ok {
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| c.status == crate::testdb::checks::Status::Fail)
            .map(|c| format!("{}: {}", c.id, c.reason))
            .collect();
        plan.blocked = Some(format!(
            "the tests would not run against a verified test database ({})",
            failed.join("; ")
        ));
    }
    Ok(plan)
}

/// `/usr/bin/psql` → `psql`, `python3.11` → `python3.11`.
pub fn program_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Joins arguments for display, quoting those a shell would split.
pub fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A database target from libpq-style options, completed by the environment.
fn target_from_options(
    dbname: Option<&str>,
    host: Option<&str>,
    port: Option<&str>,
    user: Option<&str>,
    env: &dyn Env,
) -> Result<Target> {
    let mut target = match dbname {
        Some(d) => Target::parse(d)?,
        None => Target::default(),
    };
    if target.host.is_none() {
        target.host = host.map(str::to_string);
    }
    if target.port.is_none() {
        if let Some(p) = port {
            target.port = Some(
                p.parse()
                    .map_err(|_| crate::error::Error::usage(format!("invalid port `{p}`")))?,
            );
        }
    }
    if target.user.is_none() {
        target.user = user.map(str::to_string);
    }
    Ok(target.with_defaults(env))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_join_quotes_what_needs_it() {
        let argv: Vec<String> = ["psql", "-c", "DROP TABLE x", "it's"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(shell_join(&argv), r"psql -c 'DROP TABLE x' 'it'\''s'");
    }
}

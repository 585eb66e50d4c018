//! `dbguard verify-test-db`: runs the checks and prints them (text or JSON).

use std::io::Write;
use std::path::Path;

use super::Context;
use crate::cli::VerifyTestDbArgs;
use crate::error::{Exit, Result};
use crate::output::text_paint as paint;
use crate::target::ProcessEnv;
use crate::testdb::checks::Status;
use crate::testdb::{self, Report, Request};

pub fn run(context: &Context, args: &VerifyTestDbArgs, cwd: &Path) -> Result<Exit> {
    let report = testdb::verify(&Request {
        url: args.url.as_deref(),
        dev_url: args.dev_url.as_deref(),
        mark: args.mark,
        config: &context.config,
        env: &ProcessEnv,
        cwd,
    })?;
    if args.json {
        super::write_stdout(|out| {
            serde_json::to_writer_pretty(
                &mut *out,
                &Json {
                    version: 1,
                    report: &report,
                },
            )?;
            writeln!(out)
        })?;
    } else {
        super::write_stdout(|out| text(&report, context, out))?;
    }
    Ok(if report.ok { Exit::Ok } else { Exit::Findings })
}

/// The JSON contract: `version` first, then the report's fields in declaration order.
#[derive(serde::Serialize)]
struct Json<'a> {
    version: u32,
    #[serde(flatten)]
    report: &'a Report,
}

fn text(report: &Report, context: &Context, out: &mut dyn Write) -> std::io::Result<()> {
    let p = &context.palette;
    if !context.quiet {
        match &report.test_database {
            Some(test) => writeln!(out, "test database: {}  ({})", test.url, test.source)?,
            None => writeln!(out, "test database: none found")?,
        }
        writeln!(
            out,
            "dev database:  {}  ({})",
            report.dev_database.url, report.dev_database.source
        )?;
        writeln!(out)?;
    }
    for check in &report.checks {
        let label = match check.status {
            Status::Pass => paint(p.help, "pass"),
            Status::Fail => paint(p.error, "FAIL"),
            Status::Skip => paint(p.dim, "skip"),
        };
        if context.quiet && check.status != Status::Fail {
            continue;
        }
        writeln!(out, "  {label}  {:<9} {}", check.id, check.reason)?;
        if let Some(help) = check.help.as_ref().filter(|_| check.status == Status::Fail) {
            writeln!(out, "        {:<9} {} {help}", "", paint(p.help, "help:"))?;
        }
    }
    for note in &report.notes {
        writeln!(out, "{} {note}", paint(p.note, "note:"))?;
    }
    if !context.quiet {
        let failed = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        if failed == 0 {
            writeln!(out, "\nthe test database is not the dev database")?;
        } else {
            writeln!(
                out,
                "\n{failed} of {} checks failed: do not run the tests against this database",
                report.checks.len()
            )?;
        }
    }
    Ok(())
}

//! `dbguard check`: inputs → reports (in parallel, file by file) → output → exit code.

use std::io::Read;
use std::path::PathBuf;

use rayon::prelude::*;

use super::Context;
use crate::analysis::alembic::{self, config::Sources, walk::Direction};
use crate::analysis::check::{self, FileKind};
use crate::analysis::discover::{self, Input};
use crate::analysis::FileReport;
use crate::cli::{CheckArgs, CheckDirection, FailOn, Format};
use crate::error::{Error, Exit, Result};
use crate::output::{self, Options};

pub fn run(context: &Context, args: CheckArgs) -> Result<Exit> {
    let settings = &context.config.config.check;
    let format = args.format.or(settings.format).unwrap_or(Format::Text);
    let fail_on = args
        .fail_on
        .or(settings.fail_on)
        .unwrap_or(FailOn::DataLoss);
    let directions: &[Direction] = match args.direction {
        CheckDirection::Upgrade => &[Direction::Upgrade],
        CheckDirection::Downgrade => &[Direction::Downgrade],
        CheckDirection::Both => &[Direction::Upgrade, Direction::Downgrade],
    };
    if args.staged {
        let reports = super::staged::reports(context, directions)?;
        return finish(context, format, fail_on, &reports);
    }
    let paths: Vec<PathBuf> = if !args.paths.is_empty() {
        args.paths
    } else if !settings.paths.is_empty() {
        settings
            .paths
            .iter()
            .map(|p| context.config.resolve(p))
            .collect()
    } else {
        vec![PathBuf::from(".")]
    };

    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let version_dirs = alembic_version_dirs(context, &cwd);
    let inputs = discover::collect_with_versions(&paths, &version_dirs)?;
    let stdin_text = if inputs.contains(&Input::Stdin) {
        Some(read_stdin()?)
    } else {
        None
    };

    // One file at a time per worker: memory stays flat however large the corpus is.
    let reports: Vec<FileReport> = inputs
        .par_iter()
        .map(|input| match input {
            Input::Stdin => check::check_text(stdin_text.as_deref().unwrap_or(""), "<stdin>"),
            Input::File { path, display } if FileKind::of(path) == FileKind::Python => {
                vec![alembic::check::check_file(path, display, directions)]
            }
            Input::File { path, display } => check::check_file(path, display),
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    finish(context, format, fail_on, &reports)
}

/// Renders the reports and turns them into the exit code.
fn finish(
    context: &Context,
    format: Format,
    fail_on: FailOn,
    reports: &[FileReport],
) -> Result<Exit> {
    let options = Options {
        palette: context.palette,
        quiet: context.quiet,
    };
    super::write_stdout(|out| output::render(format, reports, &options, out))?;

    let failed = fail_on.threshold().is_some_and(|threshold| {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .any(|f| !f.suppressed && f.severity >= threshold)
    });
    Ok(if failed { Exit::Findings } else { Exit::Ok })
}

fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
    match check::decode(bytes) {
        check::Decoded::Text(text) | check::Decoded::Lossy(text, _) => Ok(text),
        check::Decoded::Binary => Err(Error::usage("stdin looks like binary data, not SQL")),
    }
}

/// The version locations of the alembic project, when there is one: `.py` files there are
/// revisions even when they do not look like one. A project that cannot be read adds none
/// (its files are still found by their `revision` / `upgrade()`).
pub(super) fn alembic_version_dirs(context: &Context, cwd: &std::path::Path) -> Vec<PathBuf> {
    let preferred = context
        .config
        .config
        .alembic
        .config
        .as_ref()
        .map(|p| context.config.resolve(p));
    let env = std::env::var("ALEMBIC_CONFIG")
        .ok()
        .filter(|v| !v.is_empty());
    Sources::resolve(cwd, &[], None, env.as_deref(), preferred.as_deref())
        .and_then(|sources| alembic::config::load(&sources, cwd))
        .map(|c| c.version_locations)
        .unwrap_or_default()
}

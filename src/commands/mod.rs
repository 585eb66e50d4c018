//! One thin file per subcommand, gluing the rooms together.

mod audit;
mod backup;
mod backups;
mod check;
mod completions;
mod hook;
mod init;
mod keygen;
mod plan;
mod proxy;
mod prune;
mod psql;
mod push;
mod restore;
mod rules;
mod run;
mod schedule;
mod staged;
mod status;
mod undo;
mod verify_test_db;

use std::io::{IsTerminal, Write};

use crate::cli::{Cli, ColorChoice, Command};
use crate::config::{self, Loaded};
use crate::error::{Error, Exit, Result};
use crate::output::Palette;

/// What every command gets: the configuration and how to print.
pub struct Context {
    pub config: Loaded,
    pub palette: Palette,
    pub quiet: bool,
}

/// Whether to colour stdout: `--color`, then NO_COLOR (any non-empty value), TERM=dumb and
/// whether stdout is a terminal.
pub fn use_color(choice: ColorChoice) -> bool {
    decide_color(choice, std::io::stdout().is_terminal())
}

/// The same decision for error messages, which go to stderr.
pub fn use_color_stderr(choice: ColorChoice) -> bool {
    decide_color(choice, std::io::stderr().is_terminal())
}

fn decide_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
            !no_color && !dumb && terminal
        }
    }
}

/// Runs a command line; the result is the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let palette = Palette::new(use_color(cli.color));
    // Only commands that need it read dbguard.toml, so `rules` works next to a broken file.
    let cwd = || {
        std::env::current_dir()
            .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))
    };
    let context = || -> Result<Context> {
        let config = config::load(cli.config.as_deref(), &cwd()?)?;
        Ok(Context {
            config,
            palette,
            quiet: cli.quiet,
        })
    };
    let exit = match cli.command {
        Command::Rules(ref args) => rules::list(args, &palette),
        Command::Explain { ref rule } => rules::explain(rule),
        Command::Completions { shell } => completions::print(shell),
        Command::Hook { ref action } => hook::run(action, cli.config.as_deref(), cli.quiet),
        Command::Init(ref args) => init::run(args, cli.config.as_deref(), cli.quiet),
        Command::Check(args) => check::run(&context()?, args),
        Command::VerifyTestDb(ref args) => verify_test_db::run(&context()?, args, &cwd()?),
        Command::Backup(args) => backup::run(&context()?, args),
        Command::Backups(args) => backups::run(&context()?, args),
        Command::Restore(args) => restore::run(&context()?, args),
        Command::Undo(args) => undo::run(&context()?, args),
        Command::Status(args) => status::run(&context()?, args),
        Command::Prune(args) => prune::run(&context()?, args),
        Command::Schedule { ref action } => schedule::run(&context()?, action),
        Command::Audit(args) => audit::run(&context()?, args),
        Command::Push(args) => push::run(&context()?, args),
        Command::Keygen(args) => keygen::run(&context()?, args),
        Command::Plan(args) => return run::plan(&context()?, args),
        Command::Run(args) => return run::run(&context()?, args),
        Command::Proxy(args) => return proxy::run(&context()?, args),
        Command::Psql(args) => return psql::run(&context()?, args),
    };
    exit.map(Exit::code)
}

/// Writes to stdout; a closed pipe (`dbguard check | head`) is not an error.
pub fn write_stdout(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match f(&mut out).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::usage(format!("cannot write output: {e}"))),
    }
}

/// The version locations of the alembic project seen from `cwd`, when there is one: `.py`
/// files there are alembic revisions (for `check` and `check --staged` alike).
pub(crate) fn alembic_version_dirs(
    context: &Context,
    cwd: &std::path::Path,
) -> Vec<std::path::PathBuf> {
    let env = std::env::var("ALEMBIC_CONFIG")
        .ok()
        .filter(|v| !v.is_empty());
    let preferred = context.config.alembic_config();
    crate::analysis::alembic::config::discover(cwd, preferred.as_deref(), env.as_deref())
        .map(|c| c.version_locations)
        .unwrap_or_default()
}

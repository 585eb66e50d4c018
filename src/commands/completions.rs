//! `dbguard completions SHELL`.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Exit, Result};

pub fn print(shell: clap_complete::Shell) -> Result<Exit> {
    super::write_stdout(|out| {
        clap_complete::generate(shell, &mut Cli::command(), "dbguard", out);
        Ok(())
    })?;
    Ok(Exit::Ok)
}

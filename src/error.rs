//! One error type for the whole tool. Each error carries the exit code it maps to, because the
//! exit codes are a contract scripts depend on (see `EXIT CODES` in `dbguard --help`).

use std::fmt;

/// The documented exit codes. Keep in sync with `cli::EXIT_CODES_HELP` and the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// `check` found something at/above `--fail-on`, or a health check failed.
    Findings = 1,
    /// Bad command line, bad configuration, missing input file.
    Usage = 2,
    /// The guard refused to run a command.
    Refused = 3,
    /// A backup or restore failed.
    Backup = 4,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error the user sees as `error: <message>` followed by an optional `  help: <hint>`.
#[derive(Debug)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
    pub help: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            exit: Exit::Usage,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

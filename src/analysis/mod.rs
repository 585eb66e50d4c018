//! "What would this do?": pure analysis of SQL (and later alembic) text into findings.
//! Nothing in here touches the network, a database or the terminal.

use serde::Serialize;

/// How bad a finding is. The order matters: `Info < Risky < DataLoss`, which is how
/// `--fail-on` thresholds compare.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing, nothing is lost.
    Info,
    /// Data may change or break, or dbguard cannot tell what will happen.
    Risky,
    /// Stored data is removed.
    DataLoss,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Risky => "risky",
            Severity::DataLoss => "data-loss",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 1-based, inclusive-start / exclusive-end position range in a file. Columns count
/// characters, not bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// One reported problem, ready to be rendered by any output format.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub path: String,
    #[serde(flatten)]
    pub span: Span,
    pub message: String,
    pub help: String,
    /// The statement (or call) the finding is about, shortened for display.
    pub statement: String,
    pub suppressed: bool,
    /// The reason given in the `dbguard:allow` annotation that suppressed this finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression_reason: Option<String>,
    /// The table (and column) the finding is about, when known: the guard asks the database
    /// whether data is at stake there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<ObjectRef>,
    /// The exact SQL of a countable DELETE / UPDATE, for the guard's impact count.
    #[serde(skip)]
    pub sql: Option<String>,
    /// The exact number of rows at stake, when the guard counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<i64>,
}

/// A table or column named in SQL, as written (quoted identifiers keep their quotes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// What checking one input produced.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    pub path: String,
    pub statements: usize,
    pub findings: Vec<Finding>,
}

pub mod alembic;
pub mod allow;
pub mod check;
pub mod command;
pub mod discover;
pub mod lines;
pub mod ops;
pub mod rules;
pub mod simulate;
pub mod sql;

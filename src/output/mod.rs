//! Rendering findings: compiler-style text, JSON (a versioned contract), SARIF 2.1.0 for code
//! scanning, and GitHub workflow commands. Renderers only format; they decide nothing.

mod github;
mod gitlab;
mod json;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::analysis::{FileReport, Severity};
use crate::cli::Format;

pub use text::{paint as text_paint, Palette};

/// Totals over every report, as printed in summaries and the JSON `summary` object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub statements: usize,
    pub data_loss: usize,
    pub risky: usize,
    pub info: usize,
    pub suppressed: usize,
}

impl Summary {
    pub fn of(reports: &[FileReport]) -> Summary {
        let mut s = Summary {
            files: reports.len(),
            ..Summary::default()
        };
        for report in reports {
            s.statements += report.statements;
            for f in &report.findings {
                match (f.suppressed, f.severity) {
                    (true, _) => s.suppressed += 1,
                    (false, Severity::DataLoss) => s.data_loss += 1,
                    (false, Severity::Risky) => s.risky += 1,
                    (false, Severity::Info) => s.info += 1,
                }
            }
        }
        s
    }
}

pub struct Options {
    pub palette: Palette,
    pub quiet: bool,
}

pub fn render(
    format: Format,
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let summary = Summary::of(reports);
    match format {
        Format::Text => text::render(reports, &summary, options, out),
        Format::Json => json::render(reports, &summary, out),
        Format::Sarif => sarif::render(reports, out),
        Format::Github => github::render(reports, &summary, out),
        Format::Gitlab => gitlab::render(reports, out),
    }
}

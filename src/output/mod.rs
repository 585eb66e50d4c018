//! Rendering findings: compiler-style text, JSON (a versioned contract), SARIF 2.1.0 for code
//! scanning, and GitHub workflow commands. Renderers only format; they decide nothing.
//!
//! Output is streamed: reports are rendered one by one as they arrive (`Stream`), so checking
//! a large corpus never holds all of its findings at once.

mod github;
mod gitlab;
mod json;
mod sarif;
mod streamed;
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
        let mut s = Summary::default();
        for report in reports {
            s.add(report);
        }
        s
    }

    /// Counts one more report.
    pub fn add(&mut self, report: &FileReport) {
        self.files += 1;
        self.statements += report.statements;
        for f in &report.findings {
            match (f.suppressed, f.severity) {
                (true, _) => self.suppressed += 1,
                (false, Severity::DataLoss) => self.data_loss += 1,
                (false, Severity::Risky) => self.risky += 1,
                (false, Severity::Info) => self.info += 1,
            }
        }
    }
}

pub struct Options {
    pub palette: Palette,
    pub quiet: bool,
}

/// Renders reports as they come, in the order given; `finish` writes what needs the totals.
pub struct Stream<'a> {
    format: Format,
    options: &'a Options,
    out: &'a mut dyn Write,
    summary: Summary,
    array: Option<streamed::JsonArray>,
    /// GitLab's code quality report is one JSON document of all findings: held until `finish`.
    held: Vec<FileReport>,
}

impl<'a> Stream<'a> {
    pub fn start(format: Format, options: &'a Options, out: &'a mut dyn Write) -> io::Result<Self> {
        let array = match format {
            Format::Json => Some(json::start(out)?),
            Format::Sarif => Some(sarif::start(out)?),
            Format::Text | Format::Github | Format::Gitlab => None,
        };
        Ok(Stream {
            format,
            options,
            out,
            summary: Summary::default(),
            array,
            held: Vec::new(),
        })
    }

    pub fn report(&mut self, report: &FileReport) -> io::Result<()> {
        self.summary.add(report);
        match (self.format, &mut self.array) {
            (Format::Text, _) => text::report(report, self.options, self.out),
            (Format::Github, _) => github::report(report, self.out),
            (Format::Gitlab, _) => {
                self.held.push(report.clone());
                Ok(())
            }
            (Format::Json, Some(array)) => json::report(report, array, self.out),
            (Format::Sarif, Some(array)) => sarif::report(report, array, self.out),
            (Format::Json | Format::Sarif, None) => unreachable!("started with an array"),
        }
    }

    /// Writes the end of the output and returns the totals.
    pub fn finish(self) -> io::Result<Summary> {
        let summary = self.summary;
        match (self.format, self.array) {
            (Format::Text, _) => text::finish(&summary, self.options, self.out)?,
            (Format::Github, _) => github::finish(&summary, self.out)?,
            (Format::Gitlab, _) => gitlab::render(&self.held, self.out)?,
            (Format::Json, Some(array)) => json::finish(array, &summary, self.out)?,
            (Format::Sarif, Some(array)) => sarif::finish(array, self.out)?,
            (Format::Json | Format::Sarif, None) => unreachable!("started with an array"),
        }
        Ok(summary)
    }
}

/// Renders every report at once.
pub fn render(
    format: Format,
    reports: &[FileReport],
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut stream = Stream::start(format, options, out)?;
    for report in reports {
        stream.report(report)?;
    }
    stream.finish().map(drop)
}

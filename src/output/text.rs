//! `path:line:col: severity[rule]: message`, the statement, and a `help:` line.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{Options, Summary};
use crate::analysis::{FileReport, Finding, Severity};

/// Styles for terminal output; all plain when colours are off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Palette {
    pub error: Style,
    pub warning: Style,
    pub note: Style,
    pub location: Style,
    pub dim: Style,
    pub help: Style,
}

impl Palette {
    pub fn new(color: bool) -> Palette {
        if !color {
            return Palette::default();
        }
        Palette {
            error: AnsiColor::Red.on_default().bold(),
            warning: AnsiColor::Yellow.on_default().bold(),
            note: AnsiColor::Cyan.on_default().bold(),
            location: Style::new().bold(),
            dim: AnsiColor::BrightBlack.on_default(),
            help: AnsiColor::Green.on_default(),
        }
    }

    pub fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::DataLoss => self.error,
            Severity::Risky => self.warning,
            Severity::Info => self.note,
        }
    }
}

pub fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

fn finding(f: &Finding, p: &Palette, out: &mut dyn Write) -> io::Result<()> {
    let location = format!("{}:{}:{}:", f.path, f.span.line, f.span.column);
    let label = format!("{}[{}]:", f.severity, f.rule);
    writeln!(
        out,
        "{} {} {}",
        paint(p.location, &location),
        paint(p.severity(f.severity), &label),
        f.message
    )?;
    if !f.statement.is_empty() {
        writeln!(out, "  {} {}", paint(p.dim, "|"), f.statement)?;
    }
    writeln!(out, "  {} {}", paint(p.help, "= help:"), f.help)
}

pub fn report(report: &FileReport, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    for f in report.findings.iter().filter(|f| !f.suppressed) {
        finding(f, &options.palette, out)?;
    }
    Ok(())
}

pub fn finish(summary: &Summary, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    if options.quiet {
        return Ok(());
    }
    let files = if summary.files == 1 {
        "1 file".to_string()
    } else {
        format!("{} files", summary.files)
    };
    let found = summary.data_loss + summary.risky + summary.info;
    let mut line = format!("checked {files} ({} statements): ", summary.statements);
    if found == 0 {
        line.push_str("no findings");
    } else {
        line.push_str(&format!(
            "{} data-loss, {} risky, {} info",
            summary.data_loss, summary.risky, summary.info
        ));
    }
    if summary.suppressed > 0 {
        line.push_str(&format!(
            " ({} suppressed by dbguard:allow)",
            summary.suppressed
        ));
    }
    writeln!(out, "{line}")
}

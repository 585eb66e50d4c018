//! GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=RULE::message`.

use std::io::{self, Write};

use super::Summary;
use crate::analysis::{FileReport, Severity};

/// Escaping for the message part of a workflow command.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for property values (`file=`, `title=`), which also end at `,` and `:`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn report(report: &FileReport, out: &mut dyn Write) -> io::Result<()> {
    for f in report.findings.iter().filter(|f| !f.suppressed) {
        let level = match f.severity {
            Severity::DataLoss => "error",
            Severity::Risky => "warning",
            Severity::Info => "notice",
        };
        writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&f.path),
            f.span.line,
            f.span.column,
            f.span.end_line,
            f.span.end_column,
            escape_property(&format!("dbguard {} ({})", f.rule, f.severity)),
            escape_data(&format!("{}\nhelp: {}", f.message, f.help)),
        )?;
    }
    Ok(())
}

pub fn finish(summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "dbguard: {} files, {} statements: {} data-loss, {} risky, {} info, {} suppressed",
        summary.files,
        summary.statements,
        summary.data_loss,
        summary.risky,
        summary.info,
        summary.suppressed
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_workflow_command_syntax() {
        assert_eq!(escape_property("a,b:c%"), "a%2Cb%3Ac%25");
        assert_eq!(escape_data("a\nb:c"), "a%0Ab:c");
    }
}

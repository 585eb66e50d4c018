//! `{"version":1,"findings":[…],"summary":{…}}`: a contract scripts rely on. Suppressed
//! findings are included with `"suppressed": true`.

use std::io::{self, Write};

use super::Summary;
use crate::analysis::{FileReport, Finding};

#[derive(serde::Serialize)]
struct Document<'a> {
    version: u32,
    findings: Vec<&'a Finding>,
    summary: &'a Summary,
}

pub fn render(reports: &[FileReport], summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        version: 1,
        findings: reports.iter().flat_map(|r| &r.findings).collect(),
        summary,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

//! `{"version":1,"findings":[…],"summary":{…}}`: a contract scripts rely on. Suppressed
//! findings are included with `"suppressed": true`. Findings are streamed; the summary, which
//! comes last, is written once every report is in.

use std::io::{self, Write};

use serde::Serialize;

use super::streamed::{JsonArray, MARKER};
use super::Summary;
use crate::analysis::FileReport;

#[derive(Serialize)]
struct Document<'a, F: Serialize> {
    version: u32,
    findings: F,
    summary: &'a Summary,
}

fn skeleton(summary: &Summary) -> Document<'_, &'static str> {
    Document {
        version: 1,
        findings: MARKER,
        summary,
    }
}

pub fn start(out: &mut dyn Write) -> io::Result<JsonArray> {
    JsonArray::start(&skeleton(&Summary::default()), out)
}

pub fn report(report: &FileReport, array: &mut JsonArray, out: &mut dyn Write) -> io::Result<()> {
    for finding in &report.findings {
        array.element(finding, out)?;
    }
    Ok(())
}

pub fn finish(array: JsonArray, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
    array.finish(&skeleton(summary), out)
}

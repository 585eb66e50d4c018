//! GitLab code quality report (a Code Climate JSON array): GitLab shows the findings in the
//! merge request widget and the diff. Suppressed findings are left out, as GitLab has no
//! notion of a justified suppression.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::json;

use crate::analysis::{FileReport, Severity};

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    // GitLab tracks issues across pipelines by fingerprint, so it must be stable for the same
    // finding and unique within a report (the same statement twice in a file counts twice).
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| !f.suppressed)
        .map(|f| {
            let key = format!("{}\u{0}{}\u{0}{}", f.rule, f.path, f.statement);
            let occurrence = seen.entry(key.clone()).or_default();
            *occurrence += 1;
            json!({
                "type": "issue",
                "check_name": f.rule,
                "description": format!("{} ({})", f.message, f.rule),
                "content": { "body": f.help },
                "categories": ["Bug Risk"],
                "severity": match f.severity {
                    Severity::DataLoss => "blocker",
                    Severity::Risky => "major",
                    Severity::Info => "info",
                },
                "fingerprint": format!("{:016x}", fnv1a(&format!("{key}\u{0}{occurrence}"))),
                "location": { "path": f.path, "lines": { "begin": f.span.line, "end": f.span.end_line } },
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)
}

/// FNV-1a, 64 bits: stable across runs and platforms (unlike std's hasher), and enough to
/// tell a report's findings apart.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

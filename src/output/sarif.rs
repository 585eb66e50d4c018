//! SARIF 2.1.0, one run, for GitHub code scanning and other SARIF consumers. Results are
//! streamed into the document as reports arrive.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::streamed::{JsonArray, MARKER};
use crate::analysis::rules::{self, Rule};
use crate::analysis::{FileReport, Finding, Severity};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::DataLoss => "error",
        Severity::Risky => "warning",
        Severity::Info => "note",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": rule.id,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": rule.summary },
        "help": { "text": rule.docs, "markdown": rule.docs },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": ["dbguard", rule.severity.as_str()] },
    })
}

/// SARIF wants URIs: forward slashes, no `./`.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    if path == "<stdin>" {
        "stdin".to_string()
    } else {
        path.replace(' ', "%20")
    }
}

fn result(f: &Finding) -> Value {
    let index = rules::ALL.iter().position(|r| r.id == f.rule).unwrap_or(0);
    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": level(f.severity),
        "message": { "text": format!("{} (help: {})", f.message, f.help) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": uri(&f.path) },
                "region": {
                    "startLine": f.span.line,
                    "startColumn": f.span.column,
                    "endLine": f.span.end_line,
                    "endColumn": f.span.end_column,
                    "snippet": { "text": f.statement },
                },
            },
        }],
    });
    if f.suppressed {
        result["suppressions"] = json!([{ "kind": "inSource", "justification": f.suppression_reason.clone().unwrap_or_default() }]);
    }
    result
}

/// The document with the marker where the results go.
fn skeleton() -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "dbguard",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules::ALL.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
                },
            },
            "columnKind": "unicodeCodePoints",
            "results": MARKER,
        }],
    })
}

pub fn start(out: &mut dyn Write) -> io::Result<JsonArray> {
    JsonArray::start(&skeleton(), out)
}

pub fn report(report: &FileReport, array: &mut JsonArray, out: &mut dyn Write) -> io::Result<()> {
    for finding in &report.findings {
        array.element(&result(finding), out)?;
    }
    Ok(())
}

pub fn finish(array: JsonArray, out: &mut dyn Write) -> io::Result<()> {
    array.finish(&skeleton(), out)
}

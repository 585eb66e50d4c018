//! Verdict corpora: fixture files whose cases carry their expected findings in comments
//! (`-- expect: rule, rule@severity` for SQL, `# expect:` for Python; `none` for nothing).
//! A finding belongs to the nearest expect line at or above its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dbguard::analysis::Finding;

/// The fixture files with `extension` in `dir`, sorted.
pub fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// `(line of the expect comment) -> expected "rule" or "rule@severity" entries`.
fn expectations(text: &str, marker: &str) -> BTreeMap<usize, Vec<String>> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix(marker) {
            let entries = rest
                .split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty() && e != "none")
                .collect();
            map.insert(i + 1, entries);
        }
    }
    map
}

/// Compares the unsuppressed findings of one file with its expect lines; returns how many
/// cases it has and one line per mismatching case.
pub fn compare<'a>(
    display: &str,
    text: &str,
    marker: &str,
    findings: impl Iterator<Item = &'a Finding>,
) -> (usize, Vec<String>) {
    let expected = expectations(text, marker);
    let mut actual: BTreeMap<usize, Vec<(String, String)>> =
        expected.keys().map(|k| (*k, Vec::new())).collect();
    for f in findings.filter(|f| !f.suppressed) {
        let owner = expected
            .range(..=f.span.line)
            .next_back()
            .map(|(line, _)| *line)
            .unwrap_or(0);
        actual
            .entry(owner)
            .or_default()
            .push((f.rule.to_string(), f.severity.to_string()));
    }
    let mut failures = Vec::new();
    for (line, got) in &actual {
        let want = expected.get(line).cloned().unwrap_or_default();
        let mut want_rules: Vec<&str> = want.iter().map(|e| e.split('@').next().unwrap()).collect();
        let mut got_rules: Vec<&str> = got.iter().map(|(r, _)| r.as_str()).collect();
        want_rules.sort();
        got_rules.sort();
        let severities_ok = want
            .iter()
            .filter_map(|e| e.split_once('@'))
            .all(|(rule, sev)| got.iter().any(|(r, s)| r == rule && s == sev));
        if want_rules != got_rules || !severities_ok {
            let detail: Vec<String> = got.iter().map(|(r, s)| format!("{r}@{s}")).collect();
            failures.push(format!(
                "{display}:{line}: expected [{}], got [{}]",
                want.join(", "),
                detail.join(", ")
            ));
        }
    }
    (expected.len(), failures)
}

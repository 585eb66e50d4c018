//! Every revision in fixtures/alembic/verdicts/*.py carries its expected findings in
//! `# expect:` comments; this test checks the alembic analyzer (upgrade and downgrade)
//! against all of them. A finding belongs to the nearest `# expect:` line at or above it.
//! Add cases there, not here.

use std::collections::BTreeMap;
use std::path::Path;

use dbguard::analysis::alembic::check::check_file;
use dbguard::analysis::alembic::walk::Direction;

/// `(line of the expect comment) -> expected "rule" or "rule@severity" entries`.
fn expectations(text: &str) -> BTreeMap<usize, Vec<String>> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("# expect:") {
            let entries: Vec<String> = rest
                .split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty() && e != "none")
                .collect();
            map.insert(i + 1, entries);
        }
    }
    map
}

#[test]
fn every_alembic_verdict_fixture_case_matches() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/alembic/verdicts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "fixture set missing");
    let mut failures = Vec::new();
    let mut cases = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expected = expectations(&text);
        cases += expected.len();
        let display = file.file_name().unwrap().to_string_lossy().to_string();
        let report = check_file(file, &display, &[Direction::Upgrade, Direction::Downgrade]);
        let mut actual: BTreeMap<usize, Vec<(String, String)>> =
            expected.keys().map(|k| (*k, Vec::new())).collect();
        for f in report.findings.iter().filter(|f| !f.suppressed) {
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
        for (line, got) in &actual {
            let want = expected.get(line).cloned().unwrap_or_default();
            let mut want_rules: Vec<&str> =
                want.iter().map(|e| e.split('@').next().unwrap()).collect();
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
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} alembic verdict cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every operation that removes stored data, whatever form it is written in, is found at
/// data-loss severity somewhere in the corpus (a guard against a pattern silently dropping
/// out of the fixtures).
#[test]
fn the_corpus_covers_every_data_loss_rule_reachable_from_alembic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/alembic/verdicts");
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            let report = check_file(&path, "x.py", &[Direction::Upgrade, Direction::Downgrade]);
            seen.extend(report.findings.iter().map(|f| f.rule));
        }
    }
    for rule in [
        "drop-table",
        "drop-column",
        "truncate",
        "delete-without-where",
        "update-without-where",
        "irreversible-downgrade",
        "dynamic-sql",
        "unparsed-statement",
    ] {
        assert!(seen.contains(rule), "no fixture exercises {rule}");
    }
}

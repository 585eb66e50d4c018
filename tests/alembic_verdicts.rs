//! Every revision in fixtures/alembic/verdicts/*.py carries its expected findings in
//! `# expect:` comments; this test checks the alembic analyzer (upgrade and downgrade)
//! against all of them. A finding belongs to the nearest `# expect:` line at or above it.
//! Add cases there, not here.

mod support;

use std::path::Path;

use dbguard::analysis::alembic::check::check_file;
use dbguard::analysis::alembic::walk::Direction;
use support::verdicts;

#[test]
fn every_alembic_verdict_fixture_case_matches() {
    let files = verdicts::files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/alembic/verdicts"),
        "py",
    );
    assert!(files.len() >= 10, "fixture set missing");
    let (mut cases, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let display = file.file_name().unwrap().to_string_lossy().to_string();
        let report = check_file(file, &display, &[Direction::Upgrade, Direction::Downgrade]);
        let (n, failed) = verdicts::compare(&display, &text, "# expect:", report.findings.iter());
        cases += n;
        failures.extend(failed);
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

//! Every case in fixtures/verdicts/*.sql carries its expected findings in a `-- expect:` line;
//! this test checks the analyzer against all of them (format: tests/support/verdicts.rs).
//! Add cases there, not here.

mod support;

use std::path::Path;

use dbguard::analysis::check::check_file;
use support::verdicts;

#[test]
fn every_verdict_fixture_case_matches() {
    let files = verdicts::files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/verdicts"),
        "sql",
    );
    assert!(files.len() >= 10, "fixture set missing");
    let (mut cases, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let display = file.file_name().unwrap().to_string_lossy().to_string();
        let reports = check_file(file, &display);
        let (n, failed) = verdicts::compare(
            &display,
            &text,
            "-- expect:",
            reports.iter().flat_map(|r| &r.findings),
        );
        cases += n;
        failures.extend(failed);
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} verdict cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

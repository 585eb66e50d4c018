//! `--format gitlab`: a GitLab code quality report.

mod support;

use support::{dbguard, write_files};

#[test]
fn gitlab_code_quality_report() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "m.sql",
            "DROP TABLE a;\nDROP TABLE a;\nDELETE FROM b WHERE id = 1;\nTRUNCATE c; -- dbguard:allow truncate reason: \"cache\"\n",
        )],
    );
    let done = dbguard(&["check", "--format", "gitlab", "m.sql"])
        .cwd(dir.path())
        .run()
        .code(1);
    let issues = done.json();
    let issues = issues.as_array().unwrap();
    assert_eq!(
        issues.len(),
        3,
        "suppressed findings are left out: {issues:?}"
    );
    let first = &issues[0];
    assert_eq!(first["type"], "issue");
    assert_eq!(first["check_name"], "drop-table");
    assert_eq!(first["severity"], "blocker");
    assert_eq!(first["location"]["path"], "m.sql");
    assert_eq!(first["location"]["lines"]["begin"], 1);
    assert_eq!(issues[2]["severity"], "major");
    // The same statement twice still gets two fingerprints, and they are stable.
    assert_ne!(issues[0]["fingerprint"], issues[1]["fingerprint"]);
    let again = dbguard(&["check", "--format", "gitlab", "m.sql"])
        .cwd(dir.path())
        .run()
        .json();
    assert_eq!(again[0]["fingerprint"], issues[0]["fingerprint"]);
}

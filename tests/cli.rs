//! End-to-end tests of the `dbguard` binary: exit codes, output formats, bad input, config.

mod support;

use support::cli::{dbguard, temp_with};

#[test]
fn help_documents_exit_codes() {
    dbguard(&["--help"])
        .run()
        .code(0)
        .stdout_has("EXIT CODES")
        .stdout_has("3  refused by the guard");
    dbguard(&["check", "--help"])
        .run()
        .code(0)
        .stdout_has("--fail-on")
        .stdout_has("EXIT CODES");
    dbguard(&["--version"])
        .run()
        .code(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn bundled_fixtures_report_like_a_compiler() {
    dbguard(&["check", "fixtures/sql"])
        .run()
        .code(1)
        .stdout_has("fixtures/sql/0002_cleanup.sql:6:1: data-loss[drop-table]: drops table invoices_archive")
        .stdout_has("fixtures/sql/0002_cleanup.sql:6:1: data-loss[drop-table]: drops table invoices_tmp")
        .stdout_has("= help:")
        .stdout_has("checked 2 files");
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    let dir = temp_with(&[("risky.sql", b"ALTER TABLE t ALTER COLUMN c TYPE bigint;\n")]);
    dbguard(&["check", "risky.sql"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("risky[alter-column-type]");
    dbguard(&["check", "--fail-on", "risky", "risky.sql"])
        .cwd(dir.path())
        .run()
        .code(1);
    dbguard(&["check", "--fail-on", "never", "fixtures/sql"])
        .run()
        .code(0);
    dbguard(&["check", "--fail-on", "sometimes", "risky.sql"])
        .cwd(dir.path())
        .run()
        .code(2);
}

#[test]
fn missing_path_is_a_usage_error_naming_it() {
    dbguard(&["check", "no/such/dir.sql"])
        .run()
        .code(2)
        .stderr_has("error: cannot read no/such/dir.sql");
}

#[test]
fn binary_and_non_utf8_files_are_reported_and_others_still_checked() {
    let dir = temp_with(&[
        ("a_binary.sql", b"\x00\x01\x02DROP TABLE x;"),
        ("b_latin1.sql", b"-- caf\xe9\nDROP TABLE menu;\n"),
        ("c_empty.sql", b""),
        ("d_ok.sql", b"TRUNCATE audit_log;\n"),
    ]);
    dbguard(&["check", "."])
        .cwd(dir.path())
        .run()
        .code(1)
        .stdout_has(
            "a_binary.sql:1:1: risky[unreadable-file]: a_binary.sql looks like a binary file",
        )
        .stdout_has("b_latin1.sql:1:1: risky[unreadable-file]")
        .stdout_has("b_latin1.sql:2:1: data-loss[drop-table]: drops table menu")
        .stdout_has("d_ok.sql:1:1: data-loss[truncate]")
        .stdout_has("checked 4 files");
}

#[test]
fn stdin_is_read_for_dash() {
    dbguard(&["check", "-"])
        .stdin(b"SELECT 1;\nDELETE FROM users;\n")
        .run()
        .code(1)
        .stdout_has("<stdin>:2:1: data-loss[delete-without-where]");
}

#[test]
fn json_output_is_the_documented_contract() {
    let dir = temp_with(&[(
        "m.sql",
        b"DROP TABLE accounts;\n-- dbguard:allow truncate reason: \"cache table\"\nTRUNCATE cache;\n",
    )]);
    let done = dbguard(&["check", "--format", "json", "m.sql"])
        .cwd(dir.path())
        .run()
        .code(1);
    let doc = done.json();
    assert_eq!(doc["version"], 1);
    let first = &doc["findings"][0];
    for key in [
        "rule",
        "severity",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "help",
        "statement",
        "suppressed",
    ] {
        assert!(first.get(key).is_some(), "finding lacks {key}: {first}");
    }
    assert_eq!(first["rule"], "drop-table");
    assert_eq!(first["severity"], "data-loss");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (first["end_line"].as_u64(), first["end_column"].as_u64()),
        (Some(1), Some(20))
    );
    assert_eq!(first["statement"], "DROP TABLE accounts");
    let suppressed = &doc["findings"][1];
    assert_eq!(suppressed["rule"], "truncate");
    assert_eq!(suppressed["suppressed"], true);
    assert_eq!(suppressed["suppression_reason"], "cache table");
    let summary = &doc["summary"];
    assert_eq!(summary["files"], 1);
    assert_eq!(summary["statements"], 2);
    assert_eq!(summary["data_loss"], 1);
    assert_eq!(summary["suppressed"], 1);
}

#[test]
fn sarif_output_has_rules_results_and_suppressions() {
    let dir = temp_with(&[(
        "m.sql",
        b"DROP TABLE a; -- dbguard:allow drop-table reason: \"gone\"\nDELETE FROM b;\n",
    )]);
    let done = dbguard(&["check", "--format", "sarif", "m.sql"])
        .cwd(dir.path())
        .run()
        .code(1);
    let doc = done.json();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["id"] == "drop-table"
            && r["help"]["markdown"].as_str().unwrap().contains("## Why")));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "drop-table");
    assert_eq!(results[0]["suppressions"][0]["justification"], "gone");
    assert_eq!(results[1]["level"], "error");
    let region = &results[1]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "m.sql"
    );
}

#[test]
fn github_format_prints_workflow_commands() {
    dbguard(&["check", "--format", "github", "fixtures/sql"])
        .run()
        .code(1)
        .stdout_has("::error file=fixtures/sql/0002_cleanup.sql,line=6,col=1,")
        .stdout_has("title=dbguard drop-table (data-loss)::drops table invoices_archive")
        .stdout_has("::warning file=fixtures/sql/0002_cleanup.sql,line=4");
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let plain = dbguard(&["check", "fixtures/sql"]).run().code(1);
    assert!(!plain.stdout.contains('\x1b'), "no escapes when piped");
    let forced = dbguard(&["check", "--color", "always", "fixtures/sql"])
        .env("NO_COLOR", "1")
        .run()
        .code(1);
    assert!(
        forced.stdout.contains("\x1b["),
        "--color always wins over NO_COLOR"
    );
    let never = dbguard(&["check", "--color", "never", "fixtures/sql"])
        .run()
        .code(1);
    assert!(!never.stdout.contains('\x1b'));
}

#[test]
fn quiet_prints_findings_only() {
    let done = dbguard(&["-q", "check", "fixtures/sql"]).run().code(1);
    assert!(!done.stdout.contains("checked"), "{}", done.stdout);
    assert!(done.stdout.contains("drop-table"));
}

#[test]
fn rules_explain_and_completions() {
    dbguard(&["rules"])
        .run()
        .code(0)
        .stdout_has("drop-table")
        .stdout_has("data-loss")
        .stdout_has("update-with-where");
    let rules = dbguard(&["rules", "--json"]).run().code(0).json();
    assert!(rules.as_array().unwrap().len() >= 25);
    dbguard(&["explain", "drop-column"])
        .run()
        .code(0)
        .stdout_has("## Why is this bad?")
        .stdout_has("## How to make it safe");
    dbguard(&["explain", "drop-tabel"])
        .run()
        .code(2)
        .stderr_has("unknown rule `drop-tabel`");
    dbguard(&["completions", "bash"])
        .run()
        .code(0)
        .stdout_has("dbguard");
}

#[test]
fn config_file_is_discovered_validated_and_overridable() {
    let dir = temp_with(&[
        (
            "dbguard.toml",
            b"[check]\nfail_on = \"never\"\npaths = [\"db\"]\n",
        ),
        ("db/1.sql", b"DROP TABLE users;\n"),
        ("sub/dir/.keep", b""),
    ]);
    // Found from a subdirectory; [check] paths are relative to the config file.
    dbguard(&["check"])
        .cwd(&dir.path().join("sub/dir"))
        .run()
        .code(0)
        .stdout_has("data-loss[drop-table]");
    // The command line beats the file.
    dbguard(&["check", "--fail-on", "data-loss"])
        .cwd(dir.path())
        .run()
        .code(1);

    let bad = temp_with(&[
        ("dbguard.toml", b"[check]\nfail_onn = \"never\"\n"),
        ("x.sql", b""),
    ]);
    dbguard(&["check", "x.sql"])
        .cwd(bad.path())
        .run()
        .code(2)
        .stderr_has("fail_onn")
        .stderr_has("help:");
    dbguard(&["--config", "nope.toml", "check", "x.sql"])
        .cwd(bad.path())
        .run()
        .code(2)
        .stderr_has("nope.toml");
    // Commands that need no configuration still work next to a broken file.
    dbguard(&["rules"]).cwd(bad.path()).run().code(0);
}

#[test]
fn psql_includes_are_followed_and_missing_ones_reported() {
    let dir = temp_with(&[
        (
            "main.sql",
            b"\\ir parts/cleanup.sql\n\\i missing.sql\nSELECT 1;\n",
        ),
        ("parts/cleanup.sql", b"\n\nDROP TABLE legacy;\n"),
    ]);
    dbguard(&["check", "main.sql"])
        .cwd(dir.path())
        .run()
        .code(1)
        .stdout_has("(included from main.sql:1):3:1: data-loss[drop-table]")
        .stdout_has("main.sql:2:1: risky[include-not-found]");
}

#[test]
fn python_files_that_are_not_revisions_are_reported_not_skipped() {
    let dir = temp_with(&[("helper.py", b"def f():\n    return 1\n")]);
    dbguard(&["check", "helper.py"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("risky[unreadable-file]")
        .stdout_has("is not an alembic revision");
}

#[test]
fn include_and_exclude_globs_choose_what_a_directory_walk_checks() {
    let dir = temp_with(&[
        (
            "dbguard.toml",
            b"[check]\ninclude = [\"*.sql\", \"*.sql.postgres\"]\nexclude = [\"legacy\"]\n",
        ),
        ("deltas/58/drop.sql.postgres", b"DROP TABLE events;\n"),
        ("deltas/58/drop.sql.sqlite", b"DROP TABLE sqlite_only;\n"),
        ("legacy/old.sql", b"DROP TABLE ancient;\n"),
    ]);
    let done = dbguard(&["check", "."])
        .cwd(dir.path())
        .run()
        .code(1)
        .stdout_has("deltas/58/drop.sql.postgres:1:1: data-loss[drop-table]: drops table events")
        .stdout_has("checked 1 file");
    assert!(!done.stdout.contains("ancient"), "{}", done.stdout);
    assert!(!done.stdout.contains("sqlite_only"), "{}", done.stdout);
    // A file named on the command line is always checked.
    dbguard(&["check", "legacy/old.sql"])
        .cwd(dir.path())
        .run()
        .code(1)
        .stdout_has("drops table ancient");
    // A bad glob is a configuration error.
    std::fs::write(
        dir.path().join("dbguard.toml"),
        "[check]\ninclude = [\"[\"]\n",
    )
    .unwrap();
    dbguard(&["check", "."])
        .cwd(dir.path())
        .run()
        .code(2)
        .stderr_has("[check] include");
}

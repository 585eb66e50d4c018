//! End-to-end tests of `dbguard check x.py` and `dbguard plan -- alembic …`: the binary, a
//! small alembic project in a temp dir, and a real throwaway PostgreSQL cluster holding the
//! `alembic_version` table.

mod support;

use support::{dbguard, unique_db, PgCluster};

fn revision(id: &str, down: &str, upgrade: &str, downgrade: &str) -> String {
    format!(
        "\"\"\"{id}\n\nRevision ID: {id}\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = \"{id}\"\ndown_revision = {down}\n\n\ndef upgrade():\n{upgrade}\n\n\ndef downgrade():\n{downgrade}\n"
    )
}

/// An alembic project: init (creates users) → cleanup (drops a column) → merge-free tip whose
/// downgrade raises; plus a branch `side` off init and a merge of both.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("migrations/versions")).unwrap();
    std::fs::write(
        d.join("alembic.ini"),
        "[alembic]\nscript_location = migrations\n",
    )
    .unwrap();
    let files = [
        (
            "0001_init.py",
            revision(
                "init0001",
                "None",
                "    op.create_table(\"users\", sa.Column(\"id\", sa.Integer))",
                "    op.drop_table(\"users\")",
            ),
        ),
        (
            "0002_cleanup.py",
            revision(
                "clean002",
                "\"init0001\"",
                "    op.drop_column(\"users\", \"legacy_password\")",
                "    op.add_column(\"users\", sa.Column(\"legacy_password\", sa.Text))",
            ),
        ),
        (
            "0002_side.py",
            revision(
                "side0002",
                "\"init0001\"",
                "    op.add_column(\"users\", sa.Column(\"nick\", sa.Text))",
                "    op.drop_column(\"users\", \"nick\")",
            ),
        ),
        (
            "0003_merge.py",
            revision(
                "merge003",
                "(\"clean002\", \"side0002\")",
                "    pass",
                "    raise NotImplementedError(\"cannot unmerge\")",
            ),
        ),
    ];
    for (name, text) in files {
        std::fs::write(d.join("migrations/versions").join(name), text).unwrap();
    }
    dir
}

/// A fresh database whose alembic_version holds `heads` (none: no table at all), with the
/// project's `users` table holding a row, so the guard weighs its columns as data at stake.
fn database(pg: &PgCluster, heads: Option<&[&str]>) -> String {
    let db = unique_db("plan");
    pg.create_database(&db);
    pg.execute(
        &db,
        "CREATE TABLE users (id int, legacy_password text, nick text); INSERT INTO users VALUES (1, 'x', 'y')",
    );
    if let Some(heads) = heads {
        pg.execute(
            &db,
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
        );
        for h in heads {
            pg.execute(&db, &format!("INSERT INTO alembic_version VALUES ('{h}')"));
        }
    }
    db
}

#[test]
fn check_reads_revisions_upgrade_by_default() {
    let dir = project();
    let file = "migrations/versions/0002_cleanup.py";
    dbguard(&["check", file])
        .cwd(dir.path())
        .run()
        .code(1)
        .stdout_has("0002_cleanup.py:13:5: data-loss[drop-column]: drops column legacy_password of users and its data (in upgrade() of revision clean002)")
        .stdout_lacks("downgrade()");
    // The downgrade only adds a column back.
    dbguard(&["check", "--direction", "downgrade", file])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("no findings");
    dbguard(&[
        "check",
        "--direction",
        "both",
        "--fail-on",
        "risky",
        "migrations/versions/0003_merge.py",
    ])
    .cwd(dir.path())
    .run()
    .code(1)
    .stdout_has("risky[irreversible-downgrade]")
    .stdout_has("in downgrade() of revision merge003");
    dbguard(&["check", "--direction", "sideways", file])
        .cwd(dir.path())
        .run()
        .code(2);
}

#[test]
fn check_of_a_directory_finds_revisions_but_not_other_python() {
    let dir = project();
    std::fs::write(
        dir.path().join("migrations/env.py"),
        "from alembic import context\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("migrations/versions/__init__.py"), "").unwrap();
    std::fs::write(dir.path().join("schema.sql"), "TRUNCATE audit;\n").unwrap();
    dbguard(&["check", "--format", "json", "."])
        .cwd(dir.path())
        .run()
        .code(1)
        .json()
        .get("summary")
        .map(|s| assert_eq!(s["files"], 5, "{s}"))
        .unwrap();
    // Revisions outside a version location are found by their shape.
    let loose = tempfile::tempdir().unwrap();
    std::fs::write(
        loose.path().join("a.py"),
        revision("aaaa", "None", "    op.drop_table('t')", "    pass"),
    )
    .unwrap();
    std::fs::write(loose.path().join("b.py"), "print('hello')\n").unwrap();
    dbguard(&["check", "."])
        .cwd(loose.path())
        .run()
        .code(1)
        .stdout_has("a.py:13:5: data-loss[drop-table]")
        .stdout_has("checked 1 file");
}

#[test]
fn plan_lists_steps_findings_and_verdict_from_the_real_database() {
    let pg = PgCluster::shared();
    let dir = project();
    let db = database(pg, Some(&["init0001"]));
    // Trust auth accepts any password: it must never be printed.
    let url = pg.url(&db).replace("postgres@", "postgres:s3cret@");
    let done = dbguard(&["plan", "--", "alembic", "upgrade", "head"])
        .cwd(dir.path())
        .env("DATABASE_URL", &url)
        .run()
        .code(0)
        .stdout_has("plan: alembic upgrade head")
        .stdout_has("postgres:***@127.0.0.1")
        .stdout_has("(from $DATABASE_URL)")
        .stdout_has("current:  init0001")
        // Parallel branches in alembic's order (tests/alembic_resolver.rs checks it).
        .stdout_has("1. upgrade init0001 -> side0002")
        .stdout_has("2. upgrade init0001 -> clean002")
        .stdout_has("data-loss[drop-column]")
        .stdout_has("3. upgrade clean002, side0002 -> merge003")
        .stdout_has("verdict: data-loss")
        .stdout_lacks("s3cret");
    assert!(!done.stderr.contains("s3cret"));

    let json = dbguard(&[
        "plan",
        "--format",
        "json",
        "--url",
        &url,
        "--",
        "alembic",
        "downgrade",
        "init0001",
    ])
    .cwd(dir.path())
    .env("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/ignored")
    .run()
    .code(0)
    .json();
    assert_eq!(json["current"], serde_json::json!(["init0001"]));
    assert_eq!(
        json["steps"],
        serde_json::json!([]),
        "downgrade to the current revision runs nothing"
    );
    assert_eq!(json["verdict"], "safe");
    assert_eq!(json["uncertain"], false);
    assert!(json["database"].as_str().unwrap().contains(":***@"));
}

#[test]
fn plan_of_downgrades_stamp_and_offline_mode() {
    let pg = PgCluster::shared();
    let dir = project();
    let db = database(pg, Some(&["merge003"]));
    let url = pg.url(&db);
    // alembic's own failure, predicted.
    dbguard(&["plan", "--url", &url, "--", "alembic", "downgrade", "-1"])
        .cwd(dir.path())
        .run()
        .code(2)
        .stderr_has("Ambiguous walk");
    let json = dbguard(&[
        "plan",
        "--format",
        "json",
        "--url",
        &url,
        "--",
        "python",
        "-m",
        "alembic",
        "downgrade",
        "init0001",
    ])
    .cwd(dir.path())
    .run()
    .code(0)
    .json();
    let steps: Vec<&str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["revision"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["merge003", "clean002", "side0002"]);
    assert_eq!(json["steps"][0]["direction"], "downgrade");
    assert_eq!(
        json["steps"][0]["findings"][0]["rule"],
        "irreversible-downgrade"
    );
    assert_eq!(json["steps"][2]["findings"][0]["rule"], "drop-column");
    assert_eq!(json["verdict"], "data-loss");

    dbguard(&[
        "plan", "--url", &url, "--", "uv", "run", "alembic", "stamp", "init0001",
    ])
    .cwd(dir.path())
    .run()
    .code(0)
    .stdout_has("steps: none")
    .stdout_has("stamp changes only the alembic_version table")
    .stdout_has("verdict: safe");
    dbguard(&[
        "plan",
        "--",
        "alembic",
        "upgrade",
        "init0001:merge003",
        "--sql",
    ])
    .cwd(dir.path())
    .run()
    .code(0)
    .stdout_has("offline mode (--sql)")
    .stdout_has("verdict: safe");
    // A database without alembic_version is at base: everything runs.
    let empty = database(pg, None);
    dbguard(&[
        "plan",
        "--url",
        &pg.url(&empty),
        "--",
        "alembic",
        "upgrade",
        "heads",
    ])
    .cwd(dir.path())
    .run()
    .code(0)
    .stdout_has("current:  base (no revision applied)")
    .stdout_has("4. upgrade clean002, side0002 -> merge003");
}

#[test]
fn plan_with_an_unreachable_database_is_uncertain_never_safe() {
    let dir = project();
    let done = dbguard(&["plan", "--", "alembic", "upgrade", "side0002"])
        .cwd(dir.path())
        .env(
            "DATABASE_URL",
            "postgresql://app:hunter2@127.0.0.1:1/app_dev",
        )
        .run()
        .code(0)
        .stdout_has("unknown: the database is unreachable")
        .stdout_has("upgrade  -> init0001")
        .stdout_has("upgrade init0001 -> side0002")
        .stdout_has("verdict: risky (uncertain")
        .stdout_lacks("hunter2");
    assert!(!done.stderr.contains("hunter2"));
    let json = dbguard(&[
        "plan", "--format", "json", "--", "alembic", "upgrade", "side0002",
    ])
    .cwd(dir.path())
    .env("DATABASE_URL", "postgresql://app@127.0.0.1:1/app_dev")
    .run()
    .code(0)
    .json();
    assert_eq!(json["uncertain"], true);
    assert_eq!(json["current"], serde_json::Value::Null);
    assert!(json["database_error"]
        .as_str()
        .unwrap()
        .contains("cannot connect"));
    assert_ne!(json["verdict"], "safe");
    // `-1` from an unknown revision could undo anything: every downgrade is listed.
    let json = dbguard(&[
        "plan",
        "--format",
        "json",
        "--",
        "alembic",
        "downgrade",
        "-1",
    ])
    .cwd(dir.path())
    .env("DATABASE_URL", "postgresql://app@127.0.0.1:1/app_dev")
    .run()
    .code(0)
    .json();
    assert_eq!(json["steps"].as_array().unwrap().len(), 4);
    assert_eq!(json["verdict"], "data-loss");
}

#[test]
fn plan_finds_the_alembic_configuration_like_alembic_does() {
    let pg = PgCluster::shared();
    let dir = project();
    let d = dir.path();
    // Move the config away: -c, $ALEMBIC_CONFIG and [alembic] config all find it.
    std::fs::create_dir_all(d.join("db")).unwrap();
    std::fs::write(
        d.join("db/custom.ini"),
        "[alembic]\nscript_location = nowhere\n[prod]\nscript_location = %(here)s/../migrations\n",
    )
    .unwrap();
    std::fs::remove_file(d.join("alembic.ini")).unwrap();
    let url = pg.url(&database(pg, Some(&["clean002"])));
    dbguard(&["plan", "--url", &url, "--", "alembic", "upgrade", "head"])
        .cwd(d)
        .run()
        .code(2)
        .stderr_has("no alembic configuration")
        .stderr_has("help:");
    dbguard(&[
        "plan",
        "--url",
        &url,
        "--",
        "alembic",
        "-c",
        "db/custom.ini",
        "-n",
        "prod",
        "upgrade",
        "head",
    ])
    .cwd(d)
    .run()
    .code(0)
    .stdout_has("1. upgrade init0001 -> side0002");
    std::fs::write(
        d.join("db/alembic.ini"),
        "[alembic]\nscript_location = %(here)s/../migrations\n",
    )
    .unwrap();
    dbguard(&["plan", "--url", &url, "--", "alembic", "upgrade", "head"])
        .cwd(d)
        .env("ALEMBIC_CONFIG", "db/alembic.ini")
        .run()
        .code(0)
        .stdout_has("db/alembic.ini");
    std::fs::write(
        d.join("dbguard.toml"),
        "[alembic]\nconfig = \"db/alembic.ini\"\n",
    )
    .unwrap();
    dbguard(&["plan", "--url", &url, "--", "alembic", "upgrade", "head"])
        .cwd(d)
        .run()
        .code(0)
        .stdout_has("verdict: safe");
    // Other commands are planned too; a script that cannot be read is never "safe".
    dbguard(&["plan", "--", "psql", "-f", "x.sql"])
        .cwd(d)
        .run()
        .code(0)
        .stdout_has("the file cannot be read")
        .stdout_has("verdict:  risky");
}

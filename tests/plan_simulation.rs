//! Multi-step alembic plans with real alembic and a real cluster: what an earlier step creates
//! is empty when a later step drops it (no protection needed), and what an earlier step
//! renames still holds its rows when a later step drops it (data loss, named and weighed by
//! its old name).

mod support;

use support::{sqlalchemy_url, unique_db, venv_bin, AlembicProject as Project, PgCluster};

fn revision(id: &str, down: Option<&str>, upgrade: &str) -> String {
    let down = down.map_or("None".to_string(), |d| format!("\"{d}\""));
    format!(
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = \"{id}\"\ndown_revision = {down}\n\n\ndef upgrade():\n    {upgrade}\n\n\ndef downgrade():\n    pass\n"
    )
}

fn version(cluster: &PgCluster, db: &str) -> Option<String> {
    cluster
        .client(db)
        .query_opt("SELECT version_num::text FROM alembic_version", &[])
        .ok()
        .flatten()
        .map(|r| r.get(0))
}

#[test]
fn a_table_created_by_an_earlier_step_is_empty_when_a_later_step_drops_it() {
    let cluster = PgCluster::shared();
    let project = Project::new(&[
        (
            "c0001_scratch",
            revision(
                "c0001",
                None,
                "op.create_table(\"scratch\", sa.Column(\"id\", sa.Integer))",
            ),
        ),
        (
            "d0002_drop_scratch",
            revision("d0002", Some("c0001"), "op.drop_table(\"scratch\")"),
        ),
    ]);
    let db = unique_db("plan_created");
    cluster.create_database(&db);
    // Another table called `scratch` in a schema later on the search path: the plan must
    // not weigh the database as it is now.
    cluster.execute(
        &db,
        &format!(
            "CREATE SCHEMA other; CREATE TABLE other.scratch AS SELECT g FROM generate_series(1, 50) g;
             ALTER DATABASE {db} SET search_path = public, other;"
        ),
    );
    let url = sqlalchemy_url(cluster, &db);

    let plan = project
        .dbguard(&url, &["plan", "--", "alembic", "upgrade", "head"])
        .run()
        .code(0)
        .stdout_has("1. upgrade  -> c0001")
        .stdout_has("2. upgrade c0001 -> d0002")
        .stdout_has("info[drop-table]")
        .stdout_has("created by revision c0001, an earlier step of this plan")
        .stdout_has("verdict: safe");
    assert!(!plan.stdout.contains("rows at stake"), "{}", plan.stdout);

    // No terminal, no --yes, no backup: it runs at once.
    let done = project
        .dbguard(&url, &["run", "--", "alembic", "upgrade", "head"])
        .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(version(cluster, &db).as_deref(), Some("d0002"));
    let listed = project
        .dbguard(&url, &["backups", "--json"])
        .run()
        .code(0)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "no backup was needed");
}

#[test]
fn a_table_renamed_by_an_earlier_step_still_holds_its_rows_when_a_later_step_drops_it() {
    let cluster = PgCluster::shared();
    let project = Project::new(&[
        (
            "e0001_base",
            revision(
                "e0001",
                None,
                "op.create_table(\"audit_log\", sa.Column(\"id\", sa.Integer))",
            ),
        ),
        (
            "f0002_rename",
            revision(
                "f0002",
                Some("e0001"),
                "op.rename_table(\"audit_log\", \"audit_log_old\")",
            ),
        ),
        (
            "g0003_drop",
            revision("g0003", Some("f0002"), "op.drop_table(\"audit_log_old\")"),
        ),
    ]);
    let db = unique_db("plan_renamed");
    cluster.create_database(&db);
    let url = sqlalchemy_url(cluster, &db);
    let out = std::process::Command::new(venv_bin("alembic"))
        .args(["upgrade", "e0001"])
        .current_dir(project.path())
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cluster.execute(
        &db,
        "INSERT INTO audit_log SELECT g FROM generate_series(1, 400) g; ANALYZE audit_log;",
    );

    project
        .dbguard(&url, &["plan", "--", "alembic", "upgrade", "head"])
        .run()
        .code(0)
        .stdout_has("data-loss[drop-table]")
        .stdout_has("audit_log_old is table audit_log, renamed by revision f0002")
        .stdout_has("rows at stake")
        .stdout_has("verdict: data-loss");

    // With full backups as the only protection and none taken, the guard refuses.
    let config = project.path().join("dbguard.toml");
    std::fs::write(
        &config,
        "[backup]\ndir = \"backups\"\n[guard]\nprotection = \"backup\"\n",
    )
    .unwrap();
    let done = project
        .dbguard(&url, &["run", "--yes", "--", "alembic", "upgrade", "head"])
        .run()
        .code(3);
    assert!(done.stderr.contains("audit_log's rows"), "{}", done.stderr);
    assert_eq!(
        version(cluster, &db).as_deref(),
        Some("e0001"),
        "nothing ran"
    );
    assert_eq!(audit_rows(cluster, &db), Some(400));

    // With snapshots (the default), the snapshot holds the table by its name before the
    // rename, and undo brings it back under that name with the version row.
    std::fs::write(&config, "[backup]\ndir = \"backups\"\n").unwrap();
    let done = project
        .dbguard(&url, &["run", "--yes", "--", "alembic", "upgrade", "head"])
        .run()
        .code(0);
    assert!(
        done.stderr.contains("table public.audit_log (400 rows)"),
        "{}",
        done.stderr
    );
    assert_eq!(version(cluster, &db).as_deref(), Some("g0003"));
    assert_eq!(audit_rows(cluster, &db), None, "the migrations ran");

    project.dbguard(&url, &["undo", "--yes"]).run().code(0);
    assert_eq!(audit_rows(cluster, &db), Some(400));
    assert_eq!(version(cluster, &db).as_deref(), Some("e0001"));
}

/// Rows of `audit_log`, or `None` when the table does not exist.
fn audit_rows(cluster: &PgCluster, db: &str) -> Option<i64> {
    cluster
        .client(db)
        .query_one("SELECT count(*) FROM audit_log", &[])
        .ok()
        .map(|r| r.get(0))
}

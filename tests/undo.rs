//! Pre-image snapshots and `dbguard undo` against a real cluster with real psql and real
//! alembic: each kind of pre-image is taken by `dbguard run --yes`, the change is checked,
//! `dbguard undo --yes` puts it back, and the table must equal its pre-image exactly (rows,
//! values, columns, constraints, index names). Also: counts, refusals, a full disk, a count
//! that times out, conflicts that roll back completely.

mod support;

use support::cli::dbguard;
use support::{unique_db, venv_bin, write_files, PgCluster, Project, SmallDisk, ENV_PY};

fn psql(cluster: &PgCluster) -> String {
    cluster.bin("psql").display().to_string()
}

fn new_db(cluster: &PgCluster, prefix: &str, sql: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(&db, sql);
    db
}

fn query(cluster: &PgCluster, db: &str, sql: &str) -> Vec<String> {
    cluster
        .client(db)
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| {
            r.get::<_, Option<String>>(0)
                .unwrap_or_else(|| "NULL".into())
        })
        .collect()
}

/// Everything that must come back: every row (as text, sorted), the columns by name (type,
/// NOT NULL, default), the constraints and the indexes by name, the column comments.
fn fingerprint(cluster: &PgCluster, db: &str, table: &str) -> Vec<String> {
    let lit = table.replace('\'', "''");
    let mut out = Vec::new();
    for sql in [
        format!("SELECT 'row ' || x::text FROM {table} x ORDER BY x::text"),
        format!(
            "SELECT 'column ' || attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull \
             || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' ' || coalesce(col_description(attrelid, attnum), '-') \
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE attrelid = '{lit}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname"
        ),
        format!(
            "SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = '{lit}'::regclass ORDER BY conname"
        ),
        format!(
            "SELECT 'index ' || indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) \
             FROM pg_index WHERE indrelid = '{lit}'::regclass ORDER BY 1"
        ),
    ] {
        out.extend(query(cluster, db, &sql));
    }
    out
}

fn count(cluster: &PgCluster, db: &str, table: &str) -> i64 {
    cluster
        .client(db)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

fn exists(cluster: &PgCluster, db: &str, table: &str) -> bool {
    cluster
        .client(db)
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .unwrap()
        .get(0)
}

/// Runs `sql` through `dbguard run --yes -- psql`; returns stderr.
fn run_sql(project: &Project, cluster: &PgCluster, db: &str, sql: &str) -> String {
    let done = dbguard(&[
        "run",
        "--yes",
        "--",
        &psql(cluster),
        &cluster.url(db),
        "-c",
        sql,
    ])
    .cwd(project.path())
    .run();
    assert_eq!(done.code, 0, "{sql}:\n{}", done.stderr);
    assert!(done.stderr.contains("saved snapshot"), "{}", done.stderr);
    done.stderr
}

fn undo(project: &Project, args: &[&str]) -> support::Done {
    let mut all = vec!["undo"];
    all.extend_from_slice(args);
    dbguard(&all).cwd(project.path()).run()
}

const SCHEMA: &str = "
    CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, note text);
    INSERT INTO users (email, note) SELECT 'u' || g || '@x', CASE WHEN g % 3 = 0 THEN 'n' || g END
      FROM generate_series(1, 200) g;
    CREATE SCHEMA crm;
    CREATE TABLE crm.\"Orders\" (
      id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id int REFERENCES users (id),
      total numeric(10, 2) NOT NULL DEFAULT 0 CHECK (total >= 0),
      placed timestamptz DEFAULT '2026-01-01');
    CREATE INDEX \"Orders_user\" ON crm.\"Orders\" (user_id);
    INSERT INTO crm.\"Orders\" (user_id, total) SELECT g, g * 1.25 FROM generate_series(1, 120) g;
    CREATE TABLE lines (order_id int, line int, sku text, qty int, PRIMARY KEY (order_id, line));
    INSERT INTO lines SELECT o, l, 'sku' || (o * l), l FROM generate_series(1, 40) o, generate_series(1, 5) l;
    CREATE TABLE events (at int, what text);
    INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 150) g;
";

#[test]
fn a_dropped_table_with_identity_fk_and_mixed_case_name_comes_back() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_drop", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "");
    let table = "crm.\"Orders\"";
    let before = fingerprint(cluster, &db, table);

    run_sql(&project, cluster, &db, "DROP TABLE crm.\"Orders\"");
    assert!(!exists(cluster, &db, table));

    let listed = undo(&project, &["--list", "--json"]).code(0).json();
    assert_eq!(listed[0]["objects"][0]["kind"], "table");
    assert_eq!(listed[0]["objects"][0]["rows"], 120);
    let backups = project.backups();
    assert_eq!(backups[0]["kind"], "snapshot", "{backups:?}");
    // Kept by its own count, not by the backups' retention (which would say "next prune").
    assert_eq!(backups[0]["kept_by"], serde_json::json!(["undo keep 20"]));

    undo(&project, &["--dry-run"])
        .code(0)
        .stdout_has("recreate table crm.Orders (120 rows)");
    assert!(!exists(cluster, &db, table), "a dry run changes nothing");
    undo(&project, &["--yes"])
        .code(0)
        .stderr_has("content checksum match");
    assert_eq!(fingerprint(cluster, &db, table), before);
    // The identity sequence carries on where it was.
    let next = query(
        cluster,
        &db,
        "INSERT INTO crm.\"Orders\" (user_id) VALUES (1) RETURNING id::text",
    );
    assert_eq!(next, ["121"]);
    let audit = project.audit();
    let last = audit.last().unwrap();
    assert_eq!(last["decision"], "undone");
    assert_eq!(last["backup"]["kind"], "snapshot");

    // CASCADE also takes the views on the table and the foreign keys pointing at it.
    cluster.execute(
        &db,
        "CREATE VIEW crm.emails AS SELECT email FROM users; CREATE VIEW crm.short AS SELECT * FROM crm.emails LIMIT 3",
    );
    let users = fingerprint(cluster, &db, "users");
    let orders = fingerprint(cluster, &db, table);
    run_sql(&project, cluster, &db, "DROP TABLE users CASCADE");
    assert!(!exists(cluster, &db, "crm.short"));
    assert_ne!(fingerprint(cluster, &db, table), orders, "the FK went");
    undo(&project, &["--yes"]).code(0);
    assert_eq!(fingerprint(cluster, &db, "users"), users);
    assert_eq!(fingerprint(cluster, &db, table), orders);
    assert_eq!(count(cluster, &db, "crm.short"), 3);
}

#[test]
fn truncated_rows_and_reset_sequences_come_back() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_truncate", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "");
    let before = fingerprint(cluster, &db, "users");
    let orders = fingerprint(cluster, &db, "crm.\"Orders\"");
    let seq_before = query(cluster, &db, "SELECT last_value::text FROM users_id_seq");

    run_sql(
        &project,
        cluster,
        &db,
        "TRUNCATE users RESTART IDENTITY CASCADE",
    );
    assert_eq!(count(cluster, &db, "users"), 0);
    assert_eq!(
        count(cluster, &db, "crm.\"Orders\""),
        0,
        "CASCADE emptied it too"
    );
    undo(&project, &["--yes"]).code(0);
    assert_eq!(fingerprint(cluster, &db, "users"), before);
    assert_eq!(fingerprint(cluster, &db, "crm.\"Orders\""), orders);
    let next = query(
        cluster,
        &db,
        "INSERT INTO crm.\"Orders\" (user_id) VALUES (1) RETURNING id::text",
    );
    assert_eq!(next, ["121"], "the identity's value came back too");
    assert_eq!(
        query(cluster, &db, "SELECT last_value::text FROM users_id_seq"),
        seq_before
    );
}

#[test]
fn deleted_rows_are_counted_saved_and_conflicts_roll_back_completely() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_delete", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "");
    let before = fingerprint(cluster, &db, "lines");

    // The exact impact, where the finding is shown.
    dbguard(&[
        "plan",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "DELETE FROM lines l WHERE l.order_id IN (SELECT order_id FROM lines WHERE qty = 5 AND order_id > 30)",
    ])
    .cwd(project.path())
    .run()
    .code(0)
    .stdout_has("data-loss[delete-with-where]")
    .stdout_has("deletes 50 of 200 rows of lines");
    // Nothing matched: info, runs at once, no snapshot.
    let done = dbguard(&[
        "run",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "DELETE FROM lines WHERE qty > 100",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    assert!(!done.stderr.contains("snapshot"), "{}", done.stderr);

    let stderr = run_sql(
        &project,
        cluster,
        &db,
        "DELETE FROM lines l WHERE l.order_id IN (SELECT order_id FROM lines WHERE qty = 5 AND order_id > 30)",
    );
    assert!(
        stderr.contains("50 deleted rows of public.lines"),
        "{stderr}"
    );
    assert_eq!(count(cluster, &db, "lines"), 150);

    // A key that exists again: the whole undo stops, names it, and writes nothing.
    cluster.execute(&db, "INSERT INTO lines VALUES (35, 3, 'new', 1)");
    let done = undo(&project, &["--yes"]).code(4);
    assert!(
        done.stderr.contains("(order_id, line)=(35, 3)"),
        "{}",
        done.stderr
    );
    assert_eq!(count(cluster, &db, "lines"), 151, "rolled back completely");

    // Into a side table instead, for the user to merge.
    undo(&project, &["--yes", "--side-table"]).code(0);
    let side = query(
        cluster,
        &db,
        "SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'lines__undo_%'",
    );
    assert_eq!(side.len(), 1, "{side:?}");
    assert_eq!(count(cluster, &db, &format!("\"{}\"", side[0])), 50);

    // With the conflicting row gone, the snapshot goes back exactly (by id: it was undone).
    cluster.execute(&db, "DELETE FROM lines WHERE sku = 'new'");
    let id = undo(&project, &["--list", "--json"]).code(0).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    undo(&project, &["--yes"]).code(2); // the newest was put back already
    undo(&project, &["--yes", &id]).code(0);
    assert_eq!(fingerprint(cluster, &db, "lines"), before);
}

#[test]
fn a_table_without_primary_key_emptied_by_delete_comes_back() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_nopk", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "");
    let before = fingerprint(cluster, &db, "events");
    run_sql(&project, cluster, &db, "DELETE FROM events");
    assert_eq!(count(cluster, &db, "events"), 0);
    undo(&project, &["--yes"]).code(0);
    assert_eq!(fingerprint(cluster, &db, "events"), before);
}

#[test]
fn a_dropped_column_comes_back_with_its_definition_and_values() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_column", SCHEMA);
    cluster.execute(
        &db,
        "ALTER TABLE crm.\"Orders\" ADD COLUMN \"Code\" varchar(12) NOT NULL DEFAULT 'none' CHECK (\"Code\" <> '');
         UPDATE crm.\"Orders\" SET \"Code\" = 'c' || id WHERE id % 2 = 0;
         CREATE INDEX orders_code ON crm.\"Orders\" (\"Code\");
         COMMENT ON COLUMN crm.\"Orders\".\"Code\" IS 'the code';",
    );
    let project = Project::for_database(&cluster.url(&db), "");
    let table = "crm.\"Orders\"";
    let before = fingerprint(cluster, &db, table);
    run_sql(
        &project,
        cluster,
        &db,
        "ALTER TABLE crm.\"Orders\" DROP COLUMN \"Code\"",
    );
    assert_ne!(fingerprint(cluster, &db, table), before);
    undo(&project, &["--yes"])
        .code(0)
        .stderr_has("120 of 120 values");
    assert_eq!(fingerprint(cluster, &db, table), before);

    // Without a primary key the values cannot be matched: a side table, and it says so.
    let before_events = count(cluster, &db, "events");
    run_sql(
        &project,
        cluster,
        &db,
        "ALTER TABLE events DROP COLUMN what",
    );
    let done = undo(&project, &["--yes"]).code(0);
    assert!(done.stderr.contains("no primary key"), "{}", done.stderr);
    let side = query(
        cluster,
        &db,
        "SELECT tablename::text FROM pg_tables WHERE tablename LIKE 'events__undo_%'",
    );
    assert_eq!(
        count(cluster, &db, &format!("\"{}\"", side[0])),
        before_events
    );
}

#[test]
fn updated_rows_get_their_old_values_back_where_the_command_wrote_them() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_update", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "[guard]\nbulk_rows = 50\n");
    let before = fingerprint(cluster, &db, "users");

    // 120 ≥ bulk_rows: data loss (typed confirmation; --yes here).
    let plan = dbguard(&[
        "plan",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "UPDATE users SET note = 'wiped' WHERE id <= 120",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    assert!(
        plan.stdout.contains("data-loss[update-with-where]")
            && plan.stdout.contains("updates 120 of 200 rows of users"),
        "{}",
        plan.stdout
    );
    run_sql(
        &project,
        cluster,
        &db,
        "UPDATE users SET note = 'wiped' WHERE id <= 120",
    );
    // A row changed after the command is left as it is, and reported.
    cluster.execute(&db, "UPDATE users SET note = 'mine' WHERE id = 7");
    let done = undo(&project, &["--yes"]).code(0);
    assert!(done.stderr.contains("1 rows of"), "{}", done.stderr);
    assert_eq!(
        query(cluster, &db, "SELECT note FROM users WHERE id = 7"),
        ["mine"]
    );
    let wiped = |cluster: &PgCluster| {
        query(
            cluster,
            &db,
            "SELECT count(*)::text FROM users WHERE note = 'wiped'",
        )
    };
    assert_eq!(wiped(cluster), ["0"]);

    // The undo saved what it overwrote: undoing the undo brings the command's values back.
    let listed = undo(&project, &["--list", "--json"]).code(0).json();
    assert!(
        listed[0]["command"]
            .as_str()
            .unwrap()
            .starts_with("dbguard undo"),
        "{listed:?}"
    );
    let first = listed[1]["id"].as_str().unwrap().to_string();
    undo(&project, &["--yes"]).code(0);
    assert_eq!(wiped(cluster), ["119"]);
    undo(&project, &["--yes", &first]).code(0);
    assert_eq!(wiped(cluster), ["0"]);
    cluster.execute(&db, "UPDATE users SET note = NULL WHERE id = 7");
    assert_eq!(fingerprint(cluster, &db, "users"), before);

    // Below bulk_rows: risky (a yes/no), and still saved so it can be undone.
    let plan = dbguard(&[
        "plan",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "UPDATE users SET email = upper(email) WHERE id < 10",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    assert!(
        plan.stdout.contains("risky[update-with-where]"),
        "{}",
        plan.stdout
    );
    run_sql(
        &project,
        cluster,
        &db,
        "UPDATE users SET email = upper(email) WHERE id < 10",
    );
    undo(&project, &["--yes"]).code(0);
    assert_eq!(fingerprint(cluster, &db, "users"), before);
}

#[test]
fn protection_backup_without_a_backup_refuses_a_bulk_delete() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_backup_mode", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "[guard]\nprotection = \"backup\"\n");
    let done = dbguard(&[
        "run",
        "--yes",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "DELETE FROM users WHERE id > 10",
    ])
    .cwd(project.path())
    .run()
    .code(3);
    assert!(
        done.stderr.contains("deletes 190 of 200 rows of users"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("no verified backup"),
        "{}",
        done.stderr
    );
    assert_eq!(count(cluster, &db, "users"), 200, "nothing deleted");
    assert!(project.backups().is_empty());
}

#[test]
fn a_count_that_times_out_keeps_the_delete_at_data_loss() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_timeout", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "[guard]\ncount_timeout = \"300ms\"\n");
    // Another session holds a lock, so counting waits past the timeout.
    let mut holder = cluster.client(&db);
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let started = std::time::Instant::now();
    let done = dbguard(&[
        "plan",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "DELETE FROM users WHERE id > 10",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    tx.rollback().unwrap();
    assert!(
        done.stdout.contains("data-loss[delete-with-where]"),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("rows not counted"), "{}", done.stdout);
    assert!(done.stdout.contains("full backup"), "{}", done.stdout);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn a_full_disk_during_a_snapshot_means_the_command_does_not_run() {
    let cluster = PgCluster::shared();
    let db = new_db(
        cluster,
        "undo_diskfull",
        "CREATE TABLE blob (id int PRIMARY KEY, a text);
         INSERT INTO blob SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 60000) g;",
    );
    let project = Project::for_database(&cluster.url(&db), "");
    let mount_point = project.path().join("backups");
    let Some(disk) = SmallDisk::mount(&mount_point, "512k") else {
        return;
    };
    let done = dbguard(&[
        "run",
        "--yes",
        "--",
        &psql(cluster),
        &cluster.url(&db),
        "-c",
        "DELETE FROM blob WHERE id > 5",
    ])
    .cwd(project.path())
    .run();
    let listed = dbguard(&["undo", "--list", "--json"])
        .cwd(project.path())
        .run();
    let files: Vec<_> = std::fs::read_dir(mount_point.join(&db).join("snapshots"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    drop(disk);
    assert_eq!(done.code, 4, "{}", done.stderr);
    assert!(done.stderr.contains("nothing was run"), "{}", done.stderr);
    assert_eq!(count(cluster, &db, "blob"), 60000, "the DELETE did not run");
    assert_eq!(listed.stdout.trim(), "[]");
    assert!(
        files.iter().all(|n| n == ".dbguard.lock"),
        "partial files left: {files:?}"
    );
}

const INIT: &str = r#"from alembic import op
import sqlalchemy as sa

revision = "a0001"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.Text))


def downgrade():
    op.drop_table("users")
"#;

const LEGACY: &str = r#"from alembic import op
import sqlalchemy as sa

revision = "b0002"
down_revision = "a0001"


def upgrade():
    op.add_column("users", sa.Column("legacy_password", sa.Text, server_default="x"))


def downgrade():
    op.drop_column("users", "legacy_password")
"#;

#[test]
fn an_alembic_downgrade_dropping_a_column_is_undone_with_alembic_version() {
    let cluster = PgCluster::shared();
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("dbguard.toml", "[backup]\ndir = \"backups\"\n"),
            ("alembic.ini", "[alembic]\nscript_location = migrations\n"),
            ("migrations/env.py", ENV_PY),
            ("migrations/versions/a0001_init.py", INIT),
            ("migrations/versions/b0002_legacy.py", LEGACY),
        ],
    );
    let bin = venv_bin("alembic").parent().unwrap().display().to_string();
    let path_env = format!("{bin}:{}", std::env::var("PATH").unwrap());
    let db = unique_db("undo_alembic");
    cluster.create_database(&db);
    let url = format!(
        "postgresql+psycopg2://postgres@127.0.0.1:{}/{db}",
        cluster.port()
    );
    let alembic = |args: &[&str]| {
        let out = std::process::Command::new(venv_bin("alembic"))
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    alembic(&["upgrade", "head"]);
    cluster.execute(&db, "INSERT INTO users (email, legacy_password) SELECT 'u' || g, md5(g::text) FROM generate_series(1, 80) g");
    let before = fingerprint(cluster, &db, "users");
    let version = || {
        query(
            cluster,
            &db,
            "SELECT version_num::text FROM alembic_version",
        )
    };
    assert_eq!(version(), ["b0002"]);

    let run = |args: &[&str]| {
        dbguard(args)
            .cwd(dir.path())
            .env("DATABASE_URL", &url)
            .env("PATH", &path_env)
            .run()
    };
    let done = run(&["run", "--yes", "--", "alembic", "downgrade", "-1"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stderr.contains("alembic_version"), "{}", done.stderr);
    assert_eq!(version(), ["a0001"]);

    let done = run(&["undo", "--yes"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(version(), ["b0002"], "alembic_version is back");
    assert_eq!(fingerprint(cluster, &db, "users"), before);
    alembic(&["upgrade", "head"]);
    assert_eq!(version(), ["b0002"]);
}

#[test]
fn snapshots_are_encrypted_with_encryption_and_still_undo() {
    let cluster = PgCluster::shared();
    let db = new_db(cluster, "undo_encrypted", SCHEMA);
    let project = Project::for_database(&cluster.url(&db), "");
    let key = project.path().join("key.txt");
    let done = dbguard(&["keygen", "-o", key.to_str().unwrap()])
        .cwd(project.path())
        .run()
        .code(0);
    let recipient = done
        .stdout
        .split_whitespace()
        .chain(done.stderr.split_whitespace())
        .find(|w| w.starts_with("age1"))
        .unwrap()
        .to_string();
    let config = std::fs::read_to_string(project.path().join("dbguard.toml")).unwrap();
    std::fs::write(
        project.path().join("dbguard.toml"),
        format!(
            "{config}\n[encryption]\nrecipients = [\"{recipient}\"]\nidentity_file = \"key.txt\"\n"
        ),
    )
    .unwrap();
    let before = fingerprint(cluster, &db, "users");
    run_sql(&project, cluster, &db, "DELETE FROM users WHERE id > 150");
    let listed = undo(&project, &["--list", "--json"]).code(0).json();
    let path = listed[0]["path"].as_str().unwrap().to_string();
    assert!(path.ends_with(".dump.zst.age"), "{path}");
    assert_eq!(listed[0]["encrypted"], true);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    undo(&project, &["--yes"]).code(0);
    assert_eq!(fingerprint(cluster, &db, "users"), before);
}

#[test]
fn a_table_never_analysed_gets_a_bounded_count() {
    let cluster = PgCluster::shared();
    let db = new_db(
        cluster,
        "undo_bounded",
        "CREATE TABLE big (a int) WITH (autovacuum_enabled = false);
         INSERT INTO big SELECT generate_series(1, 20000);
         CREATE TABLE few (a int) WITH (autovacuum_enabled = false);
         INSERT INTO few SELECT generate_series(1, 42);",
    );
    let project = Project::for_database(&cluster.url(&db), "");
    let plan = |sql: &str| {
        dbguard(&["plan", "--", &psql(cluster), &cluster.url(&db), "-c", sql])
            .cwd(project.path())
            .run()
            .code(0)
    };
    plan("TRUNCATE big").stdout_has("(≥ 10,000 rows at stake)");
    plan("TRUNCATE few").stdout_has("(42 rows at stake)");
    plan("DELETE FROM big WHERE a <= 5").stdout_has("deletes 5 of ≥ 10,000 rows of big");
}

#[test]
fn a_dropped_partitioned_table_comes_back_with_its_partitions() {
    let cluster = PgCluster::shared();
    let db = new_db(
        cluster,
        "undo_partitions",
        "CREATE TABLE meas (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE meas_2025 PARTITION OF meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE meas_2026 PARTITION OF meas FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO meas SELECT g, date '2025-06-01' + (g % 400), 'v' || g FROM generate_series(1, 500) g;",
    );
    let project = Project::for_database(&cluster.url(&db), "");
    let before: Vec<String> = ["meas", "meas_2025", "meas_2026"]
        .iter()
        .flat_map(|t| fingerprint(cluster, &db, t))
        .collect();
    run_sql(&project, cluster, &db, "DROP TABLE meas");
    assert!(!exists(cluster, &db, "meas_2025"));
    undo(&project, &["--yes"]).code(0);
    let after: Vec<String> = ["meas", "meas_2025", "meas_2026"]
        .iter()
        .flat_map(|t| fingerprint(cluster, &db, t))
        .collect();
    assert_eq!(after, before);
}

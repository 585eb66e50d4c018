//! `dbguard run` / `plan` against a real cluster with real psql: refusals leave the database
//! unchanged, `--backup` makes it safe, exit codes and signals pass through, the audit log
//! keeps no secrets.

mod support;

use support::cli::dbguard;
use support::{unique_db, PgCluster, Project};

fn database_with_rows(cluster: &PgCluster, prefix: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(
        &db,
        "CREATE TABLE audit_log (id serial PRIMARY KEY, line text);
         INSERT INTO audit_log (line) SELECT md5(g::text) FROM generate_series(1, 500) g;
         CREATE TABLE empty_cache (k text);",
    );
    db
}

fn rows(cluster: &PgCluster, db: &str, table: &str) -> i64 {
    cluster
        .client(db)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

fn psql(cluster: &PgCluster) -> String {
    cluster.bin("psql").display().to_string()
}

#[test]
fn psql_truncate_is_refused_without_a_backup_and_runs_with_backup() {
    let cluster = PgCluster::shared();
    let db = database_with_rows(cluster, "guard_psql");
    let url = cluster.url(&db);
    // Today's rule, kept by `protection = "backup"`: a verified full backup or refuse.
    let project = Project::for_database(&url, "[guard]\nprotection = \"backup\"\n");
    let psql = psql(cluster);

    let done = dbguard(&["run", "--", &psql, &url, "-c", "TRUNCATE audit_log"])
        .cwd(project.path())
        .run()
        .code(3);
    assert!(done.stderr.contains("refused"), "{}", done.stderr);
    assert!(done.stderr.contains("truncate"), "{}", done.stderr);
    assert!(
        done.stderr.contains("~500 rows at stake") || done.stderr.contains("rows at stake"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("dbguard run --backup --yes --"),
        "prints the command that makes it safe: {}",
        done.stderr
    );
    assert_eq!(
        rows(cluster, &db, "audit_log"),
        500,
        "refused means unchanged"
    );
    assert_eq!(project.backups().len(), 0);

    // --backup without --yes still needs a terminal to confirm: refused, nothing taken.
    dbguard(&[
        "run",
        "--backup",
        "--",
        &psql,
        &url,
        "-c",
        "TRUNCATE audit_log",
    ])
    .cwd(project.path())
    .run()
    .code(3);
    assert_eq!(project.backups().len(), 0);

    let done = dbguard(&[
        "run",
        "--backup",
        "--yes",
        "--",
        &psql,
        &url,
        "-c",
        "TRUNCATE audit_log",
    ])
    .cwd(project.path())
    .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(rows(cluster, &db, "audit_log"), 0);
    assert_eq!(project.backups().len(), 1, "the backup was taken first");

    // Now a fresh verified backup exists: --yes alone is enough.
    cluster.execute(&db, "INSERT INTO audit_log (line) VALUES ('again')");
    dbguard(&[
        "run",
        "--yes",
        "--",
        &psql,
        &url,
        "-c",
        "DELETE FROM audit_log",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    assert_eq!(rows(cluster, &db, "audit_log"), 0);

    // The backup restores what the TRUNCATE removed.
    let done = dbguard(&["backups", "--json"])
        .cwd(project.path())
        .run()
        .code(0);
    let name = serde_json::from_str::<serde_json::Value>(&done.stdout).unwrap()[0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    dbguard(&["restore", &name, "--yes", "--no-safety-backup"])
        .cwd(project.path())
        .run()
        .code(0);
    assert_eq!(rows(cluster, &db, "audit_log"), 500);
}

#[test]
fn nothing_at_stake_runs_without_a_backup() {
    let cluster = PgCluster::shared();
    let db = database_with_rows(cluster, "guard_empty");
    let url = cluster.url(&db);
    let project = Project::for_database(&url, "");
    let psql = psql(cluster);
    // The table is empty: the finding is lowered to info and the command runs at once.
    let done = dbguard(&[
        "run",
        "--",
        &psql,
        &url,
        "-c",
        "TRUNCATE empty_cache; DROP TABLE IF EXISTS never_existed",
    ])
    .cwd(project.path())
    .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(project.backups().len(), 0);
    let plan = dbguard(&[
        "plan",
        "--format",
        "json",
        "--",
        &psql,
        &url,
        "-c",
        "TRUNCATE empty_cache",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["verdict"], "safe");
    assert!(json["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no data at stake"));
}

#[test]
fn psql_reading_a_script_from_stdin_is_guarded_and_fed_the_same_bytes() {
    let cluster = PgCluster::shared();
    let db = database_with_rows(cluster, "guard_stdin");
    let url = cluster.url(&db);
    let project = Project::for_database(&url, "");
    let psql = psql(cluster);
    let script = b"INSERT INTO audit_log (line) VALUES ('from stdin');\nDELETE FROM audit_log WHERE id <= 100;\nDROP TABLE audit_log;\n";

    let done = dbguard(&["run", "--", &psql, &url])
        .cwd(project.path())
        .stdin(script)
        .run()
        .code(3);
    assert!(done.stderr.contains("drop-table"), "{}", done.stderr);
    assert_eq!(rows(cluster, &db, "audit_log"), 500);

    dbguard(&["backup"]).cwd(project.path()).run().code(0);
    let safe_script = b"INSERT INTO audit_log (line) VALUES ('from stdin');\nDELETE FROM audit_log WHERE id <= 100;\n";
    let done = dbguard(&["run", "--yes", "--", &psql, "-v", "ON_ERROR_STOP=1", &url])
        .cwd(project.path())
        .stdin(safe_script)
        .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(
        rows(cluster, &db, "audit_log"),
        401,
        "psql received and ran the script"
    );
}

#[test]
fn docker_compose_down_v_is_refused_and_never_executed() {
    let cluster = PgCluster::shared();
    let db = database_with_rows(cluster, "guard_docker");
    let project = Project::for_database(&cluster.url(&db), "");
    // A stand-in `docker` that records being run.
    let bin = project.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marker = project.path().join("docker-ran");
    std::fs::write(
        bin.join("docker"),
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", marker.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());

    let done = dbguard(&["run", "--", "docker", "compose", "down", "-v"])
        .cwd(project.path())
        .env("PATH", &path)
        .run()
        .code(3);
    assert!(done.stderr.contains("remove-volumes"), "{}", done.stderr);
    assert!(!marker.exists(), "docker must not have run");

    // Without -v it is not destructive and runs at once.
    dbguard(&["run", "--", "docker", "compose", "down"])
        .cwd(project.path())
        .env("PATH", &path)
        .run()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "compose down"
    );

    dbguard(&[
        "run",
        "--backup",
        "--yes",
        "--",
        "docker",
        "compose",
        "down",
        "--volumes",
    ])
    .cwd(project.path())
    .env("PATH", &path)
    .run()
    .code(0);
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "compose down --volumes"
    );
    assert_eq!(project.backups().len(), 1);
}

#[test]
fn dropdb_and_listed_commands_are_guarded() {
    let cluster = PgCluster::shared();
    let db = database_with_rows(cluster, "guard_dropdb");
    let url = cluster.url(&db);
    let project = Project::for_database(
        &url,
        "[[guard.commands]]\nmatch = \"make reset-db\"\nseverity = \"data-loss\"\nreason = \"drops and recreates the dev database\"\n",
    );
    let dropdb = cluster.bin("dropdb").display().to_string();
    let port = cluster.port().to_string();
    let done = dbguard(&[
        "run",
        "--",
        &dropdb,
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-U",
        "postgres",
        &db,
    ])
    .cwd(project.path())
    .run()
    .code(3);
    assert!(done.stderr.contains("drop-database"), "{}", done.stderr);
    assert_eq!(rows(cluster, &db, "audit_log"), 500, "database still there");

    let done = dbguard(&["run", "--", "make", "reset-db"])
        .cwd(project.path())
        .run()
        .code(3);
    assert!(
        done.stderr.contains("drops and recreates the dev database"),
        "{}",
        done.stderr
    );
}

#[test]
fn exit_codes_and_signals_pass_through() {
    let project = Project::for_database("postgresql://nobody@127.0.0.1:1/none", "");
    dbguard(&["run", "--", "sh", "-c", "exit 7"])
        .cwd(project.path())
        .run()
        .code(7);
    dbguard(&["run", "--", "true"])
        .cwd(project.path())
        .run()
        .code(0);
    dbguard(&["run", "--", "definitely-not-a-command-xyz"])
        .cwd(project.path())
        .run()
        .code(2)
        .stderr_has("command not found");

    // SIGINT sent to dbguard reaches the child; the child's death by SIGINT is exit 130.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dbguard"))
        .args(["run", "--", "sleep", "30"])
        .current_dir(project.path())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe_kill(child.id(), 2);
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{status:?}");
}

fn unsafe_kill(pid: u32, signal: i32) {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}

#[test]
fn safe_commands_never_touch_the_database() {
    // The configured database does not exist: a safe command must not even try it.
    let project = Project::for_database("postgresql://nobody@127.0.0.1:1/none", "");
    let done = dbguard(&["run", "--", "sh", "-c", "echo hello"])
        .cwd(project.path())
        .run()
        .code(0);
    assert_eq!(done.stdout.trim(), "hello");
    assert!(done.stderr.is_empty(), "{}", done.stderr);
    let done = dbguard(&["run", "--", "psql", "-V"])
        .cwd(project.path())
        .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
}

#[test]
fn the_audit_trail_records_decisions_without_secrets() {
    let cluster = PgCluster::shared();
    let db = database_with_rows(cluster, "guard_audit");
    let secret = "AuditS3cret";
    let url = format!(
        "postgresql://postgres:{secret}@127.0.0.1:{}/{db}",
        cluster.port()
    );
    let project = Project::for_database(&cluster.url(&db), "");
    let psql = psql(cluster);
    dbguard(&["run", "--", &psql, &url, "-c", "TRUNCATE audit_log"])
        .cwd(project.path())
        .run()
        .code(3);
    dbguard(&["run", "--", "env", &format!("PGPASSWORD={secret}"), "true"])
        .cwd(project.path())
        .run()
        .code(0);
    dbguard(&[
        "run",
        "--dry-run",
        "--",
        &psql,
        "--set=x=1",
        &url,
        "-c",
        "DROP TABLE audit_log",
    ])
    .cwd(project.path())
    .run()
    .code(0);

    let entries = project.audit();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["decision"], "refused");
    assert_eq!(entries[0]["findings"]["data_loss"], 1);
    assert_eq!(entries[1]["decision"], "ran");
    assert_eq!(entries[1]["exit_code"], 0);
    assert_eq!(entries[2]["decision"], "dry-run");
    for key in ["time", "user", "cwd", "command", "target", "duration_ms"] {
        assert!(entries[0].get(key).is_some(), "audit entry lacks {key}");
    }
    let raw = std::fs::read_to_string(project.path().join("backups/audit.jsonl")).unwrap();
    assert!(!raw.contains(secret), "secret in the audit log:\n{raw}");
    assert!(raw.contains("***"));
    let text = dbguard(&["audit", "--limit", "1"])
        .cwd(project.path())
        .run()
        .code(0);
    assert!(
        text.stdout.contains("dry-run") && !text.stdout.contains("refused"),
        "{}",
        text.stdout
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(project.path().join("backups/audit.jsonl"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

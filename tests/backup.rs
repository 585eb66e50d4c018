//! Backups against a real PostgreSQL with real pg_dump / pg_restore: round trip, retention,
//! concurrency, failures (server gone, corrupt file, failed restore, disk full), secrets and
//! permissions, status.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use support::cli::dbguard;
use support::{unique_db, PgCluster, Project, SmallDisk};

/// A database with a few tables of realistic data.
fn seeded_database(cluster: &PgCluster, prefix: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(
        &db,
        "CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, balance numeric(12,2), created timestamptz DEFAULT now());
         INSERT INTO accounts (email, balance) SELECT 'user' || g || '@example.com', g * 1.5 FROM generate_series(1, 2000) g;
         CREATE TABLE events (id bigserial PRIMARY KEY, account_id int REFERENCES accounts(id), payload jsonb);
         INSERT INTO events (account_id, payload) SELECT 1 + g % 2000, jsonb_build_object('n', g, 'md5', md5(g::text)) FROM generate_series(1, 5000) g;
         CREATE SCHEMA audit; CREATE TABLE audit.log (line text);
         INSERT INTO audit.log SELECT md5(g::text) FROM generate_series(1, 300) g;",
    );
    db
}

fn count(cluster: &PgCluster, db: &str, sql: &str) -> i64 {
    cluster.client(db).query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn backup_then_restore_round_trip() {
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "roundtrip");
    let url = cluster.url(&db);
    let project = Project::new("keep = 5\n");

    let done = dbguard(&[
        "backup",
        "--url",
        &url,
        "--reason",
        "before the big migration",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    assert!(done.stdout.contains("verified"), "{}", done.stdout);

    let listed = project.backups();
    assert_eq!(listed.len(), 1);
    let entry = &listed[0];
    for key in [
        "name",
        "path",
        "database",
        "created_at",
        "size_bytes",
        "sha256",
        "verified",
    ] {
        assert!(entry.get(key).is_some(), "backups --json lacks {key}");
    }
    assert_eq!(entry["database"], db.as_str());
    assert_eq!(entry["verified"], true);
    assert_eq!(entry["kind"], "manual");
    let name = entry["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("backup_{db}_")) && name.ends_with(".dump.zst"),
        "{name}"
    );

    // The sidecar describes the backup, including exact row counts.
    let dump = PathBuf::from(entry["path"].as_str().unwrap());
    let sidecar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}.json", dump.display())).unwrap())
            .unwrap();
    assert_eq!(sidecar["reason"], "before the big migration");
    assert_eq!(sidecar["port"], cluster.port());
    assert_eq!(sidecar["user"], "postgres");
    assert!(sidecar["server_version"]
        .as_str()
        .unwrap()
        .starts_with(char::is_numeric));
    assert!(
        sidecar["uncompressed_bytes"].as_u64().unwrap() > sidecar["size_bytes"].as_u64().unwrap()
    );
    let tables = sidecar["tables"].as_array().unwrap();
    let rows_of = |name: &str| {
        tables
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["rows"].as_i64().unwrap())
    };
    assert_eq!(rows_of("accounts"), Some(2000));
    assert_eq!(rows_of("events"), Some(5000));
    assert_eq!(rows_of("log"), Some(300));

    // Disaster strikes.
    cluster.execute(
        &db,
        "DROP TABLE events; DELETE FROM accounts WHERE id > 10; TRUNCATE audit.log;",
    );

    dbguard(&["restore", "--dry-run", &name, "--url", &url])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("would restore")
        .stdout_has("accounts: 2000 rows")
        .stdout_has("nothing was changed");
    assert_eq!(
        count(cluster, &db, "SELECT count(*) FROM accounts"),
        10,
        "dry run changed nothing"
    );

    let done = dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(0);
    assert!(done.stdout.contains("row counts match"), "{}", done.stdout);
    assert!(done.stderr.contains("safety backup"), "{}", done.stderr);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM accounts"), 2000);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM events"), 5000);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM audit.log"), 300);
    assert_eq!(
        count(
            cluster,
            &db,
            "SELECT count(*) FROM events WHERE payload->>'md5' = md5('42')"
        ),
        1
    );

    // The safety backup holds the damaged state and is a listed, verified backup itself.
    let listed = project.backups();
    assert_eq!(listed.len(), 2);
    let safety = listed.iter().find(|b| b["name"] != name.as_str()).unwrap();
    assert!(safety["reason"]
        .as_str()
        .unwrap()
        .contains("safety backup before restoring"));
    assert_eq!(safety["kind"], "safety");
    let table = dbguard(&["backups"]).cwd(project.path()).run().code(0);
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains(&name) && l.contains(" manual "))
            && table.stdout.lines().any(|l| l.contains(" safety ")),
        "{}",
        table.stdout
    );
}

#[test]
fn files_are_private_and_no_password_appears_anywhere() {
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "secrets");
    // Trust authentication ignores the password, so it can be anything recognisable.
    let secret = "Sup3rS3cretPw";
    let url = format!(
        "postgresql://postgres:{secret}@127.0.0.1:{}/{db}",
        cluster.port()
    );
    let project = Project::new("");

    let mut outputs = Vec::new();
    for args in [
        vec!["backup", "--url", &url],
        vec!["backups"],
        vec!["backups", "--json"],
        vec!["status", "--url", &url],
        vec!["status", "--url", &url, "--json"],
        vec!["restore", "--latest", "--dry-run", "--url", &url],
    ] {
        let done = dbguard(&args).cwd(project.path()).run();
        assert!(done.code <= 1, "{args:?}: {}", done.stderr);
        outputs.push(done.stdout);
        outputs.push(done.stderr);
    }
    // A failing connection's error message must be masked too.
    let bad = format!("postgresql://postgres:{secret}@127.0.0.1:1/{db}");
    let done = dbguard(&["backup", "--url", &bad])
        .cwd(project.path())
        .run()
        .code(4);
    outputs.push(done.stderr);
    for text in &outputs {
        assert!(!text.contains(secret), "password leaked in output:\n{text}");
    }
    for path in project.backup_files() {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        if path.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(secret),
                "password stored in {}",
                path.display()
            );
        }
    }
}

#[test]
fn retention_keeps_the_newest_and_sweeps_dead_temporary_files() {
    let cluster = PgCluster::shared();
    let db = unique_db("retention");
    cluster.create_database(&db);
    cluster.execute(&db, "CREATE TABLE t (x int); INSERT INTO t VALUES (1);");
    let url = cluster.url(&db);
    let project = Project::new("keep = 2\n");

    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0);
    // Leftovers of a run that died: an unlocked temporary file and a dump without sidecar.
    let db_dir = project.path().join("backups").join(&db);
    std::fs::write(
        db_dir.join(".tmp-999999-0-backup_dead.dump.zst"),
        b"partial",
    )
    .unwrap();
    for _ in 0..3 {
        dbguard(&["backup", "--url", &url])
            .cwd(project.path())
            .run()
            .code(0);
    }
    let listed = project.backups();
    assert_eq!(listed.len(), 2, "keep = 2");
    let names: Vec<&str> = listed.iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_ne!(names[0], names[1]);
    assert!(
        !db_dir.join(".tmp-999999-0-backup_dead.dump.zst").exists(),
        "stale temporary file swept"
    );
    let dumps = std::fs::read_dir(&db_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".dump.zst")
        })
        .count();
    assert_eq!(dumps, 2, "old dumps removed with their sidecars");
}

#[test]
fn concurrent_backups_of_one_database_all_succeed() {
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "concurrent");
    let url = cluster.url(&db);
    let project = Project::new("keep = 10\n");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, dir) = (url.clone(), project.path().to_path_buf());
            std::thread::spawn(move || dbguard(&["backup", "--url", &url]).cwd(&dir).run())
        })
        .collect();
    for handle in handles {
        let done = handle.join().unwrap();
        assert_eq!(done.code, 0, "{}", done.stderr);
    }
    let listed = project.backups();
    assert_eq!(listed.len(), 4);
    let mut names: Vec<&str> = listed.iter().map(|b| b["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "distinct names even within the same second");
    // Each one restores (verification reads every byte back).
    for b in &listed {
        dbguard(&[
            "restore",
            "--dry-run",
            b["name"].as_str().unwrap(),
            "--url",
            &url,
        ])
        .cwd(project.path())
        .run()
        .code(0);
    }
}

#[test]
fn a_flipped_byte_is_refused_and_changes_nothing() {
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "corrupt");
    let url = cluster.url(&db);
    let project = Project::new("");
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0);
    let listed = project.backups();
    let path = PathBuf::from(listed[0]["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();

    cluster.execute(
        &db,
        "DELETE FROM events; DELETE FROM accounts WHERE id > 100;",
    );
    let name = listed[0]["name"].as_str().unwrap();
    dbguard(&["restore", "--dry-run", name, "--url", &url])
        .cwd(project.path())
        .run()
        .code(4)
        .stderr_has("error:");
    let done = dbguard(&["restore", name, "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(4);
    assert!(
        done.stderr.contains("corrupt") || done.stderr.contains("checksum"),
        "{}",
        done.stderr
    );
    assert_eq!(
        count(cluster, &db, "SELECT count(*) FROM accounts"),
        100,
        "nothing restored"
    );
    assert_eq!(
        project.backups().len(),
        1,
        "no safety backup was even needed"
    );
}

#[test]
fn a_restore_failing_half_way_leaves_the_target_unchanged() {
    let cluster = PgCluster::shared();
    let db = unique_db("halfway");
    cluster.create_database(&db);
    let role = format!("ghost_{db}");
    cluster.execute(
        &db,
        &format!(
            "CREATE ROLE {role}; CREATE TABLE kept (x int); INSERT INTO kept SELECT generate_series(1, 50);
             CREATE TABLE owned (y int); ALTER TABLE owned OWNER TO {role};"
        ),
    );
    let url = cluster.url(&db);
    let project = Project::new("");
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0);
    // The role the backup needs disappears; the database moves on.
    cluster.execute(
        &db,
        &format!("DROP TABLE owned; DROP ROLE {role}; INSERT INTO kept VALUES (999);"),
    );

    let done = dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(4);
    assert!(done.stderr.contains("unchanged"), "{}", done.stderr);
    assert!(
        done.stderr.contains("safety backup"),
        "names the safety backup: {}",
        done.stderr
    );
    assert_eq!(
        count(cluster, &db, "SELECT count(*) FROM kept"),
        51,
        "the target is exactly as it was"
    );
    assert_eq!(
        count(cluster, &db, "SELECT count(*) FROM kept WHERE x = 999"),
        1
    );
}

#[test]
fn restore_without_a_terminal_needs_yes() {
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "confirm");
    let url = cluster.url(&db);
    let project = Project::new("");
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0);
    cluster.execute(&db, "DELETE FROM audit.log;");
    dbguard(&["restore", "--latest", "--url", &url])
        .cwd(project.path())
        .run()
        .code(3)
        .stderr_has("--yes");
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM audit.log"), 0);
    dbguard(&["restore", "no_such_backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(2);
}

#[test]
fn a_server_that_goes_away_mid_dump_fails_cleanly() {
    let cluster = PgCluster::start();
    let db = seeded_database(&cluster, "gone");
    let url = cluster.url(&db);
    let project = Project::new("");
    // An exclusive lock makes pg_dump wait on its first table; then the server goes away.
    let mut locker = cluster.client(&db);
    let mut tx = locker.transaction().unwrap();
    tx.batch_execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let dir = project.path().to_path_buf();
    let url_for_thread = url.clone();
    let backup = std::thread::spawn(move || {
        dbguard(&["backup", "--url", &url_for_thread])
            .cwd(&dir)
            .run()
    });
    let db_dir = project.path().join("backups").join(&db);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_dir(&db_dir)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        })
        .unwrap_or(false)
    {
        assert!(std::time::Instant::now() < deadline, "backup never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(tx);
    cluster.stop();
    let done = backup.join().unwrap();
    assert_eq!(done.code, 4, "{}", done.stderr);
    assert!(
        done.stderr.contains("pg_dump failed") || done.stderr.contains("error:"),
        "{}",
        done.stderr
    );
    let leftovers: Vec<_> = std::fs::read_dir(&db_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != ".dbguard.lock")
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    assert!(project.backups().is_empty());
}

#[test]
fn a_full_disk_fails_cleanly() {
    let cluster = PgCluster::shared();
    let db = unique_db("diskfull");
    cluster.create_database(&db);
    // Not very compressible: ~6 MB of md5 text, far more than the 512 KiB file system.
    cluster.execute(&db, "CREATE TABLE blob AS SELECT md5(g::text) || md5((g*7)::text) AS a FROM generate_series(1, 100000) g;");
    let project = Project::new("");
    let mount_point = project.path().join("backups");
    let Some(disk) = SmallDisk::mount(&mount_point, "512k") else {
        return;
    };
    let done = dbguard(&["backup", "--url", &cluster.url(&db)])
        .cwd(project.path())
        .run();
    let listed = dbguard(&["backups", "--json"]).cwd(project.path()).run();
    let files: Vec<_> = std::fs::read_dir(mount_point.join(&db))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    drop(disk);
    assert_eq!(done.code, 4, "{}", done.stderr);
    assert!(
        done.stderr.contains("No space left") || done.stderr.contains("space"),
        "{}",
        done.stderr
    );
    assert_eq!(listed.stdout.trim(), "[]");
    assert!(
        files.iter().all(|n| n == ".dbguard.lock"),
        "partial files left: {files:?}"
    );
}

#[test]
fn status_reports_age_size_and_count() {
    let cluster = PgCluster::shared();
    let db = seeded_database(cluster, "status");
    let url = cluster.url(&db);
    let project = Project::new("max_age = \"1h\"\n");
    dbguard(&["status", "--url", &url])
        .cwd(project.path())
        .run()
        .code(1)
        .stdout_has("FAIL verified backup");
    for _ in 0..3 {
        dbguard(&["backup", "--url", &url])
            .cwd(project.path())
            .run()
            .code(0);
    }
    let done = dbguard(&["status", "--url", &url, "--json"])
        .cwd(project.path())
        .run()
        .code(0);
    let json: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["databases"][0]["kept"], 3);

    // A dump of a suddenly empty database is suspicious.
    cluster.execute(
        &db,
        "DROP TABLE events; DROP TABLE accounts; DROP SCHEMA audit CASCADE;",
    );
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0);
    dbguard(&["status", "--url", &url])
        .cwd(project.path())
        .run()
        .code(1)
        .stdout_has("FAIL size");

    let stale = Project::new("max_age = \"1s\"\n");
    dbguard(&["backup", "--url", &url])
        .cwd(stale.path())
        .run()
        .code(0);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    dbguard(&["status", "--url", &url])
        .cwd(stale.path())
        .run()
        .code(1)
        .stdout_has("FAIL age");
}

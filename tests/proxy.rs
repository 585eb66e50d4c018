//! `dbguard proxy` and `dbguard psql` with a real server and real clients: psql, psycopg 3
//! (server-side binding, pipelines, COPY, cancel), psycopg2, SCRAM authentication, many
//! clients at once, and an interactive psql session on a pseudo-terminal.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::proxy::Proxy;
use support::{unique_db, venv_bin, PgCluster, Project};

fn database(cluster: &PgCluster, prefix: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(
        &db,
        "CREATE TABLE users (id int PRIMARY KEY, name text);
         INSERT INTO users VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    db
}

fn count(cluster: &PgCluster, db: &str, table: &str) -> i64 {
    cluster
        .client(db)
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

fn psql(cluster: &PgCluster, conninfo: &str, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(cluster.bin("psql"))
        .arg("-X")
        .arg(conninfo)
        .args(args)
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn python(scenario: &str, conninfo: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxy_clients.py");
    let out = Command::new(venv_bin("python"))
        .arg(script)
        .arg(scenario)
        .arg(conninfo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success() && text(&out.stdout).contains("ok"),
        "{scenario} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn decisions(project: &Project) -> Vec<(String, String)> {
    project
        .audit()
        .iter()
        .map(|e| {
            (
                e["decision"].as_str().unwrap_or_default().to_string(),
                e["command"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn psql_output_through_the_proxy_is_byte_identical() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_same");
    let project = Project::for_database(&cluster.url(&db), "");
    let proxy = Proxy::start(project.path(), &cluster.url(&db), "block");
    let script = "\
SELECT id, name FROM users ORDER BY id;
\\d users
SELECT 'x' AS a, 1.5::numeric AS b \\gx
DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$;
COPY users TO STDOUT WITH (FORMAT csv, HEADER);
CREATE TEMP TABLE t (a int, b text);
COPY t FROM STDIN;
1\tone
2\ttwo
\\.
SELECT * FROM t ORDER BY a;
BEGIN;
INSERT INTO t VALUES (3, 'three');
SAVEPOINT s;
SELECT 1/0;
ROLLBACK TO s;
COMMIT;
SELECT count(*) FROM t;
SHOW standard_conforming_strings;
SELECT * FROM missing_table;
";
    let direct = format!(
        "host=127.0.0.1 port={} dbname={db} user=postgres",
        cluster.port()
    );
    let a = psql(cluster, &direct, &["-f", "-"], Some(script));
    let b = psql(
        cluster,
        &proxy.conninfo(&db, "postgres"),
        &["-f", "-"],
        Some(script),
    );
    assert!(text(&a.stdout).contains("hello") || text(&a.stderr).contains("hello"));
    assert_eq!(text(&a.stdout), text(&b.stdout));
    assert_eq!(text(&a.stderr), text(&b.stderr));
    assert_eq!(a.status.code(), b.status.code());
    assert!(
        decisions(&project).is_empty(),
        "safe statements are not audited"
    );
}

#[test]
fn destructive_statements_are_blocked_and_an_allow_annotation_lets_one_through() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_block");
    let project = Project::for_database(&cluster.url(&db), "");
    let proxy = Proxy::start(project.path(), &cluster.url(&db), "block");
    let conninfo = proxy.conninfo(&db, "postgres");
    for statement in ["DELETE FROM users;", "DROP TABLE users;", "TRUNCATE users;"] {
        let out = psql(cluster, &conninfo, &["-c", statement], None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("dbguard refused"), "{err}");
        assert!(err.contains("it would destroy data in"), "{err}");
        assert!(err.contains("HINT:  add /* dbguard:allow"), "{err}");
        assert_eq!(
            count(cluster, &db, "users"),
            3,
            "{statement} changed the table"
        );
    }
    // SQLSTATE 42501, and the session goes on.
    let out = psql(
        cluster,
        &conninfo,
        &["-v", "VERBOSITY=verbose"],
        Some("\\set VERBOSITY verbose\nTRUNCATE users;\nSELECT count(*) AS left FROM users;\n"),
    );
    assert!(
        text(&out.stderr).contains("ERROR:  42501"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("3\n(1 row)"),
        "{}",
        text(&out.stdout)
    );
    // Several statements in one Query: refused as a whole.
    let out = psql(
        cluster,
        &conninfo,
        &["-c", "SELECT 1; DELETE FROM users"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(count(cluster, &db, "users"), 3);

    let allowed = "TRUNCATE users /* dbguard:allow truncate reason: \"fixtures reload\" */;";
    let out = psql(cluster, &conninfo, &["-c", allowed], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(count(cluster, &db, "users"), 0);
    let audit = decisions(&project);
    let refused = audit.iter().filter(|(d, _)| d == "refused").count();
    assert_eq!(refused, 5, "{audit:?}");
    assert!(
        audit.contains(&("refused".into(), "DROP TABLE users".into())),
        "{audit:?}"
    );
    let last = project.audit().pop().unwrap();
    assert_eq!(last["decision"], "allowed");
    assert!(last["reason"].as_str().unwrap().contains("fixtures reload"));
    assert_eq!(last["tool"], "proxy");
}

fn undo_yes(project: &Project) {
    support::dbguard(&["undo", "--yes"])
        .cwd(project.path())
        .run()
        .code(0);
}

#[test]
fn snapshot_mode_snapshots_runs_and_undo_puts_it_back() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_snapshot");
    let project = Project::for_database(&cluster.url(&db), "");
    let proxy = Proxy::start(project.path(), &cluster.url(&db), "snapshot");
    let conninfo = proxy.conninfo(&db, "postgres");
    let names = |cluster: &PgCluster| -> Vec<String> {
        cluster
            .client(&db)
            .query("SELECT id || name FROM users ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let before = names(cluster);
    for (statement, done) in [
        ("DELETE FROM users", "DELETE 3"),
        ("TRUNCATE users", "TRUNCATE TABLE"),
        ("DROP TABLE users", "DROP TABLE"),
    ] {
        let out = psql(cluster, &conninfo, &["-c", statement], None);
        assert!(out.status.success(), "{statement}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), done);
        let last = project.audit().pop().unwrap();
        assert_eq!(last["decision"], "snapshotted", "{last}");
        assert_eq!(last["backup"]["kind"], "snapshot", "{last}");
        undo_yes(&project);
        assert_eq!(names(cluster), before, "undo after {statement}");
    }
}

#[test]
fn python_clients_with_parameters_pipelines_transactions_copy_and_cancel() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_python");
    let project = Project::for_database(&cluster.url(&db), "");
    let proxy = Proxy::start(project.path(), &cluster.url(&db), "block");
    let conninfo = proxy.conninfo(&db, "postgres");
    for scenario in ["params", "pipeline", "transaction", "copy", "cancel"] {
        python(scenario, &conninfo, &[]);
        assert_eq!(count(cluster, &db, "users"), 3, "after {scenario}");
    }
}

#[test]
fn twenty_clients_at_once() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_many");
    let project = Project::for_database(&cluster.url(&db), "");
    let proxy = Proxy::start(project.path(), &cluster.url(&db), "block");
    python("concurrent", &proxy.conninfo(&db, "postgres"), &["20"]);
    assert_eq!(count(cluster, &db, "users"), 3);
}

#[test]
fn scram_authentication_is_relayed() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_scram");
    cluster.add_scram_user("scram_user", "s3cret pass");
    let project = Project::for_database(&cluster.url(&db), "");
    let proxy = Proxy::start(project.path(), &cluster.url(&db), "block");
    python(
        "scram",
        &proxy.conninfo(&db, "scram_user"),
        &["s3cret pass"],
    );
}

#[test]
fn replication_connections_are_refused_and_a_vanished_client_stops_its_query() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_edges");
    let project = Project::for_database(&cluster.url(&db), "");
    let mut proxy = Proxy::start(project.path(), &cluster.url(&db), "block");
    let conninfo = proxy.conninfo(&db, "postgres");
    let out = psql(
        cluster,
        &format!("{conninfo} replication=database"),
        &["-c", "IDENTIFY_SYSTEM"],
        None,
    );
    assert!(
        text(&out.stderr).contains("does not relay replication connections"),
        "{}",
        text(&out.stderr)
    );

    // A client killed during a long query: the proxy cancels it on the server.
    let mut child = Command::new(cluster.bin("psql"))
        .args(["-X", &conninfo, "-c", "SELECT pg_sleep(60) /* vanishing */"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let running = |cluster: &PgCluster| -> i64 {
        cluster
            .client("postgres")
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%vanishing%' AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(cluster) == 0 {
        assert!(Instant::now() < deadline, "the query never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(cluster) > 0 {
        assert!(
            Instant::now() < deadline,
            "the query of the vanished client still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The server ends a session (as on a restart): a clean error, and the proxy goes on.
    let out = psql(
        cluster,
        &conninfo,
        &[],
        Some("SELECT pg_terminate_backend(pg_backend_pid());\nSELECT 1;\n"),
    );
    let err = text(&out.stderr);
    assert!(err.contains("terminating connection"), "{err}");
    let out = psql(
        cluster,
        &conninfo,
        &["-Atc", "SELECT count(*) FROM users"],
        None,
    );
    assert_eq!(text(&out.stdout).trim(), "3");
    assert!(proxy.alive());
}

#[test]
fn an_unreachable_server_is_a_clean_error_and_the_proxy_keeps_serving() {
    let stopped = PgCluster::start();
    let url = stopped.url("postgres");
    stopped.stop();
    let project = Project::for_database(&url, "");
    let mut proxy = Proxy::start(project.path(), &url, "block");
    let cluster = PgCluster::shared();
    for _ in 0..2 {
        let out = psql(
            cluster,
            &proxy.conninfo("postgres", "postgres"),
            &["-c", "SELECT 1"],
            None,
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("dbguard proxy cannot reach the server"),
            "{err}"
        );
        assert_eq!(out.status.code(), Some(2));
    }
    assert!(proxy.alive());
}

#[test]
fn the_proxy_reaches_the_server_with_tls_when_sslmode_asks_for_it() {
    let cluster = PgCluster::start();
    let cert = cluster.enable_ssl();
    let cert = cert.display();
    let base = format!(
        "postgresql://postgres@127.0.0.1:{}/postgres",
        cluster.port()
    );
    let project = Project::for_database(&base, "");
    let ssl_query = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    for (params, ssl) in [
        ("sslmode=disable".to_string(), "f"),
        ("sslmode=require".to_string(), "t"),
        (format!("sslmode=verify-full&sslrootcert={cert}"), "t"),
        (format!("sslmode=verify-ca&sslrootcert={cert}"), "t"),
    ] {
        let proxy = Proxy::start(project.path(), &format!("{base}?{params}"), "block");
        let out = psql(
            &cluster,
            &proxy.conninfo("postgres", "postgres"),
            &["-Atc", ssl_query],
            None,
        );
        assert_eq!(
            text(&out.stdout).trim(),
            ssl,
            "{params}: {}",
            text(&out.stderr)
        );
        // Big results and COPY over TLS, in both directions.
        let out = psql(
            &cluster,
            &proxy.conninfo("postgres", "postgres"),
            &["-At"],
            Some("CREATE TEMP TABLE big AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 20000) g;\nSELECT sum(length(pad)) FROM big;\n"),
        );
        assert_eq!(
            text(&out.stdout).trim(),
            "SELECT 20000\n10000000",
            "{params}: {}",
            text(&out.stderr)
        );
    }
    // A certificate that does not lead to the given root is refused.
    let other = tempfile::NamedTempFile::new().unwrap();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .args(["-keyout", "/dev/null", "-out"])
        .arg(other.path())
        .output()
        .unwrap();
    assert!(made.status.success());
    let url = format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        other.path().display()
    );
    let proxy = Proxy::start(project.path(), &url, "block");
    let out = psql(
        &cluster,
        &proxy.conninfo("postgres", "postgres"),
        &["-c", "SELECT 1"],
        None,
    );
    assert!(
        text(&out.stderr).contains("dbguard proxy cannot reach the server: TLS handshake"),
        "{}",
        text(&out.stderr)
    );
}

fn interactive(cluster: &PgCluster, project: &Project, db: &str, how: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxy_interactive.py");
    let bindir = cluster.bin("psql").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(venv_bin("python"))
        .arg(script)
        .args([env!("CARGO_BIN_EXE_dbguard"), db, how, &cluster.url(db)])
        .current_dir(project.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{how}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn interactive_psql_asks_on_the_terminal_and_a_no_keeps_the_rows() {
    let cluster = PgCluster::shared();
    let db = database(cluster, "proxy_tty");
    let project = Project::for_database(&cluster.url(&db), "");
    interactive(cluster, &project, &db, "psql");
    // Declined first (rows intact), then confirmed: protected, then run.
    assert_eq!(count(cluster, &db, "users"), 0);
    let audit = decisions(&project);
    assert_eq!(
        audit.iter().map(|(d, _)| d.as_str()).collect::<Vec<_>>(),
        ["cancelled", "snapshotted"],
        "{audit:?}"
    );
    assert_eq!(project.audit()[0]["tool"], "psql");

    // `dbguard run -- psql` on a terminal takes the same path.
    let db = database(cluster, "proxy_tty_run");
    let project = Project::for_database(&cluster.url(&db), "");
    interactive(cluster, &project, &db, "run");
    assert_eq!(count(cluster, &db, "users"), 3);
    assert_eq!(
        decisions(&project),
        [("cancelled".to_string(), "DELETE FROM users".to_string())]
    );
}

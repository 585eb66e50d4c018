//! The PostgreSQL test harness itself: real clusters, isolated, and cleaned up.

mod support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{unique_db, PgCluster};

fn system_identifier(cluster: &PgCluster) -> i64 {
    cluster
        .client("postgres")
        .query_one("SELECT system_identifier FROM pg_control_system()", &[])
        .unwrap()
        .get(0)
}

fn accepts_connections(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Polls `condition` for up to 10 s.
fn eventually(condition: impl Fn() -> bool) -> bool {
    // Generous: a fast shutdown and `rm -rf` took over 10 s on a machine loaded 5x over. Only
    // a failing run waits this long.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

#[test]
fn two_clusters_run_side_by_side() {
    let started = Instant::now();
    let dev = PgCluster::start();
    let test = PgCluster::start();
    eprintln!("started two clusters in {:?}", started.elapsed());

    dev.execute(
        "postgres",
        "CREATE TABLE users (id int); INSERT INTO users VALUES (1), (2)",
    );
    test.execute(
        "postgres",
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (7)",
    );

    let mut dev_client = dev.client("postgres");
    let mut test_client = test.client("postgres");
    let users: i64 = dev_client
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0);
    let orders: i64 = test_client
        .query_one("SELECT count(*) FROM orders", &[])
        .unwrap()
        .get(0);
    assert_eq!((users, orders), (2, 1));
    // Each table exists only where it was created.
    assert!(dev_client
        .query_one("SELECT count(*) FROM orders", &[])
        .is_err());
    assert!(test_client
        .query_one("SELECT count(*) FROM users", &[])
        .is_err());

    assert_ne!(dev.port(), test.port());
    assert_ne!(system_identifier(&dev), system_identifier(&test));
}

#[test]
fn dropped_cluster_is_gone() {
    let cluster = PgCluster::start();
    let (port, dir) = (cluster.port(), cluster.dir().to_owned());
    assert!(accepts_connections(port));
    assert!(dir.join("data").is_dir());

    drop(cluster);

    assert!(
        !accepts_connections(port),
        "port {port} still accepts connections"
    );
    assert!(!dir.exists(), "{} still exists", dir.display());
}

#[test]
fn stopped_cluster_refuses_connections() {
    let cluster = PgCluster::start();
    let url = cluster.url("postgres");
    cluster.stop();
    assert!(postgres::Client::connect(&url, postgres::NoTls).is_err());
    assert!(!cluster.dir().exists());
    cluster.stop(); // idempotent, and so is the drop that follows
}

#[test]
fn shared_cluster_is_started_once() {
    let first = PgCluster::shared();
    let second = PgCluster::shared();
    assert!(std::ptr::eq(first, second));
    assert_eq!(system_identifier(first), system_identifier(second));
}

#[test]
fn databases_of_the_shared_cluster_are_separate() {
    let pg = PgCluster::shared();
    let (a, b) = (unique_db("harness"), unique_db("harness"));
    assert_ne!(a, b);
    pg.create_database(&a);
    pg.create_database(&b);
    pg.execute(&a, "CREATE TABLE only_in_a (id int)");

    let mut client = pg.client(&b);
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

#[test]
fn client_programs_come_from_the_server_bindir() {
    let pg = PgCluster::shared();
    let out = Command::new(pg.bin("psql"))
        .args(["-X", "-A", "-t", "-c", "SELECT 40 + 2", &pg.url("postgres")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");

    // And over the unix socket.
    let out = Command::new(pg.bin("psql"))
        .args([
            "-X", "-A", "-t", "-U", "postgres", "-d", "postgres", "-c", "SELECT 1",
        ])
        .arg("-h")
        .arg(pg.socket_dir())
        .args(["-p", &pg.port().to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test process that dies without running destructors (SIGKILL, and likewise any
/// static, which is never dropped) still leaves no server or directory behind.
#[test]
fn killed_test_process_leaves_nothing_behind() {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_hold_shared_cluster",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = BufReader::new(helper.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find_map(|line| line.strip_prefix("READY ").map(str::to_owned))
        .expect("the helper process did not report its cluster");
    let (port, dir) = ready.split_once(' ').unwrap();
    let (port, dir): (u16, PathBuf) = (port.parse().unwrap(), dir.into());
    assert!(accepts_connections(port));

    helper.kill().unwrap(); // SIGKILL
    helper.wait().unwrap();

    assert!(
        eventually(|| !accepts_connections(port)),
        "port {port} still accepts connections"
    );
    assert!(
        eventually(|| !dir.exists()),
        "{} still exists",
        dir.display()
    );
}

const HELPER_ENV: &str = "DBGUARD_HARNESS_HELPER";

#[test]
#[ignore = "helper process of killed_test_process_leaves_nothing_behind"]
fn helper_hold_shared_cluster() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let pg = PgCluster::shared();
    println!("READY {} {}", pg.port(), pg.dir().display());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

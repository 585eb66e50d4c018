//! A running `dbguard proxy` (the built binary) on a free loopback port, stopped on drop.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub struct Proxy {
    child: Child,
    port: u16,
}

impl Proxy {
    /// `dbguard proxy --listen 127.0.0.1:PORT --url URL --destructive MODE`, run in `project`
    /// (its dbguard.toml decides where backups and the audit log go).
    pub fn start(project: &Path, url: &str, mode: &str) -> Proxy {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(env!("CARGO_BIN_EXE_dbguard"))
            .args(["--quiet", "proxy", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--url", url, "--destructive", mode])
            .current_dir(project)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dbguard proxy starts");
        let proxy = Proxy { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "dbguard proxy did not listen");
            sleep(Duration::from_millis(20));
        }
        proxy
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq connection string through the proxy.
    pub fn conninfo(&self, db: &str, user: &str) -> String {
        format!("host=127.0.0.1 port={} dbname={db} user={user}", self.port)
    }

    /// Whether the proxy process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

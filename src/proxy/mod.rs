//! The wire-protocol guard: accepts PostgreSQL client connections on loopback or a unix
//! socket and relays them to the target server, asking the guard about every statement on
//! the way (see `session` for the relay, `statement` for the guard's flow).

mod bind;
mod confirm;
mod precheck;
mod protect;
mod session;
mod socket;
mod statement;
mod tls;
mod upstream;
mod wire;

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use confirm::available as terminal_available;
pub use wire::{SQLSTATE_DECLINED, SQLSTATE_REFUSED};

use crate::error::{Error, Result};
use crate::guard::statement::Destructive;
use crate::target::Target;
use socket::Socket;

/// What every session of one proxy shares.
pub struct Shared {
    /// The server to relay to (host, port, sslmode) and the credentials dbguard itself uses
    /// to weigh and protect.
    pub target: Target,
    pub mode: Destructive,
    /// A person at the terminal answers confirmations (`dbguard psql`).
    pub interactive: bool,
    /// Backups, snapshots and the guard's counting settings (`undo::protect`).
    pub protect: crate::undo::Settings,
    pub audit_path: PathBuf,
    /// `proxy` or `psql`, for the audit log.
    pub tool: &'static str,
}

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// A TCP listener on a loopback address only: the proxy speaks plain text to its clients.
    pub fn tcp(address: &str) -> Result<Listener> {
        let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(address)
            .map_err(|e| {
                Error::usage(format!("invalid listen address `{address}`: {e}"))
                    .with_help("use HOST:PORT on this machine, e.g. 127.0.0.1:6432")
            })?
            .collect();
        let Some(addr) = addrs.iter().find(|a| a.ip().is_loopback()) else {
            return Err(Error::usage(format!(
                "`{address}` is not a loopback address; dbguard proxy listens on this machine only"
            ))
            .with_help("use 127.0.0.1:PORT, [::1]:PORT or --socket DIR"));
        };
        TcpListener::bind(addr)
            .map(Listener::Tcp)
            .map_err(|e| Error::usage(format!("cannot listen on {addr}: {e}")))
    }

    /// A unix socket `DIR/.s.PGSQL.PORT` (where libpq looks for `host=DIR port=PORT`). The
    /// directory is created 0700, or must already be private to this user.
    pub fn unix(dir: &Path, port: u16) -> Result<Listener> {
        if dir.exists() {
            let meta = std::fs::metadata(dir)
                .map_err(|e| Error::usage(format!("cannot read {}: {e}", dir.display())))?;
            // SAFETY: geteuid has no preconditions.
            let uid = unsafe { libc::geteuid() };
            if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
                return Err(Error::usage(format!(
                    "{} must be a directory of yours that only you can use (mode 0700)",
                    dir.display()
                ))
                .with_help(format!("chmod 700 {}", dir.display())));
            }
        } else {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let path = dir.join(format!(".s.PGSQL.{port}"));
        if path.exists() {
            // A socket nobody answers on is left over from a proxy that died; a live one is not ours.
            if std::os::unix::net::UnixStream::connect(&path).is_ok() {
                return Err(Error::usage(format!("{} is in use", path.display())));
            }
            let _ = std::fs::remove_file(&path);
        }
        UnixListener::bind(&path)
            .map(|l| Listener::Unix(l, path.clone()))
            .map_err(|e| Error::usage(format!("cannot listen on {}: {e}", path.display())))
    }

    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".into()),
            Listener::Unix(_, path) => path.display().to_string(),
        }
    }

    /// The unix socket file, removed when the proxy stops.
    pub fn socket_path(&self) -> Option<&Path> {
        match self {
            Listener::Unix(_, path) => Some(path),
            Listener::Tcp(_) => None,
        }
    }

    fn accept(&self) -> std::io::Result<Socket> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Socket::Tcp(s)),
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Socket::Unix(s)),
        }
    }
}

/// Accepts connections forever, one thread per client session.
pub fn serve(listener: &Listener, shared: Arc<Shared>) -> ! {
    loop {
        match listener.accept() {
            Ok(client) => {
                let shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("dbguard-proxy".into())
                    // The analysis recurses over nested SQL: room to do so, touched only when used.
                    .stack_size(8 << 20)
                    .spawn(move || session::handle(client, shared));
                if let Err(e) = spawned {
                    eprintln!("dbguard proxy: cannot start a session: {e}");
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: wait, and keep serving.
                eprintln!("dbguard proxy: accept failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }
}

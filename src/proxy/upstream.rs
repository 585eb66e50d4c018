//! The connection to the real server: TCP or unix socket as the target says, with TLS when
//! its `sslmode` asks for it (negotiated with SSLRequest, as libpq does), split into a reading
//! and a writing half for the two relay directions.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::socket::Socket;
use super::tls;
use super::wire::SSL_REQUEST;
use crate::target::Target;

pub type Reader = Box<dyn Read + Send>;
pub type Writer = Box<dyn Write + Send>;

/// A connected server, before the startup message.
pub enum Upstream {
    Plain(Socket),
    Tls(tls::Stream),
}

impl Upstream {
    /// The two halves; `closer` ends both (from either relay direction).
    pub fn split(self) -> io::Result<(Reader, Writer, Socket)> {
        match self {
            Upstream::Plain(s) => {
                let read = s.try_clone()?;
                let closer = s.try_clone()?;
                Ok((Box::new(read), Box::new(s), closer))
            }
            Upstream::Tls(s) => s.split(),
        }
    }
}

impl Read for Upstream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Upstream::Plain(s) => s.read(buf),
            Upstream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Upstream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Upstream::Plain(s) => s.write(buf),
            Upstream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Upstream::Plain(s) => s.flush(),
            Upstream::Tls(s) => s.flush(),
        }
    }
}

/// What the target's `sslmode` asks of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// `allow`, `prefer`: TLS when the server offers it.
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn of(target: &Target) -> Result<SslMode, String> {
        Ok(match target.params.get("sslmode").map(String::as_str) {
            None | Some("prefer") | Some("allow") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => return Err(format!("unknown sslmode `{other}`")),
        })
    }
}

/// Opens a connection to the target's server (TLS negotiated, no startup message yet).
pub fn connect(target: &Target) -> Result<Upstream, String> {
    let host = target.effective_host();
    let port = target.effective_port();
    let timeout = Duration::from_secs(
        target
            .params
            .get("connect_timeout")
            .and_then(|t| t.parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(10),
    );
    let socket = if host.starts_with('/') {
        let path = format!("{host}/.s.PGSQL.{port}");
        UnixStream::connect(&path)
            .map(Socket::Unix)
            .map_err(|e| format!("cannot connect to {path}: {e}"))?
    } else {
        let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map_err(|e| format!("cannot resolve {host}: {e}"))?;
        let mut last = format!("{host} has no address");
        let mut found = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    found = Some(s);
                    break;
                }
                Err(e) => last = format!("cannot connect to {host}:{port}: {e}"),
            }
        }
        Socket::Tcp(found.ok_or(last)?)
    };
    socket.tune();
    // Unix sockets never use TLS (libpq does the same).
    let mode = if host.starts_with('/') {
        SslMode::Disable
    } else {
        SslMode::of(target)?
    };
    negotiate(socket, mode, &host, target)
}

fn negotiate(
    mut socket: Socket,
    mode: SslMode,
    host: &str,
    target: &Target,
) -> Result<Upstream, String> {
    if mode == SslMode::Disable {
        return Ok(Upstream::Plain(socket));
    }
    let mut request = 8u32.to_be_bytes().to_vec();
    request.extend_from_slice(&SSL_REQUEST.to_be_bytes());
    let mut answer = [0u8; 1];
    socket
        .write_all(&request)
        .and_then(|_| socket.read_exact(&mut answer))
        .map_err(|e| format!("the server closed the connection during TLS negotiation: {e}"))?;
    match answer[0] {
        b'S' => tls::handshake(socket, mode, host, target).map(Upstream::Tls),
        b'N' if mode == SslMode::Prefer => Ok(Upstream::Plain(socket)),
        b'N' => Err(format!(
            "the server does not offer TLS, and sslmode={} requires it",
            target
                .params
                .get("sslmode")
                .map_or("require", String::as_str)
        )),
        other => Err(format!(
            "unexpected answer {other:#04x} to the TLS request (not a PostgreSQL server?)"
        )),
    }
}

//! TLS to the server (rustls), with libpq's meaning of `sslmode`: `prefer`/`require`
//! encrypt without checking the certificate (unless a root certificate is given, which
//! `require` then checks like `verify-ca`), `verify-ca` checks the chain, `verify-full` the
//! chain and the host name. Root certificates: `sslrootcert`, else `~/.postgresql/root.crt`.
//!
//! The relay reads and writes from two threads: the TLS state is shared behind a mutex and
//! the socket I/O happens outside it, so a blocked read never stalls a write.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::socket::Socket;
use super::upstream::{Reader, SslMode, Writer};
use crate::target::Target;

struct Shared {
    conn: Mutex<ClientConnection>,
    /// Held while TLS records go out, so records leave in the order they were made.
    out: Mutex<Socket>,
}

pub struct Stream {
    shared: Arc<Shared>,
    input: Socket,
    pending: Vec<u8>,
    pending_start: usize,
}

pub fn handshake(
    mut socket: Socket,
    mode: SslMode,
    host: &str,
    target: &Target,
) -> Result<Stream, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let root = root_certificate(target);
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, &root) {
        (SslMode::Prefer, _) | (SslMode::Require, None) => Arc::new(NoVerify(provider.clone())),
        (_, Some(path)) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert
                    .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("bad certificate in {}: {e}", path.display()))?;
            }
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot use sslrootcert {}: {e}", path.display()))?;
            if mode == SslMode::VerifyFull {
                inner
            } else {
                Arc::new(ChainOnly(inner))
            }
        }
        (_, None) => {
            return Err(
                "sslmode=verify-ca/verify-full needs a root certificate: set sslrootcert, or put it in ~/.postgresql/root.crt"
                    .into(),
            )
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` is not a valid TLS server name: {e}"))?;
    let mut conn = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut socket)
            .map_err(|e| format!("TLS handshake with {host} failed: {e}"))?;
    }
    let input = socket.try_clone().map_err(|e| e.to_string())?;
    Ok(Stream {
        shared: Arc::new(Shared {
            conn: Mutex::new(conn),
            out: Mutex::new(socket),
        }),
        input,
        pending: vec![0; 32 * 1024],
        pending_start: 0,
    })
}

fn root_certificate(target: &Target) -> Option<PathBuf> {
    match target.params.get("sslrootcert") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let home = std::env::var_os("HOME")?;
            let path = PathBuf::from(home).join(".postgresql/root.crt");
            path.is_file().then_some(path)
        }
    }
}

impl Stream {
    pub fn split(self) -> io::Result<(Reader, Writer, Socket)> {
        let closer = self.input.try_clone()?;
        let writer = TlsWriter {
            shared: self.shared.clone(),
        };
        Ok((Box::new(self), Box::new(writer), closer))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends whatever TLS records the connection has queued (called with `conn` locked).
fn send_queued(conn: &mut ClientConnection, out: &Mutex<Socket>) -> io::Result<()> {
    if !conn.wants_write() {
        return Ok(());
    }
    let mut records = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut records)?;
    }
    lock(out).write_all(&records)
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = self.pending_start; // bytes of `pending` not yet given to rustls
        loop {
            {
                let mut conn = lock(&self.shared.conn);
                match conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if filled > 0 {
                    let mut slice = &self.pending[..filled];
                    let used = conn.read_tls(&mut slice)?;
                    self.pending.copy_within(used..filled, 0);
                    filled -= used;
                    self.pending_start = filled;
                    conn.process_new_packets()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    send_queued(&mut conn, &self.shared.out)?;
                    continue;
                }
            }
            let n = self.input.read(&mut self.pending[filled..])?;
            if n == 0 {
                return Ok(0);
            }
            filled += n;
            self.pending_start = filled;
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_plain(&self.shared, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct TlsWriter {
    shared: Arc<Shared>,
}

impl Write for TlsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_plain(&self.shared, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write_plain(shared: &Shared, buf: &[u8]) -> io::Result<usize> {
    let mut conn = lock(&shared.conn);
    conn.writer().write_all(buf)?;
    let mut records = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut records)?;
    }
    // Take the socket before letting go of the connection: records leave in order.
    let mut out = lock(&shared.out);
    drop(conn);
    out.write_all(&records)?;
    Ok(buf.len())
}

/// `sslmode=prefer/require` without a root certificate: encrypted, not authenticated (as
/// libpq). Signatures are still checked, so the handshake itself is sound.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the root certificate; the host name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

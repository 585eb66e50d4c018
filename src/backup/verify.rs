//! Reading a backup back: SHA-256 of the stored bytes, zstd frame checksums while
//! decompressing, and `pg_restore --list` over the decompressed stream.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::Stdio;

use sha2::{Digest, Sha256};

use super::encryption::{decrypt, Identity};
use super::tools::PgTool;
use crate::error::{Error, Exit, Result};

pub fn backup_error(message: impl Into<String>) -> Error {
    Error {
        exit: Exit::Backup,
        message: message.into(),
        help: None,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader that hashes and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    pub bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads what is left (so the digest covers the whole input) and returns the digest.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((hex(&self.hasher.finalize()), self.bytes))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A writer that hashes and counts everything written through it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    pub bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The reading thread; its result is (sha256, bytes read).
type ReaderThread = std::thread::JoinHandle<io::Result<(String, u64)>>;

/// Reads `file` to the end on a thread, hashing it, and hands the bytes over in chunks.
/// The thread's result is the SHA-256 and size of everything in the file.
fn read_and_hash(
    file: std::fs::File,
    progress: super::progress::Progress,
) -> (std::sync::mpsc::Receiver<Vec<u8>>, ReaderThread) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let handle = std::thread::spawn(move || {
        let mut reader = HashingReader::new(file);
        loop {
            let mut chunk = vec![0u8; 1 << 20];
            let n = reader.read(&mut chunk)?;
            progress.set_position(reader.bytes);
            if n == 0 {
                progress.finish_and_clear();
                break;
            }
            chunk.truncate(n);
            if tx.send(chunk).is_err() {
                // The consumer stopped (a corrupt frame): still hash the rest for the report.
                progress.finish_and_clear();
                break;
            }
        }
        reader.finish()
    });
    (rx, handle)
}

/// `Read` over chunks arriving from a channel.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What reading a backup back proved.
#[derive(Clone, Debug)]
pub struct Verified {
    pub sha256: String,
    pub size_bytes: u64,
    pub uncompressed_bytes: u64,
    pub toc_entries: usize,
    /// `schema.table` of every TABLE DATA entry in the archive.
    pub data_tables: Vec<String>,
    /// The stored bytes are age-encrypted.
    pub encrypted: bool,
    /// Whether the contents were read (decrypted, decompressed, listed), or only the
    /// checksum of the stored bytes; then `unchecked` says why.
    pub contents_checked: bool,
    pub unchecked: Option<String>,
}

impl Verified {
    pub fn how(&self) -> Vec<String> {
        let mut how = vec!["sha256 of the stored file".to_string()];
        if !self.contents_checked {
            how.push(format!(
                "contents not checked: {}",
                self.unchecked.as_deref().unwrap_or("not readable")
            ));
            return how;
        }
        if self.encrypted {
            how.push("age decryption and authentication".to_string());
        }
        how.push("zstd frame checksums".to_string());
        how.push(format!(
            "pg_restore --list: {} archive entries",
            self.toc_entries
        ));
        how
    }
}

/// Only the SHA-256 of the stored bytes: what can be checked of an encrypted backup without
/// its identity. `why` says why the contents were not read.
pub fn verify_checksum(path: &Path, expected: &str, why: &str) -> Result<Verified> {
    let file = std::fs::File::open(path)
        .map_err(|e| backup_error(format!("cannot open {}: {e}", path.display())))?;
    let (sha256, size_bytes) = HashingReader::new(io::BufReader::with_capacity(1 << 20, file))
        .finish()
        .map_err(|e| backup_error(format!("cannot read {}: {e}", path.display())))?;
    check_sha(path, expected, &sha256)?;
    Ok(Verified {
        sha256,
        size_bytes,
        uncompressed_bytes: 0,
        toc_entries: 0,
        data_tables: Vec::new(),
        encrypted: true,
        contents_checked: false,
        unchecked: Some(why.to_string()),
    })
}

fn check_sha(path: &Path, expected: &str, found: &str) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(backup_error(format!(
        "{} does not match its checksum (sha256 {} expected, {} found): the file was changed or damaged",
        path.display(),
        super::catalog::short_sha(expected),
        super::catalog::short_sha(found)
    )))
}

/// Reads `path` completely and proves it is an intact, readable archive. With `expected`,
/// the SHA-256 must match too.
pub fn verify_file(
    path: &Path,
    pg_restore: &PgTool,
    expected: Option<&str>,
    quiet: bool,
) -> Result<Verified> {
    verify_contents(path, pg_restore, expected, None, quiet)
}

/// [`verify_file`] for any backup: with `identity`, the file is age-decrypted first (which
/// also authenticates every 64 KiB chunk).
pub fn verify_contents(
    path: &Path,
    pg_restore: &PgTool,
    expected: Option<&str>,
    identity: Option<&Identity>,
    quiet: bool,
) -> Result<Verified> {
    let file = std::fs::File::open(path)
        .map_err(|e| backup_error(format!("cannot open {}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).ok();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let progress = super::progress::estimated(&format!("verifying {name}"), size, quiet);
    // Reading and hashing run on their own thread, decompression (and decryption) on this
    // one, pg_restore in its own process: the read-back costs about the time of the slowest.
    let (chunks, reader_thread) = read_and_hash(file, progress);
    let stream = ChannelReader {
        rx: chunks,
        current: Vec::new(),
        pos: 0,
    };
    let mut stream: Box<dyn Read> = match identity {
        Some(identity) => decrypt(stream, identity)?,
        None => Box::new(stream),
    };
    let mut child = pg_restore
        .command(None)?
        .arg("--list")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| backup_error(format!("cannot run {}: {e}", pg_restore.describe())))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut uncompressed = 0u64;
    let decode_result = (|| -> io::Result<()> {
        let mut decoder = zstd::stream::read::Decoder::new(&mut stream)?;
        let mut stdin = child.stdin.take();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = decoder.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            uncompressed += n as u64;
            let Some(pipe) = stdin.as_mut() else {
                continue;
            };
            if let Err(e) = pipe.write_all(&buf[..n]) {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    return Err(e);
                }
                // pg_restore stopped reading: `--list` needs only the table of contents at
                // the start (and on an error, its exit status says why). Decoding goes on to
                // the end, so every zstd frame checksum (and age chunk) is checked and the
                // uncompressed size is the whole dump's.
                stdin = None;
            }
        }
    })();
    // Dropping the stream tells the reader thread to stop early on failure.
    drop(stream);
    let read = reader_thread
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("reader thread failed")));
    if let Err(e) = decode_result {
        let _ = child.kill();
        let _ = child.wait();
        return Err(backup_error(format!("{} is corrupt: {e}", path.display())));
    }
    let status = child
        .wait()
        .map_err(|e| backup_error(format!("pg_restore --list failed: {e}")))?;
    let listing = out_thread.join().unwrap_or_default();
    let errors = err_thread.join().unwrap_or_default();
    if !status.success() {
        return Err(backup_error(format!(
            "{} is not a readable archive: pg_restore --list: {}",
            path.display(),
            errors.trim()
        )));
    }
    let (sha256, size_bytes) =
        read.map_err(|e| backup_error(format!("cannot read {}: {e}", path.display())))?;
    if let Some(expected) = expected {
        check_sha(path, expected, &sha256)?;
    }
    let entries: Vec<&str> = listing
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .collect();
    let data_tables = entries
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find(" TABLE DATA ")? + " TABLE DATA ".len()..];
            let mut words = rest.split_whitespace();
            Some(format!("{}.{}", words.next()?, words.next()?))
        })
        .collect();
    Ok(Verified {
        sha256,
        size_bytes,
        uncompressed_bytes: uncompressed,
        toc_entries: entries.len(),
        data_tables,
        encrypted: identity.is_some(),
        contents_checked: true,
        unchecked: None,
    })
}

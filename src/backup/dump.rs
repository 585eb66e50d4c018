//! Taking a backup: `pg_dump -Fc -Z0` → zstd (on its own thread) → SHA-256 → temporary file,
//! row counts from the same snapshot, read back and verified, then renamed into place with
//! its sidecar under the database lock, and retention applied.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Utc;

use super::catalog::{self, Backup, BackupKind, Metadata, TableCount, TEMP_PREFIX};
use super::encryption::{Encryption, IdentityLookup, Sink};
use super::fsutil;
use super::retention;
use super::settings::Settings;
use super::tools::{self, PgTool};
use super::verify::{self, backup_error, HashingWriter};
use crate::error::Result;
use crate::target::{mask_secrets, Target};

/// What to back up and why.
pub struct Request<'a> {
    pub target: &'a Target,
    /// Why it is taken (recorded in the sidecar, shown by `dbguard backups`).
    pub kind: BackupKind,
    pub reason: Option<String>,
    pub quiet: bool,
    /// Backups retention must not remove (e.g. the one a restore is about to read).
    pub protected: Vec<PathBuf>,
}

/// Facts about the server, read before dumping.
pub struct ServerInfo {
    pub version: String,
    pub major: u32,
    pub cluster_id: Option<String>,
}

pub fn server_info(client: &mut postgres::Client) -> Result<ServerInfo> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
            &[],
        )
        .map_err(|e| backup_error(format!("cannot read the server version: {e}")))?;
    let version: String = row.get(0);
    let num: i32 = row.get(1);
    // Superusers and pg_monitor members can read it; others plan without it.
    let cluster_id = client
        .query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .ok()
        .map(|r| r.get::<_, String>(0));
    Ok(ServerInfo {
        version,
        major: (num / 10000) as u32,
        cluster_id,
    })
}

/// A temporary file removed on drop unless it was renamed into place. Holding its lock tells
/// other runs it is alive.
pub(crate) struct TempFile {
    pub(crate) path: PathBuf,
    pub(crate) file: Option<std::fs::File>,
    pub(crate) keep: bool,
}

/// Makes a finished temporary dump a backup: renames it to `path`, then writes its sidecar
/// atomically (without a sidecar it is no backup, so a failed write removes the dump again),
/// then syncs the directory. Call under the database lock.
pub(crate) fn publish(
    temp: &mut TempFile,
    path: &std::path::Path,
    metadata: &impl serde::Serialize,
    what: &str,
) -> Result<()> {
    std::fs::rename(&temp.path, path)
        .map_err(|e| backup_error(format!("cannot move the {what} into place: {e}")))?;
    temp.keep = true;
    let json = serde_json::to_vec_pretty(metadata).expect("metadata serializes");
    if let Err(e) = fsutil::write_atomic(&catalog::sidecar_path(path), &json) {
        let _ = std::fs::remove_file(path);
        return Err(backup_error(format!(
            "cannot write the backup's metadata: {e}"
        )));
    }
    if let Some(dir) = path.parent() {
        let _ = fsutil::sync_dir(dir);
    }
    Ok(())
}

impl TempFile {
    /// A new private temporary file in `db_dir` for the backup `name`, locked.
    pub(crate) fn create(db_dir: &std::path::Path, name: &str) -> Result<TempFile> {
        // Created under the lock so a concurrent stale-file sweep never takes it for dead.
        let _lock = retention::lock(db_dir)
            .map_err(|e| backup_error(format!("cannot lock {}: {e}", db_dir.display())))?;
        let path = db_dir.join(format!(
            "{TEMP_PREFIX}{}-{}-{name}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or(0),
        ));
        let file = fsutil::create_private_file(&path)
            .map_err(|e| backup_error(format!("cannot create {}: {e}", path.display())))?;
        file.try_lock()
            .map_err(|e| backup_error(format!("cannot lock {}: {e}", path.display())))?;
        Ok(TempFile {
            path,
            file: Some(file),
            keep: false,
        })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file.take();
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Set when SIGINT/SIGTERM arrives during a backup, so the partial file is removed and the
/// run ends with exit code 4 instead of dying mid-write.
struct Interrupts {
    flag: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Interrupts {
    fn install() -> Interrupts {
        let flag = Arc::new(AtomicBool::new(false));
        let ids = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
            .iter()
            .filter_map(|sig| signal_hook::flag::register(*sig, flag.clone()).ok())
            .collect();
        Interrupts { flag, ids }
    }

    fn happened(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Takes, verifies and records one backup of `request.target`.
pub fn take(settings: &Settings, request: &Request) -> Result<Backup> {
    let target = request.target;
    let database = target.effective_dbname();
    let started_at = Utc::now();
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    let server = server_info(&mut client)?;
    let pg_dump = tools::find_in(&settings.clients, "pg_dump", server.major)?;
    let pg_restore = tools::find_in(&settings.clients, "pg_restore", server.major)?;

    let db_dir = settings.database_dir(&database);
    fsutil::create_private_dir(&settings.dir)
        .and_then(|_| fsutil::create_private_dir(&db_dir))
        .map_err(|e| {
            backup_error(format!(
                "cannot create backup directory {}: {e}",
                db_dir.display()
            ))
        })?;

    // The progress bar's total.
    let estimate = estimate_bytes(&mut client, &db_dir);
    let encryption = settings.encryption.as_ref();
    let provisional = catalog::file_name_for(&database, started_at, 0, encryption.is_some());
    let mut temp = TempFile::create(&db_dir, &provisional)?;

    // Row counts come from the very snapshot pg_dump reads, so they validate a restore exactly.
    let mut snapshot_tx = client
        .transaction()
        .map_err(|e| backup_error(format!("cannot start a snapshot transaction: {e}")))?;
    snapshot_tx
        .batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .map_err(|e| backup_error(format!("cannot start a snapshot transaction: {e}")))?;
    let snapshot: String = snapshot_tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .map_err(|e| backup_error(format!("cannot export a snapshot: {e}")))?
        .get(0);

    // Counting runs on a second connection that imports the same snapshot, in parallel with
    // the dump; the exporting transaction stays open until both are done.
    let counter = {
        let (target, snapshot) = (target.clone(), snapshot.clone());
        std::thread::spawn(move || count_rows(&target, &snapshot))
    };
    let interrupts = Interrupts::install();
    let file = temp
        .file
        .as_ref()
        .expect("open")
        .try_clone()
        .map_err(|e| backup_error(e.to_string()))?;
    let dumped = dump_to(
        file,
        &pg_dump,
        target,
        &snapshot,
        settings.level,
        encryption,
        &database,
        estimate,
        request.quiet,
        &interrupts,
    );
    let tables = counter
        .join()
        .unwrap_or_else(|_| Err(backup_error("counting rows failed")));
    let _ = snapshot_tx.commit();
    let (sha256, size_bytes, uncompressed) = dumped?;
    let tables = tables?;

    let verified = read_back(&temp.path, &pg_restore, &sha256, encryption, request.quiet)?;
    let finished_at = Utc::now();

    let _lock = retention::lock(&db_dir)
        .map_err(|e| backup_error(format!("cannot lock {}: {e}", db_dir.display())))?;
    let name = (1..)
        .map(|attempt| catalog::file_name_for(&database, started_at, attempt, encryption.is_some()))
        .find(|name| !db_dir.join(name).exists())
        .expect("some name is free");
    let path = db_dir.join(&name);
    let metadata = Metadata {
        format_version: 1,
        name: name.clone(),
        kind: request.kind,
        database: database.clone(),
        host: target.effective_host(),
        port: target.effective_port(),
        user: target.effective_user(),
        cluster_id: server.cluster_id,
        server_version: server.version,
        pg_dump_version: pg_dump.version.clone(),
        started_at,
        finished_at,
        size_bytes,
        // Without the identity the read-back cannot count them; the dump pass did.
        uncompressed_bytes: if verified.contents_checked {
            verified.uncompressed_bytes
        } else {
            uncompressed
        },
        sha256,
        compression: format!("zstd:{}", settings.level),
        format: match encryption {
            Some(_) => "pg_dump custom format (-Fc -Z0), zstd-compressed, age-encrypted",
            None => "pg_dump custom format (-Fc -Z0), zstd-compressed",
        }
        .to_string(),
        verified: true,
        verified_at: Some(finished_at),
        verification: verified.how(),
        reason: request.reason.as_deref().map(mask_secrets),
        dbguard_version: env!("CARGO_PKG_VERSION").to_string(),
        tables,
        encryption: encryption.map(|e| e.info()),
        offsite: None,
        sealed: None,
    };
    publish(&mut temp, &path, &metadata, "backup")?;
    retention::remove_stale_temps(&db_dir);
    let mut protected = request.protected.clone();
    protected.push(path.clone());
    retention::apply(&db_dir, &settings.policy, &protected);
    Ok(Backup { path, metadata })
}

/// Reads a new backup back. An encrypted one is fully checked when the identity is at hand;
/// otherwise only its checksum can be, and the record says so.
fn read_back(
    path: &std::path::Path,
    pg_restore: &PgTool,
    sha256: &str,
    encryption: Option<&Encryption>,
    quiet: bool,
) -> Result<verify::Verified> {
    let Some(encryption) = encryption else {
        return verify::verify_file(path, pg_restore, Some(sha256), quiet);
    };
    match encryption.identity()? {
        IdentityLookup::Loaded(identity) => {
            verify::verify_contents(path, pg_restore, Some(sha256), Some(&identity), quiet)
        }
        IdentityLookup::NotConfigured => verify::verify_checksum(
            path,
            sha256,
            "age-encrypted and no [encryption] identity_file to decrypt it",
        ),
        IdentityLookup::Missing(file) => verify::verify_checksum(
            path,
            sha256,
            &format!(
                "age-encrypted and the identity_file {} is not on this machine",
                file.display()
            ),
        ),
    }
}

/// Runs pg_dump into `file` through zstd (and age, when encrypting); returns (sha256 and size
/// of the stored bytes, uncompressed bytes).
#[allow(clippy::too_many_arguments)]
fn dump_to(
    file: std::fs::File,
    pg_dump: &PgTool,
    target: &Target,
    snapshot: &str,
    level: i32,
    encryption: Option<&Encryption>,
    database: &str,
    estimate: Option<u64>,
    quiet: bool,
    interrupts: &Interrupts,
) -> Result<(String, u64, u64)> {
    let mut child = pg_dump
        .command(Some(target))?
        .args([
            "--format=custom",
            "--compress=0",
            "--no-password",
            "--snapshot",
            snapshot,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| backup_error(format!("cannot run {}: {e}", pg_dump.describe())))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let progress = super::progress::estimated(&format!("backing up {database}"), estimate, quiet);
    let pumped = (|| -> std::io::Result<(String, u64, u64)> {
        // pg_dump → zstd → age (optional) → SHA-256 of the stored bytes → file.
        let writer = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let sink = Sink::new(writer, encryption)?;
        let mut encoder = zstd::stream::write::Encoder::new(sink, level)?;
        encoder.include_checksum(true)?;
        // Compress on a worker thread so pg_dump and zstd use both cores.
        encoder.multithread(1)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut uncompressed = 0u64;
        loop {
            if interrupts.happened() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "interrupted",
                ));
            }
            let n = match stdout.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            encoder.write_all(&buf[..n])?;
            uncompressed += n as u64;
            progress.set_position(uncompressed);
        }
        let writer = encoder.finish()?.finish()?;
        let (buffered, sha256, size) = writer.finish();
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok((sha256, size, uncompressed))
    })();
    progress.finish_and_clear();
    if pumped.is_err() {
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| backup_error(format!("pg_dump failed: {e}")))?;
    let errors = mask_secrets(err_thread.join().unwrap_or_default().trim());
    if interrupts.happened() {
        return Err(backup_error(
            "backup interrupted; the partial file was removed",
        ));
    }
    // Our own write failing (disk full) is the cause; pg_dump then died because we killed it.
    let (sha256, size, uncompressed) =
        pumped.map_err(|e| backup_error(format!("cannot write the backup: {e}")))?;
    if !status.success() {
        let why = if errors.is_empty() {
            format!("pg_dump exited with {status}")
        } else {
            errors
        };
        return Err(backup_error(format!("pg_dump failed: {why}")));
    }
    Ok((sha256, size, uncompressed))
}

/// About how many bytes pg_dump will write: what the previous backup of the database took
/// uncompressed, else the tables' size as the catalog last recorded it (`relpages`, which
/// needs no lock: a size function would wait behind a table someone holds locked). `None`
/// when neither is known, so the progress shows a spinner instead of a wrong bar.
fn estimate_bytes(client: &mut postgres::Client, db_dir: &std::path::Path) -> Option<u64> {
    if let Some(previous) = catalog::list_dir(db_dir).first() {
        return Some(previous.metadata.uncompressed_bytes).filter(|n| *n > 0);
    }
    let row = client
        .query_one(
            "SELECT (coalesce(sum(c.relpages + coalesce(t.relpages, 0)), 0) \
             * current_setting('block_size')::bigint)::bigint FROM pg_class c \
             LEFT JOIN pg_class t ON t.oid = c.reltoastrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            &[],
        )
        .ok()?;
    let bytes: i64 = row.get(0);
    (bytes > 0).then_some(bytes as u64)
}

/// Exact row counts of every ordinary table, in the dump's snapshot.
fn count_rows(target: &Target, snapshot: &str) -> Result<Vec<TableCount>> {
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    let mut tx = client
        .transaction()
        .map_err(|e| backup_error(format!("cannot count rows: {e}")))?;
    let literal = snapshot.replace('\'', "''");
    tx.batch_execute(&format!(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '{literal}'"
    ))
    .map_err(|e| backup_error(format!("cannot import the dump's snapshot: {e}")))?;
    let tables = tx
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1, 2",
            &[],
        )
        .map_err(|e| backup_error(format!("cannot list tables: {e}")))?;
    let mut counts = Vec::with_capacity(tables.len());
    for row in tables {
        let (schema, name): (String, String) = (row.get(0), row.get(1));
        let sql = format!(
            "SELECT count(*) FROM {}.{}",
            quote_ident(&schema),
            quote_ident(&name)
        );
        let rows: i64 = tx
            .query_one(&sql, &[])
            .map_err(|e| backup_error(format!("cannot count rows of {schema}.{name}: {e}")))?
            .get(0);
        counts.push(TableCount { schema, name, rows });
    }
    Ok(counts)
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The newest verified backup of `database` under `dir`, if any.
pub fn latest(settings: &Settings, database: &str) -> Option<Backup> {
    catalog::list_dir(&settings.database_dir(database))
        .into_iter()
        .next()
}

//! Restoring a backup all-or-nothing: verify it first, take a safety backup of the target,
//! run `pg_restore --clean --if-exists --single-transaction` from the decompressed stream (a
//! failure rolls everything back), then compare row counts with the sidecar.

use std::io::Read;
use std::process::Stdio;

use super::catalog::Backup;
use super::dump::{self, quote_ident, Request};
use super::encryption;
use super::settings::Settings;
use super::tools;
use super::verify::{self, backup_error};
use crate::error::Result;
use crate::target::{mask_secrets, Target};

pub struct Options {
    pub safety_backup: bool,
    pub quiet: bool,
}

/// A table whose row count after the restore differs from the backup's.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Difference {
    pub table: String,
    pub expected: i64,
    /// `None` when the table is missing after the restore.
    pub found: Option<i64>,
}

pub struct Restored {
    pub safety_backup: Option<Backup>,
    pub differences: Vec<Difference>,
}

/// Checks the backup's checksum and archive without touching any database.
/// Encrypted backups are decrypted with the identity of `settings`' `[encryption]`, and
/// without one they are refused (before anything is changed).
pub fn check(
    settings: &Settings,
    backup: &Backup,
    target: &Target,
    quiet: bool,
) -> Result<verify::Verified> {
    let encryption = settings.encryption.as_ref();
    let identity = if backup.metadata.encrypted() {
        Some(encryption::require_identity(
            encryption,
            &format!("restoring the encrypted backup {}", backup.name()),
        )?)
    } else {
        None
    };
    let major = match target.connect() {
        Ok(mut client) => dump::server_info(&mut client)?.major,
        Err(_) => 0,
    };
    let pg_restore = tools::find_in(&settings.clients, "pg_restore", major)?;
    verify::verify_contents(
        &backup.path,
        &pg_restore,
        Some(&backup.metadata.sha256),
        identity.as_ref(),
        quiet,
    )
}

/// Restores `backup`, which `check` has verified (`_verified` is that proof: a corrupt file
/// never reaches the database). A damaged read during the restore still rolls back.
pub fn restore(
    settings: &Settings,
    backup: &Backup,
    _verified: &verify::Verified,
    target: &Target,
    options: &Options,
) -> Result<Restored> {
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    let server = dump::server_info(&mut client)?;
    let pg_restore = tools::find_in(&settings.clients, "pg_restore", server.major)?;
    if pg_restore.exec.is_some() {
        same_server(settings, target, &mut client, server.major)?;
    }
    // Loaded before the safety backup: without the key nothing may change.
    let identity = if backup.metadata.encrypted() {
        Some(encryption::require_identity(
            settings.encryption.as_ref(),
            &format!("restoring the encrypted backup {}", backup.name()),
        )?)
    } else {
        None
    };

    let safety_backup = if options.safety_backup {
        let reason = format!("safety backup before restoring {}", backup.metadata.name);
        let request = Request {
            target,
            kind: super::catalog::BackupKind::Safety,
            reason: Some(reason),
            quiet: options.quiet,
            protected: vec![backup.path.clone()],
        };
        Some(dump::take(settings, &request).map_err(|e| {
            backup_error(format!(
                "safety backup failed, nothing was restored: {}",
                e.message
            ))
        })?)
    } else {
        None
    };
    let unchanged = |why: String| {
        let safety = match &safety_backup {
            Some(b) => format!(" The safety backup is {}.", b.path.display()),
            None => String::new(),
        };
        backup_error(format!("restore failed, the database is unchanged (the restore runs in one transaction): {why}.{safety}"))
    };

    let mut child = pg_restore
        .command(Some(target))?
        .args([
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| backup_error(format!("cannot run {}: {e}", pg_restore.describe())))?;
    let mut stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // The sidecar knows exactly how much pg_restore will read.
    let total = Some(backup.metadata.uncompressed_bytes).filter(|n| *n > 0);
    let progress = super::progress::estimated(
        &format!("restoring {}", target.effective_dbname()),
        total,
        options.quiet,
    );
    let fed = (|| -> std::io::Result<()> {
        let file = std::fs::File::open(&backup.path)?;
        let source: Box<dyn Read> = match &identity {
            Some(identity) => encryption::decrypt(std::io::BufReader::new(file), identity)
                .map_err(|e| std::io::Error::other(e.message))?,
            None => Box::new(file),
        };
        let mut decoder = zstd::stream::read::Decoder::new(source)?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut buf = vec![0u8; 1 << 20];
        let mut fed = 0u64;
        loop {
            let n = decoder.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            match std::io::Write::write_all(&mut stdin, &buf[..n]) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                other => other?,
            }
            fed += n as u64;
            progress.set_position(fed);
        }
    })();
    progress.finish_and_clear();
    let status = child.wait().map_err(|e| unchanged(e.to_string()))?;
    let errors = mask_secrets(err_thread.join().unwrap_or_default().trim());
    if let Err(e) = fed {
        return Err(unchanged(format!("cannot read the backup: {e}")));
    }
    if !status.success() {
        return Err(unchanged(format!(
            "pg_restore: {}",
            first_lines(&errors, 6)
        )));
    }

    let mut differences = Vec::new();
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    for table in &backup.metadata.tables {
        let sql = format!(
            "SELECT count(*) FROM {}.{}",
            quote_ident(&table.schema),
            quote_ident(&table.name)
        );
        let found = client.query_one(&sql, &[]).ok().map(|r| r.get::<_, i64>(0));
        if found != Some(table.rows) {
            differences.push(Difference {
                table: format!("{}.{}", table.schema, table.name),
                expected: table.rows,
                found,
            });
        }
    }
    Ok(Restored {
        safety_backup,
        differences,
    })
}

/// In a container, the client programs reach whatever server the container's defaults lead
/// to. Before writing through them, prove it is the target's: the container's psql must be
/// able to import a snapshot exported on the target (only that server knows it), the proof
/// pg_dump gives for every backup.
fn same_server(
    settings: &Settings,
    target: &Target,
    client: &mut postgres::Client,
    major: u32,
) -> Result<()> {
    let psql = tools::find_in(&settings.clients, "psql", major.min(9))?;
    let mut tx = client
        .transaction()
        .map_err(|e| backup_error(format!("cannot start a transaction: {e}")))?;
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .map_err(|e| backup_error(format!("cannot start a transaction: {e}")))?;
    let snapshot: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .map_err(|e| backup_error(format!("cannot export a snapshot: {e}")))?
        .get(0);
    let out = psql
        .command(Some(target))?
        .args([
            "--no-psqlrc",
            "--no-password",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
        ])
        .args(["-c", "BEGIN ISOLATION LEVEL REPEATABLE READ"])
        .arg("-c")
        .arg(format!(
            "SET TRANSACTION SNAPSHOT '{}'",
            snapshot.replace('\'', "''")
        ))
        .args(["-c", "ROLLBACK"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| backup_error(format!("cannot run {}: {e}", psql.describe())))?;
    let _ = tx.commit();
    if out.status.success() {
        return Ok(());
    }
    Err(backup_error(format!(
        "{} does not reach the server of {}: nothing was restored ({})",
        psql.describe(),
        target.masked_url(),
        first_lines(&mask_secrets(String::from_utf8_lossy(&out.stderr).trim()), 2)
    ))
    .with_help("[backup] exec must run in the container of the database being restored; check the service name, or --url"))
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("; ")
}

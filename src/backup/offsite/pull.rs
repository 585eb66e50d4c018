//! Bringing a remote backup back: downloaded into the local catalog exactly like a new
//! backup (temporary file, SHA-256 in the same pass, fsync, rename, sidecar last), after
//! which it is an ordinary local backup and restores through the normal path. A download
//! whose checksum differs from the remote sidecar's is removed and refused.

use super::catalog::RemoteBackup;
use super::retry::with_retries;
use super::settings::OffsiteSettings;
use super::sidecar;
use super::store::{Failure, Store, StoreError, StoreResult};
use crate::backup::catalog::{self, short_sha, Backup, OffsiteRecord};
use crate::backup::dump::TempFile;
use crate::backup::encryption::{self, Identity};
use crate::backup::verify::{backup_error, HashingWriter};
use crate::backup::{fsutil, progress, retention, Settings};
use crate::error::{Error, Exit, Result};

/// A remote backup made local.
pub struct Pulled {
    pub backup: Backup,
    /// `false` when an identical local copy was there already.
    pub downloaded: bool,
}

/// The local copy of `remote`, downloading it unless an identical one is already there.
pub fn pull(
    store: &Store,
    offsite: &OffsiteSettings,
    settings: &Settings,
    remote: &RemoteBackup,
    quiet: bool,
) -> Result<Pulled> {
    let name = remote.name().to_string();
    // Checked before a byte is downloaded: without the right key nothing can be restored.
    let identity = if remote.metadata.encrypted() {
        let identity = encryption::require_identity(
            settings.encryption.as_ref(),
            &format!("restoring the encrypted backup {name}"),
        )?;
        check_recipients(&identity, remote)?;
        Some(identity)
    } else {
        None
    };
    let mut metadata = sidecar::from_remote(&remote.metadata, identity.as_ref())?;
    let db_dir = settings.database_dir(&metadata.database);
    fsutil::create_private_dir(&settings.dir)
        .and_then(|_| fsutil::create_private_dir(&db_dir))
        .map_err(|e| {
            backup_error(format!(
                "cannot create backup directory {}: {e}",
                db_dir.display()
            ))
        })?;
    let path = db_dir.join(&name);
    if let Some(local) = catalog::read(&path) {
        if local.metadata.sha256 == metadata.sha256 {
            return Ok(Pulled {
                backup: local,
                downloaded: false,
            });
        }
        return Err(Error {
            exit: Exit::Backup,
            message: format!(
                "a different local backup is named {name} ({}); not replacing it",
                path.display()
            ),
            help: Some("restore the local one by name, or move it away first".into()),
        });
    }

    let what = format!("downloading {name}");
    let temp = with_retries(offsite, &what, quiet, || {
        download(store, remote, &db_dir, quiet)
    })
    .map_err(|e| {
        let damaged = e.failure == Failure::Other;
        let mut error = e.into_error(&format!("cannot download {name}; nothing was restored"));
        if damaged {
            error.help = Some(
                "this copy cannot be used: restore another one (`dbguard backups --remote` lists them)"
                    .into(),
            );
        }
        error
    })?;
    let mut temp = temp;

    metadata.offsite = Some(OffsiteRecord {
        url: store.url(&remote.dump),
        uploaded_at: remote.uploaded_at,
        verification: vec![format!(
            "downloaded; sha256 {} equals the remote sidecar's",
            short_sha(&metadata.sha256)
        )],
    });
    let _lock = retention::lock(&db_dir)
        .map_err(|e| backup_error(format!("cannot lock {}: {e}", db_dir.display())))?;
    crate::backup::dump::publish(&mut temp, &path, &metadata, "download")?;
    Ok(Pulled {
        backup: Backup { path, metadata },
        downloaded: true,
    })
}

/// One download attempt into a fresh temporary file, checked against the remote sidecar.
fn download(
    store: &Store,
    remote: &RemoteBackup,
    db_dir: &std::path::Path,
    quiet: bool,
) -> StoreResult<TempFile> {
    let m = &remote.metadata;
    let local = |e: String| StoreError::new(Failure::Other, e);
    let mut temp = TempFile::create(db_dir, &m.name).map_err(|e| local(e.message))?;
    let file = temp
        .file
        .take()
        .ok_or_else(|| local("temporary file is closed".into()))?;
    // Keep the lock held through a clone while writing.
    temp.file = Some(file.try_clone().map_err(|e| local(e.to_string()))?);
    let mut writer = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let bar = progress::transfer(&format!("downloading {}", m.name), m.size_bytes, quiet);
    let got = store.download(&remote.dump, &mut writer, &bar);
    bar.finish_and_clear();
    got?;
    let (buffered, sha256, size) = writer.finish();
    let file = buffered.into_inner().map_err(|e| {
        local(format!(
            "cannot write {}: {}",
            temp.path.display(),
            e.error()
        ))
    })?;
    file.sync_all()
        .map_err(|e| local(format!("cannot write {}: {e}", temp.path.display())))?;
    if sha256 != m.sha256 || size != m.size_bytes {
        // Not transient: the store holds damaged bytes, another attempt reads the same.
        return Err(StoreError::new(
            Failure::Other,
            format!(
                "the remote copy is damaged: sha256 {} expected, {} downloaded ({size} of {} bytes)",
                short_sha(&m.sha256),
                short_sha(&sha256),
                m.size_bytes
            ),
        ));
    }
    Ok(temp)
}

fn check_recipients(identity: &Identity, remote: &RemoteBackup) -> Result<()> {
    let theirs = remote
        .metadata
        .encryption
        .as_ref()
        .map(|e| e.recipients.clone())
        .unwrap_or_default();
    if identity.recipients().iter().any(|r| theirs.contains(r)) {
        return Ok(());
    }
    Err(Error {
        exit: Exit::Backup,
        message: format!(
            "{} is encrypted to {}, not to the identity in {} ({}); nothing was restored",
            remote.name(),
            theirs.join(", "),
            identity.path.display(),
            identity.recipients().join(", ")
        ),
        help: Some("set [encryption] identity_file to the key the backup was encrypted to".into()),
    })
}

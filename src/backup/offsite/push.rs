//! Copying one local backup to the bucket: dump first, checked by reading it back, sidecar
//! last with a conditional create, so a remote backup exists only once it is whole. Nothing
//! existing is ever overwritten, and nothing local is ever changed but the offsite record.

use std::io;

use super::catalog::{apply_retention, dump_key, sidecar_key};
use super::record;
use super::retry::with_retries;
use super::settings::OffsiteSettings;
use super::sidecar;
use super::store::{Failure, Store, StoreError, StoreResult};
use crate::backup::catalog::{short_sha, Backup, Metadata, OffsiteRecord};
use crate::backup::progress;
use crate::backup::verify::HashingWriter;
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Uploaded,
    /// The same backup (same SHA-256) was already in the bucket.
    AlreadyThere,
}

pub struct Pushed {
    pub url: String,
    pub outcome: Outcome,
    pub verification: Vec<String>,
    /// Remote backups removed by retention afterwards.
    pub removed: Vec<String>,
}

/// Uploads `backup` (retrying transient failures), records it as offsite in its local
/// sidecar, then applies remote retention.
pub fn push(
    store: &Store,
    settings: &OffsiteSettings,
    backup: &Backup,
    quiet: bool,
) -> Result<Pushed> {
    let m = &backup.metadata;
    let dump = dump_key(store, &m.database, &m.name);
    let url = store.url(&dump);
    let remote_sidecar = sidecar::to_remote(m)?;
    let sidecar_json = serde_json::to_vec_pretty(&remote_sidecar).expect("metadata serializes");
    let what = format!("uploading {}", m.name);
    let (outcome, verification) = with_retries(settings, &what, quiet, || {
        attempt(store, backup, &sidecar_json, quiet)
    })
    .map_err(|e| e.into_error(&format!("cannot copy {} offsite", m.name)))?;

    let record = OffsiteRecord {
        url: url.clone(),
        uploaded_at: chrono::Utc::now(),
        verification: verification.clone(),
    };
    if let Err(e) = record::set(&backup.path, Some(record)) {
        eprintln!(
            "warning: {} is offsite, but recording that in its local sidecar failed: {e}",
            m.name
        );
    }
    let removed = with_retries(settings, "remote retention", quiet, || {
        apply_retention(store, &m.database, &settings.policy, &m.name)
    })
    .unwrap_or_else(|e| {
        eprintln!("warning: remote retention failed: {}", e.message);
        Vec::new()
    });
    if let Some(dir) = backup.path.parent() {
        record::forget(dir, &removed);
    }
    Ok(Pushed {
        url,
        outcome,
        verification,
        removed,
    })
}

/// One attempt, resuming where an earlier one stopped.
fn attempt(
    store: &Store,
    backup: &Backup,
    sidecar_json: &[u8],
    quiet: bool,
) -> StoreResult<(Outcome, Vec<String>)> {
    let m = &backup.metadata;
    let dump = dump_key(store, &m.database, &m.name);
    let sidecar = sidecar_key(store, &m.database, &m.name);

    if let Some(theirs) = store.get_if_exists(&sidecar)? {
        // Already a backup of that name up there: the same one, or a conflict.
        same_backup(store, &sidecar, &theirs, m)?;
        return Ok((
            Outcome::AlreadyThere,
            vec!["already in the store: its sidecar has the same sha256".to_string()],
        ));
    }
    let verification = match store.head(&dump)? {
        // A dump without a sidecar: the remains of an interrupted push. Reuse it only if it is
        // byte for byte this backup; never overwrite it.
        Some(existing) => {
            let same = existing.size == m.size_bytes
                && read_back(store, &dump, m, quiet).is_ok_and(|v| v.is_some());
            if !same {
                return Err(StoreError::new(
                    Failure::Other,
                    format!(
                        "{} exists without a sidecar and differs from the local backup; not overwriting it \
                         (remote retention removes such leftovers after an hour)",
                        store.url(&dump)
                    ),
                ));
            }
            format!(
                "sha256 of the object read back from the store: {}",
                short_sha(&m.sha256)
            )
        }
        None => {
            let bar = progress::transfer(&format!("uploading {}", m.name), m.size_bytes, quiet);
            let uploaded = store.upload(&dump, &backup.path, &m.sha256, &bar);
            bar.finish_and_clear();
            uploaded?;
            match read_back(store, &dump, m, quiet)? {
                Some(how) => how,
                None => {
                    // The store holds something else than was sent. It is ours and no sidecar
                    // points at it, so removing it harms nothing; the next attempt starts over.
                    let _ = store.delete(&dump);
                    return Err(StoreError::new(
                        Failure::Transient,
                        format!(
                            "{} differs from the local backup after the upload",
                            store.url(&dump)
                        ),
                    ));
                }
            }
        }
    };

    match store.put_new(&sidecar, sidecar_json.to_vec()) {
        Ok(()) => {}
        Err(e) if e.failure != Failure::Exists => return Err(e),
        // Another run pushed the same backup meanwhile: checked just below.
        Err(_) => {}
    }
    let stored = store.get(&sidecar)?;
    if stored.as_ref() != sidecar_json {
        same_backup(store, &sidecar, &stored, m)?;
    }
    Ok((
        Outcome::Uploaded,
        vec!["sha256 sent with every part".to_string(), verification],
    ))
}

/// Downloads the object and hashes it: `Some(how)` when it is the backup's exact bytes.
fn read_back(
    store: &Store,
    key: &object_store::path::Path,
    m: &Metadata,
    quiet: bool,
) -> StoreResult<Option<String>> {
    let bar = progress::transfer(&format!("checking {}", m.name), m.size_bytes, quiet);
    let mut hasher = HashingWriter::new(io::sink());
    let got = store.download(key, &mut hasher, &bar);
    bar.finish_and_clear();
    got?;
    let (_, sha256, size) = hasher.finish();
    Ok((sha256 == m.sha256 && size == m.size_bytes).then(|| {
        format!(
            "sha256 of the object read back from the store: {}",
            short_sha(&sha256)
        )
    }))
}

/// Succeeds when the remote sidecar (`body`) describes the same backup (same SHA-256).
fn same_backup(
    store: &Store,
    sidecar: &object_store::path::Path,
    body: &[u8],
    m: &Metadata,
) -> StoreResult<()> {
    let theirs: Option<Metadata> = serde_json::from_slice(body).ok();
    match theirs {
        Some(theirs) if theirs.sha256 == m.sha256 => Ok(()),
        _ => Err(StoreError::new(
            Failure::Other,
            format!(
                "{} already holds a different backup named {}; not overwriting it",
                store.url(sidecar),
                m.name
            ),
        )),
    }
}

//! The sidecar as it is stored in the bucket. It is not secret, yet for an encrypted backup
//! the bucket should reveal no more than sizes and times: host, port, user, cluster id,
//! reason and the table list (names and row counts describe the data) are age-encrypted to
//! the backup's own recipients and emptied in the clear. Restoring needs the identity anyway,
//! and with it they come back. Unencrypted backups keep their sidecar as is: their dump
//! reveals all of it.

use serde::{Deserialize, Serialize};

use crate::backup::catalog::{Metadata, TableCount};
use crate::backup::encryption::{self, Identity};
use crate::error::{Error, Exit, Result};

#[derive(Serialize, Deserialize)]
struct Private {
    host: String,
    port: u16,
    user: String,
    cluster_id: Option<String>,
    reason: Option<String>,
    tables: Vec<TableCount>,
}

/// The remote form of a local sidecar.
pub fn to_remote(local: &Metadata) -> Result<Metadata> {
    let mut remote = local.clone();
    remote.offsite = None;
    let Some(info) = &local.encryption else {
        return Ok(remote);
    };
    let private = Private {
        host: std::mem::take(&mut remote.host),
        port: std::mem::take(&mut remote.port),
        user: std::mem::take(&mut remote.user),
        cluster_id: remote.cluster_id.take(),
        reason: remote.reason.take(),
        tables: std::mem::take(&mut remote.tables),
    };
    let json = serde_json::to_vec(&private).expect("serializes");
    remote.sealed = Some(encryption::seal(&info.recipients, &json)?);
    Ok(remote)
}

/// The local form of a remote sidecar: sealed fields opened with `identity` (required when
/// there are any).
pub fn from_remote(remote: &Metadata, identity: Option<&Identity>) -> Result<Metadata> {
    let mut local = remote.clone();
    let Some(sealed) = local.sealed.take() else {
        return Ok(local);
    };
    let Some(identity) = identity else {
        return Err(Error {
            exit: Exit::Backup,
            message: format!("{} is encrypted and no identity is at hand", remote.name),
            help: Some("set [encryption] identity_file".into()),
        });
    };
    let plain = encryption::unseal(&sealed, identity)?;
    let private: Private = serde_json::from_slice(&plain).map_err(|e| Error {
        exit: Exit::Backup,
        message: format!(
            "the sealed part of {}'s sidecar is unreadable: {e}",
            remote.name
        ),
        help: None,
    })?;
    local.host = private.host;
    local.port = private.port;
    local.user = private.user;
    local.cluster_id = private.cluster_id;
    local.reason = private.reason;
    local.tables = private.tables;
    Ok(local)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::encryption::{generate, load_identity, Info};

    fn metadata() -> Metadata {
        let json = serde_json::json!({
            "format_version": 1, "name": "backup_app_20260101_000000.dump.zst.age",
            "database": "app", "host": "db.internal", "port": 5433, "user": "app",
            "cluster_id": "7", "server_version": "16.4", "pg_dump_version": "16.4",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z",
            "size_bytes": 10, "uncompressed_bytes": 20, "sha256": "ab", "compression": "zstd:3",
            "format": "f", "verified": true, "verified_at": null, "verification": [],
            "reason": "before dropping customers", "dbguard_version": "0.1.0",
            "tables": [{ "schema": "public", "name": "customers", "rows": 42 }]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn private_fields_are_sealed_and_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let (text, public) = generate();
        std::fs::write(dir.path().join("k"), text).unwrap();
        let identity = load_identity(&dir.path().join("k")).unwrap();
        let mut local = metadata();
        local.encryption = Some(Info {
            scheme: "age".into(),
            recipients: vec![public],
        });
        let remote = to_remote(&local).unwrap();
        let json = serde_json::to_string(&remote).unwrap();
        for private in ["customers", "db.internal", "before dropping"] {
            assert!(!json.contains(private), "{private} in {json}");
        }
        assert!(from_remote(&remote, None).is_err());
        assert_eq!(from_remote(&remote, Some(&identity)).unwrap(), local);
    }

    #[test]
    fn unencrypted_sidecars_go_up_as_they_are() {
        let local = metadata();
        assert_eq!(to_remote(&local).unwrap(), local);
        assert_eq!(from_remote(&local, None).unwrap(), local);
    }
}

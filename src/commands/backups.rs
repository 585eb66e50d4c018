//! `dbguard backups`: the catalog as a table or JSON.

use chrono::{DateTime, Local, Utc};

use super::Context;
use crate::backup::catalog::{self, short_sha, Backup};
use crate::backup::offsite::{self, catalog::RemoteBackup, Store};
use crate::backup::{retention, Settings};
use crate::cli::BackupsArgs;
use crate::error::{Exit, Result};

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

pub fn human_age(at: DateTime<Utc>) -> String {
    let secs = (Utc::now() - at).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86400 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86400),
    }
}

/// The JSON shape of one backup in `backups --json` and `backup --json`.
pub fn entry(b: &Backup) -> serde_json::Value {
    let m = &b.metadata;
    serde_json::json!({
        "name": m.name,
        "kind": m.kind,
        "path": b.path,
        "database": m.database,
        "host": m.host,
        "port": m.port,
        "created_at": m.finished_at,
        "size_bytes": m.size_bytes,
        "uncompressed_bytes": m.uncompressed_bytes,
        "sha256": m.sha256,
        "verified": m.verified,
        "reason": m.reason,
        "tables": m.tables.len(),
        "encrypted": m.encrypted(),
        "recipients": m.encryption.as_ref().map(|e| &e.recipients),
        "verification": m.verification,
        "offsite": m.offsite,
    })
}

pub fn run(context: &Context, args: BackupsArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    if args.remote {
        return remote(context, &settings, &args);
    }
    let mut backups = catalog::list_all(&settings.dir);
    // Snapshots (kind `snapshot`, for `dbguard undo`) are listed with the backups.
    backups.extend(
        crate::undo::store::list_all(&settings)
            .iter()
            .map(crate::undo::snapshot::Snapshot::backup),
    );
    backups.sort_by_key(|b| std::cmp::Reverse(b.metadata.finished_at));
    if let Some(db) = &args.database {
        backups.retain(|b| &b.metadata.database == db);
    }
    let undo_keep = crate::guard::settings::GuardSettings::from_config(&context.config)?.undo_keep;
    let kept_by = kept_by(&settings, &backups, undo_keep);
    let offsite_configured = context.config.config.offsite.is_some();
    super::write_stdout(|out| {
        if args.json {
            let list: Vec<_> = backups
                .iter()
                .zip(&kept_by)
                .map(|(b, why)| {
                    let mut e = entry(b);
                    e["kept_by"] = serde_json::json!(why);
                    e
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            return writeln!(out);
        }
        if backups.is_empty() {
            if !context.quiet {
                writeln!(
                    out,
                    "no backups in {} (take one with `dbguard backup`)",
                    settings.dir.display()
                )?;
            }
            return Ok(());
        }
        let mut header: Vec<String> = [
            "NAME", "KIND", "DATABASE", "CREATED", "SIZE", "VERIFIED", "SHA256", "KEPT BY",
        ]
        .map(String::from)
        .to_vec();
        if offsite_configured {
            header.push("OFFSITE".into());
        }
        let rows: Vec<Vec<String>> = backups
            .iter()
            .zip(&kept_by)
            .map(|(b, why)| {
                let m = &b.metadata;
                let mut row = vec![
                    m.name.clone(),
                    m.kind.to_string(),
                    m.database.clone(),
                    created(m.finished_at),
                    human_bytes(m.size_bytes),
                    if m.verified {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                    short_sha(&m.sha256).to_string(),
                    kept_text(why),
                ];
                if offsite_configured {
                    row.push(if m.offsite.is_some() { "yes" } else { "no" }.into());
                }
                row
            })
            .collect();
        print_table(out, &header, &rows)
    })?;
    Ok(Exit::Ok)
}

/// Why retention keeps each of `backups` (listed from the catalog, newest first), by the
/// rules of its database's directory; snapshots are kept by `[undo] keep` instead.
fn kept_by(settings: &Settings, backups: &[Backup], undo_keep: usize) -> Vec<Vec<String>> {
    let mut plans: std::collections::HashMap<String, Vec<(std::path::PathBuf, Vec<String>)>> =
        Default::default();
    let mut snapshots_seen: std::collections::HashMap<String, usize> = Default::default();
    backups
        .iter()
        .map(|b| {
            if b.metadata.kind == catalog::BackupKind::Snapshot {
                let seen = snapshots_seen
                    .entry(b.metadata.database.clone())
                    .or_default();
                *seen += 1;
                return if *seen <= undo_keep {
                    vec![format!("undo keep {undo_keep}")]
                } else {
                    Vec::new()
                };
            }
            let plan = plans.entry(b.metadata.database.clone()).or_insert_with(|| {
                retention::plan(
                    &settings.database_dir(&b.metadata.database),
                    &settings.policy,
                )
                .into_iter()
                .map(|(b, why)| (b.path, why.iter().map(ToString::to_string).collect()))
                .collect()
            });
            plan.iter()
                .find(|(path, _)| *path == b.path)
                .map(|(_, why)| why.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// `last, daily` — or what happens to a backup no rule keeps.
pub fn kept_text(why: &[String]) -> String {
    if why.is_empty() {
        "nothing (next prune removes it)".into()
    } else {
        why.join(", ")
    }
}

fn created(at: DateTime<Utc>) -> String {
    let local: DateTime<Local> = at.into();
    format!("{} ({})", local.format("%Y-%m-%d %H:%M:%S"), human_age(at))
}

/// Columns padded to their widest cell.
fn print_table(
    out: &mut dyn std::io::Write,
    header: &[String],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .chain([&header.to_vec()])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header.to_vec()).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// `backups --remote`: what the offsite store holds.
fn remote(context: &Context, settings: &Settings, args: &BackupsArgs) -> Result<Exit> {
    let offsite = offsite::require(&context.config)?;
    let store = Store::connect(&offsite)?;
    let listing = offsite::catalog::list(&store, args.database.as_deref())
        .map_err(|e| e.into_error("cannot list the offsite backups"))?;
    let local: Vec<Backup> = catalog::list_all(&settings.dir);
    // Remote retention's reasons, per database (the listing is newest first).
    let mut remote_kept: Vec<Vec<String>> = vec![Vec::new(); listing.backups.len()];
    let mut databases: Vec<&str> = listing
        .backups
        .iter()
        .map(|b| b.metadata.database.as_str())
        .collect();
    databases.sort_unstable();
    databases.dedup();
    for db in databases {
        let indices: Vec<usize> = (0..listing.backups.len())
            .filter(|i| listing.backups[*i].metadata.database == db)
            .collect();
        let times: Vec<_> = indices
            .iter()
            .map(|i| listing.backups[*i].metadata.finished_at)
            .collect();
        for (i, why) in indices.into_iter().zip(offsite.policy.decide(&times)) {
            remote_kept[i] = why.iter().map(ToString::to_string).collect();
        }
    }
    let has_local = |r: &RemoteBackup| {
        local
            .iter()
            .any(|l| l.metadata.name == r.metadata.name && l.metadata.sha256 == r.metadata.sha256)
    };
    super::write_stdout(|out| {
        if args.json {
            let list: Vec<_> = listing
                .backups
                .iter()
                .zip(&remote_kept)
                .map(|(r, why)| {
                    let m = &r.metadata;
                    serde_json::json!({
                        "name": m.name,
                        "url": store.url(&r.dump),
                        "database": m.database,
                        "created_at": m.finished_at,
                        "uploaded_at": r.uploaded_at,
                        "size_bytes": m.size_bytes,
                        "sha256": m.sha256,
                        "verified": m.verified,
                        "encrypted": m.encrypted(),
                        "recipients": m.encryption.as_ref().map(|e| &e.recipients),
                        // Sealed with the backup when it is encrypted.
                        "tables": (m.sealed.is_none()).then_some(m.tables.len()),
                        "local": has_local(r),
                        "kept_by": why,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            return writeln!(out);
        }
        if listing.backups.is_empty() {
            if !context.quiet {
                writeln!(out, "no backups in {}", offsite.url)?;
            }
            return Ok(());
        }
        let header = [
            "NAME",
            "KIND",
            "DATABASE",
            "CREATED",
            "SIZE",
            "ENCRYPTED",
            "LOCAL",
            "SHA256",
            "KEPT BY",
        ]
        .map(String::from)
        .to_vec();
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        let rows: Vec<Vec<String>> = listing
            .backups
            .iter()
            .zip(&remote_kept)
            .map(|(r, why)| {
                let m = &r.metadata;
                vec![
                    m.name.clone(),
                    m.kind.to_string(),
                    m.database.clone(),
                    created(m.finished_at),
                    human_bytes(m.size_bytes),
                    yes_no(m.encrypted()),
                    yes_no(has_local(r)),
                    short_sha(&m.sha256).to_string(),
                    kept_text(why),
                ]
            })
            .collect();
        print_table(out, &header, &rows)
    })?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}

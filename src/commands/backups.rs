//! `dbguard backups`: the catalog as a table or JSON.

use chrono::{DateTime, Local, Utc};

use super::Context;
use crate::backup::catalog::{self, short_sha, Backup};
use crate::backup::Settings;
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
    })
}

pub fn run(context: &Context, args: BackupsArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let mut backups = catalog::list_all(&settings.dir);
    if let Some(db) = &args.database {
        backups.retain(|b| &b.metadata.database == db);
    }
    super::write_stdout(|out| {
        if args.json {
            let list: Vec<_> = backups.iter().map(entry).collect();
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
        let rows: Vec<[String; 6]> = backups
            .iter()
            .map(|b| {
                let m = &b.metadata;
                let local: DateTime<Local> = m.finished_at.into();
                [
                    m.name.clone(),
                    m.database.clone(),
                    format!(
                        "{} ({})",
                        local.format("%Y-%m-%d %H:%M:%S"),
                        human_age(m.finished_at)
                    ),
                    human_bytes(m.size_bytes),
                    if m.verified {
                        "yes".into()
                    } else {
                        "no".into()
                    },
                    short_sha(&m.sha256).to_string(),
                ]
            })
            .collect();
        let header =
            ["NAME", "DATABASE", "CREATED", "SIZE", "VERIFIED", "SHA256"].map(String::from);
        let widths: Vec<usize> = (0..6)
            .map(|i| {
                rows.iter()
                    .chain([&header])
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            writeln!(out, "{}", cells.join("  ").trim_end())?;
        }
        Ok(())
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

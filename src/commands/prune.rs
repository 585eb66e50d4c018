//! `dbguard prune [--dry-run]`: applies the retention policy (`keep`, `keep_daily`,
//! `keep_weekly`, `keep_monthly`, `keep_within`) now, to the local backups and (with
//! [offsite]) to the remote copies, and says what goes and why the rest stays. Each new backup
//! applies it anyway; this is for a changed policy, and for seeing its effect first.

use super::Context;
use crate::backup::offsite::{self, OffsiteSettings, Store};
use crate::backup::{catalog, retention, Settings};
use crate::cli::PruneArgs;
use crate::error::{Exit, Result};

#[derive(serde::Serialize)]
struct Line {
    name: String,
    database: String,
    /// `local` or `offsite`.
    place: &'static str,
    kept_by: Vec<String>,
}

pub fn run(context: &Context, args: PruneArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let mut databases: Vec<String> = catalog::list_all(&settings.dir)
        .into_iter()
        .map(|b| b.metadata.database)
        .collect();
    databases.sort();
    databases.dedup();
    if let Some(db) = &args.database {
        databases.retain(|d| d == db);
    }
    let mut lines = Vec::new();
    for database in &databases {
        let db_dir = settings.database_dir(database);
        // Under the lock: a backup finishing meanwhile is either listed or not yet there.
        let _lock = retention::lock(&db_dir).map_err(|e| {
            crate::backup::verify::backup_error(format!("cannot lock {}: {e}", db_dir.display()))
        })?;
        for (backup, why) in retention::plan(&db_dir, &settings.policy) {
            lines.push(Line {
                name: backup.metadata.name.clone(),
                database: database.clone(),
                place: "local",
                kept_by: why.iter().map(ToString::to_string).collect(),
            });
        }
        if !args.dry_run {
            retention::apply(&db_dir, &settings.policy, &[]);
        }
    }
    let offsite = match args.no_offsite {
        true => None,
        false => OffsiteSettings::from_config(&context.config)?,
    };
    if let Some(offsite) = &offsite {
        prune_remote(offsite, &args, &mut lines)?;
    }

    let gone = lines.iter().filter(|l| l.kept_by.is_empty()).count();
    super::write_stdout(|out| {
        if args.json {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({ "dry_run": args.dry_run, "backups": lines }),
            )?;
            return writeln!(out);
        }
        for line in &lines {
            let place = if line.place == "offsite" {
                " (offsite)"
            } else {
                ""
            };
            if line.kept_by.is_empty() {
                let verb = if args.dry_run {
                    "would remove"
                } else {
                    "removed"
                };
                writeln!(out, "{verb} {}{place}", line.name)?;
            } else if !context.quiet {
                writeln!(
                    out,
                    "keep {}{place}: {}",
                    line.name,
                    line.kept_by.join(", ")
                )?;
            }
        }
        if !context.quiet {
            let policy = settings.policy.describe();
            let remote = offsite
                .as_ref()
                .map(|o| format!("; offsite: {}", o.policy.describe()))
                .unwrap_or_default();
            writeln!(
                out,
                "{gone} of {} backups {} ({policy}{remote}){}",
                lines.len(),
                if args.dry_run {
                    "would be removed"
                } else {
                    "removed"
                },
                if args.dry_run {
                    "; nothing was changed (--dry-run)"
                } else {
                    ""
                }
            )?;
        }
        Ok(())
    })?;
    Ok(Exit::Ok)
}

fn prune_remote(offsite: &OffsiteSettings, args: &PruneArgs, lines: &mut Vec<Line>) -> Result<()> {
    let store = Store::connect(offsite)?;
    let listing = offsite::catalog::list(&store, args.database.as_deref())
        .map_err(|e| e.into_error("cannot list the offsite backups"))?;
    let mut databases: Vec<String> = listing
        .backups
        .iter()
        .map(|b| b.metadata.database.clone())
        .collect();
    databases.sort();
    databases.dedup();
    for database in databases {
        let of_db = offsite::catalog::Listing {
            backups: listing
                .backups
                .iter()
                .filter(|b| b.metadata.database == database)
                .cloned()
                .collect(),
            snapshots: Vec::new(),
            orphans: Vec::new(),
        };
        let times: Vec<_> = of_db
            .backups
            .iter()
            .map(|b| b.metadata.finished_at)
            .collect();
        for (b, why) in of_db.backups.iter().zip(offsite.policy.decide(&times)) {
            lines.push(Line {
                name: b.metadata.name.clone(),
                database: database.clone(),
                place: "offsite",
                kept_by: why.iter().map(ToString::to_string).collect(),
            });
        }
        if !args.dry_run {
            offsite::catalog::apply_retention(&store, &database, &offsite.policy, "")
                .map_err(|e| e.into_error("offsite retention failed"))?;
        }
    }
    Ok(())
}

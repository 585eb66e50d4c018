//! `dbguard status`: are the backups healthy? Exit 1 when a check fails (for cron/monitors).

use chrono::Utc;
use serde::Serialize;

use super::Context;
use crate::backup::offsite::OffsiteSettings;
use crate::backup::{catalog, fsutil, Settings};
use crate::cli::StatusArgs;
use crate::error::{Exit, Result};
use crate::target::ProcessEnv;

#[derive(Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Serialize)]
struct DatabaseStatus {
    database: String,
    target: String,
    backup_dir: String,
    newest: Option<String>,
    kept: usize,
    /// With [offsite]: local backups without a checked offsite copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_offsite: Option<Vec<String>>,
    checks: Vec<Check>,
}

fn median(values: &mut [u64]) -> Option<u64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

pub fn run(context: &Context, args: StatusArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let database = target.effective_dbname();
    let dir = settings.database_dir(&database);
    let backups = catalog::list_dir(&dir);
    let newest = backups.first();
    let mut checks = Vec::new();

    checks.push(match newest {
        Some(b) => Check {
            name: "verified backup",
            ok: true,
            detail: b.metadata.name.clone(),
        },
        None => Check {
            name: "verified backup",
            ok: false,
            detail: format!("none in {} (run `dbguard backup`)", dir.display()),
        },
    });
    if let Some(b) = newest {
        let age = (Utc::now() - b.metadata.finished_at)
            .to_std()
            .unwrap_or_default();
        let ok = age <= settings.max_age;
        let detail = format!(
            "{} old (max_age {})",
            humantime::format_duration(std::time::Duration::from_secs(age.as_secs())),
            settings.max_age_text
        );
        checks.push(Check {
            name: "age",
            ok,
            detail,
        });

        let mut previous: Vec<u64> = backups
            .iter()
            .skip(1)
            .map(|b| b.metadata.size_bytes)
            .collect();
        let size = b.metadata.size_bytes;
        checks.push(match median(&mut previous) {
            // A dump under half the usual size is often of an empty or wrong database.
            Some(median) => Check {
                name: "size",
                ok: size * 2 >= median,
                detail: format!(
                    "{} (median of the previous {}: {})",
                    super::backups::human_bytes(size),
                    previous.len(),
                    super::backups::human_bytes(median)
                ),
            },
            None => Check {
                name: "size",
                ok: true,
                detail: format!(
                    "{} (no earlier backups to compare)",
                    super::backups::human_bytes(size)
                ),
            },
        });
    }
    checks.push(Check {
        name: "count",
        ok: !backups.is_empty(),
        detail: format!("{} verified kept (keep = {})", backups.len(), settings.keep),
    });
    let not_offsite = OffsiteSettings::from_config(&context.config)?.map(|offsite| {
        let missing: Vec<String> = backups
            .iter()
            .filter(|b| b.metadata.offsite.is_none())
            .map(|b| b.metadata.name.clone())
            .collect();
        // What matters is a recent copy off the machine; a newer local backup not yet up
        // (e.g. the safety backup of a restore) is listed, not failed.
        let newest_offsite = backups.iter().find(|b| b.metadata.offsite.is_some());
        let recent = newest_offsite.is_some_and(|b| {
            (Utc::now() - b.metadata.finished_at)
                .to_std()
                .unwrap_or_default()
                <= settings.max_age
        });
        let mut detail = match newest_offsite {
            Some(b) => format!("newest offsite: {}", b.metadata.name),
            None => format!("no local backup has a checked copy in {}", offsite.url),
        };
        if newest_offsite.is_some() && !recent {
            detail.push_str(&format!(" (older than max_age {})", settings.max_age_text));
        }
        if !missing.is_empty() {
            detail.push_str(&format!(
                "; {} of {} not yet offsite: {} (run `dbguard push --all`)",
                missing.len(),
                backups.len(),
                missing.join(", ")
            ));
        }
        checks.push(Check {
            name: "offsite",
            ok: recent,
            detail,
        });
        missing
    });
    let free = fsutil::free_space(if dir.exists() { &dir } else { &settings.dir })
        .or_else(|| fsutil::free_space(std::path::Path::new(".")));
    let needed = newest.map_or(0, |b| b.metadata.size_bytes * 2);
    checks.push(match free {
        Some(free) => Check {
            name: "free space",
            ok: free >= needed,
            detail: format!(
                "{} free in the backup directory (the next backup needs about {})",
                super::backups::human_bytes(free),
                super::backups::human_bytes(needed / 2)
            ),
        },
        None => Check {
            name: "free space",
            ok: false,
            detail: "cannot read the free space of the backup directory".into(),
        },
    });

    let status = DatabaseStatus {
        database: database.clone(),
        target: target.masked_url(),
        backup_dir: dir.display().to_string(),
        newest: newest.map(|b| b.metadata.name.clone()),
        kept: backups.len(),
        not_offsite,
        checks,
    };
    let failed = status.checks.iter().any(|c| !c.ok);
    super::write_stdout(|out| {
        if args.json {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({ "ok": !failed, "databases": [&status] }),
            )?;
            return writeln!(out);
        }
        writeln!(out, "{} ({})", status.database, status.target)?;
        for c in &status.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            writeln!(out, "  {mark} {:<16} {}", c.name, c.detail)?;
        }
        Ok(())
    })?;
    Ok(if failed { Exit::Findings } else { Exit::Ok })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }
}

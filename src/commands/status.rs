//! `dbguard status`: are the backups healthy? Every check that fails is an alert, and any
//! alert makes the exit code 1 (for cron and monitors). `--format json` for scripts,
//! `--format prometheus` for node_exporter's textfile collector.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use super::Context;
use crate::backup::catalog::{Backup, BackupKind};
use crate::backup::offsite::OffsiteSettings;
use crate::backup::{catalog, fsutil, Settings};
use crate::cli::{StatusArgs, StatusFormat};
use crate::error::{Error, Exit, Result};
use crate::schedule::{Cron, Record};
use crate::target::ProcessEnv;

/// How many earlier backups the size is compared with.
const SIZE_WINDOW: usize = 10;
pub const DEFAULT_MISSED_RUNS: u32 = 2;

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
    /// The names of the failed checks.
    alerts: Vec<&'static str>,
    #[serde(skip)]
    metrics: Metrics,
}

#[derive(Default)]
struct Metrics {
    last_success: Option<i64>,
    age_seconds: Option<u64>,
    size_bytes: Option<u64>,
    offsite_last: Option<i64>,
}

/// `[status]` resolved.
struct Thresholds {
    max_age: Duration,
    max_age_text: String,
    min_size: Option<u64>,
    missed_runs: u32,
}

impl Thresholds {
    fn from_config(context: &Context, settings: &Settings) -> Result<Thresholds> {
        let config = &context.config.config.status;
        let (max_age, max_age_text) = match &config.max_age {
            Some(text) => (
                humantime::parse_duration(text).map_err(|e| {
                    Error::usage(format!("[status] max_age = {text:?}: {e}"))
                        .with_help("use a duration like \"36h\" or \"2d\"")
                })?,
                text.clone(),
            ),
            None => {
                // Half a period of slack: a daily backup that runs a little late is no alert.
                let age = settings.max_age.mul_f64(1.5);
                let text = format!(
                    "{} ([backup] max_age {} x 1.5)",
                    humantime::format_duration(Duration::from_secs(age.as_secs())),
                    settings.max_age_text
                );
                (age, text)
            }
        };
        let min_size = match &config.min_size {
            Some(text) => Some(parse_size(text).ok_or_else(|| {
                Error::usage(format!("[status] min_size = {text:?} is not a size"))
                    .with_help("use bytes or a unit: \"500kB\", \"10MiB\", \"1GB\"")
            })?),
            None => None,
        };
        Ok(Thresholds {
            max_age,
            max_age_text,
            min_size,
            missed_runs: config.missed_runs.unwrap_or(DEFAULT_MISSED_RUNS).max(1),
        })
    }
}

/// `10MiB`, `500 kB`, `1GB`, `2048` → bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "kib" => 1024.0,
        "mb" | "m" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" | "g" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor) as u64)
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

fn age_of(b: &Backup) -> Duration {
    (Utc::now() - b.metadata.finished_at)
        .to_std()
        .unwrap_or_default()
}

fn short(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

pub fn run(context: &Context, args: StatusArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let thresholds = Thresholds::from_config(context, &settings)?;
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let database = target.effective_dbname();
    let dir = settings.database_dir(&database);
    let backups = catalog::list_dir(&dir);
    let newest = backups.first();
    let mut checks = Vec::new();
    let mut metrics = Metrics::default();

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
        let age = age_of(b);
        metrics.last_success = Some(b.metadata.finished_at.timestamp());
        metrics.age_seconds = Some(age.as_secs());
        metrics.size_bytes = Some(b.metadata.size_bytes);
        checks.push(Check {
            name: "age",
            ok: age <= thresholds.max_age,
            detail: format!("{} old (max_age {})", short(age), thresholds.max_age_text),
        });
        checks.push(size_check(&backups, thresholds.min_size));
    }
    checks.push(Check {
        name: "count",
        ok: !backups.is_empty(),
        detail: format!(
            "{} verified kept ({})",
            backups.len(),
            settings.policy.describe()
        ),
    });
    if let Some(record) = Record::read(&settings.dir) {
        checks.push(schedule_check(&record, &backups, thresholds.missed_runs));
    }
    let not_offsite = OffsiteSettings::from_config(&context.config)?.map(|offsite| {
        let (check, missing, last) = offsite_check(&offsite, &backups);
        metrics.offsite_last = last;
        checks.push(check);
        missing
    });
    if settings.encryption.is_some() {
        if let Some(b) = newest {
            checks.push(Check {
                name: "encryption",
                ok: b.metadata.encrypted(),
                detail: if b.metadata.encrypted() {
                    "the newest backup is age-encrypted".into()
                } else {
                    format!(
                        "[encryption] is configured but {} is not encrypted (taken before it was set, or by an older dbguard?): run `dbguard backup`",
                        b.metadata.name
                    )
                },
            });
        }
    }
    checks.push(free_space_check(&settings, &dir, newest));

    let alerts: Vec<&'static str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    let status = DatabaseStatus {
        database: database.clone(),
        target: target.masked_url(),
        backup_dir: dir.display().to_string(),
        newest: newest.map(|b| b.metadata.name.clone()),
        kept: backups.len(),
        not_offsite,
        checks,
        alerts,
        metrics,
    };
    let failed = !status.alerts.is_empty();
    let format = match (args.json, args.format) {
        (true, _) => StatusFormat::Json,
        (false, Some(f)) => f,
        (false, None) => StatusFormat::Text,
    };
    super::write_stdout(|out| match format {
        StatusFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({ "ok": !failed, "databases": [&status] }),
            )?;
            writeln!(out)
        }
        StatusFormat::Prometheus => out.write_all(prometheus(&status).as_bytes()),
        StatusFormat::Text => {
            writeln!(out, "{} ({})", status.database, status.target)?;
            for c in &status.checks {
                let mark = if c.ok { "ok  " } else { "FAIL" };
                writeln!(out, "  {mark} {:<16} {}", c.name, c.detail)?;
            }
            Ok(())
        }
    })?;
    Ok(if failed { Exit::Findings } else { Exit::Ok })
}

/// Smaller than `min_size`, or than half the median of the backups before it: often a dump
/// of an empty or wrong database.
fn size_check(backups: &[Backup], min_size: Option<u64>) -> Check {
    let size = backups[0].metadata.size_bytes;
    let human = super::backups::human_bytes;
    let mut previous: Vec<u64> = backups
        .iter()
        .skip(1)
        .take(SIZE_WINDOW)
        .map(|b| b.metadata.size_bytes)
        .collect();
    let count = previous.len();
    let median = median(&mut previous);
    let too_small = min_size.filter(|min| size < *min);
    let below_median = median.filter(|m| size * 2 < *m);
    let mut detail = human(size);
    match median {
        Some(m) => detail.push_str(&format!(" (median of the previous {count}: {})", human(m))),
        None => detail.push_str(" (no earlier backups to compare)"),
    }
    if let Some(min) = too_small {
        detail.push_str(&format!("; below min_size {}", human(min)));
    }
    if below_median.is_some() {
        detail.push_str("; under half the usual size");
    }
    Check {
        name: "size",
        ok: too_small.is_none() && below_median.is_none(),
        detail,
    }
}

/// The schedule is installed, but its runs have stopped producing backups.
fn schedule_check(record: &Record, backups: &[Backup], missed_allowed: u32) -> Check {
    let Ok(cron) = Cron::parse(&record.cron) else {
        return Check {
            name: "schedule",
            ok: false,
            detail: format!("cannot read the recorded schedule {:?}", record.cron),
        };
    };
    let last_scheduled = backups
        .iter()
        .find(|b| b.metadata.kind == BackupKind::Scheduled)
        .map(|b| b.metadata.started_at);
    // Runs are owed from the later of: the last scheduled backup, the installation.
    let since = last_scheduled.map_or(record.installed_at, |t| t.max(record.installed_at));
    let missed = cron.runs_between(since, Utc::now(), missed_allowed + 1);
    let last = match last_scheduled {
        Some(t) => format!(
            "last scheduled backup {} ago",
            short((Utc::now() - t).to_std().unwrap_or_default())
        ),
        None => "no scheduled backup yet".into(),
    };
    Check {
        name: "schedule",
        ok: missed < missed_allowed,
        detail: format!(
            "\"{}\" ({}): {last}; {}{} runs due since (alert at {missed_allowed}; the log is [backup] log)",
            record.cron,
            record.backend,
            missed,
            if missed > missed_allowed { "+" } else { "" },
        ),
    }
}

/// The newest backup that is meant to go offsite (by hand or scheduled) has a checked copy
/// there. Safety and guard backups stay local unless pushed, so they do not count.
fn offsite_check(
    offsite: &OffsiteSettings,
    backups: &[Backup],
) -> (Check, Vec<String>, Option<i64>) {
    let missing: Vec<String> = backups
        .iter()
        .filter(|b| b.metadata.offsite.is_none())
        .map(|b| b.metadata.name.clone())
        .collect();
    let newest_offsite = backups.iter().find(|b| b.metadata.offsite.is_some());
    let newest_pushable = backups
        .iter()
        .find(|b| matches!(b.metadata.kind, BackupKind::Manual | BackupKind::Scheduled));
    let (ok, mut detail) = match (newest_offsite, newest_pushable) {
        (None, _) => (
            false,
            format!("no local backup has a checked copy in {}", offsite.url),
        ),
        (Some(up), Some(local)) if local.metadata.finished_at > up.metadata.finished_at => (
            false,
            format!(
                "the newest offsite copy ({}) is older than the newest local backup ({})",
                up.metadata.name, local.metadata.name
            ),
        ),
        (Some(up), _) => (true, format!("newest offsite: {}", up.metadata.name)),
    };
    if !missing.is_empty() {
        detail.push_str(&format!(
            "; {} of {} not yet offsite: {} (run `dbguard push --all`)",
            missing.len(),
            backups.len(),
            missing.join(", ")
        ));
    }
    let last = newest_offsite.map(|b| b.metadata.finished_at.timestamp());
    (
        Check {
            name: "offsite",
            ok,
            detail,
        },
        missing,
        last,
    )
}

fn free_space_check(settings: &Settings, dir: &std::path::Path, newest: Option<&Backup>) -> Check {
    let free = fsutil::free_space(if dir.exists() { dir } else { &settings.dir })
        .or_else(|| fsutil::free_space(std::path::Path::new(".")));
    let needed = newest.map_or(0, |b| b.metadata.size_bytes * 2);
    match free {
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
    }
}

/// A label value in the text exposition format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// node_exporter textfile collector metrics.
fn prometheus(status: &DatabaseStatus) -> String {
    let db = format!("database=\"{}\"", label(&status.database));
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, f64)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, value) in samples {
            out.push_str(&format!("{name}{{{labels}}} {value}\n"));
        }
    };
    let m = &status.metrics;
    let one = |v: Option<f64>| v.map(|v| vec![(db.clone(), v)]).unwrap_or_default();
    gauge(
        "dbguard_backup_ok",
        "1 when no status alert fires, else 0.",
        vec![(db.clone(), f64::from(u8::from(status.alerts.is_empty())))],
    );
    gauge(
        "dbguard_backup_last_success_timestamp_seconds",
        "When the newest verified backup finished (Unix time).",
        one(m.last_success.map(|t| t as f64)),
    );
    gauge(
        "dbguard_backup_age_seconds",
        "Age of the newest verified backup.",
        one(m.age_seconds.map(|t| t as f64)),
    );
    gauge(
        "dbguard_backup_size_bytes",
        "Stored size of the newest verified backup.",
        one(m.size_bytes.map(|t| t as f64)),
    );
    gauge(
        "dbguard_backup_count",
        "Verified backups kept.",
        vec![(db.clone(), status.kept as f64)],
    );
    gauge(
        "dbguard_backup_offsite_last_timestamp_seconds",
        "When the newest backup with a checked offsite copy finished (Unix time).",
        one(m.offsite_last.map(|t| t as f64)),
    );
    gauge(
        "dbguard_backup_alert",
        "1 when the named status check fails.",
        status
            .checks
            .iter()
            .map(|c| {
                (
                    format!("{db},check=\"{}\"", label(c.name)),
                    f64::from(u8::from(!c.ok)),
                )
            })
            .collect(),
    );
    out
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

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2048"), Some(2048));
        assert_eq!(parse_size("10MiB"), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("500 kB"), Some(500_000));
        assert_eq!(parse_size("1.5GB"), Some(1_500_000_000));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

//! `dbguard push [NAME | --all]`: copy local backups that are missing from the offsite store.

use std::collections::HashMap;

use super::Context;
use crate::backup::catalog::{self, Backup, OffsiteRecord};
use crate::backup::offsite::{self, catalog as remote, push, record, Store};
use crate::backup::{dump, Settings};
use crate::cli::PushArgs;
use crate::error::{Error, Exit, Result};
use crate::target::ProcessEnv;

pub fn run(context: &Context, args: PushArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let offsite = offsite::require(&context.config)?;
    let chosen = if args.all {
        None
    } else {
        Some(chosen_backup(context, &settings, &args)?)
    };
    let store = Store::connect(&offsite)?;
    let backups = match chosen {
        Some(backup) => vec![backup],
        None => missing_backups(&store, &settings, &offsite, context.quiet)?,
    };
    let mut failures = Vec::new();
    for backup in &backups {
        match push::push(&store, &offsite, backup, context.quiet) {
            Ok(pushed) => super::write_stdout(|out| {
                let verb = match pushed.outcome {
                    push::Outcome::Uploaded => "copied",
                    push::Outcome::AlreadyThere => "already offsite:",
                };
                writeln!(
                    out,
                    "{verb} {} to {}\n  checked: {}",
                    backup.name(),
                    pushed.url,
                    pushed.verification.join("; ")
                )?;
                if !pushed.removed.is_empty() {
                    writeln!(
                        out,
                        "  remote retention ({}) removed {}",
                        offsite.policy.describe(),
                        pushed.removed.join(", ")
                    )?;
                }
                Ok(())
            })?,
            Err(e) => {
                eprintln!("error: {}", e.message);
                failures.push(backup.name().to_string());
            }
        }
    }
    if failures.is_empty() {
        if backups.is_empty() && !context.quiet {
            super::write_stdout(|out| {
                writeln!(
                    out,
                    "every local backup is offsite (or one remote retention ({}) would remove)",
                    offsite.policy.describe()
                )
            })?;
        }
        return Ok(Exit::Ok);
    }
    Err(Error {
        exit: Exit::Backup,
        message: format!(
            "{} of {} backups could not be copied offsite: {}",
            failures.len(),
            backups.len(),
            failures.join(", ")
        ),
        help: Some("the local backups are unaffected; run `dbguard push` again once the cause above is fixed".into()),
    })
}

/// The backup named on the command line, else the newest of the target database.
fn chosen_backup(context: &Context, settings: &Settings, args: &PushArgs) -> Result<Backup> {
    if let Some(name) = &args.name {
        return catalog::find(&settings.dir, name).ok_or_else(|| {
            Error::usage(format!(
                "no verified backup named {name} in {}",
                settings.dir.display()
            ))
            .with_help("`dbguard backups` lists them")
        });
    }
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let database = target.effective_dbname();
    dump::latest(settings, &database).ok_or_else(|| Error {
        exit: Exit::Backup,
        message: format!(
            "no verified backup of {database} in {}",
            settings.dir.display()
        ),
        help: Some("take one with `dbguard backup`".into()),
    })
}

/// Local backups of every database that the store lacks, newest first, leaving out those
/// remote retention would remove right away. Backups found there already get their local
/// offsite record.
fn missing_backups(
    store: &Store,
    settings: &Settings,
    offsite: &offsite::OffsiteSettings,
    quiet: bool,
) -> Result<Vec<Backup>> {
    let mut by_database: HashMap<String, Vec<Backup>> = HashMap::new();
    for backup in catalog::list_all(&settings.dir) {
        by_database
            .entry(backup.metadata.database.clone())
            .or_default()
            .push(backup);
    }
    let mut missing = Vec::new();
    for (database, local) in by_database {
        let listing = remote::list(store, Some(&database))
            .map_err(|e| e.into_error(&format!("cannot list the remote backups of {database}")))?;
        let there: HashMap<&str, &remote::RemoteBackup> =
            listing.backups.iter().map(|b| (b.name(), b)).collect();
        let mut candidates = Vec::new();
        for backup in local {
            match there.get(backup.name()) {
                Some(r) if r.metadata.sha256 == backup.metadata.sha256 => {
                    if backup.metadata.offsite.is_none() {
                        let _ = record::set(
                            &backup.path,
                            Some(OffsiteRecord {
                                url: store.url(&r.dump),
                                uploaded_at: r.uploaded_at,
                                verification: vec![
                                    "found in the store: its sidecar has the same sha256".into(),
                                ],
                            }),
                        );
                    }
                }
                _ => candidates.push(backup),
            }
        }
        // What remote retention would keep once these are up: the rest would go at once.
        let mut times: Vec<(chrono::DateTime<chrono::Utc>, Option<usize>)> = listing
            .backups
            .iter()
            .map(|b| (b.metadata.finished_at, None))
            .chain(
                candidates
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (b.metadata.finished_at, Some(i))),
            )
            .collect();
        times.sort_by_key(|t| std::cmp::Reverse(t.0));
        let only_times: Vec<_> = times.iter().map(|t| t.0).collect();
        let keeps: std::collections::HashSet<usize> = times
            .iter()
            .zip(offsite.policy.decide(&only_times))
            .filter_map(|((_, i), reasons)| i.filter(|_| !reasons.is_empty()))
            .collect();
        let mut kept = Vec::new();
        let mut skipped = Vec::new();
        for (i, backup) in candidates.into_iter().enumerate() {
            if keeps.contains(&i) {
                kept.push(backup);
            } else {
                skipped.push(backup);
            }
        }
        if !skipped.is_empty() && !quiet {
            eprintln!(
                "skipping {} backups of {database} that remote retention ({}) would remove at once",
                skipped.len(),
                offsite.policy.describe()
            );
        }
        missing.extend(kept);
    }
    missing.sort_by_key(|b| std::cmp::Reverse(b.metadata.finished_at));
    Ok(missing)
}

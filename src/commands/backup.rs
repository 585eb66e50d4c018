//! `dbguard backup`: a verified local backup, then (with [offsite]) its offsite copy. A failed
//! upload leaves the local backup as it is: listed, verified, and named in the error. With
//! [notify], the outcome is posted to a webhook either way. `--scheduled` is the same run as
//! the scheduled job: logged to a file, never overlapping another scheduled run.

use std::time::Instant;

use super::Context;
use crate::backup::catalog::{Backup, BackupKind};
use crate::backup::notify::{self, NotifySettings};
use crate::backup::offsite::{self, push, OffsiteSettings, Store};
use crate::backup::{dump, scheduled, Settings};
use crate::cli::BackupArgs;
use crate::error::{Error, Exit, Result};
use crate::target::{ProcessEnv, Target};

pub fn run(context: &Context, args: BackupArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let notify = NotifySettings::from_config(&context.config)?;
    if args.scheduled {
        return run_scheduled(context, &settings, notify.as_ref(), args);
    }
    // Configuration problems show before the dump; network ones only after it.
    let upload_to = upload_settings(context, &args)?;
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let started = Instant::now();
    let outcome = take(
        context,
        &settings,
        &target,
        &args,
        upload_to.as_ref(),
        BackupKind::Manual,
        false,
    );
    if let Some(notify) = &notify {
        let event = event(&target, BackupKind::Manual, &outcome, started);
        if let Some(warning) = notify_warning(notify::send(notify, &event)) {
            eprintln!("warning: {warning}");
        }
    }
    outcome.map(|_| Exit::Ok)
}

/// The scheduled job: everything goes to the log; stderr (which cron mails) only on failure.
fn run_scheduled(
    context: &Context,
    settings: &Settings,
    notify: Option<&NotifySettings>,
    args: BackupArgs,
) -> Result<Exit> {
    let mut log = scheduled::Log::open(&settings.log)?;
    let started = Instant::now();
    let prepared = upload_settings(context, &args).and_then(|upload_to| {
        let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
        Ok((upload_to, target))
    });
    let (upload_to, target) = match prepared {
        Ok(p) => p,
        Err(e) => {
            log.line(&format!("failed: {}", e.message));
            return Err(e);
        }
    };
    let database = target.effective_dbname();
    let _running = match scheduled::exclusive(&settings.database_dir(&database))? {
        scheduled::Turn::Mine(lock) => lock,
        scheduled::Turn::Busy(why) => {
            log.line(&format!("skipped {database}: {why}"));
            return Ok(Exit::Ok);
        }
    };
    log.line(&format!("backing up {database} ({})", target.masked_url()));
    let outcome = take(
        context,
        settings,
        &target,
        &args,
        upload_to.as_ref(),
        BackupKind::Scheduled,
        true,
    );
    match &outcome {
        Ok(b) => log.line(&format!(
            "ok: {} ({}, sha256 {}) in {:.1}s{}",
            b.path.display(),
            super::backups::human_bytes(b.metadata.size_bytes),
            crate::backup::catalog::short_sha(&b.metadata.sha256),
            started.elapsed().as_secs_f64(),
            b.metadata
                .offsite
                .as_ref()
                .map(|o| format!(", offsite {}", o.url))
                .unwrap_or_default()
        )),
        Err(e) => log.line(&format!("failed: {}", e.message)),
    }
    if let Some(notify) = notify {
        let event = event(&target, BackupKind::Scheduled, &outcome, started);
        if let Some(warning) = notify_warning(notify::send(notify, &event)) {
            log.line(&format!("warning: {warning}"));
        }
    }
    outcome.map(|_| Exit::Ok)
}

fn event(
    target: &Target,
    kind: BackupKind,
    outcome: &Result<Backup>,
    started: Instant,
) -> notify::Event {
    let backup = outcome.as_ref().ok();
    notify::Event {
        status: if outcome.is_ok() {
            "success"
        } else {
            "failure"
        },
        database: target.effective_dbname(),
        kind: kind.to_string(),
        name: backup.map(|b| b.metadata.name.clone()),
        size_bytes: backup.map(|b| b.metadata.size_bytes),
        duration_seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        sha256: backup.map(|b| b.metadata.sha256.clone()),
        error: outcome.as_ref().err().map(|e| e.message.clone()),
        host: crate::target::mask_secrets(&target.effective_host()),
        dbguard_version: env!("CARGO_PKG_VERSION"),
    }
}

/// A failed notification as one line (the URL masked), or `None` when it was delivered.
fn notify_warning(sent: Option<notify::Sent>) -> Option<String> {
    let sent = sent?;
    let error = sent.error?;
    Some(format!(
        "notification to {} failed after {} attempt{}: {error} (the backup itself is not affected)",
        sent.url,
        sent.attempts,
        if sent.attempts == 1 { "" } else { "s" }
    ))
}

/// The backup and its upload; prints unless `--json` (which prints the entry at the end) or
/// `silent` (the scheduled job, which logs instead).
fn take(
    context: &Context,
    settings: &Settings,
    target: &Target,
    args: &BackupArgs,
    upload_to: Option<&OffsiteSettings>,
    kind: BackupKind,
    silent: bool,
) -> Result<Backup> {
    let quiet = context.quiet || silent;
    let request = dump::Request {
        target,
        kind,
        reason: args.reason.clone(),
        quiet,
        protected: Vec::new(),
    };
    let backup = dump::take(settings, &request)?;
    let text = !args.json && !silent;
    if text {
        print_local(context, &backup, &target.masked_url())?;
    }
    let uploaded = upload_to.map(|offsite| {
        let pushed = upload(offsite, &backup, quiet)?;
        if text && !quiet {
            print_offsite(offsite, &pushed)?;
        }
        Ok::<_, Error>(())
    });
    // The sidecar now holds the offsite record, when there is one.
    let backup = crate::backup::catalog::read(&backup.path).unwrap_or(backup);
    if args.json && !silent {
        super::write_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, &super::backups::entry(&backup))?;
            writeln!(out)
        })?;
    }
    match uploaded {
        Some(Err(e)) => Err(Error {
            exit: Exit::Backup,
            message: format!(
                "{}; the backup is kept locally and verified: {}",
                e.message,
                backup.path.display()
            ),
            help: Some(format!(
                "{}; then `dbguard push {}` uploads it",
                e.help.unwrap_or_else(|| "fix the cause".into()),
                backup.name()
            )),
        }),
        _ => Ok(backup),
    }
}

/// Where to upload: `--offsite` requires [offsite]; with [offsite], `auto` decides unless
/// `--no-offsite`.
fn upload_settings(context: &Context, args: &BackupArgs) -> Result<Option<OffsiteSettings>> {
    if args.no_offsite {
        return Ok(None);
    }
    if args.offsite {
        return offsite::require(&context.config).map(Some);
    }
    Ok(OffsiteSettings::from_config(&context.config)?.filter(|s| s.auto))
}

fn upload(offsite: &OffsiteSettings, backup: &Backup, quiet: bool) -> Result<push::Pushed> {
    let store = Store::connect(offsite)?;
    push::push(&store, offsite, backup, quiet)
}

fn print_offsite(offsite: &OffsiteSettings, pushed: &push::Pushed) -> Result<()> {
    super::write_stdout(|out| {
        writeln!(
            out,
            "  copied offsite to {}
  checked: {}",
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
    })
}

fn print_local(context: &Context, backup: &Backup, masked_url: &str) -> Result<()> {
    super::write_stdout(|out| {
        if context.quiet {
            return writeln!(out, "{}", backup.path.display());
        }
        let m = &backup.metadata;
        let verified = if m
            .verification
            .iter()
            .any(|v| v.starts_with("contents not checked"))
        {
            "checksum verified (contents not checked: no identity to decrypt them)"
        } else {
            "verified"
        };
        writeln!(
            out,
            "backed up {} ({}) to {}\n  {} stored ({} uncompressed), {} tables, sha256 {}, {}{}",
            m.database,
            masked_url,
            backup.path.display(),
            super::backups::human_bytes(m.size_bytes),
            super::backups::human_bytes(m.uncompressed_bytes),
            m.tables.len(),
            crate::backup::catalog::short_sha(&m.sha256),
            if m.encrypted() { "age-encrypted, " } else { "" },
            verified,
        )
    })
}

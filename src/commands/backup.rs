//! `dbguard backup`: a verified local backup, then (with [offsite]) its offsite copy. A failed
//! upload leaves the local backup as it is: listed, verified, and named in the error.

use super::Context;
use crate::backup::catalog::Backup;
use crate::backup::offsite::{self, push, OffsiteSettings, Store};
use crate::backup::{dump, Settings};
use crate::cli::BackupArgs;
use crate::error::{Error, Exit, Result};
use crate::target::ProcessEnv;

pub fn run(context: &Context, args: BackupArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    // Configuration problems show before the dump; network ones only after it.
    let upload_to = upload_settings(context, &args)?;
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let request = dump::Request {
        target: &target,
        kind: crate::backup::catalog::BackupKind::Manual,
        reason: args.reason,
        quiet: context.quiet,
        protected: Vec::new(),
    };
    let backup = dump::take(&settings, &request)?;
    if !args.json {
        print_local(context, &backup, &target.masked_url())?;
    }
    let uploaded = upload_to.as_ref().map(|offsite| {
        let pushed = upload(offsite, &backup, context.quiet)?;
        if !args.json && !context.quiet {
            print_offsite(offsite, &pushed)?;
        }
        Ok::<_, Error>(())
    });
    // The sidecar now holds the offsite record, when there is one.
    let backup = crate::backup::catalog::read(&backup.path).unwrap_or(backup);
    if args.json {
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
        _ => Ok(Exit::Ok),
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

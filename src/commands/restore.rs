//! `dbguard restore`: verify, show, confirm, safety backup, restore, validate.

use std::io::IsTerminal;

use super::Context;
use crate::backup::catalog::{self, short_sha, Backup};
use crate::backup::offsite::{self, Store};
use crate::backup::{dump, hooks, restore, sessions, Settings};
use crate::cli::RestoreArgs;
use crate::error::{Error, Exit, Result};
use crate::target::{ProcessEnv, Target};

pub fn run(context: &Context, args: RestoreArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let database = target.effective_dbname();
    let backup = match &args.from_remote {
        Some(which) => download(context, &settings, which, &database)?,
        None => find_backup(&settings, &args, &database)?,
    };

    let verified = restore::check(&settings, &backup, &target, context.quiet)?;
    if args.dry_run {
        print_plan(&backup, &target, true)?;
        return Ok(Exit::Ok);
    }
    if !context.quiet {
        print_plan(&backup, &target, false)?;
    }
    confirm(&database, args.yes)?;

    let options = restore::Options {
        safety_backup: !args.no_safety_backup,
        quiet: context.quiet,
    };
    let hooks = hooks::Hooks::from_config(&context.config);
    let restored = hooks::around(&hooks, &database, || {
        sessions::prepare(&target, args.terminate_connections, context.quiet)?;
        restore::restore(&settings, &backup, &verified, &target, &options)
    })?;
    if let Some(safety) = &restored.safety_backup {
        eprintln!(
            "safety backup of {database} before the restore: {}",
            safety.path.display()
        );
    }
    if !restored.differences.is_empty() {
        let lines: Vec<String> = restored
            .differences
            .iter()
            .map(|d| match d.found {
                Some(found) => format!(
                    "  {}: {} rows in the backup, {found} after the restore",
                    d.table, d.expected
                ),
                None => format!(
                    "  {}: {} rows in the backup, table missing after the restore",
                    d.table, d.expected
                ),
            })
            .collect();
        return Err(Error {
            exit: Exit::Backup,
            message: format!("restored {} into {database}, but row counts differ from the backup:\n{}", backup.name(), lines.join("\n")),
            help: Some("something wrote to the database during the restore, or objects outside the backup interfere; check the tables above".into()),
        });
    }
    super::write_stdout(|out| {
        writeln!(
            out,
            "restored {} into {} ({} tables, row counts match the backup)",
            backup.name(),
            target.masked_url(),
            backup.metadata.tables.len()
        )
    })?;
    Ok(Exit::Ok)
}

/// `--from-remote latest|NAME`: the remote backup, downloaded into the local catalog (its
/// checksum checked on the way), from where it restores like any other.
fn download(context: &Context, settings: &Settings, which: &str, database: &str) -> Result<Backup> {
    let offsite = offsite::require(&context.config)?;
    let store = Store::connect(&offsite)?;
    let latest = which == "latest";
    let listing = offsite::catalog::list(&store, latest.then_some(database))
        .map_err(|e| e.into_error("cannot list the offsite backups"))?;
    let found = if latest {
        listing
            .backups
            .into_iter()
            .find(|b| b.metadata.database == database)
    } else {
        listing
            .backups
            .into_iter()
            .find(|b| catalog::names_match(b.name(), which))
    };
    let Some(remote) = found else {
        let what = if latest {
            format!("no backup of {database}")
        } else {
            format!("no backup named {which}")
        };
        return Err(Error {
            exit: Exit::Backup,
            message: format!("{what} in {}", offsite.url),
            help: Some("`dbguard backups --remote` lists them".into()),
        });
    };
    let pulled = offsite::pull::pull(&store, &offsite, settings, &remote, context.quiet)?;
    let backup = pulled.backup;
    if !context.quiet && pulled.downloaded {
        eprintln!(
            "downloaded {} from {} to {} (sha256 checked)",
            backup.name(),
            store.url(&remote.dump),
            backup.path.display()
        );
    } else if !context.quiet {
        eprintln!(
            "{} is already in {} with the same sha256: using the local copy",
            backup.name(),
            backup.path.display()
        );
    }
    Ok(backup)
}

fn find_backup(settings: &Settings, args: &RestoreArgs, database: &str) -> Result<Backup> {
    if args.latest {
        return dump::latest(settings, database).ok_or_else(|| Error {
            exit: Exit::Backup,
            message: format!(
                "no verified backup of {database} in {}",
                settings.dir.display()
            ),
            help: Some(
                "take one with `dbguard backup`, or name a backup from `dbguard backups`".into(),
            ),
        });
    }
    let name = args.name.as_deref().unwrap_or_default();
    catalog::find(&settings.dir, name).ok_or_else(|| {
        Error::usage(format!(
            "no verified backup named {name} in {}",
            settings.dir.display()
        ))
        .with_help("`dbguard backups` lists them; a dump without its .json sidecar is not a backup")
    })
}

fn print_plan(backup: &Backup, target: &Target, dry_run: bool) -> Result<()> {
    let m = &backup.metadata;
    super::write_stdout(|out| {
        writeln!(
            out,
            "{} {} into {}",
            if dry_run {
                "would restore"
            } else {
                "restoring"
            },
            m.name,
            target.masked_url()
        )?;
        writeln!(
            out,
            "  taken {} from {}:{}/{}, {} stored, sha256 {} verified",
            m.finished_at.format("%Y-%m-%d %H:%M:%S UTC"),
            m.host,
            m.port,
            m.database,
            super::backups::human_bytes(m.size_bytes),
            short_sha(&m.sha256)
        )?;
        if dry_run {
            writeln!(out, "  tables ({}):", m.tables.len())?;
            for t in &m.tables {
                writeln!(out, "    {}.{}: {} rows", t.schema, t.name, t.rows)?;
            }
            writeln!(out, "nothing was changed (--dry-run)")?;
        }
        Ok(())
    })
}

/// Restoring replaces the database's contents: a person types its name, or passes --yes.
fn confirm(database: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let refused = |why: &str| Error {
        exit: Exit::Refused,
        message: format!("restore into {database} not confirmed: {why}"),
        help: Some("run it on a terminal and type the database name, or pass --yes".into()),
    };
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(refused("stdin is not a terminal"));
    }
    let typed: String = dialoguer::Input::new()
        .with_prompt(format!(
            "This replaces the contents of {database}. Type the database name to continue"
        ))
        .allow_empty(true)
        .interact_text()
        .map_err(|e| refused(&e.to_string()))?;
    if typed.trim() == database {
        Ok(())
    } else {
        Err(refused("the name typed does not match"))
    }
}

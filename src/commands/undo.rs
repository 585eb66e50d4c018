//! `dbguard undo`: list the snapshots, or put one back — show, confirm, protect what it
//! overwrites, restore in one transaction, verify, audit.

use std::io::IsTerminal;
use std::time::Instant;

use super::Context;
use crate::audit::{self, BackupUsed, Entry, FindingsSummary};
use crate::cli::UndoArgs;
use crate::error::{Error, Exit, Result};
use crate::target::ProcessEnv;
use crate::undo::objects::Wanted;
use crate::undo::restore::{self, Action, Options};
use crate::undo::snapshot::Snapshot;
use crate::undo::{self, store, Protection};

pub fn run(context: &Context, args: UndoArgs) -> Result<Exit> {
    let started = Instant::now();
    let settings = undo::Settings::from_config(&context.config)?;
    let configured = context
        .config
        .database(None, &ProcessEnv)
        .ok()
        .map(|(t, _)| t);
    if args.list {
        return list(context, &settings, &args);
    }
    let snapshot = pick(&settings, &args, configured.as_ref())?;
    let target = restore::target_of(&snapshot, configured, &ProcessEnv)?;
    let database = target.effective_dbname();
    let mut client = target.connect()?;
    let options = Options {
        side_table: args.side_table,
    };
    let steps = restore::plan(&mut client, &snapshot, options)?;
    drop(client);
    let info = &snapshot.record.snapshot;
    let mut text = format!(
        "undo {} of {} — saved {} before `{}`:\n",
        info.id,
        target.masked_url(),
        super::backups::human_age(snapshot.record.metadata.finished_at),
        info.command
    );
    for step in &steps {
        text.push_str(&format!("  {}\n", step.describe()));
    }
    if steps.is_empty() {
        text.push_str("  (nothing: none of the objects at stake existed)\n");
    }
    if args.dry_run {
        super::write_stdout(|out| out.write_all(text.as_bytes()))?;
        return Ok(Exit::Ok);
    }
    if !context.quiet {
        eprint!("{text}");
    }
    let audit_path = audit::path(&context.config, &settings.backup);
    let record = |decision: &str, reason: Option<String>, backup: Option<BackupUsed>| {
        let entry = Entry {
            time: chrono::Utc::now(),
            user: audit::current_user(),
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            command: format!("dbguard undo {}", info.id),
            tool: "undo".into(),
            target: Some(target.masked_url()),
            findings: FindingsSummary::default(),
            decision: decision.into(),
            reason: reason.map(|r| crate::target::mask_secrets(&r)),
            backup,
            exit_code: None,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        if let Err(e) = audit::append(&audit_path, &entry) {
            eprintln!(
                "warning: cannot write the audit log {}: {e}",
                audit_path.display()
            );
        }
    };
    if let Some(conflict) = steps.iter().find_map(|s| match &s.action {
        Action::Conflict(why) => Some(format!("{}: {why}", s.object.describe())),
        _ => None,
    }) {
        let why = format!("nothing was undone: {conflict}");
        record("failed", Some(why.clone()), None);
        return Err(Error {
            exit: Exit::Backup,
            message: why,
            help: Some(
                "resolve the conflict, or `dbguard undo --side-table` to restore into side tables"
                    .into(),
            ),
        });
    }
    confirm(&database, args.yes)?;

    // Undo is protected too: what it overwrites is saved first, so it can be undone.
    let mut overwritten: Vec<Wanted> = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        match step.action {
            Action::Replace => overwritten.push(Wanted::VersionTable),
            Action::PutBackValues => overwritten.push(Wanted::Updated(undo::after::current_rows(
                &settings.backup,
                &snapshot.path,
                index,
                &step.object,
            )?)),
            _ => {}
        }
    }
    let command = format!("dbguard undo {}", info.id);
    let mut own: Option<Protection> = None;
    if !overwritten.is_empty() {
        match undo::take_snapshot(&settings, &target, overwritten, &command) {
            Ok(p) => {
                if !context.quiet {
                    eprintln!("dbguard: saved {} (what undo overwrites)", p.summary());
                }
                own = Some(p);
            }
            Err(e) => {
                record(
                    "failed",
                    Some(format!("snapshot failed: {}", e.message)),
                    None,
                );
                return Err(Error {
                    message: format!("{} (nothing was undone)", e.message),
                    ..e
                });
            }
        }
    }
    let restored = BackupUsed::from_protection(
        &Protection {
            kind: undo::ProtectionKind::Snapshot,
            name: snapshot.record.metadata.name.clone(),
            sha256: snapshot.record.metadata.sha256.clone(),
            path: snapshot.path.clone(),
            id: Some(info.id.clone()),
            objects: info.objects.iter().map(|o| o.describe()).collect(),
            notes: Vec::new(),
        },
        "restored",
    );
    match restore::run(&settings.backup, &target, &snapshot, &steps) {
        Ok(outcome) => {
            // So that undoing this undo finds the values it wrote.
            if let Some(p) = &own {
                if let Err(e) = undo::after::record(&settings.backup, &target, p) {
                    eprintln!("warning: {}", e.message);
                }
            }
            let mut done = snapshot.clone();
            done.record.snapshot.undone_at = Some(chrono::Utc::now());
            let _ = store::update(&done);
            let reason = own
                .as_ref()
                .map(|p| format!("undo's own snapshot: {}", p.summary()));
            record("undone", reason, Some(restored));
            for line in &outcome.done {
                eprintln!("dbguard: {line}");
            }
            Ok(Exit::Ok)
        }
        Err(e) => {
            record("failed", Some(e.message.clone()), Some(restored));
            Err(e)
        }
    }
}

/// The snapshot named, or the newest of the database (configured, or `--database`).
fn pick(
    settings: &undo::Settings,
    args: &UndoArgs,
    configured: Option<&crate::target::Target>,
) -> Result<Snapshot> {
    let database = args
        .database
        .clone()
        .or_else(|| configured.map(|t| t.effective_dbname()));
    if let Some(id) = &args.id {
        return store::find(&settings.backup, args.database.as_deref(), id).ok_or_else(|| {
            Error::usage(format!("no snapshot `{id}`"))
                .with_help("`dbguard undo --list` shows the snapshots")
        });
    }
    let all = store::list_all(&settings.backup);
    let newest = all
        .iter()
        .find(|s| {
            database
                .as_deref()
                .is_none_or(|d| s.record.metadata.database == d)
        })
        .or_else(|| all.first())
        .cloned()
        .ok_or_else(|| {
            Error::usage("no snapshots to undo").with_help(
                "dbguard saves one right before a guarded command destroys data (`dbguard run -- …`)",
            )
        })?;
    if let Some(at) = newest.record.snapshot.undone_at {
        return Err(Error::usage(format!(
            "the newest snapshot {} was already put back ({})",
            newest.record.snapshot.id,
            super::backups::human_age(at)
        ))
        .with_help(format!(
            "`dbguard undo {}` puts it back again; `dbguard undo --list` shows the others",
            newest.record.snapshot.id
        )));
    }
    Ok(newest)
}

fn confirm(database: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let refused = |why: &str| Error {
        exit: Exit::Refused,
        message: format!("undo in {database} not confirmed: {why}"),
        help: Some("run it on a terminal and type the database name, or pass --yes".into()),
    };
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(refused("stdin is not a terminal"));
    }
    let typed: String = dialoguer::Input::new()
        .with_prompt(format!(
            "This writes the saved data back into {database}. Type the database name to continue"
        ))
        .allow_empty(true)
        .interact_text()
        .map_err(|e| refused(&e.to_string()))?;
    if typed.trim() != database {
        return Err(refused("the name typed does not match"));
    }
    Ok(())
}

fn list(context: &Context, settings: &undo::Settings, args: &UndoArgs) -> Result<Exit> {
    let mut all = store::list_all(&settings.backup);
    if let Some(db) = &args.database {
        all.retain(|s| &s.record.metadata.database == db);
    }
    super::write_stdout(|out| {
        if args.json {
            let list: Vec<serde_json::Value> = all
                .iter()
                .map(|s| {
                    let m = &s.record.metadata;
                    let i = &s.record.snapshot;
                    serde_json::json!({
                        "id": i.id,
                        "name": m.name,
                        "kind": m.kind,
                        "path": s.path,
                        "database": m.database,
                        "created_at": m.finished_at,
                        "command": i.command,
                        "objects": i.objects.iter().map(|o| serde_json::json!({
                            "kind": o.kind,
                            "schema": o.schema,
                            "table": o.table,
                            "column": o.column,
                            "rows": o.rows,
                        })).collect::<Vec<_>>(),
                        "rows": i.objects.iter().map(|o| o.rows).sum::<i64>(),
                        "size_bytes": m.size_bytes,
                        "sha256": m.sha256,
                        "encrypted": m.encrypted(),
                        "undone_at": i.undone_at,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            return writeln!(out);
        }
        if all.is_empty() {
            if !context.quiet {
                writeln!(
                    out,
                    "no snapshots in {} (dbguard saves one right before a guarded command destroys data)",
                    settings.backup.dir.display()
                )?;
            }
            return Ok(());
        }
        for s in &all {
            let m = &s.record.metadata;
            let i = &s.record.snapshot;
            let undone = match i.undone_at {
                Some(at) => format!("  [undone {}]", super::backups::human_age(at)),
                None => String::new(),
            };
            writeln!(
                out,
                "{}  {}  {}  {}{undone}",
                i.id,
                m.database,
                super::backups::human_age(m.finished_at),
                i.command
            )?;
            for o in &i.objects {
                writeln!(out, "    {}", o.describe())?;
            }
        }
        Ok(())
    })?;
    Ok(Exit::Ok)
}

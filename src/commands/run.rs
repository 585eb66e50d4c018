//! `dbguard run -- CMD` and `dbguard plan -- CMD`: classify → weigh → decide → (backup) →
//! (confirm) → execute → audit.

use std::io::{IsTerminal, Read};
use std::time::Instant;

use super::Context;
use crate::analysis::command::{self, Inputs, Plan};
use crate::analysis::Severity;
use crate::audit::{self, BackupUsed, Entry, FindingsSummary};
use crate::backup::{catalog::Backup, dump, Settings};
use crate::cli::{PlanArgs, PlanFormat, RunArgs};
use crate::error::{Error, Exit, Result};
use crate::guard::{self, weigh, BackupStep, Confirm, Decision, Facts, Flags};
use crate::target::{ProcessEnv, Target};

/// A classified, weighed plan with the guard's decision.
struct Assessed {
    plan: Plan,
    decision: Decision,
    fresh_backup: Option<Backup>,
    database: String,
    target: Option<Target>,
}

fn assess(
    context: &Context,
    settings: &Settings,
    argv: &[String],
    flags: Flags,
    database_url: Option<&str>,
) -> Result<Assessed> {
    let stdin_is_terminal = std::io::stdin().is_terminal();
    let mut read_stdin = || -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
        Ok(bytes)
    };
    let mut inputs = Inputs {
        config: &context.config,
        env: &ProcessEnv,
        stdin_is_terminal,
        read_stdin: &mut read_stdin,
        database_url,
    };
    let mut plan = command::classify(argv, &mut inputs)?;
    let target = plan.target.as_ref().map(|(t, _)| t.clone());

    // Only a plan that would destroy data talks to the database.
    let mut cluster_id = None;
    let destroys = plan.severity() == Some(Severity::DataLoss);
    if destroys {
        if let Some(target) = &target {
            match target.connect() {
                Ok(mut client) => {
                    if let Some(why) = plan.unweighable.clone() {
                        plan.notes.push(format!("data at stake not checked: {why}"));
                    } else if weigh::needed(&plan) {
                        if let Some(note) = weigh::weigh(&mut plan, &mut client) {
                            plan.notes.push(note);
                        }
                    }
                    cluster_id = dump::server_info(&mut client)
                        .ok()
                        .and_then(|s| s.cluster_id);
                }
                Err(e) => plan.notes.push(format!(
                    "could not ask the database what is at stake: {}",
                    e.message
                )),
            }
        }
    }
    plan.sync_alembic();
    let database = target
        .as_ref()
        .map(Target::effective_dbname)
        .unwrap_or_else(|| "the database".into());
    let fresh_backup = match (&target, plan.severity()) {
        (Some(t), Some(Severity::DataLoss)) => {
            guard::fresh_backup(settings, t, cluster_id.as_deref())
        }
        _ => None,
    };
    let shown = plan.display_command();
    let backup_command = match &target {
        Some(t) if Some(t.masked_url()) == configured_url(context) => "dbguard backup".to_string(),
        Some(t) => format!("dbguard backup --url {}", without_password(t)),
        None => "dbguard backup".to_string(),
    };
    let facts = Facts {
        severity: plan.severity(),
        blocked: plan.blocked.clone(),
        database: database.clone(),
        fresh_backup: fresh_backup.as_ref(),
        max_age: &settings.max_age_text,
        backup_command,
        rerun_with_backup: format!("dbguard run --backup --yes -- {shown}"),
        rerun_with_yes: format!("dbguard run --yes -- {shown}"),
    };
    let decision = guard::decide(&facts, flags);
    Ok(Assessed {
        plan,
        decision,
        fresh_backup,
        database,
        target,
    })
}

fn configured_url(context: &Context) -> Option<String> {
    context
        .config
        .database(None, &ProcessEnv)
        .ok()
        .map(|(t, _)| t.masked_url())
}

/// A URL to show in a command the user can copy: the password stays in their environment.
fn without_password(target: &Target) -> String {
    let mut t = target.clone();
    t.set_password(None);
    t.masked_url()
}

pub fn plan(context: &Context, args: PlanArgs) -> Result<u8> {
    let settings = crate::backup::Settings::from_config(&context.config)?;
    let flags = Flags {
        yes: false,
        backup: context.config.config.guard.auto_backup,
        interactive: false,
    };
    let assessed = assess(
        context,
        &settings,
        &args.command,
        flags,
        args.url.as_deref(),
    )?;
    match args.format {
        PlanFormat::Json => super::write_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, &plan_json(&assessed))?;
            writeln!(out)
        })?,
        PlanFormat::Text => print_plan(context, &assessed, true)?,
    }
    Ok(Exit::Ok.code())
}

pub fn run(context: &Context, args: RunArgs) -> Result<u8> {
    let started = Instant::now();
    let settings = crate::backup::Settings::from_config(&context.config)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let flags = Flags {
        yes: args.yes,
        backup: args.backup || context.config.config.guard.auto_backup,
        interactive,
    };
    let assessed = assess(context, &settings, &args.command, flags, None)?;
    let audit_path = audit::path(&context.config, &settings);
    let record = |decision: &str,
                  reason: Option<String>,
                  backup: Option<BackupUsed>,
                  exit_code: Option<u8>| {
        let entry = audit_entry(&assessed, decision, reason, backup, exit_code, started);
        if let Err(e) = audit::append(&audit_path, &entry) {
            eprintln!(
                "warning: cannot write the audit log {}: {e}",
                audit_path.display()
            );
        }
    };

    if args.dry_run {
        print_plan(context, &assessed, true)?;
        record("dry-run", None, None, None);
        return Ok(Exit::Ok.code());
    }
    let (backup_step, confirm) = match &assessed.decision {
        Decision::Run => {
            let code = crate::exec::run(&assessed.plan.argv, assessed.plan.stdin.clone())?;
            record("ran", None, None, Some(code));
            return Ok(code);
        }
        Decision::Refuse { why, fix } => {
            print_refusal(context, &assessed, why, fix);
            record("refused", Some(why.clone()), None, None);
            return Ok(Exit::Refused.code());
        }
        Decision::Proceed { backup, confirm } => (backup.clone(), confirm.clone()),
    };
    if !context.quiet {
        print_plan(context, &assessed, false)?;
    }
    let mut backup_used = assessed.fresh_backup.as_ref().map(|b| used(b, "existing"));
    let take = match backup_step {
        BackupStep::None => false,
        BackupStep::Take => true,
        BackupStep::Offer => {
            let question = format!(
                "No verified backup of {} newer than {}. Take one now?",
                assessed.database, settings.max_age_text
            );
            match dialoguer::Confirm::new()
                .with_prompt(question)
                .default(true)
                .interact()
            {
                Ok(true) => true,
                _ => {
                    let why = "no backup, and the offer to take one was declined".to_string();
                    eprintln!("dbguard: not run: {why}");
                    record("cancelled", Some(why), None, None);
                    return Ok(Exit::Refused.code());
                }
            }
        }
    };
    if take {
        let Some(target) = &assessed.target else {
            return Err(Error::usage(
                "cannot take a backup: the command's database is unknown",
            ));
        };
        let request = dump::Request {
            target,
            kind: crate::backup::catalog::BackupKind::Guard,
            reason: Some(format!("dbguard run: {}", assessed.plan.display_command())),
            quiet: context.quiet,
            protected: Vec::new(),
        };
        match dump::take(&settings, &request) {
            Ok(backup) => {
                eprintln!(
                    "dbguard: backed up {} to {}",
                    assessed.database,
                    backup.path.display()
                );
                backup_used = Some(used(&backup, "taken"));
            }
            Err(e) => {
                record(
                    "failed",
                    Some(format!("backup failed: {}", e.message)),
                    None,
                    None,
                );
                return Err(Error {
                    message: format!("{} (nothing was run)", e.message),
                    ..e
                });
            }
        }
    }
    if !confirmed(&confirm) {
        let why = "not confirmed".to_string();
        eprintln!("dbguard: not run: {why}");
        record("cancelled", Some(why), backup_used, None);
        return Ok(Exit::Refused.code());
    }
    let code = crate::exec::run(&assessed.plan.argv, assessed.plan.stdin.clone())?;
    record("ran", None, backup_used, Some(code));
    Ok(code)
}

fn used(backup: &Backup, how: &str) -> BackupUsed {
    BackupUsed {
        name: backup.metadata.name.clone(),
        sha256: backup.metadata.sha256.clone(),
        how: how.into(),
    }
}

fn confirmed(confirm: &Confirm) -> bool {
    match confirm {
        Confirm::None => true,
        Confirm::YesNo => dialoguer::Confirm::new()
            .with_prompt("Run it?")
            .default(false)
            .interact()
            .unwrap_or(false),
        Confirm::TypeName(db) => dialoguer::Input::<String>::new()
            .with_prompt(format!(
                "This destroys data in {db}. Type the database name to run it"
            ))
            .allow_empty(true)
            .interact_text()
            .is_ok_and(|typed| typed.trim() == db),
    }
}

fn verdict(plan: &Plan) -> &'static str {
    match plan.severity() {
        None | Some(Severity::Info) => "safe",
        Some(Severity::Risky) => "risky",
        Some(Severity::DataLoss) => "data-loss",
    }
}

fn summary(plan: &Plan) -> FindingsSummary {
    let mut s = FindingsSummary::default();
    for f in plan.findings() {
        match f.severity {
            Severity::DataLoss => s.data_loss += 1,
            Severity::Risky => s.risky += 1,
            Severity::Info => s.info += 1,
        }
        if !s.rules.iter().any(|r| r == f.rule) {
            s.rules.push(f.rule.to_string());
        }
    }
    s
}

fn audit_entry(
    a: &Assessed,
    decision: &str,
    reason: Option<String>,
    backup: Option<BackupUsed>,
    exit_code: Option<u8>,
    started: Instant,
) -> Entry {
    Entry {
        time: chrono::Utc::now(),
        user: audit::current_user(),
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        command: a.plan.display_command(),
        tool: format!("{:?}", a.plan.tool).to_lowercase(),
        target: a.target.as_ref().map(Target::masked_url),
        findings: summary(&a.plan),
        decision: decision.into(),
        reason: reason.map(|r| crate::target::mask_secrets(&r)),
        backup,
        exit_code,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

fn decision_text(a: &Assessed) -> String {
    match &a.decision {
        Decision::Run => "run at once".into(),
        Decision::Refuse { why, .. } => format!("refuse: {why}"),
        Decision::Proceed { backup, confirm } => {
            let mut steps = Vec::new();
            match (backup, &a.fresh_backup) {
                (BackupStep::None, Some(b)) => {
                    steps.push(format!("backup {} exists", b.metadata.name))
                }
                (BackupStep::Take, _) => steps.push("take a backup first".into()),
                (BackupStep::Offer, _) => steps.push("offer to take a backup".into()),
                _ => {}
            }
            match confirm {
                Confirm::None => {}
                Confirm::YesNo => steps.push("ask yes/no".into()),
                Confirm::TypeName(db) => steps.push(format!("ask to type {db}")),
            }
            steps.push("run".into());
            steps.join(", then ")
        }
    }
}

fn plan_json(a: &Assessed) -> serde_json::Value {
    // An alembic plan keeps the shape `dbguard plan` has always given it, plus the decision.
    if let Some(alembic) = &a.plan.alembic {
        let mut value = serde_json::to_value(alembic).unwrap_or_default();
        value["tool"] = serde_json::json!("alembic");
        value["decision"] = serde_json::json!(decision_text(a));
        return value;
    }
    let findings: Vec<&crate::analysis::Finding> = a.plan.findings().collect();
    serde_json::json!({
        "command": a.plan.display_command(),
        "tool": a.plan.tool,
        "description": a.plan.description,
        "target": a.target.as_ref().map(Target::masked_url),
        "target_source": a.plan.target.as_ref().map(|(_, s)| s),
        "findings": findings,
        "notes": a.plan.notes,
        "uncertain": a.plan.uncertain,
        "verdict": verdict(&a.plan),
        "backup": a.fresh_backup.as_ref().map(|b| &b.metadata.name),
        "decision": decision_text(a),
    })
}

fn print_plan(context: &Context, a: &Assessed, to_stdout: bool) -> Result<()> {
    let p = &context.palette;
    if let Some(alembic) = &a.plan.alembic {
        let mut buffer = Vec::new();
        let _ = super::plan::render(alembic, context, &mut buffer);
        let text = format!(
            "{}decision: {}\n",
            String::from_utf8_lossy(&buffer),
            decision_text(a)
        );
        return if to_stdout {
            super::write_stdout(|out| out.write_all(text.as_bytes()))
        } else {
            eprint!("{text}");
            Ok(())
        };
    }
    let mut text = String::new();
    text.push_str(&format!("command:  {}\n", a.plan.display_command()));
    text.push_str(&format!("what:     {}\n", a.plan.description));
    if let Some((t, source)) = &a.plan.target {
        text.push_str(&format!("target:   {} (from {source})\n", t.masked_url()));
    }
    let findings: Vec<_> = a.plan.findings().collect();
    if !findings.is_empty() {
        text.push_str("findings:\n");
        for f in findings {
            let label = crate::output::text_paint(
                p.severity(f.severity),
                &format!("{}[{}]", f.severity, f.rule),
            );
            text.push_str(&format!(
                "  {label} {}:{}: {}\n",
                f.path, f.span.line, f.message
            ));
        }
    }
    for note in &a.plan.notes {
        text.push_str(&format!("note:     {note}\n"));
    }
    if let Some(why) = &a.plan.uncertain {
        text.push_str(&format!("uncertain: {why}\n"));
    }
    text.push_str(&format!("verdict:  {}\n", verdict(&a.plan)));
    text.push_str(&format!("decision: {}\n", decision_text(a)));
    if to_stdout {
        super::write_stdout(|out| out.write_all(text.as_bytes()))
    } else {
        eprint!("{text}");
        Ok(())
    }
}

fn print_refusal(context: &Context, a: &Assessed, why: &str, fix: &[String]) {
    let p = &context.palette;
    let mut text = format!(
        "{} refused to run `{}`\n",
        crate::output::text_paint(p.error, "dbguard:"),
        a.plan.display_command()
    );
    if let Some(t) = &a.target {
        text.push_str(&format!("  target: {}\n", t.masked_url()));
    }
    let findings: Vec<_> = a
        .plan
        .findings()
        .filter(|f| f.severity > Severity::Info)
        .collect();
    if !findings.is_empty() {
        text.push_str(if a.plan.severity() == Some(Severity::DataLoss) {
            "  it would destroy data:\n"
        } else {
            "  it may change or break data:\n"
        });
        for f in findings {
            text.push_str(&format!("    {}[{}] {}\n", f.severity, f.rule, f.message));
        }
    }
    if let Some(u) = &a.plan.uncertain {
        text.push_str(&format!("  dbguard cannot be sure what it does: {u}\n"));
    }
    text.push_str(&format!("  why: {why}\n"));
    if let Some((first, rest)) = fix.split_first() {
        text.push_str(&format!("  to make it safe, run:\n    {first}\n"));
        for other in rest {
            text.push_str(&format!("  or:\n    {other}\n"));
        }
    }
    eprint!("{text}");
}

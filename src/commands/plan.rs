//! `dbguard plan -- alembic ARGS…`: what the command would run and destroy, as text or JSON.

use std::io::Write;

use super::Context;
use crate::analysis::command::{self, Wrapped};
use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Error, Exit, Result};
use crate::output::text_paint;
use crate::plan::{self, Inputs, Plan, Verdict};
use crate::target::{mask_secrets, ProcessEnv};

pub fn run(context: &Context, args: PlanArgs) -> Result<Exit> {
    let shown = mask_secrets(&args.command.join(" "));
    let alembic = match command::parse(&args.command) {
        Ok(Wrapped::Alembic(c)) => c,
        Ok(Wrapped::Other { program }) => {
            return Err(Error::usage(format!(
                "`{program}` is not an alembic command; dbguard plan understands alembic"
            ))
            .with_help("e.g. `dbguard plan -- alembic upgrade head`"))
        }
        Err(why) => {
            return Err(Error::usage(format!("cannot read `{shown}`: {why}"))
                .with_help("see `alembic --help` for the command's syntax"))
        }
    };
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let preferred = context
        .config
        .config
        .alembic
        .config
        .as_ref()
        .map(|p| context.config.resolve(p));
    let env_config = std::env::var("ALEMBIC_CONFIG")
        .ok()
        .filter(|v| !v.is_empty());
    // A database address that does not parse is a plan without a database, not a crash.
    let (target, target_error) = match context.config.database(args.url.as_deref(), &ProcessEnv) {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(e.message)),
    };
    let inputs = Inputs {
        cwd: &cwd,
        alembic_config_env: env_config.as_deref(),
        preferred_config: preferred.as_deref(),
        target,
    };
    let mut plan = plan::build(&alembic, &shown, inputs).map_err(|why| {
        Error::usage(format!("{shown}: {why}"))
            .with_help("alembic would fail the same way; check the revision argument and the alembic configuration")
    })?;
    if let (Some(why), None) = (target_error, &plan.current) {
        plan.database_error = Some(why);
    }
    super::write_stdout(|out| match args.format {
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan)?;
            writeln!(out)
        }
        PlanFormat::Text => render(&plan, context, out),
    })?;
    Ok(Exit::Ok)
}

fn render(plan: &Plan, context: &Context, out: &mut dyn Write) -> std::io::Result<()> {
    let p = &context.palette;
    writeln!(out, "plan: {}", plan.command)?;
    writeln!(out, "  config:   {}", plan.config)?;
    if let Some(db) = &plan.database {
        let source = plan.database_source.as_deref().unwrap_or("");
        writeln!(out, "  database: {db} (from {source})")?;
    }
    let current = match (&plan.current, &plan.database_error) {
        (Some(heads), _) if heads.is_empty() => "base (no revision applied)".to_string(),
        (Some(heads), _) => heads.join(", "),
        (None, Some(why)) => format!("unknown: the database is unreachable ({why})"),
        (None, None) => "not needed".to_string(),
    };
    writeln!(out, "  current:  {current}")?;
    if plan.steps.is_empty() {
        writeln!(out, "steps: none")?;
    } else {
        writeln!(out, "steps ({}):", plan.steps.len())?;
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let doc = step
            .doc
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}. {} {} -> {}{doc}  [{}]",
            i + 1,
            step.direction.function(),
            step.from.join(", "),
            step.to.join(", "),
            step.path
        )?;
        for f in step.findings.iter().filter(|f| !f.suppressed) {
            let label = format!("{}[{}]", f.severity, f.rule);
            writeln!(
                out,
                "       {} {}:{}:{}: {}",
                text_paint(p.severity(f.severity), &label),
                f.path,
                f.span.line,
                f.span.column,
                f.message
            )?;
        }
    }
    for note in &plan.notes {
        writeln!(out, "note: {note}")?;
    }
    let style = match plan.verdict {
        Verdict::DataLoss => p.error,
        Verdict::Risky => p.warning,
        Verdict::Safe => p.help,
    };
    let mut verdict = plan.verdict.as_str().to_string();
    if plan.uncertain {
        verdict.push_str(" (uncertain: the database's current revision is unknown)");
    }
    writeln!(out, "verdict: {}", text_paint(style, &verdict))
}

//! How `dbguard plan` shows an alembic command: the configuration, the database's current
//! revision, every migration step in order with its findings, and the verdict.

use std::io::Write;

use super::Context;
use crate::output::text_paint;
use crate::plan::{Plan, Verdict};

pub fn render(plan: &Plan, context: &Context, out: &mut dyn Write) -> std::io::Result<()> {
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

//! The alembic migration plan (used by `dbguard plan` and the guard): a wrapped alembic command → the migrations it would run, in order, with
//! the findings of each, and a verdict. Nothing is run; the database is only read (its
//! `alembic_version`). Where the database cannot be read, the plan assumes the worst end of
//! what is possible (every revision up to the target for an upgrade, every revision down to
//! it for a downgrade) and says it is uncertain: it is never "safe".

pub mod state;

use std::path::Path;

use serde::Serialize;

use crate::analysis::alembic::check as revision_check;
use crate::analysis::alembic::config::{self, Sources};
use crate::analysis::alembic::invocation::{Action, AlembicCommand};
use crate::analysis::alembic::project::Project;
use crate::analysis::alembic::walk::{self, Direction, Step};
use crate::analysis::simulate::Simulation;
use crate::analysis::{Finding, Severity};
use crate::target::Target;
use state::State;

/// Where to look for things, passed in so the plan can be built in tests.
pub struct Inputs<'a> {
    pub cwd: &'a Path,
    /// `$ALEMBIC_CONFIG`.
    pub alembic_config_env: Option<&'a str>,
    /// `[alembic] config` from dbguard.toml, already resolved against its directory.
    pub preferred_config: Option<&'a Path>,
    /// The target database and where its address came from.
    pub target: Option<(Target, String)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The alembic command, as given.
    pub command: String,
    /// The alembic configuration read.
    pub config: String,
    /// The database, password masked; `None` when no database is needed (offline `--sql`).
    pub database: Option<String>,
    pub database_source: Option<String>,
    /// The revisions in alembic_version (`[]`: base); `None` when unknown.
    pub current: Option<Vec<String>>,
    /// Why the database could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_error: Option<String>,
    pub steps: Vec<PlanStep>,
    /// What else the command changes (stamp, offline mode, read-only commands).
    pub notes: Vec<String>,
    pub verdict: Verdict,
    /// The database state was unknown: the steps are what could run, not what will.
    pub uncertain: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanStep {
    pub revision: String,
    pub direction: Direction,
    /// `a -> b` as alembic logs it.
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Safe,
    Risky,
    DataLoss,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::Risky => "risky",
            Verdict::DataLoss => "data-loss",
        }
    }
}

/// Builds the plan for an alembic command. Errors are what alembic itself would fail with
/// (unknown revision, "Ambiguous walk") or a configuration dbguard cannot read.
pub fn build(command: &AlembicCommand, shown: &str, inputs: Inputs<'_>) -> Result<Plan, String> {
    let sources = Sources::resolve(
        inputs.cwd,
        &command.configs,
        command.name.as_deref(),
        inputs.alembic_config_env,
        inputs.preferred_config,
    )?;
    let config = config::load(&sources, inputs.cwd)?;
    let config_shown = config.source.clone();
    let project = Project::load(config)?;
    let mut plan = Plan {
        command: shown.to_string(),
        config: config_shown,
        database: None,
        database_source: None,
        current: None,
        database_error: None,
        steps: Vec::new(),
        notes: Vec::new(),
        verdict: Verdict::Safe,
        uncertain: false,
    };

    let offline = matches!(
        command.action,
        Action::Upgrade { sql: true, .. }
            | Action::Downgrade { sql: true, .. }
            | Action::Stamp { sql: true, .. }
    );
    let needs_database = !offline
        && matches!(
            command.action,
            Action::Upgrade { .. } | Action::Downgrade { .. } | Action::Stamp { .. }
        );
    if needs_database {
        match &inputs.target {
            Some((target, source)) => {
                plan.database = Some(target.masked_url());
                plan.database_source = Some(source.clone());
                match state::read(target) {
                    State::Known(heads) => plan.current = Some(heads),
                    State::NoVersionTable => {
                        plan.current = Some(Vec::new());
                        plan.notes.push(
                            "the database has no alembic_version table, so alembic starts from base \
                             (if env.py configures another version_table, this plan does not know it)"
                                .to_string(),
                        );
                    }
                    State::Unknown(why) => plan.database_error = Some(why),
                }
            }
            None => plan.database_error = Some("no database configured".to_string()),
        }
    }
    let graph = &project.graph;
    let current = plan.current.clone();
    let steps: Vec<Step> = match &command.action {
        Action::Upgrade { sql: true, .. } | Action::Downgrade { sql: true, .. } => {
            plan.notes.push(
                "offline mode (--sql): alembic prints the SQL and changes nothing in the database"
                    .to_string(),
            );
            Vec::new()
        }
        Action::Upgrade { target, .. } => match &current {
            Some(heads) => walk::upgrade(graph, heads, target)?,
            None => {
                plan.uncertain = true;
                // `+N` from an unknown revision could be any N steps: assume all of them.
                let target = if is_relative(target) { "heads" } else { target };
                plan.notes.push(format!(
                    "the current revision is unknown: listing every revision `upgrade {target}` could run (from base)"
                ));
                walk::upgrade(graph, &[], target)?
            }
        },
        Action::Downgrade { target, .. } => match &current {
            Some(heads) => walk::downgrade(graph, heads, target)?,
            None => {
                plan.uncertain = true;
                let heads: Vec<String> = graph
                    .real_heads
                    .iter()
                    .map(|h| graph.id(*h).to_string())
                    .collect();
                // `-N` from an unknown revision could undo any revision: assume all of them.
                let target = if is_relative(target) { "base" } else { target };
                plan.notes.push(format!(
                    "the current revision is unknown: listing every revision `downgrade {target}` could run (from the heads)"
                ));
                walk::downgrade(graph, &heads, target)?
            }
        },
        Action::Stamp {
            targets,
            sql,
            purge,
        } => {
            let resolved = walk::stamp(graph, targets)?;
            let shown = if resolved.is_empty() {
                "base (emptied)".to_string()
            } else {
                resolved.join(", ")
            };
            let mode = if *sql { " (offline: printed only)" } else { "" };
            plan.notes.push(format!(
                "stamp changes only the alembic_version table{mode}: it will say {shown}{}; no migration runs",
                if *purge { " after purging it" } else { "" }
            ));
            if plan.database_error.is_some() {
                plan.uncertain = true;
            }
            Vec::new()
        }
        Action::ReadOnly { command } => {
            plan.notes
                .push(format!("alembic {command} does not change the database"));
            Vec::new()
        }
        Action::Nothing => {
            plan.notes
                .push("no alembic command: nothing runs".to_string());
            Vec::new()
        }
    };
    if plan.database_error.is_some() && needs_database {
        plan.uncertain = true;
    }
    // One simulation across the steps: what an earlier step creates or renames is what a
    // later one finds (never the database as it is now).
    let mut simulation = Simulation::new();
    for step in steps {
        plan.steps
            .push(plan_step(&project, step, inputs.cwd, &mut simulation));
    }
    let worst = plan
        .steps
        .iter()
        .flat_map(|s| &s.findings)
        .filter(|f| !f.suppressed)
        .map(|f| f.severity)
        .max();
    plan.verdict = match worst {
        Some(Severity::DataLoss) => Verdict::DataLoss,
        Some(Severity::Risky) => Verdict::Risky,
        _ => Verdict::Safe,
    };
    if plan.uncertain && plan.verdict == Verdict::Safe {
        plan.verdict = Verdict::Risky;
    }
    Ok(plan)
}

/// `+2`, `-1`, `branch@-1`: a target counted from the current revision.
fn is_relative(target: &str) -> bool {
    let symbol = target.rsplit_once('@').map_or(target, |(_, s)| s);
    symbol.len() > 1
        && symbol.starts_with(['+', '-'])
        && symbol[1..].chars().all(|c| c.is_ascii_digit())
}

fn plan_step(project: &Project, step: Step, cwd: &Path, simulation: &mut Simulation) -> PlanStep {
    let node = &project.graph.nodes[step.rev];
    let rev = &node.rev;
    let display = rev
        .path
        .strip_prefix(cwd)
        .unwrap_or(&rev.path)
        .to_string_lossy()
        .into_owned();
    simulation.begin(format!("revision {}", rev.id));
    let report = revision_check::check_step(&rev.path, &display, step.direction, simulation);
    let (from, to) = step.ends(&project.graph);
    PlanStep {
        revision: rev.id.clone(),
        direction: step.direction,
        from,
        to,
        path: display,
        doc: rev.doc.clone(),
        findings: report.findings,
    }
}

#[cfg(test)]
mod tests {
    use super::is_relative;

    #[test]
    fn relative_targets() {
        assert!(is_relative("-1") && is_relative("+2") && is_relative("feature@-1"));
        assert!(!is_relative("head") && !is_relative("ae10+2") && !is_relative("base"));
    }
}

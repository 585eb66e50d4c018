//! An alembic command line → which alembic command, with which configuration, targets and
//! flags; and the guard's plan for it (the migration steps it would run, from `crate::plan`).
//!
//! Launchers (`python -m alembic`, `poetry run`, `uv run`, `env VAR=…`, `.venv/bin/alembic`)
//! are seen through by `wrappers`, shared with every other command.

use super::{Inputs, Plan, Tool};
// The command line itself is read in `analysis::alembic::invocation` (plan/ reads it too).
pub use crate::analysis::alembic::invocation::{parse_alembic, Action, AlembicCommand};
use crate::analysis::FileReport;
use crate::error::Error;

/// The guard's plan for `alembic ARGS…` (`args` starts with `alembic`): the migration steps
/// it would run against `[database]` (or `--url`), each step's findings, and whether the
/// database's current revision could be read (if not, the plan is uncertain).
pub fn classify(args: &[String], inputs: &Inputs) -> crate::error::Result<Plan> {
    let shown = crate::target::mask_secrets(&super::shell_join(args));
    let command = parse_alembic(&args[1..]).map_err(|why| {
        Error::usage(format!("cannot read `{shown}`: {why}"))
            .with_help("see `alembic --help` for the command's syntax")
    })?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let config = inputs.config;
    let preferred = config.alembic_config();
    let env_config = inputs.env.var("ALEMBIC_CONFIG");
    // A database address that does not parse gives a plan without a database, not a crash.
    let (target, target_error) = match config.database(inputs.database_url, inputs.env) {
        Ok(t) => (Some(t), None),
        Err(e) => (None, Some(e.message)),
    };
    let plan_inputs = crate::plan::Inputs {
        cwd: &cwd,
        alembic_config_env: env_config.as_deref(),
        preferred_config: preferred.as_deref(),
        target: target.clone(),
    };
    let mut steps = crate::plan::build(&command, &shown, plan_inputs).map_err(|why| {
        Error::usage(format!("{shown}: {why}"))
            .with_help("alembic would fail the same way; check the revision argument and the alembic configuration")
    })?;
    if let (Some(why), None) = (target_error, &steps.current) {
        steps.database_error = Some(why);
    }
    let mut plan = Plan::new(args, Tool::Alembic, describe(&steps));
    plan.target = target;
    plan.reports = steps
        .steps
        .iter()
        .map(|step| FileReport {
            path: step.path.clone(),
            statements: 0,
            findings: step.findings.clone(),
        })
        .collect();
    plan.notes = steps.notes.clone();
    if steps.uncertain {
        let why = steps
            .database_error
            .clone()
            .unwrap_or_else(|| "the database could not be read".into());
        plan.uncertain = Some(format!("the current alembic revision is unknown ({why})"));
    }
    plan.alembic = Some(steps);
    Ok(plan)
}

fn describe(plan: &crate::plan::Plan) -> String {
    match plan.steps.len() {
        0 => format!("{}: runs no migration", plan.command),
        1 => format!("{}: runs 1 migration step", plan.command),
        n => format!("{}: runs {n} migration steps", plan.command),
    }
}

/// What a wrapped command is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wrapped {
    Alembic(AlembicCommand),
    /// Anything else; `program` is its first word.
    Other {
        program: String,
    },
}

/// Classifies a command line (program first), seeing through launchers (`poetry run`,
/// `python -m`, `env VAR=…`, …) with the same unwrapping the guard uses for every command.
pub fn parse(argv: &[String]) -> Result<Wrapped, String> {
    let unwrapped = super::wrappers::unwrap(argv);
    let args = &unwrapped.args;
    match args.first() {
        Some(first) if super::program_name(first) == "alembic" => {
            parse_alembic(&args[1..]).map(Wrapped::Alembic)
        }
        _ => Ok(Wrapped::Other {
            program: argv.first().cloned().unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Wrapped, String> {
        let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&argv)
    }

    fn alembic(line: &str) -> AlembicCommand {
        match parse_str(line).unwrap() {
            Wrapped::Alembic(c) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn launchers() {
        for line in [
            "alembic upgrade head",
            "python -m alembic upgrade head",
            "python3.12 -m alembic upgrade head",
            "poetry run alembic upgrade head",
            "uv run --with psycopg2 alembic upgrade head",
            "env DATABASE_URL=x alembic upgrade head",
            ".venv/bin/alembic upgrade head",
        ] {
            assert_eq!(
                alembic(line).action,
                Action::Upgrade {
                    target: "head".into(),
                    sql: false
                },
                "{line}"
            );
        }
        assert_eq!(
            parse_str("psql -f x.sql").unwrap(),
            Wrapped::Other {
                program: "psql".into()
            }
        );
    }

    #[test]
    fn options_and_subcommands() {
        let c = alembic("alembic -c db/alembic.ini -n second -x tenant=a downgrade -1");
        assert_eq!(c.configs, ["db/alembic.ini"]);
        assert_eq!(c.name.as_deref(), Some("second"));
        assert_eq!(
            c.action,
            Action::Downgrade {
                target: "-1".into(),
                sql: false
            }
        );
        assert_eq!(
            alembic("alembic upgrade a:b --sql").action,
            Action::Upgrade {
                target: "a:b".into(),
                sql: true
            }
        );
        assert_eq!(
            alembic("alembic stamp --purge head").action,
            Action::Stamp {
                targets: vec!["head".into()],
                sql: false,
                purge: true
            }
        );
        assert!(matches!(
            alembic("alembic history --verbose").action,
            Action::ReadOnly { .. }
        ));
        assert!(parse_str("alembic upgrade").is_err());
        assert!(parse_str("alembic frobnicate").is_err());
    }
}

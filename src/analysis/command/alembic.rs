//! An alembic command line → which alembic command, with which configuration, targets and
//! flags; and the guard's plan for it (the migration steps it would run, from `crate::plan`).
//!
//! Launchers (`python -m alembic`, `poetry run`, `uv run`, `env VAR=…`, `.venv/bin/alembic`)
//! are seen through by `wrappers`, shared with every other command.

use super::{Inputs, Plan, Tool};
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
    let preferred = config
        .config
        .alembic
        .config
        .as_ref()
        .map(|p| config.resolve(p));
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

/// A parsed `alembic` invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlembicCommand {
    /// `-c/--config` values in order (one `.ini` and/or one `pyproject.toml`).
    pub configs: Vec<String>,
    /// `-n/--name`: the `.ini` section.
    pub name: Option<String>,
    /// `-x` arguments for env.py.
    pub x_args: Vec<String>,
    pub action: Action,
}

/// What the alembic subcommand does to the database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Action {
    /// `upgrade TARGET` (`sql`: `--sql` prints SQL and changes nothing).
    Upgrade {
        target: String,
        sql: bool,
    },
    Downgrade {
        target: String,
        sql: bool,
    },
    /// `stamp REV…`: rewrites the version table only (`purge` empties it first).
    Stamp {
        targets: Vec<String>,
        sql: bool,
        purge: bool,
    },
    /// Commands that do not change the database (`current`, `history`, `revision`, …).
    ReadOnly {
        command: String,
    },
    /// No subcommand (`alembic --help`, `alembic --version`).
    #[default]
    Nothing,
}

/// Subcommands that never change the database's schema or data.
const READ_ONLY: &[&str] = &[
    "current",
    "history",
    "heads",
    "branches",
    "show",
    "check",
    "revision",
    "merge",
    "edit",
    "init",
    "list_templates",
    "ensure_version",
];

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

pub fn parse_alembic(args: &[String]) -> Result<AlembicCommand, String> {
    let mut command = AlembicCommand::default();
    let mut i = 0;
    let value = |i: &mut usize, flag: &str| -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("alembic option {flag} needs a value"))
    };
    // Global options come before the subcommand.
    let sub = loop {
        let Some(arg) = args.get(i) else {
            return Ok(command);
        };
        match arg.as_str() {
            "-c" | "--config" => command.configs.push(value(&mut i, arg)?),
            "-n" | "--name" => command.name = Some(value(&mut i, arg)?),
            "-x" => command.x_args.push(value(&mut i, arg)?),
            "--raiseerr" | "-q" | "--quiet" => {}
            "-h" | "--help" | "--version" => return Ok(command),
            a if a.starts_with("--config=") => command.configs.push(a[9..].to_string()),
            a if a.starts_with("--name=") => command.name = Some(a[7..].to_string()),
            a if a.starts_with("-c") && a.len() > 2 => command.configs.push(a[2..].to_string()),
            a if a.starts_with("-n") && a.len() > 2 => command.name = Some(a[2..].to_string()),
            a if a.starts_with("-x") && a.len() > 2 => command.x_args.push(a[2..].to_string()),
            a if a.starts_with('-') => return Err(format!("unknown alembic option {a}")),
            a => break a.to_string(),
        }
        i += 1;
    };
    let rest = &args[i + 1..];
    let mut sql = false;
    let mut purge = false;
    let mut positional = Vec::new();
    let mut j = 0;
    while let Some(arg) = rest.get(j) {
        match arg.as_str() {
            "--sql" => sql = true,
            "--purge" => purge = true,
            "--tag" => j += 1,
            "-h" | "--help" => {
                command.action = Action::ReadOnly { command: sub };
                return Ok(command);
            }
            a if a.starts_with("--tag=") => {}
            // argparse reads `-1` as a (negative number) positional.
            a if a.starts_with('-') && a[1..].parse::<i64>().is_err() => {
                if !READ_ONLY.contains(&sub.as_str()) {
                    return Err(format!("unknown option {a} for alembic {sub}"));
                }
            }
            a => positional.push(a.to_string()),
        }
        j += 1;
    }
    command.action = match sub.as_str() {
        "upgrade" | "downgrade" => {
            let [target] = positional.as_slice() else {
                return Err(format!("alembic {sub} takes exactly one revision argument"));
            };
            let target = target.clone();
            if sub == "upgrade" {
                Action::Upgrade { target, sql }
            } else {
                Action::Downgrade { target, sql }
            }
        }
        "stamp" => {
            if positional.is_empty() {
                return Err("alembic stamp needs a revision argument".to_string());
            }
            Action::Stamp {
                targets: positional,
                sql,
                purge,
            }
        }
        s if READ_ONLY.contains(&s) => Action::ReadOnly { command: sub },
        other => return Err(format!("unknown alembic command `{other}`")),
    };
    Ok(command)
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

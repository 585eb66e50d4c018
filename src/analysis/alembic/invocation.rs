//! What an `alembic …` command line asks for (after its launcher is seen through): the
//! configuration, the subcommand, its targets and flags. Read by the guard's classification
//! (`analysis::command::alembic`) and by the step plan (`crate::plan`).

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

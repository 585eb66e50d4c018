//! A wrapped command line → what it is: which alembic command, with which configuration,
//! targets and flags. `dbguard plan` uses it now; the guard (`dbguard run`) reuses the same
//! classification, so it lives here as a library function.
//!
//! Recognised launchers: `alembic …`, `python[3[.N]] -m alembic …`, `poetry run`, `uv run`
//! (with its options), `pipenv run`, `pdm run`, `hatch run`, `env VAR=… …`, and any path
//! whose file name is `alembic` (`.venv/bin/alembic`).

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

/// Classifies a command line (program first).
pub fn parse(argv: &[String]) -> Result<Wrapped, String> {
    let Some(rest) = strip_launcher(argv) else {
        let program = argv.first().cloned().unwrap_or_default();
        return Ok(Wrapped::Other { program });
    };
    parse_alembic(rest).map(Wrapped::Alembic)
}

/// The arguments after `alembic` when the command runs alembic, else `None`.
fn strip_launcher(argv: &[String]) -> Option<&[String]> {
    let first = argv.first()?;
    let base = first.rsplit('/').next().unwrap_or(first);
    match base {
        "alembic" => Some(&argv[1..]),
        "env" => {
            let skip = argv[1..]
                .iter()
                .take_while(|a| a.contains('=') || a.starts_with('-'))
                .count();
            strip_launcher(&argv[1 + skip..])
        }
        "poetry" | "pipenv" | "pdm" | "hatch" | "uv" | "rye" => {
            let run = argv.iter().position(|a| a == "run")?;
            let mut i = run + 1;
            // uv run --with x --env-file f alembic …: skip options and their values.
            while let Some(a) = argv.get(i) {
                if !a.starts_with('-') {
                    break;
                }
                i += if a.contains('=') || !takes_value(a) {
                    1
                } else {
                    2
                };
            }
            strip_launcher(&argv[i..])
        }
        _ if is_python(base) => {
            let m = argv.iter().position(|a| a == "-m")?;
            (argv.get(m + 1)? == "alembic").then(|| &argv[m + 2..])
        }
        _ => None,
    }
}

/// `uv run` / `poetry run` options followed by a value.
fn takes_value(option: &str) -> bool {
    matches!(
        option,
        "--with"
            | "--with-requirements"
            | "--env-file"
            | "--python"
            | "-p"
            | "--project"
            | "--directory"
            | "--package"
            | "--group"
            | "--extra"
            | "-e"
            | "--index"
    )
}

fn is_python(base: &str) -> bool {
    base == "python"
        || base
            .strip_prefix("python")
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// alembic's own argument parser (argparse), for the options that matter.
fn parse_alembic(args: &[String]) -> Result<AlembicCommand, String> {
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

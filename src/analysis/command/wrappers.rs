//! Seeing through the ways people launch tools: `env VAR=… cmd`, `poetry run`, `uv run`,
//! `pipenv run`, `pdm run`, `python -m alembic`, … The environment assignments matter: they
//! can point the command at another database.

use std::collections::BTreeMap;

use crate::target::Env;

pub struct Unwrapped {
    pub args: Vec<String>,
    /// Variables set on the way (`env DATABASE_URL=… alembic …`).
    pub env: BTreeMap<String, String>,
}

/// The environment as the wrapped command will see it.
pub struct Overlay<'a> {
    pub base: &'a dyn Env,
    pub vars: &'a BTreeMap<String, String>,
}

impl Env for Overlay<'_> {
    fn var(&self, key: &str) -> Option<String> {
        match self.vars.get(key) {
            Some(v) if v.is_empty() => None,
            Some(v) => Some(v.clone()),
            None => self.base.var(key),
        }
    }
}

/// Options of `uv run` that take a value.
const UV_RUN_VALUE_OPTIONS: &[&str] = &[
    "--with",
    "--with-requirements",
    "--python",
    "-p",
    "--env-file",
    "--project",
    "--directory",
    "--group",
    "--extra",
    "--package",
    "--index",
    "--script",
];
/// Options of python itself that take a value.
const PYTHON_VALUE_OPTIONS: &[&str] = &["-X", "-W", "-c"];

pub fn unwrap(argv: &[String]) -> Unwrapped {
    let mut args: Vec<String> = argv.to_vec();
    let mut env = BTreeMap::new();
    while let Some(first) = args.first() {
        let program = super::program_name(first);
        let rest: Option<Vec<String>> = match program.as_str() {
            "env" => Some(strip_env(&args[1..], &mut env)),
            "poetry" | "pipenv" | "pdm" | "rye" | "hatch"
                if args.get(1).is_some_and(|a| a == "run") =>
            {
                Some(skip_options(&args[2..], &[]))
            }
            "uv" if args.get(1).is_some_and(|a| a == "run") => {
                Some(skip_options(&args[2..], UV_RUN_VALUE_OPTIONS))
            }
            "uvx" => Some(skip_options(&args[1..], UV_RUN_VALUE_OPTIONS)),
            p if p == "python" || p.starts_with("python3") || p.starts_with("python2") => {
                python_module(&args[1..])
            }
            _ => None,
        };
        match rest {
            Some(rest) if !rest.is_empty() => args = rest,
            _ => break,
        }
    }
    Unwrapped { args, env }
}

fn strip_env(args: &[String], env: &mut BTreeMap<String, String>) -> Vec<String> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "-i" || a == "--ignore-environment" || a == "-" {
            i += 1;
        } else if a == "-u" || a == "--unset" {
            if let Some(name) = args.get(i + 1) {
                env.insert(name.clone(), String::new());
            }
            i += 2;
        } else if a == "--" {
            i += 1;
            break;
        } else if let Some((k, v)) = a
            .split_once('=')
            .filter(|(k, _)| !k.is_empty() && !k.starts_with('-'))
        {
            env.insert(k.to_string(), v.to_string());
            i += 1;
        } else {
            break;
        }
    }
    args[i.min(args.len())..].to_vec()
}

fn skip_options(args: &[String], value_options: &[&str]) -> Vec<String> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') {
            break;
        }
        i += if value_options.contains(&a.as_str()) {
            2
        } else {
            1
        };
    }
    args[i.min(args.len())..].to_vec()
}

/// `python [opts] -m module args…` → `module args…`.
fn python_module(args: &[String]) -> Option<Vec<String>> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "-m" {
            return Some(args[i + 1..].to_vec());
        }
        if let Some(module) = a.strip_prefix("-m").filter(|m| !m.is_empty()) {
            let mut rest = vec![module.to_string()];
            rest.extend_from_slice(&args[i + 1..]);
            return Some(rest);
        }
        if !a.starts_with('-') || a == "-c" {
            return None; // a script or inline code: not a module run
        }
        i += if PYTHON_VALUE_OPTIONS.contains(&a.as_str()) {
            2
        } else {
            1
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn runners_and_modules_are_seen_through() {
        for line in [
            "alembic downgrade -1",
            "poetry run alembic downgrade -1",
            "uv run --with psycopg2 alembic downgrade -1",
            "python -m alembic downgrade -1",
            "python3.11 -u -m alembic downgrade -1",
            "pipenv run python -m alembic downgrade -1",
            "env -i alembic downgrade -1",
        ] {
            assert_eq!(
                unwrap(&args(line)).args,
                args("alembic downgrade -1"),
                "{line}"
            );
        }
    }

    #[test]
    fn env_assignments_are_kept() {
        let u = unwrap(&args(
            "env DATABASE_URL=postgresql://x/y PGPORT=5434 psql -c select",
        ));
        assert_eq!(u.args, args("psql -c select"));
        assert_eq!(u.env.get("PGPORT").map(String::as_str), Some("5434"));
    }

    #[test]
    fn scripts_are_left_alone() {
        assert_eq!(
            unwrap(&args("python manage.py flush")).args,
            args("python manage.py flush")
        );
    }
}

//! Which database URL the tests will use, and where that comes from.
//!
//! The order (first found wins): `--url`; `[test_database] url`, then its `url_env` variable
//! (default `TEST_DATABASE_URL`); the pytest configuration's pytest-env entries; conftest.py
//! files; `.env.test`. Within a file the variables that name a test database rank first,
//! then the dev variable (`[database] url_env`, default `DATABASE_URL`: set by a test-only
//! file it *is* the test URL), then other database-URL-looking names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::Loaded;
use crate::project::{self, pytest_config, Access, Assignment, Value};
use crate::target::Env;

pub const DEFAULT_TEST_VAR: &str = "TEST_DATABASE_URL";
pub const DEFAULT_DEV_VAR: &str = "DATABASE_URL";

/// A URL the tests may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The raw URL (may hold a password: never print it; `None` when the file builds it
    /// in a way dbguard cannot evaluate statically).
    pub raw: Option<String>,
    /// Where it comes from, for people: `pytest.ini:4 (pytest-env sets DATABASE_URL)`.
    pub source: String,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub chosen: Option<Candidate>,
    /// URLs later sources would have given, when they differ from the chosen one.
    pub shadowed: Vec<Candidate>,
    /// Every place looked at, for the message when nothing is found.
    pub searched: Vec<String>,
}

pub struct Inputs<'a> {
    pub cli_url: Option<&'a str>,
    pub config: &'a Loaded,
    pub env: &'a dyn Env,
    pub cwd: &'a Path,
}

pub fn discover(inputs: &Inputs) -> Discovery {
    let config = &inputs.config.config;
    let test_var = config
        .test_database
        .url_env
        .clone()
        .unwrap_or_else(|| DEFAULT_TEST_VAR.to_string());
    let dev_var = config
        .database
        .url_env
        .clone()
        .unwrap_or_else(|| DEFAULT_DEV_VAR.to_string());
    let names = Names {
        test: &test_var,
        dev: &dev_var,
    };
    let mut found: Vec<Candidate> = Vec::new();
    let mut searched = Vec::new();

    if let Some(url) = inputs.cli_url {
        found.push(known(url, "--url".into()));
    }
    if let Some(url) = &config.test_database.url {
        found.push(known(url, "dbguard.toml [test_database] url".into()));
    }
    searched.push("[test_database] url".to_string());
    if let Some(url) = inputs.env.var(&test_var) {
        found.push(known(&url, format!("${test_var}")));
    }
    searched.push(format!("${test_var}"));

    let pytest = pytest_config::find(inputs.cwd);
    let root = project_root(inputs, pytest.as_ref());
    match &pytest {
        Some(config) => {
            let shown = project::shown(&config.path, inputs.cwd);
            searched.push(format!("pytest-env in {shown}"));
            let assignments = config.env_assignments(&shown, inputs.env);
            found.extend(pick(&assignments, &names, inputs.env));
        }
        None => searched.push("pytest configuration (none found)".to_string()),
    }
    let conftests = project::conftest_files(&root);
    searched.push(format!("{} conftest.py file(s)", conftests.len()));
    for path in &conftests {
        let shown = project::shown(path, inputs.cwd);
        let assignments = project::conftest_assignments(path, &shown);
        found.extend(pick(&assignments, &names, inputs.env));
    }
    let mut env_files = vec![root.join(".env.test")];
    if inputs.cwd != root {
        env_files.push(inputs.cwd.join(".env.test"));
    }
    for path in env_files.iter().filter(|p| p.is_file()) {
        let shown = project::shown(path, inputs.cwd);
        let assignments = project::dotenv_assignments(path, &shown, inputs.env);
        found.extend(pick(&assignments, &names, inputs.env));
    }
    searched.push(".env.test".to_string());

    let mut found = found.into_iter();
    let chosen = found.next();
    let shadowed = found
        .filter(|c| chosen.as_ref().is_some_and(|chosen| chosen.raw != c.raw))
        .collect();
    Discovery {
        chosen,
        shadowed,
        searched,
    }
}

fn known(url: &str, source: String) -> Candidate {
    Candidate {
        raw: Some(url.to_string()),
        source,
    }
}

/// Where conftest.py and .env.test files are searched: pytest's rootdir, else the directory
/// of dbguard.toml, else the current directory.
fn project_root(inputs: &Inputs, pytest: Option<&pytest_config::PytestConfig>) -> PathBuf {
    pytest
        .map(|p| p.rootdir().to_path_buf())
        .or_else(|| {
            inputs
                .config
                .path
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| inputs.cwd.to_path_buf())
}

struct Names<'a> {
    test: &'a str,
    dev: &'a str,
}

impl Names<'_> {
    /// Lower is better; `None`: not a database URL variable.
    fn rank(&self, var: &str) -> Option<u8> {
        if var == self.test {
            return Some(0);
        }
        let generic = looks_like_database_url_var(var);
        if generic && var.to_ascii_uppercase().contains("TEST") {
            return Some(1);
        }
        if var == self.dev {
            return Some(2);
        }
        generic.then_some(3)
    }
}

fn looks_like_database_url_var(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    let names_database = upper.contains("DATABASE")
        || upper
            .split('_')
            .any(|part| matches!(part, "DB" | "POSTGRES" | "POSTGRESQL" | "PG"));
    names_database && ["URL", "URI", "DSN"].iter().any(|s| upper.ends_with(s))
}

/// What the test process sees after this file's assignments, for the best-ranked database
/// variable the file mentions.
fn pick(assignments: &[Assignment], names: &Names, env: &dyn Env) -> Option<Candidate> {
    // var -> (value, where it came from)
    let mut state: HashMap<&str, Candidate> = HashMap::new();
    let mut mentioned: Vec<(&str, u8)> = Vec::new();
    for a in assignments {
        let Some(rank) = names.rank(&a.var) else {
            continue;
        };
        // Generic names count only with a PostgreSQL-looking value (REDIS_URL is no test DB).
        if rank == 3 && !matches!(&a.value, Value::Known(v) if is_postgres_url(v)) {
            continue;
        }
        if !mentioned.iter().any(|(v, _)| *v == a.var) {
            mentioned.push((&a.var, rank));
        }
        let from_env = || {
            env.var(&a.var).map(|v| Candidate {
                raw: Some(v),
                source: match a.access {
                    Access::Read => format!("${}, read by {} ({})", a.var, a.location, a.how),
                    _ => format!(
                        "${}, set in the environment: {} ({}) only sets it when unset",
                        a.var, a.location, a.how
                    ),
                },
            })
        };
        let own = || Candidate {
            raw: match &a.value {
                Value::Known(v) => Some(v.clone()),
                _ => None,
            },
            source: format!("{}: {} sets {}", a.location, a.how, a.var),
        };
        let current = state.get(a.var.as_str()).cloned();
        let next = match a.access {
            Access::Set => Some(own()),
            Access::Default => current
                .or_else(from_env)
                .or_else(|| (a.value != Value::Absent).then(own)),
            Access::Read => current.or_else(from_env),
        };
        if let Some(next) = next {
            state.insert(&a.var, next);
        }
    }
    mentioned.sort_by_key(|(_, rank)| *rank);
    mentioned.into_iter().find_map(|(var, _)| state.remove(var))
}

fn is_postgres_url(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with("postgres") && lower.contains("://")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn assignment(var: &str, value: Option<&str>, access: Access) -> Assignment {
        Assignment {
            var: var.into(),
            value: value.map_or(Value::Absent, |v| Value::Known(v.into())),
            access,
            location: "f:1".into(),
            how: "test".into(),
        }
    }

    const NAMES: Names = Names {
        test: "TEST_DATABASE_URL",
        dev: "DATABASE_URL",
    };

    #[test]
    fn test_variables_rank_before_the_dev_variable() {
        let env: BTreeMap<&str, &str> = BTreeMap::new();
        let found = pick(
            &[
                assignment("DATABASE_URL", Some("postgresql:///dev"), Access::Set),
                assignment("TEST_DATABASE_URL", Some("postgresql:///t"), Access::Set),
                assignment("REDIS_URL", Some("redis://x"), Access::Set),
            ],
            &NAMES,
            &env,
        )
        .unwrap();
        assert_eq!(found.raw.as_deref(), Some("postgresql:///t"));
    }

    #[test]
    fn defaults_yield_to_the_environment() {
        let env: BTreeMap<&str, &str> = [("DATABASE_URL", "postgresql:///dev")]
            .into_iter()
            .collect();
        let found = pick(
            &[assignment(
                "DATABASE_URL",
                Some("postgresql:///t"),
                Access::Default,
            )],
            &NAMES,
            &env,
        )
        .unwrap();
        assert_eq!(found.raw.as_deref(), Some("postgresql:///dev"));
        assert!(
            found.source.contains("only sets it when unset"),
            "{}",
            found.source
        );
        // A plain assignment wins over the environment.
        let found = pick(
            &[assignment(
                "DATABASE_URL",
                Some("postgresql:///t"),
                Access::Set,
            )],
            &NAMES,
            &env,
        )
        .unwrap();
        assert_eq!(found.raw.as_deref(), Some("postgresql:///t"));
    }

    #[test]
    fn reads_without_values_need_the_environment() {
        let empty: BTreeMap<&str, &str> = BTreeMap::new();
        assert!(pick(
            &[assignment("DATABASE_URL", None, Access::Read)],
            &NAMES,
            &empty
        )
        .is_none());
        assert!(looks_like_database_url_var("SQLALCHEMY_DATABASE_URI"));
        assert!(looks_like_database_url_var("TEST_DB_URL"));
        assert!(!looks_like_database_url_var("REDIS_URL"));
    }
}

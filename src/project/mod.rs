//! Reading a Python project statically: pytest configuration, conftest.py files, `.env`
//! files and alembic.ini. Nothing here runs project code or touches a database; it only
//! reads files, so `verify-test-db` and `init` can say where each value came from.

pub mod alembic_ini;
pub mod compose;
pub mod conftest;
pub mod dotenv;
pub mod ini;
pub mod pytest_config;

use std::path::{Path, PathBuf};

pub use conftest::{Access, Value};

use crate::target::Env;

/// Something a project file does to an environment variable the tests will see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub var: String,
    pub value: Value,
    pub access: Access,
    /// `path:line`, as shown to the user.
    pub location: String,
    /// How it is written there: "pytest-env", "os.environ[...] =", ".env file", …
    pub how: String,
}

/// Directories never searched for conftest.py files: virtualenvs, caches, dependencies.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    "site-packages",
    "venv",
    "env",
    "build",
    "dist",
    "target",
];
const MAX_DEPTH: usize = 8;
/// At most this many directories are read: pytest's rootdir can be far up (a stray
/// pytest.ini in a home directory), and the search must stay quick even then.
const MAX_DIRS: usize = 5_000;

/// Every conftest.py under `root`: the root's own first, then deeper ones in path order (the
/// order pytest imports them in for a full run).
pub fn conftest_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut budget = MAX_DIRS;
    walk(root, 0, &mut budget, &mut found);
    found.sort_by_key(|p| (p.components().count(), p.clone()));
    found
}

fn walk(dir: &Path, depth: usize, budget: &mut usize, found: &mut Vec<PathBuf>) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if depth < MAX_DEPTH && !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref())
            {
                walk(&entry.path(), depth + 1, budget, found);
            }
        } else if name == "conftest.py" {
            found.push(entry.path());
        }
    }
}

/// The assignments of one conftest.py.
pub fn conftest_assignments(path: &Path, shown: &str) -> Vec<Assignment> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    conftest::env_accesses(&text)
        .into_iter()
        .map(|a| Assignment {
            var: a.var,
            value: a.value,
            access: a.access,
            location: format!("{shown}:{}", a.line),
            how: a.form.to_string(),
        })
        .collect()
}

/// The variables of a `.env`-style file (python-dotenv does not override variables that are
/// already set, unless told to: so these are defaults).
pub fn dotenv_assignments(path: &Path, shown: &str, env: &dyn Env) -> Vec<Assignment> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    dotenv::parse(&text, env)
        .into_iter()
        .map(|v| Assignment {
            var: v.key,
            value: Value::Known(v.value),
            access: Access::Default,
            location: format!("{shown}:{}", v.line),
            how: "dotenv file".to_string(),
        })
        .collect()
}

/// `path` relative to `base` when it is inside it, for messages.
pub fn shown(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conftest_files_root_first_skipping_environments() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            "tests/unit/conftest.py",
            "conftest.py",
            "tests/conftest.py",
            ".venv/lib/conftest.py",
            "venv/lib/site-packages/x/conftest.py",
            "node_modules/conftest.py",
        ] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let found: Vec<String> = conftest_files(dir.path())
            .iter()
            .map(|p| shown(p, dir.path()))
            .collect();
        assert_eq!(
            found,
            ["conftest.py", "tests/conftest.py", "tests/unit/conftest.py"]
        );
    }
}

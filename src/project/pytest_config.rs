//! The pytest configuration file pytest itself would pick, and the environment variables
//! pytest-env sets from it.
//!
//! pytest looks from the start directory upwards and, in each directory, takes the first of
//! `pytest.ini`, `.pytest.ini` (always), `pyproject.toml` (with `[tool.pytest.ini_options]`),
//! `tox.ini` (with `[pytest]`) and `setup.cfg` (with `[tool:pytest]`). pytest-env reads the
//! `env` lines of that file (`[D:][R:]NAME=VALUE`: `D:` only sets an unset variable, `R:`
//! skips `{VAR}` expansion) and, in pyproject.toml, the `[tool.pytest_env]` table.

use std::path::{Path, PathBuf};

use super::ini::Ini;
use super::{Access, Assignment, Value};
use crate::target::Env;

#[derive(Clone, Debug)]
pub struct PytestConfig {
    pub path: PathBuf,
    /// What made it pytest's configuration: "pytest.ini", "pyproject.toml [tool.pytest.ini_options]", …
    pub kind: &'static str,
    text: String,
}

impl PytestConfig {
    /// The directory pytest would use as its rootdir.
    pub fn rootdir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// The configuration pytest would use when started in `start`.
pub fn find(start: &Path) -> Option<PytestConfig> {
    for dir in start.ancestors() {
        for (name, kind) in [
            ("pytest.ini", "pytest.ini"),
            (".pytest.ini", ".pytest.ini"),
            ("pyproject.toml", "pyproject.toml [tool.pytest.ini_options]"),
            ("tox.ini", "tox.ini [pytest]"),
            ("setup.cfg", "setup.cfg [tool:pytest]"),
        ] {
            let path = dir.join(name);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let config = PytestConfig { path, kind, text };
            if config.is_pytest_config() {
                return Some(config);
            }
        }
    }
    None
}

impl PytestConfig {
    fn is_pytest_config(&self) -> bool {
        match self.kind {
            "pytest.ini" | ".pytest.ini" => true,
            "tox.ini [pytest]" => Ini::parse(&self.text).has_section("pytest"),
            "setup.cfg [tool:pytest]" => Ini::parse(&self.text).has_section("tool:pytest"),
            _ => toml_table(&self.text, &["tool", "pytest", "ini_options"]).is_some(),
        }
    }

    fn ini_section(&self) -> &'static str {
        match self.kind {
            "setup.cfg [tool:pytest]" => "tool:pytest",
            _ => "pytest",
        }
    }

    /// pytest-env's assignments, in the order pytest-env applies them.
    pub fn env_assignments(&self, shown: &str, env: &dyn Env) -> Vec<Assignment> {
        let mut out = Vec::new();
        if self.kind.starts_with("pyproject.toml") {
            out.extend(pytest_env_table(&self.text, shown, env));
            if let Some(options) = toml_table(&self.text, &["tool", "pytest", "ini_options"]) {
                let lines: Vec<String> = match options.get("env") {
                    Some(toml::Value::Array(items)) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_string))
                        .collect(),
                    Some(toml::Value::String(s)) => s.lines().map(str::to_string).collect(),
                    _ => Vec::new(),
                };
                let line = line_of(&self.text, "env");
                for entry in lines {
                    out.extend(env_line(&entry, &format!("{shown}:{line}"), env));
                }
            }
        } else {
            let ini = Ini::parse(&self.text);
            if let Some(entry) = ini.get(self.ini_section(), "env") {
                for (text, line) in entry.value.lines().zip(&entry.value_lines) {
                    out.extend(env_line(text, &format!("{shown}:{line}"), env));
                }
            }
        }
        out
    }
}

/// One `[D:][R:]NAME=VALUE` line.
fn env_line(line: &str, location: &str, env: &dyn Env) -> Option<Assignment> {
    let mut rest = line.trim();
    let (mut default, mut raw) = (false, false);
    loop {
        if let Some(r) = rest.strip_prefix("D:") {
            default = true;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("R:") {
            raw = true;
            rest = r;
        } else {
            break;
        }
    }
    let (name, value) = rest.split_once('=')?;
    let value = value.trim();
    let value = if raw {
        value.to_string()
    } else {
        format_env(value, env)
    };
    Some(Assignment {
        var: name.trim().to_string(),
        value: Value::Known(value),
        access: if default {
            Access::Default
        } else {
            Access::Set
        },
        location: location.to_string(),
        how: format!(
            "pytest-env{}",
            if default { " (D: only when unset)" } else { "" }
        ),
    })
}

/// `{VAR}` expansion as Python's `str.format(**os.environ)` does it; `{{` is a brace.
fn format_env(value: &str, env: &dyn Env) -> String {
    let mut out = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '}')).collect();
                chars.next();
                match env.var(&name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(&name);
                        out.push('}');
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// pytest-env's `[tool.pytest_env]`: `NAME = "value"` or
/// `NAME = { value = "…", transform = true, skip_if_set = true }`.
fn pytest_env_table(text: &str, shown: &str, env: &dyn Env) -> Vec<Assignment> {
    let Some(table) = toml_table(text, &["tool", "pytest_env"]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, item) in &table {
        let (value, transform, skip_if_set) = match item {
            toml::Value::Table(t) => (
                t.get("value").map(toml_scalar),
                t.get("transform")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false),
                t.get("skip_if_set")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false),
            ),
            other => (Some(toml_scalar(other)), false, false),
        };
        let Some(value) = value else { continue };
        let value = if transform {
            format_env(&value, env)
        } else {
            value
        };
        out.push(Assignment {
            var: name.clone(),
            value: Value::Known(value),
            access: if skip_if_set {
                Access::Default
            } else {
                Access::Set
            },
            location: format!("{shown}:{}", line_of(text, name)),
            how: "pytest-env [tool.pytest_env]".to_string(),
        });
    }
    out
}

fn toml_scalar(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn toml_table(text: &str, path: &[&str]) -> Option<toml::Table> {
    let mut table: toml::Table = toml::from_str(text).ok()?;
    for key in path {
        table = match table.remove(*key)? {
            toml::Value::Table(t) => t,
            _ => return None,
        };
    }
    Some(table)
}

/// The first line whose key is `key` (a good enough position for messages about TOML).
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn pytest_picks_the_first_real_configuration() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "setup.cfg", "[tool:pytest]\nenv = A=1\n");
        write(dir.path(), "tox.ini", "[tox]\nenvlist = py3\n");
        assert_eq!(find(dir.path()).unwrap().kind, "setup.cfg [tool:pytest]");
        write(dir.path(), "pyproject.toml", "[tool.black]\n");
        assert_eq!(find(dir.path()).unwrap().kind, "setup.cfg [tool:pytest]");
        write(
            dir.path(),
            "pyproject.toml",
            "[tool.pytest.ini_options]\naddopts = \"-q\"\n",
        );
        assert_eq!(
            find(dir.path()).unwrap().kind,
            "pyproject.toml [tool.pytest.ini_options]"
        );
        let nested = dir.path().join("sub");
        std::fs::create_dir(&nested).unwrap();
        write(&nested, "pytest.ini", "");
        assert_eq!(find(&nested).unwrap().kind, "pytest.ini");
    }

    #[test]
    fn pytest_env_lines_with_flags_and_expansion() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pytest.ini",
            "[pytest]\nenv =\n    D:DATABASE_URL=postgresql://{USER}@localhost:5434/app_test\n    R:RAW={USER}\n    D:R:BOTH=x\n",
        );
        let env: BTreeMap<&str, &str> = [("USER", "ann")].into_iter().collect();
        let found = find(dir.path())
            .unwrap()
            .env_assignments("pytest.ini", &env);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].var, "DATABASE_URL");
        assert_eq!(found[0].access, Access::Default);
        assert_eq!(
            found[0].value,
            Value::Known("postgresql://ann@localhost:5434/app_test".into())
        );
        assert_eq!(found[0].location, "pytest.ini:3");
        assert_eq!(found[1].value, Value::Known("{USER}".into()));
        assert_eq!(
            (found[2].var.as_str(), found[2].access),
            ("BOTH", Access::Default)
        );
    }

    #[test]
    fn pyproject_ini_options_and_pytest_env_table() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "pyproject.toml",
            "[tool.pytest.ini_options]\nenv = [\"TEST_DATABASE_URL=postgresql:///a_test\"]\n\n[tool.pytest_env]\nDATABASE_URL = { value = \"postgresql:///b_test\", skip_if_set = true }\n",
        );
        let env: BTreeMap<&str, &str> = BTreeMap::new();
        let found = find(dir.path())
            .unwrap()
            .env_assignments("pyproject.toml", &env);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].var, "DATABASE_URL");
        assert_eq!(found[0].access, Access::Default);
        assert_eq!(found[0].location, "pyproject.toml:5");
        assert_eq!(found[1].var, "TEST_DATABASE_URL");
        assert_eq!(found[1].location, "pyproject.toml:2");
    }
}

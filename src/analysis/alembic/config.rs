//! Where an alembic project's revisions live: `alembic.ini` (or the `-n` section of it) and
//! `[tool.alembic]` in `pyproject.toml`, read as alembic reads them — the `.ini` first, the
//! TOML for what the `.ini` leaves out; `script_location`, `version_locations` split by
//! `path_separator` (or alembic's legacy space/comma split), `recursive_version_locations`,
//! `%(here)s`.

use std::path::{Path, PathBuf};

use crate::project::ini::Ini;

/// Which configuration files to read, as alembic's command line decides them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// The `.ini` file (`-c x.ini`, `$ALEMBIC_CONFIG`, `[alembic] config`, else `alembic.ini`).
    pub ini: PathBuf,
    /// The `pyproject.toml` file.
    pub toml: PathBuf,
    /// The `.ini` section (`-n/--name`, default `alembic`).
    pub section: String,
}

impl Sources {
    /// alembic's own rules: `-c` (repeatable: one `.ini`, one `pyproject.toml`), then
    /// `$ALEMBIC_CONFIG`, then `alembic.ini` / `pyproject.toml` in the working directory.
    /// `preferred` (dbguard.toml's `[alembic] config`) stands in for `$ALEMBIC_CONFIG`
    /// and wins over it.
    pub fn resolve(
        cwd: &Path,
        cli: &[String],
        name: Option<&str>,
        env: Option<&str>,
        preferred: Option<&Path>,
    ) -> Result<Sources, String> {
        let is_toml = |p: &Path| p.file_name().is_some_and(|n| n == "pyproject.toml");
        let default = preferred
            .map(Path::to_path_buf)
            .or_else(|| env.map(PathBuf::from));
        let (mut toml, mut ini) = (cwd.join("pyproject.toml"), cwd.join("alembic.ini"));
        if let Some(d) = default {
            if is_toml(&d) {
                toml = cwd.join(d);
            } else {
                ini = cwd.join(d);
            }
        }
        let (mut seen_toml, mut seen_ini) = (false, false);
        for c in cli {
            let p = cwd.join(c);
            if is_toml(&p) {
                if seen_toml {
                    return Err("pyproject.toml indicated more than once".to_string());
                }
                seen_toml = true;
                toml = p;
            } else {
                if seen_ini {
                    return Err("only one ini file may be indicated".to_string());
                }
                seen_ini = true;
                ini = p;
            }
        }
        Ok(Sources {
            ini,
            toml,
            section: name.unwrap_or("alembic").to_string(),
        })
    }
}

/// The settings dbguard needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlembicConfig {
    pub script_location: PathBuf,
    /// Directories holding revision files, in alembic's order.
    pub version_locations: Vec<PathBuf>,
    pub recursive: bool,
    /// The file(s) the settings came from, for messages.
    pub source: String,
    /// `sqlalchemy.url` of the `.ini` section and its line, raw (it may hold a password:
    /// mask before showing).
    pub url: Option<(String, usize)>,
}

/// Reads the configuration; relative paths resolve against `cwd` (where alembic runs).
pub fn load(sources: &Sources, cwd: &Path) -> Result<AlembicConfig, String> {
    let ini = if sources.ini.is_file() {
        let text = std::fs::read_to_string(&sources.ini)
            .map_err(|e| format!("cannot read {}: {e}", sources.ini.display()))?;
        let ini = Ini::parse(&text);
        // configparser refuses what alembic would refuse.
        if let Some(problem) = ini.problems.first() {
            return Err(format!("{}: {problem}", sources.ini.display()));
        }
        Some(ini)
    } else {
        None
    };
    let toml = read_toml(&sources.toml)?;
    if ini.is_none() && toml.is_none() {
        return Err(format!(
            "no alembic configuration: {} does not exist and there is no [tool.alembic] in {}",
            sources.ini.display(),
            sources.toml.display()
        ));
    }
    let section = &sources.section;
    let here_ini = absolute_dir(&sources.ini);
    let ini_get = |key: &str| -> Result<Option<String>, String> {
        match &ini {
            Some(ini) => ini
                .value(section, key, &here_ini)
                .map_err(|e| format!("{}: {e}", sources.ini.display())),
            None => Ok(None),
        }
    };
    let toml_str =
        |key: &str| -> Option<String> { toml.as_ref()?.get(key)?.as_str().map(|s| s.to_string()) };
    let here_toml = absolute_dir(&sources.toml);
    let script_location = match ini_get("script_location")? {
        Some(s) => s,
        None => match toml_str("script_location") {
            Some(s) => percent_here(&s, &here_toml),
            None => {
                return Err(format!(
                    "No 'script_location' key found in configuration ({}, section [{section}])",
                    source_text(sources, ini.is_some(), toml.is_some())
                ))
            }
        },
    };
    if looks_like_package_resource(&script_location) {
        return Err(format!(
            "script_location `{script_location}` is a package resource; dbguard reads only directories"
        ));
    }
    let script_location = resolve(cwd, &sources.ini, &script_location);
    let versions = match ini_get("version_locations")?.filter(|v| !v.is_empty()) {
        Some(raw) => {
            let separator = match ini_get("path_separator")? {
                Some(s) => Some(s),
                None => ini_get("version_path_separator")?,
            };
            split_locations(&raw, separator.as_deref())?
        }
        None => match toml.as_ref().and_then(|t| t.get("version_locations")) {
            Some(toml::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str())
                .map(|s| percent_here(s, &here_toml))
                .collect(),
            _ => Vec::new(),
        },
    };
    let version_locations = if versions.is_empty() {
        vec![script_location.join("versions")]
    } else {
        versions
            .iter()
            .map(|v| resolve(cwd, &sources.ini, v))
            .collect()
    };
    let recursive = match ini_get("recursive_version_locations")? {
        Some(v) => v == "true",
        None => toml
            .as_ref()
            .and_then(|t| t.get("recursive_version_locations"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    };
    let url = match &ini {
        Some(i) => match (i.raw(section, "sqlalchemy.url"), ini_get("sqlalchemy.url")) {
            (Some(entry), Ok(Some(value))) => Some((value, entry.line)),
            (Some(entry), _) => Some((entry.value.clone(), entry.line)),
            _ => None,
        },
        None => None,
    };
    Ok(AlembicConfig {
        script_location,
        version_locations,
        recursive,
        source: source_text(sources, ini.is_some(), toml.is_some()),
        url,
    })
}

/// The alembic project seen from `cwd` when no `-c`/`-n` is given: `preferred`
/// (dbguard.toml's `[alembic] config`), else `$ALEMBIC_CONFIG` (`env`), else `alembic.ini` /
/// `pyproject.toml` there. The one place every command finds it.
pub fn discover(
    cwd: &Path,
    preferred: Option<&Path>,
    env: Option<&str>,
) -> Result<AlembicConfig, String> {
    let sources = Sources::resolve(cwd, &[], None, env, preferred)?;
    load(&sources, cwd)
}

fn source_text(sources: &Sources, ini: bool, toml: bool) -> String {
    match (ini, toml) {
        (true, true) => format!("{} + {}", sources.ini.display(), sources.toml.display()),
        (false, true) => sources.toml.display().to_string(),
        _ => sources.ini.display().to_string(),
    }
}

fn read_toml(path: &Path) -> Result<Option<toml::Table>, String> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| format!("{}: invalid TOML: {}", path.display(), e.message()))?;
    match doc.get("tool").and_then(|t| t.get("alembic")) {
        Some(toml::Value::Table(t)) => Ok(Some(t.clone())),
        Some(_) => Err(format!("{}: [tool.alembic] is not a table", path.display())),
        None => Ok(None),
    }
}

/// `%(here)s` in TOML values (the only substitution alembic makes there).
fn percent_here(value: &str, here: &str) -> String {
    value.replace("%(here)s", here).replace("%%", "%")
}

fn absolute_dir(file: &Path) -> String {
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    abs.parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `myapp:migrations` (alembic's `package:resource` form), but not a Windows drive.
fn looks_like_package_resource(location: &str) -> bool {
    match location.split_once(':') {
        Some((pkg, _)) => {
            pkg.len() > 1
                && pkg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        }
        None => false,
    }
}

/// Relative paths are relative to where alembic runs; when that does not exist but the
/// path does beside the `.ini`, that is what the user meant (running alembic from there).
fn resolve(cwd: &Path, ini: &Path, location: &str) -> PathBuf {
    let path = Path::new(location);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let from_cwd = cwd.join(path);
    if from_cwd.exists() {
        return from_cwd;
    }
    match ini.parent() {
        Some(dir) if dir.join(path).exists() => dir.join(path),
        _ => from_cwd,
    }
}

/// alembic's `path_separator` values, or its legacy split on spaces and commas.
fn split_locations(raw: &str, separator: Option<&str>) -> Result<Vec<String>, String> {
    let sep = match separator {
        None => {
            return Ok(raw
                .split([',', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect())
        }
        Some("space") => " ",
        Some("newline") => "\n",
        Some("os") | Some(":") => ":",
        Some(";") => ";",
        Some(other) => {
            return Err(format!(
                "'{other}' is not a valid value for path_separator; expected 'space', 'newline', 'os', ':', ';'"
            ))
        }
    };
    Ok(raw
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn ini_with_here_and_separators() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "alembic.ini",
            "[alembic]\nscript_location = %(here)s/db\nversion_locations = %(here)s/db/a;%(here)s/db/b\npath_separator = ;\nrecursive_version_locations = true\n",
        );
        let sources = Sources::resolve(d, &[], None, None, None).unwrap();
        let c = load(&sources, d).unwrap();
        assert_eq!(c.script_location, d.join("db"));
        assert_eq!(c.version_locations, [d.join("db/a"), d.join("db/b")]);
        assert!(c.recursive);
    }

    #[test]
    fn pyproject_and_named_sections() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "pyproject.toml",
            "[tool.alembic]\nscript_location = \"%(here)s/migrations\"\n",
        );
        let c = load(&Sources::resolve(d, &[], None, None, None).unwrap(), d).unwrap();
        assert_eq!(c.version_locations, [d.join("migrations/versions")]);
        write(
            d,
            "multi.ini",
            "[alembic]\nscript_location = a\n[second]\nscript_location = b\n",
        );
        let s = Sources::resolve(d, &["multi.ini".into()], Some("second"), None, None).unwrap();
        assert_eq!(load(&s, d).unwrap().script_location, d.join("b"));
    }

    #[test]
    fn missing_configuration_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sources::resolve(dir.path(), &[], None, Some("nope.ini"), None).unwrap();
        assert!(load(&s, dir.path())
            .unwrap_err()
            .contains("nope.ini does not exist"));
    }
}

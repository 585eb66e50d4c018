//! Where an alembic project keeps its revisions, from `alembic.ini` (`[alembic]
//! script_location`, `version_locations`, `%(here)s`) or pyproject.toml `[tool.alembic]`.
//! Only paths are read here; the revisions themselves are the alembic analyzer's job.

use std::path::{Path, PathBuf};

use super::ini::Ini;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlembicProject {
    /// The file the settings came from.
    pub path: PathBuf,
    pub script_location: Option<PathBuf>,
    /// The directories holding revision files (`version_locations`, else
    /// `<script_location>/versions`).
    pub version_dirs: Vec<PathBuf>,
    /// `sqlalchemy.url` and its line, raw (it may hold a password: mask before showing).
    pub url: Option<(String, usize)>,
}

/// Reads `dir/alembic.ini`, else `[tool.alembic]` of `dir/pyproject.toml`.
pub fn find(dir: &Path) -> Option<AlembicProject> {
    read_ini(&dir.join("alembic.ini")).or_else(|| read_pyproject(&dir.join("pyproject.toml")))
}

fn read_ini(path: &Path) -> Option<AlembicProject> {
    let text = std::fs::read_to_string(path).ok()?;
    let ini = Ini::parse(&text);
    let here = path.parent().unwrap_or(Path::new("."));
    let get = |key: &str| {
        ini.get("alembic", key)
            .map(|e| (e.value.replace("%(here)s", &here.to_string_lossy()), e.line))
    };
    let script_location = get("script_location").and_then(|(v, _)| local_path(here, &v));
    // version_locations is split on spaces or commas (or `path_separator`, which only
    // matters for paths with spaces: rare enough to read as spaces).
    let locations: Vec<String> = get("version_locations")
        .map(|(v, _)| {
            v.split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some(project(
        path,
        here,
        script_location,
        &locations,
        get("sqlalchemy.url"),
    ))
}

fn read_pyproject(path: &Path) -> Option<AlembicProject> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    let alembic = doc.get("tool")?.get("alembic")?.as_table()?;
    let here = path.parent().unwrap_or(Path::new("."));
    let expand = |s: &str| s.replace("%(here)s", &here.to_string_lossy());
    let script_location = alembic
        .get("script_location")
        .and_then(|v| v.as_str())
        .and_then(|v| local_path(here, &expand(v)));
    let locations: Vec<String> = match alembic.get("version_locations") {
        Some(toml::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(&expand))
            .collect(),
        Some(toml::Value::String(s)) => s.split_whitespace().map(&expand).collect(),
        _ => Vec::new(),
    };
    Some(project(path, here, script_location, &locations, None))
}

fn project(
    path: &Path,
    here: &Path,
    script_location: Option<PathBuf>,
    locations: &[String],
    url: Option<(String, usize)>,
) -> AlembicProject {
    let mut version_dirs: Vec<PathBuf> = locations
        .iter()
        .filter_map(|l| local_path(here, l))
        .collect();
    if version_dirs.is_empty() {
        version_dirs.extend(script_location.as_ref().map(|s| s.join("versions")));
    }
    AlembicProject {
        path: path.to_path_buf(),
        script_location,
        version_dirs,
        url,
    }
}

/// A filesystem path relative to the ini's directory. `package:resource` locations name a
/// Python package, not a path, and are left out.
fn local_path(here: &Path, value: &str) -> Option<PathBuf> {
    let value = value.trim();
    if value.is_empty() || (value.contains(':') && !value.starts_with('/')) {
        return None;
    }
    Some(here.join(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_location_versions_and_url() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("alembic.ini"),
            "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://u:pw@h/db\n",
        )
        .unwrap();
        let p = find(dir.path()).unwrap();
        assert_eq!(p.script_location, Some(dir.path().join("migrations")));
        assert_eq!(p.version_dirs, vec![dir.path().join("migrations/versions")]);
        assert_eq!(p.url, Some(("postgresql://u:pw@h/db".into(), 3)));
    }

    #[test]
    fn version_locations_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("alembic.ini"),
            "[alembic]\nscript_location = alembic\nversion_locations = %(here)s/a/versions, b/versions\n",
        )
        .unwrap();
        let p = find(dir.path()).unwrap();
        assert_eq!(
            p.version_dirs,
            vec![dir.path().join("a/versions"), dir.path().join("b/versions")]
        );
    }

    #[test]
    fn pyproject_tool_alembic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.alembic]\nscript_location = \"db\"\n",
        )
        .unwrap();
        assert_eq!(
            find(dir.path()).unwrap().version_dirs,
            vec![dir.path().join("db/versions")]
        );
    }
}

//! Where an alembic project keeps its revisions and which database its `alembic.ini` names,
//! for `init`: the same reading as every other command (`analysis::alembic::config`, alembic's
//! own rules), started from a directory of the project.

use std::path::{Path, PathBuf};

use crate::analysis::alembic::config::{self, Sources};

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

/// Reads `dir/alembic.ini`, else `[tool.alembic]` of `dir/pyproject.toml`, as alembic run
/// from `dir` would.
pub fn find(dir: &Path) -> Option<AlembicProject> {
    let sources = Sources::resolve(dir, &[], None, None, None).ok()?;
    let path = if sources.ini.is_file() {
        sources.ini.clone()
    } else {
        sources.toml.clone()
    };
    match config::discover(dir, None, None) {
        Ok(c) => Some(AlembicProject {
            path,
            script_location: Some(c.script_location),
            version_dirs: c.version_locations,
            url: c.url,
        }),
        // An alembic.ini whose revisions live in a package (`myapp:migrations`) is still the
        // project's alembic configuration, with its URL.
        Err(_) if sources.ini.is_file() => {
            let text = std::fs::read_to_string(&sources.ini).ok()?;
            let ini = super::ini::Ini::parse(&text);
            let here = dir.to_string_lossy().into_owned();
            let url = ini.raw("alembic", "sqlalchemy.url").map(|e| {
                let value = ini.value("alembic", "sqlalchemy.url", &here);
                (
                    value.ok().flatten().unwrap_or_else(|| e.value.clone()),
                    e.line,
                )
            });
            Some(AlembicProject {
                path,
                script_location: None,
                version_dirs: Vec::new(),
                url,
            })
        }
        Err(_) => None,
    }
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

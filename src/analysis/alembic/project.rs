//! An alembic project on disk: every revision file of every version location, loaded in
//! alembic's order (locations in order, file names sorted, subdirectories after files when
//! recursive), and the graph they form.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::config::AlembicConfig;
use super::graph::Graph;
use super::revision::{self, Revision};

#[derive(Debug)]
pub struct Project {
    pub config: AlembicConfig,
    pub graph: Graph,
}

impl Project {
    pub fn load(config: AlembicConfig) -> Result<Project, String> {
        let mut revisions = Vec::new();
        let mut seen = HashSet::new();
        for location in config.version_locations.iter().filter(|l| l.is_dir()) {
            for path in list_dir(location, config.recursive)? {
                let real = path.canonicalize().unwrap_or_else(|_| path.clone());
                if !seen.insert(real) {
                    continue;
                }
                if let Some(rev) = read_revision(&path)? {
                    revisions.push(rev);
                }
            }
        }
        if revisions.is_empty() {
            let shown: Vec<String> = config
                .version_locations
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            return Err(format!(
                "no revision files in {} (from {})",
                shown.join(", "),
                config.source
            ));
        }
        let graph = Graph::build(revisions)?;
        Ok(Project { config, graph })
    }
}

/// alembic's `_only_source_rev_file`: `*.py`, not `__init__*`, not an editor's `.#` lock.
fn is_revision_file_name(name: &str) -> bool {
    name.ends_with(".py") && !name.starts_with("__init__") && !name.starts_with(".#")
}

fn list_dir(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read version location {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "__pycache__" {
                dirs.push(path);
            }
        } else if is_revision_file_name(&name) {
            files.push(path);
        }
    }
    files.sort();
    if recursive {
        dirs.sort();
        for d in dirs {
            files.extend(list_dir(&d, true)?);
        }
    }
    Ok(files)
}

fn read_revision(path: &Path) -> Result<Option<Revision>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    match revision::read_file(&text, path) {
        Ok(Some(rev)) => Ok(Some(rev)),
        Ok(None) => Err(format!(
            "{}: could not determine its revision id (it assigns no `revision`); alembic fails on it too",
            path.display()
        )),
        Err(why) => Err(format!("{}: {why}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, recursive: bool) -> AlembicConfig {
        AlembicConfig {
            script_location: dir.to_path_buf(),
            version_locations: vec![dir.join("versions")],
            recursive,
            source: "test".into(),
            url: None,
        }
    }

    #[test]
    fn recursive_version_locations_and_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("versions/2024/__pycache__")).unwrap();
        std::fs::write(
            d.join("versions/a.py"),
            "revision = 'aaaa'\ndown_revision = None\n",
        )
        .unwrap();
        std::fs::write(
            d.join("versions/2024/b.py"),
            "revision = 'bbbb'\ndown_revision = 'aaaa'\n",
        )
        .unwrap();
        std::fs::write(d.join("versions/__init__.py"), "").unwrap();
        std::fs::write(d.join("versions/2024/__pycache__/c.py"), "garbage").unwrap();
        let flat = Project::load(config(d, false)).unwrap();
        assert_eq!(flat.graph.nodes.len(), 1);
        let deep = Project::load(config(d, true)).unwrap();
        let ids: Vec<&str> = deep.graph.nodes.iter().map(|n| n.rev.id.as_str()).collect();
        assert_eq!(ids, ["aaaa", "bbbb"]);
        // A file alembic cannot read as a revision is an error, as it is for alembic.
        std::fs::write(d.join("versions/helpers.py"), "X = 1\n").unwrap();
        assert!(Project::load(config(d, false))
            .unwrap_err()
            .contains("helpers.py"));
    }
}

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

    /// Whether a path lies inside one of the version locations.
    pub fn contains(&self, path: &Path) -> bool {
        in_version_locations(&self.config, path)
    }
}

pub fn in_version_locations(config: &AlembicConfig, path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    config.version_locations.iter().any(|l| {
        let l = l.canonicalize().unwrap_or_else(|_| l.clone());
        path.starts_with(&l) && (config.recursive || path.parent() == Some(l.as_path()))
    })
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

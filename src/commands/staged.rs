//! `dbguard check --staged`: the staged content (the git index) of added or modified
//! migrations, which is what the commit will hold; unstaged edits do not count.
//!
//! Which staged files are migrations: when `[check] paths` is set, the files under those
//! paths (the same set `dbguard check` reads without arguments); otherwise every `*.sql`
//! file plus the revisions in alembic's version locations (from alembic.ini).

use std::path::{Path, PathBuf};

use super::Context;
use crate::analysis::alembic::{self, walk::Direction};
use crate::analysis::check::{self, FileKind};
use crate::analysis::discover::Filter;
use crate::analysis::FileReport;
use crate::error::{Error, Result};
use crate::git::Repo;

pub fn reports(context: &Context, directions: &[Direction]) -> Result<Vec<FileReport>> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let repo = Repo::discover(&cwd)?;
    let selection = Selection::new(context, &repo.toplevel)?;
    let mut reports = Vec::new();
    for path in repo.staged_paths()? {
        let Some(kind) = selection.kind(&path) else {
            continue;
        };
        let full = repo.toplevel.join(&path);
        let blob = repo.staged_blob(&path)?;
        // The same per-kind dispatch as `check`, on the staged blob.
        match kind {
            FileKind::Sql => reports.extend(check::check_bytes(blob, &path, full.parent())),
            FileKind::Python => {
                let text = String::from_utf8_lossy(&blob);
                reports.push(alembic::check::check_text(&text, &full, &path, directions));
            }
        }
    }
    Ok(reports)
}

/// Decides which staged paths are migrations, and of which kind.
struct Selection {
    toplevel: PathBuf,
    /// `[check] paths`, absolute.
    check_paths: Vec<PathBuf>,
    /// alembic version locations, absolute.
    alembic_dirs: Vec<PathBuf>,
    /// `[check] include` / `exclude`.
    filter: Filter,
}

impl Selection {
    fn new(context: &Context, toplevel: &Path) -> Result<Selection> {
        let loaded = &context.config;
        let check_paths = loaded
            .config
            .check
            .paths
            .iter()
            .map(|p| absolute(&loaded.resolve(p)))
            .collect();
        let mut alembic_dirs = Vec::new();
        let config_dir = loaded.path.as_deref().and_then(Path::parent);
        // The same lookup as `dbguard check` (alembic's own rules), from the repository root
        // and from dbguard.toml's directory.
        for dir in std::iter::once(toplevel).chain(config_dir) {
            let found = super::alembic_version_dirs(context, dir);
            alembic_dirs.extend(found.iter().map(|d| absolute(d)));
        }
        let settings = &loaded.config.check;
        Ok(Selection {
            toplevel: absolute(toplevel),
            check_paths,
            alembic_dirs,
            filter: Filter::new(settings.include.as_deref(), &settings.exclude)?,
        })
    }

    fn kind(&self, staged: &str) -> Option<FileKind> {
        let path = self.toplevel.join(staged);
        // Globs match the path below the directory it is found in: the repository root, or
        // the `[check] paths` entry holding it (as a directory walk from there would).
        let relative = self
            .check_paths
            .iter()
            .find_map(|d| path.strip_prefix(d).ok())
            .unwrap_or(Path::new(staged));
        let kind = if FileKind::of(&path) == FileKind::Python {
            if self.filter.excludes(relative) {
                return None;
            }
            FileKind::Python
        } else if self.filter.includes(relative) {
            FileKind::Sql
        } else {
            return None;
        };
        let under = |dirs: &[PathBuf]| dirs.iter().any(|d| path.starts_with(d));
        if !self.check_paths.is_empty() {
            return under(&self.check_paths).then_some(kind);
        }
        match kind {
            FileKind::Sql => Some(kind),
            FileKind::Python => under(&self.alembic_dirs).then_some(kind),
        }
    }
}

/// Canonical when the path exists (git reports the real top level, so symlinked temp dirs
/// must resolve alike), else as given.
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

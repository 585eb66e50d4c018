//! Which inputs `check` reads: named files, `*.sql` and alembic revisions (`*.py` in a
//! version location, or assigning `revision` and defining `upgrade()`) under named
//! directories (recursively, sorted, hidden and dependency directories skipped), or stdin
//! for `-`.

use std::path::{Path, PathBuf};

use super::check::FileKind;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File { path: PathBuf, display: String },
}

/// Directories never worth descending into.
const SKIPPED_DIRS: &[&str] = &["node_modules", "__pycache__", "target"];

/// Which files a directory walk takes: `[check] include` globs (default `*.sql`) plus
/// alembic revisions, minus `[check] exclude` globs. A glob without a `/` matches a file
/// (or directory) name anywhere; one with a `/` matches the path below the directory
/// walked (`**` crosses directories). Files named on the command line are always checked.
#[derive(Debug, Clone)]
pub struct Filter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

#[derive(Debug, Clone)]
struct Glob {
    matcher: globset::GlobMatcher,
    /// Matches the whole relative path, not just the name.
    path: bool,
}

/// The include globs when none are configured.
pub const DEFAULT_INCLUDE: &[&str] = &["*.sql"];

impl Default for Filter {
    fn default() -> Filter {
        Filter::new(None, &[]).expect("the default globs are valid")
    }
}

impl Filter {
    pub fn new(include: Option<&[String]>, exclude: &[String]) -> Result<Filter> {
        let defaults: Vec<String> = DEFAULT_INCLUDE.iter().map(|s| s.to_string()).collect();
        Ok(Filter {
            include: globs(include.unwrap_or(&defaults), "include")?,
            exclude: globs(exclude, "exclude")?,
        })
    }

    /// Whether a file at `relative` (below the walked directory) is taken by the include
    /// globs (revisions are taken by `is_revision` whatever they are called).
    pub fn includes(&self, relative: &Path) -> bool {
        self.include.iter().any(|g| g.matches(relative)) && !self.excludes(relative)
    }

    /// Whether a file or directory at `relative` is excluded, itself or by a directory it
    /// is in.
    pub fn excludes(&self, relative: &Path) -> bool {
        relative
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .any(|p| self.exclude.iter().any(|g| g.matches(p)))
    }
}

impl Glob {
    fn matches(&self, relative: &Path) -> bool {
        if self.path {
            self.matcher.is_match(relative)
        } else {
            relative
                .file_name()
                .is_some_and(|name| self.matcher.is_match(name))
        }
    }
}

fn globs(patterns: &[String], key: &str) -> Result<Vec<Glob>> {
    patterns
        .iter()
        .map(|pattern| {
            let trimmed = pattern.trim_start_matches("./");
            let glob = globset::GlobBuilder::new(trimmed)
                .literal_separator(true)
                .case_insensitive(true)
                .build()
                .map_err(|e| {
                    Error::usage(format!(
                        "[check] {key}: `{pattern}` is not a valid glob: {e}"
                    ))
                    .with_help("use globs like \"*.sql\", \"*.sql.postgres\" or \"legacy/**\"")
                })?;
            Ok(Glob {
                matcher: glob.compile_matcher(),
                path: trimmed.contains('/'),
            })
        })
        .collect()
}

pub fn collect(paths: &[PathBuf]) -> Result<Vec<Input>> {
    collect_with_versions(paths, &[])
}

/// Like `collect`; `.py` files under `version_dirs` are always taken as revisions.
pub fn collect_with_versions(paths: &[PathBuf], version_dirs: &[PathBuf]) -> Result<Vec<Input>> {
    collect_filtered(paths, version_dirs, &Filter::default())
}

/// Like `collect_with_versions`, directories walked with `filter`.
pub fn collect_filtered(
    paths: &[PathBuf],
    version_dirs: &[PathBuf],
    filter: &Filter,
) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let metadata = std::fs::metadata(path).map_err(|e| {
            Error::usage(format!(
                "cannot read {}: {}",
                path.display(),
                plain_io_error(&e)
            ))
            .with_help("check the path; directories are searched for *.sql files")
        })?;
        if metadata.is_dir() {
            let walk_ctx = Walk {
                root: path,
                version_dirs,
                filter,
            };
            walk_ctx.dir(path, &mut inputs)?;
        } else {
            inputs.push(file(path));
        }
    }
    Ok(inputs)
}

fn plain_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn file(path: &Path) -> Input {
    let display = path.to_string_lossy();
    let display = display.strip_prefix("./").unwrap_or(&display).to_string();
    Input::File {
        path: path.to_path_buf(),
        display,
    }
}

struct Walk<'a> {
    root: &'a Path,
    version_dirs: &'a [PathBuf],
    filter: &'a Filter,
}

impl Walk<'_> {
    fn dir(&self, dir: &Path, inputs: &mut Vec<Input>) -> Result<()> {
        walk(dir, self, inputs)
    }
}

fn walk(dir: &Path, ctx: &Walk<'_>, inputs: &mut Vec<Input>) -> Result<()> {
    let version_dirs = ctx.version_dirs;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::usage(format!("cannot read directory {}: {e}", dir.display())))?;
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        // file_type() does not follow symlinks: linked directories are skipped (no loops).
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let relative = path.strip_prefix(ctx.root).unwrap_or(&path);
        if kind.is_dir() {
            if !name.starts_with('.')
                && !SKIPPED_DIRS.contains(&name.as_ref())
                && !ctx.filter.excludes(relative)
            {
                walk(&path, ctx, inputs)?;
            }
        } else if (ctx.filter.includes(relative)
            || (!ctx.filter.excludes(relative) && is_revision(&path, version_dirs)))
            && (kind.is_file() || path.is_file())
        {
            inputs.push(file(&path));
        }
    }
    Ok(())
}

/// A `.py` file is picked up from a directory when it is an alembic revision: inside a
/// version location, or assigning `revision` and defining `upgrade()` (a cheap text test
/// first, then the parser, so large Python trees stay fast).
fn is_revision(path: &Path, version_dirs: &[PathBuf]) -> bool {
    if FileKind::of(path) != FileKind::Python {
        return false;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with("__init__") {
        return false;
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let in_versions = version_dirs.iter().any(|d| {
        let d = d.canonicalize().unwrap_or_else(|_| d.clone());
        canonical.starts_with(d)
    });
    if in_versions {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if !(text.contains("revision") && text.contains("def upgrade")) {
        return false;
    }
    super::alembic::python::parse(&text).is_some_and(|tree| {
        let module = super::alembic::module::Module::new(&text, &tree);
        super::alembic::revision::looks_like_revision(&module)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sql_files_sorted_and_skips_hidden_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "b.sql",
            "a/z.SQL",
            "a/notes.txt",
            ".git/x.sql",
            "node_modules/y.sql",
            "c.py",
            "m/0001_init.py",
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let text = if p.ends_with("0001_init.py") {
                "revision = 'a'\ndef upgrade():\n    pass\n"
            } else {
                ""
            };
            std::fs::write(p, text).unwrap();
        }
        let got: Vec<String> = collect(&[root.to_path_buf()])
            .unwrap()
            .into_iter()
            .map(|i| match i {
                Input::File { path, .. } => path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                Input::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(got, ["a/z.SQL", "b.sql", "m/0001_init.py"]);
    }

    #[test]
    fn include_and_exclude_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "deltas/10/a.sql",
            "deltas/10/a.sql.postgres",
            "deltas/10/a.sql.sqlite",
            "legacy/old.sql",
            "deltas/10/skip_me.sql",
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let include = ["*.sql".to_string(), "*.sql.postgres".to_string()];
        let exclude = ["legacy".to_string(), "deltas/**/skip_*".to_string()];
        let filter = Filter::new(Some(&include), &exclude).unwrap();
        let got: Vec<String> = collect_filtered(&[root.to_path_buf()], &[], &filter)
            .unwrap()
            .into_iter()
            .map(|i| match i {
                Input::File { path, .. } => path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                Input::Stdin => "-".into(),
            })
            .collect();
        assert_eq!(got, ["deltas/10/a.sql", "deltas/10/a.sql.postgres"]);
        // A file named on the command line is checked whatever the globs say.
        let named = root.join("deltas/10/a.sql.sqlite");
        assert_eq!(collect_filtered(&[named], &[], &filter).unwrap().len(), 1);
        assert!(Filter::new(Some(&["a[".to_string()]), &[]).is_err());
    }

    #[test]
    fn missing_paths_are_usage_errors() {
        let err = collect(&[PathBuf::from("/definitely/not/here.sql")]).unwrap_err();
        assert!(err.message.contains("/definitely/not/here.sql"));
    }
}

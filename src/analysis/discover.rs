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

pub fn collect(paths: &[PathBuf]) -> Result<Vec<Input>> {
    collect_with_versions(paths, &[])
}

/// Like `collect`; `.py` files under `version_dirs` are always taken as revisions.
pub fn collect_with_versions(paths: &[PathBuf], version_dirs: &[PathBuf]) -> Result<Vec<Input>> {
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
            walk(path, version_dirs, &mut inputs)?;
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

fn walk(dir: &Path, version_dirs: &[PathBuf], inputs: &mut Vec<Input>) -> Result<()> {
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
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(&path, version_dirs, inputs)?;
            }
        } else if (is_checked_by_default(&path) || is_revision(&path, version_dirs))
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

/// Files picked up from directories by their name.
fn is_checked_by_default(path: &Path) -> bool {
    FileKind::of(path) == FileKind::Sql
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sql"))
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
    fn missing_paths_are_usage_errors() {
        let err = collect(&[PathBuf::from("/definitely/not/here.sql")]).unwrap_err();
        assert!(err.message.contains("/definitely/not/here.sql"));
    }
}

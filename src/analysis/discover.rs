//! Which inputs `check` reads: named files, `*.sql` under named directories (recursively,
//! sorted, hidden and dependency directories skipped), or stdin for `-`.

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
            walk(path, &mut inputs)?;
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

fn walk(dir: &Path, inputs: &mut Vec<Input>) -> Result<()> {
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
                walk(&path, inputs)?;
            }
        } else if is_checked_by_default(&path) && (kind.is_file() || path.is_file()) {
            inputs.push(file(&path));
        }
    }
    Ok(())
}

/// Files picked up from directories. Alembic revisions (`.py`) join once they can be read.
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
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
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
        assert_eq!(got, ["a/z.SQL", "b.sql"]);
    }

    #[test]
    fn missing_paths_are_usage_errors() {
        let err = collect(&[PathBuf::from("/definitely/not/here.sql")]).unwrap_err();
        assert!(err.message.contains("/definitely/not/here.sql"));
    }
}

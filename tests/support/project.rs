//! A project directory with a dbguard.toml whose backups go to `<dir>/backups`, and helpers
//! to read what dbguard recorded there.

use std::path::{Path, PathBuf};

use super::cli::dbguard;

pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// `config` is appended after `[backup] dir = "backups"` (more `[backup]` keys may follow
    /// directly; other sections start with their header).
    pub fn new(config: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dbguard.toml"),
            format!("[backup]\ndir = \"backups\"\n{config}"),
        )
        .unwrap();
        Project { dir }
    }

    /// A project protecting `db_url` (`[database] url`).
    pub fn for_database(db_url: &str, config: &str) -> Project {
        Project::new(&format!("{config}\n[database]\nurl = \"{db_url}\"\n"))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `dbguard backups --json`.
    pub fn backups(&self) -> Vec<serde_json::Value> {
        let done = dbguard(&["backups", "--json"])
            .cwd(self.path())
            .run()
            .code(0);
        done.json().as_array().unwrap().clone()
    }

    /// `dbguard audit --json`.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        let done = dbguard(&["audit", "--json"]).cwd(self.path()).run().code(0);
        done.json().as_array().unwrap().clone()
    }

    /// Every file and directory under the backup directory.
    pub fn backup_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                out.push(path.clone());
                if path.is_dir() {
                    walk(&path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path().join("backups"), &mut out);
        out
    }
}

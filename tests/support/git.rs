//! A real git repository in a temp dir, isolated from the user's and the system's git
//! configuration (no global hooksPath, templates or signing can leak in).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::cli::{dbguard, Run};

pub struct GitRepo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

/// The outcome of a git command, stdout and stderr together (hooks write to both).
pub struct GitOutput {
    pub success: bool,
    pub output: String,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let repo = GitRepo {
            dir: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        };
        repo.ok(&["init", "-q"]);
        repo.ok(&["config", "user.name", "Test"]);
        repo.ok(&["config", "user.email", "test@example.invalid"]);
        repo.ok(&["config", "commit.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The isolation every git (and dbguard) process of this repository runs with.
    fn isolate(&self, command: &mut Command) {
        for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG"] {
            command.env_remove(var);
        }
        command
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(self.path());
    }

    pub fn git(&self, args: &[&str]) -> GitOutput {
        let mut command = Command::new("git");
        command.args(args);
        self.isolate(&mut command);
        collect(command.output().expect("git runs"))
    }

    /// Runs git with only `PATH`, `HOME` and the isolation variables set, the way some GUI
    /// clients and IDEs run commits (and so their hooks).
    pub fn git_minimal_env(&self, path: &str, args: &[&str]) -> GitOutput {
        let mut command = Command::new("/usr/bin/env");
        command
            .env_clear()
            .arg(format!("PATH={path}"))
            .arg("git")
            .args(args);
        self.isolate(&mut command);
        collect(command.output().expect("git runs"))
    }

    /// Runs git and asserts it succeeded.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.git(args);
        assert!(out.success, "git {args:?} failed:\n{}", out.output);
        out.output
    }

    pub fn write(&self, path: &str, content: &str) -> &Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
        self
    }

    pub fn file(&self, path: &str) -> PathBuf {
        self.path().join(path)
    }

    /// dbguard run inside this repository, with the same git isolation.
    pub fn dbguard(&self, args: &[&str]) -> Run {
        dbguard(args)
            .cwd(self.path())
            .env("HOME", &self.home.path().to_string_lossy())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
    }
}

fn collect(out: Output) -> GitOutput {
    GitOutput {
        success: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

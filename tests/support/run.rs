//! Runs the dbguard binary like a user would, isolated from the caller's database
//! environment (DATABASE_URL, TEST_DATABASE_URL and PG* variables are removed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Run {
    args: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
}

pub fn dbguard(args: &[&str]) -> Run {
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        cwd: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        env: Vec::new(),
    }
}

pub struct Done {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_path_buf();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn run(self) -> Done {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbguard"));
        command.args(&self.args).current_dir(&self.cwd);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("PG") || key.ends_with("DATABASE_URL") || key == "NO_COLOR" {
                command.env_remove(key.as_ref());
            }
        }
        // No ~/.pgpass of whoever runs the tests.
        command.env("PGPASSFILE", "/nonexistent/pgpass");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let out = command
            .stdin(Stdio::null())
            .output()
            .expect("dbguard binary runs");
        Done {
            code: out.status.code().expect("exited normally, not by a signal"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

impl Done {
    pub fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts `secret` appears nowhere in the output.
    pub fn never_shows(self, secret: &str) -> Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "{secret:?} was printed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Writes files (creating directories) under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

//! The few git operations dbguard needs, through the `git` program itself (so hooks, index
//! files, worktrees and `core.hooksPath` behave exactly as git sees them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::{Error, Result};

/// A git work tree.
pub struct Repo {
    /// The top of the work tree; staged paths are relative to it.
    pub toplevel: PathBuf,
}

impl Repo {
    /// The work tree containing `cwd`.
    pub fn discover(cwd: &Path) -> Result<Repo> {
        let out = git(cwd, &["rev-parse", "--show-toplevel"])?;
        if !out.status.success() {
            return Err(
                Error::usage(format!("{} is not inside a git work tree", cwd.display()))
                    .with_help("run this inside the repository (`git init` creates one)"),
            );
        }
        let toplevel = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end_matches('\n'));
        Ok(Repo { toplevel })
    }

    /// The hooks directory git uses: `core.hooksPath` when set, else `.git/hooks` (shared by
    /// linked worktrees).
    pub fn hooks_dir(&self) -> Result<PathBuf> {
        let out = self.run(&["rev-parse", "--git-path", "hooks"])?;
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end_matches('\n'));
        // Relative answers are relative to where git ran: the top of the work tree.
        Ok(if dir.is_relative() {
            self.toplevel.join(dir)
        } else {
            dir
        })
    }

    /// Added, copied, modified and renamed paths in the index (what the commit will hold),
    /// relative to the top of the work tree.
    pub fn staged_paths(&self) -> Result<Vec<String>> {
        let out = self.run(&[
            "diff",
            "--cached",
            "--name-only",
            "--diff-filter=ACMR",
            "--no-ext-diff",
            "-z",
        ])?;
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// The staged content of `path` (index stage 0), not the file on disk.
    pub fn staged_blob(&self, path: &str) -> Result<Vec<u8>> {
        // The explicit stage keeps a path such as `0:x.sql` from reading as a stage number.
        Ok(self
            .run(&["cat-file", "blob", &format!(":0:{path}")])?
            .stdout)
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        let out = git(&self.toplevel, args)?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(Error::usage(format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| {
            Error::usage(format!("cannot run git: {e}"))
                .with_help("install git, or make sure it is on PATH")
        })
}

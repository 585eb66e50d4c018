//! A tiny tmpfs mounted over a directory, to make writes fail with "No space left on device".
//! Mounting needs root (CI runs as root); elsewhere the test says it is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Unmounted when dropped, also when an assertion fails first.
pub struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// Mounts a `size` (e.g. `512k`) tmpfs at `path`, creating it; `None` (with a note on
    /// stderr) where this machine does not allow it.
    pub fn mount(path: &Path, size: &str) -> Option<SmallDisk> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n");
        if !root {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: this machine does not allow mounting a tmpfs");
            return None;
        }
        Some(SmallDisk {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

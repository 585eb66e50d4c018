//! Finding `pg_dump` / `pg_restore` whose major version can handle the server's.

use std::path::{Path, PathBuf};

use crate::error::{Error, Exit, Result};

#[derive(Clone, Debug)]
pub struct PgTool {
    pub path: PathBuf,
    /// E.g. `15.18`.
    pub version: String,
    pub major: u32,
}

/// Every place a PostgreSQL client program may live: PATH, Debian's versioned directories,
/// and `pg_config --bindir`.
fn candidates(name: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = which::which_all(name)
        .map(|it| it.collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        paths.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").join(name))
                .filter(|p| p.is_file()),
        );
    }
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let path = Path::new(&dir).join(name);
        if !dir.is_empty() && path.is_file() {
            paths.push(path);
        }
    }
    paths
}

/// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → (`15.18`, 15).
pub fn parse_version(output: &str) -> Option<(String, u32)> {
    let version = output
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    // The leading digits: `15.18` → 15, and `17beta1` → 17 for pre-releases.
    let digits: String = version.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major = digits.parse().ok()?;
    Some((version.to_string(), major))
}

fn probe(path: &Path) -> Option<PgTool> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()?;
    let (version, major) = parse_version(&String::from_utf8_lossy(&out.stdout))?;
    Some(PgTool {
        path: path.to_path_buf(),
        version,
        major,
    })
}

/// The newest `name` whose major version is at least `min_major` (the server's).
pub fn find(name: &str, min_major: u32) -> Result<PgTool> {
    let mut found: Vec<PgTool> = candidates(name).iter().filter_map(|p| probe(p)).collect();
    found.sort_by_key(|t| std::cmp::Reverse(t.major));
    if let Some(tool) = found.iter().find(|t| t.major >= min_major) {
        return Ok(tool.clone());
    }
    let seen = if found.is_empty() {
        "none found".to_string()
    } else {
        found
            .iter()
            .map(|t| format!("{} {} at {}", name, t.version, t.path.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Error {
        exit: Exit::Backup,
        message: format!("no {name} of version {min_major} or newer for this PostgreSQL {min_major} server ({seen})"),
        help: Some(format!("install the client programs of PostgreSQL {min_major} or newer, e.g. `apt-get install postgresql-client-{min_major}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_parsed() {
        assert_eq!(
            parse_version("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(("15.18".into(), 15))
        );
        assert_eq!(
            parse_version("pg_restore (PostgreSQL) 17beta1"),
            Some(("17beta1".into(), 17))
        );
        assert_eq!(parse_version("nonsense"), None);
    }
}

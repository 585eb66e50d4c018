//! `[backup]` settings resolved to concrete values.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Loaded;
use crate::error::{Error, Result};

pub const DEFAULT_KEEP: usize = 10;
pub const DEFAULT_MAX_AGE: &str = "24h";
/// zstd level 1: on this project's benchmark (poorly compressible rows: uuids, md5 text,
/// jsonb) it is ~1.4x faster than level 3 and not larger, which keeps a backup within 1.5x of
/// what pg_dump alone takes.
pub const DEFAULT_LEVEL: i32 = 1;

#[derive(Clone, Debug)]
pub struct Settings {
    pub dir: PathBuf,
    pub keep: usize,
    pub max_age: Duration,
    pub max_age_text: String,
    pub level: i32,
    /// `[encryption]`: when set, backups are age-encrypted in the dump's streaming pass.
    pub encryption: Option<super::encryption::Encryption>,
    /// `keep` and the retention tiers.
    pub policy: super::policy::Policy,
    /// Where pg_dump, pg_restore and psql come from (`bindir`, `exec`).
    pub clients: super::tools::Source,
    /// Where `backup --scheduled` logs.
    pub log: PathBuf,
}

impl Settings {
    pub fn from_config(loaded: &Loaded) -> Result<Settings> {
        let backup = &loaded.config.backup;
        let dir = match &backup.dir {
            Some(dir) => loaded.resolve(dir),
            None if loaded.path.is_some() => loaded.resolve(std::path::Path::new("backups")),
            None => default_dir()?,
        };
        let policy =
            super::policy::Policy::new(backup.keep, DEFAULT_KEEP, &backup.tiers(), "backup")?;
        let keep = policy.last;
        let clients = match (&backup.bindir, &backup.exec) {
            (Some(_), Some(_)) => {
                return Err(Error::usage("[backup] has both bindir and exec")
                    .with_help("keep one: bindir for programs on this machine, exec for programs in the database's container"))
            }
            (Some(dir), None) => {
                let dir = loaded.resolve(dir);
                if !dir.join("pg_dump").is_file() {
                    return Err(Error::usage(format!(
                        "[backup] bindir = {:?} has no pg_dump",
                        dir.display().to_string()
                    ))
                    .with_help("name the directory holding pg_dump, pg_restore and psql, e.g. \"/usr/lib/postgresql/18/bin\""));
                }
                super::tools::Source::Bindir(dir)
            }
            (None, Some(prefix)) if prefix.is_empty() || prefix[0].is_empty() => {
                return Err(Error::usage("[backup] exec is empty").with_help(
                    "give the command that runs a program in the container, e.g. exec = [\"docker\", \"compose\", \"exec\", \"-T\", \"db\"]",
                ))
            }
            (None, Some(prefix)) => {
                super::tools::check_exec(prefix)?;
                super::tools::Source::Exec(prefix.clone())
            }
            (None, None) => super::tools::Source::Search,
        };
        let max_age_text = backup
            .max_age
            .clone()
            .unwrap_or_else(|| DEFAULT_MAX_AGE.to_string());
        let max_age = humantime::parse_duration(&max_age_text).map_err(|e| {
            Error::usage(format!("[backup] max_age = {max_age_text:?}: {e}"))
                .with_help("use a duration like \"30m\", \"24h\" or \"7d\"")
        })?;
        let level = match backup.compression.as_deref() {
            Some(text) => parse_compression(text)?,
            None => DEFAULT_LEVEL,
        };
        Ok(Settings {
            keep,
            max_age,
            max_age_text,
            level,
            encryption: super::encryption::Encryption::from_config(loaded)?,
            log: match &backup.log {
                Some(path) => loaded.resolve(path),
                None => dir.join("scheduled.log"),
            },
            dir,
            policy,
            clients,
        })
    }

    /// Where the backups of one database live.
    pub fn database_dir(&self, database: &str) -> PathBuf {
        self.dir.join(safe_file_component(database))
    }
}

fn default_dir() -> Result<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .ok_or_else(|| Error::usage("no backup directory: set [backup] dir in dbguard.toml"))?;
    Ok(data.join("dbguard/backups"))
}

fn parse_compression(text: &str) -> Result<i32> {
    let level = text
        .strip_prefix("zstd:")
        .and_then(|l| l.parse::<i32>().ok())
        .filter(|l| (1..=19).contains(l));
    level.ok_or_else(|| {
        Error::usage(format!("[backup] compression = {text:?} is not supported"))
            .with_help("use \"zstd:LEVEL\" with LEVEL from 1 to 19, e.g. \"zstd:3\"")
    })
}

/// A database name made safe as one path component (no `/`, no leading dot).
pub fn safe_file_component(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "_".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_levels() {
        assert_eq!(parse_compression("zstd:3").unwrap(), 3);
        assert!(parse_compression("gzip:9").is_err());
        assert!(parse_compression("zstd:0").is_err());
    }

    #[test]
    fn database_names_become_safe_directory_names() {
        assert_eq!(safe_file_component("app_dev"), "app_dev");
        assert_eq!(safe_file_component("../etc/passwd"), "_etc_passwd");
        assert_eq!(safe_file_component("my db"), "my_db");
    }
}

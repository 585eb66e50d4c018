//! `dbguard.toml`: found in the current directory or its parents (or given with `--config`),
//! validated strictly so a typo in a key is an error rather than a silently ignored setting.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{FailOn, Format};
use crate::error::{Error, Result};

pub const FILE_NAME: &str = "dbguard.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub check: CheckConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub backup: BackupConfig,
    #[serde(default)]
    pub guard: GuardConfig,
    #[serde(default)]
    pub audit: AuditConfig,
    #[serde(default)]
    pub test_database: TestDatabaseConfig,
    #[serde(default)]
    pub alembic: AlembicSettings,
    /// `[undo]`: the pre-image snapshots `dbguard undo` puts back.
    #[serde(default)]
    pub undo: UndoConfig,
    /// `[offsite]`: copies of every backup in S3-compatible object storage.
    pub offsite: Option<OffsiteConfig>,
    /// `[encryption]`: backups encrypted with age before they touch the disk.
    pub encryption: Option<EncryptionConfig>,
    /// `[proxy]`: `dbguard proxy` and `dbguard psql`.
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// `[notify]`: webhooks called after each backup.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// `[status]`: the thresholds of `dbguard status` alerts.
    #[serde(default)]
    pub status: StatusConfig,
    /// `[restore]`: commands run around a restore.
    #[serde(default)]
    pub restore: RestoreConfig,
}

/// Retention tiers (like restic's `forget`), for `[backup]` and `[offsite]` alike.
#[derive(Debug, Default, Clone)]
pub struct RetentionTiers {
    /// The newest backup of each of the last N days (local time) that have one.
    pub keep_daily: Option<usize>,
    /// The newest backup of each of the last N ISO weeks that have one.
    pub keep_weekly: Option<usize>,
    /// The newest backup of each of the last N months that have one.
    pub keep_monthly: Option<usize>,
    /// Every backup taken within this long of the newest one (`"30d"`).
    pub keep_within: Option<String>,
}

impl BackupConfig {
    pub fn tiers(&self) -> RetentionTiers {
        RetentionTiers {
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_within: self.keep_within.clone(),
        }
    }
}

impl OffsiteConfig {
    pub fn tiers(&self) -> RetentionTiers {
        RetentionTiers {
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_within: self.keep_within.clone(),
        }
    }
}

/// `[notify]`: `on_success = "https://hc-ping.com/…"`, `on_failure = "https://…"`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Called (POST, JSON body) after each successful backup. A secret: never printed.
    pub on_success: Option<String>,
    /// Called after each failed backup.
    pub on_failure: Option<String>,
    /// Per attempt (default `10s`).
    pub timeout: Option<String>,
    /// Retries after a failed attempt (default 2).
    pub retries: Option<u32>,
}

/// `[status]`: when `dbguard status` alerts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// Alert when the newest verified backup is older (default: `[backup] max_age` × 1.5).
    pub max_age: Option<String>,
    /// Alert when the newest backup is smaller (`"1MiB"`, `"500kB"`).
    pub min_size: Option<String>,
    /// Alert after this many scheduled runs without a backup (default 2).
    pub missed_runs: Option<u32>,
}

/// `[restore]`: `before = ["docker", "compose", "stop", "api"]`, `after = [...]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreConfig {
    /// Run before a restore; when it fails, nothing is touched.
    #[serde(default)]
    pub before: Vec<String>,
    /// Run after a restore, also when it failed.
    #[serde(default)]
    pub after: Vec<String>,
}

/// `[proxy]`: `dbguard proxy` and `dbguard psql`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// `snapshot` (default): protect what a destructive statement destroys, then run it;
    /// `block`: refuse it.
    pub destructive: Option<crate::guard::statement::Destructive>,
    /// Loopback address to listen on (default `127.0.0.1:6432`).
    pub listen: Option<String>,
    /// Or a directory for a unix socket (created 0700), relative to the config file.
    pub socket: Option<PathBuf>,
}

/// `[guard]`: how `dbguard run` treats commands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// Take the missing backup automatically instead of refusing (like `--backup`).
    #[serde(default)]
    pub auto_backup: bool,
    /// Other commands to treat as destructive: `[[guard.commands]]`.
    #[serde(default)]
    pub commands: Vec<GuardedCommand>,
    /// How destructive commands are protected: "snapshot" (default: a pre-image of exactly
    /// the objects at stake where they are known, a full backup otherwise) or "backup".
    pub protection: Option<String>,
    /// An UPDATE matching at least this many rows is data loss (default 100).
    pub bulk_rows: Option<u64>,
    /// How long counting the rows a DELETE/UPDATE touches may take (default "3s").
    pub count_timeout: Option<String>,
}

/// `[undo]`: pre-image snapshots.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoConfig {
    /// Snapshots kept per database (default 20); full backups are kept by `[backup] keep`.
    pub keep: Option<usize>,
}

/// `[[guard.commands]] match = "make reset-db"  severity = "data-loss"  database = "…"`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardedCommand {
    /// The command line it applies to: its leading words (`make reset-db` matches
    /// `make reset-db ARGS…`); `*` matches any one word.
    #[serde(rename = "match")]
    pub pattern: String,
    pub severity: crate::analysis::Severity,
    /// The database it destroys (a URL); default: `[database]`.
    pub database: Option<String>,
    /// Shown in the plan, e.g. "drops and recreates the dev database".
    pub reason: Option<String>,
}

/// `[audit]`: the append-only log of guarded decisions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// JSON-lines file, relative to the config file (default: `audit.jsonl` in the backup dir).
    pub path: Option<PathBuf>,
}

/// `[offsite]`: where backups are copied. Credentials never live here: they come from the
/// standard AWS sources (environment, `~/.aws/credentials`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsiteConfig {
    /// `s3://bucket/prefix`.
    pub url: Option<String>,
    /// Any S3-compatible endpoint (MinIO, SeaweedFS, B2, Spaces…); AWS when unset.
    pub endpoint: Option<String>,
    /// Region (default `$AWS_REGION`, `$AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Remote backups kept per database (default 30).
    pub keep: Option<usize>,
    /// Upload after every `dbguard backup` (default true); `false`: only with `--offsite`.
    pub auto: Option<bool>,
    /// Retries of a failed transfer (default 3).
    pub retries: Option<u32>,
    /// Wait before the first retry, doubled for each next one (default `5s`).
    pub retry_delay: Option<String>,
    /// Profile of the AWS shared credentials file (default `$AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// The newest backup of each of the last N days (local time) that have one.
    pub keep_daily: Option<usize>,
    /// The newest backup of each of the last N ISO weeks that have one.
    pub keep_weekly: Option<usize>,
    /// The newest backup of each of the last N months that have one.
    pub keep_monthly: Option<usize>,
    /// Every backup taken within this long of the newest one (`"30d"`).
    pub keep_within: Option<String>,
}

/// `[encryption]`: age recipients (public keys) and the identity (private key) that reads them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// age public keys (`age1…`).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// A file of age public keys, one a line (`#` comments); relative to the config file.
    pub recipients_file: Option<PathBuf>,
    /// The age identity file (private key), needed to verify fully and to restore; `~`
    /// expands to the home directory.
    pub identity_file: Option<PathBuf>,
}

/// `[backup]`: where verified backups live and how many are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// Directory, relative to the config file (default `backups`; without a config file
    /// `$XDG_DATA_HOME/dbguard/backups`).
    pub dir: Option<PathBuf>,
    /// Verified backups kept per database (default 10).
    pub keep: Option<usize>,
    /// How recent a backup must be for the guard and `status` (default 24h).
    pub max_age: Option<String>,
    /// `zstd:LEVEL` (1–19, default `zstd:1`).
    pub compression: Option<String>,
    /// The directory of the client programs (pg_dump, pg_restore, psql) to use.
    pub bindir: Option<PathBuf>,
    /// An argv prefix that runs the client programs where the database lives, e.g.
    /// `["docker", "compose", "exec", "-T", "db"]`.
    pub exec: Option<Vec<String>>,
    /// Where `dbguard backup --scheduled` logs (default `scheduled.log` in the backup dir).
    pub log: Option<PathBuf>,
    /// The newest backup of each of the last N days (local time) that have one.
    pub keep_daily: Option<usize>,
    /// The newest backup of each of the last N ISO weeks that have one.
    pub keep_weekly: Option<usize>,
    /// The newest backup of each of the last N months that have one.
    pub keep_monthly: Option<usize>,
    /// Every backup taken within this long of the newest one (`"30d"`).
    pub keep_within: Option<String>,
}

/// `[test_database]`: the database the test suite uses, which `verify-test-db` checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestDatabaseConfig {
    /// The test database URL. Prefer `url_env` when it holds a password.
    pub url: Option<String>,
    /// The environment variable holding the test URL (default `TEST_DATABASE_URL`).
    pub url_env: Option<String>,
    /// The port the test database must use (a dedicated test cluster, e.g. 5434).
    pub port: Option<u16>,
    /// A glob (`*`, `?`) the test database name must match, e.g. `*_test`.
    pub name_pattern: Option<String>,
    /// Require the marker written by `verify-test-db --mark` in the test database.
    #[serde(default)]
    pub require_mark: bool,
}

/// `[alembic]`: where the alembic project is.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlembicSettings {
    /// The alembic.ini (or pyproject.toml) to read, relative to dbguard.toml. Default: what
    /// alembic itself uses: `$ALEMBIC_CONFIG`, else `alembic.ini` in the current directory.
    pub config: Option<PathBuf>,
}

/// `[database]`: the database dbguard protects.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A libpq or SQLAlchemy URL. Prefer `url_env` when the URL holds a password.
    pub url: Option<String>,
    /// The environment variable holding the URL (default `DATABASE_URL`).
    pub url_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Default paths for `dbguard check` without arguments (relative to the config file).
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    pub fail_on: Option<FailOn>,
    pub format: Option<Format>,
    /// Globs of the files a directory walk checks (default `["*.sql"]`); alembic revisions
    /// are always checked. A glob without `/` matches file names anywhere.
    pub include: Option<Vec<String>>,
    /// Globs of files and directories a directory walk skips.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// A configuration and where it came from.
#[derive(Debug, Default)]
pub struct Loaded {
    pub config: Config,
    /// The file it was read from; `None` when no file was found (all defaults).
    pub path: Option<PathBuf>,
}

impl Loaded {
    /// `[alembic] config`, resolved against this file's directory.
    pub fn alembic_config(&self) -> Option<PathBuf> {
        self.config.alembic.config.as_ref().map(|p| self.resolve(p))
    }

    /// Resolves a path written in the config file against the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.path.as_deref().and_then(Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }
}

impl Loaded {
    /// The protected database: `--url`, else `[database] url`, else the `url_env` variable
    /// (default `DATABASE_URL`), else PG* variables alone; PG* variables and `.pgpass` fill
    /// whatever the URL leaves out. Also says where it came from.
    pub fn database(
        &self,
        cli_url: Option<&str>,
        env: &dyn crate::target::Env,
    ) -> Result<(crate::target::Target, String)> {
        use crate::target::Target;
        let db = &self.config.database;
        let var = db.url_env.as_deref().unwrap_or("DATABASE_URL");
        let (target, source) = if let Some(url) = cli_url {
            (Target::parse(url)?, "--url".to_string())
        } else if let Some(url) = &db.url {
            (Target::parse(url)?, "[database] url".to_string())
        } else if let Some(url) = env.var(var) {
            (
                Target::parse(&url).map_err(|e| Error::usage(format!("${var}: {}", e.message)))?,
                format!("${var}"),
            )
        } else {
            (
                Target::default(),
                "PG* environment variables and libpq defaults".to_string(),
            )
        };
        Ok((target.with_defaults(env), source))
    }
}

/// Loads `explicit`, or the nearest `dbguard.toml` from `cwd` upwards, or defaults.
pub fn load(explicit: Option<&Path>, cwd: &Path) -> Result<Loaded> {
    let path = match explicit {
        Some(path) => {
            if !path.is_file() {
                return Err(Error::usage(format!(
                    "config file not found: {}",
                    path.display()
                )));
            }
            path.to_path_buf()
        }
        None => match discover(cwd) {
            Some(path) => path,
            None => return Ok(Loaded::default()),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::usage(format!("cannot read config file {}: {e}", path.display())))?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        Error::usage(format!(
            "invalid config file {}: {}",
            path.display(),
            e.message()
        ))
        .with_help(location_hint(&text, e.span()))
    })?;
    Ok(Loaded {
        config,
        path: Some(path),
    })
}

fn discover(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|p| p.is_file())
}

fn location_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("see line {line}; every key is documented in dbguard.toml.example")
        }
        None => "every key is documented in dbguard.toml.example".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "[check]\nfail_onn = \"risky\"\n").unwrap();
        let err = load(None, dir.path()).unwrap_err();
        assert!(err.message.contains("fail_onn"), "{}", err.message);
    }

    #[test]
    fn found_in_a_parent_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            "[check]\nfail_on = \"risky\"\npaths = [\"migrations\"]\n",
        )
        .unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let loaded = load(None, &nested).unwrap();
        assert_eq!(loaded.config.check.fail_on, Some(FailOn::Risky));
        assert_eq!(
            loaded.resolve(Path::new("migrations")),
            dir.path().join("migrations")
        );
    }

    #[test]
    fn the_example_is_valid_and_so_are_its_commented_sections() {
        let example = include_str!("../dbguard.toml.example");
        let config: Config = toml::from_str(example).unwrap();
        assert!(config.offsite.is_none() && config.encryption.is_none());
        // Uncommented, every documented key is known.
        let uncommented: String = example
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let config: Config = toml::from_str(&uncommented).unwrap();
        let offsite = config.offsite.unwrap();
        assert_eq!(offsite.retry_delay.as_deref(), Some("5s"));
        assert_eq!(config.encryption.unwrap().recipients, ["age1…"]);
        assert_eq!(config.backup.keep_daily, Some(7));
        assert_eq!(config.backup.exec.unwrap()[0], "docker");
        assert_eq!(config.notify.retries, Some(2));
        assert_eq!(config.status.missed_runs, Some(2));
        assert_eq!(config.restore.after[0], "docker");
    }

    #[test]
    fn no_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(None, dir.path()).unwrap().path.is_none());
    }
}

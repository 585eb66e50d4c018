//! AWS credentials from the standard places, in the standard order: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the shared
//! credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`) and config
//! file (`AWS_CONFIG_FILE`, default `~/.aws/config`) for the profile (`[offsite] profile`,
//! else `AWS_PROFILE`, else `default`).
//!
//! Deliberately not consulted: instance metadata and container endpoints. On a developer's
//! machine they do not exist, and probing them costs a network timeout on every run.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Exit, Result};

/// Credentials for one run. `Debug` never shows the secret parts.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Where they came from, for messages: `environment` or `profile default (~/.aws/credentials)`.
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials(from {})", self.source)
    }
}

impl Credentials {
    /// The strings that must never appear in output.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.secret_access_key.clone()];
        secrets.extend(self.session_token.clone());
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

/// Looks credentials up; `env` reads an environment variable (injectable for tests).
pub fn resolve(profile: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Credentials {
                access_key_id,
                secret_access_key,
                session_token: var("AWS_SESSION_TOKEN"),
                source: "the environment (AWS_ACCESS_KEY_ID)".to_string(),
            })
        }
        (Some(_), None) => {
            return Err(missing(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
            ))
        }
        (None, Some(_)) => {
            return Err(missing(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
            ))
        }
        (None, None) => {}
    }
    let explicit = profile.map(str::to_string).or_else(|| var("AWS_PROFILE"));
    let name = explicit.clone().unwrap_or_else(|| "default".to_string());
    let home = var("HOME").map(PathBuf::from);
    let credentials_file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config_file = var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    // The credentials file names sections `[name]`; the config file `[profile name]`, except
    // `[default]`.
    let candidates = [
        (credentials_file, name.clone()),
        (
            config_file,
            if name == "default" {
                name.clone()
            } else {
                format!("profile {name}")
            },
        ),
    ];
    for (file, section) in candidates {
        let Some(file) = file else { continue };
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Some(values) = parse_ini(&text).remove(&section) else {
            continue;
        };
        let get = |k: &str| values.get(k).filter(|v| !v.is_empty()).cloned();
        if let (Some(access_key_id), Some(secret_access_key)) =
            (get("aws_access_key_id"), get("aws_secret_access_key"))
        {
            return Ok(Credentials {
                access_key_id,
                secret_access_key,
                session_token: get("aws_session_token"),
                source: format!("profile {name} ({})", file.display()),
            });
        }
    }
    Err(match explicit {
        Some(name) => missing(&format!(
            "the AWS profile {name:?} has no aws_access_key_id / aws_secret_access_key"
        )),
        None => missing("no AWS credentials found"),
    })
}

fn missing(why: &str) -> Error {
    Error {
        exit: Exit::Backup,
        message: format!("offsite storage: {why}"),
        help: Some(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials \
             (dbguard.toml never holds credentials)"
                .to_string(),
        ),
    }
}

/// `[section]` → key → value, for the AWS shared files (`key = value`, `#`/`;` comments).
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            sections
                .entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn environment_first() {
        let c = resolve(
            None,
            &env(&[
                ("AWS_ACCESS_KEY_ID", "AKID".into()),
                ("AWS_SECRET_ACCESS_KEY", "s3cret".into()),
            ]),
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKID");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(resolve(None, &env(&[("AWS_ACCESS_KEY_ID", "AKID".into())])).is_err());
    }

    #[test]
    fn profiles_from_the_shared_files() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = D\naws_secret_access_key = ds\n\n[work]\naws_access_key_id=W\naws_secret_access_key=ws\naws_session_token=tok\n",
        )
        .unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[profile other]\naws_access_key_id = O\naws_secret_access_key = os\n",
        )
        .unwrap();
        let files = [
            ("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string()),
            ("AWS_CONFIG_FILE", config.display().to_string()),
        ];
        assert_eq!(resolve(None, &env(&files)).unwrap().access_key_id, "D");
        let work = resolve(Some("work"), &env(&files)).unwrap();
        assert_eq!(work.session_token.as_deref(), Some("tok"));
        assert_eq!(work.secrets(), ["ws", "tok"]);
        let mut with_profile = files.to_vec();
        with_profile.push(("AWS_PROFILE", "other".into()));
        assert_eq!(
            resolve(None, &env(&with_profile)).unwrap().access_key_id,
            "O"
        );
        let err = resolve(Some("nope"), &env(&files)).unwrap_err();
        assert!(err.message.contains("\"nope\""), "{}", err.message);
    }
}

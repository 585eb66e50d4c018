//! `[offsite]` resolved to concrete values. Holds no credentials: those are looked up only
//! when a transfer starts (see `credentials`).

use std::time::Duration;

use crate::config::Loaded;
use crate::error::{Error, Result};

pub const DEFAULT_KEEP: usize = 30;
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_RETRY_DELAY: &str = "5s";
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Clone, Debug)]
pub struct OffsiteSettings {
    /// `s3://bucket[/prefix]`, normalised (no trailing slash).
    pub url: String,
    pub bucket: String,
    /// Key prefix without leading or trailing slashes; may be empty.
    pub prefix: String,
    pub endpoint: Option<String>,
    /// `None`: from the environment at connection time, else `us-east-1`.
    pub region: Option<String>,
    pub keep: usize,
    /// `keep` and the retention tiers of the remote copies.
    pub policy: crate::backup::policy::Policy,
    /// Upload after every `dbguard backup` without being asked.
    pub auto: bool,
    /// Retries after a failed attempt; the delays double from `retry_delay`.
    pub retries: u32,
    pub retry_delay: Duration,
    pub profile: Option<String>,
}

impl OffsiteSettings {
    /// Reads `[offsite]`; `None` when the section is absent.
    pub fn from_config(loaded: &Loaded) -> Result<Option<OffsiteSettings>> {
        let Some(config) = &loaded.config.offsite else {
            return Ok(None);
        };
        let url = config.url.as_deref().ok_or_else(|| {
            Error::usage("[offsite] needs url").with_help("e.g. url = \"s3://my-bucket/dbguard\"")
        })?;
        let (bucket, prefix) = parse_url(url)?;
        if let Some(endpoint) = &config.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(Error::usage(format!(
                    "[offsite] endpoint = {endpoint:?} is not an http(s) URL"
                ))
                .with_help("e.g. endpoint = \"https://s3.eu-central-003.backblazeb2.com\""));
            }
            if endpoint.contains('@') {
                return Err(Error::usage("[offsite] endpoint must not hold credentials")
                    .with_help("credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws/credentials"));
            }
        }
        let policy = crate::backup::policy::Policy::new(
            config.keep,
            DEFAULT_KEEP,
            &config.tiers(),
            "offsite",
        )?;
        let keep = policy.last;
        let delay_text = config.retry_delay.as_deref().unwrap_or(DEFAULT_RETRY_DELAY);
        let retry_delay = humantime::parse_duration(delay_text).map_err(|e| {
            Error::usage(format!("[offsite] retry_delay = {delay_text:?}: {e}"))
                .with_help("use a duration like \"500ms\", \"5s\" or \"1m\"")
        })?;
        Ok(Some(OffsiteSettings {
            url: if prefix.is_empty() {
                format!("s3://{bucket}")
            } else {
                format!("s3://{bucket}/{prefix}")
            },
            bucket,
            prefix,
            endpoint: config.endpoint.clone(),
            region: config.region.clone(),
            keep,
            policy,
            auto: config.auto.unwrap_or(true),
            retries: config.retries.unwrap_or(DEFAULT_RETRIES),
            retry_delay,
            profile: config.profile.clone(),
        }))
    }

    /// The wait before retry number `n` (1-based): `retry_delay`, doubled each time.
    pub fn delay_before(&self, n: u32) -> Duration {
        self.retry_delay
            .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
    }
}

/// `s3://bucket/some/prefix/` → (`bucket`, `some/prefix`).
fn parse_url(url: &str) -> Result<(String, String)> {
    let bad = |why: &str| {
        Error::usage(format!("[offsite] url = {url:?}: {why}")).with_help(
            "use s3://BUCKET or s3://BUCKET/PREFIX (any S3-compatible store, with endpoint)",
        )
    };
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(bad("only s3:// URLs are supported"));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
    if !valid_bucket {
        return Err(bad("not a valid bucket name"));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
        return Err(bad("the prefix must not contain empty, `.` or `..` parts"));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("s3://my-bucket/dbguard/").unwrap(),
            ("my-bucket".into(), "dbguard".into())
        );
        assert_eq!(
            parse_url("s3://my-bucket").unwrap(),
            ("my-bucket".into(), "".into())
        );
        assert!(parse_url("gs://b/x").is_err());
        assert!(parse_url("s3://B/x").is_err());
        assert!(parse_url("s3://bucket/a/../b").is_err());
    }

    #[test]
    fn delays_double() {
        let s = OffsiteSettings {
            url: String::new(),
            bucket: String::new(),
            prefix: String::new(),
            endpoint: None,
            region: None,
            keep: 1,
            policy: crate::backup::policy::Policy::last(1),
            auto: true,
            retries: 3,
            retry_delay: Duration::from_secs(5),
            profile: None,
        };
        let delays: Vec<u64> = (1..=3).map(|n| s.delay_before(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20]);
    }
}

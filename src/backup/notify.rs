//! `[notify]`: after each backup, a POST with a small JSON body to `on_success` or
//! `on_failure` (healthchecks.io, a Sentry cron monitor, any webhook). Bounded: a timeout per
//! attempt and a few retries. A failed notification is reported, never fails the backup.
//! The URLs carry tokens, so only their scheme and host are ever shown.
//!
//! reqwest (already built for the offsite store, with rustls) on a current-thread runtime:
//! no second HTTP stack in the binary.

use std::time::Duration;

use serde::Serialize;

use crate::config::Loaded;
use crate::error::{Error, Result};

pub const DEFAULT_TIMEOUT: &str = "10s";
pub const DEFAULT_RETRIES: u32 = 2;
const RETRY_DELAY: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct NotifySettings {
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub timeout: Duration,
    pub retries: u32,
}

/// What is sent.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// `success` or `failure`.
    pub status: &'static str,
    pub database: String,
    pub kind: String,
    pub name: Option<String>,
    pub size_bytes: Option<u64>,
    pub duration_seconds: f64,
    pub sha256: Option<String>,
    pub error: Option<String>,
    pub host: String,
    pub dbguard_version: &'static str,
}

impl NotifySettings {
    /// `None` when neither URL is set.
    pub fn from_config(loaded: &Loaded) -> Result<Option<NotifySettings>> {
        let config = &loaded.config.notify;
        if config.on_success.is_none() && config.on_failure.is_none() {
            return Ok(None);
        }
        for (key, url) in [
            ("on_success", &config.on_success),
            ("on_failure", &config.on_failure),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Error::usage(format!(
                        "[notify] {key} = {:?} is not an http(s) URL",
                        mask_url(url)
                    ))
                    .with_help("e.g. on_success = \"https://hc-ping.com/YOUR-UUID\""));
                }
            }
        }
        let text = config.timeout.as_deref().unwrap_or(DEFAULT_TIMEOUT);
        let timeout = humantime::parse_duration(text).map_err(|e| {
            Error::usage(format!("[notify] timeout = {text:?}: {e}"))
                .with_help("use a duration like \"5s\" or \"30s\"")
        })?;
        Ok(Some(NotifySettings {
            on_success: config.on_success.clone(),
            on_failure: config.on_failure.clone(),
            timeout,
            retries: config.retries.unwrap_or(DEFAULT_RETRIES),
        }))
    }
}

/// `https://hc-ping.com/***`: scheme and host only; paths and queries hold the tokens.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return crate::target::MASK.to_string();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    // user:password@host
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}/{}", crate::target::MASK)
}

/// What became of a notification.
#[derive(Debug)]
pub struct Sent {
    /// The masked URL.
    pub url: String,
    pub attempts: u32,
    /// `None` when delivered.
    pub error: Option<String>,
}

/// Sends `event` to the URL for its status, if one is set. Never fails (not even by a
/// panic in the HTTP stack): the outcome says what happened.
pub fn send(settings: &NotifySettings, event: &Event) -> Option<Sent> {
    let url = match event.status {
        "success" => settings.on_success.as_ref(),
        _ => settings.on_failure.as_ref(),
    }?;
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(settings, event)));
    sent.unwrap_or_else(|_| {
        Some(Sent {
            url: mask_url(url),
            attempts: 0,
            error: Some("the HTTP client failed".into()),
        })
    })
}

fn deliver(settings: &NotifySettings, event: &Event) -> Option<Sent> {
    let url = match event.status {
        "success" => settings.on_success.as_ref(),
        _ => settings.on_failure.as_ref(),
    }?;
    let masked = mask_url(url);
    let body = serde_json::to_vec(event).expect("serializes");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return Some(Sent {
                url: masked,
                attempts: 0,
                error: Some(format!("cannot start the HTTP client: {e}")),
            })
        }
    };
    // reqwest's connector needs the runtime's reactor when it is built.
    let _entered = runtime.enter();
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("dbguard/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Some(Sent {
                url: masked,
                attempts: 0,
                error: Some(format!("cannot start the HTTP client: {e}")),
            })
        }
    };
    let attempts = settings.retries.saturating_add(1);
    let mut last_error = None;
    for attempt in 1..=attempts {
        let result = runtime.block_on(
            client
                .post(url)
                .header("content-type", "application/json")
                .body(body.clone())
                .send(),
        );
        match result {
            Ok(response) if response.status().is_success() => {
                return Some(Sent {
                    url: masked,
                    attempts: attempt,
                    error: None,
                })
            }
            Ok(response) => {
                let status = response.status();
                last_error = Some(format!("HTTP {status}"));
                // A client error (bad URL, wrong token) will not get better by retrying.
                if status.is_client_error() && status.as_u16() != 429 {
                    return Some(Sent {
                        url: masked,
                        attempts: attempt,
                        error: last_error,
                    });
                }
            }
            Err(e) => last_error = Some(describe(&e, url)),
        }
        if attempt < attempts {
            std::thread::sleep(RETRY_DELAY * attempt);
        }
    }
    Some(Sent {
        url: masked,
        attempts,
        error: last_error,
    })
}

/// reqwest's message without the URL (it holds the token).
fn describe(error: &reqwest::Error, url: &str) -> String {
    let what = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    let detail = detail.replace(url, &mask_url(url));
    if detail.is_empty() {
        what
    } else {
        format!("{what}: {}", crate::target::mask_secrets(&detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked_to_their_host() {
        assert_eq!(
            mask_url("https://hc-ping.com/2f9a-secret-uuid/fail"),
            "https://hc-ping.com/***"
        );
        assert_eq!(
            mask_url("https://o1.ingest.sentry.io/api/1/cron/x/key/?status=ok"),
            "https://o1.ingest.sentry.io/***"
        );
        assert_eq!(
            mask_url("http://user:pw@host:8080/x"),
            "http://host:8080/***"
        );
    }
}

//! The bucket, seen synchronously: object_store's S3 client on a private single-threaded
//! tokio runtime, with every failure turned into one masked line and a kind that says
//! whether trying again can help.

use std::io::{Read, Write};
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use indicatif::ProgressBar;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMode, PutMultipartOptions, PutPayload, RetryConfig, WriteMultipart,
};

use super::credentials;
use super::settings::{OffsiteSettings, DEFAULT_REGION};
use crate::error::{Error, Exit, Result};
use crate::target::mask_secrets;

/// Parts of a multipart upload: S3 wants at least 5 MiB (but the last) and at most 10,000.
const MIN_PART_SIZE: u64 = 8 << 20;
const MAX_PARTS: u64 = 9_000;
/// Parts in flight at once: memory stays at about (this + 1) × part size, whatever the file.
const PARTS_IN_FLIGHT: usize = 2;
/// Sidecars fetched at once when listing.
const PARALLEL_GETS: usize = 8;

/// What kind of failure: only `Transient` ones are worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Network errors, timeouts, 5xx, throttling.
    Transient,
    /// The store refused the credentials or the permission.
    Denied,
    /// A conditional create found the object there already.
    Exists,
    /// No such object (or bucket).
    Missing,
    /// Anything else: a bad request, a checksum mismatch, a local file error.
    Other,
}

#[derive(Debug)]
pub struct StoreError {
    pub failure: Failure,
    pub message: String,
}

impl StoreError {
    pub fn new(failure: Failure, message: impl Into<String>) -> StoreError {
        StoreError {
            failure,
            message: message.into(),
        }
    }

    /// The error the user sees (exit 4), with a hint that fits the kind of failure.
    pub fn into_error(self, context: &str) -> Error {
        let help = match self.failure {
            Failure::Denied => "check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the AWS profile) and that they may read and write the bucket",
            Failure::Transient => "the store did not answer; check [offsite] endpoint and the network",
            Failure::Missing => "check [offsite] url (the bucket must exist) and endpoint",
            Failure::Exists | Failure::Other => "see the message above; the local backups are unaffected",
        };
        Error {
            exit: Exit::Backup,
            message: format!("{context}: {}", self.message),
            help: Some(help.to_string()),
        }
    }
}

pub type StoreResult<T> = std::result::Result<T, StoreError>;

pub struct Store {
    runtime: tokio::runtime::Runtime,
    s3: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
    /// Strings that must never be printed (the secret key, the session token).
    secrets: Vec<String>,
}

impl Store {
    /// Builds the client. Fails (exit 4) when no credentials are found; sends nothing yet.
    pub fn connect(settings: &OffsiteSettings) -> Result<Store> {
        let env = |k: &str| std::env::var(k).ok();
        let credentials = credentials::resolve(settings.profile.as_deref(), &env)?;
        let region = settings
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        let http = settings
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        // One quick retry layer here for blips on a single request; the visible, configured
        // retries with their long delays wrap whole transfers (see `retry`).
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 2,
            retry_timeout: Duration::from_secs(10),
        };
        let client = ClientOptions::new()
            .with_allow_http(http)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(300));
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(region)
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(&credentials.secret_access_key)
            // Every request body carries its SHA-256: the store rejects a part damaged on the
            // way (where it checks), and the whole object is hashed again after the upload.
            .with_checksum_algorithm(Checksum::SHA256)
            .with_retry(retry)
            .with_client_options(client);
        if let Some(token) = &credentials.session_token {
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        let secrets = credentials.secrets();
        let s3 = builder.build().map_err(|e| {
            Error::usage(format!("[offsite]: {}", redact(&e.to_string(), &secrets)))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error {
                exit: Exit::Backup,
                message: format!("cannot start the network runtime: {e}"),
                help: None,
            })?;
        Ok(Store {
            runtime,
            s3: Arc::new(s3),
            bucket: settings.bucket.clone(),
            prefix: settings.prefix.clone(),
            secrets,
        })
    }

    /// The key of `name` inside the configured prefix (`prefix/name`).
    pub fn key(&self, name: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(name)
        } else {
            Path::from(format!("{}/{name}", self.prefix))
        }
    }

    /// The configured prefix as a key, for listing.
    pub fn root(&self) -> Option<Path> {
        (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()))
    }

    /// `s3://bucket/key`, for messages and records.
    pub fn url(&self, key: &Path) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn fail(&self, key: &Path, e: object_store::Error) -> StoreError {
        let failure = classify(&e);
        StoreError::new(
            failure,
            format!(
                "{}: {}",
                self.url(key),
                redact(&summarize(&e), &self.secrets)
            ),
        )
    }

    /// The object's size and time, or `None` when it does not exist.
    pub fn head(&self, key: &Path) -> StoreResult<Option<ObjectMeta>> {
        match self.runtime.block_on(self.s3.head(key)) {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(key, e)),
        }
    }

    /// A small object, whole, or `None` when it does not exist. Unlike a HEAD request, a GET
    /// carries the store's error code (`SignatureDoesNotMatch`, …) in its answer.
    pub fn get_if_exists(&self, key: &Path) -> StoreResult<Option<bytes::Bytes>> {
        match self
            .runtime
            .block_on(async { self.s3.get(key).await?.bytes().await })
        {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(key, e)),
        }
    }

    /// A small object, whole.
    pub fn get(&self, key: &Path) -> StoreResult<bytes::Bytes> {
        self.runtime
            .block_on(async { self.s3.get(key).await?.bytes().await })
            .map_err(|e| self.fail(key, e))
    }

    /// Several small objects, fetched concurrently; results in the order of `keys`.
    pub fn get_many(&self, keys: &[Path]) -> Vec<StoreResult<bytes::Bytes>> {
        let results = self.runtime.block_on(
            futures_util::stream::iter(keys.iter().map(|key| async move {
                let got = async { self.s3.get(key).await?.bytes().await }.await;
                got.map_err(|e| self.fail(key, e))
            }))
            .buffered(PARALLEL_GETS)
            .collect::<Vec<_>>(),
        );
        results
    }

    /// Streams an object into `out` (constant memory); returns the bytes written.
    pub fn download(
        &self,
        key: &Path,
        out: &mut dyn Write,
        progress: &ProgressBar,
    ) -> StoreResult<u64> {
        self.runtime.block_on(async {
            let mut stream = self
                .s3
                .get(key)
                .await
                .map_err(|e| self.fail(key, e))?
                .into_stream();
            let mut total = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.fail(key, e))?;
                out.write_all(&chunk).map_err(|e| {
                    StoreError::new(Failure::Other, format!("cannot write the download: {e}"))
                })?;
                total += chunk.len() as u64;
                progress.set_position(total);
            }
            Ok(total)
        })
    }

    /// Creates a small object; fails with `Failure::Exists` rather than overwrite one.
    pub fn put_new(&self, key: &Path, bytes: Vec<u8>) -> StoreResult<()> {
        let payload = PutPayload::from(bytes);
        self.runtime
            .block_on(self.s3.put_opts(key, payload, PutMode::Create.into()))
            .map(|_| ())
            .map_err(|e| self.fail(key, e))
    }

    /// Uploads a local file with a multipart upload, reading it part by part; the SHA-256 is
    /// stored as the object's `x-amz-meta-sha256`. A failed upload is aborted, so no partial
    /// object is left behind (the store discards the parts).
    pub fn upload(
        &self,
        key: &Path,
        file: &FsPath,
        sha256: &str,
        progress: &ProgressBar,
    ) -> StoreResult<()> {
        let local = |e: std::io::Error| {
            StoreError::new(
                Failure::Other,
                format!("cannot read {}: {e}", file.display()),
            )
        };
        let mut reader = std::fs::File::open(file).map_err(local)?;
        let size = reader.metadata().map_err(local)?.len();
        let part_size = size
            .div_ceil(MAX_PARTS)
            .max(MIN_PART_SIZE)
            .next_multiple_of(1 << 20);
        let mut attributes = Attributes::new();
        attributes.insert(
            Attribute::Metadata("sha256".into()),
            sha256.to_string().into(),
        );
        let options = PutMultipartOptions {
            attributes,
            ..Default::default()
        };
        self.runtime.block_on(async {
            let upload = self
                .s3
                .put_multipart_opts(key, options)
                .await
                .map_err(|e| self.fail(key, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size as usize);
            let mut buf = vec![0u8; 1 << 20];
            let mut sent = 0u64;
            let pumped: StoreResult<()> = async {
                loop {
                    writer
                        .wait_for_capacity(PARTS_IN_FLIGHT)
                        .await
                        .map_err(|e| self.fail(key, e))?;
                    let n = reader.read(&mut buf).map_err(local)?;
                    if n == 0 {
                        return Ok(());
                    }
                    writer.write(&buf[..n]);
                    sent += n as u64;
                    progress.set_position(sent);
                }
            }
            .await;
            match pumped {
                Ok(()) => writer
                    .finish()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.fail(key, e)),
                Err(e) => {
                    let _ = writer.abort().await;
                    Err(e)
                }
            }
        })
    }

    /// Every object under `prefix` (recursively).
    pub fn list(&self, prefix: Option<&Path>) -> StoreResult<Vec<ObjectMeta>> {
        let root = prefix.cloned().unwrap_or_default();
        self.runtime
            .block_on(self.s3.list(prefix).collect::<Vec<_>>())
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.fail(&root, e))
    }

    pub fn delete(&self, key: &Path) -> StoreResult<()> {
        match self.runtime.block_on(self.s3.delete(key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(key, e)),
        }
    }
}

fn classify(e: &object_store::Error) -> Failure {
    use object_store::Error as E;
    match e {
        E::AlreadyExists { .. } => Failure::Exists,
        E::NotFound { .. } => Failure::Missing,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => Failure::Denied,
        E::Generic { .. } => match status(&e.to_string()) {
            // Throttling, timeouts and server errors pass; other client errors do not.
            Some(408 | 429) => Failure::Transient,
            Some(s) if s >= 500 => Failure::Transient,
            Some(_) => Failure::Other,
            None => Failure::Transient,
        },
        _ => Failure::Other,
    }
}

/// The HTTP status in object_store's error text (`…status code: 503 Service Unavailable…`).
fn status(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// One readable line: the store's own `<Code>`/`<Message>` when it sent one, else the
/// innermost cause (e.g. `Connection refused`). object_store's full text runs over several
/// nested layers and includes the XML body.
fn summarize(e: &object_store::Error) -> String {
    let text = e.to_string();
    let between = |open: &str, close: &str| {
        let start = text.find(open)? + open.len();
        let end = text[start..].find(close)? + start;
        Some(text[start..end].trim().to_string())
    };
    if let Some(code) = between("<Code>", "</Code>") {
        let message = between("<Message>", "</Message>").unwrap_or_default();
        let status = status(&text)
            .map(|s| format!(" (HTTP {s})"))
            .unwrap_or_default();
        return format!("{code}: {message}{status}");
    }
    match status(&text) {
        Some(403) => {
            return "access denied (HTTP 403): the credentials were refused or may not use this bucket"
                .to_string()
        }
        Some(s) => return format!("the store answered HTTP {s}"),
        None => {}
    }
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut innermost = text.clone();
    while let Some(err) = source {
        innermost = err.to_string();
        source = err.source();
    }
    if innermost == text {
        text.lines().next().unwrap_or_default().to_string()
    } else {
        format!("cannot reach the store: {innermost}")
    }
}

/// Removes the secret strings, then anything that looks like a credential.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "***");
    }
    mask_secrets(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_redaction() {
        assert_eq!(
            status("Server returned non-2xx status code: 503 Service Unavailable: x"),
            Some(503)
        );
        assert_eq!(status("no status"), None);
        let secrets = vec!["wJalrXUtnFEMI".to_string()];
        assert_eq!(
            redact(
                "signed with wJalrXUtnFEMI and AWS_SECRET_ACCESS_KEY=abc",
                &secrets
            ),
            "signed with *** and AWS_SECRET_ACCESS_KEY=***"
        );
    }
}

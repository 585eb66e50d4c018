//! Encryption at rest with age (X25519 recipients, ChaCha20-Poly1305 in 64 KiB authenticated
//! chunks): backups are encrypted in the same streaming pass that compresses them, so the
//! plaintext never reaches the disk or the bucket. Only the recipients (public keys) are needed
//! to take a backup; the identity (private key) is needed to read one back.

use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;

use crate::config::Loaded;
use crate::error::{Error, Exit, Result};

/// What the sidecar records about an encrypted backup.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Info {
    /// Always `age` for now.
    pub scheme: String,
    /// The public keys it was encrypted to: tells which identity restores it.
    pub recipients: Vec<String>,
}

/// `[encryption]`, resolved: validated recipients and where the identity lives.
#[derive(Clone, Debug)]
pub struct Encryption {
    pub recipients: Vec<String>,
    pub identity_file: Option<PathBuf>,
}

/// The private keys of an identity file. Never printed: `Debug` shows only how many.
pub struct Identity {
    keys: Vec<age::x25519::Identity>,
    pub path: PathBuf,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity({} keys from {})",
            self.keys.len(),
            self.path.display()
        )
    }
}

impl Identity {
    /// The public keys matching these private keys.
    pub fn recipients(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| k.to_public().to_string())
            .collect()
    }

    fn as_dyn(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k as &dyn age::Identity)
    }
}

/// Whether the identity could be had, and if not, why (for the `verification` record).
pub enum IdentityLookup {
    Loaded(Identity),
    NotConfigured,
    Missing(PathBuf),
}

fn usage(message: impl Into<String>) -> Error {
    Error::usage(message)
}

fn backup_error(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error {
        exit: Exit::Backup,
        message: message.into(),
        help: Some(help.into()),
    }
}

/// `~` and `~/…` expand to `$HOME`, as a shell would for a path typed in dbguard.toml.
pub fn expand_home(path: &Path) -> PathBuf {
    let Ok(rest) = path.strip_prefix("~") else {
        return path.to_path_buf();
    };
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(rest),
        None => path.to_path_buf(),
    }
}

/// Where `dbguard keygen` writes when neither `--output` nor `identity_file` says.
pub fn default_identity_file() -> PathBuf {
    expand_home(Path::new("~/.config/dbguard/key.txt"))
}

fn parse_recipient(text: &str, origin: &str) -> Result<String> {
    age::x25519::Recipient::from_str(text.trim())
        .map(|r| r.to_string())
        .map_err(|_| {
            usage(format!("{origin}: {:?} is not an age public key", text.trim())).with_help(
                "recipients are X25519 age public keys (`age1…`); `dbguard keygen` makes a key pair",
            )
        })
}

impl Encryption {
    /// Reads `[encryption]`; `None` when the section is absent.
    pub fn from_config(loaded: &Loaded) -> Result<Option<Encryption>> {
        let Some(config) = &loaded.config.encryption else {
            return Ok(None);
        };
        let mut recipients = Vec::new();
        for r in &config.recipients {
            recipients.push(parse_recipient(r, "[encryption] recipients")?);
        }
        if let Some(file) = &config.recipients_file {
            let path = loaded.resolve(&expand_home(file));
            let text = std::fs::read_to_string(&path).map_err(|e| {
                usage(format!(
                    "[encryption] recipients_file {}: {e}",
                    path.display()
                ))
            })?;
            for line in text.lines() {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    recipients.push(parse_recipient(line, &path.display().to_string())?);
                }
            }
        }
        recipients.dedup();
        if recipients.is_empty() {
            return Err(
                usage("[encryption] has no recipients").with_help(
                    "set recipients = [\"age1…\"] or recipients_file; `dbguard keygen` prints a public key",
                ),
            );
        }
        let identity_file = config
            .identity_file
            .as_ref()
            .map(|p| loaded.resolve(&expand_home(p)));
        let encryption = Encryption {
            recipients,
            identity_file,
        };
        // A configured identity that cannot read what is written would only be discovered at
        // restore time, when it is too late.
        if let IdentityLookup::Loaded(identity) = encryption.identity()? {
            if !identity
                .recipients()
                .iter()
                .any(|r| encryption.recipients.contains(r))
            {
                return Err(usage(format!(
                    "[encryption] identity_file {} is not one of the recipients: backups would not be readable with it",
                    identity.path.display()
                ))
                .with_help(format!(
                    "add its public key ({}) to recipients, or point identity_file at the right key",
                    identity.recipients().join(", ")
                )));
            }
        }
        Ok(Some(encryption))
    }

    /// Loads the identity file when one is configured and present.
    pub fn identity(&self) -> Result<IdentityLookup> {
        let Some(path) = &self.identity_file else {
            return Ok(IdentityLookup::NotConfigured);
        };
        if !path.exists() {
            return Ok(IdentityLookup::Missing(path.clone()));
        }
        load_identity(path).map(IdentityLookup::Loaded)
    }

    /// The identity, or an error that says how to provide it.
    pub fn require_identity(&self, why: &str) -> Result<Identity> {
        require_identity(Some(self), why)
    }

    fn encryptor(&self) -> io::Result<age::Encryptor> {
        encryptor(&self.recipients)
    }

    pub fn info(&self) -> Info {
        Info {
            scheme: "age".to_string(),
            recipients: self.recipients.clone(),
        }
    }
}

fn encryptor(recipients: &[String]) -> io::Result<age::Encryptor> {
    let parsed: Vec<age::x25519::Recipient> = recipients
        .iter()
        .map(|r| age::x25519::Recipient::from_str(r))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| io::Error::other("a recipient is not an age public key"))?;
    age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| io::Error::other(format!("cannot encrypt: {e}")))
}

/// Encrypts a small text (e.g. the private part of a remote sidecar) to `recipients`,
/// ASCII-armored so it fits in JSON.
pub fn seal(recipients: &[String], plaintext: &[u8]) -> Result<String> {
    let sealed = (|| -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let armored =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)?;
        let mut writer = encryptor(recipients)?.wrap_output(armored)?;
        writer.write_all(plaintext)?;
        writer.finish()?.finish()?;
        Ok(out)
    })()
    .map_err(|e| backup_error(format!("cannot encrypt: {e}"), "check [encryption]"))?;
    Ok(String::from_utf8_lossy(&sealed).into_owned())
}

/// The identity for a backup, from `encryption` when configured, with `why` in the error.
pub fn require_identity(encryption: Option<&Encryption>, why: &str) -> Result<Identity> {
    let help = "set [encryption] identity_file in dbguard.toml to the age identity (private key) the backup was encrypted to";
    match encryption.map(|e| e.identity()).transpose()? {
        Some(IdentityLookup::Loaded(identity)) => Ok(identity),
        Some(IdentityLookup::Missing(path)) => Err(backup_error(
            format!(
                "{why} needs the age identity, and {} does not exist",
                path.display()
            ),
            help,
        )),
        Some(IdentityLookup::NotConfigured) | None => Err(backup_error(
            format!("{why} needs the age identity, and no identity_file is configured"),
            help,
        )),
    }
}

/// Reads an age identity file (`AGE-SECRET-KEY-1…` lines, `#` comments).
pub fn load_identity(path: &Path) -> Result<Identity> {
    let file = std::fs::File::open(path).map_err(|e| {
        backup_error(
            format!("cannot read the identity file {}: {e}", path.display()),
            "check [encryption] identity_file",
        )
    })?;
    let mut keys = Vec::new();
    for (n, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| {
            backup_error(
                format!("cannot read the identity file {}: {e}", path.display()),
                "check [encryption] identity_file",
            )
        })?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The line is a secret: the error names its number, never its text.
        let key = age::x25519::Identity::from_str(line).map_err(|_| {
            backup_error(
                format!(
                    "{} line {}: not an age X25519 identity (AGE-SECRET-KEY-1…)",
                    path.display(),
                    n + 1
                ),
                "`dbguard keygen` writes a valid identity file",
            )
        })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(backup_error(
            format!("the identity file {} holds no key", path.display()),
            "`dbguard keygen` writes a valid identity file",
        ));
    }
    Ok(Identity {
        keys,
        path: path.to_path_buf(),
    })
}

/// A new identity: (the identity file's text, its public key).
pub fn generate() -> (String, String) {
    let key = age::x25519::Identity::generate();
    let public = key.to_public().to_string();
    let text = format!(
        "# created: {}\n# public key: {public}\n{}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        key.to_string().expose_secret()
    );
    (text, public)
}

/// The write side of a backup: plaintext passes through, or is encrypted with age.
pub enum Sink<W: Write> {
    Plain(W),
    Age(age::stream::StreamWriter<W>),
}

impl<W: Write> Sink<W> {
    pub fn new(inner: W, encryption: Option<&Encryption>) -> io::Result<Sink<W>> {
        match encryption {
            None => Ok(Sink::Plain(inner)),
            Some(e) => Ok(Sink::Age(e.encryptor()?.wrap_output(inner)?)),
        }
    }

    /// Writes the last (authenticated) chunk; without it the file does not decrypt.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Age(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Age(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

/// The plaintext of an age stream. Authentication failures (a changed byte, a truncated file)
/// surface as read errors.
pub fn decrypt<'a, R: Read + 'a>(input: R, identity: &Identity) -> Result<Box<dyn Read + 'a>> {
    let decryptor = age::Decryptor::new(input).map_err(|e| decrypt_error(e, identity))?;
    let reader = decryptor
        .decrypt(identity.as_dyn())
        .map_err(|e| decrypt_error(e, identity))?;
    Ok(Box::new(reader))
}

/// Decrypts a sealed text (see [`seal`]).
pub fn unseal(sealed: &str, identity: &Identity) -> Result<Vec<u8>> {
    let reader = age::armor::ArmoredReader::new(sealed.as_bytes());
    let mut plain = Vec::new();
    decrypt(reader, identity)?
        .read_to_end(&mut plain)
        .map_err(|e| decrypt_error(age::DecryptError::Io(e), identity))?;
    Ok(plain)
}

fn decrypt_error(e: age::DecryptError, identity: &Identity) -> Error {
    let message = match e {
        age::DecryptError::NoMatchingKeys => format!(
            "the backup is not encrypted to the identity in {} (public key {})",
            identity.path.display(),
            identity.recipients().join(", ")
        ),
        other => format!("cannot decrypt the backup: {other}"),
    };
    backup_error(
        message,
        "use the identity_file whose public key is among the backup's recipients (`dbguard backups --json` shows them)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_key() -> (tempfile::TempDir, Encryption) {
        let dir = tempfile::tempdir().unwrap();
        let (text, public) = generate();
        let path = dir.path().join("key.txt");
        std::fs::write(&path, text).unwrap();
        let e = Encryption {
            recipients: vec![public],
            identity_file: Some(path),
        };
        (dir, e)
    }

    #[test]
    fn streams_round_trip_and_tampering_is_detected() {
        let (_dir, e) = with_key();
        let mut sink = Sink::new(Vec::new(), Some(&e)).unwrap();
        let plaintext = b"marker-3f1c ".repeat(20_000);
        sink.write_all(&plaintext).unwrap();
        let mut stored = sink.finish().unwrap();
        assert!(!stored.windows(11).any(|w| w == b"marker-3f1c"));
        let identity = e.require_identity("test").unwrap();
        let mut back = Vec::new();
        decrypt(&stored[..], &identity)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, plaintext);
        let middle = stored.len() / 2;
        stored[middle] ^= 1;
        let mut back = Vec::new();
        assert!(decrypt(&stored[..], &identity)
            .unwrap()
            .read_to_end(&mut back)
            .is_err());
    }

    #[test]
    fn a_foreign_identity_is_a_clear_error() {
        let (_dir, e) = with_key();
        let (_other_dir, other) = with_key();
        let sealed = seal(&e.recipients, b"tables").unwrap();
        assert!(sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        let mine = e.require_identity("test").unwrap();
        assert_eq!(unseal(&sealed, &mine).unwrap(), b"tables");
        let theirs = other.require_identity("test").unwrap();
        let err = unseal(&sealed, &theirs).unwrap_err();
        assert!(
            err.message.contains("not encrypted to the identity"),
            "{}",
            err.message
        );
        assert!(!format!("{theirs:?}").contains("AGE-SECRET-KEY"));
    }

    #[test]
    fn home_is_expanded() {
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(
                expand_home(Path::new("~/.config/k.txt")),
                PathBuf::from(home).join(".config/k.txt")
            );
        }
        assert_eq!(expand_home(Path::new("/a/b")), PathBuf::from("/a/b"));
    }
}

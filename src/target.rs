//! Connection targets: which PostgreSQL database a command talks to.
//!
//! Accepts libpq URLs (`postgresql://…`, `postgres://…`), SQLAlchemy URLs
//! (`postgresql+psycopg2://…`) and libpq key/value strings (`host=… dbname=…`); PG* environment
//! variables fill the gaps and `.pgpass` supplies a missing password, as libpq does. Passwords
//! never leave this module except towards libpq itself (the `postgres` crate, or a child's
//! `PGPASSWORD`): everything printable is masked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

pub const DEFAULT_PORT: u16 = 5432;
/// What a masked password looks like everywhere.
pub const MASK: &str = "***";

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    password: Option<String>,
    pub dbname: Option<String>,
    /// Other libpq parameters (`sslmode`, `application_name`, …).
    pub params: BTreeMap<String, String>,
}

// Never derive Debug: it would print the password.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked_url())
    }
}

/// Environment lookups go through this so tests can supply their own.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<&str, &str> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| v.to_string())
    }
}

impl Target {
    /// Parses a URL or key/value connection string.
    pub fn parse(text: &str) -> Result<Target> {
        let text = text.trim();
        if text.contains("://") {
            parse_url(text)
        } else if text.contains('=') {
            parse_keyword_value(text)
        } else if !text.is_empty() {
            // psql accepts a bare database name.
            Ok(Target {
                dbname: Some(text.to_string()),
                ..Target::default()
            })
        } else {
            Err(Error::usage("empty database URL"))
        }
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn set_password(&mut self, password: Option<String>) {
        self.password = password;
    }

    /// Fills unset parts from PG* variables, then the password from `.pgpass`.
    pub fn with_defaults(mut self, env: &dyn Env) -> Target {
        self.host = self.host.or_else(|| env.var("PGHOST"));
        self.port = self
            .port
            .or_else(|| env.var("PGPORT").and_then(|p| p.parse().ok()));
        self.user = self.user.or_else(|| env.var("PGUSER"));
        self.dbname = self.dbname.or_else(|| env.var("PGDATABASE"));
        self.password = self.password.or_else(|| env.var("PGPASSWORD"));
        if let Some(sslmode) = env.var("PGSSLMODE") {
            self.params.entry("sslmode".into()).or_insert(sslmode);
        }
        if self.password.is_none() {
            self.password = pgpass_password(&self, env);
        }
        self
    }

    /// The host libpq would use: the given one, else the default unix socket directory.
    pub fn effective_host(&self) -> String {
        self.host
            .clone()
            .unwrap_or_else(|| default_socket_dir().unwrap_or_else(|| "localhost".to_string()))
    }

    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    pub fn effective_user(&self) -> String {
        self.user.clone().unwrap_or_else(os_user)
    }

    pub fn effective_dbname(&self) -> String {
        self.dbname.clone().unwrap_or_else(|| self.effective_user())
    }

    /// Whether the host is a unix socket directory rather than a network name.
    pub fn is_socket(&self) -> bool {
        self.effective_host().starts_with('/')
    }

    /// `postgresql://user:***@host:port/db` — safe to print, log and store.
    pub fn masked_url(&self) -> String {
        self.url_with_password(self.password.as_ref().map(|_| MASK))
    }

    fn url_with_password(&self, password: Option<&str>) -> String {
        let mut url = String::from("postgresql://");
        if let Some(user) = &self.user {
            url.push_str(&percent_encode(user));
            if let Some(password) = password {
                url.push(':');
                url.push_str(password);
            }
            url.push('@');
        }
        let host = self.host.as_deref().unwrap_or("");
        if host.starts_with('/') {
            url.push_str(&percent_encode(host));
        } else if host.contains(':') {
            url.push_str(&format!("[{host}]"));
        } else {
            url.push_str(host);
        }
        if let Some(port) = self.port {
            url.push_str(&format!(":{port}"));
        }
        url.push('/');
        if let Some(db) = &self.dbname {
            url.push_str(&percent_encode(db));
        }
        if !self.params.is_empty() {
            let query: Vec<String> = self
                .params
                .iter()
                .map(|(k, v)| format!("{k}={}", percent_encode(v)))
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// A configuration for the `postgres` crate.
    pub fn client_config(&self) -> postgres::Config {
        let mut config = postgres::Config::new();
        let host = self.effective_host();
        if host.starts_with('/') {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        config.port(self.effective_port());
        config.user(&self.effective_user());
        config.dbname(&self.effective_dbname());
        if let Some(password) = &self.password {
            config.password(password);
        }
        // Named so that a restore can tell its own sessions from the application's.
        config.application_name(
            self.params
                .get("application_name")
                .map_or("dbguard", String::as_str),
        );
        config.connect_timeout(std::time::Duration::from_secs(
            self.params
                .get("connect_timeout")
                .and_then(|t| t.parse().ok())
                .unwrap_or(10),
        ));
        config
    }

    /// Connects without TLS. (Dev databases dbguard protects are local; `sslmode=require` is
    /// refused clearly rather than silently downgraded.)
    pub fn connect(&self) -> Result<postgres::Client> {
        if matches!(
            self.params.get("sslmode").map(String::as_str),
            Some("require" | "verify-ca" | "verify-full")
        ) {
            return Err(Error::usage(format!(
                "{}: sslmode requires TLS, which dbguard does not support yet",
                self.masked_url()
            )));
        }
        self.client_config().connect(postgres::NoTls).map_err(|e| {
            Error::usage(format!(
                "cannot connect to {}: {}",
                self.masked_url(),
                mask_secrets(&e.to_string())
            ))
        })
    }

    /// Environment for libpq child processes (pg_dump, pg_restore, psql). The password goes
    /// here, never on a command line where `ps` shows it.
    pub fn libpq_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PGHOST".to_string(), self.effective_host()),
            ("PGPORT".to_string(), self.effective_port().to_string()),
            ("PGUSER".to_string(), self.effective_user()),
            ("PGDATABASE".to_string(), self.effective_dbname()),
        ];
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD".to_string(), password.clone()));
        }
        if let Some(sslmode) = self.params.get("sslmode") {
            env.push(("PGSSLMODE".to_string(), sslmode.clone()));
        }
        env
    }
}

fn parse_url(text: &str) -> Result<Target> {
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    // SQLAlchemy: postgresql+psycopg2://, postgresql+asyncpg://, …
    let base_scheme = scheme.split('+').next().unwrap_or("");
    if !matches!(base_scheme, "postgresql" | "postgres") {
        return Err(Error::usage(format!(
            "not a PostgreSQL URL (scheme `{scheme}`): {}",
            mask_secrets(text)
        )));
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (rest, None),
    };
    let mut target = Target::default();
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            target.user = non_empty(percent_decode(user));
            target.password = password.map(percent_decode);
            hostport
        }
        None => authority,
    };
    let (host, port) = split_host_port(hostport)?;
    target.host = non_empty(percent_decode(host));
    target.port = port;
    target.dbname = path.and_then(|p| non_empty(percent_decode(p)));
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "host" => target.host = non_empty(value),
            "port" => target.port = Some(parse_port(&value)?),
            "user" => target.user = non_empty(value),
            "password" => target.password = Some(value),
            "dbname" => target.dbname = non_empty(value),
            _ => {
                target.params.insert(key.to_string(), value);
            }
        }
    }
    Ok(target)
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        // [::1]:5432
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| Error::usage("malformed IPv6 host in database URL"))?;
        let port = after.strip_prefix(':').map(parse_port).transpose()?;
        return Ok((host, port));
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
        None => Ok((hostport, None)),
    }
}

fn parse_port(port: &str) -> Result<u16> {
    port.parse()
        .map_err(|_| Error::usage(format!("invalid port `{port}` in database URL")))
}

/// `host=localhost port=5433 dbname='my db' password=secret`
fn parse_keyword_value(text: &str) -> Result<Target> {
    let mut target = Target::default();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(Error::usage(format!(
                "malformed connection string near `{key}`"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())));
        }
        match key.as_str() {
            "host" | "hostaddr" => target.host = non_empty(value),
            "port" => target.port = Some(parse_port(&value)?),
            "user" => target.user = non_empty(value),
            "password" => target.password = Some(value),
            "dbname" => target.dbname = non_empty(value),
            _ => {
                target.params.insert(key, value);
            }
        }
    }
    Ok(target)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(v) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "postgres".to_string())
}

/// libpq's compiled-in socket directory on Debian/Ubuntu, when it exists.
fn default_socket_dir() -> Option<String> {
    let dir = "/var/run/postgresql";
    std::path::Path::new(dir).is_dir().then(|| dir.to_string())
}

/// `.pgpass` lookup (`hostname:port:database:username:password`, `*` wildcards, `\` escapes),
/// from `PGPASSFILE` or `~/.pgpass`. libpq ignores the file when it is readable by others;
/// so do we.
fn pgpass_password(target: &Target, env: &dyn Env) -> Option<String> {
    let path = env
        .var("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env.var("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = target
        .host
        .clone()
        .unwrap_or_else(|| "localhost".to_string());
    let host = if host.starts_with('/') {
        "localhost".to_string()
    } else {
        host
    };
    let port = target.effective_port().to_string();
    let db = target
        .dbname
        .clone()
        .or_else(|| target.user.clone())
        .unwrap_or_else(os_user);
    let user = target.effective_user();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split_pgpass(line);
            if fields.len() < 5 {
                return None;
            }
            let matches = |field: &str, value: &str| field == "*" || field == value;
            (matches(&fields[0], &host)
                && matches(&fields[1], &port)
                && matches(&fields[2], &db)
                && matches(&fields[3], &user))
            .then(|| fields[4].clone())
        })
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Masks credentials anywhere in free text: passwords in URLs, `password=` in connection
/// strings, `PGPASSWORD=…` (and other `*PASSWORD` / `*SECRET*` / `*TOKEN` variables), and
/// `--password …` arguments. Hand-written rather than regexes: it runs on every guarded
/// command, and compiling Unicode-aware patterns cost milliseconds each time.
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    // Where the current whitespace-separated word starts.
    let mut word_start = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            word_start = i + 1;
            out.push(b as char);
            i += 1;
            continue;
        }
        // scheme://user:PASSWORD@host
        if text[i..].starts_with("://") {
            out.push_str("://");
            i += 3;
            let rest = &text[i..];
            let authority_end = rest
                .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
                .unwrap_or(rest.len());
            let authority = &rest[..authority_end];
            if let Some(at) = authority.rfind('@') {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..=colon]);
                        out.push_str(MASK);
                    }
                    None => out.push_str(userinfo),
                }
                out.push('@');
                i += at + 1;
            }
            continue;
        }
        if b == b'=' {
            let key = &text[word_start..i];
            let bare_key = key.trim_start_matches(['"', '\'', '(']);
            if is_secret_key(bare_key) {
                out.push('=');
                i = skip_value(text, i + 1);
                out.push_str(MASK);
                continue;
            }
        }
        // --password SECRET (the value is the next word)
        if i == word_start && text[i..].starts_with("--password") {
            let after = i + "--password".len();
            if text[after..].starts_with(' ') {
                out.push_str("--password ");
                i = skip_value(text, after + 1);
                out.push_str(MASK);
                continue;
            }
        }
        let c = text[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Keys whose value is a credential: `password`, `PGPASSWORD`, `--password`,
/// `AWS_SECRET_ACCESS_KEY`, `GITHUB_TOKEN`, …
fn is_secret_key(key: &str) -> bool {
    let key = key.trim_start_matches('-');
    if key.eq_ignore_ascii_case("password") {
        return true;
    }
    let upper = key
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !key.is_empty();
    upper && (key.ends_with("PASSWORD") || key.contains("SECRET") || key.ends_with("TOKEN"))
}

/// End of a value: a quoted string (`'…'` with backslash escapes) or up to white space.
fn skip_value(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(from) == Some(&b'\'') {
        let mut i = from + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'\'' => return i + 1,
                _ => i += 1,
            }
        }
        return bytes.len();
    }
    text[from..]
        .find(char::is_whitespace)
        .map_or(text.len(), |n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> BTreeMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn libpq_and_sqlalchemy_urls() {
        let t = Target::parse(
            "postgresql+psycopg2://app:s%40cret@db.local:5433/app_dev?sslmode=disable",
        )
        .unwrap();
        assert_eq!(t.user.as_deref(), Some("app"));
        assert_eq!(t.password(), Some("s@cret"));
        assert_eq!(t.host.as_deref(), Some("db.local"));
        assert_eq!(t.port, Some(5433));
        assert_eq!(t.dbname.as_deref(), Some("app_dev"));
        assert_eq!(
            t.masked_url(),
            "postgresql://app:***@db.local:5433/app_dev?sslmode=disable"
        );
        assert!(!format!("{t:?}").contains("s@cret"));
    }

    #[test]
    fn socket_hosts_and_ipv6() {
        let t = Target::parse("postgresql:///app?host=/tmp/pg&port=6000").unwrap();
        assert_eq!(t.host.as_deref(), Some("/tmp/pg"));
        assert!(t.is_socket());
        assert_eq!(t.effective_port(), 6000);
        let t = Target::parse("postgres://[::1]:5434/x").unwrap();
        assert_eq!((t.host.as_deref(), t.port), (Some("::1"), Some(5434)));
    }

    #[test]
    fn keyword_value_strings() {
        let t = Target::parse("host=localhost port=5433 dbname='my db' password='it\\'s' user=bob")
            .unwrap();
        assert_eq!(t.dbname.as_deref(), Some("my db"));
        assert_eq!(t.port, Some(5433));
        assert_eq!(t.user.as_deref(), Some("bob"));
        assert_eq!(t.password(), Some("it's"));
    }

    #[test]
    fn environment_fills_gaps_only() {
        let t = Target::parse("postgresql://app@/app_dev")
            .unwrap()
            .with_defaults(&env(&[
                ("PGHOST", "10.0.0.1"),
                ("PGPORT", "5499"),
                ("PGUSER", "ignored"),
                ("PGPASSWORD", "pw"),
            ]));
        assert_eq!(t.host.as_deref(), Some("10.0.0.1"));
        assert_eq!(t.port, Some(5499));
        assert_eq!(t.user.as_deref(), Some("app"));
        assert_eq!(t.password(), Some("pw"));
        assert!(t
            .libpq_env()
            .contains(&("PGPASSWORD".to_string(), "pw".to_string())));
    }

    #[test]
    fn pgpass_supplies_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:no\nlocalhost:5433:app_dev:app:from\\:pgpass\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path: &'static str = Box::leak(file.to_string_lossy().into_owned().into_boxed_str());
        let t = Target::parse("postgresql://app@localhost:5433/app_dev")
            .unwrap()
            .with_defaults(&env(&[("PGPASSFILE", path)]));
        assert_eq!(t.password(), Some("from:pgpass"));
        // World-readable files are ignored, like libpq does.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let t = Target::parse("postgresql://app@localhost:5433/app_dev")
            .unwrap()
            .with_defaults(&env(&[("PGPASSFILE", path)]));
        assert_eq!(t.password(), None);
    }

    #[test]
    fn masking_keeps_everything_else() {
        assert_eq!(
            mask_secrets("psql -c 'SELECT 1' --set=x=1 élan"),
            "psql -c 'SELECT 1' --set=x=1 élan"
        );
        assert_eq!(
            mask_secrets("postgresql://app@h/db"),
            "postgresql://app@h/db"
        );
        assert_eq!(mask_secrets("password='a b' host=x"), "password=*** host=x");
        assert_eq!(
            mask_secrets("AWS_SECRET_ACCESS_KEY=abc GITHUB_TOKEN=t x"),
            "AWS_SECRET_ACCESS_KEY=*** GITHUB_TOKEN=*** x"
        );
        assert_eq!(
            mask_secrets("--password=pw --password pw2"),
            "--password=*** --password ***"
        );
    }

    #[test]
    fn secrets_are_masked_in_free_text() {
        let text = "PGPASSWORD=hunter2 psql postgresql://app:hunter2@h/db --password hunter2 \"password=hunter2 host=x\"";
        let masked = mask_secrets(text);
        assert!(!masked.contains("hunter2"), "{masked}");
        assert!(masked.contains("postgresql://app:***@h/db"));
    }

    #[test]
    fn bad_urls_are_clear_errors() {
        assert!(Target::parse("mysql://a:b@h/db")
            .unwrap_err()
            .message
            .contains("not a PostgreSQL URL"));
        assert!(!Target::parse("mysql://a:secret@h/db")
            .unwrap_err()
            .message
            .contains("secret"));
        assert!(Target::parse("postgresql://h:port/db")
            .unwrap_err()
            .message
            .contains("invalid port"));
    }
}

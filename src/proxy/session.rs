//! One client connection: the startup phase (SSL/GSSENC requests, cancel requests, the
//! startup message, authentication relayed untouched), then the relay in both directions.
//!
//! Client → server runs on the connection's own thread and looks at every Query, Parse, Bind
//! and FunctionCall; server → client runs on a second thread and passes bytes on, reading
//! only message headers, ReadyForQuery, ParameterStatus and (when one is expected) the error
//! that stands for a refused statement.
//!
//! A refused statement is never forwarded. In its place the proxy sends the server something
//! that fails and names `wire::MARKER` (an unknown prepared statement, or a syntax error), and
//! replaces the server's error with its own. The server thereby does exactly what it does
//! after any error: it fails the transaction block, skips to Sync in a pipeline, and answers
//! with ReadyForQuery in the right state, in order with everything sent before.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use super::bind;
use super::socket::Socket;
use super::statement::{After, Guard, Outcome, Situation};
use super::upstream::{self, Reader, Writer};
use super::wire::{self, Fields};
use super::Shared;
use crate::target::{mask_secrets, Target};

const BUFFER: usize = 64 * 1024;
/// Largest Query/Parse/Bind the proxy reads whole to analyse (the server's own limit is 1 GB).
const MAX_INSPECTED: usize = 1 << 30;
/// `lo_unlink` (fixed OID in pg_proc): the one destructive call libpq makes by fast path.
const LO_UNLINK_OID: i32 = 964;

/// What the two directions of one session share.
#[derive(Default)]
struct Link {
    /// ReadyForQuery messages seen since the startup phase.
    ready: AtomicU64,
    /// The transaction status of the last ReadyForQuery (`I`, `T`, `E`).
    status: AtomicU8,
    backslash_strings: AtomicBool,
    expecting: AtomicBool,
    /// Errors to replace: (segment, our ErrorResponse). A segment is what ends with the n-th
    /// ReadyForQuery: a Query, a FunctionCall, or extended messages up to a Sync.
    replacements: Mutex<VecDeque<(u64, Vec<u8>)>>,
    /// UPDATE snapshots whose after-image is recorded once their segment has run and no
    /// transaction is open any more.
    after: Mutex<Vec<(u64, After)>>,
    has_after: AtomicBool,
}

impl Link {
    fn situation(&self) -> Situation {
        Situation {
            backslash_strings: self.backslash_strings.load(Ordering::Relaxed),
            unreadable_params: false,
        }
    }

    fn after(&self, segment: u64, after: After) {
        self.after
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((segment, after));
        self.has_after.store(true, Ordering::Release);
    }

    /// At a ReadyForQuery: record the after-images of what has run, once outside a
    /// transaction block.
    fn ran(&self, segment: u64, status: u8) {
        if status != b'I' || !self.has_after.load(Ordering::Acquire) {
            return;
        }
        let mut pending = self.after.lock().unwrap_or_else(|e| e.into_inner());
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut *pending)
            .into_iter()
            .partition(|(s, _)| *s <= segment);
        *pending = waiting;
        self.has_after.store(!pending.is_empty(), Ordering::Release);
        drop(pending);
        for (_, after) in done {
            after.record();
        }
    }

    fn expect(&self, segment: u64, error: Vec<u8>) {
        self.replacements
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back((segment, error));
        self.expecting.store(true, Ordering::Release);
    }
}

pub fn handle(client: Socket, shared: Arc<Shared>) {
    if let Err(e) = run(client, shared) {
        if !matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::NotConnected
        ) {
            eprintln!(
                "dbguard proxy: a connection ended: {}",
                mask_secrets(&e.to_string())
            );
        }
    }
}

fn run(mut client: Socket, shared: Arc<Shared>) -> io::Result<()> {
    client.tune();
    let startup = loop {
        let packet = wire::read_startup(&mut client)?;
        match packet.code {
            wire::SSL_REQUEST | wire::GSSENC_REQUEST => client.write_all(b"N")?,
            wire::CANCEL_REQUEST => {
                forward_cancel(&shared.target, &packet.bytes);
                return Ok(());
            }
            code if code >> 16 == 3 => break packet,
            _ => {
                wire::fatal(
                    &mut client,
                    "08P01",
                    "dbguard proxy: unsupported frontend protocol",
                    None,
                );
                return Ok(());
            }
        }
    };
    let params = wire::startup_params(&startup);
    let param = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if param("replication").is_some_and(|v| !matches!(v, "false" | "off" | "no" | "0")) {
        wire::fatal(
            &mut client,
            "0A000",
            "dbguard proxy does not relay replication connections",
            Some("connect replication clients (pg_basebackup, logical replication) to the server itself"),
        );
        return Ok(());
    }
    let mut server = match upstream::connect(&shared.target) {
        Ok(server) => server,
        Err(e) => {
            wire::fatal(
                &mut client,
                "08006",
                &format!(
                    "dbguard proxy cannot reach the server: {}",
                    mask_secrets(&e)
                ),
                Some(
                    "is the server running? `dbguard proxy` relays to the [database] URL or --url",
                ),
            );
            return Ok(());
        }
    };
    server.write_all(&startup.bytes)?;
    let Some((status, backend_key)) = relay_authentication(&mut client, &mut server)? else {
        return Ok(());
    };
    let target = session_target(&shared.target, param("user"), param("database"));
    let mut guard = Guard::new(shared.clone(), target);
    if param("options").is_some_and(|o| {
        let o = o.to_ascii_lowercase();
        o.contains("search_path") || o.contains("role") || o.contains("session_authorization")
    }) {
        guard.names_differ("the connection's options set search_path or the role");
    }
    let link = Arc::new(Link {
        status: AtomicU8::new(status),
        ..Link::default()
    });
    let (server_read, server_write, server_closer) = server.split()?;
    let client_write = client.try_clone()?;
    let client_closer = client.try_clone()?;
    let down_link = link.clone();
    let downstream = std::thread::Builder::new()
        .name("dbguard-proxy-down".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let result = downstream(server_read, client_write, &down_link);
            // The server went away (or the client did): end the client's side too.
            client_closer.shutdown();
            result
        })?;
    let mut up = Upstream {
        client,
        server: server_write,
        link: link.clone(),
        guard,
        flagged: HashMap::new(),
        skipping: false,
        segments: 0,
    };
    let result = up.run();
    let finished = matches!(result, Ok(true));
    if !finished && up.segments > link.ready.load(Ordering::Relaxed) {
        // The client disappeared while its query runs: stop the query, not just the socket.
        if let Some(key) = backend_key {
            forward_cancel(&shared.target, &key);
        }
    }
    server_closer.shutdown();
    let _ = downstream.join();
    result.map(|_| ())
}

/// The session's database and user at the proxy's target (for weighing and protection). The
/// target's password is kept only for the target's own user.
fn session_target(base: &Target, user: Option<&str>, database: Option<&str>) -> Target {
    let mut target = base.clone();
    if let Some(user) = user {
        if base.user.as_deref().is_some_and(|u| u != user) {
            target.set_password(None);
        }
        target.user = Some(user.to_string());
    }
    target.dbname = database.or(user).map(str::to_string).or(target.dbname);
    target
}

/// Relays the authentication exchange as it is (trust, password, md5, SCRAM, GSS) until the
/// server is ready. Returns the transaction status and the CancelRequest packet for this
/// backend, or `None` when the server ended the connection.
fn relay_authentication(
    client: &mut Socket,
    server: &mut upstream::Upstream,
) -> io::Result<Option<(u8, Option<Vec<u8>>)>> {
    let mut key = None;
    loop {
        let (kind, message) = wire::read_message(server)?;
        client.write_all(&message)?;
        match kind {
            b'R' => {
                let code = message
                    .get(5..9)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                // Requests the client must answer: cleartext, md5, GSS, SSPI, SASL, SASL continue.
                if matches!(code, Some(3 | 5 | 7 | 8 | 9 | 10 | 11)) {
                    let (_, answer) = wire::read_message(client)?;
                    server.write_all(&answer)?;
                }
            }
            b'K' => {
                // The server's real key, passed on untouched; kept to cancel a query whose
                // client disappeared.
                let mut packet = ((message.len() - 5 + 8) as u32).to_be_bytes().to_vec();
                packet.extend_from_slice(&wire::CANCEL_REQUEST.to_be_bytes());
                packet.extend_from_slice(&message[5..]);
                key = Some(packet);
            }
            b'Z' => return Ok(Some((message.get(5).copied().unwrap_or(b'I'), key))),
            b'E' => return Ok(None),
            _ => {}
        }
    }
}

/// Sends a CancelRequest to the server on a connection of its own, as the protocol wants.
fn forward_cancel(target: &Target, packet: &[u8]) {
    if let Ok(mut server) = upstream::connect(target) {
        let _ = server.write_all(packet);
        // The server closes the connection when done; wait for that, briefly.
        let mut sink = [0u8; 16];
        let _ = server.read(&mut sink);
    }
}

/// Server → client: bytes as they come, with an eye on a few message types.
fn downstream(mut server: Reader, mut client: Socket, link: &Link) -> io::Result<()> {
    let mut buf = vec![0u8; BUFFER];
    let mut held = 0usize; // bytes of an unfinished message kept at the front of `buf`
    let mut passing = 0usize; // bytes of a long message still to pass through
    loop {
        if held == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = match server.read(&mut buf[held..]) {
            Ok(0) | Err(_) if passing == 0 && held == 0 => {
                // At a message boundary: tell the client why its session ends.
                wire::fatal(
                    &mut client,
                    "08006",
                    "dbguard proxy: the server closed the connection",
                    Some("the server may have restarted; connect again"),
                );
                return Ok(());
            }
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) => return Err(e),
        };
        let end = held + n;
        let mut pos = passing.min(end);
        passing -= pos;
        let mut out_from = 0;
        while passing == 0 && end - pos >= 5 {
            let kind = buf[pos];
            let size = wire::message_size(&buf, pos);
            if size < 5 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad message from the server",
                ));
            }
            let whole = end - pos >= size;
            let watched = matches!(kind, b'Z' | b'S')
                || (kind == b'E' && link.expecting.load(Ordering::Acquire));
            if !watched {
                if whole {
                    pos += size;
                } else {
                    passing = size - (end - pos);
                    pos = end;
                }
                continue;
            }
            if !whole {
                break;
            }
            let body = &buf[pos + 5..pos + size];
            match kind {
                b'Z' => {
                    link.status
                        .store(body.first().copied().unwrap_or(b'I'), Ordering::Relaxed);
                    let segment = link.ready.fetch_add(1, Ordering::AcqRel);
                    link.ran(segment, body.first().copied().unwrap_or(b'I'));
                    if link.expecting.load(Ordering::Acquire) {
                        let mut r = link.replacements.lock().unwrap_or_else(|e| e.into_inner());
                        r.retain(|(s, _)| *s > segment);
                        link.expecting.store(!r.is_empty(), Ordering::Release);
                    }
                }
                b'S' => {
                    let mut f = Fields::new(body);
                    if f.cstr() == Some(b"standard_conforming_strings") {
                        let on = f.cstr() != Some(b"off");
                        link.backslash_strings.store(!on, Ordering::Relaxed);
                    }
                }
                _ => {
                    let segment = link.ready.load(Ordering::Acquire);
                    let mut r = link.replacements.lock().unwrap_or_else(|e| e.into_inner());
                    let ours = r.front().is_some_and(|(s, _)| *s == segment)
                        && contains(body, wire::MARKER.as_bytes());
                    if ours {
                        let (_, replacement) = r.pop_front().expect("checked");
                        link.expecting.store(!r.is_empty(), Ordering::Release);
                        client.write_all(&buf[out_from..pos])?;
                        client.write_all(&replacement)?;
                        out_from = pos + size;
                    }
                }
            }
            pos += size;
        }
        client.write_all(&buf[out_from..pos])?;
        buf.copy_within(pos..end, 0);
        held = end - pos;
        if held < BUFFER && buf.len() > BUFFER {
            buf.truncate(BUFFER.max(held));
            buf.shrink_to_fit();
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A prepared statement whose text has findings: guarded at each Bind.
struct Flagged {
    text: String,
    types: Vec<u32>,
}

struct Upstream {
    client: Socket,
    server: Writer,
    link: Arc<Link>,
    guard: Guard,
    flagged: HashMap<Vec<u8>, Flagged>,
    /// After a refused extended-protocol message: drop everything up to the next Sync, as
    /// the server does after an error.
    skipping: bool,
    /// Segments sent to the server (each answered by one ReadyForQuery).
    segments: u64,
}

impl Upstream {
    /// Relays until the client leaves; `true` when it said goodbye (Terminate).
    fn run(&mut self) -> io::Result<bool> {
        let mut buf = vec![0u8; BUFFER];
        let mut held = 0usize;
        let mut passing = 0usize;
        loop {
            if held == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let n = self.client.read(&mut buf[held..])?;
            if n == 0 {
                return Ok(false);
            }
            let end = held + n;
            let mut pos = passing.min(end);
            passing -= pos;
            let mut out_from = 0;
            let mut terminated = false;
            while passing == 0 && end - pos >= 5 {
                let kind = buf[pos];
                let size = wire::message_size(&buf, pos);
                if !(5..=MAX_INSPECTED).contains(&size) {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad message from the client",
                    ));
                }
                let whole = end - pos >= size;
                let inspected = match kind {
                    b'Q' | b'P' | b'F' => true,
                    b'B' | b'C' => !self.flagged.is_empty(),
                    _ => false,
                };
                if !inspected && !self.skipping {
                    if kind == b'S' || (kind == b'X') {
                        // Sync and Terminate are tiny; they never straddle in practice, but be exact.
                        if !whole {
                            break;
                        }
                        if kind == b'S' {
                            self.segments += 1;
                        } else {
                            terminated = true;
                        }
                    }
                    if whole {
                        pos += size;
                    } else {
                        passing = size - (end - pos);
                        pos = end;
                    }
                    continue;
                }
                if !whole {
                    break;
                }
                let action = self.inspect(kind, &buf[pos + 5..pos + size]);
                match action {
                    Action::Forward => {}
                    Action::Drop => {
                        self.server.write_all(&buf[out_from..pos])?;
                        out_from = pos + size;
                    }
                    Action::Replace(with) => {
                        self.server.write_all(&buf[out_from..pos])?;
                        self.server.write_all(&with)?;
                        out_from = pos + size;
                    }
                }
                pos += size;
            }
            self.server.write_all(&buf[out_from..pos])?;
            if terminated {
                return Ok(true);
            }
            buf.copy_within(pos..end, 0);
            held = end - pos;
            if held < BUFFER && buf.len() > BUFFER {
                buf.truncate(BUFFER.max(held));
                buf.shrink_to_fit();
            }
        }
    }

    fn inspect(&mut self, kind: u8, body: &[u8]) -> Action {
        if self.skipping {
            if kind == b'S' {
                self.skipping = false;
                self.segments += 1;
                return Action::Forward;
            }
            // CopyData and friends belong to a COPY already running: never dropped.
            return if matches!(kind, b'd' | b'c' | b'f' | b'X') {
                Action::Forward
            } else {
                Action::Drop
            };
        }
        match kind {
            b'Q' => {
                let text = cstring_text(body);
                let outcome = self.guard.statement(&text, self.link.situation());
                let segment = self.segments;
                self.segments += 1;
                match outcome {
                    Outcome::Forward => {
                        if let Some(after) = self.guard.take_after() {
                            self.link.after(segment, after);
                        }
                        Action::Forward
                    }
                    Outcome::Refuse(error) => {
                        self.link.expect(segment, error);
                        Action::Replace(wire::marker_query())
                    }
                }
            }
            b'P' => {
                let mut f = Fields::new(body);
                let (Some(name), Some(query)) = (f.cstr(), f.cstr()) else {
                    return Action::Forward; // malformed: the server will say so
                };
                let text = String::from_utf8_lossy(query);
                if self.guard.needs_guarding(&text, self.link.situation()) {
                    let count = f.i16().unwrap_or(0).max(0) as usize;
                    let types = (0..count)
                        .map_while(|_| f.i32())
                        .map(|t| t as u32)
                        .collect();
                    self.flagged.insert(
                        name.to_vec(),
                        Flagged {
                            text: text.into_owned(),
                            types,
                        },
                    );
                } else if !self.flagged.is_empty() {
                    self.flagged.remove(name);
                }
                Action::Forward
            }
            b'B' => {
                let Some(flagged) = bind::statement_name(body).and_then(|n| self.flagged.get(n))
                else {
                    return Action::Forward;
                };
                let mut situation = self.link.situation();
                let text = match bind::bound_text(&flagged.text, &flagged.types, body) {
                    Some(text) => text,
                    None => {
                        situation.unreadable_params = true;
                        flagged.text.clone()
                    }
                };
                match self.guard.statement(&text, situation) {
                    Outcome::Forward => {
                        if let Some(after) = self.guard.take_after() {
                            self.link.after(self.segments, after);
                        }
                        Action::Forward
                    }
                    Outcome::Refuse(error) => {
                        self.link.expect(self.segments, error);
                        self.skipping = true;
                        Action::Replace(wire::marker_bind())
                    }
                }
            }
            b'C' => {
                let mut f = Fields::new(body);
                if f.bytes(1) == Some(b"S") {
                    if let Some(name) = f.cstr() {
                        self.flagged.remove(name);
                    }
                }
                Action::Forward
            }
            b'F' => {
                let segment = self.segments;
                self.segments += 1;
                let oid = Fields::new(body).i32();
                if oid == Some(LO_UNLINK_OID) {
                    let text = "SELECT lo_unlink($1)";
                    if let Outcome::Refuse(error) =
                        self.guard.statement(text, self.link.situation())
                    {
                        self.link.expect(segment, error);
                        return Action::Replace(wire::marker_query());
                    }
                }
                Action::Forward
            }
            _ => Action::Forward,
        }
    }
}

enum Action {
    Forward,
    Drop,
    Replace(Vec<u8>),
}

/// The text of a Query body (NUL-terminated; the client's encoding read leniently: every
/// keyword the analysis looks for is ASCII).
fn cstring_text(body: &[u8]) -> std::borrow::Cow<'_, str> {
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_targets_keep_the_password_for_the_same_user_only() {
        let mut base = Target::parse("postgresql://app:pw@db:5433/app_dev").unwrap();
        base.params.insert("sslmode".into(), "require".into());
        let same = session_target(&base, Some("app"), Some("other"));
        assert_eq!(same.password(), Some("pw"));
        assert_eq!(same.dbname.as_deref(), Some("other"));
        assert_eq!(
            same.params.get("sslmode").map(String::as_str),
            Some("require")
        );
        let other = session_target(&base, Some("bob"), None);
        assert_eq!(other.password(), None);
        assert_eq!(other.dbname.as_deref(), Some("bob"));
    }
}

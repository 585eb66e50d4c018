//! PostgreSQL wire-protocol framing: the startup packet, typed messages, and the few
//! messages the proxy writes itself (ErrorResponse, the refusal marker).

use std::io::{self, Read, Write};

pub const SSL_REQUEST: u32 = 80877103;
pub const GSSENC_REQUEST: u32 = 80877104;
pub const CANCEL_REQUEST: u32 = 80877102;
/// Startup packets larger than this are not PostgreSQL clients (the server's own limit).
const MAX_STARTUP: usize = 10_000;

/// SQLSTATE of a statement the guard refused (insufficient_privilege: clients and ORMs treat
/// it as "not allowed", and the message says why).
pub const SQLSTATE_REFUSED: &str = "42501";
/// SQLSTATE of a statement the person at the terminal declined (query_canceled).
pub const SQLSTATE_DECLINED: &str = "57014";

/// The name of the statement the proxy injects to make the server fail where a refused
/// statement was: the server's error names it, so the proxy knows which error to replace.
pub const MARKER: &str = "dbguard_refused";

/// A startup-phase packet: its full bytes (length included) and protocol code.
pub struct StartupPacket {
    pub bytes: Vec<u8>,
    pub code: u32,
}

pub fn read_startup(stream: &mut impl Read) -> io::Result<StartupPacket> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if !(8..=MAX_STARTUP).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a PostgreSQL startup packet",
        ));
    }
    let mut bytes = vec![0u8; len];
    bytes[..4].copy_from_slice(&(len as u32).to_be_bytes());
    stream.read_exact(&mut bytes[4..])?;
    let code = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    Ok(StartupPacket { bytes, code })
}

/// The `key=value` parameters of a StartupMessage.
pub fn startup_params(packet: &StartupPacket) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut fields = packet.bytes[8..].split(|&b| b == 0);
    while let (Some(k), Some(v)) = (fields.next(), fields.next()) {
        if k.is_empty() {
            break;
        }
        out.push((
            String::from_utf8_lossy(k).into_owned(),
            String::from_utf8_lossy(v).into_owned(),
        ));
    }
    out
}

/// One typed message, read whole (startup phase and small messages only).
pub fn read_message(stream: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header)?;
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if !(4..=MAX_STARTUP * 100).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed protocol message",
        ));
    }
    let mut message = Vec::with_capacity(len + 1);
    message.extend_from_slice(&header);
    message.resize(len + 1, 0);
    stream.read_exact(&mut message[5..])?;
    Ok((header[0], message))
}

/// The length field of a message header at `buf[at..at + 5]`, as a total message size.
pub fn message_size(buf: &[u8], at: usize) -> usize {
    u32::from_be_bytes([buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]]) as usize + 1
}

/// A typed message from its body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 5);
    m.push(kind);
    m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// What an ErrorResponse says.
pub struct ErrorFields<'a> {
    pub severity: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    pub detail: Option<&'a str>,
    pub hint: Option<&'a str>,
}

pub fn error_response(e: &ErrorFields) -> Vec<u8> {
    let mut body = Vec::new();
    let mut field = |tag: u8, value: &str| {
        body.push(tag);
        // A NUL would end the field early; none of ours has one, but be safe.
        body.extend(value.bytes().filter(|&b| b != 0));
        body.push(0);
    };
    field(b'S', e.severity);
    field(b'V', e.severity);
    field(b'C', e.code);
    field(b'M', e.message);
    if let Some(d) = e.detail {
        field(b'D', d);
    }
    if let Some(h) = e.hint {
        field(b'H', h);
    }
    body.push(0);
    message(b'E', &body)
}

/// A FATAL error for the startup phase (the connection ends after it).
pub fn fatal(stream: &mut impl Write, code: &str, text: &str, hint: Option<&str>) {
    let _ = stream.write_all(&error_response(&ErrorFields {
        severity: "FATAL",
        code,
        message: text,
        detail: None,
        hint,
    }));
    let _ = stream.flush();
}

/// A simple Query that fails on the server with an error naming `MARKER`.
pub fn marker_query() -> Vec<u8> {
    let mut body = MARKER.as_bytes().to_vec();
    body.push(0);
    message(b'Q', &body)
}

/// A Bind of the (nonexistent) prepared statement `MARKER`: the server answers with an error
/// that names it, and then skips to Sync as after any error.
pub fn marker_bind() -> Vec<u8> {
    let mut body = vec![0u8]; // unnamed portal
    body.extend_from_slice(MARKER.as_bytes());
    body.push(0);
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // no formats, no parameters, no result formats
    message(b'B', &body)
}

/// Reads NUL-terminated strings and big-endian integers out of a message body.
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        Fields { buf: body, pos: 0 }
    }

    pub fn cstr(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        self.pos += end + 1;
        Some(&rest[..end])
    }

    pub fn i16(&mut self) -> Option<i16> {
        let b = self.buf.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(i16::from_be_bytes([b[0], b[1]]))
    }

    pub fn i32(&mut self) -> Option<i32> {
        let b = self.buf.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_packets_and_params() {
        let mut body = 196608u32.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0bob\0database\0app\0\0");
        let mut bytes = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let packet = read_startup(&mut &bytes[..]).unwrap();
        assert_eq!(packet.code, 196608);
        assert_eq!(
            startup_params(&packet),
            [
                ("user".into(), "bob".into()),
                ("database".into(), "app".into())
            ]
        );
        assert!(read_startup(&mut &[0u8, 0, 0, 2][..]).is_err());
    }

    #[test]
    fn error_responses_carry_their_fields() {
        let m = error_response(&ErrorFields {
            severity: "ERROR",
            code: SQLSTATE_REFUSED,
            message: "refused",
            detail: Some("why"),
            hint: None,
        });
        assert_eq!(m[0], b'E');
        assert_eq!(message_size(&m, 0), m.len());
        let text = String::from_utf8_lossy(&m);
        assert!(text.contains("C42501\0Mrefused\0Dwhy\0"));
    }

    #[test]
    fn marker_messages_are_well_formed() {
        for m in [marker_query(), marker_bind()] {
            assert_eq!(message_size(&m, 0), m.len());
        }
        let bind = marker_bind();
        let mut f = Fields::new(&bind[5..]);
        assert_eq!(f.cstr(), Some(&b""[..]));
        assert_eq!(f.cstr(), Some(MARKER.as_bytes()));
        assert_eq!(f.i16(), Some(0));
    }
}

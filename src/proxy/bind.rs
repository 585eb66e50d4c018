//! Bound parameters (a Bind message) put back into their statement's text as literals, so the
//! guard weighs the statement with the values it will run with. A value the proxy cannot read
//! (binary, of a type it does not decode) makes the whole text unreadable: the caller then
//! does not weigh (fail closed).

use super::wire::Fields;
use crate::analysis::sql::lexer::{Kind, Lexer};

const BOOL: u32 = 16;
const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;
/// name, text, unknown, bpchar, varchar: binary is the text itself.
const TEXTUAL: &[u32] = &[19, 25, 705, 1042, 1043];

/// The statement name of a Bind message body.
pub fn statement_name(body: &[u8]) -> Option<&[u8]> {
    let mut f = Fields::new(body);
    f.cstr()?;
    f.cstr()
}

/// `text` with `$n` replaced by the Bind's values; `None` when a value cannot be read.
pub fn bound_text(text: &str, types: &[u32], body: &[u8]) -> Option<String> {
    let mut f = Fields::new(body);
    f.cstr()?;
    f.cstr()?;
    let nformats = f.i16()?.max(0) as usize;
    let mut formats = Vec::with_capacity(nformats);
    for _ in 0..nformats {
        formats.push(f.i16()?);
    }
    let nparams = f.i16()?.max(0) as usize;
    let mut values = Vec::with_capacity(nparams);
    for i in 0..nparams {
        let len = f.i32()?;
        let binary = match formats.len() {
            0 => false,
            1 => formats[0] == 1,
            _ => *formats.get(i)? == 1,
        };
        let literal = if len < 0 {
            "NULL".to_string()
        } else {
            let raw = f.bytes(len as usize)?;
            let ty = types.get(i).copied().unwrap_or(0);
            if binary {
                binary_literal(ty, raw)?
            } else {
                quote(&String::from_utf8_lossy(raw))
            }
        };
        values.push(literal);
    }
    let mut out = String::with_capacity(text.len() + 16 * values.len());
    let mut copied = 0;
    for token in Lexer::new(text, false) {
        if token.kind != Kind::Param {
            continue;
        }
        let n: usize = text[token.start + 1..token.end].parse().ok()?;
        let value = values.get(n.checked_sub(1)?)?;
        out.push_str(&text[copied..token.start]);
        out.push_str(value);
        copied = token.end;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

fn binary_literal(ty: u32, raw: &[u8]) -> Option<String> {
    Some(match ty {
        BOOL => (raw.first()? != &0).to_string(),
        INT2 => i16::from_be_bytes(raw.try_into().ok()?).to_string(),
        INT4 => i32::from_be_bytes(raw.try_into().ok()?).to_string(),
        INT8 => i64::from_be_bytes(raw.try_into().ok()?).to_string(),
        t if TEXTUAL.contains(&t) => quote(std::str::from_utf8(raw).ok()?),
        _ => return None,
    })
}

/// A string literal that reads the same whatever `standard_conforming_strings` says.
fn quote(value: &str) -> String {
    let body = value.replace('\'', "''");
    if value.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(formats: &[i16], values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = b"\0stmt\0".to_vec();
        b.extend_from_slice(&(formats.len() as i16).to_be_bytes());
        for f in formats {
            b.extend_from_slice(&f.to_be_bytes());
        }
        b.extend_from_slice(&(values.len() as i16).to_be_bytes());
        for v in values {
            match v {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        b.extend_from_slice(&0i16.to_be_bytes());
        b
    }

    #[test]
    fn text_and_binary_values_become_literals() {
        let body = bind(&[], &[Some(b"it's"), None]);
        assert_eq!(statement_name(&body), Some(&b"stmt"[..]));
        assert_eq!(
            bound_text(
                "DELETE FROM t WHERE a = $1 OR b = $2 OR '$1' = $1",
                &[],
                &body
            )
            .unwrap(),
            "DELETE FROM t WHERE a = 'it''s' OR b = NULL OR '$1' = 'it''s'"
        );
        let body = bind(&[1], &[Some(&42i32.to_be_bytes())]);
        assert_eq!(
            bound_text("SELECT $1", &[INT4], &body).unwrap(),
            "SELECT 42"
        );
        assert_eq!(
            bound_text("SELECT $1", &[0], &body),
            None,
            "unknown binary type"
        );
        let body = bind(&[0], &[Some(br"a\b")]);
        assert_eq!(
            bound_text("SELECT $1", &[], &body).unwrap(),
            r"SELECT E'a\\b'"
        );
        assert_eq!(bound_text("SELECT $2", &[], &body), None, "missing value");
    }
}

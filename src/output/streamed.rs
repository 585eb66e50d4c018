//! Pretty-printed JSON documents with one array written element by element, byte for byte as
//! `serde_json::to_writer_pretty` would write the whole document.
//!
//! The document is printed once with a marker string where the array goes; what stands
//! before the marker is written first, each element is pretty-printed and indented to its
//! depth, and what stands after the marker closes the document. JSON strings never hold a
//! raw newline, so indenting after every newline of an element is safe.

use std::io::{self, Write};

use serde::Serialize;

/// Stands in for the streamed array in the skeleton document.
pub const MARKER: &str = "__dbguard_streamed_array__";

pub struct JsonArray {
    /// Indentation of the line holding the array.
    indent: String,
    /// Newline plus the indentation of the elements.
    element_break: String,
    count: usize,
}

/// The skeleton split at the marker: (before, indentation of the marker's line, after).
fn split(skeleton: &impl Serialize) -> io::Result<(String, String, String)> {
    let text = serde_json::to_string_pretty(skeleton)?;
    let quoted = format!("\"{MARKER}\"");
    let at = text
        .find(&quoted)
        .ok_or_else(|| io::Error::other("streamed JSON skeleton without its marker"))?;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..at]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    Ok((
        text[..at].to_string(),
        indent,
        text[at + quoted.len()..].to_string(),
    ))
}

impl JsonArray {
    /// Writes the skeleton up to and including the array's `[`.
    pub fn start(skeleton: &impl Serialize, out: &mut dyn Write) -> io::Result<JsonArray> {
        let (before, indent, _) = split(skeleton)?;
        out.write_all(before.as_bytes())?;
        out.write_all(b"[")?;
        Ok(JsonArray {
            element_break: format!("\n{indent}  "),
            indent,
            count: 0,
        })
    }

    pub fn element(&mut self, value: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        if self.count > 0 {
            out.write_all(b",")?;
        }
        out.write_all(self.element_break.as_bytes())?;
        out.write_all(text.replace('\n', &self.element_break).as_bytes())?;
        self.count += 1;
        Ok(())
    }

    /// Closes the array and writes the rest of `skeleton` (which may now hold final totals).
    pub fn finish(self, skeleton: &impl Serialize, out: &mut dyn Write) -> io::Result<()> {
        if self.count > 0 {
            write!(out, "\n{}", self.indent)?;
        }
        out.write_all(b"]")?;
        let (_, _, after) = split(skeleton)?;
        out.write_all(after.as_bytes())?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn streamed(items: &[serde_json::Value]) -> String {
        let skeleton = json!({ "a": 1, "deep": { "list": MARKER, "z": [1, 2] } });
        let mut out = Vec::new();
        let mut array = JsonArray::start(&skeleton, &mut out).unwrap();
        for item in items {
            array.element(item, &mut out).unwrap();
        }
        array.finish(&skeleton, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_serde_pretty_printing() {
        for items in [
            vec![],
            vec![json!(1)],
            vec![
                json!({"x": [1, {"y": "a\nb"}], "e": []}),
                json!("s"),
                json!({}),
            ],
        ] {
            let whole = json!({ "a": 1, "deep": { "list": items, "z": [1, 2] } });
            let expected = serde_json::to_string_pretty(&whole).unwrap() + "\n";
            assert_eq!(streamed(&items), expected);
        }
    }
}

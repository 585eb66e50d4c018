//! Python source → syntax tree, and the small evaluator for string literals.
//!
//! The parser is tree-sitter with the tree-sitter-python grammar. It was chosen over
//! rustpython-parser because it is actively maintained (rustpython-parser's repository has
//! been archived since its authors moved to ruff's parser, which is not published for use as
//! a library), it follows new Python syntax (PEP 695, 701 f-strings), it gives byte offsets
//! for every node (which map findings straight back to `file:line:col`), and it recovers from
//! syntax errors: a broken revision still yields a tree whose readable parts are analysed
//! while the broken parts are reported as `ERROR` nodes — dbguard fails closed on those
//! rather than on the whole file.

use std::ops::Range;

use tree_sitter::{Node, Parser, Tree};

use crate::analysis::ops::DYNAMIC;

/// Parses Python source. `None` only if tree-sitter itself gives up (it does not on any
/// input in practice: syntax errors become `ERROR` nodes).
pub fn parse(src: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(src, None)
}

/// The source text of a node.
pub fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    src.get(node.byte_range()).unwrap_or("")
}

/// Named children of a node, skipping comments (which may sit anywhere in a tree).
pub fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect()
}

/// Removes redundant parentheses around an expression.
pub fn unparen(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match children(node).first() {
            Some(inner) => node = *inner,
            None => break,
        }
    }
    node
}

/// A piece of a string value and where it came from in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    /// The byte range in the Python file this piece was read from.
    pub src: Range<usize>,
    /// `text` is exactly `src` (no escapes decoded), so offsets inside map one to one.
    pub verbatim: bool,
    /// A value dbguard cannot see (an f-string interpolation, a variable, a `%s`).
    pub dynamic: bool,
}

/// A string value built from literal and dynamic pieces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Str {
    pub pieces: Vec<Piece>,
}

impl Str {
    pub fn literal(text: &str, src: Range<usize>) -> Str {
        Str {
            pieces: vec![Piece {
                text: text.to_string(),
                src,
                verbatim: false,
                dynamic: false,
            }],
        }
    }

    pub fn dynamic(src: Range<usize>) -> Str {
        Str {
            pieces: vec![Piece {
                text: DYNAMIC.to_string(),
                src,
                verbatim: false,
                dynamic: true,
            }],
        }
    }

    pub fn push(&mut self, other: Str) {
        self.pieces.extend(other.pieces);
    }

    /// The text, with dynamic parts as the `DYNAMIC` placeholder identifier.
    pub fn text(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }

    pub fn is_dynamic(&self) -> bool {
        self.pieces.iter().any(|p| p.dynamic)
    }

    /// Whether any character of it is literal text (as opposed to all placeholders).
    pub fn has_literal_text(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| !p.text.replace(DYNAMIC, "").trim().is_empty())
    }

    /// The text when the whole value is one plain literal (a name, say).
    pub fn plain(&self) -> Option<String> {
        (!self.is_dynamic()).then(|| self.text())
    }

    /// Maps a byte offset of `text()` to a byte offset in the Python file. `end` picks the
    /// end of a non-verbatim piece rather than its start.
    pub fn map(&self, offset: usize, end: bool) -> usize {
        let mut at = 0;
        for piece in &self.pieces {
            let len = piece.text.len();
            if offset < at + len || (end && offset == at + len) {
                return if piece.verbatim {
                    piece.src.start + (offset - at)
                } else if end {
                    piece.src.end
                } else {
                    piece.src.start
                };
            }
            at += len;
        }
        self.pieces.last().map_or(0, |p| p.src.end)
    }
}

/// The value of a string literal node (`string` or `concatenated_string`); f-string
/// interpolations become dynamic pieces. `None` for other nodes.
pub fn string_literal(node: Node<'_>, src: &str) -> Option<Str> {
    match node.kind() {
        "concatenated_string" => {
            let mut out = Str::default();
            for part in children(node) {
                out.push(string_literal(part, src)?);
            }
            Some(out)
        }
        "string" => Some(single_string(node, src)),
        _ => None,
    }
}

fn single_string(node: Node<'_>, src: &str) -> Str {
    let mut prefix = String::new();
    let mut out = Str::default();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_start" => {
                prefix = text(child, src)
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect::<String>()
                    .to_ascii_lowercase();
            }
            "string_content" => {
                let raw = text(child, src);
                let fstring = prefix.contains('f');
                let (decoded, verbatim) = decode(raw, prefix.contains('r'), fstring);
                out.pieces.push(Piece {
                    text: decoded,
                    src: child.byte_range(),
                    verbatim,
                    dynamic: false,
                });
            }
            "interpolation" => out.push(Str::dynamic(child.byte_range())),
            _ => {}
        }
    }
    out
}

/// Decodes Python escape sequences; returns the text and whether it equals the source.
fn decode(raw: &str, is_raw: bool, fstring: bool) -> (String, bool) {
    let mut text = if fstring {
        raw.replace("{{", "{").replace("}}", "}")
    } else {
        raw.to_string()
    };
    if !is_raw && text.contains('\\') {
        text = unescape(&text);
    }
    let verbatim = text == raw;
    (text, verbatim)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\n') => {}
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('0') => out.push('\0'),
            Some('x') => {
                let hex: String = (0..2).filter_map(|_| chars.next()).collect();
                out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            Some(u @ ('u' | 'U')) => {
                let n = if u == 'u' { 4 } else { 8 };
                let hex: String = (0..n).filter_map(|_| chars.next()).collect();
                out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            Some(other) => {
                // Unknown escapes stay as written, as Python keeps them.
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Line comments of a tree: `(start, end, starts_line)` byte ranges of every `# …`.
pub fn comments(tree: &Tree, src: &str) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "comment" {
            let start = node.start_byte();
            let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
            let starts_line = src[line_start..start].trim().is_empty();
            out.push((start, node.end_byte(), starts_line));
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_string(src: &str) -> Str {
        let tree = parse(src).unwrap();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if matches!(node.kind(), "string" | "concatenated_string") {
                return string_literal(node, src).unwrap();
            }
            let mut cursor = node.walk();
            let kids: Vec<_> = node.children(&mut cursor).collect();
            stack.extend(kids.into_iter().rev());
        }
        panic!("no string in {src}");
    }

    #[test]
    fn plain_raw_and_escaped_strings() {
        let s = first_string("x = 'DROP TABLE a'\n");
        assert_eq!(s.text(), "DROP TABLE a");
        assert!(s.pieces[0].verbatim);
        assert_eq!(s.map(5, false), 10);
        let s = first_string("x = 'a\\nb'\n");
        assert_eq!(s.text(), "a\nb");
        assert!(!s.pieces[0].verbatim);
        let s = first_string("x = r'a\\nb'\n");
        assert_eq!(s.text(), "a\\nb");
    }

    #[test]
    fn triple_quoted_concatenated_and_f_strings() {
        let s = first_string("x = \"\"\"\nDELETE FROM t\n\"\"\"\n");
        assert_eq!(s.text(), "\nDELETE FROM t\n");
        let s = first_string("x = ('DROP ' 'TABLE t')\n");
        assert_eq!(s.text(), "DROP TABLE t");
        let s = first_string("x = f'DROP TABLE {name} -- {{x}}'\n");
        assert_eq!(s.text(), format!("DROP TABLE {DYNAMIC} -- {{x}}"));
        assert!(s.is_dynamic());
    }

    #[test]
    fn comments_are_found_with_their_position() {
        let src = "a = 1  # trailing\n# own line\n";
        let tree = parse(src).unwrap();
        let found = comments(&tree, src);
        assert_eq!(found, vec![(7, 17, false), (18, 28, true)]);
    }
}

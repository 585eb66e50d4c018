//! A PostgreSQL lexer that knows exactly where text is *not* code: comments (nested `/* */`),
//! string literals (`'…'`, `E'…'` with backslash escapes, `U&'…'`, `B'…'`, `X'…'`), dollar
//! quotes (`$$…$$`, `$tag$…$tag$`), quoted identifiers and psql meta-commands.
//!
//! It never fails: unterminated constructs run to the end of the input, which is what
//! PostgreSQL would also swallow. Tokens are byte ranges into the source, so positions of
//! findings map back exactly.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Unquoted identifier or keyword.
    Word,
    /// `"…"`.
    QuotedIdent,
    /// `'…'` and its prefixed forms (`E'…'`, `U&'…'`, `B'…'`, `X'…'`, `N'…'`).
    String,
    /// `$tag$…$tag$`.
    DollarString,
    Number,
    /// `$1`.
    Param,
    /// Operators and other punctuation without a kind of its own.
    Op,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Semicolon,
    Dot,
    /// `-- …` or `/* … */`.
    Comment,
    /// A psql meta-command: a backslash up to the end of the line.
    Meta,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    /// Case-insensitive keyword test; only unquoted words can be keywords.
    pub fn is_word(&self, src: &str, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text(src).eq_ignore_ascii_case(keyword)
    }
}

pub struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Whether a backslash starts a psql meta-command (true for files, false for function
    /// bodies and other SQL that never passes through psql).
    psql: bool,
    /// `standard_conforming_strings` is off: a backslash escapes the next character in plain
    /// `'…'` strings too, as in `E'…'`.
    backslash_strings: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, psql: bool) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            psql,
            backslash_strings: false,
        }
    }

    /// Follows `SET standard_conforming_strings`: with it off, `'a\' , ' ; DROP TABLE t; --'`
    /// is a string and then a DROP, not two strings.
    pub fn set_backslash_strings(&mut self, on: bool) {
        self.backslash_strings = on;
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// Continue lexing at `pos` (used to skip `COPY … FROM stdin` data).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.bytes.len());
        // Never land inside a UTF-8 sequence.
        while !self.src.is_char_boundary(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn token(&mut self, kind: Kind, start: usize) -> Option<Token> {
        Some(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    fn skip_to_line_end(&mut self) {
        self.pos = memchr_newline(self.bytes, self.pos);
    }

    /// At a backslash in psql mode. `\;` and `\:` belong to the SQL (psql sends `a \; b` as
    /// one query running both statements). A meta-command's arguments end at the end of the
    /// line, at `\\` (which resumes SQL: `\echo x \\ DROP TABLE t;` runs the DROP) or at
    /// another unquoted backslash, which starts the next meta-command. A few commands take
    /// the whole rest of the line.
    fn meta_command(&mut self, start: usize) -> Option<Token> {
        match self.peek(1) {
            Some(b';') => {
                self.pos += 2;
                return self.token(Kind::Semicolon, start);
            }
            Some(b':') => {
                self.pos += 2;
                return self.token(Kind::Op, start);
            }
            _ => {}
        }
        let line_end = memchr_newline(self.bytes, self.pos);
        // `\\` opening a command is the (invalid) command `\`, whose arguments psql drops.
        let name_end = if self.peek(1) == Some(b'\\') {
            start + 2
        } else {
            self.bytes[start + 1..line_end]
                .iter()
                .position(|&b| b.is_ascii_whitespace() || b == b'\\')
                .map_or(line_end, |i| start + 1 + i)
        };
        let name = &self.src[start + 1..name_end];
        let whole_line = ["!", "copy", "ef", "ev", "sf", "sv", "h", "help"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
            || self.src[name_end..line_end].trim_start().starts_with('|');
        if whole_line {
            self.pos = line_end;
            return self.token(Kind::Meta, start);
        }
        self.pos = name_end;
        let mut quote = None;
        while self.pos < line_end {
            let b = self.bytes[self.pos];
            match quote {
                None if b == b'\\' => {
                    if self.peek(1) == Some(b'\\') {
                        self.pos += 2;
                    }
                    break;
                }
                None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
                Some(b'\'') if b == b'\\' => self.pos += 1,
                Some(q) if b == q => quote = None,
                _ => {}
            }
            self.pos += 1;
        }
        self.pos = self.pos.min(line_end);
        self.token(Kind::Meta, start)
    }

    /// Single-quoted body starting at the opening quote; `backslash` enables `E''` escapes.
    fn quoted(&mut self, quote: u8, backslash: bool) {
        self.pos += 1;
        while let Some(&b) = self.bytes.get(self.pos) {
            self.pos += 1;
            if backslash && b == b'\\' {
                self.pos += 1;
            } else if b == quote {
                if self.bytes.get(self.pos) == Some(&quote) {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
        self.pos = self.bytes.len();
    }

    fn block_comment(&mut self) {
        self.pos += 2;
        let mut depth = 1usize;
        while self.pos < self.bytes.len() {
            match (self.bytes[self.pos], self.peek(1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (b'*', Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// At a `$`: a dollar-quote opener `$tag$`, returning the tag length including both `$`.
    fn dollar_tag_len(&self) -> Option<usize> {
        let rest = &self.bytes[self.pos + 1..];
        let mut i = 0;
        while i < rest.len() {
            let b = rest[i];
            if b == b'$' {
                return Some(i + 2);
            }
            let ok =
                b == b'_' || b.is_ascii_alphabetic() || b >= 0x80 || (i > 0 && b.is_ascii_digit());
            if !ok {
                return None;
            }
            i += 1;
        }
        None
    }

    fn word_end(&self, mut pos: usize) -> usize {
        while let Some(&b) = self.bytes.get(pos) {
            if b == b'_' || b == b'$' || b.is_ascii_alphanumeric() || b >= 0x80 {
                pos += 1;
            } else {
                break;
            }
        }
        pos
    }
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| from + i)
}

fn is_op_char(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
            | b':'
    )
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        // A UTF-8 byte order mark opening the file is not SQL (psql skips it too); as a word
        // it would hide the first statement (`<BOM>DROP TABLE t` is no known verb).
        if self.pos == 0 && self.src.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            if b.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
        let start = self.pos;
        let b = *self.bytes.get(self.pos)?;
        let next = self.peek(1);
        match b {
            b'-' if next == Some(b'-') => {
                self.skip_to_line_end();
                self.token(Kind::Comment, start)
            }
            b'/' if next == Some(b'*') => {
                self.block_comment();
                self.token(Kind::Comment, start)
            }
            b'\\' if self.psql => self.meta_command(start),
            b'\'' => {
                self.quoted(b'\'', self.backslash_strings);
                self.token(Kind::String, start)
            }
            b'"' => {
                self.quoted(b'"', false);
                self.token(Kind::QuotedIdent, start)
            }
            b'$' => {
                if next.is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                    while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    return self.token(Kind::Param, start);
                }
                match self.dollar_tag_len() {
                    Some(len) => {
                        let tag = &self.src[start..start + len];
                        let body = start + len;
                        self.pos = match self.src[body..].find(tag) {
                            Some(i) => body + i + len,
                            None => self.bytes.len(),
                        };
                        self.token(Kind::DollarString, start)
                    }
                    None => {
                        self.pos += 1;
                        self.token(Kind::Op, start)
                    }
                }
            }
            b'(' => {
                self.pos += 1;
                self.token(Kind::LParen, start)
            }
            b')' => {
                self.pos += 1;
                self.token(Kind::RParen, start)
            }
            b'[' => {
                self.pos += 1;
                self.token(Kind::LBracket, start)
            }
            b']' => {
                self.pos += 1;
                self.token(Kind::RBracket, start)
            }
            b',' => {
                self.pos += 1;
                self.token(Kind::Comma, start)
            }
            b';' => {
                self.pos += 1;
                self.token(Kind::Semicolon, start)
            }
            b'.' if !next.is_some_and(|c| c.is_ascii_digit()) => {
                self.pos += 1;
                self.token(Kind::Dot, start)
            }
            b'0'..=b'9' | b'.' => {
                self.pos += 1;
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                {
                    self.pos += 1;
                }
                self.token(Kind::Number, start)
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                // String prefixes: E'…' (escapes), B'…', X'…', N'…', U&'…'.
                let after = self.peek(1);
                if after == Some(b'\'')
                    && matches!(c.to_ascii_uppercase(), b'E' | b'B' | b'X' | b'N')
                {
                    self.pos += 1;
                    let escapes = c.eq_ignore_ascii_case(&b'E')
                        || (self.backslash_strings && c.eq_ignore_ascii_case(&b'N'));
                    self.quoted(b'\'', escapes);
                    return self.token(Kind::String, start);
                }
                if c.eq_ignore_ascii_case(&b'U') && after == Some(b'&') {
                    match self.peek(2) {
                        Some(b'\'') => {
                            self.pos += 2;
                            self.quoted(b'\'', false);
                            return self.token(Kind::String, start);
                        }
                        Some(b'"') => {
                            self.pos += 2;
                            self.quoted(b'"', false);
                            return self.token(Kind::QuotedIdent, start);
                        }
                        _ => {}
                    }
                }
                self.pos = self.word_end(self.pos);
                // Non-ASCII bytes are accepted as word bytes, so we always end on a char boundary.
                self.token(Kind::Word, start)
            }
            c if is_op_char(c) => {
                self.pos += 1;
                // An operator never contains `--` or `/*`: those start comments.
                while let Some(c) = self.peek(0) {
                    let starts_comment = (c == b'-' && self.peek(1) == Some(b'-'))
                        || (c == b'/' && self.peek(1) == Some(b'*'));
                    if !is_op_char(c) || starts_comment {
                        break;
                    }
                    self.pos += 1;
                }
                self.token(Kind::Op, start)
            }
            _ => {
                // Any other character (including stray backslashes outside psql mode).
                let len = self.src[start..].chars().next().map_or(1, char::len_utf8);
                self.pos += len;
                self.token(Kind::Op, start)
            }
        }
    }
}

/// The contents of a string-like token, with quotes removed and escapes resolved, plus
/// whether the contents are a verbatim slice of the source (so offsets inside map 1:1).
pub fn literal_value(src: &str, token: &Token) -> Option<(String, Option<usize>)> {
    let text = token.text(src);
    match token.kind {
        Kind::DollarString => {
            let tag_len = text[1..].find('$')? + 2;
            let tag = &text[..tag_len];
            if text.len() < tag_len * 2 || !text.ends_with(tag) {
                // Unterminated: the rest of the input is the body.
                return Some((text[tag_len..].to_string(), Some(token.start + tag_len)));
            }
            let body = &text[tag_len..text.len() - tag_len];
            Some((body.to_string(), Some(token.start + tag_len)))
        }
        Kind::String => {
            let (prefix_len, escapes) = match text.as_bytes().first()? {
                b'\'' => (0, false),
                b'E' | b'e' => (1, true),
                b'U' | b'u' => (2, false),
                _ => (1, false),
            };
            let inner = text.get(prefix_len + 1..)?;
            let inner = inner.strip_suffix('\'').unwrap_or(inner);
            if !escapes && !inner.contains("''") {
                return Some((inner.to_string(), Some(token.start + prefix_len + 1)));
            }
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        out.push('\'');
                    }
                    '\\' if escapes => match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        Some(other) => out.push(other),
                        None => {}
                    },
                    c => out.push(c),
                }
            }
            Some((out, None))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        Lexer::new(src, true)
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    #[test]
    fn nested_block_comments_are_one_token() {
        let src = "/* a /* DROP TABLE x; */ still comment */ SELECT";
        assert_eq!(
            kinds(src),
            vec![
                (Kind::Comment, "/* a /* DROP TABLE x; */ still comment */"),
                (Kind::Word, "SELECT")
            ]
        );
    }

    #[test]
    fn dollar_quotes_with_tags_and_inner_dollars() {
        let src = "$fn$ select $$x$$; $fn$ ;";
        assert_eq!(
            kinds(src),
            vec![
                (Kind::DollarString, "$fn$ select $$x$$; $fn$"),
                (Kind::Semicolon, ";")
            ]
        );
        assert_eq!(
            kinds("$1 + $2"),
            vec![(Kind::Param, "$1"), (Kind::Op, "+"), (Kind::Param, "$2")]
        );
    }

    #[test]
    fn escape_strings_and_doubled_quotes() {
        let src = r"E'it\'s; DROP' 'a''b;' x";
        assert_eq!(
            kinds(src),
            vec![
                (Kind::String, r"E'it\'s; DROP'"),
                (Kind::String, "'a''b;'"),
                (Kind::Word, "x")
            ]
        );
        let t = Lexer::new(src, true).next().unwrap();
        assert_eq!(literal_value(src, &t).unwrap().0, "it's; DROP");
    }

    #[test]
    fn plain_strings_do_not_treat_backslash_as_escape() {
        // standard_conforming_strings is on since PostgreSQL 9.1.
        let src = r"'C:\' ; DROP";
        assert_eq!(
            kinds(src),
            vec![
                (Kind::String, r"'C:\'"),
                (Kind::Semicolon, ";"),
                (Kind::Word, "DROP")
            ]
        );
    }

    #[test]
    fn meta_commands_run_to_end_of_line_only_in_psql_mode() {
        let src = "\\set x 1; DROP\nSELECT";
        assert_eq!(
            kinds(src),
            vec![(Kind::Meta, "\\set x 1; DROP"), (Kind::Word, "SELECT")]
        );
        assert_eq!(Lexer::new(src, false).next().unwrap().kind, Kind::Op);
    }

    #[test]
    fn meta_commands_end_at_an_unquoted_backslash() {
        // psql runs the DROP: `\\` ends the arguments, `\;` separates statements.
        assert_eq!(
            kinds("\\echo a \\\\ DROP"),
            vec![(Kind::Meta, "\\echo a \\\\"), (Kind::Word, "DROP")]
        );
        // At the start of a command, `\\` is a command of its own that takes the line.
        assert_eq!(kinds("\\\\ DROP"), vec![(Kind::Meta, "\\\\ DROP")]);
        assert_eq!(
            kinds("SELECT 1 \\; DROP"),
            vec![
                (Kind::Word, "SELECT"),
                (Kind::Number, "1"),
                (Kind::Semicolon, "\\;"),
                (Kind::Word, "DROP")
            ]
        );
        assert_eq!(
            kinds("\\echo 'a \\\\ b' \"\\\" `c \\ d`\\echo e"),
            vec![
                (Kind::Meta, "\\echo 'a \\\\ b' \"\\\" `c \\ d`"),
                (Kind::Meta, "\\echo e")
            ]
        );
        // \copy and \! take the whole line.
        assert_eq!(
            kinds("\\copy t to 'C:\\x' \\ y\nz"),
            vec![(Kind::Meta, "\\copy t to 'C:\\x' \\ y"), (Kind::Word, "z")]
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_a_word() {
        assert_eq!(
            kinds("\u{feff}DROP TABLE t"),
            vec![
                (Kind::Word, "DROP"),
                (Kind::Word, "TABLE"),
                (Kind::Word, "t")
            ]
        );
    }

    #[test]
    fn operators_stop_before_comments() {
        assert_eq!(
            kinds("a +-- c\nb"),
            vec![
                (Kind::Word, "a"),
                (Kind::Op, "+"),
                (Kind::Comment, "-- c"),
                (Kind::Word, "b")
            ]
        );
    }

    #[test]
    fn unterminated_constructs_run_to_end() {
        assert_eq!(kinds("'abc"), vec![(Kind::String, "'abc")]);
        assert_eq!(kinds("$$abc"), vec![(Kind::DollarString, "$$abc")]);
        assert_eq!(kinds("/* abc"), vec![(Kind::Comment, "/* abc")]);
        assert_eq!(kinds("\"abc"), vec![(Kind::QuotedIdent, "\"abc")]);
    }

    #[test]
    fn unterminated_dollar_quote_body_runs_to_the_end() {
        // Found by fuzzing: the body of an unterminated dollar quote lost its last bytes, and
        // panicked when they cut a multi-byte character.
        for src in [
            "$$ BEGIN é",
            "$$ DROP TABLE x; é😀",
            "$fn$ body $f",
            "$$ ab",
        ] {
            let token = Lexer::new(src, true).next().unwrap();
            assert_eq!(token.kind, Kind::DollarString);
            let tag_len = src[1..].find('$').unwrap() + 2;
            assert_eq!(
                literal_value(src, &token),
                Some((src[tag_len..].to_string(), Some(tag_len)))
            );
        }
        let src = "DO $$ BEGIN DROP TABLE t; END é";
        let token = Lexer::new(src, true).nth(1).unwrap();
        assert_eq!(
            literal_value(src, &token).unwrap().0,
            " BEGIN DROP TABLE t; END é"
        );
        assert_eq!(
            literal_value("$a$x$a$", &Lexer::new("$a$x$a$", true).next().unwrap()),
            Some(("x".to_string(), Some(3)))
        );
    }

    #[test]
    fn unicode_identifiers_and_strings() {
        assert_eq!(
            kinds("DROP TABLE été;"),
            vec![
                (Kind::Word, "DROP"),
                (Kind::Word, "TABLE"),
                (Kind::Word, "été"),
                (Kind::Semicolon, ";")
            ]
        );
        assert_eq!(kinds("U&'d\\0061t'"), vec![(Kind::String, "U&'d\\0061t'")]);
    }
}

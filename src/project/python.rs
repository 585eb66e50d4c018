//! A small Python tokenizer: enough to read conftest.py files statically.
//!
//! dbguard never executes project code, so it reads the few environment forms it cares about
//! (see `conftest.rs`) from tokens. The tokenizer knows what could otherwise hide or fake
//! them: comments, every string form (prefixes, triple quotes, escapes, f-strings), line
//! continuations and bracket nesting (so `Newline` marks the end of a logical line only).

/// One token, with the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: Kind,
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Name(String),
    /// A string literal's value. `fstring` is set when it interpolates (`f"{x}"`), which
    /// makes the value unknowable without running the code.
    Str {
        value: String,
        fstring: bool,
    },
    /// Operators and punctuation: `(`, `)`, `[`, `]`, `{`, `}`, `,`, `.`, `=`, `==`, `:` …
    Op(String),
    Number,
    /// The end of a logical line (outside brackets).
    Newline,
}

pub fn tokenize(source: &str) -> Vec<Token> {
    Lexer {
        chars: source.chars().collect(),
        pos: 0,
        line: 1,
        depth: 0,
        tokens: Vec::new(),
    }
    .run()
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    /// Open brackets: newlines inside them do not end the logical line.
    depth: usize,
    tokens: Vec<Token>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, kind: Kind, line: usize) {
        self.tokens.push(Token { kind, line });
    }

    fn run(mut self) -> Vec<Token> {
        while let Some(c) = self.peek(0) {
            let line = self.line;
            match c {
                '\n' => {
                    self.bump();
                    if self.depth == 0
                        && !matches!(
                            self.tokens.last(),
                            None | Some(Token {
                                kind: Kind::Newline,
                                ..
                            })
                        )
                    {
                        self.push(Kind::Newline, line);
                    }
                }
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '\\' if self.peek(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                c if c.is_alphabetic() || c == '_' => {
                    let word = self.take_while(|c| c.is_alphanumeric() || c == '_');
                    if matches!(self.peek(0), Some('\'' | '"')) && is_string_prefix(&word) {
                        self.string(&word, line);
                    } else {
                        self.push(Kind::Name(word), line);
                    }
                }
                '\'' | '"' => self.string("", line),
                c if c.is_ascii_digit() => {
                    self.take_while(|c| c.is_alphanumeric() || c == '_' || c == '.');
                    self.push(Kind::Number, line);
                }
                _ => self.operator(line),
            }
        }
        if !matches!(
            self.tokens.last(),
            None | Some(Token {
                kind: Kind::Newline,
                ..
            })
        ) {
            let line = self.line;
            self.push(Kind::Newline, line);
        }
        self.tokens
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek(0).filter(|c| keep(*c)) {
            out.push(c);
            self.bump();
        }
        out
    }

    fn operator(&mut self, line: usize) {
        let c = self.bump().unwrap_or_default();
        match c {
            '(' | '[' | '{' => self.depth += 1,
            ')' | ']' | '}' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        let mut op = c.to_string();
        // Two-character operators that matter: `==` must not read as an assignment.
        if matches!(
            c,
            '=' | '!' | '<' | '>' | ':' | '+' | '-' | '*' | '/' | '%' | '|' | '&'
        ) && self.peek(0) == Some('=')
        {
            self.bump();
            op.push('=');
        }
        self.push(Kind::Op(op), line);
    }

    fn string(&mut self, prefix: &str, line: usize) {
        let prefix = prefix.to_ascii_lowercase();
        let raw = prefix.contains('r');
        let fmt = prefix.contains('f');
        let quote = self.bump().unwrap_or('"');
        let triple = self.peek(0) == Some(quote) && self.peek(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let mut value = String::new();
        let mut interpolates = false;
        while let Some(c) = self.bump() {
            if c == quote {
                if !triple {
                    break;
                }
                if self.peek(0) == Some(quote) && self.peek(1) == Some(quote) {
                    self.bump();
                    self.bump();
                    break;
                }
                value.push(c);
                continue;
            }
            if c == '\n' && !triple {
                // An unterminated single-line string ends at the line (Python: a syntax error).
                break;
            }
            if fmt && c == '{' {
                if self.peek(0) == Some('{') {
                    self.bump();
                } else {
                    interpolates = true;
                }
            } else if fmt && c == '}' && self.peek(0) == Some('}') {
                self.bump();
            }
            if c == '\\' {
                match self.bump() {
                    Some(next) if raw => {
                        value.push('\\');
                        value.push(next);
                    }
                    Some(next) => self.escape(next, &mut value),
                    None => value.push('\\'),
                }
                continue;
            }
            value.push(c);
        }
        self.push(
            Kind::Str {
                value,
                fstring: interpolates,
            },
            line,
        );
    }

    fn escape(&mut self, next: char, value: &mut String) {
        match next {
            '\n' => {}
            'n' => value.push('\n'),
            't' => value.push('\t'),
            'r' => value.push('\r'),
            '0' => value.push('\0'),
            'x' => self.hex_escape(2, value),
            'u' => self.hex_escape(4, value),
            'U' => self.hex_escape(8, value),
            '\\' | '\'' | '"' => value.push(next),
            other => {
                value.push('\\');
                value.push(other);
            }
        }
    }

    fn hex_escape(&mut self, digits: usize, value: &mut String) {
        let hex: String = (0..digits).filter_map(|i| self.peek(i)).collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(c) if hex.len() == digits => {
                for _ in 0..digits {
                    self.bump();
                }
                value.push(c);
            }
            _ => value.push('\\'),
        }
    }
}

fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "f" | "br" | "rb" | "fr" | "rf"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Kind> {
        tokenize(source).into_iter().map(|t| t.kind).collect()
    }

    fn s(value: &str) -> Kind {
        Kind::Str {
            value: value.into(),
            fstring: false,
        }
    }

    #[test]
    fn strings_in_every_form() {
        let toks = kinds(r#"a = 'x' "y\n" r"\d" b'z' """t"q""" f"{v}" f"{{lit}}""#);
        assert_eq!(toks[2], s("x"));
        assert_eq!(toks[3], s("y\n"));
        assert_eq!(toks[4], s("\\d"));
        assert_eq!(toks[5], s("z"));
        assert_eq!(toks[6], s("t\"q"));
        assert!(matches!(&toks[7], Kind::Str { fstring: true, .. }));
        assert_eq!(toks[8], s("{lit}"));
    }

    #[test]
    fn comments_and_strings_hide_code() {
        let toks = kinds("# os.environ['X'] = 'a'\ns = \"os.environ['X'] = 'b'\"\n");
        assert_eq!(
            toks,
            vec![
                Kind::Name("s".into()),
                Kind::Op("=".into()),
                s("os.environ['X'] = 'b'"),
                Kind::Newline
            ]
        );
    }

    #[test]
    fn brackets_and_continuations_join_lines() {
        let toks = tokenize("f(\n  'a',\n  'b')\nx = 1 \\\n  + 2\n");
        let newlines: Vec<usize> = toks
            .iter()
            .filter(|t| t.kind == Kind::Newline)
            .map(|t| t.line)
            .collect();
        assert_eq!(newlines, vec![3, 5]);
        assert_eq!(toks[2].line, 2);
    }

    #[test]
    fn equality_is_not_assignment() {
        assert!(kinds("a == 'b'").contains(&Kind::Op("==".into())));
    }
}

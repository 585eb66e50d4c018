//! Splits SQL text into statements the way psql sends them to the server: at `;` outside
//! parentheses and `BEGIN ATOMIC … END` bodies, and at `\g`-style meta-commands. Skips
//! `COPY … FROM stdin` data, reports `\i` / `\ir` includes, and keeps comments aside for
//! `dbguard:allow` annotations.
//!
//! It is an iterator so that a file is analysed statement by statement and never held as a
//! list of parsed statements.

use super::lexer::{Kind, Lexer, Token};

/// One statement: its tokens (comments excluded) and its byte range in the source.
#[derive(Debug, Clone)]
pub struct Statement {
    pub start: usize,
    /// End of the last token (the terminating `;` is not part of the statement).
    pub end: usize,
    pub tokens: Vec<Token>,
    /// Ended by psql's `\gexec`: every row of the result is executed as SQL.
    pub gexec: bool,
}

impl Statement {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }
}

#[derive(Debug, Clone)]
pub enum Item {
    Statement(Statement),
    /// `\i` / `\include` (relative to the working directory) or `\ir` / `\include_relative`
    /// (relative to the including file).
    Include {
        path: String,
        relative: bool,
        start: usize,
        end: usize,
    },
}

/// A comment kept for annotation lookup.
#[derive(Debug, Clone)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    /// Nothing but white space stands before it on its line.
    pub starts_line: bool,
}

pub struct Splitter<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    pub comments: Vec<Comment>,
    pending: Option<Item>,
    /// A statement's token list handed back by `recycle`, reused for the next statement.
    spare: Vec<Token>,
}

/// Token lists larger than this are not kept for reuse.
const MAX_SPARE_TOKENS: usize = 1 << 16;

impl<'a> Splitter<'a> {
    /// `psql`: whether backslash meta-commands are recognised (SQL files, stdin).
    pub fn new(src: &'a str, psql: bool) -> Self {
        Splitter {
            src,
            lexer: Lexer::new(src, psql),
            comments: Vec::new(),
            pending: None,
            spare: Vec::new(),
        }
    }

    /// Gives a finished statement's token list back, to be reused for the next statement
    /// (saves an allocation per statement).
    pub fn recycle(&mut self, mut tokens: Vec<Token>) {
        if tokens.capacity() <= MAX_SPARE_TOKENS && tokens.capacity() > self.spare.capacity() {
            tokens.clear();
            self.spare = tokens;
        }
    }

    fn starts_line(&self, pos: usize) -> bool {
        self.src[..pos]
            .bytes()
            .rev()
            .take_while(|&b| b != b'\n')
            .all(|b| b == b' ' || b == b'\t' || b == b'\r')
    }

    /// After a `COPY … FROM stdin`, psql streams the following lines as data up to a line
    /// that is exactly `\.`. Skip them so data never counts as SQL.
    fn skip_copy_data(&mut self) {
        let bytes = self.src.as_bytes();
        let mut pos = self.lexer.position();
        // Data starts on the line after the statement's terminator.
        pos = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => pos + i + 1,
            None => bytes.len(),
        };
        while pos < bytes.len() {
            let line_end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| pos + i);
            let line = self.src[pos..line_end].trim_end_matches('\r');
            pos = (line_end + 1).min(bytes.len());
            if line == "\\." {
                break;
            }
        }
        self.lexer.seek(pos);
    }

    fn meta_command(&self, token: Token) -> MetaAction {
        let text = token.text(self.src);
        let body = &text[1..];
        let name_len = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
        let (name, args) = body.split_at(name_len);
        let arg = first_meta_arg(args);
        match name {
            "i" | "include" | "ir" | "include_relative" => {
                let relative = name.starts_with("ir") || name == "include_relative";
                match arg {
                    Some(path) if !path.is_empty() => MetaAction::Include(Item::Include {
                        path,
                        relative,
                        start: token.start,
                        end: token.end,
                    }),
                    _ => MetaAction::None,
                }
            }
            "g" | "gx" | "gset" | "gdesc" | "crosstabview" | "watch" => {
                MetaAction::Send { gexec: false }
            }
            "gexec" => MetaAction::Send { gexec: true },
            "copy" => {
                let lower = args.to_ascii_lowercase();
                if lower.contains(" from stdin") || lower.contains(" from pstdin") {
                    MetaAction::CopyData
                } else {
                    MetaAction::None
                }
            }
            _ => MetaAction::None,
        }
    }
}

enum MetaAction {
    None,
    Include(Item),
    Send { gexec: bool },
    CopyData,
}

/// The first argument of a meta-command: a quoted string (may contain spaces) or a word.
fn first_meta_arg(args: &str) -> Option<String> {
    let args = args.trim_start();
    let quote = args.chars().next().filter(|c| *c == '\'' || *c == '"');
    let arg = match quote {
        Some(q) => {
            let inner = &args[1..];
            &inner[..inner.find(q).unwrap_or(inner.len())]
        }
        None => args.split_whitespace().next()?,
    };
    Some(arg.to_string())
}

/// Whether the statement is `COPY … FROM STDIN` (psql then reads data lines).
fn is_copy_from_stdin(src: &str, tokens: &[Token]) -> bool {
    tokens.first().is_some_and(|t| t.is_word(src, "copy"))
        && tokens
            .windows(2)
            .any(|w| w[0].is_word(src, "from") && w[1].is_word(src, "stdin"))
}

/// Whether the statement defines a routine whose SQL-standard body (`BEGIN ATOMIC … END`)
/// may contain semicolons.
fn is_routine_definition(src: &str, tokens: &[Token]) -> bool {
    let mut words = tokens.iter().take(4).filter(|t| t.kind == Kind::Word);
    if !words.next().is_some_and(|t| t.is_word(src, "create")) {
        return false;
    }
    let mut next = words.next();
    if next.is_some_and(|t| t.is_word(src, "or")) {
        words.next(); // REPLACE
        next = words.next();
    }
    next.is_some_and(|t| t.is_word(src, "function") || t.is_word(src, "procedure"))
}

impl Iterator for Splitter<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if let Some(item) = self.pending.take() {
            return Some(item);
        }
        let mut tokens: Vec<Token> = std::mem::take(&mut self.spare);
        tokens.clear();
        let mut depth = 0usize;
        let mut atomic_depth = 0usize;
        let mut routine = false;
        let finish = |tokens: Vec<Token>, gexec: bool| -> Option<Item> {
            let first = tokens.first()?;
            let last = tokens.last()?;
            Some(Item::Statement(Statement {
                start: first.start,
                end: last.end,
                tokens,
                gexec,
            }))
        };
        while let Some(token) = self.lexer.next() {
            match token.kind {
                Kind::Comment => {
                    let starts_line = self.starts_line(token.start);
                    self.comments.push(Comment {
                        start: token.start,
                        end: token.end,
                        starts_line,
                    });
                }
                Kind::Meta => match self.meta_command(token) {
                    MetaAction::None => {}
                    MetaAction::Include(item) => {
                        if tokens.is_empty() {
                            return Some(item);
                        }
                        // An include in the middle of a statement: psql would splice the file
                        // in; we analyse both, the statement so far first.
                        self.pending = Some(item);
                        return finish(tokens, false);
                    }
                    MetaAction::Send { gexec } => {
                        if !tokens.is_empty() {
                            return finish(tokens, gexec);
                        }
                    }
                    MetaAction::CopyData => {
                        self.skip_copy_data();
                    }
                },
                Kind::Semicolon if depth == 0 && atomic_depth == 0 => {
                    if tokens.is_empty() {
                        continue;
                    }
                    if is_copy_from_stdin(self.src, &tokens) {
                        self.skip_copy_data();
                    }
                    return finish(tokens, false);
                }
                _ => {
                    match token.kind {
                        Kind::LParen | Kind::LBracket => depth += 1,
                        Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    tokens.push(token);
                    // Decided from the statement's first words.
                    if token.kind == Kind::Word && tokens.len() <= 4 {
                        routine = is_routine_definition(self.src, &tokens);
                    }
                    if routine && token.kind == Kind::Word {
                        let n = tokens.len();
                        let opens_atomic = token.is_word(self.src, "atomic")
                            && n >= 2
                            && tokens[n - 2].is_word(self.src, "begin");
                        // CASE … END inside the body must not close it.
                        let opens_case = atomic_depth > 0 && token.is_word(self.src, "case");
                        if opens_atomic || opens_case {
                            atomic_depth += 1;
                        } else if atomic_depth > 0 && token.is_word(self.src, "end") {
                            atomic_depth -= 1;
                        }
                    }
                }
            }
        }
        finish(tokens, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(src: &str) -> Vec<String> {
        Splitter::new(src, true)
            .map(|item| match item {
                Item::Statement(s) => s.text(src).to_string(),
                Item::Include { path, relative, .. } => format!("include({path},{relative})"),
            })
            .collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        let src = "CREATE RULE r AS ON INSERT TO t DO (DELETE FROM a; DELETE FROM b); SELECT 1;;  ";
        assert_eq!(
            statements(src),
            vec![
                "CREATE RULE r AS ON INSERT TO t DO (DELETE FROM a; DELETE FROM b)",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn last_statement_without_semicolon_counts() {
        assert_eq!(
            statements("SELECT 1; DROP TABLE t"),
            vec!["SELECT 1", "DROP TABLE t"]
        );
    }

    #[test]
    fn begin_atomic_bodies_keep_their_semicolons() {
        let src = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; DELETE FROM t; END; DROP TABLE x;";
        let got = statements(src);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("DELETE FROM t; END"));
        assert_eq!(got[1], "DROP TABLE x");
    }

    #[test]
    fn begin_transaction_is_not_atomic() {
        assert_eq!(
            statements("BEGIN; DROP TABLE t; END;"),
            vec!["BEGIN", "DROP TABLE t", "END"]
        );
    }

    #[test]
    fn copy_data_is_skipped() {
        let src = "COPY t (a) FROM stdin;\nDROP TABLE x;\n\\.\nTRUNCATE y;";
        assert_eq!(statements(src), vec!["COPY t (a) FROM stdin", "TRUNCATE y"]);
        let src = "\\copy t from stdin\nDROP TABLE x;\n\\.\nTRUNCATE y;";
        assert_eq!(statements(src), vec!["TRUNCATE y"]);
    }

    #[test]
    fn includes_and_gexec() {
        let src =
            "\\i a.sql\n\\ir 'b c.sql'\nSELECT format('DROP TABLE %I', t) FROM x \\gexec\nSELECT 1";
        let items: Vec<Item> = Splitter::new(src, true).collect();
        assert_eq!(
            statements(src)[..2],
            [
                "include(a.sql,false)".to_string(),
                "include(b c.sql,true)".to_string()
            ]
        );
        match &items[2] {
            Item::Statement(s) => assert!(s.gexec),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn comments_are_collected_with_line_position() {
        let src = "DROP TABLE a; -- trailing\n  -- own line\nSELECT 1 /* inner */;";
        let mut splitter = Splitter::new(src, true);
        let _: Vec<_> = splitter.by_ref().collect();
        let flags: Vec<bool> = splitter.comments.iter().map(|c| c.starts_line).collect();
        assert_eq!(flags, vec![false, true, false]);
    }
}

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
    /// Already reported once: a `\gexec` on an empty query buffer runs the previous
    /// statement again, and only its `\gexec` is new.
    pub rerun: bool,
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
    /// `\c` / `\connect`: what follows runs in another database (or as another user).
    Connect {
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
    /// Where the last statement sent lies, which psql's `\gexec` re-runs when the buffer is
    /// empty.
    last: Option<(usize, usize)>,
    /// End of the line of a `COPY … FROM stdin` just sent: its data starts on the next line,
    /// but psql still runs the SQL after it on its own line (`COPY t FROM stdin; DROP …`).
    copy_data_after: Option<usize>,
    /// A statement's token list handed back by `recycle`, reused for the next statement.
    spare: Vec<Token>,
    /// psql's reading (meta-commands, COPY data lines after `COPY … FROM stdin`) rather than
    /// the server's (a wire-protocol Query, where the next line is the next statement).
    psql: bool,
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
            last: None,
            copy_data_after: None,
            spare: Vec::new(),
            psql,
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
            "c" | "connect" => MetaAction::Include(Item::Connect {
                start: token.start,
                end: token.end,
            }),
            "g" | "gx" | "gset" | "gdesc" | "crosstabview" | "watch" => {
                MetaAction::Send { gexec: false }
            }
            "gexec" => MetaAction::Send { gexec: true },
            // psql accepts `\COPY` as well.
            _ if name.eq_ignore_ascii_case("copy") => {
                let lower = args.to_ascii_lowercase();
                if args.trim_start().starts_with('(') {
                    // `\copy (DELETE FROM t RETURNING *) TO 'f'` runs the query in parentheses
                    // (and has no data lines, whatever the query reads from).
                    MetaAction::Copy(self.copy_statement(token))
                } else if lower.contains(" from stdin") || lower.contains(" from pstdin") {
                    MetaAction::CopyData
                } else {
                    MetaAction::None
                }
            }
            _ => MetaAction::None,
        }
    }

    /// `\copy (query) …` as the statement `copy (query) …`: the word after the backslash and
    /// the SQL tokens of the rest of the line.
    fn copy_statement(&self, meta: Token) -> Statement {
        let verb = Token {
            kind: Kind::Word,
            start: meta.start + 1,
            end: meta.start + 1 + "copy".len(),
        };
        let mut lexer = Lexer::new(self.src, false);
        lexer.seek(verb.end);
        let mut tokens = vec![verb];
        tokens.extend(
            lexer
                .take_while(|t| t.start < meta.end)
                .filter(|t| t.kind != Kind::Comment)
                .map(|t| Token {
                    end: t.end.min(meta.end),
                    ..t
                }),
        );
        Statement {
            start: verb.start,
            end: tokens.last().map_or(verb.end, |t| t.end),
            tokens,
            gexec: false,
            rerun: false,
        }
    }
}

enum MetaAction {
    None,
    Include(Item),
    Send {
        gexec: bool,
    },
    CopyData,
    /// `\copy (query) …`: runs the query.
    Copy(Statement),
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

/// The value a `SET` / `RESET` statement gives `standard_conforming_strings`, if it is one.
fn standard_conforming_strings(src: &str, tokens: &[Token]) -> Option<bool> {
    if !tokens
        .first()
        .is_some_and(|t| t.is_word(src, "set") || t.is_word(src, "reset"))
    {
        return None;
    }
    let words: Vec<&Token> = tokens.iter().filter(|t| t.kind != Kind::Op).collect();
    let verb = words.first()?;
    if verb.is_word(src, "reset") {
        let target = words.get(1)?;
        let resets =
            target.is_word(src, "all") || target.is_word(src, "standard_conforming_strings");
        return resets.then_some(true);
    }
    if !verb.is_word(src, "set") {
        return None;
    }
    let mut rest = &words[1..];
    if rest
        .first()
        .is_some_and(|t| t.is_word(src, "session") || t.is_word(src, "local"))
    {
        rest = &rest[1..];
    }
    if !rest.first()?.is_word(src, "standard_conforming_strings") {
        return None;
    }
    // `= off` (the `=` is an Op, left out above), `TO 'off'`, `TO DEFAULT`, `0`.
    let value = rest.iter().skip(1).find(|t| !t.is_word(src, "to"))?;
    let value = value.text(src).trim_matches('\'').to_ascii_lowercase();
    let off = [
        "off", "of", "false", "fals", "fal", "fa", "f", "no", "n", "0",
    ];
    Some(!off.contains(&value.as_str()))
}

/// Whether the statement is `COPY … FROM STDIN` (psql then reads data lines).
fn is_copy_from_stdin(src: &str, tokens: &[Token]) -> bool {
    // At depth 0: `COPY (SELECT a FROM stdin) TO STDOUT` reads a table called stdin and has
    // no data lines; taking it for one would hide the rest of the file.
    let mut depth = 0usize;
    tokens.first().is_some_and(|t| t.is_word(src, "copy"))
        && tokens.windows(2).any(|w| {
            match w[0].kind {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 && w[0].is_word(src, "from") && w[1].is_word(src, "stdin")
        })
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| from + i)
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
        let item = self.next_item();
        if let Some(Item::Statement(statement)) = &item {
            if self.psql && !statement.rerun && is_copy_from_stdin(self.src, &statement.tokens) {
                let bytes = self.src.as_bytes();
                self.copy_data_after = Some(memchr_newline(bytes, self.lexer.position()));
            }
            self.last = Some((statement.start, statement.end));
            if let Some(on) = standard_conforming_strings(self.src, &statement.tokens) {
                self.lexer.set_backslash_strings(!on);
            }
        }
        item
    }
}

impl Splitter<'_> {
    fn next_item(&mut self) -> Option<Item> {
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
                rerun: false,
            }))
        };
        loop {
            if let Some(line_end) = self.copy_data_after {
                // Only blanks left on the COPY's line: the data lines follow.
                let bytes = self.src.as_bytes();
                let mut next = self.lexer.position();
                while next < bytes.len() && bytes[next].is_ascii_whitespace() {
                    next += 1;
                }
                if next > line_end || next == bytes.len() {
                    self.copy_data_after = None;
                    self.lexer.seek(line_end);
                    self.skip_copy_data();
                }
            }
            let Some(token) = self.lexer.next() else {
                break;
            };
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
                        // `SELECT format('DROP …') …;` then `\gexec` on its own line: psql
                        // runs the previous query again and executes its rows.
                        if let Some((start, end)) = self.last.filter(|_| gexec) {
                            let mut lexer = Lexer::new(self.src, true);
                            lexer.seek(start);
                            let tokens = lexer
                                .take_while(|t| t.start < end)
                                .filter(|t| !matches!(t.kind, Kind::Comment | Kind::Meta))
                                .collect();
                            return Some(Item::Statement(Statement {
                                start,
                                end,
                                tokens,
                                gexec: true,
                                rerun: true,
                            }));
                        }
                    }
                    MetaAction::CopyData => {
                        self.skip_copy_data();
                    }
                    MetaAction::Copy(statement) => {
                        let item = Item::Statement(statement);
                        if tokens.is_empty() {
                            return Some(item);
                        }
                        // psql runs `\copy` at once; analyse the statement so far first.
                        self.pending = Some(item);
                        return finish(tokens, false);
                    }
                },
                Kind::Semicolon if depth == 0 && atomic_depth == 0 => {
                    if tokens.is_empty() {
                        continue;
                    }
                    return finish(tokens, false);
                }
                _ => {
                    // Like psql, count parentheses only: `SELECT a[1; DROP TABLE t;` sends
                    // the DROP on its own.
                    match token.kind {
                        Kind::LParen => depth += 1,
                        Kind::RParen => depth = depth.saturating_sub(1),
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
                Item::Connect { .. } => "connect".to_string(),
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
    fn brackets_do_not_hold_a_semicolon() {
        assert_eq!(
            statements("SELECT ARRAY[1; DROP TABLE t;"),
            ["SELECT ARRAY[1", "DROP TABLE t"]
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
    fn copy_data_starts_after_the_line_of_the_copy() {
        // psql runs the rest of the COPY's line, then reads data from the next line.
        let src = "COPY t FROM stdin; DROP TABLE x;\n1\tDROP TABLE y;\n\\.\nTRUNCATE z;";
        assert_eq!(
            statements(src),
            ["COPY t FROM stdin", "DROP TABLE x", "TRUNCATE z"]
        );
        // A subquery reading a table called stdin is no COPY FROM stdin.
        let src = "COPY (SELECT a FROM stdin) TO STDOUT;\nDROP TABLE x;";
        assert_eq!(statements(src).len(), 2);
        // Nor is a \copy of a query.
        let src = "\\copy (SELECT a FROM stdin) TO 'f'\nDROP TABLE x;";
        assert_eq!(statements(src).len(), 2);
    }

    #[test]
    fn gexec_on_an_empty_buffer_reruns_the_previous_statement() {
        let src = "SELECT format('DROP TABLE %I', t) FROM x;\n\\gexec\nSELECT 1;";
        let items: Vec<Item> = Splitter::new(src, true).collect();
        let flags: Vec<(bool, bool)> = items
            .iter()
            .map(|item| match item {
                Item::Statement(s) => (s.gexec, s.rerun),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(flags, [(false, false), (true, true), (false, false)]);
        match &items[1] {
            Item::Statement(s) => assert!(s.text(src).starts_with("SELECT format")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn copy_meta_command_with_a_query_is_a_statement() {
        let src = "\\copy (DELETE FROM t RETURNING *) TO 'x.csv'\n\\copy t TO 'y.csv'\nSELECT 1;";
        assert_eq!(
            statements(src),
            ["copy (DELETE FROM t RETURNING *) TO 'x.csv'", "SELECT 1"]
        );
    }

    #[test]
    fn backslash_semicolon_separates_statements() {
        assert_eq!(
            statements("SELECT 1 \\; DROP TABLE t;"),
            ["SELECT 1", "DROP TABLE t"]
        );
    }

    #[test]
    fn strings_follow_standard_conforming_strings() {
        // With it off, `\'` escapes the quote: the DROP is code, not part of a string.
        let src = "SET standard_conforming_strings = off;\nSELECT 'a\\' , ' ; DROP TABLE t; -- ';\nRESET ALL;\nSELECT 'a\\' , ' ; DROP TABLE u; -- ';";
        let got = statements(src);
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[2], "DROP TABLE t");
        assert_eq!(got[4], "SELECT 'a\\' , ' ; DROP TABLE u; -- '");
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

//! Walks statements to operations: picks the path (fast safe verb, sqlparser, fallback),
//! descends into DO blocks, function and rule bodies, and dynamic SQL, and records every
//! operation with its position in the file.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::ast;
use super::fallback::{self, is_safe_verb, matching_close};
use super::lexer::{literal_value, Kind, Lexer, Token};
use super::split::{Item, Splitter};
use crate::analysis::ops::{Context, Located, Op, DYNAMIC};

/// Deepest nesting of bodies inside bodies (DO inside EXECUTE inside a function …).
const MAX_DEPTH: usize = 16;

/// Maps byte offsets of the text being analysed to offsets in the file.
#[derive(Clone, Copy, Debug)]
pub enum Map {
    /// The text is a verbatim slice of the file starting at this offset.
    Offset(usize),
    /// The text was decoded or built (escaped strings, dynamic SQL): report this range.
    Fixed(usize, usize),
}

impl Map {
    fn apply(self, start: usize, end: usize) -> (usize, usize) {
        match self {
            Map::Offset(base) => (base + start, base + end),
            Map::Fixed(a, b) => (a, b),
        }
    }

    /// The map for a text found at `[start, end)` of the text this map is for.
    fn inner(self, start: usize, end: usize, verbatim: bool) -> Map {
        match (self, verbatim) {
            (Map::Offset(base), true) => Map::Offset(base + start),
            (Map::Offset(base), false) => Map::Fixed(base + start, base + end),
            (fixed, _) => fixed,
        }
    }
}

#[derive(Default)]
pub struct Walker {
    pub out: Vec<Located>,
    /// The top-level statement being analysed, stamped on every operation.
    statement: std::ops::Range<usize>,
    depth: usize,
    /// Tests: parse every statement, so the fast paths can be checked against the parser.
    #[cfg(test)]
    no_fast_path: bool,
}

fn tokens_of(text: &str) -> Vec<Token> {
    Lexer::new(text, false)
        .filter(|t| t.kind != Kind::Comment)
        .collect()
}

fn range(tokens: &[Token]) -> (usize, usize) {
    match (tokens.first(), tokens.last()) {
        (Some(a), Some(b)) => (a.start, b.end),
        _ => (0, 0),
    }
}

fn word_at(src: &str, tokens: &[Token], i: usize) -> Option<String> {
    tokens
        .get(i)
        .filter(|t| t.kind == Kind::Word)
        .map(|t| t.text(src).to_ascii_uppercase())
}

impl Walker {
    /// Tests: a walker that parses every statement, to check the fast paths against.
    #[cfg(test)]
    pub fn without_fast_paths() -> Walker {
        Walker {
            no_fast_path: true,
            ..Walker::default()
        }
    }

    /// Analyses one top-level statement of a file.
    pub fn top_level(&mut self, src: &str, tokens: &[Token]) {
        let (start, end) = range(tokens);
        self.statement = start..end;
        self.statement(src, tokens, Map::Offset(0), Context::default());
    }

    /// psql's `\c`: the names that follow are another database's (a fact for the
    /// simulation).
    pub fn connect(&mut self, start: usize, end: usize) {
        self.statement = start..end;
        let op = Op::SwitchesNames {
            detail: "connects to another database".into(),
        };
        self.push(op, (start, end), Map::Offset(0), Context::default());
    }

    /// psql's `\gexec` executes every row of the result as SQL: analyse the literal SQL the
    /// query builds, or report it as dynamic.
    pub fn gexec(&mut self, src: &str, tokens: &[Token]) {
        let (start, end) = range(tokens);
        self.statement = start..end;
        let found = tokens
            .iter()
            .position(|t| matches!(t.kind, Kind::String | Kind::DollarString));
        let ctx = Context {
            dynamic: true,
            ..Context::default()
        };
        match found {
            Some(first) => {
                // Every column of every row runs: the first literal's expression, and any
                // other literal that reads like destructive SQL (`SELECT 'SELECT 1', 'DROP …'`).
                let mut i = first;
                while i < tokens.len() {
                    let token = tokens[i];
                    let is_literal = matches!(token.kind, Kind::String | Kind::DollarString);
                    if !is_literal || (i != first && !literal_looks_destructive(src, &token)) {
                        i += 1;
                        continue;
                    }
                    // `format('DROP TABLE %I', …)`, `concat('DROP TABLE ', …)` or
                    // `'DROP TABLE ' || …`.
                    let from = if i >= 2
                        && tokens[i - 1].kind == Kind::LParen
                        && ["format", "concat", "concat_ws"]
                            .iter()
                            .any(|f| tokens[i - 2].is_word(src, f))
                    {
                        i - 2
                    } else {
                        i
                    };
                    let to = expression_end(src, tokens, from);
                    self.dynamic(
                        src,
                        &tokens[from..to],
                        Map::Offset(0),
                        ctx,
                        "\\gexec runs each result row as SQL",
                    );
                    i = to.max(i + 1);
                }
            }
            None => self.push(
                Op::DynamicSql {
                    detail: "\\gexec runs each result row as SQL, and dbguard cannot see that SQL"
                        .into(),
                },
                (start, end),
                Map::Offset(0),
                ctx,
            ),
        }
    }

    fn push(&mut self, op: Op, (start, end): (usize, usize), map: Map, context: Context) {
        let (start, end) = map.apply(start, end);
        self.out.push(Located {
            op,
            start,
            end,
            statement: self.statement.clone(),
            context,
            sql: None,
        });
    }

    /// One statement given as tokens of `src`.
    fn statement(&mut self, src: &str, tokens: &[Token], map: Map, ctx: Context) {
        if tokens.is_empty() {
            return;
        }
        let span = range(tokens);
        if self.depth > MAX_DEPTH {
            return self.push(
                Op::Unparsed {
                    reason: "SQL nested too deeply".into(),
                },
                span,
                map,
                ctx,
            );
        }
        let first = &tokens[0];
        if first.is_word(src, "DO") {
            return self.do_block(src, tokens, map, ctx);
        }
        // Only EXPLAIN ANALYZE executes the statement it explains.
        if first.is_word(src, "EXPLAIN") {
            if let Some(inner) = fallback::explained_statement(src, tokens) {
                self.statement(src, &tokens[inner..], map, ctx);
            }
            return;
        }
        if first.is_word(src, "CREATE") {
            let mut i = 1;
            if tokens.get(1).is_some_and(|t| t.is_word(src, "or")) {
                i = 3; // OR REPLACE
            }
            if let Some(t) = tokens.get(i) {
                if t.is_word(src, "FUNCTION") || t.is_word(src, "PROCEDURE") {
                    return self.routine(src, tokens, map, ctx);
                }
                if t.is_word(src, "RULE") {
                    return self.rule(src, tokens, map, ctx);
                }
            }
        }
        // What the statement creates and fills, for the simulation: on every path alike.
        for fact in super::facts::facts(src, tokens) {
            // Inside a DO block (or dynamic SQL) it may run only under an IF, or be undone
            // by an EXCEPTION handler (`IF NOT EXISTS (…) THEN ALTER TABLE … ADD COLUMN`):
            // it proves nothing was there before.
            let fact = match fact {
                Op::AddColumn { .. } if self.depth > 0 => continue,
                Op::CreateTable { name, data, .. } if self.depth > 0 => Op::CreateTable {
                    name,
                    if_not_exists: true,
                    data,
                },
                fact => fact,
            };
            self.push(fact, span, map, ctx);
        }
        // `SELECT dblink_exec('DROP TABLE t')` hides its SQL in a string the fast path and
        // the parser never look into. DROP / ALTER / GRANT … name functions, never call them.
        let mut i = if first.kind == Kind::Word && names_routines(first.text(src)) {
            tokens.len()
        } else {
            0
        };
        while i + 1 < tokens.len() {
            i = match self.sql_function_call(src, tokens, i, map, ctx) {
                Some(end) => end.max(i + 1),
                None => i + 1,
            };
        }
        #[cfg(test)]
        let fast_path = !self.no_fast_path;
        #[cfg(not(test))]
        let fast_path = true;
        if fast_path && (fast_safe(src, tokens) || alter_table_adds(src, tokens)) {
            return;
        }
        let text = &src[span.0..span.1];
        let parsed = Parser::parse_sql(&PostgreSqlDialect {}, text);
        let (ops, fallback_ctx) = match parsed {
            Ok(statements) => {
                let ops = ast::operations(&statements);
                if ops.is_empty() && looks_destructive(src, tokens) {
                    // Belt and braces: the parser accepted it but we found nothing in a
                    // statement that starts like a destructive one.
                    (fallback::classify(src, tokens), true)
                } else {
                    (Ok(ops), false)
                }
            }
            Err(_) => (fallback::classify(src, tokens), true),
        };
        let ctx = Context {
            fallback: ctx.fallback || fallback_ctx,
            ..ctx
        };
        match ops {
            Ok(ops) => {
                // The exact text of a plain DELETE / UPDATE that runs now, for counting.
                let countable = ops.len() == 1
                    && matches!(ops[0], Op::Delete { .. } | Op::Update { .. })
                    && !(ctx.dynamic || ctx.deferred || ctx.remote || ctx.fallback)
                    && !text.contains(DYNAMIC);
                for op in ops {
                    self.push(op, span, map, ctx);
                }
                if countable {
                    if let Some(last) = self.out.last_mut() {
                        last.sql = Some(text.to_string());
                    }
                }
            }
            Err(reason) => self.push(Op::Unparsed { reason }, span, map, ctx),
        }
    }

    /// `DO [LANGUAGE l] 'body' [LANGUAGE l]`: the body runs now, at full severity.
    fn do_block(&mut self, src: &str, tokens: &[Token], map: Map, ctx: Context) {
        let language = language_of(src, tokens);
        let Some(body) = tokens
            .iter()
            .find(|t| matches!(t.kind, Kind::String | Kind::DollarString))
        else {
            return self.push(
                Op::Unparsed {
                    reason: "DO without a body".into(),
                },
                range(tokens),
                map,
                ctx,
            );
        };
        if !matches!(language.as_deref(), None | Some("plpgsql")) {
            let language = language.unwrap_or_default();
            let detail =
                format!("DO block in language {language}: dbguard cannot read what it runs");
            return self.push(Op::DynamicSql { detail }, range(tokens), map, ctx);
        }
        self.literal_body(src, body, map, ctx);
    }

    /// `CREATE FUNCTION/PROCEDURE`: the body runs when called, so it is reported as deferred.
    fn routine(&mut self, src: &str, tokens: &[Token], map: Map, ctx: Context) {
        let ctx = Context {
            deferred: true,
            ..ctx
        };
        if let Some(i) = tokens
            .windows(2)
            .position(|w| w[0].is_word(src, "begin") && w[1].is_word(src, "atomic"))
        {
            return self.nested(|w| w.body(src, &tokens[i + 2..], map, ctx));
        }
        let language = language_of(src, tokens).unwrap_or_else(|| "sql".into());
        let body = tokens.windows(2).find(|w| {
            w[0].is_word(src, "as") && matches!(w[1].kind, Kind::String | Kind::DollarString)
        });
        let Some(body) = body.map(|w| &w[1]) else {
            return;
        };
        match language.as_str() {
            "sql" | "plpgsql" => self.literal_body(src, body, map, ctx),
            "c" | "internal" => {}
            other => {
                let detail =
                    format!("function body in language {other}: dbguard cannot read what it runs");
                self.push(Op::DynamicSql { detail }, (body.start, body.end), map, ctx)
            }
        }
    }

    /// `CREATE RULE … DO [ALSO|INSTEAD] {NOTHING | command | (command; …)}`: runs later.
    fn rule(&mut self, src: &str, tokens: &[Token], map: Map, ctx: Context) {
        let ctx = Context {
            deferred: true,
            ..ctx
        };
        let Some(mut i) = tokens.iter().position(|t| t.is_word(src, "do")) else {
            return;
        };
        i += 1;
        if tokens
            .get(i)
            .is_some_and(|t| t.is_word(src, "also") || t.is_word(src, "instead"))
        {
            i += 1;
        }
        if tokens.get(i).is_some_and(|t| t.is_word(src, "nothing")) {
            return;
        }
        let actions = if tokens.get(i).is_some_and(|t| t.kind == Kind::LParen) {
            let close = matching_close(tokens, i);
            &tokens[i + 1..close.min(tokens.len())]
        } else {
            &tokens[i..]
        };
        self.nested(|w| {
            for command in actions.split(|t| t.kind == Kind::Semicolon) {
                w.statement(src, command, map, ctx);
            }
        });
    }

    /// A string literal holding PL/pgSQL or SQL code.
    fn literal_body(&mut self, src: &str, literal: &Token, map: Map, ctx: Context) {
        let Some((text, verbatim_at)) = literal_value(src, literal) else {
            return;
        };
        let inner = match verbatim_at {
            Some(offset) => map.inner(offset, offset, true),
            None => map.inner(literal.start, literal.end, false),
        };
        let tokens = tokens_of(&text);
        self.nested(|w| w.body(&text, &tokens, inner, ctx));
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    /// PL/pgSQL (or plain SQL) code: finds the SQL statements among the control structures,
    /// `EXECUTE` of dynamic SQL, and string literals that hold destructive SQL.
    fn body(&mut self, src: &str, tokens: &[Token], map: Map, ctx: Context) {
        let mut at_statement_start = true;
        let mut in_raise = false;
        // `FOR target IN query LOOP`, `OPEN c FOR query` and `c CURSOR FOR query` run their
        // query, which may be `DELETE … RETURNING`: in the loop header, after OPEN / CURSOR,
        // and whether the statement about to start ends at LOOP rather than `;`.
        let mut in_for = false;
        let mut in_cursor = false;
        let mut loop_query = false;
        // In a GRANT / REVOKE / COMMENT, `dblink_exec(text)` is a signature, not a call.
        let mut names_routines_only = false;
        // Literals already analysed as part of an EXECUTE.
        let mut consumed_until = 0;
        let mut i = 0;
        while i < tokens.len() {
            let token = tokens[i];
            match token.kind {
                Kind::Semicolon => {
                    at_statement_start = true;
                    in_raise = false;
                    in_for = false;
                    in_cursor = false;
                    names_routines_only = false;
                    i += 1;
                    continue;
                }
                Kind::Word => {
                    let word = token.text(src).to_ascii_uppercase();
                    if word == "EXECUTE" && is_dynamic_execute(src, tokens, i) {
                        let end = execute_end(src, tokens, i + 1);
                        self.dynamic(src, &tokens[i + 1..end], map, ctx, "EXECUTE");
                        consumed_until = end;
                        at_statement_start = false;
                        i = end;
                        continue;
                    }
                    if at_statement_start && is_embedded_statement_verb(&word) {
                        let end = if loop_query {
                            loop_query_end(src, tokens, i)
                        } else {
                            statement_end(tokens, i)
                        };
                        self.statement(src, &tokens[i..end], map, ctx);
                        consumed_until = end;
                        i = end;
                        continue;
                    }
                    if at_statement_start && names_routines(&word) {
                        names_routines_only = true;
                    }
                    let call = (!names_routines_only)
                        .then(|| self.sql_function_call(src, tokens, i, map, ctx))
                        .flatten();
                    if let Some(end) = call {
                        consumed_until = end;
                        at_statement_start = false;
                        i = end;
                        continue;
                    }
                    if at_statement_start && word == "RAISE" {
                        in_raise = true;
                    }
                    let query_starts = (in_for && word == "IN") || (in_cursor && word == "FOR");
                    if query_starts {
                        in_for = false;
                        in_cursor = false;
                    } else if at_statement_start && word == "FOR" {
                        in_for = true;
                    } else if (at_statement_start && word == "OPEN")
                        || (word == "CURSOR" && is_cursor_declaration(src, tokens, i))
                    {
                        in_cursor = true;
                    }
                    loop_query = query_starts && word == "IN";
                    at_statement_start = query_starts
                        || matches!(word.as_str(), "BEGIN" | "THEN" | "ELSE" | "LOOP" | "QUERY");
                }
                Kind::String | Kind::DollarString if i >= consumed_until && !in_raise => {
                    if literal_looks_destructive(src, &token) {
                        let end = expression_end(src, tokens, i);
                        let ctx = Context {
                            dynamic: true,
                            ..ctx
                        };
                        self.dynamic(src, &tokens[i..end], map, ctx, "string");
                        consumed_until = end;
                        i = end;
                        at_statement_start = false;
                        continue;
                    }
                    at_statement_start = false;
                }
                Kind::Op if token.text(src) == ">>" => at_statement_start = true, // after a <<label>>
                _ => at_statement_start = false,
            }
            i += 1;
        }
    }

    /// A call at `tokens[i]` of a function that runs SQL given as text (`dblink_exec`, pg_cron's
    /// `cron.schedule`) or deletes data (`lo_unlink`): analyses it and returns the index just
    /// past the call, or `None` when `tokens[i]` starts no such call.
    fn sql_function_call(
        &mut self,
        src: &str,
        tokens: &[Token],
        i: usize,
        map: Map,
        ctx: Context,
    ) -> Option<usize> {
        const NAMES: &[&str] = &[
            "dblink_exec",
            "dblink",
            "dblink_send_query",
            "schedule",
            "schedule_in_database",
            "lo_unlink",
        ];
        let name = tokens.get(i).filter(|t| t.kind == Kind::Word)?;
        if tokens.get(i + 1)?.kind != Kind::LParen
            || !NAMES.iter().any(|n| name.text(src).eq_ignore_ascii_case(n))
        {
            return None;
        }
        let name = name.text(src).to_ascii_lowercase();
        let qualified = i >= 2 && tokens[i - 1].kind == Kind::Dot;
        let schema = qualified.then(|| tokens[i - 2].text(src).to_ascii_lowercase());
        // `EXECUTE FUNCTION f()`, `CREATE CAST … WITH FUNCTION lo_unlink(oid)`: a signature.
        let before = i.checked_sub(if qualified { 3 } else { 1 });
        if before.is_some_and(|b| {
            ["FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE"]
                .iter()
                .any(|k| tokens[b].is_word(src, k))
        }) {
            return None;
        }
        let close = matching_close(tokens, i + 1).min(tokens.len());
        let args = arguments(&tokens[i + 2..close]);
        let is_bool = |arg: &[Token]| {
            arg.len() == 1 && (arg[0].is_word(src, "true") || arg[0].is_word(src, "false"))
        };
        let span = (tokens[i].start, tokens[close.min(tokens.len() - 1)].end);
        // (the SQL argument, whether it runs later, whether it runs in another database)
        let (sql, deferred, remote) = match (name.as_str(), schema.as_deref()) {
            // dblink_exec([conn,] sql [, fail_on_error]), dblink([conn,] sql [, fail_on_error])
            ("dblink_exec" | "dblink", _) => {
                let sql = if args.len() >= 2 && !is_bool(args[1]) {
                    1
                } else {
                    0
                };
                (args.get(sql).copied(), false, true)
            }
            ("dblink_send_query", _) => (args.get(1).copied(), false, true),
            // cron.schedule([job,] schedule, command), cron.schedule_in_database(job, schedule,
            // command, database …): the command runs later, like a function body.
            ("schedule", Some("cron")) => (args.last().copied(), true, false),
            ("schedule_in_database", Some("cron")) => (args.get(2).copied(), true, true),
            // lo_unlink removes a large object for good: the rows of pg_largeobject it names.
            ("lo_unlink", _) => {
                let op = Op::Delete {
                    table: "pg_largeobject".into(),
                    has_where: true,
                };
                self.push(op, span, map, ctx);
                return Some(close + 1);
            }
            _ => return None,
        };
        let ctx = Context {
            deferred: ctx.deferred || deferred,
            remote: ctx.remote || remote,
            ..ctx
        };
        match sql {
            Some(sql) => self.dynamic(src, sql, map, ctx, &name),
            None => {
                let detail = format!("{name} runs SQL dbguard cannot see");
                self.push(Op::DynamicSql { detail }, span, map, ctx)
            }
        }
        Some(close + 1)
    }

    /// SQL built at run time from `expr` (the tokens of an expression): analyse its literal
    /// parts with dynamic parts as placeholders, or report it as dynamic.
    fn dynamic(&mut self, src: &str, expr: &[Token], map: Map, ctx: Context, what: &str) {
        let ctx = Context {
            dynamic: true,
            ..ctx
        };
        let span = range(expr);
        let Some(text) = dynamic_text(src, expr) else {
            let shown: String = src[span.0..span.1].chars().take(60).collect();
            let detail = format!("{what} of SQL dbguard cannot see (`{shown}`)");
            return self.push(Op::DynamicSql { detail }, span, map, ctx);
        };
        let inner = map.inner(span.0, span.1, false);
        let before = self.out.len();
        self.nested(|w| {
            let mut splitter = Splitter::new(&text, false);
            for item in splitter.by_ref() {
                if let Item::Statement(statement) = item {
                    if statement
                        .tokens
                        .first()
                        .is_some_and(|t| t.text(&text) == DYNAMIC)
                    {
                        let detail = format!("{what} of SQL whose statement dbguard cannot see");
                        w.push(Op::DynamicSql { detail }, (0, 0), inner, ctx);
                    } else {
                        w.statement(&text, &statement.tokens, inner, ctx);
                    }
                }
            }
        });
        // A statement dbguard cannot classify inside dynamic SQL is dynamic SQL.
        for located in &mut self.out[before..] {
            if let Op::Unparsed { reason } = &located.op {
                located.op = Op::DynamicSql {
                    detail: format!("{what} of SQL dbguard cannot classify ({reason})"),
                };
            }
        }
    }
}

/// Statements whose first word is a safe verb and that contain no destructive keyword at
/// all need no parsing: this keeps `check` fast on the CREATE/INSERT bulk of migrations.
fn fast_safe(src: &str, tokens: &[Token]) -> bool {
    let Some(first) = tokens.first() else {
        return true;
    };
    if first.kind != Kind::Word || !is_safe_verb(first.text(src)) {
        return false;
    }
    let grant = first.is_word(src, "GRANT") || first.is_word(src, "REVOKE");
    !tokens.iter().enumerate().any(|(i, t)| {
        if t.kind != Kind::Word {
            return false;
        }
        let w = t.text(src);
        if w.eq_ignore_ascii_case("EXECUTE") {
            // `EXECUTE FUNCTION f()` in CREATE TRIGGER, and the EXECUTE privilege, run nothing.
            return !(trigger_execute(src, tokens, i) || grant && privilege(src, tokens, i));
        }
        let after_paren = i > 0 && tokens[i - 1].kind == Kind::LParen;
        ["DROP", "TRUNCATE", "MERGE", "RENAME"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k))
            || (after_paren
                && ["DELETE", "UPDATE", "WITH"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)))
    })
}

/// Statements that name functions (`DROP FUNCTION dblink_exec(text)`, `GRANT EXECUTE ON
/// FUNCTION lo_unlink(oid)`) but never call them.
fn names_routines(verb: &str) -> bool {
    ["DROP", "ALTER", "GRANT", "REVOKE", "COMMENT", "SECURITY"]
        .iter()
        .any(|v| verb.eq_ignore_ascii_case(v))
}

/// Whether the `CURSOR` at `i` declares a cursor in a DECLARE section
/// (`name [[NO] SCROLL] CURSOR`), rather than being a column called cursor.
fn is_cursor_declaration(src: &str, tokens: &[Token], i: usize) -> bool {
    let mut j = i;
    while j > 0 && (tokens[j - 1].is_word(src, "scroll") || tokens[j - 1].is_word(src, "no")) {
        j -= 1;
    }
    let Some(name) = j.checked_sub(1) else {
        return false;
    };
    matches!(tokens[name].kind, Kind::Word | Kind::QuotedIdent)
        && (name == 0
            || tokens[name - 1].kind == Kind::Semicolon
            || tokens[name - 1].is_word(src, "declare"))
}

/// `EXECUTE FUNCTION name` / `EXECUTE PROCEDURE name` (a trigger's action) at `i`.
fn trigger_execute(src: &str, tokens: &[Token], i: usize) -> bool {
    tokens
        .get(i + 1)
        .is_some_and(|t| t.is_word(src, "FUNCTION") || t.is_word(src, "PROCEDURE"))
        && tokens
            .get(i + 2)
            .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::QuotedIdent))
}

/// The word at `i` of a GRANT/REVOKE stands in the privilege list (`GRANT EXECUTE`,
/// `REVOKE SELECT, EXECUTE`).
fn privilege(src: &str, tokens: &[Token], i: usize) -> bool {
    i.checked_sub(1).is_some_and(|p| {
        let p = &tokens[p];
        p.kind == Kind::Comma || p.is_word(src, "GRANT") || p.is_word(src, "REVOKE")
    })
}

/// `ALTER TABLE name …` whose actions can only add or change without removing anything
/// (ADD COLUMN, ADD CONSTRAINT, SET DEFAULT, VALIDATE CONSTRAINT, OWNER TO, …): neither the
/// parser nor the fallback reports anything for them, so they need no parsing. Everything
/// that could be reported (DROP, RENAME, TYPE, SET NOT NULL, statements nested in
/// parentheses) keeps the full path.
fn alter_table_adds(src: &str, tokens: &[Token]) -> bool {
    if !(tokens.len() > 2 && tokens[0].is_word(src, "ALTER") && tokens[1].is_word(src, "TABLE")) {
        return false;
    }
    let mut i = 2;
    if tokens[i].is_word(src, "IF") && tokens.get(i + 1).is_some_and(|t| t.is_word(src, "EXISTS")) {
        i += 2;
    }
    if tokens.get(i).is_some_and(|t| t.is_word(src, "ONLY")) {
        i += 1;
    }
    // The fallback cannot classify ALTER TABLE without a name: leave that to the full path.
    if !tokens
        .get(i)
        .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::QuotedIdent))
    {
        return false;
    }
    !tokens.iter().enumerate().any(|(i, t)| {
        if t.kind != Kind::Word {
            return false;
        }
        let w = t.text(src);
        let after = |word: &str| i > 0 && tokens[i - 1].is_word(src, word);
        let is = |k: &str| w.eq_ignore_ascii_case(k);
        // SET SCHEMA moves (renames) the table: reported as rename-table.
        ["DROP", "RENAME", "TYPE", "SCHEMA", "TRUNCATE", "MERGE", "EXECUTE", "WITH"]
            .iter()
            .any(|k| is(k))
            // `ON DELETE CASCADE` / `ON UPDATE …` of a foreign key are fine; DML is not.
            || (is("DELETE") || is("UPDATE")) && !after("ON")
            || is("NOT") && after("SET")
    })
}

/// Whether a statement the parser accepted should have produced an operation.
fn looks_destructive(src: &str, tokens: &[Token]) -> bool {
    let first = word_at(src, tokens, 0).unwrap_or_default();
    match first.as_str() {
        "DROP" | "TRUNCATE" | "DELETE" | "UPDATE" | "MERGE" => true,
        "ALTER" => tokens.iter().any(|t| {
            ["drop", "rename", "type", "schema"]
                .iter()
                .any(|k| t.is_word(src, k))
        }),
        _ => false,
    }
}

fn language_of(src: &str, tokens: &[Token]) -> Option<String> {
    // At depth 0 only: `CREATE FUNCTION f(language text)` names a parameter.
    let mut depth = 0usize;
    let i = tokens.iter().position(|t| {
        match t.kind {
            Kind::LParen | Kind::LBracket => depth += 1,
            Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0 && t.is_word(src, "language")
    })?;
    let t = tokens.get(i + 1)?;
    let name = match t.kind {
        Kind::String => literal_value(src, t)?.0,
        _ => t.text(src).trim_matches('"').to_string(),
    };
    Some(name.to_ascii_lowercase())
}

/// Verbs that start an SQL statement embedded in PL/pgSQL.
fn is_embedded_statement_verb(word: &str) -> bool {
    matches!(
        word,
        "DROP"
            | "TRUNCATE"
            | "DELETE"
            | "UPDATE"
            | "ALTER"
            | "MERGE"
            | "WITH"
            | "INSERT"
            | "CREATE"
            | "EXPLAIN"
            | "PREPARE"
            | "COPY"
            | "DO"
    )
}

/// `EXECUTE` that runs dynamic SQL, not `GRANT EXECUTE` or `EXECUTE FUNCTION` in a trigger.
fn is_dynamic_execute(src: &str, tokens: &[Token], i: usize) -> bool {
    let next = word_at(src, tokens, i + 1);
    if matches!(next.as_deref(), Some("FUNCTION" | "PROCEDURE")) {
        return false;
    }
    let prev = i.checked_sub(1).map(|p| tokens[p]);
    !prev.is_some_and(|p| {
        p.kind == Kind::Comma || p.is_word(src, "grant") || p.is_word(src, "revoke")
    })
}

/// End (exclusive) of an EXECUTE expression: `;`, or `INTO` / `USING` at depth 0.
fn execute_end(src: &str, tokens: &[Token], from: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(from) {
        match t.kind {
            Kind::LParen | Kind::LBracket => depth += 1,
            Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
            Kind::Semicolon if depth == 0 => return i,
            Kind::Word
                if depth == 0
                    && (t.is_word(src, "into")
                        || t.is_word(src, "using")
                        || t.is_word(src, "loop")) =>
            {
                return i
            }
            _ => {}
        }
    }
    tokens.len()
}

/// End (exclusive) of an embedded statement: the next `;` at depth 0.
fn statement_end(tokens: &[Token], from: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(from) {
        match t.kind {
            Kind::LParen | Kind::LBracket => depth += 1,
            Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
            Kind::Semicolon if depth == 0 => return i,
            _ => {}
        }
    }
    tokens.len()
}

/// The arguments of a call (the tokens between its parentheses), split at commas at depth 0.
fn arguments(tokens: &[Token]) -> Vec<&[Token]> {
    let mut depth = 0usize;
    tokens
        .split(|t| {
            match t.kind {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 && t.kind == Kind::Comma
        })
        .filter(|a| !a.is_empty())
        .collect()
}

/// End (exclusive) of the query of `FOR target IN query LOOP`: `LOOP` (or `;`) at depth 0.
fn loop_query_end(src: &str, tokens: &[Token], from: usize) -> usize {
    let end = statement_end(tokens, from);
    let mut depth = 0usize;
    for (i, t) in tokens[..end].iter().enumerate().skip(from) {
        match t.kind {
            Kind::LParen | Kind::LBracket => depth += 1,
            Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
            Kind::Word if depth == 0 && t.is_word(src, "loop") => return i,
            _ => {}
        }
    }
    end
}

/// End (exclusive) of a concatenation starting at `from`: `a || b(...) || 'c'`, or a
/// `format(…)` call.
fn expression_end(src: &str, tokens: &[Token], from: usize) -> usize {
    let operand_end = |i: usize| -> usize {
        match tokens.get(i) {
            Some(t)
                if t.kind == Kind::Word
                    && tokens.get(i + 1).is_some_and(|n| n.kind == Kind::LParen) =>
            {
                matching_close(tokens, i + 1) + 1
            }
            Some(t) if t.kind == Kind::LParen => matching_close(tokens, i) + 1,
            Some(_) => i + 1,
            None => i,
        }
    };
    let mut i = operand_end(from);
    while tokens
        .get(i)
        .is_some_and(|t| t.kind == Kind::Op && t.text(src) == "||")
    {
        i = operand_end(i + 1);
    }
    i.min(tokens.len())
}

/// A literal whose text starts like a destructive statement: SQL kept in a variable.
fn literal_looks_destructive(src: &str, token: &Token) -> bool {
    let Some((value, _)) = literal_value(src, token) else {
        return false;
    };
    let words: Vec<String> = value
        .split_whitespace()
        .take(4)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match w(0) {
        "DROP" => !w(1).is_empty(),
        "TRUNCATE" => true,
        "DELETE" => w(1) == "FROM",
        "UPDATE" => w(2) == "SET" || w(3) == "SET",
        "ALTER" => w(1) == "TABLE",
        _ => false,
    }
}

/// The SQL text a dynamic expression builds, with the parts dbguard cannot see replaced by
/// the `DYNAMIC` placeholder; `None` when the expression holds no literal SQL at all.
fn dynamic_text(src: &str, expr: &[Token]) -> Option<String> {
    dynamic_text_at(src, expr, 0)
}

/// Deepest nesting of calls and parentheses followed inside one dynamic expression.
const MAX_EXPRESSION_DEPTH: usize = 16;

fn dynamic_text_at(src: &str, expr: &[Token], depth: usize) -> Option<String> {
    if depth > MAX_EXPRESSION_DEPTH {
        return None;
    }
    let call = |name: &str| {
        expr.len() >= 2
            && expr[0].is_word(src, name)
            && expr[1].kind == Kind::LParen
            && matching_close(expr, 1) == expr.len() - 1
    };
    let args = || {
        arguments(&expr[2..expr.len() - 1])
            .into_iter()
            .map(|arg| dynamic_text_at(src, arg, depth + 1))
            .collect::<Vec<_>>()
    };
    // format('DROP TABLE %I.%I', s, t): only the format string is SQL.
    if expr.len() >= 2 && expr[0].is_word(src, "format") && expr[1].kind == Kind::LParen {
        let close = matching_close(expr, 1).min(expr.len());
        let args = &expr[2..close];
        let first_arg_end = args
            .iter()
            .position(|t| t.kind == Kind::Comma)
            .unwrap_or(args.len());
        let template = dynamic_text_at(src, &args[..first_arg_end], depth + 1)?;
        // Literal arguments are known: `format('TRUNCATE %I', 'audit_log')` names its table.
        let values: Vec<Option<String>> = arguments(args.get(first_arg_end + 1..).unwrap_or(&[]))
            .into_iter()
            .map(|arg| match arg {
                [t] if matches!(t.kind, Kind::String | Kind::DollarString) => {
                    literal_value(src, t).map(|v| v.0)
                }
                _ => None,
            })
            .collect();
        return Some(format_with(&template, &values));
    }
    // concat('DROP TABLE ', t) and concat_ws(' ', 'DROP TABLE', t) join their arguments, like
    // `||`; without them a DROP built this way would only be reported as dynamic SQL.
    if call("concat") || call("concat_ws") {
        let args = args();
        if args.iter().all(Option::is_none) {
            return None;
        }
        let mut parts = args
            .into_iter()
            .map(|a| a.unwrap_or_else(|| DYNAMIC.into()));
        let separator = if call("concat_ws") {
            parts.next().unwrap_or_default()
        } else {
            String::new()
        };
        return Some(parts.collect::<Vec<_>>().join(&separator));
    }
    // ('DROP TABLE ' || t)
    if expr.first().is_some_and(|t| t.kind == Kind::LParen)
        && matching_close(expr, 0) == expr.len() - 1
    {
        return dynamic_text_at(src, &expr[1..expr.len() - 1], depth + 1);
    }
    let mut out = String::new();
    let mut saw_literal = false;
    let mut i = 0;
    while i < expr.len() {
        let t = expr[i];
        match t.kind {
            Kind::String | Kind::DollarString => {
                out.push_str(&literal_value(src, &t).map(|v| v.0).unwrap_or_default());
                saw_literal = true;
            }
            Kind::Op if t.text(src) == "||" => {}
            _ => {
                let group_end = if t.kind == Kind::Word
                    && expr.get(i + 1).is_some_and(|n| n.kind == Kind::LParen)
                {
                    matching_close(expr, i + 1)
                } else if t.kind == Kind::LParen {
                    matching_close(expr, i)
                } else {
                    i
                };
                // A call or parenthesised part with literal SQL of its own (`'DROP ' ||
                // concat('TABLE ', t)`) keeps it.
                let group = &expr[i..(group_end + 1).min(expr.len())];
                let builds_text = t.kind == Kind::LParen
                    || ["format", "concat", "concat_ws"]
                        .iter()
                        .any(|f| t.is_word(src, f));
                match (group_end > i && builds_text)
                    .then(|| dynamic_text_at(src, group, depth + 1))
                    .flatten()
                {
                    Some(text) => {
                        out.push_str(&text);
                        saw_literal = true;
                    }
                    None if !out.ends_with(DYNAMIC) => out.push_str(DYNAMIC),
                    None => {}
                }
                i = group_end;
            }
        }
        i += 1;
    }
    saw_literal.then_some(out)
}

/// `%I`, `%L`, `%s`, `%1$I`, `%-10s` → placeholder; `%%` → `%`.
#[cfg(test)]
fn replace_format_specifiers(template: &str) -> String {
    format_with(template, &[])
}

/// PostgreSQL's `format()`: each specifier takes the next argument (or the one its `n$`
/// names); a known argument is filled in (`%I` quoted as an identifier where it needs it,
/// `%L` as a literal), an unknown one becomes the placeholder; `%%` → `%`.
fn format_with(template: &str, values: &[Option<String>]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut spec = String::new();
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || *c == '$' || *c == '-')
        {
            spec.extend(chars.next());
        }
        let kind = chars
            .peek()
            .copied()
            .filter(|c| matches!(c, 's' | 'I' | 'L'));
        if kind.is_some() {
            chars.next();
        }
        let index = match spec.split_once('$') {
            Some((n, _)) => n.parse::<usize>().ok().and_then(|n| n.checked_sub(1)),
            None => {
                next += 1;
                Some(next - 1)
            }
        };
        let value = index.and_then(|i| values.get(i).cloned().flatten());
        match (value, kind) {
            (Some(v), Some('I')) => out.push_str(&quote_ident(&v)),
            (Some(v), Some('L')) => out.push_str(&format!("'{}'", v.replace('\'', "''"))),
            (Some(v), Some('s')) => out.push_str(&v),
            _ => out.push_str(DYNAMIC),
        }
    }
    out
}

/// `quote_ident`: quoted unless it is a plain lower-case identifier.
fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_specifiers_become_placeholders() {
        assert_eq!(
            replace_format_specifiers("DROP TABLE %I.%1$I 100%%"),
            format!("DROP TABLE {DYNAMIC}.{DYNAMIC} 100%")
        );
    }

    #[test]
    fn format_fills_in_literal_arguments() {
        let text = |src: &str| dynamic_text(src, &tokens_of(src)).unwrap();
        assert_eq!(
            text("format('TRUNCATE %I', 'audit_log')"),
            "TRUNCATE audit_log"
        );
        assert_eq!(
            text("format('DELETE FROM %I.%I WHERE a = %L', 'S', t, 'it''s')"),
            format!("DELETE FROM \"S\".{DYNAMIC} WHERE a = 'it''s'")
        );
        assert_eq!(
            text("format('DROP TABLE %2$s, %1$s', 'a', 'b')"),
            "DROP TABLE b, a"
        );
    }

    #[test]
    fn dynamic_text_keeps_literals() {
        let src = "'DROP TABLE ' || quote_ident(t) || ' CASCADE'";
        let tokens = tokens_of(src);
        assert_eq!(
            dynamic_text(src, &tokens).unwrap(),
            format!("DROP TABLE {DYNAMIC} CASCADE")
        );
        assert_eq!(dynamic_text("v_sql", &tokens_of("v_sql")), None);
    }

    #[test]
    fn dynamic_text_joins_concat_arguments_and_sees_through_parentheses() {
        let text = |src: &str| dynamic_text(src, &tokens_of(src));
        assert_eq!(
            text("concat('DROP TABLE ', quote_ident(t))").unwrap(),
            format!("DROP TABLE {DYNAMIC}")
        );
        assert_eq!(
            text("concat_ws(' ', 'DELETE', 'FROM', t)").unwrap(),
            format!("DELETE FROM {DYNAMIC}")
        );
        assert_eq!(
            text("('TRUNCATE ' || t)").unwrap(),
            format!("TRUNCATE {DYNAMIC}")
        );
        assert_eq!(
            text("'DROP ' || concat('TABLE ', t)").unwrap(),
            format!("DROP TABLE {DYNAMIC}")
        );
        assert_eq!(
            text("concat('DROP TABLE ', format('%I.%I', s, t))").unwrap(),
            format!("DROP TABLE {DYNAMIC}.{DYNAMIC}")
        );
        assert_eq!(text("concat(a, b)"), None);
        assert_eq!(text("upper(v_sql)"), None);
    }

    #[test]
    fn for_loop_query_ends_at_loop() {
        let src = "DELETE FROM t RETURNING * LOOP DELETE FROM u; END LOOP";
        let tokens = tokens_of(src);
        let end = loop_query_end(src, &tokens, 0);
        assert!(tokens[end].is_word(src, "loop"));
        assert_eq!(end, 5);
    }
}

//! What a statement creates or fills, read from its tokens: CREATE TABLE (and what a
//! `CREATE TABLE … AS` copies), ALTER TABLE … ADD COLUMN, and the rows INSERT, COPY … FROM
//! and MERGE … INSERT write. No rule reports these; the simulation (`analysis::simulate`)
//! follows them. They are read from tokens on every path (fast, parsed or fallback), so the
//! same statement always yields the same facts.

use super::fallback::matching_close;
use super::lexer::{Kind, Token};
use crate::analysis::ops::{Contents, Op};

/// The facts of one statement, in the order they happen.
pub fn facts(src: &str, tokens: &[Token]) -> Vec<Op> {
    let mut out = Vec::new();
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(src, w));
    if word(0, "CREATE") {
        create_table(src, tokens, &mut out);
    } else if word(0, "ALTER") && word(1, "TABLE") {
        add_columns(src, tokens, &mut out);
    } else if (word(0, "SET") || word(0, "RESET"))
        && tokens.iter().take(4).any(|t| {
            t.is_word(src, "search_path") || t.is_word(src, "SCHEMA") || t.is_word(src, "ALL")
        })
    {
        out.push(Op::SwitchesNames {
            detail: "changes search_path".into(),
        });
    } else if word(0, "COPY") {
        // COPY t [(cols)] FROM …: rows in. COPY t TO / COPY (query) TO: rows out.
        if let Some((name, end)) = name_at(src, tokens, 1) {
            let mut i = end;
            if tokens.get(i).is_some_and(|t| t.kind == Kind::LParen) {
                i = matching_close(tokens, i) + 1;
            }
            if word(i, "FROM") {
                out.push(Op::Insert { table: name });
            }
        }
    }
    // set_config('search_path', …) anywhere.
    if tokens.windows(3).any(|w| {
        w[0].is_word(src, "set_config")
            && w[1].kind == Kind::LParen
            && w[2].kind == Kind::String
            && w[2].text(src).to_ascii_lowercase().contains("search_path")
    }) {
        out.push(Op::SwitchesNames {
            detail: "changes search_path".into(),
        });
    }
    // INSERT INTO t and MERGE INTO t … INSERT, wherever they stand (data-modifying CTEs,
    // EXPLAIN ANALYZE, rule actions).
    for i in 0..tokens.len() {
        let into = word(i + 1, "INTO");
        if into && word(i, "INSERT") {
            if let Some((name, _)) = name_at(src, tokens, i + 2) {
                out.push(Op::Insert { table: name });
            }
        } else if into && word(i, "MERGE") {
            let inserts = tokens[i..].iter().any(|t| t.is_word(src, "INSERT"));
            let target = if word(i + 2, "ONLY") { i + 3 } else { i + 2 };
            if let (true, Some((name, _))) = (inserts, name_at(src, tokens, target)) {
                out.push(Op::Insert { table: name });
            }
        }
    }
    out
}

/// A possibly qualified name at `i`, as written, and the index after it.
fn name_at(src: &str, tokens: &[Token], mut i: usize) -> Option<(String, usize)> {
    let start = i;
    loop {
        match tokens.get(i) {
            Some(t) if matches!(t.kind, Kind::Word | Kind::QuotedIdent) => i += 1,
            _ => break,
        }
        if tokens.get(i).is_some_and(|t| t.kind == Kind::Dot) {
            i += 1;
        } else {
            break;
        }
    }
    if i == start || tokens[i - 1].kind == Kind::Dot {
        return None;
    }
    Some((src[tokens[start].start..tokens[i - 1].end].to_string(), i))
}

/// `CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE [IF NOT EXISTS] name …`.
fn create_table(src: &str, tokens: &[Token], out: &mut Vec<Op>) {
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(src, w));
    let mut i = 1;
    while ["GLOBAL", "LOCAL", "TEMP", "TEMPORARY", "UNLOGGED"]
        .iter()
        .any(|w| word(i, w))
    {
        i += 1;
    }
    if !word(i, "TABLE") {
        return;
    }
    i += 1;
    let if_not_exists = word(i, "IF") && word(i + 1, "NOT") && word(i + 2, "EXISTS");
    if if_not_exists {
        i += 3;
    }
    let Some((name, mut i)) = name_at(src, tokens, i) else {
        return;
    };
    if tokens.get(i).is_some_and(|t| t.kind == Kind::LParen) {
        i = matching_close(tokens, i) + 1;
    }
    // Storage options between the column list and AS (`WITH (…)`, `TABLESPACE x`, …) are
    // skipped up to the AS at depth 0.
    let mut depth = 0usize;
    let mut as_at = None;
    for (j, t) in tokens.iter().enumerate().skip(i) {
        match t.kind {
            Kind::LParen | Kind::LBracket => depth += 1,
            Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
            Kind::Word if depth == 0 && t.is_word(src, "AS") => {
                as_at = Some(j);
                break;
            }
            _ => {}
        }
    }
    let data = match as_at {
        None => Contents::Empty,
        Some(j) => query_contents(src, &tokens[j + 1..]),
    };
    out.push(Op::CreateTable {
        name,
        if_not_exists,
        data,
    });
}

/// What the query of `CREATE TABLE … AS query` yields. Only `SELECT <plain columns> FROM
/// <tables> [JOIN …] [WHERE …]` is read (no function calls: an aggregate over nothing still
/// yields a row); anything else is unknown.
fn query_contents(src: &str, query: &[Token]) -> Contents {
    let n = query.len();
    if n >= 3
        && query[n - 3].is_word(src, "WITH")
        && query[n - 2].is_word(src, "NO")
        && query[n - 1].is_word(src, "DATA")
    {
        return Contents::Empty;
    }
    let mut query = query;
    while query.first().is_some_and(|t| t.kind == Kind::LParen)
        && matching_close(query, 0) + 1 == query.len()
    {
        query = &query[1..query.len() - 1];
    }
    let tail = ["WITH", "DATA"];
    let n = query.len();
    if n >= 2 && query[n - 2].is_word(src, tail[0]) && query[n - 1].is_word(src, tail[1]) {
        query = &query[..n - 2];
    }
    if !query.first().is_some_and(|t| t.is_word(src, "SELECT")) {
        return Contents::Unknown;
    }
    let Some(from) = query.iter().position(|t| t.is_word(src, "FROM")) else {
        return Contents::Unknown;
    };
    let blocking = ["UNION", "INTERSECT", "EXCEPT", "GROUP", "HAVING", "WINDOW"];
    if query[..from].iter().any(|t| t.kind == Kind::LParen)
        || query
            .iter()
            .any(|t| blocking.iter().any(|b| t.is_word(src, b)))
    {
        return Contents::Unknown;
    }
    let mut tables = Vec::new();
    let mut i = from + 1;
    loop {
        let Some((name, end)) = name_at(src, query, i) else {
            return Contents::Unknown;
        };
        if query
            .get(i)
            .is_some_and(|t| t.is_word(src, "LATERAL") || t.is_word(src, "ONLY"))
        {
            return Contents::Unknown;
        }
        tables.push(name);
        i = end;
        // An alias.
        if query.get(i).is_some_and(|t| t.is_word(src, "AS")) {
            i += 1;
        }
        let keyword = |t: &Token| {
            [
                "WHERE", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON",
                "USING", "ORDER", "LIMIT", "OFFSET", "FETCH",
            ]
            .iter()
            .any(|k| t.is_word(src, k))
        };
        if query
            .get(i)
            .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::QuotedIdent) && !keyword(t))
        {
            i += 1;
        }
        // The next table: after a comma or a JOIN (its ON condition skipped).
        let next = query[i..].iter().enumerate().find_map(|(k, t)| {
            (t.kind == Kind::Comma || t.is_word(src, "JOIN")).then_some(i + k + 1)
        });
        let stop = query[i..]
            .iter()
            .position(|t| t.is_word(src, "WHERE") || t.is_word(src, "ORDER"))
            .map(|k| i + k);
        match (next, stop) {
            (Some(n), Some(s)) if n < s => i = n,
            (Some(n), None) => i = n,
            _ => break,
        }
    }
    Contents::RowsOf(tables)
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name [*] ADD [COLUMN] col …, …`: one fact per column
/// added (not `ADD COLUMN IF NOT EXISTS`, which may find the column there with its data).
fn add_columns(src: &str, tokens: &[Token], out: &mut Vec<Op>) {
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(src, w));
    let mut i = 2;
    if word(i, "IF") && word(i + 1, "EXISTS") {
        i += 2;
    }
    if word(i, "ONLY") {
        i += 1;
    }
    let Some((table, mut i)) = name_at(src, tokens, i) else {
        return;
    };
    if tokens
        .get(i)
        .is_some_and(|t| t.kind == Kind::Op && t.text(src) == "*")
    {
        i += 1;
    }
    // Actions are separated by commas at depth 0.
    let mut action_start = i;
    let mut depth = 0usize;
    let mut j = i;
    while j <= tokens.len() {
        let end_of_action = match tokens.get(j) {
            None => true,
            Some(t) => {
                match t.kind {
                    Kind::LParen | Kind::LBracket => depth += 1,
                    Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                    _ => {}
                }
                depth == 0 && matches!(t.kind, Kind::Comma | Kind::Semicolon)
            }
        };
        if end_of_action {
            let mut k = action_start;
            if word(k, "ADD") {
                k += 1;
                let constraint = [
                    "CONSTRAINT",
                    "PRIMARY",
                    "UNIQUE",
                    "FOREIGN",
                    "CHECK",
                    "EXCLUDE",
                ]
                .iter()
                .any(|w| word(k, w));
                if word(k, "COLUMN") {
                    k += 1;
                }
                let if_not_exists = word(k, "IF") && word(k + 1, "NOT") && word(k + 2, "EXISTS");
                let column = tokens
                    .get(k)
                    .filter(|t| matches!(t.kind, Kind::Word | Kind::QuotedIdent));
                if let (false, false, Some(column)) = (constraint, if_not_exists, column) {
                    out.push(Op::AddColumn {
                        table: table.clone(),
                        column: column.text(src).to_string(),
                    });
                }
            }
            action_start = j + 1;
        }
        j += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sql::lexer::Lexer;

    fn of(sql: &str) -> Vec<Op> {
        let tokens: Vec<Token> = Lexer::new(sql, false)
            .filter(|t| t.kind != Kind::Comment)
            .collect();
        facts(sql, &tokens)
    }

    fn created(sql: &str) -> (String, bool, Contents) {
        match of(sql).remove(0) {
            Op::CreateTable {
                name,
                if_not_exists,
                data,
            } => (name, if_not_exists, data),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_table_forms() {
        assert_eq!(
            created("CREATE TABLE s.t (id int, CHECK (id > 0))"),
            ("s.t".into(), false, Contents::Empty)
        );
        assert_eq!(
            created("create unlogged table if not exists \"T\" (LIKE u)"),
            ("\"T\"".into(), true, Contents::Empty)
        );
        assert_eq!(
            created("CREATE TABLE c AS SELECT a, b FROM x JOIN y ON x.id = y.id WHERE a > 1").2,
            Contents::RowsOf(vec!["x".into(), "y".into()])
        );
        assert_eq!(
            created("CREATE TABLE c AS SELECT * FROM x t, y").2,
            Contents::RowsOf(vec!["x".into(), "y".into()])
        );
        assert_eq!(
            created("CREATE TABLE c AS SELECT count(*) FROM x").2,
            Contents::Unknown
        );
        assert_eq!(created("CREATE TABLE c AS SELECT 1").2, Contents::Unknown);
        assert_eq!(
            created("CREATE TABLE c AS SELECT * FROM x WITH NO DATA").2,
            Contents::Empty
        );
        assert_eq!(
            created("CREATE TABLE c AS (SELECT * FROM x UNION SELECT * FROM y)").2,
            Contents::Unknown
        );
        assert!(of("CREATE INDEX i ON t (a)").is_empty());
    }

    #[test]
    fn added_columns_and_rows_written() {
        assert_eq!(
            of(
                "ALTER TABLE ONLY users ADD COLUMN email text DEFAULT 'x', ADD nick text, \
                ADD COLUMN IF NOT EXISTS maybe int, ADD CONSTRAINT k UNIQUE (email), DROP old"
            ),
            [
                Op::AddColumn {
                    table: "users".into(),
                    column: "email".into()
                },
                Op::AddColumn {
                    table: "users".into(),
                    column: "nick".into()
                }
            ]
        );
        assert_eq!(
            of("WITH d AS (DELETE FROM a RETURNING *) INSERT INTO b SELECT * FROM d"),
            [Op::Insert { table: "b".into() }]
        );
        assert_eq!(
            of("COPY s.t (a, b) FROM STDIN"),
            [Op::Insert {
                table: "s.t".into()
            }]
        );
        assert!(of("COPY t TO STDOUT").is_empty());
        assert_eq!(
            of("MERGE INTO t USING u ON t.id = u.id WHEN NOT MATCHED THEN INSERT VALUES (u.id)"),
            [Op::Insert { table: "t".into() }]
        );
    }
}

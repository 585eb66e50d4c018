//! The token-level classifier for statements sqlparser rejects (`DROP INDEX CONCURRENTLY`,
//! `DROP … WITH (FORCE)`, `UPDATE t SET a[1] = …`, `ALTER FOREIGN TABLE`, `DROP OWNED`, …).
//!
//! It finds the verb, the object and whether a top-level WHERE exists, and reports the same
//! operations as the parser path. `Err` means it could not classify the statement at all.

use super::lexer::{Kind, Token};
use crate::analysis::ops::Op;

/// Verbs known to never remove data by themselves; nested DML in parentheses is still checked.
const SAFE_VERBS: &[&str] = &[
    "SELECT",
    "INSERT",
    "CREATE",
    "COMMENT",
    "GRANT",
    "REVOKE",
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "SET",
    "RESET",
    "SHOW",
    "ANALYZE",
    "ANALYSE",
    "VACUUM",
    "REINDEX",
    "CLUSTER",
    "LOCK",
    "COPY",
    "VALUES",
    "TABLE",
    "LISTEN",
    "NOTIFY",
    "UNLISTEN",
    "DISCARD",
    "DEALLOCATE",
    "DECLARE",
    "FETCH",
    "MOVE",
    "CLOSE",
    "CHECKPOINT",
    "LOAD",
    "SECURITY",
    "REFRESH",
    "IMPORT",
    "CALL",
    "REASSIGN",
    "PERFORM",
    "RAISE",
    "RETURN",
];

pub fn is_safe_verb(word: &str) -> bool {
    SAFE_VERBS.iter().any(|v| v.eq_ignore_ascii_case(word))
}

/// Deepest parenthesis nesting followed; deeper input is reported as unclassifiable.
const MAX_NESTING: usize = 64;

pub fn classify(src: &str, tokens: &[Token]) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    Cursor {
        src,
        tokens,
        pos: 0,
    }
    .statement(&mut ops, 0)?;
    Ok(ops)
}

struct Cursor<'a> {
    src: &'a str,
    tokens: &'a [Token],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn at(&self, keyword: &str) -> bool {
        self.peek().is_some_and(|t| t.is_word(self.src, keyword))
    }

    fn at_seq(&self, keywords: &[&str]) -> bool {
        keywords.iter().enumerate().all(|(i, k)| {
            self.tokens
                .get(self.pos + i)
                .is_some_and(|t| t.is_word(self.src, k))
        })
    }

    fn eat(&mut self, keyword: &str) -> bool {
        let hit = self.at(keyword);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat_seq(&mut self, keywords: &[&str]) -> bool {
        let hit = self.at_seq(keywords);
        if hit {
            self.pos += keywords.len();
        }
        hit
    }

    fn word(&mut self) -> Option<String> {
        let token = self.peek()?;
        (token.kind == Kind::Word).then(|| {
            self.pos += 1;
            token.text(self.src).to_ascii_uppercase()
        })
    }

    /// A possibly qualified name (`a`, `"A"`, `s.t`, `db.s.t`), as written.
    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(t) if matches!(t.kind, Kind::Word | Kind::QuotedIdent) => self.pos += 1,
                _ => break,
            }
            if self.peek().is_some_and(|t| t.kind == Kind::Dot) {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return None;
        }
        let (first, last) = (&self.tokens[start], &self.tokens[self.pos - 1]);
        Some(self.src[first.start..last.end].to_string())
    }

    /// Skips a balanced group when at `(` or `[`.
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.pos += 1;
            if depth == 0 {
                return;
            }
        }
    }

    /// Names separated by commas, each optionally followed by an argument list (functions)
    /// and `*` (inheritance).
    fn name_list(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        loop {
            self.eat("ONLY");
            match self.name() {
                Some(name) => names.push(name),
                None => break,
            }
            if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
                self.skip_group();
            }
            if self
                .peek()
                .is_some_and(|t| t.kind == Kind::Op && t.text(self.src) == "*")
            {
                self.pos += 1;
            }
            if self.peek().is_some_and(|t| t.kind == Kind::Comma) {
                self.pos += 1;
            } else {
                break;
            }
        }
        names
    }

    /// Whether a WHERE keyword stands at nesting depth 0 from here to the end.
    fn has_top_level_where(&self) -> bool {
        let mut depth = 0usize;
        self.tokens[self.pos..].iter().any(|t| {
            match t.kind {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 && t.is_word(self.src, "WHERE")
        })
    }

    /// Classifies DML in parenthesised groups from here on (CTE bodies, `COPY (DELETE …)`,
    /// `CREATE TABLE … AS WITH …`).
    fn nested(&mut self, ops: &mut Vec<Op>, nesting: usize) -> Result<(), String> {
        if nesting > MAX_NESTING {
            return Err("nested too deeply".to_string());
        }
        let mut i = self.pos;
        while i < self.tokens.len() {
            let t = &self.tokens[i];
            // Only a group that opens with a statement is looked into (and its end looked
            // for): other groups are walked through token by token, so deeply nested
            // parentheses cost linear time.
            let is_statement = t.kind == Kind::LParen
                && self.tokens.get(i + 1).is_some_and(|f| {
                    ["DELETE", "UPDATE", "MERGE", "WITH", "INSERT", "SELECT"]
                        .iter()
                        .any(|k| f.is_word(self.src, k))
                });
            if is_statement {
                let close = matching_close(self.tokens, i);
                let inner = &self.tokens[i + 1..close.min(self.tokens.len())];
                Cursor {
                    src: self.src,
                    tokens: inner,
                    pos: 0,
                }
                .statement(ops, nesting + 1)?;
                i = close + 1;
                continue;
            }
            i += 1;
        }
        self.pos = self.tokens.len();
        Ok(())
    }

    fn statement(&mut self, ops: &mut Vec<Op>, nesting: usize) -> Result<(), String> {
        if nesting > MAX_NESTING {
            return Err("nested too deeply".to_string());
        }
        // A parenthesised statement: `(SELECT …)`.
        if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
            return self.nested(ops, nesting);
        }
        let Some(verb) = self.word() else {
            return Err("it does not start with a keyword".to_string());
        };
        match verb.as_str() {
            "DROP" => self.drop(ops),
            "TRUNCATE" => {
                self.eat("TABLE");
                for table in names_or_unknown(self.name_list()) {
                    ops.push(Op::Truncate { table });
                }
                Ok(())
            }
            "DELETE" => {
                self.eat("FROM");
                self.eat("ONLY");
                let table = self.name().unwrap_or_else(|| "?".to_string());
                ops.push(Op::Delete {
                    table,
                    has_where: self.has_top_level_where(),
                });
                self.nested(ops, nesting)
            }
            "UPDATE" => {
                self.eat("ONLY");
                let table = self.name().unwrap_or_else(|| "?".to_string());
                ops.push(Op::Update {
                    table,
                    has_where: self.has_top_level_where(),
                    columns: Vec::new(),
                });
                self.nested(ops, nesting)
            }
            "WITH" => self.with(ops, nesting),
            "ALTER" => self.alter(ops),
            "MERGE" => {
                self.eat("INTO");
                self.eat("ONLY");
                let table = self.name().unwrap_or_else(|| "?".to_string());
                let deletes = self
                    .tokens
                    .windows(2)
                    .any(|w| w[0].is_word(self.src, "THEN") && w[1].is_word(self.src, "DELETE"));
                if deletes {
                    ops.push(Op::MergeDelete { table });
                }
                self.nested(ops, nesting)
            }
            "EXPLAIN" => {
                if explain_analyzes(self) {
                    self.statement(ops, nesting + 1)
                } else {
                    Ok(())
                }
            }
            "PREPARE" => {
                // PREPARE name [(types)] AS statement
                while let Some(t) = self.peek() {
                    self.pos += 1;
                    if t.is_word(self.src, "AS") {
                        return self.statement(ops, nesting + 1);
                    }
                }
                Ok(())
            }
            "EXECUTE" => {
                let name = self.name().unwrap_or_default();
                ops.push(Op::DynamicSql {
                    detail: format!("EXECUTE {name} runs a prepared statement; dbguard checks its PREPARE, not this call"),
                });
                Ok(())
            }
            verb if is_safe_verb(verb) => self.nested(ops, nesting),
            other => Err(format!("unknown statement `{other}`")),
        }
    }

    fn with(&mut self, ops: &mut Vec<Op>, nesting: usize) -> Result<(), String> {
        self.eat("RECURSIVE");
        loop {
            // name [(columns)] AS [NOT] [MATERIALIZED] ( statement ) [SEARCH … | CYCLE …]
            self.name();
            if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
                self.skip_group();
            }
            if !self.eat("AS") {
                return Err("malformed WITH clause".to_string());
            }
            self.eat("NOT");
            self.eat("MATERIALIZED");
            if !self.peek().is_some_and(|t| t.kind == Kind::LParen) {
                return Err("malformed WITH clause".to_string());
            }
            let open = self.pos;
            let close = matching_close(self.tokens, open);
            let inner = &self.tokens[open + 1..close.min(self.tokens.len())];
            Cursor {
                src: self.src,
                tokens: inner,
                pos: 0,
            }
            .statement(ops, nesting + 1)?;
            self.pos = (close + 1).min(self.tokens.len());
            // SEARCH/CYCLE clauses run until the next comma or the main statement.
            while self.at("SEARCH") || self.at("CYCLE") {
                while let Some(t) = self.peek() {
                    if t.kind == Kind::Comma
                        || ["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"]
                            .iter()
                            .any(|k| t.is_word(self.src, k))
                    {
                        break;
                    }
                    self.pos += 1;
                }
            }
            if self.peek().is_some_and(|t| t.kind == Kind::Comma) {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.peek().is_none() {
            return Ok(());
        }
        self.statement(ops, nesting + 1)
    }

    fn drop(&mut self, ops: &mut Vec<Op>) -> Result<(), String> {
        let object = self.drop_object_kind()?;
        self.eat("CONCURRENTLY");
        self.eat_seq(&["IF", "EXISTS"]);
        let rest_has_cascade = self.tokens[self.pos..]
            .iter()
            .any(|t| t.is_word(self.src, "CASCADE"));
        match object {
            "OWNED" => {
                let roles = self.name_list().join(", ");
                ops.push(Op::DropOwned { roles });
            }
            "TRIGGER" | "RULE" | "POLICY" | "EVENT TRIGGER" => {
                let name = self.name().unwrap_or_default();
                let table = if self.eat("ON") { self.name() } else { None };
                let name = match table {
                    Some(table) => format!("{name} on {table}"),
                    None => name,
                };
                ops.push(Op::DropTrigger {
                    kind: lower(object),
                    name,
                });
            }
            "TYPE" | "DOMAIN" | "EXTENSION" => {
                let names = self.name_list().join(", ");
                ops.push(Op::DropType {
                    kind: lower(object),
                    names,
                    cascade: rest_has_cascade,
                });
            }
            "ROLE" => {
                let names = self.name_list().join(", ");
                ops.push(Op::DropRole { names });
            }
            // CASCADE drops the columns declared with the collation (see ast.rs).
            "COLLATION" if rest_has_cascade => {
                let names = self.name_list().join(", ");
                ops.push(Op::DropType {
                    kind: "collation",
                    names,
                    cascade: true,
                });
            }
            _ => {
                // Fail closed: `DROP TABLE` whose name dbguard cannot read still drops a table.
                for name in names_or_unknown(self.name_list()) {
                    let op = match object {
                        "DATABASE" => Op::DropDatabase { name },
                        "SCHEMA" => Op::DropSchema { name },
                        "TABLE" => Op::DropTable { name },
                        "VIEW" => Op::DropView {
                            name,
                            materialized: false,
                        },
                        "MATERIALIZED VIEW" => Op::DropView {
                            name,
                            materialized: true,
                        },
                        "INDEX" => Op::DropIndex { name },
                        "SEQUENCE" => Op::DropSequence { name },
                        "FUNCTION" | "PROCEDURE" | "ROUTINE" | "AGGREGATE" => Op::DropFunction {
                            kind: lower(object),
                            name,
                        },
                        _ => continue,
                    };
                    ops.push(op);
                }
            }
        }
        Ok(())
    }

    /// The object kind after DROP, normalised; Err for an unknown kind.
    fn drop_object_kind(&mut self) -> Result<&'static str, String> {
        const MULTI: &[(&[&str], &str)] = &[
            (&["MATERIALIZED", "VIEW"], "MATERIALIZED VIEW"),
            (&["FOREIGN", "TABLE"], "TABLE"),
            (&["OWNED", "BY"], "OWNED"),
            (&["ACCESS", "METHOD"], "OTHER"),
            // An event trigger is often the guard that forbids drops: as risky as a trigger.
            (&["EVENT", "TRIGGER"], "EVENT TRIGGER"),
            (&["FOREIGN", "DATA", "WRAPPER"], "OTHER"),
            (&["TEXT", "SEARCH"], "OTHER"),
            (&["USER", "MAPPING"], "OTHER"),
            (&["OPERATOR", "CLASS"], "OTHER"),
            (&["OPERATOR", "FAMILY"], "OTHER"),
            (&["PROCEDURAL", "LANGUAGE"], "OTHER"),
            (&["TRUSTED", "PROCEDURAL", "LANGUAGE"], "OTHER"),
        ];
        for (words, kind) in MULTI {
            if self.eat_seq(words) {
                return Ok(kind);
            }
        }
        const SINGLE: &[(&str, &str)] = &[
            ("DATABASE", "DATABASE"),
            ("SCHEMA", "SCHEMA"),
            ("TABLE", "TABLE"),
            ("VIEW", "VIEW"),
            ("INDEX", "INDEX"),
            ("SEQUENCE", "SEQUENCE"),
            ("FUNCTION", "FUNCTION"),
            ("PROCEDURE", "PROCEDURE"),
            ("ROUTINE", "ROUTINE"),
            ("AGGREGATE", "AGGREGATE"),
            ("TYPE", "TYPE"),
            ("DOMAIN", "DOMAIN"),
            ("EXTENSION", "EXTENSION"),
            ("TRIGGER", "TRIGGER"),
            ("RULE", "RULE"),
            ("POLICY", "POLICY"),
            ("ROLE", "ROLE"),
            ("USER", "ROLE"),
            ("GROUP", "ROLE"),
            ("COLLATION", "COLLATION"),
        ];
        const OTHER: &[&str] = &[
            "CAST",
            "CONVERSION",
            "LANGUAGE",
            "OPERATOR",
            "PUBLICATION",
            "SERVER",
            "STATISTICS",
            "SUBSCRIPTION",
            "TABLESPACE",
            "TRANSFORM",
        ];
        let word = self.word().ok_or("DROP without an object kind")?;
        if let Some((_, kind)) = SINGLE.iter().find(|(w, _)| *w == word) {
            return Ok(kind);
        }
        if OTHER.contains(&word.as_str()) {
            return Ok("OTHER");
        }
        Err(format!("unknown object kind `DROP {word}`"))
    }

    fn alter(&mut self, ops: &mut Vec<Op>) -> Result<(), String> {
        let foreign = self.eat("FOREIGN");
        if self.eat("DOMAIN") {
            let domain = self.name().unwrap_or_default();
            if self.eat("DROP") && self.eat("CONSTRAINT") {
                self.eat_seq(&["IF", "EXISTS"]);
                let name = self.name().unwrap_or_default();
                ops.push(Op::DropConstraint {
                    table: format!("domain {domain}"),
                    name,
                });
            }
            return Ok(());
        }
        if !foreign && self.eat("TYPE") {
            return self.alter_type(ops);
        }
        if !self.eat("TABLE") {
            if foreign {
                return Err("unknown ALTER FOREIGN statement".to_string());
            }
            // ALTER INDEX / VIEW / SEQUENCE / TYPE / ROLE / …: no data removed.
            return Ok(());
        }
        if self.at_seq(&["ALL", "IN"]) {
            return Ok(());
        }
        self.eat_seq(&["IF", "EXISTS"]);
        self.eat("ONLY");
        let table = self.name().ok_or("ALTER TABLE without a table name")?;
        if self
            .peek()
            .is_some_and(|t| t.kind == Kind::Op && t.text(self.src) == "*")
        {
            self.pos += 1;
        }
        // Actions are separated by commas at depth 0.
        let rest = &self.tokens[self.pos..];
        let mut start = 0;
        let mut depth = 0usize;
        for i in 0..=rest.len() {
            let boundary = match rest.get(i) {
                None => true,
                Some(t) => {
                    match t.kind {
                        Kind::LParen | Kind::LBracket => depth += 1,
                        Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    depth == 0 && t.kind == Kind::Comma
                }
            };
            if boundary {
                let mut action = Cursor {
                    src: self.src,
                    tokens: &rest[start..i],
                    pos: 0,
                };
                action.alter_table_action(&table, ops);
                start = i + 1;
            }
        }
        Ok(())
    }

    /// `ALTER TYPE t {DROP | ALTER | RENAME} ATTRIBUTE …, …`: the attributes of a composite type
    /// are the columns of every value stored with it. Dropping one removes its data from
    /// every table column of the type, even without CASCADE (which extends it to typed
    /// tables), so each action is reported like the matching column action of ALTER TABLE.
    fn alter_type(&mut self, ops: &mut Vec<Op>) -> Result<(), String> {
        let Some(name) = self.name() else {
            return Ok(());
        };
        let table = format!("type {name}");
        // Actions are separated by commas at depth 0 (`numeric(10, 2)` is one type).
        let mut depth = 0usize;
        let actions = self.tokens[self.pos..].split(|t| {
            match t.kind {
                Kind::LParen | Kind::LBracket => depth += 1,
                Kind::RParen | Kind::RBracket => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 && t.kind == Kind::Comma
        });
        for action in actions {
            let is_attribute_action = action.len() > 2
                && ["DROP", "ALTER", "RENAME"]
                    .iter()
                    .any(|v| action[0].is_word(self.src, v))
                && action[1].is_word(self.src, "ATTRIBUTE");
            if !is_attribute_action {
                continue;
            }
            // A trailing CASCADE / RESTRICT is not part of a new type. `ALTER ATTRIBUTE x`
            // reads as `ALTER x`, which the column action understands.
            let behavior = action
                .last()
                .is_some_and(|t| t.is_word(self.src, "CASCADE") || t.is_word(self.src, "RESTRICT"));
            let action = &action[..action.len() - usize::from(behavior)];
            if action[0].is_word(self.src, "DROP") {
                let mut attribute = Cursor {
                    src: self.src,
                    tokens: &action[2..],
                    pos: 0,
                };
                attribute.eat_seq(&["IF", "EXISTS"]);
                if let Some(attribute) = attribute.name() {
                    ops.push(Op::DropAttribute {
                        type_name: name.clone(),
                        attribute,
                    });
                }
                continue;
            }
            let tokens: Vec<Token> = std::iter::once(action[0])
                .chain(action[2..].iter().copied())
                .collect();
            Cursor {
                src: self.src,
                tokens: &tokens,
                pos: 0,
            }
            .alter_table_action(&table, ops);
        }
        Ok(())
    }

    fn alter_table_action(&mut self, table: &str, ops: &mut Vec<Op>) {
        let table = table.to_string();
        if self.eat("DROP") {
            if self.eat("CONSTRAINT") {
                self.eat_seq(&["IF", "EXISTS"]);
                let name = self.name().unwrap_or_default();
                ops.push(Op::DropConstraint { table, name });
                return;
            }
            self.eat("COLUMN");
            self.eat_seq(&["IF", "EXISTS"]);
            if let Some(column) = self.name() {
                ops.push(Op::DropColumn { table, column });
            }
        } else if self.eat("ALTER") {
            self.eat("COLUMN");
            let Some(column) = self.name() else { return };
            if self.eat_seq(&["SET", "DATA", "TYPE"]) || self.eat("TYPE") {
                let start = self.pos;
                while self.peek().is_some_and(|t| {
                    !(t.is_word(self.src, "USING") || t.is_word(self.src, "COLLATE"))
                }) {
                    self.pos += 1;
                }
                let new_type = match (
                    self.tokens.get(start),
                    self.tokens.get(self.pos.saturating_sub(1)),
                ) {
                    (Some(a), Some(b)) if self.pos > start => self.src[a.start..b.end].to_string(),
                    _ => "?".to_string(),
                };
                ops.push(Op::AlterColumnType {
                    table,
                    column,
                    new_type,
                });
            } else if self.eat_seq(&["SET", "NOT", "NULL"]) {
                ops.push(Op::SetNotNull { table, column });
            }
        } else if self.eat_seq(&["SET", "SCHEMA"]) {
            // Moving a table to another schema renames it for every query, and data reached
            // later under the new name is the same data.
            let schema = self.name().unwrap_or_default();
            let base = table.rsplit('.').next().unwrap_or(&table).to_string();
            ops.push(Op::RenameTable {
                from: table,
                to: format!("{schema}.{base}"),
            });
        } else if self.eat("RENAME") {
            if self.eat("TO") {
                let to = self.name().unwrap_or_default();
                ops.push(Op::RenameTable { from: table, to });
            } else if self.eat("CONSTRAINT") {
                // Renaming a constraint breaks nothing that reads data.
            } else {
                self.eat("COLUMN");
                let from = self.name().unwrap_or_default();
                self.eat("TO");
                let to = self.name().unwrap_or_default();
                ops.push(Op::RenameColumn { table, from, to });
            }
        }
    }
}

/// For `EXPLAIN …` tokens: the index where the explained statement starts, if EXPLAIN executes
/// it (ANALYZE), else `None`.
pub fn explained_statement(src: &str, tokens: &[Token]) -> Option<usize> {
    let mut cursor = Cursor {
        src,
        tokens,
        pos: 1,
    };
    explain_analyzes(&mut cursor).then_some(cursor.pos)
}

/// Whether an EXPLAIN (cursor just after the keyword) executes its statement: `ANALYZE`
/// either bare or in the option list. Leaves the cursor at the explained statement.
fn explain_analyzes(cursor: &mut Cursor) -> bool {
    let mut analyze = false;
    if cursor.peek().is_some_and(|t| t.kind == Kind::LParen) {
        let open = cursor.pos;
        let close = matching_close(cursor.tokens, open);
        let options = &cursor.tokens[open + 1..close.min(cursor.tokens.len())];
        analyze = options.iter().enumerate().any(|(i, t)| {
            (t.is_word(cursor.src, "ANALYZE") || t.is_word(cursor.src, "ANALYSE"))
                && !options.get(i + 1).is_some_and(|n| {
                    n.is_word(cursor.src, "FALSE")
                        || n.is_word(cursor.src, "OFF")
                        || n.text(cursor.src) == "0"
                })
        });
        cursor.pos = (close + 1).min(cursor.tokens.len());
    }
    while cursor.at("ANALYZE") || cursor.at("ANALYSE") || cursor.at("VERBOSE") {
        analyze |= !cursor.at("VERBOSE");
        cursor.pos += 1;
    }
    analyze
}

fn names_or_unknown(names: Vec<String>) -> Vec<String> {
    if names.is_empty() {
        vec!["<unknown>".to_string()]
    } else {
        names
    }
}

/// Index of the token closing the group opened at `open` (or the end).
pub fn matching_close(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.kind {
            Kind::LParen | Kind::LBracket => depth += 1,
            Kind::RParen | Kind::RBracket => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

fn lower(kind: &str) -> &'static str {
    match kind {
        "TRIGGER" => "trigger",
        "EVENT TRIGGER" => "event trigger",
        "RULE" => "rule",
        "POLICY" => "policy",
        "TYPE" => "type",
        "DOMAIN" => "domain",
        "EXTENSION" => "extension",
        "FUNCTION" => "function",
        "PROCEDURE" => "procedure",
        "ROUTINE" => "routine",
        "AGGREGATE" => "aggregate",
        _ => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sql::lexer::Lexer;

    fn ops(sql: &str) -> Result<Vec<Op>, String> {
        let tokens: Vec<Token> = Lexer::new(sql, false)
            .filter(|t| t.kind != Kind::Comment)
            .collect();
        classify(sql, &tokens)
    }

    #[test]
    fn statements_sqlparser_rejects() {
        assert_eq!(
            ops("DROP INDEX CONCURRENTLY IF EXISTS i").unwrap(),
            [Op::DropIndex { name: "i".into() }]
        );
        assert_eq!(
            ops("DROP DATABASE d WITH (FORCE)").unwrap(),
            [Op::DropDatabase { name: "d".into() }]
        );
        assert_eq!(
            ops("UPDATE t SET a[1] = 0").unwrap(),
            [Op::Update {
                table: "t".into(),
                has_where: false,
                columns: vec![]
            }]
        );
        assert_eq!(
            ops("ALTER FOREIGN TABLE ft DROP COLUMN c").unwrap(),
            [Op::DropColumn {
                table: "ft".into(),
                column: "c".into()
            }]
        );
        assert_eq!(
            ops("DROP OWNED BY bob, alice CASCADE").unwrap(),
            [Op::DropOwned {
                roles: "bob, alice".into()
            }]
        );
    }

    #[test]
    fn where_must_be_top_level() {
        assert_eq!(
            ops("DELETE FROM t USING (SELECT id FROM u WHERE x) s").unwrap(),
            [Op::Delete {
                table: "t".into(),
                has_where: false
            }]
        );
        assert_eq!(
            ops("UPDATE t SET a[1] = 0 WHERE id = 1").unwrap(),
            [Op::Update {
                table: "t".into(),
                has_where: true,
                columns: vec![]
            }]
        );
    }

    #[test]
    fn ctes_are_classified() {
        assert_eq!(
            ops("WITH a AS (SELECT 1), d AS (DELETE FROM t RETURNING *) SELECT * FROM d").unwrap(),
            [Op::Delete {
                table: "t".into(),
                has_where: false
            }]
        );
    }

    #[test]
    fn alter_table_actions() {
        let got = ops("ALTER TABLE ONLY t DROP COLUMN IF EXISTS a CASCADE, ALTER b DROP DEFAULT, RENAME c TO d, DROP CONSTRAINT k").unwrap();
        assert_eq!(
            got,
            [
                Op::DropColumn {
                    table: "t".into(),
                    column: "a".into()
                },
                Op::RenameColumn {
                    table: "t".into(),
                    from: "c".into(),
                    to: "d".into()
                },
                Op::DropConstraint {
                    table: "t".into(),
                    name: "k".into()
                },
            ]
        );
    }

    #[test]
    fn alter_type_attribute_actions_are_column_actions() {
        assert_eq!(
            ops("ALTER TYPE addr DROP ATTRIBUTE IF EXISTS zip CASCADE, ADD ATTRIBUTE z text, ALTER ATTRIBUTE street SET DATA TYPE numeric(10, 2)").unwrap(),
            [
                Op::DropAttribute {
                    type_name: "addr".into(),
                    attribute: "zip".into()
                },
                Op::AlterColumnType {
                    table: "type addr".into(),
                    column: "street".into(),
                    new_type: "numeric(10, 2)".into()
                },
            ]
        );
        assert_eq!(
            ops("ALTER TYPE addr RENAME ATTRIBUTE a TO b CASCADE").unwrap(),
            [Op::RenameColumn {
                table: "type addr".into(),
                from: "a".into(),
                to: "b".into()
            }]
        );
        assert_eq!(ops("ALTER TYPE mood ADD VALUE 'meh'").unwrap(), []);
        assert_eq!(
            ops("DROP EVENT TRIGGER IF EXISTS forbid_drops").unwrap(),
            [Op::DropTrigger {
                kind: "event trigger",
                name: "forbid_drops".into()
            }]
        );
    }

    #[test]
    fn deep_parentheses_cost_linear_time() {
        let deep = format!(
            "UPDATE t SET a = {}1{}",
            "(".repeat(50_000),
            ")".repeat(50_000)
        );
        assert_eq!(
            ops(&deep).unwrap(),
            [Op::Update {
                table: "t".into(),
                has_where: false,
                columns: vec![]
            }]
        );
        let hidden = format!("SELECT {}DELETE FROM t{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            ops(&hidden).unwrap(),
            [Op::Delete {
                table: "t".into(),
                has_where: false
            }]
        );
    }

    #[test]
    fn unknown_verbs_are_errors() {
        assert!(ops("DRIP TABLE users").is_err());
        assert!(ops("DROP FROBS x").is_err());
        assert!(ops("42").is_err());
    }

    #[test]
    fn deep_parentheses_take_linear_time() {
        // Each of 100 000 groups used to be scanned to its end: minutes, not milliseconds.
        let n = 100_000;
        let sql = format!(
            "COPY {}DELETE FROM t{} TO STDOUT",
            "(".repeat(n),
            ")".repeat(n)
        );
        let started = std::time::Instant::now();
        assert_eq!(
            ops(&sql).unwrap(),
            [Op::Delete {
                table: "t".into(),
                has_where: false
            }]
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn explain_only_runs_with_analyze() {
        assert_eq!(ops("EXPLAIN DELETE FROM t").unwrap(), []);
        assert_eq!(
            ops("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            ops("EXPLAIN ANALYZE VERBOSE DELETE FROM t").unwrap().len(),
            1
        );
        assert_eq!(ops("EXPLAIN (ANALYZE false) DELETE FROM t").unwrap(), []);
    }
}

//! The hot path: a fail-closed test for statements that are plainly read-only (or plain
//! inserts and transaction control), so the full analysis runs only on the rest. It says
//! "safe" only where the analyzer could find nothing: a known harmless first word, one
//! statement, and none of the words or calls any rule looks for. Anything else, including
//! whatever it does not understand, goes to the full analysis.

use crate::analysis::sql::lexer::{Kind, Lexer};

/// First words of statements that change nothing, or only add rows.
const HARMLESS_VERBS: &[&str] = &[
    "SELECT",
    "SHOW",
    "VALUES",
    "TABLE",
    "INSERT",
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "FETCH",
    "CLOSE",
    "LISTEN",
    "UNLISTEN",
];

/// Words that send a statement to the full analysis wherever they appear.
const DENY_WORDS: &[&str] = &[
    "DROP", "TRUNCATE", "DELETE", "UPDATE", "MERGE", "ALTER", "RENAME", "EXECUTE", "WITH", "DO",
    "PREPARE", "COPY", "CALL", "SET", "RESET", "DISCARD", "SECURITY",
];

/// Functions that run SQL or destroy data (the analyzer looks into them) or change how the
/// session resolves names (`set_config('search_path', …)`).
const DENY_CALLS: &[&str] = &[
    "dblink_exec",
    "dblink",
    "dblink_send_query",
    "schedule",
    "schedule_in_database",
    "lo_unlink",
    "set_config",
];

pub fn plainly_safe(sql: &str, backslash_strings: bool) -> bool {
    // Wire-protocol text: no psql meta-commands.
    let mut lexer = Lexer::new(sql, false);
    lexer.set_backslash_strings(backslash_strings);
    let mut first = true;
    let mut ended = false;
    let mut previous: Option<(Kind, usize, usize)> = None;
    for token in lexer {
        if ended {
            // Something after the first statement's `;`: a second statement.
            return false;
        }
        match token.kind {
            Kind::Comment => {
                // An allow annotation is audited by the full path.
                if sql[token.start..token.end].contains("dbguard:") {
                    return false;
                }
                continue;
            }
            Kind::Meta => return false,
            Kind::Semicolon => {
                ended = true;
                continue;
            }
            Kind::Word => {
                let word = &sql[token.start..token.end];
                if first && !HARMLESS_VERBS.iter().any(|v| v.eq_ignore_ascii_case(word)) {
                    return false;
                }
                if DENY_WORDS.iter().any(|v| v.eq_ignore_ascii_case(word)) {
                    return false;
                }
            }
            Kind::LParen => {
                if first {
                    return false;
                }
                if let Some((kind, start, end)) = previous {
                    let name = &sql[start..end];
                    let called = match kind {
                        Kind::Word => DENY_CALLS.iter().any(|c| c.eq_ignore_ascii_case(name)),
                        // `"dblink_exec"(…)`: any quoted call goes the long way.
                        Kind::QuotedIdent => true,
                        _ => false,
                    };
                    if called {
                        return false;
                    }
                }
            }
            _ if first => return false,
            _ => {}
        }
        first = false;
        previous = Some((token.kind, token.start, token.end));
    }
    !first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::check::check_server_sql;

    #[test]
    fn plain_reads_are_safe() {
        for sql in [
            "SELECT abalance FROM pgbench_accounts WHERE aid = 4711;",
            "select count(*) from t where x = $1",
            "BEGIN",
            "COMMIT;",
            "INSERT INTO t (a) VALUES ('DROP TABLE t')",
            "SELECT 1 -- a comment\n",
            "SHOW search_path",
        ] {
            assert!(plainly_safe(sql, false), "{sql}");
        }
    }

    #[test]
    fn anything_else_takes_the_full_analysis() {
        for sql in [
            "",
            "-- only a comment",
            "DELETE FROM t",
            "SELECT 1; DROP TABLE t",
            "SELECT 1; SELECT 2",
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "SELECT dblink_exec('c', 'DROP TABLE t')",
            "SELECT public.lo_unlink(42)",
            "SELECT \"dblink_exec\"('c', 'DROP TABLE t')",
            "SELECT set_config('search_path', 'x', false)",
            "SELECT 1 /* dbguard:allow truncate reason: \"x\" */",
            "INSERT INTO t SELECT * FROM u ON CONFLICT (a) DO UPDATE SET b = 1",
            "SET search_path = x",
            "TRUNCATE t",
            "(SELECT 1)",
        ] {
            assert!(!plainly_safe(sql, false), "{sql}");
        }
        // With standard_conforming_strings off, a backslash escapes the quote.
        let sneaky = r"SELECT 'a\' || '; DROP TABLE t; --'";
        assert!(plainly_safe(sneaky, false));
        assert!(!plainly_safe(sneaky, true));
    }

    #[test]
    fn what_it_calls_safe_the_analyzer_finds_nothing_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut safe = 0;
        let mut checked = 0;
        for dir in ["verdicts", "sql"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "sql") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for statement in text.split_inclusive(';') {
                    checked += 1;
                    if plainly_safe(statement, false) {
                        safe += 1;
                        let report = check_server_sql(statement, "s.sql");
                        assert!(
                            report.findings.is_empty(),
                            "{}: {statement:?}: {:?}",
                            path.display(),
                            report.findings
                        );
                    }
                }
            }
        }
        assert!(checked > 50 && safe > 5, "{checked} {safe}");
    }
}

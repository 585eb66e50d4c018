//! SQL text → operations. Splitting, parsing and the fallback are separate files; this is
//! the entry point that runs them over one source text.

mod ast;
mod facts;
mod fallback;
pub mod lexer;
pub mod split;
mod walker;

use split::{Comment, Item, Splitter};
use walker::Walker;

use super::ops::Located;

/// A psql include found in the text, to be resolved by the caller (which knows paths).
#[derive(Debug, Clone)]
pub struct Include {
    pub path: String,
    /// `\ir`: relative to the including file rather than the working directory.
    pub relative: bool,
    pub start: usize,
    pub end: usize,
}

/// Everything found in one SQL text.
#[derive(Debug, Default)]
pub struct Analysis {
    pub statements: usize,
    pub ops: Vec<Located>,
    pub includes: Vec<Include>,
    pub comments: Vec<Comment>,
}

/// Analyses SQL as psql would run it (meta-commands recognised).
pub fn analyze(src: &str) -> Analysis {
    analyze_with(src, Walker::default(), true)
}

/// Analyses SQL as the server receives it in a wire-protocol Query (`dbguard proxy`): a
/// backslash is no meta-command and the line after `COPY … FROM stdin;` is SQL, not data.
pub fn analyze_server(src: &str) -> Analysis {
    analyze_with(src, Walker::default(), false)
}

fn analyze_with(src: &str, mut walker: Walker, psql: bool) -> Analysis {
    let mut splitter = Splitter::new(src, psql);
    let mut analysis = Analysis::default();
    while let Some(item) = splitter.next() {
        match item {
            Item::Statement(statement) => {
                if statement.gexec {
                    walker.gexec(src, &statement.tokens);
                }
                if !statement.rerun {
                    analysis.statements += 1;
                    walker.top_level(src, &statement.tokens);
                }
                splitter.recycle(statement.tokens);
            }
            Item::Include {
                path,
                relative,
                start,
                end,
            } => analysis.includes.push(Include {
                path,
                relative,
                start,
                end,
            }),
            Item::Connect { start, end } => walker.connect(start, end),
        }
    }
    analysis.ops = walker.out;
    analysis.comments = splitter.comments;
    analysis
}

/// Helpers for rule tests: SQL in, rule ids out.
#[cfg(test)]
pub mod testing {
    use crate::analysis::rules;

    pub fn rule_ids(sql: &str) -> Vec<&'static str> {
        super::analyze(sql)
            .ops
            .iter()
            .filter_map(|l| rules::classify(&l.op).map(|(rule, _)| rule.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::check::check_text;

    /// A tiny deterministic PRNG (SplitMix64): no dependency, same inputs on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// Pieces of SQL that open and close the lexer's states, in any order.
    const SOUP: &[&str] = &[
        "'",
        "''",
        "\"",
        "$$",
        "$a$",
        "$1",
        "$",
        "/*",
        "*/",
        "--",
        "\\i x",
        "\\ir y.sql",
        "\\gexec",
        "\\g",
        "\\copy t from stdin",
        "\\.",
        ";",
        "(",
        ")",
        "[",
        "]",
        ",",
        ".",
        "DROP",
        "TABLE",
        "DO",
        "E'",
        "\\\\",
        "\\",
        "\n",
        "\r\n",
        " ",
        "\t",
        "é",
        "😀",
        "ß",
        "U&'",
        "B'",
        "x",
        "t",
        "DELETE",
        "FROM",
        "UPDATE",
        "SET",
        "WHERE",
        "TRUNCATE",
        "ALTER",
        "COLUMN",
        "TYPE",
        "CREATE",
        "FUNCTION",
        "RULE",
        "AS",
        "BEGIN",
        "ATOMIC",
        "END",
        "CASE",
        "EXECUTE",
        "format",
        "||",
        "%I",
        "LANGUAGE",
        "plpgsql",
        "COPY",
        "stdin",
        "WITH",
        "EXPLAIN",
        "ANALYZE",
        "MERGE",
        "INTO",
        "USING",
        "THEN",
        "CASCADE",
        "ONLY",
        "IF",
        "EXISTS",
        "1",
        "1.5e3",
        "::",
        "=",
        "-- dbguard:allow drop-table reason: \"x\"\n",
        "/* dbguard:allow-file truncate */",
        "\u{0}",
        "\u{feff}",
        "\u{2028}",
    ];

    fn soup(rng: &mut Rng) -> String {
        let mut text = String::new();
        for _ in 0..rng.below(60) {
            text.push_str(rng.pick(SOUP));
            match rng.below(4) {
                0 => {}
                1 => text.push('\n'),
                _ => text.push(' '),
            }
        }
        text
    }

    #[test]
    fn token_soup_never_panics() {
        let mut rng = Rng(0x5EED);
        for case in 0..3000 {
            let text = soup(&mut rng);
            let analysis = analyze(&text);
            for located in &analysis.ops {
                assert!(located.start <= located.end, "case {case}: {text:?}");
            }
            for report in check_text(&text, "soup.sql") {
                for f in &report.findings {
                    let s = f.span;
                    assert!(s.line >= 1 && s.column >= 1, "case {case}: {text:?}: {f:?}");
                    assert!(
                        (s.end_line, s.end_column) >= (s.line, s.column),
                        "case {case}: {text:?}: {f:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_server_reads_no_copy_data_in_a_query() {
        let src = "COPY t FROM stdin;\nDROP TABLE x;";
        // COPY itself is a fact for the simulation (rows written); the DROP is what matters.
        let drops = |ops: Vec<Located>| ops.into_iter().filter(|l| !l.op.is_fact()).count();
        assert_eq!(drops(analyze(src).ops), 0);
        assert_eq!(drops(analyze_server(src).ops), 1);
    }

    #[test]
    fn fuzz_crash_unterminated_dollar_quote_in_do() {
        // Found by `cargo fuzz run analyze`: an unterminated DO body ending in invalid UTF-8.
        let bytes = b"DO $$ BEG%N E\x9f\xbaCUTE format('DROP TAB\x01A$;\nCOPY t FROM s, tnE'\xff\xff\xff\xff\xff\xff\xff\xff";
        let text = String::from_utf8_lossy(bytes);
        analyze(&text);
        check_text(&text, "crash.sql");
    }

    fn assert_fast_paths_agree(src: &str) {
        let fast = analyze(src).ops;
        let parsed = analyze_with(src, Walker::without_fast_paths(), true).ops;
        assert_eq!(
            fast, parsed,
            "fast paths disagree with the parser on {src:?}"
        );
    }

    #[test]
    fn fast_paths_agree_with_the_parser_on_the_fixtures() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut checked = 0;
        for dir in ["verdicts", "sql"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "sql") {
                    assert_fast_paths_agree(&std::fs::read_to_string(&path).unwrap());
                    checked += 1;
                }
            }
        }
        assert!(checked >= 10);
    }

    #[test]
    fn fast_paths_agree_with_the_parser_on_alter_trigger_and_grant() {
        let fixed = [
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id) ON DELETE CASCADE ON UPDATE SET NULL",
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
            "alter table t alter c type bigint using c::bigint",
            "ALTER TABLE t ALTER COLUMN c SET DATA TYPE text",
            "ALTER TABLE IF EXISTS ONLY t ADD COLUMN x int",
            "ALTER TABLE t ADD COLUMN d int DEFAULT (SELECT 1)",
            "ALTER TABLE t ADD COLUMN d int DEFAULT ((WITH x AS (DELETE FROM u RETURNING 1) SELECT 1))",
            "ALTER TABLE t ADD COLUMN d int DEFAULT ((DELETE FROM u RETURNING 1))",
            "ALTER TABLE \"T\" OWNER TO bob",
            "ALTER TABLE t SET (fillfactor = 70)",
            "ALTER TABLE t VALIDATE CONSTRAINT c",
            "ALTER TABLE t ENABLE TRIGGER ALL",
            "ALTER TABLE t DETACH PARTITION p",
            "ALTER TABLE t ATTACH PARTITION p FOR VALUES FROM (1) TO (10)",
            "ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b",
            "ALTER TABLE ( broken",
            "ALTER TABLE",
            "ALTER TABLE t",
            "ALTER TABLE t ADD COLUMN type text",
            "ALTER TABLE t ALTER COLUMN c SET DEFAULT 'DROP TABLE x'",
            "ALTER TABLE t ADD COLUMN x int, ALTER COLUMN y SET NOT NULL",
            "ALTER TABLE t RENAME TO u",
            "ALTER TABLE t ADD x int, DROP y",
            "CREATE TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()",
            "CREATE TRIGGER trg AFTER DELETE ON t FOR EACH ROW EXECUTE PROCEDURE \"F\"()",
            "CREATE TABLE x AS EXECUTE prep",
            "CREATE TABLE x AS EXECUTE function",
            "GRANT EXECUTE ON FUNCTION f(int) TO app",
            "GRANT SELECT, EXECUTE ON ALL FUNCTIONS IN SCHEMA s TO app",
            "REVOKE EXECUTE ON FUNCTION f() FROM PUBLIC",
            "GRANT TRUNCATE ON t TO x",
            "SELECT 1, EXECUTE",
            "DO $$ BEGIN ALTER TABLE t ADD COLUMN c int; ALTER TABLE t DROP COLUMN d; \
             EXECUTE 'ALTER TABLE ' || t || ' ADD COLUMN x int'; END $$",
        ];
        for src in fixed {
            assert_fast_paths_agree(src);
        }
        // ALTER TABLE with random actions, including the ones that must be reported.
        const ACTIONS: &[&str] = &[
            "ADD COLUMN a int",
            "ADD COLUMN IF NOT EXISTS b text NOT NULL DEFAULT ''",
            "ADD c jsonb DEFAULT '{}'::jsonb",
            "ADD CONSTRAINT k FOREIGN KEY (a) REFERENCES u (id) ON DELETE CASCADE",
            "ADD CONSTRAINT k2 FOREIGN KEY (a) REFERENCES u (id) ON UPDATE RESTRICT NOT VALID",
            "ADD CONSTRAINT k3 CHECK (a > 0)",
            "ADD PRIMARY KEY (a)",
            "ADD UNIQUE (a, b)",
            "ALTER COLUMN a SET DEFAULT 0",
            "ALTER a DROP DEFAULT",
            "ALTER COLUMN a SET NOT NULL",
            "ALTER COLUMN a DROP NOT NULL",
            "ALTER COLUMN a TYPE bigint",
            "ALTER COLUMN a SET STATISTICS 100",
            "VALIDATE CONSTRAINT k",
            "DROP COLUMN a",
            "DROP CONSTRAINT IF EXISTS k",
            "RENAME COLUMN a TO b",
            "RENAME CONSTRAINT k TO k4",
            "OWNER TO bob",
            "SET SCHEMA s",
            "ENABLE ROW LEVEL SECURITY",
            "SET (autovacuum_enabled = false)",
            "CLUSTER ON i",
            "INHERIT p",
        ];
        const HEADS: &[&str] = &[
            "ALTER TABLE t",
            "ALTER TABLE IF EXISTS s.t",
            "ALTER TABLE ONLY \"T\"",
            "alter table if exists only t",
        ];
        let mut rng = Rng(42);
        for _ in 0..400 {
            let head = rng.pick(HEADS);
            let actions: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(ACTIONS)).collect();
            assert_fast_paths_agree(&format!("{head} {};", actions.join(", ")));
        }
    }
}

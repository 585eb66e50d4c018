//! The test-database marker: a line in the database's comment (`COMMENT ON DATABASE`).
//!
//! Why a comment and not a table: a comment lives in the shared catalog, outside every
//! schema, so the test suite's own resets (`DROP SCHEMA public CASCADE`, `drop_all()`,
//! `alembic downgrade base`, TRUNCATE) leave it alone; `alembic revision --autogenerate`
//! never sees it and proposes no migration for it; and a plain `pg_dump` of the test
//! database restored into the dev database does not carry it over, so the dev database
//! cannot pick up the mark by accident. Other text in the comment is kept.

use crate::target::Target;

pub const TAG: &str = "dbguard:test-database";

/// The marker line for database `dbname`.
pub fn line(dbname: &str, now: &str) -> String {
    format!("{TAG} db={} marked={now}", encode(dbname))
}

/// Database names may hold spaces; the marker is split on whitespace.
fn encode(dbname: &str) -> String {
    dbname.replace('%', "%25").replace(' ', "%20")
}

/// What a database comment says about the mark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Marked for this database; the marker line.
    Valid(String),
    /// Marked, but for another name (the database was renamed or copied).
    OtherName(String),
    Missing,
}

pub fn read(comment: Option<&str>, dbname: &str) -> Mark {
    let Some(line) = comment
        .unwrap_or("")
        .lines()
        .find(|l| l.trim_start().starts_with(TAG))
    else {
        return Mark::Missing;
    };
    let named = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("db="))
        .unwrap_or("");
    if named == encode(dbname) {
        Mark::Valid(line.trim().to_string())
    } else {
        Mark::OtherName(named.to_string())
    }
}

/// Writes the marker into the test database's comment, keeping the rest of the comment.
pub fn write(target: &Target, existing: Option<&str>) -> Result<String, String> {
    let dbname = target.effective_dbname();
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let marker = line(&dbname, &now);
    let mut lines: Vec<&str> = existing
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim_start().starts_with(TAG))
        .collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines.push(&marker);
    let comment = lines.join("\n");
    let sql = format!(
        "COMMENT ON DATABASE {} IS {}",
        quote_ident(&dbname),
        quote_literal(&comment)
    );
    let mut client =
        super::identity::connect(target, None).map_err(|e| super::identity::describe(&e))?;
    client
        .batch_execute(&sql)
        .map_err(|e| super::identity::describe(&e))?;
    Ok(marker)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lines_are_found_among_other_comment_text() {
        let comment = format!("Team test DB\n{}", line("app_test", "2024-01-01T00:00:00Z"));
        assert!(matches!(read(Some(&comment), "app_test"), Mark::Valid(_)));
        assert_eq!(
            read(Some(&comment), "app"),
            Mark::OtherName("app_test".into())
        );
        assert_eq!(read(Some("Team test DB"), "app_test"), Mark::Missing);
        assert_eq!(read(None, "app_test"), Mark::Missing);
        let spaced = line("my db", "t");
        assert!(matches!(read(Some(&spaced), "my db"), Mark::Valid(_)));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}

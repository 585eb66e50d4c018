//! `drop-index`: DROP INDEX. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-index`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-index",
    severity: Severity::Info,
    summary: "DROP INDEX",
    help: "make sure no query or constraint relies on the index",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP INDEX` (also `CONCURRENTLY` and `IF EXISTS`), one finding per index.

## Why is this bad?
No data is lost, but queries may become slow and a dropped unique index stops enforcing uniqueness.

## Example
```sql
DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;
```

## How to make it safe
Check the query plans that use the index first.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropIndex { name } => Some(format!("drops index {name}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP INDEX CONCURRENTLY IF EXISTS i;"),
            ["drop-index"] as [&str; 1]
        );
    }
}

//! `delete-without-where`: DELETE without WHERE removes every row. Its user documentation is `DOCS` below
//! (printed by `dbguard explain delete-without-where`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "delete-without-where",
    severity: Severity::DataLoss,
    summary: "DELETE without WHERE removes every row",
    help: "add a WHERE clause, or use TRUNCATE deliberately after a backup",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DELETE` without a top-level `WHERE`, also inside a CTE (`WITH d AS (DELETE FROM t RETURNING *) …`) or `EXPLAIN ANALYZE`.

## Why is this bad?
A forgotten or misplaced WHERE (for example one that only sits in a sub-query) deletes the whole table.

## Example
```sql
DELETE FROM sessions;
```

## How to make it safe
Add the WHERE clause you meant; if you really want an empty table, say so with an allow annotation and a reason.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::Delete {
            table,
            has_where: false,
        } => Some(format!("deletes every row of {table} (no WHERE clause)")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DELETE FROM sessions;"),
            ["delete-without-where"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d;"),
            ["delete-without-where"] as [&str; 1]
        );
    }

    #[test]
    fn case_3() {
        assert_eq!(
            rule_ids("DELETE FROM t WHERE id = 1;"),
            ["delete-with-where"] as [&str; 1]
        );
    }
}

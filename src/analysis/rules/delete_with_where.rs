//! `delete-with-where`: DELETE with WHERE removes the rows it matches. Its user documentation is `DOCS` below
//! (printed by `dbguard explain delete-with-where`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "delete-with-where",
    severity: Severity::Risky,
    summary: "DELETE with WHERE removes the rows it matches",
    help: "check how many rows match with a SELECT count(*) using the same WHERE first",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DELETE … WHERE` (bulk deletes).

## Why is this bad?
A WHERE clause limits the damage but a wrong condition still removes rows for good.

## Example
```sql
DELETE FROM events WHERE created_at < now() - interval '90 days';
```

## How to make it safe
Run the same WHERE as a SELECT first; back up when many rows match.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::Delete {
            table,
            has_where: true,
        } => Some(format!(
            "deletes the rows of {table} that match the WHERE clause"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DELETE FROM t WHERE CURRENT OF c;"),
            ["delete-with-where"] as [&str; 1]
        );
    }
}

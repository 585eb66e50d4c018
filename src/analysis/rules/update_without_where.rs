//! `update-without-where`: UPDATE without WHERE overwrites every row. Its user documentation is `DOCS` below
//! (printed by `dbguard explain update-without-where`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "update-without-where",
    severity: Severity::DataLoss,
    summary: "UPDATE without WHERE overwrites every row",
    help: "add a WHERE clause; check the statement with a SELECT first",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `UPDATE` without a top-level `WHERE`, also inside a CTE.

## Why is this bad?
Every row gets the new value; the old values are gone unless a backup holds them.

## Example
```sql
UPDATE users SET email = 'test@example.com';
```

## How to make it safe
Add the WHERE clause you meant, or back up the column first (`CREATE TABLE users_email_backup AS SELECT id, email FROM users`).
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::Update {
            table,
            has_where: false,
            ..
        } => Some(format!("overwrites every row of {table} (no WHERE clause)")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("UPDATE users SET active = false;"),
            ["update-without-where"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("WITH u AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM u;"),
            ["update-without-where"] as [&str; 1]
        );
    }
}

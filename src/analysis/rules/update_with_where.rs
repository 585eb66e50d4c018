//! `update-with-where`: UPDATE with WHERE changes the rows it matches. Its user documentation is `DOCS` below
//! (printed by `dbguard explain update-with-where`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "update-with-where",
    severity: Severity::Info,
    summary: "UPDATE with WHERE changes the rows it matches",
    help: "check the WHERE clause with a SELECT first",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `UPDATE … WHERE`.

## Why is this bad?
Overwritten values are not recoverable without a backup, but a WHERE clause usually limits the change.

## Example
```sql
UPDATE users SET plan = 'free' WHERE plan IS NULL;
```

## How to make it safe
Nothing to do when the WHERE clause is right.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::Update {
            table,
            has_where: true,
            ..
        } => Some(format!(
            "updates the rows of {table} that match the WHERE clause"
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
            rule_ids("UPDATE t SET a = 1 WHERE id = 2;"),
            ["update-with-where"] as [&str; 1]
        );
    }
}

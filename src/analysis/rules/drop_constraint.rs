//! `drop-constraint`: ALTER TABLE … DROP CONSTRAINT. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-constraint`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-constraint",
    severity: Severity::Risky,
    summary: "ALTER TABLE … DROP CONSTRAINT",
    help: "make sure the data stays valid without the constraint",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `ALTER TABLE … DROP CONSTRAINT` and `ALTER DOMAIN … DROP CONSTRAINT`.

## Why is this bad?
No row is lost, but invalid data can get in once a foreign key, unique or check constraint is gone.

## Example
```sql
ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;
```

## How to make it safe
Replace the constraint in the same migration if it is still needed.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropConstraint { table, name } => Some(format!("drops constraint {name} of {table}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("ALTER TABLE t DROP CONSTRAINT IF EXISTS c;"),
            ["drop-constraint"] as [&str; 1]
        );
    }
}

//! `set-not-null`: ALTER COLUMN … SET NOT NULL can fail and locks the table. Its user documentation is `DOCS` below
//! (printed by `dbguard explain set-not-null`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "set-not-null",
    severity: Severity::Risky,
    summary: "ALTER COLUMN … SET NOT NULL can fail and locks the table",
    help: "backfill NULLs first; on large tables add a CHECK (col IS NOT NULL) NOT VALID constraint and validate it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `ALTER TABLE … ALTER [COLUMN] c SET NOT NULL`.

## Why is this bad?
It fails if any row holds NULL and scans the whole table under an exclusive lock.

## Example
```sql
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
```

## How to make it safe
Backfill, then add `CHECK (email IS NOT NULL) NOT VALID`, `VALIDATE CONSTRAINT`, and only then SET NOT NULL.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::SetNotNull { table, column } => Some(format!("makes {table}.{column} NOT NULL: fails on existing NULLs and scans the table under an exclusive lock")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("ALTER TABLE t ALTER COLUMN a SET NOT NULL;"),
            ["set-not-null"] as [&str; 1]
        );
    }
}

//! `rename-table`: ALTER TABLE … RENAME TO. Its user documentation is `DOCS` below
//! (printed by `dbguard explain rename-table`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "rename-table",
    severity: Severity::Risky,
    summary: "ALTER TABLE … RENAME TO",
    help: "deploy code that reads the new name first, or keep a view with the old name",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `ALTER TABLE a RENAME TO b` and `ALTER TABLE a SET SCHEMA s` (a move renames the table for every query).

## Why is this bad?
No data is lost, but every query that uses the old name fails at once.

## Example
```sql
ALTER TABLE customers RENAME TO clients;
```

## How to make it safe
Create a view with the old name for the transition.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::RenameTable { from, to } => Some(format!(
            "renames table {from} to {to}; queries using the old name break"
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
            rule_ids("ALTER TABLE a RENAME TO b;"),
            ["rename-table"] as [&str; 1]
        );
    }
}

//! `rename-column`: ALTER TABLE … RENAME COLUMN. Its user documentation is `DOCS` below
//! (printed by `dbguard explain rename-column`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "rename-column",
    severity: Severity::Risky,
    summary: "ALTER TABLE … RENAME COLUMN",
    help: "deploy code that reads the new name first",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `ALTER TABLE t RENAME [COLUMN] a TO b`.

## Why is this bad?
No data is lost, but every query that uses the old column name fails at once.

## Example
```sql
ALTER TABLE users RENAME COLUMN mail TO email;
```

## How to make it safe
Add the new column, write both, switch reads, then drop the old one.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::RenameColumn { table, from, to } => Some(format!(
            "renames column {table}.{from} to {to}; queries using the old name break"
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
            rule_ids("ALTER TABLE t RENAME COLUMN a TO b;"),
            ["rename-column"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("ALTER TABLE t RENAME a TO b;"),
            ["rename-column"] as [&str; 1]
        );
    }
}

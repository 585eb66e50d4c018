//! `alter-column-type`: ALTER COLUMN … TYPE rewrites a column. Its user documentation is `DOCS` below
//! (printed by `dbguard explain alter-column-type`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "alter-column-type",
    severity: Severity::Risky,
    summary: "ALTER COLUMN … TYPE rewrites a column",
    help:
        "check the conversion on a copy of the data; prefer adding a new column and backfilling it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `ALTER TABLE … ALTER [COLUMN] c [SET DATA] TYPE t`.

## Why is this bad?
The conversion can fail half-way, lose precision (numeric to integer, text to varchar(n)) or take an exclusive lock while the table is rewritten.

## Example
```sql
ALTER TABLE payments ALTER COLUMN amount TYPE integer USING amount::integer;
```

## How to make it safe
Add a new column, backfill it, switch the code over, then drop the old one.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::AlterColumnType { table, column, new_type } => Some(format!("changes the type of {table}.{column} to {new_type}: the table is rewritten and values may not convert")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("ALTER TABLE t ALTER COLUMN a TYPE int;"),
            ["alter-column-type"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("ALTER TABLE t ALTER a SET DATA TYPE varchar(10);"),
            ["alter-column-type"] as [&str; 1]
        );
    }
}

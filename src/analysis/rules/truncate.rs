//! `truncate`: TRUNCATE empties tables. Its user documentation is `DOCS` below
//! (printed by `dbguard explain truncate`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "truncate",
    severity: Severity::DataLoss,
    summary: "TRUNCATE empties tables",
    help: "take a verified backup first (`dbguard backup`); TRUNCATE cannot be filtered with WHERE",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `TRUNCATE` in every form (`TABLE`, `ONLY`, `*`, `RESTART IDENTITY`, `CASCADE`), one finding per table.

## Why is this bad?
Every row of the table (and, with CASCADE, of every table referencing it) is removed at once.

## Example
```sql
TRUNCATE orders, order_items RESTART IDENTITY CASCADE;
```

## How to make it safe
Delete the rows you mean with a `DELETE … WHERE`, or take a backup first.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::Truncate { table } => Some(format!("empties table {table}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("TRUNCATE a, b;"),
            ["truncate", "truncate"] as [&str; 2]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("TRUNCATE TABLE ONLY a RESTART IDENTITY CASCADE;"),
            ["truncate"] as [&str; 1]
        );
    }
}

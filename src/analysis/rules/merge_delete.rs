//! `merge-delete`: MERGE … WHEN MATCHED THEN DELETE deletes rows. Its user documentation is `DOCS` below
//! (printed by `dbguard explain merge-delete`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "merge-delete",
    severity: Severity::Risky,
    summary: "MERGE … WHEN MATCHED THEN DELETE deletes rows",
    help: "check which rows the ON condition matches before running it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `MERGE` statements with a `WHEN MATCHED … THEN DELETE` action.

## Why is this bad?
Every row the join matches (and the optional AND condition allows) is deleted.

## Example
```sql
MERGE INTO stock s USING sold x ON s.id = x.id WHEN MATCHED THEN DELETE;
```

## How to make it safe
Run the join as a SELECT first; back up when many rows match.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::MergeDelete { table } => Some(format!("MERGE deletes the matched rows of {table}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;"),
            ["merge-delete"] as [&str; 1]
        );
    }
}

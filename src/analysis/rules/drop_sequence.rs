//! `drop-sequence`: DROP SEQUENCE. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-sequence`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-sequence",
    severity: Severity::Risky,
    summary: "DROP SEQUENCE",
    help: "check which columns default to the sequence",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP SEQUENCE`, one finding per sequence.

## Why is this bad?
Columns whose default reads the sequence stop working, and its current value is lost (re-creating it restarts the numbering).

## Example
```sql
DROP SEQUENCE invoice_number_seq;
```

## How to make it safe
Record the current value (`SELECT last_value FROM …`) before dropping it.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropSequence { name } => {
            Some(format!("drops sequence {name}; its current value is lost"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP SEQUENCE s1, s2;"),
            ["drop-sequence", "drop-sequence"] as [&str; 2]
        );
    }
}

//! `drop-trigger`: DROP TRIGGER / RULE / POLICY. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-trigger`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-trigger",
    severity: Severity::Risky,
    summary: "DROP TRIGGER / RULE / POLICY",
    help: "check what the trigger, rule or policy enforced",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP TRIGGER`, `DROP RULE` and `DROP POLICY`.

## Why is this bad?
No data is removed, but what the trigger maintained (audit rows, updated_at, denormalised counts) or what the policy protected is no longer enforced.

## Example
```sql
DROP TRIGGER set_updated_at ON orders;
```

## How to make it safe
Replace it in the same migration if its job still needs doing.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropTrigger { kind, name } => Some(format!("drops {kind} {name}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP TRIGGER t ON x;"),
            ["drop-trigger"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("DROP POLICY p ON x;"),
            ["drop-trigger"] as [&str; 1]
        );
    }
}

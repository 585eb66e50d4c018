//! `drop-function`: DROP FUNCTION / PROCEDURE / ROUTINE / AGGREGATE. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-function`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-function",
    severity: Severity::Risky,
    summary: "DROP FUNCTION / PROCEDURE / ROUTINE / AGGREGATE",
    help: "check which triggers, defaults and views call it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP FUNCTION`, `DROP PROCEDURE`, `DROP ROUTINE` and `DROP AGGREGATE`, one finding per name.

## Why is this bad?
Triggers, defaults and code that call the function break.

## Example
```sql
DROP FUNCTION update_modified_column() CASCADE;
```

## How to make it safe
Keep its definition (`pg_get_functiondef`) so it can be recreated.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropFunction { kind, name } => Some(format!("drops {kind} {name}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP FUNCTION f(int), g;"),
            ["drop-function", "drop-function"] as [&str; 2]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("DROP PROCEDURE p;"),
            ["drop-function"] as [&str; 1]
        );
    }
}

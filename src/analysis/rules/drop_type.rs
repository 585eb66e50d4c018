//! `drop-type`: DROP TYPE / DOMAIN / EXTENSION without CASCADE. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-type`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-type",
    severity: Severity::Risky,
    summary: "DROP TYPE / DOMAIN / EXTENSION without CASCADE",
    help: "check which columns and functions use it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP TYPE`, `DROP DOMAIN` and `DROP EXTENSION` without `CASCADE` (with CASCADE see cascade-drop).

## Why is this bad?
Without CASCADE PostgreSQL refuses when columns still use it, but functions and code that rely on it break.

## Example
```sql
DROP EXTENSION IF EXISTS pg_trgm;
```

## How to make it safe
Nothing to do when nothing uses it any more.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropType {
            kind,
            names,
            cascade: false,
        } => Some(format!("drops {kind} {names}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP TYPE IF EXISTS mood;"),
            ["drop-type"] as [&str; 1]
        );
    }
}

//! `drop-schema`: DROP SCHEMA removes a schema (with CASCADE: every table in it). Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-schema`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-schema",
    severity: Severity::DataLoss,
    summary: "DROP SCHEMA removes a schema (with CASCADE: every table in it)",
    help: "take a verified backup first (`dbguard backup`); list what the schema holds before dropping it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP SCHEMA`, one finding per schema name.

## Why is this bad?
With CASCADE every table in the schema goes with it; without it the statement still removes the schema's objects' namespace and fails or succeeds depending on what is left, which is easy to get wrong.

## Example
```sql
DROP SCHEMA reporting CASCADE;
```

## How to make it safe
Move the objects you want to keep first, and drop the schema in its own migration after a backup.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropSchema { name } => Some(format!("drops schema {name} and everything in it")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP SCHEMA a, b CASCADE;"),
            ["drop-schema", "drop-schema"] as [&str; 2]
        );
    }
}

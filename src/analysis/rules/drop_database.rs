//! `drop-database`: DROP DATABASE removes a whole database. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-database`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-database",
    severity: Severity::DataLoss,
    summary: "DROP DATABASE removes a whole database",
    help: "take a verified backup first (`dbguard backup`) and double-check the target database",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP DATABASE`, including `IF EXISTS` and `WITH (FORCE)`.

## Why is this bad?
Every table, row and object of the database is gone at once; only a backup brings it back.

## Example
```sql
DROP DATABASE app_dev WITH (FORCE);
```

## How to make it safe
Run it only by hand against a database you can name, with a fresh verified backup.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropDatabase { name } => Some(format!("drops database {name} with everything in it")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP DATABASE app_dev;"),
            ["drop-database"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("DROP DATABASE IF EXISTS app WITH (FORCE);"),
            ["drop-database"] as [&str; 1]
        );
    }
}

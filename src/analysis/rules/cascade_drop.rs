//! `cascade-drop`: DROP TYPE / EXTENSION / DOMAIN … CASCADE drops dependent columns. Its user documentation is `DOCS` below
//! (printed by `dbguard explain cascade-drop`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "cascade-drop",
    severity: Severity::DataLoss,
    summary: "DROP TYPE / EXTENSION / DOMAIN … CASCADE drops dependent columns",
    help: "drop without CASCADE to see what depends on it, and migrate those columns first",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP TYPE`, `DROP DOMAIN`, `DROP EXTENSION` and `DROP COLLATION` with `CASCADE`.

## Why is this bad?
CASCADE silently drops every column whose type is the dropped type or domain (for extensions, every column of an extension type; for collations, every column declared with it), with its data.

## Example
```sql
DROP TYPE order_status CASCADE;
```

## How to make it safe
Drop without CASCADE: PostgreSQL then lists what depends on the type, and you migrate it explicitly.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropType {
            kind,
            names,
            cascade: true,
        } => Some(format!(
            "drops {kind} {names} with CASCADE, which also drops every column that uses it"
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
            rule_ids("DROP TYPE mood CASCADE;"),
            ["cascade-drop"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("DROP EXTENSION hstore CASCADE;"),
            ["cascade-drop"] as [&str; 1]
        );
    }

    #[test]
    fn collation_cascade() {
        assert_eq!(
            rule_ids("DROP COLLATION IF EXISTS german_ci CASCADE;"),
            ["cascade-drop"] as [&str; 1]
        );
        assert_eq!(rule_ids("DROP COLLATION german_ci;"), [] as [&str; 0]);
    }

    #[test]
    fn case_3() {
        assert_eq!(rule_ids("DROP DOMAIN d;"), ["drop-type"] as [&str; 1]);
    }
}

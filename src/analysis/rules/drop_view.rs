//! `drop-view`: DROP VIEW / MATERIALIZED VIEW. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-view`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-view",
    severity: Severity::Risky,
    summary: "DROP VIEW / MATERIALIZED VIEW",
    help: "check who reads the view; keep its definition (pg_get_viewdef) so you can recreate it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP VIEW` and `DROP MATERIALIZED VIEW`, one finding per name.

## Why is this bad?
Readers of the view break; a materialized view's stored rows must be recomputed. The underlying tables keep their data.

## Example
```sql
DROP MATERIALIZED VIEW monthly_revenue;
```

## How to make it safe
Save the definition and recreate the view in the same migration if it is still needed.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropView { name, materialized } => Some(if *materialized {
            format!("drops materialized view {name} (its stored rows must be recomputed)")
        } else {
            format!("drops view {name}")
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP VIEW a, b;"),
            ["drop-view", "drop-view"] as [&str; 2]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("DROP MATERIALIZED VIEW IF EXISTS m;"),
            ["drop-view"] as [&str; 1]
        );
    }
}

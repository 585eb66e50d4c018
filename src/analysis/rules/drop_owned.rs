//! `drop-owned`: DROP OWNED BY drops every object a role owns. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-owned`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-owned",
    severity: Severity::DataLoss,
    summary: "DROP OWNED BY drops every object a role owns",
    help: "list the role's objects first (`\\dt *.*` as that role) and back up",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP OWNED BY role`.

## Why is this bad?
It drops every table, view and sequence the role owns in the current database, with their data.

## Example
```sql
DROP OWNED BY legacy_app CASCADE;
```

## How to make it safe
Reassign the objects you keep (`REASSIGN OWNED BY old TO new`) before dropping the rest.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropOwned { roles } => Some(format!(
            "drops every object owned by {roles}, with its data"
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
            rule_ids("DROP OWNED BY bob CASCADE;"),
            ["drop-owned"] as [&str; 1]
        );
    }
}

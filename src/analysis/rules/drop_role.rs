//! `drop-role`: DROP ROLE / USER / GROUP. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-role`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-role",
    severity: Severity::Risky,
    summary: "DROP ROLE / USER / GROUP",
    help: "check which applications log in with the role",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP ROLE`, `DROP USER` and `DROP GROUP`.

## Why is this bad?
Applications that log in with the role stop working; privileges granted to it are gone.

## Example
```sql
DROP ROLE IF EXISTS reporting;
```

## How to make it safe
Reassign its objects and privileges first.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropRole { names } => Some(format!("drops role {names}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(rule_ids("DROP USER bob;"), ["drop-role"] as [&str; 1]);
    }
}

//! `unparsed-statement`: A statement dbguard could not classify. Its user documentation is `DOCS` below
//! (printed by `dbguard explain unparsed-statement`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "unparsed-statement",
    severity: Severity::Risky,
    summary: "A statement dbguard could not classify",
    help: "check the statement by hand; fix its syntax if it is a typo",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports a statement that neither the SQL parser nor the token-level fallback can classify (an unknown verb, a typo).

## Why is this bad?
dbguard fails closed: a statement it cannot read might be destructive, so it is never reported as safe.

## Example
```sql
DRIP TABLE users;
```

## How to make it safe
Fix the statement, or review it and add `-- dbguard:allow unparsed-statement reason: "…"`.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::Unparsed { reason } => Some(format!(
            "dbguard cannot tell what this statement does ({reason})"
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
            rule_ids("FROBNICATE TABLE x;"),
            ["unparsed-statement"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(rule_ids("SELECT 1;"), [] as [&str; 0]);
    }
}

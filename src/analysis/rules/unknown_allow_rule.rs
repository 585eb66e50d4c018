//! `unknown-allow-rule`: A dbguard:allow annotation names a rule that does not exist. Its user documentation is `DOCS` below
//! (printed by `dbguard explain unknown-allow-rule`).

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "unknown-allow-rule",
    severity: Severity::Risky,
    summary: "A dbguard:allow annotation names a rule that does not exist",
    help: "use a rule id from `dbguard rules`",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports rule ids in allow annotations that dbguard does not know (usually a typo). They suppress nothing.

## Why is this bad?
A typo in an allow looks like a reviewed override but protects nothing and hides nothing.

## Example
```sql
-- dbguard:allow drop-tabel reason: "archived"
```

## How to make it safe
Fix the rule id (`dbguard rules` lists them).
"#;

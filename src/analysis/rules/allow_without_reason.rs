//! `allow-without-reason`: A dbguard:allow annotation without a reason. Its user documentation is `DOCS` below
//! (printed by `dbguard explain allow-without-reason`).

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "allow-without-reason",
    severity: Severity::Risky,
    summary: "A dbguard:allow annotation without a reason",
    help: "add `reason: \"why this is safe\"` to the annotation",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports `-- dbguard:allow RULE` or `-- dbguard:allow-file RULE` annotations that give no reason. Such an annotation does not suppress anything.

## Why is this bad?
An override nobody can explain later is how data gets lost; the reason is the review record.

## Example
```sql
DROP TABLE old_sessions; -- dbguard:allow drop-table
```

## How to make it safe
Write `-- dbguard:allow drop-table reason: "sessions are recreated at login"`.
"#;

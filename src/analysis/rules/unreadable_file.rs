//! `unreadable-file`: A file dbguard could not read as text. Its user documentation is `DOCS` below
//! (printed by `dbguard explain unreadable-file`).

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "unreadable-file",
    severity: Severity::Risky,
    summary: "A file dbguard could not read as text",
    help: "check the file; convert it to UTF-8 if it is SQL",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports inputs that are binary or cannot be read. Non-UTF-8 text is still analysed (invalid bytes replaced) and reported with this rule as well.

## Why is this bad?
dbguard fails closed: SQL it cannot read may be destructive.

## Example
```sql
(a Latin-1 encoded .sql file)
```

## How to make it safe
Save the file as UTF-8.
"#;

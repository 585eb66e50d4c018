//! `include-not-found`: A psql \i / \ir include that dbguard could not read. Its user documentation is `DOCS` below
//! (printed by `dbguard explain include-not-found`).

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "include-not-found",
    severity: Severity::Risky,
    summary: "A psql \\i / \\ir include that dbguard could not read",
    help: "check the included path; psql resolves \\i against the working directory and \\ir against the including file",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports `\i`, `\include`, `\ir` and `\include_relative` meta-commands whose file cannot be read, or includes nested too deeply (a cycle).

## Why is this bad?
The included file runs as part of the script; dbguard fails closed when it cannot check it.

## Example
```sql
\i migrations/0042_cleanup.sql
```

## How to make it safe
Run dbguard from the directory psql runs in, or use `\ir`.
"#;

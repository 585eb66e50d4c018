//! `guarded-command`: A command listed in [[guard.commands]] of dbguard.toml. Its user documentation is `DOCS` below
//! (printed by `dbguard explain guarded-command`). Reported by the guard's command classifier.

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "guarded-command",
    severity: Severity::DataLoss,
    summary: "A command listed in [[guard.commands]] of dbguard.toml",
    help: "the project marked this command as destructive; take a verified backup first",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports commands matching a `[[guard.commands]]` entry, at the severity configured there (data-loss by default in this catalog).

## Why is this bad?
Project scripts such as `make reset-db` destroy data dbguard cannot see into; the project listed them so they get the same protection as a DROP.

## Example
```sh
make reset-db
```

## How to make it safe
Take a verified backup (`dbguard backup`) or let the guard take one (`dbguard run --backup -- …`).
"#;

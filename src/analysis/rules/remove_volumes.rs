//! `remove-volumes`: docker compose down -v removes the volumes that hold the database. Its user documentation is `DOCS` below
//! (printed by `dbguard explain remove-volumes`). Reported by the guard's command classifier.

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "remove-volumes",
    severity: Severity::DataLoss,
    summary: "docker compose down -v removes the volumes that hold the database",
    help: "back up the database first, or run `docker compose down` without -v/--volumes",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports `docker compose down -v` / `--volumes` and `docker-compose down -v` run through `dbguard run`.

## Why is this bad?
The named volumes usually hold the PostgreSQL data directory: removing them deletes the database for good.

## Example
```sh
docker compose down --volumes
```

## How to make it safe
Use `docker compose down` (keeps volumes), or take a verified backup of the database first.
"#;

//! `restore-overwrite`: pg_restore that overwrites an existing database. Its user documentation is `DOCS` below
//! (printed by `dbguard explain restore-overwrite`). Reported by the guard's command classifier.

use super::Rule;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "restore-overwrite",
    severity: Severity::DataLoss,
    summary: "pg_restore that overwrites an existing database",
    help: "take a verified backup of the target first, or restore into a new database (`createdb new && pg_restore -d new …`)",
    docs: DOCS,
    check: super::no_operation,
};

const DOCS: &str = r#"## What it does
Reports `pg_restore` run by `dbguard run` with `--clean`/`-c`, or restoring into an existing database with `-d`.

## Why is this bad?
`--clean` drops every object of the archive in the target before recreating it; restoring into a live database mixes or replaces its data.

## Example
```sh
pg_restore --clean -d app_dev yesterday.dump
```

## How to make it safe
Restore into a fresh database and switch over, or use `dbguard restore`, which takes a safety backup and restores all-or-nothing.
"#;

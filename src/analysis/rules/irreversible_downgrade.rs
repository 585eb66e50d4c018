//! `irreversible-downgrade`: an alembic `downgrade()` that raises instead of undoing its
//! revision. Its user documentation is `DOCS` below (printed by
//! `dbguard explain irreversible-downgrade`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "irreversible-downgrade",
    severity: Severity::Risky,
    summary: "an alembic downgrade() that raises: running it fails",
    help: "restore from a backup instead of downgrading, or write a downgrade() that undoes the revision",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `raise` in an alembic revision's `downgrade()` (directly, or in a module-level helper it calls), e.g. `raise NotImplementedError()`, and a revision that defines no `downgrade()` at all (OpenStack's contract migrations), when downgrades are checked (`--direction downgrade|both`, and every downgrade step of `dbguard plan`).

## Why is this bad?
`alembic downgrade` through this revision fails halfway: revisions above it may already have been downgraded (and their data dropped) when it raises, and the database is left between versions.

## Example
```python
def downgrade():
    raise NotImplementedError("irreversible: data was merged")
```

## How to make it safe
Do not downgrade through this revision: restore a backup taken before the upgrade (`dbguard backup`) instead.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::IrreversibleDowngrade { detail } => Some(format!(
            "downgrade cannot undo this revision: it raises ({detail}), so running it fails"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_its_operation() {
        let op = Op::IrreversibleDowngrade {
            detail: "raise NotImplementedError()".into(),
        };
        assert!(check(&op).unwrap().contains("NotImplementedError"));
        assert!(check(&Op::DropTable { name: "t".into() }).is_none());
    }
}

//! `drop-comment`: a table or column comment removed. Its user documentation is `DOCS`
//! below (printed by `dbguard explain drop-comment`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-comment",
    severity: Severity::Info,
    summary: "a table or column comment removed",
    help: "keep the comment's text in the migration if it documents the data",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports alembic's `op.drop_table_comment(...)`.

## Why is this bad?
Only documentation is lost, but it is lost: the comment's text is not kept anywhere else.

## Example
```python
op.drop_table_comment("invoices", existing_comment="legal archive, keep 10 years")
```

## How to make it safe
Nothing to do if the comment is obsolete; otherwise move its text to the new schema documentation.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropComment { target } => Some(format!("drops the comment of {target}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_its_operation() {
        let op = Op::DropComment {
            target: "table t".into(),
        };
        assert_eq!(check(&op).unwrap(), "drops the comment of table t");
        assert!(check(&Op::DropTable { name: "t".into() }).is_none());
    }
}

//! `dynamic-sql`: SQL built at run time that dbguard cannot see. Its user documentation is `DOCS` below
//! (printed by `dbguard explain dynamic-sql`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "dynamic-sql",
    severity: Severity::Risky,
    summary: "SQL built at run time that dbguard cannot see",
    help:
        "read the code that builds the SQL; if it is destructive, take a backup before running it",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `EXECUTE` of a value dbguard cannot read (a variable, an expression without literal SQL) in DO blocks and functions, DO blocks in languages other than PL/pgSQL, psql's `\gexec`, and `EXECUTE` of prepared statements. Where the literal part of dynamic SQL is visible (`EXECUTE 'DROP TABLE ' || t`), the matching rule is reported instead, with the target shown as `<dynamic>`.

## Why is this bad?
dbguard fails closed: what it cannot read may drop or delete anything.

## Example
```sql
DO $$ BEGIN EXECUTE v_cleanup_sql; END $$;
```

## How to make it safe
Write the statement literally, or review it and add `-- dbguard:allow dynamic-sql reason: "…"`.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DynamicSql { detail } => Some(detail.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DO $$ BEGIN EXECUTE v_sql; END $$;"),
            ["dynamic-sql"] as [&str; 1]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("DO $$ BEGIN EXECUTE 'DROP TABLE ' || t; END $$;"),
            ["drop-table"] as [&str; 1]
        );
    }
}

//! `drop-column`: ALTER TABLE … DROP COLUMN removes a column and its data. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-column`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-column",
    severity: Severity::DataLoss,
    summary: "ALTER TABLE … DROP COLUMN removes a column and its data",
    help: "copy the column's data somewhere first, or stop using the column and drop it in a later release after a backup",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `ALTER TABLE … DROP [COLUMN] [IF EXISTS] col`, also with `ONLY`, `IF EXISTS` on the table and `CASCADE`; one finding per dropped column. Also `ALTER TYPE … DROP ATTRIBUTE`, which drops the attribute from every stored value of the composite type.

## Why is this bad?
The values of the column in every row are removed; PostgreSQL cannot give them back.

## Example
```sql
ALTER TABLE users DROP COLUMN legacy_password;
```

## How to make it safe
Deploy code that no longer reads the column first, back up, then drop it in its own migration.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropColumn { table, column } => {
            Some(format!("drops column {column} of {table} and its data"))
        }
        Op::DropAttribute {
            type_name,
            attribute,
        } => Some(format!(
            "drops attribute {attribute} of type {type_name} and its data from every column of that type"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("ALTER TABLE users DROP COLUMN a, DROP b;"),
            ["drop-column", "drop-column"] as [&str; 2]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("ALTER TABLE IF EXISTS ONLY users DROP COLUMN IF EXISTS a CASCADE;"),
            ["drop-column"] as [&str; 1]
        );
    }

    #[test]
    fn case_3() {
        assert_eq!(
            rule_ids("ALTER TABLE users ALTER COLUMN a DROP DEFAULT;"),
            [] as [&str; 0]
        );
    }
}

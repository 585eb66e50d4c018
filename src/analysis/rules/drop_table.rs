//! `drop-table`: DROP TABLE removes a table and every row in it. Its user documentation is `DOCS` below
//! (printed by `dbguard explain drop-table`).

use super::Rule;
use crate::analysis::ops::Op;
use crate::analysis::Severity;

pub const RULE: Rule = Rule {
    id: "drop-table",
    severity: Severity::DataLoss,
    summary: "DROP TABLE removes a table and every row in it",
    help: "take a verified backup first (`dbguard backup`), or rename the table now and drop it in a later release",
    docs: DOCS,
    check,
};

const DOCS: &str = r#"## What it does
Reports `DROP TABLE`, one finding for every table named in the list.

## Why is this bad?
The table's rows are gone the moment the transaction commits; a mistyped name or the wrong database loses days of data.

## Example
```sql
DROP TABLE invoices, invoice_lines CASCADE;
```

## How to make it safe
Rename the table (`ALTER TABLE invoices RENAME TO invoices_old`), deploy, and drop it later once nothing reads it, with a backup.
"#;

fn check(op: &Op) -> Option<String> {
    match op {
        Op::DropTable { name } => Some(format!("drops table {name} and all of its rows")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::sql::testing::rule_ids;

    #[test]
    fn case_1() {
        assert_eq!(
            rule_ids("DROP TABLE a, b;"),
            ["drop-table", "drop-table"] as [&str; 2]
        );
    }

    #[test]
    fn case_2() {
        assert_eq!(
            rule_ids("drop table if exists \"Sales\".\"Q1\" cascade"),
            ["drop-table"] as [&str; 1]
        );
    }
}

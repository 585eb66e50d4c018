//! "Is data at stake?": for findings that remove rows, ask the target database cheaply —
//! does the table exist, does it have a row, does the column hold a non-NULL value — never a
//! full count. No data at stake lowers a finding to `info`; otherwise it gains a row estimate.

use postgres::Client;

use crate::analysis::command::Plan;
use crate::analysis::{Finding, Severity};

/// The rules whose findings are about stored rows.
const WEIGHED_RULES: &[&str] = &[
    "drop-table",
    "drop-column",
    "truncate",
    "delete-without-where",
    "delete-with-where",
];

/// Whether the plan has findings worth a database round trip.
pub fn needed(plan: &Plan) -> bool {
    plan.findings().any(|f| {
        f.target.is_some() && WEIGHED_RULES.contains(&f.rule) && f.severity > Severity::Info
    })
}

enum Stake {
    /// The table or column holds nothing (it exists, and is empty or all NULL).
    Nothing(String),
    /// The table or column does not exist now.
    Missing(String),
    Rows(String),
    Unknown,
}

/// Weighs every eligible finding; returns a note when the database could not be asked.
pub fn weigh(plan: &mut Plan, client: &mut Client) -> Option<String> {
    // Cheap by construction, but never let a slow table hold the user up.
    if client
        .batch_execute("SET statement_timeout = '3s'")
        .is_err()
    {
        return Some("could not ask the database about the data at stake".into());
    }
    // A name that does not exist now may be the new name of existing data by the time the
    // statement runs (`ALTER TABLE a RENAME TO b; DROP TABLE b`): then absence proves nothing.
    let renames = plan
        .findings()
        .any(|f| f.rule == "rename-table" || f.rule == "rename-column");
    for finding in plan.findings_mut() {
        if !WEIGHED_RULES.contains(&finding.rule) || finding.severity == Severity::Info {
            continue;
        }
        match stake(client, finding) {
            Stake::Nothing(why) => {
                finding.severity = Severity::Info;
                finding.message = format!("{} — no data at stake: {why}", finding.message);
            }
            Stake::Missing(why) if !renames => {
                finding.severity = Severity::Info;
                finding.message = format!("{} — no data at stake: {why}", finding.message);
            }
            Stake::Missing(why) => {
                finding.message = format!(
                    "{} ({why} yet, but the command renames objects first)",
                    finding.message
                );
            }
            Stake::Rows(estimate) => finding.message = format!("{} ({estimate})", finding.message),
            Stake::Unknown => {}
        }
    }
    None
}

fn stake(client: &mut Client, finding: &Finding) -> Stake {
    let Some(target) = &finding.target else {
        return Stake::Unknown;
    };
    // to_regclass resolves the name as SQL would (search_path, quoting) without failing.
    let row = match client.query_opt(
        "SELECT c.oid::regclass::text, c.reltuples::bigint, c.relkind::text FROM pg_class c WHERE c.oid = to_regclass($1)",
        &[&target.table],
    ) {
        Ok(row) => row,
        Err(_) => return Stake::Unknown,
    };
    let Some(row) = row else {
        return Stake::Missing(format!("table {} does not exist", target.table));
    };
    let (table, estimate, kind): (String, i64, String) = (row.get(0), row.get(1), row.get(2));
    if kind != "r" && kind != "p" {
        return Stake::Unknown;
    }
    // `table` is the server's own quoting of the name, safe to splice into SQL.
    let has_rows = match &target.column {
        None => exists(
            client,
            &format!("SELECT EXISTS (SELECT 1 FROM {table} LIMIT 1)"),
        ),
        Some(column) => {
            let column = unquote(column);
            let present = client.query_opt(
                "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped",
                &[&target.table, &column],
            );
            match present {
                Ok(None) => {
                    return Stake::Nothing(format!("column {column} does not exist in {table}"))
                }
                Err(_) => return Stake::Unknown,
                Ok(Some(_)) => {}
            }
            let quoted = format!("\"{}\"", column.replace('"', "\"\""));
            match exists(
                client,
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM {table} WHERE {quoted} IS NOT NULL LIMIT 1)"
                ),
            ) {
                Some(false) => {
                    return Stake::Nothing(format!("column {column} of {table} holds only NULLs"))
                }
                other => other,
            }
        }
    };
    match has_rows {
        Some(false) => Stake::Nothing(format!("table {table} is empty")),
        Some(true) if estimate > 0 => {
            Stake::Rows(format!("~{} rows at stake", group_digits(estimate)))
        }
        Some(true) => Stake::Rows("rows at stake".into()),
        None => Stake::Unknown,
    }
}

fn exists(client: &mut Client, sql: &str) -> Option<bool> {
    client.query_one(sql, &[]).ok().map(|r| r.get(0))
}

/// `"Mixed Case"` → `Mixed Case`; `Plain` → `plain` (how PostgreSQL folds identifiers).
fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_lowercase(),
    }
}

pub fn group_digits(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(group_digits(12), "12");
        assert_eq!(unquote("\"Mixed\"\"Case\""), "Mixed\"Case");
        assert_eq!(unquote("Email"), "email");
    }
}

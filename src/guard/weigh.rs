//! "Is data at stake?": for findings that remove rows, ask the target database — does the
//! table exist, does it have a row, does the column hold a non-NULL value — and for DELETE /
//! UPDATE the exact number of rows they touch (`impact`: read-only, bounded by
//! `[guard] count_timeout`). No data at stake lowers a finding to `info`; otherwise it gains
//! the count (or an estimate).
//!
//! In the guard a `DELETE … WHERE` is data loss unless it is counted to match no rows (fail
//! closed); an `UPDATE` is data loss from `[guard] bulk_rows` rows, risky below. `dbguard
//! check` (no database) keeps the rules' static severities.

use std::time::Duration;

use postgres::Client;

use super::impact::{self, Counted};
use super::settings::GuardSettings;
use crate::analysis::command::Plan;
use crate::analysis::{Finding, Severity};

/// The rules whose findings are about stored rows.
const WEIGHED_RULES: &[&str] = &[
    "drop-table",
    "drop-column",
    "truncate",
    "delete-without-where",
    "delete-with-where",
    "update-with-where",
    "update-without-where",
];

/// DELETE and UPDATE: counted exactly.
const COUNTED_RULES: &[&str] = &[
    "delete-without-where",
    "delete-with-where",
    "update-with-where",
    "update-without-where",
];

/// Whether the plan has findings worth a database round trip.
pub fn needed(plan: &Plan) -> bool {
    plan.findings()
        .any(|f| f.target.is_some() && WEIGHED_RULES.contains(&f.rule))
}

/// The guard's severities before anything is counted: a `DELETE … WHERE` destroys data until
/// a count proves it matches nothing. Call before `weigh` (which calls it too) and when the
/// database cannot be asked (`why` then goes into the message).
pub fn guard_severities(plan: &mut Plan, why: Option<&str>) {
    for finding in plan.findings_mut() {
        if finding.rule == "delete-with-where" && finding.severity == Severity::Risky {
            finding.severity = Severity::DataLoss;
            if let Some(why) = why {
                finding.message = format!("{} (rows not counted: {why})", finding.message);
            }
        }
    }
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
pub fn weigh(plan: &mut Plan, client: &mut Client, settings: &GuardSettings) -> Option<String> {
    guard_severities(plan, None);
    // Cheap by construction, but never let a slow table hold the user up.
    let timeout = settings.count_timeout.as_millis().max(1);
    if client
        .batch_execute(&format!("SET statement_timeout = {timeout}"))
        .is_err()
    {
        for f in plan.findings_mut() {
            if f.rule == "delete-with-where" {
                f.message = format!(
                    "{} (rows not counted: the database could not be asked)",
                    f.message
                );
            }
        }
        return Some("could not ask the database about the data at stake".into());
    }
    // A name that does not exist now may be the new name of existing data by the time the
    // statement runs (`ALTER TABLE a RENAME TO b; DROP TABLE b`): then absence proves nothing.
    let renames = plan
        .findings()
        .any(|f| f.rule == "rename-table" || f.rule == "rename-column");
    // Tables an earlier statement of the same command already changes: counting them now
    // says nothing about what the later statement will find.
    let mut written: Vec<String> = Vec::new();
    for finding in plan.findings_mut() {
        let earlier = finding
            .target
            .as_ref()
            .is_some_and(|t| written.contains(&t.table.to_lowercase()));
        if let Some(t) = &finding.target {
            written.push(t.table.to_lowercase());
        }
        if !WEIGHED_RULES.contains(&finding.rule) {
            continue;
        }
        if COUNTED_RULES.contains(&finding.rule) {
            count_finding(client, finding, settings, earlier, renames);
            continue;
        }
        if finding.severity == Severity::Info {
            continue;
        }
        match stake(client, finding, settings.count_timeout) {
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

fn stake(client: &mut Client, finding: &Finding, timeout: Duration) -> Stake {
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
        // Never analysed (reltuples = -1): a bounded count instead of no number.
        Some(true) => Stake::Rows(format!(
            "{} at stake",
            bounded_rows(client, &table, timeout)
        )),
        None => Stake::Unknown,
    }
}

/// How many rows a count capped at 10,000 found: "42 rows", "≥ 10,000 rows".
fn bounded_rows(client: &mut Client, table: &str, timeout: Duration) -> String {
    const LIMIT: i64 = 10_000;
    match impact::bounded_count(client, table, LIMIT, timeout) {
        Some((n, true)) => format!("≥ {} rows", group_digits(n)),
        Some((n, false)) => format!("{} row{}", group_digits(n), if n == 1 { "" } else { "s" }),
        None => "rows".into(),
    }
}

/// The size of a table for "990 of ~1,000 rows": the planner's estimate, or a bounded count.
fn table_size(client: &mut Client, table: &str, timeout: Duration) -> Option<String> {
    let row = client
        .query_opt(
            "SELECT c.oid::regclass::text, c.reltuples::bigint FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&table],
        )
        .ok()??;
    let (name, estimate): (String, i64) = (row.get(0), row.get(1));
    if estimate > 0 {
        return Some(format!("~{}", group_digits(estimate)));
    }
    match impact::bounded_count(client, &name, 10_000, timeout)? {
        (n, true) => Some(format!("≥ {}", group_digits(n))),
        (n, false) => Some(group_digits(n)),
    }
}

/// Counts the rows a DELETE / UPDATE touches and sets the guard's severity from the count.
fn count_finding(
    client: &mut Client,
    finding: &mut Finding,
    settings: &GuardSettings,
    written_earlier: bool,
    renames: bool,
) {
    let is_delete = finding.rule.starts_with("delete");
    let static_severity = finding.severity;
    let Some(target) = finding.target.clone() else {
        return;
    };
    let selection = match &finding.sql {
        _ if written_earlier => Err(format!(
            "an earlier statement of the same command changes {}",
            target.table
        )),
        Some(sql) => impact::derive(sql),
        None => Err("the statement is not plain SQL dbguard can rewrite as a count".into()),
    };
    let counted = match selection {
        Err(why) => Counted::Failed(why),
        Ok(selection) => {
            let exists: Option<bool> = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&selection.table])
                .ok()
                .map(|r| r.get(0));
            match exists {
                Some(false) if renames => Counted::Failed(format!(
                    "table {} does not exist yet, but the command renames objects first",
                    target.table
                )),
                Some(false) => {
                    finding.severity = Severity::Info;
                    finding.rows = Some(0);
                    finding.message = format!(
                        "{} — no data at stake: table {} does not exist",
                        finding.message, target.table
                    );
                    return;
                }
                _ => impact::count(client, &selection, settings.count_timeout),
            }
        }
    };
    match counted {
        Counted::Failed(why) => {
            // Fail closed: a DELETE stays data loss, an UPDATE keeps its static severity.
            finding.severity = if is_delete {
                Severity::DataLoss
            } else {
                static_severity
            };
            finding.message = format!("{} (rows not counted: {why})", finding.message);
        }
        Counted::Rows(0) => {
            finding.severity = Severity::Info;
            finding.rows = Some(0);
            finding.message = format!("{} — matches no rows now", finding.message);
        }
        Counted::Rows(n) => {
            finding.rows = Some(n);
            finding.severity = if is_delete || n as u64 >= settings.bulk_rows {
                Severity::DataLoss
            } else {
                Severity::Risky
            };
            let verb = if is_delete { "deletes" } else { "updates" };
            let of = match table_size(client, &target.table, settings.count_timeout) {
                Some(size) => format!(" of {size}"),
                None => String::new(),
            };
            let plural = if n == 1 && of.is_empty() {
                "row"
            } else {
                "rows"
            };
            let counted = format!(
                "{verb} {}{of} {plural} of {}",
                group_digits(n),
                target.table
            );
            finding.message = match finding.message.split_once(" that match the WHERE clause") {
                Some((_, rest)) => format!("{counted}{rest}"),
                None => format!("{} — {counted}", finding.message),
            };
        }
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

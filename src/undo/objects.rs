//! Which objects a plan puts at stake, and whether a snapshot can hold all of them: a table
//! dropped, emptied or truncated, a column dropped, the rows a DELETE/UPDATE matches. Anything
//! else that destroys data (DROP SCHEMA, dropdb, dynamic SQL, a count that failed…) needs a
//! full backup.

use crate::analysis::command::{Plan, Tool};
use crate::analysis::Severity;
use crate::guard::impact::{self, Selection};

#[derive(Clone, Debug)]
pub enum Wanted {
    /// drop-table (CASCADE also takes the views on it).
    Table { table: String, cascade: bool },
    /// truncate, delete-without-where (TRUNCATE … CASCADE also empties the tables that
    /// reference it).
    TableData { table: String, cascade: bool },
    /// delete-with-where.
    Rows(Selection),
    /// update-with-where, update-without-where.
    Updated(Selection),
    /// drop-column.
    Column { table: String, column: String },
    /// alembic's version table, with every alembic command.
    VersionTable,
}

/// What a snapshot must hold for `plan`, or why only a full backup covers it. Empty when
/// nothing at stake needs saving.
pub fn at_stake(plan: &Plan) -> Result<Vec<Wanted>, String> {
    if let Some(why) = &plan.uncertain {
        return Err(format!(
            "dbguard cannot be sure what the command does ({why})"
        ));
    }
    if let Some(why) = &plan.unweighable {
        return Err(why.clone());
    }
    let mut wanted = Vec::new();
    for f in plan.findings() {
        if f.severity == Severity::Info {
            continue;
        }
        let target = f.target.as_ref();
        let selection = || -> Result<Selection, String> {
            let why = |w: &str| format!("{} ({}): {w}", f.rule, f.statement);
            if f.rows.is_none_or(|n| n == 0) {
                return Err(why("its rows were not counted"));
            }
            let sql = f.sql.as_deref().ok_or_else(|| why("not plain SQL"))?;
            impact::derive(sql).map_err(|w| why(&w))
        };
        let item = match (f.rule, target) {
            ("drop-table", Some(t)) => Wanted::Table {
                table: t.table.clone(),
                cascade: f.statement.to_ascii_uppercase().contains("CASCADE"),
            },
            ("truncate" | "delete-without-where", Some(t)) => Wanted::TableData {
                table: t.table.clone(),
                cascade: f.rule == "truncate"
                    && f.statement.to_ascii_uppercase().contains("CASCADE"),
            },
            ("delete-with-where", Some(_)) => Wanted::Rows(selection()?),
            ("update-with-where" | "update-without-where", Some(_)) => {
                Wanted::Updated(selection()?)
            }
            ("drop-column", Some(t)) => Wanted::Column {
                table: t.table.clone(),
                column: t.column.clone().unwrap_or_default(),
            },
            _ if f.severity == Severity::DataLoss => {
                return Err(format!(
                    "{} is not something a snapshot can hold ({})",
                    f.rule, f.statement
                ))
            }
            _ => continue,
        };
        wanted.push(item);
    }
    if !wanted.is_empty() && plan.tool == Tool::Alembic {
        wanted.push(Wanted::VersionTable);
    }
    Ok(wanted)
}

//! Exact impact of `DELETE … WHERE` and `UPDATE … WHERE`: from the parsed statement, a
//! read-only query over exactly the rows it would touch (`FROM t [alias] WHERE …`, USING /
//! FROM tables kept as an `EXISTS` so a join never counts a row twice), counted in a
//! `READ ONLY` transaction under a statement timeout. The statement itself never runs.
//!
//! The same selection is what a snapshot copies (`undo::snapshot`), so the rows saved are
//! the rows counted.

use std::ops::ControlFlow;
use std::time::Duration;

use postgres::Client;
use sqlparser::ast::{
    Expr, FromTable, ObjectName, ObjectNamePart, Statement, TableFactor, TableWithJoins,
    UpdateTableFromKind, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The rows a DELETE or UPDATE would touch, as SQL fragments of the statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// The table as written (for `to_regclass`), without `ONLY` or alias.
    pub table: String,
    /// What qualifies the table's columns in `from_where`: the alias, or the table name.
    pub qualifier: String,
    /// `FROM <table> [alias] [WHERE …]`: selects exactly the rows the statement touches.
    pub from_where: String,
    /// Functions called in the statement's conditions (checked for volatility before
    /// counting: `random()` would make the count a guess).
    pub functions: Vec<String>,
    pub is_delete: bool,
    pub has_where: bool,
}

impl Selection {
    pub fn count_sql(&self) -> String {
        format!("SELECT count(*) {}", self.from_where)
    }
}

/// Derives the selection from a statement's text, or says why it cannot be derived.
pub fn derive(sql: &str) -> Result<Selection, String> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|_| "the statement could not be parsed".to_string())?;
    let [statement] = statements.as_slice() else {
        return Err("not a single statement".into());
    };
    let mut placeholder = false;
    let mut functions = Vec::new();
    let _ = sqlparser::ast::visit_expressions(statement, |expr| {
        match expr {
            Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => placeholder = true,
            Expr::Function(f) => functions.push(last_part(&f.name)),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    if placeholder {
        return Err("it has bind parameters or psql variables".into());
    }
    let (relation, extra, selection, is_delete) = match statement {
        Statement::Delete(delete) => {
            let tables = match &delete.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            if !delete.tables.is_empty() || delete.limit.is_some() {
                return Err("not a PostgreSQL DELETE".into());
            }
            let [relation] = tables.as_slice() else {
                return Err("it deletes from more than one table".into());
            };
            (
                relation,
                delete.using.clone().unwrap_or_default(),
                &delete.selection,
                true,
            )
        }
        Statement::Update(update) => {
            let extra = match &update.from {
                Some(UpdateTableFromKind::AfterSet(t))
                | Some(UpdateTableFromKind::BeforeSet(t)) => t.clone(),
                None => Vec::new(),
            };
            if update.limit.is_some() {
                return Err("not a PostgreSQL UPDATE".into());
            }
            (&update.table, extra, &update.selection, false)
        }
        _ => return Err("it is not a plain DELETE or UPDATE (a WITH clause?)".into()),
    };
    let (table, rel_text, qualifier) = relation_parts(relation)?;
    let condition = selection.as_ref().map(ToString::to_string);
    if condition
        .as_deref()
        .is_some_and(|c| c.to_ascii_uppercase().contains("CURRENT OF"))
    {
        return Err("WHERE CURRENT OF depends on a cursor".into());
    }
    let from_where = match (extra.is_empty(), &condition) {
        (true, None) => format!("FROM {rel_text}"),
        (true, Some(c)) => format!("FROM {rel_text} WHERE {c}"),
        (false, c) => {
            let extra: Vec<String> = extra.iter().map(ToString::to_string).collect();
            let inner = match c {
                Some(c) => format!(" WHERE {c}"),
                None => String::new(),
            };
            format!(
                "FROM {rel_text} WHERE EXISTS (SELECT 1 FROM {}{inner})",
                extra.join(", ")
            )
        }
    };
    functions.sort();
    functions.dedup();
    Ok(Selection {
        table,
        qualifier,
        from_where,
        functions,
        is_delete,
        has_where: selection.is_some(),
    })
}

fn last_part(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) if ident.quote_style.is_some() => {
            ident.value.clone()
        }
        Some(ObjectNamePart::Identifier(ident)) => ident.value.to_lowercase(),
        _ => name.to_string().to_lowercase(),
    }
}

/// (table name, the relation as it goes after FROM, the column qualifier).
fn relation_parts(relation: &TableWithJoins) -> Result<(String, String, String), String> {
    if !relation.joins.is_empty() {
        return Err("the target has joins".into());
    }
    let TableFactor::Table { name, alias, .. } = &relation.relation else {
        return Err("the target is not a table".into());
    };
    // sqlparser reads `DELETE FROM ONLY t` as table `ONLY` with alias `t`.
    let only = matches!(name.0.as_slice(), [ObjectNamePart::Identifier(i)]
        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("only"));
    match alias {
        Some(alias) if only && !alias.explicit => {
            let table = alias.name.to_string();
            Ok((table.clone(), format!("ONLY {table}"), table))
        }
        Some(alias) => {
            if !alias.columns.is_empty() {
                return Err("the alias renames columns".into());
            }
            let table = name.to_string();
            Ok((
                table.clone(),
                format!("{table} AS {}", alias.name),
                alias.name.to_string(),
            ))
        }
        None => {
            let table = name.to_string();
            Ok((table.clone(), table.clone(), table))
        }
    }
}

/// Why a count failed, or the count.
#[derive(Debug, PartialEq, Eq)]
pub enum Counted {
    Rows(i64),
    Failed(String),
}

/// Counts the selection's rows in a READ ONLY transaction that gives up after `timeout`.
pub fn count(client: &mut Client, selection: &Selection, timeout: Duration) -> Counted {
    match read_only(client, timeout, |tx| {
        if !selection.functions.is_empty() {
            let volatile: Vec<String> = tx
                .query(
                    "SELECT DISTINCT proname::text FROM pg_proc WHERE proname = ANY($1) AND provolatile = 'v' ORDER BY 1",
                    &[&selection.functions],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if !volatile.is_empty() {
                return Ok(Err(format!(
                    "it calls volatile functions ({})",
                    volatile.join(", ")
                )));
            }
        }
        let n: i64 = tx.query_one(&selection.count_sql(), &[])?.get(0);
        Ok(Ok(n))
    }) {
        Ok(Ok(n)) => Counted::Rows(n),
        Ok(Err(why)) => Counted::Failed(why),
        Err(e) if is_timeout(&e) => Counted::Failed(format!(
            "counting took longer than {}",
            humantime::format_duration(timeout)
        )),
        Err(e) => Counted::Failed(format!("counting failed: {}", db_message(&e))),
    }
}

/// Runs `f` in a READ ONLY transaction with a statement timeout, always rolled back.
pub fn read_only<T>(
    client: &mut Client,
    timeout: Duration,
    f: impl FnOnce(&mut postgres::Transaction) -> Result<T, postgres::Error>,
) -> Result<T, postgres::Error> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {}",
        timeout.as_millis().max(1)
    ))?;
    let out = f(&mut tx);
    let _ = tx.rollback();
    out
}

fn is_timeout(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED)
}

pub fn db_message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

/// `SELECT count(*)` over at most `limit + 1` rows: exact up to `limit`, else "more".
pub fn bounded_count(
    client: &mut Client,
    table: &str,
    limit: i64,
    timeout: Duration,
) -> Option<(i64, bool)> {
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {}) s",
        limit + 1
    );
    read_only(client, timeout, |tx| {
        tx.query_one(&sql, &[]).map(|r| r.get::<_, i64>(0))
    })
    .ok()
    .map(|n| (n.min(limit), n > limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_where(sql: &str) -> String {
        derive(sql).unwrap().from_where
    }

    #[test]
    fn keeps_aliases_joins_and_subselects() {
        assert_eq!(
            from_where("DELETE FROM users WHERE id > 10"),
            "FROM users WHERE id > 10"
        );
        assert_eq!(
            from_where("delete from app.\"Users\" u where u.id in (select user_id from bans)"),
            "FROM app.\"Users\" AS u WHERE u.id IN (SELECT user_id FROM bans)"
        );
        assert_eq!(
            from_where("DELETE FROM orders o USING users u WHERE o.user_id = u.id AND u.banned"),
            "FROM orders AS o WHERE EXISTS (SELECT 1 FROM users u WHERE o.user_id = u.id AND u.banned)"
        );
        assert_eq!(
            from_where("UPDATE t SET a = f.a FROM f WHERE t.id = f.id"),
            "FROM t WHERE EXISTS (SELECT 1 FROM f WHERE t.id = f.id)"
        );
        assert_eq!(from_where("DELETE FROM ONLY events"), "FROM ONLY events");
        let s = derive("UPDATE users SET plan = 'free'").unwrap();
        assert!(!s.has_where && !s.is_delete);
        assert_eq!(s.table, "users");
    }

    #[test]
    fn what_cannot_be_counted_says_why() {
        assert!(derive("DELETE FROM t WHERE id = $1")
            .unwrap_err()
            .contains("bind parameters"));
        assert!(derive("WITH x AS (DELETE FROM t RETURNING id) SELECT * FROM x").is_err());
        assert!(derive("SELECT 1").is_err());
        assert_eq!(
            derive("DELETE FROM t WHERE r < random() AND now() > x")
                .unwrap()
                .functions,
            ["now", "random"]
        );
    }
}

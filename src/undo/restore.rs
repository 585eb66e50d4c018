//! Putting a snapshot back, all-or-nothing: one psql session in one transaction
//! (`--single-transaction`, `ON_ERROR_STOP`) fed a script built while the snapshot streams
//! in. Every object ends with a check inside the transaction (row counts, for tables the
//! content checksum), so a mismatch rolls everything back like a conflict does.
//!
//! | pre-image | put back as |
//! |---|---|
//! | table | recreated from its pg_dump (a table of that name existing again is a conflict) |
//! | table-data, rows | re-inserted (`--side-table`: into `<table>__undo_<id>`) |
//! | column | added back with its definition, values matched by primary key (no key, or the key gone: a side table) |
//! | updated-rows | old values put back by key where the row still holds what the command wrote |
//! | version-table | replaced as a whole |

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use postgres::Client;

use super::archive;
use super::model::{quote_ident, quote_literal, Object, ObjectKind};
use super::snapshot::{self, checksum_sql, Snapshot};
use crate::backup::verify::backup_error;
use crate::backup::{tools, Settings};
use crate::error::{Error, Result};
use crate::target::{mask_secrets, Target};

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Re-insert rows into `<table>__undo_<id>` instead of the table.
    pub side_table: bool,
}

/// How one object will be put back, decided against the database as it is now.
#[derive(Clone, Debug)]
pub struct Step {
    pub object: Object,
    pub action: Action,
    /// Said to the user beside the action (why a side table, what is skipped).
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Recreate,
    Reinsert,
    /// Into this side table (qualified, quoted).
    SideTable(String),
    AddColumn,
    PutBackValues,
    Replace,
    /// Cannot be put back now: the conflict, named.
    Conflict(String),
    Skip,
}

impl Step {
    pub fn describe(&self) -> String {
        let what = self.object.describe();
        let action = match &self.action {
            Action::Recreate => format!("recreate {what}"),
            Action::Reinsert => format!("re-insert {what}"),
            Action::SideTable(t) => format!("restore {what} into the side table {t}"),
            Action::AddColumn => format!("add back {what}, values matched by primary key"),
            Action::PutBackValues => {
                format!(
                    "put back the old values of {what} where the command's values are still there"
                )
            }
            Action::Replace => format!("replace {what} with the saved rows"),
            Action::Conflict(why) => format!("CONFLICT: {what}: {why}"),
            Action::Skip => format!("skip {what}"),
        };
        match &self.note {
            Some(note) => format!("{action} ({note})"),
            None => action,
        }
    }
}

/// What an undo did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// One line per object: what was put back and how it was verified.
    pub done: Vec<String>,
}

fn side_table_name(object: &Object, id: &str) -> String {
    format!(
        "{}.{}",
        quote_ident(&object.schema),
        quote_ident(&format!("{}__undo_{}", object.table, id.replace('-', "_")))
    )
}

fn exists(client: &mut Client, regclass: &str) -> Result<bool> {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&regclass])
        .map(|r| r.get(0))
        .map_err(|e| backup_error(format!("cannot inspect the database: {e}")))
}

fn column_exists(client: &mut Client, object: &Object, column: &str) -> Result<bool> {
    client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) \
             AND attname = $2 AND attnum > 0 AND NOT attisdropped)",
            &[&object.qualified(), &column],
        )
        .map(|r| r.get(0))
        .map_err(|e| backup_error(format!("cannot inspect the database: {e}")))
}

/// Decides each object's step against the database as it is now.
pub fn plan(client: &mut Client, snapshot: &Snapshot, options: Options) -> Result<Vec<Step>> {
    let id = &snapshot.record.snapshot.id;
    let mut steps = Vec::new();
    for object in &snapshot.record.snapshot.objects {
        let table_exists = exists(client, &object.qualified())?;
        let side = || Action::SideTable(side_table_name(object, id));
        let (action, note) = match object.kind {
            ObjectKind::Table if table_exists => (
                Action::Conflict(format!(
                    "a table {} exists again; rename or drop it, then undo again",
                    object.qualified()
                )),
                None,
            ),
            ObjectKind::Table => (Action::Recreate, None),
            _ if !table_exists && object.kind != ObjectKind::Table => (
                Action::Conflict(format!("table {} no longer exists", object.qualified())),
                None,
            ),
            ObjectKind::TableData | ObjectKind::Rows if options.side_table => (side(), None),
            ObjectKind::TableData | ObjectKind::Rows => (Action::Reinsert, None),
            ObjectKind::Column => {
                let column = object.column.clone().unwrap_or_default();
                let mut key_present = !object.key.is_empty();
                for k in &object.key {
                    key_present &= column_exists(client, object, k)?;
                }
                if column_exists(client, object, &column)? && !options.side_table {
                    (
                        Action::Conflict(format!(
                            "column {column} exists again; rename or drop it, or undo with --side-table"
                        )),
                        None,
                    )
                } else if options.side_table {
                    (side(), None)
                } else if object.key.is_empty() {
                    (
                        side(),
                        Some("the table has no primary key to match the values by".into()),
                    )
                } else if !key_present {
                    (
                        side(),
                        Some("the table changed shape: its primary key columns are gone".into()),
                    )
                } else {
                    (Action::AddColumn, None)
                }
            }
            ObjectKind::UpdatedRows if options.side_table => (side(), None),
            ObjectKind::UpdatedRows if object.key.is_empty() => (
                side(),
                Some("the table has no primary key to match the rows by".into()),
            ),
            ObjectKind::UpdatedRows if snapshot.record.snapshot.after.is_none() => (
                side(),
                Some("what the command wrote was not recorded (it did not finish?)".into()),
            ),
            ObjectKind::UpdatedRows => (Action::PutBackValues, None),
            ObjectKind::VersionTable => (Action::Replace, None),
        };
        steps.push(Step {
            object: object.clone(),
            action,
            note,
        });
    }
    Ok(steps)
}

/// Runs the steps in one transaction. Any error (a conflict the database finds, a failed
/// check) rolls back everything and comes back naming it.
pub fn run(
    settings: &Settings,
    target: &Target,
    snapshot: &Snapshot,
    steps: &[Step],
) -> Result<Outcome> {
    if let Some(conflict) = steps.iter().find_map(|s| match &s.action {
        Action::Conflict(why) => Some(format!("{}: {why}", s.object.describe())),
        _ => None,
    }) {
        return Err(backup_error(format!("nothing was undone: {conflict}")));
    }
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    let server = crate::backup::dump::server_info(&mut client)?;
    let psql = tools::find("psql", server.major)?;
    drop(client);
    let mut child = Command::new(&psql.path)
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            "-",
        ])
        .envs(target.libpq_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| backup_error(format!("cannot run {}: {e}", psql.path.display())))?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let stdin = child.stdin.take().expect("piped");
    let written = write_script(
        std::io::BufWriter::with_capacity(1 << 20, stdin),
        settings,
        snapshot,
        steps,
    );
    let status = child
        .wait()
        .map_err(|e| backup_error(format!("psql failed: {e}")))?;
    let out = out_thread.join().unwrap_or_default();
    let errors = mask_secrets(err_thread.join().unwrap_or_default().trim());
    if !status.success() {
        return Err(backup_error(format!(
            "nothing was undone (rolled back): {}",
            explain(&errors)
        )));
    }
    if let Err(e) = written {
        return Err(backup_error(format!(
            "nothing was undone: cannot read the snapshot: {}",
            e.message
        )));
    }
    let mut outcome = Outcome::default();
    for step in steps {
        outcome.done.push(match &step.action {
            Action::Recreate => format!(
                "recreated {}: row count and content checksum match the snapshot",
                step.object.describe()
            ),
            Action::Reinsert => {
                format!("re-inserted {}: row count verified", step.object.describe())
            }
            Action::SideTable(t) => format!(
                "restored {} into {t}: row count verified; merge it yourself",
                step.object.describe()
            ),
            Action::AddColumn => format!("added back {}", step.object.describe()),
            Action::PutBackValues => continue, // psql reports how many rows got their values back
            Action::Replace => format!("replaced {}: row count verified", step.object.describe()),
            Action::Conflict(_) | Action::Skip => continue,
        });
    }
    for line in out.lines() {
        if let Some(report) = line.strip_prefix("dbguard: ") {
            outcome.done.push(report.to_string());
        }
    }
    Ok(outcome)
}

/// psql's error, shortened to what names the conflict: the ERROR and DETAIL lines.
fn explain(errors: &str) -> String {
    let lines: Vec<&str> = errors
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.split_once("ERROR:").map_or(l, |(_, rest)| rest).trim();
            let noise = ["CONTEXT:", "LINE ", "HINT:", "^"];
            (!l.is_empty() && !noise.iter().any(|n| l.starts_with(n))).then_some(l)
        })
        .map(|l| l.strip_prefix("DETAIL:").map(str::trim).unwrap_or(l))
        .take(3)
        .collect();
    if lines.is_empty() {
        "psql failed".into()
    } else {
        lines.join(" — ")
    }
}

fn check_count(
    out: &mut dyn Write,
    table: &str,
    expected: &str,
    what: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "DO $dbguard$ DECLARE dbguard_found bigint; BEGIN SELECT count(*) INTO dbguard_found FROM {table}; \
         IF dbguard_found <> {expected} THEN RAISE EXCEPTION 'dbguard: % holds % rows after undo, % expected', \
         {}, dbguard_found, {expected}; END IF; END $dbguard$;",
        quote_literal(what)
    )
}

fn columns_list(object: &Object) -> String {
    object
        .columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_defs(object: &Object) -> String {
    object
        .columns
        .iter()
        .map(|c| format!("{} {}", quote_ident(&c.name), c.type_name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_script<W: Write>(
    mut out: W,
    settings: &Settings,
    snapshot: &Snapshot,
    steps: &[Step],
) -> Result<()> {
    let io = |e: std::io::Error| backup_error(e.to_string());
    let mut reader = archive::Reader::new(snapshot::open(&snapshot.path, settings)?).map_err(io)?;
    writeln!(out, "SET client_min_messages = warning;").map_err(io)?;
    let mut index = 0usize;
    while let Some(header) = reader.next_section().map_err(io)? {
        if header == "manifest" {
            std::io::copy(&mut reader.body(), &mut std::io::sink()).map_err(io)?;
            continue;
        }
        let Some(step) = steps.get(index) else {
            break;
        };
        let written = write_step(
            &mut out,
            step,
            index,
            &mut reader.body(),
            snapshot,
            settings,
        );
        index += 1;
        if let Err(e) = written {
            // psql stopped reading (it hit an error): its message says why.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(io(e));
        }
    }
    out.flush().map_err(io)?;
    Ok(())
}

/// Copies a COPY-text section into the script, as the data of a `COPY … FROM stdin`.
fn copy_data(out: &mut dyn Write, body: &mut dyn Read) -> std::io::Result<()> {
    std::io::copy(body, out)?;
    writeln!(out, "\\.")
}

fn write_step(
    out: &mut dyn Write,
    step: &Step,
    index: usize,
    body: &mut dyn Read,
    snapshot: &Snapshot,
    settings: &Settings,
) -> std::io::Result<()> {
    let o = &step.object;
    let table = o.qualified();
    let rows = o.rows.to_string();
    let described = o.describe();
    match &step.action {
        Action::Conflict(_) | Action::Skip => {
            std::io::copy(body, &mut std::io::sink())?;
        }
        Action::Recreate => {
            std::io::copy(body, out)?;
            writeln!(out)?;
            for statement in &o.after_sql {
                writeln!(out, "{statement};")?;
            }
            check_count(out, &table, &rows, &described)?;
            if let Some(sum) = &o.checksum {
                writeln!(
                    out,
                    "DO $dbguard$ BEGIN IF ({}) <> {} THEN RAISE EXCEPTION \
                     'dbguard: the contents of % differ from the snapshot after undo', {}; \
                     END IF; END $dbguard$;",
                    checksum_sql(&table),
                    quote_literal(sum),
                    quote_literal(&table)
                )?;
            }
        }
        Action::Reinsert | Action::Replace => {
            writeln!(
                out,
                "CREATE TEMP TABLE __dbguard_before ON COMMIT DROP AS SELECT count(*) AS before_rows FROM {table};"
            )?;
            if step.action == Action::Replace {
                writeln!(out, "DELETE FROM {table};")?;
                writeln!(out, "UPDATE __dbguard_before SET before_rows = 0;")?;
            }
            writeln!(out, "COPY {table} ({}) FROM stdin;", columns_list(o))?;
            copy_data(out, body)?;
            for seq in &o.sequences {
                writeln!(
                    out,
                    "DO $dbguard$ BEGIN PERFORM pg_catalog.setval({}, {}, {}); END $dbguard$;",
                    quote_literal(&seq.name),
                    seq.last_value,
                    seq.is_called
                )?;
            }
            check_count(
                out,
                &table,
                &format!("(SELECT before_rows FROM __dbguard_before) + {rows}"),
                &described,
            )?;
            // Emptied before and refilled: the contents must be exactly the snapshot's.
            if let Some(sum) = &o.checksum {
                writeln!(
                    out,
                    "DO $dbguard$ BEGIN IF (SELECT before_rows FROM __dbguard_before) = 0 AND ({}) <> {} THEN \
                     RAISE EXCEPTION 'dbguard: the contents of % differ from the snapshot after undo', {}; \
                     END IF; END $dbguard$;",
                    checksum_sql(&table),
                    quote_literal(sum),
                    quote_literal(&table)
                )?;
            }
            writeln!(out, "DROP TABLE __dbguard_before;")?;
        }
        Action::SideTable(side) => {
            writeln!(out, "CREATE TABLE {side} ({});", column_defs(o))?;
            writeln!(out, "COPY {side} ({}) FROM stdin;", columns_list(o))?;
            copy_data(out, body)?;
            check_count(out, side, &rows, &described)?;
        }
        Action::AddColumn => {
            let column = o.column.clone().unwrap_or_default();
            let c = quote_ident(&column);
            let def = o.definition.clone().unwrap_or_default();
            let collate = def
                .collation
                .as_ref()
                .map(|c| format!(" COLLATE {c}"))
                .unwrap_or_default();
            // With its default, rows inserted since the drop get what they would have had.
            let default = def
                .default
                .as_ref()
                .map(|d| format!(" DEFAULT {d}"))
                .unwrap_or_default();
            writeln!(
                out,
                "ALTER TABLE {table} ADD COLUMN {c} {}{collate}{default};",
                def.type_name
            )?;
            writeln!(
                out,
                "CREATE TEMP TABLE __dbguard_column ({}) ON COMMIT DROP;",
                column_defs(o)
            )?;
            writeln!(
                out,
                "COPY __dbguard_column ({}) FROM stdin;",
                columns_list(o)
            )?;
            copy_data(out, body)?;
            let matches: Vec<String> = o
                .key
                .iter()
                .map(|k| format!("t.{0} = p.{0}", quote_ident(k)))
                .collect();
            writeln!(
                out,
                "UPDATE {table} AS t SET {c} = p.{c} FROM __dbguard_column p WHERE {};",
                matches.join(" AND ")
            )?;
            writeln!(
                out,
                "SELECT 'dbguard: ' || count(*) || ' of ' || {rows} || ' values of {} put back by primary key' \
                 FROM {table} AS t JOIN __dbguard_column p ON {};",
                column.replace('\'', "''"),
                matches.join(" AND ")
            )?;
            if def.not_null {
                writeln!(out, "ALTER TABLE {table} ALTER COLUMN {c} SET NOT NULL;")?;
            }
            for constraint in &def.constraints {
                writeln!(out, "{constraint};")?;
            }
            for index in &def.indexes {
                writeln!(out, "{index};")?;
            }
            if let Some(comment) = &def.comment {
                writeln!(
                    out,
                    "COMMENT ON COLUMN {table}.{c} IS {};",
                    quote_literal(comment)
                )?;
            }
            writeln!(out, "DROP TABLE __dbguard_column;")?;
        }
        Action::PutBackValues => {
            super::after::write_put_back(out, o, index, body, &snapshot.path, settings)?;
        }
    }
    Ok(())
}

/// The target a snapshot was taken from: the configured database when it is the same one
/// (it carries the password), else the snapshot's own host, port, user and database.
pub fn target_of(
    snapshot: &Snapshot,
    configured: Option<Target>,
    env: &dyn crate::target::Env,
) -> Result<Target> {
    let m = &snapshot.record.metadata;
    if let Some(t) = configured {
        if t.effective_dbname() == m.database && t.effective_port() == m.port {
            return Ok(t);
        }
    }
    let host = if m.host.starts_with('/') {
        format!("?host={}", m.host)
    } else {
        String::new()
    };
    let url = if host.is_empty() {
        format!(
            "postgresql://{}@{}:{}/{}",
            m.user, m.host, m.port, m.database
        )
    } else {
        format!("postgresql://{}@:{}/{}{host}", m.user, m.port, m.database)
    };
    Target::parse(&url)
        .map(|t| t.with_defaults(env))
        .map_err(|e| {
            Error::usage(format!(
                "cannot connect to the snapshot's database: {}",
                e.message
            ))
        })
}

//! Follows, in statement order, what a migration (one SQL file, one revision's `upgrade()` or
//! `downgrade()`, or every step of a plan) creates, fills and renames, so each operation is
//! judged against the objects as they will be when it runs, not as they are now:
//!
//! - a table created earlier is empty until something writes rows into it: dropping,
//!   truncating, deleting from or updating it loses nothing;
//! - a column added earlier holds no data of its own: setting it (a backfill) or dropping it
//!   loses nothing;
//! - a rename carries the data along: dropping the new name drops the old name's rows, and
//!   the finding names (and the guard weighs) the old name;
//! - what the simulation cannot follow (dynamic SQL, a statement nobody could parse, a
//!   function body, a conditional branch) makes it forget what it knew: fail closed.
//!
//! Pure: operations in, a verdict per operation out. The verdict is applied to the finding
//! (`apply`), so the guard's weighing only sees what is left to ask the database about.

use std::collections::{HashMap, HashSet};

use super::ops::{Contents, Context, Op, DYNAMIC};
use super::{Finding, ObjectRef, Severity};

/// What the simulation says about one operation's finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Unchanged,
    /// Nothing is at stake: the finding becomes `info`, with this reason.
    Lowered(String),
    /// The rows belong to an object that has another name now: the finding names it, and the
    /// guard weighs that one.
    Renamed {
        note: String,
        target: ObjectRef,
    },
    /// The database as it is now says nothing about this object (an earlier statement created
    /// or renamed it, then the simulation lost track): the finding stays, and is not weighed.
    NotWeighable,
}

/// Where an object got its state: the migration it happened in.
#[derive(Clone, Debug)]
enum State {
    /// No rows: created (by `unit`) and not written to since.
    Empty {
        unit: String,
    },
    /// The rows of `origin` (as written), renamed since.
    RenamedFrom {
        origin: String,
        unit: String,
    },
    Unknown,
}

#[derive(Clone, Debug)]
struct Table {
    state: State,
    /// Columns added since (key → the unit that added it).
    added: HashMap<String, String>,
    /// Columns renamed since: key of the new name → (the original name, the unit).
    renamed: HashMap<String, (String, String)>,
}

impl Table {
    fn unknown() -> Table {
        Table {
            state: State::Unknown,
            added: HashMap::new(),
            renamed: HashMap::new(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Simulation {
    tables: HashMap<String, Table>,
    /// Tables (and `table.column`s) an earlier statement created, dropped or renamed: what
    /// the database holds under these names now is not what later statements will find.
    touched: HashSet<String>,
    /// The migration being followed ("revision abc" in a plan; empty for one file).
    unit: String,
}

impl Simulation {
    pub fn new() -> Simulation {
        Simulation::default()
    }

    /// The operations that follow belong to `unit` (a revision, in a plan of several).
    pub fn begin(&mut self, unit: impl Into<String>) {
        self.unit = unit.into();
    }

    /// Forgets everything about every table (what was touched stays touched).
    pub fn reset_all(&mut self) {
        self.tables.clear();
    }

    fn reset(&mut self, name: &str) {
        self.tables.remove(&key(name));
    }

    /// "earlier in this migration", or which earlier step of the plan.
    fn when(&self, unit: &str) -> String {
        if unit == self.unit {
            "earlier in this migration".to_string()
        } else {
            format!("by {unit}, an earlier step of this plan")
        }
    }

    /// Judges one operation against what is known, then records what it changes.
    pub fn step(&mut self, op: &Op, ctx: &Context) -> Outcome {
        // Another database's objects are not these.
        if ctx.remote {
            return Outcome::Unchanged;
        }
        if names(op).iter().any(|n| n.contains(DYNAMIC) || unknown(n)) {
            self.reset_all();
            return Outcome::Unchanged;
        }
        match op {
            Op::DynamicSql { .. } | Op::Unparsed { .. } | Op::SwitchesNames { .. } => {
                self.reset_all();
                return Outcome::Unchanged;
            }
            _ => {}
        }
        // A function or rule body runs later, when the tables hold who knows what: it is
        // judged as it is, and what it names is forgotten.
        if ctx.deferred {
            for name in names(op) {
                self.reset(&name);
            }
            return Outcome::Unchanged;
        }
        let outcome = self.judge(op);
        if ctx.conditional {
            // It may or may not run: what it names is unknown afterwards.
            match op {
                Op::AddColumn { table, column } | Op::DropColumn { table, column } => {
                    self.touched.insert(column_key(table, column));
                }
                Op::RenameColumn { table, from, to } => {
                    self.touched.insert(column_key(table, from));
                    self.touched.insert(column_key(table, to));
                }
                // Rows written or changed on some paths leave the table's name as it was.
                Op::Insert { .. }
                | Op::Update { .. }
                | Op::Delete { .. }
                | Op::Truncate { .. }
                | Op::MergeDelete { .. } => {}
                _ => {
                    for name in names(op) {
                        self.touched.insert(key(&name));
                    }
                }
            }
            for name in names(op) {
                self.reset(&name);
            }
        } else {
            self.record(op);
        }
        outcome
    }

    fn judge(&self, op: &Op) -> Outcome {
        match op {
            Op::DropTable { name }
            | Op::Truncate { table: name }
            | Op::Delete { table: name, .. }
            | Op::MergeDelete { table: name } => self.rows(name, None),
            Op::Update { table, columns, .. } => {
                let outcome = self.rows(table, None);
                if matches!(outcome, Outcome::Lowered(_)) {
                    return outcome;
                }
                let Some(t) = self.tables.get(&key(table)) else {
                    return outcome;
                };
                let added: Option<Vec<&String>> =
                    columns.iter().map(|c| t.added.get(&key(c))).collect();
                match added {
                    Some(units) if !columns.is_empty() => {
                        let when = self.when(units[0]);
                        let (noun, verb) = if columns.len() == 1 {
                            ("column", "was")
                        } else {
                            ("columns", "were")
                        };
                        Outcome::Lowered(format!(
                            "a backfill: {noun} {} of {table} {verb} added {when} and hold{} no data of {} own",
                            columns.join(", "),
                            if columns.len() == 1 { "s" } else { "" },
                            if columns.len() == 1 { "its" } else { "their" },
                        ))
                    }
                    _ => outcome,
                }
            }
            Op::DropColumn { table, column } => {
                let outcome = self.rows(table, Some(column));
                if matches!(outcome, Outcome::Lowered(_)) {
                    return outcome;
                }
                let t = self.tables.get(&key(table));
                if let Some(unit) = t.and_then(|t| t.added.get(&key(column))) {
                    return Outcome::Lowered(format!(
                        "column {column} of {table} was added {} and holds no data of its own",
                        self.when(unit)
                    ));
                }
                let renamed = t.and_then(|t| t.renamed.get(&key(column)));
                match (outcome, renamed) {
                    (Outcome::Renamed { note, mut target }, Some((original, _))) => {
                        target.column = Some(original.clone());
                        Outcome::Renamed { note, target }
                    }
                    (Outcome::Renamed { note, target }, None) => Outcome::Renamed { note, target },
                    (_, Some((original, unit))) => Outcome::Renamed {
                        note: format!(
                            "{column} is column {original}, renamed {}: its data is {original}'s",
                            self.when(unit)
                        ),
                        target: ObjectRef {
                            table: table.clone(),
                            column: Some(original.clone()),
                        },
                    },
                    (Outcome::NotWeighable, None) => Outcome::NotWeighable,
                    _ if self.touched.contains(&column_key(table, column)) => Outcome::NotWeighable,
                    _ => Outcome::Unchanged,
                }
            }
            _ => Outcome::Unchanged,
        }
    }

    /// What a statement removing or rewriting rows of `table` finds there.
    fn rows(&self, table: &str, column: Option<&String>) -> Outcome {
        match self.tables.get(&key(table)).map(|t| &t.state) {
            Some(State::Empty { unit }) => Outcome::Lowered(format!(
                "table {table} was created {} and holds no rows yet",
                self.when(unit)
            )),
            Some(State::RenamedFrom { origin, unit }) => Outcome::Renamed {
                note: format!(
                    "{table} is table {origin}, renamed {}: these are {origin}'s rows",
                    self.when(unit)
                ),
                target: ObjectRef {
                    table: origin.clone(),
                    column: column.cloned(),
                },
            },
            _ if self.touched.contains(&key(table)) => Outcome::NotWeighable,
            _ => Outcome::Unchanged,
        }
    }

    fn record(&mut self, op: &Op) {
        let unit = self.unit.clone();
        match op {
            Op::CreateTable {
                name,
                if_not_exists,
                data,
            } => {
                let k = key(name);
                if *if_not_exists && !self.touched.contains(&k) {
                    // The table there now, if any, is what later statements find; if there
                    // is none, an empty one: the database as it is now tells which.
                    return;
                }
                self.touched.insert(k.clone());
                let empty = !*if_not_exists
                    && match data {
                        Contents::Empty => true,
                        Contents::RowsOf(sources) => sources.iter().all(|s| {
                            matches!(
                                self.tables.get(&key(s)).map(|t| &t.state),
                                Some(State::Empty { .. })
                            )
                        }),
                        Contents::Unknown => false,
                    };
                if empty {
                    let mut table = Table::unknown();
                    table.state = State::Empty { unit };
                    self.tables.insert(k, table);
                } else {
                    self.tables.remove(&k);
                }
            }
            Op::AddColumn { table, column } => {
                self.touched.insert(column_key(table, column));
                let t = self.tables.entry(key(table)).or_insert_with(Table::unknown);
                t.renamed.remove(&key(column));
                t.added.insert(key(column), unit);
            }
            Op::Insert { table } => {
                // Rows now, and values in the added columns too.
                if let Some(t) = self.tables.get_mut(&key(table)) {
                    if matches!(t.state, State::Empty { .. }) {
                        t.state = State::Unknown;
                    }
                    t.added.clear();
                }
            }
            Op::DropTable { name } => {
                self.touched.insert(key(name));
                self.reset(name);
            }
            Op::DropColumn { table, column } => {
                self.touched.insert(column_key(table, column));
                if let Some(t) = self.tables.get_mut(&key(table)) {
                    t.added.remove(&key(column));
                    t.renamed.remove(&key(column));
                }
            }
            Op::RenameTable { from, to } => {
                let to = renamed_name(from, to);
                let (from_key, to_key) = (key(from), key(&to));
                // Renaming a name an earlier statement touched: its rows are not the ones
                // the database holds under that name now.
                let was_touched = self.touched.contains(&from_key);
                self.touched.insert(from_key.clone());
                self.touched.insert(to_key.clone());
                let mut table = self.tables.remove(&from_key).unwrap_or_else(Table::unknown);
                table.state = match table.state {
                    State::Empty { unit } => State::Empty { unit },
                    State::RenamedFrom { origin, unit } => State::RenamedFrom { origin, unit },
                    State::Unknown if was_touched => State::Unknown,
                    State::Unknown => State::RenamedFrom {
                        origin: from.clone(),
                        unit,
                    },
                };
                self.tables.insert(to_key, table);
            }
            Op::RenameColumn { table, from, to } => {
                self.touched.insert(column_key(table, from));
                self.touched.insert(column_key(table, to));
                let t = self.tables.entry(key(table)).or_insert_with(Table::unknown);
                if let Some(added) = t.added.remove(&key(from)) {
                    t.added.insert(key(to), added);
                } else {
                    let original = t
                        .renamed
                        .remove(&key(from))
                        .unwrap_or_else(|| (from.clone(), unit));
                    t.renamed.insert(key(to), original);
                }
            }
            _ => {}
        }
    }
}

/// The tables an operation names.
fn names(op: &Op) -> Vec<String> {
    match op {
        Op::DropTable { name } => vec![name.clone()],
        Op::Truncate { table }
        | Op::Delete { table, .. }
        | Op::Update { table, .. }
        | Op::MergeDelete { table }
        | Op::DropColumn { table, .. }
        | Op::AlterColumnType { table, .. }
        | Op::SetNotNull { table, .. }
        | Op::RenameColumn { table, .. }
        | Op::AddColumn { table, .. }
        | Op::Insert { table } => vec![table.clone()],
        Op::CreateTable { name, .. } => vec![name.clone()],
        Op::RenameTable { from, to } => vec![from.clone(), renamed_name(from, to)],
        _ => Vec::new(),
    }
}

/// Names dbguard could not read (`<expression>`, `?`, `<every table of …>`).
fn unknown(name: &str) -> bool {
    name.is_empty() || name == "?" || name.starts_with('<')
}

/// `ALTER TABLE s.a RENAME TO b` renames `s.a` to `s.b`: the new name keeps the schema.
fn renamed_name(from: &str, to: &str) -> String {
    if split(to).len() > 1 {
        return to.to_string();
    }
    let parts = split(from);
    match parts.split_last() {
        Some((_, schema)) if !schema.is_empty() => format!("{}.{to}", schema.join(".")),
        _ => to.to_string(),
    }
}

/// The parts of a qualified name as written (dots inside quotes do not split).
fn split(name: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in name.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                parts.last_mut().unwrap().push(c);
            }
            '.' if !quoted => parts.push(String::new()),
            _ => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

/// A name as PostgreSQL resolves it: unquoted parts fold to lower case, quoted ones keep
/// their case (a schema-qualified name stays distinct from the bare one: the search path
/// decides, and the simulation does not guess).
fn key(name: &str) -> String {
    split(name.trim())
        .iter()
        .map(
            |part| match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => part.to_lowercase(),
            },
        )
        .collect::<Vec<_>>()
        .join(".")
}

fn column_key(table: &str, column: &str) -> String {
    format!("{}\u{0}{}", key(table), key(column))
}

/// Applies the simulation's verdict to the finding made from the same operation.
pub fn apply(outcome: Outcome, finding: &mut Finding) {
    match outcome {
        Outcome::Unchanged => {}
        Outcome::Lowered(why) => {
            if finding.severity > Severity::Info {
                finding.severity = Severity::Info;
                finding.message = format!("{} — no data at stake: {why}", finding.message);
            }
            // Nothing by that name in the database now is what this statement will meet.
            finding.target = None;
        }
        Outcome::Renamed { note, target } => {
            finding.message = format!("{} ({note})", finding.message);
            finding.target = Some(target);
        }
        Outcome::NotWeighable => finding.target = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::check::check_text;

    /// `(rule, severity, message)` of each finding of a SQL text.
    fn findings(sql: &str) -> Vec<(String, Severity, String, Option<String>)> {
        check_text(sql, "t.sql")
            .remove(0)
            .findings
            .into_iter()
            .map(|f| {
                (
                    f.rule.to_string(),
                    f.severity,
                    f.message,
                    f.target.map(|t| match t.column {
                        Some(c) => format!("{}.{c}", t.table),
                        None => t.table,
                    }),
                )
            })
            .collect()
    }

    #[test]
    fn tables_created_earlier_are_empty() {
        let got = findings(
            "CREATE TABLE tmp (id int);\nINSERT INTO other SELECT 1;\nDELETE FROM tmp;\nTRUNCATE tmp;\nDROP TABLE tmp;\nDROP TABLE tmp;\n",
        );
        assert_eq!(got[0].1, Severity::Info, "{got:?}");
        assert!(
            got[0]
                .2
                .contains("no data at stake: table tmp was created earlier in this migration"),
            "{got:?}"
        );
        assert_eq!(got[1].1, Severity::Info);
        assert_eq!(got[2].1, Severity::Info);
        assert_eq!(got[2].3, None, "not weighed");
        // Dropped already: another `tmp` (search path) may be what the second drop finds.
        assert_eq!(got[3].1, Severity::DataLoss);
        assert_eq!(got[3].3, None, "not weighed against today's tmp");
    }

    #[test]
    fn rows_written_into_a_created_table_count() {
        let got = findings("CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\nDROP TABLE c;\n");
        assert_eq!(got[0].1, Severity::DataLoss, "{got:?}");
        let got = findings("CREATE TABLE IF NOT EXISTS c (id int);\nDROP TABLE c;\n");
        assert_eq!(got[0].1, Severity::DataLoss, "{got:?}");
        assert_eq!(
            got[0].3.as_deref(),
            Some("c"),
            "weighed: today's c is what it drops"
        );
    }

    #[test]
    fn create_table_as_is_empty_only_from_empty_sources() {
        let got = findings(
            "CREATE TABLE a (id int);\nCREATE TABLE b AS SELECT * FROM a;\nDROP TABLE b;\n\
             CREATE TABLE c AS SELECT * FROM users;\nDROP TABLE c;\n",
        );
        assert_eq!(got[0].1, Severity::Info, "{got:?}");
        assert_eq!(got[1].1, Severity::DataLoss, "{got:?}");
    }

    #[test]
    fn backfills_of_added_columns() {
        let got = findings(
            "ALTER TABLE users ADD COLUMN email text;\n\
             UPDATE users SET email = name || '@example.com';\n\
             UPDATE users SET email = 'x', name = 'y';\n\
             ALTER TABLE users DROP COLUMN email;\n\
             ALTER TABLE users DROP COLUMN email;\n",
        );
        assert_eq!(got[0].0, "update-without-where");
        assert_eq!(got[0].1, Severity::Info, "{got:?}");
        assert!(
            got[0]
                .2
                .contains("a backfill: column email of users was added earlier in this migration"),
            "{got:?}"
        );
        assert_eq!(got[1].1, Severity::DataLoss, "name is not new: {got:?}");
        assert_eq!(got[2].1, Severity::Info, "{got:?}");
        assert_eq!(got[3].1, Severity::DataLoss, "{got:?}");
        assert_eq!(got[3].3, None, "dropped already: not weighed");
    }

    #[test]
    fn renames_carry_the_data() {
        let got = findings("ALTER TABLE a RENAME TO b;\nDROP TABLE b;\n");
        assert_eq!(got[1].0, "drop-table");
        assert_eq!(got[1].1, Severity::DataLoss);
        assert!(
            got[1]
                .2
                .contains("b is table a, renamed earlier in this migration"),
            "{got:?}"
        );
        assert_eq!(got[1].3.as_deref(), Some("a"));
        let got = findings("ALTER TABLE s.a RENAME TO b;\nTRUNCATE s.b;\n");
        assert_eq!(got[1].3.as_deref(), Some("s.a"), "{got:?}");
        let got = findings("ALTER TABLE a SET SCHEMA archive;\nDROP TABLE archive.a;\n");
        assert_eq!(got[1].3.as_deref(), Some("a"), "{got:?}");
        let got =
            findings("ALTER TABLE t RENAME COLUMN old TO new;\nALTER TABLE t DROP COLUMN new;\n");
        assert_eq!(got[1].1, Severity::DataLoss);
        assert_eq!(got[1].3.as_deref(), Some("t.old"), "{got:?}");
        // A created table renamed is still empty.
        let got = findings("CREATE TABLE n (id int);\nALTER TABLE n RENAME TO m;\nDROP TABLE m;\n");
        assert_eq!(got[1].1, Severity::Info, "{got:?}");
        let got = findings("ALTER TABLE t ADD COLUMN c int;\nALTER TABLE t RENAME COLUMN c TO d;\nALTER TABLE t DROP COLUMN d;\n");
        assert_eq!(got[1].1, Severity::Info, "{got:?}");
    }

    #[test]
    fn what_cannot_be_followed_resets_knowledge() {
        for between in [
            "DO $$ BEGIN EXECUTE v_sql; END $$;",
            "FROBNICATE tmp;",
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ INSERT INTO tmp VALUES (1) $$;",
            "SET search_path = archive, public;",
            "SELECT set_config('search_path', 'archive', false);",
            "\\c other_db",
        ] {
            let sql = format!("CREATE TABLE tmp (id int);\n{between}\nDROP TABLE tmp;\n");
            let got = findings(&sql);
            let drop = got
                .iter()
                .find(|f| f.0 == "drop-table" && f.2.contains("tmp"))
                .unwrap();
            assert_eq!(drop.1, Severity::DataLoss, "{between}: {got:?}");
            assert_eq!(drop.3, None, "{between}: created here, not weighed");
        }
    }

    #[test]
    fn included_files_reset_knowledge() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fill.sql"), "INSERT INTO tmp VALUES (1);\n").unwrap();
        let main = dir.path().join("main.sql");
        std::fs::write(
            &main,
            "CREATE TABLE tmp (id int);\n\\ir fill.sql\nDROP TABLE tmp;\n",
        )
        .unwrap();
        let reports = crate::analysis::check::check_file(&main, "main.sql");
        let drop = reports[0]
            .findings
            .iter()
            .find(|f| f.rule == "drop-table")
            .unwrap();
        assert_eq!(drop.severity, Severity::DataLoss, "{drop:?}");
    }

    #[test]
    fn keys_fold_like_postgres() {
        assert_eq!(key("Public.Users"), "public.users");
        assert_eq!(key("\"Users\""), "Users");
        assert_eq!(key("\"a.b\".c"), "a.b.c");
        assert_eq!(renamed_name("s.a", "b"), "s.b");
        assert_eq!(renamed_name("a", "s.b"), "s.b");
    }
}

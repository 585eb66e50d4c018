//! The operations dbguard cares about, independent of where they were found. The SQL parser,
//! the token-level fallback and the alembic analyzer all produce `Op`s; the rules in
//! `rules/` turn them into findings. This is what makes every path report the same rule ids.

/// Stands in for a part of dynamically built SQL dbguard cannot see (a variable, a `%I`).
/// It is a valid identifier so the built text still parses; it is shown as `<dynamic>`.
pub const DYNAMIC: &str = "__dbguard_dynamic__";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    DropDatabase {
        name: String,
    },
    DropSchema {
        name: String,
    },
    DropTable {
        name: String,
    },
    DropColumn {
        table: String,
        column: String,
    },
    /// `ALTER TYPE t DROP ATTRIBUTE a`: the attribute goes from every stored value of the
    /// composite type, in whichever tables use it.
    DropAttribute {
        type_name: String,
        attribute: String,
    },
    Truncate {
        table: String,
    },
    Delete {
        table: String,
        has_where: bool,
    },
    Update {
        table: String,
        has_where: bool,
        /// The columns it sets (`SET a = …, (b, c) = …`); empty when not known.
        columns: Vec<String>,
    },
    DropOwned {
        roles: String,
    },
    /// DROP TYPE / DOMAIN / EXTENSION; with `cascade` it takes dependent columns with it.
    DropType {
        kind: &'static str,
        names: String,
        cascade: bool,
    },
    DropView {
        name: String,
        materialized: bool,
    },
    DropIndex {
        name: String,
    },
    DropConstraint {
        table: String,
        name: String,
    },
    DropSequence {
        name: String,
    },
    DropFunction {
        kind: &'static str,
        name: String,
    },
    /// DROP TRIGGER / RULE / POLICY.
    DropTrigger {
        kind: &'static str,
        name: String,
    },
    DropRole {
        names: String,
    },
    AlterColumnType {
        table: String,
        column: String,
        new_type: String,
    },
    SetNotNull {
        table: String,
        column: String,
    },
    RenameTable {
        from: String,
        to: String,
    },
    RenameColumn {
        table: String,
        from: String,
        to: String,
    },
    MergeDelete {
        table: String,
    },
    /// SQL dbguard cannot see: `EXECUTE v_sql`, a DO block in another language, …
    DynamicSql {
        detail: String,
    },
    /// Neither the parser nor the fallback could classify the statement.
    Unparsed {
        reason: String,
    },
    /// An alembic `downgrade()` that raises instead of undoing its revision.
    IrreversibleDowngrade {
        detail: String,
    },
    /// A table or column comment removed (alembic's `op.drop_table_comment`).
    DropComment {
        target: String,
    },
    // Facts: no rule reports them; the simulation (`simulate.rs`) follows them to know what
    // a migration created, filled and renamed before a later statement runs.
    /// CREATE TABLE / `op.create_table`.
    CreateTable {
        name: String,
        /// `IF NOT EXISTS`: the table may already be there, with its rows.
        if_not_exists: bool,
        data: Contents,
    },
    /// ALTER TABLE … ADD COLUMN / `op.add_column` (not `IF NOT EXISTS`).
    AddColumn {
        table: String,
        column: String,
    },
    /// Rows written into a table: INSERT, COPY … FROM, MERGE … INSERT, `op.bulk_insert`,
    /// `session.add`.
    Insert {
        table: String,
    },
    /// What names mean changes: `SET search_path`, psql's `\c`.
    SwitchesNames {
        detail: String,
    },
}

/// What a table holds right after it is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// Nothing (a column list, `LIKE`, `WITH NO DATA`).
    Empty,
    /// The rows of a query over these tables only: empty when all of them are.
    RowsOf(Vec<String>),
    /// Rows dbguard cannot tell anything about.
    Unknown,
}

/// Where an operation was found, which changes how it is reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// Runs in another database (`dblink_exec`, `cron.schedule_in_database`): the names in
    /// it are not this database's.
    pub remote: bool,
    /// Inside a function, procedure or rule body: it runs later, when called, not now.
    pub deferred: bool,
    /// Found by the token-level fallback because the SQL parser rejected the statement.
    pub fallback: bool,
    /// Part of the SQL was built at run time (a variable or format placeholder).
    pub dynamic: bool,
    /// Runs only on some paths (an alembic call inside `if dialect == …`, an `except`).
    pub conditional: bool,
}

/// An operation with its byte range in the analysed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub op: Op,
    pub start: usize,
    pub end: usize,
    /// The byte range of the top-level statement it belongs to (where allow annotations and
    /// the excerpt are taken from).
    pub statement: std::ops::Range<usize>,
    pub context: Context,
    /// For a DELETE or UPDATE parsed as a whole top-level statement: its exact text, from
    /// which the guard derives a read-only count of the rows it touches (`guard::impact`).
    pub sql: Option<String>,
}

impl Op {
    /// A fact for the simulation, which no rule reports.
    pub fn is_fact(&self) -> bool {
        matches!(
            self,
            Op::CreateTable { .. }
                | Op::AddColumn { .. }
                | Op::Insert { .. }
                | Op::SwitchesNames { .. }
        )
    }

    /// The table (and column) whose rows the operation removes or rewrites, when dbguard can
    /// name it (not for dynamic SQL).
    pub fn data_target(&self) -> Option<crate::analysis::ObjectRef> {
        use crate::analysis::ObjectRef;
        let (table, column) = match self {
            Op::DropTable { name } => (name, None),
            Op::Truncate { table } | Op::Delete { table, .. } | Op::Update { table, .. } => {
                (table, None)
            }
            Op::DropColumn { table, column } => (table, Some(column)),
            _ => return None,
        };
        // `<…>` stands for what dbguard could not name (`<table of User>`, `<expression>`).
        let known =
            |s: &str| !s.contains(DYNAMIC) && !s.is_empty() && s != "?" && !s.starts_with('<');
        (known(table) && column.is_none_or(|c| known(c))).then(|| ObjectRef {
            table: table.clone(),
            column: column.cloned(),
        })
    }
}

/// Makes a name from dynamic SQL readable.
pub fn display_name(name: &str) -> String {
    name.replace(DYNAMIC, "<dynamic>")
}

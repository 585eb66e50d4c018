//! What a snapshot holds, as written in its sidecar (beside the backup metadata every stored
//! dump has) and in the archive's manifest section.

use serde::{Deserialize, Serialize};

use crate::backup::catalog::Metadata;

/// How an object's pre-image was saved, which decides how `undo` puts it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// A dropped table: `pg_dump -Fp -t` (definition, data, indexes, constraints, owned
    /// sequences, dependents), recreated by undo.
    Table,
    /// A truncated or emptied table: all its rows and its owned sequences' values,
    /// re-inserted by undo.
    TableData,
    /// The rows a `DELETE … WHERE` matches, whole; re-inserted by undo.
    Rows,
    /// The rows an `UPDATE` matches, whole; undo puts the old values back by primary key
    /// where the row still holds what the command wrote.
    UpdatedRows,
    /// A dropped column: the primary key (or the whole row) and the column's values, with
    /// its definition; undo adds it back and fills it by key.
    Column,
    /// alembic's `alembic_version`: replaced as a whole by undo.
    VersionTable,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::TableData => "table-data",
            ObjectKind::Rows => "rows",
            ObjectKind::UpdatedRows => "updated-rows",
            ObjectKind::Column => "column",
            ObjectKind::VersionTable => "version-table",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnType {
    pub name: String,
    /// `format_type()`: e.g. `character varying(20)`, `integer`.
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceValue {
    /// Qualified and quoted, e.g. `public.users_id_seq`.
    pub name: String,
    pub last_value: i64,
    pub is_called: bool,
}

/// A dropped column's definition, enough to add it back as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDefinition {
    #[serde(rename = "type")]
    pub type_name: String,
    pub collation: Option<String>,
    pub default: Option<String>,
    pub not_null: bool,
    /// `ALTER TABLE … ADD CONSTRAINT …` for every constraint on the column.
    pub constraints: Vec<String>,
    /// `CREATE INDEX …` for indexes on the column that are not constraints.
    pub indexes: Vec<String>,
    pub comment: Option<String>,
}

/// One object at stake and its pre-image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    pub kind: ObjectKind,
    pub schema: String,
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Rows saved.
    pub rows: i64,
    /// The columns of the COPY section, in order (empty for `table`).
    #[serde(default)]
    pub columns: Vec<ColumnType>,
    /// Primary key columns (empty: none).
    #[serde(default)]
    pub key: Vec<String>,
    /// md5 over the table's sorted row texts, for tables (`table`, `table-data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    #[serde(default)]
    pub sequences: Vec<SequenceValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<ColumnDefinition>,
    /// Views dumped with a dropped table (a CASCADE would drop them).
    #[serde(default)]
    pub dependents: Vec<String>,
    /// Statements that complete a recreated table: the foreign keys of other tables that
    /// pointed at it (a CASCADE drops them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_sql: Vec<String>,
    /// Uncompressed bytes of its section.
    pub bytes: u64,
}

impl Object {
    /// `schema.table` quoted for SQL.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }

    /// What it is, for people: `rows of public.users (990)`.
    pub fn describe(&self) -> String {
        let t = format!("{}.{}", self.schema, self.table);
        let rows = crate::guard::weigh::group_digits(self.rows);
        match self.kind {
            ObjectKind::Table => format!("table {t} ({rows} rows)"),
            ObjectKind::TableData => format!("all rows of {t} ({rows})"),
            ObjectKind::Rows => format!("{rows} deleted rows of {t}"),
            ObjectKind::UpdatedRows => format!("{rows} updated rows of {t}"),
            ObjectKind::Column => format!(
                "column {}.{} ({rows} values)",
                t,
                self.column.as_deref().unwrap_or("?")
            ),
            ObjectKind::VersionTable => format!("{t} ({rows} rows)"),
        }
    }
}

/// The snapshot part of a snapshot's sidecar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Short id: `dbguard undo ID`, and the side tables' suffix.
    pub id: String,
    /// The command it protects, secrets masked.
    pub command: String,
    pub objects: Vec<Object>,
    /// After an UPDATE ran: the digest of each updated row, to tell rows the command wrote
    /// from rows changed since (`<snapshot>.after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<AfterImage>,
    /// Set when `dbguard undo` put it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterImage {
    pub sha256: String,
    pub rows: i64,
}

/// A snapshot's sidecar: the backup metadata (so the catalog, verify and retention read it
/// like any stored dump) plus what it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub metadata: Metadata,
    pub snapshot: SnapshotInfo,
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

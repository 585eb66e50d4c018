//! The database's current alembic revision(s): the rows of `alembic_version`, read through
//! the `postgres` crate. A missing or empty table means "base" (nothing applied), as alembic
//! reads it.

use crate::target::{mask_secrets, Target};

/// What the database says, or why it could not be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// The current heads (empty: base).
    Known(Vec<String>),
    /// There is no `alembic_version` table: base, as alembic reads it.
    NoVersionTable,
    /// The database could not be read; the reason is already masked.
    Unknown(String),
}

/// Reads the current heads from `alembic_version` in the target database.
pub fn read(target: &Target) -> State {
    let mut client = match target.connect() {
        Ok(client) => client,
        Err(err) => return State::Unknown(err.message),
    };
    let exists = client.query_one("SELECT to_regclass('alembic_version') IS NOT NULL", &[]);
    match exists {
        Ok(row) if !row.get::<_, bool>(0) => return State::NoVersionTable,
        Ok(_) => {}
        Err(err) => return State::Unknown(mask_secrets(&err.to_string())),
    }
    match client.query("SELECT version_num::text FROM alembic_version", &[]) {
        Ok(rows) => {
            // Table order, as alembic reads it (it matters for `downgrade -1` from several heads).
            State::Known(rows.iter().map(|r| r.get(0)).collect())
        }
        Err(err) => State::Unknown(format!(
            "cannot read alembic_version: {}",
            mask_secrets(&err.to_string())
        )),
    }
}

//! Who a URL really reaches: the cluster's identity and the database, asked of the server.
//!
//! Host names, ports and aliases can all differ while landing on the same server (a second
//! name, an alias port, an SSH or socat forward). The server knows who it is: the
//! `system_identifier` that initdb gave the cluster (`pg_control_system()`), plus the current
//! database's name.

use postgres::{Client, NoTls};

use crate::target::{mask_secrets, Target};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The cluster's identity: `system_identifier`, or the postmaster start time where the
    /// role may not read `pg_control_system()`.
    pub cluster: String,
    /// What `cluster` is, for messages ("system identifier").
    pub cluster_kind: &'static str,
    pub database: String,
    /// Whether `database` exists (the identity was read through the `postgres` database
    /// when it does not).
    pub exists: bool,
    /// The database's comment, where the test-database marker lives.
    pub comment: Option<String>,
}

/// Connects to `target` and asks who it is. The error is one printable line (masked).
pub fn probe(target: &Target) -> Result<Identity, String> {
    let dbname = target.effective_dbname();
    let (mut client, exists) = match connect(target, None) {
        Ok(client) => (client, true),
        // The database does not exist yet: its cluster can still say who it is.
        Err(e) if e.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME) => {
            match connect(target, Some("postgres")) {
                Ok(client) => (client, false),
                Err(_) => return Err(describe(&e)),
            }
        }
        Err(e) => return Err(describe(&e)),
    };
    let (cluster, cluster_kind) = cluster_identity(&mut client)?;
    let comment = if exists {
        client
            .query_one(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database \
                 WHERE datname = current_database()",
                &[],
            )
            .map_err(|e| describe(&e))?
            .get(0)
    } else {
        None
    };
    Ok(Identity {
        cluster,
        cluster_kind,
        database: dbname,
        exists,
        comment,
    })
}

pub fn connect(target: &Target, dbname: Option<&str>) -> Result<Client, postgres::Error> {
    let mut config = target.client_config();
    if let Some(dbname) = dbname {
        config.dbname(dbname);
    }
    if !target.params.contains_key("connect_timeout") {
        // A dead host should not hold up a pre-test check for long.
        config.connect_timeout(std::time::Duration::from_secs(5));
    }
    config.connect(NoTls)
}

fn cluster_identity(client: &mut Client) -> Result<(String, &'static str), String> {
    match client.query_one(
        "SELECT system_identifier::text FROM pg_control_system()",
        &[],
    ) {
        Ok(row) => Ok((row.get(0), "system identifier")),
        // Should a role be denied pg_control_system(), the postmaster's start time
        // (microseconds) tells clusters apart just as well in practice.
        Err(_) => client
            .query_one("SELECT pg_postmaster_start_time()::text", &[])
            .map(|row| (row.get(0), "server start time"))
            .map_err(|e| describe(&e)),
    }
}

/// The server's own message when there is one (`postgres::Error` alone says "db error").
pub fn describe(error: &postgres::Error) -> String {
    let text = match (error.as_db_error(), std::error::Error::source(error)) {
        (Some(db), _) => db.message().to_string(),
        (None, Some(source)) => format!("{error}: {source}"),
        (None, None) => error.to_string(),
    };
    mask_secrets(&text)
}

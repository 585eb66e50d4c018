//! Other sessions connected to a database: a restore replaces every object, so they either
//! block it (their locks) or write into it half-way. They are listed before a restore, and
//! ended on request (`--terminate-connections`).

use crate::error::Result;
use crate::target::Target;

use super::verify::backup_error;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Session {
    pub pid: i32,
    pub user: String,
    pub application: String,
    pub client: String,
    pub state: String,
}

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} {} from {}{} ({})",
            self.pid,
            self.user,
            self.client,
            if self.application.is_empty() {
                String::new()
            } else {
                format!(" [{}]", self.application)
            },
            self.state
        )
    }
}

/// Client sessions on `target`'s database other than dbguard's own (its connections are
/// named `dbguard`; one just closed may linger a moment).
pub fn others(client: &mut postgres::Client, database: &str) -> Result<Vec<Session>> {
    let rows = client
        .query(
            "SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), \
             coalesce(host(client_addr), 'local socket'), coalesce(state, '') \
             FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
             AND backend_type = 'client backend' AND application_name <> 'dbguard' ORDER BY pid",
            &[&database],
        )
        .map_err(|e| backup_error(format!("cannot list the sessions on {database}: {e}")))?;
    Ok(rows
        .iter()
        .map(|r| Session {
            pid: r.get(0),
            user: r.get(1),
            application: r.get(2),
            client: r.get(3),
            state: r.get(4),
        })
        .collect())
}

/// Which of `sessions` hold table locks in `database`: a restore (which drops and recreates
/// every table) would wait for them for as long as they stay.
pub fn holding_locks(
    client: &mut postgres::Client,
    database: &str,
    sessions: &[Session],
) -> Result<Vec<i32>> {
    let pids: Vec<i32> = sessions.iter().map(|s| s.pid).collect();
    let rows = client
        .query(
            "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE d.datname = $1 AND l.granted AND l.locktype = 'relation' AND l.pid = ANY($2) \
             ORDER BY 1",
            &[&database, &pids],
        )
        .map_err(|e| backup_error(format!("cannot read the locks on {database}: {e}")))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Ends `sessions`; returns how many were ended (one may have left by itself meanwhile).
pub fn terminate(client: &mut postgres::Client, sessions: &[Session]) -> Result<usize> {
    let mut ended = 0;
    for s in sessions {
        let row = client
            .query_one("SELECT pg_terminate_backend($1)", &[&s.pid])
            .map_err(|e| {
                backup_error(format!("cannot end session {}: {e}", s.pid)).with_help(
                    "ending other sessions needs a superuser or membership in pg_signal_backend",
                )
            })?;
        if row.get::<_, bool>(0) {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Lists the other sessions on stderr; with `terminate`, ends them.
pub fn prepare(target: &Target, terminate_them: bool, quiet: bool) -> Result<()> {
    let database = target.effective_dbname();
    let mut client = target.connect().map_err(|e| backup_error(e.message))?;
    let open = others(&mut client, &database)?;
    if open.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = open.iter().map(|s| format!("  {s}")).collect();
    if terminate_them {
        let ended = terminate(&mut client, &open)?;
        if !quiet {
            eprintln!(
                "ended {ended} other session{} on {database} (--terminate-connections):\n{}",
                if ended == 1 { "" } else { "s" },
                list.join("\n")
            );
        }
    } else {
        let locking = holding_locks(&mut client, &database, &open)?;
        if !locking.is_empty() {
            let pids: Vec<String> = locking.iter().map(|p| p.to_string()).collect();
            return Err(backup_error(format!(
                "nothing was restored: {} session{} on {database} hold{} table locks the restore would wait for (pid {}):\n{}",
                locking.len(),
                if locking.len() == 1 { "" } else { "s" },
                if locking.len() == 1 { "s" } else { "" },
                pids.join(", "),
                list.join("\n")
            ))
            .with_help("stop what holds them ([restore] before), or pass --terminate-connections to end the sessions"));
        }
        eprintln!(
            "warning: {} other session{} connected to {database}; they can write into it during the restore:\n{}\n  stop them first ([restore] before), or pass --terminate-connections to end them",
            open.len(),
            if open.len() == 1 { " is" } else { "s are" },
            list.join("\n")
        );
    }
    Ok(())
}

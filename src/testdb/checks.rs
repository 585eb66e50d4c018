//! The checks of `verify-test-db`, as pure functions of what was found and what the servers
//! said, each with a pass/fail/skip verdict and its reason.

use serde::Serialize;

use super::identity::Identity;
use super::marker::{self, Mark};
use crate::target::Target;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not configured, or impossible without an earlier check: never a failure.
    Skip,
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Stable id: `url`, `port`, `name`, `identity`, `mark`.
    pub id: &'static str,
    pub status: Status,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Check {
    pub fn pass(id: &'static str, reason: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Pass,
            reason: reason.into(),
            help: None,
        }
    }

    pub fn fail(id: &'static str, reason: impl Into<String>, help: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Fail,
            reason: reason.into(),
            help: Some(help.into()),
        }
    }

    pub fn skip(id: &'static str, reason: impl Into<String>) -> Check {
        Check {
            id,
            status: Status::Skip,
            reason: reason.into(),
            help: None,
        }
    }
}

/// The host as a place: loopback names, loopback addresses and unix sockets are all "this
/// machine"; other names compare case-insensitively without a trailing dot.
pub fn normal_host(target: &Target) -> String {
    let host = target.effective_host().to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    let local = host.is_empty()
        || host.starts_with('/')
        || host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "0.0.0.0"
        || host.starts_with("127.");
    if local {
        "localhost".to_string()
    } else {
        host.to_string()
    }
}

/// 2: the test port is the configured one and not the dev database's.
pub fn port(test: &Target, dev: &Target, required: Option<u16>) -> Check {
    let (port, dev_port) = (test.effective_port(), dev.effective_port());
    if let Some(required) = required.filter(|r| *r != port) {
        return Check::fail(
            "port",
            format!("the test URL uses port {port}, not [test_database] port {required}"),
            format!("point the tests at the test cluster on port {required}"),
        );
    }
    let same_host = normal_host(test) == normal_host(dev);
    let required_note = required.map_or(String::new(), |_| " as configured".to_string());
    if port == dev_port && same_host {
        return Check::fail(
            "port",
            format!(
                "the test URL uses port {port}, the dev database's port on the same host ({})",
                normal_host(test)
            ),
            "run the tests against a separate cluster on its own port (e.g. 5434), and set [test_database] port",
        );
    }
    if port == dev_port {
        Check::pass(
            "port",
            format!(
                "port {port}{required_note}: the dev database's port too, but on another host ({} vs {})",
                normal_host(test),
                normal_host(dev)
            ),
        )
    } else {
        Check::pass(
            "port",
            format!("port {port}{required_note}; the dev database uses {dev_port}"),
        )
    }
}

/// 3: the test database's name matches `[test_database] name_pattern`.
pub fn name(test: &Target, pattern: Option<&str>) -> Check {
    let dbname = test.effective_dbname();
    match pattern {
        None => Check::skip(
            "name",
            format!(
                "database `{dbname}`: no [test_database] name_pattern is set (e.g. \"*_test\")"
            ),
        ),
        Some(pattern) if glob_match(pattern, &dbname) => Check::pass(
            "name",
            format!("database `{dbname}` matches name_pattern `{pattern}`"),
        ),
        Some(pattern) => Check::fail(
            "name",
            format!("database `{dbname}` does not match name_pattern `{pattern}`"),
            "point the tests at a database whose name marks it as a test database",
        ),
    }
}

/// `*` (any run of characters) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, at)) = backtrack {
            pi = star + 1;
            ti = at + 1;
            backtrack = Some((star, at + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// 4: the test URL does not reach the dev database, by identity when both servers answer,
/// else by comparing normalised host, port and database name.
pub fn identity(
    test: &Target,
    dev: &Target,
    test_probe: &Result<Identity, String>,
    dev_probe: &Result<Identity, String>,
) -> Check {
    match (test_probe, dev_probe) {
        (Ok(t), Ok(d)) if t.cluster == d.cluster && t.database == d.database => Check::fail(
            "identity",
            format!(
                "the test URL reaches the dev database itself: the same cluster ({} {}) and the same database `{}`, through another host name, an alias port or a forwarded port",
                t.cluster_kind, t.cluster, t.database
            ),
            "the tests would run on the dev database: point them at a separate test database",
        ),
        (Ok(t), Ok(d)) if t.cluster == d.cluster => Check::pass(
            "identity",
            format!(
                "the same cluster as the dev database ({} {}), but another database (`{}`, dev: `{}`)",
                t.cluster_kind, t.cluster, t.database, d.database
            ),
        ),
        (Ok(t), Ok(d)) => Check::pass(
            "identity",
            format!(
                "a different cluster from the dev database ({} {} vs {})",
                t.cluster_kind, t.cluster, d.cluster
            ),
        ),
        _ => {
            let why = [("test", test_probe), ("dev", dev_probe)]
                .iter()
                .filter_map(|(side, probe)| {
                    probe
                        .as_ref()
                        .err()
                        .map(|e| format!("{side} database: {e}"))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let key = |t: &Target| (normal_host(t), t.effective_port(), t.effective_dbname());
            let (tk, dk) = (key(test), key(dev));
            if tk == dk {
                Check::fail(
                    "identity",
                    format!(
                        "the test URL names the dev database ({}:{}/{} after normalising); the live check could not run ({why})",
                        tk.0, tk.1, tk.2
                    ),
                    "point the tests at a separate test database",
                )
            } else {
                Check::pass(
                    "identity",
                    format!(
                        "host, port or database differ from the dev database ({}:{}/{} vs {}:{}/{}), compared statically: the live check could not run ({why})",
                        tk.0, tk.1, tk.2, dk.0, dk.1, dk.2
                    ),
                )
            }
        }
    }
}

/// 5: the marker written by `--mark`, required when `require_mark` is set.
pub fn mark(probe: &Result<Identity, String>, require: bool) -> Check {
    const HELP: &str = "run `dbguard verify-test-db --mark` once with the real test database's URL";
    let identity = match probe {
        Ok(identity) => identity,
        Err(e) if require => {
            return Check::fail(
                "mark",
                format!("cannot read the test-database marker: {e}"),
                "start the test database; require_mark is set",
            )
        }
        Err(_) => {
            return Check::skip(
                "mark",
                "the test database is unreachable; the marker is not required",
            )
        }
    };
    if !identity.exists {
        let reason = format!("database `{}` does not exist yet", identity.database);
        return if require {
            Check::fail(
                "mark",
                reason,
                "create the test database, then mark it with `dbguard verify-test-db --mark`",
            )
        } else {
            Check::skip("mark", reason)
        };
    }
    match marker::read(identity.comment.as_deref(), &identity.database) {
        Mark::Valid(line) => Check::pass("mark", format!("marked as a test database ({line})")),
        Mark::OtherName(other) => Check::fail(
            "mark",
            format!(
                "the marker was written for database `{other}`, not `{}` (renamed or copied?)",
                identity.database
            ),
            HELP,
        ),
        Mark::Missing if require => Check::fail(
            "mark",
            format!(
                "database `{}` carries no test-database marker, and [test_database] require_mark is set",
                identity.database
            ),
            HELP,
        ),
        Mark::Missing => Check::skip(
            "mark",
            "not marked (optional: `--mark` it, then set [test_database] require_mark = true)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn globs() {
        assert!(glob_match("*_test", "app_test"));
        assert!(!glob_match("*_test", "app_test_x"));
        assert!(glob_match("test_*", "test_"));
        assert!(glob_match("a?c*", "abcdef"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("app", "app_test"));
    }

    #[test]
    fn loopback_spellings_are_one_host() {
        for url in [
            "postgresql://localhost/x",
            "postgresql://127.0.0.2/x",
            "postgresql://[::1]/x",
            "postgresql:///x?host=/tmp",
            "postgresql://LOCALHOST./x",
        ] {
            assert_eq!(normal_host(&t(url)), "localhost", "{url}");
        }
        assert_eq!(
            normal_host(&t("postgresql://DB.example.com/x")),
            "db.example.com"
        );
    }

    #[test]
    fn port_rules() {
        let dev = t("postgresql://localhost:5433/app");
        assert_eq!(
            port(&t("postgresql://127.0.0.1:5434/a"), &dev, Some(5434)).status,
            Status::Pass
        );
        assert_eq!(
            port(&t("postgresql://127.0.0.1:5435/a"), &dev, Some(5434)).status,
            Status::Fail
        );
        assert_eq!(
            port(&t("postgresql://127.0.0.1:5433/a"), &dev, None).status,
            Status::Fail
        );
        assert_eq!(
            port(&t("postgresql://testdb:5433/a"), &dev, None).status,
            Status::Pass
        );
    }

    #[test]
    fn static_fallback_when_unreachable() {
        let down: Result<Identity, String> = Err("connection refused".into());
        let same = identity(
            &t("postgresql://127.0.0.1:5433/app"),
            &t("postgresql://localhost:5433/app"),
            &down,
            &down,
        );
        assert_eq!(same.status, Status::Fail);
        assert!(same.reason.contains("live check could not run"));
        let other = identity(
            &t("postgresql://127.0.0.1:5433/app_test"),
            &t("postgresql://localhost:5433/app"),
            &down,
            &down,
        );
        assert_eq!(other.status, Status::Pass);
        assert!(other.reason.contains("live check could not run"));
    }
}

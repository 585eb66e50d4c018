//! `verify-test-db`: proves the test suite's database is not the dev database.
//!
//! Finds the URL the tests will use (`discover`), then runs the checks (`checks`): a URL
//! exists, its port, its name, its identity against the dev database (asked of both
//! servers, `identity`), and the test-database marker (`marker`).

pub mod checks;
pub mod discover;
pub mod identity;
pub mod marker;

use std::path::Path;

use serde::Serialize;

use self::checks::{Check, Status};
use self::identity::Identity;
use crate::config::Loaded;
use crate::error::Result;
use crate::target::{mask_secrets, Env, Target};

pub struct Request<'a> {
    pub url: Option<&'a str>,
    pub dev_url: Option<&'a str>,
    pub mark: bool,
    pub config: &'a Loaded,
    pub env: &'a dyn Env,
    pub cwd: &'a Path,
}

/// A database as shown to people: masked URL and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct Shown {
    pub url: String,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub test_database: Option<Shown>,
    pub dev_database: Shown,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

pub fn verify(request: &Request) -> Result<Report> {
    let discovery = discover::discover(&discover::Inputs {
        cli_url: request.url,
        config: request.config,
        env: request.env,
        cwd: request.cwd,
    });
    let (dev, dev_source) = request.config.database(request.dev_url, request.env)?;
    let dev_shown = Shown {
        url: dev.masked_url(),
        source: dev_source,
    };
    let mut notes = Vec::new();
    let (test, url_check) = test_target(&discovery, request.env);
    let mut checks = vec![url_check];
    let test_shown = discovery.chosen.as_ref().map(|c| Shown {
        url: test.as_ref().map_or_else(
            || "(cannot be read statically)".to_string(),
            Target::masked_url,
        ),
        source: c.source.clone(),
    });
    for other in &discovery.shadowed {
        let url = other
            .raw
            .as_deref()
            .and_then(|raw| Target::parse(raw).ok())
            .map_or_else(|| "a URL".to_string(), |t| t.masked_url());
        notes.push(format!(
            "{} also sets {url}; only the first URL found is checked (pass it with --url to check it too)",
            other.source
        ));
    }

    let Some(test) = test else {
        for id in ["port", "name", "identity", "mark"] {
            checks.push(Check::skip(id, "no test database URL to check"));
        }
        return Ok(finish(test_shown, dev_shown, checks, notes));
    };
    let settings = &request.config.config.test_database;
    checks.push(checks::port(&test, &dev, settings.port));
    checks.push(checks::name(&test, settings.name_pattern.as_deref()));
    let (test_probe, dev_probe) = std::thread::scope(|s| {
        let dev_probe = s.spawn(|| identity::probe(&dev));
        let test_probe = identity::probe(&test);
        (
            test_probe,
            dev_probe
                .join()
                .unwrap_or_else(|_| Err("the identity probe failed".to_string())),
        )
    });
    checks.push(checks::identity(&test, &dev, &test_probe, &dev_probe));
    checks.push(if request.mark {
        mark(&test, &test_probe, &checks)
    } else {
        checks::mark(&test_probe, settings.require_mark)
    });
    let marked = request.mark && checks.last().is_some_and(|c| c.status == Status::Pass);
    if marked && !settings.require_mark {
        notes.push(
            "set `require_mark = true` under [test_database] so that an unmarked test database fails from now on"
                .to_string(),
        );
    }
    Ok(finish(test_shown, dev_shown, checks, notes))
}

fn finish(
    test_database: Option<Shown>,
    dev_database: Shown,
    checks: Vec<Check>,
    notes: Vec<String>,
) -> Report {
    Report {
        ok: checks.iter().all(|c| c.status != Status::Fail),
        test_database,
        dev_database,
        checks,
        notes,
    }
}

/// Check 1: a test URL was found and can be read.
fn test_target(discovery: &discover::Discovery, env: &dyn Env) -> (Option<Target>, Check) {
    let Some(chosen) = &discovery.chosen else {
        return (
            None,
            Check::fail(
                "url",
                format!(
                    "no test database URL found (looked at --url, {})",
                    discovery.searched.join(", ")
                ),
                "set TEST_DATABASE_URL, or [test_database] url_env / url in dbguard.toml, or pass --url",
            ),
        );
    };
    let Some(raw) = &chosen.raw else {
        return (
            None,
            Check::fail(
                "url",
                format!(
                    "{} builds the URL in a way dbguard cannot read without running it",
                    chosen.source
                ),
                "tell dbguard the URL the tests use: [test_database] url_env or url in dbguard.toml, or --url",
            ),
        );
    };
    match Target::parse(raw) {
        Ok(target) => {
            let target = target.with_defaults(env);
            let check = Check::pass(
                "url",
                format!("{} from {}", target.masked_url(), chosen.source),
            );
            (Some(target), check)
        }
        Err(e) => (
            None,
            Check::fail(
                "url",
                format!(
                    "the URL from {} is not usable: {}",
                    chosen.source,
                    mask_secrets(&e.message)
                ),
                "fix it there, or pass the right one with --url",
            ),
        ),
    }
}

/// `--mark`: writes the marker only when checks 1–4 pass, so dbguard never marks a database
/// that may be the dev database.
fn mark(test: &Target, probe: &std::result::Result<Identity, String>, so_far: &[Check]) -> Check {
    if let Some(failed) = so_far.iter().find(|c| c.status == Status::Fail) {
        return Check::fail(
            "mark",
            format!(
                "not marked: the `{}` check failed, and dbguard never marks a database that may be the dev database",
                failed.id
            ),
            "fix the failing checks first",
        );
    }
    let identity = match probe {
        Ok(identity) if identity.exists => identity,
        Ok(identity) => {
            return Check::fail(
                "mark",
                format!(
                    "not marked: database `{}` does not exist",
                    identity.database
                ),
                "create the test database first",
            )
        }
        Err(e) => {
            return Check::fail(
                "mark",
                format!("not marked: cannot connect to the test database: {e}"),
                "start the test database",
            )
        }
    };
    match marker::write(test, identity.comment.as_deref()) {
        Ok(line) => Check::pass("mark", format!("marked just now ({line})")),
        Err(e) => Check::fail(
            "mark",
            format!("cannot write the marker: {e}"),
            "marking runs COMMENT ON DATABASE, which needs the database's owner (or a superuser)",
        ),
    }
}

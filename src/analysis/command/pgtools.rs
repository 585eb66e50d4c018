//! `dropdb` and `pg_restore`: destructive by what they are told to do.

use super::{target_from_options, Inputs, Plan, Tool};
use crate::analysis::rules;
use crate::analysis::Severity;
use crate::error::Result;

/// Parsed libpq-tool options: flags seen, values of value-taking options, positionals.
struct Parsed {
    flags: Vec<String>,
    values: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Parsed {
    fn has(&self, names: &[&str]) -> bool {
        self.flags.iter().any(|f| names.contains(&f.as_str()))
    }

    fn value(&self, names: &[&str]) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }
}

/// Generic getopt-style parsing; `takes_value` lists options (short `-x` or long `--xyz`)
/// that take a value.
fn parse(args: &[String], takes_value: &[&str]) -> Parsed {
    let mut p = Parsed {
        flags: Vec::new(),
        values: Vec::new(),
        positional: Vec::new(),
    };
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            p.positional.extend(args[i..].iter().cloned());
            break;
        }
        if a.starts_with("--") {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            if takes_value.contains(&name.as_str()) {
                let value = inline.or_else(|| {
                    i += 1;
                    args.get(i - 1).cloned()
                });
                p.values.push((name, value.unwrap_or_default()));
            } else {
                p.flags.push(name);
            }
        } else if a.len() > 1 && a.starts_with('-') {
            for (pos, c) in a[1..].char_indices() {
                let short = format!("-{c}");
                if takes_value.contains(&short.as_str()) {
                    let attached = &a[1 + pos + c.len_utf8()..];
                    let value = if attached.is_empty() {
                        i += 1;
                        args.get(i - 1).cloned().unwrap_or_default()
                    } else {
                        attached.to_string()
                    };
                    p.values.push((short, value));
                    break;
                }
                p.flags.push(short);
            }
        } else {
            p.positional.push(a.clone());
        }
    }
    p
}

const CONNECTION: &[&str] = &[
    "-h",
    "--host",
    "-p",
    "--port",
    "-U",
    "--username",
    "-d",
    "--dbname",
    "--maintenance-db",
];

pub fn dropdb(args: &[String], inputs: &Inputs) -> Result<Plan> {
    let p = parse(args, CONNECTION);
    let name = p.positional.first().cloned();
    let mut plan = Plan::new(args, Tool::Dropdb, "dropdb");
    let target = target_from_options(
        name.as_deref(),
        p.value(&["-h", "--host"]),
        p.value(&["-p", "--port"]),
        p.value(&["-U", "--username"]),
        inputs.env,
    )?;
    let db = target.effective_dbname();
    plan.description = format!("dropdb: drops database {db}");
    plan.command_finding(
        &rules::drop_database::RULE,
        Severity::DataLoss,
        format!("drops database {db} with everything in it"),
        None,
    );
    plan.target = Some((target, "dropdb's arguments and PG* variables".into()));
    Ok(plan)
}

pub fn pg_restore(args: &[String], inputs: &Inputs) -> Result<Plan> {
    let mut takes = CONNECTION.to_vec();
    takes.extend([
        "-f",
        "--file",
        "-F",
        "--format",
        "-j",
        "--jobs",
        "-n",
        "--schema",
        "-N",
        "--exclude-schema",
        "-t",
        "--table",
        "-T",
        "--trigger",
        "-I",
        "--index",
        "-P",
        "--function",
        "-L",
        "--use-list",
        "-S",
        "--superuser",
        "--role",
        "--section",
    ]);
    let p = parse(args, &takes);
    let mut plan = Plan::new(args, Tool::PgRestore, "pg_restore");
    if p.has(&["-l", "--list"]) {
        plan.description = "pg_restore --list: prints the archive's contents".into();
        return Ok(plan);
    }
    let Some(dbname) = p.value(&["-d", "--dbname"]) else {
        plan.description = "pg_restore without --dbname: writes SQL to a file or stdout".into();
        return Ok(plan);
    };
    let target = target_from_options(
        Some(dbname),
        p.value(&["-h", "--host"]),
        p.value(&["-p", "--port"]),
        p.value(&["-U", "--username"]),
        inputs.env,
    )?;
    let db = target.effective_dbname();
    let clean = p.has(&["-c", "--clean"]);
    let create = p.has(&["-C", "--create"]);
    let archive = p.positional.first().map(String::as_str).unwrap_or("stdin");
    if clean {
        plan.description =
            format!("pg_restore --clean: drops and recreates the objects of {archive} in {db}");
        let what = if create {
            format!("drops database {db} and recreates it from {archive}")
        } else {
            format!("drops every object of {archive} in {db} before restoring it")
        };
        plan.command_finding(
            &rules::restore_overwrite::RULE,
            Severity::DataLoss,
            what,
            None,
        );
    } else if create {
        plan.description = format!(
            "pg_restore --create: creates the archive's database (connecting through {db})"
        );
    } else {
        plan.description =
            format!("pg_restore: restores {archive} into the existing database {db}");
        plan.command_finding(
            &rules::restore_overwrite::RULE,
            Severity::DataLoss,
            format!(
                "restores {archive} into the existing database {db}, replacing or mixing its data"
            ),
            None,
        );
    }
    plan.target = Some((target, "pg_restore's arguments and PG* variables".into()));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn getopt_style_parsing() {
        let p = parse(
            &args("pg_restore -cd app -h localhost --port=5433 -j4 x.dump"),
            &["-d", "-h", "--port", "-j"],
        );
        assert!(p.has(&["-c"]));
        assert_eq!(p.value(&["-d"]), Some("app"));
        assert_eq!(p.value(&["--port"]), Some("5433"));
        assert_eq!(p.value(&["-j"]), Some("4"));
        assert_eq!(p.positional, ["x.dump"]);
    }
}

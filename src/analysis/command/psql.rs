//! `psql`: the SQL it will run (`-c`, `-f`, or a script on stdin) and where it connects.

use super::{target_from_options, Inputs, Plan, Tool};
use crate::analysis::check;
use crate::error::{Error, Result};

/// Short options of psql that take a value.
const VALUE_SHORT: &[char] = &[
    'c', 'd', 'f', 'h', 'p', 'U', 'v', 'o', 'L', 'P', 'F', 'R', 'T',
];
/// Long options of psql that take a value (as `--opt VALUE` or `--opt=VALUE`).
const VALUE_LONG: &[&str] = &[
    "command",
    "dbname",
    "file",
    "host",
    "port",
    "username",
    "set",
    "variable",
    "output",
    "log-file",
    "pset",
    "field-separator",
    "record-separator",
    "table-attr",
];

/// Where psql's SQL comes from, in the order psql runs it.
enum Source {
    Command(String),
    File(String),
}

#[derive(Default)]
struct Options {
    sources: Vec<Source>,
    dbname: Option<String>,
    host: Option<String>,
    port: Option<String>,
    user: Option<String>,
    single_transaction: bool,
    /// `-l`, `-V`, `--help`: nothing runs.
    informational: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options::default();
    let mut positional = Vec::new();
    let mut i = 1;
    let set = |o: &mut Options, key: &str, value: String| match key {
        "c" | "command" => o.sources.push(Source::Command(value)),
        "f" | "file" => o.sources.push(Source::File(value)),
        "d" | "dbname" => o.dbname = Some(value),
        "h" | "host" => o.host = Some(value),
        "p" | "port" => o.port = Some(value),
        "U" | "username" => o.user = Some(value),
        _ => {}
    };
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            positional.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            match name {
                "single-transaction" => o.single_transaction = true,
                "list" | "version" | "help" => o.informational = true,
                _ if VALUE_LONG.contains(&name) => {
                    let value = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            args.get(i - 1).cloned().ok_or_else(|| {
                                Error::usage(format!("psql: --{name} needs a value"))
                            })?
                        }
                    };
                    set(&mut o, name, value);
                }
                _ => {}
            }
            continue;
        }
        if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) {
            // Short options may be bundled: `-Atc "SELECT 1"`, `-1f file.sql`, `-dapp`.
            for (pos, c) in cluster.char_indices() {
                if VALUE_SHORT.contains(&c) {
                    let attached = &cluster[pos + c.len_utf8()..];
                    let value = if !attached.is_empty() {
                        attached.to_string()
                    } else {
                        i += 1;
                        args.get(i - 1)
                            .cloned()
                            .ok_or_else(|| Error::usage(format!("psql: -{c} needs a value")))?
                    };
                    set(&mut o, &c.to_string(), value);
                    break;
                }
                match c {
                    '1' => o.single_transaction = true,
                    'l' | 'V' | '?' => o.informational = true,
                    _ => {}
                }
            }
            continue;
        }
        positional.push(arg.clone());
    }
    // psql [OPTION]... [DBNAME [USERNAME]]: each bare word fills the first of the two that
    // -d / -U left unset (like psql's own option parsing).
    for word in positional {
        if o.dbname.is_none() {
            o.dbname = Some(word);
        } else if o.user.is_none() {
            o.user = Some(word);
        }
    }
    Ok(o)
}

/// An interactive session: psql reads what a person types (no `-c`, no `-f`, a terminal).
pub fn is_interactive(args: &[String], stdin_is_terminal: bool) -> bool {
    stdin_is_terminal && parse(args).is_ok_and(|o| o.sources.is_empty() && !o.informational)
}

/// Where psql would connect (options, then PG* variables, as psql does), and its other
/// arguments without the connection options, so it can be pointed elsewhere with `-d`.
pub fn connection(
    args: &[String],
    env: &dyn crate::target::Env,
) -> Result<(crate::target::Target, Vec<String>)> {
    let o = parse(args)?;
    let target = target_from_options(
        o.dbname.as_deref(),
        o.host.as_deref(),
        o.port.as_deref(),
        o.user.as_deref(),
        env,
    )?;
    Ok((target, without_connection_options(args)))
}

/// `args` (after the program name) without -d/-h/-p/-U in any spelling and without the
/// positional database and user.
fn without_connection_options(args: &[String]) -> Vec<String> {
    const CONNECTION: &[&str] = &["dbname", "host", "port", "username"];
    let mut out = Vec::new();
    let mut positional = 0;
    let mut i = 1;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            // Only the database and user can follow.
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let takes_value = VALUE_LONG.contains(&name);
            if CONNECTION.contains(&name) {
                if takes_value && !inline {
                    i += 1;
                }
                continue;
            }
            out.push(arg.clone());
            if takes_value && !inline {
                if let Some(v) = args.get(i) {
                    out.push(v.clone());
                }
                i += 1;
            }
            continue;
        }
        if let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) {
            let value_at = cluster
                .char_indices()
                .find(|(_, c)| VALUE_SHORT.contains(c));
            match value_at {
                Some((pos, c)) if "dhpU".contains(c) => {
                    if pos > 0 {
                        out.push(format!("-{}", &cluster[..pos]));
                    }
                    if pos + c.len_utf8() == cluster.len() {
                        i += 1;
                    }
                }
                Some((pos, c)) => {
                    out.push(arg.clone());
                    if pos + c.len_utf8() == cluster.len() {
                        if let Some(v) = args.get(i) {
                            out.push(v.clone());
                        }
                        i += 1;
                    }
                }
                None => out.push(arg.clone()),
            }
            continue;
        }
        positional += 1;
        if positional > 2 {
            out.push(arg.clone());
        }
    }
    out
}

pub fn classify(args: &[String], inputs: &mut Inputs) -> Result<Plan> {
    let o = parse(args)?;
    let mut plan = Plan::new(args, Tool::Psql, "psql");
    let target = target_from_options(
        o.dbname.as_deref(),
        o.host.as_deref(),
        o.port.as_deref(),
        o.user.as_deref(),
        inputs.env,
    )?;
    plan.target = Some((
        target,
        "psql's connection options and PG* variables".to_string(),
    ));
    if o.informational {
        plan.description = "psql: lists or prints information; runs no SQL".into();
        return Ok(plan);
    }
    let mut parts = Vec::new();
    let mut commands = 0;
    // The SQL texts psql will run, for the context check below.
    let mut scripts: Vec<String> = Vec::new();
    for source in &o.sources {
        match source {
            Source::Command(sql) => {
                commands += 1;
                plan.reports
                    .extend(check::check_text(sql, &format!("psql -c #{commands}")));
            }
            Source::File(path) if path == "-" => read_stdin(&mut plan, inputs)?,
            Source::File(path) => {
                parts.push(format!("-f {path}"));
                if !std::path::Path::new(path).is_file() {
                    plan.uncertain = Some(format!(
                        "psql -f {path}: the file cannot be read, so dbguard cannot check it"
                    ));
                    continue;
                }
                plan.reports
                    .extend(check::check_file(std::path::Path::new(path), path));
            }
        }
    }
    if commands > 0 {
        parts.insert(
            0,
            format!(
                "{commands} -c command{}",
                if commands == 1 { "" } else { "s" }
            ),
        );
    }
    if o.sources.is_empty() {
        if inputs.stdin_is_terminal {
            plan.notes
                .push("interactive psql session: dbguard cannot check what you type".into());
            parts.push("interactive session".into());
        } else {
            read_stdin(&mut plan, inputs)?;
        }
    }
    if let Some(bytes) = &plan.stdin {
        parts.push("a script on stdin".into());
        scripts.push(String::from_utf8_lossy(bytes).into_owned());
    }
    if o.single_transaction {
        parts.push("in one transaction (-1)".into());
    }
    plan.unweighable = scripts.iter().find_map(|text| switches_context(text));
    plan.description = format!("psql: {}", parts.join(", "));
    Ok(plan)
}

/// A script that connects elsewhere (`\c`, `\connect`) or changes `search_path` makes table
/// names mean something else than in the target database as it is now.
fn switches_context(text: &str) -> Option<String> {
    let connects = text.lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("\\c ") || l == "\\c" || l.starts_with("\\connect")
    });
    if connects {
        return Some("the script connects to another database (\\c)".into());
    }
    text.to_ascii_lowercase()
        .contains("search_path")
        .then(|| "the script changes search_path".into())
}

/// psql would read SQL from our stdin: read it ourselves, check it, and feed it on.
fn read_stdin(plan: &mut Plan, inputs: &mut Inputs) -> Result<()> {
    if plan.stdin.is_some() {
        return Ok(());
    }
    let bytes = (inputs.read_stdin)()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    plan.reports.extend(check::check_text(&text, "<stdin>"));
    plan.stdin = Some(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_in_all_their_spellings() {
        let o = parse(&args(&[
            "psql",
            "-Atc",
            "SELECT 1",
            "--command=DROP TABLE t",
            "-1",
            "-f",
            "a.sql",
            "-dapp",
            "-h",
            "db",
            "--port=5434",
            "bob",
        ]))
        .unwrap();
        assert_eq!(o.sources.len(), 3);
        assert!(matches!(&o.sources[1], Source::Command(c) if c == "DROP TABLE t"));
        assert!(o.single_transaction);
        assert_eq!(o.dbname.as_deref(), Some("app"));
        assert_eq!(o.host.as_deref(), Some("db"));
        assert_eq!(o.port.as_deref(), Some("5434"));
        assert_eq!(o.user.as_deref(), Some("bob"));
    }

    #[test]
    fn connection_options_are_taken_out_and_the_rest_kept() {
        let argv = args(&[
            "psql",
            "-X",
            "-h",
            "db",
            "-Atc",
            "SELECT 1",
            "--port=5434",
            "-Uapp",
            "-Ah",
            "other",
            "--dbname",
            "x",
            "app_dev",
            "bob",
            "-v",
            "ON_ERROR_STOP=1",
        ]);
        assert_eq!(
            without_connection_options(&argv),
            ["-X", "-Atc", "SELECT 1", "-A", "-v", "ON_ERROR_STOP=1"]
        );
        let env = std::collections::BTreeMap::new();
        let (target, _) = connection(&args(&["psql", "postgresql://a@h:1/x"]), &env).unwrap();
        assert_eq!(target.effective_dbname(), "x");
        assert_eq!(target.effective_port(), 1);
        assert!(is_interactive(&args(&["psql", "app"]), true));
        assert!(!is_interactive(&args(&["psql", "-c", "SELECT 1"]), true));
        assert!(!is_interactive(&args(&["psql"]), false));
    }

    #[test]
    fn positional_database_and_user() {
        let o = parse(&args(&["psql", "postgresql://a@h:1/x", "carol"])).unwrap();
        assert_eq!(o.dbname.as_deref(), Some("postgresql://a@h:1/x"));
        assert_eq!(o.user.as_deref(), Some("carol"));
        assert!(parse(&args(&["psql", "-c"])).is_err());
    }
}

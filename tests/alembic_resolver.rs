//! dbguard's resolver against real alembic: for every command form, a fresh database is put
//! in a starting state with alembic itself, dbguard computes the steps, the real command
//! runs (logging at INFO), and its `Running upgrade A -> B` / `Running downgrade B -> A`
//! lines must be exactly dbguard's steps, in order. Where alembic fails, dbguard must fail
//! with the same message. The project is fixtures/alembic/branchy (two bases, a branch
//! point, a labelled branch, a merge point, a `depends_on` across the two lines).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dbguard::analysis::alembic::config::{self, Sources};
use dbguard::analysis::alembic::project::Project;
use dbguard::analysis::alembic::walk::{self, Direction};
use dbguard::analysis::command::alembic::{self as command, Action, Wrapped};
use support::{unique_db, venv_bin, PgCluster};

fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/alembic/branchy")
}

fn project() -> Project {
    let dir = project_dir();
    let sources = Sources::resolve(&dir, &[], None, None, None).unwrap();
    Project::load(config::load(&sources, &dir).unwrap()).unwrap()
}

struct Run {
    ok: bool,
    steps: Vec<String>,
    output: String,
}

/// Runs alembic's own command-line entry point (`alembic.config.main`, what the `alembic`
/// script calls) for one request after another in a single Python process: the imports are
/// paid once, which keeps this suite fast on two cores. Each request is one JSON line
/// (`{"url": …, "argv": […]}`), each answer one JSON line (`{"ok": …, "output": …}`) holding
/// everything alembic logged and printed.
const DRIVER: &str = r#"
import contextlib, io, json, logging, os, sys
from alembic.config import main
for line in sys.stdin:
    request = json.loads(line)
    os.environ["DBGUARD_TEST_DATABASE_URL"] = request["url"]
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ok = True
    try:
        with contextlib.redirect_stdout(buffer):
            main(argv=request["argv"])
    except SystemExit as e:
        ok = e.code in (None, 0)
    except Exception as e:
        ok = False
        buffer.write("EXCEPTION %s: %s\n" % (type(e).__name__, e))
    root.removeHandler(handler)
    print(json.dumps({"ok": ok, "output": buffer.getvalue()}), flush=True)
"#;

/// One Python process running alembic commands on request.
struct Alembic {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Alembic {
    fn start() -> Alembic {
        let mut child = Command::new(venv_bin("python"))
            .args(["-c", DRIVER])
            .current_dir(project_dir())
            .env_remove("ALEMBIC_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the venv's python runs");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Alembic { child, stdout }
    }

    /// Runs `alembic ARGS` on database `db`; returns its steps as `+rev` / `-rev`.
    fn run(&mut self, pg: &PgCluster, db: &str, args: &[&str]) -> Run {
        let url = pg
            .url(db)
            .replace("postgresql://", "postgresql+psycopg2://");
        let request = serde_json::json!({"url": url, "argv": args});
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{request}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("bad answer from the alembic driver ({e}): {line:?}"));
        let output = answer["output"].as_str().unwrap_or("").to_string();
        Run {
            ok: answer["ok"].as_bool().unwrap_or(false),
            steps: running_lines(&output),
            output,
        }
    }
}

impl Drop for Alembic {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// `Running upgrade A -> B, doc` → `+B`; `Running downgrade B -> A, doc` → `-B`.
fn running_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.split("Running ").nth(1)?;
            let (kind, rest) = rest.split_once(' ')?;
            let (from, to) = rest.split_once(" -> ")?;
            match kind {
                "upgrade" => Some(format!("+{}", to.split(", ").next()?.trim())),
                "downgrade" => Some(format!("-{}", from.trim())),
                _ => None,
            }
        })
        .collect()
}

/// The `alembic` script itself, as a user runs it (for the few checks of its output).
fn alembic_cli(pg: &PgCluster, db: &str, args: &[&str]) -> Run {
    let url = pg
        .url(db)
        .replace("postgresql://", "postgresql+psycopg2://");
    let out = Command::new(venv_bin("alembic"))
        .args(args)
        .current_dir(project_dir())
        .env("DBGUARD_TEST_DATABASE_URL", url)
        .env_remove("ALEMBIC_CONFIG")
        .output()
        .expect("alembic runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        ok: out.status.success(),
        steps: running_lines(&output),
        output,
    }
}

fn heads(pg: &PgCluster, db: &str) -> Vec<String> {
    let mut client = pg.client(db);
    let exists: bool = client
        .query_one("SELECT to_regclass('alembic_version') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    if !exists {
        return Vec::new();
    }
    client
        .query("SELECT version_num FROM alembic_version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// dbguard's answer for the command, as `+rev` / `-rev`, or alembic's error message.
fn dbguard_steps(
    project: &Project,
    current: &[String],
    args: &[&str],
) -> Result<Vec<String>, String> {
    let mut argv = vec!["alembic".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let Wrapped::Alembic(cmd) = command::parse(&argv).unwrap() else {
        panic!("not alembic: {argv:?}");
    };
    let g = &project.graph;
    let steps = match cmd.action {
        Action::Upgrade { target, .. } => walk::upgrade(g, current, &target)?,
        Action::Downgrade { target, .. } => walk::downgrade(g, current, &target)?,
        other => panic!("not a migration command: {other:?}"),
    };
    Ok(steps
        .iter()
        .map(|s| {
            let sign = if s.direction == Direction::Upgrade {
                "+"
            } else {
                "-"
            };
            format!("{sign}{}", g.id(s.rev))
        })
        .collect())
}

/// `(starting state: alembic commands run first, the command compared)`.
const SCENARIOS: &[(&[&[&str]], &[&str])] = &[
    (&[], &["upgrade", "heads"]),
    (&[], &["upgrade", "head"]),
    (&[], &["upgrade", "last0006"]),
    (&[], &["upgrade", "feature@head"]),
    (&[], &["upgrade", "other@head"]),
    (&[], &["upgrade", "+2"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "+1"]),
    (&[&["upgrade", "feat0004"]], &["upgrade", "+1"]),
    (&[&["upgrade", "bill0003"]], &["upgrade", "+1"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "feat"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "feat0004"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "bill"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "feat0003+1"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "feature@+1"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "bill0003+1"]),
    (&[&["upgrade", "feat0004"]], &["upgrade", "heads"]),
    (&[&["upgrade", "user0002"]], &["upgrade", "nosuchrev"]),
    (&[&["upgrade", "merg0005"]], &["downgrade", "-1"]),
    (&[&["upgrade", "last0006"]], &["downgrade", "-1"]),
    (&[&["upgrade", "last0006"]], &["downgrade", "-2"]),
    (&[&["upgrade", "last0006"]], &["downgrade", "bill0003"]),
    (&[&["upgrade", "last0006"]], &["downgrade", "feat0003"]),
    (&[&["upgrade", "last0006"]], &["downgrade", "base"]),
    (&[&["upgrade", "heads"]], &["downgrade", "base"]),
    (&[&["upgrade", "heads"]], &["downgrade", "other@base"]),
    (&[&["upgrade", "heads"]], &["downgrade", "other@-1"]),
    (&[&["upgrade", "heads"]], &["downgrade", "user0002"]),
    (&[&["upgrade", "feat0004"]], &["downgrade", "feature@-1"]),
    (
        &[&["upgrade", "bill0003"], &["upgrade", "feat0003"]],
        &["upgrade", "heads"],
    ),
    (
        &[&["upgrade", "bill0003"], &["upgrade", "feat0003"]],
        &["downgrade", "user0002"],
    ),
    (&[&["upgrade", "user0002"]], &["downgrade", "bill0003"]),
    // other003 depends_on feat0003, across the two lines of history.
    (&[&["upgrade", "other002"]], &["upgrade", "other@head"]),
    (&[&["upgrade", "heads"]], &["downgrade", "feat0003"]),
    (&[&["upgrade", "heads"]], &["downgrade", "user0002"]),
    (&[&["upgrade", "other003"]], &["downgrade", "-1"]),
    (&[&["upgrade", "other003"]], &["upgrade", "heads"]),
    (&[&["upgrade", "heads"]], &["downgrade", "other@other001"]),
    // other003 reaches the feature branch only through depends_on: not a member of it.
    (&[], &["upgrade", "feature@other003"]),
    (
        &[&["upgrade", "user0002"]],
        &["upgrade", "feature@other003"],
    ),
    (&[&["upgrade", "other002"]], &["upgrade", "other@other003"]),
];

#[test]
fn resolver_matches_real_alembic_for_every_command_form() {
    let pg = PgCluster::shared();
    let project = project();
    // Two workers: the machine has two cores and each alembic run is a Python start-up.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let project = &project;
                scope.spawn(move || {
                    let mut alembic = Alembic::start();
                    let mut failures = Vec::new();
                    for (setup, args) in SCENARIOS.iter().skip(w).step_by(2) {
                        let db = unique_db("resolver");
                        pg.create_database(&db);
                        for step in setup.iter() {
                            let run = alembic.run(pg, &db, step);
                            assert!(run.ok, "setup {step:?} failed:\n{}", run.output);
                        }
                        let current = heads(pg, &db);
                        let predicted = dbguard_steps(project, &current, args);
                        let real = alembic.run(pg, &db, args);
                        let verdict = match (&predicted, real.ok) {
                            (Ok(steps), true) if *steps == real.steps => None,
                            (Err(message), false) if real.output.contains(message.as_str()) => None,
                            _ => Some(format!(
                                "from {current:?}, `alembic {}`:\n  dbguard: {predicted:?}\n  alembic ({}): {:?}\n{}",
                                args.join(" "),
                                if real.ok { "ok" } else { "failed" },
                                real.steps,
                                real.output.lines().filter(|l| !l.starts_with("INFO")).collect::<Vec<_>>().join("\n")
                            )),
                        };
                        failures.extend(verdict);
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} scenarios differ from alembic:\n{}",
        failures.len(),
        SCENARIOS.len(),
        failures.join("\n\n")
    );
}

/// `Running upgrade A -> B, doc` → `upgrade A -> B, doc`, as alembic logs each step.
fn logged_steps(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| Some(line.split("Running ").nth(1)?.trim().to_string()))
        .filter(|l| l.starts_with("upgrade ") || l.starts_with("downgrade "))
        .collect()
}

#[test]
fn steps_show_from_and_to_as_alembic_logs_them() {
    let pg = PgCluster::shared();
    let project = project();
    let mut alembic = Alembic::start();
    // other003 has down_revision other002 and depends_on feat0003: alembic logs
    // `other002 -> other003`, without the dependency.
    let scenarios: &[(&[&str], &[&str])] = &[
        (&["upgrade", "user0002"], &["upgrade", "heads"]),
        (&["upgrade", "heads"], &["downgrade", "base"]),
    ];
    for (setup, args) in scenarios {
        let db = unique_db("logged");
        pg.create_database(&db);
        assert!(alembic.run(pg, &db, setup).ok);
        let current = heads(pg, &db);
        let mut argv = vec!["alembic".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let Wrapped::Alembic(cmd) = command::parse(&argv).unwrap() else {
            panic!()
        };
        let g = &project.graph;
        let steps = match cmd.action {
            Action::Upgrade { target, .. } => walk::upgrade(g, &current, &target).unwrap(),
            Action::Downgrade { target, .. } => walk::downgrade(g, &current, &target).unwrap(),
            other => panic!("{other:?}"),
        };
        let predicted: Vec<String> = steps
            .iter()
            .map(|s| {
                let (from, to) = s.ends(g);
                format!(
                    "{} {} -> {}",
                    s.direction.function(),
                    from.join(", "),
                    to.join(", ")
                )
            })
            .collect();
        let real = alembic.run(pg, &db, args);
        assert!(real.ok, "{}", real.output);
        let logged = logged_steps(&real.output);
        let same = predicted.len() == logged.len()
            && predicted.iter().zip(&logged).all(|(p, l)| {
                // The doc follows after `, `.
                l == p || l.starts_with(&format!("{p}, "))
            });
        assert!(
            same,
            "alembic {args:?}:\n  dbguard: {predicted:?}\n  alembic: {logged:?}"
        );
        assert!(
            predicted
                .iter()
                .any(|l| l.contains("other002 -> other003") || l.contains("other003 -> other002")),
            "{predicted:?}"
        );
    }
}

#[test]
fn ambiguous_downgrade_from_a_merge_point_fails_like_alembic() {
    let pg = PgCluster::shared();
    let db = unique_db("ambiguous");
    pg.create_database(&db);
    let mut alembic = Alembic::start();
    assert!(alembic.run(pg, &db, &["upgrade", "merg0005"]).ok);
    let predicted = dbguard_steps(&project(), &heads(pg, &db), &["downgrade", "-1"]);
    assert_eq!(predicted, Err("Ambiguous walk".to_string()));
    // The `alembic` script itself, as a user would run it.
    let real = alembic_cli(pg, &db, &["downgrade", "-1"]);
    assert!(!real.ok);
    assert!(real.output.contains("Ambiguous walk"), "{}", real.output);
    assert_eq!(heads(pg, &db), ["merg0005"], "nothing ran");
}

#[test]
fn stamp_and_offline_sql_change_only_what_dbguard_says() {
    let pg = PgCluster::shared();
    let project = project();
    let db = unique_db("stamp");
    pg.create_database(&db);
    // stamp: the version table says the target; no migration ran (no table was created).
    let predicted = walk::stamp(&project.graph, &["user0002".to_string()]).unwrap();
    let mut alembic = Alembic::start();
    let run = alembic.run(pg, &db, &["stamp", "user0002"]);
    assert!(run.ok && run.steps.is_empty(), "{}", run.output);
    assert_eq!(heads(pg, &db), predicted);
    let tables: i64 = pg
        .client(&db)
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 't\\_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
    // --sql: prints SQL, changes nothing.
    let argv: Vec<String> = ["alembic", "upgrade", "user0002:last0006", "--sql"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let Ok(Wrapped::Alembic(cmd)) = command::parse(&argv) else {
        panic!()
    };
    assert_eq!(
        cmd.action,
        Action::Upgrade {
            target: "user0002:last0006".into(),
            sql: true
        }
    );
    let run = alembic_cli(pg, &db, &["upgrade", "user0002:last0006", "--sql"]);
    assert!(run.ok, "{}", run.output);
    assert!(
        run.output.contains("CREATE TABLE t_last0006"),
        "{}",
        run.output
    );
    assert_eq!(heads(pg, &db), ["user0002"]);
}

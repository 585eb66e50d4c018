//! `verify-test-db` against real servers: a dev cluster, a separate test cluster, and a TCP
//! forwarder that makes the dev cluster reachable on a third port.

mod support;

use std::path::Path;
use std::sync::OnceLock;

use support::{closed_port, dbguard, unique_db, write_files, Done, Forwarder, PgCluster};

/// Both clusters have a database named `app` (a common setup that must pass).
fn dev() -> &'static PgCluster {
    static DEV: OnceLock<PgCluster> = OnceLock::new();
    DEV.get_or_init(|| {
        let pg = PgCluster::start();
        pg.create_database("app");
        pg.create_database("app_test");
        pg
    })
}

fn test() -> &'static PgCluster {
    static TEST: OnceLock<PgCluster> = OnceLock::new();
    TEST.get_or_init(|| {
        let pg = PgCluster::start();
        pg.create_database("app");
        pg.create_database("app_test");
        pg
    })
}

/// verify-test-db with the dev database from $DATABASE_URL.
fn verify(dir: &Path, test_url: &str, extra: &[&str]) -> Done {
    let mut args = vec!["verify-test-db", "--url", test_url];
    args.extend_from_slice(extra);
    dbguard(&args)
        .cwd(dir)
        .env("DATABASE_URL", &dev().url("app"))
        .run()
}

fn check<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {doc}"))
}

fn status(doc: &serde_json::Value, id: &str) -> String {
    check(doc, id)["status"].as_str().unwrap().to_string()
}

#[test]
fn separate_clusters_that_both_call_their_database_app_pass() {
    let dir = tempfile::tempdir().unwrap();
    let done = verify(dir.path(), &test().url("app"), &["--json"]).code(0);
    let doc = done.json();
    assert_eq!(doc["ok"], true);
    for id in ["url", "port", "identity"] {
        assert_eq!(status(&doc, id), "pass", "{id}: {doc}");
    }
    assert_eq!(status(&doc, "name"), "skip");
    assert_eq!(status(&doc, "mark"), "skip");
    assert!(check(&doc, "identity")["reason"]
        .as_str()
        .unwrap()
        .contains("a different cluster"));
    assert_eq!(doc["test_database"]["source"], "--url");
    assert_eq!(doc["dev_database"]["source"], "$DATABASE_URL");

    verify(dir.path(), &test().url("app"), &[])
        .code(0)
        .stdout_has("pass  identity")
        .stdout_has("the test database is not the dev database");
}

#[test]
fn a_forwarded_port_onto_the_dev_database_is_the_dev_database_in_disguise() {
    let dir = tempfile::tempdir().unwrap();
    let forward = Forwarder::to(dev().port());
    // Another host spelling and another port: only the server's identity gives it away.
    let disguised = format!("postgresql://postgres@localhost:{}/app", forward.port());
    let done = verify(dir.path(), &disguised, &["--json"]).code(1);
    let doc = done.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(status(&doc, "port"), "pass", "{doc}");
    assert_eq!(status(&doc, "identity"), "fail", "{doc}");
    let reason = check(&doc, "identity")["reason"].as_str().unwrap();
    assert!(
        reason.contains("reaches the dev database itself"),
        "{reason}"
    );
    assert!(reason.contains("system identifier"), "{reason}");

    verify(dir.path(), &disguised, &[])
        .code(1)
        .stdout_has("FAIL  identity")
        .stdout_has("help:")
        .stdout_has("do not run the tests against this database");

    // The same forward to another database of the dev cluster is a different database.
    let other = format!(
        "postgresql://postgres@localhost:{}/app_test",
        forward.port()
    );
    let doc = verify(dir.path(), &other, &["--json"]).code(0).json();
    assert!(check(&doc, "identity")["reason"]
        .as_str()
        .unwrap()
        .contains("the same cluster as the dev database"));
}

#[test]
fn an_unreachable_side_falls_back_to_a_static_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    // Test side down, and plainly a different place: passes, saying the live check did not run.
    let down = format!("postgresql://postgres@127.0.0.1:{port}/app_test");
    let doc = verify(dir.path(), &down, &["--json"]).code(0).json();
    let reason = check(&doc, "identity")["reason"].as_str().unwrap();
    assert_eq!(status(&doc, "identity"), "pass");
    assert!(reason.contains("the live check could not run"), "{reason}");
    assert!(reason.contains("test database:"), "{reason}");

    // Both down and the same place under two spellings: fails statically.
    let doc = dbguard(&[
        "verify-test-db",
        "--json",
        "--url",
        &format!("postgresql://postgres@127.0.0.1:{port}/app"),
        "--dev-url",
        &format!("postgresql://postgres@localhost:{port}/app"),
    ])
    .cwd(dir.path())
    .run()
    .code(1)
    .json();
    assert_eq!(status(&doc, "identity"), "fail");
    assert_eq!(status(&doc, "port"), "fail");
    let reason = check(&doc, "identity")["reason"].as_str().unwrap();
    assert!(reason.contains("names the dev database"), "{reason}");
    assert!(reason.contains("the live check could not run"), "{reason}");
}

#[test]
fn port_and_name_pattern_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = |port: u16| {
        std::fs::write(
            dir.path().join("dbguard.toml"),
            format!("[test_database]\nport = {port}\nname_pattern = \"*_test\"\n"),
        )
        .unwrap();
    };
    config(test().port());
    let doc = verify(dir.path(), &test().url("app_test"), &["--json"])
        .code(0)
        .json();
    assert_eq!(status(&doc, "port"), "pass");
    assert_eq!(status(&doc, "name"), "pass");

    let doc = verify(dir.path(), &test().url("app"), &["--json"])
        .code(1)
        .json();
    assert_eq!(status(&doc, "name"), "fail");
    assert!(check(&doc, "name")["reason"]
        .as_str()
        .unwrap()
        .contains("does not match name_pattern `*_test`"));

    config(closed_port());
    let doc = verify(dir.path(), &test().url("app_test"), &["--json"])
        .code(1)
        .json();
    assert_eq!(status(&doc, "port"), "fail");

    // No port configured: the dev database's own port on the same host fails.
    std::fs::remove_file(dir.path().join("dbguard.toml")).unwrap();
    let doc = verify(dir.path(), &dev().url("app_test"), &["--json"])
        .code(1)
        .json();
    assert_eq!(status(&doc, "port"), "fail");
    assert!(check(&doc, "port")["reason"]
        .as_str()
        .unwrap()
        .contains("the dev database's port"));
}

#[test]
fn mark_then_require_it() {
    let dir = tempfile::tempdir().unwrap();
    let marked = unique_db("marked_test");
    let unmarked = unique_db("unmarked_test");
    test().create_database(&marked);
    test().create_database(&unmarked);
    test().execute(
        "postgres",
        &format!("COMMENT ON DATABASE {marked} IS 'team test db'"),
    );

    verify(dir.path(), &test().url(&marked), &["--mark"])
        .code(0)
        .stdout_has("marked just now")
        .stdout_has("require_mark = true");
    let comment: String = test()
        .client("postgres")
        .query_one(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            &[&marked],
        )
        .unwrap()
        .get(0);
    assert!(
        comment.starts_with("team test db\ndbguard:test-database db="),
        "{comment}"
    );

    std::fs::write(
        dir.path().join("dbguard.toml"),
        "[test_database]\nrequire_mark = true\n",
    )
    .unwrap();
    let doc = verify(dir.path(), &test().url(&marked), &["--json"])
        .code(0)
        .json();
    assert_eq!(status(&doc, "mark"), "pass");
    let doc = verify(dir.path(), &test().url(&unmarked), &["--json"])
        .code(1)
        .json();
    assert_eq!(status(&doc, "mark"), "fail");
    assert!(check(&doc, "mark")["reason"]
        .as_str()
        .unwrap()
        .contains("carries no test-database marker"));
}

#[test]
fn mark_refuses_the_dev_database() {
    let dir = tempfile::tempdir().unwrap();
    let forward = Forwarder::to(dev().port());
    let disguised = format!("postgresql://postgres@127.0.0.1:{}/app", forward.port());
    verify(dir.path(), &disguised, &["--mark"])
        .code(1)
        .stdout_has("not marked: the `identity` check failed");
    let comment: Option<String> = dev()
        .client("postgres")
        .query_one(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'app'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(comment, None);
}

#[test]
fn the_url_is_discovered_from_project_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let url_a = test().url("app_test");
    let url_b = test().url("app");
    write_files(
        root,
        &[
            (".env.test", &format!("DATABASE_URL={url_b}\n")),
            (
                "tests/conftest.py",
                &format!("import os\n\nos.environ[\"DATABASE_URL\"] = \"{url_b}\"\n"),
            ),
        ],
    );
    // conftest.py beats .env.test.
    let doc = verify_discovered(root).code(0).json();
    assert_eq!(
        doc["test_database"]["source"],
        "tests/conftest.py:3: os.environ[...] = sets DATABASE_URL"
    );

    // pytest-env beats conftest.py; the shadowed URL is mentioned.
    write_files(
        root,
        &[(
            "pytest.ini",
            &format!("[pytest]\nenv =\n    DATABASE_URL={url_a}\n"),
        )],
    );
    let doc = verify_discovered(root).code(0).json();
    assert_eq!(
        doc["test_database"]["source"],
        "pytest.ini:3: pytest-env sets DATABASE_URL"
    );
    assert!(doc["notes"][0]
        .as_str()
        .unwrap()
        .contains("tests/conftest.py:3"));

    // $TEST_DATABASE_URL beats the project's files.
    let done = dbguard(&["verify-test-db", "--json"])
        .cwd(root)
        .env("DATABASE_URL", &dev().url("app"))
        .env("TEST_DATABASE_URL", &url_b)
        .run()
        .code(0);
    assert_eq!(done.json()["test_database"]["source"], "$TEST_DATABASE_URL");

    // D: in pytest-env yields to a DATABASE_URL that is already set: the dev one, caught.
    write_files(
        root,
        &[(
            "pytest.ini",
            &format!("[pytest]\nenv =\n    D:DATABASE_URL={url_a}\n"),
        )],
    );
    let doc = verify_discovered(root).code(1).json();
    assert!(doc["test_database"]["source"]
        .as_str()
        .unwrap()
        .contains("only sets it when unset"));
    assert_eq!(status(&doc, "identity"), "fail");
}

fn verify_discovered(root: &Path) -> Done {
    dbguard(&["verify-test-db", "--json"])
        .cwd(root)
        .env("DATABASE_URL", &dev().url("app"))
        .run()
}

#[test]
fn no_test_url_and_unreadable_urls_fail_check_one() {
    let dir = tempfile::tempdir().unwrap();
    dbguard(&["verify-test-db"])
        .cwd(dir.path())
        .env("DATABASE_URL", &dev().url("app"))
        .run()
        .code(1)
        .stdout_has("FAIL  url")
        .stdout_has("no test database URL found")
        .stdout_has("help: set TEST_DATABASE_URL");
    write_files(
        dir.path(),
        &[(
            "conftest.py",
            "import os\nos.environ['TEST_DATABASE_URL'] = f'postgresql:///{NAME}'\n",
        )],
    );
    dbguard(&["verify-test-db"])
        .cwd(dir.path())
        .run()
        .code(1)
        .stdout_has("conftest.py:2: os.environ[...] = sets TEST_DATABASE_URL builds the URL in a way dbguard cannot read");
    // A broken configuration is a usage error, not a failed check.
    write_files(
        dir.path(),
        &[("dbguard.toml", "[test_database]\nport = \"x\"\n")],
    );
    dbguard(&["verify-test-db"])
        .cwd(dir.path())
        .run()
        .code(2)
        .stderr_has("help:");
}

#[test]
fn passwords_never_appear_in_any_output() {
    const SECRET: &str = "Sup3r-s3cret-pw";
    let dir = tempfile::tempdir().unwrap();
    // Trust authentication ignores the password, so every check really runs.
    let with_password = format!(
        "postgresql://postgres:{SECRET}@127.0.0.1:{}/app_test",
        test().port()
    );
    write_files(
        dir.path(),
        &[(
            "conftest.py",
            &format!("import os\nos.environ['TEST_DATABASE_URL'] = '{with_password}'\n"),
        )],
    );
    let dev_url = format!(
        "postgresql://postgres:{SECRET}@127.0.0.1:{}/app",
        dev().port()
    );
    let forward = Forwarder::to(dev().port());
    let disguised = format!(
        "postgresql://postgres:{SECRET}@localhost:{}/app",
        forward.port()
    );
    let runs: Vec<Vec<String>> = vec![
        vec![],
        vec!["--json".into()],
        vec!["--url".into(), disguised.clone()],
        vec!["--url".into(), disguised, "--json".into(), "--mark".into()],
        vec![
            "--url".into(),
            format!(
                "postgresql://postgres:{SECRET}@127.0.0.1:{}/db",
                closed_port()
            ),
        ],
        vec![
            "--url".into(),
            format!("postgresql://postgres:{SECRET}@127.0.0.1:notaport/db"),
        ],
        vec![
            "--url".into(),
            format!("mysql://postgres:{SECRET}@127.0.0.1/db"),
        ],
    ];
    for extra in runs {
        let mut args = vec!["verify-test-db"];
        args.extend(extra.iter().map(String::as_str));
        let done = dbguard(&args)
            .cwd(dir.path())
            .env("DATABASE_URL", &dev_url)
            .run()
            .never_shows(SECRET);
        assert!(
            done.code == 0 || done.code == 1,
            "{args:?}: {}",
            done.stderr
        );
    }
    // A broken dev URL is a configuration error, also masked.
    dbguard(&["verify-test-db"])
        .cwd(dir.path())
        .env("DATABASE_URL", &format!("postgresql://u:{SECRET}@h:bad/db"))
        .run()
        .code(2)
        .never_shows(SECRET);
}

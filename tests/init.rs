//! `dbguard init` on a sample project: what it finds, what it writes, what it refuses.

mod support;

use support::{dbguard, write_files};

const SECRET: &str = "hunter2-not-for-toml";

fn sample_project(dir: &std::path::Path) {
    write_files(
        dir,
        &[
            (
                "alembic.ini",
                "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
            ),
            ("migrations/env.py", "import os\n"),
            (
                "migrations/versions/0001_init.py",
                "from alembic import op\n\nrevision = '0001'\ndown_revision = None\n\n\ndef upgrade():\n    op.create_table('t')\n\n\ndef downgrade():\n    op.drop_table('t')\n",
            ),
            ("db/sql/0001_seed.sql", "INSERT INTO t VALUES (1);\n"),
            (
                ".env",
                &format!("# dev\nDATABASE_URL=postgresql+psycopg2://app:{SECRET}@localhost:5433/app_dev\n"),
            ),
            (
                "tests/conftest.py",
                "import os\n\nos.environ.setdefault('TEST_DATABASE_URL', 'postgresql://app@localhost:5434/app_test')\n",
            ),
        ],
    );
}

#[test]
fn init_writes_a_commented_config_without_passwords() {
    let dir = tempfile::tempdir().unwrap();
    sample_project(dir.path());
    let done = dbguard(&["init"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("alembic project: alembic.ini (revisions in migrations/versions)")
        .stdout_has("SQL migrations in db/sql")
        .stdout_has(
            "dev database: postgresql://app:***@localhost:5433/app_dev (DATABASE_URL in .env:2)",
        )
        .stdout_has("test database: postgresql://app@localhost:5434/app_test (tests/conftest.py:3")
        .stdout_has("wrote ")
        .stdout_has("export it where dbguard runs")
        .never_shows(SECRET);
    let text = std::fs::read_to_string(dir.path().join("dbguard.toml")).unwrap();
    assert!(!text.contains(SECRET), "{text}");
    for line in [
        "paths = [\"migrations/versions\", \"db/sql\"]",
        "url_env = \"DATABASE_URL\"",
        "port = 5434",
        "name_pattern = \"*_test\"",
        "# require_mark = true",
    ] {
        assert!(text.contains(line), "lacks {line:?}:\n{text}");
    }
    assert!(done.stdout.contains("dbguard hook install"));

    // What init wrote is a valid configuration that the other commands use.
    dbguard(&["check"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("checked 2 files");
    dbguard(&["verify-test-db", "--json"])
        .cwd(dir.path())
        .run()
        .stdout_has("\"source\": \"tests/conftest.py:3");

    // Never overwritten.
    let before = std::fs::read_to_string(dir.path().join("dbguard.toml")).unwrap();
    dbguard(&["init"])
        .cwd(dir.path())
        .run()
        .code(2)
        .stderr_has("dbguard.toml already exists")
        .stderr_has("help:");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dbguard.toml")).unwrap(),
        before
    );
    // --print shows it without writing.
    dbguard(&["init", "--print"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("[test_database]")
        .never_shows(SECRET);
}

#[test]
fn init_on_an_empty_directory_writes_guidance() {
    let dir = tempfile::tempdir().unwrap();
    dbguard(&["init"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("no alembic.ini")
        .stdout_has("no test database URL");
    let text = std::fs::read_to_string(dir.path().join("dbguard.toml")).unwrap();
    assert!(text.contains("# paths = [\"migrations\"]"), "{text}");
    assert!(text.contains("# url_env = \"TEST_DATABASE_URL\""), "{text}");
    dbguard(&["check"]).cwd(dir.path()).run().code(0);
}

#[test]
fn a_dev_url_without_password_is_written_as_is() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (".env", "DATABASE_URL=postgresql://app@localhost:5433/app\n"),
            (
                ".env.test",
                "DATABASE_URL=postgresql://app@localhost:5433/app_test\n",
            ),
        ],
    );
    dbguard(&["init"])
        .cwd(dir.path())
        .run()
        .code(0)
        .stdout_has("the tests use the dev database's port");
    let text = std::fs::read_to_string(dir.path().join("dbguard.toml")).unwrap();
    assert!(
        text.contains("url = \"postgresql://app@localhost:5433/app\""),
        "{text}"
    );
    assert!(text.contains("# port = 5434"), "{text}");
}

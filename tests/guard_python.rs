//! The guard with real alembic and real pytest from the test venv: a downgrade that drops a
//! column with data is refused without a backup and runs with one (which restores the
//! column); a downgrade over an empty table runs at once; pytest aimed at the dev database
//! is refused, and runs when its database is a separate cluster.

mod support;

use support::{sqlalchemy_url, unique_db, venv_bin, write_files, AlembicProject, PgCluster};

const INIT: &str = r#"from alembic import op
import sqlalchemy as sa

revision = "a0001"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.Text))


def downgrade():
    op.drop_table("users")
"#;

const LEGACY: &str = r#"from alembic import op
import sqlalchemy as sa

revision = "b0002"
down_revision = "a0001"


def upgrade():
    op.add_column("users", sa.Column("legacy_password", sa.Text))


def downgrade():
    # The downgrade autogenerate writes: it drops the column, data and all.
    op.drop_column("users", "legacy_password")
"#;

/// A project with two revisions: a0001 creates users, b0002 adds legacy_password.
fn project() -> AlembicProject {
    AlembicProject::new(&[("a0001_init", INIT), ("b0002_legacy", LEGACY)])
}

fn migrated_database(cluster: &PgCluster, project: &AlembicProject) -> String {
    let db = unique_db("guard_alembic");
    cluster.create_database(&db);
    let out = std::process::Command::new(venv_bin("alembic"))
        .args(["upgrade", "head"])
        .current_dir(project.path())
        .env("DATABASE_URL", sqlalchemy_url(cluster, &db))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

fn version(cluster: &PgCluster, db: &str) -> String {
    cluster
        .client(db)
        .query_one("SELECT version_num::text FROM alembic_version", &[])
        .unwrap()
        .get(0)
}

fn has_column(cluster: &PgCluster, db: &str) -> bool {
    cluster
        .client(db)
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'legacy_password'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 1
}

#[test]
fn a_downgrade_dropping_a_column_with_data_needs_a_backup() {
    let cluster = PgCluster::shared();
    let project = project();
    let db = migrated_database(cluster, &project);
    cluster.execute(&db, "INSERT INTO users (email, legacy_password) SELECT 'u' || g, md5(g::text) FROM generate_series(1, 300) g");
    let url = sqlalchemy_url(cluster, &db);

    let done = project
        .dbguard(&url, &["run", "--", "alembic", "downgrade", "-1"])
        .run()
        .code(3);
    assert!(done.stderr.contains("drop-column"), "{}", done.stderr);
    assert!(done.stderr.contains("legacy_password"), "{}", done.stderr);
    assert!(
        done.stderr.contains("b0002"),
        "names the revision: {}",
        done.stderr
    );
    assert_eq!(version(cluster, &db), "b0002", "refused means nothing ran");
    assert!(has_column(cluster, &db));

    // The plan shows the step and the verdict, and runs nothing.
    project
        .dbguard(&url, &["plan", "--", "alembic", "downgrade", "-1"])
        .run()
        .code(0)
        .stdout_has("1. downgrade b0002 -> a0001")
        .stdout_has("verdict: data-loss")
        .stdout_has("decision: refuse");

    let done = project
        .dbguard(
            &url,
            &[
                "run",
                "--backup",
                "--yes",
                "--",
                "python",
                "-m",
                "alembic",
                "downgrade",
                "-1",
            ],
        )
        .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(version(cluster, &db), "a0001");
    assert!(!has_column(cluster, &db), "the downgrade ran");

    // The backup dbguard took holds the column and its data.
    let listed = project
        .dbguard(&url, &["backups", "--json"])
        .run()
        .code(0)
        .json();
    let name = listed[0]["name"].as_str().unwrap().to_string();
    project
        .dbguard(&url, &["restore", &name, "--yes", "--no-safety-backup"])
        .run()
        .code(0);
    assert!(has_column(cluster, &db));
    let kept: i64 = cluster
        .client(&db)
        .query_one("SELECT count(legacy_password) FROM users", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, 300);
    assert_eq!(version(cluster, &db), "b0002");
}

#[test]
fn a_downgrade_over_an_empty_table_runs_without_a_backup() {
    let cluster = PgCluster::shared();
    let project = project();
    let db = migrated_database(cluster, &project);
    let url = sqlalchemy_url(cluster, &db);
    let done = project
        .dbguard(&url, &["run", "--", "alembic", "downgrade", "-1"])
        .run();
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(version(cluster, &db), "a0001");
    let listed = project
        .dbguard(&url, &["backups", "--json"])
        .run()
        .code(0)
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 0, "no backup was needed");
    // An upgrade that only adds things runs at once too, and the exit code is alembic's.
    project
        .dbguard(&url, &["run", "--", "alembic", "upgrade", "head"])
        .run()
        .code(0);
    assert_eq!(version(cluster, &db), "b0002");
    project
        .dbguard(&url, &["run", "--", "alembic", "upgrade", "nosuchrev"])
        .run()
        .code(2);
}

const PYTEST_FILE: &str = r#"import os, pathlib

def test_touches_the_database():
    pathlib.Path(os.environ["MARKER"]).write_text(os.environ["TEST_DATABASE_URL"])
"#;

#[test]
fn pytest_against_the_dev_database_is_refused() {
    let dev = PgCluster::shared();
    let dev_db = unique_db("guard_dev");
    dev.create_database(&dev_db);
    let project = project();
    write_files(project.path(), &[("tests/test_db.py", PYTEST_FILE)]);
    let marker = project.path().join("pytest-ran");
    let dev_url = dev.url(&dev_db);

    // The tests' URL is the dev database under another name: refused, pytest never runs.
    let disguised = format!("postgresql://postgres@localhost:{}/{dev_db}", dev.port());
    let done = project
        .dbguard(&dev_url, &["run", "--yes", "--", "pytest", "-q", "tests"])
        .env("TEST_DATABASE_URL", &disguised)
        .env("MARKER", &marker.display().to_string())
        .run()
        .code(3);
    assert!(
        done.stderr.contains("verified test database"),
        "{}",
        done.stderr
    );
    assert!(!marker.exists(), "pytest must not have run");

    // A separate test cluster: pytest runs and its exit code is dbguard's.
    let test = PgCluster::start();
    test.create_database("app_test");
    let done = project
        .dbguard(
            &dev_url,
            &["run", "--", "python", "-m", "pytest", "-q", "tests"],
        )
        .env("TEST_DATABASE_URL", &test.url("app_test"))
        .env("MARKER", &marker.display().to_string())
        .run();
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    assert!(marker.exists(), "pytest ran");
}

//! A throwaway alembic project (dbguard.toml, alembic.ini, env.py reading `$DATABASE_URL`,
//! the given revisions) whose commands find the test venv's alembic on PATH.

use std::path::Path;

use super::cli::{dbguard, write_files, Run};
use super::pg::PgCluster;
use super::venv::venv_bin;

/// env.py of every test project: online through `$DATABASE_URL`, or offline (`--sql`).
pub const ENV_PY: &str = r#"import os
from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ["DATABASE_URL"]
if context.is_offline_mode():
    context.configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
"#;

pub struct AlembicProject {
    dir: tempfile::TempDir,
    path_env: String,
}

impl AlembicProject {
    /// `revisions`: (file stem under migrations/versions, source).
    pub fn new<S: AsRef<str>>(revisions: &[(&str, S)]) -> AlembicProject {
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<(String, String)> = vec![
            (
                "dbguard.toml".into(),
                "[backup]\ndir = \"backups\"\n".into(),
            ),
            (
                "alembic.ini".into(),
                "[alembic]\nscript_location = migrations\n".into(),
            ),
            ("migrations/env.py".into(), ENV_PY.into()),
        ];
        for (name, text) in revisions {
            files.push((
                format!("migrations/versions/{name}.py"),
                text.as_ref().to_string(),
            ));
        }
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        write_files(dir.path(), &files);
        let bin = venv_bin("alembic").parent().unwrap().display().to_string();
        let path_env = format!("{bin}:{}", std::env::var("PATH").unwrap());
        AlembicProject { dir, path_env }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// PATH with the venv's bin first.
    pub fn path_env(&self) -> &str {
        &self.path_env
    }

    /// Runs dbguard here with DATABASE_URL (SQLAlchemy style, as apps write it) and the venv.
    pub fn dbguard(&self, url: &str, args: &[&str]) -> Run {
        dbguard(args)
            .cwd(self.path())
            .env("DATABASE_URL", url)
            .env("PATH", &self.path_env)
    }
}

/// The URL an application would put in DATABASE_URL for `db` on `cluster`.
pub fn sqlalchemy_url(cluster: &PgCluster, db: &str) -> String {
    format!(
        "postgresql+psycopg2://postgres@127.0.0.1:{}/{db}",
        cluster.port()
    )
}

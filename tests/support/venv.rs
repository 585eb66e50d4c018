//! The Python venv with real alembic that `scripts/test` sets up (`.venv-tests/` at the
//! repository root, or `$DBGUARD_TEST_VENV`). Missing is a failure, never a skip: a green
//! run must mean the alembic comparisons ran.

use std::path::PathBuf;

/// Path of a program in the test venv (`alembic`, `python`).
pub fn venv_bin(name: &str) -> PathBuf {
    let venv = std::env::var_os("DBGUARD_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-tests"));
    let path = venv.join("bin").join(name);
    assert!(
        path.is_file(),
        "the alembic tests need the Python test venv, and {} does not exist: run `scripts/test` \
         (it creates .venv-tests/ from tests/requirements.txt), or point DBGUARD_TEST_VENV at a \
         venv with those packages",
        path.display()
    );
    path
}

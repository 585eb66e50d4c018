//! The git pre-commit hook in a real repository: real `git commit`s, the real binary.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::GitRepo;

const DROP: &str = "DROP TABLE users;\n";

fn installed(repo: &GitRepo) -> &GitRepo {
    repo.dbguard(&["hook", "install"])
        .run()
        .code(0)
        .stdout_has("installed the pre-commit hook");
    repo
}

fn write_hook(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_staged_drop_blocks_the_commit_and_an_unstaged_fix_does_not_help() {
    let repo = GitRepo::new();
    installed(&repo);
    repo.write("migrations/0001_init.sql", "CREATE TABLE users (id int);\n");
    repo.ok(&["add", "."]);
    repo.ok(&["commit", "-q", "-m", "init"]);

    repo.write("migrations/0002_cleanup.sql", DROP);
    repo.ok(&["add", "."]);
    let blocked = repo.git(&["commit", "-m", "cleanup"]);
    assert!(!blocked.success, "commit went through:\n{}", blocked.output);
    assert!(
        blocked
            .output
            .contains("migrations/0002_cleanup.sql:1:1: data-loss[drop-table]"),
        "{}",
        blocked.output
    );
    assert!(
        blocked.output.contains("commit blocked"),
        "{}",
        blocked.output
    );

    // Fixing the file without staging the fix changes nothing: the commit holds the index.
    repo.write("migrations/0002_cleanup.sql", "SELECT 1;\n");
    let still = repo.git(&["commit", "-m", "cleanup"]);
    assert!(
        !still.success,
        "an unstaged fix let the DROP in:\n{}",
        still.output
    );
    assert!(still.output.contains("drop-table"), "{}", still.output);

    // An allow annotation with a reason, staged, lets it through.
    repo.write(
        "migrations/0002_cleanup.sql",
        "-- dbguard:allow drop-table reason: \"users moved to the accounts service\"\nDROP TABLE users;\n",
    );
    repo.ok(&["add", "."]);
    let through = repo.git(&["commit", "-m", "cleanup"]);
    assert!(through.success, "{}", through.output);

    // The reverse: a DROP left unstaged in the working tree does not block a clean commit.
    repo.write("migrations/0003.sql", "SELECT 1;\n");
    repo.ok(&["add", "."]);
    repo.write("migrations/0003.sql", DROP);
    let clean = repo.git(&["commit", "-m", "clean"]);
    assert!(clean.success, "{}", clean.output);
}

#[test]
fn an_allow_without_a_reason_does_not_let_it_through() {
    let repo = GitRepo::new();
    installed(&repo);
    repo.write("m.sql", "-- dbguard:allow drop-table\nDROP TABLE users;\n");
    repo.ok(&["add", "."]);
    let out = repo.git(&["commit", "-m", "x"]);
    assert!(!out.success);
    assert!(
        out.output.contains("allow-without-reason"),
        "{}",
        out.output
    );
}

#[test]
fn check_staged_only_reads_migrations() {
    let repo = GitRepo::new();
    repo.write("dbguard.toml", "[check]\npaths = [\"db/migrations\"]\n");
    repo.write("db/migrations/1.sql", "SELECT 1;\n");
    repo.write("scripts/reset.sql", DROP); // outside [check] paths
    repo.write("README.md", "DROP TABLE users;\n");
    repo.ok(&["add", "."]);
    repo.dbguard(&["check", "--staged"])
        .run()
        .code(0)
        .stdout_has("checked 1 file");
    repo.write("db/migrations/2.sql", DROP);
    repo.ok(&["add", "."]);
    repo.dbguard(&["check", "--staged", "--format", "json"])
        .run()
        .code(1)
        .stdout_has("\"path\": \"db/migrations/2.sql\"");

    // Without [check] paths: every staged *.sql, and the alembic revisions (the staged blob
    // goes through the alembic analyzer).
    let repo = GitRepo::new();
    repo.write("alembic.ini", "[alembic]\nscript_location = alembic\n");
    repo.write(
        "alembic/versions/0001_x.py",
        "from alembic import op\n\nrevision = 'a1'\ndown_revision = None\n\n\ndef upgrade():\n    op.drop_table('users')\n\n\ndef downgrade():\n    pass\n",
    );
    repo.write("alembic/env.py", "import os\n");
    repo.write("scripts/reset.sql", DROP);
    repo.ok(&["add", "."]);
    let done = repo.dbguard(&["check", "--staged"]).run().code(1);
    assert!(done
        .stdout
        .contains("scripts/reset.sql:1:1: data-loss[drop-table]"));
    assert!(
        done.stdout
            .contains("alembic/versions/0001_x.py:8:5: data-loss[drop-table]"),
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains("env.py"), "{}", done.stdout);
}

#[test]
fn outside_a_repository_check_staged_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    support::dbguard(&["check", "--staged"])
        .cwd(dir.path())
        .env(
            "GIT_CEILING_DIRECTORIES",
            &dir.path().parent().unwrap().to_string_lossy(),
        )
        .run()
        .code(2)
        .stderr_has("not inside a git work tree")
        .stderr_has("help:");
    support::dbguard(&["check", "--staged", "x.sql"])
        .run()
        .code(2)
        .stderr_has("cannot be used with");
}

#[test]
fn a_foreign_hook_is_kept_chained_and_restored() {
    let repo = GitRepo::new();
    let hook = repo.file(".git/hooks/pre-commit");
    let original = "#!/bin/sh\necho ran >> \"$(git rev-parse --show-toplevel)/.git/foreign-ran\"\n";
    write_hook(&hook, original);

    repo.dbguard(&["hook", "install"])
        .run()
        .code(2)
        .stderr_has("not written by dbguard")
        .stderr_has("--force");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);

    repo.dbguard(&["hook", "install", "--force"])
        .run()
        .code(0)
        .stdout_has("previous hook now runs after dbguard's check");
    let ran = repo.file(".git/foreign-ran");

    // A blocked commit stops before the chained hook.
    repo.write("m.sql", DROP);
    repo.ok(&["add", "."]);
    assert!(!repo.git(&["commit", "-m", "x"]).success);
    assert!(!ran.exists());

    // A clean commit runs dbguard's check, then the chained hook.
    repo.write("m.sql", "SELECT 1;\n");
    repo.ok(&["add", "."]);
    let out = repo.git(&["commit", "-m", "x"]);
    assert!(out.success, "{}", out.output);
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n");

    // Reinstalling keeps the chain; uninstalling puts the original back, exactly.
    repo.dbguard(&["hook", "install"])
        .run()
        .code(0)
        .stdout_has("updated");
    repo.dbguard(&["hook", "uninstall"])
        .run()
        .code(0)
        .stdout_has("your previous hook is back");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);
    assert!(!repo.file(".git/hooks/pre-commit.dbguard-chained").exists());
    // Uninstall never removes a hook it did not write.
    repo.dbguard(&["hook", "uninstall"])
        .run()
        .code(0)
        .stdout_has("not written by dbguard; left it alone");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);
}

#[test]
fn core_hooks_path_is_respected() {
    let repo = GitRepo::new();
    repo.ok(&["config", "core.hooksPath", ".githooks"]);
    let sub = repo.file("sub/dir");
    std::fs::create_dir_all(&sub).unwrap();
    // Installed from a subdirectory: the path is still relative to the top of the work tree.
    repo.dbguard(&["hook", "install"])
        .cwd(&sub)
        .run()
        .code(0)
        .stdout_has(".githooks/pre-commit");
    assert!(repo.file(".githooks/pre-commit").is_file());
    assert!(!repo.file(".git/hooks/pre-commit").exists());

    repo.write("m.sql", DROP);
    repo.ok(&["add", "m.sql"]);
    let out = repo.git(&["commit", "-m", "x"]);
    assert!(!out.success, "{}", out.output);
    assert!(out.output.contains("drop-table"), "{}", out.output);

    repo.dbguard(&["hook", "uninstall"]).run().code(0);
    assert!(!repo.file(".githooks/pre-commit").exists());
}

#[test]
fn the_hook_works_with_a_minimal_environment_and_finds_a_moved_binary() {
    let repo = GitRepo::new();
    installed(&repo);
    repo.write("m.sql", DROP);
    repo.ok(&["add", "."]);
    // PATH without dbguard: the absolute path written at install time is used.
    let out = repo.git_minimal_env("/usr/bin:/bin", &["commit", "-m", "x"]);
    assert!(!out.success);
    assert!(out.output.contains("drop-table"), "{}", out.output);

    // The binary moved: the hook falls back to PATH.
    let hook = repo.file(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    let binary = env!("CARGO_BIN_EXE_dbguard");
    std::fs::write(&hook, text.replace(binary, "/nonexistent/dbguard")).unwrap();
    let bin_dir = Path::new(binary)
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = repo.git_minimal_env(&format!("{bin_dir}:/usr/bin:/bin"), &["commit", "-m", "x"]);
    assert!(!out.success);
    assert!(out.output.contains("drop-table"), "{}", out.output);

    // Nowhere to be found: the commit is blocked with a clear message (fail closed).
    let out = repo.git_minimal_env("/usr/bin:/bin", &["commit", "-m", "x"]);
    assert!(!out.success);
    assert!(
        out.output.contains("the dbguard binary is gone"),
        "{}",
        out.output
    );
}

#[test]
fn commit_all_and_commit_with_paths_are_checked_too() {
    // `git commit -a` and `git commit PATH` stage into a temporary index (GIT_INDEX_FILE);
    // the hook must read that one.
    let repo = GitRepo::new();
    installed(&repo);
    repo.write("m.sql", "SELECT 1;\n");
    repo.ok(&["add", "."]);
    repo.ok(&["commit", "-q", "-m", "init"]);
    repo.write("m.sql", DROP);
    let out = repo.git(&["commit", "-a", "-m", "x"]);
    assert!(!out.success, "{}", out.output);
    assert!(out.output.contains("drop-table"), "{}", out.output);
    let out = repo.git(&["commit", "-m", "x", "m.sql"]);
    assert!(!out.success, "{}", out.output);
    assert!(out.output.contains("drop-table"), "{}", out.output);
}

#[test]
fn a_config_given_at_install_time_applies_to_every_commit() {
    let repo = GitRepo::new();
    repo.write("ci/dbguard.toml", "[check]\nfail_on = \"risky\"\n");
    repo.dbguard(&["--config", "ci/dbguard.toml", "hook", "install"])
        .run()
        .code(0);
    repo.write("m.sql", "ALTER TABLE t ALTER COLUMN c TYPE bigint;\n");
    repo.ok(&["add", "m.sql"]);
    let out = repo.git(&["commit", "-m", "x"]);
    assert!(
        !out.success,
        "risky fails with this config:\n{}",
        out.output
    );
    assert!(out.output.contains("alter-column-type"), "{}", out.output);
    repo.dbguard(&["--config", "nope.toml", "hook", "install"])
        .run()
        .code(2)
        .stderr_has("config file not found");
}

#[test]
fn check_staged_uses_the_include_and_exclude_globs() {
    let repo = GitRepo::new();
    repo.write(
        "dbguard.toml",
        "[check]\ninclude = [\"*.sql.postgres\"]\nexclude = [\"vendor\"]\n",
    );
    repo.write("synapse/deltas/58/drop.sql.postgres", DROP);
    repo.write("vendor/x.sql.postgres", "DROP TABLE vendored;\n");
    repo.write("plain.sql", "DROP TABLE not_included;\n");
    repo.ok(&["add", "."]);
    let done = repo.dbguard(&["check", "--staged"]).run().code(1);
    assert!(
        done.stdout
            .contains("synapse/deltas/58/drop.sql.postgres:1:1: data-loss[drop-table]"),
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains("vendored"), "{}", done.stdout);
    assert!(!done.stdout.contains("not_included"), "{}", done.stdout);
}

//! Helpers a revision imports from the project's own modules (`from myapp.db.helpers import
//! drop_fk`): where Python would find them (the revision's directory and its parents, which
//! hold the alembic project and the application), and which arguments hand a database to a
//! function dbguard cannot read.

use std::path::{Path, PathBuf};

use tree_sitter::Node;

use super::python::{text, unparen};
use super::value::{last_name, Eval, Value};

/// How many parent directories of a revision are searched for a module.
const MAX_PARENTS: usize = 10;

/// Modules whose functions never run a migration's SQL behind its back (SQLAlchemy's
/// `inspect(bind)`, `logging`, …): passing them a connection is not a blind spot.
const LIBRARIES: &[&str] = &[
    "sqlalchemy",
    "alembic",
    "sqlmodel",
    "typing",
    "typing_extensions",
    "logging",
    "os",
    "sys",
    "json",
    "datetime",
    "uuid",
    "re",
    "enum",
    "decimal",
    "collections",
    "functools",
    "itertools",
    "textwrap",
    "warnings",
    "contextlib",
    "dataclasses",
    "pathlib",
    "time",
];

/// Python builtins that take any object.
const BUILTINS: &[&str] = &[
    "print",
    "len",
    "isinstance",
    "issubclass",
    "getattr",
    "hasattr",
    "setattr",
    "repr",
    "str",
    "id",
    "type",
    "vars",
    "dir",
    "list",
    "tuple",
    "dict",
    "set",
    "iter",
    "next",
    "callable",
    "super",
];

/// Whether a module is a library dbguard trusts not to change data on its own.
pub fn is_library(module: &str) -> bool {
    let root = module.split('.').next().unwrap_or(module);
    LIBRARIES.contains(&root)
}

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// The file of `module` (`a.b` → `a/b.py` or `a/b/__init__.py`) in the revision's directory
/// or one of its parents, as Python's path would find it when alembic runs from there.
pub fn find_module(revision: &Path, module: &str) -> Option<PathBuf> {
    let relative: PathBuf = module.split('.').collect();
    let start = revision.parent()?;
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    start.ancestors().take(MAX_PARENTS).find_map(|dir| {
        let file = dir.join(&relative).with_extension("py");
        let package = dir.join(&relative).join("__init__.py");
        [file, package].into_iter().find(|p| p.is_file())
    })
}

/// What an argument hands over when it is a way into the database: alembic's `op`, a bind,
/// a connection, a session or an engine. `None` for anything else.
pub fn database_handle<'t>(eval: &Eval<'_, 't>, arg: Node<'t>) -> Option<String> {
    let src = eval.module.src;
    let arg = unparen(arg);
    let opens = |call: Node<'t>| {
        call.kind() == "call"
            && call
                .child_by_field_name("function")
                .and_then(|f| last_name(f, src))
                .is_some_and(|n| {
                    matches!(
                        n,
                        "get_bind"
                            | "connect"
                            | "begin"
                            | "Session"
                            | "sessionmaker"
                            | "scoped_session"
                            | "create_engine"
                            | "engine_from_config"
                            | "get_context"
                    )
                })
    };
    match arg.kind() {
        "call" if opens(arg) => Some(super::value::shorten(text(arg, src))),
        "identifier" => {
            let name = text(arg, src);
            let bound = eval.lookup(name);
            let handle = match &bound {
                Some(Value::Expr(expr)) => opens(unparen(*expr)),
                Some(Value::Text(_)) | Some(Value::Function(_)) | Some(Value::Row { .. }) => false,
                // A parameter or an unknown binding: by its name.
                _ => matches!(
                    name,
                    "op" | "bind"
                        | "conn"
                        | "connection"
                        | "session"
                        | "db_session"
                        | "engine"
                        | "cursor"
                        | "migration_context"
                ),
            };
            (handle || name == "op").then(|| name.to_string())
        }
        _ => None,
    }
}

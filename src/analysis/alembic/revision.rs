//! A revision file's identity: `revision`, `down_revision`, `branch_labels`, `depends_on`,
//! read from its top-level assignments (plain or annotated) without running it.

use std::path::{Path, PathBuf};

use super::module::{Constant, Module};
use super::python::{self, children, string_literal, text};

/// One revision script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    pub id: String,
    /// Parents (several for a merge revision; none for a base).
    pub down: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub path: PathBuf,
    /// The first paragraph of the module docstring (alembic's `doc`, printed in logs).
    pub doc: Option<String>,
}

/// Whether a file is an alembic revision: it assigns `revision` and defines `upgrade()`.
pub fn looks_like_revision(module: &Module<'_>) -> bool {
    module.assignments.contains_key("revision") && module.function("upgrade").is_some()
}

/// Reads the revision metadata of a parsed file. An error names the variable that cannot be
/// read (alembic would import the file; dbguard does not run code).
pub fn read(module: &Module<'_>, path: &Path) -> Result<Revision, String> {
    let id = match module.assignments.get("revision") {
        Some(node) => match module.constant(*node) {
            Constant::Strings(s) if s.len() == 1 && !s[0].is_empty() => s[0].clone(),
            _ => return Err("`revision` is not a string literal".to_string()),
        },
        None => legacy_id(path).ok_or_else(|| "it assigns no `revision`".to_string())?,
    };
    if let Some(bad) = id.chars().find(|c| matches!(c, '@' | '-' | '+' | ':')) {
        return Err(format!(
            "revision id `{id}` contains `{bad}`, which alembic does not allow"
        ));
    }
    let list = |name: &str| -> Result<Vec<String>, String> {
        match module.assignments.get(name) {
            None => Ok(Vec::new()),
            Some(node) => module.constant(*node).strings().ok_or_else(|| {
                format!(
                    "`{name}` is not a literal (`{}`), so dbguard cannot tell the revision's place in the history",
                    text(*node, module.src)
                )
            }),
        }
    };
    let down = list("down_revision")?;
    if down.contains(&id) {
        return Err(format!("revision {id} names itself as its down_revision"));
    }
    Ok(Revision {
        down,
        branch_labels: list("branch_labels")?,
        depends_on: list("depends_on")?,
        doc: docstring(module),
        path: path.to_path_buf(),
        id,
    })
}

/// Alembic 0.1 named files `<hex id>.py` without a `revision` variable.
fn legacy_id(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    (!stem.is_empty() && stem.chars().all(|c| c.is_ascii_hexdigit())).then(|| stem.to_string())
}

/// The module docstring's first paragraph, as alembic shows it in `Running upgrade` lines.
fn docstring(module: &Module<'_>) -> Option<String> {
    let first = children(module.tree.root_node()).into_iter().next()?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let string = children(first).into_iter().next()?;
    let value = string_literal(string, module.src)?.plain()?;
    let paragraph = value.trim().split("\n\n").next()?.trim().to_string();
    (!paragraph.is_empty()).then_some(paragraph)
}

/// Parses a file and reads its metadata in one step.
pub fn read_file(src: &str, path: &Path) -> Result<Option<Revision>, String> {
    let tree = python::parse(src).ok_or_else(|| "the Python parser failed".to_string())?;
    let module = Module::new(src, &tree);
    if !module.assignments.contains_key("revision") && legacy_id(path).is_none() {
        return Ok(None);
    }
    read(&module, path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(src: &str) -> Result<Option<Revision>, String> {
        read_file(src, Path::new("versions/x.py"))
    }

    #[test]
    fn plain_and_annotated_assignments() {
        let r = rev(r#""""Add users

Revision ID: abc
"""
from typing import Sequence, Union
revision: str = "abc"
down_revision: Union[str, None] = 'parent'
branch_labels: Union[str, Sequence[str], None] = None
depends_on = None
def upgrade(): pass
"#)
        .unwrap()
        .unwrap();
        assert_eq!(r.id, "abc");
        assert_eq!(r.down, ["parent"]);
        assert!(r.branch_labels.is_empty());
        assert_eq!(r.doc.as_deref(), Some("Add users"));
    }

    #[test]
    fn merges_labels_and_constants() {
        let r = rev("LABEL = 'expand'\nrevision = 'm1'\ndown_revision = ('a', 'b')\nbranch_labels = (LABEL,)\ndepends_on = ['x']\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.down, ["a", "b"]);
        assert_eq!(r.branch_labels, ["expand"]);
        assert_eq!(r.depends_on, ["x"]);
    }

    #[test]
    fn unreadable_metadata_is_an_error_not_a_guess() {
        let err =
            rev("from x import PARENT\nrevision = 'a'\ndown_revision = PARENT\n").unwrap_err();
        assert!(err.contains("down_revision"), "{err}");
        assert!(rev("x = 1\n").unwrap().is_none());
        assert!(rev("revision = 'a-b'\n").unwrap_err().contains('-'));
    }
}

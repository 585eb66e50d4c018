//! Environment variables a conftest.py sets or reads, found statically.
//!
//! The forms understood (with `os.` or imported from `os`): `os.environ["X"] = v`,
//! `os.environ.setdefault("X", v)`, `os.getenv("X", v)`, `os.environ.get("X", v)`,
//! `os.environ["X"]` (a read) and `monkeypatch.setenv("X", v)`. A value is known when it is a
//! string literal, an implicit or `+` concatenation of literals, or a name bound to one at
//! module level (`DEFAULT_URL = "…"`); anything else (an f-string, a call) is reported as
//! dynamic rather than guessed.
//!
//! The file is read with the same Python parser as alembic revisions (tree-sitter): comments
//! and strings can neither hide nor fake an access.

use std::collections::HashMap;

use tree_sitter::Node;

use crate::analysis::alembic::python::{children, parse, string_literal, text, unparen};

/// What the code does with the variable, which decides whether the process environment or
/// the literal wins at test time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Overwrites the variable: the literal wins.
    Set,
    /// Uses the variable when it is set, else the literal (`setdefault`, `getenv` defaults).
    Default,
    /// Reads the variable, with no literal to fall back on.
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Known(String),
    /// An expression dbguard cannot evaluate without running the code.
    Dynamic,
    Absent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvAccess {
    pub var: String,
    pub access: Access,
    pub value: Value,
    pub line: usize,
    /// How it was written, for messages: `os.environ[...] =`, `os.getenv`, …
    pub form: &'static str,
}

/// Deepest nesting walked (a crafted file must not overflow the stack).
const MAX_NESTING: usize = 500;

pub fn env_accesses(source: &str) -> Vec<EnvAccess> {
    let Some(tree) = parse(source) else {
        return Vec::new();
    };
    let root = tree.root_node();
    let reader = Reader {
        src: source,
        constants: module_constants(root, source),
    };
    let mut found = Vec::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if let Some(access) = reader.access(node) {
            found.push((node.start_byte(), access));
        }
        if depth < MAX_NESTING {
            let mut cursor = node.walk();
            let kids: Vec<Node> = node.named_children(&mut cursor).collect();
            stack.extend(kids.into_iter().rev().map(|k| (k, depth + 1)));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, a)| a).collect()
}

/// `NAME = "literal"` statements at the top level, in order: what a later
/// `os.getenv("X", NAME)` falls back to.
fn module_constants(root: Node<'_>, src: &str) -> HashMap<String, String> {
    let mut constants = HashMap::new();
    for statement in children(root) {
        if statement.kind() != "expression_statement" {
            continue;
        }
        for expr in children(statement) {
            let (Some(left), Some(right)) = (
                expr.child_by_field_name("left"),
                expr.child_by_field_name("right"),
            ) else {
                continue;
            };
            if expr.kind() == "assignment" && left.kind() == "identifier" {
                if let Some(value) = literal(right, src, &constants) {
                    constants.insert(text(left, src).to_string(), value);
                }
            }
        }
    }
    constants
}

/// The value of an expression made only of string literals (implicitly concatenated or
/// joined with `+`) and names of such constants, or `None`.
fn literal(node: Node<'_>, src: &str, constants: &HashMap<String, String>) -> Option<String> {
    let node = unparen(node);
    match node.kind() {
        "string" | "concatenated_string" => string_literal(node, src)?.plain(),
        "identifier" => constants.get(text(node, src)).cloned(),
        "binary_operator" => {
            let operator = node.child_by_field_name("operator")?;
            if text(operator, src) != "+" {
                return None;
            }
            let left = literal(node.child_by_field_name("left")?, src, constants)?;
            let right = literal(node.child_by_field_name("right")?, src, constants)?;
            Some(left + &right)
        }
        _ => None,
    }
}

struct Reader<'a> {
    src: &'a str,
    constants: HashMap<String, String>,
}

impl Reader<'_> {
    /// `os.NAME`, or a bare `NAME` (imported with `from os import NAME`), not `x.NAME`.
    fn is_os_member(&self, node: Node<'_>, member: &str) -> bool {
        match node.kind() {
            "identifier" => text(node, self.src) == member,
            "attribute" => {
                let object = node.child_by_field_name("object");
                let attr = node.child_by_field_name("attribute");
                object.is_some_and(|o| o.kind() == "identifier" && text(o, self.src) == "os")
                    && attr.is_some_and(|a| text(a, self.src) == member)
            }
            _ => false,
        }
    }

    fn access(&self, node: Node<'_>) -> Option<EnvAccess> {
        let line = node.start_position().row + 1;
        match node.kind() {
            // os.environ["X"] (= value)
            "subscript" => {
                let value = node.child_by_field_name("value")?;
                if !self.is_os_member(value, "environ") {
                    return None;
                }
                let mut cursor = node.walk();
                let index: Vec<Node> = node
                    .children_by_field_name("subscript", &mut cursor)
                    .collect();
                let [index] = index.as_slice() else {
                    return None;
                };
                let var = literal(*index, self.src, &self.constants)?;
                let parent = node.parent();
                let assigned = parent.filter(|p| {
                    p.kind() == "assignment"
                        && p.child_by_field_name("left")
                            .is_some_and(|l| l.id() == node.id())
                });
                Some(match assigned {
                    Some(assignment) => EnvAccess {
                        var,
                        access: Access::Set,
                        value: evaluate(
                            assignment
                                .child_by_field_name("right")
                                .and_then(|r| literal(r, self.src, &self.constants)),
                        ),
                        line,
                        form: "os.environ[...] =",
                    },
                    None => EnvAccess {
                        var,
                        access: Access::Read,
                        value: Value::Absent,
                        line,
                        form: "os.environ[...]",
                    },
                })
            }
            "call" => {
                let function = node.child_by_field_name("function")?;
                if self.is_os_member(function, "getenv") {
                    return self.call(node, "os.getenv", Access::Default, line);
                }
                if function.kind() != "attribute" {
                    return None;
                }
                let object = function.child_by_field_name("object")?;
                let method = text(function.child_by_field_name("attribute")?, self.src);
                if self.is_os_member(object, "environ") {
                    let (form, access) = match method {
                        "get" => ("os.environ.get", Access::Default),
                        "setdefault" => ("os.environ.setdefault", Access::Default),
                        _ => return None,
                    };
                    return self.call(node, form, access, line);
                }
                // monkeypatch.setenv("X", v) (any receiver name: `mp.setenv` works the same).
                if method == "setenv"
                    && object.kind() == "identifier"
                    && text(object, self.src) != "os"
                {
                    return self.call(node, "monkeypatch.setenv", Access::Set, line);
                }
                None
            }
            _ => None,
        }
    }

    /// A call's arguments: the variable name first, then the value or default (positional
    /// or `default=` / `value=`).
    fn call(
        &self,
        call: Node<'_>,
        form: &'static str,
        access: Access,
        line: usize,
    ) -> Option<EnvAccess> {
        let arguments = children(call.child_by_field_name("arguments")?);
        let first = arguments.first()?;
        if first.kind() == "keyword_argument" {
            return None;
        }
        let var = literal(*first, self.src, &self.constants)?;
        let value = arguments
            .iter()
            .skip(1)
            .find_map(|arg| {
                if arg.kind() != "keyword_argument" {
                    return Some(*arg);
                }
                let name = arg.child_by_field_name("name")?;
                matches!(text(name, self.src), "default" | "value")
                    .then(|| arg.child_by_field_name("value"))
                    .flatten()
            })
            .map(|v| evaluate(literal(v, self.src, &self.constants)))
            .unwrap_or(Value::Absent);
        let access = if access == Access::Default && value == Value::Absent {
            Access::Read
        } else {
            access
        };
        Some(EnvAccess {
            var,
            access,
            value,
            line,
            form,
        })
    }
}

fn evaluate(value: Option<String>) -> Value {
    value.map_or(Value::Dynamic, Value::Known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(source: &str) -> EnvAccess {
        let found = env_accesses(source);
        assert_eq!(found.len(), 1, "{found:?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn assignment_sets() {
        let a = one(
            "import os\nos.environ[\"DATABASE_URL\"] = 'postgresql://localhost:5434/app_test'\n",
        );
        assert_eq!(a.var, "DATABASE_URL");
        assert_eq!(a.access, Access::Set);
        assert_eq!(
            a.value,
            Value::Known("postgresql://localhost:5434/app_test".into())
        );
        assert_eq!(a.line, 2);
    }

    #[test]
    fn defaults_from_getenv_get_and_setdefault() {
        let a = one("URL = os.getenv('TEST_DATABASE_URL', 'postgresql:///a_test')");
        assert_eq!((a.access, a.form), (Access::Default, "os.getenv"));
        assert_eq!(a.value, Value::Known("postgresql:///a_test".into()));
        let a = one("from os import environ\nurl = environ.get('X', default='pg://' 'h/db')");
        assert_eq!(
            (a.access, a.value),
            (Access::Default, Value::Known("pg://h/db".into()))
        );
        let a = one("os.environ.setdefault(\n    'X',\n    'v',\n)\n");
        assert_eq!((a.form, a.line), ("os.environ.setdefault", 1));
        assert_eq!(a.value, Value::Known("v".into()));
    }

    #[test]
    fn reads_without_default() {
        assert_eq!(one("x = os.getenv('X')").access, Access::Read);
        assert_eq!(one("x = os.environ['X']").access, Access::Read);
    }

    #[test]
    fn module_constants_are_followed() {
        let src = "BASE = 'postgresql://localhost:5434/'\nURL = BASE + 'app_test'\n";
        let a = one(&format!("{src}os.environ.setdefault('X', URL)\n"));
        assert_eq!(
            a.value,
            Value::Known("postgresql://localhost:5434/app_test".into())
        );
    }

    #[test]
    fn dynamic_values_are_not_guessed() {
        let a = one("os.environ['X'] = f'postgresql:///{name}'\n");
        assert_eq!(a.value, Value::Dynamic);
        let a = one("os.environ['X'] = build_url()\n");
        assert_eq!(a.value, Value::Dynamic);
    }

    #[test]
    fn comments_and_strings_neither_hide_nor_fake_an_access() {
        let src = "# os.environ['X'] = 'a'\ns = \"os.environ['X'] = 'b'\"\nDOC = '''\nos.getenv('Y', 'c')\n'''\n";
        assert!(env_accesses(src).is_empty());
        let a =
            one("url = os.environ.get(\n    'X',  # the test database\n    r'pg:\\\\h/db',\n)\n");
        assert_eq!(a.value, Value::Known("pg:\\\\h/db".into()));
    }

    #[test]
    fn monkeypatch_setenv_and_lookalikes() {
        let a = one("def f(monkeypatch):\n    monkeypatch.setenv('X', 'v')\n");
        assert_eq!((a.access, a.form), (Access::Set, "monkeypatch.setenv"));
        assert!(env_accesses("settings.environ['X'] = 'v'\n# os.environ['X'] = 'v'\n").is_empty());
        assert!(env_accesses("if os.environ['X'] == 'v': pass\n")
            .iter()
            .all(|a| a.access == Access::Read));
    }
}

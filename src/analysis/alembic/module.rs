//! The top level of a parsed revision file: its assignments, functions and syntax errors.
//! Revision metadata and the operation analyzer both read it.

use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use super::python::{children, string_literal, text, unparen};

/// A parsed Python file and what its top level defines.
pub struct Module<'t> {
    pub src: &'t str,
    pub tree: &'t Tree,
    /// `name -> right-hand side` of top-level assignments (the last one wins, as at import).
    pub assignments: HashMap<String, Node<'t>>,
    /// Top-level `def`s (also decorated ones), by name.
    pub functions: HashMap<String, Node<'t>>,
    /// Top-level classes (ORM models), by name.
    pub classes: HashMap<String, Node<'t>>,
    /// `from MODULE import NAME [as LOCAL]`: local name → (module, name).
    pub imports: HashMap<String, (String, String)>,
    /// `import a.b [as c]`: local name (`c`, or `a.b`) → module.
    pub module_imports: HashMap<String, String>,
    /// The file it was read from, when known: imports of the project's own modules are
    /// found from there.
    pub origin: Option<std::path::PathBuf>,
    /// Byte ranges the parser could not read.
    pub errors: Vec<std::ops::Range<usize>>,
}

impl<'t> Module<'t> {
    pub fn new(src: &'t str, tree: &'t Tree) -> Module<'t> {
        let mut module = Module {
            src,
            tree,
            assignments: HashMap::new(),
            functions: HashMap::new(),
            classes: HashMap::new(),
            imports: HashMap::new(),
            module_imports: HashMap::new(),
            origin: None,
            errors: Vec::new(),
        };
        for statement in children(tree.root_node()) {
            module.top_level(statement);
        }
        module.errors = syntax_errors(tree.root_node());
        module
    }

    fn top_level(&mut self, statement: Node<'t>) {
        match statement.kind() {
            "expression_statement" => {
                for expr in children(statement) {
                    if expr.kind() == "assignment" {
                        self.assignment(expr);
                    }
                }
            }
            "function_definition" => {
                if let Some(name) = statement.child_by_field_name("name") {
                    self.functions
                        .insert(text(name, self.src).to_string(), statement);
                }
            }
            "class_definition" => {
                if let Some(name) = statement.child_by_field_name("name") {
                    self.classes
                        .insert(text(name, self.src).to_string(), statement);
                }
            }
            "import_from_statement" => self.import_from(statement),
            "import_statement" => {
                for name in children(statement) {
                    let (module, local) = match name.kind() {
                        "aliased_import" => (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias"),
                        ),
                        _ => (Some(name), Some(name)),
                    };
                    if let (Some(module), Some(local)) = (module, local) {
                        self.module_imports.insert(
                            text(local, self.src).to_string(),
                            text(module, self.src).to_string(),
                        );
                    }
                }
            }
            "decorated_definition" => {
                if let Some(def) = statement.child_by_field_name("definition") {
                    self.top_level(def);
                }
            }
            // Metadata is sometimes guarded (`if TYPE_CHECKING:` / try-import blocks).
            "if_statement" | "try_statement" => {
                if let Some(body) = statement.child_by_field_name("consequence") {
                    for s in children(body) {
                        self.top_level(s);
                    }
                }
            }
            _ => {}
        }
    }

    /// `a = b = value`, `a: T = value`; tuple targets are not metadata and are skipped.
    fn assignment(&mut self, node: Node<'t>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let value = if right.kind() == "assignment" {
            self.assignment(right);
            match right.child_by_field_name("right") {
                Some(v) => v,
                None => return,
            }
        } else {
            right
        };
        if left.kind() == "identifier" {
            self.assignments
                .insert(text(left, self.src).to_string(), value);
        }
    }

    /// `from a.b import f, g as h` (absolute imports only: relative ones name no module
    /// dbguard could find from the project's directories).
    fn import_from(&mut self, statement: Node<'t>) {
        let Some(module) = statement.child_by_field_name("module_name") else {
            return;
        };
        if module.kind() != "dotted_name" {
            return;
        }
        let module = text(module, self.src).to_string();
        let mut cursor = statement.walk();
        for name in statement.children_by_field_name("name", &mut cursor) {
            let (imported, local) = match name.kind() {
                "aliased_import" => (
                    name.child_by_field_name("name"),
                    name.child_by_field_name("alias"),
                ),
                _ => (Some(name), Some(name)),
            };
            if let (Some(imported), Some(local)) = (imported, local) {
                self.imports.insert(
                    text(local, self.src).to_string(),
                    (module.clone(), text(imported, self.src).to_string()),
                );
            }
        }
    }

    /// The table of an ORM model class defined in this file: its `__tablename__`, or the
    /// name given to its `__table__ = Table("name", …)`.
    pub fn model_table(&self, class: &str) -> Option<String> {
        let def = self.classes.get(class)?;
        let body = def.child_by_field_name("body")?;
        for statement in children(body) {
            for expr in children(statement) {
                if expr.kind() != "assignment" {
                    continue;
                }
                let (Some(left), Some(right)) = (
                    expr.child_by_field_name("left"),
                    expr.child_by_field_name("right"),
                ) else {
                    continue;
                };
                let right = unparen(right);
                match text(left, self.src) {
                    "__tablename__" => {
                        return string_literal(right, self.src).and_then(|s| s.plain())
                    }
                    "__table__" if right.kind() == "call" => {
                        let args = right.child_by_field_name("arguments")?;
                        let first = children(args).into_iter().next()?;
                        return string_literal(first, self.src).and_then(|s| s.plain());
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// A top-level function definition.
    pub fn function(&self, name: &str) -> Option<Node<'t>> {
        self.functions.get(name).copied()
    }

    /// Evaluates a constant expression: `None`, a string, a tuple/list/set of strings, or a
    /// name bound at the top level to one of those.
    pub fn constant(&self, node: Node<'t>) -> Constant {
        self.constant_at(node, 0)
    }

    fn constant_at(&self, node: Node<'t>, depth: usize) -> Constant {
        let node = unparen(node);
        if depth > 8 {
            return Constant::Unknown;
        }
        match node.kind() {
            "none" => Constant::None,
            "string" | "concatenated_string" => {
                match string_literal(node, self.src).and_then(|s| s.plain()) {
                    Some(s) => Constant::Strings(vec![s]),
                    None => Constant::Unknown,
                }
            }
            "tuple" | "list" | "set" | "expression_list" => {
                let mut out = Vec::new();
                for item in children(node) {
                    match self.constant_at(item, depth + 1) {
                        Constant::Strings(s) | Constant::List(s) => out.extend(s),
                        Constant::None => {}
                        Constant::Unknown => return Constant::Unknown,
                    }
                }
                Constant::List(out)
            }
            "identifier" => match self.assignments.get(text(node, self.src)) {
                Some(value) if value.id() != node.id() => self.constant_at(*value, depth + 1),
                _ => Constant::Unknown,
            },
            _ => Constant::Unknown,
        }
    }
}

/// A value known without running the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constant {
    None,
    Strings(Vec<String>),
    /// A tuple or list (kept apart from a single string for `for x in (...)` loops).
    List(Vec<String>),
    Unknown,
}

impl Constant {
    /// The strings it holds (`None` → empty), or `None` when unknown.
    pub fn strings(&self) -> Option<Vec<String>> {
        match self {
            Constant::None => Some(Vec::new()),
            Constant::Strings(s) | Constant::List(s) => Some(s.clone()),
            Constant::Unknown => None,
        }
    }
}

/// Ranges of `ERROR` and missing nodes: the parts of the file that are not valid Python.
fn syntax_errors(root: Node<'_>) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    if !root.has_error() {
        return out;
    }
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            out.push(node.byte_range());
            continue;
        }
        if node.has_error() {
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
    }
    out.sort_by_key(|r| r.start);
    out
}

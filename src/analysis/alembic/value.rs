//! What an expression in a migration evaluates to, as far as can be known without running
//! it: strings (with their positions, so SQL findings map back into the `.py` file), names
//! bound in the function or at module level, loop variables, `sa.text(...)`, f-strings,
//! `+`, `%` and `.format(...)`. Whatever cannot be known becomes a dynamic piece.

use std::collections::HashMap;

use tree_sitter::Node;

use super::module::{Constant, Module};
use super::python::{children, string_literal, text, unparen, Piece, Str};
use crate::analysis::ops::DYNAMIC;

/// How deep names may refer to names before evaluation gives up (and cycles end).
const MAX_DEPTH: usize = 12;

/// What a local name is bound to.
#[derive(Clone, Debug)]
pub enum Value<'t> {
    /// An expression, evaluated when used.
    Expr(Node<'t>),
    /// A known string (a loop variable over a list of names, a helper's argument).
    Text(Str),
    /// The alias of `with op.batch_alter_table(TABLE) as alias`.
    Batch(String),
    /// A local `def`.
    Function(Node<'t>),
    /// A row of the ORM query a `for` loop iterates over: setting its attributes updates
    /// `table`, `session.delete(row)` deletes from it.
    Row { table: String, filtered: bool },
    /// Bound to something dbguard cannot know (a parameter, a loop over unknown data).
    Unknown,
}

/// Local names of the function being walked (innermost binding last).
#[derive(Clone, Debug, Default)]
pub struct Scope<'t> {
    pub vars: HashMap<String, Value<'t>>,
}

pub struct Eval<'a, 't> {
    pub module: &'a Module<'t>,
    pub scope: &'a Scope<'t>,
}

impl<'t> Eval<'_, 't> {
    fn src(&self) -> &'t str {
        self.module.src
    }

    /// The binding of a name: local first, then the module's top level.
    pub fn lookup(&self, name: &str) -> Option<Value<'t>> {
        if let Some(v) = self.scope.vars.get(name) {
            return Some(v.clone());
        }
        self.module
            .assignments
            .get(name)
            .map(|node| Value::Expr(*node))
    }

    /// A string value, or `None` when the expression holds no string at all.
    pub fn string(&self, node: Node<'t>) -> Option<Str> {
        self.string_at(node, 0)
    }

    fn string_at(&self, node: Node<'t>, depth: usize) -> Option<Str> {
        if depth > MAX_DEPTH {
            return None;
        }
        let node = unparen(node);
        match node.kind() {
            "string" => Some(self.fstring(node, depth)),
            "concatenated_string" => {
                let mut out = Str::default();
                for part in children(node) {
                    out.push(self.fstring(part, depth));
                }
                Some(out)
            }
            "identifier" => match self.lookup(text(node, self.src()))? {
                Value::Text(s) => Some(s),
                Value::Expr(expr) if expr.id() != node.id() => self.string_at(expr, depth + 1),
                _ => None,
            },
            "binary_operator" => {
                let (left, right) = (
                    node.child_by_field_name("left")?,
                    node.child_by_field_name("right")?,
                );
                let op = node
                    .child_by_field_name("operator")
                    .map(|o| text(o, self.src()))
                    .unwrap_or("");
                match op {
                    "+" => {
                        let l = self.string_at(left, depth + 1);
                        let r = self.string_at(right, depth + 1);
                        if l.is_none() && r.is_none() {
                            return None;
                        }
                        let mut out = l.unwrap_or_else(|| Str::dynamic(left.byte_range()));
                        out.push(r.unwrap_or_else(|| Str::dynamic(right.byte_range())));
                        Some(out)
                    }
                    "%" => {
                        let l = self.string_at(left, depth + 1)?;
                        // `"… %s" % name`, `"… %s %s" % (a, b)`, `"%(t)s" % {"t": …}`
                        let right = unparen(right);
                        let (positional, keywords) = match right.kind() {
                            "tuple" => (self.known_all(children(right), depth), Vec::new()),
                            "dictionary" => (Vec::new(), self.known_pairs(right, depth)),
                            _ => (vec![self.known(right, depth)], Vec::new()),
                        };
                        Some(placeholders(
                            l,
                            Placeholder::Percent,
                            &positional,
                            &keywords,
                        ))
                    }
                    _ => None,
                }
            }
            "call" => {
                let function = node.child_by_field_name("function")?;
                let args = node.child_by_field_name("arguments")?;
                let first = children(args)
                    .into_iter()
                    .find(|a| a.kind() != "keyword_argument");
                match function.kind() {
                    // "…".format(...)
                    "attribute" if attr_name(function, self.src()) == Some("format") => {
                        let receiver = function.child_by_field_name("object")?;
                        let s = self.string_at(receiver, depth + 1)?;
                        let args = Args::of(node, self.src());
                        let positional = self.known_all(args.positional.clone(), depth);
                        let keywords = args
                            .keywords
                            .iter()
                            .map(|(k, v)| (k.clone(), self.known(*v, depth)))
                            .collect::<Vec<_>>();
                        Some(placeholders(s, Placeholder::Braces, &positional, &keywords))
                    }
                    // sa.text("…").bindparams(…) / .columns(…) / .execution_options(…)
                    "attribute"
                        if matches!(
                            attr_name(function, self.src()),
                            Some("bindparams" | "columns" | "execution_options")
                        ) =>
                    {
                        let receiver = function.child_by_field_name("object")?;
                        self.string_at(receiver, depth + 1)
                    }
                    // sa.text("…"), text("…"), sqlalchemy.sql.text("…"), literal_column
                    _ if matches!(
                        last_name(function, self.src()),
                        Some("text" | "literal_column" | "DDL")
                    ) =>
                    {
                        self.string_at(first?, depth + 1)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The plain text of an expression when it is fully known.
    fn known(&self, node: Node<'t>, depth: usize) -> Option<String> {
        self.string_at(node, depth + 1).and_then(|s| s.plain())
    }

    fn known_all(&self, nodes: Vec<Node<'t>>, depth: usize) -> Vec<Option<String>> {
        nodes.into_iter().map(|n| self.known(n, depth)).collect()
    }

    /// `{"key": value}` pairs with known values.
    fn known_pairs(&self, dict: Node<'t>, depth: usize) -> Vec<(String, Option<String>)> {
        children(dict)
            .into_iter()
            .filter(|p| p.kind() == "pair")
            .filter_map(|p| {
                let key = self.known(p.child_by_field_name("key")?, depth)?;
                Some((key, self.known(p.child_by_field_name("value")?, depth)))
            })
            .collect()
    }

    /// A string literal whose f-string interpolations are filled in where their value is
    /// known (a loop variable over names), and dynamic otherwise.
    fn fstring(&self, node: Node<'t>, depth: usize) -> Str {
        let Some(mut literal) = string_literal(node, self.src()) else {
            return Str::dynamic(node.byte_range());
        };
        let mut cursor = node.walk();
        let interpolations: Vec<Node<'t>> = node
            .children(&mut cursor)
            .filter(|c| c.kind() == "interpolation")
            .collect();
        for piece in literal.pieces.iter_mut().filter(|p| p.dynamic) {
            let Some(interp) = interpolations.iter().find(|i| i.byte_range() == piece.src) else {
                continue;
            };
            let Some(expr) = interp.child_by_field_name("expression") else {
                continue;
            };
            if let Some(known) = self.string_at(expr, depth + 1).and_then(|s| s.plain()) {
                piece.text = known;
                piece.dynamic = false;
            }
        }
        literal
    }

    /// A name as written in an operation (`"users"`, `op.f("ix_users_email")`, a variable
    /// holding a name, `sa.table("users")`); an expression dbguard cannot read is shown as
    /// `<expression>`.
    pub fn name(&self, node: Node<'t>) -> String {
        self.name_at(node, 0)
            .unwrap_or_else(|| format!("<{}>", shorten(text(node, self.src()))))
    }

    fn name_at(&self, node: Node<'t>, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        let node = unparen(node);
        if let Some(s) = self.string_at(node, depth + 1) {
            return Some(s.text().replace(DYNAMIC, "<dynamic>"));
        }
        match node.kind() {
            "call" => {
                // op.f("name"), sa.table("name", …), sa.Table("name", metadata, …),
                // postgresql.ENUM(name="status")
                let args = node.child_by_field_name("arguments")?;
                let args = children(args);
                let named = args.iter().find_map(|a| {
                    (a.kind() == "keyword_argument"
                        && a.child_by_field_name("name")
                            .is_some_and(|n| text(n, self.src()) == "name"))
                    .then(|| a.child_by_field_name("value"))
                    .flatten()
                });
                let first = args.iter().find(|a| a.kind() != "keyword_argument");
                self.name_at(*named.as_ref().or(first)?, depth + 1)
            }
            "identifier" => match self.lookup(text(node, self.src()))? {
                Value::Expr(expr) if expr.id() != node.id() => self.name_at(expr, depth + 1),
                Value::Batch(table) => Some(table),
                _ => None,
            },
            // meta.tables["case"]
            "subscript" => {
                let index = node.child_by_field_name("subscript")?;
                self.name_at(index, depth + 1)
            }
            _ => None,
        }
    }

    /// The constructor an expression was built with (`sa.Table(...)` → `Table`), looking
    /// through names bound to it.
    pub fn constructor(&self, node: Node<'t>) -> Option<(String, Node<'t>)> {
        let mut node = unparen(node);
        for _ in 0..MAX_DEPTH {
            match node.kind() {
                "call" => {
                    let function = node.child_by_field_name("function")?;
                    return Some((last_name(function, self.src())?.to_string(), node));
                }
                "identifier" => match self.lookup(text(node, self.src()))? {
                    Value::Expr(expr) if expr.id() != node.id() => node = unparen(expr),
                    _ => return None,
                },
                _ => return None,
            }
        }
        None
    }

    /// The strings a `for` loop iterates over, when they are written in the file: a list or
    /// tuple of names (or of tuples of names), directly or through a module-level constant.
    pub fn loop_items(&self, node: Node<'t>) -> Option<Vec<Vec<Str>>> {
        let mut node = unparen(node);
        for _ in 0..MAX_DEPTH {
            match node.kind() {
                "identifier" => match self.lookup(text(node, self.src()))? {
                    Value::Expr(expr) if expr.id() != node.id() => node = unparen(expr),
                    _ => return None,
                },
                "list" | "tuple" | "set" => {
                    let mut items = Vec::new();
                    for item in children(node) {
                        let item = unparen(item);
                        if matches!(item.kind(), "tuple" | "list") {
                            let parts: Option<Vec<Str>> =
                                children(item).into_iter().map(|p| self.string(p)).collect();
                            items.push(parts?);
                        } else {
                            items.push(vec![self.string(item)?]);
                        }
                    }
                    return Some(items);
                }
                _ => {
                    return match self.module.constant(node) {
                        Constant::List(names) => Some(
                            names
                                .into_iter()
                                .map(|n| vec![Str::literal(&n, node.byte_range())])
                                .collect(),
                        ),
                        _ => None,
                    }
                }
            }
        }
        None
    }
}

/// Keyword and positional arguments of a call.
pub struct Args<'t> {
    pub positional: Vec<Node<'t>>,
    pub keywords: Vec<(String, Node<'t>)>,
}

impl<'t> Args<'t> {
    pub fn of(call: Node<'t>, src: &str) -> Args<'t> {
        let mut out = Args {
            positional: Vec::new(),
            keywords: Vec::new(),
        };
        if let Some(args) = call.child_by_field_name("arguments") {
            for arg in children(args) {
                if arg.kind() == "keyword_argument" {
                    if let (Some(n), Some(v)) = (
                        arg.child_by_field_name("name"),
                        arg.child_by_field_name("value"),
                    ) {
                        out.keywords.push((text(n, src).to_string(), v));
                    }
                } else {
                    out.positional.push(arg);
                }
            }
        }
        out
    }

    pub fn keyword(&self, name: &str) -> Option<Node<'t>> {
        self.keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }

    /// The argument at `index`, or given by `name`.
    pub fn get(&self, index: usize, name: &str) -> Option<Node<'t>> {
        self.positional
            .get(index)
            .copied()
            .or_else(|| self.keyword(name))
    }
}

/// The attribute name of `a.b` (`b`).
pub fn attr_name<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    (node.kind() == "attribute")
        .then(|| node.child_by_field_name("attribute"))
        .flatten()
        .map(|a| text(a, src))
}

/// `f` for `f(...)`, `b` for `a.b(...)`.
pub fn last_name<'s>(function: Node<'_>, src: &'s str) -> Option<&'s str> {
    match function.kind() {
        "identifier" => Some(text(function, src)),
        "attribute" => attr_name(function, src),
        _ => None,
    }
}

pub fn shorten(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 60 {
        format!("{}…", collapsed.chars().take(60).collect::<String>())
    } else {
        collapsed
    }
}

enum Placeholder {
    /// `%s`, `%(name)s`, `%d`
    Percent,
    /// `{}`, `{name}`, `{0}`
    Braces,
}

/// Fills format placeholders in the literal pieces with the known arguments, and with the
/// dynamic marker where an argument is not known.
fn placeholders(
    s: Str,
    kind: Placeholder,
    positional: &[Option<String>],
    keywords: &[(String, Option<String>)],
) -> Str {
    use std::sync::OnceLock;
    static PERCENT: OnceLock<regex::Regex> = OnceLock::new();
    static BRACES: OnceLock<regex::Regex> = OnceLock::new();
    let pattern = match kind {
        Placeholder::Percent => PERCENT.get_or_init(|| {
            regex::Regex::new(r"%(?:\(([^)]*)\))?[-#0 +]*\d*(?:\.\d+)?[sdifrx]").unwrap()
        }),
        Placeholder::Braces => {
            BRACES.get_or_init(|| regex::Regex::new(r"\{([^{}!:]*)[^{}]*\}").unwrap())
        }
    };
    let keyword = |name: &str| -> Option<String> {
        keywords
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    };
    let mut next = 0;
    let mut out = Str::default();
    for piece in s.pieces {
        if piece.dynamic || !pattern.is_match(&piece.text) {
            out.pieces.push(piece);
            continue;
        }
        let mut unknown = false;
        let replaced = pattern
            .replace_all(&piece.text, |caps: &regex::Captures<'_>| {
                let name = caps.get(1).map(|m| m.as_str()).unwrap_or("");
                let value = if name.is_empty() {
                    next += 1;
                    positional.get(next - 1).cloned().flatten()
                } else if let Ok(i) = name.parse::<usize>() {
                    positional.get(i).cloned().flatten()
                } else {
                    keyword(name)
                };
                value.unwrap_or_else(|| {
                    unknown = true;
                    DYNAMIC.to_string()
                })
            })
            .into_owned();
        out.pieces.push(Piece {
            text: replaced,
            src: piece.src,
            verbatim: false,
            dynamic: unknown,
        });
    }
    out
}

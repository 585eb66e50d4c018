//! Walks an `upgrade()` / `downgrade()` body statement by statement and collects the
//! operations it performs (which calls mean what is `calls.rs`).
//!
//! Followed: `with` blocks (a `batch_alter_table` alias names its table, the innermost
//! `with` wins), `for` loops over names written in the file (the body is analysed once per
//! name), `if`/`elif`/`else`, `try`/`except`, module-level helper functions and local
//! functions (with their arguments bound), and `raise` in a downgrade. Comments, docstrings
//! and strings that are never executed are not operations.

use std::ops::Range;

use tree_sitter::Node;

use super::calls;
use super::imports;
use super::module::Module;
use super::python::{children, text, Str};
use super::value::{shorten, Args, Eval, Scope, Value};
use crate::analysis::ops::{Context, Op};

/// Helpers calling helpers deeper than this are not followed further (recursion ends here).
const MAX_CALL_DEPTH: usize = 8;
/// Loops over more names than this are analysed for the first ones only.
const MAX_LOOP_ITEMS: usize = 64;
/// Statements and expressions nested deeper than this are reported, not walked (a crafted
/// file must not overflow the stack).
const MAX_NESTING: usize = 200;

/// An operation found in a revision file.
#[derive(Clone, Debug)]
pub struct PyOp {
    pub op: Op,
    /// The byte range to report (the call, or the SQL inside a string literal).
    pub start: usize,
    pub end: usize,
    /// The Python statement it belongs to (allow annotations, excerpt).
    pub statement: Range<usize>,
    pub context: Context,
    /// The helper functions it was reached through, outermost first.
    pub via: Vec<String>,
    /// The `if` condition (or `except`) it depends on.
    pub condition: Option<String>,
    /// The exact SQL of a countable DELETE / UPDATE (see `Located::sql`).
    pub sql: Option<String>,
}

/// The operations of a top-level function (`upgrade` or `downgrade`), or `None` when the
/// module does not define it.
pub fn analyze(module: &Module<'_>, function: &str) -> Option<Vec<PyOp>> {
    let def = module.function(function)?;
    let mut walker = Walker {
        module,
        downgrade: function == "downgrade",
        out: Vec::new(),
        via: Vec::new(),
        statement: def.byte_range(),
        condition: None,
        nesting: 0,
        too_deep: false,
        rows: Vec::new(),
        tries: 0,
    };
    let mut scope = Scope::default();
    if let Some(body) = def.child_by_field_name("body") {
        walker.block(body, &mut scope);
    }
    Some(walker.out)
}

pub struct Walker<'m, 't> {
    pub module: &'m Module<'t>,
    downgrade: bool,
    pub(super) out: Vec<PyOp>,
    via: Vec<String>,
    statement: Range<usize>,
    condition: Option<String>,
    nesting: usize,
    too_deep: bool,
    /// The ORM loops being walked, innermost last: the attributes set on each loop's row.
    rows: Vec<RowLoop>,
    /// How many `try` bodies the walk is in.
    tries: usize,
}

impl<'m, 't> calls::Sink<'m, 't> for Walker<'m, 't> {
    fn module(&self) -> &'m Module<'t> {
        self.module
    }

    fn emit(&mut self, op: Op, range: Range<usize>, context: Context) {
        Walker::emit(self, op, range, context)
    }

    fn follow(&mut self, name: &str, def: Node<'t>, call: Node<'t>, scope: &mut Scope<'t>) {
        Walker::follow(self, name, def, call, scope)
    }

    fn set_last_sql(&mut self, sql: Option<String>) {
        if let Some(last) = self.out.last_mut() {
            last.sql = sql;
        }
    }
}

/// `for row in session.query(Model)…:` and the columns its body sets on `row`.
struct RowLoop {
    var: String,
    columns: Vec<String>,
}

impl<'m, 't> Walker<'m, 't> {
    /// Enters one level of nesting; `false` (after reporting it once) when too deep.
    fn enter(&mut self, node: Node<'t>) -> bool {
        if self.nesting >= MAX_NESTING {
            if !self.too_deep {
                self.too_deep = true;
                self.emit(
                    Op::Unparsed {
                        reason: format!("nested more than {MAX_NESTING} levels deep"),
                    },
                    node.byte_range(),
                    Context::default(),
                );
            }
            return false;
        }
        self.nesting += 1;
        true
    }

    pub fn src(&self) -> &'t str {
        self.module.src
    }

    /// Records an operation found at `range` in the current statement.
    pub fn emit(&mut self, op: Op, range: Range<usize>, mut context: Context) {
        // In a `try` body the operation may fail half-way (and an `except` go on): for the
        // simulation it runs only on some paths.
        context.conditional |= self.condition.is_some() || self.tries > 0;
        self.out.push(PyOp {
            op,
            start: range.start,
            end: range.end,
            statement: self.statement.clone(),
            context,
            via: self.via.clone(),
            condition: self.condition.clone(),
            sql: None,
        });
    }

    fn block(&mut self, block: Node<'t>, scope: &mut Scope<'t>) {
        for statement in children(block) {
            self.statement(statement, scope);
        }
    }

    fn statement(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        if !self.enter(node) {
            return;
        }
        self.statement_inner(node, scope);
        self.nesting -= 1;
    }

    fn statement_inner(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        let outer = std::mem::replace(&mut self.statement, node.byte_range());
        match node.kind() {
            "expression_statement" => {
                for expr in children(node) {
                    match expr.kind() {
                        "assignment" => self.assignment(expr, scope),
                        "augmented_assignment" => self.augmented(expr, scope),
                        _ => self.expression(expr, scope),
                    }
                }
            }
            "return_statement" | "delete_statement" | "assert_statement" => {
                for expr in children(node) {
                    self.expression(expr, scope);
                }
            }
            "with_statement" => self.with(node, scope),
            "for_statement" => self.for_loop(node, scope),
            "while_statement" => {
                self.condition_expr(node, scope);
                let condition = format!("while {}", self.cond_text(node));
                self.guarded(node.child_by_field_name("body"), condition, scope);
            }
            "if_statement" => self.if_statement(node, scope),
            "try_statement" => self.try_statement(node, scope),
            "raise_statement" => self.raise(node, scope),
            "function_definition" => {
                if let Some(name) = node.child_by_field_name("name") {
                    scope
                        .vars
                        .insert(text(name, self.src()).to_string(), Value::Function(node));
                }
            }
            "decorated_definition" => {
                if let Some(def) = node.child_by_field_name("definition") {
                    self.statement(def, scope);
                }
            }
            "block" => self.block(node, scope),
            _ => {}
        }
        self.statement = outer;
    }

    fn assignment(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        let Some(right) = node.child_by_field_name("right") else {
            return;
        };
        if right.kind() == "assignment" {
            self.assignment(right, scope);
        } else {
            self.expression(right, scope);
        }
        let value = match right.kind() {
            "assignment" => right.child_by_field_name("right"),
            _ => Some(right),
        };
        if let (Some(left), Some(value)) = (node.child_by_field_name("left"), value) {
            self.row_write(left);
            self.bind(left, Value::Expr(value), scope);
        }
    }

    /// `row.attr = …` on the row of an ORM loop: an update of that column.
    fn row_write(&mut self, target: Node<'t>) {
        if target.kind() != "attribute" {
            return;
        }
        let (Some(object), Some(attr)) = (
            target.child_by_field_name("object"),
            target.child_by_field_name("attribute"),
        ) else {
            return;
        };
        let (object, attr) = (text(object, self.src()), text(attr, self.src()));
        if let Some(row) = self.rows.iter_mut().rev().find(|r| r.var == object) {
            if !row.columns.iter().any(|c| c == attr) {
                row.columns.push(attr.to_string());
            }
        }
    }

    /// `sql += "…"`: the name now holds the concatenation.
    fn augmented(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        self.expression(right, scope);
        self.row_write(left);
        if left.kind() != "identifier" {
            return;
        }
        let eval = Eval {
            module: self.module,
            scope,
        };
        let value = match (eval.string(left), eval.string(right)) {
            (Some(mut l), Some(r)) => {
                l.push(r);
                Value::Text(l)
            }
            (Some(mut l), None) => {
                l.push(super::python::Str::dynamic(right.byte_range()));
                Value::Text(l)
            }
            _ => Value::Unknown,
        };
        scope.vars.insert(text(left, self.src()).to_string(), value);
    }

    /// Binds names of an assignment target (tuples get `Unknown` for each name).
    fn bind(&self, target: Node<'t>, value: Value<'t>, scope: &mut Scope<'t>) {
        match target.kind() {
            "identifier" => {
                scope
                    .vars
                    .insert(text(target, self.src()).to_string(), value);
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list" => {
                for part in children(target) {
                    self.bind(part, Value::Unknown, scope);
                }
            }
            _ => {}
        }
    }

    fn with(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        let mut inner = scope.clone();
        let mut cursor = node.walk();
        let clause = node
            .children(&mut cursor)
            .find(|c| c.kind() == "with_clause");
        for item in clause.map(children).unwrap_or_default() {
            let Some(value) = item.child_by_field_name("value") else {
                continue;
            };
            let (expr, alias) = if value.kind() == "as_pattern" {
                let parts = children(value);
                let alias = value.child_by_field_name("alias").or(parts.last().copied());
                (parts.first().copied().unwrap_or(value), alias)
            } else {
                (value, None)
            };
            self.expression(expr, &mut inner);
            let Some(alias) = alias else { continue };
            let target = children(alias).first().copied().unwrap_or(alias);
            let bound = match calls::batch_table(self.module, expr, &inner) {
                Some(table) => Value::Batch(table),
                None => Value::Expr(expr),
            };
            self.bind(target, bound, &mut inner);
        }
        if let Some(body) = node.child_by_field_name("body") {
            self.block(body, &mut inner);
        }
        // Names assigned inside a `with` stay visible after it, as in Python.
        for (k, v) in inner.vars {
            if !matches!(v, Value::Batch(_)) {
                scope.vars.insert(k, v);
            }
        }
    }

    fn for_loop(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        self.expression(right, scope);
        let body = node.child_by_field_name("body");
        let orm = Eval {
            module: self.module,
            scope,
        };
        if let (Some((table, filtered)), "identifier") = (calls::orm_rows(&orm, right), left.kind())
        {
            // An ORM data migration: the loop's row stands for every row the query yields.
            let var = text(left, self.src()).to_string();
            let mut inner = scope.clone();
            let row = Value::Row {
                table: table.clone(),
                filtered,
            };
            inner.vars.insert(var.clone(), row);
            self.rows.push(RowLoop {
                var,
                columns: Vec::new(),
            });
            if let Some(body) = body {
                self.block(body, &mut inner);
            }
            let columns = self.rows.pop().map(|r| r.columns).unwrap_or_default();
            if !columns.is_empty() {
                let op = Op::Update {
                    table,
                    has_where: filtered,
                    columns,
                };
                self.emit(op, node.start_byte()..right.end_byte(), Context::default());
            }
            if let Some(alternative) = node.child_by_field_name("alternative") {
                self.block_of(alternative, scope);
            }
            return;
        }
        let items = Eval {
            module: self.module,
            scope,
        }
        .loop_items(right);
        match items {
            Some(items) if !items.is_empty() => {
                for item in items.into_iter().take(MAX_LOOP_ITEMS) {
                    let mut inner = scope.clone();
                    let targets: Vec<Node<'t>> = match left.kind() {
                        "identifier" => vec![left],
                        _ => children(left),
                    };
                    if targets.len() == item.len() {
                        for (t, s) in targets.iter().zip(item) {
                            self.bind(*t, Value::Text(s), &mut inner);
                        }
                    } else {
                        self.bind(left, Value::Unknown, &mut inner);
                    }
                    if let Some(body) = body {
                        self.block(body, &mut inner);
                    }
                }
            }
            _ => {
                let mut inner = scope.clone();
                self.bind(left, Value::Unknown, &mut inner);
                if let Some(body) = body {
                    self.block(body, &mut inner);
                }
            }
        }
        if let Some(alternative) = node.child_by_field_name("alternative") {
            self.block_of(alternative, scope);
        }
    }

    fn cond_text(&self, node: Node<'t>) -> String {
        node.child_by_field_name("condition")
            .map(|c| shorten(text(c, self.src())))
            .unwrap_or_default()
    }

    fn condition_expr(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        if let Some(c) = node.child_by_field_name("condition") {
            self.expression(c, scope);
        }
    }

    /// Walks a block that runs only when `condition` holds.
    fn guarded(&mut self, block: Option<Node<'t>>, condition: String, scope: &mut Scope<'t>) {
        let Some(block) = block else { return };
        let outer = self.condition.take();
        self.condition = Some(match &outer {
            Some(o) => format!("{o} and {condition}"),
            None => condition,
        });
        self.block_of(block, scope);
        self.condition = outer;
    }

    /// The statements of a block, or of a clause holding one (`else_clause` → its body).
    fn block_of(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        if node.kind() == "block" {
            self.block(node, scope);
        } else if let Some(body) = node.child_by_field_name("body") {
            self.block(body, scope);
        } else {
            for child in children(node) {
                if child.kind() == "block" {
                    self.block(child, scope);
                }
            }
        }
    }

    fn if_statement(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        self.condition_expr(node, scope);
        let mut negated = vec![self.cond_text(node)];
        let condition = format!("if {}", negated[0]);
        self.guarded(node.child_by_field_name("consequence"), condition, scope);
        let mut cursor = node.walk();
        let alternatives: Vec<Node<'t>> = node
            .children_by_field_name("alternative", &mut cursor)
            .collect();
        for alt in alternatives {
            match alt.kind() {
                "elif_clause" => {
                    self.condition_expr(alt, scope);
                    let c = self.cond_text(alt);
                    let condition = format!("elif {c} (after `if {}`)", negated.join("`/`"));
                    negated.push(c);
                    self.guarded(alt.child_by_field_name("consequence"), condition, scope);
                }
                _ => {
                    let condition = format!("else of `if {}`", negated.join("`/`"));
                    self.guarded(Some(alt), condition, scope);
                }
            }
        }
    }

    fn try_statement(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        for part in children(node) {
            match part.kind() {
                "block" => {
                    self.tries += 1;
                    self.block(part, scope);
                    self.tries -= 1;
                }
                "except_clause" | "except_group_clause" => {
                    let head = children(part)
                        .into_iter()
                        .find(|c| c.kind() != "block")
                        .map(|c| shorten(text(c, self.src())))
                        .unwrap_or_default();
                    let condition = format!("except {head}").trim_end().to_string();
                    self.guarded(Some(part), condition, scope);
                }
                "else_clause" | "finally_clause" => self.block_of(part, scope),
                _ => {}
            }
        }
    }

    fn raise(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        for expr in children(node) {
            self.expression(expr, scope);
        }
        if self.downgrade {
            let detail = shorten(text(node, self.src()));
            self.emit(
                Op::IrreversibleDowngrade { detail },
                node.byte_range(),
                Context::default(),
            );
        }
    }

    /// Finds the calls in an expression, outermost first, and classifies each.
    pub fn expression(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        if !self.enter(node) {
            return;
        }
        self.expression_inner(node, scope);
        self.nesting -= 1;
    }

    fn expression_inner(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        match node.kind() {
            // Literals never execute anything by themselves.
            "string"
            | "concatenated_string"
            | "comment"
            | "integer"
            | "float"
            | "true"
            | "false"
            | "none"
            | "identifier" => return,
            // A lambda's body runs when called; dbguard fails closed and reads it anyway.
            "call" => return self.call(node, scope),
            _ => {}
        }
        for child in children(node) {
            self.expression(child, scope);
        }
    }

    fn call(&mut self, node: Node<'t>, scope: &mut Scope<'t>) {
        if let Some(function) = node.child_by_field_name("function") {
            if function.kind() == "identifier" {
                let name = text(function, self.src());
                let def = match scope.vars.get(name) {
                    Some(Value::Function(def)) => Some(*def),
                    Some(_) => None,
                    None => self.module.function(name),
                };
                if let Some(def) = def {
                    self.follow(name, def, node, scope);
                    return;
                }
                if !scope.vars.contains_key(name) && self.call_unreadable(name, node, scope) {
                    return;
                }
            }
            if let Some((module, name)) = self.imported_module_function(function) {
                if self.follow_import(&module, &name, node, scope) {
                    return;
                }
                if self.hands_over_database(&name, node, scope) {
                    return;
                }
            }
        }
        calls::classify(self, node, scope);
        // Then the calls inside it: its receiver chain and its arguments.
        for child in children(node) {
            self.expression(child, scope);
        }
    }

    /// A bare call of a function this file does not define: followed into the project's own
    /// module when it is imported from one; otherwise, when it is handed the database (`op`,
    /// a bind, a session), reported as SQL dbguard cannot see. `true` when handled.
    fn call_unreadable(&mut self, name: &str, call: Node<'t>, scope: &mut Scope<'t>) -> bool {
        if imports::is_builtin(name) || self.module.classes.contains_key(name) {
            return false;
        }
        match self.module.imports.get(name).cloned() {
            Some((module, _)) if imports::is_library(&module) => false,
            Some((module, imported)) => {
                self.follow_import(&module, &imported, call, scope)
                    || self.hands_over_database(name, call, scope)
            }
            None => self.hands_over_database(name, call, scope),
        }
    }

    /// `helpers.drop_fk(…)` where `helpers` is an imported project module (`import
    /// myapp.helpers as helpers`, `from myapp import helpers`).
    fn imported_module_function(&self, function: Node<'t>) -> Option<(String, String)> {
        if function.kind() != "attribute" {
            return None;
        }
        let object = function.child_by_field_name("object")?;
        let attr = function.child_by_field_name("attribute")?;
        let object_text = text(object, self.src());
        let module = match self.module.module_imports.get(object_text) {
            Some(m) => m.clone(),
            None => match self.module.imports.get(object_text) {
                Some((m, name)) => format!("{m}.{name}"),
                None => return None,
            },
        };
        (!imports::is_library(&module)).then(|| (module, text(attr, self.src()).to_string()))
    }

    /// Reports a call that hands the database to code dbguard cannot read.
    fn hands_over_database(&mut self, name: &str, call: Node<'t>, scope: &mut Scope<'t>) -> bool {
        let args = Args::of(call, self.src());
        let eval = Eval {
            module: self.module,
            scope,
        };
        let handle = args
            .positional
            .iter()
            .chain(args.keywords.iter().map(|(_, v)| v))
            .find_map(|a| imports::database_handle(&eval, *a));
        let Some(handle) = handle else {
            return false;
        };
        if let Some(arguments) = call.child_by_field_name("arguments") {
            self.expression(arguments, scope);
        }
        let detail = format!(
            "cannot see what {name}() does with {handle}: dbguard cannot read that function"
        );
        self.emit(
            Op::DynamicSql { detail },
            call.byte_range(),
            Context::default(),
        );
        true
    }

    /// Follows `function` of the project module `module` (found beside the revision, as
    /// Python would find it) with this call's arguments; `false` when it cannot be read.
    fn follow_import(
        &mut self,
        module: &str,
        function: &str,
        call: Node<'t>,
        scope: &mut Scope<'t>,
    ) -> bool {
        let name = function.rsplit('.').next().unwrap_or(function).to_string();
        if self.via.len() >= MAX_CALL_DEPTH || self.via.contains(&name) {
            return true;
        }
        let Some(origin) = self.module.origin.as_deref() else {
            return false;
        };
        let Some(file) = imports::find_module(origin, module) else {
            return false;
        };
        let Ok(src) = std::fs::read_to_string(&file) else {
            return false;
        };
        let Some(tree) = super::python::parse(&src) else {
            return false;
        };
        let mut helper = Module::new(&src, &tree);
        helper.origin = Some(file.clone());
        let Some(def) = helper.function(function) else {
            return false;
        };
        // The arguments run in the caller; the helper sees the strings they hold.
        if let Some(arguments) = call.child_by_field_name("arguments") {
            self.expression(arguments, scope);
        }
        let values: Vec<(String, Option<Str>)> = self
            .parameters(def, &src, call, scope)
            .into_iter()
            .map(|(p, v)| match v {
                Value::Text(s) => (p, Some(s)),
                _ => (p, None),
            })
            .collect();
        let mut via = self.via.clone();
        via.push(format!("{module}.{name}"));
        let mut walker = Walker {
            module: &helper,
            downgrade: self.downgrade,
            out: Vec::new(),
            via,
            statement: def.byte_range(),
            condition: None,
            nesting: self.nesting,
            too_deep: false,
            rows: Vec::new(),
            tries: self.tries,
        };
        let mut inner = Scope::default();
        for (param, value) in values {
            let value = value.map_or(Value::Unknown, Value::Text);
            inner.vars.insert(param, value);
        }
        if !helper.errors.is_empty() {
            let reason = format!("{} has Python syntax errors", file.display());
            walker.emit(
                Op::Unparsed { reason },
                def.byte_range(),
                Context::default(),
            );
        }
        if let Some(body) = def.child_by_field_name("body") {
            walker.block(body, &mut inner);
        }
        // What the helper does happens at the call.
        let (outer_via, found) = (std::mem::take(&mut self.via), walker.out);
        for op in found {
            self.via = op.via.clone();
            let mut context = op.context;
            context.conditional |= op.condition.is_some();
            self.emit(op.op, call.byte_range(), context);
        }
        self.via = outer_via;
        true
    }

    /// The parameters of `def` (in `src`) bound to the arguments of `call` (in this file).
    fn parameters(
        &self,
        def: Node<'_>,
        src: &str,
        call: Node<'t>,
        scope: &Scope<'t>,
    ) -> Vec<(String, Value<'t>)> {
        let mut out = Vec::new();
        let args = Args::of(call, self.src());
        let Some(params) = def.child_by_field_name("parameters") else {
            return out;
        };
        for (position, param) in children(params).into_iter().enumerate() {
            let pname = match param.kind() {
                "identifier" => Some(param),
                "default_parameter" | "typed_default_parameter" => {
                    param.child_by_field_name("name")
                }
                "typed_parameter" => children(param).first().copied(),
                _ => None,
            };
            let Some(pname) = pname else { continue };
            let pname = text(pname, src).to_string();
            let arg = args
                .positional
                .get(position)
                .copied()
                .or_else(|| args.keyword(&pname));
            let value = arg
                .and_then(|arg| {
                    Eval {
                        module: self.module,
                        scope,
                    }
                    .string(arg)
                })
                .filter(|s| !s.is_dynamic())
                .map_or(Value::Unknown, Value::Text);
            out.push((pname, value));
        }
        out
    }

    /// Analyses a helper function's body where it is called, its parameters bound to the
    /// arguments of this call.
    pub fn follow(&mut self, name: &str, def: Node<'t>, call: Node<'t>, scope: &mut Scope<'t>) {
        if self.via.len() >= MAX_CALL_DEPTH || self.via.iter().any(|v| v == name) {
            return;
        }
        // The arguments themselves run first, in the caller.
        if let Some(args) = call.child_by_field_name("arguments") {
            self.expression(args, scope);
        }
        let mut inner = Scope::default();
        let args = Args::of(call, self.src());
        if let Some(params) = def.child_by_field_name("parameters") {
            let mut position = 0;
            for param in children(params) {
                let (pname, default) = match param.kind() {
                    "identifier" => (Some(param), None),
                    "default_parameter" | "typed_default_parameter" => (
                        param.child_by_field_name("name"),
                        param.child_by_field_name("value"),
                    ),
                    "typed_parameter" => (children(param).first().copied(), None),
                    _ => (None, None),
                };
                let Some(pname) = pname else { continue };
                let pname = text(pname, self.src()).to_string();
                let arg = args
                    .positional
                    .get(position)
                    .copied()
                    .or_else(|| args.keyword(&pname))
                    .or(default);
                position += 1;
                let value = match arg {
                    Some(arg) => {
                        let eval = Eval {
                            module: self.module,
                            scope,
                        };
                        match eval.string(arg) {
                            Some(s) if !s.is_dynamic() => Value::Text(s),
                            _ => match arg.kind() {
                                // The caller's binding; a module-level name stays one.
                                "identifier" => scope
                                    .vars
                                    .get(text(arg, self.src()))
                                    .cloned()
                                    .unwrap_or(Value::Expr(arg)),
                                // Literal lists of names (`_drop(["a", "b"])`) mean the same
                                // in the helper.
                                "list" | "tuple" | "set" => Value::Expr(arg),
                                _ => Value::Unknown,
                            },
                        }
                    }
                    None => Value::Unknown,
                };
                inner.vars.insert(pname, value);
            }
        }
        self.via.push(name.to_string());
        let outer = std::mem::replace(&mut self.statement, call.byte_range());
        if let Some(body) = def.child_by_field_name("body") {
            self.block(body, &mut inner);
        }
        self.statement = outer;
        self.via.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::alembic::python;
    use crate::analysis::ops::display_name;
    use crate::analysis::rules;

    /// `(rule, message, conditional)` of each operation of `function`.
    fn ops(src: &str, function: &str) -> Vec<(String, String, bool)> {
        let tree = python::parse(src).unwrap();
        let module = Module::new(src, &tree);
        analyze(&module, function)
            .unwrap()
            .into_iter()
            .filter(|o| !o.op.is_fact())
            .map(|o| {
                let (rule, message) = rules::classify(&o.op).unwrap();
                (
                    rule.id.to_string(),
                    display_name(&message),
                    o.context.conditional,
                )
            })
            .collect()
    }

    #[test]
    fn loops_bind_each_name_and_tuples_of_names() {
        let got = ops(
            "def upgrade():\n    for t, c in [('a', 'x'), ('b', 'y')]:\n        op.drop_column(t, c)\n",
            "upgrade",
        );
        assert_eq!(got.len(), 2);
        assert!(got[0].1.contains("drops column x of a"), "{got:?}");
        assert!(got[1].1.contains("drops column y of b"), "{got:?}");
    }

    #[test]
    fn helpers_get_their_arguments_and_recursion_ends() {
        let src = "def _drop(name, schema=None):\n    op.drop_table(name, schema=schema)\n    _drop(name)\n\ndef upgrade():\n    _drop('logs', schema='audit')\n";
        let got = ops(src, "upgrade");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].1.contains("audit.logs"), "{got:?}");
    }

    #[test]
    fn conditions_and_raises() {
        let src = "def downgrade():\n    if is_sqlite:\n        op.execute('DELETE FROM t')\n    raise NotImplementedError()\n\ndef upgrade():\n    raise RuntimeError('stop')\n";
        let got = ops(src, "downgrade");
        assert_eq!(got[0].0, "delete-without-where");
        assert!(got[0].2, "inside an if: conditional");
        assert_eq!(got[1].0, "irreversible-downgrade");
        assert!(!got[1].2);
        // A raise in upgrade() makes the upgrade fail; it does not lose data.
        assert!(ops(src, "upgrade").is_empty());
    }

    #[test]
    fn deep_nesting_is_reported_not_a_crash() {
        let src = format!(
            "def upgrade():\n    x = {}1{}\n",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let got = ops(&src, "upgrade");
        assert!(got.iter().all(|g| g.0 == "unparsed-statement"), "{got:?}");
    }
}

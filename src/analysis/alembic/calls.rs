//! One call in a migration → the operations it performs.
//!
//! Dispatch is by method name whatever the receiver (`op`, a `batch_alter_table` alias, an
//! aliased import, `self.op`): a receiver dbguard does not recognise is no reason to assume
//! a `drop_column` is harmless. SQL strings given to any `.execute(...)` go through the SQL
//! analyzer; SQLAlchemy Core and ORM `delete()`/`update()` are checked for a `where`.
//!
//! The walker (`body.rs`) hands each call here through `Sink`: what is found goes back to it,
//! so this file never needs to know how a body is walked.

use tree_sitter::Node;

use super::module::Module;
use super::python::{children, text, unparen, Str};
use super::value::{attr_name, last_name, shorten, Args, Eval, Scope, Value};
use crate::analysis::ops::{Contents, Context, Op, DYNAMIC};
use crate::analysis::sql;

/// Names under which SQLAlchemy's module-level `delete()`/`update()` are reached.
const SQLALCHEMY_MODULES: &[&str] = &["sa", "sqlalchemy", "sql", "expression", "sqla"];

/// Where the operations of a call go, and how a helper it runs is followed: the walker.
pub trait Sink<'m, 't: 'm> {
    fn module(&self) -> &'m Module<'t>;
    fn emit(&mut self, op: Op, range: std::ops::Range<usize>, context: Context);
    fn follow(&mut self, name: &str, def: Node<'t>, call: Node<'t>, scope: &mut Scope<'t>);
    /// Attaches the full SQL text of a literal statement to the operation emitted last (the
    /// guard derives exact row counts from it).
    fn set_last_sql(&mut self, sql: Option<String>);
    fn src(&self) -> &'t str {
        self.module().src
    }
}

/// The table of `op.batch_alter_table("t")` (any receiver), if `expr` is such a call.
pub fn batch_table<'t>(module: &Module<'t>, expr: Node<'t>, scope: &Scope<'t>) -> Option<String> {
    let expr = unparen(expr);
    if expr.kind() != "call" {
        return None;
    }
    let function = expr.child_by_field_name("function")?;
    if last_name(function, module.src)? != "batch_alter_table" {
        return None;
    }
    let args = Args::of(expr, module.src);
    let eval = Eval { module, scope };
    let table = args.get(0, "table_name").map(|t| eval.name(t))?;
    Some(qualify(&eval, &args, table))
}

fn qualify(eval: &Eval<'_, '_>, args: &Args<'_>, name: String) -> String {
    match args.keyword("schema").map(|s| eval.name(s)) {
        Some(schema) if schema != "<None>" => format!("{schema}.{name}"),
        _ => name,
    }
}

pub fn classify<'m, 't: 'm>(walker: &mut dyn Sink<'m, 't>, call: Node<'t>, scope: &mut Scope<'t>) {
    let src = walker.src();
    let Some(function) = call.child_by_field_name("function") else {
        return;
    };
    let args = Args::of(call, src);
    let range = call.byte_range();
    let receiver = function.child_by_field_name("object");
    let method = match function.kind() {
        "attribute" => attr_name(function, src),
        "identifier" => Some(text(function, src)),
        _ => None,
    };
    let Some(method) = method else {
        unknown_callee(walker, function, call, scope);
        return;
    };
    // `from alembic.op import drop_table`: the op functions may be called bare.
    let ops = {
        let eval = Eval {
            module: walker.module(),
            scope,
        };
        // The table a batch alias stands for, when the receiver is one.
        let batch = receiver.and_then(|r| match r.kind() {
            "identifier" => match eval.lookup(text(r, src)) {
                Some(Value::Batch(table)) => Some(table),
                _ => None,
            },
            _ => None,
        });
        let is_method = function.kind() == "attribute";
        operations(&eval, method, is_method, receiver, batch, &args, call)
    };
    match ops {
        Found::Ops(ops) => {
            for op in ops {
                walker.emit(op, range.clone(), Context::default());
            }
        }
        Found::Execute(arg) => execute(walker, arg, scope, call),
        Found::Follow(name) => {
            if let Some(def) = walker.module().function(&name) {
                walker.follow(&name, def, call, scope);
            }
        }
        Found::Nothing => {}
    }
}

enum Found<'t> {
    Ops(Vec<Op>),
    /// `….execute(arg)`: the argument decides.
    Execute(Node<'t>),
    /// `op.run_async(helper)` and the like: a module function to analyse.
    Follow(String),
    Nothing,
}

fn operations<'t>(
    eval: &Eval<'_, 't>,
    method: &str,
    is_method: bool,
    receiver: Option<Node<'t>>,
    batch: Option<String>,
    args: &Args<'t>,
    call: Node<'t>,
) -> Found<'t> {
    let src = eval.module.src;
    let name = |i: usize, kw: &str| {
        args.get(i, kw)
            .map(|n| eval.name(n))
            .unwrap_or_else(|| "<missing>".to_string())
    };
    // In a batch, the table comes from the `with` and the arguments shift by one.
    let (table, shift) = match &batch {
        Some(t) => (t.clone(), 0),
        None => (qualify(eval, args, name(0, "table_name")), 1),
    };
    let op = match method {
        "drop_table" => Op::DropTable {
            name: qualify(eval, args, name(0, "table_name")),
        },
        "drop_column" => Op::DropColumn {
            column: name(shift, "column_name"),
            table,
        },
        "drop_index" => Op::DropIndex {
            name: name(0, "index_name"),
        },
        "drop_constraint" => {
            let table = match &batch {
                Some(t) => t.clone(),
                None => qualify(eval, args, name(1, "table_name")),
            };
            Op::DropConstraint {
                name: name(0, "constraint_name"),
                table,
            }
        }
        "rename_table" => Op::RenameTable {
            from: qualify(eval, args, name(0, "old_table_name")),
            to: name(1, "new_table_name"),
        },
        // Facts for the simulation: what the migration creates and fills.
        "create_table" => Op::CreateTable {
            name: qualify(eval, args, name(0, "table_name")),
            if_not_exists: is_true(args.keyword("if_not_exists"), src),
            data: Contents::Empty,
        },
        "add_column" if !is_true(args.keyword("if_not_exists"), src) => Op::AddColumn {
            column: name(shift, "column"),
            table,
        },
        "bulk_insert" => Op::Insert {
            table: name(0, "table"),
        },
        "insert" => {
            let module_level = !is_method
                || receiver.is_some_and(|r| {
                    SQLALCHEMY_MODULES.contains(&text(r, src).rsplit('.').next().unwrap_or(""))
                });
            match (module_level, args.positional.len(), receiver) {
                // sa.insert(t) / insert(t)
                (true, 1, _) => Op::Insert {
                    table: name(0, "table"),
                },
                // t.insert() (list.insert(i, x) takes two)
                (false, 0, Some(r)) => Op::Insert {
                    table: eval.name(r),
                },
                _ => return Found::Nothing,
            }
        }
        "drop_table_comment" => Op::DropComment {
            target: format!("table {}", qualify(eval, args, name(0, "table_name"))),
        },
        "alter_column" => {
            return Found::Ops(alter_column(eval, args, table, shift));
        }
        "execute" | "exec_driver_sql" => {
            return match args.get(0, "sqltext").or_else(|| args.get(0, "statement")) {
                Some(arg) => Found::Execute(arg),
                None => Found::Nothing,
            };
        }
        "run_async" | "run_sync" if is_method => {
            return match args.positional.first().map(|a| text(*a, src)) {
                Some(f) => Found::Follow(f.to_string()),
                None => Found::Nothing,
            };
        }
        "invoke" if is_method => Op::DynamicSql {
            detail: format!(
                "runs an alembic operation object dbguard cannot see: {}",
                shorten(text(call, src))
            ),
        },
        "drop_all" if is_method => Op::DropTable {
            name: format!(
                "<every table of {}>",
                receiver.map(|r| shorten(text(r, src))).unwrap_or_default()
            ),
        },
        "drop" if is_method => match receiver {
            Some(r) => drop_object(eval, r),
            None => return Found::Nothing,
        },
        "merge"
        | "bulk_update_mappings"
        | "bulk_insert_mappings"
        | "bulk_save_objects"
        | "add"
        | "add_all"
            if is_method =>
        {
            match orm_write(eval, method, args) {
                Some(op) => op,
                None => return Found::Nothing,
            }
        }
        "delete" | "update" => match core_dml(eval, method, is_method, receiver, args, call) {
            Some(op) => op,
            None => return Found::Nothing,
        },
        // DDL elements: op.execute(DropTable(t)), sa.schema.DropSequence(seq), …
        "DropTable" => Op::DropTable {
            name: name(0, "element"),
        },
        "DropSequence" => Op::DropSequence {
            name: name(0, "element"),
        },
        "DropIndex" => Op::DropIndex {
            name: name(0, "element"),
        },
        "DropSchema" => Op::DropSchema {
            name: name(0, "name"),
        },
        "DropConstraint" => Op::DropConstraint {
            table: "<table>".to_string(),
            name: name(0, "element"),
        },
        "DropTableComment" => Op::DropComment {
            target: format!("table {}", name(0, "element")),
        },
        _ => return Found::Nothing,
    };
    Found::Ops(vec![op])
}

/// A keyword argument written as `True`.
fn is_true(arg: Option<Node<'_>>, src: &str) -> bool {
    arg.is_some_and(|a| text(unparen(a), src) == "True")
}

fn alter_column(eval: &Eval<'_, '_>, args: &Args<'_>, table: String, shift: usize) -> Vec<Op> {
    let src = eval.module.src;
    let column = args
        .get(shift, "column_name")
        .map(|n| eval.name(n))
        .unwrap_or_else(|| "<missing>".to_string());
    let mut ops = Vec::new();
    if let Some(new_type) = args.keyword("type_") {
        ops.push(Op::AlterColumnType {
            table: table.clone(),
            column: column.clone(),
            new_type: shorten(text(new_type, src)),
        });
    }
    if args
        .keyword("nullable")
        .is_some_and(|n| text(unparen(n), src) == "False")
    {
        ops.push(Op::SetNotNull {
            table: table.clone(),
            column: column.clone(),
        });
    }
    if let Some(new_name) = args.keyword("new_column_name") {
        ops.push(Op::RenameColumn {
            table,
            from: column,
            to: eval.name(new_name),
        });
    }
    ops
}

/// `x.drop(bind)`: what `x` was built as decides what is dropped.
fn drop_object<'t>(eval: &Eval<'_, 't>, receiver: Node<'t>) -> Op {
    let src = eval.module.src;
    let shown = || shorten(text(receiver, src));
    let Some((ctor, node)) = eval.constructor(receiver) else {
        return Op::DynamicSql {
            detail: format!(
                "calls .drop() on {}, which dbguard cannot identify",
                shown()
            ),
        };
    };
    let name = eval.name(node);
    match ctor.as_str() {
        "Table" | "table" => Op::DropTable { name },
        "Enum" | "ENUM" => Op::DropType {
            kind: "TYPE",
            names: name,
            cascade: false,
        },
        "Index" => Op::DropIndex { name },
        "Sequence" => Op::DropSequence { name },
        "Column" | "column" => Op::DropColumn {
            table: "<table>".to_string(),
            column: name,
        },
        _ => Op::DynamicSql {
            detail: format!(
                "calls .drop() on {}, which dbguard cannot identify",
                shown()
            ),
        },
    }
}

/// SQLAlchemy `delete`/`update`: Core (`t.delete()`, `sa.delete(t)`, `update(t)`) and ORM
/// (`session.query(M).delete()`); `None` when the call is something else (`dict.update`).
fn core_dml<'t>(
    eval: &Eval<'_, 't>,
    method: &str,
    is_method: bool,
    receiver: Option<Node<'t>>,
    args: &Args<'t>,
    call: Node<'t>,
) -> Option<Op> {
    let src = eval.module.src;
    let receiver_text = receiver.map(|r| text(r, src)).unwrap_or("");
    let chain = receiver.map(|r| chain_methods(r, src)).unwrap_or_default();
    let module_level =
        !is_method || SQLALCHEMY_MODULES.contains(&receiver_text.rsplit('.').next().unwrap_or(""));
    let orm = chain.iter().any(|m| m == "query");
    let (table, mut has_where) = if module_level {
        // sa.delete(t) / update(t) [with a positional whereclause in SQLAlchemy < 2]
        let table = args.positional.first().map(|t| eval.name(*t))?;
        (table, args.positional.len() > 1)
    } else if orm {
        let table = match query_entity(receiver?, src) {
            Some(entity) => model_table(eval, entity),
            None => format!("<{}>", shorten(receiver_text)),
        };
        let filtered = chain
            .iter()
            .any(|m| matches!(m.as_str(), "filter" | "filter_by" | "where" | "get"));
        (table, filtered)
    } else if args.positional.is_empty()
        && (method == "delete" || args.keywords.is_empty() || args.keyword("values").is_some())
    {
        // t.delete() / t.update().values(...)
        (eval.name(receiver?), false)
    } else if method == "delete" && args.positional.len() == 1 && args.keywords.is_empty() {
        match row_of(eval, args.positional[0]) {
            // session.delete(row) in a loop over a query: every row it yields.
            Some((table, filtered)) => (table, filtered),
            // session.delete(obj): one row.
            None => (shorten(text(args.positional[0], src)), true),
        }
    } else {
        return None;
    };
    has_where |= args.keyword("whereclause").is_some();
    has_where |= outer_chain_has_where(call, src);
    Some(if method == "delete" {
        Op::Delete { table, has_where }
    } else {
        Op::Update {
            table,
            has_where,
            columns: set_columns(call, args, src),
        }
    })
}

/// The columns an update sets: `query.update({User.x: …})` / `update({"x": …})`, or
/// `.values(x=…)` / `.values({"x": …})` called on it (empty when not readable: then it is
/// no backfill).
fn set_columns(call: Node<'_>, args: &Args<'_>, src: &str) -> Vec<String> {
    let keys = |args: &Args<'_>| -> Option<Vec<String>> {
        let mut out: Vec<String> = args.keywords.iter().map(|(k, _)| k.clone()).collect();
        if let Some(dict) = args.positional.first().filter(|d| d.kind() == "dictionary") {
            for pair in children(*dict) {
                let key = unparen(pair.child_by_field_name("key")?);
                out.push(match key.kind() {
                    "attribute" => attr_name(key, src)?.to_string(),
                    _ => super::python::string_literal(key, src)?.plain()?,
                });
            }
        }
        Some(out)
    };
    let mut columns = Vec::new();
    // ORM: the dictionary given to update() itself; Core: `.values(…)` on the result.
    if let Some(own) = keys(args).filter(|k| !k.is_empty()) {
        columns.extend(own);
    }
    let mut node = call;
    for _ in 0..64 {
        let Some(attribute) = node.parent().filter(|p| p.kind() == "attribute") else {
            break;
        };
        let Some(outer) = attribute.parent().filter(|p| p.kind() == "call") else {
            break;
        };
        if attr_name(attribute, src) == Some("values") {
            match keys(&Args::of(outer, src)) {
                Some(k) => columns.extend(k),
                None => return Vec::new(),
            }
        }
        node = outer;
    }
    columns
}

/// The table of an ORM model: its `__tablename__` when the class is in the file, else
/// `<table of Model>` (never a name the guard would look up in the database).
pub fn model_table<'t>(eval: &Eval<'_, 't>, entity: Node<'t>) -> String {
    let src = eval.module.src;
    let entity = unparen(entity);
    let class = match entity.kind() {
        "identifier" => Some(entity),
        // select(User.id, User.name): the model's columns.
        "attribute" => entity
            .child_by_field_name("object")
            .filter(|o| o.kind() == "identifier"),
        _ => None,
    };
    if let Some(class) = class {
        let name = text(class, src);
        if let Some(table) = eval.module.model_table(name) {
            return table;
        }
        if entity.kind() == "identifier" && eval.lookup(name).is_none() {
            return format!("<table of {name}>");
        }
    }
    eval.name(entity)
}

/// The table and filtering of the ORM query an expression iterates: `session.query(M)…`,
/// `session.execute(select(M).where(…)).scalars()`, `session.scalars(select(M))`, or a name
/// bound to one.
pub fn orm_rows<'t>(eval: &Eval<'_, 't>, node: Node<'t>) -> Option<(String, bool)> {
    let src = eval.module.src;
    let mut node = unparen(node);
    let mut filtered = false;
    for _ in 0..64 {
        match node.kind() {
            "identifier" => match eval.lookup(text(node, src))? {
                Value::Expr(e) if e.id() != node.id() => node = unparen(e),
                Value::Row { table, filtered: f } => return Some((table, f || filtered)),
                _ => return None,
            },
            "call" => {
                let function = node.child_by_field_name("function")?;
                let args = Args::of(node, src);
                match last_name(function, src)? {
                    "query" | "select" => {
                        let entity = *args.positional.first()?;
                        return Some((model_table(eval, entity), filtered));
                    }
                    "filter" | "filter_by" | "where" | "limit" | "get" => filtered = true,
                    "execute" | "scalars" if !args.positional.is_empty() => {
                        node = unparen(args.positional[0]);
                        continue;
                    }
                    _ => {}
                }
                node = function.child_by_field_name("object")?;
            }
            "attribute" => node = node.child_by_field_name("object")?,
            _ => return None,
        }
    }
    None
}

/// A loop's ORM row (`for user in session.query(User)` binds `user`).
fn row_of<'t>(eval: &Eval<'_, 't>, node: Node<'t>) -> Option<(String, bool)> {
    let node = unparen(node);
    if node.kind() != "identifier" {
        return None;
    }
    match eval.lookup(text(node, eval.module.src))? {
        Value::Row { table, filtered } => Some((table, filtered)),
        _ => None,
    }
}

/// ORM sessions writing objects: `merge`, `bulk_update_mappings`, `bulk_insert_mappings`,
/// `bulk_save_objects`, `add(Model(…))`, `add_all`. `None` when the call is none of these.
fn orm_write<'t>(eval: &Eval<'_, 't>, method: &str, args: &Args<'t>) -> Option<Op> {
    let src = eval.module.src;
    let model_class = |node: Node<'t>| {
        let (ctor, _) = eval.constructor(node)?;
        eval.module.classes.contains_key(&ctor).then_some(ctor)
    };
    let table_of_class = |class: &str| {
        eval.module
            .model_table(class)
            .unwrap_or_else(|| format!("<table of {class}>"))
    };
    Some(match (method, args.positional.as_slice()) {
        ("merge", [obj]) => match row_of(eval, *obj) {
            Some((table, filtered)) => Op::Update {
                table,
                has_where: filtered,
                columns: Vec::new(),
            },
            None => Op::Update {
                table: match model_class(*obj) {
                    Some(class) => table_of_class(&class),
                    None => format!("<table of {}>", shorten(text(*obj, src))),
                },
                has_where: true,
                columns: Vec::new(),
            },
        },
        // Rows by primary key: the ones listed, or every row a computed list holds.
        ("bulk_update_mappings", [model, mappings, ..]) => Op::Update {
            table: model_table(eval, *model),
            has_where: matches!(unparen(*mappings).kind(), "list" | "tuple"),
            columns: Vec::new(),
        },
        ("bulk_insert_mappings", [model, ..]) => Op::Insert {
            table: model_table(eval, *model),
        },
        ("bulk_save_objects" | "add_all", [_, ..]) => Op::Insert {
            table: "<objects>".to_string(),
        },
        ("add", [obj]) => Op::Insert {
            table: table_of_class(&model_class(*obj)?),
        },
        _ => return None,
    })
}

/// Method names called along a receiver chain: `s.query(M).filter(x)` → query, filter.
fn chain_methods(mut node: Node<'_>, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..64 {
        match node.kind() {
            "call" => match node.child_by_field_name("function") {
                Some(f) => {
                    if let Some(name) = last_name(f, src) {
                        out.push(name.to_string());
                    }
                    match f.child_by_field_name("object") {
                        Some(o) => node = o,
                        None => break,
                    }
                }
                None => break,
            },
            "attribute" => match node.child_by_field_name("object") {
                Some(o) => node = o,
                None => break,
            },
            _ => break,
        }
    }
    out
}

/// `M` of `session.query(M)…`.
fn query_entity<'t>(mut node: Node<'t>, src: &str) -> Option<Node<'t>> {
    for _ in 0..64 {
        if node.kind() == "call" {
            let f = node.child_by_field_name("function")?;
            if last_name(f, src) == Some("query") {
                let args = node.child_by_field_name("arguments")?;
                return children(args).first().copied();
            }
            node = f.child_by_field_name("object")?;
        } else if node.kind() == "attribute" {
            node = node.child_by_field_name("object")?;
        } else {
            return None;
        }
    }
    None
}

/// `t.delete().where(...)`: a `where` called on the result.
fn outer_chain_has_where(call: Node<'_>, src: &str) -> bool {
    let mut node = call;
    for _ in 0..64 {
        let Some(attribute) = node.parent() else {
            return false;
        };
        if attribute.kind() != "attribute" {
            return false;
        }
        let Some(outer) = attribute.parent().filter(|p| p.kind() == "call") else {
            return false;
        };
        if matches!(
            attr_name(attribute, src),
            Some("where" | "filter" | "filter_by")
        ) {
            return true;
        }
        node = outer;
    }
    false
}

/// `….execute(arg)`: SQL text goes through the SQL analyzer (findings point into the string
/// literal); Core constructs are reported where they are built; anything else is unseen SQL.
fn execute<'m, 't: 'm>(
    walker: &mut dyn Sink<'m, 't>,
    arg: Node<'t>,
    scope: &mut Scope<'t>,
    call: Node<'t>,
) {
    let src = walker.src();
    // The argument's own calls (a Core construct) are classified by the walker afterwards.
    let value = Eval {
        module: walker.module(),
        scope,
    }
    .string(arg);
    match value {
        Some(sql_text) if sql_text.has_literal_text() => analyze_sql(walker, &sql_text),
        Some(_) => unseen(walker, arg, call),
        None => {
            let eval = Eval {
                module: walker.module(),
                scope,
            };
            let is_construct = eval.constructor(arg).is_some_and(|(name, node)| {
                is_core_construct(&name)
                    || chain_methods(node, src)
                        .iter()
                        .any(|m| is_core_construct(m))
            });
            if !is_construct {
                unseen(walker, arg, call);
            }
        }
    }
}

fn is_core_construct(name: &str) -> bool {
    matches!(
        name,
        "delete"
            | "update"
            | "insert"
            | "select"
            | "where"
            | "values"
            | "returning"
            | "filter"
            | "text"
            | "bindparams"
            | "columns"
            | "execution_options"
            | "from_select"
            | "on_conflict_do_nothing"
            | "on_conflict_do_update"
    ) || name.starts_with("Drop")
        || name.starts_with("Create")
        || name.starts_with("Add")
        || name == "SetTableComment"
        || name == "SetColumnComment"
}

fn unseen<'m, 't: 'm>(walker: &mut dyn Sink<'m, 't>, arg: Node<'t>, call: Node<'t>) {
    let src = walker.src();
    walker.emit(
        Op::DynamicSql {
            detail: format!(
                "executes SQL dbguard cannot see: {}",
                shorten(text(arg, src))
            ),
        },
        call.byte_range(),
        Context::default(),
    );
}

fn analyze_sql<'m, 't: 'm>(walker: &mut dyn Sink<'m, 't>, sql_text: &Str) {
    let text = sql_text.text();
    let analysis = sql::analyze(&text);
    for located in analysis.ops {
        let start = sql_text.map(located.start, false);
        let end = sql_text.map(located.end, true).max(start);
        let mut context = located.context;
        context.dynamic |= sql_text.is_dynamic();
        walker.emit(located.op, start..end, context);
        if !context.dynamic {
            walker.set_last_sql(located.sql);
        }
    }
}

/// A call of something that is not a plain name or attribute: `globals()["upgrade_%s" %
/// engine]()` (alembic's multidb template) runs every module function whose name starts with
/// the literal part; anything else is a function dbguard cannot identify.
fn unknown_callee<'m, 't: 'm>(
    walker: &mut dyn Sink<'m, 't>,
    function: Node<'t>,
    call: Node<'t>,
    scope: &mut Scope<'t>,
) {
    let src = walker.src();
    if function.kind() == "subscript" {
        let object = function.child_by_field_name("value");
        let is_globals = object.is_some_and(|o| text(o, src).replace(' ', "") == "globals()");
        let prefix = function
            .child_by_field_name("subscript")
            .and_then(|i| {
                Eval {
                    module: walker.module(),
                    scope,
                }
                .string(i)
            })
            .and_then(|s| s.text().split(DYNAMIC).next().map(str::to_string));
        if let (true, Some(prefix)) = (is_globals, prefix.filter(|p| !p.is_empty())) {
            let mut names: Vec<String> = walker
                .module()
                .functions
                .keys()
                .filter(|n| n.starts_with(&prefix))
                .cloned()
                .collect();
            names.sort();
            for name in names {
                if let Some(def) = walker.module().function(&name) {
                    walker.follow(&name, def, call, scope);
                }
            }
            return;
        }
    }
    walker.emit(
        Op::DynamicSql {
            detail: format!(
                "calls a function dbguard cannot identify: {}",
                shorten(text(function, src))
            ),
        },
        call.byte_range(),
        Context::default(),
    );
}

#[cfg(test)]
mod tests {
    use crate::analysis::alembic::body::analyze;
    use crate::analysis::alembic::module::Module;
    use crate::analysis::alembic::python;
    use crate::analysis::ops::Op;

    fn ops(body: &str) -> Vec<Op> {
        let src = format!("def upgrade():\n{body}");
        let tree = python::parse(&src).unwrap();
        let module = Module::new(&src, &tree);
        analyze(&module, "upgrade")
            .unwrap()
            .into_iter()
            .map(|o| o.op)
            .filter(|op| !op.is_fact())
            .collect()
    }

    #[test]
    fn core_and_orm_dml_need_a_where() {
        let t = "    t = sa.table('users')\n";
        assert_eq!(
            ops(&format!("{t}    op.execute(t.delete())\n")),
            [Op::Delete {
                table: "users".into(),
                has_where: false
            }]
        );
        assert_eq!(
            ops(&format!(
                "{t}    op.execute(sa.update(t).where(t.c.id == 1).values(x=1))\n"
            )),
            [Op::Update {
                table: "users".into(),
                has_where: true,
                columns: vec!["x".into()]
            }]
        );
        assert_eq!(
            ops("    s.query(User).filter_by(id=1).delete()\n"),
            [Op::Delete {
                table: "<table of User>".into(),
                has_where: true
            }]
        );
        // dict.update and friends are not SQL.
        assert!(ops("    d = {}\n    d.update({'a': 1})\n    d.update(a=1)\n").is_empty());
    }

    #[test]
    fn batch_aliases_name_the_table() {
        assert_eq!(
            ops("    with op.batch_alter_table('t', schema='s') as b:\n        b.drop_column('c')\n"),
            [Op::DropColumn { table: "s.t".into(), column: "c".into() }]
        );
    }

    #[test]
    fn unseen_sql_is_dynamic() {
        assert!(matches!(
            ops("    op.execute(make_sql())\n").as_slice(),
            [Op::DynamicSql { .. }]
        ));
        // A Core construct is reported where it is built, not as unseen SQL.
        assert!(ops("    op.execute(t.insert().values(a=1))\n").is_empty());
    }
}

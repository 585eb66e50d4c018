//! Checks one alembic revision file: the operations of `upgrade()` and/or `downgrade()`
//! become findings that name the revision and the function, with `# dbguard:allow`
//! annotations applied and Python syntax errors reported (never skipped silently).

use std::path::Path;

use super::body::{self, PyOp};
use super::module::Module;
use super::python;
use super::revision::{self, looks_like_revision};
use super::walk::Direction;
use crate::analysis::check::{decode, file_finding, op_finding, Annotations, Decoded};
use crate::analysis::lines::LineIndex;
use crate::analysis::ops::{Context, Located, Op};
use crate::analysis::rules;
use crate::analysis::simulate::{self, Simulation};
use crate::analysis::sql::split::Comment;
use crate::analysis::{FileReport, Finding};

/// Reads and checks a revision file from disk; each direction is simulated on its own.
pub fn check_file(path: &Path, display: &str, directions: &[Direction]) -> FileReport {
    check_file_with(path, display, directions, None)
}

/// Reads and checks one step of a plan: `simulation` carries what the earlier steps created
/// and renamed into this one.
pub fn check_step(
    path: &Path,
    display: &str,
    direction: Direction,
    simulation: &mut Simulation,
) -> FileReport {
    check_file_with(path, display, &[direction], Some(simulation))
}

fn check_file_with(
    path: &Path,
    display: &str,
    directions: &[Direction],
    mut shared: Option<&mut Simulation>,
) -> FileReport {
    let unreadable = |message: String| FileReport {
        path: display.to_string(),
        statements: 0,
        findings: vec![file_finding(
            display,
            &rules::unreadable_file::RULE,
            message,
        )],
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return unreadable(format!("cannot read {display}: {err}")),
    };
    match decode(bytes) {
        Decoded::Text(text) => check_text_with(&text, path, display, directions, shared),
        Decoded::Lossy(text, why) => {
            let mut report = check_text_with(&text, path, display, directions, shared.take());
            let finding = file_finding(
                display,
                &rules::unreadable_file::RULE,
                format!("{display} is {why}"),
            );
            report.findings.insert(0, finding);
            report
        }
        Decoded::Binary => unreadable(format!(
            "{display} looks like a binary file, not a Python revision; it was not analysed"
        )),
    }
}

/// Checks the text of a revision file.
pub fn check_text(text: &str, path: &Path, display: &str, directions: &[Direction]) -> FileReport {
    check_text_with(text, path, display, directions, None)
}

fn check_text_with(
    text: &str,
    path: &Path,
    display: &str,
    directions: &[Direction],
    mut shared: Option<&mut Simulation>,
) -> FileReport {
    let mut report = FileReport {
        path: display.to_string(),
        statements: 0,
        findings: Vec::new(),
    };
    let Some(tree) = python::parse(text) else {
        // Nothing in it can be followed.
        if let Some(simulation) = shared.as_deref_mut() {
            simulation.reset_all();
        }
        report.findings.push(file_finding(
            display,
            &rules::unparsed_statement::RULE,
            format!("{display}: the Python parser failed; nothing in it was checked"),
        ));
        return report;
    };
    let mut module = Module::new(text, &tree);
    module.origin = Some(path.to_path_buf());
    let index = LineIndex::new(text);
    let comments: Vec<Comment> = python::comments(&tree, text)
        .into_iter()
        .map(|(start, end, starts_line)| Comment {
            start,
            end,
            starts_line,
        })
        .collect();
    let annotations = Annotations::new(text, &index, &comments);
    let mut findings: Vec<Finding> = Vec::new();

    for error in &module.errors {
        let located = located(
            Op::Unparsed {
                reason: "Python syntax error".to_string(),
            },
            error.clone(),
            Context::default(),
        );
        let rule = &rules::unparsed_statement::RULE;
        let message = "not valid Python here (a syntax error): dbguard cannot tell what this part of the revision does".to_string();
        findings.push(op_finding(text, &index, display, &located, rule, message));
    }

    if !looks_like_revision(&module) && module.errors.is_empty() {
        findings.push(file_finding(
            display,
            &rules::unreadable_file::RULE,
            format!(
                "{display} is not an alembic revision (it needs a `revision = …` and a `def upgrade()`); it was not checked"
            ),
        ));
        report.findings = findings;
        return report;
    }
    let revision_id = match revision::read(&module, path) {
        Ok(rev) => rev.id,
        Err(why) => {
            findings.push(file_finding(
                display,
                &rules::unreadable_file::RULE,
                format!("cannot read the revision metadata of {display}: {why}"),
            ));
            "?".to_string()
        }
    };

    for direction in directions {
        let mut own = Simulation::new();
        let simulation: &mut Simulation = match shared.as_deref_mut() {
            Some(shared) => shared,
            None => &mut own,
        };
        // A syntax error anywhere: what the broken part does is unknown.
        if !module.errors.is_empty() {
            simulation.reset_all();
        }
        let function = direction.function();
        let Some(ops) = body::analyze(&module, function) else {
            simulation.reset_all();
            // alembic fails with an AttributeError when it reaches this revision.
            let (rule, message) = match direction {
                Direction::Downgrade => (
                    &rules::irreversible_downgrade::RULE,
                    format!("revision {revision_id} defines no downgrade(), so downgrading through it fails"),
                ),
                Direction::Upgrade => (
                    &rules::unparsed_statement::RULE,
                    format!("revision {revision_id} defines no upgrade(): alembic fails when it runs it"),
                ),
            };
            findings.push(file_finding(display, rule, message));
            continue;
        };
        if let Some(def) = module
            .function(function)
            .and_then(|d| d.child_by_field_name("body"))
        {
            report.statements += python::children(def).len();
        }
        for op in ops {
            let outcome = simulation.step(&op.op, &op.context);
            if let Some(finding) = finding(text, &index, display, &revision_id, function, &op) {
                let mut finding = finding;
                simulate::apply(outcome, &mut finding);
                let (first, last) = (
                    index.line(op.statement.start),
                    index.line(op.statement.end.saturating_sub(1).max(op.statement.start)),
                );
                annotations.apply(&mut finding, first, last);
                findings.push(finding);
            }
        }
    }
    findings.extend(annotations.problems(text, &index, display));
    findings.sort_by_key(|f| f.span);
    findings.dedup_by(|a, b| a.span == b.span && a.rule == b.rule && a.message == b.message);
    report.findings = findings;
    report
}

fn located(op: Op, range: std::ops::Range<usize>, context: Context) -> Located {
    Located {
        op,
        start: range.start,
        end: range.end,
        statement: range,
        context,
        sql: None,
    }
}

/// A finding whose message says where in the migration the operation runs.
fn finding(
    text: &str,
    index: &LineIndex,
    display: &str,
    revision: &str,
    function: &str,
    op: &PyOp,
) -> Option<Finding> {
    let (rule, message) = rules::classify(&op.op)?;
    let mut where_ = format!("{function}() of revision {revision}");
    for helper in &op.via {
        where_ = format!("{helper}() called from {where_}");
    }
    let where_ = format!("in {where_}");
    let mut message = format!("{message} ({where_})");
    if let Some(condition) = &op.condition {
        message.push_str(&format!(" (conditional: only `{condition}`)"));
    }
    let context = Context {
        conditional: false,
        ..op.context
    };
    let mut located = located(op.op.clone(), op.start..op.end, context);
    located.statement = op.statement.clone();
    located.sql = op.sql.clone();
    Some(op_finding(text, index, display, &located, rule, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_of(src: &str, directions: &[Direction]) -> Vec<String> {
        check_text(src, Path::new("v/x.py"), "x.py", directions)
            .findings
            .iter()
            .filter(|f| !f.suppressed)
            .map(|f| format!("{}:{}", f.span.line, f.rule))
            .collect()
    }

    const REV: &str = "revision = 'abc'\ndown_revision = None\n";

    #[test]
    fn upgrade_only_by_default_and_both_on_request() {
        let src = format!(
            "{REV}def upgrade():\n    op.drop_table('a')\n\ndef downgrade():\n    op.drop_column('b', 'c')\n"
        );
        assert_eq!(rules_of(&src, &[Direction::Upgrade]), ["4:drop-table"]);
        assert_eq!(
            rules_of(&src, &[Direction::Upgrade, Direction::Downgrade]),
            ["4:drop-table", "7:drop-column"]
        );
    }

    #[test]
    fn messages_name_revision_function_and_condition() {
        let src = format!(
            "{REV}def upgrade():\n    if op.get_bind().dialect.name == 'postgresql':\n        op.execute('TRUNCATE t')\n"
        );
        let report = check_text(&src, Path::new("x.py"), "x.py", &[Direction::Upgrade]);
        let f = &report.findings[0];
        assert_eq!(f.rule, "truncate");
        assert!(
            f.message.contains("in upgrade() of revision abc"),
            "{}",
            f.message
        );
        assert!(f.message.contains("conditional"), "{}", f.message);
        // The finding points into the string literal.
        assert_eq!((f.span.line, f.span.column), (5, 21));
    }

    #[test]
    fn python_allow_annotations_and_syntax_errors() {
        let src = format!(
            "{REV}def upgrade():\n    # dbguard:allow drop-table reason: \"archived\"\n    op.drop_table('a')\n    op.drop_table('b'  # oops\n"
        );
        let got = rules_of(&src, &[Direction::Upgrade]);
        assert!(
            got.iter().any(|r| r.ends_with("unparsed-statement")),
            "{got:?}"
        );
        assert!(!got.contains(&"5:drop-table".to_string()), "{got:?}");
    }
}

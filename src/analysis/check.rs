//! Checks one input (file or stdin): reads it safely, analyses it by kind, follows psql
//! includes, applies allow annotations and turns operations into positioned findings.

use std::path::{Path, PathBuf};

use super::allow::{self, Allow};
use super::lines::LineIndex;
use super::ops::{display_name, Located};
use super::rules::{self, Rule};
use super::simulate::{self, Simulation};
use super::sql;
use super::{FileReport, Finding, Severity, Span};

/// Includes nested deeper than this are reported instead of followed (cycles end here).
const MAX_INCLUDE_DEPTH: usize = 16;
/// Longest statement excerpt kept in a finding.
const EXCERPT_CHARS: usize = 200;

/// What kind of input a file is, by name. `.py` files are alembic revisions (see
/// `alembic::check`); every other explicitly named file is read as SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Sql,
    Python,
}

impl FileKind {
    pub fn of(path: &Path) -> FileKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("py") => FileKind::Python,
            _ => FileKind::Sql,
        }
    }
}

/// Text of an input, or why it cannot be analysed.
pub enum Decoded {
    Text(String),
    /// Not UTF-8, or text with NUL bytes: analysed as psql would read it, and reported
    /// (the message follows the file name).
    Lossy(String, String),
    Binary,
}

pub fn decode(bytes: Vec<u8>) -> Decoded {
    let nul_early = bytes.iter().take(8192).any(|&b| b == 0);
    match String::from_utf8(bytes) {
        // A stray NUL does not make SQL binary: psql still runs what comes before it, so
        // skipping the file would let `DROP TABLE t;` before a NUL through unreported.
        Ok(text) if text.contains('\0') => Decoded::Lossy(
            without_nul_tails(text),
            "looks like a binary file (it has NUL bytes), but psql would still run it: \
             analysed like psql reads it, ignoring each line from its first NUL"
                .to_string(),
        ),
        Ok(text) => Decoded::Text(text),
        Err(_) if nul_early => Decoded::Binary,
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            Decoded::Lossy(text, format!("is not valid UTF-8 (first bad byte at offset {at}); analysed with invalid bytes replaced"))
        }
    }
}

/// psql reads a line only up to its first NUL byte (and joins the next line to it): blank
/// everything from a NUL to the end of its line. Blanking keeps every offset and line number.
fn without_nul_tails(text: String) -> String {
    let mut bytes = text.into_bytes();
    let mut blanking = false;
    for b in &mut bytes {
        if *b == b'\n' {
            blanking = false;
        } else if *b == 0 || blanking {
            blanking = true;
            *b = b' ';
        }
    }
    // Only bytes of whole characters up to a newline were replaced by ASCII spaces.
    String::from_utf8(bytes).unwrap_or_default()
}

/// Checks a file from disk; included files come back as further reports after it.
pub fn check_file(path: &Path, display: &str) -> Vec<FileReport> {
    let mut reports = Vec::new();
    check_path(path, display, 0, &mut Vec::new(), &mut reports);
    reports
}

/// Checks text that does not live in a file (stdin); includes resolve against the cwd.
pub fn check_text(text: &str, display: &str) -> Vec<FileReport> {
    let mut reports = Vec::new();
    check_sql(text, display, None, 0, &mut Vec::new(), &mut reports);
    reports
}

/// Checks content that is not read from its path (a staged git blob): decoded like a file,
/// with includes resolved against `dir`.
pub fn check_bytes(bytes: Vec<u8>, display: &str, dir: Option<&Path>) -> Vec<FileReport> {
    let (text, problem) = match decode(bytes) {
        Decoded::Text(text) => (text, None),
        Decoded::Lossy(text, why) => (text, Some(why)),
        Decoded::Binary => {
            let message =
                format!("{display} looks like a binary file, not SQL; it was not analysed");
            return vec![whole_file_report(
                display,
                &rules::unreadable_file::RULE,
                message,
            )];
        }
    };
    let mut reports = Vec::new();
    check_sql(&text, display, dir, 0, &mut Vec::new(), &mut reports);
    if let Some(why) = problem {
        let finding = file_finding(
            display,
            &rules::unreadable_file::RULE,
            format!("{display} is {why}"),
        );
        reports[0].findings.insert(0, finding);
    }
    reports
}

fn check_path(
    path: &Path,
    display: &str,
    depth: usize,
    stack: &mut Vec<PathBuf>,
    reports: &mut Vec<FileReport>,
) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            reports.push(whole_file_report(
                display,
                &rules::unreadable_file::RULE,
                format!("cannot read {display}: {err}"),
            ));
            return;
        }
    };
    let (text, problem) = match decode(bytes) {
        Decoded::Text(text) => (text, None),
        Decoded::Lossy(text, why) => (text, Some(why)),
        Decoded::Binary => {
            let message =
                format!("{display} looks like a binary file, not SQL; it was not analysed");
            reports.push(whole_file_report(
                display,
                &rules::unreadable_file::RULE,
                message,
            ));
            return;
        }
    };
    let index = reports.len();
    stack.push(path.to_path_buf());
    check_sql(&text, display, path.parent(), depth, stack, reports);
    stack.pop();
    if let Some(why) = problem {
        let finding = file_finding(
            display,
            &rules::unreadable_file::RULE,
            format!("{display} {why}"),
        );
        reports[index].findings.insert(0, finding);
    }
}

fn whole_file_report(display: &str, rule: &'static Rule, message: String) -> FileReport {
    FileReport {
        path: display.to_string(),
        statements: 0,
        findings: vec![file_finding(display, rule, message)],
    }
}

pub(crate) fn file_finding(display: &str, rule: &'static Rule, message: String) -> Finding {
    Finding {
        rule: rule.id,
        severity: rule.severity,
        path: display.to_string(),
        span: Span {
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
        },
        message,
        help: rule.help.to_string(),
        statement: String::new(),
        suppressed: false,
        suppression_reason: None,
        target: None,
        sql: None,
        rows: None,
    }
}

fn check_sql(
    text: &str,
    display: &str,
    dir: Option<&Path>,
    depth: usize,
    stack: &mut Vec<PathBuf>,
    reports: &mut Vec<FileReport>,
) {
    let analysis = sql::analyze(text);
    let index = LineIndex::new(text);
    let mut findings = annotated_findings(text, &index, display, &analysis);

    let position = reports.len();
    reports.push(FileReport {
        path: display.to_string(),
        statements: analysis.statements,
        findings: Vec::new(),
    });

    for include in &analysis.includes {
        let (line, _) = index.position(include.start);
        let base = if include.relative {
            dir.map(Path::to_path_buf)
        } else {
            std::env::current_dir().ok()
        };
        let candidates = [
            base.map(|b| b.join(&include.path)),
            dir.map(|d| d.join(&include.path)),
        ];
        let found = candidates.into_iter().flatten().find(|p| p.is_file());
        let problem = match found {
            _ if depth >= MAX_INCLUDE_DEPTH => {
                Some("includes nest too deeply (an include cycle?)".to_string())
            }
            Some(path) if stack.iter().any(|p| same_file(p, &path)) => {
                Some("includes itself (an include cycle)".to_string())
            }
            Some(path) => {
                let shown = format!("{} (included from {display}:{line})", path.display());
                check_path(&path, &shown, depth + 1, stack, reports);
                None
            }
            None => Some(format!(
                "includes {}, which dbguard cannot find",
                include.path
            )),
        };
        if let Some(problem) = problem {
            let rule = &rules::include_not_found::RULE;
            let range = include.start..include.end;
            findings.push(range_finding(
                text,
                &index,
                display,
                range.clone(),
                range,
                rule,
                problem,
            ));
        }
    }

    findings.sort_by_key(|f| f.span);
    reports[position].findings = findings;
}

/// Findings of the operations found, with allow annotations applied, and findings about the
/// annotations themselves.
fn annotated_findings(
    text: &str,
    index: &LineIndex,
    display: &str,
    analysis: &sql::Analysis,
) -> Vec<Finding> {
    let annotations = Annotations::new(text, index, &analysis.comments);
    let mut findings: Vec<Finding> = Vec::new();
    let mut simulation = Simulation::new();
    let mut includes = analysis.includes.iter().map(|i| i.start).peekable();
    for located in &analysis.ops {
        // An included file runs in between: it may do anything to the tables.
        if includes
            .next_if(|&at| at < located.statement.start)
            .is_some()
        {
            while includes
                .next_if(|&at| at < located.statement.start)
                .is_some()
            {}
            simulation.reset_all();
        }
        let outcome = simulation.step(&located.op, &located.context);
        let Some((rule, message)) = rules::classify(&located.op) else {
            continue;
        };
        let mut finding = op_finding(text, index, display, located, rule, message);
        simulate::apply(outcome, &mut finding);
        let first = index.line(located.statement.start);
        let last = index.line(located.statement.end);
        annotations.apply(&mut finding, first, last);
        findings.push(finding);
    }
    findings.extend(annotations.problems(text, index, display));
    findings
}

/// Checks SQL as the server receives it in a wire-protocol Query or Parse (`dbguard proxy`):
/// no psql meta-commands, no includes, no COPY data lines.
pub fn check_server_sql(text: &str, display: &str) -> FileReport {
    let analysis = sql::analyze_server(text);
    let index = LineIndex::new(text);
    let mut findings = annotated_findings(text, &index, display, &analysis);
    findings.sort_by_key(|f| f.span);
    FileReport {
        path: display.to_string(),
        statements: analysis.statements,
        findings,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The text with white space collapsed, cut to `EXCERPT_CHARS` characters (plus `…`). Reads
/// no further than needed, so a huge statement with many findings stays cheap.
fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            chars += 1;
        }
        out.push_str(word);
        chars += word.chars().count();
        if chars > EXCERPT_CHARS {
            let cut: String = out.chars().take(EXCERPT_CHARS).collect();
            return format!("{cut}…");
        }
    }
    out
}

pub(crate) fn op_finding(
    text: &str,
    index: &LineIndex,
    display: &str,
    located: &Located,
    rule: &'static Rule,
    message: String,
) -> Finding {
    let mut message = display_name(&message);
    let mut severity = rule.severity;
    let ctx = located.context;
    if ctx.remote {
        message.push_str(" (runs in another database)");
    }
    if ctx.deferred {
        // A function body runs when called, not when created: never more than risky.
        severity = severity.min(Severity::Risky);
        message.push_str(" (inside a function or rule body: runs when it is called)");
    }
    if ctx.dynamic {
        message.push_str(" (in dynamically built SQL)");
    }
    if ctx.conditional {
        message.push_str(" (conditional: runs only on some paths)");
    }
    if ctx.fallback {
        message.push_str(
            " (found by the fallback classifier: the SQL parser rejected this statement)",
        );
    }
    let mut finding = range_finding(
        text,
        index,
        display,
        located.start..located.end,
        located.statement.clone(),
        rule,
        message,
    );
    finding.severity = severity;
    // SQL run in another database (dblink) names tables the guard cannot weigh here.
    finding.target = if ctx.remote {
        None
    } else {
        located.op.data_target()
    };
    finding.sql = located.sql.clone();
    finding
}

/// A finding about a byte range of the file (`excerpt` is what it shows as the statement):
/// operations, includes and annotations alike.
pub(crate) fn range_finding(
    text: &str,
    index: &LineIndex,
    display: &str,
    range: std::ops::Range<usize>,
    excerpt_range: std::ops::Range<usize>,
    rule: &'static Rule,
    message: String,
) -> Finding {
    let (line, column) = index.position(range.start);
    let (end_line, end_column) = index.position(range.end);
    Finding {
        rule: rule.id,
        severity: rule.severity,
        path: display.to_string(),
        span: Span {
            line,
            column,
            end_line,
            end_column,
        },
        message,
        help: rule.help.to_string(),
        statement: text.get(excerpt_range).map(excerpt).unwrap_or_default(),
        suppressed: false,
        suppression_reason: None,
        target: None,
        sql: None,
        rows: None,
    }
}

/// The allow annotations of one file, indexed for lookup by statement lines.
pub(crate) struct Annotations {
    /// (annotation, line of the comment's end, comment starts its line), in file order, so
    /// the lines never decrease.
    allows: Vec<(Allow, usize, bool)>,
    /// Maximal runs of lines that hold nothing but comments, sorted: `(first, last)`.
    comment_runs: Vec<(usize, usize)>,
    /// For each rule, the first file-wide annotation (index in `allows`) that suppresses it.
    file_wide: std::collections::HashMap<String, usize>,
}

impl Annotations {
    pub(crate) fn new(text: &str, index: &LineIndex, comments: &[sql::split::Comment]) -> Self {
        let mut allows = Vec::new();
        let mut comment_runs: Vec<(usize, usize)> = Vec::new();
        for comment in comments {
            let body = &text[comment.start..comment.end];
            if comment.starts_line {
                let (first, last) = (
                    index.line(comment.start),
                    index.line(comment.end.saturating_sub(1).max(comment.start)),
                );
                match comment_runs.last_mut() {
                    Some(run) if first <= run.1 + 1 => run.1 = run.1.max(last),
                    _ => comment_runs.push((first, last)),
                }
            }
            if let Some(allow) = allow::parse(body, comment.start, comment.end) {
                let line = index.line(comment.end.saturating_sub(1).max(comment.start));
                allows.push((allow, line, comment.starts_line));
            }
        }
        let mut file_wide = std::collections::HashMap::new();
        for (i, (allow, _, _)) in allows.iter().enumerate() {
            if allow.file_wide && allow.reason.is_some() {
                for rule in &allow.rules {
                    file_wide.entry(rule.clone()).or_insert(i);
                }
            }
        }
        debug_assert!(allows.windows(2).all(|w| w[0].1 <= w[1].1));
        Annotations {
            allows,
            comment_runs,
            file_wide,
        }
    }

    /// The first line of the block of comment-only lines that ends right above `line`
    /// (`line` itself when the line above is not a comment line).
    fn comment_block_start(&self, line: usize) -> usize {
        let Some(above) = line.checked_sub(1) else {
            return line;
        };
        let i = self.comment_runs.partition_point(|run| run.0 <= above);
        match i.checked_sub(1).map(|i| self.comment_runs[i]) {
            Some((first, last)) if last >= above => first,
            _ => line,
        }
    }

    /// Findings about the annotations themselves.
    pub(crate) fn problems(&self, text: &str, index: &LineIndex, display: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (allow, _, _) in &self.allows {
            let range = allow.start..allow.end;
            let finding = |rule, message| {
                range_finding(
                    text,
                    index,
                    display,
                    range.clone(),
                    range.clone(),
                    rule,
                    message,
                )
            };
            if allow.reason.is_none() {
                let rule = &rules::allow_without_reason::RULE;
                let message = format!(
                    "`dbguard:allow{} {}` has no reason, so it suppresses nothing",
                    if allow.file_wide { "-file" } else { "" },
                    allow.rules.join(", ")
                );
                out.push(finding(rule, message));
            }
            for unknown in allow.unknown_rules() {
                let rule = &rules::unknown_allow_rule::RULE;
                let message = format!("`{unknown}` is not a dbguard rule (see `dbguard rules`)");
                out.push(finding(rule, message));
            }
        }
        out
    }

    /// Marks a finding suppressed when an annotation with a reason covers it: file-wide, in
    /// the comment lines directly above its statement, or on its statement's lines. The first
    /// such annotation in the file gives the reason.
    pub(crate) fn apply(&self, finding: &mut Finding, first_line: usize, last_line: usize) {
        let block_start = self.comment_block_start(first_line);
        let covers = |(allow, line, starts_line): &(Allow, usize, bool)| {
            if !allow.covers(finding.rule) {
                return false;
            }
            if allow.file_wide || (first_line..=last_line).contains(line) {
                return true;
            }
            // The contiguous block of comment-only lines right above the statement.
            *starts_line && *line < first_line && *line >= block_start
        };
        // Annotations on the lines from the comment block to the statement's end.
        let from = self
            .allows
            .partition_point(|(_, line, _)| *line < block_start);
        let nearby = self.allows[from..]
            .iter()
            .take_while(|(_, line, _)| *line <= last_line)
            .position(covers)
            .map(|i| from + i);
        let file_wide = self.file_wide.get(finding.rule).copied();
        let first = match (nearby, file_wide) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(i) = first {
            finding.suppressed = true;
            finding.suppression_reason = self.allows[i].0.reason.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_nul_bytes_is_read_like_psql_reads_it() {
        match decode(b"DROP TABLE a;\n-- \x00 DROP TABLE b;\nTRUNCATE c;\n".to_vec()) {
            Decoded::Lossy(text, why) => {
                assert_eq!(text, "DROP TABLE a;\n--                \nTRUNCATE c;\n");
                assert!(why.starts_with("looks like a binary file"));
            }
            _ => panic!("not analysed"),
        }
        // Not UTF-8 and NUL bytes: binary.
        assert!(matches!(
            decode(b"\x89PNG\r\n\x1a\n\x00\x00".to_vec()),
            Decoded::Binary
        ));
    }

    fn suppressions(sql: &str) -> Vec<(String, Option<String>)> {
        check_text(sql, "t.sql")
            .remove(0)
            .findings
            .into_iter()
            .filter(|f| f.rule == "drop-table")
            .map(|f| (f.statement, f.suppression_reason))
            .collect()
    }

    #[test]
    fn annotations_apply_through_comment_blocks_and_the_first_one_wins() {
        let sql = "\
-- dbguard:allow drop-table reason: \"above\"
-- another comment
/* a block
   comment */
DROP TABLE a;
-- dbguard:allow drop-table reason: \"too far\"

DROP TABLE b;
DROP TABLE c; -- dbguard:allow drop-table reason: \"same line\"
-- dbguard:allow drop-table reason: \"first\"
-- dbguard:allow drop-table reason: \"second\"
DROP
  TABLE d; -- dbguard:allow drop-table reason: \"inside\"
";
        let got = suppressions(sql);
        let reasons: Vec<Option<&str>> = got.iter().map(|(_, r)| r.as_deref()).collect();
        assert_eq!(
            reasons,
            [Some("above"), None, Some("same line"), Some("first")],
            "{got:?}"
        );
        let file_wide = format!("{sql}-- dbguard:allow-file drop-table reason: \"everywhere\"\n");
        let reasons: Vec<Option<String>> = suppressions(&file_wide)
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        // An earlier annotation still gives the reason; b is covered by the file-wide one.
        assert_eq!(
            reasons,
            [
                Some("above".to_string()),
                Some("everywhere".to_string()),
                Some("same line".to_string()),
                Some("first".to_string())
            ]
        );
    }

    #[test]
    fn excerpts_collapse_white_space_and_cut_long_statements() {
        assert_eq!(excerpt("DROP\n  TABLE\t t"), "DROP TABLE t");
        assert_eq!(excerpt(""), "");
        let exact = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long = format!("{exact} x");
        assert_eq!(excerpt(&long), format!("{exact}…"));
        let words = "ab ".repeat(100);
        assert_eq!(excerpt(&words).chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt(&words).starts_with("ab ab"));
    }

    #[test]
    fn many_annotated_statements_stay_linear() {
        let sql: String = (0..3_000)
            .map(|i| format!("-- dbguard:allow drop-table reason: \"r{i}\"\nDROP TABLE t{i};\n"))
            .collect();
        let report = check_text(&sql, "t.sql").remove(0);
        assert_eq!(report.findings.len(), 3_000);
        assert!(report
            .findings
            .iter()
            .enumerate()
            .all(|(i, f)| f.suppression_reason.as_deref() == Some(&*format!("r{i}"))));
    }
}

//! Inline overrides (`--` in SQL, `#` in Python): `-- dbguard:allow RULE[, RULE…] reason: "…"` on the line(s) just above a
//! statement or at its end, and `-- dbguard:allow-file RULE reason: "…"` anywhere in a file.
//! An override needs a reason: one without does not suppress and is reported itself.

use super::rules;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub file_wide: bool,
    /// Byte range of the comment holding the annotation.
    pub start: usize,
    pub end: usize,
}

impl Allow {
    /// Whether this annotation suppresses `rule` (it needs a reason to suppress anything).
    pub fn covers(&self, rule: &str) -> bool {
        self.reason.is_some() && self.rules.iter().any(|r| r == rule)
    }

    pub fn unknown_rules(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .map(String::as_str)
            .filter(|r| rules::find(r).is_none())
    }
}

/// Parses the annotation in a comment's text, if it has one.
pub fn parse(comment: &str, start: usize, end: usize) -> Option<Allow> {
    // The annotation must open the comment, so prose that mentions it is not one.
    let body = comment
        .trim_start_matches('#')
        .trim_start_matches("--")
        .trim_start_matches("/*")
        .trim_start();
    let rest = body.strip_prefix("dbguard:allow")?;
    let (file_wide, rest) = match rest.strip_prefix("-file") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_end_matches("*/");
    let (rule_part, reason_part) = match find_reason_keyword(rest) {
        Some(i) => (&rest[..i], Some(&rest[i + "reason".len()..])),
        None => (rest, None),
    };
    let rules = rule_part
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    let reason = reason_part.and_then(parse_reason);
    Some(Allow {
        rules,
        reason,
        file_wide,
        start,
        end,
    })
}

fn find_reason_keyword(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("reason") {
        let i = from + i;
        let after = lower[i + 6..].trim_start();
        if after.starts_with(':') || after.starts_with('=') {
            return Some(i);
        }
        from = i + 6;
    }
    None
}

/// `: "text"`, `= 'text'` or `: text to the end`; empty means no reason.
fn parse_reason(text: &str) -> Option<String> {
    let text = text.trim_start().trim_start_matches([':', '=']).trim();
    let reason = match text.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let inner = &text[1..];
            inner[..inner.rfind(q).unwrap_or(inner.len())].trim()
        }
        _ => text,
    };
    (!reason.is_empty()).then(|| reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(text: &str) -> Allow {
        parse(text, 0, text.len()).unwrap()
    }

    #[test]
    fn rules_and_quoted_reason() {
        let a =
            allow(r#"-- dbguard:allow drop-column, drop-table reason: "archived in ticket 42""#);
        assert_eq!(a.rules, ["drop-column", "drop-table"]);
        assert_eq!(a.reason.as_deref(), Some("archived in ticket 42"));
        assert!(!a.file_wide);
        assert!(a.covers("drop-table"));
    }

    #[test]
    fn file_wide_and_block_comments() {
        let a = allow("/* dbguard:allow-file truncate reason='test fixtures' */");
        assert!(a.file_wide);
        assert_eq!(a.reason.as_deref(), Some("test fixtures"));
    }

    #[test]
    fn missing_or_empty_reason_suppresses_nothing() {
        assert!(!allow("-- dbguard:allow drop-table").covers("drop-table"));
        assert!(!allow(r#"-- dbguard:allow drop-table reason: """#).covers("drop-table"));
    }

    #[test]
    fn unknown_rules_are_listed() {
        let a = allow(r#"-- dbguard:allow drop-tabel reason: "x""#);
        assert_eq!(a.unknown_rules().collect::<Vec<_>>(), ["drop-tabel"]);
    }

    #[test]
    fn other_words_are_not_annotations() {
        assert!(parse("-- dbguard:allowed", 0, 0).is_none());
        assert!(parse("-- nothing here", 0, 0).is_none());
        // Python comments (alembic revisions) carry annotations too.
        assert!(allow(r#"# dbguard:allow drop-table reason: "x""#).covers("drop-table"));
        assert!(parse("-- how dbguard:allow annotations work", 0, 0).is_none());
    }
}

//! The rule catalog. Every rule lives in its own file with its documentation (printed by
//! `dbguard explain RULE`), the operations it matches and its tests. Rule ids are a public
//! contract: never rename one.

use super::ops::Op;
use super::Severity;

pub mod allow_without_reason;
pub mod alter_column_type;
pub mod cascade_drop;
pub mod delete_with_where;
pub mod delete_without_where;
pub mod drop_column;
pub mod drop_comment;
pub mod drop_constraint;
pub mod drop_database;
pub mod drop_function;
pub mod drop_index;
pub mod drop_owned;
pub mod drop_role;
pub mod drop_schema;
pub mod drop_sequence;
pub mod drop_table;
pub mod drop_trigger;
pub mod drop_type;
pub mod drop_view;
pub mod dynamic_sql;
pub mod guarded_command;
pub mod include_not_found;
pub mod irreversible_downgrade;
pub mod merge_delete;
pub mod remove_volumes;
pub mod rename_column;
pub mod rename_table;
pub mod restore_overwrite;
pub mod set_not_null;
pub mod truncate;
pub mod unknown_allow_rule;
pub mod unparsed_statement;
pub mod unreadable_file;
pub mod update_with_where;
pub mod update_without_where;

/// A rule: how an operation becomes a finding.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// One line for `dbguard rules`.
    pub summary: &'static str,
    /// What to do about a finding, printed as `help:`.
    pub help: &'static str,
    /// Markdown: what it does, why it matters, an example, how to make it safe.
    pub docs: &'static str,
    /// The finding's message when the rule matches the operation.
    pub check: fn(&Op) -> Option<String>,
}

/// For rules that are reported by the file-level analysis (annotations, unreadable input)
/// rather than from operations.
fn no_operation(_: &Op) -> Option<String> {
    None
}

/// Every rule, in the order `dbguard rules` lists them (most severe first).
pub const ALL: &[&Rule] = &[
    &drop_database::RULE,
    &drop_schema::RULE,
    &drop_table::RULE,
    &drop_column::RULE,
    &truncate::RULE,
    &delete_without_where::RULE,
    &update_without_where::RULE,
    &drop_owned::RULE,
    &cascade_drop::RULE,
    &restore_overwrite::RULE,
    &remove_volumes::RULE,
    &guarded_command::RULE,
    &delete_with_where::RULE,
    &alter_column_type::RULE,
    &set_not_null::RULE,
    &merge_delete::RULE,
    &dynamic_sql::RULE,
    &unparsed_statement::RULE,
    &drop_view::RULE,
    &drop_constraint::RULE,
    &drop_sequence::RULE,
    &drop_function::RULE,
    &drop_trigger::RULE,
    &drop_type::RULE,
    &drop_role::RULE,
    &rename_table::RULE,
    &rename_column::RULE,
    &irreversible_downgrade::RULE,
    &allow_without_reason::RULE,
    &unknown_allow_rule::RULE,
    &unreadable_file::RULE,
    &include_not_found::RULE,
    &update_with_where::RULE,
    &drop_index::RULE,
    &drop_comment::RULE,
];

pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|rule| rule.id == id)
}

/// The rule and message for an operation. Every operation matches exactly one rule.
pub fn classify(op: &Op) -> Option<(&'static Rule, String)> {
    ALL.iter()
        .find_map(|rule| (rule.check)(op).map(|message| (*rule, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = ALL.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
        assert!(ids
            .iter()
            .all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
    }

    #[test]
    fn every_rule_is_documented() {
        for rule in ALL {
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## How to make it safe",
            ] {
                assert!(rule.docs.contains(section), "{} lacks {section}", rule.id);
            }
        }
    }
}

//! The policy for one statement a client sends through `dbguard proxy` or `dbguard psql`.
//!
//! It is `decide` (the policy of `dbguard run`) read for a session instead of a command: a
//! statement that destroys data is protected first (a pre-image snapshot, the "--backup" of a
//! session) or refused, and confirmed when a person is at the terminal; a statement dbguard
//! cannot read is treated as destructive (fail closed); risky statements are confirmed on a
//! terminal, as `run` confirms them, and otherwise pass: a client's session changes data as
//! its normal work, and the proxy exists to stop data loss.

use super::Confirm;
use crate::analysis::Severity;

/// `[proxy] destructive`: what the proxy does with a statement that destroys data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Destructive {
    /// Take a pre-image of what is at stake, audit, then forward.
    #[default]
    Snapshot,
    /// Refuse it (an allow annotation with a reason lets one through).
    Block,
}

impl Destructive {
    pub fn as_str(self) -> &'static str {
        match self {
            Destructive::Snapshot => "snapshot",
            Destructive::Block => "block",
        }
    }
}

/// What the decision about one statement depends on.
pub struct StatementFacts<'a> {
    /// The worst unsuppressed finding after weighing.
    pub severity: Option<Severity>,
    /// Why dbguard cannot tell what the statement does (unparsed, dynamic SQL).
    pub uncertain: Option<&'a str>,
    pub database: &'a str,
    pub mode: Destructive,
    /// A person is at the terminal to answer (`dbguard psql`).
    pub interactive: bool,
    /// Risky findings whose old values are still saved for `dbguard undo` (an UPDATE below
    /// `[guard] bulk_rows`): [`super::snapshot_risky`], as `run` decides it.
    pub snapshot_risky: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementDecision {
    /// Forward at once.
    Forward,
    /// Ask, then forward (risky statements on a terminal).
    Ask(Confirm),
    /// Ask when `confirm` says so, take the protection, then forward.
    Protect { confirm: Confirm },
    /// Answer with an error instead of forwarding: why, and how to proceed.
    Refuse { why: String, fix: Vec<String> },
}

pub fn decide_statement(facts: &StatementFacts) -> StatementDecision {
    let destroys = facts.severity == Some(Severity::DataLoss) || facts.uncertain.is_some();
    if !destroys {
        let risky = facts.severity == Some(Severity::Risky);
        let confirm = if risky && facts.interactive {
            Confirm::YesNo
        } else {
            Confirm::None
        };
        // Like `run`: a small UPDATE needs only a yes/no, but its old values are kept.
        if risky && facts.snapshot_risky && facts.mode == Destructive::Snapshot {
            return StatementDecision::Protect { confirm };
        }
        return match confirm {
            Confirm::None => StatementDecision::Forward,
            confirm => StatementDecision::Ask(confirm),
        };
    }
    match facts.mode {
        Destructive::Block => StatementDecision::Refuse {
            why: match facts.uncertain {
                Some(u) if facts.severity != Some(Severity::DataLoss) => format!(
                    "dbguard cannot tell what it does ({u}), and the proxy blocks what may destroy data"
                ),
                _ => "the proxy blocks statements that destroy data ([proxy] destructive = \"block\")"
                    .into(),
            },
            fix: vec![
                "add /* dbguard:allow RULE reason: \"why this is fine\" */ to the statement".into(),
                "or run it guarded: dbguard run --backup -- psql -c '…'".into(),
            ],
        },
        Destructive::Snapshot => StatementDecision::Protect {
            confirm: if facts.interactive {
                Confirm::TypeName(facts.database.to_string())
            } else {
                Confirm::None
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        severity: Option<Severity>,
        mode: Destructive,
        interactive: bool,
    ) -> StatementFacts<'static> {
        StatementFacts {
            severity,
            uncertain: None,
            database: "app_dev",
            mode,
            interactive,
            snapshot_risky: false,
        }
    }

    #[test]
    fn small_updates_keep_their_old_values_in_snapshot_mode() {
        let mut f = facts(Some(Severity::Risky), Destructive::Snapshot, false);
        f.snapshot_risky = true;
        assert_eq!(
            decide_statement(&f),
            StatementDecision::Protect {
                confirm: Confirm::None
            }
        );
        f.interactive = true;
        assert_eq!(
            decide_statement(&f),
            StatementDecision::Protect {
                confirm: Confirm::YesNo
            }
        );
        f.mode = Destructive::Block;
        assert_eq!(decide_statement(&f), StatementDecision::Ask(Confirm::YesNo));
    }

    #[test]
    fn safe_and_risky_statements_pass_without_a_terminal() {
        for s in [None, Some(Severity::Info), Some(Severity::Risky)] {
            assert_eq!(
                decide_statement(&facts(s, Destructive::Block, false)),
                StatementDecision::Forward
            );
        }
        assert_eq!(
            decide_statement(&facts(Some(Severity::Risky), Destructive::Snapshot, true)),
            StatementDecision::Ask(Confirm::YesNo)
        );
    }

    #[test]
    fn data_loss_is_protected_or_refused() {
        assert_eq!(
            decide_statement(&facts(
                Some(Severity::DataLoss),
                Destructive::Snapshot,
                false
            )),
            StatementDecision::Protect {
                confirm: Confirm::None
            }
        );
        assert_eq!(
            decide_statement(&facts(
                Some(Severity::DataLoss),
                Destructive::Snapshot,
                true
            )),
            StatementDecision::Protect {
                confirm: Confirm::TypeName("app_dev".into())
            }
        );
        assert!(matches!(
            decide_statement(&facts(Some(Severity::DataLoss), Destructive::Block, true)),
            StatementDecision::Refuse { .. }
        ));
    }

    #[test]
    fn what_dbguard_cannot_read_counts_as_destructive() {
        let mut f = facts(Some(Severity::Risky), Destructive::Block, false);
        f.uncertain = Some("the SQL parser rejected it");
        match decide_statement(&f) {
            StatementDecision::Refuse { why, .. } => assert!(why.contains("cannot tell")),
            other => panic!("{other:?}"),
        }
    }
}

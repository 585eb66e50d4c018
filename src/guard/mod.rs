//! The guard's policy — the only place it lives. Given a plan's verdict, the state of the
//! backups and how dbguard was invoked, decide: run at once, take a backup, ask, or refuse.

pub mod confirm;
pub mod impact;
pub mod settings;
pub mod statement;
pub mod weigh;

use chrono::Utc;

use crate::analysis::Severity;
use crate::backup::catalog::{self, Backup};
use crate::backup::Settings;
use crate::target::Target;

/// How `dbguard run` was invoked.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    /// `--yes`: the user already confirmed.
    pub yes: bool,
    /// `--backup` (or `[guard] auto_backup`): take a missing backup instead of refusing.
    pub backup: bool,
    /// A person is there to answer (stdin and stderr are terminals).
    pub interactive: bool,
    /// `--backup` itself (not `[guard] auto_backup`): a full backup even where a snapshot
    /// would do.
    pub backup_forced: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupStep {
    /// A fresh verified backup exists (or none is needed).
    None,
    /// Take one before running.
    Take,
    /// Ask whether to take one (on a terminal); refusing then refuses the command.
    Offer,
    /// Save a pre-image snapshot of exactly the objects at stake right before running
    /// (`undo::protect`); no full backup is needed.
    Snapshot,
}

/// What protects a destructive command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cover {
    /// A pre-image snapshot of the objects at stake (they are known, and `[guard]
    /// protection = "snapshot"`).
    Snapshot,
    /// A verified full backup, fresh or taken.
    FullBackup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    None,
    /// Risky only: a plain yes/no.
    YesNo,
    /// Data loss: type the database name.
    TypeName(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing risky: run at once, no prompt.
    Run,
    /// Run after these steps.
    Proceed {
        backup: BackupStep,
        confirm: Confirm,
    },
    /// Do not run (exit 3): why, and the commands that make it safe.
    Refuse { why: String, fix: Vec<String> },
}

/// What the decision depends on.
pub struct Facts<'a> {
    pub severity: Option<Severity>,
    /// A reason the command must never run (no flag overrides it).
    pub blocked: Option<String>,
    /// The database at stake (for the prompt and the refusal).
    pub database: String,
    pub fresh_backup: Option<&'a Backup>,
    pub max_age: &'a str,
    /// How to take the backup by hand (`dbguard backup …`).
    pub backup_command: String,
    /// How to rerun this command with dbguard taking the backup.
    pub rerun_with_backup: String,
    pub rerun_with_yes: String,
    /// How data loss is protected (`guard::cover`).
    pub cover: Cover,
    /// Risky findings whose rows are still saved first (an UPDATE below `bulk_rows`), so
    /// they can be undone.
    pub snapshot_risky: bool,
}

/// How a plan's data loss is protected: a snapshot when it can hold everything at stake
/// (and `--backup` does not ask for a full backup), a full backup otherwise.
pub fn cover(
    settings: &settings::GuardSettings,
    plan: &crate::analysis::command::Plan,
    flags: Flags,
) -> Cover {
    if flags.backup_forced {
        return Cover::FullBackup;
    }
    match crate::undo::snapshot_covers(settings, plan) {
        Ok(()) => Cover::Snapshot,
        Err(_) => Cover::FullBackup,
    }
}

/// Whether risky findings of the plan still get a snapshot (UPDATEs with rows below
/// `bulk_rows`: a yes/no is enough, but their old values are kept for `undo`).
pub fn snapshot_risky(
    settings: &settings::GuardSettings,
    plan: &crate::analysis::command::Plan,
) -> bool {
    plan.findings().any(|f| {
        f.severity == Severity::Risky
            && f.rule.starts_with("update-")
            && f.rows.is_some_and(|n| n > 0)
    }) && crate::undo::snapshot_covers(settings, plan).is_ok()
}

pub fn decide(facts: &Facts, flags: Flags) -> Decision {
    if let Some(why) = &facts.blocked {
        return Decision::Refuse {
            why: why.clone(),
            fix: vec!["dbguard verify-test-db   (shows each check and how to fix it)".into()],
        };
    }
    let severity = match facts.severity {
        None | Some(Severity::Info) => return Decision::Run,
        Some(s) => s,
    };
    if severity == Severity::Risky {
        let backup = if facts.snapshot_risky && facts.cover == Cover::Snapshot {
            BackupStep::Snapshot
        } else {
            BackupStep::None
        };
        return if flags.yes {
            Decision::Proceed {
                backup,
                confirm: Confirm::None,
            }
        } else if flags.interactive {
            Decision::Proceed {
                backup,
                confirm: Confirm::YesNo,
            }
        } else {
            Decision::Refuse {
                why: "the command may change or break data, and there is no terminal to confirm it"
                    .into(),
                fix: vec![facts.rerun_with_yes.clone()],
            }
        };
    }
    let backup = if facts.cover == Cover::Snapshot {
        BackupStep::Snapshot
    } else if facts.fresh_backup.is_some() {
        BackupStep::None
    } else if flags.backup {
        BackupStep::Take
    } else if flags.interactive {
        BackupStep::Offer
    } else {
        return Decision::Refuse {
            why: format!(
                "no verified backup of {} newer than {} exists",
                facts.database, facts.max_age
            ),
            fix: vec![
                format!("{} && {}", facts.backup_command, facts.rerun_with_yes),
                facts.rerun_with_backup.clone(),
            ],
        };
    };
    let confirm = if flags.yes {
        Confirm::None
    } else if flags.interactive {
        Confirm::TypeName(facts.database.clone())
    } else {
        return Decision::Refuse {
            why: format!(
                "the command destroys data in {}, and there is no terminal to confirm it",
                facts.database
            ),
            fix: vec![facts.rerun_with_yes.clone()],
        };
    };
    Decision::Proceed { backup, confirm }
}

/// The newest verified backup of exactly this database (same cluster, same name) taken within
/// `max_age`. The cluster is compared by `system_identifier` when both sides know it, else by
/// host and port.
pub fn fresh_backup(
    settings: &Settings,
    target: &Target,
    cluster_id: Option<&str>,
) -> Option<Backup> {
    let database = target.effective_dbname();
    let oldest =
        Utc::now() - chrono::Duration::from_std(settings.max_age).unwrap_or(chrono::Duration::MAX);
    catalog::list_dir(&settings.database_dir(&database))
        .into_iter()
        .find(|b| {
            let m = &b.metadata;
            let same_cluster = match (cluster_id, m.cluster_id.as_deref()) {
                (Some(live), Some(recorded)) => live == recorded,
                _ => {
                    same_host(&m.host, &target.effective_host())
                        && m.port == target.effective_port()
                }
            };
            m.verified && m.database == database && same_cluster && m.finished_at >= oldest
        })
}

/// Host names that mean "this machine" are the same host.
fn same_host(a: &str, b: &str) -> bool {
    let local = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "::1" | "") || h.starts_with('/');
    a == b || (local(a) && local(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(severity: Option<Severity>) -> Facts<'static> {
        Facts {
            severity,
            blocked: None,
            database: "app_dev".into(),
            fresh_backup: None,
            max_age: "24h",
            backup_command: "dbguard backup".into(),
            rerun_with_backup: "dbguard run --backup -- x".into(),
            rerun_with_yes: "dbguard run --yes -- x".into(),
            cover: Cover::FullBackup,
            snapshot_risky: false,
        }
    }

    const TTY: Flags = Flags {
        yes: false,
        backup: false,
        interactive: true,
        backup_forced: false,
    };
    const CI: Flags = Flags {
        yes: false,
        backup: false,
        interactive: false,
        backup_forced: false,
    };

    #[test]
    fn safe_and_info_plans_run_at_once() {
        assert_eq!(decide(&facts(None), CI), Decision::Run);
        assert_eq!(decide(&facts(Some(Severity::Info)), CI), Decision::Run);
    }

    #[test]
    fn risky_plans_ask_yes_no_or_need_yes() {
        let f = facts(Some(Severity::Risky));
        assert_eq!(
            decide(&f, TTY),
            Decision::Proceed {
                backup: BackupStep::None,
                confirm: Confirm::YesNo
            }
        );
        assert!(matches!(decide(&f, CI), Decision::Refuse { .. }));
        assert_eq!(
            decide(&f, Flags { yes: true, ..CI }),
            Decision::Proceed {
                backup: BackupStep::None,
                confirm: Confirm::None
            }
        );
    }

    #[test]
    fn data_loss_without_backup_refuses_without_a_terminal() {
        let f = facts(Some(Severity::DataLoss));
        match decide(&f, CI) {
            Decision::Refuse { why, fix } => {
                assert!(why.contains("no verified backup of app_dev newer than 24h"));
                assert_eq!(
                    fix,
                    [
                        "dbguard backup && dbguard run --yes -- x",
                        "dbguard run --backup -- x"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        // --backup alone still needs the confirmation a terminal or --yes gives.
        assert!(matches!(
            decide(&f, Flags { backup: true, ..CI }),
            Decision::Refuse { .. }
        ));
        assert_eq!(
            decide(
                &f,
                Flags {
                    backup: true,
                    yes: true,
                    interactive: false,
                    backup_forced: false,
                }
            ),
            Decision::Proceed {
                backup: BackupStep::Take,
                confirm: Confirm::None
            }
        );
        assert_eq!(
            decide(&f, TTY),
            Decision::Proceed {
                backup: BackupStep::Offer,
                confirm: Confirm::TypeName("app_dev".into())
            }
        );
    }

    #[test]
    fn a_snapshot_protects_data_loss_without_a_fresh_backup() {
        let mut f = facts(Some(Severity::DataLoss));
        f.cover = Cover::Snapshot;
        let yes = Flags { yes: true, ..CI };
        assert_eq!(
            decide(&f, yes),
            Decision::Proceed {
                backup: BackupStep::Snapshot,
                confirm: Confirm::None
            }
        );
        assert_eq!(
            decide(&f, TTY),
            Decision::Proceed {
                backup: BackupStep::Snapshot,
                confirm: Confirm::TypeName("app_dev".into())
            }
        );
        // Still a confirmation: without a terminal or --yes, refused.
        assert!(matches!(decide(&f, CI), Decision::Refuse { .. }));
    }

    #[test]
    fn risky_updates_with_rows_are_still_snapshotted() {
        let mut f = facts(Some(Severity::Risky));
        f.cover = Cover::Snapshot;
        f.snapshot_risky = true;
        assert_eq!(
            decide(&f, TTY),
            Decision::Proceed {
                backup: BackupStep::Snapshot,
                confirm: Confirm::YesNo
            }
        );
        f.snapshot_risky = false;
        assert_eq!(
            decide(&f, Flags { yes: true, ..CI }),
            Decision::Proceed {
                backup: BackupStep::None,
                confirm: Confirm::None
            }
        );
    }

    #[test]
    fn blocked_commands_are_refused_whatever_the_flags() {
        let mut f = facts(None);
        f.blocked = Some("tests point at the dev database".into());
        assert!(matches!(
            decide(
                &f,
                Flags {
                    yes: true,
                    backup: true,
                    interactive: true,
                    backup_forced: false,
                }
            ),
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn hosts_meaning_this_machine_match() {
        assert!(same_host("localhost", "127.0.0.1"));
        assert!(same_host("/var/run/postgresql", "localhost"));
        assert!(!same_host("db.internal", "localhost"));
    }
}

//! One statement through the guard, as `dbguard run` takes a command through it: analyse →
//! weigh → decide (guard::statement) → confirm → protect → audit. The outcome is to forward
//! it, or the ErrorResponse the client gets instead.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use super::confirm;
use super::precheck::plainly_safe;
use super::protect;
use super::wire::{self, ErrorFields};
use super::Shared;
use crate::analysis::command::{Plan, Tool};
use crate::analysis::sql::lexer::{Kind, Lexer};
use crate::analysis::{check, Finding, Severity};
use crate::audit::{self, BackupUsed, Entry, FindingsSummary};
use crate::guard::statement::{decide_statement, StatementDecision, StatementFacts};
use crate::guard::{weigh, Confirm};
use crate::target::{mask_secrets, Target};
use crate::undo::{Protection, ProtectionKind};

/// Rules whose findings mean dbguard cannot tell what a statement does.
const UNCERTAIN_RULES: &[&str] = &["unparsed-statement", "dynamic-sql"];
/// Statement texts known to have no findings, kept per session (ORMs repeat their queries).
const SAFE_CACHE: usize = 256;
const SAFE_CACHE_TEXT: usize = 1024;
/// Findings listed in an error message (it must fit on one screen).
const SHOWN_FINDINGS: usize = 6;

pub enum Outcome {
    Forward,
    /// Answer with this ErrorResponse instead.
    Refuse(Vec<u8>),
}

/// The session's state that changes how a statement is read or weighed.
#[derive(Clone, Copy, Default)]
pub struct Situation {
    /// The server reported `standard_conforming_strings = off`.
    pub backslash_strings: bool,
    /// Bound parameters that could not be read (binary, unknown type): do not weigh.
    pub unreadable_params: bool,
}

/// The guard of one client session.
pub struct Guard {
    shared: Arc<Shared>,
    /// The session's database and user, at the proxy's target server.
    target: Target,
    weigher: Option<postgres::Client>,
    /// Why the findings' names cannot be weighed any more in this session.
    unweighable: Option<String>,
    safe: HashSet<Box<str>>,
    /// A snapshot of an UPDATE just forwarded: what it wrote is recorded once it has run.
    after: Option<Protection>,
}

impl Guard {
    pub fn new(shared: Arc<Shared>, target: Target) -> Guard {
        Guard {
            shared,
            target,
            weigher: None,
            unweighable: None,
            safe: HashSet::new(),
            after: None,
        }
    }

    /// The session resolves names differently from a plain connection of its user (startup
    /// `options` setting search_path or role): never weigh by name.
    pub fn names_differ(&mut self, why: &str) {
        self.unweighable = Some(why.to_string());
    }

    /// The protection of the statement just forwarded, when what it wrote must be recorded
    /// after it ran (an UPDATE's snapshot), with what recording needs.
    pub fn take_after(&mut self) -> Option<After> {
        let protection = self.after.take()?;
        Some(After {
            shared: self.shared.clone(),
            target: self.target.clone(),
            protection,
        })
    }

    /// Whether `text` (a whole Query or a Parse) needs the full analysis at all.
    pub fn is_plainly_safe(&self, text: &str, situation: Situation) -> bool {
        plainly_safe(text, situation.backslash_strings) || self.safe.contains(text)
    }

    /// Analysis only (no database): the findings that could matter, for Parse.
    pub fn needs_guarding(&mut self, text: &str, situation: Situation) -> bool {
        if self.is_plainly_safe(text, situation) {
            return false;
        }
        let analysed = self.analyse(text, situation);
        let matters = analysed.plan.severity() > Some(Severity::Info)
            || !analysed.allowed.is_empty()
            || weigh::needed(&analysed.plan);
        if !matters {
            self.remember_safe(text);
        }
        matters
    }

    pub fn statement(&mut self, text: &str, situation: Situation) -> Outcome {
        if self.is_plainly_safe(text, situation) {
            return Outcome::Forward;
        }
        let started = Instant::now();
        let Analysed {
            mut plan,
            allowed,
            uncertain,
        } = self.analyse(text, situation);
        let weighed = weigh::needed(&plan);
        if plan.severity() <= Some(Severity::Info) && allowed.is_empty() && !weighed {
            self.remember_safe(text);
            return Outcome::Forward;
        }
        if plan.severity() == Some(Severity::DataLoss) || weighed {
            self.weigh(&mut plan, situation);
        }
        let database = self.target.effective_dbname();
        let facts = StatementFacts {
            severity: plan.severity(),
            uncertain: uncertain.as_deref(),
            database: &database,
            mode: self.shared.mode,
            interactive: self.shared.interactive,
            snapshot_risky: weighed
                && crate::guard::snapshot_risky(&self.shared.protect.guard, &plan),
        };
        let shown = excerpt(text);
        let record = |decision: &str, reason: Option<String>, backup: Option<BackupUsed>| {
            self.audit(&plan, &shown, decision, reason, backup, started);
        };
        match decide_statement(&facts) {
            StatementDecision::Forward => {
                if !allowed.is_empty() {
                    let reasons: Vec<String> = allowed
                        .iter()
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f.rule,
                                f.suppression_reason.as_deref().unwrap_or_default()
                            )
                        })
                        .collect();
                    record("allowed", Some(reasons.join("; ")), None);
                }
                Outcome::Forward
            }
            StatementDecision::Ask(confirm) => {
                if confirm::ask(&confirm, &self.prompt_text(&plan, &shown)) {
                    Outcome::Forward
                } else {
                    record("cancelled", Some("not confirmed".into()), None);
                    Outcome::Refuse(declined(&shown))
                }
            }
            StatementDecision::Protect { confirm } => {
                if confirm != Confirm::None
                    && !confirm::ask(&confirm, &self.prompt_text(&plan, &shown))
                {
                    record("cancelled", Some("not confirmed".into()), None);
                    return Outcome::Refuse(declined(&shown));
                }
                match protect::protect(&self.shared, &self.target, &plan, &shown) {
                    Ok(protection) => {
                        let mut summary = format!("saved {}", protection.summary());
                        if let Some(id) = &protection.id {
                            summary.push_str(&format!("; `dbguard undo {id}` puts it back"));
                        }
                        if self.shared.interactive {
                            confirm::tell(&format!("dbguard: {summary}"));
                        }
                        for note in &protection.notes {
                            eprintln!("dbguard: warning: {note}");
                        }
                        let used = BackupUsed::from_protection(&protection, "taken");
                        let decision = match protection.kind {
                            ProtectionKind::Snapshot => "snapshotted",
                            ProtectionKind::Backup => "backed-up",
                        };
                        record(decision, Some(summary), Some(used));
                        self.after = Some(protection);
                        Outcome::Forward
                    }
                    Err(e) => {
                        let why = format!("the protection before it failed: {}", mask_secrets(&e));
                        record("failed", Some(why.clone()), None);
                        Outcome::Refuse(refusal(
                            &plan,
                            &shown,
                            &database,
                            &why,
                            &["fix the cause above, or run it guarded: dbguard run --backup -- psql -c '…'".into()],
                        ))
                    }
                }
            }
            StatementDecision::Refuse { why, fix } => {
                record("refused", Some(why.clone()), None);
                Outcome::Refuse(refusal(&plan, &shown, &database, &why, &fix))
            }
        }
    }

    fn remember_safe(&mut self, text: &str) {
        if text.len() <= SAFE_CACHE_TEXT {
            if self.safe.len() >= SAFE_CACHE {
                self.safe.clear();
            }
            self.safe.insert(text.into());
        }
    }

    fn analyse(&mut self, text: &str, situation: Situation) -> Analysed {
        // The lexer follows `SET standard_conforming_strings` in the text it reads: tell it how
        // the session reads backslashes now.
        let owned;
        let source = if situation.backslash_strings {
            owned = format!("SET standard_conforming_strings = off;\n{text}");
            &owned
        } else {
            text
        };
        let report = check::check_server_sql(source, "<statement>");
        if self.unweighable.is_none() && changes_name_resolution(text) {
            self.unweighable = Some(
                "the session changed search_path or its role, so names may mean other tables"
                    .into(),
            );
        }
        let mut plan = Plan::new(&[], Tool::Psql, "a statement through dbguard proxy");
        plan.reports.push(report);
        // A renamed table makes later names mean other data than the weighing connection
        // sees (`ALTER TABLE a RENAME TO b` then, in the same transaction, `DROP TABLE b`).
        if self.unweighable.is_none()
            && plan
                .findings()
                .any(|f| f.rule == "rename-table" || f.rule == "rename-column")
        {
            self.unweighable = Some("the session renamed tables or columns".into());
        }
        let allowed: Vec<Finding> = plan
            .reports
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| {
                f.suppressed && f.suppression_reason.is_some() && f.severity > Severity::Info
            })
            .cloned()
            .collect();
        let uncertain = plan
            .findings()
            .find(|f| UNCERTAIN_RULES.contains(&f.rule))
            .map(|f| f.message.clone());
        if situation.unreadable_params {
            plan.notes
                .push("its bound parameters could not be read, so it was not weighed".into());
        }
        Analysed {
            plan,
            allowed,
            uncertain,
        }
    }

    /// Asks the database whether data is at stake, where the answer can be trusted.
    fn weigh(&mut self, plan: &mut Plan, situation: Situation) {
        let why_not = if situation.unreadable_params {
            Some("its bound parameters could not be read".to_string())
        } else {
            self.unweighable.clone()
        };
        if let Some(why) = why_not {
            plan.notes.push(format!("data at stake not checked: {why}"));
            weigh::guard_severities(plan, Some(&why));
            return;
        }
        if !weigh::needed(plan) {
            return;
        }
        if self.weigher.as_mut().is_some_and(|c| c.is_closed()) {
            self.weigher = None;
        }
        if self.weigher.is_none() {
            match self.target.connect() {
                Ok(client) => self.weigher = Some(client),
                Err(e) => {
                    plan.notes.push(format!(
                        "could not ask the database what is at stake: {}",
                        e.message
                    ));
                    weigh::guard_severities(plan, Some("the database could not be asked"));
                    return;
                }
            }
        }
        if let Some(client) = self.weigher.as_mut() {
            if let Some(note) = weigh::weigh(plan, client, &self.shared.protect.guard) {
                plan.notes.push(note);
            }
        }
    }

    fn prompt_text(&self, plan: &Plan, shown: &str) -> String {
        let mut text = format!("\ndbguard: `{shown}`\n");
        text.push_str(&format!("  target: {}\n", self.target.masked_url()));
        for line in finding_lines(plan) {
            text.push_str(&format!("  {line}\n"));
        }
        for note in &plan.notes {
            text.push_str(&format!("  note: {note}\n"));
        }
        text
    }

    fn audit(
        &self,
        plan: &Plan,
        shown: &str,
        decision: &str,
        reason: Option<String>,
        backup: Option<BackupUsed>,
        started: Instant,
    ) {
        let entry = Entry {
            time: chrono::Utc::now(),
            user: audit::current_user(),
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            command: shown.to_string(),
            tool: self.shared.tool.to_string(),
            target: Some(self.target.masked_url()),
            findings: FindingsSummary::of(plan.reports.iter().flat_map(|r| &r.findings)),
            decision: decision.into(),
            reason: reason.map(|r| mask_secrets(&r)),
            backup,
            exit_code: None,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        if let Err(e) = audit::append(&self.shared.audit_path, &entry) {
            eprintln!(
                "dbguard: warning: cannot write the audit log {}: {e}",
                self.shared.audit_path.display()
            );
        }
    }
}

/// An UPDATE's snapshot waiting for the UPDATE to have run.
pub struct After {
    shared: Arc<Shared>,
    target: Target,
    protection: Protection,
}

impl After {
    /// Records what the statement wrote (on a thread of its own: it queries the database).
    pub fn record(self) {
        let _ = std::thread::Builder::new()
            .name("dbguard-proxy-after".into())
            .spawn(move || protect::record_after(&self.shared, &self.target, &self.protection));
    }
}

struct Analysed {
    plan: Plan,
    allowed: Vec<Finding>,
    uncertain: Option<String>,
}

/// `SET search_path`, `set_config('search_path', …)`, `SET ROLE`, `SET SESSION
/// AUTHORIZATION`: later names may resolve to other tables than the weighing connection sees.
fn changes_name_resolution(text: &str) -> bool {
    let lower = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    [
        "search_path",
        "set role",
        "set session",
        "set local",
        "reset",
        "discard",
    ]
    .iter()
    .any(|k| lower.contains(k))
}

fn finding_lines(plan: &Plan) -> Vec<String> {
    let findings: Vec<&Finding> = plan
        .findings()
        .filter(|f| f.severity > Severity::Info)
        .collect();
    let mut lines: Vec<String> = findings
        .iter()
        .take(SHOWN_FINDINGS)
        .map(|f| format!("{}[{}] {}", f.severity, f.rule, f.message))
        .collect();
    if findings.len() > SHOWN_FINDINGS {
        lines.push(format!("… and {} more", findings.len() - SHOWN_FINDINGS));
    }
    lines
}

/// The ErrorResponse for a refused statement: what it would destroy, why, how to proceed.
fn refusal(plan: &Plan, shown: &str, database: &str, why: &str, fix: &[String]) -> Vec<u8> {
    let destroys = plan.severity() == Some(Severity::DataLoss);
    let message = format!(
        "dbguard refused `{shown}`: {}",
        if destroys {
            format!("it would destroy data in {database}")
        } else {
            "dbguard cannot tell what it does".to_string()
        }
    );
    let mut detail = finding_lines(plan);
    detail.extend(plan.notes.iter().map(|n| format!("note: {n}")));
    detail.push(format!("why: {why}"));
    let rules: Vec<&str> = plan
        .findings()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| f.rule)
        .collect();
    let mut hint: Vec<String> = fix.to_vec();
    if let Some(rule) = rules.first() {
        for line in &mut hint {
            *line = line.replace("RULE", rule);
        }
    }
    wire::error_response(&ErrorFields {
        severity: "ERROR",
        code: wire::SQLSTATE_REFUSED,
        message: &message,
        detail: Some(&detail.join("\n")),
        hint: Some(&hint.join("\n")),
    })
}

fn declined(shown: &str) -> Vec<u8> {
    wire::error_response(&ErrorFields {
        severity: "ERROR",
        code: wire::SQLSTATE_DECLINED,
        message: &format!("dbguard: `{shown}` was not run: not confirmed"),
        detail: None,
        hint: Some("nothing was changed; the session goes on"),
    })
}

/// The statement for messages and the audit log: white space collapsed, cut short, secrets
/// (`PASSWORD '…'`, URLs with passwords) masked.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    let masked = mask_sql(text);
    let mut out = String::new();
    for word in masked.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > MAX {
            let cut: String = out.chars().take(MAX).collect();
            return format!("{cut}…");
        }
    }
    out.trim_end_matches(';').to_string()
}

/// `… PASSWORD 'secret'` → `… PASSWORD '***'`, then the usual masking.
fn mask_sql(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut after_password = false;
    for token in Lexer::new(text, false) {
        match token.kind {
            Kind::Comment => continue,
            Kind::String | Kind::DollarString if after_password => {
                out.push_str(&text[copied..token.start]);
                out.push_str("'***'");
                copied = token.end;
            }
            _ => {}
        }
        after_password = token.is_word(text, "PASSWORD");
    }
    out.push_str(&text[copied..]);
    mask_secrets(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_mask_passwords_and_stay_short() {
        assert_eq!(
            excerpt("ALTER ROLE bob PASSWORD 'hunter2';"),
            "ALTER ROLE bob PASSWORD '***'"
        );
        assert_eq!(excerpt("DELETE\n  FROM   users;"), "DELETE FROM users");
        let long = format!("SELECT {}", "x, ".repeat(100));
        assert!(excerpt(&long).ends_with('…'));
        assert!(excerpt("SELECT dblink_exec('postgresql://u:pw@h/db', 'x')").contains("u:***@"));
    }

    #[test]
    fn name_resolution_changes_are_noticed() {
        assert!(changes_name_resolution("SET search_path = other"));
        assert!(changes_name_resolution(
            "select set_config('search_path', 'x', false)"
        ));
        assert!(changes_name_resolution("SET ROLE admin"));
        assert!(!changes_name_resolution("DELETE FROM user_roles"));
    }
}

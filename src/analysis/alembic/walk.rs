//! Which revisions an alembic command runs, and in which order: a port of alembic's own
//! resolver (`RevisionMap._parse_upgrade_target`, `_parse_downgrade_target`, `_walk`,
//! `_collect_upgrade_revisions`, `_collect_downgrade_revisions` and `_topological_sort`),
//! because "roughly what alembic does" is not good enough to promise what a command will
//! drop. The tests in tests/alembic_resolver.rs compare it with real alembic runs.
//!
//! Errors carry alembic's own messages (e.g. "Ambiguous walk" for `downgrade -1` from a merge
//! point), so a user sees the same failure dbguard predicted.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::graph::Graph;

/// Whether a step runs a revision's `upgrade()` or its `downgrade()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upgrade,
    Downgrade,
}

impl Direction {
    pub fn function(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

/// One migration alembic will run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub rev: usize,
    pub direction: Direction,
}

impl Step {
    /// `(from, to)` as alembic logs the step (`Running upgrade a -> c`): through
    /// `down_revision` only, never `depends_on`.
    pub fn ends(&self, graph: &Graph) -> (Vec<String>, Vec<String>) {
        let node = &graph.nodes[self.rev];
        let parents: Vec<String> = node.down.iter().map(|p| graph.id(*p).to_string()).collect();
        let this = vec![graph.id(self.rev).to_string()];
        match self.direction {
            Direction::Upgrade => (parents, this),
            Direction::Downgrade => (this, parents),
        }
    }
}

/// A position while walking: alembic's `None`, its `"base"` sentinel, or a revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Nothing,
    Base,
    Rev(usize),
}

/// A failure in alembic's terms; turned into alembic's message by the command.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// Unknown revision or branch (alembic's `ResolutionError`), with the argument.
    Resolution(String),
    /// `head` where there are several (alembic's `MultipleHeads`).
    MultipleHeads(String),
    /// The target is not reachable from the current heads (`RangeNotAncestorError`).
    NotAncestor,
    /// Any other `RevisionError`, with alembic's message.
    Revision(String),
}

type Walk<T> = Result<T, Failure>;

fn relative_pattern() -> &'static regex::Regex {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    PATTERN.get_or_init(|| regex::Regex::new(r"^(?:(.+?)@)?(\w+)?((?:\+|-)\d+)").unwrap())
}

/// The steps `alembic upgrade TARGET` runs from `current` (the rows of alembic_version).
pub fn upgrade(graph: &Graph, current: &[String], target: &str) -> Result<Vec<Step>, String> {
    let r = Resolver { graph };
    r.collect_upgrade(target, current)
        .map(|revs| {
            revs.into_iter()
                .map(|rev| Step {
                    rev,
                    direction: Direction::Upgrade,
                })
                .collect()
        })
        .map_err(|f| r.message(f, target, "upgrade"))
}

/// The steps `alembic downgrade TARGET` runs from `current`.
pub fn downgrade(graph: &Graph, current: &[String], target: &str) -> Result<Vec<Step>, String> {
    let r = Resolver { graph };
    r.collect_downgrade(current, target)
        .map(|revs| {
            revs.into_iter()
                .map(|rev| Step {
                    rev,
                    direction: Direction::Downgrade,
                })
                .collect()
        })
        .map_err(|f| r.message(f, target, "downgrade"))
}

/// Checks the targets of `alembic stamp` and returns the revisions they name (the version
/// table is all a stamp changes).
pub fn stamp(graph: &Graph, targets: &[String]) -> Result<Vec<String>, String> {
    let r = Resolver { graph };
    let mut out = Vec::new();
    for target in targets {
        let found = r.get_revisions(target).map_err(|f| match f {
            Failure::MultipleHeads(_) => {
                "Multiple heads are present; please specify a single target revision".to_string()
            }
            other => r.message(other, target, "stamp"),
        })?;
        out.extend(found.into_iter().filter_map(|at| match at {
            At::Rev(i) => Some(graph.id(i).to_string()),
            _ => None,
        }));
    }
    Ok(out)
}

struct Resolver<'g> {
    graph: &'g Graph,
}

impl Resolver<'_> {
    /// alembic's `_catch_revision_errors` wording.
    fn message(&self, failure: Failure, end: &str, command: &str) -> String {
        match failure {
            Failure::Resolution(arg) => format!("Can't locate revision identified by '{arg}'"),
            Failure::MultipleHeads(_) => format!(
                "Multiple head revisions are present for given argument '{end}'; please specify a \
                 specific target revision, '<branchname>@{end}' to narrow to a specific head, or \
                 'heads' for all heads"
            ),
            Failure::NotAncestor => {
                format!("Destination {end} is not a valid {command} target from current head(s)")
            }
            Failure::Revision(message) => message,
        }
    }

    /// `(ids, branch label)` for an identifier: `heads`, `head`, `base`, `label@…`.
    fn resolve_number(&self, id: &str) -> Walk<(Vec<String>, Option<String>)> {
        let (label, id) = match id.split_once('@') {
            Some((label, id)) => (Some(label.to_string()), id),
            None => (None, id),
        };
        let g = self.graph;
        let ids = match id {
            "heads" => match &label {
                Some(label) => self
                    .filter_for_lineage(&g.heads, label)?
                    .into_iter()
                    .map(|i| g.id(i).to_string())
                    .collect(),
                None => g.real_heads.iter().map(|&i| g.id(i).to_string()).collect(),
            },
            "head" => match self.current_head(label.as_deref())? {
                Some(head) => vec![g.id(head).to_string()],
                None => Vec::new(),
            },
            "base" | "" => Vec::new(),
            other => vec![other.to_string()],
        };
        Ok((ids, label))
    }

    fn current_head(&self, label: Option<&str>) -> Walk<Option<usize>> {
        let mut heads = self.graph.heads.clone();
        if let Some(label) = label {
            heads = self.filter_for_lineage(&heads, label)?;
        }
        if heads.len() > 1 {
            let arg = label.map_or("head".to_string(), |l| format!("{l}@head"));
            return Err(Failure::MultipleHeads(arg));
        }
        Ok(heads.first().copied())
    }

    /// alembic's `get_revisions`: every revision an identifier names.
    fn get_revisions(&self, id: &str) -> Walk<Vec<At>> {
        let (ids, label) = self.resolve_number(id)?;
        if ids.len() == 1 {
            if let Ok(n) = ids[0].parse::<i64>() {
                if n < 0 {
                    // label@-n: walk down from the heads on that branch.
                    let mut heads = self.graph.heads.clone();
                    if let Some(label) = &label {
                        heads.retain(|h| self.graph.nodes[*h].labels.contains(label));
                    }
                    return heads
                        .into_iter()
                        .map(|h| self.walk(At::Rev(h), n, None, true))
                        .collect();
                }
            }
        }
        ids.iter()
            .map(|id| self.revision_for_ident(Some(id), label.as_deref()))
            .collect()
    }

    /// alembic's `get_revision`: exactly one revision (or nothing, for `base`).
    fn get_revision(&self, id: &str) -> Walk<At> {
        let (ids, label) = self.resolve_number(id)?;
        if ids.len() > 1 {
            return Err(Failure::MultipleHeads(id.to_string()));
        }
        self.revision_for_ident(ids.first().map(String::as_str), label.as_deref())
    }

    fn lookup(&self, key: &str) -> Option<usize> {
        let g = self.graph;
        g.by_id.get(key).or(g.by_label.get(key)).copied()
    }

    /// A full id, a branch label, or a unique prefix (alembic: of a key longer than three
    /// characters), checked against `branch` when given.
    fn revision_for_ident(&self, id: Option<&str>, branch: Option<&str>) -> Walk<At> {
        let branch_rev = match branch {
            Some(b) => Some(self.resolve_branch(b)?),
            None => None,
        };
        let Some(id) = id else {
            return Ok(At::Nothing);
        };
        let found = match self.lookup(id) {
            Some(i) => i,
            None => {
                let g = self.graph;
                // Keys in alembic's map order: revision ids in load order, then labels.
                let mut keys: Vec<(&str, usize)> = g
                    .nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.rev.id.as_str(), i))
                    .collect();
                let mut labels: Vec<(&str, usize)> =
                    g.by_label.iter().map(|(l, i)| (l.as_str(), *i)).collect();
                labels.sort_by_key(|(_, i)| *i);
                keys.extend(labels);
                let mut matches: Vec<(&str, usize)> = keys
                    .into_iter()
                    .filter(|(k, _)| k.len() > 3 && k.starts_with(id))
                    .collect();
                if let (Some(b), Some(_)) = (branch, branch_rev) {
                    let allowed = self
                        .filter_for_lineage(&matches.iter().map(|m| m.1).collect::<Vec<_>>(), b)?;
                    matches.retain(|(_, i)| allowed.contains(i));
                }
                match matches.as_slice() {
                    [] => return Err(Failure::Resolution(id.to_string())),
                    [(_, i)] => *i,
                    // alembic raises "Multiple revisions start with …" as a resolution
                    // error, which its commands report as a revision they cannot locate.
                    _ => return Err(Failure::Resolution(id.to_string())),
                }
            }
        };
        if let Some(branch_rev) = branch_rev {
            // alembic's `_shares_lineage` without dependencies: a revision that reaches the
            // branch only through `depends_on` is not a member of it.
            if !self.graph.shares_lineage(found, &[branch_rev], false) {
                // alembic: "Revision X is not a member of branch", reported by the command
                // as a revision it cannot locate.
                return Err(Failure::Resolution(id.to_string()));
            }
        }
        Ok(At::Rev(found))
    }

    fn resolve_branch(&self, label: &str) -> Walk<usize> {
        if let Some(i) = self.lookup(label) {
            return Ok(i);
        }
        match self.revision_for_ident(Some(label), None) {
            Ok(At::Rev(i)) => Ok(i),
            _ => Err(Failure::Resolution(label.to_string())),
        }
    }

    /// The targets that share a line of history with what `against` names.
    fn filter_for_lineage(&self, targets: &[usize], against: &str) -> Walk<Vec<usize>> {
        let (ids, label) = self.resolve_number(against)?;
        let mut shares = Vec::new();
        for name in label.iter().chain(ids.iter()) {
            if let At::Rev(i) = self.revision_for_ident(Some(name), None)? {
                shares.push(i);
            }
        }
        Ok(targets
            .iter()
            .copied()
            .filter(|t| self.graph.shares_lineage(*t, &shares, false))
            .collect())
    }

    /// alembic's `_walk`: `steps` up (positive) or down (negative), refusing to choose
    /// between branches.
    fn walk(&self, start: At, steps: i64, label: Option<&str>, no_overwalk: bool) -> Walk<At> {
        let g = self.graph;
        let mut at = start;
        for _ in 0..steps.unsigned_abs() {
            let children: Vec<At> = if steps > 0 {
                let up: Vec<usize> = match at {
                    At::Rev(i) => g.nodes[i].next.iter().copied().collect(),
                    _ => g.bases.clone(),
                };
                let up = match label {
                    Some(label) => self.filter_for_lineage(&up, label)?,
                    None => up,
                };
                up.into_iter().map(At::Rev).collect()
            } else {
                match at {
                    At::Base => Vec::new(),
                    At::Nothing => g.heads.iter().map(|&h| At::Rev(h)).collect(),
                    At::Rev(i) if g.nodes[i].down.is_empty() => vec![At::Base],
                    At::Rev(i) => g.nodes[i].down.iter().map(|&d| At::Rev(d)).collect(),
                }
            };
            match children.as_slice() {
                [] => return Ok(if no_overwalk { At::Nothing } else { at }),
                [only] => at = *only,
                _ => return Err(Failure::Revision("Ambiguous walk".to_string())),
            }
        }
        Ok(at)
    }

    fn didnt_produce(relative: &str, n: i64) -> Failure {
        Failure::Revision(format!(
            "Relative revision {relative} didn't produce {} migrations",
            n.abs()
        ))
    }

    fn parse_upgrade_target(&self, current: &[String], target: &str) -> Walk<Vec<At>> {
        let Some(caps) = relative_pattern().captures(target) else {
            return self.get_revisions(target);
        };
        let label = caps.get(1).map(|m| m.as_str());
        let symbol = caps.get(2).map(|m| m.as_str());
        let relative_str = &caps[3];
        let relative: i64 = relative_str
            .parse()
            .map_err(|_| Failure::Revision(format!("bad relative revision {relative_str}")))?;
        if relative > 0 {
            let Some(symbol) = symbol else {
                let mut start: Vec<Option<usize>> = if current.is_empty() {
                    vec![None]
                } else {
                    current
                        .iter()
                        .map(|c| self.get_revision(c).map(at_index))
                        .collect::<Walk<_>>()?
                };
                if let Some(label) = label {
                    let revs: Vec<usize> = start.iter().flatten().copied().collect();
                    let on_branch = self.filter_for_lineage(&revs, label)?;
                    start = on_branch.iter().map(|i| Some(*i)).collect();
                    if start.is_empty() {
                        // Not at a head of that branch: start from its newest applied revision.
                        let active = self.graph.ancestors(&revs, true);
                        let active = self
                            .filter_for_lineage(&active.into_iter().collect::<Vec<_>>(), label)?;
                        let below: BTreeSet<usize> = active
                            .iter()
                            .flat_map(|a| self.graph.nodes[*a].normalized_down())
                            .collect();
                        start = active
                            .iter()
                            .filter(|a| !below.contains(a))
                            .map(|a| Some(*a))
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        if start.is_empty() {
                            start = vec![None];
                        }
                    }
                }
                if start.len() > 1 {
                    return Err(Failure::Revision(
                        "Ambiguous upgrade from multiple current revisions".to_string(),
                    ));
                }
                let from = start[0].map_or(At::Nothing, At::Rev);
                return match self.walk(from, relative, label, true)? {
                    At::Nothing => Err(Self::didnt_produce(relative_str, relative)),
                    at => Ok(vec![at]),
                };
            };
            let from = self.get_revision(symbol)?;
            return match self.walk(from, relative, label, true)? {
                At::Nothing => Err(Self::didnt_produce(relative_str, relative)),
                at => Ok(vec![at]),
            };
        }
        let Some(symbol) = symbol else {
            return Err(Self::didnt_produce(&relative.to_string(), relative));
        };
        let from = match label {
            Some(label) => self.get_revision(&format!("{label}@{symbol}"))?,
            None => self.get_revision(symbol)?,
        };
        Ok(vec![self.walk(from, relative, None, true)?])
    }

    fn parse_downgrade_target(
        &self,
        current: &[String],
        target: &str,
    ) -> Walk<(Option<String>, At)> {
        if let Some(caps) = relative_pattern().captures(target) {
            let mut label = caps.get(1).map(|m| m.as_str().to_string());
            let symbol = caps.get(2).map(|m| m.as_str().to_string());
            let relative_str = &caps[3];
            let relative: i64 = relative_str
                .parse()
                .map_err(|_| Failure::Revision(format!("bad relative revision {relative_str}")))?;
            if relative >= 0 {
                let Some(symbol) = symbol else {
                    return Err(Self::didnt_produce(relative_str, relative));
                };
                let from = self.get_revision(&symbol)?;
                return match self.walk(from, relative, label.as_deref(), true)? {
                    At::Nothing => Err(Failure::Revision("Walked too far".to_string())),
                    at => Ok((label, at)),
                };
            }
            let relative_to_current = symbol.is_none();
            let symbol = match symbol {
                Some(s) => s,
                None => match &label {
                    Some(l) => {
                        let revs: Vec<usize> = current
                            .iter()
                            .map(|c| self.get_revision(c).map(at_index))
                            .collect::<Walk<Vec<_>>>()?
                            .into_iter()
                            .flatten()
                            .collect();
                        let mut on_branch = self.filter_for_lineage(&revs, l)?;
                        if on_branch.is_empty() {
                            let all = self.graph.ancestors(&revs, true);
                            let tips: Vec<usize> = all
                                .iter()
                                .copied()
                                .filter(|a| {
                                    self.graph.nodes[*a].next.iter().all(|n| !all.contains(n))
                                })
                                .collect();
                            on_branch = self.filter_for_lineage(&tips, l)?;
                        }
                        match on_branch.as_slice() {
                            [one] => self.graph.id(*one).to_string(),
                            _ => {
                                return Err(Failure::Revision(format!(
                                    "Relative revision {relative_str} is ambiguous on branch {l}"
                                )))
                            }
                        }
                    }
                    None => {
                        let Some(first) = current.first() else {
                            return Err(Self::didnt_produce(relative_str, relative));
                        };
                        // alembic narrows the walk to the first current head's own branch.
                        label = Some(first.clone());
                        first.clone()
                    }
                },
            };
            let from = match &label {
                Some(l) => self.get_revision(&format!("{l}@{symbol}"))?,
                None => self.get_revision(&symbol)?,
            };
            return match self.walk(from, relative, None, true)? {
                At::Nothing if relative_to_current => {
                    Err(Self::didnt_produce(relative_str, relative))
                }
                At::Nothing => Err(Failure::Revision("Walked too far".to_string())),
                at => Ok((label, at)),
            };
        }
        let (label, symbol) = match target.rsplit_once('@') {
            Some((l, s)) if !l.is_empty() => (Some(l.to_string()), s),
            Some((_, s)) => (None, s),
            None => (None, target),
        };
        Ok((label, self.get_revision(symbol)?))
    }

    fn current_revisions(&self, current: &[String]) -> Walk<Vec<usize>> {
        let mut out = Vec::new();
        for c in current {
            for at in self.get_revisions(c)? {
                if let At::Rev(i) = at {
                    out.push(i);
                }
            }
        }
        Ok(out)
    }

    /// alembic's `check=True`: no requested revision may be an ancestor of another.
    fn check_overlap(&self, targets: &[usize]) -> Walk<()> {
        for &t in targets {
            let ancestors = self.graph.ancestors(&[t], true);
            let overlaps: Vec<&str> = targets
                .iter()
                .filter(|o| **o != t && ancestors.contains(o))
                .map(|o| self.graph.id(*o))
                .collect();
            if !overlaps.is_empty() {
                return Err(Failure::Revision(format!(
                    "Requested revision {} overlaps with other requested revisions {}",
                    self.graph.id(t),
                    overlaps.join(", ")
                )));
            }
        }
        Ok(())
    }

    fn collect_upgrade(&self, destination: &str, current: &[String]) -> Walk<Vec<usize>> {
        let mut targets = Vec::new();
        for at in self.parse_upgrade_target(current, destination)? {
            match at {
                At::Rev(i) => targets.push(i),
                _ => {
                    return Err(Failure::Revision(format!(
                        "Relative revision {destination} didn't produce a revision to upgrade to"
                    )))
                }
            }
        }
        self.check_overlap(&targets)?;
        let required = self.graph.ancestors(&targets, true);
        let current = self.current_revisions(current)?;
        self.check_overlap(&current)?;
        let have = self.graph.ancestors(&current, true);
        let needs: BTreeSet<usize> = required.difference(&have).copied().collect();
        let mut order = self.graph.topological(&needs, &targets);
        order.reverse();
        Ok(order)
    }

    fn collect_downgrade(&self, current: &[String], destination: &str) -> Walk<Vec<usize>> {
        let (label, target) = self.parse_downgrade_target(current, destination)?;
        let g = self.graph;
        let target = match target {
            At::Rev(i) => Some(i),
            At::Base | At::Nothing => None,
        };
        let mut roots: Vec<usize> = match target {
            None => g.bases.clone(),
            Some(t) => g.nodes[t].next.iter().copied().collect(),
        };
        if let Some(label) = &label {
            if roots.len() > 1 {
                let branch = self.resolve_branch(label)?;
                let ancestors = g.ancestors(&[branch], false);
                roots.retain(|r| ancestors.contains(r));
                if roots.is_empty() {
                    return Err(Failure::Revision(
                        "Not a valid downgrade target from current heads".to_string(),
                    ));
                }
            }
        }
        let heads = self.current_revisions(current)?;
        let drop: BTreeSet<usize> = g
            .descendants(&roots, true)
            .intersection(&g.ancestors(&heads, true))
            .copied()
            .collect();
        if let Some(t) = target {
            if drop.is_empty() && !heads.contains(&t) {
                return Err(Failure::NotAncestor);
            }
        }
        Ok(g.topological(&drop, &heads))
    }
}

fn at_index(at: At) -> Option<usize> {
    match at {
        At::Rev(i) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::alembic::graph::testing::graph;

    fn ids(g: &Graph, steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| {
                let arrow = match s.direction {
                    Direction::Upgrade => "+",
                    Direction::Downgrade => "-",
                };
                format!("{arrow}{}", g.id(s.rev))
            })
            .collect()
    }

    fn cur(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// a → b1 → b2, a → c1, merge m(b2, c1) → d
    fn branchy() -> Graph {
        graph(&["a:", "b1:a", "b2:b1", "c1:a", "m:b2,c1", "d:m"]).unwrap()
    }

    #[test]
    fn upgrades() {
        let g = branchy();
        assert_eq!(
            ids(&g, &upgrade(&g, &[], "head").unwrap()),
            ["+a", "+c1", "+b1", "+b2", "+m", "+d"]
        );
        assert_eq!(
            ids(&g, &upgrade(&g, &cur(&["b2"]), "+1").unwrap()),
            ["+c1", "+m"]
        );
        assert_eq!(
            ids(&g, &upgrade(&g, &cur(&["a"]), "b2").unwrap()),
            ["+b1", "+b2"]
        );
        assert_eq!(
            ids(&g, &upgrade(&g, &cur(&["a"]), "b2+1").unwrap()),
            ["+c1", "+b1", "+b2", "+m"]
        );
        assert!(upgrade(&g, &cur(&["a"]), "zzzz")
            .unwrap_err()
            .contains("Can't locate"));
    }

    #[test]
    fn downgrades() {
        let g = branchy();
        assert_eq!(ids(&g, &downgrade(&g, &cur(&["d"]), "-1").unwrap()), ["-d"]);
        assert_eq!(
            downgrade(&g, &cur(&["m"]), "-1").unwrap_err(),
            "Ambiguous walk"
        );
        // downgrade to b2 undoes only the merge: c1 stays applied.
        assert_eq!(ids(&g, &downgrade(&g, &cur(&["m"]), "b2").unwrap()), ["-m"]);
        assert_eq!(
            ids(&g, &downgrade(&g, &cur(&["d"]), "base").unwrap()),
            ["-d", "-m", "-b2", "-b1", "-c1", "-a"]
        );
    }
}

//! The revision graph: parents and children, bases, heads, branch points, merge points,
//! branch labels and `depends_on`, built the way alembic's `RevisionMap` builds it (the
//! resolver in `walk.rs` relies on the same notions of "head" and "real head").
//!
//! Unlike alembic, which warns about duplicate ids and crashes with a `KeyError` on a missing
//! parent, every inconsistency is a clear error here: a plan over a broken history would be
//! a guess.

use std::collections::{BTreeSet, HashMap};

use super::revision::Revision;

/// A revision in the graph; indices point into `Graph::nodes`.
#[derive(Clone, Debug)]
pub struct Node {
    pub rev: Revision,
    /// Versioned parents (`down_revision`), in the order written.
    pub down: Vec<usize>,
    /// `depends_on`, resolved to revisions.
    pub deps: Vec<usize>,
    /// `deps` minus those an ancestor already depends on (alembic's normalised dependencies).
    pub normalized_deps: Vec<usize>,
    /// Children through `down_revision`.
    pub next: BTreeSet<usize>,
    /// Children through `down_revision` or `depends_on`.
    pub all_next: BTreeSet<usize>,
    /// Branch labels, including those inherited along the branch.
    pub labels: BTreeSet<String>,
}

impl Node {
    /// `down_revision` plus dependencies (what must run first).
    pub fn all_down(&self) -> Vec<usize> {
        dedupe(self.down.iter().chain(&self.deps).copied())
    }

    pub fn normalized_down(&self) -> Vec<usize> {
        dedupe(self.down.iter().chain(&self.normalized_deps).copied())
    }

    pub fn is_merge_point(&self) -> bool {
        self.down.len() > 1
    }

    pub fn is_branch_point(&self) -> bool {
        self.next.len() > 1
    }
}

fn dedupe(items: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut out = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[derive(Debug)]
pub struct Graph {
    /// In alembic's load order (version locations in order, files sorted by name), which
    /// decides the order of steps on parallel branches.
    pub nodes: Vec<Node>,
    pub by_id: HashMap<String, usize>,
    /// Branch label → the revision that declares it.
    pub by_label: HashMap<String, usize>,
    /// Revisions no other revision names as `down_revision`.
    pub heads: Vec<usize>,
    /// Heads that nothing depends on either (`alembic heads` / `upgrade heads`).
    pub real_heads: Vec<usize>,
    pub bases: Vec<usize>,
}

impl Graph {
    /// Builds the graph, or says what is inconsistent.
    pub fn build(revisions: Vec<Revision>) -> Result<Graph, String> {
        let mut by_id = HashMap::new();
        for (i, rev) in revisions.iter().enumerate() {
            if let Some(&first) = by_id.get(&rev.id) {
                let first: &Revision = &revisions[first];
                return Err(format!(
                    "revision id {} is used by two files: {} and {}",
                    rev.id,
                    first.path.display(),
                    rev.path.display()
                ));
            }
            by_id.insert(rev.id.clone(), i);
        }
        let mut by_label = HashMap::new();
        for (i, rev) in revisions.iter().enumerate() {
            for label in &rev.branch_labels {
                if let Some(&other) = by_id.get(label).or(by_label.get(label)) {
                    return Err(format!(
                        "branch label `{label}` of revision {} is already used by revision {}",
                        rev.id, revisions[other].id
                    ));
                }
                by_label.insert(label.clone(), i);
            }
        }
        let lookup = |name: &str, of: &Revision, what: &str| -> Result<usize, String> {
            by_id
                .get(name)
                .or(by_label.get(name))
                .copied()
                .ok_or_else(|| {
                    format!(
                    "revision {} ({}) names {what} {name}, which is not in any version location",
                    of.id,
                    of.path.display()
                )
                })
        };
        let mut nodes = Vec::with_capacity(revisions.len());
        for rev in &revisions {
            let down = rev
                .down
                .iter()
                .map(|d| {
                    by_id.get(d).copied().ok_or_else(|| {
                        format!(
                            "revision {} ({}) has down_revision {d}, which is not in any version location",
                            rev.id,
                            rev.path.display()
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let deps = rev
                .depends_on
                .iter()
                .map(|d| lookup(d, rev, "depends_on"))
                .collect::<Result<Vec<_>, _>>()?;
            nodes.push(Node {
                labels: rev.branch_labels.iter().cloned().collect(),
                rev: rev.clone(),
                down: dedupe(down.into_iter()),
                deps: dedupe(deps.into_iter()),
                normalized_deps: Vec::new(),
                next: BTreeSet::new(),
                all_next: BTreeSet::new(),
            });
        }
        for i in 0..nodes.len() {
            for d in nodes[i].down.clone() {
                nodes[d].next.insert(i);
                nodes[d].all_next.insert(i);
            }
            for d in nodes[i].deps.clone() {
                nodes[d].all_next.insert(i);
            }
        }
        let mut graph = Graph {
            heads: (0..nodes.len())
                .filter(|&i| nodes[i].next.is_empty())
                .collect(),
            real_heads: (0..nodes.len())
                .filter(|&i| nodes[i].all_next.is_empty())
                .collect(),
            bases: (0..nodes.len())
                .filter(|&i| nodes[i].down.is_empty())
                .collect(),
            nodes,
            by_id,
            by_label,
        };
        graph.detect_cycles()?;
        graph.normalize_deps();
        graph.spread_labels();
        Ok(graph)
    }

    fn detect_cycles(&self) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let down_from_heads = self.related(&self.heads, |n| n.down.clone());
        let up_from_bases = self.related(&self.bases, |n| n.next.iter().copied().collect());
        let mut stuck: Vec<&str> = (0..self.nodes.len())
            .filter(|i| !down_from_heads.contains(i) || !up_from_bases.contains(i))
            .map(|i| self.nodes[i].rev.id.as_str())
            .collect();
        if self.heads.is_empty() || self.bases.is_empty() {
            stuck = self.nodes.iter().map(|n| n.rev.id.as_str()).collect();
        }
        if !stuck.is_empty() {
            stuck.sort();
            return Err(format!(
                "the revision history has a cycle through {}",
                stuck.join(", ")
            ));
        }
        let reach = self.related(&self.real_heads, |n| n.all_down());
        let dep_stuck: Vec<&str> = (0..self.nodes.len())
            .filter(|i| !reach.contains(i))
            .map(|i| self.nodes[i].rev.id.as_str())
            .collect();
        if self.real_heads.is_empty() || !dep_stuck.is_empty() {
            return Err(format!(
                "the depends_on links form a cycle through {}",
                dep_stuck.join(", ")
            ));
        }
        Ok(())
    }

    /// Everything reachable from `start` (included) through `step`.
    pub fn related(&self, start: &[usize], step: impl Fn(&Node) -> Vec<usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<usize> = start.to_vec();
        while let Some(i) = todo.pop() {
            if seen.insert(i) {
                todo.extend(step(&self.nodes[i]));
            }
        }
        seen
    }

    /// Ancestors (included), through parents and — with `deps` — normalised dependencies.
    pub fn ancestors(&self, of: &[usize], deps: bool) -> BTreeSet<usize> {
        if deps {
            self.related(of, Node::normalized_down)
        } else {
            self.related(of, |n| n.down.clone())
        }
    }

    /// Descendants (included), through children and — with `deps` — dependents.
    pub fn descendants(&self, of: &[usize], deps: bool) -> BTreeSet<usize> {
        if deps {
            self.related(of, |n| n.all_next.iter().copied().collect())
        } else {
            self.related(of, |n| n.next.iter().copied().collect())
        }
    }

    fn normalize_deps(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].deps.is_empty() {
                continue;
            }
            let mut keep: Vec<usize> = self.nodes[i].deps.clone();
            for a in self.ancestors(&[i], false) {
                if a != i {
                    keep.retain(|d| !self.nodes[a].deps.contains(d));
                }
            }
            self.nodes[i].normalized_deps = keep;
        }
    }

    /// A branch label applies to the revision's descendants, and to its ancestors down to
    /// the nearest branch point or merge point.
    fn spread_labels(&mut self) {
        for i in 0..self.nodes.len() {
            let labels: Vec<String> = self.nodes[i].rev.branch_labels.clone();
            if labels.is_empty() {
                continue;
            }
            for d in self.descendants(&[i], false) {
                self.nodes[d].labels.extend(labels.iter().cloned());
            }
            let mut at = i;
            loop {
                let node = &self.nodes[at];
                if node.all_next.len() > 1 || node.is_merge_point() {
                    break;
                }
                self.nodes[at].labels.extend(labels.iter().cloned());
                match self.nodes[at].down.first() {
                    Some(&d) => at = d,
                    None => break,
                }
            }
        }
    }

    pub fn id(&self, i: usize) -> &str {
        &self.nodes[i].rev.id
    }

    /// Whether two revisions are on one line of history (one is an ancestor of the other).
    pub fn shares_lineage(&self, a: usize, against: &[usize], deps: bool) -> bool {
        if against.is_empty() {
            return true;
        }
        let mut family = self.descendants(&[a], deps);
        family.extend(self.ancestors(&[a], deps));
        against.iter().any(|b| family.contains(b))
    }

    /// Order a set of revisions from the top down, as alembic's `_topological_sort` does:
    /// every revision comes before its parents; parallel branches are walked one at a
    /// time, in load order, switching only when another branch depends on the candidate.
    pub fn topological(&self, revisions: &BTreeSet<usize>, heads: &[usize]) -> Vec<usize> {
        let mut todo = revisions.clone();
        let mut current: Vec<usize> = heads
            .iter()
            .copied()
            .filter(|h| todo.contains(h))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut ancestors: Vec<BTreeSet<usize>> = current
            .iter()
            .map(|h| self.ancestors(&[*h], true))
            .collect();
        let mut out = Vec::new();
        let mut idx = 0;
        while !current.is_empty() {
            let candidate = current[idx];
            if let Some(other) = ancestors
                .iter()
                .enumerate()
                .find(|(j, a)| *j != idx && a.contains(&candidate))
                .map(|(j, _)| j)
            {
                idx = other;
                continue;
            }
            if todo.remove(&candidate) {
                out.push(candidate);
            }
            let node = &self.nodes[candidate];
            let to_add: Vec<usize> = node
                .normalized_down()
                .into_iter()
                .filter(|r| todo.contains(r) && !current.contains(r))
                .collect();
            if to_add.is_empty() {
                current.remove(idx);
                ancestors.remove(idx);
                idx = idx.saturating_sub(1);
            } else if node.normalized_deps.is_empty() && node.down.len() == 1 {
                current[idx] = to_add[0];
                ancestors[idx].remove(&candidate);
            } else {
                current[idx] = to_add[0];
                ancestors[idx] = self.ancestors(&[to_add[0]], true);
                for extra in &to_add[1..] {
                    current.push(*extra);
                    ancestors.push(self.ancestors(&[*extra], true));
                }
            }
        }
        out
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;

    /// A graph from `"id:parent1,parent2"` specs (`"a:"` is a base), in load order.
    pub fn graph(specs: &[&str]) -> Result<Graph, String> {
        let revisions = specs
            .iter()
            .map(|spec| {
                let (id, rest) = spec.split_once(':').unwrap();
                let (down, labels) = rest.split_once('@').unwrap_or((rest, ""));
                Revision {
                    id: id.to_string(),
                    down: down
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                    branch_labels: labels
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                    depends_on: Vec::new(),
                    path: format!("versions/{id}.py").into(),
                    doc: None,
                }
            })
            .collect();
        Graph::build(revisions)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::graph;

    #[test]
    fn heads_bases_branch_and_merge_points() {
        let g = graph(&["a:", "b:a", "c:a", "m:b,c", "d:m"]).unwrap();
        let ids = |v: &[usize]| v.iter().map(|i| g.id(*i).to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&g.heads), ["d"]);
        assert_eq!(ids(&g.bases), ["a"]);
        assert!(g.nodes[g.by_id["a"]].is_branch_point());
        assert!(g.nodes[g.by_id["m"]].is_merge_point());
    }

    #[test]
    fn inconsistent_histories_are_errors() {
        assert!(graph(&["a:", "a:"])
            .unwrap_err()
            .contains("used by two files"));
        assert!(graph(&["a:", "b:x"])
            .unwrap_err()
            .contains("down_revision x"));
        assert!(graph(&["a:", "b:c", "c:b"]).unwrap_err().contains("cycle"));
        assert!(graph(&["a:b", "b:a"]).unwrap_err().contains("cycle"));
    }

    #[test]
    fn labels_spread_along_the_branch() {
        let g = graph(&["a:", "b:a", "c:b@feature", "d:c", "x:a"]).unwrap();
        assert!(g.nodes[g.by_id["d"]].labels.contains("feature"));
        assert!(g.nodes[g.by_id["b"]].labels.contains("feature"));
        assert!(!g.nodes[g.by_id["a"]].labels.contains("feature"));
    }
}

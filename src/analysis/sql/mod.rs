//! SQL text → operations. Splitting, parsing and the fallback are separate files; this is
//! the entry point that runs them over one source text.

mod ast;
mod fallback;
pub mod lexer;
pub mod split;
mod walker;

use split::{Comment, Item, Splitter};
use walker::Walker;

use super::ops::Located;

/// A psql include found in the text, to be resolved by the caller (which knows paths).
#[derive(Debug, Clone)]
pub struct Include {
    pub path: String,
    /// `\ir`: relative to the including file rather than the working directory.
    pub relative: bool,
    pub start: usize,
    pub end: usize,
}

/// Everything found in one SQL text.
#[derive(Debug, Default)]
pub struct Analysis {
    pub statements: usize,
    pub ops: Vec<Located>,
    pub includes: Vec<Include>,
    pub comments: Vec<Comment>,
}

/// Analyses SQL as psql would run it (meta-commands recognised).
pub fn analyze(src: &str) -> Analysis {
    let mut splitter = Splitter::new(src, true);
    let mut walker = Walker::default();
    let mut analysis = Analysis::default();
    for item in splitter.by_ref() {
        match item {
            Item::Statement(statement) => {
                if statement.gexec {
                    walker.gexec(src, &statement.tokens);
                }
                if !statement.rerun {
                    analysis.statements += 1;
                    walker.top_level(src, &statement.tokens);
                }
            }
            Item::Include {
                path,
                relative,
                start,
                end,
            } => analysis.includes.push(Include {
                path,
                relative,
                start,
                end,
            }),
        }
    }
    analysis.ops = walker.out;
    analysis.comments = splitter.comments;
    analysis
}

/// Helpers for rule tests: SQL in, rule ids out.
#[cfg(test)]
pub mod testing {
    use crate::analysis::rules;

    pub fn rule_ids(sql: &str) -> Vec<&'static str> {
        super::analyze(sql)
            .ops
            .iter()
            .filter_map(|l| rules::classify(&l.op).map(|(rule, _)| rule.id))
            .collect()
    }
}

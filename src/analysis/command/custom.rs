//! Commands the project lists as destructive in `[[guard.commands]]`.

use super::{Inputs, Plan, Tool};
use crate::analysis::rules;
use crate::config::GuardedCommand;
use crate::error::Result;
use crate::target::Target;

/// Whether `pattern`'s words are the leading words of `argv` (`*` matches any word).
fn matches(pattern: &str, argv: &[String]) -> bool {
    let words: Vec<&str> = pattern.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= argv.len()
        && words
            .iter()
            .zip(argv)
            .all(|(w, a)| *w == "*" || *w == a || (words[0] == *w && *w == super::program_name(a)))
}

pub fn classify(argv: &[String], inputs: &Inputs) -> Result<Option<Plan>> {
    let Some(rule) = inputs
        .config
        .config
        .guard
        .commands
        .iter()
        .find(|c| matches(&c.pattern, argv))
    else {
        return Ok(None);
    };
    Ok(Some(plan_for(rule, argv, inputs)?))
}

fn plan_for(rule: &GuardedCommand, argv: &[String], inputs: &Inputs) -> Result<Plan> {
    let (target, source) = match &rule.database {
        Some(url) => (
            Target::parse(url)?.with_defaults(inputs.env),
            "[[guard.commands]] database".to_string(),
        ),
        None => inputs.config.database(None, inputs.env)?,
    };
    let mut plan = Plan::new(
        argv,
        Tool::Custom,
        format!("listed in dbguard.toml as `{}`", rule.pattern),
    );
    let what = rule.reason.clone().unwrap_or_else(|| {
        format!(
            "`{}` is listed as destructive in dbguard.toml",
            rule.pattern
        )
    });
    let message = format!("{what} (database {})", target.effective_dbname());
    plan.command_finding(&rules::guarded_command::RULE, rule.severity, message, None);
    plan.target = Some((target, source));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn leading_words_match() {
        assert!(matches("make reset-db", &args("make reset-db FORCE=1")));
        assert!(matches("make reset-db", &args("/usr/bin/make reset-db")));
        assert!(matches(
            "./manage.py * flush",
            &args("./manage.py --settings=dev flush")
        ));
        assert!(!matches("make reset-db", &args("make test")));
        assert!(!matches("make reset-db", &args("make")));
    }
}

//! `dbguard rules` and `dbguard explain RULE`: the catalog, from the docs kept beside each rule.

use crate::analysis::rules;
use crate::cli::RulesArgs;
use crate::error::{Error, Exit, Result};
use crate::output::Palette;

pub fn list(args: &RulesArgs, palette: &Palette) -> Result<Exit> {
    super::write_stdout(|out| {
        if args.json {
            let catalog: Vec<_> = rules::ALL
                .iter()
                .map(|r| serde_json::json!({ "id": r.id, "severity": r.severity, "summary": r.summary, "help": r.help }))
                .collect();
            serde_json::to_writer_pretty(&mut *out, &catalog)?;
            return writeln!(out);
        }
        let width = rules::ALL.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for rule in rules::ALL {
            let severity = crate::output::text_paint(
                palette.severity(rule.severity),
                &format!("{:<9}", rule.severity.as_str()),
            );
            writeln!(out, "{:<width$}  {severity}  {}", rule.id, rule.summary)?;
        }
        Ok(())
    })?;
    Ok(Exit::Ok)
}

pub fn explain(id: &str) -> Result<Exit> {
    let Some(rule) = rules::find(id) else {
        let close: Vec<&str> = rules::ALL
            .iter()
            .map(|r| r.id)
            .filter(|r| r.contains(id) || id.contains(r))
            .collect();
        let help = if close.is_empty() {
            "run `dbguard rules` to list them".to_string()
        } else {
            format!("did you mean {}?", close.join(", "))
        };
        return Err(Error::usage(format!("unknown rule `{id}`")).with_help(help));
    };
    super::write_stdout(|out| {
        writeln!(
            out,
            "# {} ({})\n\n{}.\n",
            rule.id, rule.severity, rule.summary
        )?;
        write!(out, "{}", rule.docs)
    })?;
    Ok(Exit::Ok)
}

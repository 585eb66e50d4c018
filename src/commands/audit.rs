//! `dbguard audit`: the trail of guarded decisions.

use super::Context;
use crate::audit;
use crate::backup::Settings;
use crate::cli::AuditArgs;
use crate::error::{Error, Exit, Result};

pub fn run(context: &Context, args: AuditArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let path = audit::path(&context.config, &settings);
    let mut entries = audit::read(&path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    if let Some(limit) = args.limit {
        let skip = entries.len().saturating_sub(limit);
        entries.drain(..skip);
    }
    super::write_stdout(|out| {
        if args.json {
            serde_json::to_writer_pretty(&mut *out, &entries)?;
            return writeln!(out);
        }
        if entries.is_empty() && !context.quiet {
            return writeln!(out, "no guarded commands yet ({})", path.display());
        }
        for e in &entries {
            let local: chrono::DateTime<chrono::Local> = e.time.into();
            let code = e.exit_code.map_or(String::new(), |c| format!(" exit {c}"));
            let backup = e
                .backup
                .as_ref()
                .map_or(String::new(), |b| format!(" backup {} ({})", b.name, b.how));
            writeln!(
                out,
                "{}  {:<9} {}  [{} data-loss, {} risky]{code}{backup}  {}",
                local.format("%Y-%m-%d %H:%M:%S"),
                e.decision,
                e.command,
                e.findings.data_loss,
                e.findings.risky,
                e.target.as_deref().unwrap_or("-"),
            )?;
        }
        Ok(())
    })?;
    Ok(Exit::Ok)
}

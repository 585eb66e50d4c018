//! `dbguard backup`.

use super::Context;
use crate::backup::{dump, Settings};
use crate::cli::BackupArgs;
use crate::error::{Exit, Result};
use crate::target::ProcessEnv;

pub fn run(context: &Context, args: BackupArgs) -> Result<Exit> {
    let settings = Settings::from_config(&context.config)?;
    let (target, _) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let request = dump::Request {
        target: &target,
        reason: args.reason,
        quiet: context.quiet,
        protected: Vec::new(),
    };
    let backup = dump::take(&settings, &request)?;
    super::write_stdout(|out| {
        if args.json {
            serde_json::to_writer_pretty(&mut *out, &super::backups::entry(&backup))?;
            return writeln!(out);
        }
        if context.quiet {
            return writeln!(out, "{}", backup.path.display());
        }
        let m = &backup.metadata;
        writeln!(
            out,
            "backed up {} ({}) to {}\n  {} stored ({} uncompressed), {} tables, sha256 {}, verified",
            m.database,
            target.masked_url(),
            backup.path.display(),
            super::backups::human_bytes(m.size_bytes),
            super::backups::human_bytes(m.uncompressed_bytes),
            m.tables.len(),
            crate::backup::catalog::short_sha(&m.sha256),
        )
    })?;
    Ok(Exit::Ok)
}

//! `dbguard keygen`: a new age identity, written 0600 and never over an existing file (that
//! could make every backup encrypted to the old key unrecoverable); the public key on stdout.

use std::io::Write;
use std::path::PathBuf;

use super::Context;
use crate::backup::encryption::{default_identity_file, expand_home, generate};
use crate::backup::fsutil;
use crate::cli::KeygenArgs;
use crate::error::{Error, Exit, Result};

pub fn run(context: &Context, args: KeygenArgs) -> Result<Exit> {
    let configured = context
        .config
        .config
        .encryption
        .as_ref()
        .and_then(|e| e.identity_file.as_ref())
        .map(|p| context.config.resolve(&expand_home(p)));
    let path: PathBuf = args
        .output
        .map(|p| expand_home(&p))
        .or(configured)
        .unwrap_or_else(default_identity_file);
    if path.exists() {
        return Err(Error::usage(format!(
            "{} exists; not overwriting an identity (backups encrypted to it would become unreadable)",
            path.display()
        ))
        .with_help("choose another --output, or move the old file away deliberately"));
    }
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        fsutil::create_private_dir(dir)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    let (text, public) = generate();
    let written = fsutil::create_private_file(&path).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(Error::usage(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    if !context.quiet {
        eprintln!(
            "wrote a new age identity to {} (mode 0600)\n  \
             add its public key to dbguard.toml: [encryption] recipients = [\"{public}\"]\n  \
             keep a copy of the file somewhere safe, off this machine: without it, encrypted backups cannot be restored",
            path.display()
        );
    }
    super::write_stdout(|out| writeln!(out, "{public}"))?;
    Ok(Exit::Ok)
}

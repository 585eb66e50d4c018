//! `dbguard proxy`: a PostgreSQL proxy on loopback or a unix socket that guards every
//! statement of every client (GUI clients, REPLs, ORM shells) on its way to the server.

use std::sync::Arc;

use super::Context;
use crate::cli::{DestructiveMode, ProxyArgs};
use crate::error::{Error, Result};
use crate::guard::statement::Destructive;
use crate::proxy::{self, Listener, Shared};
use crate::target::ProcessEnv;

const DEFAULT_LISTEN: &str = "127.0.0.1:6432";

pub fn run(context: &Context, args: ProxyArgs) -> Result<u8> {
    let config = &context.config.config.proxy;
    let (target, source) = context.config.database(args.url.as_deref(), &ProcessEnv)?;
    let listener = match (&args.socket, &args.listen) {
        (Some(dir), _) => Listener::unix(dir, args.port)?,
        (None, Some(address)) => Listener::tcp(address)?,
        (None, None) => match (&config.socket, &config.listen) {
            (Some(dir), _) => Listener::unix(&context.config.resolve(dir), args.port)?,
            (None, address) => Listener::tcp(address.as_deref().unwrap_or(DEFAULT_LISTEN))?,
        },
    };
    let mode = mode(args.destructive, config.destructive);
    let shared = shared(context, target, mode, false, "proxy")?;
    if !context.quiet {
        eprintln!(
            "dbguard proxy: listening on {} → {} (from {source})\n  destructive statements: {}\n  connect with: {}",
            listener.describe(),
            shared.target.masked_url(),
            match mode {
                Destructive::Snapshot => "snapshot, then run",
                Destructive::Block => "refused",
            },
            connect_hint(&listener, &shared.target),
        );
    }
    remove_socket_on_exit(&listener)?;
    proxy::serve(&listener, Arc::new(shared))
}

pub fn mode(flag: Option<DestructiveMode>, configured: Option<Destructive>) -> Destructive {
    match flag {
        Some(DestructiveMode::Snapshot) => Destructive::Snapshot,
        Some(DestructiveMode::Block) => Destructive::Block,
        None => configured.unwrap_or_default(),
    }
}

pub fn shared(
    context: &Context,
    target: crate::target::Target,
    mode: Destructive,
    interactive: bool,
    tool: &'static str,
) -> Result<Shared> {
    let protect = crate::undo::Settings::from_config(&context.config)?;
    let audit_path = crate::audit::path(&context.config, &protect.backup);
    Ok(Shared {
        target,
        mode,
        interactive,
        protect,
        audit_path,
        tool,
    })
}

fn connect_hint(listener: &Listener, target: &crate::target::Target) -> String {
    let db = target.effective_dbname();
    let user = target.effective_user();
    match listener {
        Listener::Tcp(l) => {
            let addr = l.local_addr().ok();
            let host = addr.map(|a| a.ip().to_string()).unwrap_or_default();
            let port = addr.map(|a| a.port()).unwrap_or_default();
            format!("psql \"host={host} port={port} dbname={db} user={user}\"")
        }
        Listener::Unix(_, path) => {
            let dir = path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let port = path
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("psql \"host={dir} port={port} dbname={db} user={user}\"")
        }
    }
}

/// Ctrl-C / SIGTERM end the proxy; its unix socket file goes with it.
fn remove_socket_on_exit(listener: &Listener) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let path = listener.socket_path().map(|p| p.to_path_buf());
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Error::usage(format!("cannot install signal handlers: {e}")))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            if let Some(path) = &path {
                let _ = std::fs::remove_file(path);
            }
            std::process::exit(0);
        }
    });
    Ok(())
}

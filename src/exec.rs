//! Running the wrapped command: inherited stdio (or bytes dbguard already read from stdin),
//! signals passed on, and the child's exit code returned as dbguard's (128+N when killed by
//! signal N).

use std::os::unix::process::ExitStatusExt;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;

use crate::error::{Error, Result};

/// Runs `argv` to completion and returns the exit code to pass on.
pub fn run(argv: &[String], stdin: Option<Vec<u8>>) -> Result<u8> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::usage("no command given"))?;
    // Installed before the child starts, so dbguard itself never dies of Ctrl-C mid-way.
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::usage(format!("cannot install signal handlers: {e}")))?;
    let mut expression = duct::cmd(program, args).unchecked();
    if let Some(bytes) = stdin {
        expression = expression.stdin_bytes(bytes);
    }
    let handle = expression.start().map_err(|e| {
        let mut err = Error::usage(format!("cannot run {program}: {e}"));
        if e.kind() == std::io::ErrorKind::NotFound {
            err = Error {
                exit: crate::error::Exit::Usage,
                message: format!("command not found: {program}"),
                help: Some("check the command name and PATH".into()),
            };
        }
        err
    })?;
    let child = handle.pids().first().copied().unwrap_or(0) as libc::pid_t;
    let signal_handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for info in signals.forever() {
            // A signal from the terminal (Ctrl-C) already reached the child, which shares our
            // process group; one sent to dbguard alone (kill PID) is passed on.
            if info.process.is_some() && child > 0 {
                // SAFETY: plain kill(2) on the child's pid.
                unsafe { libc::kill(child, info.signal) };
            }
        }
    });
    let output = handle.wait();
    signal_handle.close();
    let _ = forwarder.join();
    let status = output
        .map_err(|e| Error::usage(format!("cannot wait for {program}: {e}")))?
        .status;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128u8.saturating_add(signal as u8),
        (None, None) => 1,
    })
}

//! Asking the person at the terminal (`dbguard psql`): on /dev/tty, while psql waits for the
//! statement's answer. One question at a time, whichever session asks.

use std::io::{BufRead, BufReader, Write};
use std::sync::Mutex;

use crate::guard::{self, Confirm};

static TERMINAL: Mutex<()> = Mutex::new(());

/// Whether there is a terminal to ask on.
pub fn available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Shows `what` and asks; anything but the confirming answer (or no terminal) declines.
pub fn ask(confirm: &Confirm, what: &str) -> bool {
    let Some(question) = guard::confirm::question(confirm) else {
        return true;
    };
    let _one_at_a_time = TERMINAL.lock().unwrap_or_else(|e| e.into_inner());
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return false;
    };
    let mut out = &tty;
    if write!(out, "{what}{question}: ")
        .and_then(|_| out.flush())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    match BufReader::new(&tty).read_line(&mut answer) {
        Ok(0) | Err(_) => false,
        Ok(_) => guard::confirm::accepts(confirm, &answer),
    }
}

/// Tells the person at the terminal something (the protection taken).
pub fn tell(line: &str) {
    let _one_at_a_time = TERMINAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        let _ = writeln!(tty, "{line}");
    }
}

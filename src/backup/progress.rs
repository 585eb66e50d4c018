//! Byte progress on a terminal (stderr), silent otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn hidden(quiet: bool) -> bool {
    quiet || !std::io::stderr().is_terminal()
}

pub fn bytes(message: &str, quiet: bool) -> ProgressBar {
    if hidden(quiet) {
        return ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}: {bytes} ({bytes_per_sec}), {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A bar with percentage and time left when the total can be estimated, else a spinner. An
/// estimate that falls short grows with the position instead of showing more than 100%.
pub fn estimated(message: &str, total: Option<u64>, quiet: bool) -> Progress {
    let bar = match total {
        Some(total) if !hidden(quiet) => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg}: [{bar:30}] {percent}% {bytes} of ~{total_bytes} ({bytes_per_sec}, ~{eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(message.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }
        _ => bytes(message, quiet),
    };
    Progress {
        bar,
        estimated: total.is_some(),
    }
}

/// A bar or spinner fed with a byte position.
pub struct Progress {
    bar: ProgressBar,
    estimated: bool,
}

impl Progress {
    pub fn set_position(&self, position: u64) {
        if self.estimated && self.bar.length().is_some_and(|len| position > len) {
            // Keep a little room so an underestimate does not sit at 100%.
            self.bar.set_length(position + position / 20);
        }
        self.bar.set_position(position);
    }

    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// A transfer of a known size: a bar with rate and time left.
pub fn transfer(message: &str, total: u64, quiet: bool) -> ProgressBar {
    if hidden(quiet) {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg}: [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

//! Trying a whole transfer again after a transient failure, with exponential backoff
//! (`retry_delay`, then twice that, …), saying so on stderr each time.

use super::settings::OffsiteSettings;
use super::store::{Failure, StoreResult};

/// Runs `attempt` until it succeeds, fails for good, or `retries` more attempts have failed.
pub fn with_retries<T>(
    settings: &OffsiteSettings,
    what: &str,
    quiet: bool,
    mut attempt: impl FnMut() -> StoreResult<T>,
) -> StoreResult<T> {
    let attempts = settings.retries.saturating_add(1);
    let mut n = 1;
    loop {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(e) if e.failure == Failure::Transient && n < attempts => {
                let delay = settings.delay_before(n);
                if !quiet {
                    eprintln!(
                        "warning: {what} failed (attempt {n} of {attempts}): {}; retrying in {}",
                        e.message,
                        humantime::format_duration(delay)
                    );
                }
                std::thread::sleep(delay);
                n += 1;
            }
            Err(mut e) => {
                if n > 1 {
                    e.message = format!("{} (gave up after {n} attempts)", e.message);
                }
                return Err(e);
            }
        }
    }
}

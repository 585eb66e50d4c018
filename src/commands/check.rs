//! `dbguard check`: inputs → reports (in parallel, file by file) → output → exit code.

use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use super::Context;
use crate::analysis::alembic::{self, walk::Direction};
use crate::analysis::check::{self, FileKind};
use crate::analysis::discover::{self, Input};
use crate::analysis::FileReport;
use crate::cli::{CheckArgs, CheckDirection, FailOn, Format};
use crate::error::{Error, Exit, Result};
use crate::output::{self, Options};

/// How far (in files) workers may run ahead of the output, per worker thread.
const WINDOW_PER_THREAD: usize = 64;
/// Most files a worker takes at once.
const GROUP: usize = 8;

pub fn run(context: &Context, args: CheckArgs) -> Result<Exit> {
    let settings = &context.config.config.check;
    let format = args.format.or(settings.format).unwrap_or(Format::Text);
    let fail_on = args
        .fail_on
        .or(settings.fail_on)
        .unwrap_or(FailOn::DataLoss);
    let directions: &[Direction] = match args.direction {
        CheckDirection::Upgrade => &[Direction::Upgrade],
        CheckDirection::Downgrade => &[Direction::Downgrade],
        CheckDirection::Both => &[Direction::Upgrade, Direction::Downgrade],
    };
    if args.staged {
        let reports = super::staged::reports(context, directions)?;
        return finish(context, format, fail_on, &reports);
    }
    let paths: Vec<PathBuf> = if !args.paths.is_empty() {
        args.paths
    } else if !settings.paths.is_empty() {
        settings
            .paths
            .iter()
            .map(|p| context.config.resolve(p))
            .collect()
    } else {
        vec![PathBuf::from(".")]
    };

    let cwd = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    let version_dirs = super::alembic_version_dirs(context, &cwd);
    let filter = discover::Filter::new(settings.include.as_deref(), &settings.exclude)?;
    let inputs = discover::collect_filtered(&paths, &version_dirs, &filter)?;
    let stdin_text = if inputs.contains(&Input::Stdin) {
        Some(read_stdin()?)
    } else {
        None
    };

    let options = Options {
        palette: context.palette,
        quiet: context.quiet,
    };
    let threshold = fail_on.threshold();
    let check_input = |input: &Input| match input {
        Input::Stdin => check::check_text(stdin_text.as_deref().unwrap_or(""), "<stdin>"),
        Input::File { path, display } if FileKind::of(path) == FileKind::Python => {
            vec![alembic::check::check_file(path, display, directions)]
        }
        Input::File { path, display } => check::check_file(path, display),
    };

    // Files are checked in parallel, and each file's reports are written (in input order) and
    // dropped as soon as the files before it are done: memory stays flat however large the
    // corpus is. After a write error (a closed pipe) the files are still checked, for the
    // exit code.
    let mut failed = false;
    super::write_stdout(|out| {
        let mut stream = output::Stream::start(format, &options, out);
        in_order_parallel(&inputs, check_input, |reports| {
            for report in &reports {
                failed |= threshold.is_some_and(|threshold| {
                    report
                        .findings
                        .iter()
                        .any(|f| !f.suppressed && f.severity >= threshold)
                });
                if let Ok(writer) = &mut stream {
                    if let Err(err) = writer.report(report) {
                        stream = Err(err);
                    }
                }
            }
        });
        stream?.finish().map(drop)
    })?;
    Ok(if failed { Exit::Findings } else { Exit::Ok })
}

/// Renders reports gathered up front (`--staged`) and turns them into the exit code.
fn finish(
    context: &Context,
    format: Format,
    fail_on: FailOn,
    reports: &[FileReport],
) -> Result<Exit> {
    let options = Options {
        palette: context.palette,
        quiet: context.quiet,
    };
    super::write_stdout(|out| output::render(format, reports, &options, out))?;

    let failed = fail_on.threshold().is_some_and(|threshold| {
        reports
            .iter()
            .flat_map(|r| &r.findings)
            .any(|f| !f.suppressed && f.severity >= threshold)
    });
    Ok(if failed { Exit::Findings } else { Exit::Ok })
}

fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
    match check::decode(bytes) {
        check::Decoded::Text(text) | check::Decoded::Lossy(text, _) => Ok(text),
        check::Decoded::Binary => Err(Error::usage("stdin looks like binary data, not SQL")),
    }
}

/// Maps `f` over `items` on rayon's thread pool and hands the results to `sink` on the calling
/// thread, in input order, each as soon as it and every result before it are done. Workers
/// take a few consecutive items at a time and never run more than a window of items ahead of
/// `sink`, so few results wait at once.
fn in_order_parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
    mut sink: impl FnMut(R),
) {
    let workers = if items.len() > 1 {
        rayon::current_num_threads().min(items.len())
    } else {
        1
    };
    if workers <= 1 {
        // One input (or one thread): no pool to start.
        return items.iter().for_each(|item| sink(f(item)));
    }
    // Items per message: fewer wake-ups of the calling thread, still a fine-grained balance.
    let group = (items.len() / (workers * 64)).clamp(1, GROUP);
    let groups = items.len().div_ceil(group);
    let window = (WINDOW_PER_THREAD * workers / group).max(workers);
    let next = AtomicUsize::new(0);
    // How many groups `sink` has taken, and a wake-up for workers waiting on it.
    let taken = AtomicUsize::new(0);
    let lock = Mutex::new(());
    let progress = Condvar::new();
    let (tx, rx) = mpsc::channel::<(usize, std::thread::Result<Vec<R>>)>();
    rayon::in_place_scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, taken, lock, progress, f) = (&next, &taken, &lock, &progress, &f);
            scope.spawn(move |_| loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= groups {
                    break;
                }
                if g >= taken.load(Ordering::Acquire) + window {
                    let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                    while g >= taken.load(Ordering::Acquire) + window {
                        guard = progress.wait(guard).unwrap_or_else(|e| e.into_inner());
                    }
                }
                let group = &items[g * group..((g + 1) * group).min(items.len())];
                // A panic is handed to the calling thread, which would otherwise wait for
                // this group forever.
                let results =
                    panic::catch_unwind(AssertUnwindSafe(|| group.iter().map(f).collect()));
                let panicked = results.is_err();
                if tx.send((g, results)).is_err() || panicked {
                    break;
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut expected = 0;
        while let Ok((g, results)) = rx.recv() {
            let results = match results {
                Ok(results) => results,
                Err(payload) => {
                    // Release waiting workers; they stop at their next send.
                    drop(rx);
                    let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                    taken.store(groups, Ordering::Release);
                    progress.notify_all();
                    drop(_guard);
                    panic::resume_unwind(payload);
                }
            };
            waiting.insert(g, results);
            let before = expected;
            while let Some(results) = waiting.remove(&expected) {
                results.into_iter().for_each(&mut sink);
                expected += 1;
            }
            if expected != before {
                let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
                taken.store(expected, Ordering::Release);
                progress.notify_all();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_parallel_keeps_input_order() {
        let items: Vec<usize> = (0..2000).collect();
        let mut seen = Vec::new();
        in_order_parallel(
            &items,
            |&i| {
                // Uneven work, so results finish out of order.
                let spin = if i % 97 == 0 { 20_000 } else { 10 };
                std::hint::black_box((0..spin).fold(i, |a, b| a.wrapping_add(b) % 1_000_003));
                i * 2
            },
            |r| seen.push(r),
        );
        assert_eq!(seen, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn in_order_parallel_passes_a_panic_on_instead_of_hanging() {
        // The first item is slow and panics while the other workers run a window ahead
        // and wait for it.
        let items: Vec<usize> = (0..20_000).collect();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            in_order_parallel(
                &items,
                |&i| {
                    if i == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        panic!("boom");
                    }
                    i
                },
                |_| {},
            )
        }));
        assert!(outcome.is_err());
    }

    #[test]
    fn in_order_parallel_handles_no_and_one_item() {
        let mut seen = Vec::new();
        in_order_parallel(&[] as &[usize], |&i| i, |r| seen.push(r));
        assert!(seen.is_empty());
        in_order_parallel(&[7], |&i| i + 1, |r| seen.push(r));
        assert_eq!(seen, [8]);
    }
}

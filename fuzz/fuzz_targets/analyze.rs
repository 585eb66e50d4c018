//! Arbitrary bytes (as lossy UTF-8) through the SQL analyzer and the whole file check:
//! nothing may panic, and every finding must have a sane 1-based position.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run analyze fuzz/corpus/analyze fuzz/seeds fixtures/verdicts -- -max_total_time=120

#![no_main]

use libfuzzer_sys::fuzz_target;

use dbguard::analysis::{check, sql};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let analysis = sql::analyze(&text);
    for located in &analysis.ops {
        assert!(located.start <= located.end, "{located:?}");
        assert!(located.end <= text.len(), "{located:?}");
    }

    for report in check::check_text(&text, "fuzz.sql") {
        for finding in &report.findings {
            let span = finding.span;
            assert!(span.line >= 1 && span.column >= 1, "{finding:?}");
            assert!(span.end_line >= 1 && span.end_column >= 1, "{finding:?}");
            assert!(
                (span.end_line, span.end_column) >= (span.line, span.column),
                "{finding:?}"
            );
        }
    }
});

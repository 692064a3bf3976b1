//! Fuzzing on the stable toolchain (issue 16): structure-aware, proptest-driven input
//! generation and byte mutation over what users' bytes reach —
//!
//! | target | what runs (see each module) |
//! |---|---|
//! | `csv_ingest` | `wb etl ingest` (schema inference, CSV → Parquet) and `wb dataset register` + `partition` + loading the splits, on a CSV file |
//! | `decoders` | the model server's request decoders: `text/csv` and `application/json` bodies (`Decoder`, `invoke`), image bodies (`invoke_image`), `Content-Type`/`Accept` handling |
//! | `capture` | the data-capture reader on a capture JSON Lines file (rows, window, confidences, hourly counts, Parquet export, profiles) and the payload decoders |
//! | `archive` | `extract_archive_with` on zip, tar and tar.gz archives, with small limits |
//!
//! Each input runs on a worker thread under `catch_unwind`; a panic anywhere in the process
//! while it runs (a `spawn_blocking` task's included) counts, and an input that takes longer
//! than its target's limit is a hang (10 s in a debug build; 60 s for `decoders`, whose
//! inputs may be 16.7-megapixel images; `WB_FUZZ_HANG_SECONDS` overrides). The targets also assert
//! invariants (nothing extracted outside the destination, decoded values finite, every capture
//! record decoded or skipped, …): a broken invariant is a panic. A failing input is saved as
//! `tests/fuzz/corpus/<target>/<blake3 prefix>.bin` (proptest then shrinks it and the smallest
//! input that still panics is saved too) and the test fails naming the files; keep them: the
//! replay runs them from then on as regression tests.
//!
//! # Running
//!
//! `cargo test --locked --test fuzz` (the default, a few seconds) replays every file of every
//! corpus directory — none may panic or hang, and the valid seeds (`seed-*`) must be accepted —
//! and runs 64 generated inputs per target from a fixed seed.
//!
//! The long mode is one ignored test per target, for `WB_FUZZ_SECONDS` seconds (default 600),
//! seeded by `WB_FUZZ_SEED` (default: the clock; printed):
//!
//! ```sh
//! WB_FUZZ_SECONDS=600 cargo test --locked --test fuzz -- --ignored --test-threads 1 --nocapture capture
//! ```
//!
//! It prints `fuzz-summary target=… inputs=… seconds=… panics=… hangs=…` at the end (and a
//! progress line a minute). `bench/fuzz.sh [TARGET]` runs it for every target (or one) and
//! prints a summary line per target. The input being run is kept in
//! `tests/fuzz/corpus/<target>/in-flight` (ignored by git) during the long mode: if the process
//! dies on it (an abort, out of memory), the next long run of the target keeps it in the corpus.

mod archive;
mod capture;
mod csv_ingest;
mod decoders;
mod driver;
mod mutate;

/// The corpus of each target replays cleanly, and its seeds are accepted.
mod replay {
    use crate::{archive, capture, csv_ingest, decoders, driver};

    #[test]
    fn csv_ingest() {
        driver::replay(&csv_ingest::TARGET);
    }

    #[test]
    fn decoders() {
        driver::replay(&decoders::TARGET);
    }

    #[test]
    fn capture() {
        driver::replay(&capture::TARGET);
    }

    #[test]
    fn archive() {
        driver::replay(&archive::TARGET);
    }
}

/// A few generated inputs per target, from a fixed seed.
mod generated {
    use crate::{archive, capture, csv_ingest, decoders, driver};

    #[test]
    fn csv_ingest() {
        driver::quick(&csv_ingest::TARGET);
    }

    #[test]
    fn decoders() {
        driver::quick(&decoders::TARGET);
    }

    #[test]
    fn capture() {
        driver::quick(&capture::TARGET);
    }

    #[test]
    fn archive() {
        driver::quick(&archive::TARGET);
    }
}

/// The long mode: `WB_FUZZ_SECONDS` (default 600) seconds per target.
mod long {
    use crate::{archive, capture, csv_ingest, decoders, driver};

    #[test]
    #[ignore = "long: WB_FUZZ_SECONDS (default 600) of fuzzing"]
    fn csv_ingest() {
        driver::long(&csv_ingest::TARGET);
    }

    #[test]
    #[ignore = "long: WB_FUZZ_SECONDS (default 600) of fuzzing"]
    fn decoders() {
        driver::long(&decoders::TARGET);
    }

    #[test]
    #[ignore = "long: WB_FUZZ_SECONDS (default 600) of fuzzing"]
    fn capture() {
        driver::long(&capture::TARGET);
    }

    #[test]
    #[ignore = "long: WB_FUZZ_SECONDS (default 600) of fuzzing"]
    fn archive() {
        driver::long(&archive::TARGET);
    }
}

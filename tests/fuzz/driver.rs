//! The driver: runs a target's inputs under `catch_unwind` on a worker thread with a watchdog,
//! keeps the inputs that panic or hang in the corpus, replays the corpus.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

use proptest::strategy::{BoxedStrategy, Strategy as _, ValueTree as _};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// What a target did with one input: `Ok` when the library accepted it, `Err` with the
/// library's message when it refused it. Both are fine; panics and hangs are not.
pub(crate) type Verdict = Result<(), String>;

/// Runs one input (built once per worker thread, so it may keep state such as a runtime).
pub(crate) type Runner = Box<dyn FnMut(&[u8]) -> Verdict>;

/// One fuzz target.
pub(crate) struct Target {
    /// The name: the corpus directory and the test names.
    pub(crate) name: &'static str,
    /// Builds the function that runs one input, on the worker thread.
    pub(crate) runner: fn() -> Runner,
    /// The input generator, given the corpus files as mutation bases.
    pub(crate) inputs: fn(Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>>,
    /// An input running longer than this is a hang (a debug build; `WB_FUZZ_HANG_SECONDS`
    /// overrides it for every target).
    pub(crate) hang_seconds: u64,
}

/// Generated inputs per target in the default (quick) mode.
pub(crate) const QUICK_INPUTS: u64 = 64;

/// The default budget of the long mode, in seconds (`WB_FUZZ_SECONDS`).
const DEFAULT_SECONDS: u64 = 600;

/// An input running longer than this is a hang, unless the target says otherwise.
pub(crate) const DEFAULT_HANG_SECONDS: u64 = 10;

/// Most steps spent shrinking one panicking input.
const MAX_SHRINK_STEPS: u32 = 500;

/// Most time spent shrinking one panicking input.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(60);

/// Lines of a panic's backtrace kept (when `RUST_BACKTRACE` asks for one).
const MAX_BACKTRACE_LINES: usize = 40;

/// The corpus directory of a target.
pub(crate) fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(target)
}

/// The file holding the input being run in the long mode: if the process dies (an abort, an
/// out-of-memory kill), the next run finds it and keeps it in the corpus.
fn in_flight_path(target: &str) -> PathBuf {
    corpus_dir(target).join("in-flight")
}

/// The corpus files of a target (sorted; hidden files and the in-flight file left out).
pub(crate) fn corpus_files(target: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(corpus_dir(target)) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.') && n != "in-flight"))
        .collect();
    files.sort();
    files
}

/// Saves a failing input as `corpus/<target>/<blake3 prefix>.bin`; returns its path.
fn save(target: &str, input: &[u8]) -> PathBuf {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    let hash = blake3::hash(input).to_hex();
    let path = dir.join(format!("{}.bin", &hash[..16]));
    std::fs::write(&path, input).expect("write a corpus file");
    path
}

// ---- panics ---------------------------------------------------------------------------------

/// Every panic of the process since the hook was installed ("message at file:line in thread").
/// Panics caught inside the library (a `spawn_blocking` task's `JoinError`) count too.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    /// Set on the test's thread: its panics are the test's failures, not findings.
    static DRIVING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One target runs at a time, so that the panics recorded are its own.
static EXCLUSIVE: Mutex<()> = Mutex::new(());

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string payload)".to_owned());
            let location = info.location().map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
            let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
            if DRIVING.get() {
                // The test's own failure: reported as usual.
                default(info);
                return;
            }
            let backtrace = std::backtrace::Backtrace::capture();
            let backtrace = match backtrace.status() {
                std::backtrace::BacktraceStatus::Captured => {
                    let text = backtrace.to_string();
                    let head: Vec<&str> = text.lines().take(MAX_BACKTRACE_LINES).collect();
                    format!("\n{}", head.join("\n"))
                }
                _ => String::new(),
            };
            panics().push(format!("{message}{location} (thread {thread}){backtrace}"));
        }));
    });
}

fn panics() -> MutexGuard<'static, Vec<String>> {
    PANICS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes the target lock and installs the panic hook.
fn exclusive() -> MutexGuard<'static, ()> {
    install_panic_hook();
    DRIVING.set(true);
    EXCLUSIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- the worker -----------------------------------------------------------------------------

/// What running one input gave.
#[derive(Debug)]
enum Outcome {
    Accepted,
    Refused(String),
    Panicked(String),
    Hung,
}

/// A thread running one target's inputs; a hang abandons it (a thread cannot be killed).
struct Worker {
    inputs: Sender<Vec<u8>>,
    outcomes: Receiver<(Verdict, Vec<String>)>,
}

impl Worker {
    fn spawn(target: &Target) -> Self {
        let (inputs, input_rx) = mpsc::channel::<Vec<u8>>();
        let (outcome_tx, outcomes) = mpsc::channel();
        let make = target.runner;
        std::thread::Builder::new()
            .name(format!("fuzz-{}", target.name))
            .spawn(move || {
                let mut run = make();
                for input in input_rx {
                    let before = panics().len();
                    let verdict = panic::catch_unwind(AssertUnwindSafe(|| run(&input)))
                        .unwrap_or_else(|_| Err("(panicked)".to_owned()));
                    let new_panics = panics().get(before..).map(<[String]>::to_vec).unwrap_or_default();
                    if outcome_tx.send((verdict, new_panics)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the fuzz worker");
        Self { inputs, outcomes }
    }

    fn run(&self, input: &[u8], hang: Duration) -> Outcome {
        if self.inputs.send(input.to_vec()).is_err() {
            return Outcome::Panicked("the worker thread died".into());
        }
        match self.outcomes.recv_timeout(hang) {
            Ok((_, panics)) if !panics.is_empty() => Outcome::Panicked(panics.join("\n")),
            Ok((Ok(()), _)) => Outcome::Accepted,
            Ok((Err(message), _)) => Outcome::Refused(message),
            Err(RecvTimeoutError::Timeout) => Outcome::Hung,
            Err(RecvTimeoutError::Disconnected) => Outcome::Panicked("the worker thread died".into()),
        }
    }
}

fn hang_limit(target: &Target) -> Duration {
    Duration::from_secs(env_u64("WB_FUZZ_HANG_SECONDS").unwrap_or(target.hang_seconds))
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().parse().unwrap_or_else(|e| panic!("{name}={value:?}: {e}")))
}

// ---- reports --------------------------------------------------------------------------------

/// One panic or hang, and where its input was kept.
#[derive(Debug)]
struct Failure {
    kind: &'static str,
    file: PathBuf,
    message: String,
}

/// What a run did.
#[derive(Debug, Default)]
struct Report {
    inputs: u64,
    accepted: u64,
    refused: u64,
    panics: u64,
    hangs: u64,
    failures: Vec<Failure>,
    /// Seed files the library refused (it must accept them).
    refused_seeds: Vec<String>,
}

impl Report {
    fn record(&mut self, outcome: &Outcome) {
        self.inputs += 1;
        match outcome {
            Outcome::Accepted => self.accepted += 1,
            Outcome::Refused(_) => self.refused += 1,
            Outcome::Panicked(_) => self.panics += 1,
            Outcome::Hung => self.hangs += 1,
        }
    }

    fn summary(&self, target: &str, mode: &str, elapsed: Duration) -> String {
        format!(
            "fuzz-summary target={target} mode={mode} inputs={} seconds={:.1} panics={} hangs={} accepted={} refused={}",
            self.inputs,
            elapsed.as_secs_f64(),
            self.panics,
            self.hangs,
            self.accepted,
            self.refused
        )
    }

    /// Fails with every failure and the files their inputs were saved to.
    fn assert_clean(&self, target: &str) {
        let mut problems: Vec<String> = self
            .failures
            .iter()
            .map(|f| format!("{} on {}:\n  {}", f.kind, f.file.display(), f.message.replace('\n', "\n  ")))
            .collect();
        problems.extend(self.refused_seeds.iter().cloned());
        assert!(
            problems.is_empty() && self.panics == 0 && self.hangs == 0,
            "fuzz target {target}: {} panics, {} hangs, {} refused seeds (inputs kept in {}):\n{}",
            self.panics,
            self.hangs,
            self.refused_seeds.len(),
            corpus_dir(target).display(),
            problems.join("\n")
        );
    }
}

// ---- the modes ------------------------------------------------------------------------------

/// Replays every corpus file of `target`: none may panic or hang, and the seed files
/// (`seed-*`) must be accepted.
pub(crate) fn replay(target: &Target) {
    let _lock = exclusive();
    let started = Instant::now();
    let files = corpus_files(target.name);
    let seeds = files.iter().filter(|f| is_seed(f)).count();
    assert!(seeds > 0, "{} holds no seed-* file", corpus_dir(target.name).display());
    let mut report = Report::default();
    let mut worker = Worker::spawn(target);
    for file in &files {
        let input = std::fs::read(file).expect("read a corpus file");
        let outcome = worker.run(&input, hang_limit(target));
        report.record(&outcome);
        match outcome {
            Outcome::Accepted => {}
            Outcome::Refused(message) => {
                if is_seed(file) {
                    report.refused_seeds.push(format!("seed {} was refused: {message}", file.display()));
                }
            }
            Outcome::Panicked(message) => {
                report.failures.push(Failure { kind: "panic", file: file.clone(), message });
            }
            Outcome::Hung => {
                report.failures.push(Failure { kind: "hang", file: file.clone(), message: hang_message(target) });
                worker = Worker::spawn(target);
            }
        }
    }
    println!("{}", report.summary(target.name, "replay", started.elapsed()));
    report.assert_clean(target.name);
}

fn is_seed(file: &Path) -> bool {
    file.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-"))
}

fn hang_message(target: &Target) -> String {
    format!("no answer after {} s", hang_limit(target).as_secs())
}

/// How much to generate.
#[derive(Clone, Copy, Debug)]
enum Budget {
    Inputs(u64),
    Time(Duration),
}

/// The quick mode: [`QUICK_INPUTS`] generated inputs from a fixed seed.
pub(crate) fn quick(target: &Target) {
    let _lock = exclusive();
    let seed = u64::from_le_bytes(blake3::hash(target.name.as_bytes()).as_bytes()[..8].try_into().expect("8 bytes"));
    fuzz(target, Budget::Inputs(QUICK_INPUTS), seed, "quick", false);
}

/// The long mode: generated inputs for `WB_FUZZ_SECONDS` (default 600) seconds, seeded by
/// `WB_FUZZ_SEED` (default: the clock).
pub(crate) fn long(target: &Target) {
    let _lock = exclusive();
    let died_on = in_flight_path(target.name);
    if let Ok(input) = std::fs::read(&died_on) {
        let kept = save(target.name, &input);
        let _ = std::fs::remove_file(&died_on);
        println!("a previous run died on an input, now kept as {}", kept.display());
    }
    let seconds = env_u64("WB_FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS);
    let seed = env_u64("WB_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    });
    println!("fuzzing {} for {seconds} s, WB_FUZZ_SEED={seed}", target.name);
    fuzz(target, Budget::Time(Duration::from_secs(seconds)), seed, "long", true);
}

fn fuzz(target: &Target, budget: Budget, seed: u64, mode: &str, track_in_flight: bool) {
    let started = Instant::now();
    let bases: Vec<Vec<u8>> =
        corpus_files(target.name).iter().map(|f| std::fs::read(f).expect("read a corpus file")).collect();
    let strategy = (target.inputs)(bases);
    let mut rng_seed = [0u8; 32];
    rng_seed[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed));
    let mut report = Report::default();
    let worker = Worker::spawn(target);
    let in_flight = in_flight_path(target.name);
    let mut next_progress = Duration::from_secs(60);
    loop {
        let done = match budget {
            Budget::Inputs(n) => report.inputs >= n,
            Budget::Time(d) => started.elapsed() >= d,
        };
        if done {
            break;
        }
        if matches!(budget, Budget::Time(_)) && started.elapsed() >= next_progress {
            eprintln!("{}", report.summary(target.name, "progress", started.elapsed()));
            next_progress += Duration::from_secs(60);
        }
        let mut tree = strategy.new_tree(&mut runner).expect("generate an input");
        let input = tree.current();
        if track_in_flight {
            std::fs::write(&in_flight, &input).expect("write the in-flight input");
        }
        let outcome = worker.run(&input, hang_limit(target));
        report.record(&outcome);
        match outcome {
            Outcome::Accepted | Outcome::Refused(_) => {}
            Outcome::Hung => {
                let file = save(target.name, &input);
                report.failures.push(Failure { kind: "hang", file, message: hang_message(target) });
                // The worker is stuck; the target stops here.
                break;
            }
            Outcome::Panicked(message) => {
                let file = save(target.name, &input);
                report.failures.push(Failure { kind: "panic", file, message });
                // Let proptest shrink it, and keep the smallest input that still panics too.
                let shrink_started = Instant::now();
                let mut smallest: Option<(Vec<u8>, String)> = None;
                let mut steps = 0;
                let mut stuck = false;
                if tree.simplify() {
                    loop {
                        steps += 1;
                        let candidate = tree.current();
                        let simpler = match worker.run(&candidate, hang_limit(target)) {
                            Outcome::Panicked(message) => {
                                smallest = Some((candidate, message));
                                tree.simplify()
                            }
                            Outcome::Hung => {
                                let file = save(target.name, &candidate);
                                report.hangs += 1;
                                report.failures.push(Failure { kind: "hang", file, message: hang_message(target) });
                                stuck = true;
                                false
                            }
                            Outcome::Accepted | Outcome::Refused(_) => tree.complicate(),
                        };
                        if !simpler || steps >= MAX_SHRINK_STEPS || shrink_started.elapsed() >= MAX_SHRINK_TIME {
                            break;
                        }
                    }
                }
                if let Some((input, message)) = smallest {
                    let file = save(target.name, &input);
                    report.failures.push(Failure {
                        kind: "panic (shrunk)",
                        file,
                        message: format!("{} bytes: {message}", input.len()),
                    });
                }
                if stuck {
                    break;
                }
            }
        }
    }
    if track_in_flight {
        let _ = std::fs::remove_file(&in_flight);
    }
    println!("{}", report.summary(target.name, mode, started.elapsed()));
    report.assert_clean(target.name);
}

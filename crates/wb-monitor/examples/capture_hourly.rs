//! Benchmark P5: predictions and low-confidence predictions per hour of a capture directory.
//!
//! ```text
//! cargo run --release --example capture_hourly -- DIR [THRESHOLD] [--endpoint ep] [--prefix P] [--rows]
//! ```
//!
//! Opens `DIR` as a local store, reads `[P/]<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl` and
//! prints `seconds records hours predictions low_confidence` on one line (the anchors print
//! `seconds records hours`). `--rows` reads through the general row path
//! (`for_each_batch`) instead of the hourly fast path. Exits with 1 when records were skipped
//! or when predictions do not add up to the decoded records.

use std::sync::Arc;
use std::time::Instant;

use wb_core::{DynObjectStore, LocalStore, ObjectPath};
use wb_monitor::capture::CaptureReader;
use wb_monitor::hourly::{DEFAULT_THRESHOLD, HourlyAccumulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut threshold = DEFAULT_THRESHOLD;
    let mut endpoint = "ep".to_owned();
    let mut prefix: Option<ObjectPath> = None;
    let mut rows_path = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--endpoint" => endpoint = args.next().ok_or("--endpoint needs a value")?,
            "--prefix" => prefix = Some(ObjectPath::parse(args.next().ok_or("--prefix needs a value")?)?),
            "--rows" => rows_path = true,
            _ if dir.is_none() => dir = Some(a),
            _ => threshold = a.parse()?,
        }
    }
    let dir = dir.ok_or("usage: capture_hourly DIR [THRESHOLD] [--endpoint ep] [--prefix P] [--rows]")?;
    let t0 = Instant::now();
    let store: DynObjectStore = Arc::new(LocalStore::open(std::path::Path::new(&dir))?);
    let reader = CaptureReader::new(store, endpoint).destination(prefix).decode_inputs(false);
    let (hourly, outcome) = if rows_path {
        let mut acc = HourlyAccumulator::new(threshold)?;
        let outcome = reader
            .for_each_batch(|rows| {
                acc.add_rows(rows);
                Ok(())
            })
            .await?;
        (acc, outcome)
    } else {
        reader.hourly_confidence(threshold).await?
    };
    let secs = t0.elapsed().as_secs_f64();
    let hours = hourly.hours();
    println!(
        "{secs:.3} {} {} {} {}",
        outcome.counts.records,
        hours.len(),
        hourly.predictions(),
        hourly.low_confidence()
    );
    if outcome.counts.skipped > 0 || hourly.predictions() != outcome.counts.decoded {
        eprintln!(
            "totals do not add up: {:?}, first problems: {:?}",
            outcome.counts,
            &outcome.problems[..outcome.problems.len().min(3)]
        );
        std::process::exit(1);
    }
    Ok(())
}

//! Benchmark P5: predictions and low-confidence predictions per hour of a capture directory.
//!
//! ```text
//! cargo run --release --example capture_hourly -- DIR [THRESHOLD] [--endpoint ep] [--prefix P] [--rows]
//! ```
//!
//! Opens `DIR` as a local store, reads `[P/]<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl` and
//! prints `seconds records hours predictions low_confidence` on one line (the anchors print
//! `seconds records hours`). `--rows` reads through the general row path
//! (`for_each_batch`) instead of the hourly fast path. `--full` times a whole monitoring run
//! instead (`monitor::Analysis`: every input row decoded and profiled with the confidence
//! column, checked against a baseline, hourly confidence and histograms) and prints
//! `seconds records hours predictions low_confidence violations`; its baseline (untimed) is
//! profiled from the capture's first hour, with 11 numeric columns and two classes as
//! `gen_capture.py` writes them. Exits with 1 when records were skipped or when predictions do
//! not add up to the decoded records.

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
    let mut full = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--endpoint" => endpoint = args.next().ok_or("--endpoint needs a value")?,
            "--prefix" => prefix = Some(ObjectPath::parse(args.next().ok_or("--prefix needs a value")?)?),
            "--rows" => rows_path = true,
            "--full" => full = true,
            _ if dir.is_none() => dir = Some(a),
            _ => threshold = a.parse()?,
        }
    }
    let dir = dir.ok_or("usage: capture_hourly DIR [THRESHOLD] [--endpoint ep] [--prefix P] [--rows]")?;
    let store: DynObjectStore = Arc::new(LocalStore::open(std::path::Path::new(&dir))?);
    if full {
        return full_run(store, endpoint, prefix, threshold).await;
    }
    let t0 = Instant::now();
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

/// A whole monitoring run over the capture, against a baseline of its first hour.
async fn full_run(
    store: DynObjectStore,
    endpoint: String,
    prefix: Option<ObjectPath>,
    threshold: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    use wb_monitor::RowSchema;
    use wb_monitor::monitor::Analysis;
    use wb_monitor::profile::{ColumnHint, Profiler};
    use wb_monitor::report::CONFIDENCE_COLUMN;

    let schema = RowSchema {
        features: (0..11).map(|i| format!("_c{i}")).collect(),
        numeric: vec![true; 11],
        missing: Vec::new(),
        classes: vec!["0".into(), "1".into()],
        regression: false,
    };
    // The baseline: the first hour of the capture (not timed).
    let mut columns = schema.features.clone();
    columns.push(CONFIDENCE_COLUMN.to_owned());
    let hints = vec![Some(ColumnHint::Numeric); columns.len()];
    let mut profiler = Profiler::with_hints(columns, &hints)?;
    let first = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")?.to_utc();
    let window = wb_monitor::Window::new(Some(first), Some(first + chrono::Duration::hours(1)))?;
    let mut row = Vec::new();
    CaptureReader::new(store.clone(), endpoint.clone())
        .destination(prefix.clone())
        .schema(schema.clone())
        .window(window)
        .for_each_batch(|rows| {
            for r in rows {
                row.clear();
                row.extend(r.features.iter().cloned());
                row.push(
                    r.output
                        .as_ref()
                        .and_then(wb_monitor::ModelOutput::confidence)
                        .map_or(wb_monitor::Value::Missing, wb_monitor::Value::Number),
                );
                profiler.observe_row(&row);
            }
            Ok(())
        })
        .await?;
    let baseline = profiler.finish();
    let constraints = wb_monitor::constraints::suggest(&baseline);

    let t0 = Instant::now();
    let analysis = Analysis {
        store,
        endpoint,
        destination: prefix,
        window: wb_monitor::Window::default(),
        threshold,
        at: chrono::Utc::now(),
    };
    let report = analysis.run(&schema, baseline, &constraints).await?;
    let secs = t0.elapsed().as_secs_f64();
    let confidence = report.confidence.as_ref().ok_or("no confidence summary")?;
    println!(
        "{secs:.3} {} {} {} {} {}",
        report.counts.records,
        confidence.hourly.len(),
        confidence.predictions,
        confidence.low_confidence,
        report.violations.violations.len()
    );
    if report.counts.skipped > 0 || confidence.predictions != report.counts.rows {
        eprintln!("totals do not add up: {:?}", report.counts);
        std::process::exit(1);
    }
    Ok(())
}

//! `wb monitor …`: baselines, monitoring runs, capture read-back, listings and SageMaker
//! schedules.

use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use wb_core::{EndpointName, ObjectPath};
use wb_monitor::capture::{CaptureReader, ReadOutcome};
use wb_monitor::export::{ParquetExport, infer_schema, positional_schema};
use wb_monitor::hourly::{HourlyAccumulator, HourlyConfidence};
use wb_monitor::monitor::Monitor;
use wb_monitor::report::MonitoringReport;
use wb_monitor::{RowSchema, Window};
use wb_serving::backend::{MonitoringAnalyzer, MonitoringScheduleRequest};

use crate::cli::{
    MonitorBaselineArgs, MonitorCapturesArgs, MonitorCommand, MonitorListArgs, MonitorRunArgs, MonitorScheduleArgs,
    WindowArgs,
};
use crate::context::Context;
use crate::output::{print_json, report_location, spinner};

/// `wb monitor run --fail-on-violation` found violations: the command exits with status 2.
#[derive(Debug)]
pub(crate) struct ViolationsFound {
    pub(crate) count: usize,
    pub(crate) report: String,
}

impl std::fmt::Display for ViolationsFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} violation(s) found (--fail-on-violation); report: {}", self.count, self.report)
    }
}

impl std::error::Error for ViolationsFound {}

pub(crate) async fn run(command: MonitorCommand, ctx: &Context, quiet: bool) -> Result<()> {
    match command {
        MonitorCommand::Baseline(args) => baseline(args, ctx, quiet).await,
        MonitorCommand::Run(args) => monitor_run(args, ctx, quiet).await,
        MonitorCommand::Captures(args) => captures(args, ctx, quiet).await,
        MonitorCommand::List(args) => list(args, ctx).await,
        MonitorCommand::Schedule(args) => schedule(args, ctx).await,
    }
}

/// A UTC time from the command line: RFC 3339 (`2026-12-06T10:00:00Z`) or a date
/// (`2026-12-06`, midnight UTC).
pub(crate) fn parse_time(flag: &str, text: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    anyhow::bail!("{flag} {text:?} is not a time: give RFC 3339 (2026-12-06T10:00:00Z) or a date (2026-12-06)")
}

fn window(args: &WindowArgs) -> Result<Window> {
    let since = args.since.as_deref().map(|t| parse_time("--since", t)).transpose()?;
    let until = args.until.as_deref().map(|t| parse_time("--until", t)).transpose()?;
    Ok(Window::new(since, until)?)
}

fn destination(args: &WindowArgs) -> Result<Option<ObjectPath>> {
    args.destination
        .as_deref()
        .map(|d| ObjectPath::parse(d.trim_matches('/')).with_context(|| format!("--destination {d:?}")))
        .transpose()
}

fn threshold(p: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&p) { Ok(p) } else { anyhow::bail!("--threshold {p} is not a probability (0 to 1)") }
}

async fn baseline(args: MonitorBaselineArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let endpoint = EndpointName::parse(&args.endpoint)?;
    let bar = spinner(quiet, format!("profiling the train split of {endpoint}'s dataset"));
    let made = Monitor::new(ctx.store.clone()).baseline(&endpoint).await;
    bar.finish_and_clear();
    let baseline = made?;
    if args.json {
        return print_json(&serde_json::json!({
            "prefix": baseline.prefix,
            "source": baseline.source,
            "statistics": baseline.statistics,
            "constraints": baseline.constraints,
        }));
    }
    println!(
        "baseline of {endpoint}: {} columns from {} train rows of {}",
        baseline.statistics.features.len(),
        baseline.source.train_rows,
        baseline.source.dataset
    );
    match &baseline.source.confidence_note {
        None => println!("confidence: the model's answers on {} validation rows", baseline.source.validation_rows),
        Some(note) => println!("confidence: not baselined — {note}"),
    }
    println!("written: {}/{{statistics,constraints,schema}}.json", baseline.prefix);
    Ok(())
}

async fn monitor_run(args: MonitorRunArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let endpoint = EndpointName::parse(&args.endpoint)?;
    let window = window(&args.window)?;
    let monitor = Monitor::new(ctx.store.clone());
    let mut run = monitor.run(&endpoint).window(window).threshold(threshold(args.threshold)?);
    if let Some(prefix) = destination(&args.window)? {
        run = run.destination(prefix);
    }
    let bar = spinner(quiet, format!("reading {endpoint}'s capture"));
    let outcome = run.await;
    bar.finish_and_clear();
    let done = outcome?;
    let prefix = done.prefix.as_ref().map(|p| report_location(&ctx.store, p)).unwrap_or_default();
    if args.json {
        print_json(&serde_json::json!({ "report": done.report, "prefix": prefix }))?;
    } else {
        print_report(&done.report, &prefix);
    }
    let count = done.report.violations.violations.len();
    if args.fail_on_violation && count > 0 {
        return Err(ViolationsFound { count, report: prefix }.into());
    }
    Ok(())
}

/// The human summary of a run.
pub(crate) fn print_report(report: &MonitoringReport, prefix: &str) {
    let c = &report.counts;
    println!(
        "{}: {} records in {} files ({} decoded, {} skipped), {} rows",
        report.endpoint, c.records, c.files, c.decoded, c.skipped, c.rows
    );
    for p in report.problems.iter().take(5) {
        println!("  skipped {}:{}: {}", p.file, p.line, p.message);
    }
    if c.records == 0 {
        println!("no captured records in the window");
    }
    if let Some(conf) = &report.confidence {
        println!(
            "confidence: {} of {} predictions below {} ({:.1}%)",
            conf.low_confidence,
            conf.predictions,
            conf.threshold,
            if conf.predictions == 0 { 0.0 } else { 100.0 * conf.low_confidence as f64 / conf.predictions as f64 }
        );
    }
    let drifted: Vec<&str> = report.drift.iter().filter(|d| d.drifted).map(|d| d.feature.as_str()).collect();
    if !drifted.is_empty() {
        println!("drifted: {}", drifted.join(", "));
    }
    if report.violations.violations.is_empty() {
        println!("violations: none");
    } else {
        println!("violations: {}", report.violations.violations.len());
        for v in &report.violations.violations {
            let kind = serde_json::to_value(v.constraint_check_type).ok().and_then(|k| k.as_str().map(str::to_owned));
            println!("  {:<24} {:<28} {}", v.feature_name, kind.unwrap_or_default(), v.description);
        }
    }
    if !prefix.is_empty() {
        println!("report: {prefix}");
    }
}

/// The columns capture is decoded into: the baseline's, else the endpoint's model's, else
/// positional (`_c0`, …).
async fn capture_schema(ctx: &Context, endpoint: &EndpointName) -> Result<Option<RowSchema>> {
    let monitor = Monitor::new(ctx.store.clone());
    match monitor.read_baseline(endpoint).await {
        Ok(baseline) => return Ok(Some(baseline.source.schema)),
        Err(wb_monitor::Error::NoBaseline { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let Ok(record) = ctx.project.endpoints().get(endpoint).await else { return Ok(None) };
    match wb_serving::endpoints::load_artifact(&ctx.store, &record.model_artifact).await {
        Ok(artifact) => Ok(Some(RowSchema::from_model(&artifact.schema))),
        Err(e) => {
            tracing::warn!(%endpoint, error = %e, "reading capture without the model's column names");
            Ok(None)
        }
    }
}

#[derive(Serialize)]
struct CapturesOutput<'a> {
    endpoint: &'a str,
    outcome: &'a ReadOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    hourly: Option<&'a [HourlyConfidence]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parquet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart: Option<&'a ChartWritten>,
}

/// The confidence chart `--chart` wrote.
#[derive(Serialize)]
pub(crate) struct ChartWritten {
    pub(crate) path: String,
    pub(crate) inferences: usize,
    pub(crate) below_threshold: usize,
    pub(crate) threshold: f64,
}

/// Draws every inference `reader` reads into an SVG chart at `path` (written beside and renamed).
pub(crate) async fn write_confidence_chart(
    reader: CaptureReader,
    threshold: f64,
    path: &std::path::Path,
) -> Result<ChartWritten> {
    let (points, _) = reader.confidences().await?;
    let svg = wb_monitor::render::observed_inferences_svg(&points, threshold);
    wb_core::write_file_atomically(path, svg.as_bytes())?;
    Ok(ChartWritten {
        path: path.display().to_string(),
        inferences: points.len(),
        below_threshold: points.iter().filter(|(_, c)| *c < threshold).count(),
        threshold,
    })
}

async fn captures(args: MonitorCapturesArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let endpoint = EndpointName::parse(&args.endpoint)?;
    let window = window(&args.window)?;
    let threshold = threshold(args.threshold)?;
    let schema = capture_schema(ctx, &endpoint).await?;
    let mut reader =
        CaptureReader::new(ctx.store.clone(), endpoint.as_str()).window(window).decode_inputs(args.to.is_some());
    if let Some(schema) = schema.clone() {
        reader = reader.schema(schema);
    }
    if let Some(prefix) = destination(&args.window)? {
        reader = reader.destination(prefix);
    }
    if let Some(variant) = &args.variant {
        reader = reader.variant(variant.clone());
    }
    let bar = spinner(quiet, format!("reading {endpoint}'s capture"));
    let chart = match &args.chart {
        Some(path) => match write_confidence_chart(reader.clone(), threshold, path).await {
            Ok(chart) => Some(chart),
            Err(e) => {
                bar.finish_and_clear();
                return Err(e);
            }
        },
        None => None,
    };
    let (outcome, hourly, parquet) = match &args.to {
        // Every row to Parquet (and the hours from the same rows).
        Some(path) => {
            let mut export: Option<ParquetExport> = None;
            let mut hourly = HourlyAccumulator::new(threshold)?;
            let read = reader
                .for_each_batch(|rows| {
                    hourly.add_rows(rows);
                    let e = match &mut export {
                        Some(e) => e,
                        None => export
                            .insert(ParquetExport::create(path, schema.clone().unwrap_or_else(|| infer_schema(rows)))?),
                    };
                    e.write(rows)
                })
                .await;
            let outcome = match read {
                Ok(outcome) => outcome,
                Err(e) => {
                    bar.finish_and_clear();
                    return Err(e.into());
                }
            };
            let export = match export {
                Some(e) => e,
                None => ParquetExport::create(path, schema.clone().unwrap_or_else(|| positional_schema(0, false)))?,
            };
            let summary = export.finish()?;
            (outcome, args.hourly.then_some(hourly), Some((path.display().to_string(), summary.rows)))
        }
        // The fast path: outputs and times only.
        None if args.hourly => {
            let (hourly, outcome) = reader.hourly_confidence(threshold).await?;
            (outcome, Some(hourly), None)
        }
        None => (reader.for_each_batch(|_| Ok(())).await?, None, None),
    };
    bar.finish_and_clear();
    let hourly = hourly.map(|h| h.hours());
    if args.json {
        return print_json(&CapturesOutput {
            endpoint: endpoint.as_str(),
            outcome: &outcome,
            hourly: hourly.as_deref(),
            parquet: parquet.as_ref().map(|(p, _)| p.clone()),
            chart: chart.as_ref(),
        });
    }
    let c = &outcome.counts;
    println!(
        "{endpoint}: {} files, {} records read, {} decoded, {} skipped, {} rows",
        c.files, c.records, c.decoded, c.skipped, c.rows
    );
    for p in &outcome.problems {
        println!("  skipped {}:{}: {}", p.file, p.line, p.message);
    }
    if let Some(hourly) = &hourly {
        println!("{:<20} {:>11} {:>8} {:>9}", "hour (UTC)", "predictions", "low", "mean");
        for h in hourly {
            println!(
                "{:<20} {:>11} {:>8} {:>9.4}",
                h.hour.format("%Y-%m-%dT%H:00Z"),
                h.predictions,
                h.low_confidence,
                h.mean_confidence
            );
        }
    }
    if let Some((path, rows)) = parquet {
        println!("wrote {path} ({rows} rows)");
    }
    if let Some(chart) = &chart {
        println!(
            "wrote {} ({} inferences, {} below the threshold {})",
            chart.path, chart.inferences, chart.below_threshold, chart.threshold
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct Listing {
    /// Endpoints with a baseline.
    baselines: Vec<String>,
    /// Every report, newest first.
    reports: Vec<wb_monitor::reports::MonitoringReportSummary>,
}

async fn list(args: MonitorListArgs, ctx: &Context) -> Result<()> {
    let reports = wb_monitor::reports::list(&ctx.store).await?;
    let root = ObjectPath::parse("monitoring")?;
    let mut baselines: Vec<String> = ctx
        .store
        .list(Some(&root))
        .await?
        .into_iter()
        .filter_map(|meta| {
            let s: Vec<&str> = meta.path.segments().collect();
            (s.len() == 4 && s[2] == "baseline" && s[3] == "schema.json").then(|| s[1].to_owned())
        })
        .collect();
    baselines.sort();
    if args.json {
        return print_json(&Listing { baselines, reports });
    }
    if baselines.is_empty() && reports.is_empty() {
        println!("no baselines or monitoring reports (wb monitor baseline, then wb monitor run)");
        return Ok(());
    }
    println!("baselines: {}", if baselines.is_empty() { "none".to_owned() } else { baselines.join(", ") });
    for r in &reports {
        println!("{:<24} {:<22} {:>8} records {:>3} violations", r.endpoint, r.id, r.counts.records, r.violations);
    }
    Ok(())
}

async fn schedule(args: MonitorScheduleArgs, ctx: &Context) -> Result<()> {
    let endpoint = EndpointName::parse(&args.endpoint)?;
    let analyzer = if args.own_analyzer {
        MonitoringAnalyzer::Container { image: None }
    } else {
        MonitoringAnalyzer::ModelMonitor
    };
    let request = MonitoringScheduleRequest::new(endpoint)?.schedule_expression(args.cron).analyzer(analyzer);
    let schedule = ctx.project.backend().schedule_monitoring(request).await?;
    if args.json {
        return print_json(&schedule);
    }
    println!(
        "{} {} ({}) runs {} with {}",
        if schedule.replaced { "replaced" } else { "created" },
        schedule.name,
        schedule.job_definition,
        schedule.schedule_expression,
        schedule.image
    );
    println!("reports: {}", schedule.reports);
    Ok(())
}

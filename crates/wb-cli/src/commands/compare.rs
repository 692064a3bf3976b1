//! `wb compare`, `wb compare serve`, `wb promote`: judge the registered models on the test
//! split, browse the reports, record the chosen one.

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use wb_compare::compare::CompareOptions;
use wb_compare::report::Report;
use wb_compare::web;
use wb_core::{DatasetName, ModelName};
use workbench::{Promoted, ReportLocation};

use crate::cli::{CompareArgs, CompareCommand, CompareRunArgs, CompareServeArgs, PromoteArgs};
use crate::context::Context;
use crate::output::{print_json, spinner};

/// What `wb compare --json` prints: where the report is, and the whole report document.
#[derive(Serialize)]
struct CompareOutput<'a> {
    location: Option<&'a ReportLocation>,
    report: &'a Report,
}

pub(crate) async fn run(args: CompareArgs, ctx: &Context, quiet: bool) -> Result<()> {
    match args.command {
        Some(CompareCommand::Serve(serve)) => serve_reports(serve, ctx).await,
        None => compare(args.run, ctx, quiet).await,
    }
}

/// The comparison's options from the command line.
fn options(args: &CompareRunArgs) -> Result<CompareOptions> {
    let mut options = CompareOptions::default();
    if let Some(dataset) = &args.dataset {
        options.dataset = Some(DatasetName::parse(dataset)?);
    }
    if let Some(models) = &args.models {
        options.models = Some(
            models
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(ModelName::parse)
                .collect::<Result<_, _>>()?,
        );
    }
    options.scoring.batch_size = args.batch_size;
    options.scoring.concurrency = args.concurrency;
    options.seed = args.seed;
    options.resamples = args.resamples;
    options.allow_foreign = args.allow_foreign;
    options.slice_by.clone_from(&args.slice_by);
    options.importance_budget = args.importance_budget;
    Ok(options)
}

/// Runs a comparison through the project's endpoints (starting the local server when needed)
/// and writes its report. The report is returned even when writing it failed, with the write
/// error.
pub(crate) async fn run_comparison(
    ctx: &Context,
    options: CompareOptions,
) -> Result<(Report, std::result::Result<ReportLocation, workbench::Error>)> {
    let comparison = ctx.project.compare().options(options).await?;
    let written = ctx.project.save_report(&comparison).await;
    Ok((comparison.report, written))
}

async fn compare(args: CompareRunArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let options = options(&args)?;
    let bar = spinner(quiet, "scoring the registered models on the test split");
    let outcome = run_comparison(ctx, options).await;
    bar.finish_and_clear();
    let (report, written) = outcome?;
    let location = written.as_ref().ok();
    if args.json {
        print_json(&CompareOutput { location, report: &report })?;
    } else {
        print_summary(&report, location);
    }
    if let Err(e) = written {
        bail!("the comparison ran, but its report could not be written: {e}");
    }
    if !report.failures.is_empty() {
        bail!(
            "{} of {} models could not be scored: {}",
            report.failures.len(),
            report.failures.len() + report.models.len(),
            report.failures.iter().map(|f| format!("{}: {}", f.model, f.error)).collect::<Vec<_>>().join("; ")
        );
    }
    Ok(())
}

fn fmt_value(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"))
}

/// The leaderboard and where the report is, for people.
pub(crate) fn print_summary(report: &Report, location: Option<&ReportLocation>) {
    println!(
        "compared {} models on the test split of {} ({} rows, partition {})",
        report.models.len(),
        report.dataset,
        report.test_rows,
        report.fingerprint.short(12)
    );
    for w in &report.warnings {
        println!("warning: {w}");
    }
    println!();
    println!(
        "{:>4}  {:<20} {:>9}  {:<19} {:>10}  verdict",
        "rank",
        "model",
        report.primary_metric,
        format!("{:.0}% interval", report.settings.confidence * 100.0),
        "p vs best",
    );
    for e in &report.leaderboard {
        let interval = e.interval.map_or_else(|| "n/a".to_owned(), |i| format!("[{:.4}, {:.4}]", i.low, i.high));
        let p =
            e.p_vs_best.map_or_else(|| "-".to_owned(), |p| if p < 0.001 { "<0.001".into() } else { format!("{p:.3}") });
        let verdict = if e.rank == 1 {
            "best"
        } else if e.significantly_worse {
            "worse than best (significant)"
        } else {
            "not distinguishable from best"
        };
        let foreign = if e.foreign { " [foreign partition]" } else { "" };
        println!(
            "{:>4}  {:<20} {:>9}  {:<19} {:>10}  {verdict}{foreign}",
            e.rank,
            e.model,
            fmt_value(e.value),
            interval,
            p
        );
    }
    for f in &report.failures {
        println!("not scored: {} ({}): {}", f.model, f.endpoint, f.error);
    }
    println!();
    println!(
        "timings: scoring {} ms, statistics {} ms, explanations {} ms, total {} ms",
        report.timings.scoring_ms,
        report.timings.statistics_ms,
        report.timings.explanations_ms,
        report.timings.total_ms
    );
    if let Some(location) = location {
        println!("report  {}", location.uri);
        println!("open    {}", location.index_html);
    }
}

async fn serve_reports(args: CompareServeArgs, ctx: &Context) -> Result<()> {
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    let address = listener.local_addr()?;
    println!("serving comparison reports of {} at http://{address}/ (Ctrl-C stops)", ctx.store.uri());
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    web::serve(listener, ctx.store.clone(), shutdown).await?;
    Ok(())
}

pub(crate) async fn promote(args: PromoteArgs, ctx: &Context) -> Result<()> {
    let name = ModelName::parse(&args.model)?;
    let promoted = ctx.project.promote(&name).await?;
    if args.json {
        return print_json(&promoted);
    }
    let Promoted { promotion, warnings, .. } = promoted;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    println!("promoted {} (endpoint {}, job {})", promotion.model, promotion.endpoint, promotion.job);
    if let Some(report) = &promotion.report {
        let shown: Vec<String> = ["roc_auc", "accuracy", "rmse", "r2"]
            .iter()
            .filter_map(|m| promotion.metrics.get(*m).map(|v| format!("{m} {v:.4}")))
            .collect();
        println!("evidence  {report} ({})", shown.join(", "));
    }
    if let Some(previous) = &promotion.previous {
        println!("replaces  {previous}");
    }
    Ok(())
}

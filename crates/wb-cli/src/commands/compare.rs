//! `wb compare`, `wb compare serve`, `wb promote`: judge the registered models on the test
//! split, browse the reports, record the chosen one.

use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use wb_compare::compare::CompareOptions;
use wb_compare::report::Report;
use wb_compare::{reports, web};
use wb_core::{BackendKind, DatasetName, ModelName, StoreUri};
use wb_models::invoke::{InvokeEndpoint, RuntimeClient};
use wb_models::registry::{Promotion, Registry};

use crate::cli::{CompareArgs, CompareCommand, CompareRunArgs, CompareServeArgs, PromoteArgs};
use crate::commands::serving::ensure_server;
use crate::context::Context;
use crate::output::{print_json, spinner};

/// Where a report was written.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Location {
    /// The report's id.
    pub(crate) id: String,
    /// `<store>/reports/compare/<id>`.
    pub(crate) uri: String,
    /// The page to open (a file path for local stores).
    pub(crate) index_html: String,
}

/// What `wb compare --json` prints: where the report is, and the whole report document.
#[derive(Serialize)]
struct CompareOutput<'a> {
    location: Option<&'a Location>,
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

/// The project's invocation interface: SageMaker Runtime for the `sagemaker` backend (with the
/// `aws` feature), otherwise the local server, started when it is not running.
pub(crate) async fn invoker(ctx: &Context) -> Result<Arc<dyn InvokeEndpoint>> {
    if ctx.config.config.backend.kind == BackendKind::Sagemaker {
        #[cfg(feature = "aws")]
        {
            let sdk = wb_aws::sdk_config(&ctx.config.config.aws).await;
            return Ok(Arc::new(wb_aws::SageMakerRuntime::from_sdk_config(&sdk)));
        }
        #[cfg(not(feature = "aws"))]
        bail!("backend \"sagemaker\" needs a wb built with the `aws` feature");
    }
    let (server, _) = ensure_server(ctx).await?;
    Ok(Arc::new(RuntimeClient::new(&server.url)?))
}

/// Runs a comparison through the project's endpoints and writes its report. The report is
/// returned even when writing it failed, with the write error.
pub(crate) async fn run_comparison(
    ctx: &Context,
    options: CompareOptions,
) -> Result<(Report, std::result::Result<Location, wb_compare::Error>)> {
    let invoker = invoker(ctx).await?;
    let comparison = wb_compare::compare(ctx.store.clone(), invoker).options(options).await?;
    let files = comparison.files();
    let report = comparison.report;
    let written = reports::write(&ctx.store, &report, files).await.map(|prefix| Location {
        id: report.id.clone(),
        uri: ctx.store.uri().object_uri(&prefix),
        index_html: match ctx.store.uri() {
            StoreUri::Local(dir) => dir.join(prefix.as_str()).join("index.html").display().to_string(),
            other => format!("{}/index.html", other.object_uri(&prefix)),
        },
    });
    Ok((report, written))
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
pub(crate) fn print_summary(report: &Report, location: Option<&Location>) {
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

/// What `wb promote` prints.
#[derive(Serialize)]
struct Promoted {
    #[serde(flatten)]
    promotion: Promotion,
    /// Warnings about the choice (not the best model, no report).
    warnings: Vec<String>,
}

/// Promotes `name`, citing the newest report that scored it.
pub(crate) async fn promote_model(ctx: &Context, name: &ModelName) -> Result<(Promotion, Vec<String>)> {
    let registry = Registry::new(ctx.store.clone());
    registry.get(name).await?;
    let report = reports::latest_with(&ctx.store, name.as_str()).await?;
    let mut warnings = Vec::new();
    let (cited, metrics) = match &report {
        Some(report) => {
            let model = report.model(name.as_str()).context("the report lists the model")?;
            let metrics = model.metrics.iter().filter_map(|e| e.value.map(|v| (e.metric.clone(), v))).collect();
            if let Some(entry) = report.leaderboard.iter().find(|e| &e.model == name)
                && entry.significantly_worse
            {
                warnings.push(format!(
                    "{name} ranks {} in report {} and is significantly worse than {} on {}",
                    entry.rank,
                    report.id,
                    report.best().map_or("the best model", |b| b.model.as_str()),
                    report.primary_metric
                ));
            }
            if model.foreign {
                warnings.push(format!("{name} was trained on another partition than the one it was scored on"));
            }
            (Some(format!("{}/{}", reports::REPORTS_ROOT, report.id)), metrics)
        }
        None => {
            warnings.push(format!("{name} has not been compared on the test split yet (run `wb compare`)"));
            (None, Default::default())
        }
    };
    let promotion = registry.promote(name, cited, metrics).await?;
    if ctx.is_sagemaker() {
        #[cfg(feature = "aws")]
        {
            let why = promotion.report.as_deref().map_or_else(
                || "promoted with `wb promote`".to_owned(),
                |r| format!("promoted with `wb promote` on the evidence of {r}"),
            );
            if let Some(arn) = crate::commands::sagemaker::promote_package(ctx, name, &why).await? {
                tracing::info!(package = %arn, "model package approved");
            }
        }
        #[cfg(not(feature = "aws"))]
        return Err(crate::context::no_aws());
    }
    Ok((promotion, warnings))
}

pub(crate) async fn promote(args: PromoteArgs, ctx: &Context) -> Result<()> {
    let name = ModelName::parse(&args.model)?;
    let (promotion, warnings) = promote_model(ctx, &name).await?;
    if args.json {
        return print_json(&Promoted { promotion, warnings });
    }
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

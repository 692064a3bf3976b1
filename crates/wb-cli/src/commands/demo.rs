//! `wb demo`: the project's main job, end to end on the local backend.
//!
//! Writes the red wine quality data (shipped by linfa-datasets; Cortez et al. 2009, UCI) as a
//! raw CSV with the binary target `good` = quality ≥ 7, ingests it to Parquet, registers it and
//! partitions it once (a re-run reuses the partition), then runs the four experiments under
//! `experiments/` — logistic regression, decision tree, random forest, gradient-boosted trees
//! (`xgboost`): train, deploy, register — makes sure the local server is up, invokes one endpoint
//! with a raw CSV row, compares the four models on the held-out test split (report in `reports/compare/<id>/`), promotes the
//! best, then monitors it: data capture on the promoted endpoint, a baseline from the train
//! split, the test split sent as it is and then with one feature shifted by two standard
//! deviations, a monitoring run over each (the second flags the shifted feature); and prints
//! where everything is.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use wb_core::{BackendKind, CONFIG_FILE, Config, DatasetName, LoadedConfig};
use wb_datasets::{Datasets, PartitionSpec, RegisterRequest};
use wb_etl::tabular::{IngestOptions, IngestReport, ingest_csv};

use wb_compare::compare::CompareOptions;
use wb_compare::report::LeaderboardEntry;
use wb_serving::invoke::InvokeRequest;
use workbench::{Promoted, Registered, ReportLocation};

use crate::cli::{Backend, DemoArgs};
use crate::commands::compare::run_comparison;
use crate::commands::dataset::{DatasetView, print_view};
use crate::context::Context;
use crate::output::{print_json, spinner};

/// The demo's dataset name.
const DATASET: &str = "wine-quality";

#[derive(Serialize)]
struct DemoReport {
    dir: String,
    config: String,
    store: String,
    raw_csv: String,
    parquet: IngestReport,
    registered: bool,
    partitioned: bool,
    dataset: DatasetView,
    models: Vec<Registered>,
    server: String,
    sample: Sample,
    comparison: Comparison,
    promoted: Promoted,
    monitoring: MonitoringDemo,
}

/// What a demo's comparison found.
#[derive(Serialize)]
pub(super) struct Comparison {
    pub(super) location: ReportLocation,
    pub(super) primary_metric: String,
    pub(super) leaderboard: Vec<LeaderboardEntry>,
    pub(super) warnings: Vec<String>,
}

/// Compares the registered models on the test split (the report written to the store), fails
/// when a model could not be scored, and promotes the best: the summary, the confidence level
/// of its intervals, and the promotion.
pub(super) async fn compare_and_promote(
    ctx: &Context,
    options: CompareOptions,
    quiet: bool,
    message: &'static str,
) -> Result<(Comparison, f64, Promoted)> {
    let step = spinner(quiet, message);
    let compared = run_comparison(ctx, options).await;
    step.finish_and_clear();
    let (compared, written) = compared?;
    let location = written?;
    if !compared.failures.is_empty() {
        anyhow::bail!(
            "the comparison could not score {}",
            compared.failures.iter().map(|f| format!("{}: {}", f.model, f.error)).collect::<Vec<_>>().join("; ")
        );
    }
    let best = compared.best().context("the comparison ranked no model")?.model.clone();
    let promoted = ctx.project.promote(&best).await?;
    let comparison = Comparison {
        location,
        primary_metric: compared.primary_metric,
        leaderboard: compared.leaderboard,
        warnings: compared.warnings,
    };
    Ok((comparison, compared.settings.confidence, promoted))
}

/// One line per ranked model: value, interval, and the verdict of the paired test against the
/// best.
pub(super) fn print_leaderboard(leaderboard: &[LeaderboardEntry]) {
    for e in leaderboard {
        let interval = e.interval.map(|i| format!("[{:.3}, {:.3}]", i.low, i.high)).unwrap_or_default();
        let p = e.p_vs_best.map_or_else(String::new, |p| {
            if p < 0.001 { "Holm p < 0.001".to_owned() } else { format!("Holm p {p:.3}") }
        });
        let verdict = match (e.rank, e.significantly_worse) {
            (1, _) => "best".to_owned(),
            (_, true) => format!("significantly worse ({p})"),
            (_, false) => format!("not distinguishable from best ({p})"),
        };
        println!("  {}. {:<16} {:.3} {interval:<16} {verdict}", e.rank, e.model, e.value.unwrap_or(f64::NAN));
    }
}

#[derive(Serialize)]
struct Sample {
    endpoint: String,
    url: String,
    request: String,
    response: String,
}

/// The demo project's configuration: local by default; SageMaker with the given store, role,
/// region and image.
fn demo_config(args: &DemoArgs, project: &str) -> Result<Config> {
    let mut config = Config::default();
    config.project.name = project.into();
    if let Backend::Sagemaker = args.backend {
        let (Some(store), Some(role)) = (&args.store, &args.role) else {
            anyhow::bail!(
                "wb demo --backend sagemaker needs --store s3://BUCKET/PREFIX and --role ARN (and --image URI, the \
                 workbench's container image that runs the experiments' algorithms on SageMaker)"
            );
        };
        config.backend.kind = BackendKind::Sagemaker;
        config.store.uri.clone_from(store);
        config.aws.role_arn = Some(role.clone());
        config.aws.region.clone_from(&args.region);
        config.backend.image.clone_from(&args.image);
    }
    Ok(config)
}

/// Writes the wine data as CSV: the 11 physico-chemical features, then `good`.
fn write_wine_csv(path: &Path) -> Result<u64> {
    let wine = linfa_datasets::winequality();
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    let names: Vec<String> = wine.feature_names().iter().map(|n| n.replace(' ', "_")).collect();
    writeln!(out, "{},good", names.join(","))?;
    let mut rows = 0;
    for (features, quality) in wine.records().rows().into_iter().zip(wine.targets().iter()) {
        let cells: Vec<String> = features.iter().map(f64::to_string).collect();
        writeln!(out, "{},{}", cells.join(","), u8::from(*quality >= 7))?;
        rows += 1;
    }
    out.flush()?;
    Ok(rows)
}

/// The demo's directory (`--dir`, else `default_dir`) with its `data/` folder and its
/// configuration: written for the asked backend on the first run, and refused when an earlier
/// run made it for the other backend.
pub(super) fn demo_project(args: &DemoArgs, default_dir: &str) -> Result<(std::path::PathBuf, LoadedConfig)> {
    let dir = std::path::absolute(args.dir.clone().unwrap_or_else(|| default_dir.into()))?;
    std::fs::create_dir_all(dir.join("data")).with_context(|| format!("creating {}", dir.display()))?;
    let config_path = dir.join(CONFIG_FILE);
    if !config_path.exists() {
        let config = demo_config(args, default_dir)?;
        config.validate(&config_path)?;
        std::fs::write(&config_path, config.to_toml()).with_context(|| format!("writing {}", config_path.display()))?;
    }
    let config = LoadedConfig::load(&config_path)?;
    let wanted = BackendKind::from(args.backend);
    if config.config.backend.kind != wanted {
        anyhow::bail!(
            "{} is a {} project; run the {wanted} demo in another --dir",
            config.path.display(),
            config.config.backend.kind
        );
    }
    Ok((dir, config))
}

pub(crate) async fn run(args: DemoArgs, quiet: bool) -> Result<()> {
    let (dir, config) = demo_project(&args, "wb-demo")?;
    let ctx = Context::open(config.clone()).await?;
    let (project, store) = (&ctx.project, ctx.store.clone());

    let step = spinner(quiet, "writing and ingesting the wine data");
    let raw = dir.join("data/winequality-red.csv");
    let parquet = dir.join("data/winequality-red.parquet");
    let (raw_for_task, parquet_for_task) = (raw.clone(), parquet.clone());
    let ingested = tokio::task::spawn_blocking(move || -> Result<IngestReport> {
        write_wine_csv(&raw_for_task)?;
        Ok(ingest_csv(&raw_for_task, &parquet_for_task, &IngestOptions::default())?)
    })
    .await??;
    step.finish_and_clear();

    let datasets = Datasets::new(store.clone());
    let name = DatasetName::parse(DATASET)?;
    let registration = datasets
        .register(RegisterRequest {
            name: name.clone(),
            source: parquet.display().to_string(),
            target: "good".into(),
            key: None,
            missing: config.config.datasets.missing.clone(),
            new_version: false,
            exclude: Vec::new(),
            optional: Vec::new(),
        })
        .await?;
    let defaults = &config.config.datasets;
    let spec = PartitionSpec {
        train: defaults.train,
        validation: defaults.validation,
        test: defaults.test,
        seed: defaults.seed,
        stratify: true,
    };
    let step = spinner(quiet, "partitioning");
    let outcome = datasets.partition(&name).spec(spec).await;
    step.finish_and_clear();
    let outcome = outcome?;

    let mut models = Vec::new();
    let step = spinner(quiet, "experiment 01: logistic regression");
    models.push(exp_01_logistic_regression::run(project).await?);
    step.set_message("experiment 02: decision tree");
    models.push(exp_02_decision_tree::run(project).await?);
    step.set_message("experiment 03: random forest");
    models.push(exp_03_random_forest::run(project).await?);
    step.set_message("experiment 04: gradient-boosted trees (xgboost)");
    models.push(exp_04_xgboost::run(project).await?);
    step.set_message("making sure the endpoints answer");
    let serving = project.serve().await?;
    let server = serving.url.clone();
    step.finish_and_clear();

    // One raw row of the source, without its target, as any client would send it.
    let text = std::fs::read_to_string(&raw).with_context(|| format!("reading {}", raw.display()))?;
    let row = text.lines().nth(1).and_then(|l| l.rsplit_once(',')).map(|(features, _)| features.to_owned());
    let row = row.context("the wine CSV has no data row")?;
    let endpoint = models[0].endpoint.to_string();
    let response = serving
        .invoker
        .invoke_endpoint(
            &endpoint,
            InvokeRequest {
                content_type: "text/csv".into(),
                body: row.clone().into_bytes().into(),
                ..Default::default()
            },
        )
        .await?;
    let sample = Sample {
        url: serving.invocation_url(&endpoint),
        endpoint,
        request: row,
        response: String::from_utf8_lossy(&response.body).trim_end().to_owned(),
    };

    // Judge the four on the test split, through their endpoints, and promote the best.
    let options = CompareOptions { slice_by: Some("alcohol".into()), ..CompareOptions::default() };
    let (comparison, confidence, promoted) =
        compare_and_promote(&ctx, options, quiet, "comparing the models on the test split").await?;
    let monitoring = monitoring_demo(&ctx, &promoted, quiet).await?;

    let report = DemoReport {
        dir: dir.display().to_string(),
        config: config.path.display().to_string(),
        store: store.uri().to_string(),
        raw_csv: raw.display().to_string(),
        parquet: ingested,
        registered: registration.created,
        partitioned: outcome.created,
        dataset: DatasetView::from_manifest(&outcome.manifest),
        models,
        server,
        sample,
        comparison,
        promoted,
        monitoring,
    };
    if args.json {
        return print_json(&report);
    }
    println!("workbench demo in {}", report.dir);
    println!("config      {}", report.config);
    println!("store       {}", report.store);
    println!("raw csv     {} (red wine quality, Cortez et al. 2009; good = quality >= 7)", report.raw_csv);
    println!("parquet     {} ({} rows)", report.parquet.output.display(), report.parquet.rows);
    println!(
        "dataset     {} {}, {}",
        DATASET,
        if report.registered { "registered" } else { "already registered" },
        if report.partitioned { "partitioned now" } else { "already partitioned (unchanged)" }
    );
    println!();
    print_view(&report.dataset)?;
    println!();
    println!("models (trained on train, scored on validation; the test split stays held out):");
    for m in &report.models {
        let auc = m.validation_metrics.get("auc").map(|v| format!("validation AUC {v:.3}")).unwrap_or_default();
        println!("  {:<16} {:<20} job {:<52} {auc}", m.name, m.algorithm, m.job);
    }
    println!("server      {} (SageMaker Runtime API; `wb endpoints list`)", report.server);
    println!("invoke      POST {}", report.sample.url);
    println!("  text/csv  {}", report.sample.request);
    println!("  answer    {} (probabilities of classes 0 and 1)", report.sample.response);
    println!();
    let c = &report.comparison;
    println!(
        "comparison on the held-out test split ({}, {:.0}% bootstrap intervals, paired tests vs best):",
        c.primary_metric,
        confidence * 100.0
    );
    print_leaderboard(&c.leaderboard);
    println!("report      {}", c.location.uri);
    println!("open        {}", c.location.index_html);
    println!("promoted    {} (`wb promote MODEL` to change it)", report.promoted.promotion.model);
    println!();
    print_monitoring(&report.monitoring);
    println!();
    println!("next: wb --config {} models list", report.config);
    println!("      wb --config {} compare serve   # browse every report", report.config);
    println!(
        "      wb --config {} endpoints invoke {} --content-type text/csv --body '{}'",
        report.config, report.sample.endpoint, report.sample.request
    );
    println!(
        "      wb --config {} monitor run --endpoint {}   # check the capture against the baseline",
        report.config, report.monitoring.endpoint
    );
    println!("      wb --config {} clean --keep-promoted   # remove everything but the promoted model", report.config);
    Ok(())
}

/// The feature the demo's second batch of traffic moves by two standard deviations.
const SHIFTED_FEATURE: &str = "residual_sugar";

/// What the monitoring part of the demo found.
#[derive(Serialize)]
struct MonitoringDemo {
    endpoint: String,
    baseline: String,
    shifted_feature: String,
    shift: f64,
    /// The test split as it is: expected clean.
    #[serde(skip_serializing_if = "Option::is_none")]
    unshifted: Option<RunSummary>,
    /// The test split with one feature moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    shifted: Option<RunSummary>,
    /// Why the runs were left for later, when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    later: Option<String>,
}

#[derive(Serialize)]
struct RunSummary {
    since: String,
    rows: u64,
    violations: Vec<String>,
    drifted: Vec<String>,
    report: String,
}

impl RunSummary {
    fn of(
        run: &wb_monitor::monitor::MonitoringRun,
        store: &wb_core::DynObjectStore,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let report = &run.report;
        Self {
            since: since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rows: report.counts.rows,
            violations: report
                .violations
                .violations
                .iter()
                .map(|v| {
                    let kind = serde_json::to_value(v.constraint_check_type)
                        .ok()
                        .and_then(|k| k.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    format!("{} {kind}: {}", v.feature_name, v.description)
                })
                .collect(),
            drifted: report.drift.iter().filter(|d| d.drifted).map(|d| d.feature.clone()).collect(),
            report: run.prefix.as_ref().map(|p| crate::output::report_location(store, p)).unwrap_or_default(),
        }
    }
}

/// Sleeps to the start of the next whole second and returns it (capture times are whole
/// seconds, so traffic sent after it falls in a window starting there).
pub(crate) async fn next_second() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let next = chrono::DateTime::from_timestamp(now.timestamp() + 1, 0).unwrap_or(now);
    let wait = (next - now).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    next
}

/// Waits until the capture of `endpoint` since `since` holds `rows` rows (the server writes
/// capture files every few seconds).
pub(crate) async fn await_capture(
    store: &wb_core::DynObjectStore,
    endpoint: &wb_core::EndpointName,
    since: chrono::DateTime<chrono::Utc>,
    rows: u64,
    delay: std::time::Duration,
) -> Result<()> {
    // Generous: the server may be busy; a record never arriving is a failure, not a wait.
    let limit = (delay * 6).max(std::time::Duration::from_secs(30));
    let deadline = std::time::Instant::now() + limit;
    loop {
        let window = wb_monitor::Window::new(Some(since), None)?;
        let read = wb_monitor::capture::CaptureReader::new(store.clone(), endpoint.as_str())
            .window(window)
            .decode_inputs(false)
            .for_each_batch(|_| Ok(()))
            .await;
        let seen = match read {
            Ok(outcome) => outcome.counts.rows,
            Err(wb_monitor::Error::NoCapture { .. }) => 0,
            Err(e) => return Err(e.into()),
        };
        if seen >= rows {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the capture of {endpoint} holds {seen} of the {rows} rows sent after {} s", limit.as_secs());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Sends CSV `body` to `endpoint` in requests of 100 rows.
async fn send_rows(serving: &wb_serving::backend::Serving, endpoint: &str, lines: &[String]) -> Result<()> {
    for chunk in lines.chunks(100) {
        let mut body = chunk.join("\n");
        body.push('\n');
        serving
            .invoker
            .invoke_endpoint(
                endpoint,
                InvokeRequest { content_type: "text/csv".into(), body: body.into_bytes().into(), ..Default::default() },
            )
            .await?;
    }
    Ok(())
}

/// After promotion: capture on the promoted endpoint, a baseline, the test split sent as it
/// is and then with one feature shifted, a monitoring run over each.
async fn monitoring_demo(ctx: &Context, promoted: &Promoted, quiet: bool) -> Result<MonitoringDemo> {
    let project = &ctx.project;
    let store = ctx.store.clone();
    let promotion = &promoted.promotion;
    let endpoint = promotion.endpoint.clone();
    let step = spinner(quiet, format!("monitoring: baseline of {endpoint}"));
    let monitor = wb_monitor::monitor::Monitor::new(store.clone());
    let baseline = monitor.baseline(&endpoint).await?;
    let baseline_uri = store.uri().object_uri(&wb_core::ObjectPath::parse(baseline.prefix.as_str())?);
    let std_dev = baseline
        .statistics
        .features
        .iter()
        .find(|f| f.name == SHIFTED_FEATURE)
        .and_then(|f| f.numerical_statistics.as_ref())
        .map(|n| n.std_dev)
        .with_context(|| format!("the baseline has no numerical statistics of {SHIFTED_FEATURE:?}"))?;
    let shift = 2.0 * std_dev;
    let delay = project.backend().capabilities().capture_delay;
    if delay > std::time::Duration::from_secs(30) {
        // Capture arrives minutes after the traffic (SageMaker): the runs are the user's next step.
        step.finish_and_clear();
        return Ok(MonitoringDemo {
            endpoint: endpoint.to_string(),
            baseline: baseline_uri,
            shifted_feature: SHIFTED_FEATURE.to_owned(),
            shift,
            unshifted: None,
            shifted: None,
            later: Some(format!(
                "capture reaches the store up to {} min after an invocation on this backend: deploy {endpoint} with \
                 --capture 100, send traffic, then `wb monitor run --endpoint {endpoint}`",
                delay.as_secs().div_ceil(60)
            )),
        });
    }
    step.set_message(format!("monitoring: capture on {endpoint}"));
    project.deploy(&promotion.job, &endpoint).capture(100).await?;
    // The server re-reads an endpoint's record at most this long after it changed.
    let capturing =
        tokio::time::Instant::now() + wb_serving::endpoints::REVALIDATE_EVERY + std::time::Duration::from_millis(250);

    let dataset = Datasets::new(store.clone()).open(&DatasetName::parse(DATASET)?).await?;
    let test = dataset.test_for_evaluation().await?;
    let test_set = wb_compare::score::TestSet::new(dataset.manifest(), &test)?;
    let column = test_set
        .feature_names
        .iter()
        .position(|f| f == SHIFTED_FEATURE)
        .with_context(|| format!("the demo data has no column {SHIFTED_FEATURE:?}"))?;
    let body = test_set.body(0, test_set.len());
    let lines: Vec<String> = String::from_utf8_lossy(&body).lines().map(str::to_owned).collect();
    let shifted: Vec<String> = lines
        .iter()
        .map(|line| {
            let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
            if let Some(v) = fields.get_mut(column).and_then(|f| f.parse::<f64>().ok().map(|x| (f, x))) {
                *v.0 = format!("{}", v.1 + shift);
            }
            fields.join(",")
        })
        .collect();
    let serving = project.serve().await?;
    let rows = lines.len() as u64;
    tokio::time::sleep_until(capturing).await;

    step.set_message(format!("monitoring: sending the test split to {endpoint}"));
    let since_plain = next_second().await;
    send_rows(&serving, endpoint.as_str(), &lines).await?;
    await_capture(&store, &endpoint, since_plain, rows, delay).await?;
    step.set_message(format!("monitoring: sending the test split with {SHIFTED_FEATURE:?} shifted"));
    let since_shifted = next_second().await;
    send_rows(&serving, endpoint.as_str(), &shifted).await?;
    await_capture(&store, &endpoint, since_shifted, rows, delay).await?;

    step.set_message("monitoring: checking both windows against the baseline");
    let plain = monitor.run(&endpoint).window(wb_monitor::Window::new(Some(since_plain), Some(since_shifted))?).await?;
    let moved = monitor.run(&endpoint).window(wb_monitor::Window::new(Some(since_shifted), None)?).await?;
    step.finish_and_clear();
    Ok(MonitoringDemo {
        endpoint: endpoint.to_string(),
        baseline: baseline_uri,
        shifted_feature: SHIFTED_FEATURE.to_owned(),
        shift,
        unshifted: Some(RunSummary::of(&plain, &store, since_plain)),
        shifted: Some(RunSummary::of(&moved, &store, since_shifted)),
        later: None,
    })
}

fn print_monitoring(m: &MonitoringDemo) {
    println!("monitoring  {} (baseline {})", m.endpoint, m.baseline);
    if let Some(later) = &m.later {
        println!("  {later}");
    }
    for (what, run) in [
        ("test split as is".to_owned(), &m.unshifted),
        (format!("{:?} + {:.3} (2 sd)", m.shifted_feature, m.shift), &m.shifted),
    ] {
        let Some(run) = run else { continue };
        let verdict = if run.violations.is_empty() {
            "no violations".to_owned()
        } else {
            format!("{} violation(s)", run.violations.len())
        };
        println!("  {what:<36} {} rows, {verdict}", run.rows);
        for v in &run.violations {
            println!("    {v}");
        }
        println!("    report {}", run.report);
    }
}

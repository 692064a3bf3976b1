//! The comparison end to end: real models behind the real local server, and faults injected
//! through a scripted `InvokeEndpoint`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use wb_compare::report::Report;
use wb_compare::{Error, compare, render, reports};
use wb_core::{DatasetName, DynObjectStore, EndpointName, JobName, LocalStore, ModelName, ObjectStoreExt, PutMode};
use wb_datasets::Datasets;
use wb_models::registry::{ModelRecord, Registry};
use wb_models::testkit::register_toy;
use wb_models::training::TrainingJobs;
use wb_serving::endpoints::{Endpoints, StoreCatalog};
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest, InvokeResponse, RuntimeClient};
use wb_serving::server::ModelServer;

pub(crate) struct Project {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) store: DynObjectStore,
    pub(crate) dataset: DatasetName,
}

/// A binary dataset: a numeric signal, a noise column, a categorical column with missing
/// values, and a noisy target that follows the signal.
fn write_csv(path: &Path, rows: usize) {
    let mut text = String::from("id,signal,noise,colour,label\n");
    for i in 0..rows {
        let signal = ((i * 7919) % 1000) as f64 / 100.0;
        let noise = ((i * 104_729) % 97) as f64;
        let colour = if i % 11 == 0 { "?" } else { ["red", "green", "blue"][i % 3] };
        let flip = (i * 31) % 17 == 0;
        let positive = (signal + if colour == "red" { 1.5 } else { 0.0 } > 5.5) != flip;
        text.push_str(&format!("{i},{signal},{noise},{colour},{}\n", if positive { "yes" } else { "no" }));
    }
    std::fs::write(path, text).expect("write csv");
}

/// A project with a registered and partitioned dataset `toy`.
pub(crate) async fn project(rows: usize) -> Project {
    project_with(rows, write_csv, true).await
}

/// A project whose dataset `toy` (target `label`, key `id`) is written by `write`; a numeric
/// target cannot be stratified.
async fn project_with(rows: usize, write: fn(&Path, usize), stratify: bool) -> Project {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let csv = dir.path().join("toy.csv");
    write(&csv, rows);
    let spec = wb_datasets::PartitionSpec { stratify, ..wb_datasets::PartitionSpec::default() };
    let dataset = register_toy(&store, &csv, &["?"], spec).await;
    Project { _dir: dir, store, dataset }
}

/// Trains, deploys and registers `algorithm` as `name`.
async fn model(p: &Project, name: &str, algorithm: &str, hp: &[(&str, &str)]) {
    let mut train = TrainingJobs::new(p.store.clone())
        .train(&p.dataset, algorithm)
        .job_name(JobName::parse(format!("{name}-job")).expect("job"));
    for (k, v) in hp {
        train = train.hyperparameter(*k, *v);
    }
    let job = train.await.expect("train");
    let endpoint = EndpointName::parse(name).expect("endpoint");
    Endpoints::new(p.store.clone()).deploy(&job.name, &endpoint).await.expect("deploy");
    Registry::new(p.store.clone())
        .register(&ModelName::parse(name).expect("model"), &endpoint)
        .description(format!("{algorithm} <b>test</b>"))
        .await
        .expect("register");
}

/// A registry entry written directly, for models served by a scripted invoker.
async fn fake_model(p: &Project, name: &str, fingerprint: Option<wb_core::ContentHash>) {
    let manifest = Datasets::new(p.store.clone()).open(&p.dataset).await.expect("open").manifest().clone();
    let record = ModelRecord {
        name: ModelName::parse(name).expect("name"),
        description: "scripted".into(),
        algorithm: "scripted".into(),
        artifact: "none".into(),
        endpoint: EndpointName::parse(name).expect("endpoint"),
        backend: wb_core::BackendKind::Local,
        dataset: p.dataset.clone(),
        fingerprint: fingerprint.unwrap_or(manifest.fingerprint),
        job: JobName::parse(format!("{name}-job")).expect("job"),
        hyperparameters: BTreeMap::new(),
        validation_metrics: BTreeMap::new(),
        registered_at: "2026-11-23T00:00:00Z".parse().expect("time"),
        tags: BTreeMap::new(),
    };
    let path = wb_core::ObjectPath::parse(format!("registry/models/{name}.json")).expect("path");
    p.store.put_json(&path, &record, PutMode::Create).await.expect("write record");
}

/// How a scripted endpoint answers.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Probabilities from the `signal` column.
    Good,
    /// Throttles the first `n` invocations, then answers well.
    ThrottleFirst(usize),
    /// Always a 500.
    Broken,
    /// One prediction short.
    ShortAnswer,
    /// Values that are not probabilities.
    NotProbabilities,
}

#[derive(Debug, Default)]
struct Scripted {
    behaviours: Mutex<BTreeMap<String, Behaviour>>,
    calls: Mutex<BTreeMap<String, usize>>,
    total: AtomicUsize,
}

impl Scripted {
    fn with(pairs: &[(&str, Behaviour)]) -> Arc<Self> {
        let s = Self::default();
        *s.behaviours.lock().expect("lock") = pairs.iter().map(|(n, b)| ((*n).to_owned(), *b)).collect();
        Arc::new(s)
    }
}

#[async_trait]
impl InvokeEndpoint for Scripted {
    async fn invoke_endpoint(&self, endpoint: &str, request: InvokeRequest) -> wb_serving::Result<InvokeResponse> {
        self.total.fetch_add(1, Ordering::SeqCst);
        let call = {
            let mut calls = self.calls.lock().expect("lock");
            let n = calls.entry(endpoint.to_owned()).or_default();
            *n += 1;
            *n - 1
        };
        let behaviour = self.behaviours.lock().expect("lock").get(endpoint).copied();
        let Some(behaviour) = behaviour else {
            return Err(wb_serving::Error::Invocation {
                endpoint: endpoint.into(),
                code: "ValidationError".into(),
                status: 400,
                message: format!("Endpoint {endpoint} not found."),
            });
        };
        let fail = |status: u16, code: &str| {
            Err(wb_serving::Error::Invocation {
                endpoint: endpoint.into(),
                code: code.into(),
                status,
                message: "scripted".into(),
            })
        };
        match behaviour {
            Behaviour::Broken => return fail(500, "InternalFailure"),
            Behaviour::ThrottleFirst(n) if call < n => return fail(429, "ThrottlingException"),
            _ => {}
        }
        let text = std::str::from_utf8(&request.body).expect("utf-8");
        let mut lines: Vec<String> = text
            .lines()
            .map(|row| {
                let signal: f64 = row.split(',').next().and_then(|v| v.parse().ok()).unwrap_or(5.0);
                let p = 1.0 / (1.0 + (-(signal - 5.5)).exp());
                match behaviour {
                    Behaviour::NotProbabilities => format!("{},{}", 2.0 * p, -p),
                    _ => format!("{},{}", 1.0 - p, p),
                }
            })
            .collect();
        if matches!(behaviour, Behaviour::ShortAnswer) {
            lines.pop();
        }
        Ok(InvokeResponse {
            content_type: "text/csv".into(),
            body: (lines.join("\n") + "\n").into(),
            invoked_variant: Some("AllTraffic".into()),
            custom_attributes: None,
        })
    }
}

/// Three classes from the signal, with some noise.
fn write_three_classes(path: &Path, rows: usize) {
    let mut text = String::from("id,signal,noise,label\n");
    for i in 0..rows {
        let signal = ((i * 7919) % 1000) as f64 / 100.0;
        let noise = ((i * 104_729) % 97) as f64;
        let shifted = if (i * 31) % 13 == 0 { signal + 3.0 } else { signal };
        let label = if shifted < 3.3 {
            "low"
        } else if shifted < 6.6 {
            "mid"
        } else {
            "high"
        };
        text.push_str(&format!("{i},{signal},{noise},{label}\n"));
    }
    std::fs::write(path, text).expect("write csv");
}

/// A numeric target: twice the signal plus an offset and a little noise.
fn write_regression(path: &Path, rows: usize) {
    let mut text = String::from("id,signal,noise,label\n");
    for i in 0..rows {
        let signal = ((i * 7919) % 1000) as f64 / 100.0;
        let noise = ((i * 104_729) % 97) as f64;
        let y = 2.0 * signal + 5.0 + ((i * 31) % 7) as f64 / 10.0;
        text.push_str(&format!("{i},{signal},{noise},{y}\n"));
    }
    std::fs::write(path, text).expect("write csv");
}

/// A model server over the project's endpoints, and a client for it.
async fn serve(p: &Project) -> (wb_serving::server::RunningServer, Arc<dyn InvokeEndpoint>) {
    let server = ModelServer::builder(Arc::new(StoreCatalog::new(p.store.clone())))
        .build()
        .bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let invoker: Arc<dyn InvokeEndpoint> = Arc::new(RuntimeClient::new(&server.url()).expect("client"));
    (server, invoker)
}

fn value(report: &Report, model: &str, metric: &str) -> f64 {
    report.model(model).and_then(|m| m.metric(metric)).and_then(|e| e.value).expect("metric")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_models_behind_the_local_server_are_compared_reproducibly() {
    let p = project(1500).await;
    model(&p, "toy-logistic", "logistic-regression", &[]).await;
    model(&p, "toy-tree", "decision-tree", &[("max_depth", "2")]).await;
    model(&p, "toy-bayes", "gaussian-nb", &[]).await;
    let (server, invoker) = serve(&p).await;

    let run = || {
        compare(p.store.clone(), Arc::clone(&invoker))
            .seed(7)
            .resamples(300)
            .batch_size(64)
            .concurrency(3)
            .slice_by("colour")
            .importance_budget(60)
    };
    let comparison = run().await.expect("compare");
    let report = comparison.report.clone();
    let manifest = Datasets::new(p.store.clone()).open(&p.dataset).await.expect("open").manifest().clone();
    let rows = usize::try_from(manifest.split(wb_datasets::Split::Test).rows).expect("rows");
    assert_eq!(report.task, wb_datasets::TaskKind::Classification);
    assert_eq!(report.classes, ["no", "yes"]);
    assert_eq!(report.positive_class.as_deref(), Some("yes"));
    assert_eq!(report.row_id_column.as_deref(), Some("id"));
    assert_eq!(report.test_rows, rows);
    assert!((290..=310).contains(&rows), "about 20 % of 1500: {rows}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.models.len(), 3);
    assert_eq!(report.comparisons.len(), 3, "every pair once");

    // The leaderboard is sorted by ROC AUC, and the models follow it.
    let ranked: Vec<f64> = report.leaderboard.iter().map(|e| e.value.expect("auc")).collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{ranked:?}");
    assert_eq!(
        report.leaderboard.iter().map(|e| e.model.to_string()).collect::<Vec<_>>(),
        report.models.iter().map(|m| m.model.to_string()).collect::<Vec<_>>()
    );
    assert!(report.leaderboard[0].p_vs_best.is_none());
    assert!(report.leaderboard[1..].iter().all(|e| e.p_vs_best.is_some()));

    for m in &report.models {
        assert_eq!(m.scoring.rows, rows);
        assert_eq!(m.scoring.invocations, rows.div_ceil(64), "{}", m.model);
        assert_eq!(m.metrics.len(), 9, "accuracy .. brier");
        for e in &m.metrics {
            let (v, i) = (e.value.expect("defined"), e.interval.expect("interval"));
            assert!(
                i.low <= v + 1e-9 && v <= i.high + 1e-9,
                "{} {}: {v} outside [{}, {}]",
                m.model,
                e.metric,
                i.low,
                i.high
            );
        }
        assert!(value(&report, m.model.as_str(), "roc_auc") > 0.7, "a learnable target");
        let support: u64 = m.per_class.iter().map(|c| c.support).sum();
        assert_eq!(support, rows as u64);
        let confusion: u64 = m.confusion.iter().flatten().sum();
        assert_eq!(confusion, rows as u64);
        let curves = m.curves.as_ref().expect("binary curves");
        assert!(curves.roc.len() >= 2 && curves.precision_recall.len() >= 2 && !curves.calibration.is_empty());
        assert_eq!(m.thresholds.len(), 19);
        let importance = m.importance.as_ref().expect("importance within budget");
        assert!(importance.invocations <= 60, "{}", importance.invocations);
        assert_eq!(importance.features.len(), 3);
        let slices = m.slices.as_ref().expect("slices");
        assert_eq!(slices.kind, "categories");
        assert_eq!(slices.slices.iter().map(|s| s.rows).sum::<usize>(), rows);
        assert!(slices.slices.iter().any(|s| s.slice == "(missing)"), "'?' is missing: {:?}", slices.slices);
        assert_eq!(m.worst_rows.len(), 10);
        assert!(m.worst_rows.windows(2).all(|w| w[0].loss >= w[1].loss));
    }
    // The signal matters more than noise to the logistic model.
    let logistic = report.model("toy-logistic").expect("logistic");
    let importance = &logistic.importance.as_ref().expect("importance").features;
    assert_eq!(importance[0].feature, "signal", "{importance:?}");

    // Same seed, same statistics.
    let again = run().await.expect("compare again").report;
    for (a, b) in report.models.iter().zip(&again.models) {
        assert_eq!(a.metrics, b.metrics);
        assert_eq!(a.importance, b.importance);
    }
    assert_eq!(report.comparisons, again.comparisons);
    assert_ne!(report.id, again.id);

    // Every test row's prediction, per model, in split order.
    assert_eq!(comparison.predictions.len(), 3);
    for (m, predictions) in report.models.iter().zip(&comparison.predictions) {
        assert_eq!(m.model, predictions.model);
        assert_eq!(predictions.rows.len(), rows);
        assert!(predictions.rows.iter().all(|r| r.probabilities.len() == 2));
        let worst = &m.worst_rows[0];
        let row = predictions.rows.iter().find(|r| r.row_id == worst.row_id).expect("the worst row is a test row");
        assert_eq!(row.actual, worst.actual);
        let csv = String::from_utf8(predictions.to_csv()).expect("utf-8");
        assert!(csv.starts_with("row_id,actual,predicted,p_no,p_yes\n"), "{}", &csv[..40]);
        assert_eq!(csv.lines().count(), rows + 1);
    }

    // Written, listed, read back.
    let prefix = reports::write(&p.store, &report, comparison.files()).await.expect("write");
    assert_eq!(prefix.as_str(), format!("reports/compare/{}", report.id));
    assert_eq!(reports::load(&p.store, &report.id).await.expect("load"), report);
    let listed = reports::list(&p.store).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].best.as_ref().map(|b| b.0.as_str()), Some(report.leaderboard[0].model.as_str()));
    for file in ["report.json", "report.md", "index.html", "roc.svg", "predictions-toy-logistic.csv"] {
        assert!(reports::load_file(&p.store, &report.id, file).await.is_ok(), "{file}");
    }
    for file in ["report.md", "index.html", "roc.svg", "pr.svg", "calibration.svg"] {
        let bytes = reports::load_file(&p.store, &report.id, file).await.expect("rendered");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("NaN") && !text.contains(">inf") && !text.contains(" inf"),
            "{file} shows only real numbers"
        );
        assert!(text.contains("toy-logistic") || file.ends_with(".svg"), "{file} names the models");
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn failing_endpoints_are_reported_while_the_others_are_scored() {
    let p = project(600).await;
    for name in ["good", "throttled", "broken", "short", "nonsense"] {
        fake_model(&p, name, None).await;
    }
    let invoker = Scripted::with(&[
        ("good", Behaviour::Good),
        ("throttled", Behaviour::ThrottleFirst(2)),
        ("broken", Behaviour::Broken),
        ("short", Behaviour::ShortAnswer),
        ("nonsense", Behaviour::NotProbabilities),
    ]);
    let mut options = wb_compare::CompareOptions::default();
    options.scoring.initial_backoff = std::time::Duration::from_millis(1);
    options.scoring.concurrency = 1;
    options.resamples = 50;
    options.importance_budget = 0;
    let report = compare(p.store.clone(), invoker.clone()).options(options).await.expect("partial report").report;
    let scored: Vec<&str> = report.models.iter().map(|m| m.model.as_str()).collect();
    assert_eq!(scored.len(), 2, "{scored:?}");
    assert!(scored.contains(&"good") && scored.contains(&"throttled"));
    let throttled = report.model("throttled").expect("scored after retries");
    assert!(throttled.scoring.retries >= 1, "{:?}", throttled.scoring);
    let failure = |name: &str| report.failures.iter().find(|f| f.model.as_str() == name).expect(name).error.clone();
    assert!(failure("broken").contains("gave up after 5 attempts"), "{}", failure("broken"));
    assert!(failure("short").contains("predictions back"), "{}", failure("short"));
    assert!(failure("nonsense").contains("are not probabilities"), "{}", failure("nonsense"));
    assert_eq!(report.comparisons.len(), 1);
}

#[tokio::test]
async fn partition_discipline_refuses_foreign_models_unless_asked() {
    let p = project(400).await;
    fake_model(&p, "current", None).await;
    fake_model(&p, "stale", Some(wb_core::ContentHash::of_bytes(b"another partition"))).await;
    let invoker = Scripted::with(&[("current", Behaviour::Good), ("stale", Behaviour::Good)]);
    let report =
        compare(p.store.clone(), invoker.clone()).resamples(20).importance_budget(0).await.expect("report").report;
    assert_eq!(report.models.len(), 1);
    let refused = &report.failures[0];
    assert_eq!(refused.model.as_str(), "stale");
    assert!(
        refused.error.contains("refused")
            && refused.error.contains("--allow-foreign")
            && refused.error.contains("partition"),
        "{}",
        refused.error
    );

    let report = compare(p.store.clone(), invoker)
        .resamples(20)
        .importance_budget(0)
        .allow_foreign(true)
        .await
        .expect("report")
        .report;
    assert_eq!(report.models.len(), 2);
    assert!(report.model("stale").expect("included").foreign);
    assert!(report.leaderboard.iter().any(|e| e.foreign));
    assert!(
        report.warnings.iter().any(|w| w.contains("stale") && w.contains("--allow-foreign")),
        "{:?}",
        report.warnings
    );
    let md = render::markdown(&report);
    assert!(md.contains("--allow-foreign"), "the warning is in the markdown");
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let p = project(300).await;
    let invoker = Scripted::with(&[("only", Behaviour::Broken)]);
    let none = compare(p.store.clone(), invoker.clone()).await.expect_err("no models");
    assert!(matches!(none, Error::NoModels { .. }), "{none}");
    assert!(none.to_string().contains("wb register"), "{none}");

    fake_model(&p, "only", None).await;
    let unknown = compare(p.store.clone(), invoker.clone())
        .models(vec![ModelName::parse("ghost").expect("name")])
        .await
        .expect_err("unknown");
    assert!(unknown.to_string().contains("\"ghost\" is not registered (registered: only)"), "{unknown}");

    let column = compare(p.store.clone(), invoker.clone()).slice_by("colur").await.expect_err("column");
    assert!(
        column.to_string().contains("cannot slice by \"colur\"") && column.to_string().contains("colour"),
        "{column}"
    );

    let batch = compare(p.store.clone(), invoker.clone()).batch_size(0).await.expect_err("batch");
    assert!(batch.to_string().contains("--batch-size"), "{batch}");

    let mut options = wb_compare::CompareOptions::default();
    options.scoring.initial_backoff = std::time::Duration::from_millis(1);
    let nothing = compare(p.store.clone(), invoker).options(options).await.expect_err("nothing scored");
    assert!(matches!(nothing, Error::NothingScored { .. }), "{nothing}");
    assert!(nothing.to_string().contains("only"), "{nothing}");

    let missing = reports::load(&p.store, "20260101T000000Z-abcdef").await.expect_err("no report");
    assert!(matches!(missing, Error::UnknownReport { .. }));
    assert!(reports::load(&p.store, "../datasets").await.is_err(), "ids cannot leave reports/compare");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_classes_get_macro_metrics_and_no_binary_curves() {
    let p = project_with(900, write_three_classes, true).await;
    model(&p, "multi-logistic", "logistic-regression", &[]).await;
    model(&p, "multi-bayes", "gaussian-nb", &[]).await;
    let (server, invoker) = serve(&p).await;
    let report = compare(p.store.clone(), invoker)
        .resamples(100)
        .slice_by("signal")
        .importance_budget(40)
        .await
        .expect("compare")
        .report;
    assert_eq!(report.classes.len(), 3);
    assert_eq!(report.positive_class, None);
    assert_eq!(report.primary_metric, "roc_auc");
    for m in &report.models {
        assert_eq!(m.per_class.len(), 3);
        assert_eq!(m.confusion.len(), 3);
        assert!(m.curves.is_none() && m.thresholds.is_empty(), "curves are for two classes");
        assert!(value(&report, m.model.as_str(), "roc_auc") > 0.7, "macro one-vs-rest AUC");
        let slices = m.slices.as_ref().expect("slices");
        assert_eq!(slices.kind, "quantiles");
        assert_eq!(slices.slices.len(), 4, "{:?}", slices.slices);
        assert_eq!(slices.slices.iter().map(|s| s.rows).sum::<usize>(), report.test_rows);
        assert!(m.importance.as_ref().expect("importance").invocations <= 40);
    }
    let pair = &report.comparisons[0];
    assert!(pair.mcnemar.is_some(), "McNemar works for any number of classes");
    assert!(pair.delong.is_none(), "DeLong is for binary ROC AUC");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_trees_and_forests_train_serve_and_score() {
    let p = project_with(600, write_regression, false).await;
    model(&p, "reg-tree", "decision-tree", &[("max_depth", "6")]).await;
    model(&p, "reg-forest", "random-forest", &[("num_trees", "20"), ("max_depth", "8")]).await;
    // The regression defaults are recorded with the jobs.
    let jobs = TrainingJobs::new(p.store.clone());
    let tree = jobs.get(&JobName::parse("reg-tree-job").expect("job")).await.expect("tree job");
    assert_eq!(tree.hyperparameters.get("split_quality").map(String::as_str), Some("squared_error"));
    let forest = jobs.get(&JobName::parse("reg-forest-job").expect("job")).await.expect("forest job");
    assert_eq!(forest.hyperparameters.get("feature_fraction").map(String::as_str), Some("1.0"));
    // A classification criterion is refused on a regression dataset, naming the fix.
    let refused = TrainingJobs::new(p.store.clone())
        .train(&p.dataset, "decision-tree")
        .hyperparameter("split_quality", "gini")
        .await
        .expect_err("gini on values");
    assert!(refused.to_string().contains("split_quality=squared_error"), "{refused}");

    let (server, invoker) = serve(&p).await;
    let report = compare(p.store.clone(), invoker).resamples(100).importance_budget(20).await.expect("compare").report;
    assert_eq!(report.task, wb_datasets::TaskKind::Regression);
    for name in ["reg-tree", "reg-forest"] {
        // y = 2·signal + 5 + noise in [0, 0.6]: the trees' steps follow the signal closely.
        assert!(value(&report, name, "r2") > 0.98, "{name}: r2 {}", value(&report, name, "r2"));
        let m = report.models.iter().find(|m| m.model.as_str() == name).expect("scored");
        let importance = &m.importance.as_ref().expect("importance").features;
        assert_eq!(importance[0].feature, "signal", "{name}: {importance:?}");
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_models_are_ranked_by_rmse() {
    let p = project_with(600, write_regression, false).await;
    model(&p, "reg-full", "linear-regression", &[]).await;
    model(&p, "reg-origin", "linear-regression", &[("fit_intercept", "false")]).await;
    let (server, invoker) = serve(&p).await;
    let report = compare(p.store.clone(), invoker).resamples(200).importance_budget(30).await.expect("compare").report;
    assert_eq!(report.task, wb_datasets::TaskKind::Regression);
    assert_eq!(report.primary_metric, "rmse");
    assert!(!report.higher_is_better);
    assert_eq!(report.leaderboard[0].model.as_str(), "reg-full", "the intercept is needed");
    assert!(report.leaderboard[0].value < report.leaderboard[1].value);
    assert!(report.leaderboard[1].significantly_worse, "{:?}", report.leaderboard[1]);
    let best = &report.models[0];
    assert_eq!(best.metrics.iter().map(|m| m.metric.as_str()).collect::<Vec<_>>(), ["rmse", "mae", "r2", "mape"]);
    assert!(value(&report, "reg-full", "r2") > 0.99);
    assert!(best.per_class.is_empty() && best.curves.is_none());
    assert!(best.worst_rows.windows(2).all(|w| w[0].loss >= w[1].loss));
    assert!(best.worst_rows[0].true_class_probability.is_none());
    let importance = &best.importance.as_ref().expect("importance").features;
    assert_eq!(importance[0].feature, "signal", "{importance:?}");
    assert!(importance[0].mean > 1.0, "shuffling the signal raises the RMSE: {importance:?}");
    let pair = &report.comparisons[0];
    assert!(pair.mcnemar.is_none() && pair.delong.is_none());
    assert!(pair.significant);
    server.shutdown().await.expect("shutdown");
}

//! The comparison: choose the models, enforce partition discipline, score the test split
//! through every endpoint, compute metrics, intervals, paired tests and explanations, and
//! assemble the [`Report`].
//!
//! Tabular and image datasets go through the same pipeline. For an image dataset
//! ([`Datasets::is_image_dataset`]) the test split is its test images, read from the store
//! and checked against the image manifest's hashes ([`TestSet::load_images`]); they are sent
//! one per invocation and every metric, interval and paired test applies unchanged, since those
//! work on labels and probabilities. Permutation importance is skipped for images and
//! `slice_by` is refused; the report records `inputs: "images"` and the worst images.
//!
//! ```no_run
//! # async fn run(store: wb_core::DynObjectStore) -> wb_compare::Result<()> {
//! use std::sync::Arc;
//! use wb_serving::invoke::RuntimeClient;
//!
//! let invoker = Arc::new(RuntimeClient::new("http://127.0.0.1:8080")?);
//! let comparison = wb_compare::compare(store, invoker).seed(7).concurrency(8).await?;
//! println!("best: {:?}", comparison.report.best().map(|b| &b.model));
//! for model in &comparison.predictions {
//!     println!("{}: {} test rows scored", model.model, model.rows.len());
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use wb_core::{ContentHash, DatasetName, DynObjectStore, ModelName};
use wb_datasets::{Datasets, TaskKind};
use wb_models::registry::{ModelRecord, Registry};
use wb_serving::invoke::InvokeEndpoint;

use crate::error::{Error, Result};
use crate::explain;
use crate::metrics::{self, Metric};
use crate::report::{
    ClassReport, Curves, Estimate, InputKind, LeaderboardEntry, MetricDifference, ModelFailure, ModelReport,
    PairwiseComparison, REPORT_FORMAT, Report, ScoringStats, Settings, Timings,
};
use crate::reports::new_report_id;
use crate::score::{self, Labels, Predictions, ScoringOptions, TestSet};
use crate::stats;

/// Everything a comparison can be told.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareOptions {
    /// The dataset whose test split is scored (default: the one every model was trained on).
    pub dataset: Option<DatasetName>,
    /// The models to compare (default: every registered model).
    pub models: Option<Vec<ModelName>>,
    /// Batching, concurrency and retries.
    pub scoring: ScoringOptions,
    /// Seed of every resample and permutation.
    pub seed: u64,
    /// Bootstrap resamples (0 turns intervals and paired bootstraps off).
    pub resamples: usize,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Significance level after Holm's correction.
    pub alpha: f64,
    /// Include models trained on another partition, flagged.
    pub allow_foreign: bool,
    /// A column to report metrics by (categories, or quartile bins for numbers; tabular
    /// datasets only).
    pub slice_by: Option<String>,
    /// Most invocations permutation importance may make per model (0 turns it off).
    pub importance_budget: usize,
    /// Most test rows permutation importance uses.
    pub importance_rows: usize,
    /// Shuffles per feature (reduced to fit the budget).
    pub importance_repeats: usize,
    /// Worst-scored rows kept per model.
    pub worst_rows: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            dataset: None,
            models: None,
            scoring: ScoringOptions::default(),
            seed: 42,
            resamples: 1000,
            confidence: 0.95,
            alpha: 0.05,
            allow_foreign: false,
            slice_by: None,
            importance_budget: 200,
            importance_rows: 2000,
            importance_repeats: 3,
            worst_rows: 10,
        }
    }
}

/// Starts a comparison of the models registered in `store`, scored through `invoker`;
/// `.await` it.
pub fn compare(store: DynObjectStore, invoker: Arc<dyn InvokeEndpoint>) -> Compare {
    Compare { store, invoker, options: CompareOptions::default() }
}

/// A comparison being configured; `.await` runs it.
#[derive(Debug)]
#[must_use = "a comparison does nothing until awaited"]
pub struct Compare {
    store: DynObjectStore,
    invoker: Arc<dyn InvokeEndpoint>,
    options: CompareOptions,
}

impl Compare {
    /// Replaces every option.
    pub fn options(mut self, options: CompareOptions) -> Self {
        self.options = options;
        self
    }

    /// Scores this dataset's test split.
    pub fn dataset(mut self, dataset: DatasetName) -> Self {
        self.options.dataset = Some(dataset);
        self
    }

    /// Compares only these models.
    pub fn models(mut self, models: Vec<ModelName>) -> Self {
        self.options.models = Some(models);
        self
    }

    /// Rows per invocation.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.options.scoring.batch_size = rows;
        self
    }

    /// Invocations in flight per model.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.options.scoring.concurrency = n;
        self
    }

    /// The seed of resamples and permutations.
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// Bootstrap resamples.
    pub fn resamples(mut self, n: usize) -> Self {
        self.options.resamples = n;
        self
    }

    /// Includes models trained on another partition, flagged in every output.
    pub fn allow_foreign(mut self, allow: bool) -> Self {
        self.options.allow_foreign = allow;
        self
    }

    /// Reports metrics by slice of `column` (tabular datasets; refused for images).
    pub fn slice_by(mut self, column: impl Into<String>) -> Self {
        self.options.slice_by = Some(column.into());
        self
    }

    /// The invocation budget of permutation importance per model.
    pub fn importance_budget(mut self, calls: usize) -> Self {
        self.options.importance_budget = calls;
        self
    }
}

/// A finished comparison: the report, and every scored model's prediction per test row.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The report.
    pub report: Report,
    /// Predictions per model, in the report's model order.
    pub predictions: Vec<ModelPredictions>,
}

/// One model's predictions for the test split.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPredictions {
    /// The model.
    pub model: ModelName,
    /// Class labels (empty for regression).
    pub classes: Vec<String>,
    /// One row per test row, in split order.
    pub rows: Vec<RowPrediction>,
}

/// A model's prediction for one test row.
#[derive(Clone, Debug, PartialEq)]
pub struct RowPrediction {
    /// The row's id.
    pub row_id: String,
    /// The true label or value.
    pub actual: String,
    /// The predicted label (most probable class) or value.
    pub predicted: String,
    /// One probability per class (empty for regression).
    pub probabilities: Vec<f64>,
}

impl ModelPredictions {
    /// `row_id,actual,predicted[,p_<class>...]` as CSV (RFC 4180 quoting).
    #[must_use]
    pub fn to_csv(&self) -> Vec<u8> {
        let quote = |v: &str| {
            if v.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.to_owned()
            }
        };
        let mut out = String::from("row_id,actual,predicted");
        for class in &self.classes {
            out.push_str(",p_");
            out.push_str(&quote(class));
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&quote(&row.row_id));
            out.push(',');
            out.push_str(&quote(&row.actual));
            out.push(',');
            out.push_str(&quote(&row.predicted));
            for p in &row.probabilities {
                out.push(',');
                out.push_str(&p.to_string());
            }
            out.push('\n');
        }
        out.into_bytes()
    }
}

impl Comparison {
    /// Every file of the report directory: [`crate::render::files`] and one
    /// `predictions-<model>.csv` per scored model.
    #[must_use]
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = crate::render::files(&self.report);
        files.extend(self.predictions.iter().map(|p| (predictions_file(&p.model), p.to_csv())));
        files
    }
}

/// `predictions-<model>.csv`.
fn predictions_file(model: &ModelName) -> String {
    format!("predictions-{model}.csv")
}

fn model_predictions(test: &TestSet, model: &ModelName, predictions: &Predictions) -> ModelPredictions {
    let rows = (0..test.len())
        .map(|i| {
            let row = predictions.row(i);
            let (actual, predicted, probabilities) = match &test.labels {
                Labels::Classes(labels) => {
                    (test.classes[labels[i]].clone(), test.classes[argmax(row)].clone(), row.to_vec())
                }
                Labels::Values(values) => (values[i].to_string(), row[0].to_string(), Vec::new()),
            };
            RowPrediction { row_id: test.row_ids[i].clone(), actual, predicted, probabilities }
        })
        .collect();
    ModelPredictions { model: model.clone(), classes: test.classes.clone(), rows }
}

impl IntoFuture for Compare {
    type Output = Result<Comparison>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self.store, self.invoker, self.options))
    }
}

fn check_options(o: &CompareOptions) -> Result<()> {
    let range = |option: &'static str, value: usize, lo: usize, hi: usize| {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err(Error::InvalidOption { option, message: format!("{value} is out of range ({lo}..={hi})") })
        }
    };
    range("--batch-size", o.scoring.batch_size, 1, 100_000)?;
    range("--concurrency", o.scoring.concurrency, 1, 256)?;
    range("resamples", o.resamples, 0, 100_000)?;
    if o.scoring.max_attempts == 0 {
        return Err(Error::InvalidOption { option: "max_attempts", message: "must be at least 1".into() });
    }
    if !(o.confidence > 0.5 && o.confidence < 1.0 && o.alpha > 0.0 && o.alpha < 0.5) {
        return Err(Error::InvalidOption {
            option: "confidence",
            message: format!("confidence {} must be in (0.5, 1) and alpha {} in (0, 0.5)", o.confidence, o.alpha),
        });
    }
    Ok(())
}

/// The partition whose test split is scored: what partition discipline compares models to.
struct Partition {
    dataset: DatasetName,
    fingerprint: ContentHash,
    version: u32,
    task: TaskKind,
}

/// One model chosen for scoring.
struct Candidate {
    record: ModelRecord,
    foreign: bool,
}

/// One model's predictions.
struct Scored {
    candidate: Candidate,
    predictions: Predictions,
    stats: ScoringStats,
}

#[expect(clippy::too_many_lines, reason = "the comparison's phases, in order")]
async fn run(store: DynObjectStore, invoker: Arc<dyn InvokeEndpoint>, options: CompareOptions) -> Result<Comparison> {
    let started = Instant::now();
    let created = chrono::Utc::now();
    check_options(&options)?;
    let mut records = Registry::new(store.clone()).list().await?;
    if let Some(wanted) = &options.models {
        let registered: Vec<String> = records.iter().map(|r| r.name.to_string()).collect();
        if let Some(missing) = wanted.iter().find(|w| !registered.iter().any(|r| r == w.as_str())) {
            return Err(Error::UnknownModel { name: missing.to_string(), registered });
        }
        records.retain(|r| wanted.contains(&r.name));
    }
    if records.is_empty() {
        return Err(Error::NoModels { hint: ", register one with `wb register MODEL --endpoint ENDPOINT`".into() });
    }
    let dataset = match &options.dataset {
        Some(d) => d.clone(),
        None => {
            let datasets: BTreeSet<&DatasetName> = records.iter().map(|r| &r.dataset).collect();
            match datasets.into_iter().collect::<Vec<_>>().as_slice() {
                [only] => (*only).clone(),
                many => {
                    return Err(Error::AmbiguousDataset { datasets: many.iter().map(ToString::to_string).collect() });
                }
            }
        }
    };
    tracing::debug!(elapsed_ms = score::millis(started), models = records.len(), "registry read");
    let datasets = Datasets::new(store.clone());
    let (partition, test, slice_values) = if datasets.is_image_dataset(&dataset).await? {
        if options.slice_by.is_some() {
            return Err(Error::InvalidOption {
                option: "--slice-by",
                message: format!("dataset {dataset} holds images, which have no columns to slice by"),
            });
        }
        let manifest = datasets.open_images(&dataset).await?;
        let test = TestSet::load_images(&store, &manifest).await?;
        tracing::debug!(elapsed_ms = score::millis(started), images = test.len(), "test images read and verified");
        let partition = Partition {
            dataset: manifest.dataset.clone(),
            fingerprint: manifest.fingerprint,
            version: manifest.version,
            task: TaskKind::Classification,
        };
        (partition, test, None)
    } else {
        let opened = datasets.open(&dataset).await?;
        let manifest = opened.manifest();
        let split = opened.test_for_evaluation().await?;
        tracing::debug!(elapsed_ms = score::millis(started), rows = split.num_rows(), "test split read");
        let test = TestSet::new(manifest, &split)?;
        tracing::debug!(elapsed_ms = score::millis(started), "test rows prepared");
        let slice_values = match &options.slice_by {
            Some(column) => Some(explain::slice_column(manifest, &split, column)?),
            None => None,
        };
        let partition = Partition {
            dataset: manifest.dataset.clone(),
            fingerprint: manifest.fingerprint,
            version: manifest.version,
            task: manifest.task.kind(),
        };
        (partition, test, slice_values)
    };
    let test = Arc::new(test);
    if test.is_empty() {
        return Err(Error::NothingScored { reasons: vec![format!("the test split of {dataset} has no rows")] });
    }
    if matches!(test.labels, Labels::Classes(_)) && test.classes.len() < 2 {
        return Err(Error::NothingScored {
            reasons: vec![format!(
                "dataset {dataset} has {} class ({}); classification metrics need at least two",
                test.classes.len(),
                test.classes.join(", ")
            )],
        });
    }
    let load_ms = score::millis(started);

    let mut warnings = Vec::new();
    let mut failures = Vec::new();
    let mut candidates = Vec::new();
    for record in records {
        if record.dataset == dataset && record.fingerprint == partition.fingerprint {
            candidates.push(Candidate { record, foreign: false });
            continue;
        }
        let why = foreign_reason(&record, &partition);
        if options.allow_foreign {
            warnings.push(format!("{} is included with --allow-foreign: {why}", record.name));
            candidates.push(Candidate { record, foreign: true });
        } else {
            failures.push(ModelFailure {
                model: record.name.clone(),
                endpoint: record.endpoint.clone(),
                error: format!("refused: {why}; retrain it on the current partition, or pass --allow-foreign"),
            });
        }
    }

    // Score every model at once; each keeps its own invocations in flight.
    let scoring_started = Instant::now();
    let outcomes = futures::future::join_all(candidates.into_iter().map(|candidate| {
        let invoker = Arc::clone(&invoker);
        let test = Arc::clone(&test);
        let scoring = options.scoring;
        async move {
            let t = Instant::now();
            let result = score::score(&invoker, candidate.record.endpoint.as_str(), &test, &scoring).await;
            (candidate, result, score::millis(t))
        }
    }))
    .await;
    let scoring_ms = score::millis(scoring_started);
    let mut scored = Vec::new();
    for (candidate, result, elapsed_ms) in outcomes {
        match result {
            Ok((predictions, counters)) => scored.push(Scored {
                stats: ScoringStats {
                    rows: test.len(),
                    invocations: counters.invocations,
                    retries: counters.retries,
                    elapsed_ms,
                },
                candidate,
                predictions,
            }),
            Err(e) => {
                tracing::warn!(model = %candidate.record.name, error = %e, "model not scored");
                failures.push(ModelFailure {
                    model: candidate.record.name.clone(),
                    endpoint: candidate.record.endpoint.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    if scored.is_empty() {
        return Err(Error::NothingScored {
            reasons: failures.iter().map(|f| format!("{} ({}): {}", f.model, f.endpoint, f.error)).collect(),
        });
    }

    // Metrics, intervals and the bootstrap replicates the paired tests reuse.
    let statistics_started = Instant::now();
    let primary = primary_metric(&test);
    let evaluated = futures::future::try_join_all(scored.iter().map(|s| {
        let test = Arc::clone(&test);
        let predictions = s.predictions.clone();
        let (resamples, seed, confidence) = (options.resamples, options.seed, options.confidence);
        async move {
            tokio::task::spawn_blocking(move || evaluate(&test, &predictions, resamples, seed, confidence))
                .await
                .map_err(|e| Error::Server { message: format!("statistics task failed: {e}") })
        }
    }))
    .await?;
    let comparisons = pairwise(&test, &scored, &evaluated, &options, primary);
    let statistics_ms = score::millis(statistics_started);

    // Explanations.
    let explanations_started = Instant::now();
    let mut models = Vec::with_capacity(scored.len());
    // Images have no feature columns to shuffle: no importance, and nothing to warn about.
    let importance_budget = if test.inputs() == InputKind::Images { 0 } else { options.importance_budget };
    for (s, e) in scored.iter().zip(evaluated) {
        let importance = if importance_budget > 0 {
            match explain::permutation_importance(&invoker, s.candidate.record.endpoint.as_str(), &test, &options).await
            {
                Ok(importance) => importance,
                Err(err) => {
                    warnings.push(format!("{}: permutation importance failed: {err}", s.candidate.record.name));
                    None
                }
            }
        } else {
            None
        };
        if importance_budget > 0 && importance.is_none() {
            warnings.push(format!(
                "{}: permutation importance needs at least {} invocations; the budget is {}",
                s.candidate.record.name,
                test.feature_names.len() + 1,
                options.importance_budget
            ));
        }
        let slices = slice_values.as_ref().map(|column| explain::slices(&test, &s.predictions, column));
        let record = &s.candidate.record;
        models.push(ModelReport {
            model: record.name.clone(),
            endpoint: record.endpoint.clone(),
            algorithm: record.algorithm.clone(),
            backend: record.backend.to_string(),
            job: record.job.clone(),
            description: record.description.clone(),
            foreign: s.candidate.foreign,
            trained_on: record.fingerprint,
            metrics: e.estimates,
            per_class: e.per_class,
            confusion: e.confusion,
            curves: e.curves,
            thresholds: e.thresholds,
            importance,
            slices,
            worst_rows: explain::worst_rows(&test, &s.predictions, options.worst_rows),
            scoring: s.stats.clone(),
            predictions_file: Some(predictions_file(&record.name)),
        });
    }
    let explanations_ms = score::millis(explanations_started);

    let leaderboard = leaderboard(&mut models, &comparisons, primary, options.alpha);
    let predictions = models
        .iter()
        .filter_map(|m| scored.iter().find(|s| s.candidate.record.name == m.model))
        .map(|s| model_predictions(&test, &s.candidate.record.name, &s.predictions))
        .collect();
    let positive_class = (test.classes.len() == 2).then(|| test.classes[1].clone());
    let report = Report {
        format: REPORT_FORMAT,
        id: new_report_id(created),
        created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        dataset,
        fingerprint: partition.fingerprint,
        task: partition.task,
        inputs: test.inputs(),
        classes: test.classes.clone(),
        positive_class,
        test_rows: test.len(),
        row_id_column: test.row_id_column.clone(),
        settings: Settings {
            batch_size: options.scoring.batch_size,
            concurrency: options.scoring.concurrency,
            max_attempts: options.scoring.max_attempts,
            seed: options.seed,
            resamples: options.resamples,
            confidence: options.confidence,
            alpha: options.alpha,
            allow_foreign: options.allow_foreign,
            slice_by: options.slice_by.clone(),
            importance_budget,
        },
        primary_metric: primary.name().to_owned(),
        higher_is_better: primary.higher_is_better(),
        warnings,
        models,
        failures,
        leaderboard,
        comparisons,
        timings: Timings { load_ms, scoring_ms, statistics_ms, explanations_ms, total_ms: score::millis(started) },
    };
    Ok(Comparison { report, predictions })
}

fn foreign_reason(record: &ModelRecord, manifest: &Partition) -> String {
    if record.dataset == manifest.dataset {
        format!(
            "trained on partition {} of {}, but the test split belongs to partition {} (version {}); \
             its training rows may be in this test split",
            record.fingerprint.short(12),
            record.dataset,
            manifest.fingerprint.short(12),
            manifest.version
        )
    } else {
        format!("trained on dataset {}, not {}", record.dataset, manifest.dataset)
    }
}

/// A finite value, or `None`.
pub(crate) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// One model's statistics.
struct Evaluation {
    estimates: Vec<Estimate>,
    per_class: Vec<ClassReport>,
    confusion: Vec<Vec<u64>>,
    curves: Option<Curves>,
    thresholds: Vec<metrics::ThresholdRow>,
    /// The scalar metrics' names, in `estimates` order.
    names: Vec<&'static str>,
    /// The scalar metrics on all rows, in `estimates` order.
    point: Vec<f64>,
    /// `replicates[r][m]`: metric `m` on bootstrap resample `r`.
    replicates: Vec<Vec<f64>>,
}

fn evaluate(test: &TestSet, predictions: &Predictions, resamples: usize, seed: u64, confidence: f64) -> Evaluation {
    let n = test.len();
    let mut replicates = Vec::with_capacity(resamples);
    let (named, per_class, confusion, curves, thresholds, intervals) = match (&test.labels, predictions) {
        (Labels::Classes(labels), Predictions::Probabilities { classes, values }) => {
            let m = metrics::classification(labels, values, *classes);
            let intervals = if resamples > 0 {
                stats::bootstrap(n, resamples, seed, confidence, |idx| {
                    let v = metrics::classification_scalars(labels, values, *classes, idx);
                    replicates.push(v.clone());
                    v
                })
            } else {
                Vec::new()
            };
            let per_class = m
                .per_class
                .iter()
                .zip(&test.classes)
                .map(|(c, class)| ClassReport {
                    class: class.clone(),
                    precision: c.precision,
                    recall: c.recall,
                    f1: c.f1,
                    support: c.support,
                })
                .collect();
            let (curves, thresholds) = if *classes == 2 {
                let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                let scores: Vec<f64> = values.chunks(2).map(|p| p[1]).collect();
                let cuts: Vec<f64> = (1..20).map(|i| f64::from(i) * 0.05).collect();
                (
                    Some(Curves {
                        roc: thin(metrics::roc_curve(&positive, &scores), MAX_CURVE_POINTS),
                        precision_recall: thin(metrics::pr_curve(&positive, &scores), MAX_CURVE_POINTS),
                        calibration: metrics::calibration(&positive, &scores, 10),
                    }),
                    metrics::threshold_table(&positive, &scores, &cuts),
                )
            } else {
                (None, Vec::new())
            };
            (m.named(), per_class, m.confusion.clone(), curves, thresholds, intervals)
        }
        (Labels::Values(actual), Predictions::Values(predicted)) => {
            let m = metrics::regression(actual, predicted);
            let intervals = if resamples > 0 {
                stats::bootstrap(n, resamples, seed, confidence, |idx| {
                    let v = metrics::regression_scalars(actual, predicted, idx);
                    replicates.push(v.clone());
                    v
                })
            } else {
                Vec::new()
            };
            (m.named(), Vec::new(), Vec::new(), None, Vec::new(), intervals)
        }
        _ => unreachable!("predictions are parsed for the dataset's task"),
    };
    let estimates = named
        .iter()
        .enumerate()
        .map(|(i, (metric, value))| Estimate {
            metric: (*metric).to_owned(),
            value: finite(*value),
            interval: intervals.get(i).copied().flatten(),
        })
        .collect();
    Evaluation {
        estimates,
        per_class,
        confusion,
        curves,
        thresholds,
        names: named.iter().map(|(n, _)| *n).collect(),
        point: named.iter().map(|(_, v)| *v).collect(),
        replicates,
    }
}

/// Most points a curve keeps in the report (the predictions file holds every row).
pub const MAX_CURVE_POINTS: usize = 400;

/// Keeps at most `max` points of a curve, evenly spaced, always with its first and last.
fn thin(points: Vec<metrics::CurvePoint>, max: usize) -> Vec<metrics::CurvePoint> {
    if points.len() <= max || max < 2 {
        return points;
    }
    let last = points.len() - 1;
    let mut kept: Vec<usize> = (0..max).map(|k| k * last / (max - 1)).collect();
    kept.dedup();
    kept.into_iter().map(|i| points[i].clone()).collect()
}

/// Whether model `i` got each row right (classification).
fn correctness(test: &TestSet, predictions: &Predictions) -> Option<Vec<bool>> {
    let Labels::Classes(labels) = &test.labels else { return None };
    Some(labels.iter().enumerate().map(|(i, &l)| argmax(predictions.row(i)) == l).collect())
}

fn pairwise(
    test: &TestSet,
    scored: &[Scored],
    evaluated: &[Evaluation],
    options: &CompareOptions,
    primary: Metric,
) -> Vec<PairwiseComparison> {
    let names: Vec<&'static str> = evaluated.first().map(|e| e.names.clone()).unwrap_or_default();
    let primary_index = names.iter().position(|n| *n == primary.name());
    let correct: Vec<Option<Vec<bool>>> = scored.iter().map(|s| correctness(test, &s.predictions)).collect();
    let binary = test.classes.len() == 2;
    let positive: Vec<bool> = match &test.labels {
        Labels::Classes(labels) if binary => labels.iter().map(|&l| l == 1).collect(),
        _ => Vec::new(),
    };
    let positive_scores = |p: &Predictions| -> Vec<f64> { (0..test.len()).map(|i| p.row(i)[1]).collect() };
    let mut out = Vec::new();
    for a in 0..scored.len() {
        for b in a + 1..scored.len() {
            let (ea, eb) = (&evaluated[a], &evaluated[b]);
            let mcnemar = match (&correct[a], &correct[b]) {
                (Some(ca), Some(cb)) => Some(stats::mcnemar(ca, cb)),
                _ => None,
            };
            let delong = if binary {
                stats::delong(
                    &positive,
                    &positive_scores(&scored[a].predictions),
                    &positive_scores(&scored[b].predictions),
                )
            } else {
                None
            };
            let point: Vec<(f64, f64)> = ea.point.iter().copied().zip(eb.point.iter().copied()).collect();
            let differences = if options.resamples > 0 && !ea.replicates.is_empty() {
                let mut r = 0;
                let paired = stats::paired_bootstrap(
                    test.len(),
                    options.resamples,
                    options.seed,
                    options.confidence,
                    &point,
                    |_| {
                        let pairs = ea.replicates[r].iter().copied().zip(eb.replicates[r].iter().copied()).collect();
                        r += 1;
                        pairs
                    },
                );
                names
                    .iter()
                    .zip(paired)
                    .map(|(metric, d)| MetricDifference {
                        metric: (*metric).to_owned(),
                        difference: finite(d.difference),
                        interval: d.interval,
                        p_value: finite(d.p_value),
                    })
                    .collect()
            } else {
                names
                    .iter()
                    .zip(&point)
                    .map(|(metric, (x, y))| MetricDifference {
                        metric: (*metric).to_owned(),
                        difference: finite(x - y),
                        interval: None,
                        p_value: None,
                    })
                    .collect()
            };
            out.push(PairwiseComparison {
                a: scored[a].candidate.record.name.clone(),
                b: scored[b].candidate.record.name.clone(),
                rows: test.len(),
                mcnemar,
                delong,
                differences,
                adjusted_p: None,
                significant: false,
                better: None,
            });
        }
    }
    // Holm's correction over every pair's primary-metric test.
    let raw: Vec<f64> = out
        .iter()
        .map(|c| primary_index.and_then(|i| c.differences.get(i)).and_then(|d| d.p_value).unwrap_or(1.0))
        .collect();
    let adjusted = stats::holm(&raw);
    let higher = primary.higher_is_better();
    for (c, p) in out.iter_mut().zip(adjusted) {
        let has_test = primary_index.and_then(|i| c.differences.get(i)).and_then(|d| d.p_value).is_some();
        c.adjusted_p = has_test.then_some(p);
        c.significant = has_test && p < options.alpha;
        let diff = primary_index.and_then(|i| c.differences.get(i)).and_then(|d| d.difference).unwrap_or(0.0);
        c.better = if diff == 0.0 {
            None
        } else if (diff > 0.0) == higher {
            Some(c.a.clone())
        } else {
            Some(c.b.clone())
        };
    }
    out
}

/// The metric the leaderboard ranks by and permutation importance measures: ROC AUC for
/// classification, RMSE for regression.
pub(crate) fn primary_metric(test: &TestSet) -> Metric {
    match test.labels {
        Labels::Classes(_) => Metric::RocAuc,
        Labels::Values(_) => Metric::Rmse,
    }
}

/// Sorts `models` by the primary metric (best first) and builds the leaderboard.
fn leaderboard(
    models: &mut [ModelReport],
    comparisons: &[PairwiseComparison],
    primary: Metric,
    alpha: f64,
) -> Vec<LeaderboardEntry> {
    let higher_is_better = primary.higher_is_better();
    let value = |m: &ModelReport| m.metric(primary.name()).and_then(|e| e.value);
    models.sort_by(|a, b| {
        let (va, vb) = (value(a), value(b));
        match (va, vb) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if higher_is_better { o.reverse() } else { o }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.model.cmp(&b.model))
    });
    let best = models.first().map(|m| m.model.clone());
    models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let vs_best = comparisons.iter().find(|c| {
                Some(&c.a) == best.as_ref() && c.b == m.model || Some(&c.b) == best.as_ref() && c.a == m.model
            });
            let p_vs_best = if i == 0 { None } else { vs_best.and_then(|c| c.adjusted_p) };
            LeaderboardEntry {
                rank: i + 1,
                model: m.model.clone(),
                value: value(m),
                interval: m.metric(primary.name()).and_then(|e| e.interval),
                p_vs_best,
                significantly_worse: p_vs_best.is_some_and(|p| p < alpha),
                foreign: m.foreign,
            }
        })
        .collect()
}

/// A seeded permutation of `0..n`.
pub(crate) fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    order
}

/// The index of the largest value (the first on ties, as numpy's `argmax`).
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_are_thinned_evenly_with_their_ends() {
        let curve: Vec<metrics::CurvePoint> =
            (0..1000).map(|i| metrics::CurvePoint { x: f64::from(i), y: 0.0, threshold: 0.0 }).collect();
        let thinned = thin(curve.clone(), 400);
        assert_eq!(thinned.len(), 400);
        assert_eq!(thinned[0], curve[0]);
        assert_eq!(thinned[399], curve[999]);
        assert!(thinned.windows(2).all(|w| w[0].x < w[1].x));
        assert_eq!(thin(curve[..10].to_vec(), 400).len(), 10, "short curves stay whole");
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.2, 0.5, 0.3]), 1);
        assert_eq!(argmax(&[0.5, 0.5]), 0);
    }
}

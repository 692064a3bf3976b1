//! The comparison report: everything `wb compare` found, as one serde document.
//!
//! `reports/compare/<id>/report.json` is this structure; `report.md`, `index.html` and the SVG
//! charts beside it are rendered from it ([`crate::render`]). Values that are undefined on the
//! data (an AUC when the test split holds one class only) are `null`.

use serde::{Deserialize, Serialize};
use wb_core::{ContentHash, DatasetName, EndpointName, JobName, ModelName};

use crate::metrics::{CalibrationBin, CurvePoint, ThresholdRow};
use crate::stats::{DeLong, Interval, McNemar};

/// Version of the report document.
pub const REPORT_FORMAT: u32 = 1;

/// A comparison of every scored model on one dataset's test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Document format ([`REPORT_FORMAT`]).
    pub format: u32,
    /// The report's id (`<yyyymmddThhmmssZ>-<hex>`), also its directory name.
    pub id: String,
    /// When the comparison ran (RFC 3339).
    pub created_at: String,
    /// The dataset whose test split was scored.
    pub dataset: DatasetName,
    /// Its partition fingerprint.
    pub fingerprint: ContentHash,
    /// `classification` or `regression` (the classes are listed apart).
    pub task: wb_datasets::TaskKind,
    /// What the test rows are: `tabular` rows or `images` (absent in reports written before
    /// image datasets: tabular).
    #[serde(default)]
    pub inputs: InputKind,
    /// Class labels in index order (empty for regression).
    pub classes: Vec<String>,
    /// The class whose probability the binary curves, thresholds and DeLong use
    /// (`classes[1]`; `None` unless there are exactly two classes).
    pub positive_class: Option<String>,
    /// Rows in the test split (images, for an image dataset).
    pub test_rows: usize,
    /// The column test rows are identified by (`None`: the 0-based row number in the split).
    pub row_id_column: Option<String>,
    /// How the comparison was run.
    pub settings: Settings,
    /// The metric the leaderboard ranks by.
    pub primary_metric: String,
    /// Whether a larger primary metric is better.
    pub higher_is_better: bool,
    /// Warnings every output repeats (foreign partitions, truncated explanations, ...).
    pub warnings: Vec<String>,
    /// Scored models, in leaderboard order.
    pub models: Vec<ModelReport>,
    /// Models that could not be scored, with the reason.
    pub failures: Vec<ModelFailure>,
    /// The ranking by the primary metric, with significance against the best model.
    pub leaderboard: Vec<LeaderboardEntry>,
    /// Paired tests between every pair of scored models.
    pub comparisons: Vec<PairwiseComparison>,
    /// Where the time went.
    pub timings: Timings,
}

/// What a test split's rows are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// Rows of a tabular dataset, sent as CSV.
    #[default]
    Tabular,
    /// Images of an image dataset, sent one per request; row ids are their paths.
    Images,
}

impl InputKind {
    /// `tabular` or `images`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tabular => "tabular",
            Self::Images => "images",
        }
    }
}

/// The knobs of a comparison run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Rows per invocation.
    pub batch_size: usize,
    /// Invocations in flight per model.
    pub concurrency: usize,
    /// Attempts per invocation (throttling and server errors are retried).
    pub max_attempts: u32,
    /// Seed of every resample and permutation.
    pub seed: u64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Confidence level of the intervals (0.95).
    pub confidence: f64,
    /// Significance level of the tests, after Holm's correction (0.05).
    pub alpha: f64,
    /// Models trained on another partition were included on request.
    pub allow_foreign: bool,
    /// The column sliced by, if any.
    pub slice_by: Option<String>,
    /// Most invocations permutation importance may make per model.
    pub importance_budget: usize,
}

/// One metric with its bootstrap interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The metric's name (`accuracy`, `roc_auc`, `rmse`, ...).
    pub metric: String,
    /// Its value on the whole test split (`null` when undefined).
    pub value: Option<f64>,
    /// The percentile bootstrap interval at [`Settings::confidence`].
    pub interval: Option<Interval>,
}

/// Precision, recall and F1 of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    /// The class label.
    pub class: String,
    /// Precision (0 when nothing was predicted as this class).
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Test rows of this class.
    pub support: u64,
}

/// ROC, precision-recall and calibration curves of the positive class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// ROC: x = false-positive rate, y = true-positive rate.
    pub roc: Vec<CurvePoint>,
    /// Precision-recall: x = recall, y = precision.
    pub precision_recall: Vec<CurvePoint>,
    /// Reliability diagram bins.
    pub calibration: Vec<CalibrationBin>,
}

/// The drop in the primary metric when one feature's values are shuffled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// The feature (source column).
    pub feature: String,
    /// Mean decrease in the primary metric's score (positive: the model relies on it).
    pub mean: f64,
    /// Standard deviation over the repeats.
    pub std: f64,
}

/// Permutation importance measured through the endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// Test rows used (a seeded sample when the budget is smaller than the split).
    pub rows: usize,
    /// Shuffles per feature.
    pub repeats: usize,
    /// Invocations made.
    pub invocations: usize,
    /// The primary metric on the unshuffled sample.
    pub baseline: Option<f64>,
    /// Features, most important first.
    pub features: Vec<FeatureImportance>,
}

/// Metrics on the rows of one slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceRow {
    /// The category, or the bin (`[lo, hi)`).
    pub slice: String,
    /// Rows in the slice.
    pub rows: usize,
    /// The slice's metrics (the same names as the model's, no intervals).
    pub metrics: Vec<Estimate>,
}

/// Metrics by slice of one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slices {
    /// The column.
    pub column: String,
    /// `categories` or `quantiles`.
    pub kind: String,
    /// One row per slice.
    pub slices: Vec<SliceRow>,
}

/// One of the rows the model scored worst.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorstRow {
    /// The row's id.
    pub row_id: String,
    /// The true label or value.
    pub actual: String,
    /// The predicted label or value.
    pub predicted: String,
    /// Probability given to the true class (classification).
    pub true_class_probability: Option<f64>,
    /// Probability given to the predicted class (classification; absent in reports written
    /// before image datasets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_probability: Option<f64>,
    /// The row's loss (log loss of the true class, or absolute error).
    pub loss: f64,
    /// For an image dataset, the image as a `data:image/png;base64,…` (or jpeg) URI, when it
    /// is at most [`crate::explain::MAX_EMBEDDED_IMAGE_BYTES`]; otherwise absent and the
    /// row id (the image's path) stands alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// How scoring went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoringStats {
    /// Rows scored.
    pub rows: usize,
    /// Invocations made (retries included).
    pub invocations: usize,
    /// Invocations retried after throttling or a server error.
    pub retries: usize,
    /// Wall time scoring the test split, in milliseconds.
    pub elapsed_ms: u64,
}

/// Everything about one scored model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// The registered model.
    pub model: ModelName,
    /// Its endpoint.
    pub endpoint: EndpointName,
    /// Its algorithm.
    pub algorithm: String,
    /// `local` or `sagemaker`.
    pub backend: String,
    /// Its training job.
    pub job: JobName,
    /// The author's description.
    pub description: String,
    /// Trained on another partition than the one scored (included with `--allow-foreign`).
    pub foreign: bool,
    /// The partition fingerprint it was trained on.
    pub trained_on: ContentHash,
    /// Scalar metrics with intervals, in display order.
    pub metrics: Vec<Estimate>,
    /// Per-class precision, recall and F1 (classification).
    pub per_class: Vec<ClassReport>,
    /// `confusion[actual][predicted]` (classification).
    pub confusion: Vec<Vec<u64>>,
    /// Curves of the positive class (binary classification).
    pub curves: Option<Curves>,
    /// The threshold table of the positive class (binary classification).
    pub thresholds: Vec<ThresholdRow>,
    /// Permutation importance (absent when it could not be measured).
    pub importance: Option<Importance>,
    /// Metrics by slice.
    pub slices: Option<Slices>,
    /// The worst-scored rows, worst first.
    pub worst_rows: Vec<WorstRow>,
    /// How scoring went.
    pub scoring: ScoringStats,
    /// The file beside the report holding its prediction for every test row
    /// (`predictions-<model>.csv`: `row_id,actual,predicted` and one probability per class).
    #[serde(default)]
    pub predictions_file: Option<String>,
}

impl ModelReport {
    /// The estimate of `metric`.
    #[must_use]
    pub fn metric(&self, metric: &str) -> Option<&Estimate> {
        self.metrics.iter().find(|m| m.metric == metric)
    }
}

/// A model that could not be scored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFailure {
    /// The model.
    pub model: ModelName,
    /// Its endpoint.
    pub endpoint: EndpointName,
    /// Why it was not scored.
    pub error: String,
}

/// One line of the leaderboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardEntry {
    /// 1 for the best.
    pub rank: usize,
    /// The model.
    pub model: ModelName,
    /// Its primary metric.
    pub value: Option<f64>,
    /// The metric's interval.
    pub interval: Option<Interval>,
    /// Holm-adjusted p-value of the paired bootstrap against the best model (`None` for the
    /// best itself).
    pub p_vs_best: Option<f64>,
    /// Worse than the best model beyond chance (adjusted p below `alpha`).
    pub significantly_worse: bool,
    /// Trained on another partition.
    pub foreign: bool,
}

/// A paired bootstrap of one metric's difference between two models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricDifference {
    /// The metric.
    pub metric: String,
    /// `a - b` on the whole test split.
    pub difference: Option<f64>,
    /// Its bootstrap interval.
    pub interval: Option<Interval>,
    /// Two-sided bootstrap p-value.
    pub p_value: Option<f64>,
}

/// The paired tests between two models on the same test rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairwiseComparison {
    /// First model.
    pub a: ModelName,
    /// Second model.
    pub b: ModelName,
    /// Rows both were scored on.
    pub rows: usize,
    /// McNemar's test on which rows each got right (classification).
    pub mcnemar: Option<McNemar>,
    /// DeLong's test on ROC AUC (binary classification).
    pub delong: Option<DeLong>,
    /// Paired bootstrap differences of every metric.
    pub differences: Vec<MetricDifference>,
    /// The primary metric's paired-bootstrap p-value after Holm's correction over all pairs.
    pub adjusted_p: Option<f64>,
    /// The primary-metric difference is significant after correction.
    pub significant: bool,
    /// Which model is better on the primary metric (`None` on a tie).
    pub better: Option<ModelName>,
}

/// Wall time of each phase, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Reading the test split.
    pub load_ms: u64,
    /// Scoring every model (models scored concurrently).
    pub scoring_ms: u64,
    /// Metrics, intervals and paired tests.
    pub statistics_ms: u64,
    /// Permutation importance, slices, worst rows.
    pub explanations_ms: u64,
    /// Everything.
    pub total_ms: u64,
}

impl Report {
    /// The model's section.
    #[must_use]
    pub fn model(&self, name: &str) -> Option<&ModelReport> {
        self.models.iter().find(|m| m.model.as_str() == name)
    }

    /// The best model by the primary metric.
    #[must_use]
    pub fn best(&self) -> Option<&LeaderboardEntry> {
        self.leaderboard.first()
    }
}

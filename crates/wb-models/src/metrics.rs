//! Classification and regression metrics, ROC / precision–recall / calibration curves and
//! threshold tables — pure functions on slices, checked against scikit-learn 1.9 — and the
//! validation metrics a training job records, computed with the same functions.
//!
//! Conventions (all follow scikit-learn unless stated):
//!
//! - Classification inputs are a class index per row (`0..n_classes`) and a row-major
//!   `n × n_classes` probability matrix. The predicted class is the arg-max of the row, the
//!   first maximum winning ties (like `numpy.argmax`).
//! - Precision, recall and F1 use `zero_division=0`: a class with no predicted (precision),
//!   no actual (recall) or neither (F1) rows scores 0 and still counts in the macro mean,
//!   exactly as `precision_recall_fscore_support(labels=range(k), zero_division=0)`.
//! - Ranking metrics (ROC AUC, average precision) are `f64::NAN` when undefined: ROC AUC when
//!   only one class is present, average precision when there are no positive rows. For more
//!   than two classes the macro one-vs-rest mean is `NaN` as soon as one class is undefined.
//!   (scikit-learn returns 0.0 with a warning for average precision without positives; NaN is
//!   the deliberate deviation here, so that the bootstrap can tell "undefined" from "bad".)
//! - Every other metric is finite for non-empty input; with no rows at all every scalar is
//!   `NaN`.
//! - Curve thresholds of `+inf` (JSON cannot hold infinities) are reported as `f64::MAX`.
//! - Scores and probabilities are expected to be finite; NaN inputs give unspecified (but
//!   non-panicking) results (a NaN probability of the actual class costs the log loss of the
//!   clipping bound).
//!
//! # Validation metrics in job records
//!
//! [`validation_metrics`] writes, for classification, `accuracy`, `log_loss` and `auc`, and
//! for regression `rmse`, `mae` and `r2`, with two conventions of their own that keep the
//! recorded values what they have always been: `log_loss` clips probabilities to
//! [[`RECORD_LOG_LOSS_EPS`], 1 − [`RECORD_LOG_LOSS_EPS`]], and `auc` (ROC AUC of class 1 for
//! two classes; for more, the mean one-vs-rest AUC of the classes where it is defined) is left
//! out, rather than recorded as NaN, when it is undefined. `r2` of a single row is 1 for a
//! perfect prediction and 0 otherwise (the constant-target convention), where the report says
//! NaN.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::algorithm::{Targets, TrainingData};
use crate::model::{FittedModel, Prediction};

#[cfg(any(test, feature = "testkit"))]
pub mod fixture;

/// A scalar metric of the comparison report, by its stable snake_case name (`roc_auc`,
/// `rmse`, …), which is also its serde form, its [`Display`](fmt::Display) form and what
/// [`FromStr`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Metric {
    /// Fraction of rows whose arg-max class is the actual class.
    Accuracy,
    /// Mean recall over the classes present in the actual labels.
    BalancedAccuracy,
    /// Unweighted mean of the per-class precisions.
    MacroPrecision,
    /// Unweighted mean of the per-class recalls.
    MacroRecall,
    /// Unweighted mean of the per-class F1 scores.
    MacroF1,
    /// Area under the ROC curve (macro one-vs-rest for more than two classes).
    RocAuc,
    /// Average precision (macro one-vs-rest for more than two classes).
    PrAuc,
    /// Mean negative log-probability of the actual class.
    LogLoss,
    /// Brier score.
    Brier,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute error.
    Mae,
    /// Coefficient of determination.
    R2,
    /// Mean absolute percentage error, as a fraction.
    Mape,
}

impl Metric {
    /// The classification scalars, in [`ClassificationMetrics::named`] order.
    pub const CLASSIFICATION: [Self; 9] = [
        Self::Accuracy,
        Self::BalancedAccuracy,
        Self::MacroPrecision,
        Self::MacroRecall,
        Self::MacroF1,
        Self::RocAuc,
        Self::PrAuc,
        Self::LogLoss,
        Self::Brier,
    ];

    /// The regression scalars, in [`RegressionMetrics::named`] order.
    pub const REGRESSION: [Self; 4] = [Self::Rmse, Self::Mae, Self::R2, Self::Mape];

    /// The stable snake_case name (as in `report.json`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::BalancedAccuracy => "balanced_accuracy",
            Self::MacroPrecision => "macro_precision",
            Self::MacroRecall => "macro_recall",
            Self::MacroF1 => "macro_f1",
            Self::RocAuc => "roc_auc",
            Self::PrAuc => "pr_auc",
            Self::LogLoss => "log_loss",
            Self::Brier => "brier",
            Self::Rmse => "rmse",
            Self::Mae => "mae",
            Self::R2 => "r2",
            Self::Mape => "mape",
        }
    }

    /// Whether a larger value is better: `false` for the losses and errors (`log_loss`,
    /// `brier`, `rmse`, `mae`, `mape`), `true` for the scores.
    #[must_use]
    pub const fn higher_is_better(self) -> bool {
        !matches!(self, Self::LogLoss | Self::Brier | Self::Rmse | Self::Mae | Self::Mape)
    }

    /// Every metric: the classification scalars, then the regression ones.
    pub fn all() -> impl Iterator<Item = Self> {
        Self::CLASSIFICATION.into_iter().chain(Self::REGRESSION)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = UnknownMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::all().find(|m| m.name() == s).ok_or_else(|| UnknownMetric { name: s.to_owned() })
    }
}

/// A metric name that is not one of [`Metric`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMetric {
    /// The name as given.
    pub name: String,
}

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown metric `{}` (known: ", self.name)?;
        for (i, m) in Metric::all().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(m.name())?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownMetric {}

/// The names of `metrics`, in order.
const fn names<const N: usize>(metrics: [Metric; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = metrics[i].name();
        i += 1;
    }
    out
}

/// Names of the classification scalars, in [`ClassificationMetrics::named`] order.
pub const CLASSIFICATION_METRICS: [&str; 9] = names(Metric::CLASSIFICATION);

/// Names of the regression scalars, in [`RegressionMetrics::named`] order.
pub const REGRESSION_METRICS: [&str; 4] = names(Metric::REGRESSION);

/// Probability clip of the report's log loss: scikit-learn 1.9 clips with the dtype's machine
/// epsilon.
pub const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// Probability clip of the `log_loss` in job records (scikit-learn's former default
/// `eps=1e-15`), kept so that recorded values stay comparable across versions.
pub const RECORD_LOG_LOSS_EPS: f64 = 1e-15;

/// Scalar classification metrics for n rows and k classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Fraction of rows whose arg-max class is the actual class.
    pub accuracy: f64,
    /// Mean recall over the classes that occur in the actual labels (sklearn
    /// `balanced_accuracy_score`: classes that are only predicted are skipped).
    pub balanced_accuracy: f64,
    /// Unweighted mean of the per-class precisions over all `k` classes (`zero_division=0`).
    pub macro_precision: f64,
    /// Unweighted mean of the per-class recalls over all `k` classes (`zero_division=0`).
    pub macro_recall: f64,
    /// Unweighted mean of the per-class F1 scores over all `k` classes (`zero_division=0`);
    /// not the F1 of the macro precision and recall.
    pub macro_f1: f64,
    /// Binary: ROC AUC of class 1's probability; k > 2: macro one-vs-rest (sklearn
    /// `roc_auc_score(multi_class="ovr", average="macro")`). `NaN` when undefined.
    pub roc_auc: f64,
    /// Binary: average precision of class 1 (sklearn `average_precision_score`); k > 2: macro
    /// one-vs-rest average precision. `NaN` when a class has no positive rows.
    pub pr_auc: f64,
    /// sklearn `log_loss`: mean of `-ln p[actual]` with probabilities clipped to
    /// `[ε, 1 - ε]`, `ε = f64::EPSILON` (sklearn 1.9 clips with the dtype's machine epsilon and
    /// does not renormalise rows).
    pub log_loss: f64,
    /// Brier score. Binary: sklearn `brier_score_loss(y, p1)` = mean of `(y - p1)²` with
    /// class 1 positive; k > 2: sklearn 1.9's multiclass `brier_score_loss` = mean over rows of
    /// the sum over classes of `(one_hot - p)²` (not halved; sklearn halves only for ≤ 2
    /// columns, which makes the two definitions agree for binary problems).
    pub brier: f64,
    /// Per-class precision, recall, F1 and support, indexed by class.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion counts, `confusion[actual][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Precision, recall, F1 and support of one class (one-vs-rest, `zero_division=0`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// `tp / (tp + fp)`, 0 when the class is never predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the class never occurs.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`, 0 when the class neither occurs nor is predicted.
    pub f1: f64,
    /// Number of rows whose actual class is this one.
    pub support: u64,
}

impl ClassificationMetrics {
    /// The scalar metrics in display order, with stable snake_case names: `accuracy`,
    /// `balanced_accuracy`, `macro_precision`, `macro_recall`, `macro_f1`, `roc_auc`,
    /// `pr_auc`, `log_loss`, `brier`.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let values = [
            self.accuracy,
            self.balanced_accuracy,
            self.macro_precision,
            self.macro_recall,
            self.macro_f1,
            self.roc_auc,
            self.pr_auc,
            self.log_loss,
            self.brier,
        ];
        CLASSIFICATION_METRICS.into_iter().zip(values).collect()
    }
}

/// Regression metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination (sklearn `r2_score` with `force_finite=True`): `NaN` for
    /// fewer than two rows; 1 for a perfect prediction; 0 for an imperfect prediction of a
    /// constant target.
    pub r2: f64,
    /// sklearn `mean_absolute_percentage_error`: mean of `|p - y| / max(|y|, ε)` with
    /// `ε = f64::EPSILON`, as a fraction (0.1 = 10 %), not a percentage.
    pub mape: f64,
}

impl RegressionMetrics {
    /// The metrics in display order with stable names: `rmse`, `mae`, `r2`, `mape`.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        REGRESSION_METRICS.into_iter().zip([self.rmse, self.mae, self.r2, self.mape]).collect()
    }
}

/// One point of a ROC or precision–recall curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// ROC: false positive rate; PR: recall.
    pub x: f64,
    /// ROC: true positive rate; PR: precision.
    pub y: f64,
    /// Rows with `score >= threshold` are predicted positive; `f64::MAX` stands for `+inf`.
    pub threshold: f64,
}

/// One non-empty bin of a reliability (calibration) diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower bin edge.
    pub lower: f64,
    /// Upper bin edge.
    pub upper: f64,
    /// Mean score of the rows in the bin (sklearn `prob_pred`).
    pub mean_predicted: f64,
    /// Fraction of positive rows in the bin (sklearn `prob_true`).
    pub fraction_positive: f64,
    /// Number of rows in the bin.
    pub count: u64,
}

/// Confusion counts and derived rates at one decision threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRow {
    /// Rows with `score >= threshold` are predicted positive.
    pub threshold: f64,
    /// Positive rows predicted positive.
    pub true_positives: u64,
    /// Negative rows predicted positive.
    pub false_positives: u64,
    /// Negative rows predicted negative.
    pub true_negatives: u64,
    /// Positive rows predicted negative.
    pub false_negatives: u64,
    /// `tp / (tp + fp)`, 0 when nothing is predicted positive.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when there are no positive rows.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`, 0 when the denominator is 0.
    pub f1: f64,
    /// `fp / (fp + tn)`, 0 when there are no negative rows.
    pub false_positive_rate: f64,
}

/// All classification metrics of `proba` against `labels`.
///
/// `labels` holds the class index of each row (`0..n_classes`), `proba` the row-major
/// `labels.len() × n_classes` probabilities. See the module documentation for the
/// conventions on ties, zero division and undefined values.
///
/// # Panics
///
/// If `n_classes < 2`, if `proba.len() != labels.len() * n_classes`, or if a label is
/// `>= n_classes`.
pub fn classification(labels: &[usize], proba: &[f64], n_classes: usize) -> ClassificationMetrics {
    check_classification_input(labels, proba, n_classes);
    let k = n_classes;
    let rows = 0..labels.len();
    let counts = count_classification(labels, proba, k, rows.clone(), LOG_LOSS_EPS);
    let per_class: Vec<ClassMetrics> = (0..k)
        .map(|c| {
            let (precision, recall, f1) = counts.class_prf(c);
            ClassMetrics { precision, recall, f1, support: counts.true_sum(c) }
        })
        .collect();
    let mut buf = Vec::with_capacity(labels.len());
    let s = counts.scalars(labels, proba, k, rows, &mut buf);
    ClassificationMetrics {
        accuracy: s[0],
        balanced_accuracy: s[1],
        macro_precision: s[2],
        macro_recall: s[3],
        macro_f1: s[4],
        roc_auc: s[5],
        pr_auc: s[6],
        log_loss: s[7],
        brier: s[8],
        per_class,
        confusion: counts.confusion.chunks(k).map(<[u64]>::to_vec).collect(),
    }
}

/// The classification scalars only, in [`ClassificationMetrics::named`] order, on the rows
/// `idx` (indices into `labels`/`proba`, repeats allowed) — the fast path for the bootstrap.
///
/// Identical (bit for bit) to `classification` on the materialised rows; allocates one
/// `k × k` confusion buffer and one `idx.len()` sort buffer per call.
///
/// # Panics
///
/// Under the same conditions as [`classification`], or if an index is out of range.
pub fn classification_scalars(labels: &[usize], proba: &[f64], n_classes: usize, idx: &[usize]) -> Vec<f64> {
    check_classification_input(labels, proba, n_classes);
    let rows = idx.iter().copied();
    let counts = count_classification(labels, proba, n_classes, rows.clone(), LOG_LOSS_EPS);
    let mut buf = Vec::with_capacity(idx.len());
    counts.scalars(labels, proba, n_classes, rows, &mut buf).to_vec()
}

/// All regression metrics of `predicted` against `actual`.
///
/// # Panics
///
/// If the slices differ in length.
pub fn regression(actual: &[f64], predicted: &[f64]) -> RegressionMetrics {
    assert_eq!(actual.len(), predicted.len(), "actual and predicted differ in length");
    let [rmse, mae, r2, mape] = regression_impl(actual, predicted, 0..actual.len());
    RegressionMetrics { rmse, mae, r2, mape }
}

/// The regression metrics in [`RegressionMetrics::named`] order on the rows `idx` (repeats
/// allowed) — the fast path for the bootstrap.
///
/// # Panics
///
/// If the slices differ in length or an index is out of range.
pub fn regression_scalars(actual: &[f64], predicted: &[f64], idx: &[usize]) -> Vec<f64> {
    assert_eq!(actual.len(), predicted.len(), "actual and predicted differ in length");
    regression_impl(actual, predicted, idx.iter().copied()).to_vec()
}

/// ROC AUC of `scores` for the binary labels `positive` (probability that a random positive
/// scores above a random negative, ties counting one half — the Mann–Whitney statistic with
/// midranks, equal to the trapezoidal area under sklearn's ROC curve). `NaN` when either
/// class is absent.
///
/// # Panics
///
/// If the slices differ in length.
pub fn roc_auc(positive: &[bool], scores: &[f64]) -> f64 {
    assert_eq!(positive.len(), scores.len(), "positive and scores differ in length");
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(positive.iter().copied()).collect();
    rank_metrics(&mut pairs).0
}

/// Average precision (sklearn `average_precision_score`): the step-function integral
/// `Σ (Rₙ − Rₙ₋₁) Pₙ` over the distinct score thresholds, highest first. `NaN` when there are
/// no positive rows (sklearn returns 0.0 with a warning); 1.0 when every row is positive.
///
/// # Panics
///
/// If the slices differ in length.
pub fn average_precision(positive: &[bool], scores: &[f64]) -> f64 {
    assert_eq!(positive.len(), scores.len(), "positive and scores differ in length");
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(positive.iter().copied()).collect();
    rank_metrics(&mut pairs).1
}

/// ROC curve with sklearn `roc_curve(drop_intermediate=True)` semantics: `x` = false
/// positive rate, `y` = true positive rate, thresholds decreasing. The first point is
/// `(0, 0)` with threshold `+inf`, reported as `f64::MAX` because JSON cannot hold
/// infinities. Collinear intermediate points are dropped exactly as sklearn drops them. When
/// a class is absent the corresponding rate is `NaN` (as in sklearn). Empty input gives an
/// empty curve.
///
/// # Panics
///
/// If the slices differ in length.
pub fn roc_curve(positive: &[bool], scores: &[f64]) -> Vec<CurvePoint> {
    let steps = threshold_steps(positive, scores);
    let Some(last) = steps.last() else { return Vec::new() };
    let (p, n) = (last.tp as f64, last.fp as f64);
    let rate = |count: u64, total: f64| if total > 0.0 { count as f64 / total } else { f64::NAN };
    let len = steps.len();
    let mut out = Vec::with_capacity(len + 1);
    out.push(CurvePoint { x: rate(0, n), y: rate(0, p), threshold: f64::MAX });
    for (i, s) in steps.iter().enumerate() {
        let keep = len <= 2 || i == 0 || i == len - 1 || {
            let second_diff = |f: fn(&Step) -> u64| {
                let (a, b, c) = (f(&steps[i - 1]) as i128, f(s) as i128, f(&steps[i + 1]) as i128);
                c - 2 * b + a != 0
            };
            second_diff(|s| s.fp) || second_diff(|s| s.tp)
        };
        if keep {
            out.push(CurvePoint { x: rate(s.fp, n), y: rate(s.tp, p), threshold: s.threshold });
        }
    }
    out
}

/// Precision–recall curve with sklearn `precision_recall_curve` semantics (all thresholds
/// kept): `x` = recall, `y` = precision, in sklearn's order — thresholds increasing, so recall
/// decreasing — followed by the final point `(recall 0, precision 1)` whose threshold is
/// reported as `f64::MAX`. Without positive rows recall is 1 at every threshold (as in
/// sklearn). Empty input gives an empty curve.
///
/// # Panics
///
/// If the slices differ in length.
pub fn pr_curve(positive: &[bool], scores: &[f64]) -> Vec<CurvePoint> {
    let steps = threshold_steps(positive, scores);
    let Some(last) = steps.last() else { return Vec::new() };
    let p = last.tp;
    let mut out: Vec<CurvePoint> = steps
        .iter()
        .rev()
        .map(|s| CurvePoint {
            x: if p > 0 { s.tp as f64 / p as f64 } else { 1.0 },
            y: s.tp as f64 / (s.tp + s.fp) as f64,
            threshold: s.threshold,
        })
        .collect();
    out.push(CurvePoint { x: 0.0, y: 1.0, threshold: f64::MAX });
    out
}

/// Reliability diagram like sklearn `calibration_curve(strategy="uniform", n_bins=bins)`:
/// `bins` equal-width bins over `[0, 1]` with edges `i × (1 / bins)` (as `numpy.linspace`
/// computes them) and a score on an interior edge falling in the lower bin (sklearn's
/// `searchsorted`). Empty bins are omitted, as sklearn does. Scores below 0 or above 1 land in
/// the first or last bin (sklearn rejects them). `bins == 0` gives no bins.
///
/// # Panics
///
/// If the slices differ in length.
pub fn calibration(positive: &[bool], scores: &[f64], bins: usize) -> Vec<CalibrationBin> {
    assert_eq!(positive.len(), scores.len(), "positive and scores differ in length");
    if bins == 0 {
        return Vec::new();
    }
    let step = 1.0 / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|i| if i == bins { 1.0 } else { i as f64 * step }).collect();
    let interior = &edges[1..bins];
    let mut sum = vec![0.0; bins];
    let mut hits = vec![0u64; bins];
    let mut count = vec![0u64; bins];
    for (&pos, &s) in positive.iter().zip(scores) {
        let b = interior.partition_point(|&e| e < s);
        sum[b] += s;
        hits[b] += u64::from(pos);
        count[b] += 1;
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| CalibrationBin {
            lower: edges[b],
            upper: edges[b + 1],
            mean_predicted: sum[b] / count[b] as f64,
            fraction_positive: hits[b] as f64 / count[b] as f64,
            count: count[b],
        })
        .collect()
}

/// Confusion counts and rates at each of `thresholds` (in the given order), a row being
/// predicted positive when `score >= threshold`. Rates use zero division = 0. A NaN score is
/// never predicted positive, and nothing is predicted positive at a NaN threshold.
///
/// # Panics
///
/// If `positive` and `scores` differ in length.
pub fn threshold_table(positive: &[bool], scores: &[f64], thresholds: &[f64]) -> Vec<ThresholdRow> {
    assert_eq!(positive.len(), scores.len(), "positive and scores differ in length");
    let mut pos_scores = Vec::new();
    let mut neg_scores = Vec::new();
    for (&p, &s) in positive.iter().zip(scores) {
        if p {
            pos_scores.push(s);
        } else {
            neg_scores.push(s);
        }
    }
    let (p_total, n_total) = (pos_scores.len() as u64, neg_scores.len() as u64);
    pos_scores.retain(|s| !s.is_nan());
    neg_scores.retain(|s| !s.is_nan());
    pos_scores.sort_unstable_by(f64::total_cmp);
    neg_scores.sort_unstable_by(f64::total_cmp);
    let at_or_above = |sorted: &[f64], t: f64| {
        if t.is_nan() { 0 } else { (sorted.len() - sorted.partition_point(|&s| s < t)) as u64 }
    };
    thresholds
        .iter()
        .map(|&threshold| {
            let tp = at_or_above(&pos_scores, threshold);
            let fp = at_or_above(&neg_scores, threshold);
            let (fn_, tn) = (p_total - tp, n_total - fp);
            ThresholdRow {
                threshold,
                true_positives: tp,
                false_positives: fp,
                true_negatives: tn,
                false_negatives: fn_,
                precision: ratio_or_zero(tp, tp + fp),
                recall: ratio_or_zero(tp, p_total),
                f1: ratio_or_zero(2 * tp, 2 * tp + fp + fn_),
                false_positive_rate: ratio_or_zero(fp, n_total),
            }
        })
        .collect()
}

/// Fraction of rows whose arg-max class (the first maximum on ties) is the actual class;
/// `NaN` without rows. The same value as [`ClassificationMetrics::accuracy`].
///
/// # Panics
///
/// Under the same conditions as [`classification`].
pub fn accuracy(labels: &[usize], proba: &[f64], n_classes: usize) -> f64 {
    check_classification_input(labels, proba, n_classes);
    count_classification(labels, proba, n_classes, 0..labels.len(), LOG_LOSS_EPS).accuracy()
}

/// Mean of `-ln p[actual]` with the probabilities clipped to `[eps, 1 - eps]` (a NaN
/// probability counts as `eps`); `NaN` without rows. With [`LOG_LOSS_EPS`] it is
/// [`ClassificationMetrics::log_loss`]; job records use [`RECORD_LOG_LOSS_EPS`].
///
/// # Panics
///
/// Under the same conditions as [`classification`].
pub fn log_loss(labels: &[usize], proba: &[f64], n_classes: usize, eps: f64) -> f64 {
    check_classification_input(labels, proba, n_classes);
    count_classification(labels, proba, n_classes, 0..labels.len(), eps).log_loss()
}

/// Predicts `data` with `model` and computes the metrics a job records (see the module
/// documentation): `accuracy`, `log_loss` and `auc` for a classifier, `rmse`, `mae` and `r2`
/// for a regressor.
///
/// Returns an empty map, with a warning event, when the model and the data do not fit
/// together (feature count, task, or class labels outside the model's classes) or there are no
/// rows.
#[must_use]
pub fn validation_metrics(model: &FittedModel, data: &TrainingData) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    if data.features.ncols() != model.n_features() || data.features.nrows() != data.targets.len() {
        tracing::warn!(
            model_features = model.n_features(),
            data_features = data.features.ncols(),
            rows = data.features.nrows(),
            targets = data.targets.len(),
            "validation data does not fit the model; no metrics"
        );
        return metrics;
    }
    if data.targets.is_empty() {
        return metrics;
    }
    let prediction = match model.predict(data.features.view()) {
        Ok(prediction) => prediction,
        Err(e) => {
            tracing::warn!(error = %e, "the model cannot predict the validation rows; no metrics");
            return metrics;
        }
    };
    match (prediction, &data.targets) {
        (Prediction::Probabilities(p), Targets::Classes { labels, .. }) => {
            let k = p.ncols();
            if let Some(&bad) = labels.iter().find(|&&l| l >= k) {
                tracing::warn!(label = bad, classes = k, "validation label outside the model's classes; no metrics");
                return metrics;
            }
            if k < 2 {
                tracing::warn!(classes = k, "a classifier with fewer than two classes; no metrics");
                return metrics;
            }
            let labels = labels.to_vec();
            let proba: Vec<f64> = p.iter().copied().collect();
            metrics.insert("accuracy".into(), accuracy(&labels, &proba, k));
            metrics.insert("log_loss".into(), log_loss(&labels, &proba, k, RECORD_LOG_LOSS_EPS));
            if let Some(auc) = record_auc(&labels, &proba, k) {
                metrics.insert("auc".into(), auc);
            }
        }
        (Prediction::Values(v), Targets::Values(y)) => {
            let m = regression(&y.to_vec(), &v.to_vec());
            // One row: the record keeps the constant-target convention where the report says NaN.
            let r2 = if y.len() == 1 { if m.rmse == 0.0 { 1.0 } else { 0.0 } } else { m.r2 };
            metrics.insert("rmse".into(), m.rmse);
            metrics.insert("mae".into(), m.mae);
            metrics.insert("r2".into(), r2);
        }
        _ => tracing::warn!("a classifier was validated on regression targets or the reverse; no metrics"),
    }
    metrics
}

// ------------------------------------------------------------------------------------------
// internals

/// A job record's `auc`: the ROC AUC of class 1 for two classes; for more, the mean of the
/// one-vs-rest ROC AUCs of the classes where it is defined. `None` when none is defined.
pub(crate) fn record_auc(labels: &[usize], proba: &[f64], k: usize) -> Option<f64> {
    let mut buf = Vec::with_capacity(labels.len());
    let mut one_vs_rest = |c: usize| {
        fill_one_vs_rest(&mut buf, labels, proba, k, c, 0..labels.len());
        Some(rank_metrics(&mut buf).0).filter(|auc| !auc.is_nan())
    };
    if k == 2 {
        return one_vs_rest(1);
    }
    let aucs: Vec<f64> = (0..k).filter_map(one_vs_rest).collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

/// `num / den`, or 0 when `den == 0` (sklearn's `zero_division=0`).
fn ratio_or_zero(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// Index of the first maximum of `row` (like `numpy.argmax` for finite values).
fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn check_classification_input(labels: &[usize], proba: &[f64], n_classes: usize) {
    assert!(n_classes >= 2, "classification needs at least two classes, got {n_classes}");
    assert_eq!(
        proba.len(),
        labels.len() * n_classes,
        "proba must hold labels.len() × n_classes = {} × {n_classes} values",
        labels.len()
    );
}

/// Confusion matrix and loss sums of a (re)sample of rows.
struct ClassificationCounts {
    k: usize,
    n: u64,
    /// Row-major `confusion[actual * k + predicted]`.
    confusion: Vec<u64>,
    log_loss_sum: f64,
    brier_sum: f64,
}

/// Counts the `rows` of a classification, clipping the log loss's probabilities to
/// `[eps, 1 - eps]` (a NaN probability to `eps`).
fn count_classification(
    labels: &[usize],
    proba: &[f64],
    k: usize,
    rows: impl Iterator<Item = usize>,
    eps: f64,
) -> ClassificationCounts {
    let mut counts = ClassificationCounts { k, n: 0, confusion: vec![0; k * k], log_loss_sum: 0.0, brier_sum: 0.0 };
    for r in rows {
        let y = labels[r];
        assert!(y < k, "label {y} of row {r} is not below n_classes = {k}");
        let row = &proba[r * k..(r + 1) * k];
        counts.confusion[y * k + argmax(row)] += 1;
        let p = if row[y].is_nan() { eps } else { row[y].clamp(eps, 1.0 - eps) };
        counts.log_loss_sum -= p.ln();
        counts.brier_sum += if k == 2 {
            let e = if y == 1 { 1.0 - row[1] } else { row[1] };
            e * e
        } else {
            row.iter().enumerate().map(|(c, &p)| if c == y { (1.0 - p) * (1.0 - p) } else { p * p }).sum::<f64>()
        };
        counts.n += 1;
    }
    counts
}

impl ClassificationCounts {
    /// Fraction of the counted rows classified correctly.
    fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.k).map(|c| self.confusion[c * self.k + c]).sum();
        correct as f64 / self.n as f64
    }

    /// Mean clipped negative log-probability of the actual class.
    fn log_loss(&self) -> f64 {
        self.log_loss_sum / self.n as f64
    }

    fn true_sum(&self, c: usize) -> u64 {
        self.confusion[c * self.k..(c + 1) * self.k].iter().sum()
    }

    fn pred_sum(&self, c: usize) -> u64 {
        (0..self.k).map(|a| self.confusion[a * self.k + c]).sum()
    }

    /// Precision, recall and F1 of class `c` with `zero_division=0`.
    fn class_prf(&self, c: usize) -> (f64, f64, f64) {
        let tp = self.confusion[c * self.k + c];
        let (t, p) = (self.true_sum(c), self.pred_sum(c));
        (ratio_or_zero(tp, p), ratio_or_zero(tp, t), ratio_or_zero(2 * tp, t + p))
    }

    /// The nine scalars in `CLASSIFICATION_METRICS` order; `rows` must be the rows counted.
    fn scalars(
        &self,
        labels: &[usize],
        proba: &[f64],
        k: usize,
        rows: impl Iterator<Item = usize> + Clone,
        buf: &mut Vec<(f64, bool)>,
    ) -> [f64; 9] {
        if self.n == 0 {
            return [f64::NAN; 9];
        }
        let (mut sp, mut sr, mut sf) = (0.0, 0.0, 0.0);
        let (mut present_recall, mut present) = (0.0, 0usize);
        for c in 0..k {
            let (p, r, f) = self.class_prf(c);
            sp += p;
            sr += r;
            sf += f;
            if self.true_sum(c) > 0 {
                present_recall += r;
                present += 1;
            }
        }
        let kf = k as f64;
        let (roc, ap) = if k == 2 {
            fill_one_vs_rest(buf, labels, proba, k, 1, rows);
            rank_metrics(buf)
        } else {
            let (mut roc, mut ap) = (0.0, 0.0);
            for c in 0..k {
                fill_one_vs_rest(buf, labels, proba, k, c, rows.clone());
                let (r, a) = rank_metrics(buf);
                roc += r;
                ap += a;
            }
            (roc / kf, ap / kf)
        };
        [
            self.accuracy(),
            present_recall / present as f64,
            sp / kf,
            sr / kf,
            sf / kf,
            roc,
            ap,
            self.log_loss(),
            self.brier_sum / self.n as f64,
        ]
    }
}

/// Fill `buf` with `(probability of class c, actual == c)` for the given rows.
fn fill_one_vs_rest(
    buf: &mut Vec<(f64, bool)>,
    labels: &[usize],
    proba: &[f64],
    k: usize,
    c: usize,
    rows: impl Iterator<Item = usize>,
) {
    buf.clear();
    buf.extend(rows.map(|r| (proba[r * k + c], labels[r] == c)));
}

/// `(ROC AUC, average precision)` of `(score, is_positive)` pairs; sorts `pairs` by
/// decreasing score and sweeps the distinct thresholds once.
fn rank_metrics(pairs: &mut [(f64, bool)]) -> (f64, f64) {
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0u64, 0u64);
    // Twice the ROC area in units of (positives × negatives): Σ Δfp · (tp + tp_prev).
    let mut area2: u128 = 0;
    // Σ Δtp · precision; divided by the number of positives at the end.
    let mut ap = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let (tp_prev, fp_prev) = (tp, fp);
        let score = pairs[i].0;
        loop {
            if pairs[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
            if i == pairs.len() || pairs[i].0 != score {
                break;
            }
        }
        area2 += u128::from(fp - fp_prev) * u128::from(tp + tp_prev);
        if tp > tp_prev {
            ap += (tp - tp_prev) as f64 * (tp as f64 / (tp + fp) as f64);
        }
    }
    let auc = if tp == 0 || fp == 0 { f64::NAN } else { area2 as f64 / (2 * u128::from(tp) * u128::from(fp)) as f64 };
    let ap = if tp == 0 { f64::NAN } else { ap / tp as f64 };
    (auc, ap)
}

/// Cumulative counts at one distinct score threshold (rows with `score >= threshold`).
struct Step {
    threshold: f64,
    tp: u64,
    fp: u64,
}

/// sklearn's `confusion_matrix_at_thresholds`: one step per distinct score, highest first.
fn threshold_steps(positive: &[bool], scores: &[f64]) -> Vec<Step> {
    assert_eq!(positive.len(), scores.len(), "positive and scores differ in length");
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(positive.iter().copied()).collect();
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut steps: Vec<Step> = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    for (i, &(score, pos)) in pairs.iter().enumerate() {
        if pos {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_group = pairs.get(i + 1).is_none_or(|next| next.0 != score);
        if last_of_group {
            steps.push(Step { threshold: score, tp, fp });
        }
    }
    steps
}

fn regression_impl(actual: &[f64], predicted: &[f64], rows: impl Iterator<Item = usize> + Clone) -> [f64; 4] {
    let (mut n, mut sum) = (0usize, 0.0);
    for r in rows.clone() {
        n += 1;
        sum += actual[r];
    }
    if n == 0 {
        return [f64::NAN; 4];
    }
    let nf = n as f64;
    let mean = sum / nf;
    let (mut se, mut ae, mut ape, mut ss_tot) = (0.0, 0.0, 0.0, 0.0);
    for r in rows {
        let (y, p) = (actual[r], predicted[r]);
        let e = (p - y).abs();
        se += e * e;
        ae += e;
        ape += e / y.abs().max(f64::EPSILON);
        ss_tot += (y - mean) * (y - mean);
    }
    let r2 = if n < 2 {
        f64::NAN
    } else if se == 0.0 {
        1.0
    } else if ss_tot == 0.0 {
        0.0
    } else {
        1.0 - se / ss_tot
    };
    [(se / nf).sqrt(), ae / nf, r2, ape / nf]
}

#[cfg(test)]
mod tests {
    use super::fixture::*;
    use super::*;
    use crate::model::LinearModel;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::Value;

    struct Classified {
        labels: Vec<usize>,
        proba: Vec<f64>,
        k: usize,
    }

    fn classified(c: &Value) -> Classified {
        Classified {
            labels: indices(&c["labels"]),
            proba: nums(&c["proba"]),
            k: usize::try_from(c["n_classes"].as_u64().expect("n_classes")).expect("fits"),
        }
    }

    fn binary_scores(c: &Value) -> (Vec<bool>, Vec<f64>) {
        let d = classified(c);
        (d.labels.iter().map(|&y| y == 1).collect(), d.proba.chunks(2).map(|r| r[1]).collect())
    }

    #[test]
    fn classification_matches_sklearn() {
        let fx = fixture();
        let cases = fx["classification"].as_array().expect("cases");
        assert_eq!(cases.len(), 5);
        for c in cases {
            let name = c["name"].as_str().expect("name");
            let d = classified(c);
            let m = classification(&d.labels, &d.proba, d.k);
            for (metric, value) in m.named() {
                if name == "binary_one_class" && metric == "pr_auc" {
                    // Documented deviation: sklearn returns 0.0 without positives, we say NaN.
                    assert_eq!(num(&c[metric]), 0.0);
                    assert!(value.is_nan(), "average precision without positives is NaN");
                    continue;
                }
                assert_close(value, num(&c[metric]), &format!("{name}.{metric}"));
            }
            let pc = &c["per_class"];
            let support = ints(&pc["support"]);
            for (i, cm) in m.per_class.iter().enumerate() {
                assert_close(cm.precision, nums(&pc["precision"])[i], &format!("{name}.precision[{i}]"));
                assert_close(cm.recall, nums(&pc["recall"])[i], &format!("{name}.recall[{i}]"));
                assert_close(cm.f1, nums(&pc["f1"])[i], &format!("{name}.f1[{i}]"));
                assert_eq!(cm.support, support[i], "{name}.support[{i}]");
            }
            let confusion: Vec<Vec<u64>> = c["confusion"].as_array().expect("rows").iter().map(ints).collect();
            assert_eq!(m.confusion, confusion, "{name}.confusion");
        }
    }

    #[test]
    fn degenerate_cases_follow_the_documented_conventions() {
        let fx = fixture();
        let d = classified(case(&fx, "classification", "degenerate_4"));
        let m = classification(&d.labels, &d.proba, d.k);
        // Class 3 occurs but is never predicted: precision 0 by zero_division=0.
        assert!(m.per_class[3].support > 0);
        assert_eq!(m.confusion.iter().map(|row| row[3]).sum::<u64>(), 0);
        assert_eq!(m.per_class[3].precision, 0.0);
        // Class 2 never occurs: it counts as 0 in the macro recall but not in balanced accuracy.
        assert_eq!(m.per_class[2].support, 0);
        let present: Vec<f64> = m.per_class.iter().filter(|c| c.support > 0).map(|c| c.recall).collect();
        assert_close(m.balanced_accuracy, present.iter().sum::<f64>() / present.len() as f64, "balanced");
        assert_close(m.macro_recall, m.per_class.iter().map(|c| c.recall).sum::<f64>() / 4.0, "macro recall");
        assert!(m.roc_auc.is_nan() && m.pr_auc.is_nan(), "one-vs-rest of an absent class is undefined");
        assert!(m.accuracy.is_finite() && m.log_loss.is_finite() && m.brier.is_finite());
    }

    #[test]
    fn scalars_on_identity_indices_equal_named() {
        let fx = fixture();
        for c in fx["classification"].as_array().expect("cases") {
            let d = classified(c);
            let identity: Vec<usize> = (0..d.labels.len()).collect();
            let fast = classification_scalars(&d.labels, &d.proba, d.k, &identity);
            let full: Vec<f64> = classification(&d.labels, &d.proba, d.k).named().into_iter().map(|(_, v)| v).collect();
            assert_eq!(fast.len(), CLASSIFICATION_METRICS.len());
            for (a, b) in fast.iter().zip(&full) {
                assert_eq!(a.to_bits(), b.to_bits(), "{}: {a} vs {b}", c["name"]);
            }
        }
        let r = case(&fx, "regression", "regression");
        let (actual, predicted) = (nums(&r["actual"]), nums(&r["predicted"]));
        let identity: Vec<usize> = (0..actual.len()).collect();
        let fast = regression_scalars(&actual, &predicted, &identity);
        let full: Vec<f64> = regression(&actual, &predicted).named().into_iter().map(|(_, v)| v).collect();
        assert_eq!(fast, full);
    }

    #[test]
    fn scalars_on_a_resample_equal_metrics_of_the_materialised_rows() {
        let fx = fixture();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for name in ["binary_a", "binary_b", "multiclass_3"] {
            let d = classified(case(&fx, "classification", name));
            let n = d.labels.len();
            let idx: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
            let labels: Vec<usize> = idx.iter().map(|&r| d.labels[r]).collect();
            let proba: Vec<f64> = idx.iter().flat_map(|&r| d.proba[r * d.k..(r + 1) * d.k].iter().copied()).collect();
            let fast = classification_scalars(&d.labels, &d.proba, d.k, &idx);
            let full: Vec<f64> = classification(&labels, &proba, d.k).named().into_iter().map(|(_, v)| v).collect();
            for ((metric, a), b) in CLASSIFICATION_METRICS.iter().zip(&fast).zip(&full) {
                assert_eq!(a.to_bits(), b.to_bits(), "{name}.{metric}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn auc_and_average_precision_match_sklearn() {
        let fx = fixture();
        for name in ["binary_a", "binary_b"] {
            let c = case(&fx, "classification", name);
            let (positive, scores) = binary_scores(c);
            assert_close(roc_auc(&positive, &scores), num(&c["roc_auc"]), &format!("{name}.roc_auc"));
            assert_close(average_precision(&positive, &scores), num(&c["pr_auc"]), &format!("{name}.pr_auc"));
        }
    }

    #[test]
    fn roc_curve_matches_sklearn() {
        let fx = fixture();
        for name in ["binary_a", "binary_b"] {
            let c = case(&fx, "classification", name);
            let (positive, scores) = binary_scores(c);
            let roc = &c["curves"]["roc"];
            let curve = roc_curve(&positive, &scores);
            let x: Vec<f64> = curve.iter().map(|p| p.x).collect();
            let y: Vec<f64> = curve.iter().map(|p| p.y).collect();
            let t: Vec<f64> = curve.iter().map(|p| p.threshold).collect();
            assert_all_close(&x, &nums(&roc["fpr"]), &format!("{name}.fpr"));
            assert_all_close(&y, &nums(&roc["tpr"]), &format!("{name}.tpr"));
            // sklearn's first threshold is +inf (null in the fixture); ours is f64::MAX.
            assert!(roc["thresholds"][0].is_null());
            assert_eq!(t[0], f64::MAX);
            assert_eq!(t[1..], nums(&roc["thresholds"])[1..], "{name}.thresholds");
            // The curve is thinned (drop_intermediate) yet keeps the trapezoidal area.
            assert!(curve.len() < positive.len());
            let area: f64 = curve.windows(2).map(|w| (w[1].x - w[0].x) * (w[1].y + w[0].y) / 2.0).sum();
            assert_close(area, num(&c["roc_auc"]), &format!("{name}.area"));
        }
    }

    #[test]
    fn pr_curve_matches_sklearn() {
        let fx = fixture();
        for name in ["binary_a", "binary_b"] {
            let c = case(&fx, "classification", name);
            let (positive, scores) = binary_scores(c);
            let pr = &c["curves"]["pr"];
            let curve = pr_curve(&positive, &scores);
            let x: Vec<f64> = curve.iter().map(|p| p.x).collect();
            let y: Vec<f64> = curve.iter().map(|p| p.y).collect();
            let t: Vec<f64> = curve.iter().map(|p| p.threshold).collect();
            assert_all_close(&x, &nums(&pr["recall"]), &format!("{name}.recall"));
            assert_all_close(&y, &nums(&pr["precision"]), &format!("{name}.precision"));
            // sklearn returns one threshold fewer than points; the final point gets f64::MAX.
            let thresholds = nums(&pr["thresholds"]);
            assert_eq!(t.len(), thresholds.len() + 1);
            assert_eq!(t[..thresholds.len()], thresholds[..], "{name}.thresholds");
            assert_eq!(curve.last(), Some(&CurvePoint { x: 0.0, y: 1.0, threshold: f64::MAX }));
        }
    }

    #[test]
    fn calibration_matches_sklearn() {
        let fx = fixture();
        for name in ["binary_a", "binary_b"] {
            let c = case(&fx, "classification", name);
            let (positive, scores) = binary_scores(c);
            let cal = &c["curves"]["calibration"];
            let bins = usize::try_from(cal["bins"].as_u64().expect("bins")).expect("fits");
            let got = calibration(&positive, &scores, bins);
            let fraction: Vec<f64> = got.iter().map(|b| b.fraction_positive).collect();
            let mean: Vec<f64> = got.iter().map(|b| b.mean_predicted).collect();
            let count: Vec<u64> = got.iter().map(|b| b.count).collect();
            assert_all_close(&fraction, &nums(&cal["fraction_positive"]), &format!("{name}.prob_true"));
            assert_all_close(&mean, &nums(&cal["mean_predicted"]), &format!("{name}.prob_pred"));
            assert_eq!(count, ints(&cal["count"]), "{name}.count");
            assert_eq!(count.iter().sum::<u64>(), positive.len() as u64);
            for (b, &i) in got.iter().zip(&indices(&cal["bin_index"])) {
                assert_close(b.lower, i as f64 / bins as f64, "lower edge");
                assert_close(b.upper, (i + 1) as f64 / bins as f64, "upper edge");
                assert!(b.lower <= b.mean_predicted && b.mean_predicted <= b.upper);
            }
        }
        // A score on an interior edge falls in the lower bin; empty bins are omitted.
        let bins = calibration(&[true, false, true], &[0.5, 0.5, 0.95], 10);
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[0].lower, bins[0].upper, bins[0].count), (0.4, 0.5, 2));
        assert_eq!(bins[0].fraction_positive, 0.5);
        assert_eq!((bins[1].lower, bins[1].upper, bins[1].count), (0.9, 1.0, 1));
        assert!(calibration(&[true], &[0.5], 0).is_empty());
    }

    #[test]
    fn regression_matches_sklearn() {
        let fx = fixture();
        let cases = fx["regression"].as_array().expect("cases");
        assert_eq!(cases.len(), 4);
        for c in cases {
            let name = c["name"].as_str().expect("name");
            let m = regression(&nums(&c["actual"]), &nums(&c["predicted"]));
            for (metric, value) in m.named() {
                assert_close(value, num(&c[metric]), &format!("{name}.{metric}"));
            }
        }
        let constant = regression(&[2.0, 2.0], &[2.0, 3.0]);
        assert_eq!(constant.r2, 0.0, "imperfect prediction of a constant target");
        assert!(regression(&[1.0], &[2.0]).r2.is_nan(), "R² needs two rows");
        assert!(regression(&[], &[]).named().iter().all(|(_, v)| v.is_nan()));
    }

    #[test]
    fn threshold_table_counts_by_hand() {
        //                 pos    neg    pos    neg    pos    neg    pos
        let positive = [true, false, true, false, true, false, true];
        let scores = [0.9, 0.8, 0.7, 0.3, 0.3, 0.1, f64::NAN];
        let rows = threshold_table(&positive, &scores, &[0.95, 0.8, 0.3, 0.0, f64::NAN]);
        let counts: Vec<[u64; 4]> =
            rows.iter().map(|r| [r.true_positives, r.false_positives, r.true_negatives, r.false_negatives]).collect();
        // score >= threshold is positive; the NaN score is never positive.
        assert_eq!(counts, [[0, 0, 3, 4], [1, 1, 2, 3], [3, 2, 1, 1], [3, 3, 0, 1], [0, 0, 3, 4]]);
        let at_03 = &rows[2];
        assert_eq!(at_03.threshold, 0.3);
        assert_close(at_03.precision, 3.0 / 5.0, "precision");
        assert_close(at_03.recall, 3.0 / 4.0, "recall");
        assert_close(at_03.f1, 6.0 / 9.0, "f1");
        assert_close(at_03.false_positive_rate, 2.0 / 3.0, "fpr");
        // Nothing predicted positive: zero division gives 0, not NaN.
        assert_eq!((rows[0].precision, rows[0].recall, rows[0].f1, rows[0].false_positive_rate), (0.0, 0.0, 0.0, 0.0));
    }

    /// Random binary problems with many ties (scores on a 0.05 grid).
    fn random_problems() -> impl Iterator<Item = (Vec<bool>, Vec<f64>)> {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        (0..50).map(move |_| {
            let n = rng.gen_range(2..60);
            let positive: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.4)).collect();
            let scores = positive
                .iter()
                .map(|&p| ((rng.gen_range(0.0..1.0) + if p { 0.3 } else { 0.0 }) * 20.0_f64).round() / 20.0)
                .collect();
            (positive, scores)
        })
    }

    #[test]
    fn auc_properties_hold_on_random_problems() {
        let mut defined = 0;
        for (positive, scores) in random_problems() {
            let auc = roc_auc(&positive, &scores);
            let n_pos = positive.iter().filter(|&&p| p).count();
            if n_pos == 0 || n_pos == positive.len() {
                assert!(auc.is_nan());
                continue;
            }
            defined += 1;
            // Reversing the ranking mirrors the AUC.
            let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
            assert_close(roc_auc(&positive, &reversed), 1.0 - auc, "reversed");
            // Mann–Whitney by direct pair counting, ties one half.
            let mut wins = 0.0;
            for (i, &pi) in positive.iter().enumerate() {
                for (j, &pj) in positive.iter().enumerate() {
                    if pi && !pj {
                        wins += if scores[i] > scores[j] {
                            1.0
                        } else if scores[i] == scores[j] {
                            0.5
                        } else {
                            0.0
                        };
                    }
                }
            }
            let pairs = (n_pos * (positive.len() - n_pos)) as f64;
            assert_close(auc, wins / pairs, "pair count");
            // Monotone transformations leave ranking metrics unchanged.
            let squashed: Vec<f64> = scores.iter().map(|s| 1.0 / (1.0 + (-3.0 * s).exp())).collect();
            assert_close(roc_auc(&positive, &squashed), auc, "monotone");
            assert_close(average_precision(&positive, &squashed), average_precision(&positive, &scores), "ap");
            let ap = average_precision(&positive, &scores);
            assert!((0.0..=1.0).contains(&ap));
        }
        assert!(defined > 40);
    }

    #[test]
    fn ranking_metrics_at_the_extremes() {
        let positive = [true, true, false, false];
        assert_eq!(roc_auc(&positive, &[0.9, 0.8, 0.2, 0.1]), 1.0);
        assert_eq!(roc_auc(&positive, &[0.1, 0.2, 0.8, 0.9]), 0.0);
        assert_eq!(roc_auc(&positive, &[0.5; 4]), 0.5);
        assert_eq!(average_precision(&positive, &[0.9, 0.8, 0.2, 0.1]), 1.0);
        assert_eq!(average_precision(&positive, &[0.5; 4]), 0.5);
        assert_eq!(average_precision(&[true, true], &[0.1, 0.7]), 1.0);
        assert!(average_precision(&[false, false], &[0.1, 0.7]).is_nan());
        assert!(roc_auc(&[true, true], &[0.1, 0.7]).is_nan());
        // sklearn: without negatives the false positive rate is NaN.
        let curve = roc_curve(&[true, true], &[0.1, 0.7]);
        assert!(curve.iter().all(|p| p.x.is_nan() && p.y.is_finite()));
        assert!(roc_curve(&[], &[]).is_empty() && pr_curve(&[], &[]).is_empty());
    }

    #[test]
    fn log_loss_clips_at_machine_epsilon_and_brier_is_binary_or_summed() {
        // p[actual] = 0 is clipped to ε, p[actual] = 1 to 1 − ε.
        let m = classification(&[0, 1], &[0.0, 1.0, 0.0, 1.0], 2);
        assert_close(m.log_loss, (-(f64::EPSILON.ln()) - (1.0 - f64::EPSILON).ln()) / 2.0, "log_loss");
        assert_close(m.brier, (1.0 + 0.0) / 2.0, "binary brier");
        // k = 3: the sum over classes of squared errors, not halved.
        let m = classification(&[2], &[0.2, 0.3, 0.5], 3);
        assert_close(m.brier, 0.04 + 0.09 + 0.25, "multiclass brier");
        assert_close(m.log_loss, -(0.5_f64.ln()), "multiclass log_loss");
        // Argmax ties go to the first class, like numpy.
        let m = classification(&[1], &[0.5, 0.5], 2);
        assert_eq!(m.confusion, [[0, 0], [1, 0]]);
    }

    #[test]
    fn classification_is_invariant_to_row_order() {
        let fx = fixture();
        let d = classified(case(&fx, "classification", "multiclass_3"));
        let n = d.labels.len();
        let order: Vec<usize> = (0..n).rev().collect();
        let labels: Vec<usize> = order.iter().map(|&r| d.labels[r]).collect();
        let proba: Vec<f64> = order.iter().flat_map(|&r| d.proba[r * d.k..(r + 1) * d.k].iter().copied()).collect();
        let a = classification(&d.labels, &d.proba, d.k);
        let b = classification(&labels, &proba, d.k);
        assert_eq!(a.confusion, b.confusion);
        assert_eq!(a.per_class, b.per_class);
        for ((name, x), (_, y)) in a.named().into_iter().zip(b.named()) {
            assert_close(x, y, name);
        }
        assert!(classification(&[], &[], 3).named().iter().all(|(_, v)| v.is_nan()));
    }

    #[test]
    fn metric_names_and_directions() {
        let names: Vec<&str> = CLASSIFICATION_METRICS.iter().chain(&REGRESSION_METRICS).copied().collect();
        let lower_better = ["log_loss", "brier", "rmse", "mae", "mape"];
        for name in names {
            let metric: Metric = name.parse().expect("a known metric");
            assert_eq!(metric.name(), name);
            assert_eq!(metric.to_string(), name);
            assert_eq!(metric.higher_is_better(), !lower_better.contains(&name), "{name}");
            // The serde form is the name, as report.json holds it.
            assert_eq!(serde_json::to_string(&metric).expect("serialises"), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Metric>(&format!("\"{name}\"")).expect("deserialises"), metric);
        }
        assert_eq!(Metric::all().count(), CLASSIFICATION_METRICS.len() + REGRESSION_METRICS.len());
        assert!(
            Metric::RocAuc.higher_is_better() && Metric::R2.higher_is_better() && !Metric::Brier.higher_is_better()
        );
        // An unknown name is an error that names it, not a direction.
        let err = "roc_acu".parse::<Metric>().expect_err("a typo");
        assert_eq!(err, UnknownMetric { name: "roc_acu".to_owned() });
        assert!(err.to_string().contains("`roc_acu`") && err.to_string().contains("roc_auc"), "{err}");
        assert!(serde_json::from_str::<Metric>("\"roc_acu\"").is_err());
        let m = regression(&[1.0, 2.0], &[1.5, 2.0]);
        let names: Vec<&str> = m.named().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, REGRESSION_METRICS);
    }

    #[test]
    fn types_round_trip_through_json() {
        let curve = roc_curve(&[true, false], &[0.8, 0.3]);
        let json = serde_json::to_string(&curve).expect("serialises");
        let back: Vec<CurvePoint> = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, curve);
        assert_eq!(back[0].threshold, f64::MAX);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn accuracy_takes_the_arg_max_with_ties_to_the_lower_class() {
        let p = [0.9, 0.1, 0.4, 0.6, 0.5, 0.5, 0.2, 0.8];
        // Predicted 0, 1, 0 (tie), 1 against 0, 0, 0, 1.
        assert!(close(accuracy(&[0, 0, 0, 1], &p, 2), 0.75));
        assert!(accuracy(&[], &[], 2).is_nan());
    }

    #[test]
    fn record_log_loss_by_hand_and_clipped() {
        let p = [0.8, 0.2, 0.3, 0.7];
        let expected = -(0.8_f64.ln() + 0.7_f64.ln()) / 2.0;
        assert!(close(log_loss(&[0, 1], &p, 2, RECORD_LOG_LOSS_EPS), expected));
        // A confident miss costs -ln(1e-15), not infinity.
        assert!(close(log_loss(&[1], &[1.0, 0.0], 2, RECORD_LOG_LOSS_EPS), -(1e-15_f64).ln()));
        assert!(log_loss(&[1], &[0.0, 1.0], 2, RECORD_LOG_LOSS_EPS) < 1e-14);
        // NaN counts as the worst prediction.
        assert!(close(log_loss(&[1], &[0.5, f64::NAN], 2, RECORD_LOG_LOSS_EPS), -(1e-15_f64).ln()));
        // The report's clip is the machine epsilon.
        let report = classification(&[1], &[1.0, 0.0], 2).log_loss;
        assert_eq!(log_loss(&[1], &[1.0, 0.0], 2, LOG_LOSS_EPS).to_bits(), report.to_bits());
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // Scores of negatives: 0.1, 0.4, 0.35; positives: 0.8, 0.4.
        // Pairs (pos, neg): 0.8 beats all 3; 0.4 beats 0.1 and 0.35 and ties 0.4 → 2.5.
        // AUC = (3 + 2.5) / 6.
        let scores = [0.1, 0.4, 0.35, 0.8, 0.4];
        let positive = [false, false, false, true, true];
        let auc = roc_auc(&positive, &scores);
        assert!(close(auc, 5.5 / 6.0), "{auc}");
        // Perfect, inverted and constant scores.
        assert!(close(roc_auc(&[false, true], &[0.1, 0.9]), 1.0));
        assert!(close(roc_auc(&[false, true], &[0.9, 0.1]), 0.0));
        assert!(close(roc_auc(&[false, true, true], &[0.5, 0.5, 0.5]), 0.5));
        assert!(roc_auc(&[true, true], &[0.5, 0.7]).is_nan());
    }

    #[test]
    fn record_auc_averages_the_defined_one_vs_rest_aucs() {
        let p = [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.3, 0.4, 0.3];
        // Class 0: positives 0.8, 0.3 vs negatives 0.2, 0.1 → 1.0.
        // Class 1: positive 0.7 vs 0.1, 0.2, 0.4 → 1.0.
        // Class 2: positive 0.7 vs 0.1, 0.1, 0.3 → 1.0.
        assert!(close(record_auc(&[0, 1, 2, 0], &p, 3).expect("defined"), 1.0));
        // Class 0: positives 0.2, 0.3 vs negatives 0.8, 0.1: each beats 0.1 and loses to 0.8 → 2/4.
        // Class 1: positive 0.1 vs 0.7, 0.2, 0.4 → 0.
        // Class 2: positive 0.7 vs 0.1, 0.1, 0.3 → 1.
        assert!(close(record_auc(&[1, 0, 2, 0], &p, 3).expect("defined"), 0.5));
        // Class 2 absent: the mean of classes 0 (positives 0.8, 0.1 vs 0.2, 0.3 → 2/4) and 1
        // (positives 0.7, 0.4 vs 0.1, 0.2 → 1), where the report's macro AUC is NaN.
        let labels = [0, 1, 0, 1];
        assert!(close(record_auc(&labels, &p, 3).expect("defined"), 0.75));
        assert!(classification(&labels, &p, 3).roc_auc.is_nan());
        assert_eq!(record_auc(&[1, 1], &[0.2, 0.8, 0.4, 0.6], 2), None);
        assert_eq!(record_auc(&[0, 0], &p[..6], 3), None);
    }

    #[test]
    fn regression_metrics_by_hand() {
        let predicted = [2.0, 4.0, 6.0];
        let actual = [1.0, 4.0, 8.0];
        // Errors 1, 0, -2: MSE 5/3, MAE 1; mean 13/3, SS_tot = (10/3)² + (1/3)² + (11/3)² = 222/9.
        let m = regression(&actual, &predicted);
        assert!(close(m.rmse, (5.0_f64 / 3.0).sqrt()));
        assert!(close(m.mae, 1.0));
        assert!(close(m.r2, 1.0 - 5.0 / (222.0 / 9.0)));
        assert!(close(regression(&[3.0, 3.0], &[3.0, 3.0]).r2, 1.0));
        assert!(close(regression(&[3.0, 3.0], &[2.0, 3.0]).r2, 0.0));
    }

    #[test]
    fn validation_metrics_of_each_task() {
        let classifier = FittedModel::Logistic {
            classes: 2,
            linear: LinearModel { weights: vec![vec![1.0]], intercepts: vec![0.0] },
        };
        let data = TrainingData {
            features: ndarray::array![[-2.0], [-1.0], [1.0], [0.5]],
            targets: Targets::Classes { labels: ndarray::array![0, 0, 1, 0], n_classes: 2 },
        };
        let m = validation_metrics(&classifier, &data);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["accuracy", "auc", "log_loss"]);
        assert!(close(m["accuracy"], 0.75));
        assert!(close(m["auc"], 1.0));

        let regressor = FittedModel::Linear { linear: LinearModel { weights: vec![vec![2.0]], intercepts: vec![0.0] } };
        let data = TrainingData {
            features: ndarray::array![[1.0], [2.0]],
            targets: Targets::Values(ndarray::array![2.0, 5.0]),
        };
        let m = validation_metrics(&regressor, &data);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["mae", "r2", "rmse"]);
        assert!(close(m["mae"], 0.5));

        // One row: R² by the constant-target convention, not NaN.
        let one_row =
            |y: f64| TrainingData { features: ndarray::array![[1.0]], targets: Targets::Values(ndarray::array![y]) };
        assert_eq!(validation_metrics(&regressor, &one_row(2.0))["r2"], 1.0);
        assert_eq!(validation_metrics(&regressor, &one_row(3.0))["r2"], 0.0);

        let one_class = TrainingData {
            features: ndarray::array![[1.0]],
            targets: Targets::Classes { labels: ndarray::array![1], n_classes: 2 },
        };
        assert!(!validation_metrics(&classifier, &one_class).contains_key("auc"));
        let too_wide =
            TrainingData { features: ndarray::array![[1.0, 2.0]], targets: Targets::Values(ndarray::array![1.0]) };
        assert!(validation_metrics(&regressor, &too_wide).is_empty());
        assert!(validation_metrics(&classifier, &data).is_empty(), "regression targets for a classifier");
    }
}

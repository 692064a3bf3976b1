//! The algorithms the workbench trains, their hyperparameters, and training itself.
//!
//! Hyperparameters arrive as SageMaker's string map (`hyperparameters.json`) and are validated
//! into typed parameters ([`TrainParams::from_map`]) before any data is read: an unknown key or
//! a bad value names the key, the value and what is accepted. Each algorithm declares its
//! hyperparameters once (key, default, type, accepted range), and reading, checking and writing
//! the map back all follow from that declaration. Parameters built in code are [`TrainParams`]
//! until [`TrainParams::check`] makes them [`CheckedParams`], the only form [`fit`] takes.
//! [`fit`] trains with linfa or the learners here and
//! exports the fitted parameters into the plain structures of [`crate::model`]; no linfa type
//! is stored.
//!
//! | algorithm | task | learner | exported as |
//! |---|---|---|---|
//! | `logistic-regression` | classification (binary and multinomial) | L-BFGS here (`algorithm/lbfgs.rs`), scikit-learn's `lbfgs` objective | [`LinearModel`] |
//! | `decision-tree` | either: classes (Gini, entropy) or values (squared error) | histogram tree here (`algorithm/hist_tree.rs`) | [`Tree`] ([`FittedModel::DecisionTree`], [`FittedModel::RegressionTree`]) |
//! | `random-forest` | either, as `decision-tree` | histogram trees here, bootstrap rows, features drawn per split | several [`Tree`]s ([`FittedModel::RandomForest`], [`FittedModel::RegressionForest`]) |
//! | `gaussian-nb` | classification | `linfa-bayes` | [`GaussianNbModel`] |
//! | `linear-regression` | regression | `linfa-linear` | [`LinearModel`] |
//! | `xgboost` | either, by `objective` | histogram gradient boosting here (`algorithm/gbdt.rs`) | [`FittedModel::Boosted`] |
//! | `image-classification` | image classification (a small CNN) | candle-core | [`FittedModel::ImageClassifier`] + `model.safetensors` |
//! | `image-logistic` | image classification (logistic regression on pixels) | candle-core | [`FittedModel::ImageClassifier`] + `model.safetensors` |
//!
//! Training data of the tabular algorithms is SageMaker's CSV channel layout: target in the
//! first column, no header, all numeric ([`TrainingData::read_channel_csv`]). The image
//! algorithms ([`Algorithm::is_image`]) read SageMaker's image channels instead and are trained
//! by [`crate::image_classifier`], not [`fit`]; their parameters are [`ImageClassifierParams`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use linfa::DatasetBase;
use linfa::traits::Fit;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

pub use crate::boosted::Objective;
use crate::error::{Error, Result};
pub use crate::image_classifier::ImageClassifierParams;
use crate::model::{FittedModel, GaussianNbModel, LinearModel, Tree};

mod gbdt;
mod hist_tree;
mod lbfgs;
pub(crate) mod params;

use params::{Hyperparameters, hyperparameters};

/// An algorithm the workbench trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// `logistic-regression`: L2-regularised logistic regression (binary, or multinomial with
    /// more than two classes), fitted by L-BFGS as scikit-learn's `lbfgs` solver.
    LogisticRegression,
    /// `decision-tree`: a CART-style classification tree on binned features.
    DecisionTree,
    /// `random-forest`: bagged classification trees, each on a bootstrap sample of the rows,
    /// every split on a random subset of the features.
    RandomForest,
    /// `gaussian-nb`: Gaussian naive Bayes, `linfa-bayes`.
    GaussianNb,
    /// `linear-regression`: ordinary least squares, `linfa-linear`.
    LinearRegression,
    /// `xgboost`: histogram gradient-boosted trees with SageMaker XGBoost's hyperparameters
    /// (classification or regression by `objective`); the same name runs SageMaker's built-in
    /// XGBoost on the sagemaker backend.
    Xgboost,
    /// `image-classification`: SageMaker's built-in image classifier's contract, trained
    /// locally as a small CNN on candle ([`crate::image_classifier`]).
    ImageClassification,
    /// `image-logistic`: multinomial logistic regression on the normalised pixels, a baseline
    /// for `image-classification` with the same channels, loop and artefact.
    ImageLogistic,
}

impl Algorithm {
    /// Every algorithm, in documentation order.
    pub const ALL: [Self; 8] = [
        Self::LogisticRegression,
        Self::DecisionTree,
        Self::RandomForest,
        Self::GaussianNb,
        Self::LinearRegression,
        Self::Xgboost,
        Self::ImageClassification,
        Self::ImageLogistic,
    ];

    /// The algorithm's name (`logistic-regression`, ...), as used in hyperparameters and metadata.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::LogisticRegression => "logistic-regression",
            Self::DecisionTree => "decision-tree",
            Self::RandomForest => "random-forest",
            Self::GaussianNb => "gaussian-nb",
            Self::LinearRegression => "linear-regression",
            Self::Xgboost => "xgboost",
            Self::ImageClassification => "image-classification",
            Self::ImageLogistic => "image-logistic",
        }
    }

    /// Parses a name (exact, lower case).
    ///
    /// # Errors
    /// [`Error::UnknownAlgorithm`] listing the known names.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| Error::UnknownAlgorithm {
            name: name.to_owned(),
            known: Self::ALL.iter().map(|a| a.name()).collect(),
        })
    }

    /// Whether the algorithm classifies (`true`) or regresses (`false`); `xgboost` does either,
    /// as its `objective` says, and counts as a classifier here.
    #[must_use]
    pub const fn is_classifier(self) -> bool {
        !matches!(self, Self::LinearRegression)
    }

    /// Whether the algorithm learns classification and regression alike: `xgboost` (by its
    /// `objective`), `decision-tree` and `random-forest` (by the target: class fractions or
    /// squared error).
    #[must_use]
    pub const fn fits_any_task(self) -> bool {
        matches!(self, Self::Xgboost | Self::DecisionTree | Self::RandomForest)
    }

    /// Whether the algorithm trains on image channels (`train`/`train_lst`,
    /// `validation`/`validation_lst`) rather than CSV; its parameters are
    /// [`ImageClassifierParams`].
    #[must_use]
    pub const fn is_image(self) -> bool {
        matches!(self, Self::ImageClassification | Self::ImageLogistic)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Hyperparameters
// ---------------------------------------------------------------------------------------------

/// The split criterion of a tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SplitQuality {
    /// Gini impurity (`gini`).
    #[default]
    Gini,
    /// Entropy, i.e. information gain (`entropy`).
    Entropy,
    /// Squared error, i.e. variance reduction (`squared_error`, scikit-learn's name): the
    /// criterion of regression trees.
    SquaredError,
}

impl SplitQuality {
    /// The hyperparameter value (`gini`, `entropy` or `squared_error`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Gini => "gini",
            Self::Entropy => "entropy",
            Self::SquaredError => "squared_error",
        }
    }
}

/// How many features each split of a random forest draws (`feature_fraction`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum FeatureFraction {
    /// `sqrt`: the square root of the feature count, rounded down (scikit-learn's default for
    /// classification forests).
    #[default]
    Sqrt,
    /// A fraction in (0, 1] of the feature count, rounded up.
    Fraction(f64),
}

impl FeatureFraction {
    /// The features a split draws out of `features` (at least one).
    #[must_use]
    pub fn count(self, features: usize) -> usize {
        let n = match self {
            Self::Sqrt => (features as f64).sqrt().floor() as usize,
            Self::Fraction(f) => (features as f64 * f).ceil() as usize,
        };
        n.clamp(1, features.max(1))
    }

    fn valid(self) -> bool {
        match self {
            Self::Sqrt => true,
            Self::Fraction(f) => unit_fraction(f),
        }
    }
}

hyperparameters! {
    /// `logistic-regression` hyperparameters.
    ///
    /// The solver (L-BFGS, `algorithm/lbfgs.rs`, minimising scikit-learn's objective and
    /// stopping by scikit-learn's rules) works on standardized features (each column
    /// centred and divided by its standard deviation; only scaled without an intercept), and the
    /// weights are converted back to the original scale afterwards, so `alpha` penalizes the
    /// standardized coefficients.
    pub struct LogisticParams {
        /// `alpha`: L2 penalty, `½·alpha·‖w‖²` added to the summed log loss (scikit-learn's
        /// `1/C`); a finite number ≥ 0. Default `1.0`.
        "alpha" alpha: f64 = 1.0, accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
        /// `max_iterations`: L-BFGS iterations, ≥ 1. Default `100`.
        "max_iterations" max_iterations: u64 = 100, accepts |v| v >= 1 => "an integer ≥ 1";
        /// `gradient_tolerance`: stop when every component of the gradient of the objective
        /// divided by the row count is at most this (scikit-learn's `tol`); a finite number > 0.
        /// Default `1e-4`.
        "gradient_tolerance" gradient_tolerance: f64 = 1e-4,
            accepts |v| v.is_finite() && v > 0.0 => "a finite number > 0";
        /// `fit_intercept`: `true` or `false`. Default `true`.
        "fit_intercept" fit_intercept: bool = true;
    }
}

hyperparameters! {
    /// `decision-tree` hyperparameters.
    ///
    /// The tree is a histogram tree (features binned into at most 256 quantile bins; see
    /// `algorithm/hist_tree.rs`) grown with scikit-learn's rules; its thresholds are midpoints
    /// between training values, so every distinct value of a feature with at most 256 of them
    /// is split on as scikit-learn does.
    pub struct DecisionTreeParams {
        /// `max_depth`: deepest level of the tree, an integer in 1..=64. Default `10`.
        "max_depth" max_depth: usize = 10, accepts valid_depth => "an integer in 1..=64";
        /// `min_samples_split`: fewest rows a node needs to be split, ≥ 2. Default `2`.
        "min_samples_split" min_samples_split: usize = 2, accepts |v| v >= 2 => "an integer ≥ 2";
        /// `min_samples_leaf`: fewest rows on each side of a split, ≥ 1. Default `1`.
        "min_samples_leaf" min_samples_leaf: usize = 1, accepts |v| v >= 1 => "an integer ≥ 1";
        /// `min_impurity_decrease`: smallest weighted impurity decrease a split must bring,
        /// scikit-learn's `N_t/N · (I − N_L/N_t · I_L − N_R/N_t · I_R)`; a finite number ≥ 1e-12.
        /// Default `1e-5`.
        "min_impurity_decrease" min_impurity_decrease: f64 = 1e-5,
            accepts |v| v.is_finite() && v >= 1e-12 => "a finite number ≥ 1e-12";
        /// `split_quality`: `gini` or `entropy` for classification, `squared_error` for
        /// regression. Default `gini`; a job on a regression dataset gets `squared_error`
        /// ([`task_defaults`]).
        "split_quality" split_quality: SplitQuality = SplitQuality::Gini;
    }
}

hyperparameters! {
    /// `random-forest` hyperparameters.
    ///
    /// Each tree is a histogram tree (Gini for classes, squared error for values;
    /// `min_samples_split` 2, `min_samples_leaf` 1, `min_impurity_decrease` 0, as
    /// scikit-learn's) fitted on a bootstrap sample of the rows; a regression forest predicts
    /// the mean of its trees' values;
    /// every split draws its own random subset of the feature columns (`feature_fraction`), as
    /// scikit-learn's `max_features` does. Trees are fitted in parallel on every core; tree `t`
    /// draws from `ChaCha8Rng::seed_from_u64(seed)` on stream `t`, so a forest depends only on the
    /// data and these parameters, not on the number of threads.
    pub struct RandomForestParams {
        /// `num_trees`: number of trees, an integer in 1..=10000. Default `50` (scikit-learn uses
        /// 100).
        "num_trees" num_trees: usize = 50,
            accepts |v| (1..=MAX_TREES).contains(&v) => "an integer in 1..=10000";
        /// `max_depth`: deepest level of each tree, an integer in 1..=64. Default `10`.
        "max_depth" max_depth: usize = 10, accepts valid_depth => "an integer in 1..=64";
        /// `feature_fraction`: the feature columns each split draws: `sqrt` (the square root of
        /// their count, rounded down) or a fraction in (0, 1] of them (rounded up); at least one.
        /// Default `sqrt`, as scikit-learn's `max_features`. (Until the histogram trees, this was
        /// a fraction drawn once per tree, default `0.5`.)
        "feature_fraction" feature_fraction: FeatureFraction = FeatureFraction::Sqrt,
            accepts FeatureFraction::valid => "sqrt or a number in (0, 1]";
        /// `bootstrap_fraction`: rows drawn with replacement per tree, as a fraction of the
        /// training rows, in (0, 1]. Default `1.0`.
        "bootstrap_fraction" bootstrap_fraction: f64 = 1.0, accepts unit_fraction => "a number in (0, 1]";
        /// `seed`: seed of the row and column sampling, an unsigned 64-bit integer. Default `42`.
        "seed" seed: u64 = 42;
    }
}

hyperparameters! {
    /// `gaussian-nb` hyperparameters.
    pub struct GaussianNbParams {
        /// `var_smoothing`: fraction of the largest feature variance added to every variance, a
        /// finite number ≥ 0. Default `1e-9` (as scikit-learn).
        "var_smoothing" var_smoothing: f64 = 1e-9,
            accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
    }
}

hyperparameters! {
    /// `linear-regression` hyperparameters.
    pub struct LinearRegressionParams {
        /// `fit_intercept`: `true` or `false`. Default `true`.
        "fit_intercept" fit_intercept: bool = true;
    }
}

/// The validation metric `xgboost` reports each round and early stopping watches (XGBoost's
/// names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EvalMetric {
    /// `rmse`: root mean squared error (of the positive class's probability for
    /// `binary:logistic`).
    #[default]
    Rmse,
    /// `mae`: mean absolute error.
    Mae,
    /// `logloss`: binary log loss.
    Logloss,
    /// `error`: binary error rate at probability 0.5.
    Error,
    /// `auc`: ROC AUC (binary); the only metric where higher is better.
    Auc,
    /// `mlogloss`: multiclass log loss.
    Mlogloss,
    /// `merror`: multiclass error rate.
    Merror,
}

impl EvalMetric {
    /// Every metric, in documentation order.
    pub const ALL: [Self; 7] =
        [Self::Rmse, Self::Mae, Self::Logloss, Self::Error, Self::Auc, Self::Mlogloss, Self::Merror];

    /// XGBoost's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rmse => "rmse",
            Self::Mae => "mae",
            Self::Logloss => "logloss",
            Self::Error => "error",
            Self::Auc => "auc",
            Self::Mlogloss => "mlogloss",
            Self::Merror => "merror",
        }
    }

    /// Whether the metric applies to `objective`'s predictions.
    #[must_use]
    pub const fn fits(self, objective: Objective) -> bool {
        match self {
            Self::Rmse | Self::Mae => !objective.is_multiclass(),
            Self::Logloss | Self::Error | Self::Auc => matches!(objective, Objective::BinaryLogistic),
            Self::Mlogloss | Self::Merror => objective.is_multiclass(),
        }
    }
}

hyperparameters! {
    /// `xgboost` hyperparameters: SageMaker's built-in XGBoost's names, defaults and meanings,
    /// so one experiment trains unchanged on both backends. The local learner is histogram-based
    /// (XGBoost's `tree_method=hist`, depth-wise growth); see [`crate::boosted`] for the model.
    ///
    /// A local job fills `objective`, `num_class` and `eval_metric` from the dataset's task when
    /// they are not given ([`xgboost_task_defaults`]), as the sagemaker backend does for the
    /// built-in algorithm.
    pub struct XgboostParams {
        /// `num_round`: boosting rounds, an integer in 1..=10000. Default `100` (SageMaker
        /// requires it).
        "num_round" num_round: usize = 100, accepts |v| (1..=MAX_TREES).contains(&v) => "an integer in 1..=10000";
        /// `eta`: learning rate (shrinkage of every leaf), in (0, 1]. Default `0.3`.
        "eta" eta: f64 = 0.3, accepts unit_fraction => "a number in (0, 1]";
        /// `gamma`: smallest loss reduction a split must bring (XGBoost's `min_split_loss`), a
        /// finite number ≥ 0. Default `0`.
        "gamma" gamma: f64 = 0.0, accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
        /// `max_depth`: deepest level of each tree, an integer in 1..=64. Default `6`.
        "max_depth" max_depth: usize = 6, accepts valid_depth => "an integer in 1..=64";
        /// `min_child_weight`: smallest hessian sum of a child, a finite number ≥ 0. Default `1`.
        "min_child_weight" min_child_weight: f64 = 1.0, accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
        /// `subsample`: fraction of the rows each tree samples (without replacement), in (0, 1].
        /// Default `1`.
        "subsample" subsample: f64 = 1.0, accepts unit_fraction => "a number in (0, 1]";
        /// `colsample_bytree`: fraction of the features each tree samples, in (0, 1]. Default `1`.
        "colsample_bytree" colsample_bytree: f64 = 1.0, accepts unit_fraction => "a number in (0, 1]";
        /// `colsample_bylevel`: fraction of the tree's features each level samples, in (0, 1].
        /// Default `1`.
        "colsample_bylevel" colsample_bylevel: f64 = 1.0, accepts unit_fraction => "a number in (0, 1]";
        /// `colsample_bynode`: fraction of the level's features each split samples, in (0, 1].
        /// Default `1`.
        "colsample_bynode" colsample_bynode: f64 = 1.0, accepts unit_fraction => "a number in (0, 1]";
        /// `lambda`: L2 penalty on leaf weights, a finite number ≥ 0. Default `1`.
        "lambda" lambda: f64 = 1.0, accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
        /// `alpha`: L1 penalty on leaf weights, a finite number ≥ 0. Default `0`.
        "alpha" alpha: f64 = 0.0, accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
        /// `scale_pos_weight`: weight of the positive rows (binary), a finite number > 0.
        /// Default `1`.
        "scale_pos_weight" scale_pos_weight: f64 = 1.0, accepts |v| v.is_finite() && v > 0.0 => "a finite number > 0";
        /// `max_bin`: most bins per feature (missing values included), an integer in 2..=256.
        /// Default `256`.
        "max_bin" max_bin: usize = 256, accepts |v| (2..=256).contains(&v) => "an integer in 2..=256";
        /// `objective`: `binary:logistic`, `multi:softprob`, `multi:softmax` or
        /// `reg:squarederror` (SageMaker's default; a local job picks the dataset's).
        "objective" objective: Objective = Objective::RegSquaredError;
        /// `num_class`: classes of a `multi:*` objective (the dataset's); `0` for the others.
        "num_class" num_class: usize = 0, accepts |v| v == 0 || v >= 2 => "0 or an integer ≥ 2";
        /// `eval_metric`: `rmse`, `mae`, `logloss`, `error`, `auc`, `mlogloss` or `merror`.
        /// Default `rmse` (a local job picks `auc`, `mlogloss` or `rmse` by task).
        "eval_metric" eval_metric: EvalMetric = EvalMetric::Rmse;
        /// `early_stopping_rounds`: stop when `eval_metric` on the validation channel has not
        /// improved for this many rounds and keep the best round's trees; `0` never stops early.
        /// Default `0`.
        "early_stopping_rounds" early_stopping_rounds: usize = 0;
        /// `base_score`: the prediction every margin starts from (a probability for
        /// `binary:logistic`). Default `0.5`.
        "base_score" base_score: f64 = 0.5, accepts f64::is_finite => "a finite number";
        /// `seed`: seed of the row and feature sampling. Default `0`.
        "seed" seed: u64 = 0;
    }
}

/// The `xgboost` hyperparameters a dataset's task decides when `given` lacks them, as the
/// sagemaker backend fills them for the built-in algorithm: the `objective` of the task
/// (`binary:logistic` for two classes, `multi:softprob` for more, `reg:squarederror` for
/// regression), `num_class` for a `multi:*` objective, and the `eval_metric` of the objective
/// (`auc`, `mlogloss`, `rmse`). `classes` is the task's class count (0 for regression).
#[must_use]
pub fn xgboost_task_defaults(classes: usize, given: &BTreeMap<String, String>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let objective = match given.get("objective") {
        Some(name) => name.trim().to_owned(),
        None => {
            let name = match classes {
                0 => "reg:squarederror",
                1 | 2 => "binary:logistic",
                _ => "multi:softprob",
            };
            out.push(("objective", name.to_owned()));
            name.to_owned()
        }
    };
    let objective = Objective::parse(&objective);
    if objective.is_some_and(Objective::is_multiclass) && !given.contains_key("num_class") && classes > 0 {
        out.push(("num_class", classes.to_string()));
    }
    if !given.contains_key("eval_metric") {
        let metric = match objective {
            Some(Objective::BinaryLogistic) => EvalMetric::Auc,
            Some(o) if o.is_multiclass() => EvalMetric::Mlogloss,
            _ => EvalMetric::Rmse,
        };
        out.push(("eval_metric", metric.name().to_owned()));
    }
    out
}

/// The hyperparameters a dataset's task decides for `algorithm` when `given` lacks them, to be
/// added to `given` before [`TrainParams::from_map`]: for `xgboost` its
/// [`xgboost_task_defaults`]; on a regression dataset (`classes` 0), `split_quality=squared_error`
/// for `decision-tree` and `feature_fraction=1.0` for `random-forest` (scikit-learn's
/// `RandomForestRegressor` default: every feature at every split).
#[must_use]
pub fn task_defaults(
    algorithm: Algorithm,
    classes: usize,
    given: &BTreeMap<String, String>,
) -> Vec<(&'static str, String)> {
    let missing = |key: &str| !given.contains_key(key);
    match algorithm {
        Algorithm::Xgboost => xgboost_task_defaults(classes, given),
        Algorithm::DecisionTree if classes == 0 && missing("split_quality") => {
            vec![("split_quality", SplitQuality::SquaredError.name().to_owned())]
        }
        Algorithm::RandomForest if classes == 0 && missing("feature_fraction") => {
            vec![("feature_fraction", "1.0".to_owned())]
        }
        _ => Vec::new(),
    }
}

const MAX_DEPTH_LIMIT: usize = 64;
const MAX_TREES: usize = 10_000;

fn valid_depth(depth: usize) -> bool {
    (1..=MAX_DEPTH_LIMIT).contains(&depth)
}

fn unit_fraction(v: f64) -> bool {
    v > 0.0 && v <= 1.0
}

/// Typed hyperparameters of one algorithm, as read or built in code and not yet checked:
/// [`check`](Self::check) makes the [`CheckedParams`] that [`fit`] takes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TrainParams {
    /// `logistic-regression`.
    LogisticRegression(LogisticParams),
    /// `decision-tree`.
    DecisionTree(DecisionTreeParams),
    /// `random-forest`.
    RandomForest(RandomForestParams),
    /// `gaussian-nb`.
    GaussianNb(GaussianNbParams),
    /// `linear-regression`.
    LinearRegression(LinearRegressionParams),
    /// `xgboost`.
    Xgboost(XgboostParams),
    /// `image-classification` (trained by [`crate::image_classifier`], not [`fit`]).
    ImageClassification(ImageClassifierParams),
    /// `image-logistic` (trained by [`crate::image_classifier`], not [`fit`]).
    ImageLogistic(ImageClassifierParams),
}

impl TrainParams {
    /// The defaults of an algorithm.
    #[must_use]
    pub fn defaults(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::LogisticRegression => Self::LogisticRegression(LogisticParams::default()),
            Algorithm::DecisionTree => Self::DecisionTree(DecisionTreeParams::default()),
            Algorithm::RandomForest => Self::RandomForest(RandomForestParams::default()),
            Algorithm::GaussianNb => Self::GaussianNb(GaussianNbParams::default()),
            Algorithm::LinearRegression => Self::LinearRegression(LinearRegressionParams::default()),
            Algorithm::Xgboost => Self::Xgboost(XgboostParams::default()),
            Algorithm::ImageClassification => Self::ImageClassification(ImageClassifierParams::default()),
            Algorithm::ImageLogistic => Self::ImageLogistic(ImageClassifierParams::default()),
        }
    }

    /// The algorithm these parameters are for.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        match self {
            Self::LogisticRegression(_) => Algorithm::LogisticRegression,
            Self::DecisionTree(_) => Algorithm::DecisionTree,
            Self::RandomForest(_) => Algorithm::RandomForest,
            Self::GaussianNb(_) => Algorithm::GaussianNb,
            Self::LinearRegression(_) => Algorithm::LinearRegression,
            Self::Xgboost(_) => Algorithm::Xgboost,
            Self::ImageClassification(_) => Algorithm::ImageClassification,
            Self::ImageLogistic(_) => Algorithm::ImageLogistic,
        }
    }

    /// The keys an algorithm accepts, sorted.
    #[must_use]
    pub const fn known_keys(algorithm: Algorithm) -> &'static [&'static str] {
        match algorithm {
            Algorithm::ImageClassification | Algorithm::ImageLogistic => crate::image_classifier::known_keys(algorithm),
            Algorithm::LogisticRegression => LogisticParams::KEYS,
            Algorithm::DecisionTree => DecisionTreeParams::KEYS,
            Algorithm::RandomForest => RandomForestParams::KEYS,
            Algorithm::GaussianNb => GaussianNbParams::KEYS,
            Algorithm::LinearRegression => LinearRegressionParams::KEYS,
            Algorithm::Xgboost => XgboostParams::KEYS,
        }
    }

    /// Reads SageMaker's string map into typed parameters (absent keys take their defaults)
    /// and [checks](Self::check) them.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the key: unknown for the algorithm (listing the known
    /// ones), or a value that does not parse or is out of range (naming the value and what is
    /// accepted).
    pub fn from_map(algorithm: Algorithm, map: &BTreeMap<String, String>) -> Result<CheckedParams> {
        fn read<P: Hyperparameters + Default>(map: &BTreeMap<String, String>) -> Result<P> {
            let mut params = P::default();
            params.read(map)?;
            Ok(params)
        }
        if algorithm.is_image() {
            let params = ImageClassifierParams::from_map_for(algorithm, map)?;
            return Ok(CheckedParams(match algorithm {
                Algorithm::ImageLogistic => Self::ImageLogistic(params),
                _ => Self::ImageClassification(params),
            }));
        }
        let known = Self::known_keys(algorithm);
        if let Some(key) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Error::hyperparameter(
                key.clone(),
                format!("unknown for {algorithm}; known: {}", known.join(", ")),
            ));
        }
        let params = match algorithm {
            Algorithm::LogisticRegression => Self::LogisticRegression(read(map)?),
            Algorithm::DecisionTree => Self::DecisionTree(read(map)?),
            Algorithm::RandomForest => Self::RandomForest(read(map)?),
            Algorithm::GaussianNb => Self::GaussianNb(read(map)?),
            Algorithm::LinearRegression => Self::LinearRegression(read(map)?),
            Algorithm::Xgboost => Self::Xgboost(read(map)?),
            // Read above with their own checks; kept for exhaustiveness.
            Algorithm::ImageClassification => Self::ImageClassification(read(map)?),
            Algorithm::ImageLogistic => Self::ImageLogistic(read(map)?),
        };
        params.check()
    }

    /// Checks the range of every parameter (what [`from_map`](Self::from_map) does after
    /// parsing), giving the form [`fit`] takes.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the key, the value and the accepted range.
    pub fn check(&self) -> Result<CheckedParams> {
        match self {
            Self::ImageClassification(p) | Self::ImageLogistic(p) => p.check_for(self.algorithm())?,
            _ => self.hyperparameters().check()?,
        }
        Ok(CheckedParams(self.clone()))
    }

    /// The parameters as SageMaker's string map: every key, defaults filled in (for the
    /// model's metadata). [`from_map`](Self::from_map) reads it back to equal parameters.
    #[must_use]
    pub fn to_map(&self) -> BTreeMap<String, String> {
        if let Self::ImageClassification(p) | Self::ImageLogistic(p) = self {
            return p.to_map_for(self.algorithm());
        }
        let mut map = BTreeMap::new();
        self.hyperparameters().write(&mut map);
        map
    }

    fn hyperparameters(&self) -> &dyn Hyperparameters {
        match self {
            Self::LogisticRegression(p) => p,
            Self::DecisionTree(p) => p,
            Self::RandomForest(p) => p,
            Self::GaussianNb(p) => p,
            Self::LinearRegression(p) => p,
            Self::Xgboost(p) => p,
            Self::ImageClassification(p) | Self::ImageLogistic(p) => p,
        }
    }
}

/// Hyperparameters that passed [`TrainParams::check`] (or came from
/// [`TrainParams::from_map`]): the only form [`fit`] takes, so fitting never checks again.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedParams(TrainParams);

impl CheckedParams {
    /// The checked parameters.
    #[must_use]
    pub const fn params(&self) -> &TrainParams {
        &self.0
    }

    /// The checked parameters, to change and check again.
    #[must_use]
    pub fn into_params(self) -> TrainParams {
        self.0
    }

    /// The algorithm these parameters are for.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }

    /// The parameters as SageMaker's string map ([`TrainParams::to_map`]).
    #[must_use]
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.to_map()
    }
}

// ---------------------------------------------------------------------------------------------
// Training data
// ---------------------------------------------------------------------------------------------

/// The targets of a training set.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Class indices in `0..n_classes`.
    Classes {
        /// One class index per row.
        labels: Array1<usize>,
        /// The number of classes of the task (some may be absent from these rows).
        n_classes: usize,
    },
    /// Regression values.
    Values(Array1<f64>),
}

impl Targets {
    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Classes { labels, .. } => labels.len(),
            Self::Values(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Encoded features and their targets: what a channel holds.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingData {
    /// Rows × encoded features.
    pub features: Array2<f64>,
    /// One target per row.
    pub targets: Targets,
}

impl TrainingData {
    /// Reads a SageMaker CSV channel file: no header, the target in the first column, then the
    /// encoded features; every field a finite number and every row equally wide. With
    /// `n_classes` the targets are class indices in `0..n_classes` (written `1` or `1.0`);
    /// without, they are regression values.
    ///
    /// Blank lines are skipped.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Container`] naming the file, the
    /// line and the column (1 = the target) of a bad field, a row of another width, or an
    /// empty file.
    pub fn read_channel_csv(path: &Path, n_classes: Option<usize>) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let bad = |message: String| Error::Container { path: path.display().to_string(), message };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
        let mut record = csv::ByteRecord::new();
        let mut width: Option<(usize, u64)> = None;
        let mut features: Vec<f64> = Vec::new();
        let mut labels: Vec<usize> = Vec::new();
        let mut values: Vec<f64> = Vec::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(String::new(), |p| format!("line {}: ", p.line()));
                    return Err(bad(format!("{line}{e}")));
                }
            }
            let line = record.position().map_or(0, csv::Position::line);
            match width {
                None => {
                    if record.len() < 2 {
                        return Err(bad(format!(
                            "line {line}: {} column(s); a row needs the target and at least one feature",
                            record.len()
                        )));
                    }
                    width = Some((record.len(), line));
                    // Rows estimated from the file size and the first row's length (fields plus
                    // separators) keep the vector from regrowing many times.
                    let row_bytes = (record.as_slice().len() + record.len()) as u64;
                    let rows_guess = std::fs::metadata(path).map_or(0, |m| m.len()) / row_bytes + 1;
                    let rows_guess = usize::try_from(rows_guess).unwrap_or(0).min(1 << 28);
                    features.reserve(rows_guess.saturating_mul(record.len() - 1));
                }
                Some((w, first)) if w != record.len() => {
                    return Err(bad(format!("line {line}: {} columns, but line {first} has {w}", record.len())));
                }
                Some(_) => {}
            }
            let target = parse_field(&record[0]).map_err(|what| bad(format!("line {line}, column 1: {what}")))?;
            match n_classes {
                Some(k) => labels.push(class_index(target, k).ok_or_else(|| {
                    bad(format!(
                        "line {line}, column 1: class {:?} is not a class index (an integer in 0..{k})",
                        shown(&record[0])
                    ))
                })?),
                None => values.push(target),
            }
            for (j, field) in record.iter().enumerate().skip(1) {
                let v = parse_field(field).map_err(|what| bad(format!("line {line}, column {}: {what}", j + 1)))?;
                features.push(v);
            }
        }
        let Some((width, _)) = width else {
            return Err(bad("the file holds no rows".into()));
        };
        let rows = features.len() / (width - 1);
        let features = Array2::from_shape_vec((rows, width - 1), features)
            .map_err(|e| bad(format!("cannot shape {rows} rows: {e}")))?;
        let targets = match n_classes {
            Some(n_classes) => Targets::Classes { labels: Array1::from(labels), n_classes },
            None => Targets::Values(Array1::from(values)),
        };
        Ok(Self { features, targets })
    }

    /// Number of rows.
    #[must_use]
    pub fn n_rows(&self) -> usize {
        self.features.nrows()
    }

    /// Number of encoded features.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.features.ncols()
    }
}

fn shown(field: &[u8]) -> String {
    let s = String::from_utf8_lossy(field);
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s.into_owned() }
}

fn parse_field(field: &[u8]) -> std::result::Result<f64, String> {
    let text = std::str::from_utf8(field).map_err(|_| format!("{:?} is not a number", shown(field)))?.trim();
    if text.is_empty() {
        return Err("empty field (missing values must be encoded before training)".into());
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("{text:?} is not a finite number")),
        Err(_) => Err(format!("{:?} is not a number", shown(field))),
    }
}

fn class_index(v: f64, n_classes: usize) -> Option<usize> {
    let in_range = v >= 0.0 && v.fract() == 0.0 && v < n_classes as f64;
    in_range.then_some(v as usize)
}

// ---------------------------------------------------------------------------------------------
// Fitting
// ---------------------------------------------------------------------------------------------

/// Trains `params`' algorithm on `data` and exports the fitted model.
///
/// The parameters were checked when they became [`CheckedParams`], so fitting does not
/// check them again.
///
/// # Errors
/// - [`Error::Unsupported`] for an image algorithm (it reads image channels), or when the
///   algorithm cannot learn this data: the wrong task
///   (a classifier on regression values or the reverse), no rows, no feature columns, rows and
///   targets of different lengths, non-finite values, a single class, or a class with no rows;
/// - [`Error::Fit`] when linfa fails (for example the solver does not converge numerically).
pub fn fit(params: &CheckedParams, data: &TrainingData) -> Result<FittedModel> {
    fit_validated(params, data, None)
}

/// [`fit`] with validation rows: `xgboost` evaluates its `eval_metric` on them every round and
/// stops early on them (`early_stopping_rounds`); the other algorithms do not look at them.
///
/// # Errors
/// As [`fit`]; also, for `xgboost`, an `objective` that does not fit the targets (naming the
/// one that does), a `num_class` other than the classes, an `eval_metric` that does not fit the
/// objective, `early_stopping_rounds` without validation rows, or validation rows of another
/// width or task.
pub fn fit_validated(
    params: &CheckedParams,
    data: &TrainingData,
    validation: Option<&TrainingData>,
) -> Result<FittedModel> {
    let algorithm = params.algorithm();
    if algorithm.is_image() {
        return Err(unsupported(
            algorithm,
            "it trains on image channels, not encoded rows; see wb_models::image_classifier::train_in_container",
        ));
    }
    check_data(algorithm, data)?;
    let started = std::time::Instant::now();
    let x = data.features.view();
    let model = match (params.params(), &data.targets) {
        (TrainParams::LinearRegression(p), Targets::Values(y)) => fit_linear(p, x, y.view())?,
        (TrainParams::LogisticRegression(p), Targets::Classes { labels, n_classes }) => {
            fit_logistic(p, x, labels.view(), *n_classes)?
        }
        (TrainParams::DecisionTree(p), targets) => {
            let tree = fit_tree(p, x, tree_target(algorithm, targets)?)?;
            match targets {
                Targets::Classes { n_classes, .. } => FittedModel::DecisionTree { classes: *n_classes, tree },
                Targets::Values(_) => FittedModel::RegressionTree { tree },
            }
        }
        (TrainParams::RandomForest(p), targets) => {
            let trees = fit_forest(p, x, tree_target(algorithm, targets)?)?;
            match targets {
                Targets::Classes { n_classes, .. } => FittedModel::RandomForest { classes: *n_classes, trees },
                Targets::Values(_) => FittedModel::RegressionForest { trees },
            }
        }
        (TrainParams::GaussianNb(p), Targets::Classes { labels, n_classes }) => {
            fit_gaussian_nb(p, x, labels.view(), *n_classes)?
        }
        (TrainParams::Xgboost(p), _) => fit_xgboost(p, data, validation)?,
        _ => return Err(task_mismatch(algorithm)),
    };
    tracing::debug!(
        algorithm = algorithm.name(),
        rows = data.n_rows(),
        features = data.n_features(),
        seconds = started.elapsed().as_secs_f64(),
        "fitted"
    );
    Ok(model)
}

/// linfa's error, as a fit error (what linfa's [`Fit`] needs of the error it returns).
impl From<linfa::Error> for Error {
    fn from(e: linfa::Error) -> Self {
        Self::Fit { algorithm: "linfa".to_owned(), message: e.to_string() }
    }
}

/// The linfa interface of every tabular classifier: checked parameters fit a linfa dataset of
/// rows and class indices (the classes are `0..=max label`, at least two), as [`fit`] fits
/// [`TrainingData`].
impl<'a> Fit<ArrayView2<'a, f64>, ArrayView1<'a, usize>, Error> for CheckedParams {
    type Object = FittedModel;

    fn fit(&self, dataset: &DatasetBase<ArrayView2<'a, f64>, ArrayView1<'a, usize>>) -> Result<FittedModel> {
        let labels = dataset.targets.to_owned();
        let n_classes = labels.iter().max().map_or(0, |m| m + 1).max(2);
        let data =
            TrainingData { features: dataset.records.to_owned(), targets: Targets::Classes { labels, n_classes } };
        fit(self, &data)
    }
}

/// linfa's [`Fit`] for each classifier's own parameters: checked ([`TrainParams::check`]),
/// then fitted as [`CheckedParams`] are.
macro_rules! fit_through_checked {
    ($($params:ident => $variant:ident),+ $(,)?) => {$(
        impl<'a> Fit<ArrayView2<'a, f64>, ArrayView1<'a, usize>, Error> for $params {
            type Object = FittedModel;

            fn fit(&self, dataset: &DatasetBase<ArrayView2<'a, f64>, ArrayView1<'a, usize>>) -> Result<FittedModel> {
                TrainParams::$variant(self.clone()).check()?.fit(dataset)
            }
        }
    )+};
}

fit_through_checked!(
    LogisticParams => LogisticRegression,
    DecisionTreeParams => DecisionTree,
    RandomForestParams => RandomForest,
    GaussianNbParams => GaussianNb,
);

/// linfa's [`Predict`](linfa::traits::Predict) for fitted models: [`FittedModel::predict`].
impl<'a> linfa::traits::Predict<ArrayView2<'a, f64>, Result<crate::model::Prediction>> for FittedModel {
    fn predict(&self, x: ArrayView2<'a, f64>) -> Result<crate::model::Prediction> {
        Self::predict(self, x)
    }
}

fn unsupported(algorithm: Algorithm, reason: impl Into<String>) -> Error {
    Error::Unsupported { algorithm: algorithm.name().to_owned(), reason: reason.into() }
}

fn fit_error(algorithm: Algorithm, e: impl fmt::Display) -> Error {
    Error::Fit { algorithm: algorithm.name().to_owned(), message: e.to_string() }
}

fn task_mismatch(algorithm: Algorithm) -> Error {
    if algorithm.is_classifier() {
        unsupported(
            algorithm,
            "it is a classification algorithm but the targets are regression values; use linear-regression",
        )
    } else {
        unsupported(
            algorithm,
            "it is a regression algorithm but the targets are class labels; use a classifier such as logistic-regression",
        )
    }
}

fn check_data(algorithm: Algorithm, data: &TrainingData) -> Result<()> {
    let classification = matches!(data.targets, Targets::Classes { .. });
    if classification != algorithm.is_classifier() && !algorithm.fits_any_task() {
        return Err(task_mismatch(algorithm));
    }
    let (rows, cols) = data.features.dim();
    if rows == 0 {
        return Err(unsupported(algorithm, "the training data has no rows"));
    }
    if cols == 0 {
        return Err(unsupported(algorithm, "the training data has no feature columns"));
    }
    if data.targets.len() != rows {
        return Err(unsupported(algorithm, format!("{rows} feature rows but {} targets", data.targets.len())));
    }
    // Boosted trees learn where missing values (NaN) go; nothing learns from infinities.
    let allowed = |v: f64| v.is_finite() || (algorithm == Algorithm::Xgboost && v.is_nan());
    if let Some(((r, c), v)) = data.features.indexed_iter().find(|(_, v)| !allowed(**v)) {
        return Err(unsupported(algorithm, format!("feature value {v} at row {r}, column {c} is not finite")));
    }
    match &data.targets {
        Targets::Values(y) => {
            if let Some((r, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(unsupported(algorithm, format!("target {v} at row {r} is not finite")));
            }
        }
        Targets::Classes { labels, n_classes } => {
            let k = *n_classes;
            if k < 2 {
                return Err(unsupported(algorithm, format!("a classifier needs at least 2 classes, the task has {k}")));
            }
            let mut counts = vec![0_usize; k];
            for (r, &label) in labels.iter().enumerate() {
                *counts.get_mut(label).ok_or_else(|| {
                    unsupported(algorithm, format!("class index {label} at row {r} is outside 0..{k}"))
                })? += 1;
            }
            let present: Vec<usize> = (0..k).filter(|&c| counts[c] > 0).collect();
            if let [only] = present[..] {
                return Err(unsupported(
                    algorithm,
                    format!("every training row has class {only}; a classifier needs at least two classes"),
                ));
            }
            if let Some(missing) = (0..k).find(|&c| counts[c] == 0) {
                return Err(unsupported(
                    algorithm,
                    format!(
                        "class {missing} has no training rows (the task has {k} classes); every class needs examples"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn fit_linear(p: &LinearRegressionParams, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<FittedModel> {
    let algorithm = Algorithm::LinearRegression;
    // Constant columns carry nothing the intercept does not (all-zero ones nothing at all) and
    // make the normal equations singular: they are left out and weigh 0, as the minimum-norm
    // least-squares solution would weigh them up to the intercept.
    let kept: Vec<usize> = (0..x.ncols())
        .filter(|&j| {
            let column = x.column(j);
            let first = column[0];
            let constant = column.iter().all(|&v| v == first);
            !(constant && (p.fit_intercept || first == 0.0))
        })
        .collect();
    let mut weights = vec![0.0; x.ncols()];
    let intercept = if kept.is_empty() {
        if p.fit_intercept { y.mean().unwrap_or(0.0) } else { 0.0 }
    } else {
        let reduced = x.select(Axis(1), &kept);
        let dataset = DatasetBase::new(reduced.view(), y);
        let fitted =
            linfa_linear::LinearRegression::new().with_intercept(p.fit_intercept).fit(&dataset).map_err(|e| {
                fit_error(
                    algorithm,
                    format!(
                        "{e}: some feature columns are linear combinations of others (a one-hot group \
                     with all its levels, a copy of a column); leave the redundant ones out with \
                     `wb dataset register --exclude`"
                    ),
                )
            })?;
        for (&j, &w) in kept.iter().zip(fitted.params()) {
            weights[j] = w;
        }
        fitted.intercept()
    };
    if !(intercept.is_finite() && weights.iter().all(|w| w.is_finite())) {
        return Err(fit_error(algorithm, "the least-squares solution is not finite"));
    }
    Ok(FittedModel::Linear { linear: LinearModel { weights: vec![weights], intercepts: vec![intercept] } })
}

/// Checks `xgboost`'s objective against the targets, then boosts ([`gbdt`]).
fn fit_xgboost(p: &XgboostParams, data: &TrainingData, validation: Option<&TrainingData>) -> Result<FittedModel> {
    let algorithm = Algorithm::Xgboost;
    let objective = p.objective;
    let groups = match (&data.targets, objective) {
        (Targets::Classes { n_classes: 2, .. }, Objective::BinaryLogistic) => 1,
        (Targets::Classes { n_classes, .. }, Objective::MultiSoftprob | Objective::MultiSoftmax) => {
            if p.num_class != *n_classes {
                return Err(Error::hyperparameter(
                    "num_class",
                    format!("is {}, but the dataset has {n_classes} classes; set num_class={n_classes}", p.num_class),
                ));
            }
            *n_classes
        }
        (Targets::Classes { n_classes, .. }, _) => {
            let fitting = if *n_classes == 2 {
                "binary:logistic".to_owned()
            } else {
                format!("multi:softprob with num_class={n_classes}")
            };
            return Err(Error::hyperparameter(
                "objective",
                format!("{objective} does not fit a classification dataset with {n_classes} classes; use {fitting}"),
            ));
        }
        (Targets::Values(_), Objective::RegSquaredError) => 1,
        (Targets::Values(_), _) => {
            return Err(Error::hyperparameter(
                "objective",
                format!(
                    "{objective} is a classification objective but the dataset is a regression; use reg:squarederror"
                ),
            ));
        }
    };
    if !p.eval_metric.fits(objective) {
        let fitting: Vec<&str> =
            EvalMetric::ALL.into_iter().filter(|m| m.fits(objective)).map(EvalMetric::name).collect();
        return Err(Error::hyperparameter(
            "eval_metric",
            format!("{} does not apply to {objective}; use one of {}", p.eval_metric.name(), fitting.join(", ")),
        ));
    }
    if objective == Objective::BinaryLogistic && objective.base_margin(p.base_score).is_none() {
        return Err(Error::hyperparameter(
            "base_score",
            format!("{} is out of range: binary:logistic needs a probability in (0, 1)", p.base_score),
        ));
    }
    if p.early_stopping_rounds > 0 && validation.is_none() {
        return Err(unsupported(algorithm, "early_stopping_rounds needs validation rows (the validation channel)"));
    }
    fn borrowed(d: &TrainingData) -> Result<gbdt::Rows<'_>> {
        let algorithm = Algorithm::Xgboost;
        let targets = match &d.targets {
            Targets::Classes { labels, .. } => gbdt::Targets::Classes(
                labels.as_slice().ok_or_else(|| fit_error(algorithm, "labels are not contiguous"))?,
            ),
            Targets::Values(v) => {
                gbdt::Targets::Values(v.as_slice().ok_or_else(|| fit_error(algorithm, "targets are not contiguous"))?)
            }
        };
        Ok(gbdt::Rows { x: d.features.view(), targets })
    }
    let train = borrowed(data)?;
    let validation = match validation {
        Some(v) => {
            if v.n_features() != data.n_features() {
                return Err(unsupported(
                    algorithm,
                    format!("validation rows have {} features, training rows {}", v.n_features(), data.n_features()),
                ));
            }
            if std::mem::discriminant(&v.targets) != std::mem::discriminant(&data.targets) {
                return Err(unsupported(algorithm, "validation and training targets are of different tasks"));
            }
            if let Targets::Classes { labels, .. } = &v.targets
                && let Some(bad) = labels.iter().find(|&&l| l >= groups.max(2))
            {
                return Err(unsupported(algorithm, format!("validation class {bad} is outside the training classes")));
            }
            Some(borrowed(v)?)
        }
        None => None,
    };
    let model = gbdt::boost(p, groups, &train, validation.as_ref());
    Ok(FittedModel::Boosted { model })
}

/// Column means (zero without centring) and scales (standard deviation, 1 for constant columns).
fn standardization(x: ArrayView2<'_, f64>, center: bool) -> (Array1<f64>, Array1<f64>) {
    let means = if center {
        x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(x.ncols()))
    } else {
        Array1::zeros(x.ncols())
    };
    let scales = if center {
        x.std_axis(Axis(0), 0.0)
    } else {
        let n = x.nrows().max(1) as f64;
        x.map_axis(Axis(0), |c| (c.iter().map(|v| v * v).sum::<f64>() / n).sqrt())
    };
    let scales = scales.mapv(|s| if s > 1e-12 && s.is_finite() { s } else { 1.0 });
    (means, scales)
}

fn fit_logistic(
    p: &LogisticParams,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, usize>,
    n_classes: usize,
) -> Result<FittedModel> {
    let algorithm = Algorithm::LogisticRegression;
    let (means, scales) = standardization(x, p.fit_intercept);
    let contiguous;
    let rows = match x.as_slice() {
        Some(rows) => rows,
        None => {
            contiguous = x.as_standard_layout().into_owned();
            contiguous.as_slice().ok_or_else(|| fit_error(algorithm, "rows are not contiguous"))?
        }
    };
    let labels = y.as_slice().ok_or_else(|| fit_error(algorithm, "labels are not contiguous"))?;
    let (means, scales) = (means.to_vec(), scales.to_vec());
    let problem = lbfgs::Logistic {
        x: rows,
        features: x.ncols(),
        labels,
        scores: if n_classes == 2 { 1 } else { n_classes },
        means: &means,
        scales: &scales,
        alpha: p.alpha,
        intercept: p.fit_intercept,
    };
    let solver = lbfgs::Lbfgs {
        memory: 10,
        max_iterations: usize::try_from(p.max_iterations).unwrap_or(usize::MAX),
        gradient_tolerance: p.gradient_tolerance,
        ftol: 64.0 * f64::EPSILON,
    };
    let minimum = solver.minimize(vec![0.0; problem.len()], |theta, gradient| problem.evaluate(theta, gradient));
    tracing::debug!(
        iterations = minimum.iterations,
        converged = minimum.converged,
        objective = minimum.value,
        "fitted logistic regression"
    );
    // Scores on the standardized scale: one (weights, intercept) per score row.
    let stride = problem.stride();
    let standardized: Vec<(Vec<f64>, f64)> = minimum
        .x
        .chunks(stride)
        .map(|score| (score[..x.ncols()].to_vec(), if p.fit_intercept { score[x.ncols()] } else { 0.0 }))
        .collect();
    let mut weights = Vec::with_capacity(standardized.len());
    let mut intercepts = Vec::with_capacity(standardized.len());
    for (w, b) in standardized {
        let original: Vec<f64> = w.iter().zip(&scales).map(|(w, s)| w / s).collect();
        let shift: f64 = original.iter().zip(&means).map(|(w, m)| w * m).sum();
        intercepts.push(b - shift);
        weights.push(original);
    }
    if !(weights.iter().flatten().all(|w| w.is_finite()) && intercepts.iter().all(|b| b.is_finite())) {
        return Err(fit_error(algorithm, "the solver produced non-finite coefficients"));
    }
    Ok(FittedModel::Logistic { classes: n_classes, linear: LinearModel { weights, intercepts } })
}

/// How a `decision-tree` grows ([`hist_tree`]).
fn tree_settings(p: &DecisionTreeParams) -> hist_tree::Settings {
    hist_tree::Settings {
        max_depth: p.max_depth,
        min_samples_split: p.min_samples_split as f64,
        min_samples_leaf: p.min_samples_leaf as f64,
        min_impurity_decrease: p.min_impurity_decrease,
        quality: p.split_quality,
        max_features: None,
        parallel: true,
    }
}

/// Fits one histogram tree on every row, with the class fractions (or the mean value) of its
/// training rows at every node.
fn fit_tree(p: &DecisionTreeParams, x: ArrayView2<'_, f64>, target: hist_tree::Target<'_>) -> Result<Tree> {
    let algorithm = Algorithm::DecisionTree;
    check_split_quality(algorithm, p.split_quality, target)?;
    let bins = hist_tree::Bins::new(x, hist_tree::MAX_BINS);
    let data = hist_tree::Rows { bins: &bins, target };
    let weights = vec![1_u32; bins.rows()];
    let mut rows: Vec<u32> = (0..bins.rows()).map(|r| r as u32).collect();
    // Every feature is a candidate at every split: nothing is drawn.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    hist_tree::grow(&data, &weights, &mut rows, &tree_settings(p), &mut rng).map_err(|e| fit_error(algorithm, e))
}

/// The targets as the histogram trees read them: class indices or values, contiguous.
fn tree_target(algorithm: Algorithm, targets: &Targets) -> Result<hist_tree::Target<'_>> {
    let contiguous = || fit_error(algorithm, "targets are not contiguous");
    Ok(match targets {
        Targets::Classes { labels, n_classes } => {
            hist_tree::Target::Classes { labels: labels.as_slice().ok_or_else(contiguous)?, classes: *n_classes }
        }
        Targets::Values(y) => hist_tree::Target::Values(y.as_slice().ok_or_else(contiguous)?),
    })
}

/// Refuses a split criterion that does not fit the target, naming the one that does.
fn check_split_quality(algorithm: Algorithm, quality: SplitQuality, target: hist_tree::Target<'_>) -> Result<()> {
    match (target, quality) {
        (hist_tree::Target::Values(_), SplitQuality::Gini | SplitQuality::Entropy) => Err(unsupported(
            algorithm,
            format!(
                "split_quality={} is a classification criterion but the dataset is a regression; use split_quality=squared_error",
                quality.name()
            ),
        )),
        (hist_tree::Target::Classes { .. }, SplitQuality::SquaredError) => Err(unsupported(
            algorithm,
            "split_quality=squared_error is a regression criterion but the dataset is a classification; use gini or entropy",
        )),
        _ => Ok(()),
    }
}

/// Fits a forest of histogram trees on bootstrap samples: Gini for classes, squared error for
/// values.
fn fit_forest(p: &RandomForestParams, x: ArrayView2<'_, f64>, target: hist_tree::Target<'_>) -> Result<Vec<Tree>> {
    let algorithm = Algorithm::RandomForest;
    let (rows, cols) = x.dim();
    let sample_rows = ((rows as f64 * p.bootstrap_fraction).ceil() as usize).clamp(1, rows);
    let max_features = p.feature_fraction.count(cols);
    let bins = hist_tree::Bins::new(x, hist_tree::MAX_BINS);
    let data = hist_tree::Rows { bins: &bins, target };
    let settings = hist_tree::Settings {
        max_depth: p.max_depth,
        min_samples_split: 2.0,
        min_samples_leaf: 1.0,
        min_impurity_decrease: 0.0,
        quality: SplitQuality::Gini,
        max_features: (max_features < cols).then_some(max_features),
        parallel: false,
    };
    tracing::debug!(trees = p.num_trees, sample_rows, max_features, "fitting a random forest");
    hist_tree::forest(&data, p.num_trees, sample_rows, p.seed, &settings).map_err(|e| fit_error(algorithm, e))
}

/// linfa-bayes keeps its fitted statistics private; its serde form (feature `serde`) is the
/// documented way to persist them, so they are read back from it.
#[derive(Deserialize)]
struct LinfaGaussianNb {
    class_info: std::collections::HashMap<usize, LinfaClassInfo>,
}

#[derive(Deserialize)]
struct LinfaClassInfo {
    prior: f64,
    theta: LinfaArray,
    sigma: LinfaArray,
}

/// ndarray's serde form: `{"v": 1, "dim": [n], "data": [...]}`.
#[derive(Deserialize)]
struct LinfaArray {
    data: Vec<f64>,
}

fn fit_gaussian_nb(
    p: &GaussianNbParams,
    x: ArrayView2<'_, f64>,
    y: ArrayView1<'_, usize>,
    n_classes: usize,
) -> Result<FittedModel> {
    let algorithm = Algorithm::GaussianNb;
    let fitted = linfa_bayes::GaussianNb::<f64, usize>::params()
        .var_smoothing(p.var_smoothing)
        .fit(&DatasetBase::new(x, y))
        .map_err(|e| fit_error(algorithm, e))?;
    let exported: LinfaGaussianNb = serde_json::to_value(&fitted)
        .and_then(serde_json::from_value)
        .map_err(|e| fit_error(algorithm, format!("cannot read linfa's fitted statistics: {e}")))?;
    let mut class_info = exported.class_info;
    let mut priors = Vec::with_capacity(n_classes);
    let mut means = Vec::with_capacity(n_classes);
    let mut variances = Vec::with_capacity(n_classes);
    for c in 0..n_classes {
        let info = class_info
            .remove(&c)
            .ok_or_else(|| fit_error(algorithm, format!("linfa learned no statistics for class {c}")))?;
        priors.push(info.prior);
        means.push(info.theta.data);
        variances.push(info.sigma.data);
    }
    let model = GaussianNbModel::new(priors, means, variances).map_err(|e| {
        let reason = match e {
            Error::Artifact { message, .. } => message,
            other => other.to_string(),
        };
        unsupported(
            algorithm,
            format!("{reason}; constant features need var_smoothing > 0 and at least one varying feature"),
        )
    })?;
    Ok(FittedModel::GaussianNb { classes: n_classes, model })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use linfa::dataset::AsSingleTargets;
    use ndarray::array;
    use rand::Rng;

    use super::*;
    use crate::metrics::validation_metrics;
    use crate::model::Prediction;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// A seeded, stratification-free shuffle split of a linfa dataset into our training data.
    fn split(x: &Array2<f64>, targets: Targets, train_fraction: f64, seed: u64) -> (TrainingData, TrainingData) {
        use rand::seq::SliceRandom;
        let mut order: Vec<usize> = (0..x.nrows()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let cut = (x.nrows() as f64 * train_fraction) as usize;
        let pick = |idx: &[usize]| {
            let features = x.select(Axis(0), idx);
            let targets = match &targets {
                Targets::Classes { labels, n_classes } => {
                    Targets::Classes { labels: labels.select(Axis(0), idx), n_classes: *n_classes }
                }
                Targets::Values(v) => Targets::Values(v.select(Axis(0), idx)),
            };
            TrainingData { features, targets }
        };
        (pick(&order[..cut]), pick(&order[cut..]))
    }

    fn iris() -> (TrainingData, TrainingData) {
        let ds = linfa_datasets::iris();
        let labels = ds.as_single_targets().to_owned();
        split(ds.records(), Targets::Classes { labels, n_classes: 3 }, 0.7, 7)
    }

    fn wine_binary() -> (TrainingData, TrainingData) {
        let ds = linfa_datasets::winequality();
        let labels = ds.as_single_targets().mapv(|q| usize::from(q >= 7));
        split(ds.records(), Targets::Classes { labels, n_classes: 2 }, 0.7, 11)
    }

    fn checked(params: TrainParams) -> CheckedParams {
        params.check().expect("valid parameters")
    }

    fn defaults(algorithm: Algorithm) -> CheckedParams {
        checked(TrainParams::defaults(algorithm))
    }

    fn small_forest() -> CheckedParams {
        checked(TrainParams::RandomForest(RandomForestParams {
            num_trees: 20,
            max_depth: 6,
            ..RandomForestParams::default()
        }))
    }

    fn classifiers() -> Vec<CheckedParams> {
        vec![
            defaults(Algorithm::LogisticRegression),
            defaults(Algorithm::DecisionTree),
            small_forest(),
            defaults(Algorithm::GaussianNb),
        ]
    }

    fn assert_predict_row_matches(model: &FittedModel, x: ArrayView2<'_, f64>) {
        let batch = model.predict(x).expect("tabular rows of the model's width");
        let mut out = vec![0.0; model.n_outputs()];
        for (i, row) in x.rows().into_iter().enumerate() {
            model.predict_row(row.to_slice().expect("contiguous rows"), &mut out);
            match &batch {
                Prediction::Probabilities(p) => assert_eq!(p.row(i).to_vec(), out),
                Prediction::Values(v) => assert_eq!(v[i], out[0]),
            }
        }
    }

    #[test]
    fn image_algorithms_read_their_own_parameters_and_refuse_fit() {
        let given = map(&[("num_classes", "3"), ("num_training_samples", "10"), ("optimizer", "adam")]);
        for a in [Algorithm::ImageClassification, Algorithm::ImageLogistic] {
            assert!(a.is_image() && a.is_classifier());
            let params = TrainParams::from_map(a, &given).expect("valid");
            let (TrainParams::ImageClassification(p) | TrainParams::ImageLogistic(p)) = params.params() else {
                panic!("image parameters for {a}")
            };
            assert_eq!((p.num_classes, p.optimizer), (3, crate::image_classifier::Optimizer::Adam));
            assert_eq!(params.algorithm(), a);
            let data = TrainingData {
                features: Array2::zeros((2, 1)),
                targets: Targets::Classes { labels: Array1::from(vec![0, 1]), n_classes: 2 },
            };
            let err = fit(&params, &data).expect_err("image algorithms do not fit rows");
            assert!(err.to_string().contains("image channels"), "{err}");
        }
        assert!(Algorithm::ALL.iter().filter(|a| a.is_image()).count() == 2);
        let err = TrainParams::from_map(Algorithm::ImageLogistic, &map(&[("num_classes", "2")])).expect_err("missing");
        assert!(err.to_string().contains("num_training_samples"), "{err}");
    }

    #[test]
    fn algorithm_names_round_trip_and_unknown_names_list_the_known() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::parse(a.name()).expect("known"), a);
            assert_eq!(a.to_string().parse::<Algorithm>().expect("known"), a);
        }
        let err = Algorithm::parse("lightgbm").expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("lightgbm") && text.contains("xgboost") && text.contains("linear-regression"), "{text}");
    }

    #[test]
    fn defaults_resolve_to_a_full_map_that_reads_back() {
        for a in Algorithm::ALL {
            // Image algorithms require num_classes and num_training_samples, as SageMaker's do.
            let required: &[(&str, &str)] =
                if a.is_image() { &[("num_classes", "2"), ("num_training_samples", "1")] } else { &[] };
            let params = TrainParams::from_map(a, &map(required)).expect("defaults are valid");
            if !a.is_image() {
                assert_eq!(params.params(), &TrainParams::defaults(a));
            }
            let resolved = params.to_map();
            let keys: Vec<&str> = resolved.keys().map(String::as_str).collect();
            assert_eq!(keys, TrainParams::known_keys(a), "{a}");
            assert_eq!(TrainParams::from_map(a, &resolved).expect("reads back"), params);
        }
        let p = TrainParams::from_map(
            Algorithm::RandomForest,
            &map(&[("num_trees", "7"), ("feature_fraction", "0.25"), ("seed", "18446744073709551615")]),
        )
        .expect("valid");
        assert_eq!(TrainParams::from_map(Algorithm::RandomForest, &p.to_map()).expect("reads back"), p);
        let TrainParams::RandomForest(f) = p.params() else { panic!("a forest") };
        assert_eq!(
            (f.num_trees, f.feature_fraction, f.seed, f.max_depth),
            (7, FeatureFraction::Fraction(0.25), u64::MAX, 10)
        );
    }

    #[test]
    fn hyperparameters_parse_booleans_and_qualities_leniently() {
        let p = TrainParams::from_map(
            Algorithm::LogisticRegression,
            &map(&[("fit_intercept", "False"), ("alpha", " 0.5 ")]),
        )
        .expect("valid");
        assert_eq!(
            p.params(),
            &TrainParams::LogisticRegression(LogisticParams {
                fit_intercept: false,
                alpha: 0.5,
                ..LogisticParams::default()
            })
        );
        let p = TrainParams::from_map(Algorithm::DecisionTree, &map(&[("split_quality", "Entropy")])).expect("valid");
        let TrainParams::DecisionTree(t) = p.params() else { panic!("a tree") };
        assert_eq!(t.split_quality, SplitQuality::Entropy);
    }

    #[test]
    fn unknown_hyperparameters_name_the_key_and_the_known_keys() {
        let err = TrainParams::from_map(Algorithm::DecisionTree, &map(&[("num_trees", "5")])).expect_err("unknown");
        let Error::Hyperparameter { name, reason } = &err else { panic!("{err}") };
        assert_eq!(name, "num_trees");
        assert_eq!(
            reason,
            "unknown for decision-tree; known: max_depth, min_impurity_decrease, min_samples_leaf, min_samples_split, split_quality"
        );
    }

    #[test]
    fn invalid_hyperparameters_name_the_value_and_the_accepted_range() {
        let cases: [(Algorithm, &str, &str, &str); 10] = [
            (Algorithm::LogisticRegression, "alpha", "-1", "-1 is out of range: expected a finite number ≥ 0"),
            (Algorithm::LogisticRegression, "alpha", "abc", "\"abc\" is not a finite number"),
            (Algorithm::LogisticRegression, "max_iterations", "0", "0 is out of range: expected an integer ≥ 1"),
            (Algorithm::LogisticRegression, "fit_intercept", "yes", "\"yes\" is not true or false"),
            (Algorithm::DecisionTree, "max_depth", "100", "100 is out of range: expected an integer in 1..=64"),
            (Algorithm::DecisionTree, "split_quality", "mse", "\"mse\" is not gini, entropy or squared_error"),
            (
                Algorithm::RandomForest,
                "feature_fraction",
                "1.5",
                "1.5 is out of range: expected sqrt or a number in (0, 1]",
            ),
            (Algorithm::RandomForest, "seed", "-3", "\"-3\" is not an unsigned integer"),
            (Algorithm::GaussianNb, "var_smoothing", "NaN", "\"NaN\" is not a finite number"),
            (Algorithm::LinearRegression, "fit_intercept", "", "\"\" is not true or false"),
        ];
        for (algorithm, key, value, expected) in cases {
            let err = TrainParams::from_map(algorithm, &map(&[(key, value)])).expect_err(value);
            let Error::Hyperparameter { name, reason } = &err else { panic!("{err}") };
            assert_eq!((name.as_str(), reason.as_str()), (key, expected), "{algorithm} {key}={value}");
        }
    }

    #[test]
    fn check_refuses_parameters_built_in_code_out_of_range() {
        let infinite =
            TrainParams::LogisticRegression(LogisticParams { alpha: f64::INFINITY, ..LogisticParams::default() });
        let err = infinite.check().expect_err("an infinite alpha");
        let Error::Hyperparameter { name, reason } = &err else { panic!("{err}") };
        assert_eq!((name.as_str(), reason.as_str()), ("alpha", "inf is out of range: expected a finite number ≥ 0"));
        let nan = RandomForestParams { bootstrap_fraction: f64::NAN, ..RandomForestParams::default() };
        assert!(TrainParams::RandomForest(nan).check().is_err());
        // Parsing comes before the ranges: the value that does not parse is the one named.
        let err =
            TrainParams::from_map(Algorithm::LogisticRegression, &map(&[("alpha", "-1"), ("max_iterations", "x")]))
                .expect_err("two bad values");
        assert!(matches!(&err, Error::Hyperparameter { name, .. } if name == "max_iterations"), "{err}");
    }

    #[test]
    fn resolved_maps_spell_values_as_before() {
        let resolved = TrainParams::defaults(Algorithm::DecisionTree).to_map();
        assert_eq!(
            resolved,
            map(&[
                ("max_depth", "10"),
                ("min_impurity_decrease", "0.00001"),
                ("min_samples_leaf", "1"),
                ("min_samples_split", "2"),
                ("split_quality", "gini"),
            ])
        );
        let resolved = TrainParams::defaults(Algorithm::LogisticRegression).to_map();
        assert_eq!(
            resolved,
            map(&[
                ("alpha", "1"),
                ("fit_intercept", "true"),
                ("gradient_tolerance", "0.0001"),
                ("max_iterations", "100")
            ])
        );
    }

    #[test]
    fn every_classifier_learns_iris() {
        let (train, test) = iris();
        for params in classifiers() {
            let model = fit(&params, &train).expect("fits");
            assert_eq!(model.classes(), Some(3));
            assert_eq!(model.n_features(), 4);
            let metrics = validation_metrics(&model, &test);
            let accuracy = metrics["accuracy"];
            assert!(accuracy > 0.88, "{}: accuracy {accuracy}", params.algorithm());
            assert!(metrics["auc"] > 0.9, "{}: {metrics:?}", params.algorithm());
            assert_predict_row_matches(&model, test.features.view());
        }
    }

    #[test]
    fn missing_values_do_not_panic() {
        let (train, _) = iris();
        for params in classifiers() {
            let model = fit(&params, &train).expect("fits");
            let mut out = [0.0; 3];
            model.predict_row(&[f64::NAN, 3.0, f64::NAN, 1.0], &mut out);
            if matches!(model, FittedModel::DecisionTree { .. } | FittedModel::RandomForest { .. }) {
                assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-9, "trees send NaN left: {out:?}");
            }
            model.predict_row(&[f64::NAN; 4], &mut out);
        }
    }

    #[test]
    fn binary_logistic_learns_good_wine() {
        let (train, test) = wine_binary();
        let model = fit(&defaults(Algorithm::LogisticRegression), &train).expect("fits");
        let FittedModel::Logistic { classes: 2, linear } = &model else { panic!("binary logistic: {model:?}") };
        assert_eq!((linear.weights.len(), linear.weights[0].len()), (1, 11));
        let metrics = validation_metrics(&model, &test);
        assert!(metrics["auc"] > 0.8, "{metrics:?}");
        assert!(metrics["accuracy"] > 0.85, "{metrics:?}");
        assert_predict_row_matches(&model, test.features.view());
    }

    #[test]
    fn logistic_weights_are_on_the_original_scale() {
        // Class 1 exactly when x0 > 10, with a second feature of noise on a large scale.
        let x = Array2::from_shape_fn((200, 2), |(i, j)| {
            if j == 0 { f64::from(i as u32 % 20) } else { 1000.0 * f64::from((i * 7 % 13) as u32) }
        });
        let labels = x.column(0).mapv(|v| usize::from(v > 10.0));
        let data = TrainingData { features: x, targets: Targets::Classes { labels, n_classes: 2 } };
        let params =
            checked(TrainParams::LogisticRegression(LogisticParams { alpha: 0.01, ..LogisticParams::default() }));
        let model = fit(&params, &data).expect("fits");
        let FittedModel::Logistic { linear, .. } = &model else { panic!("logistic") };
        assert!(linear.weights[0][0] > 0.0, "{linear:?}");
        assert!(linear.weights[0][1].abs() < linear.weights[0][0].abs() / 100.0, "{linear:?}");
        assert_eq!(validation_metrics(&model, &data)["accuracy"], 1.0);
    }

    #[test]
    fn trees_report_training_class_fractions_at_their_leaves() {
        let (train, _) = wine_binary();
        let params =
            checked(TrainParams::DecisionTree(DecisionTreeParams { max_depth: 3, ..DecisionTreeParams::default() }));
        let model = fit(&params, &train).expect("fits");
        let FittedModel::DecisionTree { tree, .. } = &model else { panic!("a tree") };
        assert!(tree.depth() <= 3 && tree.n_leaves() >= 2, "{tree:?}");
        let Targets::Classes { labels, .. } = &train.targets else { panic!("classes") };
        // The root holds the class balance of the whole training set.
        let positive = labels.iter().filter(|&&l| l == 1).count() as f64 / labels.len() as f64;
        assert!((tree.node_values(0)[1] - positive).abs() < 1e-12);
        // Each leaf's fractions are those of the training rows that reach it.
        let mut reached = vec![[0.0_f64; 2]; tree.n_nodes()];
        for (row, &label) in train.features.rows().into_iter().zip(labels) {
            reached[tree.leaf(row.to_slice().expect("contiguous"))][label] += 1.0;
        }
        for (leaf, counts) in reached.iter().enumerate().filter(|(_, c)| c[0] + c[1] > 0.0) {
            let fraction = counts[1] / (counts[0] + counts[1]);
            assert!((tree.node_values(leaf)[1] - fraction).abs() < 1e-12, "leaf {leaf}");
        }
    }

    #[test]
    fn random_forest_is_deterministic_for_a_seed() {
        let (train, test) = wine_binary();
        let a = fit(&small_forest(), &train).expect("fits");
        let b = fit(&small_forest(), &train).expect("fits");
        assert_eq!(a, b);
        let TrainParams::RandomForest(p) = small_forest().into_params() else { panic!("a forest") };
        let c = fit(&checked(TrainParams::RandomForest(RandomForestParams { seed: 7, ..p })), &train).expect("fits");
        assert_ne!(a, c, "another seed draws other samples");
        assert!(validation_metrics(&a, &test)["auc"] > 0.8);
    }

    /// A tree's nodes from its serialized arrays: `(feature, threshold, left, right)` of the
    /// splits, `None` for leaves.
    fn tree_nodes(tree: &Tree) -> Vec<Option<(usize, f64, usize, usize)>> {
        let v = serde_json::to_value(tree).expect("serializes");
        let column = |name: &str| v[name].as_array().expect("an array").clone();
        let (feature, threshold, left, right) =
            (column("feature"), column("threshold"), column("left"), column("right"));
        (0..feature.len())
            .map(|i| {
                let index = |a: &[serde_json::Value]| usize::try_from(a[i].as_u64().expect("an index")).expect("fits");
                let l = index(&left);
                (l != 0).then(|| (index(&feature), threshold[i].as_f64().expect("a number"), l, index(&right)))
            })
            .collect()
    }

    /// The rows of the scikit-learn fixture below: 60 rows × 3 features from integer formulas.
    fn sklearn_fixture(classes: usize) -> TrainingData {
        let x = Array2::from_shape_fn((60, 3), |(i, j)| {
            let i = i as u32;
            match j {
                0 => f64::from(i * 7 % 11) - 5.0,
                1 => f64::from(i * 13 % 17) * 0.5,
                _ => f64::from(i * 5 % 9) * 10.0 + 3.0,
            }
        });
        let labels: Array1<usize> =
            (0..60_usize).map(|i| if classes == 2 { usize::from(i * 5 % 7 < 3) } else { (i * 4 % 9) / 3 }).collect();
        TrainingData { features: x, targets: Targets::Classes { labels, n_classes: classes } }
    }

    /// Coefficients (original scale) from scikit-learn 1.9.1, `target/bench-venv/bin/python`:
    ///
    /// ```text
    /// import numpy as np
    /// from sklearn.linear_model import LogisticRegression
    /// from sklearn.preprocessing import StandardScaler
    /// i = np.arange(60)
    /// X = np.stack([(i * 7 % 11) - 5.0, (i * 13 % 17) * 0.5, (i * 5 % 9) * 10.0 + 3.0], axis=1)
    /// for y in (((i * 5 % 7) < 3).astype(int), (i * 4 % 9) // 3):
    ///     s = StandardScaler().fit(X)
    ///     m = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(s.transform(X), y)
    ///     w = m.coef_ / s.scale_
    ///     print(w.round(12).tolist(), (m.intercept_ - w @ s.mean_).round(12).tolist())
    /// ```
    #[test]
    fn logistic_coefficients_match_scikit_learn_lbfgs() {
        let expected: [(usize, Vec<Vec<f64>>, Vec<f64>); 2] = [
            (2, vec![vec![0.023688277337, -0.116211397957, 0.000538900964]], vec![0.155826711475]),
            (
                3,
                vec![
                    vec![0.01415876999, 0.015987595962, 0.015994452478],
                    vec![-0.018990209843, 0.031015811462, 0.019700509415],
                    vec![0.004831439853, -0.047003407425, -0.035694961894],
                ],
                vec![-0.627308312222, -0.878040133829, 1.505348446051],
            ),
        ];
        let params = checked(TrainParams::LogisticRegression(LogisticParams {
            max_iterations: 10_000,
            gradient_tolerance: 1e-12,
            ..LogisticParams::default()
        }));
        for (classes, weights, intercepts) in expected {
            let model = fit(&params, &sklearn_fixture(classes)).expect("fits");
            let FittedModel::Logistic { linear, .. } = &model else { panic!("logistic") };
            for (ours, theirs) in linear.weights.iter().flatten().zip(weights.iter().flatten()) {
                assert!((ours - theirs).abs() < 1e-7, "{classes} classes: {linear:?}");
            }
            for (ours, theirs) in linear.intercepts.iter().zip(&intercepts) {
                assert!((ours - theirs).abs() < 1e-7, "{classes} classes: {linear:?}");
            }
        }
    }

    #[test]
    fn a_tree_splits_at_the_midpoint_of_a_known_threshold() {
        // Class 1 exactly when x0 > 3.5 (x0 in 0, 0.5, …, 9.5); x1 is noise.
        let x = Array2::from_shape_fn((400, 2), |(i, j)| {
            if j == 0 { f64::from((i % 20) as u32) * 0.5 } else { f64::from((i * 7 % 13) as u32) }
        });
        let labels = x.column(0).mapv(|v| usize::from(v > 3.5));
        let data = TrainingData { features: x, targets: Targets::Classes { labels, n_classes: 2 } };
        let model = fit(&defaults(Algorithm::DecisionTree), &data).expect("fits");
        let FittedModel::DecisionTree { tree, .. } = &model else { panic!("a tree") };
        let nodes = tree_nodes(tree);
        assert_eq!(nodes, vec![Some((0, 3.75, 1, 2)), None, None], "one split separates the classes");
        assert_eq!((tree.node_values(1), tree.node_values(2)), (&[1.0, 0.0][..], &[0.0, 1.0][..]));
        assert_eq!(validation_metrics(&model, &data)["accuracy"], 1.0);
    }

    /// scikit-learn 1.9.1's tree (`target/bench-venv/bin/python`; the same for `random_state`
    /// 0..8, so no tie is broken differently), in preorder: split feature and threshold (or a
    /// leaf) and the class fractions of each node.
    ///
    /// ```text
    /// import numpy as np
    /// from sklearn.tree import DecisionTreeClassifier
    /// i = np.arange(300)
    /// X = np.stack([i * 7 % 23, i * 11 % 19, i * 13 % 29], axis=1).astype(float)
    /// y = ((X[:, 0] + 2 * X[:, 1]) // 20 + (X[:, 2] > 14)).astype(int) % 3
    /// t = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y).tree_
    /// def pre(n):
    ///     v = t.value[n][0] / t.value[n][0].sum()
    ///     if t.children_left[n] == -1: return [(None, v.round(12).tolist())]
    ///     return [((int(t.feature[n]), float(t.threshold[n])), v.round(12).tolist())] \
    ///         + pre(t.children_left[n]) + pre(t.children_right[n])
    /// print(pre(0))
    /// ```
    /// A node in preorder: its split (feature, threshold), if any, and its class fractions.
    /// The 300 × 3 integer rows of the scikit-learn tree fixtures.
    fn tree_fixture() -> Array2<f64> {
        Array2::from_shape_fn((300, 3), |(i, j)| {
            let i = i as u32;
            f64::from(match j {
                0 => i * 7 % 23,
                1 => i * 11 % 19,
                _ => i * 13 % 29,
            })
        })
    }

    /// The node indices of [`tree_nodes`] in preorder (left before right), as scikit-learn's
    /// fixtures list them.
    fn preorder(nodes: &[Option<(usize, f64, usize, usize)>]) -> Vec<usize> {
        let mut order = Vec::new();
        let mut stack = vec![0_usize];
        while let Some(i) = stack.pop() {
            order.push(i);
            if let Some((_, _, left, right)) = nodes[i] {
                stack.extend([right, left]);
            }
        }
        order
    }

    type PreorderNode = (Option<(usize, f64)>, [f64; 3]);

    #[test]
    fn a_tree_grows_as_scikit_learns() {
        let expected: [PreorderNode; 15] = [
            (Some((2, 14.5)), [0.236666666667, 0.356666666667, 0.406666666667]),
            (Some((1, 7.5)), [0.269230769231, 0.474358974359, 0.25641025641]),
            (Some((0, 12.5)), [0.615384615385, 0.384615384615, 0.0]),
            (None, [0.918918918919, 0.081081081081, 0.0]),
            (None, [0.214285714286, 0.785714285714, 0.0]),
            (Some((0, 11.5)), [0.021978021978, 0.538461538462, 0.43956043956]),
            (None, [0.041666666667, 0.791666666667, 0.166666666667]),
            (None, [0.0, 0.255813953488, 0.744186046512]),
            (Some((1, 5.5)), [0.201388888889, 0.229166666667, 0.569444444444]),
            (Some((0, 14.5)), [0.0, 0.630434782609, 0.369565217391]),
            (None, [0.0, 0.896551724138, 0.103448275862]),
            (None, [0.0, 0.176470588235, 0.823529411765]),
            (Some((1, 12.5)), [0.295918367347, 0.040816326531, 0.663265306122]),
            (None, [0.074074074074, 0.074074074074, 0.851851851852]),
            (None, [0.568181818182, 0.0, 0.431818181818]),
        ];
        let x = tree_fixture();
        let labels: Array1<usize> = x
            .rows()
            .into_iter()
            .map(|r| (((r[0] + 2.0 * r[1]) / 20.0).floor() as usize + usize::from(r[2] > 14.0)) % 3)
            .collect();
        let data = TrainingData { features: x, targets: Targets::Classes { labels, n_classes: 3 } };
        let params = checked(TrainParams::DecisionTree(DecisionTreeParams {
            max_depth: 3,
            min_impurity_decrease: 1e-12,
            ..DecisionTreeParams::default()
        }));
        let FittedModel::DecisionTree { tree, .. } = fit(&params, &data).expect("fits") else { panic!("a tree") };
        let nodes = tree_nodes(&tree);
        let preorder = preorder(&nodes);
        assert_eq!(preorder.len(), expected.len(), "{nodes:?}");
        for (&i, (split, values)) in preorder.iter().zip(&expected) {
            assert_eq!(nodes[i].map(|(f, t, ..)| (f, t)), *split, "node {i}");
            for (ours, theirs) in tree.node_values(i).iter().zip(values) {
                assert!((ours - theirs).abs() < 1e-11, "node {i}: {:?} vs {values:?}", tree.node_values(i));
            }
        }
    }

    /// scikit-learn 1.9.1's `DecisionTreeRegressor(max_depth=3)` on the rows below, preorder:
    ///
    /// ```text
    /// i = np.arange(300)
    /// x = np.stack([(i*7)%23, (i*11)%19, (i*13)%29], axis=1).astype(float)
    /// y = x[:,0] + 2*x[:,1] + 10*(x[:,2] > 14) + ((i*37)%11)/10
    /// t = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x, y).tree_
    /// ```
    #[test]
    fn a_regression_tree_grows_as_scikit_learns() {
        let expected: [(Option<(usize, f64)>, f64); 15] = [
            (Some((1, 8.5)), 34.222333333333),
            (Some((0, 10.5)), 24.281690140845),
            (Some((2, 14.0)), 17.955882352941),
            (None, 13.251351351351),
            (None, 23.570967741935),
            (Some((2, 15.5)), 30.094594594595),
            (None, 25.018918918919),
            (None, 35.170270270270),
            (Some((0, 8.5)), 43.156329113924),
            (Some((1, 13.5)), 36.162903225806),
            (None, 31.112903225806),
            (None, 41.212903225806),
            (Some((1, 12.5)), 47.672916666667),
            (None, 41.757894736842),
            (None, 51.548275862069),
        ];
        let x = tree_fixture();
        let y: Array1<f64> = x
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, r)| r[0] + 2.0 * r[1] + if r[2] > 14.0 { 10.0 } else { 0.0 } + ((i * 37) % 11) as f64 / 10.0)
            .collect();
        let data = TrainingData { features: x, targets: Targets::Values(y) };
        let params = checked(TrainParams::DecisionTree(DecisionTreeParams {
            max_depth: 3,
            min_impurity_decrease: 1e-12,
            split_quality: SplitQuality::SquaredError,
            ..DecisionTreeParams::default()
        }));
        let model = fit(&params, &data).expect("fits");
        assert_eq!((model.classes(), model.n_outputs()), (None, 1));
        let FittedModel::RegressionTree { tree } = &model else { panic!("a regression tree: {model:?}") };
        let nodes = tree_nodes(tree);
        let preorder = preorder(&nodes);
        assert_eq!(preorder.len(), expected.len(), "{nodes:?}");
        for (&i, (split, value)) in preorder.iter().zip(&expected) {
            // scikit-learn's thresholds are midpoints between the node's own values (14.0 where
            // the node has no row with 14); ours between the feature's values (14.5): the node's
            // rows go the same way.
            match (nodes[i], split) {
                (Some((f, t, ..)), Some((ef, et))) => {
                    assert_eq!(f, *ef, "node {i}");
                    assert!((t - et).abs() <= 0.5, "node {i}: threshold {t} vs {et}");
                }
                (None, None) => {}
                (ours, theirs) => panic!("node {i}: {ours:?} vs {theirs:?}"),
            }
            assert!((tree.node_values(i)[0] - value).abs() < 1e-9, "node {i}: {:?} vs {value}", tree.node_values(i));
        }
        assert_predict_row_matches(&model, data.features.view());
    }

    #[test]
    fn regression_forests_learn_diabetes_and_follow_the_seed() {
        let ds = linfa_datasets::diabetes();
        let y = ds.as_single_targets().to_owned();
        let (train, test) = split(ds.records(), Targets::Values(y), 0.75, 3);
        let mut map = BTreeMap::new();
        for (key, value) in task_defaults(Algorithm::RandomForest, 0, &map.clone()) {
            map.insert(key.to_owned(), value);
        }
        map.insert("max_depth".to_owned(), "6".to_owned());
        let params = TrainParams::from_map(Algorithm::RandomForest, &map).expect("valid");
        let forest = fit(&params, &train).expect("fits");
        assert!(matches!(&forest, FittedModel::RegressionForest { trees } if trees.len() == 50));
        assert_eq!(fit(&params, &train).expect("fits"), forest, "the same seed, the same forest");
        let r2 = validation_metrics(&forest, &test)["r2"];
        // Linear regression reaches about 0.5 here; a forest of depth-6 trees is close to it.
        assert!(r2 > 0.35, "forest r2 {r2}");
        assert_predict_row_matches(&forest, test.features.view());
        let json = serde_json::to_string(&forest).expect("serializes");
        let back: FittedModel = serde_json::from_str(&json).expect("deserializes");
        back.check().expect("consistent");
        assert_eq!(
            back.predict(test.features.view()).expect("predict"),
            forest.predict(test.features.view()).expect("predict")
        );
        // A single tree of the same data, with the regression default.
        let tree_params = task_defaults(Algorithm::DecisionTree, 0, &BTreeMap::new());
        assert_eq!(tree_params, vec![("split_quality", "squared_error".to_owned())]);
        let tree = fit(
            &checked(TrainParams::DecisionTree(DecisionTreeParams {
                max_depth: 4,
                split_quality: SplitQuality::SquaredError,
                ..DecisionTreeParams::default()
            })),
            &train,
        )
        .expect("fits");
        let tree_r2 = validation_metrics(&tree, &test)["r2"];
        // One tree is noisier than the forest of them.
        assert!(tree_r2 > 0.1 && tree_r2 < r2, "tree r2 {tree_r2}, forest {r2}");
        // The task decides nothing for classification, or when the key is given.
        assert!(task_defaults(Algorithm::DecisionTree, 2, &BTreeMap::new()).is_empty());
        let given = BTreeMap::from([("split_quality".to_owned(), "gini".to_owned())]);
        assert!(task_defaults(Algorithm::DecisionTree, 0, &given).is_empty());
    }

    #[test]
    fn forest_trees_draw_features_per_split() {
        // Four features, each deciding a quarter of the label: a tree restricted to one feature
        // per tree would split on one feature only.
        let x = Array2::from_shape_fn((512, 4), |(i, j)| f64::from(((i >> (2 * j)) & 3) as u32));
        let labels: Array1<usize> = x.rows().into_iter().map(|r| usize::from(r.sum() >= 6.0)).collect();
        let data = TrainingData { features: x, targets: Targets::Classes { labels, n_classes: 2 } };
        let params = checked(TrainParams::RandomForest(RandomForestParams {
            num_trees: 3,
            max_depth: 6,
            feature_fraction: FeatureFraction::Fraction(0.25),
            ..RandomForestParams::default()
        }));
        let FittedModel::RandomForest { trees, .. } = fit(&params, &data).expect("fits") else { panic!("a forest") };
        for tree in &trees {
            let features: std::collections::BTreeSet<usize> =
                tree_nodes(tree).into_iter().flatten().map(|(feature, ..)| feature).collect();
            assert!(features.len() > 1, "one feature per split, several per tree: {features:?}");
        }
        // `sqrt` draws ⌊√features⌋.
        assert_eq!((FeatureFraction::Sqrt.count(49), FeatureFraction::Fraction(0.1).count(49)), (7, 5));
    }

    #[test]
    fn forests_do_not_depend_on_the_number_of_threads() {
        let (train, _) = wine_binary();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
        let single = pool.install(|| fit(&small_forest(), &train)).expect("fits");
        assert_eq!(single, fit(&small_forest(), &train).expect("fits"));
        let tree = pool.install(|| fit(&defaults(Algorithm::DecisionTree), &train)).expect("fits");
        assert_eq!(tree, fit(&defaults(Algorithm::DecisionTree), &train).expect("fits"));
    }

    #[test]
    fn learners_fit_and_predict_through_linfa_traits() {
        let (train, test) = iris();
        let Targets::Classes { labels, .. } = &train.targets else { panic!("classes") };
        for params in classifiers() {
            let dataset = DatasetBase::new(train.features.view(), labels.view());
            let model: FittedModel = Fit::fit(&params, &dataset).expect("fits");
            assert_eq!(model, fit(&params, &train).expect("fits"), "{}", params.algorithm());
            let own: Result<FittedModel> = match params.params() {
                TrainParams::LogisticRegression(p) => p.fit(&dataset),
                TrainParams::DecisionTree(p) => p.fit(&dataset),
                TrainParams::RandomForest(p) => p.fit(&dataset),
                TrainParams::GaussianNb(p) => p.fit(&dataset),
                other => panic!("not a tabular classifier: {other:?}"),
            };
            assert_eq!(own.expect("fits"), model);
            let predicted: Result<Prediction> = linfa::traits::Predict::predict(&model, test.features.view());
            assert_eq!(predicted.expect("predicts"), model.predict(test.features.view()).expect("predicts"));
        }
    }

    #[test]
    fn multiclass_forests_repeat_on_iris() {
        let (train, _) = iris();
        let first = fit(&small_forest(), &train).expect("fits");
        for _ in 0..5 {
            assert_eq!(fit(&small_forest(), &train).expect("fits"), first);
        }
    }

    #[test]
    fn gaussian_nb_export_matches_linfa() {
        use linfa_bayes::NaiveBayes;
        let (train, test) = iris();
        let model = fit(&defaults(Algorithm::GaussianNb), &train).expect("fits");
        let Targets::Classes { labels, .. } = &train.targets else { panic!("classes") };
        let linfa_model = linfa_bayes::GaussianNb::<f64, usize>::params()
            .fit(&DatasetBase::new(train.features.view(), labels.view()))
            .expect("linfa fits");
        let (expected, classes) = linfa_model.predict_proba(test.features.view());
        assert_eq!(classes, [&0, &1, &2]);
        let Prediction::Probabilities(ours) = model.predict(test.features.view()).expect("predict") else {
            panic!("probabilities")
        };
        for (a, b) in ours.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn linear_regression_learns_diabetes() {
        let ds = linfa_datasets::diabetes();
        let y = ds.as_single_targets().to_owned();
        let (train, test) = split(ds.records(), Targets::Values(y), 0.75, 3);
        let model = fit(&defaults(Algorithm::LinearRegression), &train).expect("fits");
        assert_eq!((model.classes(), model.n_features()), (None, 10));
        let metrics = validation_metrics(&model, &test);
        assert!(metrics["r2"] > 0.3, "{metrics:?}");
        assert!(metrics["rmse"] > 0.0 && metrics["mae"] <= metrics["rmse"], "{metrics:?}");
        assert_predict_row_matches(&model, test.features.view());
    }

    #[test]
    fn linear_regression_weighs_constant_columns_zero() {
        let ds = linfa_datasets::diabetes();
        let y = ds.as_single_targets().to_owned();
        let plain = fit(
            &defaults(Algorithm::LinearRegression),
            &TrainingData { features: ds.records().clone(), targets: Targets::Values(y.clone()) },
        )
        .expect("fits");
        // The same rows with an all-zero and a constant column in front.
        let n = ds.records().nrows();
        let mut padded = Array2::zeros((n, 12));
        padded.column_mut(1).fill(3.5);
        for j in 0..10 {
            padded.column_mut(j + 2).assign(&ds.records().column(j));
        }
        let data = TrainingData { features: padded, targets: Targets::Values(y) };
        let model = fit(&defaults(Algorithm::LinearRegression), &data).expect("constant columns do not stop the fit");
        let (FittedModel::Linear { linear: a }, FittedModel::Linear { linear: b }) = (&plain, &model) else {
            panic!("linear models")
        };
        assert_eq!(&b.weights[0][..2], &[0.0, 0.0]);
        for (x, y) in a.weights[0].iter().zip(&b.weights[0][2..]) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
        assert!((a.intercepts[0] - b.intercepts[0]).abs() < 1e-6);
    }

    #[test]
    fn exported_models_round_trip_through_json_and_predict_identically() {
        let (train, test) = iris();
        for params in classifiers() {
            let model = fit(&params, &train).expect("fits");
            let json = serde_json::to_string(&model).expect("serializes");
            let back: FittedModel = serde_json::from_str(&json).expect("deserializes");
            back.check().expect("consistent");
            assert_eq!(
                back.predict(test.features.view()).expect("predict"),
                model.predict(test.features.view()).expect("predict"),
                "{}",
                params.algorithm()
            );
        }
    }

    #[test]
    fn wrong_tasks_and_degenerate_data_are_unsupported_with_a_reason() {
        let features = array![[1.0], [2.0], [3.0]];
        let values = TrainingData { features: features.clone(), targets: Targets::Values(array![1.0, 2.0, 3.0]) };
        let classes = |labels: Array1<usize>, n_classes| TrainingData {
            features: features.clone(),
            targets: Targets::Classes { labels, n_classes },
        };
        let reason = |params: CheckedParams, data: &TrainingData| match fit(&params, data) {
            Err(Error::Unsupported { algorithm, reason }) => {
                assert_eq!(algorithm, params.algorithm().name());
                reason
            }
            other => panic!("expected Unsupported, got {other:?}"),
        };
        assert!(reason(defaults(Algorithm::GaussianNb), &values).contains("classification algorithm"));
        // Trees learn values with squared error, classes with gini or entropy.
        assert!(reason(defaults(Algorithm::DecisionTree), &values).contains("use split_quality=squared_error"));
        let squared = checked(TrainParams::DecisionTree(DecisionTreeParams {
            split_quality: SplitQuality::SquaredError,
            ..DecisionTreeParams::default()
        }));
        assert!(fit(&squared, &values).is_ok());
        assert!(reason(squared, &classes(array![0, 1, 0], 2)).contains("squared_error is a regression criterion"));
        assert!(
            reason(defaults(Algorithm::LinearRegression), &classes(array![0, 1, 0], 2))
                .contains("regression algorithm")
        );
        assert!(reason(defaults(Algorithm::LogisticRegression), &classes(array![1, 1, 1], 2)).contains("class 1"));
        assert!(
            reason(defaults(Algorithm::GaussianNb), &classes(array![0, 2, 0], 3))
                .contains("class 1 has no training rows")
        );
        let empty = TrainingData {
            features: Array2::zeros((0, 2)),
            targets: Targets::Classes { labels: Array1::zeros(0), n_classes: 2 },
        };
        assert!(reason(defaults(Algorithm::RandomForest), &empty).contains("no rows"));
        let nan = TrainingData {
            features: array![[1.0], [f64::NAN], [3.0]],
            targets: Targets::Values(array![1.0, 2.0, 3.0]),
        };
        assert!(reason(defaults(Algorithm::LinearRegression), &nan).contains("row 1, column 0"));
    }

    #[test]
    fn gaussian_nb_refuses_all_constant_features() {
        let data = TrainingData {
            features: array![[1.0], [1.0], [1.0], [1.0]],
            targets: Targets::Classes { labels: array![0, 1, 0, 1], n_classes: 2 },
        };
        let err = fit(&defaults(Algorithm::GaussianNb), &data).expect_err("no variance at all");
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    }

    fn write(contents: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents.as_bytes()).expect("write");
        file
    }

    #[test]
    fn channel_csv_reads_classes_and_values() {
        let file = write("1,0.5,2\n0.0,1e3,-4\n\n2, 7 ,8\n");
        let data = TrainingData::read_channel_csv(file.path(), Some(3)).expect("reads");
        assert_eq!(data.features, array![[0.5, 2.0], [1000.0, -4.0], [7.0, 8.0]]);
        assert_eq!(data.targets, Targets::Classes { labels: array![1, 0, 2], n_classes: 3 });
        let data = TrainingData::read_channel_csv(file.path(), None).expect("reads");
        assert_eq!(data.targets, Targets::Values(array![1.0, 0.0, 2.0]));
    }

    #[test]
    fn channel_csv_errors_name_file_line_and_column() {
        let cases = [
            ("0,1,2\n1,1,abc\n", Some(2), "line 2, column 3: \"abc\" is not a number"),
            ("0,1,2\n1,1\n", Some(2), "line 2: 2 columns, but line 1 has 3"),
            (
                "0,1,2\n0,1,2\n2,1,2\n",
                Some(2),
                "line 3, column 1: class \"2\" is not a class index (an integer in 0..2)",
            ),
            ("0,1,2\n0.5,1,2\n", Some(2), "line 2, column 1: class \"0.5\" is not a class index"),
            ("0,1,\n", None, "line 1, column 3: empty field"),
            ("0,inf,1\n", None, "line 1, column 2: \"inf\" is not a finite number"),
            ("7\n", None, "line 1: 1 column(s); a row needs the target and at least one feature"),
            ("", None, "the file holds no rows"),
        ];
        for (contents, n_classes, expected) in cases {
            let file = write(contents);
            let err = TrainingData::read_channel_csv(file.path(), n_classes).expect_err(contents);
            let Error::Container { path, message } = &err else { panic!("{err}") };
            assert_eq!(path, &file.path().display().to_string());
            assert!(message.starts_with(expected), "{contents:?}: {message}");
            assert!(err.to_string().contains(&path.clone()), "{err}");
        }
        let missing = TrainingData::read_channel_csv(Path::new("/nonexistent/train.csv"), None).expect_err("missing");
        assert!(err_mentions(&missing, "/nonexistent/train.csv"));
    }

    fn xgboost(pairs: &[(&str, &str)], classes: usize) -> CheckedParams {
        let mut given = map(pairs);
        for (key, value) in xgboost_task_defaults(classes, &given) {
            given.insert(key.to_owned(), value);
        }
        TrainParams::from_map(Algorithm::Xgboost, &given).expect("valid xgboost parameters")
    }

    #[test]
    fn xgboost_learns_classes_and_values_by_objective() {
        let (train, test) = iris();
        let model = fit(&xgboost(&[("num_round", "30")], 3), &train).expect("multi:softprob fits");
        assert!(matches!(&model, FittedModel::Boosted { model } if model.rounds() == 30 && model.trees().len() == 90));
        let metrics = validation_metrics(&model, &test);
        assert!(metrics["accuracy"] > 0.88 && metrics["auc"] > 0.95, "{metrics:?}");
        assert_predict_row_matches(&model, test.features.view());

        let (train, test) = wine_binary();
        let model = fit(&xgboost(&[("num_round", "50"), ("max_depth", "4")], 2), &train).expect("binary fits");
        let boosted = validation_metrics(&model, &test)["auc"];
        let tree = validation_metrics(&fit(&defaults(Algorithm::DecisionTree), &train).expect("fits"), &test)["auc"];
        assert!(boosted > tree && boosted > 0.85, "boosted {boosted}, one tree {tree}");
        let back: FittedModel = serde_json::from_str(&serde_json::to_string(&model).expect("json")).expect("reads");
        assert_eq!(back.predict(test.features.view()).expect("p"), model.predict(test.features.view()).expect("p"));

        let ds = linfa_datasets::diabetes();
        let (train, test) = split(ds.records(), Targets::Values(ds.as_single_targets().to_owned()), 0.75, 3);
        let model = fit(&xgboost(&[("num_round", "40"), ("eta", "0.1"), ("max_depth", "3")], 0), &train).expect("fits");
        assert_eq!(model.classes(), None);
        let metrics = validation_metrics(&model, &test);
        assert!(metrics["r2"] > 0.3, "{metrics:?}");
    }

    #[test]
    fn xgboost_sampling_follows_the_seed_only() {
        let (train, test) = wine_binary();
        let sampled = |seed: &str| {
            let params = xgboost(
                &[
                    ("num_round", "10"),
                    ("subsample", "0.7"),
                    ("colsample_bytree", "0.8"),
                    ("colsample_bynode", "0.7"),
                    ("seed", seed),
                ],
                2,
            );
            fit(&params, &train).expect("fits").predict(test.features.view()).expect("predicts")
        };
        assert_eq!(sampled("3"), sampled("3"));
        assert_ne!(sampled("3"), sampled("4"));
    }

    #[test]
    fn xgboost_learns_where_missing_values_go() {
        // Feature 0 is missing for most class-1 rows and present for every class-0 row; its
        // values carry no signal. Feature 1 is noise.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 600;
        let labels: Array1<usize> = (0..n).map(|i| i % 2).collect();
        let features = Array2::from_shape_fn((n, 2), |(i, j)| {
            if j == 0 && labels[i] == 1 && rng.gen_bool(0.8) { f64::NAN } else { rng.gen_range(0.0..1.0) }
        });
        let data = TrainingData { features, targets: Targets::Classes { labels, n_classes: 2 } };
        let model = fit(&xgboost(&[("num_round", "20"), ("max_depth", "2")], 2), &data).expect("fits with NaN");
        let mut out = [0.0; 2];
        model.predict_row(&[f64::NAN, 0.5], &mut out);
        assert!(out[1] > 0.8, "a missing feature 0 means class 1: {out:?}");
        model.predict_row(&[0.5, 0.5], &mut out);
        assert!(out[1] < 0.4, "a present feature 0 leans to class 0: {out:?}");
    }

    #[test]
    fn xgboost_stops_early_on_the_validation_rows() {
        let (train, test) = wine_binary();
        let params = xgboost(&[("num_round", "400"), ("eta", "0.5"), ("early_stopping_rounds", "5")], 2);
        let model = fit_validated(&params, &train, Some(&test)).expect("fits");
        let FittedModel::Boosted { model } = model else { panic!("boosted") };
        assert!(model.rounds() < 400, "stopped early at {}", model.rounds());
        let err = fit(&params, &train).expect_err("early stopping needs validation rows");
        assert!(err_mentions(&err, "early_stopping_rounds needs validation rows"), "{err}");
    }

    #[test]
    fn xgboost_regularisation_can_forbid_every_split() {
        let (train, test) = wine_binary();
        for pairs in [[("gamma", "1e9")], [("min_child_weight", "1e9")]] {
            let model = fit(&xgboost(&[pairs[0], ("num_round", "5")], 2), &train).expect("fits");
            let FittedModel::Boosted { model: boosted } = &model else { panic!("boosted") };
            assert!(boosted.trees().iter().all(|t| t.n_nodes() == 1), "{pairs:?}: only leaves");
            let Prediction::Probabilities(p) = model.predict(test.features.view()).expect("p") else { panic!() };
            assert!(p.column(1).iter().all(|v| *v == p[[0, 1]]), "{pairs:?}: one prediction for all");
        }
    }

    #[test]
    fn xgboost_refuses_objectives_and_metrics_that_do_not_fit_the_task() {
        let (iris_train, _) = iris();
        let (wine_train, _) = wine_binary();
        let refused = |pairs: &[(&str, &str)], data: &TrainingData| {
            let params = TrainParams::from_map(Algorithm::Xgboost, &map(pairs)).expect("parses");
            fit(&params, data).expect_err("refused").to_string()
        };
        let err = refused(&[("objective", "binary:logistic")], &iris_train);
        assert!(err.contains("objective") && err.contains("use multi:softprob with num_class=3"), "{err}");
        let err = refused(&[("objective", "multi:softprob"), ("num_class", "2")], &iris_train);
        assert!(err.contains("num_class") && err.contains("set num_class=3"), "{err}");
        let err = refused(&[("objective", "reg:squarederror")], &wine_train);
        assert!(err.contains("use binary:logistic"), "{err}");
        let err = refused(&[("objective", "multi:softprob"), ("num_class", "3"), ("eval_metric", "auc")], &iris_train);
        assert!(err.contains("eval_metric") && err.contains("mlogloss"), "{err}");
        let values = TrainingData { features: array![[1.0], [2.0]], targets: Targets::Values(array![1.0, 2.0]) };
        let err = refused(&[("objective", "binary:logistic")], &values);
        assert!(err.contains("use reg:squarederror"), "{err}");
        let err = TrainParams::from_map(Algorithm::Xgboost, &map(&[("max_bin", "300")])).expect_err("range");
        assert!(err_mentions(&err, "max_bin") && err_mentions(&err, "2..=256"), "{err}");
        let err =
            TrainParams::from_map(Algorithm::Xgboost, &map(&[("objective", "rank:pairwise")])).expect_err("unknown");
        assert!(err_mentions(&err, "binary:logistic, multi:softprob"), "{err}");
        let err = TrainParams::from_map(Algorithm::Xgboost, &map(&[("eta", "0")])).expect_err("range");
        assert!(err_mentions(&err, "eta") && err_mentions(&err, "(0, 1]"), "{err}");
    }

    #[test]
    fn xgboost_task_defaults_follow_the_task_and_the_given_objective() {
        let none = BTreeMap::new();
        assert_eq!(
            xgboost_task_defaults(2, &none),
            vec![("objective", "binary:logistic".into()), ("eval_metric", "auc".into())]
        );
        assert_eq!(
            xgboost_task_defaults(0, &none),
            vec![("objective", "reg:squarederror".into()), ("eval_metric", "rmse".into())]
        );
        assert_eq!(
            xgboost_task_defaults(4, &none),
            vec![("objective", "multi:softprob".into()), ("num_class", "4".into()), ("eval_metric", "mlogloss".into())]
        );
        let given = map(&[("objective", "multi:softprob"), ("eval_metric", "merror")]);
        assert_eq!(xgboost_task_defaults(2, &given), vec![("num_class", "2".into())]);
    }

    fn err_mentions(err: &Error, what: &str) -> bool {
        err.to_string().contains(what)
    }
}

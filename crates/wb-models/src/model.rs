//! Fitted models as stored in `model.tar.gz` and evaluated by the model server.
//!
//! Training uses linfa; the fitted parameters are then exported into the plain structures
//! below (coefficients, trees as node arrays, class statistics). They serialize to JSON that
//! stays readable, and prediction on one row ([`FittedModel::predict_row`]) allocates nothing.
//!
//! Architecture Invariant: a deserialized model is structurally valid. [`Tree`] and
//! [`GaussianNbModel`] check themselves when they are built or read (child indices, array
//! lengths, positive variances), and [`FittedModel::check`] verifies the remaining cross-field
//! consistency (class counts, feature counts), so prediction never indexes out of bounds on a
//! model that passed `check`.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::boosted::BoostedTrees;
use crate::error::{Error, Result};
use crate::image_classifier::{ImageModelSpec, ImageWeights};

/// What a model returns for a batch of encoded rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// Classification: one row per input row, one column per class (class index order), rows sum to 1.
    Probabilities(Array2<f64>),
    /// Regression: one value per input row.
    Values(Array1<f64>),
}

impl Prediction {
    /// Number of predicted rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        match self {
            Self::Probabilities(p) => p.nrows(),
            Self::Values(v) => v.len(),
        }
    }
}

/// A linear model over the encoded features: `scores = W·x + b`.
///
/// For classification with two classes `weights` has one row (the positive class, index 1) and
/// the probability is the logistic function of its score; with more classes there is one row
/// per class and the probabilities are the softmax of the scores. For regression there is one
/// row and the score is the prediction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// One weight row per score, each as long as the feature vector.
    pub weights: Vec<Vec<f64>>,
    /// One intercept per score.
    pub intercepts: Vec<f64>,
}

impl LinearModel {
    fn score(&self, k: usize, row: &[f64]) -> f64 {
        self.weights[k].iter().zip(row).fold(self.intercepts[k], |acc, (w, x)| acc + w * x)
    }

    fn class_probabilities(&self, row: &[f64], out: &mut [f64]) {
        if self.weights.len() == 1 {
            let p = sigmoid(self.score(0, row));
            out[0] = 1.0 - p;
            out[1] = p;
        } else {
            for (k, o) in out.iter_mut().enumerate() {
                *o = self.score(k, row);
            }
            softmax_in_place(out);
        }
    }

    /// Number of features (the length of the weight rows).
    fn n_features(&self) -> usize {
        self.weights.first().map_or(0, Vec::len)
    }

    fn check(&self, scores: usize) -> std::result::Result<(), String> {
        if self.weights.len() != scores || self.intercepts.len() != scores {
            return Err(format!(
                "linear model has {} weight rows and {} intercepts, expected {scores} of each",
                self.weights.len(),
                self.intercepts.len()
            ));
        }
        let width = self.n_features();
        if let Some(k) = self.weights.iter().position(|w| w.len() != width) {
            return Err(format!("weight row {k} has {} entries, row 0 has {width}", self.weights[k].len()));
        }
        Ok(())
    }
}

/// A binary decision tree as parallel node arrays (the layout scikit-learn's `tree_` uses).
///
/// Node 0 is the root. For an internal node `i`, rows with `x[feature[i]] <= threshold[i]` go
/// to `left[i]`, the others to `right[i]`; a missing value (NaN) goes left. A leaf has
/// `left[i] == right[i] == 0` (the root is never a child, so 0 cannot name a real child).
/// Every node carries the class fractions of the training rows that reached it, `values[i *
/// classes .. (i + 1) * classes]`; a prediction is the fractions of the leaf a row reaches. A
/// regression tree has one "class": each node carries the mean target of its training rows.
///
/// Invariants (checked by [`Tree::new`] and on deserialization): all arrays have one entry per
/// node (`values` has `classes` per node); children have larger indices than their parent (so
/// every walk ends); split features are below `features`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TreeRepr", into = "TreeRepr")]
pub struct Tree {
    repr: TreeRepr,
}

/// The serialized form of a [`Tree`], checked on the way in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TreeRepr {
    features: usize,
    classes: usize,
    feature: Vec<u32>,
    threshold: Vec<f64>,
    left: Vec<u32>,
    right: Vec<u32>,
    values: Vec<f64>,
}

impl TryFrom<TreeRepr> for Tree {
    type Error = String;

    fn try_from(repr: TreeRepr) -> std::result::Result<Self, String> {
        let n = repr.feature.len();
        if n == 0 {
            return Err("a tree needs at least one node".into());
        }
        if repr.classes == 0 {
            return Err("a tree needs at least one class".into());
        }
        if repr.threshold.len() != n || repr.left.len() != n || repr.right.len() != n {
            return Err(format!(
                "node arrays disagree in length: feature {n}, threshold {}, left {}, right {}",
                repr.threshold.len(),
                repr.left.len(),
                repr.right.len()
            ));
        }
        if repr.values.len() != n * repr.classes {
            return Err(format!(
                "values has {} entries, expected {n} nodes × {} classes",
                repr.values.len(),
                repr.classes
            ));
        }
        for i in 0..n {
            let (l, r) = (repr.left[i] as usize, repr.right[i] as usize);
            if l == 0 && r == 0 {
                continue;
            }
            if l <= i || r <= i || l >= n || r >= n {
                return Err(format!(
                    "node {i} has children {l} and {r}; children must follow their parent within {n} nodes"
                ));
            }
            if repr.feature[i] as usize >= repr.features {
                return Err(format!("node {i} splits on feature {} of {}", repr.feature[i], repr.features));
            }
        }
        Ok(Self { repr })
    }
}

impl From<Tree> for TreeRepr {
    fn from(tree: Tree) -> Self {
        tree.repr
    }
}

/// One node handed to [`Tree::new`].
#[derive(Clone, Debug, PartialEq)]
pub enum TreeNode {
    /// A split: `x[feature] <= threshold` (or NaN) goes to `left`, otherwise to `right`.
    Split {
        /// The feature index.
        feature: usize,
        /// The threshold.
        threshold: f64,
        /// Index of the left child (greater than this node's index).
        left: usize,
        /// Index of the right child (greater than this node's index).
        right: usize,
    },
    /// A leaf.
    Leaf,
}

impl Tree {
    /// Builds a tree from its nodes (node 0 is the root) and the class fractions of every node
    /// (`values.len() == nodes.len() * classes`).
    ///
    /// # Errors
    /// [`Error::Artifact`] when the arrays do not form a tree (see the invariants above).
    pub fn new(features: usize, classes: usize, nodes: &[TreeNode], values: Vec<f64>) -> Result<Self> {
        let mut repr = TreeRepr {
            features,
            classes,
            feature: Vec::with_capacity(nodes.len()),
            threshold: Vec::with_capacity(nodes.len()),
            left: Vec::with_capacity(nodes.len()),
            right: Vec::with_capacity(nodes.len()),
            values,
        };
        let index = |i: usize| {
            u32::try_from(i)
                .map_err(|_| Error::Artifact { what: "tree".into(), message: format!("index {i} exceeds u32") })
        };
        for node in nodes {
            match *node {
                TreeNode::Split { feature, threshold, left, right } => {
                    repr.feature.push(index(feature)?);
                    repr.threshold.push(threshold);
                    repr.left.push(index(left)?);
                    repr.right.push(index(right)?);
                }
                TreeNode::Leaf => {
                    repr.feature.push(0);
                    repr.threshold.push(0.0);
                    repr.left.push(0);
                    repr.right.push(0);
                }
            }
        }
        Self::try_from(repr).map_err(|message| Error::Artifact { what: "tree".into(), message })
    }

    /// Number of features the tree reads.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.repr.features
    }

    /// Number of classes of the leaf fractions (1 for a regression tree: the leaf's value).
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.repr.classes
    }

    /// Number of nodes.
    #[must_use]
    pub fn n_nodes(&self) -> usize {
        self.repr.feature.len()
    }

    /// Number of leaves.
    #[must_use]
    pub fn n_leaves(&self) -> usize {
        self.repr.left.iter().filter(|&&l| l == 0).count()
    }

    /// Depth (a single leaf has depth 0).
    #[must_use]
    pub fn depth(&self) -> usize {
        let mut depth = vec![0_usize; self.n_nodes()];
        let mut max = 0;
        for i in 0..self.n_nodes() {
            let (l, r) = (self.repr.left[i] as usize, self.repr.right[i] as usize);
            if l != 0 {
                depth[l] = depth[i] + 1;
                depth[r] = depth[i] + 1;
                max = max.max(depth[i] + 1);
            }
        }
        max
    }

    /// The class fractions of the training rows that reached `node` (panics if out of range).
    #[must_use]
    pub fn node_values(&self, node: usize) -> &[f64] {
        let c = self.repr.classes;
        &self.repr.values[node * c..(node + 1) * c]
    }

    /// The leaf a row reaches.
    #[must_use]
    pub fn leaf(&self, row: &[f64]) -> usize {
        let r = &self.repr;
        let mut node = 0_usize;
        loop {
            let left = r.left[node] as usize;
            if left == 0 {
                return node;
            }
            // `>` is false for NaN: missing values go left.
            node = if row[r.feature[node] as usize] > r.threshold[node] { r.right[node] as usize } else { left };
        }
    }
}

/// Gaussian naive Bayes: per class a prior and per feature a mean and a variance.
///
/// The log-likelihood of class `k` is `ln prior[k] - ½ Σⱼ (ln(2π var[k][j]) + (x[j] -
/// mean[k][j])² / var[k][j])`; the probabilities are its softmax. Variances include the
/// smoothing added at training and are positive (checked when built or read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GaussianNbRepr", into = "GaussianNbRepr")]
pub struct GaussianNbModel {
    repr: GaussianNbRepr,
    /// Per class: `ln prior - ½ Σⱼ ln(2π var)`.
    log_norm: Vec<f64>,
    /// Per class and feature: `1 / var`, row-major.
    inv_var: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct GaussianNbRepr {
    priors: Vec<f64>,
    means: Vec<Vec<f64>>,
    variances: Vec<Vec<f64>>,
}

impl TryFrom<GaussianNbRepr> for GaussianNbModel {
    type Error = String;

    fn try_from(repr: GaussianNbRepr) -> std::result::Result<Self, String> {
        let k = repr.priors.len();
        if k == 0 || repr.means.len() != k || repr.variances.len() != k {
            return Err(format!(
                "{k} priors, {} mean rows and {} variance rows: expected one of each per class (at least one)",
                repr.means.len(),
                repr.variances.len()
            ));
        }
        let width = repr.means[0].len();
        for c in 0..k {
            if repr.means[c].len() != width || repr.variances[c].len() != width {
                return Err(format!(
                    "class {c} has {} means and {} variances, expected {width}",
                    repr.means[c].len(),
                    repr.variances[c].len()
                ));
            }
            if !(repr.priors[c] > 0.0 && repr.priors[c] <= 1.0) {
                return Err(format!("class {c} has prior {}, expected a value in (0, 1]", repr.priors[c]));
            }
            if let Some(j) = repr.variances[c].iter().position(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(format!("class {c}, feature {j}: variance {} is not positive", repr.variances[c][j]));
            }
        }
        let log_norm = (0..k)
            .map(|c| {
                repr.priors[c].ln()
                    - 0.5 * repr.variances[c].iter().map(|v| (2.0 * std::f64::consts::PI * v).ln()).sum::<f64>()
            })
            .collect();
        let inv_var = repr.variances.iter().flatten().map(|v| 1.0 / v).collect();
        Ok(Self { repr, log_norm, inv_var })
    }
}

impl From<GaussianNbModel> for GaussianNbRepr {
    fn from(model: GaussianNbModel) -> Self {
        model.repr
    }
}

impl GaussianNbModel {
    /// Builds the model from per-class priors, means and variances (class index order).
    ///
    /// # Errors
    /// [`Error::Artifact`] when the shapes disagree, a prior is outside (0, 1] or a variance is
    /// not positive.
    pub fn new(priors: Vec<f64>, means: Vec<Vec<f64>>, variances: Vec<Vec<f64>>) -> Result<Self> {
        Self::try_from(GaussianNbRepr { priors, means, variances })
            .map_err(|message| Error::Artifact { what: "gaussian naive Bayes model".into(), message })
    }

    /// Class priors.
    #[must_use]
    pub fn priors(&self) -> &[f64] {
        &self.repr.priors
    }

    /// Per-class feature means.
    #[must_use]
    pub fn means(&self) -> &[Vec<f64>] {
        &self.repr.means
    }

    /// Per-class feature variances (smoothing included).
    #[must_use]
    pub fn variances(&self) -> &[Vec<f64>] {
        &self.repr.variances
    }

    /// Number of classes.
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.repr.priors.len()
    }

    /// Number of features.
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.repr.means[0].len()
    }

    fn class_probabilities(&self, row: &[f64], out: &mut [f64]) {
        let width = self.n_features();
        for (c, o) in out.iter_mut().enumerate() {
            let means = &self.repr.means[c];
            let inv = &self.inv_var[c * width..(c + 1) * width];
            let quad: f64 = row.iter().zip(means).zip(inv).map(|((x, m), iv)| (x - m) * (x - m) * iv).sum();
            *o = self.log_norm[c] - 0.5 * quad;
        }
        softmax_in_place(out);
    }
}

/// A fitted model of any algorithm the workbench trains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FittedModel {
    /// Logistic regression (binary or multinomial).
    Logistic {
        /// Number of classes.
        classes: usize,
        /// Coefficients.
        linear: LinearModel,
    },
    /// A classification tree.
    DecisionTree {
        /// Number of classes.
        classes: usize,
        /// The tree.
        tree: Tree,
    },
    /// A random forest: the average of its trees' class fractions.
    RandomForest {
        /// Number of classes.
        classes: usize,
        /// The trees (at least one).
        trees: Vec<Tree>,
    },
    /// A regression tree (`decision-tree` on a regression dataset): one value per node, the
    /// mean of its training rows.
    RegressionTree {
        /// The tree (one output).
        tree: Tree,
    },
    /// A regression forest (`random-forest` on a regression dataset): the average of its
    /// trees' values.
    RegressionForest {
        /// The trees (at least one, one output each).
        trees: Vec<Tree>,
    },
    /// Gaussian naive Bayes.
    GaussianNb {
        /// Number of classes.
        classes: usize,
        /// Priors, means, variances.
        model: GaussianNbModel,
    },
    /// Linear regression (least squares): one weight row, the score is the prediction.
    Linear {
        /// Coefficients.
        linear: LinearModel,
    },
    /// Gradient-boosted trees (`xgboost`, trained locally or read from XGBoost's JSON format):
    /// probabilities for `binary:logistic` and `multi:*`, values for `reg:squarederror`.
    Boosted {
        /// The trees, their groups, base margins and objective.
        model: BoostedTrees,
    },
    /// An image classifier (`image-classification`, `image-logistic`): the network's spec in
    /// `model.json`, its weights in `model.safetensors` (never in JSON; filled in when the
    /// artefact is read). It predicts images through
    /// [`ImageClassifier`](crate::image_classifier::ImageClassifier), not encoded rows.
    ImageClassifier {
        /// Number of classes.
        classes: usize,
        /// Architecture, image shape, normalisation and class names.
        spec: ImageModelSpec,
        /// The weights (from `model.safetensors`; empty straight after reading `model.json`).
        #[serde(skip)]
        weights: ImageWeights,
    },
}

impl FittedModel {
    /// Number of classes, or `None` for a regression model.
    #[must_use]
    pub fn classes(&self) -> Option<usize> {
        match self {
            Self::Logistic { classes, .. }
            | Self::DecisionTree { classes, .. }
            | Self::RandomForest { classes, .. }
            | Self::GaussianNb { classes, .. }
            | Self::ImageClassifier { classes, .. } => Some(*classes),
            Self::Boosted { model } => model.classes(),
            Self::Linear { .. } | Self::RegressionTree { .. } | Self::RegressionForest { .. } => None,
        }
    }

    /// Number of outputs per row: the classes, or 1 for regression.
    #[must_use]
    pub fn n_outputs(&self) -> usize {
        self.classes().unwrap_or(1)
    }

    /// Number of encoded features a row must have; for an image model, the values of one
    /// image (`channels × height × width`), which no tabular schema lists.
    #[must_use]
    pub fn n_features(&self) -> usize {
        match self {
            Self::ImageClassifier { spec, .. } => spec.image.len(),
            Self::Logistic { linear, .. } | Self::Linear { linear } => linear.n_features(),
            Self::DecisionTree { tree, .. } | Self::RegressionTree { tree } => tree.n_features(),
            Self::RandomForest { trees, .. } | Self::RegressionForest { trees } => {
                trees.first().map_or(0, Tree::n_features)
            }
            Self::GaussianNb { model, .. } => model.n_features(),
            Self::Boosted { model } => model.n_features(),
        }
    }

    /// Checks that the parts of the model agree (class counts, feature counts, weight shapes).
    /// Models built by [`crate::algorithm::fit`] always pass; run it on models read from
    /// elsewhere before predicting.
    ///
    /// # Errors
    /// [`Error::Artifact`] naming the disagreement.
    pub fn check(&self) -> Result<()> {
        self.check_inner().map_err(|message| Error::Artifact { what: "model.json".into(), message })
    }

    fn check_inner(&self) -> std::result::Result<(), String> {
        if let Some(classes) = self.classes()
            && classes < 2
        {
            return Err(format!("a classifier needs at least 2 classes, this one has {classes}"));
        }
        match self {
            Self::Logistic { classes, linear } => linear.check(if *classes == 2 { 1 } else { *classes }),
            Self::Linear { linear } => linear.check(1),
            Self::DecisionTree { classes, tree } => check_tree(tree, *classes, tree.n_features()),
            Self::RandomForest { classes, trees } => {
                let first = trees.first().ok_or("a random forest needs at least one tree")?;
                trees.iter().try_for_each(|t| check_tree(t, *classes, first.n_features()))
            }
            Self::RegressionTree { tree } => check_tree(tree, 1, tree.n_features()),
            Self::RegressionForest { trees } => {
                let first = trees.first().ok_or("a random forest needs at least one tree")?;
                trees.iter().try_for_each(|t| check_tree(t, 1, first.n_features()))
            }
            Self::GaussianNb { classes, model } => {
                if model.n_classes() == *classes {
                    Ok(())
                } else {
                    Err(format!("{classes} classes but {} class priors", model.n_classes()))
                }
            }
            // Built and read through its own checks (groups, base margins, features).
            Self::Boosted { .. } => Ok(()),
            Self::ImageClassifier { classes, spec, weights } => {
                if spec.classes.len() != *classes {
                    return Err(format!("{classes} classes but {} class names", spec.classes.len()));
                }
                Self::check_image(spec, weights)
            }
        }
    }

    /// Whether this is an image model (predicted through
    /// [`ImageClassifier`](crate::image_classifier::ImageClassifier)).
    #[must_use]
    pub const fn is_image(&self) -> bool {
        matches!(self, Self::ImageClassifier { .. })
    }

    /// Predicts one encoded row into `out` without allocating: class probabilities (class index
    /// order, summing to 1) for a classifier, the value for regression.
    ///
    /// A missing value (NaN) goes left in trees, the learned way in boosted trees; in linear models and naive Bayes it propagates
    /// into NaN outputs. An image model does not predict rows: it fills `out` with NaN (check
    /// [`is_image`](Self::is_image) first, or use [`predict`](Self::predict), which refuses).
    ///
    /// # Panics
    /// If `row.len() != self.n_features()` or `out.len() != self.n_outputs()`, or if the model
    /// fails [`check`](Self::check).
    pub fn predict_row(&self, row: &[f64], out: &mut [f64]) {
        assert_eq!(row.len(), self.n_features(), "row width must match the model's features");
        assert_eq!(out.len(), self.n_outputs(), "output width must match the model's outputs");
        match self {
            Self::Logistic { linear, .. } => linear.class_probabilities(row, out),
            Self::Linear { linear } => out[0] = linear.score(0, row),
            Self::DecisionTree { tree, .. } | Self::RegressionTree { tree } => {
                out.copy_from_slice(tree.node_values(tree.leaf(row)));
            }
            Self::RandomForest { trees, .. } | Self::RegressionForest { trees } => {
                out.fill(0.0);
                for tree in trees {
                    for (o, v) in out.iter_mut().zip(tree.node_values(tree.leaf(row))) {
                        *o += v;
                    }
                }
                let n = trees.len() as f64;
                for o in out.iter_mut() {
                    *o /= n;
                }
            }
            Self::GaussianNb { model, .. } => model.class_probabilities(row, out),
            Self::Boosted { model } => model.predict_row(row, out),
            Self::ImageClassifier { .. } => out.fill(f64::NAN),
        }
    }

    /// Predicts encoded rows (rows × features, in the schema's feature order).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for an image model (it predicts images: see
    /// [`ImageClassifier`](crate::image_classifier::ImageClassifier)), or when `x.ncols()` is
    /// not [`n_features`](Self::n_features).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Prediction> {
        if self.is_image() {
            return Err(Error::Unsupported {
                algorithm: "image classifier".into(),
                reason:
                    "an image model predicts images, not encoded rows; use wb_models::image_classifier::ImageClassifier"
                        .into(),
            });
        }
        if x.ncols() != self.n_features() {
            return Err(Error::Unsupported {
                algorithm: "model".into(),
                reason: format!("rows have {} features but the model takes {}", x.ncols(), self.n_features()),
            });
        }
        let outputs = self.n_outputs();
        let mut out = Array2::zeros((x.nrows(), outputs));
        let mut buffer = Vec::new();
        for (view, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
            let row = row_slice(&view, &mut buffer);
            let o = o.as_slice_mut().expect("rows of a standard-layout array are contiguous");
            self.predict_row(row, o);
        }
        Ok(match self.classes() {
            Some(_) => Prediction::Probabilities(out),
            None => Prediction::Values(out.column(0).to_owned()),
        })
    }
}

fn check_tree(tree: &Tree, classes: usize, features: usize) -> std::result::Result<(), String> {
    if tree.n_classes() != classes {
        return Err(format!("a tree has {} classes, the model {classes}", tree.n_classes()));
    }
    if tree.n_features() != features {
        return Err(format!("a tree reads {} features, the model {features}", tree.n_features()));
    }
    Ok(())
}

/// The row as a slice: borrowed when it is contiguous, else copied into `buffer`.
pub(crate) fn row_slice<'b>(row: &'b ArrayView1<'_, f64>, buffer: &'b mut Vec<f64>) -> &'b [f64] {
    if let Some(slice) = row.to_slice() {
        slice
    } else {
        buffer.clear();
        buffer.extend(row.iter().copied());
        &buffer[..]
    }
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

pub(crate) fn softmax_in_place(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn binary_logistic_rows_sum_to_one_and_follow_the_score() {
        let model = FittedModel::Logistic {
            classes: 2,
            linear: LinearModel { weights: vec![vec![2.0, -1.0]], intercepts: vec![0.5] },
        };
        let Prediction::Probabilities(p) =
            model.predict(array![[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]].view()).expect("predict")
        else {
            panic!("a classifier predicts probabilities");
        };
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert!((p[[0, 1]] - sigmoid(0.5)).abs() < 1e-12);
        assert!(p[[1, 1]] > p[[0, 1]] && p[[2, 1]] < p[[0, 1]]);
    }

    #[test]
    fn softmax_is_stable_for_large_scores() {
        let mut v = [1000.0, 1001.0, 999.0];
        softmax_in_place(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(v[1] > v[0] && v[0] > v[2]);
    }

    /// x0 <= 1 → leaf 1 (class 0); else x1 <= 5 → leaf 3 (class 1), else leaf 4 (mixed).
    fn small_tree() -> Tree {
        let nodes = [
            TreeNode::Split { feature: 0, threshold: 1.0, left: 1, right: 2 },
            TreeNode::Leaf,
            TreeNode::Split { feature: 1, threshold: 5.0, left: 3, right: 4 },
            TreeNode::Leaf,
            TreeNode::Leaf,
        ];
        let values = vec![0.5, 0.5, 1.0, 0.0, 0.2, 0.8, 0.0, 1.0, 0.25, 0.75];
        Tree::new(2, 2, &nodes, values).expect("a valid tree")
    }

    #[test]
    fn trees_route_rows_and_send_nan_left() {
        let tree = small_tree();
        assert_eq!((tree.n_nodes(), tree.n_leaves(), tree.depth()), (5, 3, 2));
        assert_eq!(tree.leaf(&[0.0, 100.0]), 1);
        assert_eq!(tree.leaf(&[1.0, 100.0]), 1, "equal to the threshold goes left");
        assert_eq!(tree.leaf(&[2.0, 5.0]), 3);
        assert_eq!(tree.leaf(&[2.0, 6.0]), 4);
        assert_eq!(tree.leaf(&[f64::NAN, 6.0]), 1);
        assert_eq!(tree.leaf(&[2.0, f64::NAN]), 3);
        let model = FittedModel::DecisionTree { classes: 2, tree };
        model.check().expect("consistent");
        let mut out = [0.0; 2];
        model.predict_row(&[3.0, 9.0], &mut out);
        assert_eq!(out, [0.25, 0.75]);
    }

    #[test]
    fn malformed_trees_are_refused_when_built_and_read() {
        let cycle = [TreeNode::Split { feature: 0, threshold: 0.0, left: 0, right: 1 }, TreeNode::Leaf];
        let err = Tree::new(1, 2, &cycle, vec![0.5; 4]).expect_err("a child pointing back is refused");
        assert!(err.to_string().contains("children must follow"), "{err}");
        let leaf = [TreeNode::Leaf];
        assert!(Tree::new(1, 2, &leaf, vec![1.0]).is_err(), "values must have one entry per class");
        let bad_feature =
            [TreeNode::Split { feature: 3, threshold: 0.0, left: 1, right: 2 }, TreeNode::Leaf, TreeNode::Leaf];
        assert!(Tree::new(2, 2, &bad_feature, vec![0.5; 6]).is_err());

        let json = r#"{"kind":"decision-tree","classes":2,"tree":{"features":1,"classes":2,
            "feature":[0,0],"threshold":[0.0,0.0],"left":[1,0],"right":[7,0],"values":[0.5,0.5,1.0,0.0]}}"#;
        let err = serde_json::from_str::<FittedModel>(json).expect_err("a child out of range is refused");
        assert!(err.to_string().contains("children must follow"), "{err}");
    }

    #[test]
    fn forest_averages_its_trees() {
        let leaf_only = Tree::new(2, 2, &[TreeNode::Leaf], vec![1.0, 0.0]).expect("a leaf");
        let model = FittedModel::RandomForest { classes: 2, trees: vec![small_tree(), leaf_only] };
        model.check().expect("consistent");
        let mut out = [0.0; 2];
        model.predict_row(&[3.0, 9.0], &mut out);
        assert!((out[0] - 0.625).abs() < 1e-12 && (out[1] - 0.375).abs() < 1e-12, "{out:?}");
    }

    #[test]
    fn gaussian_nb_matches_the_closed_form() {
        let nb = GaussianNbModel::new(vec![0.25, 0.75], vec![vec![0.0], vec![2.0]], vec![vec![1.0], vec![4.0]])
            .expect("valid");
        let model = FittedModel::GaussianNb { classes: 2, model: nb };
        let mut out = [0.0; 2];
        model.predict_row(&[1.0], &mut out);
        let jll = |prior: f64, mean: f64, var: f64| {
            prior.ln() - 0.5 * (2.0 * std::f64::consts::PI * var).ln() - 0.5 * (1.0 - mean) * (1.0 - mean) / var
        };
        let (a, b) = (jll(0.25, 0.0, 1.0), jll(0.75, 2.0, 4.0));
        let p1 = b.exp() / (a.exp() + b.exp());
        assert!((out[1] - p1).abs() < 1e-12, "{out:?} vs {p1}");
        assert!(GaussianNbModel::new(vec![1.0], vec![vec![0.0]], vec![vec![0.0]]).is_err(), "zero variance");
    }

    #[test]
    fn every_kind_round_trips_through_json() {
        let models = [
            FittedModel::Logistic {
                classes: 3,
                linear: LinearModel {
                    weights: vec![vec![1.0], vec![0.5], vec![-1.0]],
                    intercepts: vec![0.0, 0.1, 0.2],
                },
            },
            FittedModel::DecisionTree { classes: 2, tree: small_tree() },
            FittedModel::RandomForest { classes: 2, trees: vec![small_tree(), small_tree()] },
            FittedModel::GaussianNb {
                classes: 2,
                model: GaussianNbModel::new(
                    vec![0.5, 0.5],
                    vec![vec![0.0, 1.0], vec![1.0, 0.0]],
                    vec![vec![1.0, 2.0], vec![3.0, 4.0]],
                )
                .expect("valid"),
            },
            FittedModel::Linear { linear: LinearModel { weights: vec![vec![1.5, -2.0]], intercepts: vec![3.0] } },
        ];
        for model in models {
            let json = serde_json::to_string(&model).expect("serializes");
            let back: FittedModel = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, model, "{json}");
            back.check().expect("consistent");
        }
    }

    #[test]
    fn regression_predicts_values_and_nan_propagates() {
        let model =
            FittedModel::Linear { linear: LinearModel { weights: vec![vec![1.5, -2.0]], intercepts: vec![3.0] } };
        assert_eq!(model.classes(), None);
        assert_eq!((model.n_features(), model.n_outputs()), (2, 1));
        let Prediction::Values(v) = model.predict(array![[2.0, 1.0], [f64::NAN, 0.0]].view()).expect("predict") else {
            panic!("regression predicts values");
        };
        assert!((v[0] - 4.0).abs() < 1e-12);
        assert!(v[1].is_nan());
    }

    #[test]
    fn predict_reads_non_contiguous_rows() {
        let model = FittedModel::DecisionTree { classes: 2, tree: small_tree() };
        let x = array![[3.0, 2.0], [9.0, 9.0]];
        let by_rows = model.predict(x.view()).expect("predict");
        let transposed = x.t().to_owned();
        assert_eq!(model.predict(transposed.t()).expect("predict"), by_rows);
    }

    #[test]
    fn check_finds_inconsistent_parts() {
        let model = FittedModel::Logistic {
            classes: 3,
            linear: LinearModel { weights: vec![vec![1.0]], intercepts: vec![0.0] },
        };
        assert!(model.check().is_err());
        let model = FittedModel::RandomForest { classes: 2, trees: Vec::new() };
        assert!(model.check().is_err());
    }
}

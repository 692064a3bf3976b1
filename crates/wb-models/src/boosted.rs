//! Gradient-boosted trees as XGBoost evaluates them: the model `xgboost` trains locally
//! ([`crate::algorithm`]) and the one XGBoost's own JSON format holds ([`BoostedTrees::from_xgboost_json`]).
//!
//! A row's margin for output group `g` is `base_margin[g]` plus the leaf value every tree of
//! group `g` routes the row to, summed in single precision in tree order; the objective turns
//! margins into predictions (the logistic function, the softmax, or the margin itself). Splits
//! compare the feature converted to `f32` with an `f32` threshold (`x < threshold` goes left) and
//! send a missing value (NaN) the way the split learned ([`BoostedTree`]'s `default_left`). All
//! of this is what XGBoost's CPU predictor does, so an imported model predicts what `xgboost`
//! predicts to single-precision rounding.
//!
//! ```
//! use wb_models::boosted::{BoostedTree, BoostedTrees, Objective};
//!
//! // One stump on feature 0: x < 0.5 → -1, else +1 (missing values go right).
//! let stump = BoostedTree::new(vec![1, -1, -1], vec![2, -1, -1], vec![0, 0, 0], vec![0.5, -1.0, 1.0], vec![false; 3])?;
//! let model = BoostedTrees::new(Objective::BinaryLogistic, 1, vec![0.0], vec![stump], vec![0])?;
//! let mut out = [0.0; 2];
//! model.predict_row(&[2.0], &mut out);
//! assert!((out[1] - 1.0 / (1.0 + (-1.0_f64).exp())).abs() < 1e-6);
//! model.predict_row(&[f64::NAN], &mut out);
//! assert!(out[1] > 0.5);
//! # Ok::<(), wb_models::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod xgboost_json;

/// What a boosted model learns and how margins become predictions (XGBoost's names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Objective {
    /// `binary:logistic`: two classes; the probability of class 1 is the logistic function of
    /// the margin.
    #[serde(rename = "binary:logistic")]
    BinaryLogistic,
    /// `multi:softprob`: `num_class` classes, one tree per class and round; probabilities are
    /// the softmax of the margins.
    #[serde(rename = "multi:softprob")]
    MultiSoftprob,
    /// `multi:softmax`: trained as `multi:softprob`; XGBoost itself answers the arg-max class,
    /// the workbench answers the probabilities (from which the class follows).
    #[serde(rename = "multi:softmax")]
    MultiSoftmax,
    /// `reg:squarederror`: regression; the prediction is the margin.
    #[default]
    #[serde(rename = "reg:squarederror")]
    RegSquaredError,
}

impl Objective {
    /// Every objective, in documentation order.
    pub const ALL: [Self; 4] = [Self::BinaryLogistic, Self::MultiSoftprob, Self::MultiSoftmax, Self::RegSquaredError];

    /// XGBoost's name (`binary:logistic`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::BinaryLogistic => "binary:logistic",
            Self::MultiSoftprob => "multi:softprob",
            Self::MultiSoftmax => "multi:softmax",
            Self::RegSquaredError => "reg:squarederror",
        }
    }

    /// Parses XGBoost's name; `reg:linear` is the old name of `reg:squarederror`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        if name == "reg:linear" {
            return Some(Self::RegSquaredError);
        }
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Whether the objective classifies.
    #[must_use]
    pub const fn is_classification(self) -> bool {
        !matches!(self, Self::RegSquaredError)
    }

    /// Whether the objective grows one tree per class and round.
    #[must_use]
    pub const fn is_multiclass(self) -> bool {
        matches!(self, Self::MultiSoftprob | Self::MultiSoftmax)
    }

    /// The margin a prediction of `base_score` means (XGBoost's `ProbToMargin`): the logit for
    /// `binary:logistic`, the value itself otherwise. `None` when `base_score` is outside
    /// `(0, 1)` for `binary:logistic`.
    #[must_use]
    pub fn base_margin(self, base_score: f64) -> Option<f64> {
        match self {
            Self::BinaryLogistic => (base_score > 0.0 && base_score < 1.0).then(|| -(1.0 / base_score - 1.0).ln()),
            _ => Some(base_score),
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One regression tree of a boosted model, in XGBoost's node arrays.
///
/// Node `i` is a leaf when `left[i] == -1` (then `right[i] == -1` and `value[i]` is its leaf
/// value); otherwise a row goes to `left[i]` when `x[feature[i]] < value[i]` (compared in
/// `f32`), to `right[i]` when not, and to `left[i]` or `right[i]` by `default_left[i]` when
/// the value is missing. The nodes reachable from the root form a tree (checked), so every
/// walk ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoostedTreeRepr", into = "BoostedTreeRepr")]
pub struct BoostedTree {
    repr: BoostedTreeRepr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BoostedTreeRepr {
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<u32>,
    /// Thresholds of splits, leaf values of leaves.
    value: Vec<f32>,
    default_left: Vec<bool>,
}

impl TryFrom<BoostedTreeRepr> for BoostedTree {
    type Error = String;

    fn try_from(repr: BoostedTreeRepr) -> std::result::Result<Self, String> {
        let n = repr.left.len();
        if n == 0 {
            return Err("a tree needs at least one node".into());
        }
        if [repr.right.len(), repr.feature.len(), repr.value.len(), repr.default_left.len()].iter().any(|&l| l != n) {
            return Err(format!(
                "node arrays disagree in length: left {n}, right {}, feature {}, value {}, default_left {}",
                repr.right.len(),
                repr.feature.len(),
                repr.value.len(),
                repr.default_left.len()
            ));
        }
        // Walk from the root: every reachable node is visited once (no cycles, no shared
        // children), children are in range, leaves have finite values. Unreachable nodes
        // (XGBoost keeps pruned ones) are never read.
        let mut seen = vec![false; n];
        let mut stack = vec![0_usize];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                return Err(format!("node {i} is reached twice: the nodes do not form a tree"));
            }
            let (l, r) = (repr.left[i], repr.right[i]);
            if l == -1 && r == -1 {
                if !repr.value[i].is_finite() {
                    return Err(format!("leaf {i} has the value {}", repr.value[i]));
                }
                continue;
            }
            let child = |c: i32| usize::try_from(c).ok().filter(|&c| c < n && c != 0);
            let (Some(l), Some(r)) = (child(l), child(r)) else {
                return Err(format!("node {i} has children {l} and {r}; expected node indices in 1..{n}"));
            };
            if repr.value[i].is_nan() {
                return Err(format!("node {i} splits at NaN"));
            }
            stack.push(l);
            stack.push(r);
        }
        Ok(Self { repr })
    }
}

impl From<BoostedTree> for BoostedTreeRepr {
    fn from(tree: BoostedTree) -> Self {
        tree.repr
    }
}

impl BoostedTree {
    /// A tree from XGBoost's node arrays (see the type's documentation): `left` and `right`
    /// children (`-1` for a leaf), the split `feature`, the split threshold or leaf `value`,
    /// and where a missing value goes (`default_left`).
    ///
    /// # Errors
    /// [`Error::Artifact`] when the arrays differ in length, the nodes do not form a tree, a
    /// leaf value is not finite or a threshold is NaN.
    pub fn new(
        left: Vec<i32>,
        right: Vec<i32>,
        feature: Vec<u32>,
        value: Vec<f32>,
        default_left: Vec<bool>,
    ) -> Result<Self> {
        Self::try_from(BoostedTreeRepr { left, right, feature, value, default_left })
            .map_err(|message| Error::Artifact { what: "boosted tree".into(), message })
    }

    /// Number of nodes.
    #[must_use]
    pub fn n_nodes(&self) -> usize {
        self.repr.left.len()
    }

    /// Number of leaves.
    #[must_use]
    pub fn n_leaves(&self) -> usize {
        self.repr.left.iter().filter(|&&l| l < 0).count()
    }

    /// The largest feature index a split reads, if any node splits.
    #[must_use]
    pub fn max_feature(&self) -> Option<usize> {
        // Only nodes reachable from the root count (XGBoost keeps pruned ones in its arrays).
        let r = &self.repr;
        let mut max = None;
        let mut stack = vec![0_usize];
        while let Some(i) = stack.pop() {
            if let (Ok(l), Ok(right)) = (usize::try_from(r.left[i]), usize::try_from(r.right[i])) {
                max = max.max(Some(r.feature[i] as usize));
                stack.extend([l, right]);
            }
        }
        max
    }

    /// The leaf value a row reaches.
    #[must_use]
    pub fn leaf_value(&self, row: &[f64]) -> f32 {
        let r = &self.repr;
        let mut node = 0_usize;
        loop {
            let left = r.left[node];
            if left < 0 {
                return r.value[node];
            }
            // XGBoost compares features in single precision.
            let x = row[r.feature[node] as usize] as f32;
            let go_left = if x.is_nan() { r.default_left[node] } else { x < r.value[node] };
            // Children were checked to be valid indices when the tree was built.
            node = if go_left { left as usize } else { r.right[node] as usize };
        }
    }
}

/// A boosted model: trees, the output group of each, base margins and the objective.
///
/// Invariants (checked by [`BoostedTrees::new`] and on deserialization): one group per tree,
/// each below the number of groups (the classes for `multi:*`, else 1); one base margin per
/// group; split features below `features`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoostedRepr", into = "BoostedRepr")]
pub struct BoostedTrees {
    repr: BoostedRepr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BoostedRepr {
    objective: Objective,
    features: usize,
    /// Margin outputs per row: the classes of `multi:*`, else 1.
    groups: usize,
    base_margin: Vec<f32>,
    tree_group: Vec<u32>,
    trees: Vec<BoostedTree>,
}

impl TryFrom<BoostedRepr> for BoostedTrees {
    type Error = String;

    fn try_from(repr: BoostedRepr) -> std::result::Result<Self, String> {
        let expected_groups = if repr.objective.is_multiclass() { repr.groups.max(2) } else { 1 };
        if repr.groups != expected_groups {
            return Err(format!(
                "{} needs {expected_groups} output group(s), the model has {}",
                repr.objective, repr.groups
            ));
        }
        if repr.features == 0 {
            return Err("a boosted model needs at least one feature".into());
        }
        if repr.base_margin.len() != repr.groups || repr.base_margin.iter().any(|m| !m.is_finite()) {
            return Err(format!(
                "{} base margin(s) {:?}, expected {} finite",
                repr.base_margin.len(),
                repr.base_margin,
                repr.groups
            ));
        }
        if repr.tree_group.len() != repr.trees.len() {
            return Err(format!("{} trees but {} tree groups", repr.trees.len(), repr.tree_group.len()));
        }
        if let Some((t, g)) = repr.tree_group.iter().enumerate().find(|(_, g)| **g as usize >= repr.groups) {
            return Err(format!("tree {t} belongs to group {g} of {}", repr.groups));
        }
        for (t, tree) in repr.trees.iter().enumerate() {
            if let Some(f) = tree.max_feature()
                && f >= repr.features
            {
                return Err(format!("tree {t} splits on feature {f}, but the model has {} features", repr.features));
            }
        }
        Ok(Self { repr })
    }
}

impl From<BoostedTrees> for BoostedRepr {
    fn from(model: BoostedTrees) -> Self {
        model.repr
    }
}

impl BoostedTrees {
    /// A model of `objective` over `features` encoded features: base margins (one per output
    /// group: the classes of `multi:*`, else one), trees and the group of each.
    ///
    /// # Errors
    /// [`Error::Artifact`] when the parts disagree (see the invariants above).
    pub fn new(
        objective: Objective,
        features: usize,
        base_margin: Vec<f32>,
        trees: Vec<BoostedTree>,
        tree_group: Vec<u32>,
    ) -> Result<Self> {
        let groups = base_margin.len();
        Self::try_from(BoostedRepr { objective, features, groups, base_margin, tree_group, trees })
            .map_err(|message| Error::Artifact { what: "boosted model".into(), message })
    }

    /// The objective.
    #[must_use]
    pub const fn objective(&self) -> Objective {
        self.repr.objective
    }

    /// Number of encoded features a row must have.
    #[must_use]
    pub const fn n_features(&self) -> usize {
        self.repr.features
    }

    /// Number of classes (two for `binary:logistic`), or `None` for regression.
    #[must_use]
    pub const fn classes(&self) -> Option<usize> {
        match self.repr.objective {
            Objective::BinaryLogistic => Some(2),
            Objective::MultiSoftprob | Objective::MultiSoftmax => Some(self.repr.groups),
            Objective::RegSquaredError => None,
        }
    }

    /// The trees, in boosting order.
    #[must_use]
    pub fn trees(&self) -> &[BoostedTree] {
        &self.repr.trees
    }

    /// Number of boosting rounds (trees per group).
    #[must_use]
    pub fn rounds(&self) -> usize {
        self.repr.trees.len() / self.repr.groups
    }

    /// The margins of one row, one per group, summed as XGBoost sums them (`f32`, tree order).
    fn margins(&self, row: &[f64], margins: &mut [f32]) {
        margins.copy_from_slice(&self.repr.base_margin);
        for (tree, &group) in self.repr.trees.iter().zip(&self.repr.tree_group) {
            margins[group as usize] += tree.leaf_value(row);
        }
    }

    /// Predicts one encoded row into `out`: class probabilities (two for `binary:logistic`, one
    /// per class for `multi:*`) or the regression value. Allocates nothing for up to 64 groups.
    ///
    /// # Panics
    /// If `row` is narrower than [`n_features`](Self::n_features) or `out` is not one value per
    /// class (one for regression).
    pub fn predict_row(&self, row: &[f64], out: &mut [f64]) {
        assert!(row.len() >= self.n_features(), "the row must hold every feature");
        let groups = self.repr.groups;
        let mut stack = [0.0_f32; 64];
        let mut heap = Vec::new();
        let margins: &mut [f32] = if groups <= stack.len() {
            &mut stack[..groups]
        } else {
            heap.resize(groups, 0.0);
            &mut heap
        };
        self.margins(row, margins);
        match self.repr.objective {
            Objective::BinaryLogistic => {
                let p = sigmoid_f32(margins[0]);
                out[1] = f64::from(p);
                out[0] = f64::from(1.0 - p);
            }
            Objective::MultiSoftprob | Objective::MultiSoftmax => {
                softmax_f32(margins);
                for (o, m) in out.iter_mut().zip(margins.iter()) {
                    *o = f64::from(*m);
                }
            }
            Objective::RegSquaredError => out[0] = f64::from(margins[0]),
        }
    }
}

/// XGBoost's `common::Sigmoid` in single precision.
pub(crate) fn sigmoid_f32(x: f32) -> f32 {
    1.0 / ((-x).min(88.7).exp() + 1.0)
}

/// XGBoost's `common::Softmax` in single precision (shifted by the largest margin).
pub(crate) fn softmax_f32(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0_f32;
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
    use super::*;

    fn stump(feature: u32, threshold: f32, low: f32, high: f32, default_left: bool) -> BoostedTree {
        BoostedTree::new(
            vec![1, -1, -1],
            vec![2, -1, -1],
            vec![feature, 0, 0],
            vec![threshold, low, high],
            vec![default_left, false, false],
        )
        .expect("a stump")
    }

    #[test]
    fn rows_follow_f32_comparisons_and_missing_values_their_learned_side() {
        let left_missing = stump(0, 0.5, -1.0, 1.0, true);
        assert_eq!(left_missing.leaf_value(&[0.4]), -1.0);
        assert_eq!(left_missing.leaf_value(&[0.5]), 1.0, "x < threshold goes left; equal goes right");
        assert_eq!(left_missing.leaf_value(&[f64::NAN]), -1.0);
        assert_eq!(stump(0, 0.5, -1.0, 1.0, false).leaf_value(&[f64::NAN]), 1.0);
        // 0.1 as f32 rounds up, so an f64 just below it compares equal in f32 and goes right.
        let at = stump(0, 0.1_f32, -1.0, 1.0, true);
        assert_eq!(at.leaf_value(&[0.1_f64 - 1e-12]), 1.0);
    }

    #[test]
    fn margins_sum_per_group_and_objectives_transform_them() {
        let trees =
            vec![stump(0, 0.0, -1.0, 1.0, true), stump(1, 0.0, -2.0, 2.0, true), stump(0, 0.0, 0.5, 0.25, true)];
        let multi = BoostedTrees::new(Objective::MultiSoftprob, 2, vec![0.5; 3], trees.clone(), vec![0, 1, 2])
            .expect("three classes");
        let mut out = [0.0; 3];
        multi.predict_row(&[1.0, -1.0], &mut out);
        let m = [1.5_f64, -1.5, 0.75];
        let z: f64 = m.iter().map(|v| v.exp()).sum();
        for (o, v) in out.iter().zip(m) {
            assert!((o - v.exp() / z).abs() < 1e-6, "{out:?}");
        }
        assert_eq!(multi.classes(), Some(3));
        assert_eq!(multi.rounds(), 1);

        let reg =
            BoostedTrees::new(Objective::RegSquaredError, 2, vec![10.0], trees, vec![0, 0, 0]).expect("regression");
        let mut value = [0.0];
        reg.predict_row(&[-1.0, 1.0], &mut value);
        assert!((value[0] - (10.0 - 1.0 + 2.0 + 0.5)).abs() < 1e-6);
        assert_eq!(reg.classes(), None);
    }

    #[test]
    fn malformed_models_are_refused() {
        let err = BoostedTree::new(vec![0, -1], vec![1, -1], vec![0, 0], vec![0.0, 1.0], vec![true, true])
            .expect_err("a node that is its own child");
        assert!(err.to_string().contains("expected node indices"), "{err}");
        let err = BoostedTree::new(vec![1, -1], vec![1, -1], vec![0, 0], vec![0.0, 1.0], vec![true; 2])
            .expect_err("a node reached twice");
        assert!(err.to_string().contains("reached twice"), "{err}");
        let err = BoostedTree::new(vec![-1], vec![-1], vec![0], vec![f32::NAN], vec![true]).expect_err("a NaN leaf");
        assert!(err.to_string().contains("leaf 0"), "{err}");
        let err =
            BoostedTrees::new(Objective::BinaryLogistic, 1, vec![0.0], vec![stump(3, 0.0, 0.0, 0.0, true)], vec![0])
                .expect_err("a feature beyond the model");
        assert!(err.to_string().contains("feature 3"), "{err}");
        let err =
            BoostedTrees::new(Objective::BinaryLogistic, 1, vec![0.0], vec![stump(0, 0.0, 0.0, 0.0, true)], vec![1])
                .expect_err("a group beyond the model");
        assert!(err.to_string().contains("group 1"), "{err}");
        let json = serde_json::to_string(
            &BoostedTrees::new(Objective::BinaryLogistic, 1, vec![0.0], vec![], vec![]).expect("empty"),
        )
        .expect("json");
        let tampered = json.replace("\"features\":1", "\"features\":0");
        assert!(serde_json::from_str::<BoostedTrees>(&tampered).is_err());
    }

    #[test]
    fn objectives_parse_by_xgboost_name_and_map_base_scores() {
        for o in Objective::ALL {
            assert_eq!(Objective::parse(o.name()), Some(o));
        }
        assert_eq!(Objective::parse("reg:linear"), Some(Objective::RegSquaredError));
        assert_eq!(Objective::parse("rank:pairwise"), None);
        assert_eq!(Objective::BinaryLogistic.base_margin(0.5), Some(0.0));
        assert_eq!(Objective::BinaryLogistic.base_margin(1.0), None);
        assert_eq!(Objective::RegSquaredError.base_margin(3.0), Some(3.0));
    }
}

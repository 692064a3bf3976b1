//! Fitted models as stored in `model.tar.gz` and evaluated by the model server.
//!
//! Training uses linfa; the fitted parameters are then exported into the plain structures
//! below (coefficients, trees as node arrays, class statistics). They serialize to JSON that
//! stays readable, and prediction on one row needs no allocation beyond the output.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

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
    fn score(&self, k: usize, row: ArrayView1<'_, f64>) -> f64 {
        self.weights[k].iter().zip(row.iter()).fold(self.intercepts[k], |acc, (w, x)| acc + w * x)
    }

    fn class_probabilities(&self, row: ArrayView1<'_, f64>, out: &mut [f64]) {
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
}

impl FittedModel {
    /// Number of classes, or `None` for a regression model.
    #[must_use]
    pub fn classes(&self) -> Option<usize> {
        match self {
            Self::Logistic { classes, .. } => Some(*classes),
        }
    }

    /// Predicts encoded rows (rows × features, in the schema's feature order).
    #[must_use]
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Prediction {
        match self {
            Self::Logistic { classes, linear } => {
                let mut out = Array2::zeros((x.nrows(), *classes));
                for (row, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
                    let slice = o.as_slice_mut().expect("rows of a standard-layout array are contiguous");
                    linear.class_probabilities(row, slice);
                }
                Prediction::Probabilities(out)
            }
        }
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
        let Prediction::Probabilities(p) = model.predict(array![[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]].view()) else {
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
}

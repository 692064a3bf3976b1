//! Validation metrics: what a training job reports and `metadata.json` records.
//!
//! Classification: `accuracy` (arg-max class, ties to the lower index), `log_loss` (mean
//! negative log-probability of the true class, probabilities clipped to [1e-15, 1 − 1e-15]),
//! `auc` (ROC AUC; binary: of class 1's probability, ties counted half through average ranks;
//! more classes: the macro average of one-vs-rest AUCs). Regression: `rmse`, `mae`, `r2`.
//!
//! A metric that is undefined for the data is left out rather than recorded as NaN: `auc` when
//! the rows hold one class only (per class for the macro average).

use std::collections::BTreeMap;

use ndarray::{ArrayView1, ArrayView2};

use crate::algorithm::{Targets, TrainingData};
use crate::model::{FittedModel, Prediction};

/// Lower clip of probabilities in [`log_loss`].
const EPS: f64 = 1e-15;

/// Predicts `data` with `model` and computes the metrics of its task (see the module docs).
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
    match (model.predict(data.features.view()), &data.targets) {
        (Prediction::Probabilities(p), Targets::Classes { labels, .. }) => {
            if let Some(&bad) = labels.iter().find(|&&l| l >= p.ncols()) {
                tracing::warn!(
                    label = bad,
                    classes = p.ncols(),
                    "validation label outside the model's classes; no metrics"
                );
                return metrics;
            }
            metrics.insert("accuracy".into(), accuracy(p.view(), labels.view()));
            metrics.insert("log_loss".into(), log_loss(p.view(), labels.view()));
            let auc = if p.ncols() == 2 {
                let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
                roc_auc(p.column(1), &positive)
            } else {
                macro_auc(p.view(), labels.view())
            };
            if let Some(auc) = auc {
                metrics.insert("auc".into(), auc);
            }
        }
        (Prediction::Values(v), Targets::Values(y)) => {
            metrics.insert("rmse".into(), rmse(v.view(), y.view()));
            metrics.insert("mae".into(), mae(v.view(), y.view()));
            metrics.insert("r2".into(), r2(v.view(), y.view()));
        }
        _ => tracing::warn!("a classifier was validated on regression targets or the reverse; no metrics"),
    }
    metrics
}

/// Fraction of rows whose highest probability is their class (ties go to the lower index).
///
/// # Panics
/// If a label is not a column of `probabilities` or the lengths differ.
#[must_use]
pub fn accuracy(probabilities: ArrayView2<'_, f64>, labels: ArrayView1<'_, usize>) -> f64 {
    assert_eq!(probabilities.nrows(), labels.len(), "one label per row");
    let correct = probabilities
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, label)| {
            let mut best = 0;
            for (k, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = k;
                }
            }
            best == **label
        })
        .count();
    ratio(correct, labels.len())
}

/// Mean of `−ln p(true class)`, with `p` clipped to [1e-15, 1 − 1e-15].
///
/// # Panics
/// If a label is not a column of `probabilities` or the lengths differ.
#[must_use]
pub fn log_loss(probabilities: ArrayView2<'_, f64>, labels: ArrayView1<'_, usize>) -> f64 {
    assert_eq!(probabilities.nrows(), labels.len(), "one label per row");
    let total: f64 = probabilities
        .rows()
        .into_iter()
        .zip(labels)
        .map(|(row, &label)| {
            let p = row[label];
            // NaN (from NaN inputs) counts as the worst prediction.
            let p = if p.is_nan() { EPS } else { p.clamp(EPS, 1.0 - EPS) };
            -p.ln()
        })
        .sum();
    total / count(labels.len())
}

/// ROC AUC of `scores` for the rows where `positive` is true: the probability that a random
/// positive outscores a random negative, ties counting one half (average ranks). `None` when
/// there are no positives or no negatives.
///
/// # Panics
/// If the lengths differ.
#[must_use]
pub fn roc_auc(scores: ArrayView1<'_, f64>, positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one flag per score");
    let positives = positive.iter().filter(|&&p| p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]].total_cmp(&scores[order[start]]).is_eq() {
            end += 1;
        }
        let average_rank = (count(start + 1) + count(end)) / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| positive[i]).count();
        rank_sum += average_rank * count(tied_positives);
        start = end;
    }
    let (p, n) = (count(positives), count(negatives));
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Macro average of the one-vs-rest AUCs of every class that has both positive and negative
/// rows; `None` if no class has.
///
/// # Panics
/// If the lengths differ.
#[must_use]
pub fn macro_auc(probabilities: ArrayView2<'_, f64>, labels: ArrayView1<'_, usize>) -> Option<f64> {
    let aucs: Vec<f64> = (0..probabilities.ncols())
        .filter_map(|k| {
            let positive: Vec<bool> = labels.iter().map(|&l| l == k).collect();
            roc_auc(probabilities.column(k), &positive)
        })
        .collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / count(aucs.len()))
}

/// Root mean squared error.
///
/// # Panics
/// If the lengths differ.
#[must_use]
pub fn rmse(predicted: ArrayView1<'_, f64>, actual: ArrayView1<'_, f64>) -> f64 {
    assert_eq!(predicted.len(), actual.len(), "one prediction per value");
    (predicted.iter().zip(actual).map(|(p, a)| (p - a) * (p - a)).sum::<f64>() / count(actual.len())).sqrt()
}

/// Mean absolute error.
///
/// # Panics
/// If the lengths differ.
#[must_use]
pub fn mae(predicted: ArrayView1<'_, f64>, actual: ArrayView1<'_, f64>) -> f64 {
    assert_eq!(predicted.len(), actual.len(), "one prediction per value");
    predicted.iter().zip(actual).map(|(p, a)| (p - a).abs()).sum::<f64>() / count(actual.len())
}

/// Coefficient of determination, `1 − SS_res / SS_tot`. When the actual values are constant
/// (`SS_tot = 0`) it is 1 for a perfect prediction and 0 otherwise, as scikit-learn reports.
///
/// # Panics
/// If the lengths differ.
#[must_use]
pub fn r2(predicted: ArrayView1<'_, f64>, actual: ArrayView1<'_, f64>) -> f64 {
    assert_eq!(predicted.len(), actual.len(), "one prediction per value");
    let mean = actual.sum() / count(actual.len());
    let ss_tot: f64 = actual.iter().map(|a| (a - mean) * (a - mean)).sum();
    let ss_res: f64 = predicted.iter().zip(actual).map(|(p, a)| (p - a) * (p - a)).sum();
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    }
}

fn count(n: usize) -> f64 {
    n as f64
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { f64::NAN } else { count(a) / count(b) }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;
    use crate::model::LinearModel;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn accuracy_takes_the_arg_max_with_ties_to_the_lower_class() {
        let p = array![[0.9, 0.1], [0.4, 0.6], [0.5, 0.5], [0.2, 0.8]];
        // Predicted 0, 1, 0 (tie), 1 against 0, 0, 0, 1.
        assert!(close(accuracy(p.view(), array![0, 0, 0, 1].view()), 0.75));
    }

    #[test]
    fn log_loss_by_hand_and_clipped() {
        let p = array![[0.8, 0.2], [0.3, 0.7]];
        let expected = -(0.8_f64.ln() + 0.7_f64.ln()) / 2.0;
        assert!(close(log_loss(p.view(), array![0, 1].view()), expected));
        // A confident miss costs -ln(1e-15), not infinity.
        let p = array![[1.0, 0.0]];
        assert!(close(log_loss(p.view(), array![1].view()), -(1e-15_f64).ln()));
        let p = array![[0.0, 1.0]];
        assert!(log_loss(p.view(), array![1].view()) < 1e-14);
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // Scores of negatives: 0.1, 0.4, 0.35; positives: 0.8, 0.4.
        // Pairs (pos, neg): 0.8 beats all 3; 0.4 beats 0.1 and 0.35 and ties 0.4 → 2.5.
        // AUC = (3 + 2.5) / 6.
        let scores = array![0.1, 0.4, 0.35, 0.8, 0.4];
        let positive = [false, false, false, true, true];
        let auc = roc_auc(scores.view(), &positive).expect("both classes");
        assert!(close(auc, 5.5 / 6.0), "{auc}");
        // Perfect, inverted and constant scores.
        assert!(close(roc_auc(array![0.1, 0.9].view(), &[false, true]).expect("defined"), 1.0));
        assert!(close(roc_auc(array![0.9, 0.1].view(), &[false, true]).expect("defined"), 0.0));
        assert!(close(roc_auc(array![0.5, 0.5, 0.5].view(), &[false, true, true]).expect("defined"), 0.5));
        assert_eq!(roc_auc(array![0.5, 0.7].view(), &[true, true]), None);
    }

    #[test]
    fn macro_auc_averages_one_vs_rest() {
        let p = array![[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]];
        let labels = array![0, 1, 2, 0];
        // Class 0: positives 0.8, 0.3 vs negatives 0.2, 0.1 → 1.0.
        // Class 1: positive 0.7 vs 0.1, 0.2, 0.4 → 1.0.
        // Class 2: positive 0.7 vs 0.1, 0.1, 0.3 → 1.0.
        assert!(close(macro_auc(p.view(), labels.view()).expect("defined"), 1.0));
        let labels = array![1, 0, 2, 0];
        // Class 0: positives 0.2, 0.3 vs negatives 0.8, 0.1: each beats 0.1 and loses to 0.8 → 2/4.
        // Class 1: positive 0.1 vs 0.7, 0.2, 0.4 → 0.
        // Class 2: positive 0.7 vs 0.1, 0.1, 0.3 → 1.
        assert!(close(macro_auc(p.view(), labels.view()).expect("defined"), 0.5));
    }

    #[test]
    fn regression_metrics_by_hand() {
        let predicted = array![2.0, 4.0, 6.0];
        let actual = array![1.0, 4.0, 8.0];
        // Errors 1, 0, -2: MSE 5/3, MAE 1; mean 13/3, SS_tot = (10/3)² + (1/3)² + (11/3)² = 222/9.
        assert!(close(rmse(predicted.view(), actual.view()), (5.0_f64 / 3.0).sqrt()));
        assert!(close(mae(predicted.view(), actual.view()), 1.0));
        assert!(close(r2(predicted.view(), actual.view()), 1.0 - 5.0 / (222.0 / 9.0)));
        assert!(close(r2(array![3.0, 3.0].view(), array![3.0, 3.0].view()), 1.0));
        assert!(close(r2(array![2.0, 3.0].view(), array![3.0, 3.0].view()), 0.0));
    }

    #[test]
    fn validation_metrics_of_each_task() {
        let classifier = FittedModel::Logistic {
            classes: 2,
            linear: LinearModel { weights: vec![vec![1.0]], intercepts: vec![0.0] },
        };
        let data = TrainingData {
            features: array![[-2.0], [-1.0], [1.0], [0.5]],
            targets: Targets::Classes { labels: array![0, 0, 1, 0], n_classes: 2 },
        };
        let m = validation_metrics(&classifier, &data);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["accuracy", "auc", "log_loss"]);
        assert!(close(m["accuracy"], 0.75));
        assert!(close(m["auc"], 1.0));

        let regressor = FittedModel::Linear { linear: LinearModel { weights: vec![vec![2.0]], intercepts: vec![0.0] } };
        let data = TrainingData { features: array![[1.0], [2.0]], targets: Targets::Values(array![2.0, 5.0]) };
        let m = validation_metrics(&regressor, &data);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["mae", "r2", "rmse"]);
        assert!(close(m["mae"], 0.5));

        let one_class =
            TrainingData { features: array![[1.0]], targets: Targets::Classes { labels: array![1], n_classes: 2 } };
        assert!(!validation_metrics(&classifier, &one_class).contains_key("auc"));
        let too_wide = TrainingData { features: array![[1.0, 2.0]], targets: Targets::Values(array![1.0]) };
        assert!(validation_metrics(&regressor, &too_wide).is_empty());
        assert!(validation_metrics(&classifier, &data).is_empty(), "regression targets for a classifier");
    }
}

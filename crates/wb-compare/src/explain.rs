//! Explanations: permutation importance through the endpoint, metrics by slice, and the
//! worst-scored rows.
//!
//! Permutation importance shuffles one feature's raw values among a seeded sample of test
//! rows and measures how much the primary metric drops. Every shuffle is scored by the
//! endpoint itself, so it explains the model as served, whatever built it. The number of
//! invocations is bounded: `(1 + features × repeats) × batches ≤ budget`, reached by lowering
//! the repeats, then the sample size.
//!
//! Permutation importance does not apply to image datasets: an image has no feature columns
//! to shuffle, so the comparison skips it for image test sets (without a warning — there is
//! nothing the budget could have bought), and slicing by a column is refused. The worst rows
//! of an image dataset are its worst-classified images; each carries the image itself as a
//! `data:` URI (at most [`MAX_EMBEDDED_IMAGE_BYTES`] each, only for these few rows) so the HTML
//! report can show a gallery of them without loading anything.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;

use wb_datasets::{Manifest, SplitData};
use wb_serving::invoke::InvokeEndpoint;

use crate::compare::{CompareOptions, argmax, finite, permutation, primary_metric};
use crate::error::{Error, Result};
use crate::metrics::{self, Metric};
use crate::report::{Estimate, FeatureImportance, Importance, SliceRow, Slices, WorstRow};
use crate::score::{self, Labels, Predictions, TestImage, TestSet, column_text};

/// The largest image embedded in a report as a `data:` URI (64 KiB); larger worst images are
/// listed by path only, which keeps `report.json` small.
pub const MAX_EMBEDDED_IMAGE_BYTES: usize = 64 * 1024;

/// Most category slices reported; rarer categories are pooled as `(other)`.
pub const MAX_CATEGORY_SLICES: usize = 12;

/// A slice column's label for every test row, with the slices in report order.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceColumn {
    /// The column.
    pub column: String,
    /// `categories` or `quantiles`.
    pub kind: &'static str,
    /// Slice labels in report order.
    pub order: Vec<String>,
    /// Each test row's slice (an index into `order`).
    pub rows: Vec<usize>,
}

/// Reads `column` of the test split and assigns every row a slice: its category (the
/// [`MAX_CATEGORY_SLICES`] most frequent, the rest pooled), or its quartile bin for numbers;
/// missing values form their own slice.
///
/// # Errors
/// [`Error::UnknownColumn`] when the dataset has no such column.
pub fn slice_column(manifest: &Manifest, split: &SplitData, column: &str) -> Result<SliceColumn> {
    let schema = &manifest.registration.schema;
    let Some(field) = schema.iter().find(|c| c.name == column) else {
        return Err(Error::UnknownColumn {
            column: column.to_owned(),
            dataset: manifest.dataset.to_string(),
            columns: schema.iter().map(|c| c.name.clone()).collect(),
        });
    };
    let mut values = Vec::with_capacity(split.num_rows());
    for batch in split.batches() {
        values.extend(column_text(batch, column)?);
    }
    let numeric = !matches!(field.data_type.as_str(), "Utf8" | "LargeUtf8" | "Utf8View" | "Boolean");
    if numeric {
        let numbers: Vec<Option<f64>> = values.iter().map(|v| v.as_deref().and_then(|v| v.parse().ok())).collect();
        let mut sorted: Vec<f64> = numbers.iter().flatten().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        if !sorted.is_empty() {
            let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
            let mut edges = vec![q(0.25), q(0.5), q(0.75)];
            edges.dedup();
            let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
            let mut bounds = vec![lo];
            bounds.extend(edges.into_iter().filter(|e| *e > lo && *e < hi));
            bounds.push(hi);
            let mut order: Vec<String> = bounds
                .windows(2)
                .enumerate()
                .map(|(i, w)| {
                    let close = if i + 2 == bounds.len() { "]" } else { ")" };
                    format!("[{}, {}{close}", short(w[0]), short(w[1]))
                })
                .collect();
            if order.is_empty() {
                order.push(format!("[{}, {}]", short(lo), short(hi)));
            }
            let bins = order.len();
            let missing = bins;
            let rows = numbers
                .iter()
                .map(|v| match v {
                    Some(v) if v.is_finite() => {
                        bounds[1..bins].iter().take_while(|edge| *v >= **edge).count().min(bins - 1)
                    }
                    _ => missing,
                })
                .collect::<Vec<_>>();
            if rows.contains(&missing) {
                order.push("(missing)".into());
            }
            return Ok(SliceColumn { column: column.to_owned(), kind: "quantiles", order, rows });
        }
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values.iter().flatten() {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let kept: Vec<String> = by_count.iter().take(MAX_CATEGORY_SLICES).map(|(v, _)| (*v).to_owned()).collect();
    let mut order = kept.clone();
    let other = order.len();
    order.push("(other)".into());
    let missing = order.len();
    order.push("(missing)".into());
    let rows: Vec<usize> = values
        .iter()
        .map(|v| match v {
            Some(v) => kept.iter().position(|k| k == v).unwrap_or(other),
            None => missing,
        })
        .collect();
    Ok(SliceColumn { column: column.to_owned(), kind: "categories", order, rows })
}

/// Metrics of `predictions` on every slice of `column` (slices without rows are left out).
#[must_use]
pub fn slices(test: &TestSet, predictions: &Predictions, column: &SliceColumn) -> Slices {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); column.order.len()];
    for (row, &slice) in column.rows.iter().enumerate() {
        members[slice].push(row);
    }
    let slices = column
        .order
        .iter()
        .zip(members)
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(label, rows)| SliceRow {
            slice: label.clone(),
            rows: rows.len(),
            metrics: scalars(test, predictions, &rows)
                .into_iter()
                .map(|(metric, value)| Estimate { metric: metric.to_owned(), value: finite(value), interval: None })
                .collect(),
        })
        .collect();
    Slices { column: column.column.clone(), kind: column.kind.to_owned(), slices }
}

/// The scalar metrics on `rows`.
fn scalars(test: &TestSet, predictions: &Predictions, rows: &[usize]) -> Vec<(&'static str, f64)> {
    match (&test.labels, predictions) {
        (Labels::Classes(labels), Predictions::Probabilities { classes, values }) => metrics::CLASSIFICATION_METRICS
            .iter()
            .copied()
            .zip(metrics::classification_scalars(labels, values, *classes, rows))
            .collect(),
        (Labels::Values(actual), Predictions::Values(predicted)) => metrics::REGRESSION_METRICS
            .iter()
            .copied()
            .zip(metrics::regression_scalars(actual, predicted, rows))
            .collect(),
        _ => Vec::new(),
    }
}

/// The `k` rows with the largest loss: the log loss of the true class, or the absolute error.
/// For an image test set, each of them carries its image as a `data:` URI when it is at most
/// [`MAX_EMBEDDED_IMAGE_BYTES`].
#[must_use]
pub fn worst_rows(test: &TestSet, predictions: &Predictions, k: usize) -> Vec<WorstRow> {
    let mut rows: Vec<WorstRow> = match (&test.labels, predictions) {
        (Labels::Classes(labels), Predictions::Probabilities { .. }) => labels
            .iter()
            .enumerate()
            .map(|(i, &label)| {
                let p = predictions.row(i);
                let truth = p[label];
                let predicted = argmax(p);
                WorstRow {
                    row_id: test.row_ids[i].clone(),
                    actual: test.classes[label].clone(),
                    predicted: test.classes[predicted].clone(),
                    true_class_probability: Some(truth),
                    predicted_probability: Some(p[predicted]),
                    loss: -truth.clamp(1e-15, 1.0).ln(),
                    image: None,
                }
            })
            .collect(),
        (Labels::Values(actual), Predictions::Values(predicted)) => actual
            .iter()
            .zip(predicted)
            .enumerate()
            .map(|(i, (a, p))| WorstRow {
                row_id: test.row_ids[i].clone(),
                actual: short(*a),
                predicted: short(*p),
                true_class_probability: None,
                predicted_probability: None,
                loss: (a - p).abs(),
                image: None,
            })
            .collect(),
        _ => Vec::new(),
    };
    rows.sort_by(|a, b| b.loss.total_cmp(&a.loss).then_with(|| a.row_id.cmp(&b.row_id)));
    rows.truncate(k);
    let images = test.images();
    if !images.is_empty() {
        let by_path: HashMap<&str, &TestImage> = images.iter().map(|i| (i.path.as_str(), i)).collect();
        for row in &mut rows {
            row.image = by_path.get(row.row_id.as_str()).and_then(|i| data_uri(i));
        }
    }
    rows
}

/// `data:<mime>;base64,<bytes>`, for an image of at most [`MAX_EMBEDDED_IMAGE_BYTES`].
fn data_uri(image: &TestImage) -> Option<String> {
    (image.body.len() <= MAX_EMBEDDED_IMAGE_BYTES).then(|| {
        format!("data:{};base64,{}", image.content_type, base64::engine::general_purpose::STANDARD.encode(&image.body))
    })
}

/// How many rows and repeats fit the invocation budget; `None` when not even one shuffle per
/// feature does.
fn plan(features: usize, rows: usize, batch: usize, repeats: usize, budget: usize) -> Option<(usize, usize)> {
    let calls = |rows: usize, repeats: usize| (1 + features * repeats) * rows.div_ceil(batch);
    let mut repeats = repeats.max(1);
    while repeats > 1 && calls(rows, repeats) > budget {
        repeats -= 1;
    }
    if calls(rows, repeats) <= budget {
        return Some((rows, repeats));
    }
    let batches = budget / (1 + features);
    (batches > 0).then(|| ((batches * batch).min(rows), 1))
}

/// Permutation importance of every feature, measured through `endpoint`; `None` when the
/// budget cannot afford one shuffle per feature.
///
/// # Errors
/// An invocation that fails after its retries, or answers that are not predictions.
pub async fn permutation_importance(
    invoker: &Arc<dyn InvokeEndpoint>,
    endpoint: &str,
    test: &TestSet,
    options: &CompareOptions,
) -> Result<Option<Importance>> {
    let features = test.feature_names.len();
    let batch = test.rows_per_body(options.scoring.batch_size);
    let wanted = options.importance_rows.min(test.len());
    let Some((n, repeats)) = plan(features, wanted, batch, options.importance_repeats, options.importance_budget)
    else {
        return Ok(None);
    };
    let mut sample = permutation(test.len(), options.seed);
    sample.truncate(n);
    sample.sort_unstable();
    let ids: Vec<String> = sample.iter().map(|&r| test.row_ids[r].clone()).collect();
    // Pass 0 is the unshuffled sample; pass 1 + f * repeats + r shuffles feature f.
    let mut bodies = Vec::new();
    let mut push_pass = |feature: Option<(usize, &[usize])>| {
        for start in (0..n).step_by(batch) {
            let end = (start + batch).min(n);
            let body = match feature {
                None => test.body_of(&sample[start..end]),
                Some((f, replacement)) => test.body_with(&sample[start..end], f, &replacement[start..end]),
            };
            bodies.push((ids[start..end].to_vec(), body));
        }
    };
    push_pass(None);
    for f in 0..features {
        for r in 0..repeats {
            let order = permutation(n, options.seed ^ (((f as u64) << 16) | r as u64).wrapping_add(0x9e37_79b9));
            let replacement: Vec<usize> = order.iter().map(|&i| sample[i]).collect();
            push_pass(Some((f, &replacement)));
        }
    }
    let invocations = bodies.len();
    let (predictions, _) = score::score_bodies(invoker, endpoint, bodies, test.n_classes(), &options.scoring).await?;
    let per_row = test.n_classes().max(1);
    let pass = |p: usize| -> Predictions {
        let values = match &predictions {
            Predictions::Probabilities { values, .. } | Predictions::Values(values) => {
                values[p * n * per_row..(p + 1) * n * per_row].to_vec()
            }
        };
        match &predictions {
            Predictions::Probabilities { classes, .. } => Predictions::Probabilities { classes: *classes, values },
            Predictions::Values(_) => Predictions::Values(values),
        }
    };
    let primary = primary_metric(test);
    let higher = primary.higher_is_better();
    let sample_test = SampleScorer { test, rows: &sample };
    let baseline = sample_test.metric(&pass(0), primary);
    let mut importances: Vec<FeatureImportance> = (0..features)
        .map(|f| {
            let drops: Vec<f64> = (0..repeats)
                .map(|r| {
                    let shuffled = sample_test.metric(&pass(1 + f * repeats + r), primary);
                    if higher { baseline - shuffled } else { shuffled - baseline }
                })
                .collect();
            let mean = drops.iter().sum::<f64>() / drops.len() as f64;
            let var = drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / drops.len() as f64;
            FeatureImportance { feature: test.feature_names[f].clone(), mean, std: var.sqrt() }
        })
        .collect();
    importances.sort_by(|a, b| b.mean.total_cmp(&a.mean).then_with(|| a.feature.cmp(&b.feature)));
    Ok(Some(Importance { rows: n, repeats, invocations, baseline: finite(baseline), features: importances }))
}

/// Scores predictions made for a sample of the test rows.
struct SampleScorer<'a> {
    test: &'a TestSet,
    rows: &'a [usize],
}

impl SampleScorer<'_> {
    fn metric(&self, predictions: &Predictions, metric: Metric) -> f64 {
        let identity: Vec<usize> = (0..self.rows.len()).collect();
        match (&self.test.labels, predictions) {
            (Labels::Classes(labels), Predictions::Probabilities { classes, values }) => {
                let labels: Vec<usize> = self.rows.iter().map(|&r| labels[r]).collect();
                let i = Metric::CLASSIFICATION.iter().position(|&m| m == metric).unwrap_or(0);
                metrics::classification_scalars(&labels, values, *classes, &identity)[i]
            }
            (Labels::Values(actual), Predictions::Values(predicted)) => {
                let actual: Vec<f64> = self.rows.iter().map(|&r| actual[r]).collect();
                let i = Metric::REGRESSION.iter().position(|&m| m == metric).unwrap_or(0);
                metrics::regression_scalars(&actual, predicted, &identity)[i]
            }
            _ => f64::NAN,
        }
    }
}

/// A number for a label: up to 4 significant decimals, no trailing zeros.
fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_bounds_the_invocations() {
        // 11 features, 2000 rows in batches of 500: 4 batches a pass.
        assert_eq!(plan(11, 2000, 500, 3, 200), Some((2000, 3)), "(1 + 33) * 4 = 136 calls fit");
        assert_eq!(plan(11, 2000, 500, 3, 100), Some((2000, 2)), "(1 + 22) * 4 = 92");
        assert_eq!(plan(11, 2000, 500, 3, 30), Some((1000, 1)), "2 batches of (1 + 11) = 24");
        assert_eq!(plan(11, 2000, 500, 3, 11), None, "not even one shuffle per feature");
        for budget in [12, 50, 77, 200, 1000] {
            let (rows, repeats) = plan(11, 2000, 500, 3, budget).expect("fits");
            assert!((1 + 11 * repeats) * rows.div_ceil(500) <= budget, "budget {budget}");
        }
    }

    #[test]
    fn worst_images_carry_small_images_only() {
        let image = |path: &str, label: usize, size: usize| TestImage {
            path: path.into(),
            label,
            content_type: "image/png",
            body: bytes::Bytes::from(vec![7u8; size]),
        };
        let test = TestSet::from_images(
            vec!["cat".into(), "dog".into()],
            vec![
                image("cat/small.png", 0, 3),
                image("dog/large.png", 1, MAX_EMBEDDED_IMAGE_BYTES + 1),
                image("cat/right.png", 0, 3),
            ],
        )
        .expect("test set");
        let predictions = Predictions::Probabilities { classes: 2, values: vec![0.1, 0.9, 0.8, 0.2, 0.95, 0.05] };
        let worst = worst_rows(&test, &predictions, 2);
        assert_eq!(worst.iter().map(|w| w.row_id.as_str()).collect::<Vec<_>>(), ["cat/small.png", "dog/large.png"]);
        assert_eq!(worst[0].image.as_deref(), Some("data:image/png;base64,BwcH"));
        assert_eq!(worst[0].predicted, "dog");
        assert_eq!(worst[0].predicted_probability, Some(0.9));
        assert_eq!(worst[0].true_class_probability, Some(0.1));
        assert_eq!(worst[1].image, None, "above 64 KiB: the path alone");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(12.0), "12");
        assert_eq!(short(-0.000_01), "0");
        assert_eq!(short(1.234_56), "1.2346");
    }
}

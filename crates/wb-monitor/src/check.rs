//! A monitoring run's verdict: the window's statistics checked against the baseline's
//! statistics and constraints, with SageMaker Model Monitor's check types and descriptions
//! modelled on its own.
//!
//! Checks, per baseline column (the baseline statistics' columns, then constraint-only
//! columns), in this order:
//!
//! - `data_type_check`: the share of the window's present values that are not of the
//!   baseline's type exceeds `datatype_check_threshold`. A value conforms to `Fractional` when
//!   it is a number, to `Integral` when it is a whole number, to `String` always. The counts come
//!   from the window statistics: text among a numerical column's values is
//!   `num_present − sketch count`, fractional values are counted on the sketch's items (exact
//!   below 2048 values), and in a String column the buckets that read as numbers conform.
//! - `completeness_check`: the window's present share is below the constraint's
//!   `completeness`.
//! - `baseline_drift_check`: [`feature_drift`] reports `drifted` (distance above
//!   `comparison_threshold`).
//! - `missing_column_check`: a baseline column the window's statistics do not list.
//! - `categorical_values_check`: the share of the window's values outside the constraint's
//!   `domains` exceeds `domain_content_threshold`.
//!
//! Then `extra_column_check` for each window column the baseline does not know, in window
//! order.
//!
//! `evaluate_constraints: Disabled` turns off every check but the drift check;
//! `perform_comparison: Disabled` turns off drift (no [`FeatureDrift`] at all).
//! `monitoringConfigOverrides` are kept in the file but not applied. `is_non_negative` has no
//! check type of its own in Model Monitor's list and is not checked.
//!
//! **An empty window** (`item_count` 0) has nothing to compare: no drift and no violations
//! (completeness is undefined without rows, and with no value there is no wrong type or
//! unknown category). Columns the window does not list at all are still reported missing, and
//! extra columns still extra, since that is about the window's shape, not its values.

use crate::constraints::{Constraints, FeatureConstraints};
use crate::drift::{FeatureDrift, feature_drift};
use crate::sketch::KllSketch;
use crate::statistics::{FeatureStatistics, InferredType, Statistics};
use crate::violations::{CheckType, ConstraintViolations, Violation};

/// The result of checking a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Check {
    /// `constraint_violations.json`.
    pub violations: ConstraintViolations,
    /// The distances of every column compared (drifted or not), in baseline column order.
    pub drift: Vec<FeatureDrift>,
}

/// Checks `window` against `baseline` and `constraints`; see the module docs.
#[must_use]
pub fn check(baseline: &Statistics, constraints: &Constraints, window: &Statistics) -> Check {
    let config = &constraints.monitoring_config;
    let evaluate = config.evaluate_constraints.is_enabled();
    let compare = config.distribution_constraints.perform_comparison.is_enabled();
    let empty = window.dataset.item_count == 0;

    let mut names: Vec<&str> = baseline.features.iter().map(|f| f.name.as_str()).collect();
    for c in &constraints.features {
        if !names.contains(&c.name.as_str()) {
            names.push(&c.name);
        }
    }
    let (n_baseline, n_window) = (names.len(), window.features.len());
    let mut out = Check::default();
    let mut push = |feature: &str, kind: CheckType, description: String| {
        out.violations.violations.push(Violation {
            feature_name: feature.to_owned(),
            constraint_check_type: kind,
            description,
        });
    };
    let mut drift = Vec::new();

    for &name in &names {
        let base = baseline.feature(name);
        let cons = constraints.feature(name);
        let Some(win) = window.feature(name) else {
            if evaluate {
                push(
                    name,
                    CheckType::MissingColumnCheck,
                    format!(
                        "There are missing columns in current dataset: {name:?} is not present. Number of columns in \
                         current dataset: {n_window}, Number of columns in baseline constraints: {n_baseline}"
                    ),
                );
            }
            continue;
        };
        if empty {
            continue;
        }
        if evaluate && let Some(cons) = cons {
            if let Some(d) = data_type(cons, win, config.datatype_check_threshold) {
                push(name, CheckType::DataTypeCheck, d);
            }
            if let Some(d) = completeness(cons, win, window.dataset.item_count) {
                push(name, CheckType::CompletenessCheck, d);
            }
        }
        if compare
            && let Some(base) = base
            && let Some(d) = feature_drift(base, win, &config.distribution_constraints)
        {
            if d.drifted {
                push(
                    name,
                    CheckType::BaselineDriftCheck,
                    format!(
                        "Baseline drift distance: {} exceeds threshold: {}",
                        round4(d.distance),
                        round4(config.distribution_constraints.comparison_threshold)
                    ),
                );
            }
            drift.push(d);
        }
        if evaluate
            && let Some(cons) = cons
            && let Some(d) = categorical_values(cons, win, config.domain_content_threshold)
        {
            push(name, CheckType::CategoricalValuesCheck, d);
        }
    }
    if evaluate {
        for f in &window.features {
            if !names.contains(&f.name.as_str()) {
                push(
                    &f.name,
                    CheckType::ExtraColumnCheck,
                    format!(
                        "There are extra columns in current dataset: {:?} is not in the baseline. Number of columns \
                         in current dataset: {n_window}, Number of columns in baseline constraints: {n_baseline}",
                        f.name
                    ),
                );
            }
        }
    }
    out.drift = drift;
    tracing::debug!(
        violations = out.violations.violations.len(),
        drifted = out.drift.iter().filter(|d| d.drifted).count(),
        "checked window"
    );
    out
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn percent(x: f64) -> String {
    format!("{}%", (x * 10_000.0).round() / 100.0)
}

/// How many of the window's present values conform to `expected`, and how many are present.
fn conforming(expected: InferredType, win: &FeatureStatistics) -> (u64, u64) {
    let present = win.common().num_present;
    match expected {
        InferredType::String | InferredType::Unknown => (present, present),
        InferredType::Integral | InferredType::Fractional => {
            if let Some(n) = &win.numerical_statistics {
                let Ok(sketch) = KllSketch::from_data(&n.distribution.kll.sketch) else {
                    return (0, present);
                };
                let numbers = sketch.count().min(present);
                if expected == InferredType::Fractional {
                    return (numbers, present);
                }
                let fractional: u64 =
                    sketch.weighted_items().iter().filter(|(v, _)| v.fract() != 0.0).map(|(_, w)| w).sum();
                (numbers.saturating_sub(fractional), present)
            } else if let Some(s) = &win.string_statistics {
                let ok = s
                    .distribution
                    .categorical
                    .buckets
                    .iter()
                    .filter(|b| match b.value.trim().parse::<f64>() {
                        Ok(v) if v.is_finite() => expected == InferredType::Fractional || v.fract() == 0.0,
                        _ => false,
                    })
                    .map(|b| b.count)
                    .sum::<u64>();
                (ok.min(present), present)
            } else {
                (0, present)
            }
        }
    }
}

fn data_type(cons: &FeatureConstraints, win: &FeatureStatistics, threshold: f64) -> Option<String> {
    let (ok, present) = conforming(cons.inferred_type, win);
    if present == 0 {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let share = ok as f64 / present as f64;
    (1.0 - share > threshold).then(|| {
        format!(
            "Data type match requirement is not met. Expected data type: {:?}, Expected match: {}. Observed: Only {} \
             of data is {:?}.",
            cons.inferred_type,
            percent(1.0 - threshold),
            percent(share),
            cons.inferred_type
        )
    })
}

fn completeness(cons: &FeatureConstraints, win: &FeatureStatistics, items: u64) -> Option<String> {
    if items == 0 {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let observed = win.common().num_present as f64 / items as f64;
    (observed + 1e-12 < cons.completeness).then(|| {
        format!(
            "Data completeness requirement is not met. Expected completeness: {}. Observed: Only {} of data is \
             present.",
            percent(cons.completeness),
            percent(observed)
        )
    })
}

fn categorical_values(cons: &FeatureConstraints, win: &FeatureStatistics, threshold: f64) -> Option<String> {
    let domains = &cons.string_constraints.as_ref()?.domains;
    if domains.is_empty() {
        return None;
    }
    let buckets = &win.string_statistics.as_ref()?.distribution.categorical.buckets;
    let total: u64 = buckets.iter().map(|b| b.count).sum();
    if total == 0 {
        return None;
    }
    let outside: Vec<_> = buckets.iter().filter(|b| !domains.contains(&b.value)).collect();
    let n_outside: u64 = outside.iter().map(|b| b.count).sum();
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let share = n_outside as f64 / total as f64;
    (share > threshold).then(|| {
        let examples: Vec<String> = outside.iter().take(3).map(|b| format!("{:?}", b.value)).collect();
        format!(
            "Categorical value requirement is not met. Expected: at most {} of values outside the baseline domain. \
             Observed: {} of values are outside it (e.g. {}).",
            percent(threshold),
            percent(share),
            examples.join(", ")
        )
    })
}

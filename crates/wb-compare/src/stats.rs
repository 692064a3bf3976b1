//! Resampling statistics and significance tests for comparing models on the same rows.
//!
//! - [`Resampler`] / [`bootstrap`]: seeded percentile-bootstrap confidence intervals. The
//!   resamples depend only on `(n, seed)`, so two models evaluated with the same seed see the
//!   same resampled rows (a paired design).
//! - [`paired_bootstrap`]: intervals and a bootstrap p-value for metric differences `a − b`.
//! - [`mcnemar`]: McNemar's test on paired correctness (as statsmodels'
//!   `contingency_tables.mcnemar`, exact binomial or chi-squared with continuity correction).
//! - [`delong`]: DeLong's test for two correlated ROC AUCs (fast midrank algorithm).
//! - [`holm`]: Holm–Bonferroni adjusted p-values (as statsmodels'
//!   `multipletests(method="holm")`).
//!
//! Percentiles use linear interpolation between order statistics, like `numpy.percentile`'s
//! default; non-finite bootstrap values (e.g. an undefined AUC on a resample without
//! positives) are left out.

use rand::SeedableRng;
use rand::distributions::{Distribution, Uniform};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF, Normal};

/// Below this many discordant pairs [`mcnemar`] uses the exact binomial test.
const MCNEMAR_EXACT_BELOW: u64 = 25;

/// A two-sided confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Seeded bootstrap resampler: each call to [`Resampler::next_into`] draws `n` row indices
/// uniformly with replacement from `0..n`.
///
/// The generator is `ChaCha8Rng::seed_from_u64(seed)` and indices are drawn as `u64` (so the
/// sequence is the same on every platform); the same `(n, seed)` always yields the same
/// sequence of resamples, which is what pairs two models evaluated with the same seed.
#[derive(Clone, Debug)]
pub struct Resampler {
    n: usize,
    rng: ChaCha8Rng,
    /// `None` when `n == 0` (every resample is empty).
    index: Option<Uniform<u64>>,
}

impl Resampler {
    /// A resampler of `n` rows seeded with `seed`.
    pub fn new(n: usize, seed: u64) -> Self {
        let index = (n > 0).then(|| Uniform::new(0, n as u64));
        Self { n, rng: ChaCha8Rng::seed_from_u64(seed), index }
    }

    /// Replace the contents of `out` with the next resample (`n` indices in `0..n`).
    pub fn next_into(&mut self, out: &mut Vec<usize>) {
        out.clear();
        if let Some(index) = &self.index {
            let rng = &mut self.rng;
            // The draw is below n, which is a usize: the cast is lossless.
            out.extend((0..self.n).map(|_| index.sample(rng) as usize));
        }
    }
}

/// Percentile bootstrap confidence intervals.
///
/// For each of `resamples` resamples (from [`Resampler::new`]`(n, seed)`), calls
/// `statistic(&idx)`, which returns one value per metric (always the same number). Returns
/// one entry per metric: the `(1 − confidence) / 2` and `(1 + confidence) / 2` percentiles of
/// that metric's finite values (linear interpolation as `numpy.percentile`), or `None` when
/// fewer than half of the resamples gave a finite value. With `resamples == 0` the number of
/// metrics is unknown and the result is empty.
///
/// # Panics
///
/// If `confidence` is not strictly between 0 and 1, or if `statistic` returns vectors of
/// different lengths.
pub fn bootstrap<F: FnMut(&[usize]) -> Vec<f64>>(
    n: usize,
    resamples: usize,
    seed: u64,
    confidence: f64,
    mut statistic: F,
) -> Vec<Option<Interval>> {
    check_confidence(confidence);
    let mut sampler = Resampler::new(n, seed);
    let mut idx = Vec::with_capacity(n);
    let mut values: Vec<Vec<f64>> = Vec::new();
    for r in 0..resamples {
        sampler.next_into(&mut idx);
        let stat = statistic(&idx);
        if r == 0 {
            values = vec![Vec::with_capacity(resamples); stat.len()];
        }
        assert_eq!(stat.len(), values.len(), "statistic returned a different number of metrics");
        for (v, s) in values.iter_mut().zip(stat) {
            if s.is_finite() {
                v.push(s);
            }
        }
    }
    values.into_iter().map(|v| percentile_interval(v, resamples, confidence)).collect()
}

/// The paired comparison of one metric between models `a` and `b`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Point estimate `a − b` on all rows.
    pub difference: f64,
    /// Percentile bootstrap interval of `a − b`; `None` when fewer than half of the resamples
    /// gave a finite difference.
    pub interval: Option<Interval>,
    /// Two-sided bootstrap p-value of "no difference" (see [`paired_bootstrap`]); `NaN` when
    /// `interval` is `None`.
    pub p_value: f64,
}

/// Paired bootstrap of metric differences between two models.
///
/// `point` holds, per metric, the values `(a, b)` on all rows; `statistic(&idx)` returns, per
/// metric, the values `(a, b)` on the same resample. For each metric, let `d` be the finite
/// resampled differences `a − b`. The interval is the percentile interval of `d` (as in
/// [`bootstrap`]) and the p-value is
///
/// `p = min(1, 2 · min(#{d ≤ 0}, #{d ≥ 0}) / #d)`,
///
/// the two-sided percentile-bootstrap p-value (0 when every resampled difference has the same
/// strict sign; 1 when the differences are all zero).
///
/// # Panics
///
/// If `confidence` is not strictly between 0 and 1, or if `statistic` returns a vector whose
/// length differs from `point.len()`.
pub fn paired_bootstrap<F: FnMut(&[usize]) -> Vec<(f64, f64)>>(
    n: usize,
    resamples: usize,
    seed: u64,
    confidence: f64,
    point: &[(f64, f64)],
    mut statistic: F,
) -> Vec<PairedDifference> {
    check_confidence(confidence);
    let mut sampler = Resampler::new(n, seed);
    let mut idx = Vec::with_capacity(n);
    let mut diffs: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); point.len()];
    for _ in 0..resamples {
        sampler.next_into(&mut idx);
        let stat = statistic(&idx);
        assert_eq!(stat.len(), point.len(), "statistic returned a different number of metrics than point");
        for (d, (a, b)) in diffs.iter_mut().zip(stat) {
            let diff = a - b;
            if diff.is_finite() {
                d.push(diff);
            }
        }
    }
    point
        .iter()
        .zip(diffs)
        .map(|(&(a, b), d)| {
            let total = d.len() as f64;
            let at_most_zero = d.iter().filter(|&&x| x <= 0.0).count() as f64;
            let at_least_zero = d.iter().filter(|&&x| x >= 0.0).count() as f64;
            let interval = percentile_interval(d, resamples, confidence);
            let p_value =
                if interval.is_some() { (2.0 * at_most_zero.min(at_least_zero) / total).min(1.0) } else { f64::NAN };
            PairedDifference { difference: a - b, interval, p_value }
        })
        .collect()
}

/// McNemar's test of paired correctness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Rows both models got right.
    pub both_correct: u64,
    /// Rows only model a got right.
    pub only_a_correct: u64,
    /// Rows only model b got right.
    pub only_b_correct: u64,
    /// Rows both models got wrong.
    pub both_wrong: u64,
    /// Exact: the smaller discordant count; chi2: `(|b − c| − 1)² / (b + c)`.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `"exact"` (binomial, when there are fewer than 25 discordant rows) or
    /// `"chi2-continuity"`.
    pub method: String,
}

/// McNemar's test of whether models a and b differ in accuracy on the same rows.
///
/// Matches statsmodels `mcnemar(table, exact=discordant < 25, correction=True)` with
/// `b = only_a_correct`, `c = only_b_correct`: the exact test reports `min(b, c)` and
/// `p = min(1, 2 · BinomCDF(min(b, c); b + c, ½))` (1 when there are no discordant rows); the
/// chi-squared test reports `(|b − c| − 1)² / (b + c)` and its chi-squared(1) survival
/// probability.
///
/// # Panics
///
/// If the slices differ in length.
pub fn mcnemar(correct_a: &[bool], correct_b: &[bool]) -> McNemar {
    assert_eq!(correct_a.len(), correct_b.len(), "correct_a and correct_b differ in length");
    let mut table = [[0u64; 2]; 2];
    for (&a, &b) in correct_a.iter().zip(correct_b) {
        table[usize::from(!a)][usize::from(!b)] += 1;
    }
    let [[both_correct, only_a_correct], [only_b_correct, both_wrong]] = table;
    let discordant = only_a_correct + only_b_correct;
    let (statistic, p_value, method) = if discordant < MCNEMAR_EXACT_BELOW {
        let smaller = only_a_correct.min(only_b_correct);
        let p = if discordant == 0 {
            1.0
        } else {
            let binomial = Binomial::new(0.5, discordant).expect("0.5 is a valid probability");
            (2.0 * binomial.cdf(smaller)).min(1.0)
        };
        (smaller as f64, p, "exact")
    } else {
        let diff = only_a_correct.abs_diff(only_b_correct) as f64 - 1.0;
        let statistic = diff * diff / discordant as f64;
        let chi2 = ChiSquared::new(1.0).expect("1 is a valid number of degrees of freedom");
        (statistic, chi2.sf(statistic), "chi2-continuity")
    };
    McNemar { both_correct, only_a_correct, only_b_correct, both_wrong, statistic, p_value, method: method.to_owned() }
}

/// DeLong's test comparing two correlated ROC AUCs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeLong {
    /// ROC AUC of model a.
    pub auc_a: f64,
    /// ROC AUC of model b.
    pub auc_b: f64,
    /// `auc_a − auc_b`.
    pub difference: f64,
    /// Standard error of the difference.
    pub standard_error: f64,
    /// `difference / standard_error`.
    pub z: f64,
    /// Two-sided normal p-value `2 · (1 − Φ(|z|))`.
    pub p_value: f64,
}

/// DeLong et al. (1988) test for two correlated ROC AUCs on the same rows, computed with the
/// fast midrank algorithm of Sun & Xu (2014). The variance of the difference is
/// `Var(V₁₀ᵃ − V₁₀ᵇ)/m + Var(V₀₁ᵃ − V₀₁ᵇ)/n` with the structural components `V` of the `m`
/// positive and `n` negative rows (sample variances, ddof = 1); ties count one half.
///
/// `None` when either class has fewer than two rows or the variance is zero (e.g. identical
/// scores).
///
/// # Panics
///
/// If the slices differ in length.
pub fn delong(positive: &[bool], scores_a: &[f64], scores_b: &[f64]) -> Option<DeLong> {
    assert_eq!(positive.len(), scores_a.len(), "positive and scores_a differ in length");
    assert_eq!(positive.len(), scores_b.len(), "positive and scores_b differ in length");
    let m = positive.iter().filter(|&&p| p).count();
    let n = positive.len() - m;
    if m < 2 || n < 2 {
        return None;
    }
    let (auc_a, v10_a, v01_a) = structural_components(positive, scores_a, m, n);
    let (auc_b, v10_b, v01_b) = structural_components(positive, scores_b, m, n);
    let var_diff = |a: &[f64], b: &[f64]| {
        let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        sample_variance(&d)
    };
    let variance = var_diff(&v10_a, &v10_b) / m as f64 + var_diff(&v01_a, &v01_b) / n as f64;
    if !(variance.is_finite() && variance > 0.0) {
        return None;
    }
    let difference = auc_a - auc_b;
    let standard_error = variance.sqrt();
    let z = difference / standard_error;
    let p_value = (2.0 * Normal::standard().sf(z.abs())).min(1.0);
    Some(DeLong { auc_a, auc_b, difference, standard_error, z, p_value })
}

/// Holm–Bonferroni adjusted p-values, in input order: sorted ascending, the i-th smallest
/// (0-based) is multiplied by `m − i`, then a running maximum makes them monotone and they are
/// capped at 1 (as statsmodels `multipletests(method="holm")`). NaN p-values are not counted
/// in `m` and stay NaN.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p_values.len()).filter(|&i| !p_values[i].is_nan()).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p_values.len()];
    let mut running = f64::NEG_INFINITY;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(p_values[i] * (m - rank) as f64);
        adjusted[i] = running.min(1.0);
    }
    adjusted
}

// ------------------------------------------------------------------------------------------
// internals

fn check_confidence(confidence: f64) {
    assert!(confidence > 0.0 && confidence < 1.0, "confidence must be in (0, 1), got {confidence}");
}

/// Percentile interval of the finite `values` out of `resamples` draws; `None` when fewer
/// than half of the draws were finite.
fn percentile_interval(mut values: Vec<f64>, resamples: usize, confidence: f64) -> Option<Interval> {
    if values.is_empty() || 2 * values.len() < resamples {
        return None;
    }
    values.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Some(Interval { low: percentile(&values, tail), high: percentile(&values, 1.0 - tail) })
}

/// `numpy.percentile(values, 100 q)` with the default linear method, for sorted, non-empty
/// `values` and `q` in `[0, 1]` (numpy's interpolation formula, so results match bit for bit
/// up to the computation of `q`).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let virtual_index = q * last as f64;
    let below = virtual_index.floor();
    let lo = (below as usize).min(last);
    let hi = (lo + 1).min(last);
    let t = virtual_index - below;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 { b - diff * (1.0 - t) } else { a + diff * t }
}

/// Unbiased sample variance (ddof = 1); `NaN` for fewer than two values.
fn sample_variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)
}

/// Midranks (1-based, ties averaged) of `values`.
fn midranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) share the mean 1-based rank ((i + 1) + j) / 2.
        let rank = (i + 1 + j) as f64 / 2.0;
        for &o in &order[i..j] {
            ranks[o] = rank;
        }
        i = j;
    }
    ranks
}

/// AUC and DeLong structural components `(auc, V₁₀ per positive, V₀₁ per negative)` by the
/// Sun & Xu midrank algorithm.
fn structural_components(positive: &[bool], scores: &[f64], m: usize, n: usize) -> (f64, Vec<f64>, Vec<f64>) {
    let mut x = Vec::with_capacity(m);
    let mut y = Vec::with_capacity(n);
    for (&p, &s) in positive.iter().zip(scores) {
        if p {
            x.push(s);
        } else {
            y.push(s);
        }
    }
    let tx = midranks(&x);
    let ty = midranks(&y);
    let z: Vec<f64> = x.iter().chain(&y).copied().collect();
    let tz = midranks(&z);
    let (mf, nf) = (m as f64, n as f64);
    let auc = (tz[..m].iter().sum::<f64>() / mf - (mf + 1.0) / 2.0) / nf;
    let v10 = tz[..m].iter().zip(&tx).map(|(z, x)| (z - x) / nf).collect();
    let v01 = tz[m..].iter().zip(&ty).map(|(z, y)| 1.0 - (z - y) / mf).collect();
    (auc, v10, v01)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics;
    use serde_json::Value;
    use wb_models::metrics::fixture::*;

    /// The binary fixture: labels and the class-probability matrices of models a and b.
    fn binary_models(fx: &Value) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
        let labels = |c: &Value| -> Vec<usize> {
            c["labels"]
                .as_array()
                .expect("labels")
                .iter()
                .map(|x| usize::try_from(x.as_u64().expect("a label")).expect("fits"))
                .collect()
        };
        let a = case(fx, "classification", "binary_a");
        let b = case(fx, "classification", "binary_b");
        assert_eq!(labels(a), labels(b));
        (labels(a), nums(&a["proba"]), nums(&b["proba"]))
    }

    #[test]
    fn mcnemar_matches_statsmodels() {
        let fx = fixture();
        let cases = fx["mcnemar"].as_array().expect("cases");
        let mut methods = Vec::new();
        for c in cases {
            let name = c["name"].as_str().expect("name");
            let m = mcnemar(&bools(&c["correct_a"]), &bools(&c["correct_b"]));
            let t = &c["table"];
            let table = [[&t[0][0], &t[0][1]], [&t[1][0], &t[1][1]]].map(|row| row.map(|v| v.as_u64().expect("count")));
            assert_eq!([[m.both_correct, m.only_a_correct], [m.only_b_correct, m.both_wrong]], table, "{name}.table");
            let exact = c["exact"].as_bool().expect("exact");
            assert_eq!(m.method, if exact { "exact" } else { "chi2-continuity" }, "{name}.method");
            assert_close(m.statistic, num(&c["statistic"]), &format!("{name}.statistic"));
            assert_close(m.p_value, num(&c["p_value"]), &format!("{name}.p_value"));
            methods.push(m.method);
        }
        assert!(methods.iter().any(|m| m == "exact") && methods.iter().any(|m| m == "chi2-continuity"));
    }

    #[test]
    fn mcnemar_switches_to_chi2_at_25_discordant_rows() {
        let a: Vec<bool> = (0..40).map(|i| i < 20).collect();
        // only a correct on 0..4, only b on 20..28
        let b_exact: Vec<bool> = (0..40).map(|i| (4..28).contains(&i)).collect();
        let m = mcnemar(&a, &b_exact);
        assert_eq!((m.only_a_correct, m.only_b_correct), (4, 8));
        assert_eq!(m.method, "exact");
        let b: Vec<bool> = (0..40).map(|i| i >= 15).collect();
        let m = mcnemar(&a, &b);
        assert_eq!((m.only_a_correct, m.only_b_correct), (15, 20));
        assert_eq!(m.method, "chi2-continuity");
        assert_close(m.statistic, 16.0 / 35.0, "statistic");
        // Symmetric in the models.
        let swapped = mcnemar(&b, &a);
        assert_eq!(swapped.p_value, m.p_value);
    }

    #[test]
    fn delong_matches_reference_implementations() {
        let fx = fixture();
        let cases = fx["delong"].as_array().expect("cases");
        assert_eq!(cases.len(), 2);
        for c in cases {
            let name = c["name"].as_str().expect("name");
            let d = delong(&bools(&c["positive"]), &nums(&c["scores_a"]), &nums(&c["scores_b"])).expect("defined");
            for (field, value) in [
                ("auc_a", d.auc_a),
                ("auc_b", d.auc_b),
                ("difference", d.difference),
                ("standard_error", d.standard_error),
                ("z", d.z),
                ("p_value", d.p_value),
            ] {
                assert_close(value, num(&c[field]), &format!("{name}.{field}"));
            }
            // The AUCs agree with the metrics module.
            let positive = bools(&c["positive"]);
            assert_close(d.auc_a, metrics::roc_auc(&positive, &nums(&c["scores_a"])), "auc_a vs metrics");
        }
    }

    #[test]
    fn delong_is_undefined_without_both_classes_or_variance() {
        let scores = [0.1, 0.4, 0.35, 0.8];
        assert!(delong(&[true; 4], &scores, &[0.2, 0.1, 0.3, 0.9]).is_none());
        assert!(delong(&[true, false, false, false], &scores, &[0.2, 0.1, 0.3, 0.9]).is_none());
        // Identical models: zero variance of the difference.
        assert!(delong(&[true, false, true, false], &scores, &scores).is_none());
        // Antisymmetric in the models.
        let positive = [true, false, true, false, true, false];
        let a = [0.9, 0.1, 0.6, 0.7, 0.4, 0.3];
        let b = [0.5, 0.6, 0.7, 0.2, 0.8, 0.1];
        let ab = delong(&positive, &a, &b).expect("defined");
        let ba = delong(&positive, &b, &a).expect("defined");
        assert_close(ab.z, -ba.z, "z");
        assert_close(ab.p_value, ba.p_value, "p");
    }

    #[test]
    fn holm_matches_statsmodels() {
        let fx = fixture();
        for c in fx["holm"].as_array().expect("cases") {
            let p = nums(&c["p_values"]);
            let adjusted = holm(&p);
            let expected = nums(&c["adjusted"]);
            assert_eq!(adjusted.len(), expected.len());
            for (i, (&a, &e)) in adjusted.iter().zip(&expected).enumerate() {
                assert_close(a, e, &format!("holm {p:?}[{i}]"));
                assert!(a >= p[i] && a <= 1.0);
            }
            // Monotone: a smaller raw p-value never gets a larger adjusted one.
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if p[i] < p[j] {
                        assert!(adjusted[i] <= adjusted[j]);
                    }
                }
            }
        }
        assert!(holm(&[]).is_empty());
        let with_nan = holm(&[0.01, f64::NAN, 0.04]);
        assert!(with_nan[1].is_nan());
        assert_eq!([with_nan[0], with_nan[2]], [0.02, 0.04]);
    }

    #[test]
    fn percentile_matches_numpy() {
        let fx = fixture();
        for c in fx["percentile"].as_array().expect("cases") {
            let mut values = nums(&c["values"]);
            values.sort_unstable_by(f64::total_cmp);
            let q = num(&c["q"]);
            assert_close(percentile(&values, q / 100.0), num(&c["percentile"]), &format!("q = {q}"));
        }
        assert_eq!(percentile(&[3.0], 0.3), 3.0);
    }

    #[test]
    fn resampler_is_seeded_and_in_range() {
        let draw = |n, seed, times| {
            let mut r = Resampler::new(n, seed);
            let mut out = Vec::new();
            (0..times)
                .map(|_| {
                    r.next_into(&mut out);
                    out.clone()
                })
                .collect::<Vec<_>>()
        };
        let a = draw(50, 1, 3);
        assert_eq!(a, draw(50, 1, 3));
        assert_ne!(a, draw(50, 2, 3));
        assert_ne!(a[0], a[1], "successive resamples differ");
        assert!(a.iter().all(|s| s.len() == 50 && s.iter().all(|&i| i < 50)));
        // With replacement: some rows repeat, some are left out.
        let mut seen = a[0].clone();
        seen.sort_unstable();
        seen.dedup();
        assert!(seen.len() < 50 && seen.len() > 20);
        assert!(draw(0, 1, 2).iter().all(Vec::is_empty));
    }

    #[test]
    fn bootstrap_is_reproducible_and_contains_the_point_estimate() {
        let fx = fixture();
        let (labels, proba, _) = binary_models(&fx);
        let n = labels.len();
        let run = |seed| bootstrap(n, 300, seed, 0.95, |idx| metrics::classification_scalars(&labels, &proba, 2, idx));
        let first = run(11);
        assert_eq!(first, run(11));
        assert_ne!(first, run(12));
        let point = metrics::classification(&labels, &proba, 2).named();
        assert_eq!(first.len(), point.len());
        for ((name, value), interval) in point.into_iter().zip(&first) {
            let i = interval.unwrap_or_else(|| panic!("{name} has an interval"));
            assert!(i.low < value && value < i.high, "{name}: {value} not in {i:?}");
            // log_loss is unbounded (three rows are clipped at ε), the rest live in [0, 1].
            if name != "log_loss" {
                assert!(i.high - i.low < 0.25, "{name}: {i:?} is implausibly wide");
            }
        }
        // The same for regression.
        let r = case(&fx, "regression", "regression");
        let (actual, predicted) = (nums(&r["actual"]), nums(&r["predicted"]));
        let intervals =
            bootstrap(actual.len(), 300, 5, 0.9, |idx| metrics::regression_scalars(&actual, &predicted, idx));
        for ((name, value), interval) in metrics::regression(&actual, &predicted).named().into_iter().zip(intervals) {
            let i = interval.expect("defined");
            assert!(i.low < value && value < i.high, "{name}: {value} not in {i:?}");
        }
    }

    #[test]
    fn bootstrap_uses_the_resampler_sequence_and_drops_undefined_values() {
        let mut reference = Resampler::new(20, 3);
        let mut expected = Vec::new();
        let mut calls = 0;
        let intervals = bootstrap(20, 10, 3, 0.8, |idx| {
            reference.next_into(&mut expected);
            assert_eq!(idx, expected.as_slice());
            calls += 1;
            // metric 0: always finite; 1: finite in 4 of 10; 2: finite in 5 of 10.
            let mean = idx.iter().sum::<usize>() as f64 / 20.0;
            let sometimes = |k| if calls <= k { mean } else { f64::NAN };
            vec![mean, sometimes(4), sometimes(5)]
        });
        assert_eq!(calls, 10);
        assert!(intervals[0].is_some());
        assert!(intervals[1].is_none(), "fewer than half finite");
        assert!(intervals[2].is_some(), "exactly half finite");
        let i = intervals[0].expect("defined");
        assert!(i.low <= i.high);
        assert!(bootstrap(20, 0, 3, 0.9, |_| vec![1.0]).is_empty());
        // A constant statistic has a degenerate interval.
        assert_eq!(bootstrap(5, 20, 1, 0.95, |_| vec![0.7]), [Some(Interval { low: 0.7, high: 0.7 })]);
    }

    #[test]
    fn paired_bootstrap_p_value_definition() {
        let n = 30;
        let point = [(0.8, 0.8), (0.9, 0.6), (0.5, 0.5)];
        let result = paired_bootstrap(n, 200, 9, 0.95, &point, |idx| {
            let m = idx.iter().sum::<usize>() as f64 / (n * n) as f64;
            // identical models; a always better; differences symmetric around 0 by design.
            let parity = if idx[0] % 2 == 0 { 1.0 } else { -1.0 };
            vec![(m, m), (m + 0.1, m), (0.5 + parity * 0.01, 0.5)]
        });
        assert_eq!(result.len(), 3);
        assert_eq!(result[0].p_value, 1.0, "all differences zero");
        assert_eq!(result[0].interval, Some(Interval { low: 0.0, high: 0.0 }));
        assert_eq!(result[0].difference, 0.0);
        assert_eq!(result[1].p_value, 0.0, "every difference positive");
        assert_close(result[1].difference, 0.3, "point difference");
        let i = result[1].interval.expect("defined");
        assert_close(i.low, 0.1, "low");
        assert_close(i.high, 0.1, "high");
        // Here p = 2 · min(#{d ≤ 0}, #{d ≥ 0}) / #d exactly.
        let mut resampler = Resampler::new(n, 9);
        let mut idx = Vec::new();
        let negatives = (0..200)
            .filter(|_| {
                resampler.next_into(&mut idx);
                idx[0] % 2 == 1
            })
            .count() as f64;
        assert_close(result[2].p_value, (2.0 * negatives.min(200.0 - negatives) / 200.0).min(1.0), "p");
        // Undefined on most resamples: no interval and a NaN p-value.
        let undefined = paired_bootstrap(n, 10, 1, 0.95, &[(1.0, 0.0)], |_| vec![(f64::NAN, 0.0)]);
        assert_eq!(undefined[0].interval, None);
        assert!(undefined[0].p_value.is_nan());
        assert_eq!(undefined[0].difference, 1.0);
    }

    #[test]
    fn paired_bootstrap_on_the_fixture_models() {
        let fx = fixture();
        let (labels, proba_a, proba_b) = binary_models(&fx);
        let n = labels.len();
        let a = metrics::classification_scalars(&labels, &proba_a, 2, &(0..n).collect::<Vec<_>>());
        let b = metrics::classification_scalars(&labels, &proba_b, 2, &(0..n).collect::<Vec<_>>());
        let point: Vec<(f64, f64)> = a.iter().copied().zip(b.iter().copied()).collect();
        let run = |seed| {
            paired_bootstrap(n, 300, seed, 0.95, &point, |idx| {
                let a = metrics::classification_scalars(&labels, &proba_a, 2, idx);
                let b = metrics::classification_scalars(&labels, &proba_b, 2, idx);
                a.into_iter().zip(b).collect()
            })
        };
        let result = run(21);
        assert_eq!(result, run(21));
        assert_ne!(result, run(22));
        let auc = &result[5];
        assert_close(auc.difference, point[5].0 - point[5].1, "AUC difference");
        let i = auc.interval.expect("defined");
        assert!(i.low < auc.difference && auc.difference < i.high);
        // Model a is clearly better by AUC (DeLong p ≈ 0.003): the interval excludes 0.
        assert!(i.low > 0.0 && auc.p_value < 0.05, "{auc:?}");
        assert!(result.iter().all(|d| (0.0..=1.0).contains(&d.p_value)));
    }
}

//! Distances between a baseline distribution and a window's, per column: [`feature_drift`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::constraints::{CategoricalDriftMethod, ComparisonMethod, DistributionConstraints};
use crate::sketch::KllSketch;
use crate::statistics::{FeatureStatistics, NumericalStatistics, StringStatistics};

/// Whether a column is compared as numbers or as categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Compared through CDFs (KLL sketches).
    Numerical,
    /// Compared through category frequencies.
    Categorical,
}

/// Every distance between one column's baseline and window distributions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// The column.
    pub feature: String,
    /// Numerical or categorical.
    pub kind: DriftKind,
    /// Values present in the baseline.
    pub n_baseline: u64,
    /// Values present in the window.
    pub n_window: u64,
    /// SageMaker's "Simple": the largest gap between the two CDFs (numerical) or category
    /// frequencies (categorical).
    pub linf: f64,
    /// SageMaker's "Robust": `max(0, linf − 1.8·√((n+m)/(n·m)))`.
    pub linf_robust: f64,
    /// The distance the constraints' `comparison_method` selects (compared with the
    /// threshold).
    pub distance: f64,
    /// Population stability index over the baseline's deciles (numerical) or categories.
    pub psi: f64,
    /// Two-sample Kolmogorov–Smirnov statistic (numerical).
    pub ks_statistic: Option<f64>,
    /// Its asymptotic p-value (numerical).
    pub ks_pvalue: Option<f64>,
    /// Chi-squared test p-value of the window's counts against the baseline's frequencies
    /// (categorical).
    pub chi_squared_pvalue: Option<f64>,
    /// First Wasserstein distance (numerical), in the column's units.
    pub wasserstein: Option<f64>,
    /// Jensen–Shannon distance (base 2, 0–1) over the same bins as PSI.
    pub jensen_shannon: f64,
    /// Effect size: the Wasserstein distance over the baseline's standard deviation
    /// (numerical), Cramér's V (categorical).
    pub effect_size: f64,
    /// Whether the column has drifted: `distance` above the threshold.
    pub drifted: bool,
}

/// The floor applied to empty bins' proportions in the PSI (and the chi-squared test's expected
/// frequencies), so a bin empty on one side adds a large but finite term (the usual choice, as
/// in Evidently).
pub const PSI_EPSILON: f64 = 1e-4;

/// The factor of SageMaker's "Robust" allowance `1.8·√((n+m)/(n·m))`.
pub const ROBUST_FACTOR: f64 = 1.8;

/// Every distance between one column's baseline and window distributions, or `None` when they
/// cannot be compared: either side has no value, one side is numerical and the other
/// categorical (the type checks report that), or a sketch is unreadable.
///
/// Numerical columns are compared through their KLL sketches (exact below 2048 values per
/// side, else within [`crate::sketch::RANK_ERROR`] per CDF value):
///
/// - `linf` ("Simple"): the largest gap between the two CDFs, which is also the two-sample
///   Kolmogorov–Smirnov statistic; `linf_robust` ("Robust"): `max(0, linf − 1.8·√((n+m)/(n·m)))`;
/// - `ks_pvalue`: Kolmogorov's asymptotic distribution at `√(n·m/(n+m))·D` with Stephens'
///   finite-sample correction (`(√en + 0.12 + 0.11/√en)·D`), which tracks
///   `scipy.stats.ks_2samp(method='asymp')` (the tests state the tolerance);
/// - `wasserstein`: `∫|F − G|`, as `scipy.stats.wasserstein_distance`;
/// - `psi` and `jensen_shannon` over the baseline's deciles: bins `(−∞, d1], (d1, d2], …,
///   (d9, ∞)` with `d_i` the baseline's `i/10` quantiles (inverted-CDF definition); PSI is
///   `Σ (q − p)·ln(q/p)` with both proportions floored at [`PSI_EPSILON`]; Jensen–Shannon is the
///   base-2 distance (0–1) of the raw proportions, as `scipy.spatial.distance.jensenshannon`;
/// - `effect_size`: Wasserstein over the baseline's standard deviation (the unscaled
///   Wasserstein distance when that deviation is 0).
///
/// Categorical columns are compared over the union of categories (the baseline's, then values
/// only the window has): `linf` is the largest frequency gap, PSI and Jensen–Shannon use the
/// categories as bins, `chi_squared_pvalue` tests the window's counts against the baseline's
/// frequencies (floored at [`PSI_EPSILON`] and renormalised, `k − 1` degrees of freedom, as
/// `scipy.stats.chisquare`), and `effect_size` is Cramér's V of the 2×k table baseline/window
/// (as `scipy.stats.contingency.association(method='cramer')`).
///
/// `distance` is `linf` (`Simple`) or `linf_robust` (`Robust`); for categorical columns with
/// the `ChiSquared` method it is Cramér's V. `drifted` is `distance > comparison_threshold`.
///
/// **Why a large window of unchanged data is never flagged**: every `distance` is an *effect
/// size* — how far apart the distributions are — not a p-value. With a million rows a test's
/// p-value becomes tiny for differences nobody cares about, but the CDF gap of two samples of
/// the same distribution shrinks towards 0 as they grow (and the Robust allowance removes the
/// sampling noise of small windows), so it stays below the threshold. The p-values are reported
/// for information only.
#[must_use]
pub fn feature_drift(
    baseline: &FeatureStatistics,
    window: &FeatureStatistics,
    config: &DistributionConstraints,
) -> Option<FeatureDrift> {
    let drift = match (
        &baseline.numerical_statistics,
        &window.numerical_statistics,
        &baseline.string_statistics,
        &window.string_statistics,
    ) {
        (Some(b), Some(w), _, _) => numerical(&baseline.name, b, w, config),
        (None, None, Some(b), Some(w)) => categorical(&baseline.name, b, w, config),
        _ => None,
    };
    if let Some(d) = &drift {
        tracing::debug!(feature = %d.feature, distance = d.distance, drifted = d.drifted, "drift");
    }
    drift
}

fn robust(linf: f64, n: u64, m: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let (n, m) = (n as f64, m as f64);
    (linf - ROBUST_FACTOR * ((n + m) / (n * m)).sqrt()).max(0.0)
}

fn numerical(
    name: &str,
    b: &NumericalStatistics,
    w: &NumericalStatistics,
    config: &DistributionConstraints,
) -> Option<FeatureDrift> {
    let sb = KllSketch::from_data(&b.distribution.kll.sketch).ok()?;
    let sw = KllSketch::from_data(&w.distribution.kll.sketch).ok()?;
    let (n, m) = (sb.count(), sw.count());
    if n == 0 || m == 0 {
        return None;
    }
    let ib = sb.weighted_items();
    let iw = sw.weighted_items();
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let (nf, mf) = (n as f64, m as f64);
    // Sweep both sorted item lists: after each distinct value, F and G are the CDFs there.
    let (mut i, mut j) = (0, 0);
    let (mut cb, mut cw) = (0u64, 0u64);
    let mut linf: f64 = 0.0;
    let mut wasserstein = 0.0;
    let mut prev: Option<(f64, f64)> = None; // (x, |F − G|) at the previous distinct value
    while i < ib.len() || j < iw.len() {
        let x = match (ib.get(i), iw.get(j)) {
            (Some(a), Some(c)) => a.0.min(c.0),
            (Some(a), None) => a.0,
            (None, Some(c)) => c.0,
            (None, None) => break,
        };
        while let Some(&(v, wt)) = ib.get(i).filter(|e| e.0 <= x) {
            let _ = v;
            cb += wt;
            i += 1;
        }
        while let Some(&(_, wt)) = iw.get(j).filter(|e| e.0 <= x) {
            cw += wt;
            j += 1;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let gap = (cb as f64 / nf - cw as f64 / mf).abs();
        if let Some((px, pgap)) = prev {
            wasserstein += pgap * (x - px);
        }
        linf = linf.max(gap);
        prev = Some((x, gap));
    }
    let en = nf * mf / (nf + mf);
    let ks_pvalue = kolmogorov_sf((en.sqrt() + 0.12 + 0.11 / en.sqrt()) * linf);

    // Deciles of the baseline as bin edges.
    let edges: Vec<f64> = sb.quantiles(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]).into_iter().flatten().collect();
    let bins = |s: &KllSketch| -> Vec<f64> {
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let total = s.count() as f64;
        let mut out = Vec::with_capacity(edges.len() + 1);
        let mut below = 0u64;
        for &e in &edges {
            let r = s.rank(e);
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
            out.push(r.saturating_sub(below) as f64 / total);
            below = below.max(r);
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        out.push(s.count().saturating_sub(below) as f64 / total);
        out
    };
    let (p, q) = (bins(&sb), bins(&sw));
    let linf_robust = robust(linf, n, m);
    let effect_size = if b.std_dev > 0.0 { wasserstein / b.std_dev } else { wasserstein };
    let distance = match config.comparison_method {
        ComparisonMethod::Simple => linf,
        ComparisonMethod::Robust => linf_robust,
    };
    Some(FeatureDrift {
        feature: name.to_owned(),
        kind: DriftKind::Numerical,
        n_baseline: n,
        n_window: m,
        linf,
        linf_robust,
        distance,
        psi: psi(&p, &q),
        ks_statistic: Some(linf),
        ks_pvalue: Some(ks_pvalue),
        chi_squared_pvalue: None,
        wasserstein: Some(wasserstein),
        jensen_shannon: jensen_shannon(&p, &q),
        effect_size,
        drifted: distance > config.comparison_threshold,
    })
}

fn categorical(
    name: &str,
    b: &StringStatistics,
    w: &StringStatistics,
    config: &DistributionConstraints,
) -> Option<FeatureDrift> {
    let bb = &b.distribution.categorical.buckets;
    let wb = &w.distribution.categorical.buckets;
    let n: u64 = bb.iter().map(|x| x.count).sum();
    let m: u64 = wb.iter().map(|x| x.count).sum();
    if n == 0 || m == 0 {
        return None;
    }
    // Union of categories: baseline order, then window-only values in the window's order.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut counts: Vec<(u64, u64)> = Vec::new();
    for x in bb {
        let k = *index.entry(x.value.as_str()).or_insert_with(|| {
            counts.push((0, 0));
            counts.len() - 1
        });
        counts[k].0 += x.count;
    }
    for x in wb {
        let k = *index.entry(x.value.as_str()).or_insert_with(|| {
            counts.push((0, 0));
            counts.len() - 1
        });
        counts[k].1 += x.count;
    }
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let (nf, mf) = (n as f64, m as f64);
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let p: Vec<f64> = counts.iter().map(|c| c.0 as f64 / nf).collect();
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
    let q: Vec<f64> = counts.iter().map(|c| c.1 as f64 / mf).collect();
    let linf = p.iter().zip(&q).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    let linf_robust = robust(linf, n, m);

    // Goodness of fit of the window's counts to the baseline's (floored) frequencies.
    let floored: Vec<f64> = p.iter().map(|&x| x.max(PSI_EPSILON)).collect();
    let total: f64 = floored.iter().sum();
    let chi2: f64 = counts
        .iter()
        .zip(&floored)
        .map(|(c, f)| {
            let e = f / total * mf;
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
            let o = c.1 as f64;
            (o - e) * (o - e) / e
        })
        .sum();
    let df = counts.len().saturating_sub(1);
    #[expect(clippy::cast_precision_loss, reason = "few categories")]
    let chi_squared_pvalue = if df == 0 { 1.0 } else { ChiSquared::new(df as f64).map_or(f64::NAN, |d| d.sf(chi2)) };
    // Cramér's V of the 2×k contingency table.
    let big_n = nf + mf;
    let contingency: f64 = counts
        .iter()
        .map(|c| {
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
            let col = (c.0 + c.1) as f64;
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
            let (o1, o2) = (c.0 as f64, c.1 as f64);
            let (e1, e2) = (nf * col / big_n, mf * col / big_n);
            (o1 - e1) * (o1 - e1) / e1 + (o2 - e2) * (o2 - e2) / e2
        })
        .sum();
    let cramers_v = if counts.len() < 2 { 0.0 } else { (contingency / big_n).sqrt().min(1.0) };
    let distance = match (config.categorical_drift_method, config.comparison_method) {
        (CategoricalDriftMethod::ChiSquared, _) => cramers_v,
        (CategoricalDriftMethod::LInfinity, ComparisonMethod::Simple) => linf,
        (CategoricalDriftMethod::LInfinity, ComparisonMethod::Robust) => linf_robust,
    };
    Some(FeatureDrift {
        feature: name.to_owned(),
        kind: DriftKind::Categorical,
        n_baseline: n,
        n_window: m,
        linf,
        linf_robust,
        distance,
        psi: psi(&p, &q),
        ks_statistic: None,
        ks_pvalue: None,
        chi_squared_pvalue: chi_squared_pvalue.is_finite().then_some(chi_squared_pvalue),
        wasserstein: None,
        jensen_shannon: jensen_shannon(&p, &q),
        effect_size: cramers_v,
        drifted: distance > config.comparison_threshold,
    })
}

/// `Σ (q − p)·ln(q/p)` with both proportions floored at [`PSI_EPSILON`].
fn psi(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(&a, &b)| {
            let (a, b) = (a.max(PSI_EPSILON), b.max(PSI_EPSILON));
            (b - a) * (b / a).ln()
        })
        .sum()
}

/// Jensen–Shannon distance in base 2 (the square root of the divergence), 0–1.
fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if sp <= 0.0 || sq <= 0.0 {
        return 0.0;
    }
    let kl = |a: f64, m: f64| if a > 0.0 { a * (a / m).log2() } else { 0.0 };
    let div: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| {
            let (a, b) = (a / sp, b / sq);
            let m = f64::midpoint(a, b);
            f64::midpoint(kl(a, m), kl(b, m))
        })
        .sum();
    div.max(0.0).sqrt().min(1.0)
}

/// The survival function of Kolmogorov's distribution, `P(K > x)`.
fn kolmogorov_sf(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x < 1.0 {
        // P(K ≤ x) = √(2π)/x · Σ exp(−(2j−1)²π²/(8x²)), quick for small x.
        let t = -std::f64::consts::PI * std::f64::consts::PI / (8.0 * x * x);
        let mut s = 0.0;
        for j in 1..=20u32 {
            let k = f64::from(2 * j - 1);
            s += (k * k * t).exp();
        }
        (1.0 - (2.0 * std::f64::consts::PI).sqrt() / x * s).clamp(0.0, 1.0)
    } else {
        // P(K > x) = 2 Σ (−1)^(j−1) exp(−2j²x²).
        let mut s = 0.0;
        for j in 1..=100u32 {
            let jf = f64::from(j);
            let term = (-2.0 * jf * jf * x * x).exp();
            s += if j % 2 == 1 { term } else { -term };
            if term < 1e-300 {
                break;
            }
        }
        (2.0 * s).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorov_tail_matches_known_values() {
        // scipy.special.kolmogorov(1.0) = 0.26999967167735456, (0.5) = 0.9639452436648751
        assert!((kolmogorov_sf(1.0) - 0.269_999_671_677_354_56).abs() < 1e-12);
        assert!((kolmogorov_sf(0.5) - 0.963_945_243_664_875_1).abs() < 1e-12);
        assert!((kolmogorov_sf(0.999_999) - kolmogorov_sf(1.000_001)).abs() < 1e-5);
    }

    #[test]
    fn identical_bins_have_zero_distances() {
        let p = [0.1; 10];
        assert!(psi(&p, &p).abs() < 1e-15);
        assert!(jensen_shannon(&p, &p).abs() < 1e-12);
        assert!((jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-12);
    }
}

//! Distances between a baseline distribution and a window's, per column.

use serde::{Deserialize, Serialize};

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

//! `constraints.json` in SageMaker Model Monitor's format (contract B3): what a monitoring run
//! checks the window against.

use serde::{Deserialize, Serialize};

use crate::statistics::InferredType;

/// A whole `constraints.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Always 0.
    pub version: u32,
    /// One entry per baseline column.
    pub features: Vec<FeatureConstraints>,
    /// How checks are run.
    pub monitoring_config: MonitoringConfig,
}

/// One column's constraints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureConstraints {
    /// Column name.
    pub name: String,
    /// The type the column must keep.
    pub inferred_type: InferredType,
    /// Share of rows where the value must be present (0–1).
    pub completeness: f64,
    /// For numeric columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_constraints: Option<NumConstraints>,
    /// For string columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_constraints: Option<StringConstraints>,
    /// Per-feature overrides of [`MonitoringConfig`] (kept as given).
    #[serde(default, rename = "monitoringConfigOverrides", skip_serializing_if = "Option::is_none")]
    pub monitoring_config_overrides: Option<serde_json::Value>,
}

/// `num_constraints`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumConstraints {
    /// Whether negative values are a violation.
    pub is_non_negative: bool,
}

/// `string_constraints`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringConstraints {
    /// The values seen in the baseline.
    pub domains: Vec<String>,
}

/// `Enabled` / `Disabled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Toggle {
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

/// `monitoring_config`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitoringConfig {
    /// Whether constraints are evaluated.
    pub evaluate_constraints: Toggle,
    /// Whether metrics are emitted.
    pub emit_metrics: Toggle,
    /// Share of values of another type tolerated before `data_type_check`.
    pub datatype_check_threshold: f64,
    /// Share of unknown categorical values tolerated before `categorical_values_check`.
    pub domain_content_threshold: f64,
    /// Distribution comparison.
    pub distribution_constraints: DistributionConstraints,
}

/// Simple = L-infinity between CDFs; Robust = with an allowance for sampling noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComparisonMethod {
    /// L-infinity distance between the CDFs.
    Simple,
    /// `max(0, Simple − 1.8·√((n+m)/(n·m)))`.
    Robust,
}

/// How categorical distributions are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CategoricalDriftMethod {
    /// L-infinity distance between the category frequencies.
    LInfinity,
    /// Chi-squared test of the window's counts against the baseline's frequencies.
    ChiSquared,
}

/// `distribution_constraints`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistributionConstraints {
    /// Whether distributions are compared.
    pub perform_comparison: Toggle,
    /// Distance above which a column has drifted.
    pub comparison_threshold: f64,
    /// Numerical comparison method.
    pub comparison_method: ComparisonMethod,
    /// Categorical comparison method.
    #[serde(default = "default_categorical")]
    pub categorical_drift_method: CategoricalDriftMethod,
}

fn default_categorical() -> CategoricalDriftMethod {
    CategoricalDriftMethod::LInfinity
}

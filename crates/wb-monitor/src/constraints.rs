//! `constraints.json` in SageMaker Model Monitor's format (contract B3): what a monitoring run
//! checks the window against, [`suggest`]ed from baseline statistics like SageMaker's
//! `suggest_baseline` and read back (hand-edited) with [`Constraints::from_json`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::statistics::{InferredType, Statistics, bad, lenient_u64, parse_document};

/// The largest number of distinct values for which [`suggest`] writes a `domains` constraint
/// (a String column with more distinct values — identifiers, free text — gets none, since
/// every new window would bring unseen values).
pub const MAX_DOMAIN_VALUES: u64 = 256;

/// A whole `constraints.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// Always 0 (SageMaker's analyzer writes `0.0`, which is accepted).
    #[serde(deserialize_with = "lenient_u32")]
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
    #[serde(default = "enabled")]
    pub evaluate_constraints: Toggle,
    /// Whether metrics are emitted.
    #[serde(default = "enabled")]
    pub emit_metrics: Toggle,
    /// Share of values of another type tolerated before `data_type_check`.
    #[serde(default = "default_threshold")]
    pub datatype_check_threshold: f64,
    /// Share of unknown categorical values tolerated before `categorical_values_check`.
    #[serde(default = "default_threshold")]
    pub domain_content_threshold: f64,
    /// Distribution comparison.
    #[serde(default)]
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
    #[serde(default = "enabled")]
    pub perform_comparison: Toggle,
    /// Distance above which a column has drifted.
    #[serde(default = "default_threshold")]
    pub comparison_threshold: f64,
    /// Numerical comparison method.
    #[serde(default = "default_method")]
    pub comparison_method: ComparisonMethod,
    /// Categorical comparison method.
    #[serde(default = "default_categorical")]
    pub categorical_drift_method: CategoricalDriftMethod,
}

fn default_categorical() -> CategoricalDriftMethod {
    CategoricalDriftMethod::LInfinity
}

fn enabled() -> Toggle {
    Toggle::Enabled
}

fn default_threshold() -> f64 {
    0.1
}

fn default_method() -> ComparisonMethod {
    ComparisonMethod::Robust
}

fn lenient_u32<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let v = lenient_u64(d)?;
    u32::try_from(v)
        .map_err(|_| serde::de::Error::invalid_value(serde::de::Unexpected::Unsigned(v), &"a whole number below 2^32"))
}

impl Toggle {
    /// Whether the toggle is `Enabled`.
    #[must_use]
    pub fn is_enabled(self) -> bool {
        self == Self::Enabled
    }
}

impl Default for DistributionConstraints {
    /// `suggest_baseline`'s defaults: comparison enabled, threshold 0.1, `Robust`, `LInfinity`.
    fn default() -> Self {
        Self {
            perform_comparison: Toggle::Enabled,
            comparison_threshold: 0.1,
            comparison_method: ComparisonMethod::Robust,
            categorical_drift_method: CategoricalDriftMethod::LInfinity,
        }
    }
}

impl Default for MonitoringConfig {
    /// `suggest_baseline`'s defaults: constraints evaluated and metrics emitted, both type and
    /// domain thresholds 0.1, [`DistributionConstraints::default`].
    fn default() -> Self {
        Self {
            evaluate_constraints: Toggle::Enabled,
            emit_metrics: Toggle::Enabled,
            datatype_check_threshold: 0.1,
            domain_content_threshold: 0.1,
            distribution_constraints: DistributionConstraints::default(),
        }
    }
}

impl Constraints {
    /// Reads a `constraints.json`, hand-edited or as SageMaker's analyzer writes it
    /// (`version` as `0.0`, unknown fields ignored, missing `monitoring_config` entries
    /// defaulted as in [`MonitoringConfig::default`]).
    ///
    /// # Errors
    /// [`Error::BadDocument`] naming `document` and the field path, e.g.
    /// `features[2].completeness: expected a number between 0 and 1, got "high"`, for invalid
    /// JSON, wrong types, missing fields, completeness outside 0–1 and negative or non-finite
    /// thresholds.
    pub fn from_json(bytes: &[u8], document: &str) -> Result<Self> {
        let c: Self = parse_document(bytes, document, expectation)?;
        for (i, f) in c.features.iter().enumerate() {
            if !(0.0..=1.0).contains(&f.completeness) {
                return Err(bad(
                    document,
                    format!("features[{i}].completeness"),
                    &format!("expected a number between 0 and 1, got {}", f.completeness),
                ));
            }
        }
        let m = &c.monitoring_config;
        for (field, v) in [
            ("monitoring_config.datatype_check_threshold", m.datatype_check_threshold),
            ("monitoring_config.domain_content_threshold", m.domain_content_threshold),
            (
                "monitoring_config.distribution_constraints.comparison_threshold",
                m.distribution_constraints.comparison_threshold,
            ),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(document, field.to_owned(), &format!("expected a number >= 0, got {v}")));
            }
        }
        Ok(c)
    }

    /// The document as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for non-finite numbers, which JSON cannot hold.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::InvalidInput(format!("constraints cannot be written as JSON: {e}")))
    }

    /// The constraints of the feature named `name`.
    #[must_use]
    pub fn feature(&self, name: &str) -> Option<&FeatureConstraints> {
        self.features.iter().find(|f| f.name == name)
    }
}

fn expectation(key: &str) -> Option<&'static str> {
    match key {
        "completeness" => Some("a number between 0 and 1"),
        "datatype_check_threshold" | "domain_content_threshold" | "comparison_threshold" => Some("a number >= 0"),
        "evaluate_constraints" | "emit_metrics" | "perform_comparison" => Some(r#""Enabled" or "Disabled""#),
        _ => None,
    }
}

/// Constraints suggested from baseline statistics, as `suggest_baseline` does:
///
/// - `completeness`: the baseline's present share (`num_present / item_count`, 1 for an empty
///   baseline);
/// - `num_constraints.is_non_negative` for numerical columns: `min >= 0`;
/// - `string_constraints.domains` for String columns with 1 to [`MAX_DOMAIN_VALUES`] distinct
///   values: every observed value, in the statistics' bucket order;
/// - `monitoring_config`: [`MonitoringConfig::default`].
#[must_use]
pub fn suggest(statistics: &Statistics) -> Constraints {
    let items = statistics.dataset.item_count;
    let features = statistics
        .features
        .iter()
        .map(|f| {
            let present = f.common().num_present;
            #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
            let completeness = if items == 0 { 1.0 } else { (present as f64 / items as f64).min(1.0) };
            let num_constraints = f
                .numerical_statistics
                .as_ref()
                .filter(|n| n.common.num_present > 0)
                .map(|n| NumConstraints { is_non_negative: n.min >= 0.0 });
            let string_constraints =
                f.string_statistics.as_ref().filter(|s| (1..=MAX_DOMAIN_VALUES).contains(&s.distinct_count)).map(|s| {
                    StringConstraints {
                        domains: s.distribution.categorical.buckets.iter().map(|b| b.value.clone()).collect(),
                    }
                });
            FeatureConstraints {
                name: f.name.clone(),
                inferred_type: f.inferred_type,
                completeness,
                num_constraints,
                string_constraints,
                monitoring_config_overrides: None,
            }
        })
        .collect();
    tracing::debug!(features = statistics.features.len(), "suggested constraints");
    Constraints { version: 0, features, monitoring_config: MonitoringConfig::default() }
}

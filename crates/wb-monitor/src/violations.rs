//! `constraint_violations.json` in SageMaker Model Monitor's format (contract B3).

use serde::{Deserialize, Serialize};

/// A whole `constraint_violations.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConstraintViolations {
    /// The violations, in column order then check order.
    pub violations: Vec<Violation>,
}

/// One violation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// The column.
    pub feature_name: String,
    /// Which check failed.
    pub constraint_check_type: CheckType,
    /// What was found, with the numbers.
    pub description: String,
}

/// SageMaker's check types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckType {
    /// Values of another type beyond `datatype_check_threshold`.
    DataTypeCheck,
    /// Completeness below the baseline's.
    CompletenessCheck,
    /// Distribution distance above `comparison_threshold`.
    BaselineDriftCheck,
    /// Fewer columns than the baseline.
    MissingColumnCheck,
    /// More columns than the baseline.
    ExtraColumnCheck,
    /// Unknown categorical values beyond `domain_content_threshold`.
    CategoricalValuesCheck,
}

//! `statistics.json` in SageMaker Model Monitor's format (contract B3), for the baseline and
//! for each monitoring run's window.
//!
//! ```json
//! {"version": 0,
//!  "dataset": {"item_count": 3},
//!  "features": [
//!    {"name": "alcohol", "inferred_type": "Fractional",
//!     "numerical_statistics": {"common": {"num_present": 3, "num_missing": 0},
//!       "mean": 10.0, "sum": 30.0, "std_dev": 0.8, "min": 9.0, "max": 11.0,
//!       "distribution": {"kll": {"buckets": [{"lower_bound": 9.0, "upper_bound": 9.2, "count": 1}],
//!                                "sketch": {"parameters": {"c": 0.64, "k": 2048}, "data": [[9.0, 10.0, 11.0]]}}}}},
//!    {"name": "colour", "inferred_type": "String",
//!     "string_statistics": {"common": {"num_present": 3, "num_missing": 0}, "distinct_count": 2,
//!       "distribution": {"categorical": {"buckets": [{"value": "red", "count": 2}]}}}}]}
//! ```

use serde::{Deserialize, Serialize};

/// A whole `statistics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Always 0.
    pub version: u32,
    /// Dataset-level counts.
    pub dataset: DatasetStatistics,
    /// One entry per column, in column order.
    pub features: Vec<FeatureStatistics>,
}

/// `dataset`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetStatistics {
    /// Rows seen.
    pub item_count: u64,
}

/// The type Model Monitor infers for a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InferredType {
    /// Whole numbers.
    Integral,
    /// Real numbers.
    Fractional,
    /// Text.
    String,
    /// No value seen.
    Unknown,
}

/// One column's statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureStatistics {
    /// Column name.
    pub name: String,
    /// The inferred type.
    pub inferred_type: InferredType,
    /// For `Integral` and `Fractional` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical_statistics: Option<NumericalStatistics>,
    /// For `String` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_statistics: Option<StringStatistics>,
}

/// `common`: present and missing counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommonStatistics {
    /// Values present.
    pub num_present: u64,
    /// Values missing.
    pub num_missing: u64,
}

/// `numerical_statistics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericalStatistics {
    /// Counts.
    pub common: CommonStatistics,
    /// Mean of the present values.
    pub mean: f64,
    /// Sum of the present values.
    pub sum: f64,
    /// Population standard deviation of the present values.
    pub std_dev: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// The KLL sketch and its 10 materialised buckets.
    pub distribution: NumericalDistribution,
}

/// `distribution` of a numerical column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericalDistribution {
    /// The KLL sketch.
    pub kll: KllDistribution,
}

/// `kll`: buckets and the sketch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KllDistribution {
    /// 10 equal-width buckets between min and max, with approximate counts.
    pub buckets: Vec<KllBucket>,
    /// The sketch itself.
    pub sketch: KllSketchData,
}

/// One bucket of a KLL distribution.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KllBucket {
    /// Inclusive lower bound.
    pub lower_bound: f64,
    /// Upper bound (inclusive for the last bucket).
    pub upper_bound: f64,
    /// Approximate count.
    pub count: f64,
}

/// `sketch`: parameters and the compactors' items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KllSketchData {
    /// `c` (shrinking factor) and `k` (sketch size).
    pub parameters: KllParameters,
    /// One array per compactor level; an item at level `h` weighs `2^h`.
    pub data: Vec<Vec<f64>>,
}

/// `parameters` of a KLL sketch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KllParameters {
    /// Shrinking factor (Deequ: 0.64).
    pub c: f64,
    /// Sketch size (Deequ: 2048).
    pub k: f64,
}

/// `string_statistics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StringStatistics {
    /// Counts.
    pub common: CommonStatistics,
    /// Distinct values.
    pub distinct_count: u64,
    /// Counts per value.
    pub distribution: StringDistribution,
}

/// `distribution` of a string column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StringDistribution {
    /// Counts per value.
    pub categorical: CategoricalDistribution,
}

/// `categorical`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoricalDistribution {
    /// One bucket per value, most frequent first (ties by value).
    pub buckets: Vec<CategoricalBucket>,
}

/// One value's count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoricalBucket {
    /// The value.
    pub value: String,
    /// Its count.
    pub count: u64,
}

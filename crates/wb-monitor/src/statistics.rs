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

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::sketch::KllSketch;

/// A whole `statistics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Always 0 (SageMaker's analyzer writes `0.0`, which is accepted).
    #[serde(deserialize_with = "lenient_u32")]
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
    #[serde(deserialize_with = "lenient_u64")]
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
    /// Values present (in a numerical column this includes text that is not a number; the
    /// numbers among them are the sketch's count).
    #[serde(deserialize_with = "lenient_u64")]
    pub num_present: u64,
    /// Values missing.
    #[serde(deserialize_with = "lenient_u64")]
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
    #[serde(deserialize_with = "lenient_u64")]
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
    #[serde(deserialize_with = "lenient_u64")]
    pub count: u64,
}

impl Statistics {
    /// Reads a `statistics.json` (also as SageMaker's analyzer writes it: `version` as `0.0`,
    /// counts as whole floats, unknown fields ignored).
    ///
    /// # Errors
    /// [`Error::BadDocument`] naming `document` and the field path
    /// (`features[2].numerical_statistics.mean: expected a number, got "x"`) for invalid JSON,
    /// wrong types, missing fields, a negative `std_dev`, `min` above `max`, an unreadable KLL
    /// sketch or a feature whose statistics do not match its `inferred_type`.
    pub fn from_json(bytes: &[u8], document: &str) -> Result<Self> {
        let stats: Self = parse_document(bytes, document, |_| None)?;
        for (i, f) in stats.features.iter().enumerate() {
            let at = |field: &str| format!("features[{i}].{field}");
            match (f.inferred_type, &f.numerical_statistics, &f.string_statistics) {
                (InferredType::Integral | InferredType::Fractional, None, _) => {
                    return Err(bad(document, at("numerical_statistics"), "missing for a numerical feature"));
                }
                (InferredType::String, _, None) => {
                    return Err(bad(document, at("string_statistics"), "missing for a String feature"));
                }
                _ => {}
            }
            if let Some(n) = &f.numerical_statistics {
                if n.std_dev < 0.0 {
                    return Err(bad(
                        document,
                        at("numerical_statistics.std_dev"),
                        &format!("expected a number >= 0, got {}", n.std_dev),
                    ));
                }
                if n.common.num_present > 0 && n.min > n.max {
                    return Err(bad(
                        document,
                        at("numerical_statistics.min"),
                        &format!("the minimum {} is above the maximum {}", n.min, n.max),
                    ));
                }
                KllSketch::from_data(&n.distribution.kll.sketch)
                    .map_err(|e| bad(document, at("numerical_statistics.distribution.kll.sketch"), &e.to_string()))?;
            }
        }
        Ok(stats)
    }

    /// The document as pretty-printed JSON.
    ///
    /// # Errors
    /// Never in practice (serialisation of these types cannot fail); kept fallible for
    /// non-finite numbers, which JSON cannot hold.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::InvalidInput(format!("statistics cannot be written as JSON: {e}")))
    }

    /// The feature named `name`.
    #[must_use]
    pub fn feature(&self, name: &str) -> Option<&FeatureStatistics> {
        self.features.iter().find(|f| f.name == name)
    }
}

impl FeatureStatistics {
    /// Present and missing counts, whichever statistics the feature has (zero for an
    /// `Unknown` feature without statistics).
    #[must_use]
    pub fn common(&self) -> CommonStatistics {
        self.numerical_statistics
            .as_ref()
            .map(|n| n.common)
            .or_else(|| self.string_statistics.as_ref().map(|s| s.common))
            .unwrap_or(CommonStatistics { num_present: 0, num_missing: 0 })
    }
}

pub(crate) fn bad(document: &str, field: String, message: &str) -> Error {
    Error::BadDocument { document: document.to_owned(), field, message: message.to_owned() }
}

/// Parses a monitoring document, reporting the JSON path of the first bad field. `expect`
/// names what a field must be (by its last key) to replace serde's type names.
pub(crate) fn parse_document<T: DeserializeOwned>(
    bytes: &[u8],
    document: &str,
    expect: fn(&str) -> Option<&'static str>,
) -> Result<T> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        bad(document, format!("line {} column {}", e.line(), e.column()), &format!("not valid JSON: {e}"))
    })?;
    serde_path_to_error::deserialize(&value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.inner().to_string();
        let mut got = Some(&value);
        let mut last_key = String::new();
        for seg in err.path() {
            got = match seg {
                serde_path_to_error::Segment::Seq { index } => got.and_then(|v| v.get(*index)),
                serde_path_to_error::Segment::Map { key } => {
                    last_key.clone_from(key);
                    got.and_then(|v| v.get(key))
                }
                serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => got,
            };
        }
        let field = if path == "." || path.is_empty() { "(document)".to_owned() } else { path };
        let message = if inner.starts_with("invalid type") || inner.starts_with("invalid value") {
            let wanted = expect(&last_key).map_or_else(
                || describe_expected(inner.rsplit_once(", expected ").map_or("", |(_, e)| e)),
                str::to_owned,
            );
            match got {
                Some(v) => format!("expected {wanted}, got {v}"),
                None => format!("expected {wanted}"),
            }
        } else {
            inner
        };
        bad(document, field, &message)
    })
}

fn describe_expected(serde_name: &str) -> String {
    match serde_name {
        "f64" | "f32" => "a number".to_owned(),
        "u64" | "u32" | "usize" => "a whole number >= 0".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "" => "another type".to_owned(),
        other => other.to_owned(),
    }
}

/// A count as an integer or a whole float (`3` or `3.0`).
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number >= 0")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<u64, E> {
            // 2^64 as f64; whole floats below it convert exactly.
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 18_446_744_073_709_551_616.0 {
                #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked above")]
                Ok(v as u64)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(V)
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let v = lenient_u64(d)?;
    u32::try_from(v)
        .map_err(|_| serde::de::Error::invalid_value(serde::de::Unexpected::Unsigned(v), &"a whole number below 2^32"))
}

//! The feature encoding every model of a dataset shares.
//!
//! It is fitted on the **train split only** while partitioning and stored in the manifest:
//!
//! - numeric columns (integers, floats, booleans as 0/1) pass through; a missing value becomes
//!   the train mean;
//! - text columns become ordinal codes: the train split's categories, most frequent first
//!   (ties by value), at most [`MAX_CATEGORIES`]; code `k` is the k-th category, and missing or
//!   unseen values get the code `categories.len()`.
//!
//! The SageMaker CSV channels hold exactly this encoding (target first), and the linfa loaders
//! produce it, so a bespoke Rust model and a built-in algorithm see the same numbers.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Most categories kept per text column; rarer ones share the "other" code.
pub const MAX_CATEGORIES: usize = 255;

/// How one feature column becomes one number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureKind {
    /// A number; missing values become `impute`.
    Numeric {
        /// The train mean.
        impute: f64,
    },
    /// A category; the value is its index in `categories`, `categories.len()` when missing or
    /// unseen.
    Categorical {
        /// Train categories, most frequent first.
        categories: Vec<String>,
    },
}

/// One encoded feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureEncoding {
    /// The source column.
    pub name: String,
    /// Its Arrow type in the source.
    pub source_type: String,
    /// How it is encoded.
    #[serde(flatten)]
    pub kind: FeatureKind,
}

pub(crate) fn is_numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Boolean)
}

/// Occurrences of each value of a text column (a batch's): the values, and each one's count.
/// Merging them into a feature's statistics allocates only the values not counted before.
#[derive(Debug)]
pub(crate) struct CategoryCounts {
    pub(crate) values: StringArray,
    pub(crate) counts: Vec<u64>,
}

#[cfg(test)]
impl CategoryCounts {
    /// The count of `value`, if it is one of the values.
    pub(crate) fn get(&self, value: &str) -> Option<u64> {
        self.values.iter().position(|v| v == Some(value)).map(|i| self.counts[i])
    }
}

/// Accumulates train statistics for the encoding.
#[derive(Debug)]
pub(crate) enum FeatureStats {
    Numeric { sum: f64, count: u64 },
    Categorical { counts: HashMap<String, u64, FixedState> },
}

impl FeatureStats {
    pub(crate) fn for_type(t: &DataType) -> Self {
        if is_numeric(t) {
            Self::Numeric { sum: 0.0, count: 0 }
        } else {
            Self::Categorical { counts: HashMap::default() }
        }
    }

    pub(crate) fn update(&mut self, column: &dyn Array) -> Result<()> {
        match self {
            Self::Numeric { sum, count } => {
                let floats =
                    arrow::compute::cast(column, &DataType::Float64).map_err(|e| Error::data("encoding", e))?;
                for v in floats.as_primitive::<Float64Type>().iter().flatten() {
                    *sum += v;
                    *count += 1;
                }
            }
            Self::Categorical { .. } => self.merge(Self::count_values(column)?),
        }
        Ok(())
    }

    /// Whether this accumulates category counts (a text column).
    pub(crate) fn is_categorical(&self) -> bool {
        matches!(self, Self::Categorical { .. })
    }

    /// How often each value of a column occurs (nulls left out): what [`FeatureStats::update`]
    /// adds to a categorical column's counts, computed on any thread and added with
    /// [`FeatureStats::merge`]. Counts are integers, so the order of merging does not matter.
    pub(crate) fn count_values(column: &dyn Array) -> Result<CategoryCounts> {
        // Counted as a block's dictionary counts them (text, or text dictionary-encoded, as it
        // is; anything else as its text).
        let text = if crate::channel::is_text(column.data_type()) {
            None
        } else {
            Some(arrow::compute::cast(column, &DataType::Utf8).map_err(|e| Error::data("encoding", e))?)
        };
        let dictionary = crate::channel::Dictionary::of_array(text.as_deref().unwrap_or(column))
            .ok_or_else(|| Error::data("encoding", format!("a text column of {} values", column.len())))?;
        Ok(dictionary.counts())
    }

    /// Adds counts from [`FeatureStats::count_values`] (nothing for a numeric column).
    pub(crate) fn merge(&mut self, more: CategoryCounts) {
        if let Self::Categorical { counts } = self {
            for (v, &n) in more.values.iter().zip(&more.counts) {
                let (Some(v), 1..) = (v, n) else { continue };
                match counts.get_mut(v) {
                    Some(count) => *count += n,
                    None => {
                        counts.insert(v.to_owned(), n);
                    }
                }
            }
        }
    }

    pub(crate) fn finish(self, name: &str, source_type: &DataType) -> FeatureEncoding {
        let kind = match self {
            Self::Numeric { sum, count } => {
                FeatureKind::Numeric { impute: if count == 0 { 0.0 } else { sum / count as f64 } }
            }
            Self::Categorical { counts } => {
                // The most frequent first, ties by value: a total order (values are distinct),
                // so the first `MAX_CATEGORIES` are picked before they alone are sorted (a
                // diagnosis code column has tens of thousands of values).
                let order = |a: &(String, u64), b: &(String, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
                let mut pairs: Vec<(String, u64)> = counts.into_iter().collect();
                if pairs.len() > MAX_CATEGORIES {
                    pairs.select_nth_unstable_by(MAX_CATEGORIES, order);
                    pairs.truncate(MAX_CATEGORIES);
                }
                pairs.sort_unstable_by(order);
                FeatureKind::Categorical { categories: pairs.into_iter().map(|(v, _)| v).collect() }
            }
        };
        FeatureEncoding { name: name.to_owned(), source_type: source_type.to_string(), kind }
    }
}

/// The encoding of all features, in column order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Encoding(pub Vec<FeatureEncoding>);

impl Encoding {
    /// The feature names, in order.
    #[must_use]
    pub fn feature_names(&self) -> Vec<String> {
        self.0.iter().map(|f| f.name.clone()).collect()
    }

    /// Encodes the feature columns of a batch, one `Vec<f64>` per feature (column-major).
    ///
    /// # Errors
    /// [`Error::Data`] when a feature column is missing from the batch.
    pub fn encode_columns(&self, batch: &RecordBatch) -> Result<Vec<Vec<f64>>> {
        self.0
            .iter()
            .map(|feature| {
                let column = batch.column_by_name(&feature.name).ok_or_else(|| Error::Data {
                    what: "encoding".into(),
                    message: format!("the batch has no feature column {:?}", feature.name),
                })?;
                encode_column(feature, column.as_ref())
            })
            .collect()
    }

    /// Encodes a batch into a row-major matrix (rows × features), as linfa wants it.
    ///
    /// # Errors
    /// As [`Encoding::encode_columns`].
    pub fn encode_matrix(&self, batch: &RecordBatch) -> Result<Array2<f64>> {
        let columns = self.encode_columns(batch)?;
        let rows = batch.num_rows();
        Ok(Array2::from_shape_fn((rows, columns.len()), |(r, c)| columns[c][r]))
    }
}

fn encode_column(feature: &FeatureEncoding, column: &dyn Array) -> Result<Vec<f64>> {
    match &feature.kind {
        FeatureKind::Numeric { impute } => {
            let floats = arrow::compute::cast(column, &DataType::Float64)
                .map_err(|e| Error::data(format!("encoding {:?}", feature.name), e))?;
            Ok(floats.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(*impute)).collect())
        }
        FeatureKind::Categorical { categories } => {
            let index: HashMap<&str, usize, FixedState> =
                categories.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
            let other = categories.len() as f64;
            text_codes(column, |v| v.and_then(|v| index.get(v)).map_or(other, |&i| i as f64))
                .map_err(|e| Error::data(format!("encoding {:?}", feature.name), e))
        }
    }
}

/// `code` of every value of a text column (`None` when missing). A dictionary-encoded column
/// (as Parquet's dictionary pages read back) is looked up once per dictionary value, not per
/// row.
pub(crate) fn text_codes(
    column: &dyn Array,
    code: impl Fn(Option<&str>) -> f64,
) -> std::result::Result<Vec<f64>, arrow::error::ArrowError> {
    if let Some(dictionary) = column.as_dictionary_opt::<Int32Type>()
        && let Some(values) = dictionary.values().as_string_opt::<i32>()
    {
        let codes: Vec<f64> = values.iter().map(&code).collect();
        let missing = code(None);
        return Ok(dictionary.keys().iter().map(|k| k.map_or(missing, |k| codes[k as usize])).collect());
    }
    let text = arrow::compute::cast(column, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().iter().map(code).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn the_categories_kept_are_the_most_frequent_ties_by_value() {
        // 2,000 values in batches, with many ties among the counts.
        let mut stats = FeatureStats::for_type(&DataType::Utf8);
        let mut expected: HashMap<String, u64> = HashMap::new();
        for batch in 0..3u64 {
            let values: Vec<String> = (0..2000).map(|i| format!("v{:04}", (i * 7 + batch) % 2000)).collect();
            let counts: Vec<u64> = (0..2000u64).map(|i| (i * 31 + batch) % 17).collect();
            for (v, &n) in values.iter().zip(&counts) {
                *expected.entry(v.clone()).or_default() += n;
            }
            stats.merge(CategoryCounts { values: StringArray::from(values), counts });
        }
        let mut all: Vec<(String, u64)> = expected.into_iter().filter(|(_, n)| *n > 0).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let kept: Vec<String> = all.into_iter().take(MAX_CATEGORIES).map(|(v, _)| v).collect();
        let FeatureKind::Categorical { categories } = stats.finish("c", &DataType::Utf8).kind else {
            panic!("a text column is categorical")
        };
        assert_eq!(categories, kept);
    }

    #[test]
    fn fits_on_what_it_sees_and_encodes_unknowns_as_other() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("c", DataType::Utf8, true),
        ]));
        let train = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Float64Array::from(vec![Some(1.0), Some(3.0), None])),
                Arc::new(StringArray::from(vec![Some("b"), Some("a"), Some("b")])),
            ],
        )
        .expect("batch");
        let mut x = FeatureStats::for_type(&DataType::Float64);
        let mut c = FeatureStats::for_type(&DataType::Utf8);
        x.update(train.column(0).as_ref()).expect("x");
        c.update(train.column(1).as_ref()).expect("c");
        let enc = Encoding(vec![x.finish("x", &DataType::Float64), c.finish("c", &DataType::Utf8)]);
        assert_eq!(enc.0[0].kind, FeatureKind::Numeric { impute: 2.0 });
        assert_eq!(enc.0[1].kind, FeatureKind::Categorical { categories: vec!["b".into(), "a".into()] });

        let other = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![None, Some(5.0)])),
                Arc::new(StringArray::from(vec![Some("zzz"), None])),
            ],
        )
        .expect("batch");
        let m = enc.encode_matrix(&other).expect("encode");
        assert_eq!(m.into_raw_vec_and_offset().0, vec![2.0, 2.0, 5.0, 2.0]);
    }
}

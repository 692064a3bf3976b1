//! A column profiler that turns rows of [`Value`]s into a Model Monitor `statistics.json`
//! ([`Statistics`]), in one pass, in bounded memory for numerical columns, mergeable for
//! parallel chunks and deterministic.
//!
//! # Type inference
//!
//! Like Deequ, each present value is classified: a number (or text that parses as a finite
//! number) is *integral* when it is whole, *fractional* otherwise; any other text is *text*.
//! Without a hint a column is
//!
//! - `Unknown` when no value is present;
//! - `String` when more than half of the present values are text (so a numeric column with a
//!   few stray tokens stays numeric and `data_type_check` can report the share);
//! - `Fractional` when any number is fractional;
//! - `Integral` otherwise.
//!
//! A [`ColumnHint`] from the dataset schema overrides this: `Numeric` columns are never
//! `String` (text that is not a number counts as present but is not part of the numerical
//! statistics; a column with no number at all is `Unknown`), `Categorical` columns are always
//! `String` (numbers are counted as their text).
//!
//! # What the statistics hold
//!
//! Numerical columns: `common.num_present` counts every present value, including text that is
//! not a number; `mean`, `sum`, population `std_dev` (Welford's update, Chan's merge, a
//! compensated sum for `sum` and `mean`), `min`, `max` and the KLL `distribution` cover the numbers only, so
//! `num_present − sketch count` is the number of values of another type. NaN and infinities
//! count as missing (JSON cannot hold them).
//!
//! String columns: every distinct value with its count, sorted by count (descending) then
//! value. Numbers seen in a column that ends up `String` without a hint are remembered as text
//! for the first [`NUMBER_CATEGORY_CAP`] distinct numbers only (so a numerical column with
//! millions of distinct values does not keep them all); later distinct numbers are present but
//! not bucketed.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::record::{RowSchema, Value};
use crate::sketch::KllSketch;
use crate::statistics::{
    CategoricalBucket, CategoricalDistribution, CommonStatistics, DatasetStatistics, FeatureStatistics, InferredType,
    KllDistribution, NumericalDistribution, NumericalStatistics, Statistics, StringDistribution, StringStatistics,
};

/// How many distinct numbers an unhinted column remembers as categories (see the module docs).
pub const NUMBER_CATEGORY_CAP: usize = 10_000;

/// A type hint from the dataset schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnHint {
    /// The column holds numbers.
    Numeric,
    /// The column holds categories.
    Categorical,
}

/// Accumulates column statistics row by row; see the module docs.
#[derive(Clone, Debug)]
pub struct Profiler {
    columns: Vec<Column>,
}

#[derive(Clone, Debug)]
struct Column {
    name: String,
    hint: Option<ColumnHint>,
    missing: u64,
    integral: u64,
    fractional: u64,
    text: u64,
    moments: Moments,
    sketch: KllSketch,
    /// Text values (and, with a categorical hint, numbers as text).
    categories: HashMap<String, u64>,
    /// Numbers as text, for an unhinted column that may turn out `String`.
    numbers: HashMap<String, u64>,
}

/// Count, mean and sum of squared deviations (Welford), plus a compensated sum.
#[derive(Clone, Copy, Debug, Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    sum: f64,
    compensation: f64,
}

impl Moments {
    fn push(&mut self, x: f64) {
        self.n += 1;
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let n = self.n as f64;
        let delta = x - self.mean;
        self.mean += delta / n;
        self.m2 += delta * (x - self.mean);
        self.add_to_sum(x);
    }

    /// Neumaier's compensated summation.
    fn add_to_sum(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// Chan et al.'s parallel combination.
    fn merge(&mut self, other: &Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = other.mean - self.mean;
        self.mean += delta * nb / n;
        self.m2 += other.m2 + delta * delta * na * nb / n;
        self.n += other.n;
        self.add_to_sum(other.sum);
        self.compensation += other.compensation;
    }

    fn sum(&self) -> f64 {
        self.sum + self.compensation
    }

    /// The mean from the compensated sum (more accurate than the running mean far from 0).
    fn mean(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let n = self.n as f64;
        self.sum() / n
    }

    fn std_dev(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^53")]
        let var = (self.m2 / self.n as f64).max(0.0);
        var.sqrt()
    }
}

impl Column {
    fn new(name: String, hint: Option<ColumnHint>) -> Self {
        Self {
            name,
            hint,
            missing: 0,
            integral: 0,
            fractional: 0,
            text: 0,
            moments: Moments::default(),
            sketch: KllSketch::new(),
            categories: HashMap::new(),
            numbers: HashMap::new(),
        }
    }

    fn observe(&mut self, value: &Value) {
        match value {
            Value::Missing => self.missing += 1,
            Value::Number(x) => self.number(*x, None),
            Value::Text(t) => {
                let trimmed = t.trim();
                match trimmed.parse::<f64>() {
                    Ok(x) if self.hint != Some(ColumnHint::Categorical) && !trimmed.is_empty() => {
                        self.number(x, Some(trimmed));
                    }
                    _ if self.hint == Some(ColumnHint::Categorical) => {
                        self.text += 1;
                        *self.categories.entry(t.clone()).or_default() += 1;
                    }
                    _ => {
                        self.text += 1;
                        if self.hint != Some(ColumnHint::Numeric) {
                            *self.categories.entry(t.clone()).or_default() += 1;
                        }
                    }
                }
            }
        }
    }

    fn number(&mut self, x: f64, as_text: Option<&str>) {
        if !x.is_finite() {
            self.missing += 1;
            return;
        }
        if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
            self.integral += 1;
        } else {
            self.fractional += 1;
        }
        let key = || as_text.map_or_else(|| format_number(x), str::to_owned);
        match self.hint {
            Some(ColumnHint::Categorical) => {
                *self.categories.entry(key()).or_default() += 1;
                return;
            }
            Some(ColumnHint::Numeric) => {}
            None => {
                let k = key();
                if let Some(c) = self.numbers.get_mut(&k) {
                    *c += 1;
                } else if self.numbers.len() < NUMBER_CATEGORY_CAP {
                    self.numbers.insert(k, 1);
                }
            }
        }
        self.moments.push(x);
        self.sketch.update(x);
    }

    fn present(&self) -> u64 {
        self.integral + self.fractional + self.text
    }

    fn inferred_type(&self) -> InferredType {
        let present = self.present();
        let numbers = self.integral + self.fractional;
        match self.hint {
            Some(ColumnHint::Categorical) if present > 0 => InferredType::String,
            Some(ColumnHint::Numeric) if numbers == 0 => InferredType::Unknown,
            _ if present == 0 => InferredType::Unknown,
            None if self.text * 2 > present => InferredType::String,
            _ if self.fractional > 0 => InferredType::Fractional,
            _ => InferredType::Integral,
        }
    }

    fn merge(&mut self, other: &Self) -> Result<()> {
        self.sketch.merge(&other.sketch)?;
        self.missing += other.missing;
        self.integral += other.integral;
        self.fractional += other.fractional;
        self.text += other.text;
        self.moments.merge(&other.moments);
        for (k, c) in &other.categories {
            *self.categories.entry(k.clone()).or_default() += c;
        }
        for (k, c) in &other.numbers {
            if let Some(mine) = self.numbers.get_mut(k) {
                *mine += c;
            } else if self.numbers.len() < NUMBER_CATEGORY_CAP {
                self.numbers.insert(k.clone(), *c);
            }
        }
        Ok(())
    }

    fn finish(&self) -> FeatureStatistics {
        let inferred_type = self.inferred_type();
        let common = CommonStatistics { num_present: self.present(), num_missing: self.missing };
        let mut feature = FeatureStatistics {
            name: self.name.clone(),
            inferred_type,
            numerical_statistics: None,
            string_statistics: None,
        };
        match inferred_type {
            InferredType::Integral | InferredType::Fractional => {
                feature.numerical_statistics = Some(NumericalStatistics {
                    common,
                    mean: self.moments.mean(),
                    sum: self.moments.sum(),
                    std_dev: self.moments.std_dev(),
                    min: self.sketch.min().unwrap_or(0.0),
                    max: self.sketch.max().unwrap_or(0.0),
                    distribution: NumericalDistribution {
                        kll: KllDistribution { buckets: self.sketch.buckets(), sketch: self.sketch.to_data() },
                    },
                });
            }
            InferredType::String => {
                let mut all: HashMap<&str, u64> = HashMap::with_capacity(self.categories.len() + self.numbers.len());
                for (k, c) in self.categories.iter().chain(&self.numbers) {
                    *all.entry(k.as_str()).or_default() += c;
                }
                let mut buckets: Vec<CategoricalBucket> = all
                    .into_iter()
                    .map(|(value, count)| CategoricalBucket { value: value.to_owned(), count })
                    .collect();
                buckets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                feature.string_statistics = Some(StringStatistics {
                    common,
                    distinct_count: buckets.len() as u64,
                    distribution: StringDistribution { categorical: CategoricalDistribution { buckets } },
                });
            }
            InferredType::Unknown => {}
        }
        feature
    }
}

/// A number as text: whole numbers without a fraction (`3`), others in the shortest form that
/// reads back exactly.
fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x}") }
}

impl Profiler {
    /// A profiler for `columns` without type hints.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { columns: columns.into_iter().map(|c| Column::new(c.into(), None)).collect() }
    }

    /// A profiler for `columns` with one optional hint per column.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `hints` and `columns` have different lengths.
    pub fn with_hints<I, S>(columns: I, hints: &[Option<ColumnHint>]) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = columns.into_iter().map(Into::into).collect();
        if names.len() != hints.len() {
            return Err(Error::InvalidInput(format!("{} column hints given for {} columns", hints.len(), names.len())));
        }
        Ok(Self { columns: names.into_iter().zip(hints).map(|(n, h)| Column::new(n, *h)).collect() })
    }

    /// A profiler for a capture's feature columns, hinted numeric or categorical by the schema.
    #[must_use]
    pub fn from_schema(schema: &RowSchema) -> Self {
        Self {
            columns: schema
                .features
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let hint =
                        schema.numeric.get(i).map(|&n| if n { ColumnHint::Numeric } else { ColumnHint::Categorical });
                    Column::new(name.clone(), hint)
                })
                .collect(),
        }
    }

    /// The column names.
    #[must_use]
    pub fn columns(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// Adds one row: value `i` goes to column `i`; a short row counts the remaining columns as
    /// missing, values beyond the last column are ignored.
    pub fn observe_row(&mut self, row: &[Value]) {
        if row.len() > self.columns.len() {
            tracing::trace!(values = row.len(), columns = self.columns.len(), "row longer than the columns");
        }
        for (i, column) in self.columns.iter_mut().enumerate() {
            column.observe(row.get(i).unwrap_or(&Value::Missing));
        }
    }

    /// Adds one value of column `column` (0-based). The dataset's `item_count` is the largest
    /// number of values any column received, so feed every column of a row.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `column` is out of range.
    pub fn observe(&mut self, column: usize, value: &Value) -> Result<()> {
        let n = self.columns.len();
        let c = self
            .columns
            .get_mut(column)
            .ok_or_else(|| Error::InvalidInput(format!("column {column} out of range ({n} columns)")))?;
        c.observe(value);
        Ok(())
    }

    /// Adds everything `other` observed (profiles of chunks of the same dataset).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the two profilers have different columns or hints.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        let same = self.columns.len() == other.columns.len()
            && self.columns.iter().zip(&other.columns).all(|(a, b)| a.name == b.name && a.hint == b.hint);
        if !same {
            return Err(Error::InvalidInput(format!(
                "cannot merge profiles of different columns ({:?} and {:?})",
                self.columns(),
                other.columns()
            )));
        }
        for (a, b) in self.columns.iter_mut().zip(&other.columns) {
            a.merge(b)?;
        }
        Ok(())
    }

    /// The statistics of everything observed.
    #[must_use]
    pub fn finish(&self) -> Statistics {
        let item_count = self.columns.iter().map(|c| c.present() + c.missing).max().unwrap_or(0);
        let features: Vec<FeatureStatistics> = self.columns.iter().map(Column::finish).collect();
        tracing::debug!(item_count, columns = features.len(), "profiled");
        Statistics { version: 0, dataset: DatasetStatistics { item_count }, features }
    }
}

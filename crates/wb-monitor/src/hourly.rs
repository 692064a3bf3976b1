//! Records and low-confidence predictions per UTC hour.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The workflow's default confidence threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.93;

/// One hour of a capture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourlyConfidence {
    /// Start of the hour (UTC).
    pub hour: DateTime<Utc>,
    /// Predictions (rows with a decoded output) in the hour.
    pub predictions: u64,
    /// Predictions whose confidence is below the threshold.
    pub low_confidence: u64,
    /// Mean confidence.
    pub mean_confidence: f64,
    /// Lowest confidence.
    pub min_confidence: f64,
}

/// Running totals of one hour.
#[derive(Clone, Copy, Debug, PartialEq)]
struct HourTotals {
    predictions: u64,
    low_confidence: u64,
    sum: f64,
    min: f64,
}

/// Accumulates predictions and low-confidence predictions per UTC hour; partial accumulators
/// (one per file, one per worker) [`merge`](Self::merge) into one.
#[derive(Clone, Debug, PartialEq)]
pub struct HourlyAccumulator {
    threshold: f64,
    /// Hour number since the epoch (seconds / 3600) → totals, sorted.
    hours: std::collections::BTreeMap<i64, HourTotals>,
}

impl Default for HourlyAccumulator {
    fn default() -> Self {
        Self { threshold: DEFAULT_THRESHOLD, hours: std::collections::BTreeMap::new() }
    }
}

impl HourlyAccumulator {
    /// An empty accumulator counting confidences below `threshold` as low.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when `threshold` is not in `0..=1`.
    pub fn new(threshold: f64) -> crate::Result<Self> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(crate::Error::InvalidInput(format!(
                "the confidence threshold must be in 0..=1, not {threshold}"
            )));
        }
        Ok(Self { threshold, hours: std::collections::BTreeMap::new() })
    }

    /// The threshold.
    #[must_use]
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Adds one prediction made at `unix_seconds` with `confidence` (NaN confidences count as
    /// predictions below the threshold and are left out of the mean and minimum).
    pub fn add_at(&mut self, unix_seconds: i64, confidence: f64) {
        let h = self.hours.entry(unix_seconds.div_euclid(3600)).or_insert(HourTotals {
            predictions: 0,
            low_confidence: 0,
            sum: 0.0,
            min: f64::INFINITY,
        });
        h.predictions += 1;
        if confidence.is_nan() || confidence < self.threshold {
            h.low_confidence += 1;
        }
        if !confidence.is_nan() {
            h.sum += confidence;
            h.min = h.min.min(confidence);
        }
    }

    /// Adds one prediction made at `time`.
    pub fn add(&mut self, time: DateTime<Utc>, confidence: f64) {
        self.add_at(time.timestamp(), confidence);
    }

    /// Adds the classification outputs of `rows` (rows without one are left out).
    pub fn add_rows(&mut self, rows: &[crate::record::CapturedRow]) {
        for row in rows {
            if let Some(c) = row.output.as_ref().and_then(crate::record::ModelOutput::confidence) {
                self.add(row.time, c);
            }
        }
    }

    /// Adds another accumulator's counts (same threshold assumed; this one's is kept).
    pub fn merge(&mut self, other: &Self) {
        for (hour, o) in &other.hours {
            self.hours
                .entry(*hour)
                .and_modify(|h| {
                    h.predictions += o.predictions;
                    h.low_confidence += o.low_confidence;
                    h.sum += o.sum;
                    h.min = h.min.min(o.min);
                })
                .or_insert(*o);
        }
    }

    /// Total predictions.
    #[must_use]
    pub fn predictions(&self) -> u64 {
        self.hours.values().map(|h| h.predictions).sum()
    }

    /// Total predictions below the threshold.
    #[must_use]
    pub fn low_confidence(&self) -> u64 {
        self.hours.values().map(|h| h.low_confidence).sum()
    }

    /// The hours, sorted.
    #[must_use]
    pub fn hours(&self) -> Vec<HourlyConfidence> {
        self.hours
            .iter()
            .filter_map(|(hour, h)| {
                let start = DateTime::<Utc>::from_timestamp(hour.checked_mul(3600)?, 0)?;
                #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let mean = if h.predictions == 0 { f64::NAN } else { h.sum / h.predictions as f64 };
                Some(HourlyConfidence {
                    hour: start,
                    predictions: h.predictions,
                    low_confidence: h.low_confidence,
                    mean_confidence: mean,
                    min_confidence: if h.min.is_finite() { h.min } else { f64::NAN },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_parts_equal_the_whole() {
        let mut a = HourlyAccumulator::new(0.9).expect("threshold");
        let mut b = HourlyAccumulator::new(0.9).expect("threshold");
        let mut whole = HourlyAccumulator::new(0.9).expect("threshold");
        for (i, c) in [0.5, 0.95, 0.99, 0.8].into_iter().enumerate() {
            let t = i64::try_from(i).expect("small") * 2000;
            if i % 2 == 0 {
                a.add_at(t, c);
            } else {
                b.add_at(t, c);
            }
            whole.add_at(t, c);
        }
        a.merge(&b);
        assert_eq!(a, whole);
        let hours = whole.hours();
        assert_eq!(hours.len(), 2);
        assert_eq!((hours[0].predictions, hours[0].low_confidence), (2, 1));
        assert!((hours[0].mean_confidence - 0.725).abs() < 1e-12);
        assert_eq!(hours[0].min_confidence, 0.5);
        assert!(HourlyAccumulator::new(1.5).is_err());
    }
}

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

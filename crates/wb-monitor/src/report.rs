//! `report.json`: everything one monitoring run found, the input of the Markdown, HTML and SVG
//! renderings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::drift::FeatureDrift;
use crate::hourly::HourlyConfidence;
use crate::record::Window;
use crate::statistics::Statistics;
use crate::violations::ConstraintViolations;

/// The name of the monitored column that holds the model's confidence.
pub const CONFIDENCE_COLUMN: &str = "_confidence";

/// Counts of a capture read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCounts {
    /// Capture files read.
    pub files: u64,
    /// Lines (records) read.
    pub records: u64,
    /// Records decoded.
    pub decoded: u64,
    /// Records skipped as malformed.
    pub skipped: u64,
    /// Rows decoded (a record may hold several).
    pub rows: u64,
}

/// One malformed capture line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The capture object.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The confidence part of a run (classification endpoints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceSummary {
    /// The threshold.
    pub threshold: f64,
    /// Predictions in the window.
    pub predictions: u64,
    /// Predictions below the threshold.
    pub low_confidence: u64,
    /// Per hour.
    pub hourly: Vec<HourlyConfidence>,
    /// Baseline confidence histogram: 20 bins over [0, 1] (empty when not baselined).
    pub baseline_histogram: Vec<u64>,
    /// Window confidence histogram, same bins.
    pub window_histogram: Vec<u64>,
}

/// One monitoring run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitoringReport {
    /// The endpoint.
    pub endpoint: String,
    /// The run's id (its time, `20261206T101500Z`), also the report directory's name.
    pub id: String,
    /// When the run was made.
    pub created: DateTime<Utc>,
    /// The window analysed.
    pub window: Window,
    /// The dataset the baseline came from.
    pub dataset: Option<String>,
    /// What was read.
    pub counts: ReadCounts,
    /// The first malformed lines (at most 100).
    pub problems: Vec<Problem>,
    /// The window's statistics (also written as `statistics.json`).
    pub statistics: Statistics,
    /// The violations (also written as `constraint_violations.json`).
    pub violations: ConstraintViolations,
    /// Distances per column, the confidence column included.
    pub drift: Vec<FeatureDrift>,
    /// Confidence monitoring, for classification endpoints.
    pub confidence: Option<ConfidenceSummary>,
    /// The baseline statistics, for the per-feature charts (not serialized twice in files).
    #[serde(skip)]
    pub baseline: Option<Statistics>,
}

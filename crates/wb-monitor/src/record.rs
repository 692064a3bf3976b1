//! What a captured invocation decodes into: rows of the dataset's feature columns plus the
//! model's outputs, and the time window a read is limited to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One raw feature value, as the client sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Empty field, a missing token, JSON `null`, an absent key.
    Missing,
    /// A number (also `true`/`false` as 1/0 for numeric columns).
    Number(f64),
    /// Text (categorical columns, and text that is not a number in a numeric column).
    Text(String),
}

/// What the model answered for one row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelOutput {
    /// Class probabilities in class order; `label` is the most probable class (first on
    /// ties) and `confidence` its probability.
    Classification {
        /// Probabilities, in the model's class order.
        probabilities: Vec<f64>,
        /// Index of the most probable class.
        label: usize,
        /// The highest probability.
        confidence: f64,
    },
    /// The predicted value.
    Regression {
        /// The value.
        value: f64,
    },
}

impl ModelOutput {
    /// A classification output from probabilities (label = first maximum).
    #[must_use]
    pub fn from_probabilities(probabilities: Vec<f64>) -> Self {
        let (label, confidence) = probabilities
            .iter()
            .copied()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |best, (i, p)| if p > best.1 { (i, p) } else { best });
        Self::Classification { probabilities, label, confidence }
    }

    /// The confidence (highest probability) of a classification; `None` for regression.
    #[must_use]
    pub fn confidence(&self) -> Option<f64> {
        match self {
            Self::Classification { confidence, .. } => Some(*confidence),
            Self::Regression { .. } => None,
        }
    }
}

/// A time window `[since, until)` in UTC; either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Inclusive start.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    /// The window `[since, until)`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `until` is not after `since`.
    pub fn new(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Result<Self> {
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            return Err(Error::InvalidInput(format!(
                "the window's end ({}) must be after its start ({})",
                u.to_rfc3339(),
                s.to_rfc3339()
            )));
        }
        Ok(Self { since, until })
    }

    /// Whether `t` falls in the window.
    #[must_use]
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// The columns a capture is decoded into: the model's schema, or positional names when the
/// schema is unknown (SageMaker's analyzer names them `_c0`, `_c1`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowSchema {
    /// Feature column names, in request order.
    pub features: Vec<String>,
    /// Which features are numeric (same length as `features`).
    pub numeric: Vec<bool>,
    /// Tokens read as missing besides the empty field.
    pub missing: Vec<String>,
    /// Class labels in probability order (empty for regression or when unknown).
    pub classes: Vec<String>,
    /// Whether the model is a regression model.
    pub regression: bool,
}

impl RowSchema {
    /// The schema of a model.
    #[must_use]
    pub fn from_model(schema: &wb_models::schema::ModelSchema) -> Self {
        let features = schema.feature_names();
        let numeric =
            schema.features.0.iter().map(|f| matches!(f.kind, wb_datasets::FeatureKind::Numeric { .. })).collect();
        Self {
            features,
            numeric,
            missing: schema.missing.clone(),
            classes: schema.classes().to_vec(),
            regression: matches!(schema.task, wb_datasets::Task::Regression),
        }
    }
}

/// One decoded row of a captured invocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedRow {
    /// `eventMetadata.inferenceTime`.
    pub time: DateTime<Utc>,
    /// `eventMetadata.eventId`.
    pub event_id: String,
    /// `eventMetadata.inferenceId`, when the caller sent one.
    pub inference_id: Option<String>,
    /// The production variant (from the object key).
    pub variant: String,
    /// 0-based index of the row within its request.
    pub row: usize,
    /// Feature values in [`RowSchema::features`] order (empty when the input was not captured
    /// or not decodable as rows, e.g. an image).
    pub features: Vec<Value>,
    /// The model's answer (absent when the output was not captured).
    pub output: Option<ModelOutput>,
}

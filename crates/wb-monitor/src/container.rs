//! The workbench's analyzer under SageMaker Model Monitor's bring-your-own-container contract
//! (contract B3), so a monitoring schedule can run it in the project's image — and a scheduled
//! run can be reproduced on a laptop on the same capture and window.
//!
//! SageMaker starts the container with the endpoint's capture for the window copied to
//! `dataset_source` (laid out `<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`) and these
//! environment variables:
//!
//! | Variable | Meaning |
//! | --- | --- |
//! | `dataset_source` | the capture directory (e.g. `/opt/ml/processing/input/endpoint`) |
//! | `output_path` | where the results go (e.g. `/opt/ml/processing/resultdata`) |
//! | `sagemaker_endpoint_name` | the endpoint |
//! | `start_time`, `end_time` | the window, ISO-8601 UTC (`2020-02-19T06:00:00Z`) |
//! | `baseline_statistics`, `baseline_constraints` | local paths of the baseline files |
//! | `dataset_format` | `{"sagemakerCaptureJson": {...}}` for endpoints (others are refused) |
//!
//! The analyzer writes `statistics.json` and `constraint_violations.json` (Model Monitor's
//! formats, which SageMaker reads back) and, beside them, the workbench's `report.json`,
//! `report.md`, `index.html` and charts. The columns are those of the baseline's
//! `statistics.json` (the dataset's feature names; `schema.json` next to it, when present,
//! adds the missing-value tokens and class names).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use wb_core::{LocalStore, ObjectPath};

use crate::constraints::Constraints;
use crate::error::{Error, Result};
use crate::monitor::{Analysis, BaselineSource};
use crate::record::{RowSchema, Window};
use crate::report::{CONFIDENCE_COLUMN, MonitoringReport};
use crate::statistics::{InferredType, Statistics};

/// The analyzer's inputs, from the contract's environment variables.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzerInputs {
    /// `dataset_source`.
    pub dataset_source: PathBuf,
    /// `output_path`.
    pub output_path: PathBuf,
    /// `sagemaker_endpoint_name`.
    pub endpoint: String,
    /// `start_time` .. `end_time`.
    pub window: Window,
    /// `baseline_statistics`.
    pub baseline_statistics: PathBuf,
    /// `baseline_constraints`.
    pub baseline_constraints: PathBuf,
    /// The confidence threshold (`wb_confidence_threshold`, default 0.93).
    pub threshold: f64,
}

impl AnalyzerInputs {
    /// Reads the inputs through `var` (`std::env::var` in the container; a map in tests).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the variable that is missing or malformed.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let required = |name: &str| {
            var(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the monitoring container contract requires the environment variable {name}"
                ))
            })
        };
        let time = |name: &str| -> Result<Option<DateTime<Utc>>> {
            var(name)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    DateTime::parse_from_rfc3339(&v).map(|t| t.with_timezone(&Utc)).map_err(|e| {
                        Error::InvalidInput(format!(
                            "{name}={v:?} is not an ISO-8601 UTC time such as 2020-02-19T06:00:00Z: {e}"
                        ))
                    })
                })
                .transpose()
        };
        if let Some(format) = var("dataset_format").filter(|f| !f.is_empty())
            && !format.contains("sagemakerCaptureJson")
        {
            return Err(Error::InvalidInput(format!(
                "dataset_format={format:?}: the workbench analyzer reads endpoint capture (sagemakerCaptureJson) only"
            )));
        }
        let threshold =
            match var("wb_confidence_threshold").filter(|v| !v.is_empty()) {
                Some(v) => v.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p)).ok_or_else(|| {
                    Error::InvalidInput(format!("wb_confidence_threshold={v:?} is not a probability"))
                })?,
                None => crate::hourly::DEFAULT_THRESHOLD,
            };
        Ok(Self {
            dataset_source: required("dataset_source")?.into(),
            output_path: required("output_path")?.into(),
            endpoint: required("sagemaker_endpoint_name")?,
            window: Window::new(time("start_time")?, time("end_time")?)?,
            baseline_statistics: required("baseline_statistics")?.into(),
            baseline_constraints: required("baseline_constraints")?.into(),
            threshold,
        })
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// The columns capture is decoded into: `schema.json` beside the baseline statistics when
/// there is one, otherwise the baseline's columns (numeric unless `String`).
fn schema_for(statistics: &Statistics, statistics_path: &Path) -> Result<RowSchema> {
    if let Some(dir) = statistics_path.parent() {
        let file = dir.join("schema.json");
        if file.is_file() {
            let bytes = read(&file)?;
            let source: BaselineSource = serde_json::from_slice(&bytes).map_err(|e| Error::BadDocument {
                document: file.display().to_string(),
                field: format!("line {} column {}", e.line(), e.column()),
                message: e.to_string(),
            })?;
            return Ok(source.schema);
        }
    }
    let columns: Vec<_> = statistics.features.iter().filter(|f| f.name != CONFIDENCE_COLUMN).collect();
    Ok(RowSchema {
        features: columns.iter().map(|f| f.name.clone()).collect(),
        numeric: columns.iter().map(|f| f.inferred_type != InferredType::String).collect(),
        missing: Vec::new(),
        classes: Vec::new(),
        regression: false,
    })
}

/// Runs the analysis the inputs describe and writes its files into `output_path`.
///
/// # Errors
/// Unreadable or malformed baseline files (naming the file and field), a missing capture
/// directory, file-system errors.
pub async fn analyze(inputs: &AnalyzerInputs) -> Result<MonitoringReport> {
    let statistics =
        Statistics::from_json(&read(&inputs.baseline_statistics)?, &inputs.baseline_statistics.display().to_string())?;
    let constraints = Constraints::from_json(
        &read(&inputs.baseline_constraints)?,
        &inputs.baseline_constraints.display().to_string(),
    )?;
    let schema = schema_for(&statistics, &inputs.baseline_statistics)?;
    // The capture directory is opened as the destination prefix of a store rooted at its
    // parent, so the reader sees `<dir>/<endpoint>/<variant>/yyyy/...` as it sees a store.
    let source = std::path::absolute(&inputs.dataset_source)
        .map_err(|source| Error::Io { path: inputs.dataset_source.display().to_string(), source })?;
    let (Some(root), Some(dir)) = (source.parent(), source.file_name().and_then(|n| n.to_str())) else {
        return Err(Error::InvalidInput(format!(
            "dataset_source {} is not a directory below another",
            source.display()
        )));
    };
    if !source.is_dir() {
        return Err(Error::InvalidInput(format!("dataset_source {} is not a directory", source.display())));
    }
    let store: wb_core::DynObjectStore = Arc::new(LocalStore::open(root)?);
    let analysis = Analysis {
        store,
        endpoint: inputs.endpoint.clone(),
        destination: Some(ObjectPath::parse(dir)?),
        window: inputs.window,
        threshold: inputs.threshold,
        at: inputs.window.until.unwrap_or_else(Utc::now),
    };
    let report = match analysis.run(&schema, statistics, &constraints).await {
        Ok(report) => report,
        Err(e) => return Err(e),
    };
    std::fs::create_dir_all(&inputs.output_path)
        .map_err(|source| Error::Io { path: inputs.output_path.display().to_string(), source })?;
    for (name, bytes) in crate::reports::files(&report)? {
        let path = inputs.output_path.join(&name);
        let tmp = inputs.output_path.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, &bytes).map_err(|source| Error::Io { path: tmp.display().to_string(), source })?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    }
    Ok(report)
}

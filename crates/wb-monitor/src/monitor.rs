//! Baselines and monitoring runs of an endpoint, on whichever backend wrote its capture.
//!
//! # Baseline
//!
//! [`Monitor::baseline`] reads the endpoint's record (`endpoints/<endpoint>.json`), the
//! dataset and partition its model was trained on, and profiles:
//!
//! - every feature column of the **train** split (raw values, as clients send them);
//! - the model's **confidence** (highest class probability; the predicted value for
//!   regression) on the **validation** split, as column [`CONFIDENCE_COLUMN`] — the model is
//!   loaded from its `model.tar.gz` in the store, so the baseline neither invokes the endpoint
//!   nor adds records to its capture. A model the workbench cannot load (a SageMaker built-in
//!   algorithm's) gets a baseline without that column, and the baseline says so.
//!
//! It writes `monitoring/<endpoint>/baseline/statistics.json` and `constraints.json` in Model
//! Monitor's formats, and `schema.json` (the columns the capture is decoded into), so later
//! runs need neither the endpoint record nor the model: capture stays readable when the
//! endpoint is gone.
//!
//! # Run
//!
//! [`Monitor::run`] reads every captured record in a window, profiles the window with the
//! same columns, checks it against the baseline (violations, drift on every column and on the
//! confidence), aggregates confidence per hour, and writes the report under
//! `monitoring/<endpoint>/reports/<id>/` ([`crate::reports`]).
//!
//! A window with no records is a report that says so, not an error.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wb_core::{DynObjectStore, EndpointName, ObjectPath, PutMode};
use wb_datasets::Datasets;
use wb_models::Prediction;
use wb_serving::endpoints::{EndpointRecord, Endpoints};

use crate::capture::CaptureReader;
use crate::check::check;
use crate::constraints::{Constraints, suggest};
use crate::error::{Error, Result};
use crate::hourly::{DEFAULT_THRESHOLD, HourlyAccumulator};
use crate::profile::{ColumnHint, Profiler};
use crate::record::{ModelOutput, RowSchema, Value, Window};
use crate::report::{CONFIDENCE_COLUMN, ConfidenceSummary, MonitoringReport};
use crate::statistics::{FeatureStatistics, Statistics};
use crate::{reports, sketch};

/// Bins of the confidence histograms (over [0, 1]).
pub const CONFIDENCE_BINS: usize = 20;

/// What a baseline was made from, stored beside it as `schema.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineSource {
    /// The endpoint.
    pub endpoint: String,
    /// The dataset whose train split was profiled.
    pub dataset: String,
    /// Its partition fingerprint.
    pub fingerprint: String,
    /// The training job whose model answered the validation split.
    pub job: String,
    /// The columns capture is decoded into.
    pub schema: RowSchema,
    /// Rows of the train split profiled.
    pub train_rows: u64,
    /// Rows of the validation split the model answered (0 when the model could not be loaded).
    pub validation_rows: u64,
    /// Why the confidence column is missing, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_note: Option<String>,
}

/// A stored baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// `statistics.json`.
    pub statistics: Statistics,
    /// `constraints.json`.
    pub constraints: Constraints,
    /// `schema.json`.
    pub source: BaselineSource,
    /// Where the files are (`monitoring/<endpoint>/baseline`).
    pub prefix: String,
}

/// Baselines and runs over one store.
#[derive(Clone, Debug)]
pub struct Monitor {
    store: DynObjectStore,
}

impl Monitor {
    /// Monitoring over `store`.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &DynObjectStore {
        &self.store
    }

    /// Builds and stores the baseline of `endpoint` (see the [module documentation](self)).
    /// A baseline made again replaces the previous one.
    ///
    /// # Errors
    /// [`Error::NoDataset`] when the endpoint's dataset is not partitioned any more; store,
    /// dataset and model errors.
    pub async fn baseline(&self, endpoint: &EndpointName) -> Result<Baseline> {
        let record = Endpoints::new(self.store.clone()).get(endpoint).await?;
        let dataset = Datasets::new(self.store.clone()).open(&record.dataset).await.map_err(|e| Error::NoDataset {
            endpoint: endpoint.to_string(),
            message: format!(
                "its dataset {:?} cannot be opened ({e}); a baseline is made from the train split",
                record.dataset.as_str()
            ),
        })?;
        let manifest = dataset.manifest().clone();
        let model_schema = wb_models::ModelSchema::from_manifest(&manifest);
        let schema = RowSchema::from_model(&model_schema);

        let train = dataset.train().await?;
        let mut profiler = Profiler::from_schema(&schema);
        let mut row = vec![Value::Missing; schema.features.len()];
        for batch in train.batches() {
            let columns = schema
                .features
                .iter()
                .map(|name| {
                    batch.column_by_name(name).cloned().ok_or_else(|| Error::NoDataset {
                        endpoint: endpoint.to_string(),
                        message: format!("the train split has no column {name:?}"),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            for r in 0..batch.num_rows() {
                for (slot, column) in row.iter_mut().zip(&columns) {
                    *slot = arrow_value(column.as_ref(), r);
                }
                profiler.observe_row(&row);
            }
        }
        let mut statistics = profiler.finish();

        let (confidence, validation_rows, confidence_note) = match self.validation_confidence(&record, &dataset).await {
            Ok((stats, rows)) => (Some(stats), rows, None),
            Err(note) => {
                tracing::warn!(endpoint = %endpoint, %note, "baseline without the confidence column");
                (None, 0, Some(note))
            }
        };
        if let Some(c) = confidence {
            statistics.features.push(c);
        }
        let constraints = suggest(&statistics);
        let source = BaselineSource {
            endpoint: endpoint.to_string(),
            dataset: record.dataset.to_string(),
            fingerprint: record.fingerprint.to_string(),
            job: record.job.to_string(),
            schema,
            train_rows: train.num_rows() as u64,
            validation_rows,
            confidence_note,
        };
        let name = endpoint.as_str();
        let prefix = reports::baseline_prefix(name)?.to_string();
        // schema.json last: a baseline is complete when its schema is there.
        self.put_json(&reports::baseline_file(name, reports::STATISTICS_JSON)?, &statistics).await?;
        self.put_json(&reports::baseline_file(name, reports::CONSTRAINTS_JSON)?, &constraints).await?;
        self.put_json(&reports::baseline_file(name, reports::BASELINE_SCHEMA_JSON)?, &source).await?;
        tracing::info!(endpoint = %endpoint, %prefix, columns = statistics.features.len(), "baseline written");
        Ok(Baseline { statistics, constraints, source, prefix })
    }

    /// The model's answers on the validation split, profiled as the confidence column. `Err`
    /// carries why they are not available.
    async fn validation_confidence(
        &self,
        record: &EndpointRecord,
        dataset: &wb_datasets::Dataset,
    ) -> std::result::Result<(FeatureStatistics, u64), String> {
        let artifact = wb_serving::endpoints::load_artifact(&self.store, &record.model_artifact)
            .await
            .map_err(|e| format!("the model of job {} cannot be loaded here ({e})", record.job))?;
        let validation = dataset.validation().await.map_err(|e| e.to_string())?;
        let x = validation.features().map_err(|e| e.to_string())?;
        let prediction = tokio::task::spawn_blocking(move || artifact.model.predict(x.view()))
            .await
            .map_err(|e| format!("predicting the validation split failed: {e}"))?
            .map_err(|e| format!("predicting the validation split failed: {e}"))?;
        let mut profiler =
            Profiler::with_hints([CONFIDENCE_COLUMN], &[Some(ColumnHint::Numeric)]).map_err(|e| e.to_string())?;
        let rows = prediction.rows() as u64;
        match prediction {
            Prediction::Probabilities(p) => {
                for row in p.rows() {
                    let c = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    profiler.observe_row(&[Value::Number(c)]);
                }
            }
            Prediction::Values(v) => {
                for value in v {
                    profiler.observe_row(&[Value::Number(value)]);
                }
            }
        }
        let mut stats = profiler.finish();
        stats.features.pop().map(|f| (f, rows)).ok_or_else(|| "no confidence column was profiled".to_owned())
    }

    /// The stored baseline of `endpoint`.
    ///
    /// # Errors
    /// [`Error::NoBaseline`] when there is none; [`Error::BadDocument`] for a hand-edited file
    /// that does not follow its format.
    pub async fn read_baseline(&self, endpoint: &EndpointName) -> Result<Baseline> {
        let name = endpoint.as_str();
        let get = |file: &'static str| async move {
            let path = reports::baseline_file(name, file)?;
            match self.store.get(&path).await {
                Ok(found) => Ok((path, found.bytes)),
                Err(wb_core::Error::NotFound { .. }) => Err(Error::NoBaseline { endpoint: name.to_owned() }),
                Err(e) => Err(e.into()),
            }
        };
        let (path, bytes) = get(reports::BASELINE_SCHEMA_JSON).await?;
        let source: BaselineSource = serde_json::from_slice(&bytes).map_err(|e| Error::BadDocument {
            document: path.to_string(),
            field: format!("line {} column {}", e.line(), e.column()),
            message: e.to_string(),
        })?;
        let (path, bytes) = get(reports::STATISTICS_JSON).await?;
        let statistics = Statistics::from_json(&bytes, path.as_str())?;
        let (path, bytes) = get(reports::CONSTRAINTS_JSON).await?;
        let constraints = Constraints::from_json(&bytes, path.as_str())?;
        Ok(Baseline { statistics, constraints, source, prefix: reports::baseline_prefix(name)?.to_string() })
    }

    /// A monitoring run over `endpoint`'s capture; configure it, then `.await` it.
    pub fn run(&self, endpoint: &EndpointName) -> Run<'_> {
        Run {
            monitor: self,
            endpoint: endpoint.clone(),
            window: Window::default(),
            threshold: DEFAULT_THRESHOLD,
            destination: None,
            at: None,
            write: true,
        }
    }

    async fn put_json<T: Serialize + Sync>(&self, path: &ObjectPath, value: &T) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::InvalidInput(e.to_string()))?;
        bytes.push(b'\n');
        self.store.put_opts(path, Bytes::from(bytes), PutMode::Overwrite).await?;
        Ok(())
    }
}

/// A configured monitoring run ([`Monitor::run`]); `.await` it.
#[derive(Debug)]
#[must_use = "a run does nothing until it is awaited"]
pub struct Run<'a> {
    monitor: &'a Monitor,
    endpoint: EndpointName,
    window: Window,
    threshold: f64,
    destination: Option<ObjectPath>,
    at: Option<DateTime<Utc>>,
    write: bool,
}

impl Run<'_> {
    /// Only records in this window.
    pub fn window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Confidence below this is "low" (default 0.93, the workflow's).
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Capture prefix other than `capture` (SageMaker's `DestinationS3Uri` inside the store).
    pub fn destination(mut self, prefix: ObjectPath) -> Self {
        self.destination = Some(prefix);
        self
    }

    /// The run's time (its report id); default now. Two runs at the same time over the same
    /// capture write byte-identical files.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = Some(at);
        self
    }

    /// Whether to write the report to the store (default true).
    pub fn write(mut self, write: bool) -> Self {
        self.write = write;
        self
    }

    async fn execute(self) -> Result<MonitoringRun> {
        let monitor = self.monitor;
        let baseline = monitor.read_baseline(&self.endpoint).await?;
        let dataset = Some(baseline.source.dataset.clone());
        let schema = baseline.source.schema.clone();
        let analysis = Analysis {
            store: monitor.store.clone(),
            endpoint: self.endpoint.to_string(),
            destination: Some(match self.destination {
                Some(prefix) => prefix,
                None => ObjectPath::parse(crate::capture::DEFAULT_DESTINATION)?,
            }),
            window: self.window,
            threshold: self.threshold,
            at: self.at.unwrap_or_else(Utc::now),
        };
        let mut report = analysis.run(&schema, baseline.statistics, &baseline.constraints).await?;
        report.dataset = dataset;
        let prefix = if self.write { Some(reports::write(&monitor.store, &report).await?) } else { None };
        tracing::info!(
            endpoint = %report.endpoint,
            records = report.counts.records,
            violations = report.violations.violations.len(),
            "monitoring run finished"
        );
        Ok(MonitoringRun { report, prefix })
    }
}

/// One analysis of captured data against a baseline: what [`Monitor::run`] and the
/// bring-your-own-container analyzer ([`crate::container`]) both do.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The store holding the capture.
    pub store: DynObjectStore,
    /// The endpoint (capture under `<destination>/<endpoint>/`).
    pub endpoint: String,
    /// Capture prefix (`capture` in a project's store; `None` reads `<endpoint>/…` at the
    /// store's root, as in a capture directory).
    pub destination: Option<ObjectPath>,
    /// The window.
    pub window: Window,
    /// The confidence threshold.
    pub threshold: f64,
    /// The run's time (its report id).
    pub at: DateTime<Utc>,
}

impl Analysis {
    /// Reads the window's capture decoded into `schema`'s columns, profiles it and checks it
    /// against the baseline.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a threshold outside 0..=1; [`Error::NoCapture`] when there
    /// is no capture file at all; store errors.
    pub async fn run(
        &self,
        schema: &RowSchema,
        baseline: Statistics,
        constraints: &Constraints,
    ) -> Result<MonitoringReport> {
        let classification = !schema.regression;
        let width = schema.features.len();
        let mut columns = schema.features.clone();
        let mut hints: Vec<Option<ColumnHint>> = schema
            .numeric
            .iter()
            .map(|&n| Some(if n { ColumnHint::Numeric } else { ColumnHint::Categorical }))
            .collect();
        let has_confidence = baseline.features.iter().any(|f| f.name == CONFIDENCE_COLUMN);
        columns.push(CONFIDENCE_COLUMN.to_owned());
        hints.push(Some(ColumnHint::Numeric));
        let mut profiler = Profiler::with_hints(columns, &hints)?;
        let mut hourly = HourlyAccumulator::new(self.threshold)?;
        let mut histogram = vec![0_u64; CONFIDENCE_BINS];
        let mut row = Vec::with_capacity(width + 1);

        let reader = CaptureReader::new(self.store.clone(), &self.endpoint)
            .window(self.window)
            .schema(schema.clone())
            .destination(self.destination.clone());
        let outcome = reader
            .for_each_batch(|rows| {
                for captured in rows {
                    row.clear();
                    if captured.features.len() == width {
                        row.extend(captured.features.iter().cloned());
                    } else {
                        row.resize(width, Value::Missing);
                    }
                    let value = match &captured.output {
                        Some(ModelOutput::Classification { confidence, .. }) => Some(*confidence),
                        Some(ModelOutput::Regression { value }) => Some(*value),
                        None => None,
                    };
                    row.push(value.map_or(Value::Missing, Value::Number));
                    profiler.observe_row(&row);
                    if classification && let Some(c) = value {
                        hourly.add(captured.time, c);
                        histogram[confidence_bin(c)] += 1;
                    }
                }
                Ok(())
            })
            .await?;
        let mut statistics = profiler.finish();
        if !has_confidence {
            statistics.features.retain(|f| f.name != CONFIDENCE_COLUMN);
        }
        let checked = check(&baseline, constraints, &statistics);
        let confidence = classification.then(|| {
            let hourly = hourly.hours();
            ConfidenceSummary {
                threshold: self.threshold,
                predictions: hourly.iter().map(|h| h.predictions).sum(),
                low_confidence: hourly.iter().map(|h| h.low_confidence).sum(),
                hourly,
                baseline_histogram: baseline
                    .features
                    .iter()
                    .find(|f| f.name == CONFIDENCE_COLUMN)
                    .map(baseline_histogram)
                    .unwrap_or_default(),
                window_histogram: histogram,
            }
        });
        Ok(MonitoringReport {
            endpoint: self.endpoint.clone(),
            id: report_id(self.at),
            created: self.at,
            window: self.window,
            dataset: None,
            counts: outcome.counts,
            problems: outcome.problems,
            statistics,
            violations: checked.violations,
            drift: checked.drift,
            confidence,
            baseline: Some(baseline),
        })
    }
}

/// A report's id: its time to the millisecond, `20261206T101500123Z`.
#[must_use]
pub fn report_id(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%S%3fZ").to_string()
}

impl<'a> IntoFuture for Run<'a> {
    type Output = Result<MonitoringRun>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.execute())
    }
}

/// What a run found, and where its report is.
#[derive(Clone, Debug)]
pub struct MonitoringRun {
    /// The report.
    pub report: MonitoringReport,
    /// `monitoring/<endpoint>/reports/<id>` (when written).
    pub prefix: Option<ObjectPath>,
}

fn confidence_bin(c: f64) -> usize {
    // The last bin is closed: a confidence of 1 belongs to it.
    ((c.clamp(0.0, 1.0) * CONFIDENCE_BINS as f64) as usize).min(CONFIDENCE_BINS - 1)
}

/// Counts per confidence bin implied by the baseline's sketch of the confidence column.
fn baseline_histogram(feature: &FeatureStatistics) -> Vec<u64> {
    let Some(numerical) = &feature.numerical_statistics else { return Vec::new() };
    let Ok(sketch) = sketch::KllSketch::from_data(&numerical.distribution.kll.sketch) else { return Vec::new() };
    let n = numerical.common.num_present as f64;
    let mut previous = 0.0;
    (1..=CONFIDENCE_BINS)
        .map(|i| {
            let edge = i as f64 / CONFIDENCE_BINS as f64;
            // Everything at or below the edge, the last bin taking what is left.
            let below = if i == CONFIDENCE_BINS { 1.0 } else { sketch.cdf(edge - f64::EPSILON) };
            let count = ((below - previous) * n).round().max(0.0) as u64;
            previous = below;
            count
        })
        .collect()
}

/// One value of an Arrow column as a raw feature value.
fn arrow_value(column: &dyn Array, row: usize) -> Value {
    if column.is_null(row) {
        return Value::Missing;
    }
    match column.data_type() {
        DataType::Float64 => Value::Number(column.as_primitive::<Float64Type>().value(row)),
        DataType::Int64 => Value::Number(column.as_primitive::<Int64Type>().value(row) as f64),
        DataType::Int32 => Value::Number(f64::from(column.as_primitive::<Int32Type>().value(row))),
        DataType::Boolean => Value::Number(if column.as_boolean().value(row) { 1.0 } else { 0.0 }),
        DataType::Utf8 => Value::Text(column.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::Text(column.as_string::<i64>().value(row).to_owned()),
        _ => match arrow::util::display::array_value_to_string(column, row) {
            Ok(text) => text.parse::<f64>().map_or(Value::Text(text), Value::Number),
            Err(_) => Value::Missing,
        },
    }
}

//! Scoring a test split through an endpoint: batching, concurrency, retries, and checking
//! that the answers are predictions for every row.
//!
//! A tabular test split is turned once into CSV rows of raw source values in the model
//! schema's feature order ([`TestSet::new`]); a batch's body is a slice of that buffer, so
//! sending it costs no formatting. Endpoints are reached through [`InvokeEndpoint`], which the
//! local server and SageMaker Runtime both implement. Tabular answers are read as `text/csv`:
//! per row either one probability per class, one probability of the positive class (binary
//! classifiers such as SageMaker's XGBoost), or one value (regression).
//!
//! An image test split ([`TestSet::from_images`]) holds the test images' bytes, each checked
//! against its manifest hash when loaded. Images are sent one per invocation whatever the batch
//! size (SageMaker's image classifier answers one image per request): the body is the image,
//! `Content-Type` its MIME type (`image/png`, `image/jpeg`), `Accept: application/json`. The
//! answer is a bare JSON array of class probabilities in class order (`[0.91, 0.09]`), or a
//! CSV line of them when the endpoint answered `text/csv`; a wrong length, a non-number or a
//! non-finite value is an error naming the endpoint and the image.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use rand::Rng;
use wb_core::{ContentHash, DynObjectStore, ObjectPath};
use wb_datasets::images::ImageManifest;
use wb_datasets::{Manifest, Split, SplitData, Task};
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest};

use crate::error::{Error, Result};
use crate::report::InputKind;

/// The largest body sent: 5 MiB, below SageMaker's 6 MB `InvokeEndpoint` limit.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The labels of the test rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    /// Class index per row (into the manifest's classes).
    Classes(Vec<usize>),
    /// Target value per row.
    Values(Vec<f64>),
}

/// Test images read from the store at once.
const IMAGE_LOAD_CONCURRENCY: usize = 16;

/// One test image: its bytes, as stored and verified, and what they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestImage {
    /// Its path relative to the test split's image prefix (`cat/img_01.png`): the row id.
    pub path: String,
    /// Its class index.
    pub label: usize,
    /// Its MIME type (`image/png`, `image/jpeg`), sent as the request's `Content-Type`.
    pub content_type: &'static str,
    /// The image file's bytes.
    pub body: Bytes,
}

/// What a test set sends to endpoints.
#[derive(Clone, Debug)]
enum Inputs {
    /// Tabular rows as CSV lines.
    Csv(CsvRows),
    /// One body per image, in row order.
    Images(Vec<TestImage>),
}

/// A tabular test split as CSV lines in one buffer.
#[derive(Clone, Debug)]
struct CsvRows {
    /// All rows as CSV lines, back to back.
    lines: Bytes,
    /// `offsets[i]..offsets[i + 1]` is row `i`'s line in `lines`.
    offsets: Vec<usize>,
    /// `fields[i * width + j]` is the byte range of row `i`'s field `j` in `lines` (quoted
    /// where needed), for rebuilding rows with one column shuffled.
    fields: Vec<(u32, u32)>,
}

/// A test split ready to be sent: CSV rows of raw feature values (tabular datasets) or image
/// files (image datasets), with row ids and labels.
#[derive(Clone, Debug)]
pub struct TestSet {
    /// The id of each row (the dataset's key column or the row number in the split; an
    /// image's path relative to the test split).
    pub row_ids: Vec<String>,
    /// The key column, when the dataset has one (`None` for images: their paths are the ids).
    pub row_id_column: Option<String>,
    /// Feature columns, in the order endpoints expect them (empty for images).
    pub feature_names: Vec<String>,
    /// The true labels.
    pub labels: Labels,
    /// Class labels (empty for regression).
    pub classes: Vec<String>,
    /// What is sent.
    inputs: Inputs,
}

impl TestSet {
    /// Prepares the test split of `manifest`'s dataset.
    ///
    /// # Errors
    /// [`Error::Datasets`] when the split lacks a feature, key or target column or a target
    /// is not one of the classes.
    pub fn new(manifest: &Manifest, split: &SplitData) -> Result<Self> {
        let feature_names = manifest.features.feature_names();
        let classes = match &manifest.task {
            Task::Classification { classes } => classes.clone(),
            Task::Regression => Vec::new(),
        };
        let rows = split.num_rows();
        let width = feature_names.len();
        let target = &manifest.registration.target;
        let key = manifest.registration.key.clone();
        let mut row_ids = Vec::with_capacity(rows);
        let mut class_labels = Vec::new();
        let mut values = Vec::new();
        let mut lines = Vec::with_capacity(rows * width * 8);
        let mut offsets = Vec::with_capacity(rows + 1);
        let mut fields = Vec::with_capacity(rows * width);
        offsets.push(0);
        let class_index: std::collections::HashMap<&str, usize> =
            classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        for batch in split.batches() {
            let columns = feature_names.iter().map(|name| text_column(batch, name)).collect::<Result<Vec<_>>>()?;
            let columns: Vec<&arrow::array::StringArray> = columns.iter().map(AsArray::as_string::<i32>).collect();
            for row in 0..batch.num_rows() {
                for (j, column) in columns.iter().enumerate() {
                    if j > 0 {
                        lines.push(b',');
                    }
                    let start = lines.len();
                    if column.is_valid(row) {
                        push_field(&mut lines, column.value(row));
                    }
                    fields.push((as_u32(start)?, as_u32(lines.len())?));
                }
                lines.push(b'\n');
                offsets.push(lines.len());
            }
            match &key {
                Some(key) => {
                    let ids = text_column(batch, key)?;
                    let ids = ids.as_string::<i32>();
                    row_ids.extend(
                        (0..ids.len()).map(|i| if ids.is_valid(i) { ids.value(i).to_owned() } else { String::new() }),
                    );
                }
                None => row_ids.extend((row_ids.len()..row_ids.len() + batch.num_rows()).map(|i| i.to_string())),
            }
            let targets = text_column(batch, target)?;
            let targets = targets.as_string::<i32>();
            for i in 0..targets.len() {
                let value = targets.is_valid(i).then(|| targets.value(i));
                if classes.is_empty() {
                    values.push(value.and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN));
                } else {
                    let index =
                        value.and_then(|v| class_index.get(v)).copied().ok_or_else(|| wb_datasets::Error::Data {
                            what: "test split".into(),
                            message: format!(
                                "row {}: target {value:?} is not one of the manifest's classes",
                                class_labels.len()
                            ),
                        })?;
                    class_labels.push(index);
                }
            }
        }
        let labels = if classes.is_empty() { Labels::Values(values) } else { Labels::Classes(class_labels) };
        Ok(Self {
            row_ids,
            row_id_column: key,
            feature_names,
            labels,
            classes,
            inputs: Inputs::Csv(CsvRows { lines: lines.into(), offsets, fields }),
        })
    }

    /// An image test set: one row per image, in the given order; the row ids are the
    /// images' paths.
    ///
    /// # Errors
    /// [`Error::Datasets`] when an image's label is not a class index.
    pub fn from_images(classes: Vec<String>, images: Vec<TestImage>) -> Result<Self> {
        if let Some(bad) = images.iter().find(|i| i.label >= classes.len()) {
            return Err(wb_datasets::Error::Data {
                what: "test images".into(),
                message: format!(
                    "image {}: label {} is not a class index (the dataset has {} classes)",
                    bad.path,
                    bad.label,
                    classes.len()
                ),
            }
            .into());
        }
        Ok(Self {
            row_ids: images.iter().map(|i| i.path.clone()).collect(),
            row_id_column: None,
            feature_names: Vec::new(),
            labels: Labels::Classes(images.iter().map(|i| i.label).collect()),
            classes,
            inputs: Inputs::Images(images),
        })
    }

    /// Reads the test split of an image partition from `store`, verifying every image against
    /// its manifest hash, and builds the test set ([`Self::from_images`]).
    ///
    /// # Errors
    /// [`wb_datasets::Error::Corrupt`] (as [`Error::Datasets`]) naming the object whose bytes
    /// are not the ones the manifest records, store errors.
    pub async fn load_images(store: &DynObjectStore, manifest: &ImageManifest) -> Result<Self> {
        // Owned work items: the loads below borrow nothing, so the comparison stays `Send`.
        let wanted: Vec<(ObjectPath, TestImage, ContentHash)> = manifest
            .images(Split::Test)
            .map(|image| {
                let test_image = TestImage {
                    path: image.relative.to_owned(),
                    label: image.entry.label as usize,
                    content_type: image.entry.format.mime(),
                    body: Bytes::new(),
                };
                (image.path, test_image, image.entry.hash)
            })
            .collect();
        let images: Vec<TestImage> = futures::stream::iter(wanted.into_iter().map(|(path, image, expected)| {
            let store = store.clone();
            async move {
                let bytes = store.get(&path).await?.bytes;
                let actual = ContentHash::of_bytes(&bytes);
                if actual != expected {
                    return Err(Error::from(wb_datasets::Error::Corrupt {
                        path: path.to_string(),
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    }));
                }
                Ok(TestImage { body: bytes, ..image })
            }
        }))
        .buffered(IMAGE_LOAD_CONCURRENCY)
        .try_collect()
        .await?;
        Self::from_images(manifest.classes().to_vec(), images)
    }

    /// Whether the rows are tabular or images.
    #[must_use]
    pub fn inputs(&self) -> InputKind {
        match self.inputs {
            Inputs::Csv(_) => InputKind::Tabular,
            Inputs::Images(_) => InputKind::Images,
        }
    }

    /// The test images, in row order (empty for a tabular test set).
    #[must_use]
    pub fn images(&self) -> &[TestImage] {
        match &self.inputs {
            Inputs::Csv(_) => &[],
            Inputs::Images(images) => images,
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.row_ids.len()
    }

    /// Whether the split is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.row_ids.is_empty()
    }

    /// The CSV body of rows `start..end` (no copy); empty for an image test set, whose
    /// images are sent one per request ([`Self::images`]).
    #[must_use]
    pub fn body(&self, start: usize, end: usize) -> Bytes {
        match &self.inputs {
            Inputs::Csv(csv) => csv.lines.slice(csv.offsets[start]..csv.offsets[end]),
            Inputs::Images(_) => Bytes::new(),
        }
    }

    /// The CSV body of `rows`, with feature `feature`'s values taken from `replacement[i]`
    /// (a row index) for the i-th row: how permutation importance shuffles one column.
    /// Empty for an image test set (it has no feature columns).
    #[must_use]
    pub fn body_with(&self, rows: &[usize], feature: usize, replacement: &[usize]) -> Bytes {
        let Inputs::Csv(csv) = &self.inputs else { return Bytes::new() };
        let width = self.feature_names.len();
        let field = |(start, end): (u32, u32)| &csv.lines[start as usize..end as usize];
        let mut out = Vec::with_capacity(rows.len() * 16 * width);
        for (i, &row) in rows.iter().enumerate() {
            for j in 0..width {
                if j > 0 {
                    out.push(b',');
                }
                let source = if j == feature { replacement[i] } else { row };
                out.extend_from_slice(field(csv.fields[source * width + j]));
            }
            out.push(b'\n');
        }
        out.into()
    }

    /// The CSV body of `rows` as they are (empty for an image test set).
    #[must_use]
    pub fn body_of(&self, rows: &[usize]) -> Bytes {
        let Inputs::Csv(csv) = &self.inputs else { return Bytes::new() };
        let mut out = Vec::with_capacity(rows.len() * 64);
        for &row in rows {
            out.extend_from_slice(&csv.lines[csv.offsets[row]..csv.offsets[row + 1]]);
        }
        out.into()
    }

    /// Rows per invocation: `batch_size`, lowered so that a body of the longest rows stays
    /// within [`MAX_BODY_BYTES`] (SageMaker refuses payloads above 6 MB); always 1 for
    /// images.
    #[must_use]
    pub fn rows_per_body(&self, batch_size: usize) -> usize {
        match &self.inputs {
            Inputs::Csv(csv) => {
                let longest = csv.offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(1);
                batch_size.min(MAX_BODY_BYTES / longest.max(1)).max(1)
            }
            Inputs::Images(_) => 1,
        }
    }

    /// Number of classes (0 for regression).
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }
}

/// Appends a CSV field, quoted when it holds a separator, quote or line break (RFC 4180).
fn push_field(out: &mut Vec<u8>, value: &str) {
    if value.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

fn as_u32(offset: usize) -> Result<u32> {
    u32::try_from(offset).map_err(|_| Error::InvalidOption {
        option: "test split",
        message: "the test split's CSV form exceeds 4 GiB; compare on a smaller test split".into(),
    })
}

/// A column cast to UTF-8 text (numbers in their shortest round-trip form).
fn text_column(batch: &RecordBatch, name: &str) -> Result<arrow::array::ArrayRef> {
    let column = batch.column_by_name(name).ok_or_else(|| wb_datasets::Error::Data {
        what: "test split".into(),
        message: format!("column {name:?} is missing from the test split"),
    })?;
    Ok(arrow::compute::cast(column, &DataType::Utf8).map_err(|e| wb_datasets::Error::Data {
        what: format!("test split column {name:?}"),
        message: e.to_string(),
    })?)
}

/// A column's values as text (`None` for nulls).
pub(crate) fn column_text(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let column = batch.column_by_name(name).ok_or_else(|| wb_datasets::Error::Data {
        what: "test split".into(),
        message: format!("column {name:?} is missing from the test split"),
    })?;
    let text = arrow::compute::cast(column, &DataType::Utf8).map_err(|e| wb_datasets::Error::Data {
        what: format!("test split column {name:?}"),
        message: e.to_string(),
    })?;
    let text = text.as_string::<i32>();
    Ok((0..text.len()).map(|i| (!text.is_null(i)).then(|| text.value(i).to_owned())).collect())
}

/// How to send a test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoringOptions {
    /// Rows per invocation (tabular; images are sent one per invocation).
    pub batch_size: usize,
    /// Invocations in flight per model.
    pub concurrency: usize,
    /// Attempts per invocation; throttling, 5xx and unreachable servers are retried.
    pub max_attempts: u32,
    /// The first retry's delay; doubled (with jitter) per attempt, at most 5 s.
    pub initial_backoff: Duration,
}

impl Default for ScoringOptions {
    fn default() -> Self {
        Self { batch_size: 500, concurrency: 4, max_attempts: 5, initial_backoff: Duration::from_millis(100) }
    }
}

/// An endpoint's predictions for the test rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Predictions {
    /// Row-major probabilities, `classes` per row.
    Probabilities {
        /// Classes per row.
        classes: usize,
        /// `rows × classes` probabilities.
        values: Vec<f64>,
    },
    /// One value per row.
    Values(Vec<f64>),
}

impl Predictions {
    /// Row `i`'s probabilities.
    #[must_use]
    pub fn row(&self, i: usize) -> &[f64] {
        match self {
            Self::Probabilities { classes, values } => &values[i * classes..(i + 1) * classes],
            Self::Values(v) => std::slice::from_ref(&v[i]),
        }
    }
}

/// Counters of one scoring run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Invocations made, retries included.
    pub invocations: usize,
    /// Retries.
    pub retries: usize,
}

/// One invocation's request: the rows it carries, the body and how to read the answer.
struct Request {
    /// The ids of the rows in the body.
    ids: Vec<String>,
    /// The body.
    body: Bytes,
    /// `Content-Type` of the body.
    content_type: &'static str,
    /// `Accept`.
    accept: &'static str,
    /// How the answer is read.
    answer: Answer,
}

/// How an answer is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// `text/csv`, one line per row.
    CsvRows,
    /// One image's class probabilities: a JSON array, or one CSV line.
    Image,
}

/// The `Accept` of image requests.
const APPLICATION_JSON: &str = "application/json";
/// The `Content-Type` and `Accept` of tabular requests.
const TEXT_CSV: &str = "text/csv";

/// Sends `bodies` (each `rows` rows) to `endpoint`, `options.concurrency` at a time, and
/// parses the answers; the predictions come back in row order.
///
/// # Errors
/// The first invocation that fails after its retries, or [`Error::BadPredictions`] naming the
/// row whose answer is not a prediction.
pub async fn score_bodies(
    invoker: &Arc<dyn InvokeEndpoint>,
    endpoint: &str,
    batches: Vec<(Vec<String>, Bytes)>,
    n_classes: usize,
    options: &ScoringOptions,
) -> Result<(Predictions, Counters)> {
    let requests = batches
        .into_iter()
        .map(|(ids, body)| Request { ids, body, content_type: TEXT_CSV, accept: TEXT_CSV, answer: Answer::CsvRows })
        .collect();
    score_requests(invoker, endpoint, requests, n_classes, options).await
}

async fn score_requests(
    invoker: &Arc<dyn InvokeEndpoint>,
    endpoint: &str,
    requests: Vec<Request>,
    n_classes: usize,
    options: &ScoringOptions,
) -> Result<(Predictions, Counters)> {
    let results: Vec<(Vec<f64>, u32)> = futures::stream::iter(requests.into_iter().map(|request| {
        let invoker = Arc::clone(invoker);
        async move {
            let Request { ids, body, content_type, accept, answer } = request;
            let (response_type, text, attempts) =
                invoke_with_retries(&*invoker, endpoint, body, content_type, accept, options).await?;
            let values = match answer {
                Answer::CsvRows => parse_answer(endpoint, &text, &ids, n_classes)?,
                Answer::Image => parse_image_answer(
                    endpoint,
                    &response_type,
                    &text,
                    ids.first().map_or("", String::as_str),
                    n_classes,
                )?,
            };
            Ok::<_, Error>((values, attempts))
        }
    }))
    .buffered(options.concurrency.max(1))
    .try_collect()
    .await?;
    let mut counters = Counters::default();
    let mut values = Vec::new();
    for (v, attempts) in results {
        counters.invocations += attempts as usize;
        counters.retries += attempts as usize - 1;
        values.extend(v);
    }
    let predictions = if n_classes == 0 {
        Predictions::Values(values)
    } else {
        Predictions::Probabilities { classes: n_classes, values }
    };
    Ok((predictions, counters))
}

/// Scores every row of `test` at `endpoint`: CSV batches of `options.batch_size` rows, or one
/// image per invocation.
///
/// # Errors
/// As [`score_bodies`]; for images, [`Error::BadPredictions`] naming the image whose answer is
/// not one probability per class.
pub async fn score(
    invoker: &Arc<dyn InvokeEndpoint>,
    endpoint: &str,
    test: &TestSet,
    options: &ScoringOptions,
) -> Result<(Predictions, Counters)> {
    let requests = match &test.inputs {
        Inputs::Csv(_) => {
            let size = test.rows_per_body(options.batch_size);
            (0..test.len())
                .step_by(size)
                .map(|start| {
                    let end = (start + size).min(test.len());
                    Request {
                        ids: test.row_ids[start..end].to_vec(),
                        body: test.body(start, end),
                        content_type: TEXT_CSV,
                        accept: TEXT_CSV,
                        answer: Answer::CsvRows,
                    }
                })
                .collect()
        }
        Inputs::Images(images) => images
            .iter()
            .map(|image| Request {
                ids: vec![image.path.clone()],
                body: image.body.clone(),
                content_type: image.content_type,
                accept: APPLICATION_JSON,
                answer: Answer::Image,
            })
            .collect(),
    };
    score_requests(invoker, endpoint, requests, test.n_classes(), options).await
}

/// Invokes until success or a non-retryable error; the answer's content type and body, and
/// the attempts made.
async fn invoke_with_retries(
    invoker: &dyn InvokeEndpoint,
    endpoint: &str,
    body: Bytes,
    content_type: &str,
    accept: &str,
    options: &ScoringOptions,
) -> Result<(String, Bytes, u32)> {
    let mut attempt = 1;
    let mut delay = options.initial_backoff;
    loop {
        let request = InvokeRequest {
            content_type: content_type.into(),
            accept: Some(accept.into()),
            body: body.clone(),
            ..InvokeRequest::default()
        };
        match invoker.invoke_endpoint(endpoint, request).await {
            Ok(response) => return Ok((response.content_type, response.body, attempt)),
            Err(e) if e.is_retryable() && attempt < options.max_attempts => {
                let jitter = rand::thread_rng().gen_range(0.5..1.0);
                tracing::debug!(endpoint, attempt, error = %e, "retrying invocation");
                tokio::time::sleep(delay.mul_f64(jitter)).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(e) if attempt > 1 => return Err(Error::GaveUp { attempts: attempt, source: e }),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Parses one image's answer: a JSON array of class probabilities in class order (SageMaker's
/// image classifier), or one CSV line of them when the endpoint answered `text/csv`.
fn parse_image_answer(
    endpoint: &str,
    content_type: &str,
    body: &[u8],
    image: &str,
    n_classes: usize,
) -> Result<Vec<f64>> {
    let bad = |message: String| Error::BadPredictions { endpoint: endpoint.to_owned(), message };
    let text = std::str::from_utf8(body).map_err(|_| bad(format!("image {image}: the answer is not UTF-8 text")))?;
    let shown = wb_core::text::clip(text.trim(), 120);
    let csv = content_type.to_ascii_lowercase().contains("csv") && !text.trim_start().starts_with('[');
    let values: Vec<f64> = if csv {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let [line] = lines.as_slice() else {
            return Err(bad(format!(
                "image {image}: expected one CSV line of {n_classes} class probabilities, got {} lines",
                lines.len()
            )));
        };
        line.split(',')
            .map(|v| {
                let v = v.trim().trim_matches('"');
                v.parse::<f64>().map_err(|_| bad(format!("image {image}: prediction {v:?} is not a number")))
            })
            .collect::<Result<_>>()?
    } else {
        let array: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
            bad(format!("image {image}: the answer is not a JSON array of class probabilities ({e}): {shown:?}"))
        })?;
        array
            .iter()
            .map(|v| v.as_f64().ok_or_else(|| bad(format!("image {image}: prediction {v} is not a number"))))
            .collect::<Result<_>>()?
    };
    if values.len() != n_classes {
        return Err(bad(format!(
            "image {image}: expected {n_classes} class probabilities, got {} values ({shown:?})",
            values.len()
        )));
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(bad(format!("image {image}: prediction {v} is not a finite number ({shown:?})")));
    }
    let sum: f64 = values.iter().sum();
    if values.iter().any(|p| !(0.0..=1.0).contains(p)) || (sum - 1.0).abs() > 1e-3 {
        return Err(bad(format!(
            "image {image}: {shown:?} are not probabilities (each must be in [0, 1] and they must sum to 1)"
        )));
    }
    Ok(values)
}

/// Parses a `text/csv` answer for the rows `ids`.
fn parse_answer(endpoint: &str, body: &[u8], ids: &[String], n_classes: usize) -> Result<Vec<f64>> {
    let bad = |message: String| Error::BadPredictions { endpoint: endpoint.to_owned(), message };
    let text = std::str::from_utf8(body).map_err(|_| bad("the answer is not UTF-8 text".into()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != ids.len() {
        return Err(bad(format!(
            "sent {} rows (ids {}..{}) but got {} predictions back",
            ids.len(),
            ids.first().map_or("", String::as_str),
            ids.last().map_or("", String::as_str),
            lines.len()
        )));
    }
    let per_row = n_classes.max(1);
    let mut out = Vec::with_capacity(ids.len() * per_row);
    for (line, id) in lines.iter().zip(ids) {
        let values: Vec<f64> = line
            .split(',')
            .map(|v| {
                let v = v.trim().trim_matches('"');
                v.parse::<f64>().map_err(|_| bad(format!("row {id}: prediction {v:?} is not a number")))
            })
            .collect::<Result<_>>()?;
        if n_classes == 0 {
            match values.as_slice() {
                [v] if v.is_finite() => out.push(*v),
                _ => return Err(bad(format!("row {id}: expected one predicted value, got {line:?}"))),
            }
            continue;
        }
        let probabilities = match values.as_slice() {
            [p] if n_classes == 2 => vec![1.0 - p, *p],
            v if v.len() == n_classes => v.to_vec(),
            _ => {
                return Err(bad(format!(
                    "row {id}: expected {n_classes} class probabilities, got {} values ({line:?})",
                    values.len()
                )));
            }
        };
        let sum: f64 = probabilities.iter().sum();
        if probabilities.iter().any(|p| !(0.0..=1.0).contains(p)) || (sum - 1.0).abs() > 1e-3 {
            return Err(bad(format!(
                "row {id}: {line:?} are not probabilities (each must be in [0, 1] and they must sum to 1)"
            )));
        }
        out.extend(probabilities);
    }
    Ok(out)
}

/// Elapsed milliseconds since `start`.
pub(crate) fn millis(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn answers_are_checked_row_by_row() {
        let ok = parse_answer("ep", b"0.2,0.8\n0.6,0.4\n", &ids(2), 2).expect("valid");
        assert_eq!(ok, vec![0.2, 0.8, 0.6, 0.4]);
        let single = parse_answer("ep", b"0.25\n0.5\n", &ids(2), 2).expect("positive-class probability");
        assert_eq!(single, vec![0.75, 0.25, 0.5, 0.5]);
        let count = parse_answer("ep", b"0.2,0.8\n", &ids(2), 2).expect_err("one short");
        assert!(count.to_string().contains("sent 2 rows (ids 0..1) but got 1 predictions"), "{count}");
        let range = parse_answer("ep", b"1.5,-0.5\n", &ids(1), 2).expect_err("not probabilities");
        assert!(range.to_string().contains("row 0") && range.to_string().contains("not probabilities"), "{range}");
        let sum = parse_answer("ep", b"0.5,0.6\n", &ids(1), 2).expect_err("sum");
        assert!(sum.to_string().contains("sum to 1"), "{sum}");
        let text = parse_answer("ep", b"good\n", &ids(1), 2).expect_err("label");
        assert!(text.to_string().contains("\"good\" is not a number"), "{text}");
        let width = parse_answer("ep", b"0.2,0.3,0.5\n", &ids(1), 2).expect_err("three");
        assert!(width.to_string().contains("expected 2 class probabilities, got 3"), "{width}");
        assert_eq!(parse_answer("ep", b"3.5\n-1\n", &ids(2), 0).expect("regression"), vec![3.5, -1.0]);
    }

    #[test]
    fn image_answers_are_one_probability_per_class() {
        let json = "application/json";
        assert_eq!(parse_image_answer("ep", json, b"[0.91, 0.09]", "cat/a.png", 2).expect("array"), vec![0.91, 0.09]);
        assert_eq!(
            parse_image_answer("ep", "text/csv", b"0.25,0.75\n", "cat/a.png", 2).expect("csv line"),
            vec![0.25, 0.75]
        );
        assert_eq!(
            parse_image_answer("ep", "text/csv", b"[0.5, 0.5]", "cat/a.png", 2).expect("JSON despite the type"),
            vec![0.5, 0.5]
        );
        let long = parse_image_answer("ep", json, b"[0.2, 0.3, 0.5]", "cat/a.png", 2).expect_err("three");
        let text = long.to_string();
        assert!(text.contains("endpoint \"ep\"") && text.contains("image cat/a.png"), "{text}");
        assert!(text.contains("expected 2 class probabilities, got 3"), "{text}");
        let word = parse_image_answer("ep", json, b"[\"cat\", 0.5]", "dog/b.png", 2).expect_err("text");
        assert!(word.to_string().contains("image dog/b.png: prediction \"cat\" is not a number"), "{word}");
        let nan = parse_image_answer("ep", "text/csv", b"NaN,0.5", "dog/b.png", 2).expect_err("NaN");
        assert!(nan.to_string().contains("NaN is not a finite number"), "{nan}");
        let object =
            parse_image_answer("ep", json, b"{\"predictions\": [0.5, 0.5]}", "dog/b.png", 2).expect_err("not an array");
        assert!(object.to_string().contains("not a JSON array"), "{object}");
        let sum = parse_image_answer("ep", json, b"[0.7, 0.7]", "dog/b.png", 2).expect_err("sum");
        assert!(sum.to_string().contains("are not probabilities"), "{sum}");
        let single = parse_image_answer("ep", json, b"[0.7]", "dog/b.png", 2).expect_err("one value");
        assert!(single.to_string().contains("got 1 values"), "{single}");
    }

    #[test]
    fn image_test_sets_send_one_image_per_body() {
        let image = |path: &str, label: usize| TestImage {
            path: path.into(),
            label,
            content_type: "image/png",
            body: Bytes::from_static(b"\x89PNG"),
        };
        let test =
            TestSet::from_images(vec!["cat".into(), "dog".into()], vec![image("cat/1.png", 0), image("dog/2.png", 1)])
                .expect("valid");
        assert_eq!(test.row_ids, ["cat/1.png", "dog/2.png"]);
        assert_eq!(test.labels, Labels::Classes(vec![0, 1]));
        assert_eq!(test.inputs(), InputKind::Images);
        assert!(test.feature_names.is_empty() && test.row_id_column.is_none());
        assert_eq!(test.rows_per_body(500), 1, "the batch size does not apply");
        assert!(test.body(0, 2).is_empty() && test.body_of(&[0, 1]).is_empty());
        let err = TestSet::from_images(vec!["cat".into()], vec![image("dog/2.png", 1)]).expect_err("label");
        assert!(err.to_string().contains("image dog/2.png: label 1"), "{err}");
    }

    #[test]
    fn bodies_stay_under_the_payload_limit() {
        let long = 2 * 1024 * 1024;
        let test = TestSet {
            row_ids: vec!["0".into(), "1".into()],
            row_id_column: None,
            feature_names: vec!["text".into()],
            labels: Labels::Values(vec![1.0, 2.0]),
            classes: Vec::new(),
            inputs: Inputs::Csv(CsvRows {
                lines: Bytes::from(vec![b'a'; long + 10]),
                offsets: vec![0, long, long + 10],
                fields: vec![(0, u32::try_from(long - 1).expect("fits")), (0, 9)],
            }),
        };
        assert_eq!(test.rows_per_body(500), 2, "two 2 MiB rows fit in 5 MiB, three do not");
        assert_eq!(test.rows_per_body(1), 1);
        assert_eq!(test.body(0, 2).len(), long + 10);
    }

    #[test]
    fn fields_are_quoted_when_needed() {
        let field = |v: &str| {
            let mut out = Vec::new();
            push_field(&mut out, v);
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

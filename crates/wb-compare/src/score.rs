//! Scoring a test split through an endpoint: batching, concurrency, retries, and checking
//! that the answers are predictions for every row.
//!
//! The test split is turned once into CSV rows of raw source values in the model schema's
//! feature order ([`TestSet`]); a batch's body is a slice of that buffer, so sending it costs
//! no formatting. Endpoints are reached through [`InvokeEndpoint`], which the local server and
//! SageMaker Runtime both implement. Answers are read as `text/csv`: per row either one
//! probability per class, one probability of the positive class (binary classifiers such as
//! SageMaker's XGBoost), or one value (regression).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use rand::Rng;
use wb_datasets::{Manifest, SplitData, Task};
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest};

use crate::error::{Error, Result};

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

/// A test split ready to be sent: CSV rows of raw feature values, row ids and labels.
#[derive(Clone, Debug)]
pub struct TestSet {
    /// The id of each row (the dataset's key column, or the row number in the split).
    pub row_ids: Vec<String>,
    /// The key column, when the dataset has one.
    pub row_id_column: Option<String>,
    /// Feature columns, in the order endpoints expect them.
    pub feature_names: Vec<String>,
    /// The true labels.
    pub labels: Labels,
    /// Class labels (empty for regression).
    pub classes: Vec<String>,
    /// All rows as CSV lines, back to back.
    lines: Bytes,
    /// `offsets[i]..offsets[i + 1]` is row `i`'s line in `lines`.
    offsets: Vec<usize>,
    /// `fields[i * width + j]` is the byte range of row `i`'s field `j` in `lines` (quoted
    /// where needed), for rebuilding rows with one column shuffled.
    fields: Vec<(u32, u32)>,
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
        Ok(Self { row_ids, row_id_column: key, feature_names, labels, classes, lines: lines.into(), offsets, fields })
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

    /// The CSV body of rows `start..end` (no copy).
    #[must_use]
    pub fn body(&self, start: usize, end: usize) -> Bytes {
        self.lines.slice(self.offsets[start]..self.offsets[end])
    }

    /// The CSV body of `rows`, with feature `feature`'s values taken from `replacement[i]`
    /// (a row index) for the i-th row: how permutation importance shuffles one column.
    #[must_use]
    pub fn body_with(&self, rows: &[usize], feature: usize, replacement: &[usize]) -> Bytes {
        let width = self.feature_names.len();
        let field = |(start, end): (u32, u32)| &self.lines[start as usize..end as usize];
        let mut out = Vec::with_capacity(rows.len() * 16 * width);
        for (i, &row) in rows.iter().enumerate() {
            for j in 0..width {
                if j > 0 {
                    out.push(b',');
                }
                let source = if j == feature { replacement[i] } else { row };
                out.extend_from_slice(field(self.fields[source * width + j]));
            }
            out.push(b'\n');
        }
        out.into()
    }

    /// The CSV body of `rows` as they are.
    #[must_use]
    pub fn body_of(&self, rows: &[usize]) -> Bytes {
        let mut out = Vec::with_capacity(rows.len() * 64);
        for &row in rows {
            out.extend_from_slice(&self.lines[self.offsets[row]..self.offsets[row + 1]]);
        }
        out.into()
    }

    /// Rows per invocation: `batch_size`, lowered so that a body of the longest rows stays
    /// within [`MAX_BODY_BYTES`] (SageMaker refuses payloads above 6 MB).
    #[must_use]
    pub fn rows_per_body(&self, batch_size: usize) -> usize {
        let longest = self.offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(1);
        batch_size.min(MAX_BODY_BYTES / longest.max(1)).max(1)
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
    /// Rows per invocation.
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
    let results: Vec<(Vec<f64>, u32)> = futures::stream::iter(batches.into_iter().map(|(ids, body)| {
        let invoker = Arc::clone(invoker);
        async move {
            let (text, attempts) = invoke_with_retries(&*invoker, endpoint, body, options).await?;
            let values = parse_answer(endpoint, &text, &ids, n_classes)?;
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

/// Scores every row of `test` at `endpoint`.
///
/// # Errors
/// As [`score_bodies`].
pub async fn score(
    invoker: &Arc<dyn InvokeEndpoint>,
    endpoint: &str,
    test: &TestSet,
    options: &ScoringOptions,
) -> Result<(Predictions, Counters)> {
    let size = test.rows_per_body(options.batch_size);
    let batches = (0..test.len())
        .step_by(size)
        .map(|start| {
            let end = (start + size).min(test.len());
            (test.row_ids[start..end].to_vec(), test.body(start, end))
        })
        .collect();
    score_bodies(invoker, endpoint, batches, test.n_classes(), options).await
}

async fn invoke_with_retries(
    invoker: &dyn InvokeEndpoint,
    endpoint: &str,
    body: Bytes,
    options: &ScoringOptions,
) -> Result<(Bytes, u32)> {
    let mut attempt = 1;
    let mut delay = options.initial_backoff;
    loop {
        let request = InvokeRequest {
            content_type: "text/csv".into(),
            accept: Some("text/csv".into()),
            body: body.clone(),
            ..InvokeRequest::default()
        };
        match invoker.invoke_endpoint(endpoint, request).await {
            Ok(response) => return Ok((response.body, attempt)),
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
    fn bodies_stay_under_the_payload_limit() {
        let long = 2 * 1024 * 1024;
        let test = TestSet {
            row_ids: vec!["0".into(), "1".into()],
            row_id_column: None,
            feature_names: vec!["text".into()],
            labels: Labels::Values(vec![1.0, 2.0]),
            classes: Vec::new(),
            lines: Bytes::from(vec![b'a'; long + 10]),
            offsets: vec![0, long, long + 10],
            fields: vec![(0, u32::try_from(long - 1).expect("fits")), (0, 9)],
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

//! Reading an endpoint's data capture back (contract B2), from a local directory store or S3.
//!
//! Capture files live at `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`
//! (`destination` defaults to `capture`), one JSON record per line. A [`CaptureReader`] lists
//! them, drops the files whose hour (from the key) cannot meet the [`Window`], parses the rest
//! in parallel on blocking threads (a bounded number of files in flight) and delivers the rows
//! in key order, batch by batch: the same capture always gives the same rows in the same order,
//! and memory is bounded by the batch and the files in flight, not by the capture.
//!
//! Records are then filtered by `eventMetadata.inferenceTime` (ISO-8601 UTC, to the second or
//! with fractional seconds). A malformed line (not JSON, no time, a payload that does not
//! decode, request and response row counts that differ) becomes a [`Problem`] naming the
//! object and the 1-based line, is counted as skipped, and never stops the read.
//!
//! ```no_run
//! # async fn demo(store: wb_core::DynObjectStore) -> wb_monitor::Result<()> {
//! use wb_monitor::capture::CaptureReader;
//! let mut rows = 0;
//! let outcome = CaptureReader::new(store, "churn-endpoint")
//!     .decode_inputs(false)
//!     .for_each_batch(|batch| {
//!         rows += batch.len();
//!         Ok(())
//!     })
//!     .await?;
//! assert_eq!(outcome.counts.rows, rows as u64);
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures::StreamExt as _;
use serde::Deserialize;
use wb_core::{DynObjectStore, ObjectPath};

use crate::error::{Error, Result};
use crate::hourly::HourlyAccumulator;
use crate::payload::{self, InputRows, PayloadError};
use crate::record::{CapturedRow, ModelOutput, RowSchema, Window};
use crate::report::{Problem, ReadCounts};

/// The default destination prefix of capture files.
pub const DEFAULT_DESTINATION: &str = wb_serving::capture::DEFAULT_DESTINATION;
/// At most this many problems are kept in a [`ReadOutcome`] (all are counted).
pub const MAX_PROBLEMS: usize = 100;
/// The default number of rows handed to the consumer at a time.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// What a read found besides the rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadOutcome {
    /// Files, records, decoded and skipped records, rows.
    ///
    /// `records` counts every non-empty line of the files read; a record outside the window
    /// is neither decoded nor skipped.
    pub counts: ReadCounts,
    /// The first [`MAX_PROBLEMS`] malformed lines, in read order.
    pub problems: Vec<Problem>,
}

impl ReadOutcome {
    fn absorb<T>(&mut self, part: FileParse<T>) -> T {
        self.counts.files += 1;
        self.counts.records += part.records;
        self.counts.decoded += part.decoded;
        self.counts.skipped += part.skipped;
        self.counts.rows += part.rows;
        let room = MAX_PROBLEMS.saturating_sub(self.problems.len());
        self.problems.extend(part.problems.into_iter().take(room));
        part.out
    }
}

/// Reads the capture of one endpoint; configure with the builder methods, then consume with
/// [`for_each_batch`](Self::for_each_batch) or [`hourly_confidence`](Self::hourly_confidence).
#[derive(Clone, Debug)]
pub struct CaptureReader {
    store: DynObjectStore,
    endpoint: String,
    destination: Option<ObjectPath>,
    variant: Option<String>,
    settings: Settings,
    batch_rows: usize,
    files_in_flight: usize,
}

/// What the parsing threads need.
#[derive(Clone, Debug)]
struct Settings {
    window: Window,
    schema: Option<RowSchema>,
    decode_inputs: bool,
}

/// One capture object to read.
#[derive(Clone, Debug)]
struct FileJob {
    path: ObjectPath,
    variant: String,
}

/// What parsing one file gave.
struct FileParse<T> {
    out: T,
    records: u64,
    decoded: u64,
    skipped: u64,
    rows: u64,
    problems: Vec<Problem>,
}

impl<T> FileParse<T> {
    fn new(out: T) -> Self {
        Self { out, records: 0, decoded: 0, skipped: 0, rows: 0, problems: Vec::new() }
    }

    fn problem(&mut self, job: &FileJob, line: usize, message: impl Into<String>) {
        self.skipped += 1;
        let message = message.into();
        tracing::debug!(file = %job.path, line, %message, "skipping a malformed capture record");
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { file: job.path.to_string(), line: line as u64, message });
        }
    }
}

impl CaptureReader {
    /// A reader of `endpoint`'s capture below the default destination (`capture`), every
    /// variant, all time, inputs decoded with positional columns.
    #[must_use]
    pub fn new(store: DynObjectStore, endpoint: impl Into<String>) -> Self {
        let files_in_flight = std::thread::available_parallelism().map_or(2, std::num::NonZero::get).max(2) * 2;
        Self {
            store,
            endpoint: endpoint.into(),
            destination: ObjectPath::parse(DEFAULT_DESTINATION).ok(),
            variant: None,
            settings: Settings { window: Window::default(), schema: None, decode_inputs: true },
            batch_rows: DEFAULT_BATCH_ROWS,
            files_in_flight,
        }
    }

    /// The prefix the endpoint's directory is below (the capture configuration's
    /// destination); `None` for the store's root.
    #[must_use]
    pub fn destination(mut self, prefix: impl Into<Option<ObjectPath>>) -> Self {
        self.destination = prefix.into();
        self
    }

    /// Reads only this production variant.
    #[must_use]
    pub fn variant(mut self, variant: impl Into<String>) -> Self {
        self.variant = Some(variant.into());
        self
    }

    /// Reads only records whose inference time is in `window`.
    #[must_use]
    pub fn window(mut self, window: Window) -> Self {
        self.settings.window = window;
        self
    }

    /// Decodes inputs into the model's columns (and checks output class counts); without it
    /// columns are named `_c0`, `_c1`, … and values are numbers when they parse as one.
    #[must_use]
    pub fn schema(mut self, schema: RowSchema) -> Self {
        self.settings.schema = Some(schema);
        self
    }

    /// Whether requests are decoded; `false` reads only outputs and times (faster).
    #[must_use]
    pub fn decode_inputs(mut self, decode: bool) -> Self {
        self.settings.decode_inputs = decode;
        self
    }

    /// Rows per batch handed to the consumer (at least 1).
    #[must_use]
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Files fetched and parsed concurrently (at least 1; default twice the cores).
    #[must_use]
    pub fn files_in_flight(mut self, files: usize) -> Self {
        self.files_in_flight = files.max(1);
        self
    }

    /// The column names rows are decoded into: the schema's, or `_c0`, `_c1`, … for `n`
    /// positional columns.
    #[must_use]
    pub fn column_names(schema: Option<&RowSchema>, n: usize) -> Vec<String> {
        schema.map_or_else(|| (0..n).map(|i| format!("_c{i}")).collect(), |s| s.features.clone())
    }

    /// The store prefix read: `<destination>/<endpoint>[/<variant>]`.
    fn prefix(&self) -> Result<ObjectPath> {
        let bad =
            |what: &str, v: &str| Error::InvalidInput(format!("{what} {v:?} is not a valid capture path segment"));
        let segment_ok = |s: &str| !s.contains('/') && ObjectPath::parse(s).is_ok();
        if !segment_ok(&self.endpoint) {
            return Err(bad("endpoint", &self.endpoint));
        }
        let mut prefix = match &self.destination {
            Some(d) => d.join(&self.endpoint)?,
            None => ObjectPath::parse(self.endpoint.clone())?,
        };
        if let Some(v) = &self.variant {
            if !segment_ok(v) {
                return Err(bad("variant", v));
            }
            prefix = prefix.join(v)?;
        }
        Ok(prefix)
    }

    /// Lists the capture files, keeps those whose hour can meet the window.
    async fn jobs(&self) -> Result<Vec<FileJob>> {
        let prefix = self.prefix()?;
        let listed = self.store.list(Some(&prefix)).await?;
        let base = match &self.destination {
            Some(d) => d.segments().count(),
            None => 0,
        };
        let mut any = false;
        let mut jobs = Vec::new();
        for meta in listed {
            let segments: Vec<&str> = meta.path.segments().collect();
            // <endpoint>/<variant>/yyyy/mm/dd/hh/<file>
            let Some(rest) = segments.get(base..).filter(|r| r.len() == 7) else {
                tracing::debug!(path = %meta.path, "not a capture file (unexpected depth)");
                continue;
            };
            let Some(hour) = hour_of_key(&rest[2..6]) else {
                tracing::debug!(path = %meta.path, "not a capture file (no hour in the key)");
                continue;
            };
            any = true;
            let w = &self.settings.window;
            if w.since.is_some_and(|s| hour + 3600 <= s.timestamp()) || w.until.is_some_and(|u| hour >= u.timestamp()) {
                continue;
            }
            jobs.push(FileJob { variant: rest[1].to_owned(), path: meta.path });
        }
        if !any {
            return Err(Error::NoCapture {
                prefix: prefix.to_string(),
                hint: "; is data capture enabled on the endpoint, and is this the capture destination?".into(),
            });
        }
        tracing::debug!(prefix = %prefix, files = jobs.len(), "capture files to read");
        Ok(jobs)
    }

    /// Fetches and parses every file in flight-bounded parallel, handing each file's result to
    /// `consume` in key order.
    async fn drive<T, P, C>(self, parse: P, mut consume: C) -> Result<ReadOutcome>
    where
        T: Send + 'static,
        P: Fn(&Settings, &FileJob, &[u8]) -> FileParse<T> + Send + Sync + 'static,
        C: FnMut(T) -> Result<()>,
    {
        let jobs = self.jobs().await?;
        let settings = Arc::new(self.settings);
        let parse = Arc::new(parse);
        let store = self.store;
        let mut results = futures::stream::iter(jobs)
            .map(|job| {
                let store = Arc::clone(&store);
                let settings = Arc::clone(&settings);
                let parse = Arc::clone(&parse);
                async move {
                    let bytes = store.get(&job.path).await?.bytes;
                    tokio::task::spawn_blocking(move || parse(&settings, &job, &bytes))
                        .await
                        .map_err(|e| Error::Task(e.to_string()))
                }
            })
            .buffered(self.files_in_flight);
        let mut outcome = ReadOutcome::default();
        while let Some(part) = results.next().await {
            let out = outcome.absorb(part?);
            consume(out)?;
        }
        if outcome.counts.skipped > 0 {
            tracing::warn!(
                skipped = outcome.counts.skipped,
                records = outcome.counts.records,
                "malformed capture records were skipped"
            );
        }
        tracing::info!(
            files = outcome.counts.files,
            records = outcome.counts.records,
            rows = outcome.counts.rows,
            "capture read"
        );
        Ok(outcome)
    }

    /// Reads every row, handing them to `f` in batches of at most the batch size, in key order
    /// then line order then row order.
    ///
    /// # Errors
    /// [`Error::NoCapture`] when the prefix holds no capture file, [`Error::InvalidInput`] for
    /// an endpoint or variant name that is not a path segment, store errors, and any error `f`
    /// returns (which stops the read). Malformed records are not errors: see
    /// [`ReadOutcome::problems`].
    pub async fn for_each_batch(self, mut f: impl FnMut(&[CapturedRow]) -> Result<()>) -> Result<ReadOutcome> {
        let batch_rows = self.batch_rows;
        let mut batch: Vec<CapturedRow> = Vec::with_capacity(batch_rows.min(65_536));
        let outcome = self
            .drive(parse_rows, |rows: Vec<CapturedRow>| {
                for row in rows {
                    batch.push(row);
                    if batch.len() >= batch_rows {
                        f(&batch)?;
                        batch.clear();
                    }
                }
                Ok(())
            })
            .await?;
        if !batch.is_empty() {
            f(&batch)?;
        }
        Ok(outcome)
    }

    /// Every captured classification's time and confidence (its highest class probability), in
    /// read order; inputs are not decoded, so this works for image endpoints too.
    ///
    /// # Errors
    /// As [`for_each_batch`](Self::for_each_batch).
    pub async fn confidences(self) -> Result<(Vec<(DateTime<Utc>, f64)>, ReadOutcome)> {
        let mut points = Vec::new();
        let outcome = self
            .decode_inputs(false)
            .for_each_batch(|rows| {
                points.extend(rows.iter().filter_map(|r| Some((r.time, r.output.as_ref()?.confidence()?))));
                Ok(())
            })
            .await?;
        Ok((points, outcome))
    }

    /// Counts predictions and low-confidence predictions per hour, reading only outputs and
    /// times (the fast path: no row is materialised).
    ///
    /// # Errors
    /// As [`for_each_batch`](Self::for_each_batch), and [`Error::InvalidInput`] for a
    /// threshold outside `0..=1`.
    pub async fn hourly_confidence(self, threshold: f64) -> Result<(HourlyAccumulator, ReadOutcome)> {
        let mut total = HourlyAccumulator::new(threshold)?;
        let outcome = self
            .drive(
                move |settings: &Settings, job: &FileJob, bytes: &[u8]| parse_hourly(settings, job, bytes, threshold),
                |part: HourlyAccumulator| {
                    total.merge(&part);
                    Ok(())
                },
            )
            .await?;
        Ok((total, outcome))
    }
}

/// The hour (unix seconds of its start) of `yyyy/mm/dd/hh` key segments.
fn hour_of_key(parts: &[&str]) -> Option<i64> {
    let num = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let (y, m, d, h) = (num(parts[0], 4)?, num(parts[1], 2)?, num(parts[2], 2)?, num(parts[3], 2)?);
    let t = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?.and_hms_opt(h, 0, 0)?;
    Some(t.and_utc().timestamp())
}

/// `2022-02-14T17:25:49Z`, with optional fractional seconds; other RFC 3339 forms through
/// chrono.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let fast = || -> Option<DateTime<Utc>> {
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let d = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
        };
        let mut nanos = 0u32;
        let mut i = 19;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            let mut scale = 100_000_000u32;
            while i < b.len() && b[i].is_ascii_digit() {
                nanos += u32::from(b[i] - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        if i + 1 != b.len() || (b[i] != b'Z' && b[i] != b'z') {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(i32::try_from(d(0..4)?).ok()?, d(5..7)?, d(8..10)?)?;
        Some(date.and_hms_nano_opt(d(11..13)?, d(14..16)?, d(17..19)?, nanos)?.and_utc())
    };
    fast().or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)))
}

/// One payload of a record.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem<'a> {
    #[serde(borrow)]
    observed_content_type: Cow<'a, str>,
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow)]
    encoding: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMeta<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow, default)]
    inference_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inference_time: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawData<'a> {
    #[serde(borrow, default)]
    endpoint_input: Option<RawItem<'a>>,
    #[serde(borrow, default)]
    endpoint_output: Option<RawItem<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(borrow)]
    capture_data: RawData<'a>,
    #[serde(borrow)]
    event_metadata: RawMeta<'a>,
}

/// The output-only view: the request is skipped without being materialised.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDataOut<'a> {
    #[serde(default, rename = "endpointInput")]
    _input: Option<serde::de::IgnoredAny>,
    #[serde(borrow, default)]
    endpoint_output: Option<RawItem<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecordOut<'a> {
    #[serde(borrow)]
    capture_data: RawDataOut<'a>,
    #[serde(borrow)]
    event_metadata: RawMeta<'a>,
}

/// A record's parts.
struct Parsed<'a> {
    meta: RawMeta<'a>,
    input: Option<RawItem<'a>>,
    output: Option<RawItem<'a>>,
}

fn parse_record(line: &[u8], with_input: bool) -> std::result::Result<Parsed<'_>, String> {
    let bad = |e: serde_json::Error| format!("not a capture record: {e}");
    // One UTF-8 check per line is much cheaper than serde_json's check of every string.
    let line = std::str::from_utf8(line).map_err(|e| format!("not a capture record: not UTF-8 ({e})"))?;
    if with_input {
        let r: RawRecord<'_> = serde_json::from_str(line).map_err(bad)?;
        Ok(Parsed {
            meta: r.event_metadata,
            input: r.capture_data.endpoint_input,
            output: r.capture_data.endpoint_output,
        })
    } else {
        let r: RawRecordOut<'_> = serde_json::from_str(line).map_err(bad)?;
        Ok(Parsed { meta: r.event_metadata, input: None, output: r.capture_data.endpoint_output })
    }
}

/// Calls `f(line_number, line)` for each non-empty line (1-based numbers, `\r\n` accepted).
fn for_each_line(bytes: &[u8], mut f: impl FnMut(usize, &[u8])) {
    let mut start = 0;
    let mut n = 0;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        n += 1;
        let mut line = &bytes[start..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            f(n, line);
        }
        start = end + 1;
    }
}

/// Parses a record's time and checks it against the window: `Ok(None)` when outside.
fn time_in_window(meta: &RawMeta<'_>, window: &Window) -> std::result::Result<Option<DateTime<Utc>>, String> {
    let t = parse_time(&meta.inference_time)
        .ok_or_else(|| format!("bad inferenceTime {:?} (expected ISO-8601 UTC)", meta.inference_time))?;
    Ok(window.contains(t).then_some(t))
}

fn payload_err(what: &str) -> impl Fn(PayloadError) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// What one line gave: `None` outside the window, an error message when malformed.
type LineResult<T> = std::result::Result<Option<T>, String>;

/// Parses one file into rows.
fn parse_rows(settings: &Settings, job: &FileJob, bytes: &[u8]) -> FileParse<Vec<CapturedRow>> {
    let mut part = FileParse::new(Vec::new());
    let schema = settings.schema.as_ref();
    for_each_line(bytes, |n, line| {
        part.records += 1;
        let decoded = (|| -> LineResult<Vec<CapturedRow>> {
            let rec = parse_record(line, settings.decode_inputs)?;
            let Some(time) = time_in_window(&rec.meta, &settings.window)? else { return Ok(None) };
            let outputs = match &rec.output {
                Some(o) => Some(
                    payload::decode_outputs(&o.observed_content_type, &o.encoding, &o.data, schema)
                        .map_err(payload_err("endpointOutput"))?,
                ),
                None => None,
            };
            let inputs = match &rec.input {
                Some(i) => Some(
                    payload::decode_inputs(&i.observed_content_type, &i.encoding, &i.data, schema)
                        .map_err(payload_err("endpointInput"))?,
                ),
                None => None,
            };
            let (features, outputs): (Vec<Vec<crate::Value>>, Vec<Option<ModelOutput>>) = match (inputs, outputs) {
                (Some(InputRows::Rows(r)), Some(o)) => {
                    if r.len() != o.len() {
                        return Err(format!("the request has {} rows but the response {}", r.len(), o.len()));
                    }
                    (r, o.into_iter().map(Some).collect())
                }
                (Some(InputRows::Rows(r)), None) => {
                    let n = r.len();
                    (r, vec![None; n])
                }
                (_, Some(o)) => (vec![Vec::new(); o.len()], o.into_iter().map(Some).collect()),
                (_, None) => (vec![Vec::new()], vec![None]),
            };
            let event_id = rec.meta.event_id.into_owned();
            let inference_id = rec.meta.inference_id.map(Cow::into_owned);
            Ok(Some(
                features
                    .into_iter()
                    .zip(outputs)
                    .enumerate()
                    .map(|(row, (features, output))| CapturedRow {
                        time,
                        event_id: event_id.clone(),
                        inference_id: inference_id.clone(),
                        variant: job.variant.clone(),
                        row,
                        features,
                        output,
                    })
                    .collect(),
            ))
        })();
        match decoded {
            Ok(Some(rows)) => {
                part.decoded += 1;
                part.rows += rows.len() as u64;
                part.out.extend(rows);
            }
            Ok(None) => {}
            Err(message) => part.problem(job, n, message),
        }
    });
    part
}

/// Parses one file into hourly confidence counts, without materialising rows.
fn parse_hourly(settings: &Settings, job: &FileJob, bytes: &[u8], threshold: f64) -> FileParse<HourlyAccumulator> {
    let mut part = FileParse::new(HourlyAccumulator::new(threshold).unwrap_or_default());
    let schema = settings.schema.as_ref();
    let classes = schema.map_or(0, |s| s.classes.len());
    let regression = schema.is_some_and(|s| s.regression);
    // Confidences of the current record, reused across records; NaN marks a regression output
    // (a row, not a prediction with a confidence).
    let mut confidences: Vec<f64> = Vec::with_capacity(4);
    for_each_line(bytes, |n, line| {
        part.records += 1;
        confidences.clear();
        let counted = (|| -> LineResult<i64> {
            let rec = parse_record(line, false)?;
            let Some(time) = time_in_window(&rec.meta, &settings.window)? else { return Ok(None) };
            let secs = time.timestamp();
            let Some(o) = &rec.output else { return Ok(Some(secs)) };
            let plain_csv = o.encoding.eq_ignore_ascii_case("CSV")
                && o.observed_content_type.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"));
            if plain_csv && !regression {
                payload::csv_outputs(&o.data, |values| {
                    if classes > 0 && values.len() != classes {
                        return Err(PayloadError {
                            message: format!("expected {classes} probabilities (one per class), got {}", values.len()),
                        });
                    }
                    if values.len() > 1 || classes > 0 {
                        confidences.push(values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                    } else {
                        confidences.push(f64::NAN); // a single value without a schema: regression
                    }
                    Ok(())
                })
                .map_err(payload_err("endpointOutput"))?;
            } else {
                let outputs = payload::decode_outputs(&o.observed_content_type, &o.encoding, &o.data, schema)
                    .map_err(payload_err("endpointOutput"))?;
                confidences.extend(outputs.iter().map(|o| o.confidence().unwrap_or(f64::NAN)));
            }
            Ok(Some(secs))
        })();
        match counted {
            Ok(Some(secs)) => {
                part.decoded += 1;
                part.rows += confidences.len().max(1) as u64;
                for &c in confidences.iter().filter(|c| !c.is_nan()) {
                    part.out.add_at(secs, c);
                }
            }
            Ok(None) => {}
            Err(message) => part.problem(job, n, message),
        }
    });
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_to_the_second_and_with_fractions() {
        let t = parse_time("2022-02-14T17:25:49Z").expect("time");
        assert_eq!(t.timestamp(), 1_644_859_549);
        let f = parse_time("2022-02-14T17:25:49.250Z").expect("fraction");
        assert_eq!(f.timestamp_millis(), 1_644_859_549_250);
        assert_eq!(parse_time("2022-02-14T17:25:49+00:00"), Some(t));
        assert!(parse_time("2022-02-30T17:25:49Z").is_none());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn key_hours_need_four_two_two_two_digits() {
        assert_eq!(hour_of_key(&["2022", "02", "14", "17"]), Some(1_644_858_000));
        assert_eq!(hour_of_key(&["2022", "2", "14", "17"]), None);
        assert_eq!(hour_of_key(&["2022", "02", "14", "24"]), None);
    }
}

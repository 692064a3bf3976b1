//! SageMaker data capture: sampled requests and responses of an endpoint, as JSON lines in
//! the store, in SageMaker's format (contract B2).
//!
//! # Objects
//!
//! `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<uuid-v7>.jsonl`, the hour being the UTC
//! hour of the invocation. Each object is written whole with one atomic
//! [`ObjectStore::put`](wb_core::ObjectStore::put), so a reader never sees a partial line; the v7 UUID makes names sort by
//! creation time. A file holds the records of one (endpoint, variant, hour) buffered for at
//! most the flush interval (default 5 s) or about 1 MiB, whichever comes first.
//!
//! # Records
//!
//! One JSON object per line, keys in this order:
//!
//! ```json
//! {"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"7.4,red\n","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv","mode":"OUTPUT","data":"0.1,0.9\n","encoding":"CSV"}},"eventMetadata":{"eventId":"0190…","inferenceId":"abc","inferenceTime":"2022-02-14T17:25:49Z"},"eventVersion":"0"}
//! ```
//!
//! - `encoding` is `CSV` when the content type (parameters ignored, case-insensitive) is one of
//!   the configured CSV types, `JSON` for the JSON types, and `BASE64` (`data` = standard
//!   base64 of the bytes, padded) for anything else — and also for a CSV/JSON payload that is
//!   not valid UTF-8;
//! - `endpointInput`/`endpointOutput` are left out when the configuration does not capture
//!   them; `inferenceId` only appears when the caller sent `X-Amzn-SageMaker-Inference-Id`;
//! - `eventId` is a UUID (v7 here; SageMaker's look like v4 — readers must treat it as opaque);
//!   `inferenceTime` is ISO-8601 UTC to the second with `Z`.
//!
//! Only successful invocations are captured.
//!
//! # Delivery
//!
//! [`CaptureWriter::record`] serializes the line on the caller's task and appends it, under a
//! short lock, to the in-memory buffer of its (destination, endpoint, variant, hour): no
//! message and no task wake-up per record, which keeps capture cheap on the invocation path.
//! A background task swaps the buffers out and writes them every flush interval, or as soon
//! as one reaches the file size. Memory is bounded: when more than 64 MiB (configurable) are
//! buffered or being written, `record` waits for the store (back-pressure on the invocation)
//! rather than dropping the record. [`CaptureWriter::shutdown`] closes intake, writes every
//! buffer and reports what was written; a record offered after that is dropped and counted.
//! A failed put is retried three times, then its records are counted as failed (and logged).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;
use wb_core::{DynObjectStore, ObjectPath};

use crate::error::{Error, Result};
use crate::inference::media_type;

/// Default interval between writes of the capture buffers.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Default size at which a buffer is written without waiting for the interval.
pub const DEFAULT_MAX_FILE_BYTES: usize = 1024 * 1024;
/// Default bound on bytes buffered or being written before recording waits.
pub const DEFAULT_MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// The default destination prefix in the store.
pub const DEFAULT_DESTINATION: &str = "capture";
/// Attempts per object write before its records are given up.
const PUT_ATTEMPTS: u32 = 3;

/// Data-capture configuration of an endpoint (SageMaker's `DataCaptureConfig`), stored in
/// endpoint records.
///
/// Invariants (checked by [`CaptureConfig::validate`], on deserialization too):
/// `sampling_percentage` ≤ 100; at least one of input and output is captured; content types
/// are `type/subtype` without parameters, at most 10 per list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CaptureConfigFields")]
pub struct CaptureConfig {
    /// Percentage of invocations captured (SageMaker's `InitialSamplingPercentage`, 0–100).
    pub sampling_percentage: u8,
    /// Capture the request (`CaptureMode: Input`).
    pub capture_input: bool,
    /// Capture the response (`CaptureMode: Output`).
    pub capture_output: bool,
    /// Content types recorded as text with encoding `CSV` (`CsvContentTypes`).
    pub csv_content_types: Vec<String>,
    /// Content types recorded as text with encoding `JSON` (`JsonContentTypes`).
    pub json_content_types: Vec<String>,
    /// Store prefix the capture files go below (`DestinationS3Uri`).
    pub destination: ObjectPath,
}

/// The serialized form of [`CaptureConfig`], with defaults, validated into it.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct CaptureConfigFields {
    sampling_percentage: u8,
    capture_input: bool,
    capture_output: bool,
    csv_content_types: Vec<String>,
    json_content_types: Vec<String>,
    destination: ObjectPath,
}

impl Default for CaptureConfigFields {
    fn default() -> Self {
        let d = CaptureConfig::default();
        Self {
            sampling_percentage: d.sampling_percentage,
            capture_input: d.capture_input,
            capture_output: d.capture_output,
            csv_content_types: d.csv_content_types,
            json_content_types: d.json_content_types,
            destination: d.destination,
        }
    }
}

impl TryFrom<CaptureConfigFields> for CaptureConfig {
    type Error = Error;
    fn try_from(f: CaptureConfigFields) -> Result<Self> {
        let config = Self {
            sampling_percentage: f.sampling_percentage,
            capture_input: f.capture_input,
            capture_output: f.capture_output,
            csv_content_types: f.csv_content_types,
            json_content_types: f.json_content_types,
            destination: f.destination,
        };
        config.validate()?;
        Ok(config)
    }
}

impl Default for CaptureConfig {
    /// The SageMaker Python SDK's defaults: 20 %, input and output, `text/csv` and
    /// `application/json`, below `capture`.
    fn default() -> Self {
        Self {
            sampling_percentage: 20,
            capture_input: true,
            capture_output: true,
            csv_content_types: vec!["text/csv".into()],
            json_content_types: vec!["application/json".into()],
            destination: ObjectPath::parse(DEFAULT_DESTINATION).unwrap_or_else(|_| unreachable!("a valid path")),
        }
    }
}

impl CaptureConfig {
    /// The default configuration with another sampling percentage.
    ///
    /// # Errors
    /// [`Error::InvalidCapture`] when `sampling_percentage` exceeds 100.
    pub fn new(sampling_percentage: u8) -> Result<Self> {
        let config = Self { sampling_percentage, ..Self::default() };
        config.validate()?;
        Ok(config)
    }

    /// Checks the invariants.
    ///
    /// # Errors
    /// [`Error::InvalidCapture`] naming the broken rule.
    pub fn validate(&self) -> Result<()> {
        let fail = |reason: String| Err(Error::InvalidCapture { reason });
        if self.sampling_percentage > 100 {
            return fail(format!("the sampling percentage must be 0–100, not {}", self.sampling_percentage));
        }
        if !self.capture_input && !self.capture_output {
            return fail("capture at least one of the input and the output".into());
        }
        for (what, list) in [("CSV", &self.csv_content_types), ("JSON", &self.json_content_types)] {
            if list.len() > 10 {
                return fail(format!("at most 10 {what} content types, not {}", list.len()));
            }
            if let Some(bad) = list.iter().find(|t| !is_media_type(t)) {
                return fail(format!("{what} content type {bad:?} is not of the form type/subtype"));
            }
        }
        Ok(())
    }

    /// Draws whether one invocation is captured (probability `sampling_percentage` / 100).
    #[must_use]
    pub fn sample(&self) -> bool {
        match self.sampling_percentage {
            0 => false,
            p if p >= 100 => true,
            p => rand::thread_rng().gen_range(0..100u8) < p,
        }
    }

    /// How a payload of `content_type` is recorded.
    #[must_use]
    pub fn encoding_for(&self, content_type: &str) -> CaptureEncoding {
        let media = media_type(content_type);
        if self.csv_content_types.iter().any(|t| media_type(t).eq_ignore_ascii_case(media)) {
            CaptureEncoding::Csv
        } else if self.json_content_types.iter().any(|t| media_type(t).eq_ignore_ascii_case(media)) {
            CaptureEncoding::Json
        } else {
            CaptureEncoding::Base64
        }
    }

    /// The capture event of one invocation now: a fresh event id, the payloads this
    /// configuration captures with their encodings.
    #[must_use]
    pub fn event(
        &self,
        endpoint: &str,
        variant: &str,
        input: Payload,
        output: Payload,
        inference_id: Option<&str>,
    ) -> CaptureEvent {
        CaptureEvent {
            endpoint: endpoint.to_owned(),
            variant: variant.to_owned(),
            destination: self.destination.clone(),
            input: self.capture_input.then(|| CapturedPayload {
                encoding: self.encoding_for(&input.content_type),
                content_type: input.content_type,
                data: input.data,
            }),
            output: self.capture_output.then(|| CapturedPayload {
                encoding: self.encoding_for(&output.content_type),
                content_type: output.content_type,
                data: output.data,
            }),
            event_id: new_uuid_v7(),
            inference_id: inference_id.map(str::to_owned),
            inference_time: Utc::now(),
        }
    }
}

fn is_media_type(t: &str) -> bool {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-*".contains(&b));
    t.len() <= 256 && t.split_once('/').is_some_and(|(a, b)| token(a) && token(b))
}

/// How a payload is written into a record's `data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CaptureEncoding {
    /// The text as is (`CSV`).
    Csv,
    /// The JSON text as a string (`JSON`).
    Json,
    /// Base64 of the bytes (`BASE64`).
    Base64,
}

impl CaptureEncoding {
    /// The literal in records: `CSV`, `JSON`, `BASE64`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Json => "JSON",
            Self::Base64 => "BASE64",
        }
    }
}

/// A request or response body with its content type, as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The `Content-Type` (as sent, parameters included).
    pub content_type: String,
    /// The bytes.
    pub data: Bytes,
}

/// A payload to be captured, with its encoding resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedPayload {
    /// The observed `Content-Type`.
    pub content_type: String,
    /// The bytes.
    pub data: Bytes,
    /// How `data` is recorded.
    pub encoding: CaptureEncoding,
}

/// One captured invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureEvent {
    /// The endpoint.
    pub endpoint: String,
    /// The production variant.
    pub variant: String,
    /// The store prefix of the capture files.
    pub destination: ObjectPath,
    /// The request, when captured.
    pub input: Option<CapturedPayload>,
    /// The response, when captured.
    pub output: Option<CapturedPayload>,
    /// Unique id of the event.
    pub event_id: Uuid,
    /// The caller's `X-Amzn-SageMaker-Inference-Id`.
    pub inference_id: Option<String>,
    /// When the invocation happened.
    pub inference_time: DateTime<Utc>,
}

impl CaptureEvent {
    /// The store directory of the event's file:
    /// `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh`.
    #[must_use]
    pub fn directory(&self) -> String {
        let t = self.inference_time;
        format!(
            "{}/{}/{}/{:04}/{:02}/{:02}/{:02}",
            self.destination,
            self.endpoint,
            self.variant,
            t.year(),
            t.month(),
            t.day(),
            t.hour()
        )
    }

    /// The record as one JSON line, newline included.
    #[must_use]
    pub fn to_json_line(&self) -> Vec<u8> {
        let event_id = self.event_id.hyphenated().to_string();
        let record = CaptureRecord {
            capture_data: CaptureData {
                endpoint_input: self.input.as_ref().map(|p| item(p, "INPUT")),
                endpoint_output: self.output.as_ref().map(|p| item(p, "OUTPUT")),
            },
            event_metadata: EventMetadata {
                event_id: Cow::Borrowed(&event_id),
                inference_id: self.inference_id.as_deref().map(Cow::Borrowed),
                inference_time: Cow::Owned(self.inference_time.to_rfc3339_opts(SecondsFormat::Secs, true)),
            },
            event_version: Cow::Borrowed("0"),
        };
        let size = self.input.as_ref().map_or(0, |p| p.data.len()) + self.output.as_ref().map_or(0, |p| p.data.len());
        let mut line = Vec::with_capacity(size + 320);
        // Writing plain structs of strings into a Vec cannot fail.
        if serde_json::to_writer(&mut line, &record).is_err() {
            line.clear();
        }
        line.push(b'\n');
        line
    }
}

/// The record item of one payload (text as is when it is UTF-8, base64 otherwise).
fn item<'a>(p: &'a CapturedPayload, mode: &'static str) -> CapturedItem<'a> {
    let base64 = || Cow::Owned(base64::engine::general_purpose::STANDARD.encode(&p.data));
    let (data, encoding) = match p.encoding {
        CaptureEncoding::Csv | CaptureEncoding::Json => match std::str::from_utf8(&p.data) {
            Ok(text) => (Cow::Borrowed(text), p.encoding),
            Err(_) => (base64(), CaptureEncoding::Base64),
        },
        CaptureEncoding::Base64 => (base64(), CaptureEncoding::Base64),
    };
    CapturedItem { observed_content_type: Cow::Borrowed(&p.content_type), mode: Cow::Borrowed(mode), data, encoding }
}

/// One line of a capture file, for writing and (borrowing) reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRecord<'a> {
    /// The captured payloads.
    #[serde(borrow)]
    pub capture_data: CaptureData<'a>,
    /// Ids and time.
    #[serde(borrow)]
    pub event_metadata: EventMetadata<'a>,
    /// Always `"0"`.
    #[serde(borrow)]
    pub event_version: Cow<'a, str>,
}

/// `captureData`: the captured request and response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureData<'a> {
    /// The request (`mode: INPUT`), when captured.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub endpoint_input: Option<CapturedItem<'a>>,
    /// The response (`mode: OUTPUT`), when captured.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub endpoint_output: Option<CapturedItem<'a>>,
}

/// `endpointInput` / `endpointOutput`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapturedItem<'a> {
    /// The `Content-Type` seen.
    #[serde(borrow)]
    pub observed_content_type: Cow<'a, str>,
    /// `INPUT` or `OUTPUT`.
    #[serde(borrow)]
    pub mode: Cow<'a, str>,
    /// The payload as text (CSV, JSON) or base64.
    #[serde(borrow)]
    pub data: Cow<'a, str>,
    /// How `data` is encoded.
    pub encoding: CaptureEncoding,
}

/// `eventMetadata`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata<'a> {
    /// Unique id of the event.
    #[serde(borrow)]
    pub event_id: Cow<'a, str>,
    /// The caller's inference id, when given.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub inference_id: Option<Cow<'a, str>>,
    /// ISO-8601 UTC to the second (`2022-02-14T17:25:49Z`).
    #[serde(borrow)]
    pub inference_time: Cow<'a, str>,
}

/// Tuning of a [`CaptureWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureWriterOptions {
    /// How often buffers are written (default 5 s).
    pub flush_interval: Duration,
    /// Buffer size that triggers a write without waiting for the interval (default 1 MiB).
    pub max_file_bytes: usize,
    /// Bytes buffered or being written before [`CaptureWriter::record`] waits for the store
    /// (default 64 MiB).
    pub max_pending_bytes: usize,
}

impl Default for CaptureWriterOptions {
    fn default() -> Self {
        Self {
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_pending_bytes: DEFAULT_MAX_PENDING_BYTES,
        }
    }
}

/// What a [`CaptureWriter`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureReport {
    /// Records written.
    pub records: u64,
    /// Files written.
    pub files: u64,
    /// Records whose file could not be written (after retries).
    pub failed_records: u64,
    /// Records offered after shutdown (not written).
    pub dropped_records: u64,
}

/// Control messages to the writer task.
enum Control {
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<CaptureReport>),
}

/// The records of one (destination, endpoint, variant, hour) waiting to be written.
struct Buffer {
    destination: ObjectPath,
    endpoint: String,
    variant: String,
    /// Hours since the Unix epoch.
    hour: i64,
    /// The file's directory, `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh`.
    directory: String,
    bytes: Vec<u8>,
    records: u64,
}

#[derive(Default)]
struct Buffers {
    /// Open buffers (a handful: one per endpoint, variant and hour being served).
    open: Vec<Buffer>,
    /// Bytes in `open` plus bytes being written.
    pending: usize,
    /// Set by shutdown: later records are dropped.
    closed: bool,
    dropped: u64,
}

struct Shared {
    buffers: std::sync::Mutex<Buffers>,
    /// A buffer reached `max_file_bytes`.
    full: Notify,
    /// Pending bytes went down (wakes recorders waiting for room).
    drained: Notify,
    options: CaptureWriterOptions,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffers> {
        self.buffers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes capture records to the store.
///
/// [`CaptureWriter::record`] appends the serialized line to an in-memory buffer per
/// (destination, endpoint, variant, hour) under a short lock — no per-record message or task
/// wake-up; a background task writes the buffers every flush interval, or as soon as one
/// reaches the file size. When more than [`CaptureWriterOptions::max_pending_bytes`] wait for
/// the store, `record` waits for room (back-pressure) instead of dropping records.
///
/// Cheap to clone; all clones share the buffers. See the [module documentation](self).
#[derive(Clone)]
pub struct CaptureWriter {
    shared: Arc<Shared>,
    control: mpsc::Sender<Control>,
}

impl std::fmt::Debug for CaptureWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter").field("options", &self.shared.options).finish_non_exhaustive()
    }
}

impl CaptureWriter {
    /// Starts the writer task on the current Tokio runtime. The task ends after
    /// [`CaptureWriter::shutdown`], or, after writing what is buffered, when every clone has
    /// been dropped.
    #[must_use]
    pub fn spawn(store: DynObjectStore, options: CaptureWriterOptions) -> Self {
        let (control, rx) = mpsc::channel(8);
        let shared = Arc::new(Shared {
            buffers: std::sync::Mutex::new(Buffers::default()),
            full: Notify::new(),
            drained: Notify::new(),
            options,
        });
        tokio::spawn(run(store, Arc::clone(&shared), rx));
        Self { shared, control }
    }

    /// Buffers one event. Returns at once unless more than `max_pending_bytes` wait for the
    /// store, in which case it waits for room: no record is dropped while the writer runs.
    /// After [`CaptureWriter::shutdown`] the event is dropped, counted and logged.
    pub async fn record(&self, event: &CaptureEvent) {
        let line = event.to_json_line();
        loop {
            let room = self.shared.drained.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if self.try_append(event, &line) {
                return;
            }
            // Over the limit: make sure the writer is busy draining, then wait for room.
            self.shared.full.notify_one();
            room.await;
        }
    }

    /// Appends `line` unless the writer is over its pending limit; true when done (appended,
    /// or dropped because the writer is closed).
    fn try_append(&self, event: &CaptureEvent, line: &[u8]) -> bool {
        let options = &self.shared.options;
        let mut b = self.shared.lock();
        if b.closed {
            b.dropped += 1;
            drop(b);
            tracing::warn!("a capture record arrived after the capture writer shut down; it is dropped");
            return true;
        }
        if b.pending > 0 && b.pending + line.len() > options.max_pending_bytes {
            return false;
        }
        let hour = event.inference_time.timestamp().div_euclid(3600);
        let index = match b.open.iter().position(|o| {
            o.hour == hour
                && o.endpoint == event.endpoint
                && o.variant == event.variant
                && o.destination == event.destination
        }) {
            Some(i) => i,
            None => {
                b.open.push(Buffer {
                    destination: event.destination.clone(),
                    endpoint: event.endpoint.clone(),
                    variant: event.variant.clone(),
                    hour,
                    directory: event.directory(),
                    // Reserved up front so appending never reallocates under the lock.
                    bytes: Vec::with_capacity(options.max_file_bytes.min(DEFAULT_MAX_FILE_BYTES) + 64 * 1024),
                    records: 0,
                });
                b.open.len() - 1
            }
        };
        b.pending += line.len();
        let buffer = &mut b.open[index];
        buffer.bytes.extend_from_slice(line);
        buffer.records += 1;
        if buffer.bytes.len() >= options.max_file_bytes {
            self.shared.full.notify_one();
        }
        true
    }

    /// Writes every buffer now and waits until they are in the store.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.control.send(Control::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Stops intake, writes every buffered record and reports the totals. Records handed over
    /// before this call are all written (or counted as failed).
    ///
    /// # Errors
    /// [`Error::Server`] when the writer task is gone (shut down already, or it panicked).
    pub async fn shutdown(self) -> Result<CaptureReport> {
        let (reply, report) = oneshot::channel();
        self.control
            .send(Control::Shutdown(reply))
            .await
            .map_err(|_| Error::Server { message: "the capture writer has stopped already".into() })?;
        report.await.map_err(|_| Error::Server { message: "the capture writer task ended unexpectedly".into() })
    }
}

async fn run(store: DynObjectStore, shared: Arc<Shared>, mut control: mpsc::Receiver<Control>) {
    let mut tick = tokio::time::interval(shared.options.flush_interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.reset();
    let mut report = CaptureReport::default();
    loop {
        tokio::select! {
            message = control.recv() => match message {
                Some(Control::Flush(ack)) => {
                    write(&store, &shared, &mut report, false).await;
                    let _ = ack.send(());
                }
                Some(Control::Shutdown(reply)) => {
                    shared.lock().closed = true;
                    write(&store, &shared, &mut report, false).await;
                    report.dropped_records = shared.lock().dropped;
                    tracing::debug!(?report, "capture writer stopped");
                    let _ = reply.send(report);
                    // Later shutdown or flush requests find the channel closed.
                    return;
                }
                None => {
                    shared.lock().closed = true;
                    write(&store, &shared, &mut report, false).await;
                    return;
                }
            },
            () = shared.full.notified() => write(&store, &shared, &mut report, true).await,
            _ = tick.tick() => write(&store, &shared, &mut report, false).await,
        }
    }
}

/// Writes the full buffers (`only_full`) or all of them, one object each.
async fn write(store: &DynObjectStore, shared: &Shared, report: &mut CaptureReport, only_full: bool) {
    let max = shared.options.max_file_bytes;
    let mut taken: Vec<Buffer> = {
        let mut b = shared.lock();
        // Recorders may be waiting for room: then write everything, full or not.
        let only_full = only_full && b.pending <= shared.options.max_pending_bytes / 2;
        let (take, keep): (Vec<Buffer>, Vec<Buffer>) = std::mem::take(&mut b.open)
            .into_iter()
            .partition(|o| o.records > 0 && (!only_full || o.bytes.len() >= max));
        b.open = keep;
        take
    };
    taken.sort_by(|a, b| a.directory.cmp(&b.directory));
    for buffer in taken {
        let size = buffer.bytes.len();
        put(store, buffer, report).await;
        shared.lock().pending -= size;
        shared.drained.notify_waiters();
    }
}

/// Writes one buffer as a new object, retrying; counts what happened.
async fn put(store: &DynObjectStore, buffer: Buffer, report: &mut CaptureReport) {
    let directory = &buffer.directory;
    let path = match ObjectPath::parse(format!("{directory}/{}.jsonl", new_uuid_v7())) {
        Ok(path) => path,
        Err(e) => {
            tracing::error!(%directory, error = %e, records = buffer.records, "capture records lost: bad object path");
            report.failed_records += buffer.records;
            return;
        }
    };
    let bytes = Bytes::from(buffer.bytes);
    for attempt in 1..=PUT_ATTEMPTS {
        match store.put(&path, bytes.clone()).await {
            Ok(_) => {
                report.records += buffer.records;
                report.files += 1;
                return;
            }
            Err(e) if attempt < PUT_ATTEMPTS => {
                tracing::warn!(%path, error = %e, attempt, "writing a capture file failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(%path, error = %e, records = buffer.records, "capture records lost: the file could not be written");
                report.failed_records += buffer.records;
            }
        }
    }
}

/// A v7 UUID (Unix milliseconds + random bits) drawn from the thread's RNG rather than a
/// system call per id.
#[must_use]
pub fn new_uuid_v7() -> Uuid {
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let mut random = [0u8; 10];
    rand::thread_rng().fill(&mut random);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone as _;
    use wb_core::{LocalStore, ObjectStore};

    use super::*;

    fn event(config: &CaptureConfig, time: DateTime<Utc>, n: usize) -> CaptureEvent {
        let mut e = config.event(
            "wine",
            "AllTraffic",
            Payload { content_type: "text/csv".into(), data: Bytes::from(format!("{n},red,\"a\"\"b\"\n")) },
            Payload { content_type: "application/json".into(), data: Bytes::from_static(b"{\"predictions\":[1]}") },
            Some("inf-1"),
        );
        e.inference_time = time;
        e
    }

    async fn lines(store: &LocalStore) -> (Vec<String>, Vec<serde_json::Value>) {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for meta in store.list(None).await.expect("list") {
            let got = store.get(&meta.path).await.expect("get");
            assert!(got.bytes.ends_with(b"\n"), "a file ends with a complete line");
            for line in got.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                values.push(serde_json::from_slice(line).expect("every line is JSON"));
            }
            keys.push(meta.path.to_string());
        }
        (keys, values)
    }

    #[test]
    fn a_line_has_sagemakers_shape() {
        let config = CaptureConfig::new(100).expect("config");
        let time = Utc.with_ymd_and_hms(2022, 2, 14, 17, 25, 49).single().expect("time");
        let e = event(&config, time, 7);
        let line = e.to_json_line();
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        let v: serde_json::Value = serde_json::from_slice(&line).expect("JSON");
        let expected = serde_json::json!({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": "7,red,\"a\"\"b\"\n", "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT", "data": "{\"predictions\":[1]}", "encoding": "JSON"}
            },
            "eventMetadata": {"eventId": e.event_id.to_string(), "inferenceId": "inf-1", "inferenceTime": "2022-02-14T17:25:49Z"},
            "eventVersion": "0"
        });
        assert_eq!(v, expected);
        let text = String::from_utf8(line.clone()).expect("utf8");
        assert!(text.starts_with(
            r#"{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"#
        ));
        assert!(
            text.contains(r#""eventMetadata":{"eventId":""#) && text.trim_end().ends_with(r#""eventVersion":"0"}"#)
        );
        // Readers can borrow.
        let record: CaptureRecord<'_> = serde_json::from_slice(&line).expect("record");
        assert_eq!(record.capture_data.endpoint_input.expect("input").encoding, CaptureEncoding::Csv);
        assert_eq!(e.directory(), "capture/wine/AllTraffic/2022/02/14/17");
    }

    #[test]
    fn other_types_are_base64_and_options_omit_parts() {
        let config = CaptureConfig { capture_output: false, ..CaptureConfig::default() };
        let e = config.event(
            "ep",
            "v1",
            Payload { content_type: "image/png".into(), data: Bytes::from_static(&[0x89, b'P', b'N', b'G']) },
            Payload { content_type: "text/csv".into(), data: Bytes::from_static(b"1\n") },
            None,
        );
        let v: serde_json::Value = serde_json::from_slice(&e.to_json_line()).expect("JSON");
        assert_eq!(v["captureData"]["endpointInput"]["encoding"], "BASE64");
        assert_eq!(v["captureData"]["endpointInput"]["data"], "iVBORw==");
        assert!(v["captureData"].get("endpointOutput").is_none());
        assert!(v["eventMetadata"].get("inferenceId").is_none());
        // A CSV payload that is not UTF-8 falls back to base64.
        let bad = config.event(
            "ep",
            "v1",
            Payload { content_type: "text/csv; charset=latin1".into(), data: Bytes::from_static(&[0xff, b'\n']) },
            Payload { content_type: "text/csv".into(), data: Bytes::new() },
            None,
        );
        let v: serde_json::Value = serde_json::from_slice(&bad.to_json_line()).expect("JSON");
        assert_eq!(v["captureData"]["endpointInput"]["encoding"], "BASE64");
        assert_eq!(v["captureData"]["endpointInput"]["observedContentType"], "text/csv; charset=latin1");
        // Parameters and case are ignored when matching.
        assert_eq!(config.encoding_for("Application/JSON; charset=utf-8"), CaptureEncoding::Json);
    }

    #[test]
    fn config_validation_and_defaults() {
        assert!(CaptureConfig::new(101).is_err());
        assert!(
            CaptureConfig { capture_input: false, capture_output: false, ..CaptureConfig::default() }
                .validate()
                .is_err()
        );
        assert!(
            CaptureConfig { csv_content_types: vec!["text csv".into()], ..CaptureConfig::default() }
                .validate()
                .is_err()
        );
        let parsed: CaptureConfig = serde_json::from_str(r#"{"sampling_percentage": 50}"#).expect("defaults");
        assert_eq!(parsed, CaptureConfig::new(50).expect("valid"));
        assert!(serde_json::from_str::<CaptureConfig>(r#"{"sampling_percentage": 150}"#).is_err());
        let round: CaptureConfig =
            serde_json::from_value(serde_json::to_value(CaptureConfig::default()).expect("ser")).expect("de");
        assert_eq!(round, CaptureConfig::default());
    }

    #[test]
    fn sampling_extremes() {
        let never = CaptureConfig::new(0).expect("valid");
        let always = CaptureConfig::new(100).expect("valid");
        assert!((0..10_000).all(|_| !never.sample()));
        assert!((0..10_000).all(|_| always.sample()));
        let half = CaptureConfig::new(50).expect("valid");
        let hits = (0..10_000).filter(|_| half.sample()).count();
        assert!((4_000..6_000).contains(&hits), "{hits}");
    }

    #[tokio::test]
    async fn files_are_partitioned_by_hour() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(LocalStore::open(dir.path()).expect("store"));
        let writer = CaptureWriter::spawn(store.clone(), CaptureWriterOptions::default());
        let config = CaptureConfig::new(100).expect("config");
        for (i, hour) in [(0, 9), (1, 9), (2, 10), (3, 23)] {
            let t = Utc.with_ymd_and_hms(2024, 12, 31, hour, 59, 59).single().expect("time");
            writer.record(&event(&config, t, i)).await;
        }
        let report = writer.shutdown().await.expect("report");
        assert_eq!((report.records, report.files, report.failed_records), (4, 3, 0));
        let (keys, values) = lines(&store).await;
        assert_eq!(values.len(), 4);
        let dirs: Vec<&str> = keys.iter().map(|k| k.rsplit_once('/').expect("dir").0).collect();
        assert_eq!(
            dirs,
            vec![
                "capture/wine/AllTraffic/2024/12/31/09",
                "capture/wine/AllTraffic/2024/12/31/10",
                "capture/wine/AllTraffic/2024/12/31/23"
            ]
        );
        for key in &keys {
            let name = key.rsplit('/').next().expect("name");
            let id = name.strip_suffix(".jsonl").expect(".jsonl");
            assert_eq!(Uuid::parse_str(id).expect("uuid").get_version_num(), 7);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_loses_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(LocalStore::open(dir.path()).expect("store"));
        // A small pending bound and small files exercise the back-pressure path and size flushes.
        let options = CaptureWriterOptions {
            flush_interval: Duration::from_millis(20),
            max_file_bytes: 64 * 1024,
            max_pending_bytes: 128 * 1024,
        };
        let writer = CaptureWriter::spawn(store.clone(), options);
        let config = CaptureConfig::new(100).expect("config");
        let mut tasks = Vec::new();
        for t in 0..8 {
            let writer = writer.clone();
            let config = config.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..1250 {
                    writer.record(&event(&config, Utc::now(), t * 10_000 + i)).await;
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let report = writer.clone().shutdown().await.expect("report");
        assert_eq!(report.records, 10_000);
        assert_eq!(report.failed_records, 0);
        let (keys, values) = lines(&store).await;
        assert_eq!(keys.len() as u64, report.files);
        assert!(keys.len() > 1, "size and interval flushes split the records");
        assert_eq!(values.len(), 10_000);
        let ids: HashSet<&str> = values.iter().map(|v| v["eventMetadata"]["eventId"].as_str().expect("id")).collect();
        assert_eq!(ids.len(), 10_000, "every event once");
        // After shutdown, records are dropped and counted, not written.
        writer.record(&event(&config, Utc::now(), 1)).await;
        assert_eq!(writer.shared.lock().dropped, 1);
        assert!(writer.shutdown().await.is_err(), "the writer has stopped");
    }

    #[tokio::test]
    async fn flush_writes_without_stopping() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(LocalStore::open(dir.path()).expect("store"));
        let writer = CaptureWriter::spawn(store.clone(), CaptureWriterOptions::default());
        let config = CaptureConfig::new(100).expect("config");
        writer.record(&event(&config, Utc::now(), 1)).await;
        writer.flush().await;
        assert_eq!(lines(&store).await.1.len(), 1);
        writer.record(&event(&config, Utc::now(), 2)).await;
        let report = writer.shutdown().await.expect("report");
        assert_eq!((report.records, report.files), (2, 2));
    }
}

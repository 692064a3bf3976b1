//! The three steps of the image workflow, each a function of the [`ImageEvent`]:
//! [`serialize_image_data`] (read the image, base64 it), [`classify`] (invoke the endpoint with
//! the image) and [`filter_low_confidence`] (pass when a class is probable enough, otherwise fail
//! with [`THRESHOLD_CONFIDENCE_NOT_MET`]).
//!
//! Every failure is an [`Error::Step`] with a name a state machine's `Retry` or `Catch` can
//! match; the names are the constants of this module.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use wb_core::{DynObjectStore, ObjectPath, StoreUri};
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest};

use crate::error::{Error, Result};
use crate::event::{INVALID_EVENT, ImageEvent};

/// Step Functions' cap on a state's input or output: 262,144 bytes of UTF-8 JSON.
pub const STATE_LIMIT_BYTES: usize = 262_144;
/// The reference's confidence threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.93;

/// No class probability reached the threshold (the reference's error name).
pub const THRESHOLD_CONFIDENCE_NOT_MET: &str = "THRESHOLD_CONFIDENCE_NOT_MET";
/// The event names an object that does not exist, or one outside the project's store.
pub const IMAGE_NOT_FOUND: &str = "IMAGE_NOT_FOUND";
/// The object is not a PNG or JPEG image.
pub const NOT_AN_IMAGE: &str = "NOT_AN_IMAGE";
/// The serialized image would make the state larger than [`STATE_LIMIT_BYTES`], which Step
/// Functions would fail with the uncatchable `States.DataLimitExceeded`.
pub const IMAGE_TOO_LARGE: &str = "IMAGE_TOO_LARGE";
/// The store could not be read (worth a retry).
pub const STORE_UNAVAILABLE: &str = "STORE_UNAVAILABLE";
/// The endpoint could not answer: unreachable, throttled or a server fault (worth a retry).
pub const ENDPOINT_UNAVAILABLE: &str = "ENDPOINT_UNAVAILABLE";
/// The endpoint refused the image (a model error: retrying will not help).
pub const ENDPOINT_REFUSED: &str = "ENDPOINT_REFUSED";
/// The endpoint answered something other than a JSON array of probabilities.
pub const BAD_INFERENCE: &str = "BAD_INFERENCE";

/// Every error name the steps raise, for documentation and state machines.
pub const ERROR_NAMES: [&str; 9] = [
    THRESHOLD_CONFIDENCE_NOT_MET,
    INVALID_EVENT,
    IMAGE_NOT_FOUND,
    NOT_AN_IMAGE,
    IMAGE_TOO_LARGE,
    STORE_UNAVAILABLE,
    ENDPOINT_UNAVAILABLE,
    ENDPOINT_REFUSED,
    BAD_INFERENCE,
];

/// The confidence a class must reach for an image to pass: a probability in (0, 1].
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Threshold(f64);

impl Threshold {
    /// `p` as a threshold.
    ///
    /// # Errors
    /// [`Error::Invalid`] unless `0 < p ≤ 1`.
    pub fn new(p: f64) -> Result<Self> {
        if p > 0.0 && p <= 1.0 {
            Ok(Self(p))
        } else {
            Err(Error::Invalid { field: "threshold", value: p.to_string(), expected: "a probability in (0, 1]".into() })
        }
    }

    /// The probability.
    #[must_use]
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self(DEFAULT_THRESHOLD)
    }
}

impl std::str::FromStr for Threshold {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let p: f64 = s.trim().parse().map_err(|_| Error::Invalid {
            field: "threshold",
            value: s.to_owned(),
            expected: "a probability in (0, 1], such as 0.93".into(),
        })?;
        Self::new(p)
    }
}

/// The project's store as the bucket the events name: an S3 store's bucket (keys are full
/// keys), or a local store's URI (`file:///…`, keys relative to it).
#[derive(Clone, Debug)]
pub struct StoreObjects {
    store: DynObjectStore,
}

impl StoreObjects {
    /// The objects of `store`.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store }
    }

    /// The event that names the object at `path` in the store.
    #[must_use]
    pub fn event_for(&self, path: &ObjectPath) -> ImageEvent {
        match self.store.uri() {
            StoreUri::S3 { bucket, prefix: Some(prefix) } => ImageEvent::new(bucket, format!("{prefix}/{path}")),
            StoreUri::S3 { bucket, prefix: None } => ImageEvent::new(bucket, path.as_str()),
            local @ StoreUri::Local(_) => ImageEvent::new(local.to_string(), path.as_str()),
        }
    }

    /// The path in the store of the object an event names, or `None` when it is outside.
    fn path_of(&self, event: &ImageEvent) -> Option<ObjectPath> {
        let uri = if event.s3_bucket.starts_with("file://") {
            format!("{}/{}", event.s3_bucket.trim_end_matches('/'), event.s3_key)
        } else {
            format!("s3://{}/{}", event.s3_bucket, event.s3_key)
        };
        self.store.uri().relative_object(&uri)
    }

    /// The bytes of the object an event names.
    async fn read(&self, event: &ImageEvent) -> Result<Bytes> {
        let Some(path) = self.path_of(event) else {
            return Err(Error::step(
                IMAGE_NOT_FOUND,
                format!(
                    "bucket {:?} key {:?} is not in the project's store {}",
                    event.s3_bucket,
                    event.s3_key,
                    self.store.uri()
                ),
            ));
        };
        match self.store.get(&path).await {
            Ok(got) => Ok(got.bytes),
            Err(e) if e.is_not_found() => Err(Error::step(
                IMAGE_NOT_FOUND,
                format!("no object {} in the project's store", self.store.uri().object_uri(&path)),
            )),
            Err(e) => {
                Err(Error::step(STORE_UNAVAILABLE, format!("reading {}: {e}", self.store.uri().object_uri(&path))))
            }
        }
    }
}

/// The image type of `bytes` by signature: `image/png` or `image/jpeg`.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// Step 1 (`serializeImageData`): reads the image the event names from the project's store and
/// puts its bytes, base64-encoded, in `image_data` (`inferences` emptied).
///
/// # Errors
/// [`IMAGE_NOT_FOUND`], [`STORE_UNAVAILABLE`], [`NOT_AN_IMAGE`], and [`IMAGE_TOO_LARGE`] when
/// the resulting state would exceed [`STATE_LIMIT_BYTES`].
pub async fn serialize_image_data(objects: &StoreObjects, event: ImageEvent) -> Result<ImageEvent> {
    let bytes = objects.read(&event).await?;
    if image_type(&bytes).is_none() {
        return Err(Error::step(
            NOT_AN_IMAGE,
            format!("{} ({} bytes) is not a PNG or JPEG image", event.s3_key, bytes.len()),
        ));
    }
    let out = ImageEvent { image_data: STANDARD.encode(&bytes), inferences: Vec::new(), ..event };
    let size = out.json_len();
    if size > STATE_LIMIT_BYTES {
        return Err(Error::step(
            IMAGE_TOO_LARGE,
            format!(
                "{} is {} bytes; base64-encoded in the event it makes a {size}-byte state, over Step Functions' limit \
                 of {STATE_LIMIT_BYTES} bytes (about {} bytes of image)",
                out.s3_key,
                bytes.len(),
                STATE_LIMIT_BYTES / 4 * 3 - 1024
            ),
        ));
    }
    tracing::debug!(key = %out.s3_key, bytes = bytes.len(), state = size, "serialized image");
    Ok(out)
}

/// Step 2 (the classifier): sends the event's image to `endpoint` (`image/png` or `image/jpeg`,
/// answer `application/json`) and puts the class probabilities in `inferences`.
///
/// # Errors
/// [`INVALID_EVENT`] when `image_data` is empty or not base64; [`NOT_AN_IMAGE`];
/// [`ENDPOINT_UNAVAILABLE`] (unreachable, throttled, a server fault), [`ENDPOINT_REFUSED`] (the
/// model refused the image) and [`BAD_INFERENCE`] (an answer that is not a JSON array of
/// numbers).
pub async fn classify(invoker: &dyn InvokeEndpoint, endpoint: &str, event: ImageEvent) -> Result<ImageEvent> {
    if event.image_data.is_empty() {
        return Err(Error::step(
            INVALID_EVENT,
            format!("\"image_data\" of {} is empty: run the serializer first", event.s3_key),
        ));
    }
    let bytes = STANDARD
        .decode(event.image_data.trim())
        .map_err(|e| Error::step(INVALID_EVENT, format!("\"image_data\" of {} is not base64: {e}", event.s3_key)))?;
    let content_type = image_type(&bytes).ok_or_else(|| {
        Error::step(NOT_AN_IMAGE, format!("\"image_data\" of {} is not a PNG or JPEG image", event.s3_key))
    })?;
    let request = InvokeRequest {
        content_type: content_type.to_owned(),
        accept: Some("application/json".into()),
        body: Bytes::from(bytes),
        custom_attributes: None,
        inference_id: None,
    };
    let answer = invoker.invoke_endpoint(endpoint, request).await.map_err(|e| {
        let name = if e.is_retryable() { ENDPOINT_UNAVAILABLE } else { ENDPOINT_REFUSED };
        Error::step(name, format!("endpoint {endpoint:?} on {}: {e}", event.s3_key))
    })?;
    let inferences = parse_probabilities(&answer.body).ok_or_else(|| {
        Error::step(
            BAD_INFERENCE,
            format!(
                "endpoint {endpoint:?} answered {} ({}) instead of a JSON array of probabilities",
                abbreviate(&answer.body),
                answer.content_type
            ),
        )
    })?;
    Ok(ImageEvent { inferences, ..event })
}

/// A JSON array of finite numbers (`[0.91, 0.09]`), or `None`.
fn parse_probabilities(body: &[u8]) -> Option<Vec<f64>> {
    let values: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
    let probabilities: Option<Vec<f64>> = values.iter().map(|v| v.as_f64().filter(|p| p.is_finite())).collect();
    probabilities.filter(|p| !p.is_empty())
}

/// The first 60 bytes of `body`, as text.
fn abbreviate(body: &[u8]) -> String {
    format!("{:?}", wb_core::text::clip(&String::from_utf8_lossy(body), 60))
}

/// Step 3 (the confidence filter): passes the event on when any class probability is at least
/// `threshold`; otherwise fails loudly with [`THRESHOLD_CONFIDENCE_NOT_MET`] (a real error
/// name, where the reference's `raise("…")` became a `TypeError`).
///
/// # Errors
/// [`THRESHOLD_CONFIDENCE_NOT_MET`]; [`INVALID_EVENT`] when there are no inferences.
pub fn filter_low_confidence(event: ImageEvent, threshold: Threshold) -> Result<ImageEvent> {
    let Some(best) = event.inferences.iter().copied().reduce(f64::max) else {
        return Err(Error::step(
            INVALID_EVENT,
            format!("\"inferences\" of {} is empty: run the classifier first", event.s3_key),
        ));
    };
    if best >= threshold.get() {
        Ok(event)
    } else {
        Err(Error::step(
            THRESHOLD_CONFIDENCE_NOT_MET,
            format!(
                "the most probable class of {} has probability {best}, below the threshold {}",
                event.s3_key,
                threshold.get()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(inferences: &[f64]) -> ImageEvent {
        ImageEvent { inferences: inferences.to_vec(), ..ImageEvent::new("b", "k.png") }
    }

    #[test]
    fn the_filter_passes_at_the_threshold_and_fails_loudly_below_it() {
        let threshold = Threshold::default();
        assert_eq!(filter_low_confidence(with(&[0.93, 0.07]), threshold).expect("passes").inferences, [0.93, 0.07]);
        let err = filter_low_confidence(with(&[0.6, 0.4]), threshold).expect_err("fails");
        assert_eq!(err.name(), THRESHOLD_CONFIDENCE_NOT_MET);
        assert!(err.to_string().contains("probability 0.6, below the threshold 0.93"), "{err}");
        assert_eq!(filter_low_confidence(with(&[]), threshold).expect_err("empty").name(), INVALID_EVENT);
    }

    #[test]
    fn thresholds_are_probabilities() {
        assert_eq!("0.7".parse::<Threshold>().expect("parses").get(), 0.7);
        for bad in ["0", "-0.1", "1.5", "NaN", "high"] {
            let err = bad.parse::<Threshold>().expect_err(bad);
            assert!(err.to_string().contains("(0, 1]"), "{bad}: {err}");
        }
    }

    #[test]
    fn answers_must_be_arrays_of_numbers() {
        assert_eq!(parse_probabilities(b"[0.25, 0.75]"), Some(vec![0.25, 0.75]));
        assert_eq!(parse_probabilities(b"\"[0.25, 0.75]\""), None);
        assert_eq!(parse_probabilities(b"[]"), None);
        assert_eq!(parse_probabilities(b"0.25,0.75"), None);
        assert_eq!(parse_probabilities(b"[0.25, null]"), None);
    }
}

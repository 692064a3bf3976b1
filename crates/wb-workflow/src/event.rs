//! The one event every step reads and writes: the reference project's JSON shape,
//! `{"image_data": "<base64>", "s3_bucket": "…", "s3_key": "…", "inferences": [0.91, 0.09]}`.
//!
//! The reference's steps disagreed on it (the first returned `{"statusCode", "body": {…}}`, the
//! second a `body` that was a JSON *string* and `inferences` as the endpoint's text); here it is
//! one flat object, `inferences` always an array of numbers, and [`ImageEvent::from_json`]
//! refuses the reference's variants with an error that says which key is wrong and why.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The error name of an event that cannot be read (a missing key, a wrong type).
pub const INVALID_EVENT: &str = "INVALID_EVENT";

/// The state that travels between the steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageEvent {
    /// The image bytes, base64-encoded (standard alphabet, padded); empty before the serializer.
    #[serde(default)]
    pub image_data: String,
    /// The bucket of the image: an S3 bucket, or the local store's URI (`file:///…`).
    pub s3_bucket: String,
    /// The image's key in that bucket.
    pub s3_key: String,
    /// The class probabilities the endpoint answered; empty before the classifier.
    #[serde(default)]
    pub inferences: Vec<f64>,
}

impl ImageEvent {
    /// An event that names an image and carries nothing yet.
    #[must_use]
    pub fn new(s3_bucket: impl Into<String>, s3_key: impl Into<String>) -> Self {
        Self { s3_bucket: s3_bucket.into(), s3_key: s3_key.into(), ..Self::default() }
    }

    /// Reads an event from JSON, naming what is wrong: a missing or non-string key, an
    /// `inferences` that is not an array of numbers (the reference's classifier wrote the
    /// endpoint's text, a string), or the reference's `{"statusCode", "body"}` envelope. Keys
    /// other than the four are ignored, as Step Functions passes them along.
    ///
    /// # Errors
    /// [`Error::Step`] named [`INVALID_EVENT`].
    pub fn from_json(value: &Value) -> Result<Self> {
        let invalid = |cause: String| Error::step(INVALID_EVENT, cause);
        let Some(object) = value.as_object() else {
            return Err(invalid(format!("the event must be a JSON object, not {}", kind(value))));
        };
        if object.contains_key("body") && !object.contains_key("s3_key") {
            return Err(invalid(
                "the event is wrapped in {\"statusCode\", \"body\"} as the reference's Lambdas returned it; pass the \
                 event itself ({\"image_data\", \"s3_bucket\", \"s3_key\", \"inferences\"})"
                    .into(),
            ));
        }
        let text = |key: &str, required: bool| -> Result<String> {
            match object.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                None | Some(Value::Null) if !required => Ok(String::new()),
                None => Err(invalid(format!("the event has no {key:?} key"))),
                Some(other) => Err(invalid(format!("{key:?} must be a string, not {}", kind(other)))),
            }
        };
        let inferences = match object.get("inferences") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_f64()
                        .filter(|p| p.is_finite())
                        .ok_or_else(|| invalid(format!("inferences[{i}] must be a number, not {}", kind(item))))
                })
                .collect::<Result<_>>()?,
            Some(Value::String(s)) => {
                return Err(invalid(format!(
                    "\"inferences\" must be an array of numbers, not a string ({}); the reference's classifier \
                     stored the endpoint's text instead of parsing it",
                    abbreviate(s)
                )));
            }
            Some(other) => {
                return Err(invalid(format!("\"inferences\" must be an array of numbers, not {}", kind(other))));
            }
        };
        Ok(Self {
            image_data: text("image_data", false)?,
            s3_bucket: text("s3_bucket", true)?,
            s3_key: text("s3_key", true)?,
            inferences,
        })
    }

    /// The event as JSON (what Step Functions carries between the states).
    #[must_use]
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "image_data": self.image_data,
            "s3_bucket": self.s3_bucket,
            "s3_key": self.s3_key,
            "inferences": self.inferences,
        })
    }

    /// The size of the event's JSON in bytes, which Step Functions caps at
    /// [`crate::STATE_LIMIT_BYTES`].
    #[must_use]
    pub fn json_len(&self) -> usize {
        self.to_json().to_string().len()
    }
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", abbreviate(s)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// `s` quoted, cut to 40 characters.
fn abbreviate(s: &str) -> String {
    format!("{:?}", wb_core::text::clip(s, 40))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(value: &Value) -> String {
        let err = ImageEvent::from_json(value).expect_err("refused");
        assert_eq!(err.name(), INVALID_EVENT);
        err.to_string()
    }

    #[test]
    fn reads_the_reference_shape_and_writes_it_back() {
        let value = json!({"image_data": "", "s3_bucket": "b", "s3_key": "test/x.png", "extra": 1});
        let event = ImageEvent::from_json(&value).expect("reads");
        assert_eq!(event, ImageEvent::new("b", "test/x.png"));
        let done = ImageEvent { image_data: "aGk=".into(), inferences: vec![0.25, 0.75], ..event };
        assert_eq!(
            done.to_json(),
            json!({"image_data": "aGk=", "s3_bucket": "b", "s3_key": "test/x.png", "inferences": [0.25, 0.75]})
        );
        assert_eq!(ImageEvent::from_json(&done.to_json()).expect("round trip"), done);
        assert_eq!(done.json_len(), done.to_json().to_string().len());
    }

    #[test]
    fn names_what_is_wrong_with_a_malformed_event() {
        assert!(refused(&json!({"s3_bucket": "b"})).contains("no \"s3_key\" key"));
        assert!(
            refused(&json!({"s3_bucket": 3, "s3_key": "k"}))
                .contains("\"s3_bucket\" must be a string, not the number 3")
        );
        let text = refused(&json!({"s3_bucket": "b", "s3_key": "k", "inferences": "[0.9, 0.1]"}));
        assert!(text.contains("not a string (\"[0.9, 0.1]\")") && text.contains("reference"), "{text}");
        assert!(refused(&json!({"s3_bucket": "b", "s3_key": "k", "inferences": [0.5, "x"]})).contains("inferences[1]"));
        assert!(refused(&json!({"statusCode": 200, "body": {"s3_key": "k"}})).contains("statusCode"));
        assert!(refused(&json!([1, 2])).contains("must be a JSON object, not an array of 2 items"));
    }
}

//! Decoding one captured payload (`captureData.endpointInput` / `endpointOutput`) into rows of
//! feature values or into the model's outputs.
//!
//! The payload is read by its `observedContentType` (parameters ignored, case-insensitive) and
//! its `encoding`: `CSV` and `JSON` hold the text as is, `BASE64` holds the bytes, which are
//! decoded first and then read by the content type.
//!
//! Inputs ([`decode_inputs`]), the request formats of `wb_serving::inference`:
//! - `text/csv`: one row per line, RFC 4180 quoting; an empty field or one of the schema's
//!   missing tokens is [`Value::Missing`];
//! - `application/json`: `{"instances": [[..], ..]}` (values in feature order) or
//!   `{"instances": [{"col": v}, ..]}` (by name; needs a schema);
//! - images (`image/*`, `application/x-image`): rows without features ([`InputRows::Opaque`]).
//!
//! Outputs ([`decode_outputs`]):
//! - `text/csv`: one line per row, the class probabilities (or one value for regression);
//! - `application/json`: `{"predictions":[{"label":..,"probabilities":[..]}]}`,
//!   `{"predictions":[{"score":x}]}`, a bare array of probabilities (SageMaker's image
//!   classifier: `[0.1, 0.9]`) or an array of such arrays.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::Value as Json;

use crate::record::{ModelOutput, RowSchema, Value};

/// Why a payload could not be decoded (reported as a [`Problem`](crate::report::Problem)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PayloadError {
    /// What is wrong.
    pub message: String,
}

impl PayloadError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

type PResult<T> = std::result::Result<T, PayloadError>;

/// The decoded rows of a request.
#[derive(Clone, Debug, PartialEq)]
pub enum InputRows {
    /// Rows of feature values, in the schema's feature order (or positional without a schema).
    Rows(Vec<Vec<Value>>),
    /// A payload that is not tabular (an image): as many rows as the output has, no features.
    Opaque,
}

/// How a payload is recorded in `data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadEncoding {
    /// `CSV`: the text as is.
    Csv,
    /// `JSON`: the JSON text as is.
    Json,
    /// `BASE64`: standard base64 of the bytes.
    Base64,
}

impl PayloadEncoding {
    /// Reads the `encoding` field (case-insensitive).
    ///
    /// # Errors
    /// [`PayloadError`] for anything but `CSV`, `JSON`, `BASE64`.
    pub fn parse(encoding: &str) -> PResult<Self> {
        if encoding.eq_ignore_ascii_case("CSV") {
            Ok(Self::Csv)
        } else if encoding.eq_ignore_ascii_case("JSON") {
            Ok(Self::Json)
        } else if encoding.eq_ignore_ascii_case("BASE64") {
            Ok(Self::Base64)
        } else {
            Err(PayloadError::new(format!("unknown encoding {encoding:?} (expected CSV, JSON or BASE64)")))
        }
    }
}

/// The format a content type selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
    Image,
}

fn format_of(content_type: &str) -> PResult<Format> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    let is = |t: &str| media.eq_ignore_ascii_case(t);
    if is("text/csv") || is("application/csv") {
        Ok(Format::Csv)
    } else if is("application/json") || is("application/jsonlines") || is("application/x-json") {
        Ok(Format::Json)
    } else if media.len() > 6 && media.as_bytes()[..6].eq_ignore_ascii_case(b"image/") || is("application/x-image") {
        Ok(Format::Image)
    } else {
        Err(PayloadError::new(format!("unsupported content type {content_type:?}")))
    }
}

/// The payload's text: `data` itself, or its base64 decoding.
fn text_of<'a>(encoding: PayloadEncoding, data: &'a str, format: Format) -> PResult<Cow<'a, str>> {
    match encoding {
        PayloadEncoding::Csv | PayloadEncoding::Json => Ok(Cow::Borrowed(data)),
        PayloadEncoding::Base64 => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| PayloadError::new(format!("bad base64 data: {e}")))?;
            if format == Format::Image {
                return Ok(Cow::Borrowed(""));
            }
            String::from_utf8(bytes).map(Cow::Owned).map_err(|_| PayloadError::new("base64 data is not UTF-8 text"))
        }
    }
}

/// Decodes a captured request into rows.
///
/// Without a schema, columns are positional and a value is a number when it parses as one.
///
/// # Errors
/// [`PayloadError`] for an unknown encoding or content type, bad base64, malformed CSV or JSON,
/// or a row whose column count differs from the schema's.
pub fn decode_inputs(content_type: &str, encoding: &str, data: &str, schema: Option<&RowSchema>) -> PResult<InputRows> {
    let encoding = PayloadEncoding::parse(encoding)?;
    let format = format_of(content_type)?;
    let text = text_of(encoding, data, format)?;
    match format {
        Format::Image => Ok(InputRows::Opaque),
        Format::Csv => csv_inputs(&text, schema).map(InputRows::Rows),
        Format::Json => json_inputs(&text, schema).map(InputRows::Rows),
    }
}

fn csv_inputs(text: &str, schema: Option<&RowSchema>) -> PResult<Vec<Vec<Value>>> {
    // Without a quote, RFC 4180 is lines of comma-separated fields: split them directly (a
    // `csv` reader costs more to build than the few rows of a request cost to read).
    if memchr::memchr(b'"', text.as_bytes()).is_none() {
        let mut rows = Vec::new();
        for line in text.split(['\n', '\r']).filter(|l| !l.is_empty()) {
            let n = rows.len() + 1;
            let fields = line.split(',');
            if let Some(s) = schema {
                let count = line.bytes().filter(|&b| b == b',').count() + 1;
                if count != s.features.len() {
                    return Err(PayloadError::new(format!(
                        "input row {n}: expected {} columns, got {count}",
                        s.features.len()
                    )));
                }
            }
            rows.push(fields.enumerate().map(|(i, f)| field_value(f, i, schema)).collect());
        }
        return Ok(rows);
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(PayloadError::new(format!("malformed CSV input: {e}"))),
        }
        let n = rows.len() + 1;
        if let Some(s) = schema
            && record.len() != s.features.len()
        {
            return Err(PayloadError::new(format!(
                "input row {n}: expected {} columns, got {}",
                s.features.len(),
                record.len()
            )));
        }
        rows.push(record.iter().enumerate().map(|(i, f)| field_value(f, i, schema)).collect());
    }
    Ok(rows)
}

/// A CSV field (or JSON string) as a value of column `i`.
fn field_value(field: &str, i: usize, schema: Option<&RowSchema>) -> Value {
    let numeric = schema.is_none_or(|s| s.numeric.get(i).copied().unwrap_or(false));
    if field.is_empty() || schema.is_some_and(|s| s.missing.iter().any(|m| m == field)) {
        return Value::Missing;
    }
    if numeric {
        let t = field.trim();
        if let Ok(x) = t.parse::<f64>() {
            return if x.is_nan() { Value::Missing } else { Value::Number(x) };
        }
        if schema.is_some() {
            if t.eq_ignore_ascii_case("true") {
                return Value::Number(1.0);
            }
            if t.eq_ignore_ascii_case("false") {
                return Value::Number(0.0);
            }
        }
    }
    Value::Text(field.to_owned())
}

fn json_value(v: &Json, i: usize, schema: Option<&RowSchema>) -> Value {
    let numeric = schema.is_none_or(|s| s.numeric.get(i).copied().unwrap_or(false));
    match v {
        Json::Null => Value::Missing,
        Json::Bool(b) if numeric => Value::Number(if *b { 1.0 } else { 0.0 }),
        Json::Bool(b) => Value::Text(b.to_string()),
        Json::Number(n) if numeric => n.as_f64().map_or(Value::Missing, Value::Number),
        Json::Number(n) => Value::Text(n.to_string()),
        Json::String(s) => field_value(s, i, schema),
        other => Value::Text(other.to_string()),
    }
}

fn json_inputs(text: &str, schema: Option<&RowSchema>) -> PResult<Vec<Vec<Value>>> {
    let doc: Json = serde_json::from_str(text).map_err(|e| PayloadError::new(format!("malformed JSON input: {e}")))?;
    let instances = match &doc {
        Json::Object(map) => map.get("instances").and_then(Json::as_array),
        Json::Array(a) => Some(a),
        _ => None,
    }
    .ok_or_else(|| PayloadError::new("JSON input has no \"instances\" array"))?;
    let mut rows = Vec::with_capacity(instances.len());
    for (k, instance) in instances.iter().enumerate() {
        let n = k + 1;
        let row: Vec<Value> = match instance {
            Json::Array(values) => {
                if let Some(s) = schema
                    && values.len() != s.features.len()
                {
                    return Err(PayloadError::new(format!(
                        "input row {n}: expected {} columns, got {}",
                        s.features.len(),
                        values.len()
                    )));
                }
                values.iter().enumerate().map(|(i, v)| json_value(v, i, schema)).collect()
            }
            Json::Object(map) => {
                let Some(s) = schema else {
                    return Err(PayloadError::new(format!(
                        "input row {n}: instances keyed by name need the model's schema"
                    )));
                };
                if let Some(unknown) = map.keys().find(|k| !s.features.iter().any(|f| f == *k)) {
                    return Err(PayloadError::new(format!("input row {n}: unknown feature {unknown:?}")));
                }
                s.features
                    .iter()
                    .enumerate()
                    .map(|(i, f)| map.get(f).map_or(Value::Missing, |v| json_value(v, i, schema)))
                    .collect()
            }
            _ => return Err(PayloadError::new(format!("input row {n}: an instance is an array or an object"))),
        };
        rows.push(row);
    }
    Ok(rows)
}

/// Decodes a captured response into one output per row.
///
/// With a schema, a regression model's lines hold one value and a classifier's hold one
/// probability per class (when the classes are known). Without one, a single value is a
/// regression output and several are class probabilities.
///
/// # Errors
/// [`PayloadError`] for an unknown encoding or content type, bad base64, malformed CSV or JSON,
/// a value that is not a number, or a wrong number of probabilities.
pub fn decode_outputs(
    content_type: &str,
    encoding: &str,
    data: &str,
    schema: Option<&RowSchema>,
) -> PResult<Vec<ModelOutput>> {
    let encoding = PayloadEncoding::parse(encoding)?;
    let format = format_of(content_type)?;
    if format == Format::Image {
        return Err(PayloadError::new(format!("an output of content type {content_type:?} is not a prediction")));
    }
    let text = text_of(encoding, data, format)?;
    let mut out = Vec::new();
    match format {
        Format::Csv => csv_outputs(&text, |values| {
            out.push(output_of(values, schema)?);
            Ok(())
        })?,
        Format::Json => json_outputs(&text, schema, &mut out)?,
        Format::Image => {}
    }
    Ok(out)
}

/// The output of one row's numbers.
fn output_of(values: &[f64], schema: Option<&RowSchema>) -> PResult<ModelOutput> {
    match schema {
        Some(s) if s.regression => match values {
            [v] => Ok(ModelOutput::Regression { value: *v }),
            _ => Err(PayloadError::new(format!("a regression output has one value, not {}", values.len()))),
        },
        Some(s) if !s.classes.is_empty() && values.len() != s.classes.len() => Err(PayloadError::new(format!(
            "expected {} probabilities (one per class), got {}",
            s.classes.len(),
            values.len()
        ))),
        None if values.len() == 1 => Ok(ModelOutput::Regression { value: values[0] }),
        _ if values.is_empty() => Err(PayloadError::new("an empty output row")),
        _ => Ok(ModelOutput::from_probabilities(values.to_vec())),
    }
}

/// Calls `row` with the numbers of each non-empty line of a CSV output, without allocating per
/// line.
pub(crate) fn csv_outputs(text: &str, mut row: impl FnMut(&[f64]) -> PResult<()>) -> PResult<()> {
    let mut values: Vec<f64> = Vec::with_capacity(8);
    for line in text.split(['\n', '\r']) {
        if line.trim().is_empty() {
            continue;
        }
        values.clear();
        for field in line.split(',') {
            let f = field.trim();
            let f = f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f);
            let x: f64 =
                f.trim().parse().map_err(|_| PayloadError::new(format!("output value {field:?} is not a number")))?;
            values.push(x);
        }
        row(&values)?;
    }
    Ok(())
}

fn number(v: &Json) -> PResult<f64> {
    match v {
        Json::Number(n) => n.as_f64().ok_or_else(|| PayloadError::new(format!("{n} is not a number"))),
        Json::Null => Ok(f64::NAN),
        other => Err(PayloadError::new(format!("output value {other} is not a number"))),
    }
}

fn numbers(values: &[Json]) -> PResult<Vec<f64>> {
    values.iter().map(number).collect()
}

/// Class probabilities as an output, checked against the schema's classes when known.
fn classification(probs: Vec<f64>, schema: Option<&RowSchema>) -> PResult<ModelOutput> {
    if probs.is_empty() {
        return Err(PayloadError::new("an empty list of probabilities"));
    }
    if let Some(s) = schema
        && !s.classes.is_empty()
        && probs.len() != s.classes.len()
    {
        return Err(PayloadError::new(format!(
            "expected {} probabilities (one per class), got {}",
            s.classes.len(),
            probs.len()
        )));
    }
    Ok(ModelOutput::from_probabilities(probs))
}

fn json_outputs(text: &str, schema: Option<&RowSchema>, out: &mut Vec<ModelOutput>) -> PResult<()> {
    let doc: Json = serde_json::from_str(text).map_err(|e| PayloadError::new(format!("malformed JSON output: {e}")))?;
    let regression = schema.is_some_and(|s| s.regression);
    match &doc {
        Json::Object(map) => {
            let predictions = map
                .get("predictions")
                .and_then(Json::as_array)
                .ok_or_else(|| PayloadError::new("JSON output has no \"predictions\" array"))?;
            for p in predictions {
                let o = match p {
                    Json::Object(p) => {
                        if let Some(probs) = p.get("probabilities").and_then(Json::as_array) {
                            classification(numbers(probs)?, schema)?
                        } else if let Some(score) = p.get("score") {
                            ModelOutput::Regression { value: number(score)? }
                        } else {
                            return Err(PayloadError::new("a prediction has neither \"probabilities\" nor \"score\""));
                        }
                    }
                    Json::Array(values) => output_of(&numbers(values)?, schema)?,
                    n @ Json::Number(_) => ModelOutput::Regression { value: number(n)? },
                    other => return Err(PayloadError::new(format!("unexpected prediction {other}"))),
                };
                out.push(o);
            }
        }
        Json::Array(items) if !items.is_empty() && items.iter().all(Json::is_array) => {
            for item in items {
                if let Json::Array(values) = item {
                    out.push(classification(numbers(values)?, schema)?);
                }
            }
        }
        Json::Array(values) if regression => {
            for v in values {
                out.push(ModelOutput::Regression { value: number(v)? });
            }
        }
        Json::Array(values) => out.push(classification(numbers(values)?, schema)?),
        Json::Number(n) => out.push(ModelOutput::Regression { value: n.as_f64().unwrap_or(f64::NAN) }),
        _ => return Err(PayloadError::new("JSON output is neither an object nor an array")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_probabilities_and_json_predictions_decode() {
        let o = decode_outputs("text/csv; charset=utf-8", "CSV", "0.1,0.9\n0.7,0.3\n", None).expect("csv");
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].confidence(), Some(0.7));
        let o = decode_outputs(
            "application/json",
            "JSON",
            r#"{"predictions":[{"label":"b","probabilities":[0.2,0.8]},{"score":3}]}"#,
            None,
        )
        .expect("json");
        assert_eq!(o[0].confidence(), Some(0.8));
        assert_eq!(o[1], ModelOutput::Regression { value: 3.0 });
    }

    #[test]
    fn a_content_type_with_a_character_across_byte_6_is_unsupported_not_a_panic() {
        // Found by the fuzzing harness (tests/fuzz, corpus capture/b077c8c757f72d7b.bin): the
        // `image/` prefix test sliced the text at byte 6, inside a multi-byte character.
        for content_type in ["𖫰ￜ", "imageé/png", "aéééé"] {
            let e = decode_inputs(content_type, "CSV", "1,2", None).expect_err("unsupported");
            assert_eq!(e.message, format!("unsupported content type {content_type:?}"));
            let e = decode_outputs(content_type, "CSV", "0.5", None).expect_err("unsupported");
            assert!(e.message.contains("unsupported content type"), "{e}");
        }
        assert_eq!(decode_inputs("IMAGE/PNG", "BASE64", "iVBO", None), Ok(InputRows::Opaque));
    }

    #[test]
    fn unknown_encoding_is_an_error() {
        let e = decode_outputs("text/csv", "GZIP", "0.1", None).expect_err("unknown");
        assert!(e.message.contains("GZIP"), "{e}");
    }
}

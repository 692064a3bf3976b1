//! Request decoding and response encoding for one model: the wire formats of the model server.
//!
//! These formats are the public contract of every workbench endpoint (the container route
//! `POST /invocations` and SageMaker Runtime's `POST /endpoints/{name}/invocations` alike);
//! the comparison step and users' clients consume them.
//!
//! # Requests
//!
//! The `Content-Type` selects the format; parameters (`; charset=utf-8`) are ignored and the
//! media type is matched case-insensitively. Anything else is refused with **415** naming the
//! supported types.
//!
//! ## `text/csv`
//!
//! - No header row; one row per line (`\n`, `\r\n` or `\r`); a trailing newline is fine; empty
//!   lines are skipped (so a one-feature model reads a missing value only as `""`).
//! - Exactly the schema's feature columns, in schema order (the target and any key column are
//!   not sent), RFC 4180 quoting (`"a,b"`, `"say ""hi"""`).
//! - **Raw** values as they appear in the source dataset, encoded exactly as the dataset
//!   encoding does it ([`wb_datasets::Encoding`]):
//!   - a field equal to one of the schema's `missing` tokens is missing; the empty field is
//!     missing for numeric features (and for categorical ones unless `""` is a category);
//!   - numeric features take integers and floats (`3`, `-0.5`, `1e-3`, surrounding spaces
//!     allowed); `NaN` is missing; infinities are refused; features whose source type is
//!     `Boolean` also take `true`/`false` (any case) as 1/0; missing → the train mean;
//!   - categorical features take the category text, matched exactly; missing and unseen values
//!     get the "other" code (`categories.len()`).
//! - Errors are **400** and name the 1-based row, the column and the value:
//!   `row 3: expected 11 columns (fixed_acidity, …, alcohol), got 10`,
//!   `row 2, column "alcohol": "abc" is not a number`. An empty body is
//!   `empty request body`.
//!
//! ## `application/json`
//!
//! ```json
//! {"instances": [[7.4, "red", null, true], [6.1, "white", 3, false]]}
//! {"instances": [{"alcohol": 9.4, "colour": "red"}, {"alcohol": 10.1, "colour": null}]}
//! ```
//!
//! - `instances` is a non-empty array; each instance is either an array of values in feature
//!   order (its length must equal the number of features) or an object keyed by feature name
//!   (every feature present, `null` for a missing value: an absent key is a 400 naming it, so
//!   a misspelt or forgotten column is never silently imputed; an unknown key is a 400 naming
//!   it). Other top-level keys are ignored.
//! - Values: numbers; strings (read exactly like a CSV field, so `"7.4"` and the missing
//!   tokens work); `true`/`false` (1/0 for numeric features; the text `true`/`false` for
//!   categorical ones); `null` (missing). Numbers given for a categorical feature are looked
//!   up by their JSON text (`3` → `"3"`).
//!
//! # Responses
//!
//! The `Accept` header selects the format: absent, empty or `*/*` → the request's format;
//! otherwise a comma-separated list whose entries are tried by descending `q` (ties in the
//! order given), `q=0` entries skipped, `text/*` and `application/*` allowed; the first
//! supported one wins. None supported → **406**.
//!
//! ## `text/csv`
//!
//! One line per input row, each ending in `\n`:
//! - classification: the probability of every class, in the schema's class order,
//!   comma-separated (`0.1234,0.8766`);
//! - regression: the predicted value.
//!
//! Numbers are written in the shortest form that reads back to the same `f64` (`ryu`:
//! `0.5`, `1.0`, `1e-7`).
//!
//! ## `application/json`
//!
//! ```json
//! {"classes": ["bad", "good"], "predictions": [{"label": "good", "probabilities": [0.12, 0.88]}]}
//! {"predictions": [{"score": 5.63}]}
//! ```
//!
//! The label is the most probable class (the first one on ties). Non-finite numbers are
//! written as `null`.
//!
//! # Image models
//!
//! An endpoint serving an image model ([`wb_models::image_classifier`]) answers as SageMaker's
//! built-in image classifier does ([`invoke_image`]):
//!
//! - the request body is one image, `Content-Type` `application/x-image`, `image/png` or
//!   `image/jpeg` (the format is read from the bytes, not the header); anything else is **415**;
//! - an image of another size than the model's `image_shape` is **resized** to it (bilinear),
//!   grey becomes RGB and colour becomes grey as the shape needs, as SageMaker's image
//!   classifier resizes at inference; an empty body, bytes that are not a PNG or JPEG, a
//!   truncated or corrupt image, a 0×0 image and one over the decoder's pixel limit are **400**
//!   naming the problem (SageMaker Runtime answers `ModelError` with that status);
//! - the answer is the probability of every class in class order: by default (and for
//!   `Accept: application/json`) a JSON array, `[0.91,0.09]`, which is SageMaker's answer;
//!   `Accept: text/csv` gives the same numbers as one CSV line.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use foldhash::fast::FixedState;
use ndarray::Array2;
use serde_json::Value;
use wb_datasets::FeatureKind;
use wb_models::image_classifier::ImageClassifier;
use wb_models::model::{FittedModel, Prediction};
use wb_models::schema::ModelSchema;

use crate::error::{Error, Result};

/// The CSV media type.
pub const TEXT_CSV: &str = "text/csv";
/// The JSON media type.
pub const APPLICATION_JSON: &str = "application/json";

/// Longest value quoted in an error message (longer ones are cut with `…`).
const MAX_QUOTED_VALUE: usize = 64;
/// Longest column list in an error message before it is abbreviated.
const MAX_COLUMN_LIST: usize = 300;

/// A wire format the server reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/csv`.
    Csv,
    /// `application/json`.
    Json,
}

impl Format {
    /// The media type of the format (`text/csv`, `application/json`).
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            Self::Csv => TEXT_CSV,
            Self::Json => APPLICATION_JSON,
        }
    }

    /// The format of a `Content-Type` value, ignoring parameters and case.
    #[must_use]
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = media_type(content_type);
        if media.eq_ignore_ascii_case(TEXT_CSV) {
            Some(Self::Csv)
        } else if media.eq_ignore_ascii_case(APPLICATION_JSON) {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The format of a request, from its `Content-Type` header.
    ///
    /// # Errors
    /// [`Error::BadRequest`] with status 415 naming the supported types when the header is
    /// absent or names another type.
    pub fn of_request(content_type: Option<&str>) -> Result<Self> {
        match content_type {
            Some(ct) => Self::from_content_type(ct).ok_or_else(|| Error::BadRequest {
                status: 415,
                message: format!(
                    "unsupported content type {:?}; supported: {TEXT_CSV}, {APPLICATION_JSON}",
                    quote_cut(ct.as_bytes())
                ),
            }),
            None => Err(Error::BadRequest {
                status: 415,
                message: format!("the request has no Content-Type; supported: {TEXT_CSV}, {APPLICATION_JSON}"),
            }),
        }
    }

    /// The response format for an `Accept` header, given the request's format.
    ///
    /// Absent, empty or `*/*` → `request`; otherwise the entries by descending `q` (ties in
    /// order), `q=0` skipped, `text/*` → CSV, `application/*` → JSON; the first supported wins.
    ///
    /// # Errors
    /// [`Error::BadRequest`] with status 406 when no entry is supported.
    pub fn negotiate(accept: Option<&str>, request: Self) -> Result<Self> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Ok(request);
        };
        // Fast path: a single entry without parameters.
        if !accept.contains([',', ';']) {
            return Self::accept_entry(accept, request).ok_or_else(|| not_acceptable(accept));
        }
        let mut entries: Vec<(f64, &str)> = accept
            .split(',')
            .filter_map(|entry| {
                let mut parts = entry.split(';');
                let media = parts.next().unwrap_or("").trim();
                let mut q = 1.0;
                for p in parts {
                    let p = p.trim();
                    if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                        q = v.trim().parse::<f64>().unwrap_or(1.0);
                    }
                }
                (!media.is_empty() && q > 0.0).then_some((q, media))
            })
            .collect();
        entries.sort_by(|a, b| b.0.total_cmp(&a.0));
        entries.iter().find_map(|(_, media)| Self::accept_entry(media, request)).ok_or_else(|| not_acceptable(accept))
    }

    fn accept_entry(media: &str, request: Self) -> Option<Self> {
        if media == "*/*" {
            Some(request)
        } else if media.eq_ignore_ascii_case("text/*") {
            Some(Self::Csv)
        } else if media.eq_ignore_ascii_case("application/*") {
            Some(Self::Json)
        } else {
            Self::from_content_type(media)
        }
    }
}

fn not_acceptable(accept: &str) -> Error {
    Error::BadRequest {
        status: 406,
        message: format!(
            "cannot answer in any of the accepted types {:?}; supported: {TEXT_CSV}, {APPLICATION_JSON}",
            quote_cut(accept.as_bytes())
        ),
    }
}

/// The media type of a `Content-Type` value: the part before any `;`, trimmed.
#[must_use]
pub fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// How one feature's raw value becomes a number.
#[derive(Debug)]
enum FeatureDecoder {
    Numeric { impute: f64, boolean: bool },
    Categorical { codes: HashMap<Box<[u8]>, f64, FixedState>, other: f64 },
}

impl FeatureDecoder {
    fn missing(&self) -> f64 {
        match self {
            Self::Numeric { impute, .. } => *impute,
            Self::Categorical { other, .. } => *other,
        }
    }
}

/// Decodes request bodies into encoded feature rows for one model.
///
/// Built once per loaded model from its [`ModelSchema`] (category look-up tables, missing
/// tokens, per-feature parsing), so a request costs one pass over its bytes. See the
/// [module documentation](self) for the formats.
#[derive(Debug)]
pub struct Decoder {
    features: Vec<FeatureDecoder>,
    names: Vec<String>,
    by_name: HashMap<String, usize, FixedState>,
    missing: Vec<Box<[u8]>>,
    column_list: String,
    /// Per feature: whether a JSON object instance may leave it out.
    optional: Vec<bool>,
}

impl Decoder {
    /// Prepares the decoder of a model's schema.
    #[must_use]
    pub fn new(schema: &ModelSchema) -> Self {
        let features: Vec<FeatureDecoder> = schema
            .features
            .0
            .iter()
            .map(|f| match &f.kind {
                FeatureKind::Numeric { impute } => {
                    FeatureDecoder::Numeric { impute: *impute, boolean: f.source_type.eq_ignore_ascii_case("Boolean") }
                }
                FeatureKind::Categorical { categories } => {
                    let mut codes = HashMap::with_capacity_and_hasher(categories.len(), FixedState::default());
                    for (i, c) in categories.iter().enumerate() {
                        // The first occurrence wins, as in the dataset encoding's index.
                        codes.entry(c.as_bytes().into()).or_insert(i as f64);
                    }
                    FeatureDecoder::Categorical { codes, other: categories.len() as f64 }
                }
            })
            .collect();
        let names = schema.feature_names();
        let by_name = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        let missing = schema.missing.iter().map(|m| m.as_bytes().into()).collect();
        let column_list = column_list(&names);
        let optional = names.iter().map(|n| schema.optional.contains(n)).collect();
        Self { features, names, by_name, missing, column_list, optional }
    }

    /// Number of features (values per row).
    #[must_use]
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// The feature names, in request order.
    #[must_use]
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// Decodes a request body into a rows × features matrix.
    ///
    /// # Errors
    /// [`Error::BadRequest`]: 415 for an unsupported content type, 400 naming the row, column
    /// and value for a malformed body.
    pub fn decode(&self, content_type: &str, body: &[u8]) -> Result<Array2<f64>> {
        let format = Format::of_request(Some(content_type))?;
        let mut out = Vec::new();
        let rows = self.decode_into(format, body, &mut out)?;
        Array2::from_shape_vec((rows, self.n_features()), out).map_err(|e| Error::Inference { message: e.to_string() })
    }

    /// Decodes a request body, appending its rows (row-major) to `out`; returns the number of
    /// rows. `out` can be reused across requests to avoid allocation.
    ///
    /// # Errors
    /// As [`Decoder::decode`]; on error `out` holds a partial result.
    pub fn decode_into(&self, format: Format, body: &[u8], out: &mut Vec<f64>) -> Result<usize> {
        if body.is_empty() {
            return Err(Error::bad_request("empty request body"));
        }
        let rows = match format {
            Format::Csv if body.contains(&b'"') => self.decode_csv_quoted(body, out)?,
            Format::Csv => self.decode_csv_plain(body, out)?,
            Format::Json => self.decode_json(body, out)?,
        };
        if rows == 0 {
            return Err(Error::bad_request("the request body holds no rows"));
        }
        Ok(rows)
    }

    /// CSV without quotes: fields end at `,`, `\n` or `\r`.
    fn decode_csv_plain(&self, body: &[u8], out: &mut Vec<f64>) -> Result<usize> {
        let n = self.features.len();
        let mut rows = 0;
        let mut col = 0; // fields read in the current line
        let mut start = 0;
        while start <= body.len() {
            // Fields are short: a table scan beats a vectorised search here.
            let end = body[start..].iter().position(|&b| DELIMITER[usize::from(b)]).map_or(body.len(), |i| start + i);
            let field = &body[start..end];
            let comma = body.get(end) == Some(&b',');
            if !comma && col == 0 && field.is_empty() {
                // An empty line (or the `\n` of a `\r\n`).
                start = end + 1;
                continue;
            }
            let row = rows + 1;
            if col == n {
                let line_end = memchr::memchr2(b'\n', b'\r', &body[start..]).map_or(body.len(), |i| start + i);
                let extra = memchr::memchr_iter(b',', &body[start..line_end]).count() + 1;
                return Err(self.column_count(row, n + extra));
            }
            out.push(self.value(col, field, row)?);
            col += 1;
            if !comma {
                if col != n {
                    return Err(self.column_count(row, col));
                }
                rows += 1;
                col = 0;
            }
            start = end + 1;
        }
        Ok(rows)
    }

    /// CSV with quoted fields, through the `csv` crate.
    fn decode_csv_quoted(&self, body: &[u8], out: &mut Vec<f64>) -> Result<usize> {
        let n = self.features.len();
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0;
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(Error::bad_request(format!("row {}: invalid CSV: {e}", rows + 1))),
            }
            rows += 1;
            if record.len() != n {
                return Err(self.column_count(rows, record.len()));
            }
            for (col, field) in record.iter().enumerate() {
                out.push(self.value(col, field, rows)?);
            }
        }
        Ok(rows)
    }

    fn decode_json(&self, body: &[u8], out: &mut Vec<f64>) -> Result<usize> {
        let doc: Value = serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON: {e}")))?;
        let Some(instances) = doc.get("instances") else {
            return Err(Error::bad_request(
                r#"a JSON request must be an object with an "instances" array, e.g. {"instances": [[1.5, "a"]]}"#,
            ));
        };
        let Value::Array(instances) = instances else {
            return Err(Error::bad_request(r#""instances" must be an array of instances"#));
        };
        let n = self.features.len();
        for (i, instance) in instances.iter().enumerate() {
            let row = i + 1;
            match instance {
                Value::Array(values) => {
                    if values.len() != n {
                        return Err(self.column_count(row, values.len()));
                    }
                    for (col, v) in values.iter().enumerate() {
                        out.push(self.json_value(col, v, row)?);
                    }
                }
                Value::Object(map) => {
                    if let Some(unknown) = map.keys().find(|k| !self.by_name.contains_key(k.as_str())) {
                        return Err(Error::bad_request(format!(
                            "row {row}: unknown column {:?} (the columns are {})",
                            quote_cut(unknown.as_bytes()),
                            self.column_list
                        )));
                    }
                    let absent: Vec<String> = self
                        .names
                        .iter()
                        .zip(&self.optional)
                        .filter(|(name, optional)| !**optional && !map.contains_key(name.as_str()))
                        .map(|(name, _)| format!("{:?}", quote_cut(name.as_bytes())))
                        .collect();
                    if !absent.is_empty() {
                        return Err(Error::bad_request(format!(
                            "row {row}: missing column(s) {} (send null for a missing value; the columns are {})",
                            absent.join(", "),
                            self.column_list
                        )));
                    }
                    for (col, name) in self.names.iter().enumerate() {
                        let v = map.get(name).unwrap_or(&Value::Null);
                        out.push(self.json_value(col, v, row)?);
                    }
                }
                _ => {
                    return Err(Error::bad_request(format!(
                        "row {row}: an instance must be an array of values or an object of column values"
                    )));
                }
            }
        }
        Ok(instances.len())
    }

    fn json_value(&self, col: usize, v: &Value, row: usize) -> Result<f64> {
        let feature = &self.features[col];
        match (v, feature) {
            (Value::Null, _) => Ok(feature.missing()),
            (Value::String(s), _) => self.value(col, s.as_bytes(), row),
            (Value::Number(x), FeatureDecoder::Numeric { .. }) => match x.as_f64() {
                Some(x) if x.is_finite() => Ok(x),
                _ => Err(self.value_error(row, col, x.to_string().as_bytes(), "is not a finite number")),
            },
            (Value::Number(x), FeatureDecoder::Categorical { .. }) => self.value(col, x.to_string().as_bytes(), row),
            (Value::Bool(b), FeatureDecoder::Numeric { boolean: true, .. }) => Ok(if *b { 1.0 } else { 0.0 }),
            (Value::Bool(b), FeatureDecoder::Numeric { boolean: false, .. }) => {
                Err(self.value_error(row, col, if *b { b"true" } else { b"false" }, "is not a number"))
            }
            (Value::Bool(b), FeatureDecoder::Categorical { .. }) => {
                self.value(col, if *b { b"true" } else { b"false" }, row)
            }
            (Value::Array(_) | Value::Object(_), _) => Err(Error::bad_request(format!(
                "row {row}, column {:?}: a value must be a number, string, boolean or null",
                self.names[col]
            ))),
        }
    }

    /// Decodes one raw field of column `col` (0-based) in row `row` (1-based).
    #[inline]
    fn value(&self, col: usize, raw: &[u8], row: usize) -> Result<f64> {
        let feature = &self.features[col];
        if !self.missing.is_empty() && self.missing.iter().any(|m| **m == *raw) {
            return Ok(feature.missing());
        }
        match feature {
            FeatureDecoder::Numeric { impute, boolean } => {
                let text = raw.trim_ascii();
                if text.is_empty() {
                    return Ok(*impute);
                }
                let parsed =
                    parse_decimal(text).or_else(|| std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()));
                match parsed {
                    Some(x) if x.is_finite() => Ok(x),
                    Some(x) if x.is_nan() => Ok(*impute),
                    Some(_) => Err(self.value_error(row, col, raw, "is not a finite number")),
                    None if *boolean && text.eq_ignore_ascii_case(b"true") => Ok(1.0),
                    None if *boolean && text.eq_ignore_ascii_case(b"false") => Ok(0.0),
                    None if *boolean => Err(self.value_error(row, col, raw, "is neither a number nor true/false")),
                    None => Err(self.value_error(row, col, raw, "is not a number")),
                }
            }
            FeatureDecoder::Categorical { codes, other } => Ok(codes.get(raw).copied().unwrap_or(*other)),
        }
    }

    fn value_error(&self, row: usize, col: usize, raw: &[u8], what: &str) -> Error {
        Error::bad_request(format!("row {row}, column {:?}: {:?} {what}", self.names[col], quote_cut(raw)))
    }

    fn column_count(&self, row: usize, got: usize) -> Error {
        Error::bad_request(format!(
            "row {row}: expected {} columns ({}), got {got}",
            self.features.len(),
            self.column_list
        ))
    }
}

/// Exact powers of ten representable in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Parses a plain decimal (`-12.345`, `7`, `.5`, `5.`) without exponent, exactly as
/// `str::parse::<f64>` would (Clinger's fast path: an integer mantissa below 2^53 divided by an
/// exact power of ten is correctly rounded); `None` sends anything else to the general parser.
fn parse_decimal(text: &[u8]) -> Option<f64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    // Wrapping arithmetic: more than 19 digits may overflow, and are refused below.
    let mut mantissa: u64 = 0;
    let mut rest = digits;
    while let [b, tail @ ..] = rest {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        rest = tail;
    }
    let integer = digits.len() - rest.len();
    let mut fraction = 0;
    if let [b'.', after_dot @ ..] = rest {
        rest = after_dot;
        while let [b, tail @ ..] = rest {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            rest = tail;
        }
        fraction = after_dot.len() - rest.len();
    }
    let count = integer + fraction;
    if !rest.is_empty() || count == 0 || count > 19 || mantissa > (1 << 53) || fraction >= POW10.len() {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "the mantissa is at most 2^53, so exact")]
    let value = mantissa as f64 / POW10[fraction];
    Some(if negative { -value } else { value })
}

/// Bytes that end a field in unquoted CSV.
const DELIMITER: [bool; 256] = {
    let mut table = [false; 256];
    table[b',' as usize] = true;
    table[b'\n' as usize] = true;
    table[b'\r' as usize] = true;
    table
};

/// The feature names for error messages, abbreviated in the middle when long.
fn column_list(names: &[String]) -> String {
    let full = names.join(", ");
    if full.len() <= MAX_COLUMN_LIST || names.len() <= 4 {
        return full;
    }
    let mut head = String::new();
    for name in names {
        if head.len() + name.len() > MAX_COLUMN_LIST / 2 {
            break;
        }
        let _ = write!(head, "{name}, ");
    }
    let last = names.last().map_or("", String::as_str);
    format!("{head}…, {last}")
}

/// A value for an error message: lossy UTF-8, cut at [`MAX_QUOTED_VALUE`] characters.
fn quote_cut(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    if text.chars().count() <= MAX_QUOTED_VALUE {
        text.into_owned()
    } else {
        let mut cut: String = text.chars().take(MAX_QUOTED_VALUE).collect();
        cut.push('…');
        cut
    }
}

/// Per-thread buffers reused across requests (inference never awaits while holding them).
#[derive(Default)]
struct Scratch {
    /// Decoded rows, row-major.
    rows: Vec<f64>,
    /// Model outputs, row-major.
    outputs: Vec<f64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Largest buffer kept between requests (values); larger ones are freed after use.
const MAX_KEPT_BUFFER: usize = 1 << 20;

/// Runs one invocation: picks the formats, decodes `body`, predicts row by row into reused
/// buffers and encodes the answer (no per-row allocation).
///
/// Returns the response's content type and body.
///
/// # Errors
/// [`Error::BadRequest`] (415, 406, 400) for the request's faults; [`Error::Inference`] when
/// the model and the schema disagree.
pub fn invoke(
    model: &FittedModel,
    schema: &ModelSchema,
    decoder: &Decoder,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &[u8],
) -> Result<(&'static str, Vec<u8>)> {
    let request = Format::of_request(content_type)?;
    let response = Format::negotiate(accept, request)?;
    let (n_features, width) = (model.n_features(), model.n_outputs());
    if n_features != decoder.n_features() {
        return Err(Error::Inference {
            message: format!("the model takes {n_features} features but its schema lists {}", decoder.n_features()),
        });
    }
    let shape = if model.classes().is_some() { Shape::Classes(schema.classes()) } else { Shape::Values };
    SCRATCH.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|e| Error::Inference { message: e.to_string() })?;
        let Scratch { rows, outputs } = &mut *guard;
        rows.clear();
        outputs.clear();
        let result = decoder.decode_into(request, body, rows).and_then(|n| {
            outputs.resize(n * width, 0.0);
            if n_features == 0 {
                for out in outputs.chunks_exact_mut(width) {
                    model.predict_row(&[], out);
                }
            } else {
                for (row, out) in rows.chunks_exact(n_features).zip(outputs.chunks_exact_mut(width)) {
                    model.predict_row(row, out);
                }
            }
            let mut body = Vec::with_capacity(n * width * 20 + 64);
            encode_flat(response, shape, width, outputs, &mut body)?;
            Ok((response.mime(), body))
        });
        if rows.capacity() > MAX_KEPT_BUFFER || outputs.capacity() > MAX_KEPT_BUFFER {
            *guard = Scratch::default();
        }
        result
    })
}

/// The request content types an image model accepts.
pub const IMAGE_CONTENT_TYPES: [&str; 3] = ["application/x-image", "image/png", "image/jpeg"];

/// Runs one invocation of an image model (see [Image models](self#image-models)): returns the
/// response's content type and body.
///
/// # Errors
/// [`Error::BadRequest`] 415 for another content type, 406 when `accept` names neither JSON nor
/// CSV, 400 for an empty, undecodable or unusable image; [`Error::Models`] when the network fails.
pub fn invoke_image(
    classifier: &ImageClassifier,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &[u8],
) -> Result<(&'static str, Vec<u8>)> {
    let supported = IMAGE_CONTENT_TYPES.join(", ");
    match content_type.map(media_type) {
        Some(ct) if IMAGE_CONTENT_TYPES.iter().any(|s| s.eq_ignore_ascii_case(ct)) => {}
        Some(ct) => {
            return Err(Error::BadRequest {
                status: 415,
                message: format!(
                    "unsupported content type {:?} for an image model; supported: {supported}",
                    quote_cut(ct.as_bytes())
                ),
            });
        }
        None => {
            return Err(Error::BadRequest {
                status: 415,
                message: format!("the request has no Content-Type; an image model takes {supported}"),
            });
        }
    }
    // The answer is JSON unless CSV is asked for.
    let response = Format::negotiate(accept, Format::Json)?;
    if body.is_empty() {
        return Err(Error::BadRequest {
            status: 400,
            message: "empty request body: send one PNG or JPEG image".into(),
        });
    }
    let image = classifier
        .decode(body)
        .map_err(|e| Error::BadRequest { status: 400, message: format!("cannot use the image: {e}") })?;
    let probabilities = classifier.predict(std::slice::from_ref(&image))?;
    let row = probabilities
        .into_iter()
        .next()
        .ok_or_else(|| Error::Inference { message: "the network answered no row".into() })?;
    let mut out = Vec::with_capacity(row.len() * 20 + 2);
    let mut num = ryu::Buffer::new();
    match response {
        Format::Json => {
            out.push(b'[');
            for (i, p) in row.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_number(&mut out, &mut num, *p);
            }
            out.push(b']');
        }
        Format::Csv => {
            for (i, p) in row.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(num.format(*p).as_bytes());
            }
            out.push(b'\n');
        }
    }
    Ok((response.mime(), out))
}

/// Encodes a prediction in the format `accept` selects (see the [module documentation](self)).
///
/// Returns the response's content type and body.
///
/// # Errors
/// [`Error::BadRequest`] 415 when `request_content_type` is not supported, 406 when nothing in
/// `accept` is.
pub fn encode_response(
    schema: &ModelSchema,
    prediction: &Prediction,
    accept: Option<&str>,
    request_content_type: &str,
) -> Result<(&'static str, Vec<u8>)> {
    let request = Format::of_request(Some(request_content_type))?;
    let response = Format::negotiate(accept, request)?;
    let mut out = Vec::new();
    encode_into(response, schema.classes(), prediction, &mut out)?;
    Ok((response.mime(), out))
}

/// What the outputs of a row are.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// Class probabilities, with the class labels.
    Classes(&'a [String]),
    /// Regression values.
    Values,
}

/// Appends the encoding of `prediction` in `format` to `out`; `classes` are the class labels
/// (empty for regression).
///
/// # Errors
/// [`wb_models::Error::Json`] when a class label cannot be written (never for valid UTF-8 labels).
pub fn encode_into(format: Format, classes: &[String], prediction: &Prediction, out: &mut Vec<u8>) -> Result<()> {
    match prediction {
        Prediction::Probabilities(p) => {
            let width = p.ncols();
            match p.as_slice() {
                Some(flat) => encode_flat(format, Shape::Classes(classes), width, flat, out),
                None => {
                    encode_flat(format, Shape::Classes(classes), width, &p.iter().copied().collect::<Vec<_>>(), out)
                }
            }
        }
        Prediction::Values(v) => match v.as_slice() {
            Some(flat) => encode_flat(format, Shape::Values, 1, flat, out),
            None => encode_flat(format, Shape::Values, 1, &v.to_vec(), out),
        },
    }
}

/// Encodes row-major outputs (`width` per row).
fn encode_flat(format: Format, shape: Shape<'_>, width: usize, values: &[f64], out: &mut Vec<u8>) -> Result<()> {
    let mut num = ryu::Buffer::new();
    let rows = values.chunks_exact(width.max(1));
    match (format, shape) {
        (Format::Csv, _) => {
            out.reserve(values.len() * 20);
            for row in rows {
                for (k, v) in row.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(num.format(*v).as_bytes());
                }
                out.push(b'\n');
            }
        }
        (Format::Json, Shape::Classes(classes)) => {
            out.extend_from_slice(b"{\"classes\":[");
            for (k, c) in classes.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, c).map_err(|e| Error::json("class label", e))?;
            }
            out.extend_from_slice(b"],\"predictions\":[");
            for (i, row) in rows.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // The first most probable class (NaN never wins).
                let mut best = 0;
                let mut best_p = f64::NEG_INFINITY;
                for (k, &v) in row.iter().enumerate() {
                    if v > best_p {
                        (best, best_p) = (k, v);
                    }
                }
                out.extend_from_slice(b"{\"label\":");
                match classes.get(best) {
                    Some(label) => {
                        serde_json::to_writer(&mut *out, label).map_err(|e| Error::json("class label", e))?;
                    }
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"probabilities\":[");
                for (k, v) in row.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    push_json_number(out, &mut num, *v);
                }
                out.extend_from_slice(b"]}");
            }
            out.extend_from_slice(b"]}");
        }
        (Format::Json, Shape::Values) => {
            out.extend_from_slice(b"{\"predictions\":[");
            for (i, row) in rows.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"score\":");
                push_json_number(out, &mut num, row.first().copied().unwrap_or(f64::NAN));
                out.push(b'}');
            }
            out.extend_from_slice(b"]}");
        }
    }
    Ok(())
}

fn push_json_number(out: &mut Vec<u8>, num: &mut ryu::Buffer, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(num.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, array};
    use wb_datasets::{Encoding, FeatureEncoding, Task};

    use super::*;

    fn schema() -> ModelSchema {
        let feature = |name: &str, source_type: &str, kind: FeatureKind| FeatureEncoding {
            name: name.into(),
            source_type: source_type.into(),
            kind,
        };
        ModelSchema {
            dataset: wb_core::DatasetName::parse("toy").expect("name"),
            fingerprint: wb_core::ContentHash::of_bytes(b"toy"),
            version: 1,
            target: "y".into(),
            task: Task::Classification { classes: vec!["no".into(), "yes".into()] },
            features: Encoding(vec![
                feature("x", "Float64", FeatureKind::Numeric { impute: 2.5 }),
                feature("colour", "Utf8", FeatureKind::Categorical { categories: vec!["red".into(), "blue".into()] }),
                feature("flag", "Boolean", FeatureKind::Numeric { impute: 0.5 }),
            ]),
            missing: vec!["?".into(), "NA".into()],
            image: None,
            optional: Vec::new(),
        }
    }

    fn decode(ct: &str, body: &str) -> Result<Vec<f64>> {
        Decoder::new(&schema()).decode(ct, body.as_bytes()).map(|m| m.into_raw_vec_and_offset().0)
    }

    fn message(r: Result<Vec<f64>>) -> (u16, String) {
        match r {
            Err(Error::BadRequest { status, message }) => (status, message),
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn csv_rows_encode_like_the_dataset() {
        let got = decode("text/csv; charset=utf-8", "1.5,red,true\r\n,blue,FALSE\n?,green,\nNA,NA,1\n").expect("ok");
        assert_eq!(got, vec![1.5, 0.0, 1.0, 2.5, 1.0, 0.0, 2.5, 2.0, 0.5, 2.5, 2.0, 1.0]);
    }

    #[test]
    fn csv_quoted_fields_follow_rfc_4180() {
        let mut s = schema();
        if let FeatureKind::Categorical { categories } = &mut s.features.0[1].kind {
            categories.push("a,\"b\"".into());
        }
        let d = Decoder::new(&s);
        let got = d.decode("text/csv", b"\"1\",\"a,\"\"b\"\"\",0\n2,red,\"\"\n").expect("ok");
        assert_eq!(got.into_raw_vec_and_offset().0, vec![1.0, 2.0, 0.0, 2.0, 0.0, 0.5]);
        let (_, m) = message(d.decode("text/csv", b"\"1\",red\n").map(|m| m.into_raw_vec_and_offset().0));
        assert!(m.starts_with("row 1: expected 3 columns (x, colour, flag), got 2"), "{m}");
    }

    #[test]
    fn csv_errors_name_row_column_and_value() {
        let (status, m) = message(decode("text/csv", "1,red,true\n1,red\n"));
        assert_eq!(status, 400);
        assert_eq!(m, "row 2: expected 3 columns (x, colour, flag), got 2");
        let (_, m) = message(decode("text/csv", "1,red,true,4,5\n"));
        assert_eq!(m, "row 1: expected 3 columns (x, colour, flag), got 5");
        let (_, m) = message(decode("text/csv", "1,red,true\n1,red,true\nabc,red,true"));
        assert_eq!(m, r#"row 3, column "x": "abc" is not a number"#);
        let (_, m) = message(decode("text/csv", "1,red,yes"));
        assert_eq!(m, r#"row 1, column "flag": "yes" is neither a number nor true/false"#);
        let (_, m) = message(decode("text/csv", "inf,red,1"));
        assert_eq!(m, r#"row 1, column "x": "inf" is not a finite number"#);
        let (_, m) = message(decode("text/csv", ""));
        assert_eq!(m, "empty request body");
        let (_, m) = message(decode("text/csv", "\n\r\n"));
        assert_eq!(m, "the request body holds no rows");
        let long = format!("{},red,1", "z".repeat(500));
        let (_, m) = message(decode("text/csv", &long));
        assert!(m.len() < 150 && m.contains('…'), "{m}");
    }

    #[test]
    fn json_instances_as_arrays_and_objects() {
        let got = decode(
            "application/json",
            r#"{"instances": [[1.5, "blue", true], ["2", null, "false"], {"colour": "red", "x": 3, "flag": null}, {"flag": 1, "x": null, "colour": null}]}"#,
        )
        .expect("ok");
        assert_eq!(got, vec![1.5, 1.0, 1.0, 2.0, 2.0, 0.0, 3.0, 0.0, 0.5, 2.5, 2.0, 1.0]);
        let (_, m) = message(decode("application/json", r#"{"instances": [{"x": 1, "size": 2}]}"#));
        assert_eq!(m, r#"row 1: unknown column "size" (the columns are x, colour, flag)"#);
        let (status, m) =
            message(decode("application/json", r#"{"instances": [{"x": 1, "colour": "red", "flag": 0}, {}]}"#));
        assert_eq!(status, 400);
        assert_eq!(
            m,
            r#"row 2: missing column(s) "x", "colour", "flag" (send null for a missing value; the columns are x, colour, flag)"#
        );
        let (_, m) = message(decode("application/json", r#"{"instances": [[1, "red"]]}"#));
        assert_eq!(m, "row 1: expected 3 columns (x, colour, flag), got 2");
        // A dataset's optional columns may be left out (imputed as null is); the others not.
        let optional = Decoder::new(&ModelSchema { optional: vec!["flag".into()], ..schema() });
        let got = optional.decode("application/json", br#"{"instances": [{"x": 1, "colour": "red"}]}"#).expect("ok");
        assert_eq!(got.into_raw_vec_and_offset().0, vec![1.0, 0.0, 0.5]);
        let refused = optional.decode("application/json", br#"{"instances": [{"colour": "red"}]}"#).expect_err("x");
        assert!(refused.to_string().contains(r#"row 1: missing column(s) "x" ("#), "{refused}");
        let (_, m) = message(decode("application/json", r#"{"rows": []}"#));
        assert!(m.contains("\"instances\""), "{m}");
        let (_, m) = message(decode("application/json", "{"));
        assert!(m.starts_with("invalid JSON"), "{m}");
        let (_, m) = message(decode("application/json", r#"{"instances": [[true, "red", 1]]}"#));
        assert_eq!(m, r#"row 1, column "x": "true" is not a number"#);
    }

    #[test]
    fn unsupported_content_type_is_415_and_names_the_supported_ones() {
        let (status, m) = message(decode("image/png", "x"));
        assert_eq!(status, 415);
        assert!(m.contains("text/csv") && m.contains("application/json"), "{m}");
    }

    #[test]
    fn accept_negotiation() {
        use Format::{Csv, Json};
        assert_eq!(Format::negotiate(None, Json).expect("ok"), Json);
        assert_eq!(Format::negotiate(Some("*/*"), Csv).expect("ok"), Csv);
        assert_eq!(Format::negotiate(Some("application/json"), Csv).expect("ok"), Json);
        assert_eq!(Format::negotiate(Some("text/csv, application/json;q=0.5"), Json).expect("ok"), Csv);
        assert_eq!(Format::negotiate(Some("text/csv;q=0.2, application/json"), Csv).expect("ok"), Json);
        assert_eq!(Format::negotiate(Some("image/png, text/*"), Json).expect("ok"), Csv);
        assert_eq!(Format::negotiate(Some("TEXT/CSV; charset=utf-8"), Json).expect("ok"), Csv);
        let Err(Error::BadRequest { status, .. }) = Format::negotiate(Some("image/png, text/csv;q=0"), Csv) else {
            panic!("406 expected");
        };
        assert_eq!(status, 406);
    }

    #[test]
    fn responses_in_both_formats() {
        let s = schema();
        let p = Prediction::Probabilities(array![[0.25, 0.75], [0.5, 0.5]]);
        let (ct, body) = encode_response(&s, &p, None, "text/csv").expect("csv");
        assert_eq!((ct, String::from_utf8(body).expect("utf8")), ("text/csv", "0.25,0.75\n0.5,0.5\n".into()));
        let (ct, body) = encode_response(&s, &p, Some("application/json"), "text/csv").expect("json");
        assert_eq!(ct, "application/json");
        let v: Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(
            v,
            serde_json::json!({"classes": ["no", "yes"], "predictions": [
                {"label": "yes", "probabilities": [0.25, 0.75]},
                {"label": "no", "probabilities": [0.5, 0.5]}]})
        );
        let r = Prediction::Values(Array1::from(vec![1.0, -2.5e-7, f64::NAN]));
        let (_, body) = encode_response(&s, &r, None, "text/csv").expect("csv");
        assert_eq!(String::from_utf8(body).expect("utf8"), "1.0\n-2.5e-7\nNaN\n");
        let (_, body) = encode_response(&s, &r, None, "application/json").expect("json");
        assert_eq!(
            String::from_utf8(body).expect("utf8"),
            r#"{"predictions":[{"score":1.0},{"score":-2.5e-7},{"score":null}]}"#
        );
        let v: Value = serde_json::from_slice(br#"{"predictions":[{"score":1.0},{"score":-2.5e-7}]}"#).expect("parses");
        assert!(v.is_object());
    }

    #[test]
    fn csv_probabilities_round_trip() {
        let p = Prediction::Probabilities(array![[0.1 + 0.2, 1.0 - (0.1 + 0.2)]]);
        let (_, body) = encode_response(&schema(), &p, None, "text/csv").expect("csv");
        let text = String::from_utf8(body).expect("utf8");
        let back: Vec<f64> = text.trim_end().split(',').map(|v| v.parse().expect("float")).collect();
        assert_eq!(back, vec![0.1 + 0.2, 1.0 - (0.1 + 0.2)]);
    }

    #[test]
    fn invoke_predicts_row_by_row_for_classifiers_and_regressors() {
        use wb_models::model::LinearModel;
        let s = schema();
        let d = Decoder::new(&s);
        let linear = LinearModel { weights: vec![vec![1.0, -0.5, 2.0]], intercepts: vec![0.25] };
        let classifier = FittedModel::Logistic { classes: 2, linear: linear.clone() };
        let body = b"1.5,blue,true\n?,red,false\n";
        let (ct, out) = invoke(&classifier, &s, &d, Some("text/csv"), None, body).expect("invoke");
        let expected = classifier.predict(d.decode("text/csv", body).expect("decode").view()).expect("predict");
        let (_, via_prediction) = encode_response(&s, &expected, None, "text/csv").expect("encode");
        assert_eq!((ct, &out), ("text/csv", &via_prediction));

        let mut regression = s.clone();
        regression.task = Task::Regression;
        let regressor = FittedModel::Linear { linear };
        let (ct, out) =
            invoke(&regressor, &regression, &d, Some("text/csv"), Some("application/json"), body).expect("invoke");
        assert_eq!(ct, "application/json");
        let v: Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(v["predictions"][0]["score"], 0.25 + 1.5 - 0.5 + 2.0);
        assert_eq!(v["predictions"][1]["score"], 0.25 + 2.5);

        let narrow = FittedModel::Linear { linear: LinearModel { weights: vec![vec![1.0]], intercepts: vec![0.0] } };
        let Err(Error::Inference { message }) = invoke(&narrow, &regression, &d, Some("text/csv"), None, body) else {
            panic!("a model narrower than its schema is an inference error");
        };
        assert!(message.contains("1 features") && message.contains("lists 3"), "{message}");
    }

    #[test]
    fn fast_decimals_parse_exactly_like_std() {
        for text in ["0", "-0", "+5", "5.", ".5", "0.1", "-0.564040", "123456789.123456789", "9007199254740992", "1e5"]
        {
            let fast = parse_decimal(text.as_bytes());
            if let Some(v) = fast {
                assert_eq!(v.to_bits(), text.parse::<f64>().expect("std").to_bits(), "{text}");
            }
        }
        assert_eq!(parse_decimal(b"1e5"), None, "exponents go to the general parser");
        assert_eq!(parse_decimal(b"12345678901234567890"), None, "more than 19 digits");
        assert_eq!(parse_decimal(b"."), None);
        assert_eq!(parse_decimal(b"-"), None);
        assert_eq!(parse_decimal(b"1.2.3"), None);
        assert_eq!(parse_decimal(b"0x10"), None);
    }

    proptest::proptest! {
        #[test]
        fn fast_decimals_agree_with_std(int in 0u64..100_000_000_000, frac in 0u64..1_000_000_000, width in 0usize..12, negative: bool) {
            let text = format!("{}{int}.{frac:0width$}", if negative { "-" } else { "" });
            let std = text.parse::<f64>().expect("std parses");
            if let Some(fast) = parse_decimal(text.as_bytes()) {
                proptest::prop_assert_eq!(fast.to_bits(), std.to_bits(), "{}", text);
            }
        }

        #[test]
        fn plain_and_quoted_csv_paths_agree(rows in proptest::collection::vec((-1e6f64..1e6, 0usize..4, proptest::bool::ANY), 1..20)) {
            let d = Decoder::new(&schema());
            let colours = ["red", "blue", "green", "?"];
            let mut plain = String::new();
            let mut quoted = String::new();
            for (x, c, flag) in &rows {
                plain.push_str(&format!("{x},{},{flag}\r\n", colours[*c]));
                quoted.push_str(&format!("\"{x}\",\"{}\",{flag}\n", colours[*c]));
            }
            let a = d.decode("text/csv", plain.as_bytes()).expect("plain");
            let b = d.decode("text/csv", quoted.as_bytes()).expect("quoted");
            proptest::prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn long_column_lists_are_abbreviated() {
        let names: Vec<String> = (0..100).map(|i| format!("feature_number_{i}")).collect();
        let list = column_list(&names);
        assert!(list.len() < MAX_COLUMN_LIST);
        assert!(list.starts_with("feature_number_0, ") && list.ends_with("…, feature_number_99"), "{list}");
    }
}

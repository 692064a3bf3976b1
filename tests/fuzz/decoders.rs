//! The invocation decoders of the model server: `text/csv` and `application/json` request
//! bodies decoded for a schema (three mixed features, and one numeric feature) and run through
//! a model (`invoke`: decode, predict, encode the answer), image request bodies
//! (`invoke_image`: sniff, decode, resize, predict, for an RGB CNN and a grey pixel model), and
//! the media-type handling of `Content-Type` and `Accept` (the input's first line is used as
//! both).
//!
//! Invariants checked besides "no panic, no hang": a refused request is a 4xx `BadRequest`;
//! a decoded body has rows × features values, all finite, categories coded in
//! `0..=categories`; an answer is well-formed JSON, or one CSV line per row; an image answer
//! holds one probability per class.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};
use workbench::core::{ContentHash, DatasetName};
use workbench::datasets::{Encoding, FeatureEncoding, FeatureKind, Task};
use workbench::models::ImageInput;
use workbench::models::image_classifier::{
    Architecture, ImageClassifier, ImageModelSpec, ImageWeights, Normalisation, WeightTensor,
};
use workbench::models::model::{FittedModel, LinearModel};
use workbench::models::schema::ModelSchema;
use workbench::serving::Error;
use workbench::serving::inference::{Decoder, Format, invoke, invoke_image, media_type};

use crate::driver::{Runner, Target, Verdict};
use crate::mutate::{csv_field, csv_text, line_ending, mutated_from, number_text};

/// A request image may have up to `MAX_PIXELS` (16.7 M) pixels, and a few hundred bytes of a
/// truncated JPEG can claim that many: decoding and resizing one takes about 8 s in a debug
/// build (0.3 s in release), and every input is decoded for two models.
pub(crate) const TARGET: Target = Target { name: "decoders", runner, inputs, hang_seconds: 60 };

/// Tokens the mutations insert.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"true",
    b"\"instances\"",
    b"1e400",
    b"-1e400",
    b"-0",
    b"18446744073709551616",
    b"\"x\"",
    b"\"colour\"",
    b"\"flag\"",
    b":",
    b"NaN",
    b"inf",
    b"?",
    b"NA",
    b"[[[[[[[[[[[[[[[[",
    b"\\u0000",
    b"\\ud800",
    b"\xff",
    b"IHDR",
    b"IDAT",
    b"IEND",
    b"\xff\xd8",
    b"\xff\xc0",
    b"\xff\xd9",
    b"\x00\x00\x10\x00",
    b"\xff\xff\xff\xff",
];

/// The categories of the `colour` feature (`""` is one, so an empty field is not missing).
const COLOURS: [&str; 4] = ["red", "blue", "a,\"b\"", ""];

struct Tabular {
    schema: ModelSchema,
    decoder: Decoder,
    model: FittedModel,
}

fn feature(name: &str, source_type: &str, kind: FeatureKind) -> FeatureEncoding {
    FeatureEncoding { name: name.into(), source_type: source_type.into(), kind }
}

fn tabular(features: Vec<FeatureEncoding>, task: Task, missing: &[&str]) -> Tabular {
    let n = features.len();
    // The first feature may be left out of JSON instances.
    let optional = features.iter().take(1).map(|f| f.name.clone()).collect();
    let schema = ModelSchema {
        dataset: DatasetName::parse("fuzz").expect("name"),
        fingerprint: ContentHash::of_bytes(b"fuzz"),
        version: 1,
        target: "y".into(),
        task: task.clone(),
        features: Encoding(features),
        missing: missing.iter().map(|m| (*m).to_owned()).collect(),
        image: None,
        optional,
    };
    let linear = LinearModel { weights: vec![(0..n).map(|i| 0.5 - i as f64).collect()], intercepts: vec![0.25] };
    let model = match task {
        Task::Classification { classes } => FittedModel::Logistic { classes: classes.len(), linear },
        Task::Regression => FittedModel::Linear { linear },
    };
    let decoder = Decoder::new(&schema);
    Tabular { schema, decoder, model }
}

/// An image classifier with deterministic weights.
fn classifier(architecture: Architecture, image: ImageInput, classes: usize) -> ImageClassifier {
    let c = image.channels as usize;
    let mut shapes: Vec<(String, Vec<usize>)> = Vec::new();
    let (mut channels, mut h, mut w) = (c, image.height as usize, image.width as usize);
    if let Architecture::Cnn { conv_blocks } = architecture {
        for i in 0..conv_blocks as usize {
            let out = 32 << i;
            shapes.push((format!("conv{i}.weight"), vec![out, channels, 3, 3]));
            shapes.push((format!("conv{i}.bias"), vec![out]));
            (channels, h, w) = (out, h / 2, w / 2);
        }
    }
    shapes.push(("fc.weight".into(), vec![classes, channels * h * w]));
    shapes.push(("fc.bias".into(), vec![classes]));
    let mut tensors: Vec<WeightTensor> = shapes
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let values = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.01).collect();
            WeightTensor { name, shape, values }
        })
        .collect();
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let spec = ImageModelSpec {
        architecture,
        image,
        normalisation: Normalisation { mean: vec![0.5; c], std: vec![0.25; c] },
        classes: (0..classes).map(|k| format!("class{k}")).collect(),
    };
    ImageClassifier::new(&spec, &ImageWeights { tensors }).expect("a valid image classifier")
}

struct State {
    tabular: [Tabular; 2],
    images: [ImageClassifier; 2],
}

fn runner() -> Runner {
    let mixed = tabular(
        vec![
            feature("x", "Float64", FeatureKind::Numeric { impute: 2.5 }),
            feature(
                "colour",
                "Utf8",
                FeatureKind::Categorical { categories: COLOURS.iter().map(|c| (*c).to_owned()).collect() },
            ),
            feature("flag", "Boolean", FeatureKind::Numeric { impute: 0.5 }),
        ],
        Task::Classification { classes: vec!["no".into(), "yes".into()] },
        &["?", "NA"],
    );
    let single = tabular(vec![feature("v", "Int64", FeatureKind::Numeric { impute: -1.0 })], Task::Regression, &[]);
    let state = State {
        tabular: [mixed, single],
        images: [
            classifier(Architecture::Cnn { conv_blocks: 1 }, ImageInput { channels: 3, height: 8, width: 8 }, 3),
            classifier(Architecture::PixelLogistic, ImageInput { channels: 1, height: 6, width: 5 }, 2),
        ],
    };
    Box::new(move |input| run(&state, input))
}

/// A refusal must be the client's fault (a 4xx), never an inference failure.
fn refusal(what: &str, e: &Error) -> String {
    match e {
        Error::BadRequest { status, message } => {
            assert!(matches!(status, 400 | 406 | 413 | 415), "{what}: status {status} for {message:?}");
            format!("{what}: {status} {message}")
        }
        other => panic!("{what}: a request must be refused as a bad request, not with {other:?}"),
    }
}

fn run(state: &State, input: &[u8]) -> Verdict {
    // The first line (lossy) as a Content-Type and an Accept header.
    let first = input.split(|&b| b == b'\n').next().unwrap_or_default();
    let header = String::from_utf8_lossy(&first[..first.len().min(256)]).into_owned();
    let _ = media_type(&header);
    let _ = Format::from_content_type(&header);
    let _ = Format::of_request(Some(&header)).map_err(|e| refusal("Content-Type", &e));
    for request in [Format::Csv, Format::Json] {
        let _ = Format::negotiate(Some(&header), request).map_err(|e| refusal("Accept", &e));
    }

    let mut verdicts = Vec::new();
    for (t, tabular) in state.tabular.iter().enumerate() {
        for content_type in ["text/csv", "application/json"] {
            let decoded = tabular.decoder.decode(content_type, input);
            let rows = match &decoded {
                Ok(matrix) => {
                    let n = tabular.decoder.n_features();
                    assert_eq!(matrix.ncols(), n, "one column per feature");
                    assert!(matrix.nrows() > 0, "a decoded body has rows");
                    for row in matrix.rows() {
                        for (col, v) in row.iter().enumerate() {
                            assert!(
                                v.is_finite(),
                                "{content_type}: a decoded value is finite, got {v} in column {col}"
                            );
                            if let FeatureKind::Categorical { categories } = &tabular.schema.features.0[col].kind {
                                assert!(
                                    v.fract() == 0.0 && *v >= 0.0 && *v <= categories.len() as f64,
                                    "category code {v} out of 0..={}",
                                    categories.len()
                                );
                            }
                        }
                    }
                    Some(matrix.nrows())
                }
                Err(e) => {
                    let message = refusal(content_type, e);
                    if t == 0 {
                        verdicts.push((content_type, Err(message)));
                    }
                    None
                }
            };
            if t == 0 && rows.is_some() {
                verdicts.push((content_type, Ok(())));
            }
            for accept in [None, Some("application/json"), Some("text/csv"), Some(header.as_str())] {
                match invoke(&tabular.model, &tabular.schema, &tabular.decoder, Some(content_type), accept, input) {
                    Ok((mime, body)) => {
                        let rows = rows.expect("an invocation succeeds only when its body decodes");
                        if mime == "application/json" {
                            let v: Value = serde_json::from_slice(&body).expect("the JSON answer parses");
                            let predictions = v["predictions"].as_array().expect("a predictions array");
                            assert_eq!(predictions.len(), rows, "one prediction per row");
                        } else {
                            assert_eq!(mime, "text/csv");
                            assert_eq!(body.iter().filter(|&&b| b == b'\n').count(), rows, "one CSV line per row");
                        }
                    }
                    Err(e) => {
                        refusal("invoke", &e);
                    }
                }
            }
        }
    }

    // One decode per classifier: a request image may have up to MAX_PIXELS pixels.
    let mut image_verdict = None;
    let requests = [("image/png", None), ("application/x-image", Some("text/csv"))];
    for (classifier, (content_type, accept)) in state.images.iter().zip(requests) {
        let verdict = match invoke_image(classifier, Some(content_type), accept, input) {
            Ok((mime, body)) => {
                let probabilities: Vec<f64> = if mime == "application/json" {
                    serde_json::from_slice(&body).expect("a JSON array of probabilities")
                } else {
                    let text = std::str::from_utf8(&body).expect("a UTF-8 CSV line");
                    text.trim_end().split(',').map(|p| p.parse().expect("a probability")).collect()
                };
                assert_eq!(probabilities.len(), classifier.classes().len(), "one probability per class");
                Ok(())
            }
            Err(e) => Err(refusal("invoke_image", &e)),
        };
        image_verdict.get_or_insert(verdict);
        // The header line as the Content-Type and the Accept of an image request.
        if let Err(e) = invoke_image(classifier, Some(&header), Some(&header), input) {
            refusal("invoke_image", &e);
        }
    }

    // The verdict is the one of the format the bytes look like.
    let trimmed = input.trim_ascii_start();
    if input.starts_with(b"\x89PNG") || input.starts_with(b"\xff\xd8") {
        image_verdict.expect("the image verdict")
    } else if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
        verdict_of(&verdicts, "application/json")
    } else {
        verdict_of(&verdicts, "text/csv")
    }
}

fn verdict_of(verdicts: &[(&str, Verdict)], content_type: &str) -> Verdict {
    verdicts.iter().find(|(ct, _)| *ct == content_type).map_or(Ok(()), |(_, v)| v.clone())
}

// ---- inputs ---------------------------------------------------------------------------------

/// A CSV request body for the three-feature schema (raw values, a few wild ones).
fn csv_body() -> BoxedStrategy<Vec<u8>> {
    let x = prop_oneof![6 => number_text(), 1 => csv_field()].boxed();
    let colour = prop_oneof![
        6 => select(&["red", "blue", "\"a,\"\"b\"\"\"", "", "?", "NA", "green", "\"red\""][..]).prop_map(String::from),
        1 => csv_field(),
    ]
    .boxed();
    let flag = prop_oneof![
        6 => select(&["true", "false", "TRUE", "0", "1", "0.5", "", "?", "yes"][..]).prop_map(String::from),
        1 => csv_field(),
    ]
    .boxed();
    let row = prop_oneof![
        12 => (x.clone(), colour.clone(), flag.clone()).prop_map(|(a, b, c)| vec![a, b, c]),
        1 => (x.clone(), colour).prop_map(|(a, b)| vec![a, b]),
        1 => (x, flag.clone(), flag).prop_map(|(a, b, c)| vec![a, b, c, "4".into()]),
        1 => vec(csv_field(), 0..5),
    ];
    (vec(row, 1..8), line_ending(), any::<bool>(), prop_oneof![9 => Just(false), 1 => Just(true)])
        .prop_map(|(rows, ending, trailing, bom)| csv_text(&rows, ending, None, bom, trailing).into_bytes())
        .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        3 => (-1e6f64..1e6).prop_map(|v| json!(v)),
        1 => any::<i64>().prop_map(|v| json!(v)),
        1 => any::<u64>().prop_map(|v| json!(v)),
        1 => any::<f64>().prop_map(|v| json!(v)),
        2 => number_text().prop_map(Value::String),
        3 => select(&["red", "blue", "a,\"b\"", "", "?", "NA", "green", "true", "false"][..]).prop_map(|s| json!(s)),
        2 => any::<bool>().prop_map(Value::Bool),
        2 => Just(Value::Null),
        1 => "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec(("[a-z]{0,3}", inner), 0..3).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

fn instance() -> BoxedStrategy<Value> {
    let keys = select(&["x", "colour", "flag", "size", "X", ""][..]);
    prop_oneof![
        6 => vec(json_value(), 3).prop_map(Value::Array),
        1 => vec(json_value(), 0..5).prop_map(Value::Array),
        6 => (json_value(), json_value(), json_value())
            .prop_map(|(x, c, f)| json!({"x": x, "colour": c, "flag": f})),
        2 => vec((keys, json_value()), 0..5)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
        1 => json_value(),
    ]
    .boxed()
}

/// A JSON request body: `{"instances": [...]}` mostly, other shapes sometimes.
fn json_body() -> BoxedStrategy<Vec<u8>> {
    let document = prop_oneof![
        8 => vec(instance(), 0..6).prop_map(|i| json!({ "instances": i })),
        1 => (vec(instance(), 1..4), json_value()).prop_map(|(i, extra)| json!({"instances": i, "extra": extra})),
        1 => vec(instance(), 0..4).prop_map(Value::Array),
        1 => json_value().prop_map(|v| json!({ "instances": v })),
        1 => json_value(),
    ];
    (document, any::<bool>())
        .prop_map(|(v, pretty)| {
            if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.expect("JSON serialises")
        })
        .boxed()
}

/// A PNG or JPEG of random size, colour type and pixels.
fn image_body() -> BoxedStrategy<Vec<u8>> {
    let kind = select(&["L8", "La8", "Rgb8", "Rgba8", "L16", "Rgb16", "Rgba16"][..]);
    (1u32..40, 1u32..40, kind, any::<bool>(), any::<u64>())
        .prop_map(|(w, h, kind, jpeg, seed)| {
            let mut pixel = seed;
            let mut next = move || {
                pixel = pixel.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (pixel >> 56) as u8
            };
            let rgb = image::RgbImage::from_fn(w, h, |_, _| image::Rgb([next(), next(), next()]));
            let img = match kind {
                "L8" => DynamicImage::ImageRgb8(rgb).to_luma8().into(),
                "La8" => DynamicImage::ImageRgb8(rgb).to_luma_alpha8().into(),
                "Rgba8" => DynamicImage::ImageRgb8(rgb).to_rgba8().into(),
                "L16" => DynamicImage::ImageRgb8(rgb).to_luma16().into(),
                "Rgb16" => DynamicImage::ImageRgb8(rgb).to_rgb16().into(),
                "Rgba16" => DynamicImage::ImageRgb8(rgb).to_rgba16().into(),
                _ => DynamicImage::ImageRgb8(rgb),
            };
            let mut out = Cursor::new(Vec::new());
            if jpeg {
                // The JPEG encoder takes 8-bit grey or RGB.
                let img = if img.color().has_color() {
                    DynamicImage::ImageRgb8(img.to_rgb8())
                } else {
                    img.to_luma8().into()
                };
                img.write_to(&mut out, ImageFormat::Jpeg).expect("encode a JPEG");
            } else {
                img.write_to(&mut out, ImageFormat::Png).expect("encode a PNG");
            }
            out.into_inner()
        })
        .boxed()
}

/// A valid image whose header claims other dimensions (PNG: IHDR with its CRC fixed; JPEG: the
/// start-of-frame).
fn resized_header() -> BoxedStrategy<Vec<u8>> {
    // Mostly small: a JPEG claiming millions of pixels decodes (zero-filled) for seconds in a
    // debug build.
    let side = prop_oneof![
        12 => 1u32..300,
        1 => Just(0u32),
        1 => select(&[4096u32, 4097, 65_535, 0x7fff_ffff, u32::MAX][..]),
        1 => 300u32..5000,
    ];
    (image_body(), side.clone(), side)
        .prop_map(|(mut bytes, w, h)| {
            if bytes.starts_with(b"\x89PNG") && bytes.len() >= 33 {
                bytes[16..20].copy_from_slice(&w.to_be_bytes());
                bytes[20..24].copy_from_slice(&h.to_be_bytes());
                let mut crc = flate2::Crc::new();
                crc.update(&bytes[12..29]);
                bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
            } else if let Some(sof) = bytes.windows(2).position(|m| m == [0xff, 0xc0])
                && bytes.len() >= sof + 9
            {
                let (w, h) = ((w & 0xffff) as u16, (h & 0xffff) as u16);
                bytes[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
                bytes[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
            }
            bytes
        })
        .boxed()
}

/// A header-like first line (media types, parameters, q-values), then a body.
fn header_line() -> BoxedStrategy<Vec<u8>> {
    let media = prop_oneof![
        4 => select(&[
            "text/csv", "TEXT/CSV; charset=utf-8", "application/json", "application/json;q=0.5, text/*", "image/*",
            "*/*", "text/csv;q=0", "text/csv;q=abc, application/*;Q=0.9", "image/png", "application/x-image",
            "image/", "imagé/png", ";", ",,,", "q=1", "text/csv;q=NaN", "text/csv;q=-1, */*;q=inf", " ", "",
        ][..])
        .prop_map(String::from),
        1 => "\\PC{0,24}",
        1 => "[a-z*/;=,. ]{0,24}",
    ];
    (vec(media, 1..4), prop_oneof![csv_body(), json_body()])
        .prop_map(|(parts, body)| {
            let mut out = parts.join(", ").into_bytes();
            out.push(b'\n');
            out.extend(body);
            out
        })
        .boxed()
}

fn inputs(corpus: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let generated = prop_oneof![3 => csv_body(), 3 => json_body(), 1 => image_body()].boxed();
    let mutated = mutated_from(generated, corpus, TOKENS);
    prop_oneof![
        3 => csv_body(),
        3 => json_body(),
        1 => image_body(),
        1 => resized_header(),
        1 => header_line(),
        5 => mutated,
    ]
    .boxed()
}

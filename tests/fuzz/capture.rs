//! The capture reader: a SageMaker data-capture JSON Lines file (contract B2) read back from a
//! local store as `wb monitor` reads it — rows without and with the model's schema (and a time
//! window), confidences, hourly confidence counts, the Parquet export, the profile of the rows
//! (the statistics a baseline or a monitoring run computes) — and the payload decoders
//! (`decode_inputs`, `decode_outputs`) on the raw input.
//!
//! Invariants checked besides "no panic, no hang": every non-empty line is decoded or skipped
//! (when the window is all time), the rows handed over are the rows counted, the problems kept
//! are the skipped lines up to the limit, a failed export leaves no file.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{TimeZone as _, Utc};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use workbench::core::{DynObjectStore, LocalStore};
use workbench::monitor::capture::{CaptureReader, MAX_PROBLEMS, ReadOutcome};
use workbench::monitor::export::export_parquet;
use workbench::monitor::payload::{decode_inputs, decode_outputs};
use workbench::monitor::profile::Profiler;
use workbench::monitor::{CapturedRow, RowSchema, Value as Cell, Window};

use crate::driver::{DEFAULT_HANG_SECONDS, Runner, Target, Verdict};
use crate::mutate::{csv_field, csv_text, mutated_from, number_text};

pub(crate) const TARGET: Target = Target { name: "capture", runner, inputs, hang_seconds: DEFAULT_HANG_SECONDS };

/// Where the file is put: `capture/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>`.
const KEY: &str = "capture/ep/AllTraffic/2026/11/01/10/capture.jsonl";

/// Tokens the mutations insert.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\\"",
    b"{",
    b"}",
    b":",
    b",",
    b"\n",
    b"\r\n",
    b"null",
    b"[]",
    b"\"encoding\":\"BASE64\"",
    b"\"observedContentType\":\"image/png\"",
    b"\"observedContentType\":\"text/csv\"",
    b"\"data\":\"",
    b"Z",
    b".999999999999Z",
    b"+00:00",
    b"\\u0000",
    b"\\n",
    b"\"captureData\"",
    b"\"eventMetadata\"",
    b"\"inferenceTime\"",
    b"\"endpointInput\"",
    b"\"endpointOutput\"",
    "é".as_bytes(),
    b"\xff",
    b"1e309",
    b"NaN",
    b"2026-11-01T10:",
];

fn schema(regression: bool) -> RowSchema {
    RowSchema {
        features: vec!["alcohol".into(), "colour".into(), "acidity".into()],
        numeric: vec![true, false, true],
        missing: vec!["?".into()],
        classes: if regression { Vec::new() } else { vec!["bad".into(), "good".into()] },
        regression,
    }
}

fn runner() -> Runner {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    Box::new(move |input| {
        payloads(input);
        runtime.block_on(read(input))
    })
}

/// The payload decoders on the raw input as `data`.
fn payloads(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else { return };
    let (classification, regression) = (schema(false), schema(true));
    for (content_type, encoding) in
        [("text/csv", "CSV"), ("application/json", "JSON"), ("text/csv", "BASE64"), ("image/png", "BASE64")]
    {
        for s in [None, Some(&classification), Some(&regression)] {
            let _ = decode_inputs(content_type, encoding, text, s);
            let _ = decode_outputs(content_type, encoding, text, s);
        }
    }
}

fn check(outcome: &ReadOutcome, rows: usize, all_time: bool) {
    let c = &outcome.counts;
    assert_eq!(c.files, 1, "one capture file");
    if all_time {
        assert_eq!(c.decoded + c.skipped, c.records, "every record is decoded or skipped: {c:?}");
    } else {
        assert!(c.decoded + c.skipped <= c.records, "{c:?}");
    }
    assert_eq!(c.rows, rows as u64, "the rows handed over are the rows counted");
    assert_eq!(outcome.problems.len() as u64, c.skipped.min(MAX_PROBLEMS as u64), "a problem per skipped line");
}

async fn read(input: &[u8]) -> Verdict {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = LocalStore::open(&dir.path().join("store")).expect("store");
    let file = local.root().join(KEY);
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("create the capture directory");
    std::fs::write(&file, input).expect("write the capture file");
    let store: DynObjectStore = Arc::new(local);

    // All rows, positional columns, small batches; then their profile (a baseline's statistics).
    let mut rows: Vec<CapturedRow> = Vec::new();
    let outcome = CaptureReader::new(Arc::clone(&store), "ep")
        .batch_rows(3)
        .for_each_batch(|batch| {
            rows.extend_from_slice(batch);
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?;
    check(&outcome, rows.len(), true);
    let width = rows.iter().map(|r| r.features.len()).max().unwrap_or(0);
    let mut profiler = Profiler::new(CaptureReader::column_names(None, width));
    for row in &rows {
        profiler.observe_row(&row.features);
    }
    profiler.finish().to_json().expect("statistics serialise");

    // With the model's schema, within an hour, profiled as a monitoring run does.
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).single().expect("time");
    let window = Window::new(Some(since), Some(since + chrono::Duration::hours(1))).expect("window");
    let classification = schema(false);
    let mut profiler = Profiler::from_schema(&classification);
    let mut n = 0;
    let windowed = CaptureReader::new(Arc::clone(&store), "ep")
        .schema(classification.clone())
        .window(window)
        .for_each_batch(|batch| {
            for row in batch {
                let mut values = row.features.clone();
                values.resize(classification.features.len(), Cell::Missing);
                profiler.observe_row(&values);
            }
            n += batch.len();
            Ok(())
        })
        .await
        .expect("a second read of the same file");
    check(&windowed, n, false);
    profiler.finish().to_json().expect("statistics serialise");

    // Confidences, hourly counts (a regression schema), the Parquet export.
    let (_, confidences) = CaptureReader::new(Arc::clone(&store), "ep").confidences().await.expect("confidences");
    assert_eq!(confidences.counts.records, outcome.counts.records);
    let (_, hourly) = CaptureReader::new(Arc::clone(&store), "ep")
        .schema(schema(true))
        .hourly_confidence(0.9)
        .await
        .expect("hourly confidence");
    assert_eq!(hourly.counts.records, outcome.counts.records);
    for s in [None, Some(classification)] {
        let dest = dir.path().join("export.parquet");
        match export_parquet(CaptureReader::new(Arc::clone(&store), "ep"), s, &dest).await {
            Ok((read, summary)) => {
                assert_eq!(summary.rows, read.counts.rows, "the export writes every row read");
                std::fs::remove_file(&dest).expect("the export file exists");
            }
            Err(_) => assert!(!dest.exists(), "a failed export leaves no file"),
        }
    }

    // The verdict: the read with the model's schema.
    if let Some(p) = windowed.problems.first() {
        return Err(format!(
            "{} of {} records skipped; line {}: {}",
            windowed.counts.skipped, windowed.counts.records, p.line, p.message
        ));
    }
    if windowed.counts.rows == 0 {
        return Err("no rows in the window".into());
    }
    Ok(())
}

// ---- inputs ---------------------------------------------------------------------------------

/// A payload and how it is recorded: (content type, encoding, data).
fn input_payload() -> BoxedStrategy<(String, String, String)> {
    let field = prop_oneof![4 => number_text(), 2 => select(&["red", "white", "?", ""][..]).prop_map(String::from), 1 => csv_field()];
    let csv_rows = vec(vec(field, 3), 1..4).prop_map(|rows| csv_text(&rows, "\n", None, false, false));
    let json_value = prop_oneof![
        (-1e3f64..1e3).prop_map(|v| json!(v)),
        select(&["red", "white", "?", "1.5"][..]).prop_map(|s| json!(s)),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
    ];
    let instances = prop_oneof![
        vec(vec(json_value.clone(), 3), 1..4).prop_map(|rows| json!({"instances": rows}).to_string()),
        vec((json_value.clone(), json_value.clone(), json_value), 1..3).prop_map(|rows| {
            let rows: Vec<Value> =
                rows.into_iter().map(|(a, c, d)| json!({"alcohol": a, "colour": c, "acidity": d})).collect();
            json!({"instances": rows}).to_string()
        }),
    ];
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    prop_oneof![
        4 => csv_rows.clone().prop_map(|d| ("text/csv".into(), "CSV".into(), d)),
        2 => instances.prop_map(|d| ("application/json".into(), "JSON".into(), d)),
        1 => vec(any::<u8>(), 0..64).prop_map(move |bytes| ("image/png".into(), "BASE64".into(), b64(&bytes))),
        1 => csv_rows.prop_map(move |d| ("text/csv".into(), "BASE64".into(), b64(d.as_bytes()))),
    ]
    .boxed()
}

fn output_payload() -> BoxedStrategy<(String, String, String)> {
    let probability = prop_oneof![8 => (0f64..1.0).prop_map(|p| p.to_string()), 1 => number_text()];
    let csv = vec(vec(probability, 1..4), 1..4).prop_map(|rows| csv_text(&rows, "\n", None, false, true));
    let p = prop_oneof![4 => (0f64..1.0).prop_map(|p| json!(p)), 1 => Just(Value::Null), 1 => Just(json!("0.5"))];
    let json = prop_oneof![
        vec(vec(p.clone(), 1..4), 1..3).prop_map(|rows| {
            let predictions: Vec<Value> =
                rows.into_iter().map(|r| json!({"label": "good", "probabilities": r})).collect();
            json!({ "predictions": predictions }).to_string()
        }),
        vec(p.clone(), 1..3).prop_map(|s| {
            json!({"predictions": s.into_iter().map(|v| json!({"score": v})).collect::<Vec<_>>()}).to_string()
        }),
        vec(p.clone(), 0..4).prop_map(|a| json!(a).to_string()),
        vec(vec(p, 0..3), 0..3).prop_map(|a| json!(a).to_string()),
        Just("{\"predictions\": [{}]}".to_owned()),
        Just("3.5".to_owned()),
    ];
    prop_oneof![
        3 => csv.prop_map(|d| ("text/csv; charset=utf-8".into(), "CSV".into(), d)),
        2 => json.prop_map(|d| ("application/json".into(), "JSON".into(), d)),
    ]
    .boxed()
}

/// Content types and encodings beyond the consistent ones.
fn odd_content_type() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&[
            "text/csv", "TEXT/CSV", "application/csv", "application/json", "application/jsonlines", "image/png",
            "image/jpeg", "application/x-image", "image/", "imageé/png", "aéééé", "ü/ü/ü", "€€€", "", ";", "text/plain",
        ][..])
        .prop_map(String::from),
        1 => "\\PC{0,12}",
    ]
    .boxed()
}

fn odd_encoding() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&["CSV", "JSON", "BASE64", "base64", "Csv", "GZIP", "", "BASE64 "][..]).prop_map(String::from),
        1 => "\\PC{0,8}",
    ]
    .boxed()
}

/// One `endpointInput` or `endpointOutput` object.
fn item(payload: BoxedStrategy<(String, String, String)>, mode: &'static str) -> BoxedStrategy<Value> {
    (
        payload,
        prop_oneof![8 => Just(None), 1 => odd_content_type().prop_map(Some)],
        prop_oneof![8 => Just(None), 1 => odd_encoding().prop_map(Some)],
        prop_oneof![12 => Just(None), 1 => select(&["observedContentType", "data", "encoding", "mode"][..]).prop_map(Some)],
    )
        .prop_map(move |((ct, enc, data), odd_ct, odd_enc, drop)| {
            let mut item = json!({
                "observedContentType": odd_ct.unwrap_or(ct),
                "mode": mode,
                "data": data,
                "encoding": odd_enc.unwrap_or(enc),
            });
            if let (Some(key), Some(map)) = (drop, item.as_object_mut()) {
                map.remove(key);
            }
            item
        })
        .boxed()
}

fn inference_time() -> BoxedStrategy<String> {
    prop_oneof![
        6 => (9u32..12, 0u32..60, 0u32..60).prop_map(|(h, m, s)| format!("2026-11-01T{h:02}:{m:02}:{s:02}Z")),
        2 => (0u32..60, "[0-9]{1,15}").prop_map(|(m, frac)| format!("2026-11-01T10:{m:02}:00.{frac}Z")),
        2 => select(&[
            "2026-11-01T10:00:00+00:00", "2026-11-01T10:00:00+05:30", "2026-11-01T10:00:00-23:59",
            "2026-02-30T10:00:00Z", "2026-11-01T24:00:00Z", "2026-11-01T23:59:60Z", "2026-11-01T10:00:00.Z",
            "2026-11-01T10:00:00z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999999Z",
            "-0001-01-01T00:00:00Z", "+10000-01-01T00:00:00Z", "2026-11-01 10:00:00Z", "2026-11-01T10:00:00",
            "", "yesterday", "2026-11-01T10:00:00.5+00:00", "2026-11-01T1０:00:00Z", "2026-11-01T10:00:00ZZ",
            "2026-11-01T10:00:00.éZ", "2026-11-01T10:00:0é",
        ][..])
        .prop_map(String::from),
        1 => "[0-9T:Z.+-]{18,30}",
        1 => "\\PC{0,25}",
    ]
    .boxed()
}

/// A record as SageMaker writes it, sometimes without its input or output, with odd times,
/// odd content types and encodings, a field dropped or of the wrong type.
fn record() -> BoxedStrategy<Value> {
    (
        prop_oneof![6 => item(input_payload(), "INPUT").prop_map(Some), 1 => Just(None)],
        prop_oneof![6 => item(output_payload(), "OUTPUT").prop_map(Some), 1 => Just(None)],
        "[a-f0-9-]{0,36}",
        prop_oneof![2 => Just(None), 1 => "[a-z0-9-]{0,12}".prop_map(Some)],
        inference_time(),
        prop_oneof![16 => Just(0u8), 1 => 1u8..8],
    )
        .prop_map(|(input, output, event_id, inference_id, time, damage)| {
            let mut data = serde_json::Map::new();
            if let Some(i) = input {
                data.insert("endpointInput".into(), i);
            }
            if let Some(o) = output {
                data.insert("endpointOutput".into(), o);
            }
            let mut meta = json!({"eventId": event_id, "inferenceTime": time});
            if let Some(id) = inference_id {
                meta["inferenceId"] = json!(id);
            }
            let mut rec = json!({"captureData": data, "eventMetadata": meta, "eventVersion": "0"});
            match damage {
                1 => rec["eventMetadata"]["inferenceTime"] = json!(1_644_859_549),
                2 => rec["eventMetadata"]["eventId"] = Value::Null,
                3 => rec["captureData"] = json!([]),
                4 => rec["captureData"]["endpointOutput"]["data"] = json!([0.1, 0.9]),
                5 => rec = json!([rec]),
                6 => rec["captureData"]["endpointInput"]["encoding"] = json!(7),
                7 => rec["eventMetadata"] = json!("2026-11-01T10:00:00Z"),
                _ => {}
            }
            rec
        })
        .boxed()
}

/// A capture file: records, blank lines, garbage lines, `\n` or `\r\n`.
fn capture_file() -> BoxedStrategy<Vec<u8>> {
    let line = prop_oneof![
        12 => record().prop_map(|r| r.to_string()),
        1 => select(&["", "   ", "{", "null", "[]", "{}", "\t"][..]).prop_map(String::from),
        1 => csv_field(),
    ];
    (vec(line, 1..6), select(&["\n", "\n", "\r\n"][..]), any::<bool>())
        .prop_map(|(lines, ending, trailing)| {
            let mut text = lines.join(ending);
            if trailing {
                text.push_str(ending);
            }
            text.into_bytes()
        })
        .boxed()
}

fn inputs(corpus: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let generated = capture_file();
    prop_oneof![
        1 => generated.clone(),
        1 => mutated_from(generated, corpus, TOKENS),
    ]
    .boxed()
}

//! The capture reader against capture files in SageMaker's exact format, in a local store.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::json;
use wb_core::{DynObjectStore, LocalStore, ObjectPath};
use wb_monitor::capture::{CaptureReader, ReadOutcome};
use wb_monitor::export::{ParquetExport, export_parquet};
use wb_monitor::hourly::HourlyAccumulator;
use wb_monitor::{CapturedRow, Error, ModelOutput, RowSchema, Value, Window};

fn store() -> (tempfile::TempDir, DynObjectStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    (dir, store)
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, h, m, s).single().expect("time")
}

/// One payload: (content type, data, encoding).
type P<'a> = (&'a str, &'a str, &'a str);

/// A record line exactly as SageMaker writes it.
fn line(time: &str, id: &str, input: Option<P<'_>>, output: Option<P<'_>>) -> String {
    let item = |(ct, data, enc): P<'_>, mode: &str| json!({"observedContentType": ct, "mode": mode, "data": data, "encoding": enc});
    let mut data = serde_json::Map::new();
    if let Some(i) = input {
        data.insert("endpointInput".into(), item(i, "INPUT"));
    }
    if let Some(o) = output {
        data.insert("endpointOutput".into(), item(o, "OUTPUT"));
    }
    let rec = json!({
        "captureData": data,
        "eventMetadata": {"eventId": id, "inferenceId": format!("inf-{id}"), "inferenceTime": time},
        "eventVersion": "0",
    });
    rec.to_string()
}

fn csv_line(t: DateTime<Utc>, id: &str, input: &str, output: &str) -> String {
    line(
        &t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        id,
        Some(("text/csv", input, "CSV")),
        Some(("text/csv; charset=utf-8", output, "CSV")),
    )
}

async fn put(store: &DynObjectStore, key: &str, lines: &[String]) {
    let mut body = lines.join("\n");
    body.push('\n');
    store.put(&ObjectPath::parse(key).expect("key"), Bytes::from(body)).await.expect("put");
}

fn schema() -> RowSchema {
    RowSchema {
        features: vec!["alcohol".into(), "colour".into(), "acidity".into()],
        numeric: vec![true, false, true],
        missing: vec!["?".into()],
        classes: vec!["bad".into(), "good".into()],
        regression: false,
    }
}

async fn read_all(reader: CaptureReader) -> (Vec<CapturedRow>, ReadOutcome) {
    let mut rows = Vec::new();
    let outcome = reader
        .for_each_batch(|batch| {
            rows.extend_from_slice(batch);
            Ok(())
        })
        .await
        .expect("read");
    (rows, outcome)
}

/// Two variants, three hours, two files in one hour.
async fn corpus(store: &DynObjectStore) {
    let a = "capture/ep/AllTraffic/2026/11/01";
    put(
        store,
        &format!("{a}/10/a.jsonl"),
        &[csv_line(at(10, 0, 0), "e1", "1,red,2", "0.1,0.9"), csv_line(at(10, 59, 59), "e2", "2,red,3", "0.6,0.4")],
    )
    .await;
    put(store, &format!("{a}/10/b.jsonl"), &[csv_line(at(10, 30, 0), "e3", "3,white,4", "0.05,0.95")]).await;
    put(store, &format!("{a}/11/a.jsonl"), &[csv_line(at(11, 0, 0), "e4", "4,red,5\n5,white,6", "0.2,0.8\n0.97,0.03")])
        .await;
    put(store, "capture/ep/Shadow/2026/11/01/12/a.jsonl", &[csv_line(at(12, 15, 0), "e5", "6,red,7", "0.3,0.7")]).await;
}

#[tokio::test]
async fn every_record_of_every_file_hour_and_variant_is_read_in_key_order() {
    let (_dir, store) = store();
    corpus(&store).await;
    let (rows, outcome) = read_all(CaptureReader::new(Arc::clone(&store), "ep").schema(schema())).await;
    assert_eq!(outcome.counts.files, 4);
    assert_eq!(outcome.counts.records, 5);
    assert_eq!(outcome.counts.decoded, 5);
    assert_eq!(outcome.counts.skipped, 0);
    assert_eq!(outcome.counts.rows, 6);
    let ids: Vec<(&str, usize)> = rows.iter().map(|r| (r.event_id.as_str(), r.row)).collect();
    assert_eq!(ids, [("e1", 0), ("e2", 0), ("e3", 0), ("e4", 0), ("e4", 1), ("e5", 0)]);
    assert_eq!(rows[5].variant, "Shadow");
    assert_eq!(rows[0].variant, "AllTraffic");
    assert_eq!(rows[0].inference_id.as_deref(), Some("inf-e1"));
    assert_eq!(rows[0].time, at(10, 0, 0));
    assert_eq!(rows[4].features, [Value::Number(5.0), Value::Text("white".into()), Value::Number(6.0)]);
    assert_eq!(rows[4].output.as_ref().and_then(ModelOutput::confidence), Some(0.97));
}

#[tokio::test]
async fn the_window_includes_its_start_and_excludes_its_end() {
    let (_dir, store) = store();
    corpus(&store).await;
    let window = Window::new(Some(at(10, 30, 0)), Some(at(11, 0, 0))).expect("window");
    let (rows, outcome) = read_all(CaptureReader::new(Arc::clone(&store), "ep").window(window)).await;
    let ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(ids, ["e2", "e3"], "10:30:00 is in, 11:00:00 is out");
    // The hour-10 files were read (and their out-of-window record counted as read), the
    // hour-11 and hour-12 files were pruned by their keys.
    assert_eq!(outcome.counts.files, 2);
    assert_eq!((outcome.counts.records, outcome.counts.decoded), (3, 2));
}

#[tokio::test]
async fn fractional_seconds_are_accepted_in_inference_times() {
    let (_dir, store) = store();
    let l = line("2026-11-01T10:00:00.750Z", "f", None, Some(("text/csv", "0.2,0.8", "CSV")));
    put(&store, "capture/ep/AllTraffic/2026/11/01/10/a.jsonl", &[l]).await;
    let (rows, _) = read_all(CaptureReader::new(store, "ep")).await;
    assert_eq!(rows[0].time.timestamp_millis(), at(10, 0, 0).timestamp_millis() + 750);
    assert!(rows[0].features.is_empty(), "no input captured");
}

#[tokio::test]
async fn the_variant_filter_reads_only_that_variant() {
    let (_dir, store) = store();
    corpus(&store).await;
    let (rows, outcome) = read_all(CaptureReader::new(store, "ep").variant("Shadow")).await;
    assert_eq!(outcome.counts.files, 1);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event_id, "e5");
}

#[tokio::test]
async fn csv_inputs_follow_rfc_4180_quoting_and_missing_tokens() {
    let (_dir, store) = store();
    let input = "7.4,\"red, dark\",?\n,\"say \"\"hi\"\"\",abc\n";
    put(
        &store,
        "capture/ep/AllTraffic/2026/11/01/10/a.jsonl",
        &[csv_line(at(10, 0, 0), "q", input, "0.5,0.5\n0.1,0.9\n")],
    )
    .await;
    let (rows, outcome) = read_all(CaptureReader::new(Arc::clone(&store), "ep").schema(schema())).await;
    assert_eq!(outcome.counts.rows, 2);
    assert_eq!(rows[0].features, [Value::Number(7.4), Value::Text("red, dark".into()), Value::Missing]);
    assert_eq!(rows[1].features, [Value::Missing, Value::Text("say \"hi\"".into()), Value::Text("abc".into())]);
    // Without a schema: positional, numbers when they parse, the empty field missing.
    let (rows, _) = read_all(CaptureReader::new(store, "ep")).await;
    assert_eq!(rows[0].features, [Value::Number(7.4), Value::Text("red, dark".into()), Value::Text("?".into())]);
    assert_eq!(CaptureReader::column_names(None, 3), ["_c0", "_c1", "_c2"]);
}

#[tokio::test]
async fn json_instances_as_arrays_and_objects_decode_into_schema_order() {
    let (_dir, store) = store();
    let t = "2026-11-01T10:00:00Z";
    let arrays = r#"{"instances": [[7.4, "red", null], [6.1, "white", "3"]]}"#;
    let objects = r#"{"instances": [{"colour": "red", "alcohol": 9.4}]}"#;
    let out2 = r#"{"predictions": [{"label": "good", "probabilities": [0.2, 0.8]}, {"label": "bad", "probabilities": [0.6, 0.4]}]}"#;
    let out1 = r#"{"predictions": [{"label": "good", "probabilities": [0.1, 0.9]}]}"#;
    put(
        &store,
        "capture/ep/AllTraffic/2026/11/01/10/a.jsonl",
        &[
            line(t, "a", Some(("application/json", arrays, "JSON")), Some(("application/json", out2, "JSON"))),
            line(
                t,
                "o",
                Some(("Application/JSON; charset=utf-8", objects, "JSON")),
                Some(("application/json", out1, "JSON")),
            ),
        ],
    )
    .await;
    let (rows, outcome) = read_all(CaptureReader::new(store, "ep").schema(schema())).await;
    assert_eq!(outcome.counts.skipped, 0, "{:?}", outcome.problems);
    assert_eq!(rows[0].features, [Value::Number(7.4), Value::Text("red".into()), Value::Missing]);
    assert_eq!(rows[1].features, [Value::Number(6.1), Value::Text("white".into()), Value::Number(3.0)]);
    assert_eq!(rows[2].features, [Value::Number(9.4), Value::Text("red".into()), Value::Missing]);
    assert_eq!(rows[1].output, Some(ModelOutput::from_probabilities(vec![0.6, 0.4])));
}

#[tokio::test]
async fn base64_payloads_are_decoded_then_read_by_content_type() {
    let (_dir, store) = store();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (input, output) = (b64("1,red,2\n"), b64("0.25,0.75\n"));
    let l =
        line("2026-11-01T10:00:00Z", "b", Some(("text/csv", &input, "BASE64")), Some(("text/csv", &output, "BASE64")));
    put(&store, "capture/ep/AllTraffic/2026/11/01/10/a.jsonl", &[l]).await;
    let (rows, _) = read_all(CaptureReader::new(store, "ep").schema(schema())).await;
    assert_eq!(rows[0].features, [Value::Number(1.0), Value::Text("red".into()), Value::Number(2.0)]);
    assert_eq!(rows[0].output, Some(ModelOutput::from_probabilities(vec![0.25, 0.75])));
}

#[tokio::test]
async fn an_image_input_gives_a_row_without_features_and_the_array_output_its_probabilities() {
    let (_dir, store) = store();
    let jpeg = base64::engine::general_purpose::STANDARD.encode([0xff_u8, 0xd8, 0xff, 0xe0, 0, 0x10]);
    let l = line(
        "2026-11-01T10:00:00Z",
        "img",
        Some(("image/jpeg", &jpeg, "BASE64")),
        Some(("application/json", "[0.1, 0.7, 0.2]", "JSON")),
    );
    put(&store, "capture/ep/AllTraffic/2026/11/01/10/a.jsonl", &[l]).await;
    let (rows, outcome) = read_all(CaptureReader::new(store, "ep")).await;
    assert_eq!(outcome.counts.rows, 1);
    assert!(rows[0].features.is_empty());
    assert_eq!(
        rows[0].output,
        Some(ModelOutput::Classification { probabilities: vec![0.1, 0.7, 0.2], label: 1, confidence: 0.7 })
    );
}

#[tokio::test]
async fn malformed_lines_are_reported_with_file_and_line_and_counted_as_skipped() {
    let (_dir, store) = store();
    let good = csv_line(at(10, 0, 0), "ok", "1,red,2", "0.1,0.9");
    let truncated = good[..good.len() / 2].to_owned();
    let bad_b64 = line("2026-11-01T10:00:01Z", "b", None, Some(("text/csv", "@@not base64@@", "BASE64")));
    let wrong_columns = csv_line(at(10, 0, 2), "w", "1,red", "0.1,0.9");
    let unknown_encoding = line("2026-11-01T10:00:03Z", "u", None, Some(("text/csv", "0.1,0.9", "GZIP")));
    let bad_time = line("yesterday", "t", None, Some(("text/csv", "0.1,0.9", "CSV")));
    let row_mismatch = csv_line(at(10, 0, 4), "m", "1,red,2\n3,red,4", "0.1,0.9");
    let key = "capture/ep/AllTraffic/2026/11/01/10/a.jsonl";
    let lines = [
        good.clone(),
        truncated,
        String::new(),
        bad_b64,
        wrong_columns,
        unknown_encoding,
        bad_time,
        row_mismatch,
        good,
    ];
    put(&store, key, &lines).await;
    let (rows, outcome) = read_all(CaptureReader::new(store, "ep").schema(schema())).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(outcome.counts.records, 8, "the empty line is not a record");
    assert_eq!((outcome.counts.decoded, outcome.counts.skipped), (2, 6));
    let lines: Vec<u64> = outcome.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 4, 5, 6, 7, 8]);
    assert!(outcome.problems.iter().all(|p| p.file == key));
    let msg = |i: usize| outcome.problems[i].message.clone();
    assert!(msg(0).contains("not a capture record"), "{}", msg(0));
    assert!(msg(1).contains("base64"), "{}", msg(1));
    assert!(msg(2).contains("expected 3 columns, got 2"), "{}", msg(2));
    assert!(msg(3).contains("GZIP"), "{}", msg(3));
    assert!(msg(4).contains("inferenceTime"), "{}", msg(4));
    assert!(msg(5).contains("2 rows but the response 1"), "{}", msg(5));
}

#[tokio::test]
async fn the_same_capture_gives_the_same_rows_in_the_same_order() {
    let (_dir, store) = store();
    for h in 0..6 {
        for f in 0..3 {
            let lines: Vec<String> = (0..20)
                .map(|i| csv_line(at(h, f * 10 + i / 10, i % 60), &format!("{h}-{f}-{i}"), "1,red,2", "0.3,0.7"))
                .collect();
            put(&store, &format!("capture/ep/AllTraffic/2026/11/01/{h:02}/{f}.jsonl"), &lines).await;
        }
    }
    let (one, _) = read_all(CaptureReader::new(Arc::clone(&store), "ep").batch_rows(7).files_in_flight(5)).await;
    let (two, _) = read_all(CaptureReader::new(store, "ep").batch_rows(1000).files_in_flight(1)).await;
    assert_eq!(one.len(), 360);
    assert_eq!(one, two);
    assert_eq!(one[21].event_id, "0-1-1");
}

#[tokio::test]
async fn batches_never_exceed_the_batch_size() {
    let (_dir, store) = store();
    corpus(&store).await;
    let mut sizes = Vec::new();
    CaptureReader::new(store, "ep")
        .batch_rows(4)
        .for_each_batch(|b| {
            sizes.push(b.len());
            Ok(())
        })
        .await
        .expect("read");
    assert_eq!(sizes, [4, 2]);
}

#[tokio::test]
async fn a_prefix_without_capture_files_is_no_capture_naming_it() {
    let (_dir, store) = store();
    corpus(&store).await;
    let err = CaptureReader::new(Arc::clone(&store), "other").for_each_batch(|_| Ok(())).await.expect_err("none");
    assert!(matches!(&err, Error::NoCapture { prefix, .. } if prefix == "capture/other"), "{err}");
    let err = CaptureReader::new(store, "ep")
        .destination(ObjectPath::parse("elsewhere").expect("path"))
        .hourly_confidence(0.9)
        .await
        .expect_err("none");
    assert!(err.to_string().contains("elsewhere/ep"), "{err}");
}

#[tokio::test]
async fn an_empty_capture_file_is_zero_records() {
    let (_dir, store) = store();
    put(&store, "capture/ep/AllTraffic/2026/11/01/10/a.jsonl", &[]).await;
    let (rows, outcome) = read_all(CaptureReader::new(store, "ep")).await;
    assert!(rows.is_empty());
    assert_eq!((outcome.counts.files, outcome.counts.records), (1, 0));
}

#[tokio::test]
async fn hourly_confidence_counts_per_hour_on_both_paths() {
    let (_dir, store) = store();
    corpus(&store).await;
    let (fast, outcome) = CaptureReader::new(Arc::clone(&store), "ep").hourly_confidence(0.93).await.expect("hourly");
    assert_eq!(outcome.counts.rows, 6);
    let hours = fast.hours();
    let got: Vec<(u32, u64, u64)> =
        hours.iter().map(|h| (chrono::Timelike::hour(&h.hour), h.predictions, h.low_confidence)).collect();
    assert_eq!(got, [(10, 3, 2), (11, 2, 1), (12, 1, 1)]);
    assert!((hours[0].mean_confidence - (0.9 + 0.6 + 0.95) / 3.0).abs() < 1e-12);
    assert!((hours[0].min_confidence - 0.6).abs() < 1e-12);
    let mut slow = HourlyAccumulator::new(0.93).expect("threshold");
    CaptureReader::new(store, "ep")
        .for_each_batch(|rows| {
            slow.add_rows(rows);
            Ok(())
        })
        .await
        .expect("rows");
    assert_eq!(slow.hours(), hours);
    assert_eq!((fast.predictions(), fast.low_confidence()), (6, 4));
}

#[tokio::test]
async fn capture_written_by_the_capture_writer_reads_back() {
    use wb_serving::capture::{CaptureEncoding, CaptureEvent, CapturedPayload, new_uuid_v7};
    let (_dir, store) = store();
    let destination = ObjectPath::parse("capture").expect("path");
    let event = CaptureEvent {
        endpoint: "ep".into(),
        variant: "AllTraffic".into(),
        destination,
        input: Some(CapturedPayload {
            content_type: "text/csv".into(),
            data: Bytes::from_static(b"1,\"a,b\",2\n"),
            encoding: CaptureEncoding::Csv,
        }),
        output: Some(CapturedPayload {
            content_type: "text/csv".into(),
            data: Bytes::from_static(b"0.4,0.6\n"),
            encoding: CaptureEncoding::Csv,
        }),
        event_id: new_uuid_v7(),
        inference_id: None,
        inference_time: at(9, 5, 0),
    };
    let key = format!("{}/x.jsonl", event.directory());
    store.put(&ObjectPath::parse(key).expect("key"), Bytes::from(event.to_json_line())).await.expect("put");
    let (rows, outcome) = read_all(CaptureReader::new(store, "ep").schema(schema())).await;
    assert_eq!(outcome.counts.skipped, 0, "{:?}", outcome.problems);
    assert_eq!(rows[0].features, [Value::Number(1.0), Value::Text("a,b".into()), Value::Number(2.0)]);
    assert_eq!(rows[0].time, at(9, 5, 0));
    assert_eq!(rows[0].event_id, event.event_id.to_string());
}

#[tokio::test]
async fn parquet_export_round_trips() {
    use arrow::array::{Array as _, AsArray as _};
    use arrow::datatypes::{Float64Type, TimestampMillisecondType, UInt64Type};
    let (dir, store) = store();
    corpus(&store).await;
    put(&store, "capture/ep/AllTraffic/2026/11/01/13/a.jsonl", &[csv_line(at(13, 0, 0), "m", ",?,3", "0.5,0.5")]).await;
    let dest = dir.path().join("capture.parquet");
    let (outcome, summary) =
        export_parquet(CaptureReader::new(store, "ep").batch_rows(3), Some(schema()), &dest).await.expect("export");
    assert_eq!(summary.rows, 7);
    assert_eq!(outcome.counts.rows, 7);
    let file = std::fs::File::open(&dest).expect("open");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .build()
        .expect("reader");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).expect("concat");
    let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "time",
            "event_id",
            "inference_id",
            "variant",
            "row",
            "alcohol",
            "colour",
            "acidity",
            "label",
            "confidence",
            "probabilities"
        ]
    );
    assert_eq!(batch.num_rows(), 7);
    let time = batch.column(0).as_primitive::<TimestampMillisecondType>();
    assert_eq!(time.value(0), at(10, 0, 0).timestamp_millis());
    let ids = batch.column(1).as_string::<i32>();
    assert_eq!(ids.value(4), "e4");
    assert_eq!(batch.column(4).as_primitive::<UInt64Type>().value(4), 1);
    let alcohol = batch.column(5).as_primitive::<Float64Type>();
    assert_eq!(alcohol.value(0), 1.0);
    assert!(alcohol.is_null(5), "the empty field is null");
    let colour = batch.column(6).as_string::<i32>();
    assert_eq!(colour.value(2), "white");
    assert!(colour.is_null(5), "the missing token is null");
    let label = batch.column(8).as_string::<i32>();
    assert_eq!((label.value(0), label.value(1)), ("good", "bad"));
    assert_eq!(batch.column(9).as_primitive::<Float64Type>().value(2), 0.95);
    let probs = batch.column(10).as_list::<i32>();
    assert_eq!(probs.value(3).as_primitive::<Float64Type>().values().to_vec(), [0.2, 0.8]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left");
}

#[tokio::test]
async fn an_unfinished_export_leaves_no_file_at_the_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("out.parquet");
    let mut export = ParquetExport::create(&dest, schema()).expect("create");
    let row = CapturedRow {
        time: at(10, 0, 0),
        event_id: "e".into(),
        inference_id: None,
        variant: "AllTraffic".into(),
        row: 0,
        features: vec![Value::Number(1.0), Value::Text("red".into()), Value::Missing],
        output: Some(ModelOutput::from_probabilities(vec![0.3, 0.7])),
    };
    export.write(&[row]).expect("write");
    assert!(!dest.exists(), "nothing at the destination before finish");
    drop(export);
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "the temporary file is removed");
}

#[tokio::test]
async fn reads_can_be_spawned_onto_other_tasks() {
    let (_dir, store) = store();
    corpus(&store).await;
    let hourly = tokio::spawn(CaptureReader::new(Arc::clone(&store), "ep").hourly_confidence(0.5));
    let rows = tokio::spawn(async move {
        let mut n = 0;
        CaptureReader::new(store, "ep")
            .for_each_batch(|b| {
                n += b.len();
                Ok(())
            })
            .await
            .map(|_| n)
    });
    let (acc, _) = hourly.await.expect("join").expect("hourly");
    assert_eq!(acc.predictions(), 6);
    assert_eq!(rows.await.expect("join").expect("rows"), 6);
}

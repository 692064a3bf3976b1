//! Baseline → capture → monitoring run on a local store, and the same analysis through the
//! bring-your-own-container contract.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use wb_core::{DynObjectStore, EndpointName, JobName, ObjectPath};
use wb_models::ModelArtifact;
use wb_models::testkit::{ToyProject, toy_project};
use wb_models::training::TrainingJobs;
use wb_monitor::container::{AnalyzerInputs, analyze};
use wb_monitor::monitor::Monitor;
use wb_monitor::report::CONFIDENCE_COLUMN;
use wb_monitor::violations::CheckType;
use wb_monitor::{Error, Window};
use wb_serving::capture::{CaptureConfig, CaptureWriter, CaptureWriterOptions, Payload};
use wb_serving::endpoints::{Endpoints, load_artifact};
use wb_serving::inference::{Decoder, invoke};

const ENDPOINT: &str = "toy-ep";

fn endpoint() -> EndpointName {
    EndpointName::parse(ENDPOINT).expect("name")
}

/// A toy project with a logistic regression deployed (capture on) at `toy-ep`.
async fn deployed() -> (ToyProject, ModelArtifact) {
    let p = toy_project(900).await;
    let job = JobName::parse("toy-job").expect("job");
    TrainingJobs::new(p.store.clone())
        .train(&p.dataset, "logistic-regression")
        .job_name(job.clone())
        .await
        .expect("train");
    let record = Endpoints::new(p.store.clone())
        .deploy(&job, &endpoint())
        .capture(CaptureConfig::new(100).expect("capture"))
        .await
        .expect("deploy");
    let artifact = load_artifact(&p.store, &record.model_artifact).await.expect("artifact");
    (p, artifact)
}

/// Rows like the toy dataset's (signal, noise, colour), `shift` added to the signal.
fn rows(n: usize, offset: usize, shift: f64) -> Vec<String> {
    (offset..offset + n)
        .map(|i| {
            let signal = ((i * 7919) % 1000) as f64 / 100.0 + shift;
            let noise = ((i * 104_729) % 97) as f64;
            let colour = if i % 11 == 0 { "?" } else { ["red", "green", "blue"][i % 3] };
            format!("{signal},{noise},{colour}")
        })
        .collect()
}

/// Sends `rows` through the model in requests of 10 rows and captures them at `at` (one
/// second apart per request), as the local server does.
async fn capture(store: &DynObjectStore, artifact: &ModelArtifact, rows: &[String], at: DateTime<Utc>) {
    let decoder = Decoder::new(&artifact.schema);
    let config = CaptureConfig::new(100).expect("capture");
    let writer = CaptureWriter::spawn(store.clone(), CaptureWriterOptions::default());
    for (i, chunk) in rows.chunks(10).enumerate() {
        let body = format!("{}\n", chunk.join("\n"));
        let (content_type, answer) =
            invoke(&artifact.model, &artifact.schema, &decoder, Some("text/csv"), None, body.as_bytes())
                .expect("invoke");
        let mut event = config.event(
            ENDPOINT,
            "AllTraffic",
            Payload { content_type: "text/csv".into(), data: Bytes::from(body) },
            Payload { content_type: content_type.into(), data: Bytes::from(answer) },
            None,
        );
        event.inference_time = at + chrono::Duration::seconds(i as i64);
        writer.record(&event).await;
    }
    let report = writer.shutdown().await.expect("shutdown");
    assert_eq!(report.records as usize, rows.len().div_ceil(10));
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).single().expect("time")
}

#[tokio::test]
async fn baseline_then_runs_flag_the_shifted_feature_and_nothing_else() {
    let (p, artifact) = deployed().await;
    let monitor = Monitor::new(p.store.clone());
    let baseline = monitor.baseline(&endpoint()).await.expect("baseline");
    let names: Vec<&str> = baseline.statistics.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["signal", "noise", "colour", CONFIDENCE_COLUMN]);
    assert_eq!(baseline.source.dataset, "toy");
    assert!(baseline.source.validation_rows > 0 && baseline.source.confidence_note.is_none());
    for file in ["statistics", "constraints", "schema"] {
        let path = ObjectPath::parse(format!("monitoring/{ENDPOINT}/baseline/{file}.json")).expect("path");
        assert!(p.store.exists(&path).await.expect("head"), "{path}");
    }
    assert_eq!(monitor.read_baseline(&endpoint()).await.expect("read"), baseline);

    // 300 rows like training at 10:00, the same rows with the signal moved at 12:00.
    capture(&p.store, &artifact, &rows(300, 1000, 0.0), at(10, 0)).await;
    capture(&p.store, &artifact, &rows(300, 1000, 6.0), at(12, 0)).await;

    let plain = monitor
        .run(&endpoint())
        .window(Window::new(Some(at(10, 0)), Some(at(11, 0))).expect("window"))
        .at(at(13, 0))
        .await
        .expect("run");
    assert_eq!(plain.report.counts.rows, 300);
    assert_eq!(plain.report.counts.skipped, 0);
    let drift: Vec<_> = plain
        .report
        .violations
        .violations
        .iter()
        .filter(|v| v.constraint_check_type == CheckType::BaselineDriftCheck)
        .collect();
    assert!(drift.is_empty(), "data like training does not drift: {drift:?}");

    let moved = monitor
        .run(&endpoint())
        .window(Window::new(Some(at(12, 0)), None).expect("window"))
        .at(at(13, 0))
        .await
        .expect("run");
    assert_eq!(moved.report.counts.rows, 300);
    let drifted: Vec<&str> = moved.report.drift.iter().filter(|d| d.drifted).map(|d| d.feature.as_str()).collect();
    assert!(drifted.contains(&"signal"), "the shifted feature drifted: {drifted:?}");
    assert!(!drifted.contains(&"noise") && !drifted.contains(&"colour"), "{drifted:?}");
    assert!(
        moved
            .report
            .violations
            .violations
            .iter()
            .any(|v| v.feature_name == "signal" && v.constraint_check_type == CheckType::BaselineDriftCheck),
        "{:?}",
        moved.report.violations
    );
    let confidence = moved.report.confidence.as_ref().expect("classification");
    assert_eq!(confidence.predictions, 300);
    assert_eq!(confidence.window_histogram.iter().sum::<u64>(), 300);
    assert_eq!(confidence.baseline_histogram.len(), confidence.window_histogram.len());

    // Written where the layout says, byte-identical when run again at the same time.
    let prefix = moved.prefix.clone().expect("written");
    assert!(prefix.as_str().starts_with(&format!("monitoring/{ENDPOINT}/reports/")), "{prefix}");
    let files = ["statistics.json", "constraint_violations.json", "report.json", "index.html"];
    let mut first = HashMap::new();
    for f in files {
        let path = ObjectPath::parse(format!("{prefix}/{f}")).expect("path");
        first.insert(f, p.store.get(&path).await.expect(f).bytes);
    }
    let again = monitor
        .run(&endpoint())
        .window(Window::new(Some(at(12, 0)), None).expect("w"))
        .at(at(13, 0))
        .await
        .expect("rerun");
    assert_eq!(again.prefix.as_ref(), Some(&prefix));
    for f in files {
        let path = ObjectPath::parse(format!("{prefix}/{f}")).expect("path");
        assert_eq!(p.store.get(&path).await.expect(f).bytes, first[f], "{f} is repeatable");
    }

    // A window with no records is a report that says so.
    let empty = monitor
        .run(&endpoint())
        .window(Window::new(Some(at(20, 0)), None).expect("w"))
        .write(false)
        .await
        .expect("empty");
    assert_eq!(empty.report.counts.records, 0);
    assert!(empty.report.drift.iter().all(|d| !d.drifted));
}

#[tokio::test]
async fn runs_need_a_baseline_and_read_hand_edited_constraints_strictly() {
    let (p, _) = deployed().await;
    let monitor = Monitor::new(p.store.clone());
    let missing = monitor.run(&endpoint()).await.expect_err("no baseline");
    assert!(
        matches!(missing, Error::NoBaseline { .. }) && missing.to_string().contains("wb monitor baseline"),
        "{missing}"
    );

    monitor.baseline(&endpoint()).await.expect("baseline");
    let path = ObjectPath::parse(format!("monitoring/{ENDPOINT}/baseline/constraints.json")).expect("path");
    let text = String::from_utf8(p.store.get(&path).await.expect("get").bytes.to_vec()).expect("utf8");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    doc["features"][1]["completeness"] = serde_json::json!("high");
    p.store.put(&path, Bytes::from(serde_json::to_vec(&doc).expect("json"))).await.expect("put");
    let bad = monitor.run(&endpoint()).await.expect_err("bad constraints");
    let message = bad.to_string();
    assert!(matches!(bad, Error::BadDocument { .. }), "{message}");
    assert!(message.contains("constraints.json") && message.contains("features[1].completeness"), "{message}");
}

#[tokio::test]
async fn a_baseline_needs_the_endpoints_dataset() {
    let (p, _) = deployed().await;
    let gone = ObjectPath::parse("datasets/toy/manifest.json").expect("path");
    p.store.delete(&gone).await.expect("delete");
    let err = Monitor::new(p.store.clone()).baseline(&endpoint()).await.expect_err("no dataset");
    assert!(matches!(err, Error::NoDataset { .. }), "{err}");
    assert!(err.to_string().contains("toy"), "{err}");
    assert!(
        !p.store
            .exists(&ObjectPath::parse(format!("monitoring/{ENDPOINT}/baseline/statistics.json")).expect("p"))
            .await
            .expect("head")
    );
}

#[tokio::test]
async fn the_container_contract_reproduces_a_run_from_local_files() {
    let (p, artifact) = deployed().await;
    let monitor = Monitor::new(p.store.clone());
    monitor.baseline(&endpoint()).await.expect("baseline");
    capture(&p.store, &artifact, &rows(200, 3000, 6.0), at(12, 0)).await;
    let window = Window::new(Some(at(12, 0)), Some(at(13, 0))).expect("window");
    let run = monitor.run(&endpoint()).window(window).at(at(13, 0)).write(false).await.expect("run");

    // SageMaker's processing layout: the capture under dataset_source, the baseline files as
    // local paths, results to output_path.
    let store_dir = p.dir.path().join("store");
    let env: HashMap<&str, String> = HashMap::from([
        ("dataset_source", store_dir.join("capture").display().to_string()),
        ("output_path", p.dir.path().join("resultdata").display().to_string()),
        ("sagemaker_endpoint_name", ENDPOINT.to_owned()),
        ("start_time", "2026-12-01T12:00:00Z".to_owned()),
        ("end_time", "2026-12-01T13:00:00Z".to_owned()),
        (
            "baseline_statistics",
            store_dir.join(format!("monitoring/{ENDPOINT}/baseline/statistics.json")).display().to_string(),
        ),
        (
            "baseline_constraints",
            store_dir.join(format!("monitoring/{ENDPOINT}/baseline/constraints.json")).display().to_string(),
        ),
        (
            "dataset_format",
            r#"{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}"#.to_owned(),
        ),
    ]);
    let inputs = AnalyzerInputs::from_env(|k| env.get(k).cloned()).expect("inputs");
    assert_eq!(inputs.window, window);
    let report = analyze(&inputs).await.expect("analyze");
    assert_eq!(report.violations, run.report.violations, "the container finds what the run finds");
    assert_eq!(report.statistics, run.report.statistics);
    let out = p.dir.path().join("resultdata");
    let violations: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("constraint_violations.json")).expect("violations"))
            .expect("json");
    assert!(
        violations["violations"].as_array().is_some_and(|v| v.iter().any(|v| v["feature_name"] == "signal")),
        "{violations}"
    );
    assert!(out.join("statistics.json").is_file() && out.join("index.html").is_file());

    let missing =
        AnalyzerInputs::from_env(|k| if k == "output_path" { None } else { env.get(k).cloned() }).expect_err("missing");
    assert!(missing.to_string().contains("output_path"), "{missing}");
    let bad_time =
        AnalyzerInputs::from_env(|k| if k == "start_time" { Some("yesterday".into()) } else { env.get(k).cloned() })
            .expect_err("bad time");
    assert!(bad_time.to_string().contains("start_time=\"yesterday\""), "{bad_time}");
}

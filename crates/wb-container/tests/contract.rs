//! `wb-container` against SageMaker-style directories and environment variables.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wb_core::{ContentHash, DatasetName};
use wb_datasets::{Encoding, FeatureEncoding, FeatureKind, Task};
use wb_models::ModelSchema;
use wb_models::container::{ChannelConfig, ContainerPaths, write_input_config};

fn schema() -> ModelSchema {
    ModelSchema {
        dataset: DatasetName::parse("toy").expect("name"),
        fingerprint: ContentHash::of_bytes(b"toy"),
        version: 1,
        target: "label".into(),
        task: Task::Classification { classes: vec!["no".into(), "yes".into()] },
        features: Encoding(vec![
            FeatureEncoding {
                name: "x".into(),
                source_type: "Float64".into(),
                kind: FeatureKind::Numeric { impute: 0.5 },
            },
            FeatureEncoding {
                name: "colour".into(),
                source_type: "Utf8".into(),
                kind: FeatureKind::Categorical { categories: vec!["red".into(), "blue".into()] },
            },
        ]),
        missing: vec!["?".into()],
        image: None,
        optional: Vec::new(),
    }
}

/// Lays out `/opt/ml` with encoded channels: label = x > 0.5, colour code 0/1.
fn opt_ml(root: &Path, hyperparameters: &[(&str, &str)]) -> ContainerPaths {
    let paths = ContainerPaths::new(root);
    let hp: BTreeMap<String, String> =
        hyperparameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let channels = BTreeMap::from([
        ("train".to_owned(), ChannelConfig::file("text/csv")),
        ("validation".to_owned(), ChannelConfig::file("text/csv")),
        ("metadata".to_owned(), ChannelConfig::file("application/json")),
    ]);
    write_input_config(&paths, &hp, &channels, &schema()).expect("config");
    for (channel, rows) in [("train", 300), ("validation", 100)] {
        let mut text = String::new();
        for i in 0..rows {
            let x = ((i * 37) % 100) as f64 / 100.0;
            text.push_str(&format!("{},{x},{}\n", u8::from(x > 0.5), i % 2));
        }
        let dir = paths.channel(channel);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("{channel}.csv")), text).expect("write");
    }
    paths
}

fn container(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wb-container"));
    cmd.env("WB_OPT_ML", root).env("WB_CONTAINER_HOST", "127.0.0.1");
    cmd
}

#[test]
fn train_writes_the_model_and_a_failure_file_when_it_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = opt_ml(dir.path(), &[("algorithm", "logistic-regression")]);
    let out = container(dir.path()).arg("train").env("TRAINING_JOB_NAME", "job-1").output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in ["model.json", "schema.json", "metadata.json"] {
        assert!(paths.model_dir().join(file).is_file(), "{file}");
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(paths.model_dir().join("metadata.json")).expect("read")).expect("json");
    assert_eq!(metadata["job"], "job-1");
    let accuracy = metadata["validation_metrics"]["accuracy"].as_f64().expect("accuracy");
    assert!(accuracy > 0.8);
    assert!(!paths.failure_file().exists());
    // SageMaker's metric definitions read the log: one `validation:<name>=<value>` line each.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logged: Vec<(&str, f64)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("validation:")?.split_once('='))
        .map(|(k, v)| (k, v.parse().expect("a number")))
        .collect();
    assert!(logged.contains(&("accuracy", accuracy)), "{stdout}");
    assert!(logged.iter().any(|(k, _)| *k == "log_loss"), "{stdout}");

    let bad = tempfile::tempdir().expect("tempdir");
    let paths = opt_ml(bad.path(), &[("algorithm", "decision-tree"), ("depth", "3")]);
    let out = container(bad.path()).arg("train").output().expect("run");
    assert_eq!(out.status.code(), Some(1), "a failed job exits non-zero");
    let reason = std::fs::read_to_string(paths.failure_file()).expect("output/failure");
    assert!(reason.contains("depth") && reason.len() <= 1024, "{reason}");

    let unknown = container(bad.path()).arg("predict").output().expect("run");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("train|serve"));
}

#[test]
fn serve_answers_ping_and_invocations_on_sagemaker_bind_to_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    opt_ml(dir.path(), &[("algorithm", "gaussian-nb")]);
    assert!(container(dir.path()).arg("train").status().expect("train").success());
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let mut child = container(dir.path())
        .arg("serve")
        .env("SAGEMAKER_BIND_TO_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let url = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{url}/ping")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "no answer to /ping");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let answer = client
            .post(format!("{url}/invocations"))
            .header("content-type", "text/csv")
            .body("0.9,red\n0.1,?\n")
            .send()
            .await
            .expect("invoke");
        let status = answer.status();
        let text = answer.text().await.expect("body");
        let bad = client
            .post(format!("{url}/invocations"))
            .header("content-type", "text/csv")
            .body("0.9\n")
            .send()
            .await
            .expect("invoke");
        (status, text, bad.status().as_u16())
    });
    // SIGTERM: the graceful stop SageMaker sends.
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let exit = child.wait().expect("wait");
    let (status, text, bad) = result;
    assert!(status.is_success(), "{text}");
    let rows: Vec<Vec<f64>> =
        text.lines().map(|l| l.split(',').map(|v| v.parse().expect("number")).collect()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0][1] > 0.5 && rows[1][1] < 0.5, "{text}");
    assert_eq!(bad, 400, "a short row is the client's fault");
    assert!(exit.success(), "SIGTERM stops the server cleanly: {exit:?}");
}

/// One SageMaker capture record of a two-column CSV request and its probabilities.
fn capture_record(i: usize, x: f64, colour: &str) -> String {
    serde_json::json!({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": format!("{x},{colour}\n"), "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "0.3,0.7\n", "encoding": "CSV"}
        },
        "eventMetadata": {"eventId": format!("e-{i}"), "inferenceTime": format!("2020-02-19T06:{:02}:00Z", i % 60)},
        "eventVersion": "0"
    })
    .to_string()
}

#[test]
fn monitor_follows_model_monitors_bring_your_own_container_contract() {
    use wb_monitor::Value;
    use wb_monitor::profile::Profiler;

    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // The baseline, as `wb monitor baseline` writes it: x in [0, 1), three colours.
    let mut profiler = Profiler::new(["x", "colour"]);
    for i in 0..500 {
        profiler.observe_row(&[
            Value::Number(((i * 37) % 100) as f64 / 100.0),
            Value::Text(["red", "blue", "green"][i % 3].into()),
        ]);
    }
    let statistics = profiler.finish();
    let constraints = wb_monitor::constraints::suggest(&statistics);
    let baseline = root.join("baseline");
    std::fs::create_dir_all(&baseline).expect("dir");
    std::fs::write(baseline.join("statistics.json"), serde_json::to_vec(&statistics).expect("json")).expect("write");
    std::fs::write(baseline.join("constraints.json"), serde_json::to_vec(&constraints).expect("json")).expect("write");
    // The window's capture in SageMaker's processing layout: x moved up by 5.
    let hour = root.join("endpointdata/ep/AllTraffic/2020/02/19/06");
    std::fs::create_dir_all(&hour).expect("dir");
    let lines: Vec<String> = (0..120)
        .map(|i| capture_record(i, 5.0 + ((i * 37) % 100) as f64 / 100.0, ["red", "blue", "green"][i % 3]))
        .collect();
    std::fs::write(hour.join("capture.jsonl"), lines.join("\n")).expect("write");

    let env = [
        (
            "dataset_format",
            r#"{"sagemakerCaptureJson":{"captureIndexNames":["endpointInput","endpointOutput"]}}"#.to_owned(),
        ),
        ("dataset_source", root.join("endpointdata").display().to_string()),
        ("output_path", root.join("resultdata").display().to_string()),
        ("sagemaker_endpoint_name", "ep".to_owned()),
        ("start_time", "2020-02-19T06:00:00Z".to_owned()),
        ("end_time", "2020-02-19T07:00:00Z".to_owned()),
        ("baseline_statistics", baseline.join("statistics.json").display().to_string()),
        ("baseline_constraints", baseline.join("constraints.json").display().to_string()),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_wb-container"))
        .arg("monitor")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results = root.join("resultdata");
    let violations: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results.join("constraint_violations.json")).expect("violations"))
            .expect("json");
    let found: Vec<(&str, &str)> = violations["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| (v["feature_name"].as_str().expect("name"), v["constraint_check_type"].as_str().expect("type")))
        .collect();
    assert_eq!(found, [("x", "baseline_drift_check")], "{violations}");
    let window: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results.join("statistics.json")).expect("statistics")).expect("json");
    assert_eq!(window["dataset"]["item_count"], 120);
    assert!(results.join("index.html").is_file());

    // A missing variable is named; nothing is written.
    let missing = Command::new(env!("CARGO_BIN_EXE_wb-container"))
        .arg("monitor")
        .envs(env.iter().filter(|(k, _)| *k != "baseline_constraints").map(|(k, v)| (*k, v)))
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("baseline_constraints"));
}

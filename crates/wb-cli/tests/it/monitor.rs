//! `wb monitor` on the local backend: capture files in SageMaker's exact format and key layout
//! (with the model's real answers), baseline, read-back, runs with exit statuses, listing and
//! clean-up.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::local::{fails, ok_json, wb};
use crate::models::{CleanOnDrop, project};

/// One request of `rows` (CSV lines) answered by the endpoint, as SageMaker captures it.
fn capture_line(dir: &Path, endpoint: &str, rows: &[String], time: &str, id: usize) -> String {
    let body = format!("{}\n", rows.join("\n"));
    let out = wb(dir)
        .args(["endpoints", "invoke", endpoint, "--content-type", "text/csv", "--body", &body])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let answer = String::from_utf8(out).expect("utf8");
    let record = json!({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": body, "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": answer, "encoding": "CSV"}
        },
        "eventMetadata": {"eventId": format!("00000000-0000-4000-8000-{id:012}"), "inferenceTime": time},
        "eventVersion": "0"
    });
    serde_json::to_string(&record).expect("json")
}

/// Rows like the toy dataset's (`size,colour`), `shift` added to the size.
fn rows(from: usize, n: usize, shift: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            let colour = if i % 9 == 0 { "?" } else { ["red", "blue", "green"][i % 3] };
            format!("{},{colour}", (i * 37) % 100 + shift)
        })
        .collect()
}

/// Writes `lines` as the capture file `name` of hour `hour` (`2026/12/01/10`).
fn write_capture(dir: &Path, hour: &str, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(format!(".workbench/capture/toy-ep/AllTraffic/{hour}/{name}"));
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, format!("{}\n", lines.join("\n"))).expect("write capture");
    path
}

#[test]
fn baseline_read_back_runs_exit_statuses_and_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(d);
    let _clean = CleanOnDrop(d);
    ok_json(wb(d).args(["train", "--dataset", "toy", "--algorithm", "logistic-regression", "--job", "j1", "--json"]));
    ok_json(wb(d).args(["deploy", "--job", "j1", "--endpoint", "toy-ep", "--json"]));

    // Capture: 10 requests like the training data at 10:00, 10 with the size moved at 12:00
    // (and one truncated line SageMaker would never write, to be reported and skipped).
    let plain: Vec<String> = (0..10)
        .map(|r| capture_line(d, "toy-ep", &rows(1000 + r * 10, 10, 0), &format!("2026-12-01T10:{r:02}:00Z"), r))
        .collect();
    let mut moved: Vec<String> = (0..10)
        .map(|r| capture_line(d, "toy-ep", &rows(2000 + r * 10, 10, 80), &format!("2026-12-01T12:{r:02}:00Z"), 100 + r))
        .collect();
    moved.insert(3, r#"{"captureData": {"endpointInput": {"observedContentType": "text/csv""#.to_owned());
    write_capture(d, "2026/12/01/10", "10-00-plain.jsonl", &plain);
    write_capture(d, "2026/12/01/12", "12-00-moved.jsonl", &moved);

    // Before a baseline, a run says what to do.
    assert!(
        fails(wb(d).args(["monitor", "run", "--endpoint", "toy-ep"])).contains("wb monitor baseline --endpoint toy-ep")
    );

    let baseline = ok_json(wb(d).args(["monitor", "baseline", "--endpoint", "toy-ep", "--json"]));
    let columns: Vec<&str> = baseline["statistics"]["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(columns, ["size", "colour", "_confidence"]);
    assert_eq!(baseline["constraints"]["monitoring_config"]["distribution_constraints"]["comparison_method"], "Robust");

    // Read-back: every record, the malformed one named by file and line.
    let read = ok_json(wb(d).args(["monitor", "captures", "--endpoint", "toy-ep", "--hourly", "--json"]));
    let counts = &read["outcome"]["counts"];
    assert_eq!((counts["files"].as_u64(), counts["records"].as_u64()), (Some(2), Some(21)), "{read}");
    assert_eq!(
        (counts["decoded"].as_u64(), counts["skipped"].as_u64(), counts["rows"].as_u64()),
        (Some(20), Some(1), Some(200))
    );
    let problem = &read["outcome"]["problems"][0];
    assert!(
        problem["file"].as_str().expect("file").ends_with("12-00-moved.jsonl") && problem["line"] == 4,
        "{problem}"
    );
    let hours: Vec<u64> =
        read["hourly"].as_array().expect("hourly").iter().map(|h| h["predictions"].as_u64().expect("n")).collect();
    assert_eq!(hours, [100, 100]);
    let window = ok_json(wb(d).args([
        "monitor",
        "captures",
        "--endpoint",
        "toy-ep",
        "--since",
        "2026-12-01T10:05:00Z",
        "--until",
        "2026-12-01T12:00:00Z",
        "--json",
    ]));
    assert_eq!(window["outcome"]["counts"]["rows"], 50, "inclusive start, exclusive end: {window}");

    // The data like training passes; the moved data fails --fail-on-violation with status 2.
    let clean = ok_json(wb(d).args([
        "monitor",
        "run",
        "--endpoint",
        "toy-ep",
        "--since",
        "2026-12-01T10:00:00Z",
        "--until",
        "2026-12-01T11:00:00Z",
        "--fail-on-violation",
        "--json",
    ]));
    assert_eq!(clean["report"]["violations"]["violations"], json!([]), "{}", clean["report"]["violations"]);
    let failed = wb(d)
        .args(["monitor", "run", "--endpoint", "toy-ep", "--since", "2026-12-01", "--fail-on-violation", "--json"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&failed.stdout).expect("json");
    let violations = report["report"]["violations"]["violations"].as_array().expect("violations");
    assert!(
        violations.iter().any(|v| v["feature_name"] == "size" && v["constraint_check_type"] == "baseline_drift_check"),
        "{violations:?}"
    );
    assert!(!violations.iter().any(|v| v["feature_name"] == "colour"), "{violations:?}");
    assert!(String::from_utf8_lossy(&failed.stderr).contains("violation(s) found"));
    let page = report["prefix"].as_str().expect("report page");
    assert!(std::fs::read_to_string(page).expect("index.html").contains("baseline_drift_check"));

    // Bad input: one clear line, status 1.
    assert!(
        fails(wb(d).args(["monitor", "run", "--endpoint", "toy-ep", "--since", "noon"])).contains("--since \"noon\"")
    );
    assert!(fails(wb(d).args(["monitor", "run", "--endpoint", "toy-ep", "--threshold", "1.5"])).contains("1.5"));
    assert!(
        fails(wb(d).args(["monitor", "run", "--endpoint", "toy-ep", "--since", "2026-12-02", "--until", "2026-12-01"]))
            .contains("after its start")
    );
    assert!(fails(wb(d).args(["monitor", "captures", "--endpoint", "gone"])).contains("capture/gone"));
    assert!(fails(wb(d).args(["monitor", "schedule", "--endpoint", "toy-ep"])).contains("sagemaker"));

    let list = ok_json(wb(d).args(["monitor", "list", "--json"]));
    assert_eq!(list["baselines"], json!(["toy-ep"]));
    assert_eq!(list["reports"].as_array().expect("reports").len(), 2);

    // `wb clean` removes the baselines and reports with the capture.
    ok_json(wb(d).args(["clean", "--json"]));
    assert!(!d.join(".workbench/monitoring").exists(), "monitoring/ is removed");
}

/// Capture of an endpoint that is gone is still read (positional columns without a schema),
/// and exported to Parquet.
#[test]
fn capture_of_a_gone_endpoint_reads_back_and_exports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok_json(wb(d).args(["init", "--name", "cli-monitor", "--json"]));
    let line = |i: usize, time: &str| {
        json!({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": format!("{i},\"a,b\",{}\n", i * 2), "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "0.25,0.75\n", "encoding": "CSV"}
            },
            "eventMetadata": {"eventId": format!("e{i}"), "inferenceId": "caller-1", "inferenceTime": time},
            "eventVersion": "0"
        })
        .to_string()
    };
    let lines: Vec<String> = (0..5).map(|i| line(i, "2026-11-30T23:59:59Z")).collect();
    write_capture(d, "2026/11/30/23", "f.jsonl", &lines);
    let out = d.join("rows.parquet");
    let read = ok_json(wb(d).args([
        "monitor",
        "captures",
        "--endpoint",
        "toy-ep",
        "--to",
        out.to_str().expect("path"),
        "--json",
    ]));
    assert_eq!(read["outcome"]["counts"]["rows"], 5);
    assert!(out.is_file(), "the Parquet file is written");
    let entries = crate::python::read_with_pyarrow(std::slice::from_ref(&out), true);
    let data = &entries[0]["data"];
    assert_eq!(entries[0]["rows"], 5);
    assert_eq!(data["_c1"][0], "a,b", "quoted fields stay whole: {data}");
    assert_eq!(data["_c2"][4], 8.0);
    assert_eq!(data["confidence"][0], 0.75);
    assert_eq!(data["inference_id"][0], "caller-1");
}

/// `wb monitor` on an S3 store (moto), reading capture laid out exactly as SageMaker writes it
/// (`<prefix>/capture/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`), against a baseline
/// made on the local backend and uploaded beside it.
#[cfg(feature = "aws")]
#[test]
fn monitor_reads_capture_sagemaker_wrote_to_s3() {
    use crate::s3::{Bucket, stdout_json, wb_env};

    let local = tempfile::tempdir().expect("tempdir");
    let l = local.path();
    project(l);
    let _clean = CleanOnDrop(l);
    ok_json(wb(l).args(["train", "--dataset", "toy", "--algorithm", "logistic-regression", "--job", "j1", "--json"]));
    ok_json(wb(l).args(["deploy", "--job", "j1", "--endpoint", "toy-ep", "--json"]));
    ok_json(wb(l).args(["monitor", "baseline", "--endpoint", "toy-ep", "--json"]));

    let moto = wb_aws::testkit::Moto::shared();
    let bucket = Bucket::fresh(moto);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let store = format!("s3://{}/team", bucket.name);
    stdout_json(wb_env(d, moto).args(["init", "--store", &store, "--json"]));
    for file in ["statistics.json", "constraints.json", "schema.json"] {
        let bytes = std::fs::read(l.join(format!(".workbench/monitoring/toy-ep/baseline/{file}"))).expect("baseline");
        bucket.put(&format!("team/monitoring/toy-ep/baseline/{file}"), &bytes);
    }
    // SageMaker's own records: its observed content types, v4 event ids, whole-second times.
    let lines: Vec<String> = rows(5000, 60, 80)
        .chunks(6)
        .enumerate()
        .map(|(i, chunk)| {
            json!({
                "captureData": {
                    "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": format!("{}\n", chunk.join("\n")), "encoding": "CSV"},
                    "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "0.1,0.9\n".repeat(chunk.len()), "encoding": "CSV"}
                },
                "eventMetadata": {"eventId": format!("6f1d2c3b-0000-4000-8000-{i:012}"), "inferenceTime": format!("2026-12-01T10:{i:02}:17Z")},
                "eventVersion": "0"
            })
            .to_string()
        })
        .collect();
    bucket.put(
        "team/capture/toy-ep/AllTraffic/2026/12/01/10/10-00-233-4b7e3d2a-2c5f-4a57-8d3c-0f8a1b2c3d4e.jsonl",
        format!("{}\n", lines.join("\n")).as_bytes(),
    );

    let read = stdout_json(wb_env(d, moto).args(["monitor", "captures", "--endpoint", "toy-ep", "--json"]));
    assert_eq!(read["outcome"]["counts"]["records"], 10, "{read}");
    assert_eq!(read["outcome"]["counts"]["rows"], 60);
    let run = wb_env(d, moto)
        .args(["monitor", "run", "--endpoint", "toy-ep", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let run: Value = serde_json::from_slice(&run.stdout).expect("json");
    let violations = run["report"]["violations"]["violations"].as_array().expect("violations");
    assert!(violations.iter().any(|v| v["feature_name"] == "size"), "{violations:?}");
    let objects = bucket.objects();
    let id = run["report"]["id"].as_str().expect("id");
    for file in ["statistics.json", "constraint_violations.json", "report.json", "index.html"] {
        let key = format!("team/monitoring/toy-ep/reports/{id}/{file}");
        assert!(objects.contains_key(&key), "{key} in {:?}", objects.keys().collect::<Vec<_>>());
    }
    let gone = wb_env(d, moto)
        .args(["monitor", "captures", "--endpoint", "other"])
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("capture/other"),
        "an S3 prefix that does not exist is named"
    );
}

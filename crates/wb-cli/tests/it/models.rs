//! Train, deploy, invoke, register and clean up through `wb`, and boto3 against `wb serve`.

use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::local::{csv, fails, ok_json, wb};

/// A project in `dir` with dataset `toy` (a numeric and a categorical feature, a learnable
/// binary target) registered and partitioned.
pub(crate) fn project(dir: &Path) {
    ok_json(wb(dir).args(["init", "--name", "cli-models", "--json"]));
    let mut text = String::from("id,size,colour,label\n");
    for i in 0..400 {
        let size = (i * 37) % 100;
        let colour = if i % 9 == 0 { "?" } else { ["red", "blue", "green"][i % 3] };
        let label = if size > 50 { "big" } else { "small" };
        text.push_str(&format!("{i},{size},{colour},{label}\n"));
    }
    csv(dir, "toy.csv", &text);
    ok_json(
        wb(dir)
            .args(["dataset", "register", "toy", "--source", "toy.csv", "--target", "label", "--key", "id", "--json"]),
    );
    ok_json(wb(dir).args(["dataset", "partition", "toy", "--json"]));
}

/// Stops the project's local server when the test ends, whatever happens.
pub(crate) struct CleanOnDrop<'a>(pub(crate) &'a Path);

impl Drop for CleanOnDrop<'_> {
    fn drop(&mut self) {
        let _ = wb(self.0).args(["clean", "--json"]).output();
    }
}

fn server_pid(dir: &Path) -> u32 {
    let record: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".workbench/servers/local.json")).expect("server record"))
            .expect("json");
    u32::try_from(record["pid"].as_u64().expect("pid")).expect("pid fits")
}

fn invoke(dir: &Path, endpoint: &str, body: &str) -> String {
    let out = wb(dir)
        .args(["endpoints", "invoke", endpoint, "--content-type", "text/csv", "--body", body])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf8")
}

fn endpoint_answers(dir: &Path, name: &str) -> bool {
    let list = ok_json(wb(dir).args(["endpoints", "list", "--json"]));
    list["endpoints"].as_array().expect("endpoints").iter().any(|e| e["name"] == name && e["answers"] == true)
}

#[test]
fn train_deploy_invoke_register_recover_and_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(d);
    let _clean = CleanOnDrop(d);

    let job = ok_json(wb(d).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "logistic-regression",
        "--job",
        "j1",
        "--json",
    ]));
    assert_eq!(job["status"], "Completed");
    assert!(job["metrics"]["auc"].as_f64().expect("auc") > 0.9, "{job}");
    assert!(job["model_artifact"].as_str().expect("uri").ends_with("training/j1/output/model.tar.gz"));

    // Training faults name the culprit; a failed job is recorded as Failed and cannot be deployed.
    assert!(fails(wb(d).args(["train", "--dataset", "toy", "--algorithm", "deep-magic"])).contains("deep-magic"));
    let hp = fails(wb(d).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "decision-tree",
        "--job",
        "bad",
        "--hp",
        "max_depht=3",
    ]));
    assert!(hp.contains("max_depht"), "{hp}");
    assert_eq!(ok_json(wb(d).args(["jobs", "show", "bad", "--json"]))["status"], "Failed");
    assert!(
        fails(wb(d).args(["train", "--dataset", "toy", "--algorithm", "decision-tree", "--hp", "depth"]))
            .contains("KEY=VALUE")
    );
    assert!(fails(wb(d).args(["train", "--dataset", "nope", "--algorithm", "decision-tree"])).contains("nope"));
    assert!(fails(wb(d).args(["deploy", "--job", "bad", "--endpoint", "toy-ep"])).contains("Failed"));
    assert!(fails(wb(d).args(["deploy", "--job", "missing", "--endpoint", "toy-ep"])).contains("missing"));
    assert_eq!(ok_json(wb(d).args(["jobs", "list", "--json"])).as_array().expect("jobs").len(), 2);

    // Deploy starts the server; the endpoint answers raw rows (quoted fields, missing tokens).
    let deployed = ok_json(wb(d).args(["deploy", "--job", "j1", "--endpoint", "toy-ep", "--capture", "100", "--json"]));
    assert_eq!(deployed["started_server"], true);
    assert!(deployed["url"].as_str().expect("url").ends_with("/endpoints/toy-ep/invocations"));
    assert!(endpoint_answers(d, "toy-ep"));
    let big = invoke(d, "toy-ep", "90,\"red\"\n");
    let probabilities: Vec<f64> = big.trim().split(',').map(|v| v.parse().expect("number")).collect();
    assert_eq!(probabilities.len(), 2);
    assert!(probabilities[0] > 0.5, "classes are [big, small]; 90 is big: {big}");
    let two = invoke(d, "toy-ep", "10,?\n60,blue\n");
    assert_eq!(two.lines().count(), 2);
    let file = csv(d, "rows.csv", "20,green\n");
    let from_file = invoke(d, "toy-ep", &format!("@{}", file.display()));
    let piped = wb(d)
        .args(["endpoints", "invoke", "toy-ep", "--content-type", "text/csv"])
        .write_stdin(std::fs::read(&file).expect("read"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(piped).expect("utf8"), from_file, "stdin and @file send the same body");

    // Bad requests: clear errors, and the server keeps serving.
    assert!(
        fails(wb(d).args(["endpoints", "invoke", "toy-ep", "--content-type", "text/csv", "--body", "1,2,3"]))
            .contains("expected 2 columns")
    );
    assert!(
        fails(wb(d).args(["endpoints", "invoke", "toy-ep", "--content-type", "text/csv", "--body", "abc,red"]))
            .contains("size")
    );
    assert!(
        fails(wb(d).args(["endpoints", "invoke", "toy-ep", "--content-type", "image/png", "--body", "x"]))
            .contains("415")
    );
    assert!(
        fails(wb(d).args(["endpoints", "invoke", "nope", "--content-type", "text/csv", "--body", "1,red"]))
            .contains("nope")
    );
    assert_eq!(invoke(d, "toy-ep", "90,red").lines().count(), 1, "still serving");

    // Registry.
    let m = ok_json(wb(d).args(["register", "m1", "--endpoint", "toy-ep", "--description", "first model", "--json"]));
    assert_eq!(m["fingerprint"], job["fingerprint"]);
    assert!(
        fails(wb(d).args(["register", "m1", "--endpoint", "toy-ep", "--description", "again"])).contains("--replace")
    );
    ok_json(wb(d).args(["register", "m1", "--endpoint", "toy-ep", "--description", "second", "--replace", "--json"]));
    assert_eq!(ok_json(wb(d).args(["models", "show", "m1", "--json"]))["description"], "second");
    ok_json(wb(d).args(["register", "m2", "--endpoint", "toy-ep", "--description", "other", "--json"]));
    ok_json(wb(d).args(["models", "remove", "m2", "--json"]));
    assert_eq!(ok_json(wb(d).args(["models", "list", "--json"])).as_array().expect("models").len(), 1);

    // A server killed with SIGKILL shows as down; the next deploy brings it back on its port.
    let before = ok_json(wb(d).args(["endpoints", "list", "--json"]));
    let status = std::process::Command::new("kill").args(["-KILL", &server_pid(d).to_string()]).status().expect("kill");
    assert!(status.success());
    let started = Instant::now();
    while endpoint_answers(d, "toy-ep") {
        assert!(started.elapsed() < Duration::from_secs(10), "a killed server stops answering");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ok_json(wb(d).args(["endpoints", "list", "--json"]))["server"]["up"], false);
    assert!(
        fails(wb(d).args(["endpoints", "invoke", "toy-ep", "--content-type", "text/csv", "--body", "1,red"]))
            .contains("not running")
    );
    let again = ok_json(wb(d).args(["deploy", "--job", "j1", "--endpoint", "toy-ep", "--json"]));
    assert_eq!(again["started_server"], true);
    assert_eq!(again["url"], before["endpoints"][0]["url"], "the server comes back on its previous port");
    assert!(endpoint_answers(d, "toy-ep"));

    // Clean: a dry run removes nothing; clean stops the server and removes endpoints, models,
    // jobs; a second clean finds nothing; the dataset stays.
    let dry = ok_json(wb(d).args(["clean", "--dry-run", "--json"]));
    let kinds: Vec<&str> =
        dry["plan"]["items"].as_array().expect("items").iter().map(|i| i["kind"].as_str().expect("kind")).collect();
    for kind in ["server", "endpoint", "model", "training-job"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert!(endpoint_answers(d, "toy-ep"), "a dry run touches nothing");
    let url = again["url"].as_str().expect("url").to_owned();
    let cleaned = ok_json(wb(d).args(["clean", "--json"]));
    assert_eq!(cleaned["report"]["stopped_server"], true);
    assert!(!d.join(".workbench/endpoints").exists() && !d.join(".workbench/training").exists());
    assert!(reqwest_free_ping(&url).is_err(), "the server is stopped");
    let second = ok_json(wb(d).args(["clean", "--json"]));
    assert_eq!(second["plan"]["items"].as_array().expect("items").len(), 0, "{second}");
    ok_json(wb(d).args(["dataset", "show", "toy", "--json"]));
}

/// Connects to the server's port with a plain TCP socket (no HTTP client needed).
fn reqwest_free_ping(url: &str) -> std::io::Result<()> {
    let addr = url.trim_start_matches("http://").split('/').next().expect("host:port");
    std::net::TcpStream::connect(addr).map(|_| ())
}

/// Sends one request through boto3's `sagemaker-runtime` client and prints what it got.
const BOTO3_INVOKE: &str = r#"
import json, sys
import boto3
url, endpoint = sys.argv[1], sys.argv[2]
client = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
out = {}
r = client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="application/json",
                           Body=b"90,red\n10,\"blue\"\n", CustomAttributes="trace=abc",
                           InferenceId="req-1")
out["ok"] = {"body": json.loads(r["Body"].read()), "content_type": r["ContentType"],
             "variant": r["InvokedProductionVariant"], "custom": r.get("CustomAttributes")}
try:
    client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=b"1,2,3\n")
except client.exceptions.ModelError as e:
    out["model_error"] = {"code": e.response["Error"]["Code"], "status": e.response.get("OriginalStatusCode"),
                          "message": e.response["Error"]["Message"], "original": e.response.get("OriginalMessage")}
try:
    client.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="text/csv", Body=b"1,red\n")
except client.exceptions.ClientError as e:
    out["unknown"] = {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                      "http": e.response["ResponseMetadata"]["HTTPStatusCode"]}
json.dump(out, sys.stdout)
"#;

#[test]
fn boto3_sagemaker_runtime_talks_to_wb_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    project(d);
    ok_json(wb(d).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "random-forest",
        "--job",
        "forest",
        "--hp",
        "num_trees=20",
        "--json",
    ]));
    // `wb serve` in the foreground (here: a child process), then deploy to it.
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("wb"))
        .current_dir(d)
        .env_remove("WB_CONFIG")
        .args(["serve", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wb serve");
    let _clean = CleanOnDrop(d);
    let started = Instant::now();
    while !d.join(".workbench/servers/local.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "wb serve did not record itself");
        std::thread::sleep(Duration::from_millis(50));
    }
    let deployed = ok_json(wb(d).args(["deploy", "--job", "forest", "--endpoint", "forest-ep", "--json"]));
    assert_eq!(deployed["started_server"], false, "deploy uses the running server");
    assert!(fails(wb(d).args(["serve", "--port", "0"])).contains("already runs"));
    let url = deployed["url"].as_str().expect("url").split("/endpoints/").next().expect("base").to_owned();

    let python = wb_aws::testkit::python();
    let mut child = std::process::Command::new(&python)
        .args(["-", &url, "forest-ep"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    child.stdin.take().expect("stdin").write_all(BOTO3_INVOKE.as_bytes()).expect("script");
    let out = child.wait_with_output().expect("boto3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).expect("json");

    let ok = &got["ok"];
    assert_eq!(ok["content_type"], "application/json");
    assert_eq!(ok["variant"], "AllTraffic");
    assert_eq!(ok["custom"], "trace=abc", "custom attributes come back verbatim");
    assert_eq!(ok["body"]["classes"], serde_json::json!(["big", "small"]));
    assert_eq!(ok["body"]["predictions"][0]["label"], "big");
    assert_eq!(ok["body"]["predictions"][1]["label"], "small");
    assert_eq!(got["model_error"]["code"], "ModelError");
    assert_eq!(got["model_error"]["status"], 400);
    assert!(got["model_error"]["original"].as_str().expect("original").contains("expected 2 columns"), "{got}");
    assert_eq!(got["unknown"]["code"], "ValidationError");
    assert_eq!(got["unknown"]["http"], 400);
    assert!(got["unknown"]["message"].as_str().expect("message").contains("no-such-endpoint"));

    // `wb clean` stops the foreground server gracefully.
    ok_json(wb(d).args(["clean", "--json"]));
    let started = Instant::now();
    loop {
        if let Some(status) = serve.try_wait().expect("wait") {
            assert!(status.success(), "wb serve exits cleanly when its record is removed");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "wb serve did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `--exclude` keeps identifiers and free text out of every model of a dataset; `--optional`
/// lets JSON instances leave a feature out, while every other feature must be named.
#[test]
fn excluded_columns_are_not_features_and_optional_ones_may_be_left_out_of_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok_json(wb(d).args(["init", "--name", "cli-columns", "--json"]));
    let mut text = String::from("encounter_id,size,note,colour,label\n");
    for i in 0..300 {
        let size = (i * 37) % 100;
        let colour = ["red", "blue", "green"][i % 3];
        let label = if size > 50 { "big" } else { "small" };
        text.push_str(&format!("{},{size},free text {i},{colour},{label}\n", 100_000 + i));
    }
    csv(d, "toy.csv", &text);
    let register = |extra: &[&str]| {
        let mut args = vec!["dataset", "register", "toy", "--source", "toy.csv", "--target", "label"];
        args.extend_from_slice(extra);
        args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()
    };
    for (extra, words) in [
        (vec!["--exclude", "label"], "\"label\" is the target, so it cannot also be excluded"),
        (vec!["--optional", "nope"], "no column \"nope\" for the optional columns"),
        (vec!["--exclude", "note", "--optional", "note"], "\"note\" is excluded, so it cannot also be optional"),
        (vec!["--exclude", "encounter_id,size,note,colour"], "at least one feature column"),
    ] {
        let err = fails(wb(d).args(register(&extra)));
        assert!(err.contains(words), "{extra:?}: {err}");
    }
    let record = ok_json(wb(d).args(register(&["--exclude", "encounter_id,note", "--optional", "colour", "--json"])));
    assert_eq!(record["exclude"], serde_json::json!(["encounter_id", "note"]));
    assert_eq!(record["optional"], serde_json::json!(["colour"]));
    // The same registration again is unchanged; other exclusions are a conflict.
    assert_eq!(
        ok_json(wb(d).args(register(&["--exclude", "encounter_id,note", "--optional", "colour", "--json"])))["created"],
        false
    );
    assert!(fails(wb(d).args(register(&["--exclude", "note"]))).contains("excluded columns"));

    ok_json(wb(d).args(["dataset", "partition", "toy", "--json"]));
    let job = ok_json(wb(d).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "logistic-regression",
        "--job",
        "j",
        "--json",
    ]));
    assert_eq!(job["status"], "Completed");
    let _clean = CleanOnDrop(d);
    ok_json(wb(d).args(["deploy", "--job", "j", "--endpoint", "cols", "--json"]));
    // Two features: size and colour.
    let answer = invoke(d, "cols", "90,red\n");
    assert_eq!(answer.trim().split(',').count(), 2, "{answer}");
    assert!(
        fails(wb(d).args(["endpoints", "invoke", "cols", "--content-type", "text/csv", "--body", "100001,90,x,red"]))
            .contains("expected 2 columns")
    );
    let json = |body: &str| {
        wb(d)
            .args(["endpoints", "invoke", "cols", "--content-type", "application/json", "--body", body])
            .output()
            .expect("run")
    };
    let left_out = json(r#"{"instances": [{"size": 90}]}"#);
    assert!(left_out.status.success(), "colour is optional: {}", String::from_utf8_lossy(&left_out.stderr));
    let refused = json(r#"{"instances": [{"colour": "red"}]}"#);
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains(r#"row 1: missing column(s) "size""#), "{message}");
}

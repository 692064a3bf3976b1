//! `wb workflow export`: the state machines pass both Amazon States Language validators
//! (`statelint` from PyPI and `asl-validator` from npm, provisioned by the test harness).

use std::path::Path;

use serde_json::Value;

use crate::local::{fails, ok_json, wb};
use crate::models::CleanOnDrop;

/// Runs both validators on `file`, failing with their output.
fn validate(file: &Path) {
    let definition = std::fs::read_to_string(file).expect("definition");
    let statelint = std::process::Command::new(wb_aws::testkit::statelint()).arg(file).output().expect("statelint");
    assert!(
        statelint.status.success(),
        "statelint refused {}:\n{}{}\n{definition}",
        file.display(),
        String::from_utf8_lossy(&statelint.stdout),
        String::from_utf8_lossy(&statelint.stderr)
    );
    let validator = std::process::Command::new(wb_aws::testkit::asl_validator())
        .arg("--json-path")
        .arg(file)
        .output()
        .expect("asl-validator");
    assert!(
        validator.status.success(),
        "asl-validator refused {}:\n{}{}\n{definition}",
        file.display(),
        String::from_utf8_lossy(&validator.stdout),
        String::from_utf8_lossy(&validator.stderr)
    );
}

#[test]
fn exported_state_machines_pass_both_validators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let single =
        ok_json(wb(d).args(["workflow", "export", "--endpoint", "digits-cnn", "--to", "sfn/single.json", "--json"]));
    assert_eq!(single["start_at"], "Image Serializer", "{single}");
    assert_eq!(single["timeout_seconds"], 60);
    let machine: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sfn/single.json")).expect("written")).expect("json");
    assert_eq!(machine["States"]["Image Predictor"]["Parameters"]["FunctionName"], "wb-digits-cnn-classify");
    assert_eq!(machine["States"]["Low Confidence"]["Error"], "THRESHOLD_CONFIDENCE_NOT_MET");
    validate(&d.join("sfn/single.json"));

    ok_json(wb(d).args([
        "workflow",
        "export",
        "--endpoint",
        "digits-cnn",
        "--threshold",
        "0.8",
        "--notify-topic",
        "arn:aws:sns:us-east-1:123456789012:low-confidence",
        "--to",
        "sfn/notify.json",
        "--json",
    ]));
    validate(&d.join("sfn/notify.json"));

    let batch = ok_json(wb(d).args([
        "workflow",
        "export",
        "--endpoint",
        "digits-cnn",
        "--map",
        "--to",
        "sfn/batch.json",
        "--json",
    ]));
    assert_eq!((batch["start_at"].as_str(), batch["timeout_seconds"].as_u64()), (Some("Classify Images"), Some(300)));
    validate(&d.join("sfn/batch.json"));
}

#[test]
fn bad_export_options_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let err = fails(wb(d).args(["workflow", "export", "--endpoint", "e", "--threshold", "1.5", "--to", "m.json"]));
    assert!(err.contains("threshold") && err.contains("(0, 1]"), "{err}");
    let long = "e".repeat(60);
    let err = fails(wb(d).args(["workflow", "export", "--endpoint", &long, "--to", "m.json"]));
    assert!(err.contains("Lambda function names"), "{err}");
    let err = fails(wb(d).args(["workflow", "export", "--endpoint", "e", "--task-timeout", "90", "--to", "m.json"]));
    assert!(err.contains("below the machine's 60"), "{err}");
    assert!(!d.join("m.json").exists());
}

/// Twenty 8×8 PNGs, bright and dark, in class folders under `dir/pics`.
pub(crate) fn write_pics(dir: &Path) {
    for (class, shade) in [("dark", 30u8), ("bright", 220)] {
        std::fs::create_dir_all(dir.join("pics").join(class)).expect("mkdir");
        for i in 0..10u8 {
            let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([shade, shade.wrapping_add(i), (x + y) as u8]));
            img.save(dir.join("pics").join(class).join(format!("{i}.png"))).expect("png");
        }
    }
}

#[test]
fn the_workflow_runs_locally_records_histories_and_fails_loudly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let _clean = CleanOnDrop(d);
    ok_json(wb(d).args(["init", "--name", "cli-workflow", "--json"]));
    write_pics(d);
    ok_json(wb(d).args(["dataset", "register", "pics", "--images", "pics", "--json"]));
    ok_json(wb(d).args(["dataset", "partition", "pics", "--json"]));
    ok_json(wb(d).args(["train", "--dataset", "pics", "--algorithm", "image-logistic", "--job", "pics-lr", "--json"]));
    ok_json(wb(d).args(["deploy", "--job", "pics-lr", "--endpoint", "pics", "--json"]));

    // One execution per image: a local file is copied into the store and classified.
    let runs = ok_json(wb(d).args([
        "workflow",
        "run",
        "--endpoint",
        "pics",
        "--image",
        "pics/bright/1.png",
        "--image",
        "pics/dark/2.png",
        "--threshold",
        "0.5",
        "--json",
    ]));
    let runs = runs.as_array().expect("executions");
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_eq!(run["status"], "SUCCEEDED", "{run}");
        assert_eq!(run["output"]["inferences"].as_array().map(Vec::len), Some(2), "{run}");
        assert!(run["output"].get("image_data").is_none(), "the summary leaves the image bytes out");
        assert!(run["history"].as_str().is_some_and(|h| h.contains("/workflows/image-workflow/executions/")), "{run}");
    }

    // The history, in Step Functions' event types.
    let id = runs[0]["id"].as_str().expect("id");
    let history = ok_json(wb(d).args(["workflow", "history", id, "--json"]));
    let kinds: Vec<&str> =
        history["events"].as_array().expect("events").iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(kinds.iter().filter(|k| **k == "TaskStateEntered").count(), 3, "{kinds:?}");
    let text = wb(d).args(["workflow", "history", id]).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&text).contains("TaskSucceeded"), "{}", String::from_utf8_lossy(&text));

    // The batch variant: one execution, one result per image.
    let batch = ok_json(wb(d).args([
        "workflow",
        "run",
        "--endpoint",
        "pics",
        "--map",
        "--image",
        "pics/bright/3.png",
        "--image",
        "pics/dark/4.png",
        "--threshold",
        "0.5",
        "--json",
    ]));
    assert_eq!(batch[0]["status"], "SUCCEEDED", "{batch}");
    assert_eq!(batch[0]["output"]["results"].as_array().map(Vec::len), Some(2), "{batch}");

    // Failures exit 1 naming the error: a file that is not an image, a threshold that is not a
    // probability, a definition with a dangling Next (refused before
    // anything runs), an image outside the project's store, an unknown endpoint.
    std::fs::write(d.join("notes.png"), "not pixels").expect("write");
    let run_fails = |args: &[&str]| fails(wb(d).args(["workflow", "run"]).args(args));
    let err = run_fails(&["--endpoint", "pics", "--image", "notes.png"]);
    assert!(err.contains("NOT_AN_IMAGE") && err.contains("notes.png"), "{err}");
    let err = run_fails(&["--endpoint", "pics", "--image", "pics/dark/5.png", "--threshold", "1.5"]);
    assert!(err.contains("threshold") && err.contains("(0, 1]"), "{err}");
    std::fs::write(
        d.join("bad.json"),
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Gone"}}}"#,
    )
    .expect("write");
    let err = run_fails(&["--endpoint", "pics", "--image", "pics/dark/5.png", "--definition", "bad.json"]);
    assert!(err.contains("bad.json") && err.contains("\"Gone\", which is not a state"), "{err}");
    let err = run_fails(&["--endpoint", "pics", "--image", "s3://elsewhere/a.png"]);
    assert!(err.contains("not in the project's store"), "{err}");
    let err = run_fails(&["--endpoint", "gone", "--image", "pics/dark/5.png"]);
    assert!(err.contains("\"gone\" does not exist"), "{err}");
    let err = fails(wb(d).args(["workflow", "history", "no-such-execution"]));
    assert!(err.contains("no-such-execution"), "{err}");
}

/// Runs every fixture (`{"name", "definition", "input"}`) on moto's Step Functions engine
/// (parser mode) with boto3 and prints, per fixture, the status, output, error, the states
/// entered and the history's event types, as JSON.
pub(crate) const SFN_DRIVER: &str = r#"
import json, sys, time, boto3
url, path = sys.argv[1], sys.argv[2]
sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
out = {}
for f in json.load(open(path)):
    arn = sfn.create_state_machine(name=f["name"], definition=json.dumps(f["definition"]),
                                   roleArn="arn:aws:iam::123456789012:role/wb-sfn")["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name=f["name"] + "-run", input=json.dumps(f["input"]))
    deadline = time.time() + 30
    while True:
        d = sfn.describe_execution(executionArn=run["executionArn"])
        if d["status"] != "RUNNING" or time.time() > deadline:
            break
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
    ended = [e.get("executionFailedEventDetails") or e.get("executionTimedOutEventDetails") or {}
             for e in events if e["type"] in ("ExecutionFailed", "ExecutionTimedOut")]
    try:
        output = json.loads(d["output"]) if d.get("output") else None
    except ValueError:
        output = {"unparsable output": d["output"]}
    out[f["name"]] = {
        "status": d["status"],
        "output": output,
        "error": d.get("error") or (ended[0].get("error") if ended else None),
        "entered": [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e],
        "events": [e["type"] for e in events],
    }
json.dump(out, sys.stdout)
"#;

/// The fixtures use no Task resources.
struct NoTasks;

#[async_trait::async_trait]
impl wb_workflow::executor::TaskResources for NoTasks {
    async fn run(&self, resource: &str, _: Value) -> Result<Value, wb_workflow::executor::Failure> {
        Err(wb_workflow::executor::Failure::new("States.Runtime", format!("no resource {resource} in the fixtures")))
    }
}

#[test]
fn the_local_executor_and_motos_step_functions_engine_agree() {
    let fixtures_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wb-workflow/tests/fixtures/asl/fixtures.json");
    let fixtures: Value =
        serde_json::from_str(&std::fs::read_to_string(&fixtures_file).expect("fixtures")).expect("json");

    // moto in parser mode: a dedicated server, as the setting is process-wide.
    let moto = wb_aws::testkit::Moto::spawn_dedicated();
    let (status, body) = moto.post_moto_api(
        "/moto-api/config",
        "application/json",
        r#"{"stepfunctions": {"execute_state_machine": true}}"#,
    );
    assert!((200..300).contains(&status), "moto's Step Functions engine switched on: {status} {body}");
    let out = std::process::Command::new(wb_aws::testkit::python())
        .args(["-c", SFN_DRIVER, moto.url()])
        .arg(&fixtures_file)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let on_moto: Value = serde_json::from_slice(&out.stdout).expect("driver json");

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut compared = 0;
    for fixture in fixtures.as_array().expect("fixtures") {
        let name = fixture["name"].as_str().expect("name");
        let machine =
            wb_workflow::machine::StateMachine::parse(&fixture["definition"]).expect("the executor accepts it");
        let local = runtime.block_on(wb_workflow::executor::Executor::new(&NoTasks).execute(
            &machine,
            name,
            fixture["input"].clone(),
        ));
        let remote = &on_moto[name];
        assert_eq!(
            local.status.to_string(),
            remote["status"].as_str().expect("status"),
            "{name}: status; moto {remote}"
        );
        assert_eq!(local.output.clone().unwrap_or(Value::Null), remote["output"], "{name}: output");
        // A recorded divergence of moto's engine from Step Functions: moto must still answer what
        // was recorded (so a fixed moto shows up here), and the local executor follows AWS.
        match fixture.get("moto_differs") {
            Some(differs) => {
                assert_eq!(remote["error"], differs["error"], "{name}: {differs}");
                assert_eq!(local.error.as_deref(), differs["aws"].as_str(), "{name}: the local executor follows AWS");
            }
            None => assert_eq!(local.error.as_deref(), remote["error"].as_str(), "{name}: error; moto {remote}"),
        }
        let mut entered: Vec<&str> = local.states_entered();
        let mut theirs: Vec<&str> =
            remote["entered"].as_array().expect("entered").iter().filter_map(Value::as_str).collect();
        assert_eq!(entered.first(), theirs.first(), "{name}: first state");
        entered.sort_unstable();
        theirs.sort_unstable();
        assert_eq!(entered, theirs, "{name}: the states entered");
        compared += 1;
    }
    assert_eq!(compared, 13, "every fixture ran on both engines");
}

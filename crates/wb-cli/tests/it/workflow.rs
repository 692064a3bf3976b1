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
fn write_pics(dir: &Path) {
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
    let err = fails(wb(d).args(["workflow", "run", "--endpoint", "pics", "--image", "notes.png"]));
    assert!(err.contains("NOT_AN_IMAGE") && err.contains("notes.png"), "{err}");
    let err = fails(wb(d).args([
        "workflow",
        "run",
        "--endpoint",
        "pics",
        "--image",
        "pics/dark/5.png",
        "--threshold",
        "1.5",
    ]));
    assert!(err.contains("threshold") && err.contains("(0, 1]"), "{err}");
    std::fs::write(
        d.join("bad.json"),
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Gone"}}}"#,
    )
    .expect("write");
    let err = fails(wb(d).args([
        "workflow",
        "run",
        "--endpoint",
        "pics",
        "--image",
        "pics/dark/5.png",
        "--definition",
        "bad.json",
    ]));
    assert!(err.contains("bad.json") && err.contains("\"Gone\", which is not a state"), "{err}");
    let err = fails(wb(d).args(["workflow", "run", "--endpoint", "pics", "--image", "s3://elsewhere/a.png"]));
    assert!(err.contains("not in the project's store"), "{err}");
    let err = fails(wb(d).args(["workflow", "run", "--endpoint", "gone", "--image", "pics/dark/5.png"]));
    assert!(err.contains("\"gone\" does not exist"), "{err}");
    let err = fails(wb(d).args(["workflow", "history", "no-such-execution"]));
    assert!(err.contains("no-such-execution"), "{err}");
}

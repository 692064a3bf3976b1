//! `wb workflow export`: the state machines pass both Amazon States Language validators
//! (`statelint` from PyPI and `asl-validator` from npm, provisioned by the test harness).

use std::path::Path;

use serde_json::Value;

use crate::local::{fails, ok_json, wb};

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

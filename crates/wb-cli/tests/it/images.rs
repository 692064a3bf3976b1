//! Images end to end on the local backend: the shipped digits packed as a CIFAR archive, the
//! CIFAR ETL, an image dataset partitioned once, the local CNN and the pixel-logistic baseline
//! trained in the container layout, and an endpoint that boto3 invokes with `image/png`,
//! capturing the images base64-encoded as SageMaker does.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::local::{fails, ok_json, wb};
use crate::models::CleanOnDrop;

/// Invokes `endpoint` at `url` with each file of argv as `image/png` (and the first one also
/// with `Accept: text/csv`), printing one JSON document: answers, or the error code, status
/// and original message.
const BOTO3_IMAGES: &str = r#"
import json, sys
import boto3
url, endpoint, files = sys.argv[1], sys.argv[2], sys.argv[3:]
client = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
out = []
for path in files:
    body = open(path, "rb").read()
    try:
        r = client.invoke_endpoint(EndpointName=endpoint, ContentType="image/png", Body=body)
        out.append({"content_type": r["ContentType"], "body": json.loads(r["Body"].read())})
    except client.exceptions.ModelError as e:
        out.append({"code": e.response["Error"]["Code"], "status": e.response.get("OriginalStatusCode"),
                    "original": e.response.get("OriginalMessage")})
    except client.exceptions.ClientError as e:
        out.append({"code": e.response["Error"]["Code"], "http": e.response["ResponseMetadata"]["HTTPStatusCode"]})
r = client.invoke_endpoint(EndpointName=endpoint, ContentType="application/x-image", Accept="text/csv",
                           Body=open(files[0], "rb").read())
out.append({"content_type": r["ContentType"], "text": r["Body"].read().decode()})
json.dump(out, sys.stdout)
"#;

fn boto3(url: &str, endpoint: &str, files: &[&Path]) -> Vec<Value> {
    let python = wb_aws::testkit::python();
    let mut args = vec![String::from("-"), url.to_owned(), endpoint.to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let mut child = std::process::Command::new(&python)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    child.stdin.take().expect("stdin").write_all(BOTO3_IMAGES.as_bytes()).expect("script");
    let out = child.wait_with_output().expect("boto3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).expect("json").as_array().expect("array").clone()
}

#[test]
fn digits_from_archive_to_a_png_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    ok_json(wb(d).args(["init", "--name", "cli-images", "--json"]));
    ok_json(wb(d).args(["etl", "digits", "--to", "digits.tar.gz", "--json"]));
    ok_json(wb(d).args(["etl", "cifar", "digits.tar.gz", "--to", "digits", "--classes", "0,1", "--json"]));

    // Register from the .lst files (class names from classes.json), partition once.
    let reg = ok_json(wb(d).args([
        "dataset",
        "register",
        "digits",
        "--images",
        "digits",
        "--lst",
        "digits/train.lst",
        "--lst",
        "digits/test.lst",
        "--json",
    ]));
    assert_eq!(reg["images"], 360, "178 zeros and 182 ones: {reg}");
    assert_eq!(reg["shape"], serde_json::json!({"channels": 3, "height": 32, "width": 32}));
    let part = ok_json(wb(d).args(["dataset", "partition", "digits", "--seed", "3", "--json"]));
    let splits = &part["partition"]["splits"];
    assert_eq!(splits["train"]["class_counts"], serde_json::json!({"0": 107, "1": 109}), "{part}");
    let again = ok_json(wb(d).args(["dataset", "partition", "digits", "--seed", "3", "--json"]));
    assert_eq!(again["created"], false);
    let err = fails(wb(d).args(["dataset", "partition", "digits", "--seed", "4"]));
    assert!(err.contains("seed 3 vs 4"), "{err}");
    let shown = ok_json(wb(d).args(["dataset", "show", "digits", "--json"]));
    assert_eq!(shown["classes"], serde_json::json!(["0", "1"]));

    // A tabular algorithm on images, and a pretrained model, are refused before anything runs.
    let err = fails(wb(d).args(["train", "--dataset", "digits", "--algorithm", "random-forest"]));
    assert!(err.contains("image dataset"), "{err}");
    let err = fails(wb(d).args([
        "train",
        "--dataset",
        "digits",
        "--algorithm",
        "image-classification",
        "--hp",
        "use_pretrained_model=1",
    ]));
    assert!(err.contains("pretrained"), "{err}");

    // The CNN and the pixel baseline, in the training-container layout.
    for (job, algorithm, epochs) in
        [("digits-cnn", "image-classification", "4"), ("digits-pixels", "image-logistic", "10")]
    {
        let trained = ok_json(wb(d).args([
            "train",
            "--dataset",
            "digits",
            "--algorithm",
            algorithm,
            "--hp",
            &format!("epochs={epochs}"),
            "--hp",
            "learning_rate=0.01",
            "--job",
            job,
            "--json",
        ]));
        assert_eq!(trained["status"], "Completed", "{trained}");
        let accuracy = trained["metrics"]["accuracy"].as_f64().expect("accuracy");
        assert!(accuracy >= 0.95, "{algorithm}: validation accuracy {accuracy}");
        let channels = trained["channels"].as_object().expect("channels");
        assert_eq!(
            channels.keys().map(String::as_str).collect::<Vec<_>>(),
            ["train", "train_lst", "validation", "validation_lst"]
        );
    }

    // Serve the CNN with capture; boto3 sends PNGs as the course's Lambda does.
    let _clean = CleanOnDrop(d);
    let deployed = ok_json(wb(d).args([
        "deploy",
        "--job",
        "digits-cnn",
        "--endpoint",
        "digits-cnn",
        "--capture",
        "100",
        "--json",
    ]));
    let url = deployed["url"].as_str().expect("url").split("/endpoints/").next().expect("base").to_owned();
    let zero = d.join("digits/test/digit_0_1065.png");
    assert!(zero.is_file());
    let grey = d.join("grey.png");
    image::open(&zero).expect("png").to_luma8().save(&grey).expect("grey png");
    let big = d.join("big.png");
    image::imageops::resize(&image::open(&zero).expect("png").to_rgb8(), 96, 64, image::imageops::FilterType::Nearest)
        .save(&big)
        .expect("big png");
    let not_image = d.join("not.png");
    std::fs::write(&not_image, b"these are not the pixels you are looking for").expect("write");
    let truncated = d.join("truncated.png");
    let bytes = std::fs::read(&zero).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let huge = d.join("huge.png");
    std::fs::write(&huge, vec![0u8; 6_291_457]).expect("write");
    let answers = boto3(&url, "digits-cnn", &[&zero, &grey, &big, &not_image, &truncated, &huge]);

    for (i, what) in [(0, "colour"), (1, "grey"), (2, "another size")] {
        let a = &answers[i];
        assert_eq!(a["content_type"], "application/json", "{what}: {a}");
        let p: Vec<f64> =
            a["body"].as_array().expect("a JSON array").iter().map(|v| v.as_f64().expect("number")).collect();
        assert_eq!(p.len(), 2, "{what}: {a}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{what}: {p:?}");
        assert!(p[0] > p[1], "{what}: a zero is a zero: {p:?}");
    }
    for (i, needle) in [(3, "not a PNG or JPEG"), (4, "")] {
        let a = &answers[i];
        assert_eq!((a["code"].as_str(), a["status"].as_u64()), (Some("ModelError"), Some(400)), "{a}");
        assert!(a["original"].as_str().expect("message").contains(needle), "{a}");
    }
    assert_eq!(answers[5]["code"], "ValidationError", "over 6 MB: {}", answers[5]);
    assert_eq!(answers[6]["content_type"], "text/csv");
    assert_eq!(answers[6]["text"].as_str().expect("csv").trim().split(',').count(), 2);

    // On the held-out test images, the CNN tells the two digits apart.
    ok_json(wb(d).args(["register", "digits-cnn", "--endpoint", "digits-cnn", "--description", "CNN", "--json"]));
    let compared = ok_json(wb(d).args(["compare", "--resamples", "200", "--json"]));
    let model = &compared["report"]["models"][0];
    assert_eq!(compared["report"]["test_rows"], splits["test"]["images"], "every test image, once");
    let accuracy = model["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == "accuracy")
        .and_then(|m| m["value"].as_f64())
        .expect("accuracy");
    assert!(accuracy >= 0.95, "test accuracy {accuracy}: {model}");

    // Capture keeps the images base64-encoded, as SageMaker does (the server flushes its
    // capture files every few seconds).
    let started = std::time::Instant::now();
    let mut lines = Vec::new();
    while lines.len() < 4 && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(500));
        lines = walk(&d.join(".workbench/capture/digits-cnn"))
            .into_iter()
            .flat_map(|f| std::fs::read_to_string(f).unwrap_or_default().lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
    }
    let records: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).expect("jsonl")).collect();
    let png = records
        .iter()
        .find(|r| r["captureData"]["endpointInput"]["observedContentType"] == "image/png")
        .expect("a captured PNG request");
    assert_eq!(png["captureData"]["endpointInput"]["encoding"], "BASE64");
    assert_eq!(png["captureData"]["endpointOutput"]["observedContentType"], "application/json");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn wb_demo_images_runs_the_image_workflow_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("d");
    let _clean = CleanOnDrop(&d);
    let demo = ok_json(wb(dir.path()).args(["demo", "images", "--dir", "d", "--json"]));
    assert_eq!(demo["classes"], serde_json::json!(["3", "5", "8", "9"]), "{demo}");
    let total = ["train_images", "validation_images", "test_images"]
        .iter()
        .map(|k| demo[k].as_u64().expect("count"))
        .sum::<u64>();
    assert_eq!(total, 183 + 182 + 174 + 180, "every image of digits 3, 5, 8 and 9");
    assert!(d.join("data/digits-cifar-10-python.tar.gz").is_file());

    // Both models trained, the CNN at least as accurate as 0.95 on validation.
    let models = demo["models"].as_array().expect("models");
    assert_eq!(models.len(), 2);
    let cnn = models.iter().find(|m| m["algorithm"] == "image-classification").expect("the CNN");
    assert!(cnn["validation_metrics"]["accuracy"].as_f64().expect("accuracy") >= 0.95, "{cnn}");

    // The PNG invocation answered one probability per class.
    let answer: Vec<f64> =
        serde_json::from_str(demo["sample"]["response"].as_str().expect("response")).expect("JSON array");
    assert_eq!(answer.len(), 4);
    assert!((answer.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{answer:?}");

    // The comparison ranked both on the test images, with a paired test, and its HTML report
    // shows the worst-classified images.
    let leaderboard = demo["comparison"]["leaderboard"].as_array().expect("leaderboard");
    assert_eq!(leaderboard.len(), 2);
    assert!(leaderboard[1]["p_vs_best"].as_f64().is_some(), "{leaderboard:?}");
    assert_eq!(demo["promoted"]["model"], leaderboard[0]["model"]);
    let html =
        std::fs::read_to_string(demo["comparison"]["location"]["index_html"].as_str().expect("html")).expect("report");
    assert!(html.contains("data:image/png;base64,"), "the gallery embeds the worst images");

    // A second run reuses the dataset and its partition.
    let again = ok_json(wb(dir.path()).args(["demo", "images", "--dir", "d", "--json"]));
    assert_eq!((again["registered"].as_bool(), again["partitioned"].as_bool()), (Some(false), Some(false)));
}

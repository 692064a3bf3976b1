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
    let zero_by_zero = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wb-datasets/tests/fixtures/zero-by-zero.png");
    let answers = boto3(&url, "digits-cnn", &[&zero, &grey, &big, &not_image, &truncated, &huge, &zero_by_zero]);

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
    let empty = &answers[6];
    assert_eq!((empty["code"].as_str(), empty["status"].as_u64()), (Some("ModelError"), Some(400)), "{empty}");
    assert!(empty["original"].as_str().expect("message").contains("0×0"), "{empty}");
    assert_eq!(answers[7]["content_type"], "text/csv");
    assert_eq!(answers[7]["text"].as_str().expect("csv").trim().split(',').count(), 2);

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

/// Loads every member of a CIFAR-10 python archive as its users do (`pickle.load(f,
/// encoding="bytes")` with numpy installed) and prints what each holds, as JSON.
const PYTHON_CIFAR_READER: &str = r#"
import json, pickle, sys, tarfile
out = {}
with tarfile.open(sys.argv[1], "r:gz") as archive:
    for member in archive.getmembers():
        if not member.isfile():
            continue
        d = pickle.load(archive.extractfile(member), encoding="bytes")
        name = member.name.split("/")[-1]
        if name == "batches.meta":
            out[name] = {"label_names": [n.decode() for n in d[b"label_names"]],
                         "num_cases_per_batch": d[b"num_cases_per_batch"]}
        else:
            data = d[b"data"]
            out[name] = {"type": type(data).__module__ + "." + type(data).__name__,
                         "dtype": str(data.dtype), "shape": list(data.shape),
                         "labels": d[b"labels"], "filenames": [f.decode() for f in d[b"filenames"]],
                         "batch_label": d[b"batch_label"].decode(),
                         "first_rgb": data[0].reshape(3, 32, 32).transpose(1, 2, 0).reshape(-1).tolist()}
json.dump(out, sys.stdout)
"#;

#[test]
fn the_cifar_archive_the_workbench_writes_loads_in_python_with_numpy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let archive = d.join("digits.tar.gz");
    wb(d).args(["etl", "digits", "--to"]).arg(&archive).args(["--classes", "0,1"]).assert().success();
    wb(d).args(["etl", "cifar"]).arg(&archive).args(["--to", "digits"]).assert().success();

    let out = std::process::Command::new(wb_aws::testkit::python())
        .args(["-c", PYTHON_CIFAR_READER])
        .arg(&archive)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let members: Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = members.as_object().expect("members").keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
    );
    let meta = &members["batches.meta"];
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    assert_eq!(meta["label_names"], serde_json::json!(digits), "{meta}");

    // Every batch is a numpy uint8 array of N × 3072 with N labels and file names, and its
    // first row holds the pixels of the PNG the ETL wrote for that file name.
    let mut total = 0;
    for (name, batch) in members.as_object().expect("members").iter().filter(|(n, _)| *n != "batches.meta") {
        assert_eq!(batch["type"], "numpy.ndarray", "{name}");
        assert_eq!(batch["dtype"], "uint8", "{name}");
        let rows = batch["shape"][0].as_u64().expect("rows");
        assert_eq!(batch["shape"][1], 3072, "{name}");
        assert_eq!(batch["labels"].as_array().map(Vec::len), Some(rows as usize), "{name}");
        assert!(batch["labels"].as_array().expect("labels").iter().all(|l| l == 0 || l == 1), "{name}");
        total += rows;
        let split = if name == "test_batch" { "test" } else { "train" };
        let first = batch["filenames"][0].as_str().expect("file name");
        let png = image::open(d.join("digits").join(split).join(first)).expect("the ETL's PNG").to_rgb8();
        let pixels: Vec<u64> = png.into_raw().into_iter().map(u64::from).collect();
        let from_python: Vec<u64> =
            batch["first_rgb"].as_array().expect("pixels").iter().map(|v| v.as_u64().expect("byte")).collect();
        assert_eq!(from_python, pixels, "{name}: {first}");
    }
    assert_eq!(total, 178 + 182, "every image of digits 0 and 1");
}

#[test]
fn wb_demo_images_runs_the_image_workflow_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("d");
    let _clean = CleanOnDrop(&d);
    let demo = ok_json(wb(dir.path()).args(["demo", "images", "--dir", "d", "--json"]));
    let classes: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    assert_eq!(demo["classes"], serde_json::json!(classes), "{demo}");
    let total = ["train_images", "validation_images", "test_images"]
        .iter()
        .map(|k| demo[k].as_u64().expect("count"))
        .sum::<u64>();
    assert_eq!(total, 1797, "every image of the ten digits");
    assert!(d.join("data/digits-cifar-10-python.tar.gz").is_file());

    // Both models trained, the CNN at least as accurate as 0.95 on validation.
    let models = demo["models"].as_array().expect("models");
    assert_eq!(models.len(), 2);
    let cnn = models.iter().find(|m| m["algorithm"] == "image-classification").expect("the CNN");
    assert!(cnn["validation_metrics"]["accuracy"].as_f64().expect("accuracy") >= 0.95, "{cnn}");

    // The PNG invocation answered one probability per class.
    let answer: Vec<f64> =
        serde_json::from_str(demo["sample"]["response"].as_str().expect("response")).expect("JSON array");
    assert_eq!(answer.len(), 10);
    assert!((answer.iter().sum::<f64>() - 1.0).abs() < 1e-6, "{answer:?}");

    // The comparison ranked both on the test images: the CNN first, the pixel baseline
    // significantly worse under the paired test (Holm-adjusted), and the CNN promoted.
    let leaderboard = demo["comparison"]["leaderboard"].as_array().expect("leaderboard");
    assert_eq!(leaderboard.len(), 2);
    assert_eq!(leaderboard[0]["model"], cnn["name"], "{leaderboard:?}");
    let p = leaderboard[1]["p_vs_best"].as_f64().expect("p vs best");
    assert!(p < 0.05 && leaderboard[1]["significantly_worse"] == true, "{leaderboard:?}");
    assert_eq!(demo["promoted"]["model"], cnn["name"]);
    let html =
        std::fs::read_to_string(demo["comparison"]["location"]["index_html"].as_str().expect("html")).expect("report");
    assert!(html.contains("data:image/png;base64,"), "the gallery embeds the worst images");

    // The workflow: its state machine exported, then run on forty test images, one recorded
    // execution each; any failure is the named low-confidence error.
    let workflow = &demo["workflow"];
    assert_eq!(workflow["executions"], 40, "{workflow}");
    let failed = workflow["failed"].as_object().expect("failed");
    let failures: u64 = failed.values().filter_map(Value::as_u64).sum();
    assert_eq!(workflow["succeeded"].as_u64().expect("succeeded") + failures, 40, "{workflow}");
    assert!(workflow["succeeded"].as_u64().expect("succeeded") >= 30, "most test digits are confident: {workflow}");
    assert!(failed.keys().all(|k| k == "THRESHOLD_CONFIDENCE_NOT_MET"), "{workflow}");
    let definition: Value = serde_json::from_str(
        &std::fs::read_to_string(workflow["definition"].as_str().expect("file")).expect("written"),
    )
    .expect("json");
    assert_eq!(definition["StartAt"], "Image Serializer");
    let executions = walk(&d.join(".workbench/workflows/image-workflow/executions"));
    assert_eq!(executions.len(), 40, "every execution is recorded");

    // The endpoint's capture of those executions, drawn: one point per classification, and the
    // points below the threshold are exactly the executions the filter failed.
    let chart = &workflow["chart"];
    assert_eq!(chart["inferences"], 40, "{chart}");
    assert_eq!(chart["below_threshold"].as_u64(), Some(failures), "{chart}");
    assert_eq!(chart["threshold"], workflow["threshold"]);
    let svg = std::fs::read_to_string(chart["path"].as_str().expect("path")).expect("the chart");
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "an SVG document");
    assert_eq!(svg.matches(r#"<circle class="low""#).count() as u64, failures, "red points");
    assert_eq!(svg.matches(r#"<circle class="confident""#).count(), 40 - failures as usize, "blue points");
    assert!(svg.contains("threshold 0.93"), "the filter's threshold is the chart's");

    // A second run reuses the dataset and its partition.
    let again = ok_json(wb(dir.path()).args(["demo", "images", "--dir", "d", "--json"]));
    assert_eq!((again["registered"].as_bool(), again["partitioned"].as_bool()), (Some(false), Some(false)));
}

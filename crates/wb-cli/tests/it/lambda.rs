//! The packaged Lambda functions (`wb workflow package`): the `bootstrap` in each zip runs under
//! a real Lambda Runtime API (cargo-lambda's emulator, provisioned by the test harness), and the
//! exported state machine runs on moto's Step Functions engine with moto's Lambda invocations
//! forwarded to those functions.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::local::{fails, ok_json, wb};
use crate::models::CleanOnDrop;

/// A child process killed when dropped.
pub(crate) struct Running(Child, &'static str);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Fails when the process has already exited.
    pub(crate) fn assert_alive(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.0.try_wait() {
            panic!("{} exited ({status}):\n{}", self.1, std::fs::read_to_string(log).unwrap_or_default());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// cargo-lambda's Runtime API emulator for `functions`, on a free loopback port. It learns the
/// function names from a Cargo manifest's binaries, so it runs in a directory holding one that
/// names them (nothing is compiled with `--only-lambda-apis`).
pub(crate) fn emulator(dir: &Path, functions: &[&str]) -> (Running, String) {
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").expect("main.rs");
    let bins: String = functions.iter().map(|f| format!("[[bin]]\nname = \"{f}\"\npath = \"src/main.rs\"\n")).collect();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"lambda-functions\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n{bins}"
        ),
    )
    .expect("manifest");
    let port = free_port();
    let log = dir.join("emulator.log");
    let mut child = Running(
        Command::new(wb_aws::testkit::cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(std::fs::File::create(dir.join("emulator.err")).expect("log"))
            .spawn()
            .expect("cargo-lambda"),
        "the Runtime API emulator",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        child.assert_alive(&dir.join("emulator.err"));
        assert!(Instant::now() < deadline, "the emulator did not listen on {port} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

/// The `bootstrap` of a packaged zip, extracted with its mode.
fn unzip_bootstrap(zip_file: &Path, to: &Path) -> PathBuf {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_file).expect("zip")).expect("a zip");
    assert_eq!(archive.len(), 1, "one file in {}", zip_file.display());
    let mut entry = archive.by_name("bootstrap").expect("bootstrap");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755), "bootstrap is executable");
    let path = to.join("bootstrap");
    let mut out = std::fs::File::create(&path).expect("create");
    std::io::copy(&mut entry, &mut out).expect("extract");
    drop(out);
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// One function instance polling the emulator: the bootstrap with its environment.
pub(crate) fn function(bootstrap: &Path, emulator: &str, name: &str, env: &[(&str, &str)], logs: &Path) -> Running {
    Running(
        Command::new(bootstrap)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", format!("{emulator}/.rt/{name}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(logs.join(format!("{name}.log"))).expect("log"))
            .spawn()
            .expect("bootstrap"),
        "a function",
    )
}

/// Invokes a function through the emulator's Invoke API: HTTP status and JSON answer.
fn invoke(runtime: &tokio::runtime::Runtime, emulator: &str, name: &str, event: &Value) -> (u16, Value) {
    runtime.block_on(async {
        let answer = reqwest::Client::new()
            .post(format!("{emulator}/2015-03-31/functions/{name}/invocations"))
            .header("content-type", "application/json")
            .body(event.to_string())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("invoke");
        let status = answer.status().as_u16();
        let body = answer.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into())))
    })
}

#[test]
fn packaged_functions_run_under_the_runtime_api_emulator_and_on_motos_step_functions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let _clean = CleanOnDrop(d);
    let init = ok_json(wb(d).args(["init", "--name", "cli-lambda", "--json"]));
    let store_uri = init["store"].as_str().expect("store").to_owned();
    crate::workflow::write_pics(d);
    ok_json(wb(d).args(["dataset", "register", "pics", "--images", "pics", "--json"]));
    ok_json(wb(d).args(["dataset", "partition", "pics", "--json"]));
    ok_json(wb(d).args(["train", "--dataset", "pics", "--algorithm", "image-logistic", "--job", "pics-lr", "--json"]));
    let deployed = ok_json(wb(d).args(["deploy", "--job", "pics-lr", "--endpoint", "pics", "--json"]));
    let server = deployed["url"].as_str().expect("url").split("/endpoints/").next().expect("base").to_owned();

    // The package: three zips holding the Lambda binary as bootstrap, and their manifest.
    let package = ok_json(wb(d).args([
        "workflow",
        "package",
        "--endpoint",
        "pics",
        "--store",
        &store_uri,
        "--threshold",
        "0.5",
        "--to",
        "lambda",
        "--json",
    ]));
    assert_eq!(
        (package["runtime"].as_str(), package["handler"].as_str()),
        (Some("provided.al2023"), Some("bootstrap"))
    );
    assert_eq!(package["architecture"], if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" });
    let names: Vec<&str> =
        package["functions"].as_array().expect("functions").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["wb-pics-serialize", "wb-pics-classify", "wb-pics-filter"]);
    assert_eq!(package["functions"][0]["environment"]["WB_STORE"], store_uri.as_str());
    assert_eq!(package["functions"][1]["environment"]["WB_ENDPOINT"], "pics");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("lambda/functions.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["functions"], package["functions"]);
    let unpacked = d.join("unpacked");
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let bootstrap = unzip_bootstrap(&d.join("lambda/wb-pics-classify.zip"), &unpacked);
    let err = fails(wb(d).args([
        "workflow",
        "package",
        "--endpoint",
        "pics",
        "--to",
        "bad",
        "--bootstrap",
        "pics/dark/1.png",
    ]));
    assert!(err.contains("pics/dark/1.png") && err.contains("ELF"), "{err}");
    assert!(!d.join("bad/wb-pics-serialize.zip").exists(), "nothing written for a bad bootstrap");

    // The local backend hosts nothing: it runs state machines itself.
    let err = fails(wb(d).args(["workflow", "deploy", "--endpoint", "pics"]));
    assert!(err.contains("sagemaker backend") && err.contains("wb workflow run"), "{err}");
    let err = fails(wb(d).args(["workflow", "start", "--endpoint", "pics", "--image", "pics/dark/1.png"]));
    assert!(err.contains("sagemaker backend") || err.contains("wb workflow run"), "{err}");

    // Outside Lambda the binary says what it is instead of panicking in the runtime.
    let outside = Command::new(&bootstrap).env_remove("AWS_LAMBDA_RUNTIME_API").output().expect("run");
    assert_eq!(outside.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&outside.stderr).contains("AWS_LAMBDA_RUNTIME_API"), "{outside:?}");

    // The three functions under the Runtime API emulator, reading the project's store and
    // classifying at the local server.
    let functions = ["wb-pics-serialize", "wb-pics-classify", "wb-pics-filter", "wb-pics-strict-filter"];
    let (mut emulator_process, emulator) = emulator(&d.join("emulator"), &functions);
    let logs = d.join("function-logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let store_dir = PathBuf::from(store_uri.strip_prefix("file://").expect("a local store"));
    let env_of = |step: usize| -> Vec<(String, String)> {
        package["functions"][step]["environment"]
            .as_object()
            .expect("environment")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_owned()))
            .collect()
    };
    let mut running = Vec::new();
    for (step, name) in functions[..3].iter().enumerate() {
        let mut env = env_of(step);
        env.push(("WB_RUNTIME_URL".into(), server.clone()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        running.push(function(&bootstrap, &emulator, name, &env, &logs));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    // An image in the store, where the serializer reads it.
    std::fs::create_dir_all(store_dir.join("inputs")).expect("mkdir");
    std::fs::copy(d.join("pics/bright/1.png"), store_dir.join("inputs/bright.png")).expect("copy");
    let bright = "inputs/bright.png".to_owned();
    let event = |key: &str| json!({"image_data": "", "s3_bucket": store_uri, "s3_key": key, "inferences": []});

    let (status, serialized) = invoke(&runtime, &emulator, "wb-pics-serialize", &event(&bright));
    assert_eq!(status, 200, "{serialized}");
    let image = base64::engine::general_purpose::STANDARD
        .decode(serialized["image_data"].as_str().expect("image_data"))
        .expect("base64");
    assert_eq!(image, std::fs::read(store_dir.join(&bright)).expect("png"), "the image's bytes, base64");
    let (status, classified) = invoke(&runtime, &emulator, "wb-pics-classify", &serialized);
    assert_eq!(status, 200, "{classified}");
    let confidence = |event: &Value| -> f64 {
        let inferences = event["inferences"].as_array().expect("inferences is an array");
        assert_eq!(inferences.len(), 2, "{event}");
        inferences.iter().filter_map(Value::as_f64).fold(0.0, f64::max)
    };
    let bright_confidence = confidence(&classified);
    let (status, filtered) = invoke(&runtime, &emulator, "wb-pics-filter", &classified);
    assert_eq!((status, &filtered), (200, &classified), "a confident image passes the filter unchanged");

    // Failures reach the caller under the step's error name.
    let named_error = |name: &str, event: &Value| -> (String, String) {
        let (status, answer) = invoke(&runtime, &emulator, name, event);
        assert_eq!(status, 500, "{name}: {answer}");
        (
            answer["errorType"].as_str().unwrap_or_default().to_owned(),
            answer["errorMessage"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let unconfident = json!({"image_data": "", "s3_bucket": "b", "s3_key": "k.png", "inferences": [0.4, 0.35, 0.25]});
    let (error, message) = named_error("wb-pics-filter", &unconfident);
    assert_eq!(error, "THRESHOLD_CONFIDENCE_NOT_MET", "{message}");
    assert!(message.contains("0.4") && message.contains("0.5"), "{message}");
    let (error, message) = named_error("wb-pics-serialize", &event("images/missing.png"));
    assert_eq!(error, "IMAGE_NOT_FOUND", "{message}");
    assert!(message.contains("images/missing.png"), "{message}");
    let reference_shape = json!({"image_data": "", "s3_bucket": "b", "s3_key": "k.png", "inferences": "[0.9, 0.1]"});
    assert_eq!(named_error("wb-pics-filter", &reference_shape).0, "INVALID_EVENT");
    let (error, message) = named_error("wb-pics-serialize", &json!({"s3_key": "k.png"}));
    assert_eq!(error, "INVALID_EVENT", "{message}");
    assert!(message.contains("s3_bucket"), "{message}");

    // A strict filter whose threshold the bright image reaches and the least confident of a few
    // grey images (between the two classes) does not.
    let mut least: Option<(String, f64)> = None;
    for shade in [100u8, 125, 150] {
        let key = format!("inputs/grey-{shade}.png");
        let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([shade, shade, (x + y) as u8]));
        img.save(store_dir.join(&key)).expect("png");
        let (_, serialized) = invoke(&runtime, &emulator, "wb-pics-serialize", &event(&key));
        let (status, classified) = invoke(&runtime, &emulator, "wb-pics-classify", &serialized);
        assert_eq!(status, 200, "{classified}");
        let p = confidence(&classified);
        if least.as_ref().is_none_or(|(_, q)| p < *q) {
            least = Some((key, p));
        }
    }
    let (grey, grey_confidence) = least.expect("three grey images");
    assert!(grey_confidence < bright_confidence, "a grey image is less certain ({grey_confidence}) than a bright one");
    let (confident, unconfident) = (&bright, &grey);
    let strict = bright_confidence.to_string();
    running.push(function(
        &bootstrap,
        &emulator,
        "wb-pics-strict-filter",
        &[("WB_STEP", "filter"), ("WB_THRESHOLD", strict.as_str())],
        &logs,
    ));
    for function in &mut running {
        function.assert_alive(&logs.join("wb-pics-serialize.log"));
    }
    emulator_process.assert_alive(&d.join("emulator/emulator.err"));

    // The exported machine on moto's Step Functions engine, moto's Lambda invocations forwarded
    // to the functions above; the first classification is throttled and retried.
    ok_json(wb(d).args(["workflow", "export", "--endpoint", "pics", "--to", "sfn/workflow.json", "--json"]));
    let mut machine: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sfn/workflow.json")).expect("machine")).expect("json");
    machine["States"]["Confidence Filter"]["Parameters"]["FunctionName"] = json!("wb-pics-strict-filter");
    let moto = wb_aws::testkit::Moto::spawn_dedicated_with(&[
        ("WB_LAMBDA_INVOKE_URL", emulator.as_str()),
        ("WB_LAMBDA_THROTTLE", "wb-pics-classify:1"),
    ]);
    let (status, body) = moto.post_moto_api(
        "/moto-api/config",
        "application/json",
        r#"{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}"#,
    );
    assert!((200..300).contains(&status), "moto's engines switched on: {status} {body}");
    let runs = json!([
        {"name": "confident", "definition": machine, "input": event(confident)},
        {"name": "unconfident", "definition": machine, "input": event(unconfident)},
    ]);
    std::fs::write(d.join("sfn/runs.json"), runs.to_string()).expect("write");
    let out = Command::new(wb_aws::testkit::python())
        .args(["-c", crate::workflow::SFN_DRIVER, moto.url()])
        .arg(d.join("sfn/runs.json"))
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs: Value = serde_json::from_slice(&out.stdout).expect("driver json");

    let ok = &runs["confident"];
    assert_eq!(ok["status"], "SUCCEEDED", "{ok}");
    let output = ok["output"].as_object().expect("the event");
    let mut keys: Vec<&str> = output.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["image_data", "inferences", "s3_bucket", "s3_key"], "the reference's event shape");
    assert_eq!(output["s3_key"], confident.as_str());
    assert!(output["inferences"].as_array().is_some_and(|a| a.len() == 2 && a.iter().all(Value::is_f64)), "{ok}");
    assert_eq!(ok["entered"], json!(["Image Serializer", "Image Predictor", "Confidence Filter"]), "{ok}");
    let scheduled = ok["events"].as_array().expect("events").iter().filter(|e| *e == "TaskScheduled").count();
    assert_eq!(scheduled, 4, "three tasks and one retry of the throttled classification: {ok}");

    let low = &runs["unconfident"];
    assert_eq!(low["status"], "FAILED", "{low}");
    assert_eq!(low["error"], "THRESHOLD_CONFIDENCE_NOT_MET", "{low}");
    assert_eq!(low["entered"].as_array().and_then(|e| e.last()), Some(&json!("Low Confidence")), "{low}");
}

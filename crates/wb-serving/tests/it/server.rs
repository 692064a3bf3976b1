//! The model server in process (`oneshot`) and on a real socket: both contracts, every error
//! shape, data capture and graceful shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower::ServiceExt as _;
use wb_core::{ContentHash, DatasetName, LocalStore, ObjectStore};
use wb_datasets::{Encoding, FeatureEncoding, FeatureKind, Task};
use wb_models::model::LinearModel;
use wb_models::{FittedModel, ModelArtifact, ModelMetadata, ModelSchema};
use wb_serving::capture::{CaptureConfig, CaptureWriterOptions};
use wb_serving::server::{LoadedEndpoint, MAX_BODY_BYTES, ModelServer, ServerOptions, StaticCatalog};

/// A hand-built binary logistic model over `x` (numeric, mean 1.0) and `colour`
/// (categorical: red, blue): score = 0.25 + 1.0·x − 0.5·colour.
fn artifact() -> Arc<ModelArtifact> {
    let schema = ModelSchema {
        dataset: DatasetName::parse("toy").expect("name"),
        fingerprint: ContentHash::of_bytes(b"toy"),
        version: 1,
        target: "y".into(),
        task: Task::Classification { classes: vec!["no".into(), "yes".into()] },
        features: Encoding(vec![
            FeatureEncoding {
                name: "x".into(),
                source_type: "Float64".into(),
                kind: FeatureKind::Numeric { impute: 1.0 },
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
    };
    let model = FittedModel::Logistic {
        classes: 2,
        linear: LinearModel { weights: vec![vec![1.0, -0.5]], intercepts: vec![0.25] },
    };
    let metadata = ModelMetadata {
        algorithm: "logistic-regression".into(),
        hyperparameters: BTreeMap::new(),
        job: None,
        validation_metrics: BTreeMap::new(),
        train_rows: 0,
        trained_at: "2026-01-01T00:00:00Z".into(),
        workbench_version: "test".into(),
    };
    Arc::new(ModelArtifact { model, schema, metadata })
}

pub(crate) fn endpoint(name: &str, capture: Option<CaptureConfig>) -> Arc<LoadedEndpoint> {
    Arc::new(LoadedEndpoint::new(name, "AllTraffic", artifact(), capture).expect("endpoint"))
}

/// P(yes) for one row.
fn p_yes(x: f64, colour: f64) -> f64 {
    1.0 / (1.0 + (-(0.25 + x - 0.5 * colour)).exp())
}

fn server(options: ServerOptions) -> ModelServer {
    let catalog = StaticCatalog::new([endpoint("wine", None), endpoint("other-model", None)]);
    ModelServer::builder(Arc::new(catalog)).options(options).build()
}

fn post(uri: &str, content_type: &str) -> axum::http::request::Builder {
    Request::builder().method("POST").uri(uri).header("content-type", content_type)
}

async fn call(server: &ModelServer, request: Request<Body>) -> (StatusCode, Response<()>, String) {
    let response = server.router().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (parts.status, Response::from_parts(parts, ()), String::from_utf8(bytes.to_vec()).expect("utf8"))
}

async fn invoke(
    server: &ModelServer,
    name: &str,
    content_type: &str,
    body: &str,
) -> (StatusCode, Response<()>, String) {
    let request = post(&format!("/endpoints/{name}/invocations"), content_type)
        .body(Body::from(body.to_owned()))
        .expect("request");
    call(server, request).await
}

fn header<'a>(response: &'a Response<()>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().expect("ascii header"))
}

/// Checks a `ModelError` and returns its JSON body.
fn model_error(status: StatusCode, response: &Response<()>, body: &str, original_status: u16) -> serde_json::Value {
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY, "{body}");
    assert_eq!(
        header(response, "x-amzn-errortype"),
        Some("ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/")
    );
    assert_eq!(header(response, "content-type"), Some("application/json"));
    assert!(header(response, "x-amzn-requestid").is_some());
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(v["OriginalStatusCode"], original_status);
    let original = v["OriginalMessage"].as_str().expect("OriginalMessage");
    let kind = if original_status >= 500 || original_status == 0 { "server" } else { "client" };
    let message = v["Message"].as_str().expect("Message");
    assert!(
        message.starts_with(&format!(
            "Received {kind} error ({original_status}) from primary with message \"{original}\". See "
        )),
        "{message}"
    );
    assert!(message.ends_with("in account 000000000000 for more information."), "{message}");
    assert!(v["LogStreamArn"].as_str().expect("LogStreamArn").ends_with("/aws/sagemaker/Endpoints/wine"));
    v
}

/// Checks a `ValidationError` and returns its message.
fn validation_error(status: StatusCode, response: &Response<()>, body: &str) -> String {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        header(response, "x-amzn-errortype"),
        Some("ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/")
    );
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    v["Message"].as_str().expect("Message").to_owned()
}

fn floats(csv: &str) -> Vec<Vec<f64>> {
    csv.lines().map(|l| l.split(',').map(|v| v.parse().expect("float")).collect()).collect()
}

#[tokio::test]
async fn ping_answers_200_with_an_empty_body() {
    let s = server(ServerOptions::default());
    let (status, _, body) = call(&s, Request::get("/ping").body(Body::empty()).expect("request")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
}

#[tokio::test]
async fn csv_invocation_answers_class_probabilities() {
    let s = server(ServerOptions::default());
    let request = post("/endpoints/wine/invocations", "text/csv; charset=utf-8")
        .header("X-Amzn-SageMaker-Custom-Attributes", "trace=abc,v=1")
        .header("X-Amzn-SageMaker-Inference-Id", "req-1")
        .header("X-Amzn-SageMaker-Target-Variant", "ignored")
        .body(Body::from("2.0,blue\r\n?,green\n\"0\",red\n"))
        .expect("request");
    let (status, response, body) = call(&s, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&response, "content-type"), Some("text/csv"));
    assert_eq!(header(&response, "x-amzn-invoked-production-variant"), Some("AllTraffic"));
    assert_eq!(header(&response, "x-amzn-sagemaker-custom-attributes"), Some("trace=abc,v=1"));
    let rows = floats(&body);
    // Missing x → the mean 1.0; unseen colour → the other code 2.
    let expected = [p_yes(2.0, 1.0), p_yes(1.0, 2.0), p_yes(0.0, 0.0)];
    assert_eq!(rows.len(), 3);
    for (row, p) in rows.iter().zip(expected) {
        assert!((row[1] - p).abs() < 1e-12 && (row[0] - (1.0 - p)).abs() < 1e-12, "{row:?} vs {p}");
    }
    assert_eq!(s.stats().invocations, 1);
}

#[tokio::test]
async fn json_in_json_out_and_accept_negotiation() {
    let s = server(ServerOptions::default());
    let (status, response, body) =
        invoke(&s, "wine", "application/json", r#"{"instances": [[2.0, "blue"], {"x": 0, "colour": "red"}]}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(v["classes"], serde_json::json!(["no", "yes"]));
    assert_eq!(v["predictions"][0]["label"], "yes");
    assert!((v["predictions"][1]["probabilities"][1].as_f64().expect("p") - p_yes(0.0, 0.0)).abs() < 1e-12);

    let request = post("/endpoints/wine/invocations", "text/csv")
        .header("accept", "application/json;q=0.5, text/csv")
        .body(Body::from("1,red\n"))
        .expect("request");
    let (status, response, _) = call(&s, request).await;
    assert_eq!((status, header(&response, "content-type")), (StatusCode::OK, Some("text/csv")));
    let request = post("/endpoints/wine/invocations", "text/csv")
        .header("accept", "application/json")
        .body(Body::from("1,red\n"))
        .expect("request");
    let (status, response, body) = call(&s, request).await;
    assert_eq!((status, header(&response, "content-type")), (StatusCode::OK, Some("application/json")));
    assert!(body.starts_with(r#"{"classes":["no","yes"],"predictions":[{"label":"#), "{body}");
}

#[tokio::test]
async fn wrong_column_count_is_a_model_error_naming_the_row() {
    let s = server(ServerOptions::default());
    let (status, response, body) = invoke(&s, "wine", "text/csv", "1,red\n1,red,3\n").await;
    let v = model_error(status, &response, &body, 400);
    assert_eq!(v["OriginalMessage"], "row 2: expected 2 columns (x, colour), got 3");
}

#[tokio::test]
async fn non_numeric_value_is_a_model_error_naming_row_column_and_value() {
    let s = server(ServerOptions::default());
    let (status, response, body) = invoke(&s, "wine", "text/csv", "1,red\n2,blue\nabc,red\n").await;
    let v = model_error(status, &response, &body, 400);
    assert_eq!(v["OriginalMessage"], r#"row 3, column "x": "abc" is not a number"#);
    assert!(
        v["Message"].as_str().expect("Message").contains(r#"with message "row 3, column "x": "abc" is not a number""#)
    );
}

#[tokio::test]
async fn empty_body_is_a_model_error() {
    let s = server(ServerOptions::default());
    let (status, response, body) = invoke(&s, "wine", "text/csv", "").await;
    let v = model_error(status, &response, &body, 400);
    assert_eq!(v["OriginalMessage"], "empty request body");
}

#[tokio::test]
async fn unsupported_content_type_and_accept_are_model_errors() {
    let s = server(ServerOptions::default());
    let (status, response, body) = invoke(&s, "wine", "image/png", "x").await;
    let v = model_error(status, &response, &body, 415);
    let original = v["OriginalMessage"].as_str().expect("message");
    assert!(original.contains("image/png") && original.contains("text/csv, application/json"), "{original}");

    let request = post("/endpoints/wine/invocations", "text/csv")
        .header("accept", "image/png")
        .body(Body::from("1,red"))
        .expect("request");
    let (status, response, body) = call(&s, request).await;
    model_error(status, &response, &body, 406);
}

#[tokio::test]
async fn oversized_body_is_a_validation_error_giving_size_and_limit() {
    let s = server(ServerOptions::default());
    let big = "1,red\n".repeat(MAX_BODY_BYTES / 6 + 1);
    let (status, response, body) = invoke(&s, "wine", "text/csv", &big).await;
    let message = validation_error(status, &response, &body);
    assert!(message.starts_with("Request "), "{message}");
    assert!(
        message.ends_with(&format!("has oversize body: {} bytes exceed the limit of 6291456 bytes.", big.len())),
        "{message}"
    );

    // Without a Content-Length (a streamed body) the limit still holds.
    let s = server(ServerOptions { body_limit: 10, ..ServerOptions::default() });
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("1,red\n"), Ok("2,red\n")];
    let request = post("/endpoints/wine/invocations", "text/csv")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .expect("request");
    let (status, response, body) = call(&s, request).await;
    let message = validation_error(status, &response, &body);
    assert!(message.ends_with("has oversize body: more than the limit of 10 bytes."), "{message}");
    assert_eq!(s.stats().rejected, 1);
}

#[tokio::test]
async fn unknown_endpoint_is_a_validation_error_as_aws_words_it() {
    let s = server(ServerOptions::default());
    let (status, response, body) = invoke(&s, "nope", "text/csv", "1,red").await;
    assert_eq!(validation_error(status, &response, &body), "Endpoint nope of account 000000000000 not found.");
    let (status, response, body) = invoke(&s, "bad_name", "text/csv", "1,red").await;
    let message = validation_error(status, &response, &body);
    assert!(message.contains("Value 'bad_name' at 'endpointName' failed to satisfy constraint"), "{message}");
}

#[tokio::test]
async fn bad_headers_are_validation_errors_naming_the_header() {
    let s = server(ServerOptions::default());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("X-Amzn-SageMaker-Custom-Attributes", vec![b'a'; 1025], "less than or equal to 1024"),
        ("X-Amzn-SageMaker-Custom-Attributes", b"caf\xe9".to_vec(), "visible US-ASCII"),
        ("X-Amzn-SageMaker-Inference-Id", vec![b'i'; 65], "between 1 and 64"),
        ("X-Amzn-SageMaker-Inference-Id", Vec::new(), "between 1 and 64"),
        ("X-Amzn-SageMaker-Inference-Id", b" leading-space".to_vec(), "regular expression"),
        ("Accept", vec![b'a'; 1025], "less than or equal to 1024"),
    ];
    for (name, value, constraint) in cases {
        let request = post("/endpoints/wine/invocations", "text/csv")
            .header(name, axum::http::HeaderValue::from_bytes(&value).expect("header value"))
            .body(Body::from("1,red"))
            .expect("request");
        let (status, response, body) = call(&s, request).await;
        let message = validation_error(status, &response, &body);
        assert!(message.contains(&format!("(header {name})")) && message.contains(constraint), "{name}: {message}");
    }
    // A valid custom attribute at the limit passes and is echoed.
    let value = "k=".to_owned() + &"v".repeat(1022);
    let request = post("/endpoints/wine/invocations", "text/csv")
        .header("X-Amzn-SageMaker-Custom-Attributes", &value)
        .body(Body::from("1,red"))
        .expect("request");
    let (status, response, _) = call(&s, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&response, "x-amzn-sagemaker-custom-attributes"), Some(value.as_str()));
}

#[tokio::test]
async fn the_server_keeps_serving_after_bad_requests() {
    let s = server(ServerOptions::default());
    let garbage: [&[u8]; 6] =
        [b"", b"\xff\xfe,\x00", b"1,2,3,4,5,6,7", b"\"unterminated", b"{\"instances\": 5}", b"nan,red"];
    for body in garbage {
        for ct in ["text/csv", "application/json", "text/plain"] {
            let request = post("/endpoints/wine/invocations", ct).body(Body::from(body.to_vec())).expect("request");
            let (status, _, _) = call(&s, request).await;
            assert!(status == StatusCode::FAILED_DEPENDENCY || status == StatusCode::OK, "{status}");
        }
    }
    let (status, _, body) = invoke(&s, "wine", "text/csv", "2.0,blue\n").await;
    assert_eq!(status, StatusCode::OK);
    assert!((floats(&body)[0][1] - p_yes(2.0, 1.0)).abs() < 1e-12);
    let stats = s.stats();
    assert!(stats.model_errors >= 15 && stats.invocations >= 1, "{stats:?}");
}

#[tokio::test]
async fn the_deadline_turns_into_sagemakers_timeout_model_error() {
    // A 1 ms deadline and a body of a million rows (tens of milliseconds at least).
    let options = ServerOptions { deadline: Duration::from_millis(1), ..ServerOptions::default() };
    let s = ModelServer::single(endpoint("wine", None)).options(options).build();
    let big = "1,red\n".repeat(1_000_000);
    let (status, response, body) = invoke(&s, "wine", "text/csv", &big).await;
    let v = model_error(status, &response, &body, 0);
    assert!(
        v["OriginalMessage"]
            .as_str()
            .expect("message")
            .starts_with("Your invocation timed out while waiting for a response from container primary."),
        "{v}"
    );
    let request = post("/invocations", "text/csv").body(Body::from(big)).expect("request");
    let (status, _, body) = call(&s, request).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("timed out"), "{body}");
}

#[tokio::test]
async fn large_bodies_run_on_the_blocking_pool() {
    let s = server(ServerOptions { inline_limit: 16, ..ServerOptions::default() });
    let body = "1,red\n".repeat(10_000);
    let (status, _, out) = invoke(&s, "wine", "text/csv", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out.lines().count(), 10_000);
}

#[tokio::test]
async fn container_route_answers_plain_statuses() {
    let s = server(ServerOptions::default());
    let request = post("/invocations", "text/csv").body(Body::from("1,red")).expect("request");
    let (status, _, body) = call(&s, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no default model"), "{body}");

    let s = ModelServer::single(endpoint("wine", None))
        .options(ServerOptions { body_limit: 64, ..ServerOptions::default() })
        .build();
    let cases: [(&str, &str, StatusCode, &str); 5] = [
        ("text/csv", "1,red,3\n", StatusCode::BAD_REQUEST, "row 1: expected 2 columns (x, colour), got 3"),
        ("text/csv", "", StatusCode::BAD_REQUEST, "empty request body"),
        ("image/png", "1,red", StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported content type"),
        ("text/csv", &"1,red\n".repeat(11), StatusCode::PAYLOAD_TOO_LARGE, "exceeds the limit of 64 bytes"),
        ("text/csv", "1,red\n", StatusCode::OK, ""),
    ];
    for (ct, input, expected, text) in cases {
        let request = post("/invocations", ct).body(Body::from(input.to_owned())).expect("request");
        let (status, response, body) = call(&s, request).await;
        assert_eq!(status, expected, "{body}");
        if expected != StatusCode::OK {
            assert_eq!(header(&response, "content-type"), Some("text/plain; charset=utf-8"));
            assert!(header(&response, "x-amzn-errortype").is_none());
            assert!(body.contains(text), "{body}");
        }
    }
    let request =
        post("/invocations", "text/csv").header("accept", "image/png").body(Body::from("1,red")).expect("request");
    assert_eq!(call(&s, request).await.0, StatusCode::NOT_ACCEPTABLE);
    // The runtime route serves the same endpoint.
    assert_eq!(invoke(&s, "wine", "text/csv", "1,red").await.0, StatusCode::OK);
}

async fn capture_lines(store: &LocalStore) -> (usize, Vec<serde_json::Value>) {
    let mut files = 0;
    let mut lines = Vec::new();
    for meta in store.list(None).await.expect("list") {
        files += 1;
        let got = store.get(&meta.path).await.expect("get");
        assert!(got.bytes.ends_with(b"\n"), "complete lines only");
        for line in got.bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            lines.push(serde_json::from_slice(line).expect("every line parses"));
        }
    }
    (files, lines)
}

#[tokio::test]
async fn captured_invocations_hold_request_and_response() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(LocalStore::open(dir.path()).expect("store"));
    let catalog = StaticCatalog::new([
        endpoint("wine", Some(CaptureConfig::new(100).expect("config"))),
        endpoint("quiet", Some(CaptureConfig::new(0).expect("config"))),
        endpoint("plain", None),
    ]);
    let s = ModelServer::builder(Arc::new(catalog)).capture_store(store.clone()).build();
    let mut answers = Vec::new();
    for i in 0..3 {
        let request = post("/endpoints/wine/invocations", "text/csv")
            .header("X-Amzn-SageMaker-Inference-Id", format!("id-{i}"))
            .body(Body::from(format!("{i},red\n")))
            .expect("request");
        let (status, _, body) = call(&s, request).await;
        assert_eq!(status, StatusCode::OK);
        answers.push(body);
    }
    // Failed invocations and endpoints without (or with 0 %) capture record nothing.
    assert_eq!(invoke(&s, "wine", "text/csv", "x,red").await.0, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(invoke(&s, "quiet", "text/csv", "1,red").await.0, StatusCode::OK);
    assert_eq!(invoke(&s, "plain", "text/csv", "1,red").await.0, StatusCode::OK);

    let report = s.close().await.expect("close");
    let capture = report.capture.expect("capture on");
    assert_eq!((capture.records, capture.failed_records), (3, 0));
    let (files, mut lines) = capture_lines(&store).await;
    assert_eq!(files as u64, capture.files);
    lines.sort_by_key(|v| v["eventMetadata"]["inferenceId"].as_str().expect("id").to_owned());
    for (i, line) in lines.iter().enumerate() {
        let input = &line["captureData"]["endpointInput"];
        let output = &line["captureData"]["endpointOutput"];
        assert_eq!(input["data"], format!("{i},red\n"));
        assert_eq!((input["encoding"].as_str(), input["mode"].as_str()), (Some("CSV"), Some("INPUT")));
        assert_eq!(output["data"].as_str(), Some(answers[i].as_str()));
        assert_eq!(output["observedContentType"], "text/csv");
        assert_eq!(line["eventMetadata"]["inferenceId"], format!("id-{i}"));
        assert_eq!(line["eventVersion"], "0");
    }
}

/// One HTTP/1.1 request on a fresh connection; returns the status and the body.
async fn http(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    read_response(&mut stream).await
}

async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf8");
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_socket_graceful_shutdown_writes_every_captured_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(LocalStore::open(dir.path()).expect("store"));
    let catalog = StaticCatalog::new([endpoint("wine", Some(CaptureConfig::new(100).expect("config")))]);
    let options = ServerOptions {
        capture: CaptureWriterOptions { flush_interval: Duration::from_millis(50), ..CaptureWriterOptions::default() },
        ..ServerOptions::default()
    };
    let running = ModelServer::builder(Arc::new(catalog))
        .capture_store(store.clone())
        .options(options)
        .build()
        .bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = running.local_addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0);

    let mut clients = Vec::new();
    for c in 0..4 {
        clients.push(tokio::spawn(async move {
            let mut ok = 0u64;
            for i in 0..50 {
                let (status, body) = http(addr, "/endpoints/wine/invocations", &format!("{c}.{i},blue\n")).await;
                assert_eq!(status, 200, "{body}");
                ok += 1;
                if i % 10 == 0 {
                    let (status, _) = http(addr, "/endpoints/wine/invocations", "oops,blue\n").await;
                    assert_eq!(status, 424);
                }
            }
            ok
        }));
    }
    let mut succeeded = 0;
    for c in clients {
        succeeded += c.await.expect("client");
    }
    let (status, _) = http(addr, "/ping", "").await;
    assert_eq!(status, 405, "GET only");

    // A request in flight when shutdown starts still completes and is captured.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /endpoints/wine/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nContent-Length: 10\r\n\r\n1.5,"
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let shutdown = tokio::spawn(running.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!shutdown.is_finished(), "shutdown waits for the in-flight request");
    slow.write_all(b"blue\r\n").await.expect("write the rest");
    let (status, body) = read_response(&mut slow).await;
    assert_eq!(status, 200, "{body}");
    succeeded += 1;

    let report = shutdown.await.expect("join").expect("report");
    assert!(TcpStream::connect(addr).await.is_err(), "no longer accepting");
    let capture = report.capture.expect("capture on");
    assert_eq!(report.stats.invocations, succeeded);
    assert_eq!(report.stats.model_errors, 20);
    assert_eq!(capture.records, succeeded);
    assert_eq!((capture.failed_records, capture.dropped_records), (0, 0));
    let (files, lines) = capture_lines(&store).await;
    assert_eq!(files as u64, capture.files);
    assert_eq!(lines.len() as u64, succeeded);
    for line in &lines {
        assert_eq!(line["captureData"]["endpointInput"]["encoding"], "CSV");
        assert!(line["eventMetadata"]["inferenceTime"].as_str().expect("time").ends_with('Z'));
    }
}

//! SageMaker hosting: the whole lifecycle against moto (which makes endpoints `InService` at once
//! and has no `UpdateEndpoint`), and what moto cannot do — updates, endpoints that fail, failed
//! creates rolled back — against a scripted SageMaker speaking the same wire protocol.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use wb_aws::Error;
use wb_aws::aws_config::SdkConfig;
use wb_aws::hosting::{CaptureSpec, DeploySpec, Hosting};
use wb_aws::testkit::Moto;
use wb_core::EndpointName;

fn spec(endpoint: &str, project: &str) -> DeploySpec {
    DeploySpec {
        endpoint: EndpointName::parse(endpoint).expect("name"),
        model_data_url: "s3://bucket/wb/training/job/output/model.tar.gz".into(),
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:1".into(),
        role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
        instance_type: "ml.m5.large".into(),
        instance_count: 2,
        capture: Some(CaptureSpec { sampling_percentage: 50, destination: "s3://bucket/wb/capture".into() }),
        kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/abc".into()),
        environment: BTreeMap::from([("WB_LOG".into(), "info".into())]),
        tags: BTreeMap::from([("workbench:project".into(), project.into())]),
    }
}

fn fast(hosting: Hosting) -> Hosting {
    hosting.poll_interval(Duration::from_millis(5)).timeout(Duration::from_secs(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_find_by_tag_and_delete_against_moto() {
    let moto = Moto::shared();
    let hosting = fast(Hosting::from_sdk_config(&moto.sdk_config()));
    let client = wb_aws::aws_sdk_sagemaker::Client::new(&moto.sdk_config());
    let project = format!("hosting-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let endpoint = format!("{project}-ep");

    let hosted = hosting.deploy(&spec(&endpoint, &project)).await.expect("deploy");
    assert_eq!(hosted.status, "InService");
    assert!(!hosted.updated);
    assert!(hosted.config.starts_with(&endpoint) && hosted.model == hosted.config);

    // What SageMaker holds: the model's container, the variant, the capture configuration.
    let model = client.describe_model().model_name(&hosted.model).send().await.expect("model");
    let container = model.primary_container().expect("container");
    assert_eq!(container.model_data_url(), Some("s3://bucket/wb/training/job/output/model.tar.gz"));
    assert_eq!(model.execution_role_arn(), Some("arn:aws:iam::123456789012:role/workbench"));
    let config = client.describe_endpoint_config().endpoint_config_name(&hosted.config).send().await.expect("config");
    let variant = &config.production_variants()[0];
    assert_eq!((variant.variant_name(), variant.initial_instance_count()), (Some("AllTraffic"), Some(2)));
    let capture = config.data_capture_config().expect("capture");
    assert_eq!(capture.initial_sampling_percentage(), Some(50));
    assert_eq!(capture.destination_s3_uri(), Some("s3://bucket/wb/capture"));
    assert_eq!(capture.capture_options().len(), 2, "requests and responses");
    assert_eq!(config.kms_key_id(), Some("arn:aws:kms:us-east-1:123456789012:key/abc"));

    // Found by tag alone, in deletion order.
    let tagged = hosting.tagged("workbench:project", &project).await.expect("tagged");
    let kinds: Vec<&str> = tagged.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["endpoint", "endpoint-config", "model"], "{tagged:?}");

    // A bad spec creates nothing.
    let mut bad = spec(&format!("{project}-bad"), &project);
    bad.instance_type = "m5.large".into();
    let err = hosting.deploy(&bad).await.expect_err("bad instance type");
    assert!(matches!(err, Error::Invalid { field: "instance type", .. }), "{err}");
    assert_eq!(hosting.tagged("workbench:project", &project).await.expect("tagged").len(), 3);

    // Delete removes all three; again is harmless.
    let deleted = hosting.delete(&endpoint).await.expect("delete");
    assert_eq!(deleted.iter().map(|r| r.kind).collect::<Vec<_>>(), ["endpoint", "endpoint-config", "model"]);
    assert!(hosting.delete(&endpoint).await.expect("again").is_empty());
    assert!(hosting.tagged("workbench:project", &project).await.expect("tagged").is_empty());

    // Clean-up by tag, when only the tags remain to find them by.
    hosting.deploy(&spec(&format!("{project}-two"), &project)).await.expect("deploy two");
    let removed = hosting.delete_tagged("workbench:project", &project).await.expect("delete tagged");
    assert_eq!(removed.len(), 3);
    assert!(hosting.tagged("workbench:project", &project).await.expect("tagged").is_empty(), "nothing left");
    assert!(hosting.delete_tagged("workbench:project", &project).await.expect("again").is_empty());
}

/// A scripted SageMaker (awsJson 1.1: `POST /` with `X-Amz-Target: SageMaker.<Operation>`).
#[derive(Default)]
struct Script {
    /// Whether the endpoint exists (`CreateEndpoint` makes it exist); `DescribeEndpoint` says
    /// "not found" until then.
    exists: bool,
    /// Statuses `DescribeEndpoint` answers in turn once it exists (the last one repeats).
    statuses: Vec<(&'static str, Option<&'static str>)>,
    /// An error `CreateEndpoint` answers with.
    create_endpoint_error: Option<&'static str>,
    /// Operations received, in order.
    calls: Vec<String>,
    described: usize,
}

async fn scripted_sagemaker(script: Arc<Mutex<Script>>) -> (String, tokio::task::JoinHandle<()>) {
    let handler = move |headers: HeaderMap| {
        let script = Arc::clone(&script);
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let operation = target.trim_start_matches("SageMaker.").to_owned();
            let mut s = script.lock().expect("lock");
            s.calls.push(operation.clone());
            let arn = |kind: &str| format!("arn:aws:sagemaker:us-east-1:123456789012:{kind}/x");
            let ok = |body: serde_json::Value| (StatusCode::OK, body.to_string());
            match operation.as_str() {
                "CreateModel" => ok(serde_json::json!({ "ModelArn": arn("model") })),
                "CreateEndpointConfig" => ok(serde_json::json!({ "EndpointConfigArn": arn("endpoint-config") })),
                "CreateEndpoint" => match s.create_endpoint_error {
                    Some(code) => (
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({ "__type": code, "message": "account limit reached" }).to_string(),
                    ),
                    None => {
                        s.exists = true;
                        ok(serde_json::json!({ "EndpointArn": arn("endpoint") }))
                    }
                },
                "UpdateEndpoint" => ok(serde_json::json!({ "EndpointArn": arn("endpoint") })),
                "DescribeEndpoint" => {
                    if !s.exists || s.statuses.is_empty() {
                        return (
                            StatusCode::BAD_REQUEST,
                            serde_json::json!({ "__type": "ValidationException", "message": "Could not find endpoint \"ep\"." })
                                .to_string(),
                        );
                    }
                    let i = s.described.min(s.statuses.len() - 1);
                    s.described += 1;
                    let (status, reason) = s.statuses[i];
                    let mut body = serde_json::json!({
                        "EndpointName": "ep", "EndpointArn": arn("endpoint"), "EndpointConfigName": "old-config",
                        "EndpointStatus": status, "CreationTime": 1.79e9, "LastModifiedTime": 1.79e9,
                    });
                    if let Some(reason) = reason {
                        body["FailureReason"] = reason.into();
                    }
                    ok(body)
                }
                _ => ok(serde_json::json!({})),
            }
        }
    };
    let app = axum::Router::new().route("/", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

fn scripted_hosting(url: &str) -> Hosting {
    let sdk: SdkConfig = Moto::shared().sdk_config().to_builder().endpoint_url(url).build();
    fast(Hosting::from_sdk_config(&sdk))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_endpoint_is_updated_and_waited_for() {
    let script = Arc::new(Mutex::new(Script {
        exists: true,
        statuses: vec![("InService", None), ("Updating", None), ("Updating", None), ("InService", None)],
        ..Script::default()
    }));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let hosted = scripted_hosting(&url).deploy(&spec("ep", "p")).await.expect("update");
    assert!(hosted.updated);
    assert_eq!(hosted.status, "InService");
    let calls = script.lock().expect("lock").calls.clone();
    assert_eq!(
        calls,
        [
            "CreateModel",
            "CreateEndpointConfig",
            "DescribeEndpoint",
            "UpdateEndpoint",
            "DescribeEndpoint",
            "DescribeEndpoint",
            "DescribeEndpoint"
        ]
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_fails_to_come_up_says_why() {
    // Not found at first (so it is created), then Creating, then Failed.
    let script = Arc::new(Mutex::new(Script {
        statuses: vec![("Creating", None), ("Failed", Some("The primary container failed its ping health check."))],
        ..Script::default()
    }));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let hosting = scripted_hosting(&url);
    let err = hosting.deploy(&spec("ep", "p")).await.expect_err("failed");
    assert_eq!(
        err.to_string(),
        "endpoint \"ep\" failed to come up: The primary container failed its ping health check."
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_fails_half_way_deletes_what_it_made() {
    let script =
        Arc::new(Mutex::new(Script { create_endpoint_error: Some("ResourceLimitExceeded"), ..Script::default() }));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let err = scripted_hosting(&url).deploy(&spec("ep", "p")).await.expect_err("limit");
    assert!(
        matches!(&err, Error::SageMaker { operation: "CreateEndpoint", code, .. } if code == "ResourceLimitExceeded"),
        "{err}"
    );
    assert!(err.to_string().contains("account limit reached"), "{err}");
    let calls = script.lock().expect("lock").calls.clone();
    assert_eq!(
        calls,
        [
            "CreateModel",
            "CreateEndpointConfig",
            "DescribeEndpoint",
            "CreateEndpoint",
            "DeleteEndpointConfig",
            "DeleteModel"
        ]
    );
    server.abort();
}

//! `SageMakerRuntime`: the AWS SDK's InvokeEndpoint against the workbench's own model server (real
//! predictions and SageMaker's error shapes) and against moto (canned results), and `wb compare`
//! through it.

use std::sync::Arc;

use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use wb_aws::SageMakerRuntime;
use wb_aws::aws_config::{BehaviorVersion, Region, SdkConfig};
use wb_aws::testkit::Moto;
use wb_core::{DynObjectStore, EndpointName, JobName, LocalStore, ModelName};
use wb_datasets::PartitionSpec;
use wb_models::registry::Registry;
use wb_models::testkit::register_toy;
use wb_models::training::TrainingJobs;
use wb_serving::endpoints::{Endpoints, StoreCatalog};
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest, RuntimeClient};
use wb_serving::server::{ModelServer, RunningServer};

/// An SDK configuration pointing every call at `url`, with test credentials.
fn sdk_for(url: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "t")))
        .build()
}

/// A store with a partitioned two-feature dataset, two deployed and registered models, and a
/// model server over it.
async fn served_project(dir: &std::path::Path) -> (DynObjectStore, RunningServer) {
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.join("store")).expect("store"));
    let mut text = String::from("id,size,colour,label\n");
    for i in 0..500 {
        let size = (i * 37) % 100;
        let colour = ["red", "blue", "green"][i % 3];
        let label = if size + if colour == "red" { 15 } else { 0 } > 55 { "big" } else { "small" };
        text.push_str(&format!("{i},{size},{colour},{label}\n"));
    }
    let csv = dir.join("toy.csv");
    std::fs::write(&csv, text).expect("csv");
    let dataset = register_toy(&store, &csv, &[], PartitionSpec::default()).await;
    for (name, algorithm) in [("toy-logistic", "logistic-regression"), ("toy-bayes", "gaussian-nb")] {
        let job = TrainingJobs::new(store.clone())
            .train(&dataset, algorithm)
            .job_name(JobName::parse(format!("{name}-job")).expect("job"))
            .await
            .expect("train");
        let endpoint = EndpointName::parse(name).expect("endpoint");
        Endpoints::new(store.clone()).deploy(&job.name, &endpoint).await.expect("deploy");
        Registry::new(store.clone()).register(&ModelName::parse(name).expect("model"), &endpoint).await.expect("reg");
    }
    let server = ModelServer::builder(Arc::new(StoreCatalog::new(store.clone())))
        .build()
        .bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    (store, server)
}

fn csv_request(body: &str) -> InvokeRequest {
    InvokeRequest { content_type: "text/csv".into(), body: body.to_owned().into(), ..InvokeRequest::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_client_speaks_to_the_local_model_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, server) = served_project(dir.path()).await;
    let runtime = SageMakerRuntime::from_sdk_config(&sdk_for(&server.url()));

    let mut request = csv_request("80,red\n10,blue\n");
    request.custom_attributes = Some("trace=abc".into());
    request.inference_id = Some("inference-1".into());
    let answer = runtime.invoke_endpoint("toy-logistic", request).await.expect("invoke");
    assert_eq!(answer.invoked_variant.as_deref(), Some("AllTraffic"));
    assert_eq!(answer.custom_attributes.as_deref(), Some("trace=abc"));
    let text = String::from_utf8(answer.body.to_vec()).expect("utf-8");
    let rows: Vec<Vec<f64>> =
        text.lines().map(|l| l.split(',').map(|v| v.parse().expect("probability")).collect()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.len() == 2 && (r.iter().sum::<f64>() - 1.0).abs() < 1e-9), "{rows:?}");
    assert!(rows[0][0] > rows[1][0], "size 80 is more likely 'big' (class 0) than size 10: {rows:?}");

    // The same bytes as the workbench's own client.
    let direct = RuntimeClient::new(&server.url()).expect("client");
    let same = direct.invoke("toy-logistic", csv_request("80,red\n10,blue\n")).await.expect("invoke");
    assert_eq!(same.body, answer.body);

    // SageMaker's error shapes, decoded by the SDK into the workbench's error.
    let unknown = runtime.invoke_endpoint("no-such-endpoint", csv_request("1,red\n")).await.expect_err("unknown");
    match &unknown {
        wb_serving::Error::Invocation { code, status, message, .. } => {
            assert_eq!((code.as_str(), *status), ("ValidationError", 400), "{unknown}");
            assert!(message.contains("no-such-endpoint"), "{message}");
        }
        other => panic!("expected an invocation error, got {other:?}"),
    }
    assert!(!unknown.is_retryable());
    let bad = runtime.invoke_endpoint("toy-logistic", csv_request("1,red,extra\n")).await.expect_err("bad row");
    match &bad {
        wb_serving::Error::Invocation { code, status, message, .. } => {
            assert_eq!((code.as_str(), *status), ("ModelError", 424), "{bad}");
            assert!(message.starts_with("the model answered 400"), "{message}");
        }
        other => panic!("expected a model error, got {other:?}"),
    }

    // `wb compare` scores the same through either client.
    let through_sdk: Arc<dyn InvokeEndpoint> = Arc::new(runtime);
    let through_local: Arc<dyn InvokeEndpoint> = Arc::new(direct);
    let a = wb_compare::compare(store.clone(), through_sdk).resamples(100).importance_budget(20).await.expect("sdk");
    let b = wb_compare::compare(store, through_local).resamples(100).importance_budget(20).await.expect("local");
    assert_eq!(a.report.models.len(), 2);
    assert!(a.report.failures.is_empty(), "{:?}", a.report.failures);
    for (x, y) in a.report.models.iter().zip(&b.report.models) {
        assert_eq!(x.metrics, y.metrics, "{}", x.model);
        assert_eq!(x.importance, y.importance);
    }
    assert_eq!(a.predictions, b.predictions);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_hands_out_its_canned_results() {
    let moto = Moto::shared();
    let marker = uuid::Uuid::now_v7().simple().to_string();
    let results = serde_json::json!({
        "account_id": "123456789012",
        "region": "us-east-1",
        "results": [{"Body": format!("0.25,0.75 {marker}"), "ContentType": "text/csv", "InvokedProductionVariant": "blue"}],
    });
    let (status, body) =
        moto.post_moto_api("/moto-api/static/sagemaker/endpoint-results", "application/json", &results.to_string());
    assert_eq!(status, 201, "{body}");
    let runtime = SageMakerRuntime::from_sdk_config(&moto.sdk_config());
    // moto memoises answers by body, so the body is unique to this test.
    let answer = runtime.invoke_endpoint("any-endpoint", csv_request(&format!("1,{marker}\n"))).await.expect("invoke");
    assert_eq!(String::from_utf8_lossy(&answer.body), format!("0.25,0.75 {marker}"));
    assert_eq!(answer.content_type, "text/csv");
    assert_eq!(answer.invoked_variant.as_deref(), Some("blue"));
}

#[tokio::test]
async fn an_unreachable_runtime_is_a_retryable_server_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let runtime = SageMakerRuntime::from_sdk_config(&sdk_for(&format!("http://127.0.0.1:{port}")));
    let err = runtime.invoke_endpoint("ep", csv_request("1\n")).await.expect_err("nothing listens");
    assert!(matches!(err, wb_serving::Error::Server { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("cannot reach SageMaker Runtime for ep"), "{err}");
}

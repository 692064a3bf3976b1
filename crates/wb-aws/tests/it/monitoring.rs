//! Scheduled data-quality monitoring on SageMaker: the exact `CreateDataQualityJobDefinition` and
//! `CreateMonitoringSchedule` requests, a schedule replaced, the refusals made before any call, and
//! clean-up removing schedules and definitions before the endpoints — against a scripted SageMaker
//! (awsJson 1.1, as in `hosting.rs`), since moto 5.2.5 has no monitoring schedules of its own;
//! and the whole round (schedule, inventory, clean) against moto with the test kit's additions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use wb_aws::Error;
use wb_aws::aws_config::{Region, SdkConfig};
use wb_aws::backend::SageMakerBackend;
use wb_aws::monitoring::{Analyzer, Monitoring, MonitoringSpec, schedule_names};
use wb_aws::testkit::Moto;
use wb_aws::{Encryption, S3Store};
use wb_core::{BackendKind, Config, ContentHash, DynObjectStore, EndpointName, JobName, LoadedConfig, ObjectPath};
use wb_serving::backend::{Backend, MonitoringAnalyzer, MonitoringScheduleRequest};
use wb_serving::capture::CaptureConfig;
use wb_serving::endpoints::{EndpointRecord, Endpoints};

const ROLE: &str = "arn:aws:iam::123456789012:role/wb-test";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:test";
const ANALYZER_US_EAST_1: &str = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer";

/// What the scripted SageMaker answers and what it received.
#[derive(Default)]
struct Script {
    /// Monitoring schedules that exist (`Describe`/`Delete` find them; `Delete` removes them).
    schedules: Vec<String>,
    /// How many times `DescribeMonitoringSchedule` still finds a deleted schedule (`Stopped`).
    lingering: usize,
    /// What the list calls and `ListTags` answer, by operation.
    lists: BTreeMap<&'static str, Value>,
    /// An error code `CreateMonitoringSchedule` answers with.
    create_schedule_error: Option<&'static str>,
    /// `(operation, request body)` in order.
    calls: Vec<(String, Value)>,
}

impl Script {
    fn operations(&self) -> Vec<&str> {
        self.calls.iter().map(|(op, _)| op.as_str()).collect()
    }

    fn body(&self, operation: &str) -> Value {
        self.calls.iter().find(|(op, _)| op == operation).map_or(Value::Null, |(_, b)| b.clone())
    }
}

fn not_found(what: &str) -> (StatusCode, String) {
    (
        StatusCode::BAD_REQUEST,
        json!({ "__type": "ResourceNotFound", "message": format!("{what} not found") }).to_string(),
    )
}

async fn scripted_sagemaker(script: Arc<Mutex<Script>>) -> (String, tokio::task::JoinHandle<()>) {
    let handler = move |headers: HeaderMap, body: String| {
        let script = Arc::clone(&script);
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let operation = target.trim_start_matches("SageMaker.").to_owned();
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let mut s = script.lock().expect("lock");
            s.calls.push((operation.clone(), body.clone()));
            let ok = |body: Value| (StatusCode::OK, body.to_string());
            let arn = |kind: &str, name: &str| format!("arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}");
            let schedule = body["MonitoringScheduleName"].as_str().unwrap_or_default().to_owned();
            match operation.as_str() {
                "CreateDataQualityJobDefinition" => ok(json!({
                    "JobDefinitionArn": arn("data-quality-job-definition", body["JobDefinitionName"].as_str().unwrap_or_default())
                })),
                "CreateMonitoringSchedule" => match s.create_schedule_error {
                    Some(code) => {
                        (StatusCode::BAD_REQUEST, json!({ "__type": code, "message": "limit reached" }).to_string())
                    }
                    None => {
                        s.schedules.push(schedule.clone());
                        ok(json!({ "MonitoringScheduleArn": arn("monitoring-schedule", &schedule) }))
                    }
                },
                "DeleteMonitoringSchedule" => {
                    if !s.schedules.contains(&schedule) {
                        return not_found("Monitoring schedule");
                    }
                    s.schedules.retain(|n| *n != schedule);
                    ok(json!({}))
                }
                "DescribeMonitoringSchedule" => {
                    if s.lingering > 0 {
                        s.lingering -= 1;
                        return ok(json!({
                            "MonitoringScheduleArn": arn("monitoring-schedule", &schedule),
                            "MonitoringScheduleName": schedule,
                            "MonitoringScheduleStatus": "Stopped",
                            "CreationTime": 1.79e9,
                            "LastModifiedTime": 1.79e9,
                        }));
                    }
                    if s.schedules.contains(&schedule) {
                        return ok(json!({
                            "MonitoringScheduleArn": arn("monitoring-schedule", &schedule),
                            "MonitoringScheduleName": schedule,
                            "MonitoringScheduleStatus": "Scheduled",
                            "CreationTime": 1.79e9,
                            "LastModifiedTime": 1.79e9,
                        }));
                    }
                    not_found("Monitoring schedule")
                }
                "DeleteDataQualityJobDefinition" => {
                    let name = body["JobDefinitionName"].as_str().unwrap_or_default();
                    if s.lists.contains_key("ListDataQualityJobDefinitions") || name.ends_with("-existing") {
                        ok(json!({}))
                    } else {
                        not_found("Job definition")
                    }
                }
                other => ok(s.lists.get(other).cloned().unwrap_or_else(|| json!({}))),
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

fn scripted_sdk(url: &str, region: &str) -> SdkConfig {
    Moto::shared().sdk_config().to_builder().endpoint_url(url).region(Region::new(region.to_owned())).build()
}

fn fast(monitoring: Monitoring) -> Monitoring {
    monitoring.poll_interval(Duration::from_millis(5)).timeout(Duration::from_secs(5))
}

fn spec(analyzer: Analyzer) -> MonitoringSpec {
    let (schedule, job_definition) = schedule_names("proj", "ep");
    MonitoringSpec {
        schedule,
        job_definition,
        endpoint: "ep".into(),
        analyzer,
        statistics_uri: "s3://bucket/wb/monitoring/ep/baseline/statistics.json".into(),
        constraints_uri: "s3://bucket/wb/monitoring/ep/baseline/constraints.json".into(),
        output_uri: "s3://bucket/wb/monitoring/ep/reports".into(),
        schedule_expression: "cron(0 * ? * * *)".into(),
        role_arn: ROLE.into(),
        instance_type: "ml.m5.xlarge".into(),
        instance_count: 1,
        volume_size_gb: 20,
        max_runtime_seconds: 3600,
        kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/abc".into()),
        tags: BTreeMap::from([("workbench:project".into(), "proj".into())]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bring_your_own_container_schedule_sends_exactly_these_requests() {
    let script = Arc::new(Mutex::new(Script::default()));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let monitoring = fast(Monitoring::from_sdk_config(&scripted_sdk(&url, "us-east-1")));
    let scheduled = monitoring.schedule(&spec(Analyzer::Container { image: IMAGE.into() })).await.expect("scheduled");
    assert!(!scheduled.replaced);
    assert_eq!(scheduled.arn, "arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/proj-ep-monitoring");
    assert_eq!(
        scheduled.job_definition_arn,
        "arn:aws:sagemaker:us-east-1:123456789012:data-quality-job-definition/proj-ep-data-quality"
    );

    let s = script.lock().expect("lock");
    // Nothing to replace (both deletes say "not found"), then the definition and the schedule.
    assert_eq!(
        s.operations(),
        [
            "DeleteMonitoringSchedule",
            "DeleteDataQualityJobDefinition",
            "CreateDataQualityJobDefinition",
            "CreateMonitoringSchedule"
        ]
    );
    let tags = json!([{ "Key": "workbench:project", "Value": "proj" }]);
    assert_eq!(
        s.body("CreateDataQualityJobDefinition"),
        json!({
            "JobDefinitionName": "proj-ep-data-quality",
            "DataQualityAppSpecification": {
                "ImageUri": IMAGE,
                "ContainerArguments": ["monitor"],
                "Environment": {
                    "dataset_format": "{\"sagemakerCaptureJson\":{\"captureIndexNames\":[\"endpointInput\",\"endpointOutput\"]}}",
                    "publish_cloudwatch_metrics": "Disabled",
                },
            },
            "DataQualityBaselineConfig": {
                "ConstraintsResource": { "S3Uri": "s3://bucket/wb/monitoring/ep/baseline/constraints.json" },
                "StatisticsResource": { "S3Uri": "s3://bucket/wb/monitoring/ep/baseline/statistics.json" },
            },
            "DataQualityJobInput": {
                "EndpointInput": {
                    "EndpointName": "ep",
                    "LocalPath": "/opt/ml/processing/input/endpoint",
                    "S3InputMode": "File",
                },
            },
            "DataQualityJobOutputConfig": {
                "MonitoringOutputs": [{
                    "S3Output": {
                        "S3Uri": "s3://bucket/wb/monitoring/ep/reports",
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }],
                "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
            },
            "JobResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                    "VolumeSizeInGB": 20,
                    "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abc",
                },
            },
            "RoleArn": ROLE,
            "StoppingCondition": { "MaxRuntimeInSeconds": 3600 },
            "Tags": tags,
        })
    );
    assert_eq!(
        s.body("CreateMonitoringSchedule"),
        json!({
            "MonitoringScheduleName": "proj-ep-monitoring",
            "MonitoringScheduleConfig": {
                "ScheduleConfig": { "ScheduleExpression": "cron(0 * ? * * *)" },
                "MonitoringJobDefinitionName": "proj-ep-data-quality",
                "MonitoringType": "DataQuality",
            },
            "Tags": tags,
        })
    );
    drop(s);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduling_again_replaces_the_schedule_once_sagemaker_let_go_of_it() {
    let script = Arc::new(Mutex::new(Script {
        schedules: vec!["proj-ep-monitoring".into()],
        lingering: 2,
        ..Script::default()
    }));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let monitoring = fast(Monitoring::from_sdk_config(&scripted_sdk(&url, "us-east-1")));
    let mut spec = spec(Analyzer::ModelMonitor { image: ANALYZER_US_EAST_1.into() });
    spec.job_definition = "proj-ep-existing".into();
    let scheduled = monitoring.schedule(&spec).await.expect("replaced");
    assert!(scheduled.replaced);
    let s = script.lock().expect("lock");
    assert_eq!(
        s.operations(),
        [
            "DeleteMonitoringSchedule",
            // Still there (Stopped) twice: the definition stays locked until it is gone.
            "DescribeMonitoringSchedule",
            "DescribeMonitoringSchedule",
            "DescribeMonitoringSchedule",
            "DeleteDataQualityJobDefinition",
            "CreateDataQualityJobDefinition",
            "CreateMonitoringSchedule"
        ]
    );
    // Model Monitor's own analyzer gets no arguments and no environment.
    assert_eq!(
        s.body("CreateDataQualityJobDefinition")["DataQualityAppSpecification"],
        json!({ "ImageUri": ANALYZER_US_EAST_1 })
    );
    drop(s);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_schedule_deletes_the_definition_made_for_it() {
    let script =
        Arc::new(Mutex::new(Script { create_schedule_error: Some("ResourceLimitExceeded"), ..Script::default() }));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let monitoring = fast(Monitoring::from_sdk_config(&scripted_sdk(&url, "us-east-1")));
    let err = monitoring
        .schedule(&spec(Analyzer::ModelMonitor { image: ANALYZER_US_EAST_1.into() }))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, Error::SageMaker { operation: "CreateMonitoringSchedule", code, .. } if code == "ResourceLimitExceeded"),
        "{err}"
    );
    assert_eq!(
        script.lock().expect("lock").operations().last().copied(),
        Some("DeleteDataQualityJobDefinition"),
        "the definition is rolled back"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_specs_are_refused_before_any_call() {
    let script = Arc::new(Mutex::new(Script::default()));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let monitoring = fast(Monitoring::from_sdk_config(&scripted_sdk(&url, "us-east-1")));
    let good = spec(Analyzer::ModelMonitor { image: ANALYZER_US_EAST_1.into() });
    type Change = Box<dyn Fn(&mut MonitoringSpec)>;
    let cases: Vec<(&str, Change)> = vec![
        ("schedule name", Box::new(|s| s.schedule = "-bad".into())),
        ("job definition name", Box::new(|s| s.job_definition = "x".repeat(64))),
        ("baseline statistics", Box::new(|s| s.statistics_uri = "/tmp/statistics.json".into())),
        ("instance type", Box::new(|s| s.instance_type = "m5.xlarge".into())),
        ("instance count", Box::new(|s| s.instance_count = 0)),
        ("maximum run time", Box::new(|s| s.max_runtime_seconds = 86_401)),
        ("schedule expression", Box::new(|s| s.schedule_expression = "rate(1 hour)".into())),
    ];
    for (field, change) in cases {
        let mut bad = good.clone();
        change(&mut bad);
        let err = monitoring.schedule(&bad).await.expect_err(field);
        assert!(matches!(&err, Error::Invalid { field: f, .. } if *f == field), "{field}: {err}");
    }
    assert!(script.lock().expect("lock").calls.is_empty(), "no call was made");
    server.abort();
}

/// A SageMaker backend of project `project` whose SageMaker is at `url` (in `region`) and whose
/// store is in moto's S3, with an endpoint record `ep` (capturing 20 % unless `capture` is
/// `None`) and, when `baseline`, the endpoint's baseline.
async fn backend(url: &str, region: &str, capture: Option<u8>, baseline: bool) -> (SageMakerBackend, String) {
    let moto = Moto::shared();
    let bucket = moto.fresh_bucket().await;
    let store: DynObjectStore = Arc::new(S3Store::new(
        moto.s3_client(),
        bucket.clone(),
        Some(ObjectPath::parse("wb").expect("prefix")),
        Encryption::SseS3,
    ));
    let mut config = Config::default();
    config.project.name = "proj".into();
    config.store.uri = format!("s3://{bucket}/wb");
    config.backend.kind = BackendKind::Sagemaker;
    config.backend.image = Some(IMAGE.into());
    config.aws.role_arn = Some(ROLE.into());
    config.aws.region = Some(region.into());
    let config = LoadedConfig { path: std::path::PathBuf::from("workbench.toml"), config };
    let sdk = if url.is_empty() { moto.sdk_config() } else { scripted_sdk(url, region) };
    let backend = SageMakerBackend::from_sdk_config(&config, store.clone(), &sdk).expect("backend");
    // The scripted server speaks SageMaker only: the workflow's Lambda and Step Functions calls
    // (listed by inventory and clean) go to moto.
    let backend = backend.clone().with_monitoring(fast(backend.monitoring().clone())).with_workflows(
        wb_aws::functions::Functions::from_sdk_config(&moto.sdk_config()),
        wb_aws::state_machines::StateMachines::from_sdk_config(&moto.sdk_config()),
    );
    let now = wb_core::Timestamp::now();
    let record = EndpointRecord {
        name: EndpointName::parse("ep").expect("endpoint"),
        job: JobName::parse("job").expect("job"),
        model_artifact: format!("s3://{bucket}/wb/training/job/output/model.tar.gz"),
        algorithm: "random-forest".into(),
        dataset: wb_core::DatasetName::parse("toy").expect("dataset"),
        fingerprint: ContentHash::parse(&format!("blake3:{}", "0".repeat(64))).expect("hash"),
        variant: "AllTraffic".into(),
        capture: capture.map(|p| CaptureConfig::new(p).expect("capture")),
        backend: BackendKind::Sagemaker,
        created_at: now,
        updated_at: now,
        tags: config.tags(),
    };
    Endpoints::new(store.clone()).record(record).await.expect("endpoint record");
    if baseline {
        for file in ["statistics.json", "constraints.json"] {
            let path = ObjectPath::parse(format!("monitoring/ep/baseline/{file}")).expect("path");
            store.put(&path, bytes::Bytes::from_static(b"{\"version\": 0}")).await.expect("baseline");
        }
    }
    (backend, bucket)
}

fn request() -> MonitoringScheduleRequest {
    MonitoringScheduleRequest::new(EndpointName::parse("ep").expect("endpoint")).expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backend_schedules_an_endpoint_against_its_baseline_in_the_store() {
    let script = Arc::new(Mutex::new(Script::default()));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let (backend, bucket) = backend(&url, "us-east-1", Some(20), true).await;
    assert!(backend.capabilities().scheduled_monitoring);
    let schedule = backend.schedule_monitoring(request()).await.expect("scheduled");
    assert_eq!(schedule.name, "proj-ep-monitoring");
    assert_eq!(schedule.job_definition, "proj-ep-data-quality");
    assert_eq!(schedule.schedule_expression, "cron(0 * ? * * *)");
    assert_eq!(schedule.image, ANALYZER_US_EAST_1, "Model Monitor's analyzer of the region by default");
    assert_eq!(schedule.reports, format!("s3://{bucket}/wb/monitoring/ep/reports"));
    assert!(schedule.id.ends_with(":monitoring-schedule/proj-ep-monitoring"), "{}", schedule.id);

    {
        let s = script.lock().expect("lock");
        let definition = s.body("CreateDataQualityJobDefinition");
        assert_eq!(definition["DataQualityAppSpecification"], json!({ "ImageUri": ANALYZER_US_EAST_1 }));
        assert_eq!(
            definition["DataQualityBaselineConfig"],
            json!({
                "ConstraintsResource": { "S3Uri": format!("s3://{bucket}/wb/monitoring/ep/baseline/constraints.json") },
                "StatisticsResource": { "S3Uri": format!("s3://{bucket}/wb/monitoring/ep/baseline/statistics.json") },
            })
        );
        assert_eq!(definition["DataQualityJobInput"]["EndpointInput"]["EndpointName"], "ep");
        assert_eq!(
            definition["DataQualityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]["S3Uri"],
            format!("s3://{bucket}/wb/monitoring/ep/reports")
        );
        assert_eq!(
            definition["JobResources"],
            json!({ "ClusterConfig": { "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20 } })
        );
        assert_eq!(definition["RoleArn"], ROLE);
        assert_eq!(definition["StoppingCondition"], json!({ "MaxRuntimeInSeconds": 3600 }));
        assert_eq!(definition["Tags"], json!([{ "Key": "workbench:project", "Value": "proj" }]));
        let created = s.body("CreateMonitoringSchedule");
        assert_eq!(created["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"], "proj-ep-data-quality");
        assert_eq!(created["MonitoringScheduleConfig"]["MonitoringType"], "DataQuality");
    }

    // The workbench's own image, from `[backend] image`.
    let byoc = request().analyzer(MonitoringAnalyzer::Container { image: None });
    let schedule = backend.schedule_monitoring(byoc).await.expect("scheduled again");
    assert!(schedule.replaced, "the endpoint's schedule is replaced");
    assert_eq!(schedule.image, IMAGE);
    let s = script.lock().expect("lock");
    let last = s.calls.iter().rev().find(|(op, _)| op == "CreateDataQualityJobDefinition").expect("created");
    assert_eq!(last.1["DataQualityAppSpecification"]["ImageUri"], IMAGE);
    assert_eq!(last.1["DataQualityAppSpecification"]["ContainerArguments"], json!(["monitor"]));
    drop(s);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backend_refuses_what_cannot_be_monitored_before_any_call() {
    let script = Arc::new(Mutex::new(Script::default()));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;

    // A region without Model Monitor's analyzer.
    let (in_nowhere, _) = backend(&url, "xx-nowhere-1", Some(20), true).await;
    let err = in_nowhere.schedule_data_quality(request()).await.expect_err("no analyzer");
    assert!(matches!(&err, Error::NoImage { region, .. } if region == "xx-nowhere-1"), "{err:?}");
    assert!(err.to_string().contains("Model Monitor analyzer") && err.to_string().contains("eu-west-1"), "{err}");
    // ... where a container of one's own still works.
    let own = request().analyzer(MonitoringAnalyzer::Container { image: Some(IMAGE.into()) });
    assert_eq!(in_nowhere.schedule_data_quality(own).await.expect("own analyzer").image, IMAGE);
    script.lock().expect("lock").calls.clear();

    // No baseline yet.
    let (no_baseline, bucket) = backend(&url, "us-east-1", Some(20), false).await;
    let err = no_baseline.schedule_data_quality(request()).await.expect_err("no baseline");
    assert!(matches!(&err, Error::Invalid { field: "baseline", .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("s3://{bucket}/wb/monitoring/ep/baseline/statistics.json")), "{err}");

    // Nothing captured.
    let (no_capture, _) = backend(&url, "us-east-1", None, true).await;
    let err = no_capture.schedule_data_quality(request()).await.expect_err("no capture");
    assert!(matches!(&err, Error::Invalid { field: "endpoint", .. }), "{err:?}");

    // An endpoint the project never deployed.
    let unknown = MonitoringScheduleRequest::new(EndpointName::parse("other").expect("endpoint")).expect("request");
    let err = no_capture.schedule_data_quality(unknown).await.expect_err("unknown endpoint");
    assert!(matches!(&err, Error::Models(wb_models::Error::UnknownEndpoint { .. })), "{err:?}");

    assert!(script.lock().expect("lock").calls.is_empty(), "no SageMaker call was made");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_removes_schedules_then_definitions_then_endpoints() {
    let arn = |kind: &str, name: &str| format!("arn:aws:sagemaker:us-east-1:123456789012:{kind}/{name}");
    let script = Arc::new(Mutex::new(Script {
        schedules: vec!["proj-ep-monitoring".into()],
        lists: BTreeMap::from([
            (
                "ListMonitoringSchedules",
                json!({ "MonitoringScheduleSummaries": [{
                    "MonitoringScheduleName": "proj-ep-monitoring",
                    "MonitoringScheduleArn": arn("monitoring-schedule", "proj-ep-monitoring"),
                    "CreationTime": 1.79e9, "LastModifiedTime": 1.79e9, "MonitoringScheduleStatus": "Scheduled",
                }]}),
            ),
            (
                "ListDataQualityJobDefinitions",
                json!({ "JobDefinitionSummaries": [{
                    "MonitoringJobDefinitionName": "proj-ep-data-quality",
                    "MonitoringJobDefinitionArn": arn("data-quality-job-definition", "proj-ep-data-quality"),
                    "CreationTime": 1.79e9, "EndpointName": "ep",
                }]}),
            ),
            (
                "ListEndpoints",
                json!({ "Endpoints": [{
                    "EndpointName": "ep", "EndpointArn": arn("endpoint", "ep"),
                    "CreationTime": 1.79e9, "LastModifiedTime": 1.79e9, "EndpointStatus": "InService",
                }]}),
            ),
            ("ListTags", json!({ "Tags": [{ "Key": "workbench:project", "Value": "proj" }] })),
        ]),
        ..Script::default()
    }));
    let (url, server) = scripted_sagemaker(Arc::clone(&script)).await;
    let (backend, _) = backend(&url, "us-east-1", Some(20), true).await;

    let kinds = |resources: &[wb_serving::backend::Resource]| -> Vec<String> {
        resources.iter().map(|r| r.kind.clone()).collect()
    };
    let inventory = backend.inventory().await.expect("inventory");
    assert_eq!(kinds(&inventory), ["monitoring-schedule", "data-quality-job-definition", "endpoint"]);
    assert!(
        !script.lock().expect("lock").operations().iter().any(|op| op.starts_with("Delete")),
        "inventory deletes nothing"
    );

    let cleaned = backend.clean(false, None).await.expect("clean");
    assert_eq!(kinds(&cleaned), kinds(&inventory));
    let s = script.lock().expect("lock");
    let deletes: Vec<&str> =
        s.operations().into_iter().filter(|op| op.starts_with("Delete") || op.starts_with("DescribeMon")).collect();
    assert_eq!(
        deletes,
        ["DeleteMonitoringSchedule", "DescribeMonitoringSchedule", "DeleteDataQualityJobDefinition", "DeleteEndpoint"],
        "SageMaker keeps an endpoint while a schedule watches it"
    );
    drop(s);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_inventory_and_clean_against_moto() {
    let (backend, _) = backend("", "us-east-1", Some(20), true).await;
    let schedule = backend.schedule_monitoring(request()).await.expect("scheduled on moto");
    assert!(!schedule.replaced);
    let again = backend.schedule_monitoring(request()).await.expect("scheduled again on moto");
    assert!(again.replaced);

    let inventory = backend.inventory().await.expect("inventory");
    let ours: Vec<(&str, &str)> = inventory
        .iter()
        .filter(|r| r.name.starts_with("proj-ep-"))
        .map(|r| (r.kind.as_str(), r.name.as_str()))
        .collect();
    assert_eq!(
        ours,
        [("monitoring-schedule", "proj-ep-monitoring"), ("data-quality-job-definition", "proj-ep-data-quality")]
    );
    backend.clean(false, None).await.expect("clean");
    assert!(backend.inventory().await.expect("inventory").is_empty(), "nothing is left");
    assert!(backend.clean(false, None).await.expect("again").is_empty());

    // Deleting the endpoint deletes its monitoring first.
    backend.schedule_monitoring(request()).await.expect("scheduled once more");
    let deleted = backend.delete_endpoint(&EndpointName::parse("ep").expect("endpoint")).await.expect("deleted");
    let kinds: Vec<&str> = deleted.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["monitoring-schedule", "data-quality-job-definition"], "no SageMaker endpoint on moto here");
    assert!(backend.inventory().await.expect("inventory").is_empty());
}

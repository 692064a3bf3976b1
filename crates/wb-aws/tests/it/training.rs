//! SageMaker training jobs: what a job carries, against moto (which completes every job at once,
//! replaces metric definitions, drops `Environment` and has no `StopTrainingJob`), and the job's
//! life — progress, failures, stops, throttling, timeouts — against a scripted SageMaker speaking
//! the same wire protocol (awsJson 1.1).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use wb_aws::Error;
use wb_aws::aws_config::retry::RetryConfig;
use wb_aws::aws_config::{BehaviorVersion, Region, SdkConfig};
use wb_aws::aws_sdk_sagemaker::config::{Credentials, SharedCredentialsProvider};
use wb_aws::aws_sdk_sagemaker::types::{S3DataDistribution, S3DataType, TrainingInputMode, TrainingInstanceType};
use wb_aws::testkit::Moto;
use wb_aws::training::{ChannelSpec, TrainedJob, Training, TrainingProgress, TrainingSpec};
use wb_core::JobName;

const ROLE: &str = "arn:aws:iam::123456789012:role/workbench";
const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const IMAGE: &str = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1";

fn spec(job: &str, project: &str) -> TrainingSpec {
    let channel = |uri: &str, content_type: &str| ChannelSpec { s3_uri: uri.into(), content_type: content_type.into() };
    TrainingSpec {
        job: JobName::parse(job).expect("job name"),
        image: IMAGE.into(),
        role_arn: ROLE.into(),
        channels: BTreeMap::from([
            ("train".into(), channel("s3://bucket/wb/datasets/wine/train/", "text/csv")),
            ("validation".into(), channel("s3://bucket/wb/datasets/wine/validation/", "text/csv")),
            ("metadata".into(), channel("s3://bucket/wb/training/meta/", "application/json")),
        ]),
        hyperparameters: BTreeMap::from([
            ("num_round".into(), "50".into()),
            ("objective".into(), "binary:logistic".into()),
            ("max_depth".into(), "5".into()),
        ]),
        instance_type: "ml.m5.xlarge".into(),
        instance_count: 2,
        volume_size_gb: 30,
        max_runtime: Duration::from_secs(3600),
        spot: true,
        output_path: "s3://bucket/wb/training".into(),
        kms_key_id: Some(KMS_KEY.into()),
        environment: BTreeMap::from([("WB_LOG".into(), "debug".into())]),
        metric_definitions: vec![("validation:auc".into(), "validation:auc=([0-9.]+)".into())],
        tags: BTreeMap::from([("workbench:project".into(), project.into()), ("team".into(), "ml".into())]),
    }
}

fn fast(training: Training) -> Training {
    training.poll_interval(Duration::from_millis(5)).timeout(Duration::from_secs(5))
}

fn unique_project() -> String {
    format!("training-{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spec_reaches_sagemaker_and_is_found_by_tag_against_moto() {
    let moto = Moto::shared();
    let training = fast(Training::from_sdk_config(&moto.sdk_config()));
    let client = wb_aws::aws_sdk_sagemaker::Client::new(&moto.sdk_config());
    let project = unique_project();
    let job = format!("{project}-full");
    let spec = spec(&job, &project);

    let arn = training.start(&spec).await.expect("start");
    assert!(arn.ends_with(&format!(":training-job/{job}")), "{arn}");

    // moto completes every job at once.
    let mut seen = Vec::new();
    let trained = training.wait(&job, |p| seen.push(p.clone())).await.expect("completed");
    assert_eq!(trained.name, job);
    assert_eq!(trained.arn, arn);
    assert_eq!(trained.model_artifact, format!("s3://bucket/wb/training/{job}/output/model.tar.gz"));
    assert_eq!(trained.model_artifact, spec.model_artifact());
    assert_eq!(trained.metrics, BTreeMap::from([("train:progress".to_owned(), 100.0)]), "moto's fixed metric");
    assert_eq!(seen.len(), 1, "one report for the one state seen: {seen:?}");
    assert_eq!((seen[0].status.as_str(), seen[0].secondary_status.as_str()), ("Completed", "Completed"));
    assert_eq!(seen[0].job, job);

    // What SageMaker holds.
    let described = client.describe_training_job().training_job_name(&job).send().await.expect("describe");
    let channels: BTreeMap<&str, (&str, &str)> = described
        .input_data_config()
        .iter()
        .map(|c| {
            let s3 = c.data_source().and_then(|d| d.s3_data_source()).expect("S3 source");
            assert_eq!(s3.s3_data_type(), Some(&S3DataType::S3Prefix));
            assert_eq!(s3.s3_data_distribution_type(), Some(&S3DataDistribution::FullyReplicated));
            assert_eq!(c.input_mode(), Some(&TrainingInputMode::File));
            (c.channel_name().expect("name"), (s3.s3_uri().expect("uri"), c.content_type().expect("content type")))
        })
        .collect();
    assert_eq!(
        channels,
        BTreeMap::from([
            ("metadata", ("s3://bucket/wb/training/meta/", "application/json")),
            ("train", ("s3://bucket/wb/datasets/wine/train/", "text/csv")),
            ("validation", ("s3://bucket/wb/datasets/wine/validation/", "text/csv")),
        ])
    );
    let hyperparameters: BTreeMap<String, String> =
        described.hyper_parameters().expect("hyperparameters").clone().into_iter().collect();
    assert_eq!(hyperparameters, spec.hyperparameters);
    assert_eq!(described.role_arn(), Some(ROLE));
    assert_eq!(described.algorithm_specification().and_then(|a| a.training_image()), Some(IMAGE));
    let resources = described.resource_config().expect("resources");
    assert_eq!(resources.instance_type(), Some(&TrainingInstanceType::MlM5Xlarge));
    assert_eq!((resources.instance_count(), resources.volume_size_in_gb()), (Some(2), Some(30)));
    assert_eq!(resources.volume_kms_key_id(), Some(KMS_KEY));
    let stopping = described.stopping_condition().expect("stopping condition");
    assert_eq!(stopping.max_runtime_in_seconds(), Some(3600));
    assert_eq!(stopping.max_wait_time_in_seconds(), Some(7200), "spot jobs may wait twice the runtime");
    assert_eq!(described.enable_managed_spot_training(), Some(true));
    assert_eq!(
        described.checkpoint_config().and_then(|c| c.s3_uri()),
        Some(format!("s3://bucket/wb/training/{job}/checkpoints").as_str())
    );
    let output = described.output_data_config().expect("output");
    assert_eq!((output.s3_output_path(), output.kms_key_id()), (Some("s3://bucket/wb/training"), Some(KMS_KEY)));
    let tags = client.list_tags().resource_arn(&arn).send().await.expect("tags");
    let tags: BTreeMap<&str, &str> = tags.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))).collect();
    assert_eq!(tags, BTreeMap::from([("team", "ml"), ("workbench:project", project.as_str())]));

    // Found by tag alone; nothing to stop (moto has no StopTrainingJob, so none may be sent).
    let tagged = training.tagged("workbench:project", &project).await.expect("tagged");
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(
        (tagged[0].kind, tagged[0].name.as_str(), tagged[0].arn.as_str()),
        ("training-job", job.as_str(), arn.as_str())
    );
    assert!(training.tagged("workbench:project", &format!("{project}-other")).await.expect("tagged").is_empty());
    assert!(training.stop_tagged("workbench:project", &project).await.expect("stop tagged").is_empty());

    // A bad spec makes no call.
    for (field, breaks) in [
        ("role", (|s: &mut TrainingSpec| s.role_arn = "workbench".into()) as fn(&mut TrainingSpec)),
        ("instance type", |s| s.instance_type = "m5.xlarge".into()),
    ] {
        let bad_job = format!("{project}-bad");
        let mut bad = self::spec(&bad_job, &project);
        breaks(&mut bad);
        let err = training.start(&bad).await.expect_err(field);
        assert!(matches!(&err, Error::Invalid { field: f, .. } if *f == field), "{err}");
        let missing = client.describe_training_job().training_job_name(&bad_job).send().await;
        assert!(missing.is_err(), "{field}: no job was created");
        assert_eq!(training.tagged("workbench:project", &project).await.expect("tagged").len(), 1);
    }

    // Waiting for a job SageMaker does not know.
    let err = training.wait(&format!("{project}-never"), |_| {}).await.expect_err("unknown job");
    assert!(matches!(&err, Error::TrainingFailed { reason, .. } if reason == "it no longer exists"), "{err}");
}

/// A `DescribeTrainingJob` answer of the scripted SageMaker.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// A job in `status` / `secondary status`, with a failure reason.
    Job(&'static str, &'static str, Option<&'static str>),
    /// A 400 error with this code and message.
    Error(&'static str, &'static str),
}

/// A job `ListTrainingJobs` and `ListTags` know: name, status, tags.
type Listed = (&'static str, &'static str, Vec<(&'static str, &'static str)>);

const THROTTLED: Answer = Answer::Error("ThrottlingException", "Rate exceeded");

/// A scripted SageMaker (awsJson 1.1: `POST /` with `X-Amz-Target: SageMaker.<Operation>`).
#[derive(Default)]
struct Script {
    /// `DescribeTrainingJob` answers in turn (the last one repeats).
    describes: Vec<Answer>,
    /// The answers once `StopTrainingJob` was received (the last one repeats).
    after_stop: Vec<Answer>,
    /// An error `CreateTrainingJob` answers with.
    create_error: Option<(&'static str, &'static str)>,
    /// An error `StopTrainingJob` answers with.
    stop_error: Option<(&'static str, &'static str)>,
    /// Jobs `ListTrainingJobs` and `ListTags` know: name, status, tags.
    listed: Vec<Listed>,
    /// Operations received, in order, with their request bodies.
    calls: Vec<(String, serde_json::Value)>,
    described: usize,
    described_after_stop: usize,
    stopped: bool,
}

impl Script {
    fn operations(&self) -> Vec<&str> {
        self.calls.iter().map(|(op, _)| op.as_str()).collect()
    }

    fn body(&self, operation: &str) -> serde_json::Value {
        self.calls.iter().find(|(op, _)| op == operation).map(|(_, b)| b.clone()).expect(operation)
    }
}

fn arn(job: &str) -> String {
    format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}")
}

fn error(code: &str, message: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, serde_json::json!({ "__type": code, "message": message }).to_string())
}

fn describe_job(job: &str, status: &str, secondary: &str, failure: Option<&str>) -> serde_json::Value {
    let mut body = serde_json::json!({
        "TrainingJobName": job,
        "TrainingJobArn": arn(job),
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": { "TrainingImage": IMAGE, "TrainingInputMode": "File" },
        "ResourceConfig": { "InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10 },
        "StoppingCondition": { "MaxRuntimeInSeconds": 3600 },
        "CreationTime": 1.79e9,
        "LastModifiedTime": 1.79e9,
        "SecondaryStatusTransitions": [
            { "Status": secondary, "StartTime": 1.79e9, "StatusMessage": format!("{secondary} step") }
        ],
    });
    if let Some(reason) = failure {
        body["FailureReason"] = reason.into();
    }
    if status == "Completed" {
        body["ModelArtifacts"] =
            serde_json::json!({ "S3ModelArtifacts": format!("s3://bucket/wb/training/{job}/output/model.tar.gz") });
        body["FinalMetricDataList"] = serde_json::json!([
            { "MetricName": "validation:auc", "Value": 0.95, "Timestamp": 1.79e9 },
            { "MetricName": "train:auc", "Value": 0.97, "Timestamp": 1.79e9 },
        ]);
        body["TrainingTimeInSeconds"] = 120.into();
        body["BillableTimeInSeconds"] = 48.into();
    }
    body
}

async fn scripted_sagemaker(script: Script) -> (Arc<Mutex<Script>>, String, tokio::task::JoinHandle<()>) {
    let script = Arc::new(Mutex::new(script));
    let shared = Arc::clone(&script);
    let handler = move |headers: HeaderMap, body: String| {
        let script = Arc::clone(&shared);
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let operation = target.trim_start_matches("SageMaker.").to_owned();
            let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let job = body["TrainingJobName"].as_str().unwrap_or_default().to_owned();
            let mut s = script.lock().expect("lock");
            s.calls.push((operation.clone(), body.clone()));
            let ok = |body: serde_json::Value| (StatusCode::OK, body.to_string());
            match operation.as_str() {
                "CreateTrainingJob" => match s.create_error {
                    Some((code, message)) => error(code, message),
                    None => ok(serde_json::json!({ "TrainingJobArn": arn(&job) })),
                },
                "DescribeTrainingJob" => {
                    let answer = if s.stopped && !s.after_stop.is_empty() {
                        let i = s.described_after_stop.min(s.after_stop.len() - 1);
                        s.described_after_stop += 1;
                        s.after_stop[i]
                    } else if s.describes.is_empty() {
                        Answer::Error("ValidationException", "Could not find training job")
                    } else {
                        let i = s.described.min(s.describes.len() - 1);
                        s.described += 1;
                        s.describes[i]
                    };
                    match answer {
                        Answer::Job(status, secondary, failure) => ok(describe_job(&job, status, secondary, failure)),
                        Answer::Error(code, message) => error(code, message),
                    }
                }
                "StopTrainingJob" => match s.stop_error {
                    Some((code, message)) => error(code, message),
                    None => {
                        s.stopped = true;
                        ok(serde_json::json!({}))
                    }
                },
                "ListTrainingJobs" => {
                    let wanted = body["StatusEquals"].as_str();
                    let summaries: Vec<_> = s
                        .listed
                        .iter()
                        .filter(|(_, status, _)| wanted.is_none_or(|w| w == *status))
                        .map(|(name, status, _)| {
                            serde_json::json!({
                                "TrainingJobName": name, "TrainingJobArn": arn(name),
                                "CreationTime": 1.79e9, "TrainingJobStatus": status,
                            })
                        })
                        .collect();
                    ok(serde_json::json!({ "TrainingJobSummaries": summaries }))
                }
                "ListTags" => {
                    let resource = body["ResourceArn"].as_str().unwrap_or_default();
                    let tags: Vec<_> = s
                        .listed
                        .iter()
                        .filter(|(name, _, _)| arn(name) == resource)
                        .flat_map(|(_, _, tags)| tags.iter().map(|(k, v)| serde_json::json!({ "Key": k, "Value": v })))
                        .collect();
                    ok(serde_json::json!({ "Tags": tags }))
                }
                _ => error("UnknownOperationException", "not scripted"),
            }
        }
    };
    let app = axum::Router::new().route("/", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (script, url, task)
}

/// An SDK configuration for the scripted SageMaker: test credentials, `us-east-1`, `retry`.
fn scripted_sdk(url: &str, retry: RetryConfig) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "scripted",
        )))
        .retry_config(retry)
        .build()
}

fn scripted_training(url: &str) -> Training {
    fast(Training::from_sdk_config(&scripted_sdk(url, RetryConfig::disabled())))
}

fn states(seen: &[TrainingProgress]) -> Vec<(&str, &str)> {
    seen.iter().map(|p| (p.status.as_str(), p.secondary_status.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_follows_each_state_to_completion_with_metrics() {
    let (script, url, server) = scripted_sagemaker(Script {
        describes: vec![
            Answer::Job("InProgress", "Starting", None),
            Answer::Job("InProgress", "Starting", None),
            Answer::Job("InProgress", "Downloading", None),
            Answer::Job("InProgress", "Training", None),
            Answer::Job("InProgress", "Training", None),
            Answer::Job("InProgress", "Uploading", None),
            Answer::Job("Completed", "Completed", None),
        ],
        ..Script::default()
    })
    .await;
    let training = scripted_training(&url);
    let mut seen = Vec::new();
    let trained: TrainedJob =
        training.run(&spec("wine-1", "p"), |p| seen.push(p.clone()), std::future::pending()).await.expect("completed");

    assert_eq!(
        states(&seen),
        [
            ("InProgress", "Starting"),
            ("InProgress", "Downloading"),
            ("InProgress", "Training"),
            ("InProgress", "Uploading"),
            ("Completed", "Completed")
        ],
        "each change reported once, in order"
    );
    assert_eq!(seen[2].message.as_deref(), Some("Training step"), "the latest transition's message");
    assert!(seen.windows(2).all(|w| w[0].elapsed <= w[1].elapsed), "elapsed only grows");
    assert!(seen.iter().all(|p| p.job == "wine-1"));
    assert_eq!(trained.name, "wine-1");
    assert_eq!(trained.arn, arn("wine-1"));
    assert_eq!(trained.model_artifact, "s3://bucket/wb/training/wine-1/output/model.tar.gz");
    assert_eq!(trained.metrics, BTreeMap::from([("train:auc".to_owned(), 0.97), ("validation:auc".to_owned(), 0.95)]));
    assert_eq!((trained.training_seconds, trained.billable_seconds), (Some(120), Some(48)));

    // What went over the wire, including what moto drops or replaces.
    let s = script.lock().expect("lock");
    assert_eq!(s.operations().iter().filter(|op| **op == "DescribeTrainingJob").count(), 7);
    let create = s.body("CreateTrainingJob");
    assert_eq!(create["TrainingJobName"], "wine-1");
    assert_eq!(create["Environment"], serde_json::json!({ "WB_LOG": "debug" }));
    assert_eq!(
        create["AlgorithmSpecification"]["MetricDefinitions"],
        serde_json::json!([{ "Name": "validation:auc", "Regex": "validation:auc=([0-9.]+)" }])
    );
    assert_eq!(create["AlgorithmSpecification"]["TrainingInputMode"], "File");
    assert_eq!(create["EnableManagedSpotTraining"], true);
    assert_eq!(
        create["StoppingCondition"],
        serde_json::json!({ "MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200 })
    );
    assert_eq!(create["InputDataConfig"].as_array().map(Vec::len), Some(3));
    drop(s);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_says_why() {
    let reason = "AlgorithmError: framework error: XGBoostError: label must be in [0,1] for logistic regression";
    let (_script, url, server) = scripted_sagemaker(Script {
        describes: vec![Answer::Job("InProgress", "Training", None), Answer::Job("Failed", "Failed", Some(reason))],
        ..Script::default()
    })
    .await;
    let mut seen = Vec::new();
    let err = scripted_training(&url).wait("wine-2", |p| seen.push(p.clone())).await.expect_err("failed");
    assert!(
        matches!(&err, Error::TrainingFailed { job, status, reason: r } if job == "wine-2" && status == "Failed" && r == reason),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("\"wine-2\"") && text.contains(reason), "{text}");
    assert_eq!(states(&seen), [("InProgress", "Training"), ("Failed", "Failed")]);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_the_job_and_waits_until_it_is_stopped() {
    let (script, url, server) = scripted_sagemaker(Script {
        describes: vec![Answer::Job("InProgress", "Training", None)],
        after_stop: vec![
            Answer::Job("Stopping", "Stopping", None),
            Answer::Job("Stopping", "Stopping", None),
            Answer::Job("Stopped", "Stopped", None),
        ],
        ..Script::default()
    })
    .await;
    let first_poll = Arc::new(tokio::sync::Notify::new());
    let notify = Arc::clone(&first_poll);
    let mut seen = Vec::new();
    let err = scripted_training(&url)
        .run(
            &spec("wine-3", "p"),
            |p| {
                seen.push(p.clone());
                notify.notify_one();
            },
            async move { first_poll.notified().await },
        )
        .await
        .expect_err("stopped");
    assert!(
        matches!(&err, Error::TrainingFailed { job, status, reason } if job == "wine-3" && status == "Stopped" && reason == "stopped on request"),
        "{err:?}"
    );
    assert_eq!(states(&seen), [("InProgress", "Training"), ("Stopping", "Stopping"), ("Stopped", "Stopped")]);
    let s = script.lock().expect("lock");
    let ops = s.operations();
    assert_eq!(&ops[..3], ["CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"], "{ops:?}");
    assert_eq!(ops[3..], ["DescribeTrainingJob"; 3], "followed until Stopped: {ops:?}");
    assert_eq!(s.body("StopTrainingJob")["TrainingJobName"], "wine-3");
    drop(s);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_by_the_sdk_when_retries_are_on() {
    let (script, url, server) = scripted_sagemaker(Script {
        describes: vec![
            Answer::Job("InProgress", "Training", None),
            THROTTLED,
            THROTTLED,
            Answer::Job("Completed", "Completed", None),
        ],
        ..Script::default()
    })
    .await;
    let retry = RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1));
    let training = fast(Training::from_sdk_config(&scripted_sdk(&url, retry)));
    let trained = training.wait("wine-4", |_| {}).await.expect("completed despite throttling");
    assert_eq!(trained.metrics.get("validation:auc"), Some(&0.95));
    assert_eq!(script.lock().expect("lock").operations(), ["DescribeTrainingJob"; 4], "two throttled attempts");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_surfaces_as_a_sagemaker_error_without_retries() {
    let (script, url, server) = scripted_sagemaker(Script {
        describes: vec![Answer::Job("InProgress", "Training", None), THROTTLED],
        ..Script::default()
    })
    .await;
    let err = scripted_training(&url).wait("wine-5", |_| {}).await.expect_err("throttled");
    assert!(
        matches!(&err, Error::SageMaker { operation: "DescribeTrainingJob", resource, code, message }
            if resource == "wine-5" && code == "ThrottlingException" && message == "Rate exceeded"),
        "{err:?}"
    );
    assert_eq!(script.lock().expect("lock").operations(), ["DescribeTrainingJob"; 2], "no retry");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_does_not_end_in_time_is_a_timeout() {
    let (script, url, server) = scripted_sagemaker(Script {
        describes: vec![Answer::Job("InProgress", "Training", None)],
        ..Script::default()
    })
    .await;
    let training = scripted_training(&url).timeout(Duration::from_millis(60));
    let started = std::time::Instant::now();
    let err = training.wait("wine-6", |_| {}).await.expect_err("timeout");
    assert!(
        matches!(&err, Error::TrainingTimeout { job, waited } if job == "wine-6" && *waited >= Duration::from_millis(50)),
        "{err:?}"
    );
    assert!(err.to_string().contains("still running"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "bounded");
    let polls = script.lock().expect("lock").operations().len();
    assert!(polls >= 3, "it kept polling until the timeout: {polls}");
    assert!(!script.lock().expect("lock").operations().contains(&"StopTrainingJob"), "a timeout does not stop the job");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_job_name_is_a_clear_error() {
    let (script, url, server) = scripted_sagemaker(Script {
        create_error: Some(("ResourceInUse", "Training job names must be unique within an AWS account and region")),
        ..Script::default()
    })
    .await;
    let err =
        scripted_training(&url).run(&spec("wine-7", "p"), |_| {}, std::future::pending()).await.expect_err("taken");
    assert!(
        matches!(&err, Error::SageMaker { operation: "CreateTrainingJob", code, .. } if code == "ResourceInUse"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("\"wine-7\" already exists") && text.contains("choose another name"), "{text}");
    assert_eq!(script.lock().expect("lock").operations(), ["CreateTrainingJob"], "nothing after the refusal");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_an_ended_job_is_harmless_but_an_unknown_one_is_not() {
    let (_script, url, server) = scripted_sagemaker(Script {
        stop_error: Some((
            "ValidationException",
            "The request was rejected because the training job is in status Completed.",
        )),
        ..Script::default()
    })
    .await;
    scripted_training(&url).stop("wine-8").await.expect("already ended: nothing to do");
    server.abort();

    let (_script, url, server) = scripted_sagemaker(Script {
        stop_error: Some(("ValidationException", "Could not find training job 'wine-9'")),
        ..Script::default()
    })
    .await;
    let err = scripted_training(&url).stop("wine-9").await.expect_err("unknown job");
    assert!(
        matches!(&err, Error::SageMaker { operation: "StopTrainingJob", resource, .. } if resource == "wine-9"),
        "{err:?}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_tagged_stops_only_the_projects_running_jobs() {
    let (script, url, server) = scripted_sagemaker(Script {
        listed: vec![
            ("p-running", "InProgress", vec![("workbench:project", "p")]),
            ("p-done", "Completed", vec![("workbench:project", "p")]),
            ("q-running", "InProgress", vec![("workbench:project", "q")]),
            ("untagged", "InProgress", vec![]),
        ],
        ..Script::default()
    })
    .await;
    let training = scripted_training(&url);
    let tagged = training.tagged("workbench:project", "p").await.expect("tagged");
    assert_eq!(tagged.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["p-running", "p-done"]);
    assert!(tagged.iter().all(|r| r.kind == "training-job"));

    let stopped = training.stop_tagged("workbench:project", "p").await.expect("stop tagged");
    assert_eq!(stopped.len(), 1);
    assert_eq!((stopped[0].name.as_str(), stopped[0].arn.as_str()), ("p-running", arn("p-running").as_str()));
    let s = script.lock().expect("lock");
    let stops: Vec<&str> = s
        .calls
        .iter()
        .filter(|(op, _)| op == "StopTrainingJob")
        .filter_map(|(_, body)| body["TrainingJobName"].as_str())
        .collect();
    assert_eq!(stops, ["p-running"], "only the project's job still in progress");
    drop(s);
    server.abort();
}

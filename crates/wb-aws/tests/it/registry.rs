//! The SageMaker model registry mirror: registration, listing, promotion and tags against moto,
//! deletion against moto with the two operations the test kit adds to it (`DeleteModelPackage`,
//! `DeleteModelPackageGroup`), and the exact calls, their order and refused
//! calls against a scripted SageMaker speaking the same wire protocol (awsJson 1.1).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use wb_aws::Error;
use wb_aws::aws_sdk_sagemaker::Client;
use wb_aws::aws_sdk_sagemaker::config::retry::RetryConfig;
use wb_aws::aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use wb_aws::aws_sdk_sagemaker::types::ModelApprovalStatus;
use wb_aws::registry::{ModelPackage, ModelPackages, PackageSpec};
use wb_aws::testkit::Moto;
use wb_core::ModelName;

const PROJECT_TAG: &str = "workbench:project";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:1";

fn model(name: &str) -> ModelName {
    ModelName::parse(name).expect("model name")
}

/// A unique project name (also its group name), `reg-<12 hex digits>`.
fn unique_project() -> String {
    format!("reg-{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

fn spec(group: &str, name: &str, rmse: f64) -> PackageSpec {
    PackageSpec {
        group: group.into(),
        model: model(name),
        description: format!("{name} on wine-quality"),
        image: IMAGE.into(),
        model_data_url: format!("s3://bucket/wb/training/{name}/output/model.tar.gz"),
        content_types: vec!["text/csv".into()],
        response_types: vec!["text/csv".into(), "application/json".into()],
        metrics: BTreeMap::from([("rmse".into(), rmse), ("r2".into(), 0.25)]),
        metadata: BTreeMap::from([
            ("dataset".into(), "wine-quality".into()),
            ("partition".into(), "sha256:0123abcd".into()),
            ("job".into(), format!("{name}-job")),
        ]),
        tags: BTreeMap::from([(PROJECT_TAG.into(), group.into())]),
    }
}

/// The three ways a spec can be bad that the brief names, each with the field it must name.
fn bad_specs(group: &str) -> Vec<(&'static str, PackageSpec)> {
    let mut bad_group = spec(group, "bad", 1.0);
    bad_group.group = "bad_group".into();
    let mut many_metrics = spec(group, "bad", 1.0);
    many_metrics.metrics = (0..50).map(|i| (format!("m{i}"), f64::from(i))).collect();
    let mut not_s3 = spec(group, "bad", 1.0);
    not_s3.model_data_url = "https://example.com/model.tar.gz".into();
    vec![("group", bad_group), ("metadata", many_metrics), ("model data", not_s3)]
}

fn approvals(packages: &[ModelPackage]) -> Vec<(Option<i32>, &str)> {
    packages.iter().map(|p| (p.version, p.approval.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_list_find_promote_and_find_by_tag_against_moto() {
    let moto = Moto::shared();
    let packages = ModelPackages::from_sdk_config(&moto.sdk_config());
    let client = Client::new(&moto.sdk_config());
    let group = unique_project();
    let (forest, linear) = (model("wine-forest"), model("wine-linear"));

    // A fresh group knows nothing.
    assert!(packages.list(&group).await.expect("list of a missing group").is_empty());
    assert!(packages.find(&group, &forest).await.expect("find").is_none());

    let a = packages.register(&spec(&group, "wine-forest", 0.61)).await.expect("register forest");
    let b = packages.register(&spec(&group, "wine-linear", 0.7)).await.expect("register linear");
    assert_eq!((a.version, b.version), (Some(1), Some(2)), "versions in registration order");
    assert_eq!(a.approval, "PendingManualApproval");
    assert_eq!(a.model.as_deref(), Some("wine-forest"));
    assert!(a.arn.ends_with("/1") && a.arn.contains(":model-package/"), "{}", a.arn);

    // The group exists once, tagged with the project.
    let group_arn = packages.ensure_group(&group, "ignored", &BTreeMap::new()).await.expect("ensure existing group");
    let group_tags = client.list_tags().resource_arn(&group_arn).send().await.expect("group tags");
    assert!(
        group_tags.tags().iter().any(|t| t.key() == Some(PROJECT_TAG) && t.value() == Some(group.as_str())),
        "the group carries the project tag: {:?}",
        group_tags.tags()
    );
    let described_group =
        client.describe_model_package_group().model_package_group_name(&group).send().await.expect("group");
    assert_eq!(
        described_group.model_package_group_description(),
        Some(format!("Models of the workbench project {group}").as_str())
    );

    // What SageMaker holds for the first package.
    let d = client.describe_model_package().model_package_name(&a.arn).send().await.expect("describe");
    let inference = d.inference_specification().expect("inference specification");
    let container = &inference.containers()[0];
    assert_eq!(container.image(), Some(IMAGE));
    assert_eq!(container.model_data_url(), Some("s3://bucket/wb/training/wine-forest/output/model.tar.gz"));
    assert_eq!(inference.supported_content_types(), ["text/csv"]);
    assert_eq!(inference.supported_response_mime_types(), ["text/csv", "application/json"]);
    assert_eq!(d.model_approval_status().map(ModelApprovalStatus::as_str), Some("PendingManualApproval"));
    assert_eq!(d.model_package_description(), Some("wine-forest on wine-quality"));
    let props: BTreeMap<&str, &str> =
        d.customer_metadata_properties().expect("metadata").iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        props,
        BTreeMap::from([
            ("workbench:model", "wine-forest"),
            ("metric:rmse", "0.61"),
            ("metric:r2", "0.25"),
            ("dataset", "wine-quality"),
            ("partition", "sha256:0123abcd"),
            ("job", "wine-forest-job"),
        ])
    );

    // `list` gives both, oldest first, with the metrics parsed back.
    let listed = packages.list(&group).await.expect("list");
    assert_eq!(listed, [a.clone(), b.clone()], "list returns what register returned");
    assert_eq!(listed[0].metrics, BTreeMap::from([("rmse".into(), 0.61), ("r2".into(), 0.25)]));
    assert_eq!(listed[1].group, group);

    // `find` picks the newest package of the model.
    let a2 = packages.register(&spec(&group, "wine-forest", 0.55)).await.expect("re-register forest");
    assert_eq!(a2.version, Some(3));
    assert_eq!(packages.find(&group, &forest).await.expect("find forest").map(|p| p.arn), Some(a2.arn.clone()));
    assert_eq!(packages.find(&group, &linear).await.expect("find linear").map(|p| p.arn), Some(b.arn.clone()));
    assert!(packages.find(&group, &model("wine-other")).await.expect("find other").is_none());

    // Promote linear, then forest: forest's newest package is the only approved one.
    let promoted = packages.promote(&group, &linear, "first promotion").await.expect("promote linear");
    assert_eq!((promoted.arn.as_str(), promoted.approval.as_str()), (b.arn.as_str(), "Approved"));
    let promoted = packages.promote(&group, &forest, "better rmse").await.expect("promote forest");
    assert_eq!((promoted.arn.as_str(), promoted.approval.as_str()), (a2.arn.as_str(), "Approved"));
    let listed = packages.list(&group).await.expect("list after promotions");
    assert_eq!(
        approvals(&listed),
        [(Some(1), "PendingManualApproval"), (Some(2), "PendingManualApproval"), (Some(3), "Approved")],
        "the promoted package is the only approved one"
    );
    let approved = client.describe_model_package().model_package_name(&a2.arn).send().await.expect("describe");
    assert_eq!(approved.approval_description(), Some("better rmse"));
    let demoted = client.describe_model_package().model_package_name(&b.arn).send().await.expect("describe");
    assert_eq!(demoted.approval_description(), Some("superseded by wine-forest (version 3)"));
    // Updates keep the packages' metadata: the demoted package is still found as its model.
    assert_eq!(listed[1].model.as_deref(), Some("wine-linear"));
    assert_eq!(listed[1].metrics.get("rmse"), Some(&0.7));

    // `approve` is the low-level step; a later promotion demotes what it approved.
    packages.approve(&a.arn, "approved by hand").await.expect("approve");
    assert_eq!(approvals(&packages.list(&group).await.expect("list"))[0], (Some(1), "Approved"));
    packages.promote(&group, &forest, "again").await.expect("promote forest again");
    assert_eq!(
        approvals(&packages.list(&group).await.expect("list")),
        [(Some(1), "PendingManualApproval"), (Some(2), "PendingManualApproval"), (Some(3), "Approved")]
    );
    let err = packages.promote(&group, &model("wine-other"), "x").await.expect_err("unregistered model");
    assert!(matches!(&err, Error::Invalid { field: "model", .. }), "{err}");

    // Found by tag alone, packages first.
    let tagged = packages.tagged(PROJECT_TAG, &group).await.expect("tagged");
    let found: Vec<(&str, &str)> = tagged.iter().map(|r| (r.kind, r.name.as_str())).collect();
    let (g1, g2, g3) = (format!("{group}/1"), format!("{group}/2"), format!("{group}/3"));
    assert_eq!(
        found,
        [
            ("model-package", g1.as_str()),
            ("model-package", g2.as_str()),
            ("model-package", g3.as_str()),
            ("model-package-group", group.as_str())
        ]
    );
    assert_eq!(tagged[0].arn, a.arn);
    assert_eq!(tagged[3].arn, group_arn);
    assert!(packages.tagged(PROJECT_TAG, &unique_project()).await.expect("tagged").is_empty());

    // Bad specs create nothing.
    for (field, bad) in bad_specs(&group) {
        let err = packages.register(&bad).await.expect_err(field);
        assert!(matches!(&err, Error::Invalid { field: f, .. } if *f == field), "{field}: {err}");
    }
    assert_eq!(packages.list(&group).await.expect("list").len(), 3, "no package was added");

    // moto 5.2.5 has no DeleteModelPackage nor DeleteModelPackageGroup; the test kit adds both
    // (state only). The order of the calls is proved against the scripted SageMaker below.
    let deleted = packages.delete_group(&group).await.expect("delete the group");
    let kinds: Vec<&str> = deleted.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["model-package", "model-package", "model-package", "model-package-group"], "{deleted:?}");
    assert!(packages.list(&group).await.expect("list").is_empty());
    assert!(packages.tagged(PROJECT_TAG, &group).await.expect("tagged").is_empty(), "nothing tagged is left");
    assert!(packages.delete_group(&group).await.expect("again").is_empty(), "deleting twice is harmless");
}

/// `calls` with each run of consecutive `DescribeModelPackage` calls sorted.
fn in_order_but_concurrent_describes(mut calls: Vec<String>) -> Vec<String> {
    let mut start = 0;
    while start < calls.len() {
        let run = calls[start..].iter().take_while(|c| c.starts_with("DescribeModelPackage ")).count();
        calls[start..start + run].sort();
        start += run.max(1);
    }
    calls
}

// ---------------------------------------------------------------------------------------------
// A scripted SageMaker model registry (awsJson 1.1: `POST /` with `X-Amz-Target:
// SageMaker.<Operation>`, JSON bodies, timestamps as epoch seconds).

#[derive(Clone, Debug)]
struct Package {
    arn: String,
    group: String,
    version: i64,
    approval: String,
    approval_description: Option<String>,
    properties: serde_json::Map<String, Value>,
}

#[derive(Default)]
struct Registry {
    /// Group name → (ARN, tags).
    groups: BTreeMap<String, (String, Vec<Value>)>,
    next_version: HashMap<String, i64>,
    packages: Vec<Package>,
    /// An error `CreateModelPackage` answers with: (code, message).
    create_package_error: Option<(&'static str, &'static str)>,
    /// Page size of the list operations (they paginate with `NextToken`).
    page: usize,
    /// `<Operation> <subject>` of each request, in order.
    calls: Vec<String>,
    /// The request bodies, by operation, in order.
    bodies: Vec<(String, Value)>,
}

impl Registry {
    fn with_page(page: usize) -> Self {
        Self { page, ..Self::default() }
    }

    fn ops(&self) -> Vec<String> {
        self.calls.clone()
    }

    fn bodies_of(&self, operation: &str) -> Vec<Value> {
        self.bodies.iter().filter(|(op, _)| op == operation).map(|(_, b)| b.clone()).collect()
    }
}

const ACCOUNT_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012";
const NOW: f64 = 1_790_000_000.5;

fn short(arn: &str) -> &str {
    arn.rsplit_once(":model-package/").map_or(arn, |(_, s)| s)
}

fn error(code: &str, message: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, json!({ "__type": code, "message": message }).to_string())
}

fn page<T: Clone>(items: &[T], body: &Value, size: usize) -> (Vec<T>, Option<String>) {
    let start: usize = body["NextToken"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    (items[start.min(end)..end].to_vec(), next)
}

fn answer(r: &mut Registry, operation: &str, body: &Value) -> (StatusCode, String) {
    let ok = |v: Value| (StatusCode::OK, v.to_string());
    let str_of = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
    match operation {
        "DescribeModelPackageGroup" => {
            let name = str_of("ModelPackageGroupName");
            match r.groups.get(&name) {
                Some((arn, _)) => ok(json!({
                    "ModelPackageGroupName": name, "ModelPackageGroupArn": arn, "CreationTime": NOW,
                    "ModelPackageGroupStatus": "Completed", "CreatedBy": {},
                })),
                None => error(
                    "ValidationException",
                    &format!("ModelPackageGroup {ACCOUNT_ARN}:model-package-group/{name} does not exist."),
                ),
            }
        }
        "CreateModelPackageGroup" => {
            let name = str_of("ModelPackageGroupName");
            let arn = format!("{ACCOUNT_ARN}:model-package-group/{}", name.to_lowercase());
            let tags = body["Tags"].as_array().cloned().unwrap_or_default();
            r.groups.insert(name, (arn.clone(), tags));
            ok(json!({ "ModelPackageGroupArn": arn }))
        }
        "CreateModelPackage" => {
            if let Some((code, message)) = r.create_package_error {
                return error(code, message);
            }
            let group = str_of("ModelPackageGroupName");
            if !r.groups.contains_key(&group) {
                return error("ValidationException", "Model Package Group does not exist.");
            }
            let version = r.next_version.entry(group.clone()).or_insert(0);
            *version += 1;
            let arn = format!("{ACCOUNT_ARN}:model-package/{}/{version}", group.to_lowercase());
            r.packages.push(Package {
                arn: arn.clone(),
                group,
                version: *version,
                approval: str_of("ModelApprovalStatus"),
                approval_description: None,
                properties: body["CustomerMetadataProperties"].as_object().cloned().unwrap_or_default(),
            });
            ok(json!({ "ModelPackageArn": arn }))
        }
        "ListModelPackages" => {
            let group = str_of("ModelPackageGroupName");
            let all: Vec<Package> = r.packages.iter().filter(|p| p.group == group).cloned().collect();
            let (items, next) = page(&all, body, r.page);
            let summaries: Vec<Value> = items
                .iter()
                .map(|p| {
                    json!({
                        "ModelPackageGroupName": p.group, "ModelPackageVersion": p.version,
                        "ModelPackageArn": p.arn, "CreationTime": NOW, "ModelPackageStatus": "Completed",
                        "ModelApprovalStatus": p.approval,
                    })
                })
                .collect();
            ok(json!({ "ModelPackageSummaryList": summaries, "NextToken": next }))
        }
        "DescribeModelPackage" => {
            let arn = str_of("ModelPackageName");
            match r.packages.iter().find(|p| p.arn == arn) {
                Some(p) => ok(json!({
                    "ModelPackageName": p.group, "ModelPackageGroupName": p.group, "ModelPackageVersion": p.version,
                    "ModelPackageArn": p.arn, "CreationTime": NOW, "ModelPackageStatus": "Completed",
                    "ModelApprovalStatus": p.approval, "ApprovalDescription": p.approval_description,
                    "CustomerMetadataProperties": p.properties,
                })),
                None => error("ValidationException", &format!("Model package {arn} does not exist.")),
            }
        }
        "UpdateModelPackage" => {
            let arn = str_of("ModelPackageArn");
            let Some(p) = r.packages.iter_mut().find(|p| p.arn == arn) else {
                return error("ValidationException", &format!("Model package {arn} does not exist."));
            };
            // As SageMaker does: only what is given changes, and properties are merged.
            if let Some(status) = body["ModelApprovalStatus"].as_str() {
                p.approval = status.to_owned();
            }
            p.approval_description = body["ApprovalDescription"].as_str().map(str::to_owned);
            if let Some(props) = body["CustomerMetadataProperties"].as_object() {
                p.properties.extend(props.clone());
            }
            ok(json!({ "ModelPackageArn": arn }))
        }
        "DeleteModelPackage" => {
            let arn = str_of("ModelPackageName");
            let before = r.packages.len();
            r.packages.retain(|p| p.arn != arn);
            if r.packages.len() == before {
                return error("ValidationException", &format!("Model package {arn} does not exist."));
            }
            ok(json!({}))
        }
        "DeleteModelPackageGroup" => {
            let name = str_of("ModelPackageGroupName");
            if r.packages.iter().any(|p| p.group == name) {
                return error("ConflictException", "The model package group still contains model packages.");
            }
            match r.groups.remove(&name) {
                Some(_) => ok(json!({})),
                None => error(
                    "ValidationException",
                    &format!("ModelPackageGroup {ACCOUNT_ARN}:model-package-group/{name} does not exist."),
                ),
            }
        }
        "ListModelPackageGroups" => {
            let all: Vec<(String, String)> = r.groups.iter().map(|(n, (arn, _))| (n.clone(), arn.clone())).collect();
            let (items, next) = page(&all, body, r.page);
            let summaries: Vec<Value> = items
                .iter()
                .map(|(name, arn)| {
                    json!({
                        "ModelPackageGroupName": name, "ModelPackageGroupArn": arn, "CreationTime": NOW,
                        "ModelPackageGroupStatus": "Completed",
                    })
                })
                .collect();
            ok(json!({ "ModelPackageGroupSummaryList": summaries, "NextToken": next }))
        }
        "ListTags" => {
            let arn = str_of("ResourceArn");
            match r.groups.values().find(|(a, _)| *a == arn) {
                Some((_, tags)) => ok(json!({ "Tags": tags })),
                None => error("ValidationException", &format!("Could not find resource {arn}")),
            }
        }
        other => error("UnknownOperationException", &format!("the scripted SageMaker has no {other}")),
    }
}

async fn scripted_sagemaker(registry: Arc<Mutex<Registry>>) -> (ModelPackages, tokio::task::JoinHandle<()>) {
    let handler = move |headers: HeaderMap, body: String| {
        let registry = Arc::clone(&registry);
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let operation = target.trim_start_matches("SageMaker.").to_owned();
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let subject = ["ModelPackageGroupName", "ModelPackageName", "ModelPackageArn", "ResourceArn"]
                .iter()
                .find_map(|k| body[*k].as_str())
                .map(short)
                .unwrap_or_default()
                .to_owned();
            let mut r = registry.lock().expect("lock");
            r.calls.push(format!("{operation} {subject}").trim_end().to_owned());
            r.bodies.push((operation.clone(), body.clone()));
            answer(&mut r, &operation, &body)
        }
    };
    let app = axum::Router::new().route("/", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = wb_aws::aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "scripted"))
        .retry_config(RetryConfig::disabled())
        .build();
    (ModelPackages::new(Client::from_conf(config)), task)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_promote_and_delete_make_the_right_calls_in_order() {
    // Page size 1: every listing has to follow NextToken.
    let registry = Arc::new(Mutex::new(Registry::with_page(1)));
    let (packages, server) = scripted_sagemaker(Arc::clone(&registry)).await;
    // `list` describes up to four packages at once, so the order within a run of describes is
    // the scheduler's: compare those runs sorted.
    let take_calls = || in_order_but_concurrent_describes(std::mem::take(&mut registry.lock().expect("lock").calls));

    let a = packages.register(&spec("wine", "wine-forest", 0.61)).await.expect("register forest");
    let b = packages.register(&spec("wine", "wine-linear", 0.7)).await.expect("register linear");
    assert_eq!((a.version, b.version), (Some(1), Some(2)));
    assert_eq!(
        take_calls(),
        strings(&[
            "DescribeModelPackageGroup wine",
            "CreateModelPackageGroup wine",
            "CreateModelPackage wine",
            "DescribeModelPackageGroup wine",
            "CreateModelPackage wine",
        ]),
        "the group is created once, then reused"
    );
    let (group_body, package_body) = {
        let r = registry.lock().expect("lock");
        (r.bodies_of("CreateModelPackageGroup")[0].clone(), r.bodies_of("CreateModelPackage")[0].clone())
    };
    assert_eq!(group_body["Tags"], json!([{ "Key": PROJECT_TAG, "Value": "wine" }]), "the group is tagged");
    assert_eq!(package_body["ModelApprovalStatus"], "PendingManualApproval");
    assert!(package_body.get("Tags").is_none(), "a versioned package takes its group's tags: {package_body}");
    assert_eq!(
        package_body["InferenceSpecification"],
        json!({
            "Containers": [{ "Image": IMAGE, "ModelDataUrl": "s3://bucket/wb/training/wine-forest/output/model.tar.gz" }],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv", "application/json"],
        })
    );
    assert_eq!(
        package_body["CustomerMetadataProperties"],
        json!({
            "workbench:model": "wine-forest", "metric:rmse": "0.61", "metric:r2": "0.25",
            "dataset": "wine-quality", "partition": "sha256:0123abcd", "job": "wine-forest-job",
        })
    );

    // list: every page, then one describe per package.
    let listed = packages.list("wine").await.expect("list");
    assert_eq!(listed, [a.clone(), b.clone()]);
    assert_eq!(
        take_calls(),
        strings(&[
            "ListModelPackages wine",
            "ListModelPackages wine",
            "DescribeModelPackage wine/1",
            "DescribeModelPackage wine/2"
        ])
    );

    // promote linear (nothing else approved), then forest (linear goes back to pending).
    packages.promote("wine", &model("wine-linear"), "first").await.expect("promote linear");
    take_calls();
    let promoted = packages.promote("wine", &model("wine-forest"), "better").await.expect("promote forest");
    assert_eq!((promoted.arn.as_str(), promoted.approval.as_str()), (a.arn.as_str(), "Approved"));
    assert_eq!(
        take_calls(),
        strings(&[
            "ListModelPackages wine",
            "ListModelPackages wine",
            "DescribeModelPackage wine/1",
            "DescribeModelPackage wine/2",
            "UpdateModelPackage wine/1",
            "UpdateModelPackage wine/2",
        ]),
        "the promoted package is approved before the other is demoted"
    );
    let updates = registry.lock().expect("lock").bodies_of("UpdateModelPackage");
    let last_two = &updates[updates.len() - 2..];
    assert_eq!(
        (&last_two[0]["ModelApprovalStatus"], &last_two[0]["ApprovalDescription"]),
        (&json!("Approved"), &json!("better"))
    );
    assert_eq!(
        (&last_two[1]["ModelApprovalStatus"], &last_two[1]["ApprovalDescription"]),
        (&json!("PendingManualApproval"), &json!("superseded by wine-forest (version 1)"))
    );
    assert_eq!(last_two[1]["CustomerMetadataProperties"]["workbench:model"], "wine-linear", "metadata is kept");

    // delete_group: packages, then the group; again is harmless.
    let deleted = packages.delete_group("wine").await.expect("delete group");
    let kinds: Vec<(&str, &str)> = deleted.iter().map(|r| (r.kind, r.name.as_str())).collect();
    assert_eq!(kinds, [("model-package", "wine/1"), ("model-package", "wine/2"), ("model-package-group", "wine")]);
    assert_eq!(
        take_calls(),
        strings(&[
            "DescribeModelPackageGroup wine",
            "ListModelPackages wine",
            "ListModelPackages wine",
            "DeleteModelPackage wine/1",
            "DeleteModelPackage wine/2",
            "DeleteModelPackageGroup wine",
        ])
    );
    {
        let r = registry.lock().expect("lock");
        assert!(r.groups.is_empty() && r.packages.is_empty(), "nothing is left");
    }
    assert!(packages.delete_group("wine").await.expect("delete again").is_empty());
    assert_eq!(take_calls(), strings(&["DescribeModelPackageGroup wine"]), "a missing group is nothing to delete");
    assert!(packages.list("wine").await.expect("list of a deleted group").is_empty());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_tagged_deletes_only_the_projects_groups_packages_first() {
    let registry = Arc::new(Mutex::new(Registry::with_page(1)));
    let (packages, server) = scripted_sagemaker(Arc::clone(&registry)).await;
    packages.register(&spec("mine", "wine-forest", 0.6)).await.expect("register");
    packages.register(&spec("mine", "wine-linear", 0.7)).await.expect("register");
    packages.register(&spec("theirs", "wine-forest", 0.6)).await.expect("register");
    registry.lock().expect("lock").calls.clear();

    let tagged = packages.tagged(PROJECT_TAG, "mine").await.expect("tagged");
    let found: Vec<(&str, &str)> = tagged.iter().map(|r| (r.kind, r.name.as_str())).collect();
    assert_eq!(found, [("model-package", "mine/1"), ("model-package", "mine/2"), ("model-package-group", "mine")]);

    let deleted = packages.delete_tagged(PROJECT_TAG, "mine").await.expect("delete tagged");
    assert_eq!(deleted, tagged);
    let calls = registry.lock().expect("lock").ops();
    let deletes: Vec<&String> = calls.iter().filter(|c| c.starts_with("Delete")).collect();
    assert_eq!(deletes, ["DeleteModelPackage mine/1", "DeleteModelPackage mine/2", "DeleteModelPackageGroup mine"]);
    {
        let r = registry.lock().expect("lock");
        assert_eq!(r.groups.keys().collect::<Vec<_>>(), ["theirs"], "other projects' groups are untouched");
        assert_eq!(r.packages.len(), 1);
    }
    assert!(packages.delete_tagged(PROJECT_TAG, "mine").await.expect("again").is_empty());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_create_model_package_names_the_operation_and_the_group() {
    for (code, message) in [
        ("ResourceLimitExceeded", "The account-level service limit for model packages has been reached."),
        ("ValidationException", "1 validation error detected: Value at 'inferenceSpecification' failed"),
    ] {
        let registry =
            Arc::new(Mutex::new(Registry { create_package_error: Some((code, message)), ..Registry::with_page(100) }));
        let (packages, server) = scripted_sagemaker(Arc::clone(&registry)).await;
        let err = packages.register(&spec("wine", "wine-forest", 0.6)).await.expect_err(code);
        assert!(
            matches!(&err, Error::SageMaker { operation: "CreateModelPackage", resource, code: c, message: m }
                if resource == "wine" && c == code && m == message),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("CreateModelPackage") && text.contains("wine") && text.contains(code), "{text}");
        assert!(registry.lock().expect("lock").packages.is_empty());
        server.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_makes_no_call() {
    let registry = Arc::new(Mutex::new(Registry::with_page(100)));
    let (packages, server) = scripted_sagemaker(Arc::clone(&registry)).await;
    for (field, bad) in bad_specs("wine") {
        let err = packages.register(&bad).await.expect_err(field);
        assert!(matches!(&err, Error::Invalid { field: f, .. } if *f == field), "{field}: {err}");
    }
    let forest = model("wine-forest");
    let failures = [
        ("group", packages.list("bad_group").await.map(|_| ()).expect_err("list")),
        ("group", packages.find("-x", &forest).await.map(|_| ()).expect_err("find")),
        ("group", packages.promote("a b", &forest, "").await.map(|_| ()).expect_err("promote")),
        ("group", packages.delete_group("").await.map(|_| ()).expect_err("delete")),
        ("group", packages.ensure_group("g_1", "", &BTreeMap::new()).await.map(|_| ()).expect_err("ensure")),
        ("model package", packages.approve("wine/1", "ok").await.expect_err("approve")),
        (
            "approval description",
            packages
                .approve(&format!("{ACCOUNT_ARN}:model-package/wine/1"), &"d".repeat(1025))
                .await
                .expect_err("long description"),
        ),
    ];
    for (field, err) in failures {
        assert!(matches!(&err, Error::Invalid { field: f, .. } if *f == field), "{field}: {err}");
    }
    assert!(registry.lock().expect("lock").calls.is_empty(), "no request was sent");

    // A model with no package is refused after listing, before any update.
    packages.register(&spec("wine", "wine-forest", 0.6)).await.expect("register");
    registry.lock().expect("lock").calls.clear();
    let err = packages.promote("wine", &model("wine-linear"), "x").await.expect_err("unknown model");
    assert!(matches!(&err, Error::Invalid { field: "model", .. }), "{err}");
    assert!(!registry.lock().expect("lock").calls.iter().any(|c| c.starts_with("Update")), "nothing was updated");
    server.abort();
}

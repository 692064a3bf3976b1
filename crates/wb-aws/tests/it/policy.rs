//! The project's least-privilege IAM policy (`wb_aws::policy`) against moto's IAM enforcement:
//! with the project's policy the workbench's whole flow succeeds — the S3 store, training, hosting,
//! SageMaker Runtime, Model Monitor and the model registry, through the workbench's own code — and without any
//! one of its actions the flow fails with an access denial naming the operation that needed it.
//!
//! # What moto 5.2.5 enforces
//!
//! Read in the harness venv's `moto/iam/access_control.py`, `moto/iam/policy_conditions.py`,
//! `moto/core/authorization.py`, `moto/core/responses.py` and `moto/s3/responses.py`, and checked
//! with small boto3 experiments against a `ThreadedMotoServer`:
//!
//! * Once `POST /moto-api/reset-auth` (body `0`) turns auth on, every request must carry a SigV4
//!   signature (verified) by an access key of an IAM user (or assumed role) that exists in moto;
//!   the harness's static `testing` keys are then refused (`InvalidClientTokenId`). Before, they
//!   act as moto's root: all IAM set-up (the role, the users, their policies and access keys)
//!   happens then, through boto3 in the harness's Python, and an `admin` user with `*` is made
//!   for the checks the test makes afterwards. `/moto-api/...` itself needs no credentials.
//! * The action checked is `<service of the credential scope>:<operation>`: `sagemaker:CreateModel`
//!   and `states:CreateStateMachine` from `X-Amz-Target`, `lambda:CreateFunction` from the
//!   operation moto's router matches (Lambda is a REST API), and `sagemaker:InvokeEndpoint` for SageMaker Runtime (which signs as
//!   `sagemaker`). S3 maps requests itself: GET and HEAD of an object → `s3:GetObject`; PUT of an
//!   object, CreateMultipartUpload, UploadPart and CompleteMultipartUpload → `s3:PutObject`;
//!   DELETE of an object → `s3:DeleteObject`; DELETE `?uploadId` → `s3:AbortMultipartUpload`;
//!   ListObjectsV2 → `s3:ListBucket`.
//! * Resources: S3 checks `arn:aws:s3:::<bucket>` for bucket requests and
//!   `arn:aws:s3:::<bucket>/<key>` for object requests, so the store statements' prefix scoping is
//!   enforced. Every other service is checked against the resource `*`, and a statement's ARN
//!   patterns are matched against that literal `*`: a statement scoped to
//!   `arn:aws:sagemaker:*:*:endpoint/*` never allows anything.
//! * Conditions are evaluated without request context (only AssumeRole's `sts:ExternalId` gets a
//!   value): a `StringEquals` with nothing to compare passes, other operators (`StringLike`,
//!   `Bool`, `ForAnyValue:...`) are skipped. `aws:RequestTag`, `aws:ResourceTag`, `s3:prefix`,
//!   `iam:PassedToService` and `kms:GrantIsForAWSResource` are never enforced.
//! * Only the called operation's own action is checked, never the ones a call needs besides:
//!   `iam:PassRole` (CreateTrainingJob and CreateModel pass a role; moto even accepts a role that
//!   does not exist), `sagemaker:AddTags` (tags on create), and `kms:*` (moto's S3 never calls KMS
//!   for SSE-KMS, nor its SageMaker for volume and output keys).
//! * Authorization comes before moto looks for the operation: `StopTrainingJob` and
//!   `UpdateEndpoint`, which moto does not implement, are refused (403) without their permission
//!   and answered 500 (not implemented) with it. (`DeleteModelPackage` and
//!   `DeleteModelPackageGroup`, which moto lacks too, are added by the harness's guard script and
//!   authorized like moto's own operations.)
//! * A refused JSON-protocol request (SageMaker, SageMaker Runtime) gets HTTP 403 with an XML
//!   `<ErrorResponse>` whose code is `AccessDenied` and whose message is "User: <arn> is not
//!   authorized to perform: <action>"; S3 answers its usual `AccessDenied` (no body for HEAD).
//!
//! # The proof
//!
//! * Each run is its own project (tag value `wb-policy-<run>`, the same bucket and prefix) with
//!   its own user, whose managed policy is [`project_policy`] (or [`project_policy_without`]) of
//!   that project. The document is attached as a customer managed policy, not put inline: real IAM
//!   caps a user's inline policies at 2,048 characters, which the document exceeds.
//! * The document goes to moto as generated except that the SageMaker statements' resources become
//!   `*` ([`for_moto`]), the one change moto's resource check forces. A user with the unchanged
//!   document shows that this is needed: it passes the store steps and is refused at the first
//!   SageMaker call.
//! * With the project's policy, objects outside the store's prefix (a sibling prefix `wbx/`
//!   included) are refused: the one part of the scoping moto can check.
//! * Every action of the document is removed in turn, except [`NOT_ENFORCED`]: the ones moto
//!   derives from no call, which the test computes from the findings above ([`moto_action`]) and
//!   checks by running the flow once without all of them (it succeeds).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_s3::config::{ConfigBag, Credentials, Intercept, RuntimeComponents, SharedCredentialsProvider};
use aws_sdk_s3::error::BoxError;
use bytes::Bytes;
use serde_json::{Value, json};
use wb_aws::aws_config::SdkConfig;
use wb_aws::aws_config::retry::RetryConfig;
use wb_aws::aws_sdk_sagemakerruntime;
use wb_aws::functions::Functions;
use wb_aws::hosting::{CaptureSpec, DeploySpec, Hosting};
use wb_aws::monitoring::{Analyzer, Monitoring, MonitoringSpec, model_monitor_image, schedule_names};
use wb_aws::policy::{PERMISSIONS, PolicyScope, project_policy, project_policy_without};
use wb_aws::registry::{ModelPackages, PackageSpec};
use wb_aws::state_machines::StateMachines;
use wb_aws::testkit::{Moto, s3_client};
use wb_aws::training::{ChannelSpec, Training, TrainingSpec};
use wb_aws::{Encryption, MIN_PART_SIZE, S3Store, SageMakerRuntime};
use wb_core::{EndpointName, JobName, ModelName, ObjectStore, PROJECT_TAG, PutMode};
use wb_serving::backend::FunctionPackage;
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest};

use super::{KMS_KEY, fixture, path};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const ROLE_NAME: &str = "wb-policy-sagemaker";
/// The store's prefix in the bucket (the policy's object and listing scope).
const PREFIX: &str = "wb";
const IMAGE: &str = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1";
/// What every invocation answers (queued in moto's canned results, one per run).
const CANNED: &str = "0.25,0.75";
/// How long one run of the flow may take (a full run takes a second or two).
const FLOW_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the removal runs may take together (about 30 s here).
const REMOVAL_BUDGET: Duration = Duration::from_secs(300);

/// The actions moto cannot tell apart: the flow succeeds without them, since moto checks only
/// the action it derives from each call ([`moto_action`]). `iam:PassRole` (passing the role on
/// CreateTrainingJob and CreateModel), `sagemaker:AddTags` (tags on create) and the KMS actions
/// (SSE-KMS in S3, volume and output keys in SageMaker) are needed on AWS, but moto never asks
/// for them.
const NOT_ENFORCED: [&str; 6] =
    ["sagemaker:AddTags", "iam:PassRole", "kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"];

fn role_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}")
}

/// The policy scope of run `run`'s project.
fn scope(bucket: &str, run: &str) -> PolicyScope {
    PolicyScope {
        bucket: bucket.to_owned(),
        prefix: Some(PREFIX.to_owned()),
        role_arn: role_arn(),
        tag_key: PROJECT_TAG.to_owned(),
        project: project(run),
        region: Some(REGION.to_owned()),
        account: Some(ACCOUNT.to_owned()),
        kms_key_id: Some(KMS_KEY.to_owned()),
    }
}

fn project(run: &str) -> String {
    format!("wb-policy-{run}")
}

/// The document with the SageMaker, Lambda and Step Functions statements' resources widened to
/// `*`: moto checks every request of these services against the resource `*`, which no ARN
/// pattern matches. Nothing else
/// changes (S3 resources are checked as on AWS; conditions are not evaluated either way).
fn for_moto(document: &Value) -> Value {
    let mut document = document.clone();
    for statement in document["Statement"].as_array_mut().expect("statements") {
        let checked_against_any = statement["Resource"].as_array().is_some_and(|arns| {
            arns.iter().all(|a| {
                a.as_str().is_some_and(|a| {
                    ["sagemaker", "lambda", "states"].iter().any(|s| a.starts_with(&format!("arn:aws:{s}:")))
                })
            })
        });
        if checked_against_any {
            statement["Resource"] = json!("*");
        }
    }
    document
}

/// The document without `actions` (statements left empty are dropped), as
/// [`project_policy_without`] does for one action.
fn without_all(document: &Value, actions: &[&str]) -> Value {
    let mut document = document.clone();
    let statements = document["Statement"].as_array_mut().expect("statements");
    for statement in statements.iter_mut() {
        let kept: Vec<Value> = statement["Action"]
            .as_array()
            .expect("action lists")
            .iter()
            .filter(|a| !a.as_str().is_some_and(|a| actions.contains(&a)))
            .cloned()
            .collect();
        statement["Action"] = Value::Array(kept);
    }
    statements.retain(|s| s["Action"].as_array().is_some_and(|a| !a.is_empty()));
    document
}

/// The IAM action moto derives from an SDK call (`<client>.<operation>`), as read in its source.
fn moto_action(call: &str) -> Option<String> {
    let (client, operation) = call.split_once('.')?;
    match client {
        "s3" => Some(
            match operation {
                "get_object" | "head_object" => "s3:GetObject",
                "put_object" | "create_multipart_upload" | "upload_part" | "complete_multipart_upload" => {
                    "s3:PutObject"
                }
                "delete_object" => "s3:DeleteObject",
                "abort_multipart_upload" => "s3:AbortMultipartUpload",
                "list_objects_v2" => "s3:ListBucket",
                _ => return None,
            }
            .to_owned(),
        ),
        "sagemaker" | "sagemaker-runtime" => Some(format!("sagemaker:{}", pascal(operation))),
        // Lambda (REST): the operation moto's router matches; Step Functions: X-Amz-Target.
        "lambda" | "states" => Some(format!("{client}:{}", pascal(operation))),
        _ => None,
    }
}

/// `list_objects_v2` → `ListObjectsV2`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The operations (PascalCase) that moto refuses when `action` is missing.
fn refused_operations(action: &str) -> Vec<String> {
    let permission = PERMISSIONS.iter().find(|p| p.action == action).expect("a permission of PERMISSIONS");
    permission
        .calls
        .iter()
        .filter(|call| moto_action(call).as_deref() == Some(action))
        .map(|call| pascal(call.split_once('.').map_or(*call, |(_, op)| op)))
        .collect()
}

/// An access key of a user made in moto's IAM.
#[derive(Clone)]
struct AccessKey {
    id: String,
    secret: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Sets up moto's IAM (before auth is on, as moto's root): the role SageMaker would assume, and
/// one user per entry of `users` with the document as its managed policy and an access key.
const IAM_SETUP: &str = r#"
import json, sys
import boto3
cfg = json.load(sys.stdin)
iam = boto3.client("iam", endpoint_url=cfg["url"], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
role = iam.create_role(RoleName=cfg["role"], AssumeRolePolicyDocument=json.dumps(cfg["trust"]))["Role"]["Arn"]
keys = {}
for name, document in cfg["users"].items():
    iam.create_user(UserName=name)
    policy = iam.create_policy(PolicyName=name + "-policy", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    keys[name] = [key["AccessKeyId"], key["SecretAccessKey"]]
json.dump({"role": role, "keys": keys}, sys.stdout)
"#;

fn set_up_iam(moto: &Moto, users: &BTreeMap<String, Value>) -> BTreeMap<String, AccessKey> {
    let python = wb_aws::testkit::python();
    let input = json!({
        "url": moto.url(),
        "role": ROLE_NAME,
        "trust": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": ["sagemaker.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole"
            }]
        },
        "users": users,
    });
    let mut child = Command::new(&python)
        .args(["-c", IAM_SETUP])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    child.stdin.take().expect("piped stdin").write_all(input.to_string().as_bytes()).expect("writing the IAM set-up");
    let out = child.wait_with_output().expect("waiting for the IAM set-up");
    // stdout holds secret keys: it is never shown, only stderr is.
    assert!(out.status.success(), "the IAM set-up failed: {}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("the IAM set-up answers JSON");
    assert_eq!(answer["role"], role_arn());
    answer["keys"]
        .as_object()
        .expect("keys")
        .iter()
        .map(|(name, key)| {
            let field = |i: usize| key[i].as_str().expect("key parts are strings").to_owned();
            (name.clone(), AccessKey { id: field(0), secret: field(1) })
        })
        .collect()
}

fn sdk_for(moto: &Moto, key: &AccessKey) -> SdkConfig {
    let credentials = Credentials::new(&key.id, &key.secret, None, None, "moto-iam");
    moto.sdk_config().to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build()
}

/// Fails every `UploadPart` before it is sent (as a network failure would) and records what the
/// `AbortMultipartUpload` the store sends next is answered (the store logs a failed abort rather
/// than returning it).
#[derive(Debug, Default)]
struct FailPartsWatchAbort {
    /// Whether the request in flight is the abort (the request is gone once it is sent).
    aborting: AtomicBool,
    abort: Arc<Mutex<Option<String>>>,
}

impl Intercept for FailPartsWatchAbort {
    fn name(&self) -> &'static str {
        "FailPartsWatchAbort"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = ctx.request();
        if request.uri().contains("partNumber=") {
            return Err("injected failure of an UploadPart".into());
        }
        if request.method() == "DELETE" && request.uri().contains("uploadId=") {
            self.aborting.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !self.aborting.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        if let Some(response) = ctx.response() {
            let body = response.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
            let answer = format!("HTTP {} {body}", response.status().as_u16());
            *self.abort.lock().expect("abort answer") = Some(answer);
        }
        Ok(())
    }
}

/// Records the body of the last 4xx answer a client gets. moto answers a refused SageMaker
/// Runtime call with an XML `<ErrorResponse>` that the Rust SDK (restJson) cannot read, so the
/// workbench's error keeps only `HTTP 403`; the body shows what moto refused.
#[derive(Debug, Default)]
struct RecordRefusal {
    body: Arc<Mutex<Option<String>>>,
}

impl Intercept for RecordRefusal {
    fn name(&self) -> &'static str {
        "RecordRefusal"
    }

    fn read_after_attempt(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = ctx.response().filter(|r| r.status().is_client_error()) {
            let body = response.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
            *self.body.lock().expect("refusal") = Some(format!("HTTP {} {body}", response.status().as_u16()));
        }
        Ok(())
    }
}

/// Where a run of the flow stopped.
#[derive(Debug)]
struct Failure {
    step: &'static str,
    error: String,
}

/// What a step must come to.
#[derive(Clone, Copy)]
enum Expect {
    /// Success.
    Success,
    /// Anything but an access denial: moto does not implement `operation`, so with the
    /// permission the call passes authorization and gets a 500 (or succeeds, should moto learn
    /// the operation).
    Authorized { operation: &'static str },
}

fn is_denial(text: &str) -> bool {
    text.contains("AccessDenied") || text.contains("not authorized to perform")
}

/// Runs one step: the outcome must match `expect`, and `check` must accept a success.
fn step<T, E: std::fmt::Display + std::fmt::Debug>(
    name: &'static str,
    expect: Expect,
    result: Result<T, E>,
    check: impl FnOnce(&T) -> Result<(), String>,
) -> Result<(), Failure> {
    match (result, expect) {
        (Ok(value), _) => check(&value).map_err(|error| Failure { step: name, error }),
        (Err(e), Expect::Authorized { operation }) => {
            let text = format!("{e} {e:?}");
            if is_denial(&text) || !text.contains(operation) {
                Err(Failure { step: name, error: text })
            } else {
                Ok(())
            }
        }
        (Err(e), Expect::Success) => Err(Failure { step: name, error: format!("{e} {e:?}") }),
    }
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, expected {want:?}")) }
}

/// A dedicated moto server with auth on, a bucket, and the users' access keys.
struct Setup {
    moto: Moto,
    bucket: String,
    keys: BTreeMap<String, AccessKey>,
    /// The admin's configuration, for checks behind the workbench's back.
    admin: SdkConfig,
}

impl Setup {
    /// Starts a dedicated server (auth is server-wide), makes the bucket, the role and an
    /// `admin` user with `*` plus the users `users` returns for the bucket, queues `invocations`
    /// canned InvokeEndpoint answers, and turns auth on.
    async fn new(users: impl FnOnce(&str) -> BTreeMap<String, Value>, invocations: usize) -> Setup {
        let moto = Moto::spawn_dedicated();
        let bucket = moto.fresh_bucket().await;
        let mut users = users(&bucket);
        let admin =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        users.insert("admin".to_owned(), admin);
        let keys = set_up_iam(&moto, &users);
        let answer = json!({"Body": CANNED, "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic"});
        let canned = json!({"account_id": ACCOUNT, "region": REGION, "results": vec![answer; invocations]});
        let (status, body) =
            moto.post_moto_api("/moto-api/static/sagemaker/endpoint-results", "application/json", &canned.to_string());
        assert_eq!(status, 201, "{body}");
        moto.enable_auth();
        let admin = sdk_for(&moto, &keys["admin"]);
        Setup { moto, bucket, keys, admin }
    }

    /// Runs the flow as user `user` for project `wb-policy-<user>`, within [`FLOW_TIMEOUT`].
    async fn run(&self, user: &str) -> Result<Vec<(&'static str, Duration)>, Failure> {
        let sdk = sdk_for(&self.moto, &self.keys[user]);
        let outcome = match tokio::time::timeout(FLOW_TIMEOUT, flow(self, &sdk, user)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure { step: "(any)", error: format!("the flow took longer than {FLOW_TIMEOUT:?}") }),
        };
        if let Err(failure) = &outcome {
            self.assert_no_secret(&failure.error);
        }
        outcome
    }

    /// Asserts that no user's secret key appears in `text`.
    fn assert_no_secret(&self, text: &str) {
        for key in self.keys.values() {
            assert!(!text.contains(&key.secret), "a secret key appears in an error");
        }
    }
}

/// The workbench's flow as the user of `sdk`, for project `wb-policy-<run>`: the store (put,
/// create, get, list, multipart put, an aborted multipart put, delete), training (start, wait,
/// find by tag, stop), hosting (deploy, invoke, redeploy, delete, deploy again, find by tag,
/// delete by tag), Model Monitor (schedule, schedule again, find by tag, delete), the model registry (register, promote, list, find by tag, delete by tag) and the hosted workflow (a
/// Lambda function and a state machine: create, update, start, find by tag, delete).
/// Returns the steps' durations.
async fn flow(setup: &Setup, sdk: &SdkConfig, run: &str) -> Result<Vec<(&'static str, Duration)>, Failure> {
    let mut timings = Vec::new();
    let mut last = Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, last.elapsed()));
        last = Instant::now();
    };
    let project = project(run);
    let tags = BTreeMap::from([(PROJECT_TAG.to_owned(), project.clone())]);
    let bucket = setup.bucket.as_str();

    // The store.
    let store = S3Store::new(s3_client(sdk), bucket, Some(path(PREFIX)), Encryption::Kms { key_id: KMS_KEY.into() })
        .with_multipart(MIN_PART_SIZE, MIN_PART_SIZE)
        .expect("valid multipart settings");
    let dir = format!("runs/{run}");
    let (put, created) = (path(&format!("{dir}/put.json")), path(&format!("{dir}/created.json")));
    step("store put", Expect::Success, store.put(&put, Bytes::from_static(b"{\"a\":1}")).await, |_| Ok(()))?;
    let written = store.put_opts(&created, Bytes::from_static(b"{}"), PutMode::Create).await;
    step("store create", Expect::Success, written, |_| Ok(()))?;
    step("store get", Expect::Success, store.get(&put).await, |got| {
        expect_eq("the object read", &got.bytes[..], b"{\"a\":1}")
    })?;
    step("store list", Expect::Success, store.list(Some(&path(&dir))).await, |listed| {
        let names: Vec<String> = listed.iter().map(|m| m.path.to_string()).collect();
        expect_eq("the run's objects", names, vec![created.to_string(), put.to_string()])
    })?;
    lap("store put, create, get, list");
    let (_file_dir, file) = fixture(usize::try_from(MIN_PART_SIZE).expect("fits") + 1);
    let big = path(&format!("{dir}/big.bin"));
    step("store multipart put", Expect::Success, store.put_file(&big, &file, PutMode::Overwrite).await, |meta| {
        if meta.etag.0.ends_with("-2\"") { Ok(()) } else { Err(format!("not a two-part upload: {}", meta.etag)) }
    })?;
    lap("store multipart put");
    let watch = FailPartsWatchAbort::default();
    let abort = Arc::clone(&watch.abort);
    let failing = aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).interceptor(watch).build();
    let failing = S3Store::new(aws_sdk_s3::Client::from_conf(failing), bucket, Some(path(PREFIX)), Encryption::SseS3)
        .with_multipart(MIN_PART_SIZE, MIN_PART_SIZE)
        .expect("valid multipart settings");
    let aborted = path(&format!("{dir}/aborted.bin"));
    match failing.put_file(&aborted, &file, PutMode::Overwrite).await {
        Err(wb_core::Error::Backend { operation: "UploadPart", .. }) => {}
        other => return Err(Failure { step: "store aborted multipart put", error: format!("{other:?}") }),
    }
    let answer = abort.lock().expect("abort answer").take().unwrap_or_else(|| "no AbortMultipartUpload".into());
    if !answer.starts_with("HTTP 204") {
        return Err(Failure {
            step: "store aborted multipart put",
            error: format!("the store's AbortMultipartUpload was answered {answer}"),
        });
    }
    let open = s3_client(&setup.admin).list_multipart_uploads().bucket(bucket).prefix(store.object_key(&aborted));
    let open = open.send().await.expect("the admin lists multipart uploads");
    if !open.uploads().is_empty() {
        return Err(Failure { step: "store aborted multipart put", error: "the upload was left open".into() });
    }
    lap("store aborted multipart put");
    step("store delete", Expect::Success, store.delete(&put).await, |()| Ok(()))?;
    lap("store delete");

    // Training.
    let training =
        Training::from_sdk_config(sdk).poll_interval(Duration::from_millis(5)).timeout(Duration::from_secs(5));
    let job = format!("{project}-job");
    let channel =
        ChannelSpec { s3_uri: format!("s3://{bucket}/{PREFIX}/{dir}/train/"), content_type: "text/csv".into() };
    let spec = TrainingSpec {
        job: JobName::parse(&job).expect("job name"),
        image: IMAGE.into(),
        role_arn: role_arn(),
        channels: BTreeMap::from([("train".into(), channel)]),
        hyperparameters: BTreeMap::from([("num_round".into(), "10".into())]),
        instance_type: "ml.m5.xlarge".into(),
        instance_count: 1,
        volume_size_gb: 10,
        max_runtime: Duration::from_secs(600),
        spot: false,
        output_path: format!("s3://{bucket}/{PREFIX}/training"),
        kms_key_id: Some(KMS_KEY.into()),
        environment: BTreeMap::new(),
        metric_definitions: Vec::new(),
        tags: tags.clone(),
    };
    step("training start", Expect::Success, training.start(&spec).await, |_| Ok(()))?;
    let artifact = spec.model_artifact();
    step("training wait", Expect::Success, training.wait(&job, |_| {}).await, |trained| {
        expect_eq("the model artefact", &trained.model_artifact, &artifact)
    })?;
    step("training tagged", Expect::Success, training.tagged(PROJECT_TAG, &project).await, |found| {
        expect_eq("the project's jobs", found.iter().map(|r| r.name.as_str()).collect(), vec![job.as_str()])
    })?;
    step("training stop_tagged", Expect::Success, training.stop_tagged(PROJECT_TAG, &project).await, |stopped| {
        expect_eq("jobs still running (moto completes them at once)", stopped.len(), 0)
    })?;
    let stopped = training.stop(&job).await;
    step("training stop", Expect::Authorized { operation: "StopTrainingJob" }, stopped, |()| Ok(()))?;
    lap("training");

    // Hosting and SageMaker Runtime.
    let hosting = Hosting::from_sdk_config(sdk).poll_interval(Duration::from_millis(5)).timeout(Duration::from_secs(5));
    let deploy = |endpoint: &str| DeploySpec {
        endpoint: EndpointName::parse(endpoint).expect("endpoint name"),
        model_data_url: artifact.clone(),
        image: IMAGE.into(),
        role_arn: role_arn(),
        instance_type: "ml.m5.large".into(),
        instance_count: 1,
        capture: Some(CaptureSpec { sampling_percentage: 100, destination: format!("s3://{bucket}/{PREFIX}/capture") }),
        kms_key_id: Some(KMS_KEY.into()),
        environment: BTreeMap::new(),
        tags: tags.clone(),
    };
    let (first, second) = (format!("{project}-a"), format!("{project}-b"));
    step("hosting deploy", Expect::Success, hosting.deploy(&deploy(&first)).await, |hosted| {
        expect_eq("status and update", (hosted.status.as_str(), hosted.updated), ("InService", false))
    })?;
    // The workbench's runtime client as `SageMakerRuntime::from_sdk_config` builds it (no SDK
    // retries), plus the recorder of refusals.
    let refusal = RecordRefusal::default();
    let refused = Arc::clone(&refusal.body);
    let runtime_config = aws_sdk_sagemakerruntime::config::Builder::from(sdk)
        .retry_config(RetryConfig::disabled())
        .interceptor(refusal)
        .build();
    let runtime = SageMakerRuntime::new(aws_sdk_sagemakerruntime::Client::from_conf(runtime_config));
    let request = InvokeRequest {
        content_type: "text/csv".into(),
        body: format!("1,{run}\n").into(), // moto memoises answers by body
        ..InvokeRequest::default()
    };
    let invoked = runtime.invoke_endpoint(&first, request).await.map_err(|e| {
        let answer = refused.lock().expect("refusal").take().unwrap_or_default();
        format!("{e} (moto answered {answer})")
    });
    step("invoke", Expect::Success, invoked, |answer| {
        expect_eq("the canned answer", String::from_utf8_lossy(&answer.body).as_ref(), CANNED)
    })?;
    let redeployed = hosting.deploy(&deploy(&first)).await;
    step("hosting redeploy", Expect::Authorized { operation: "UpdateEndpoint" }, redeployed, |_| Ok(()))?;
    step("hosting delete", Expect::Success, hosting.delete(&first).await, |deleted| {
        let kinds: Vec<&str> = deleted.iter().map(|r| r.kind).collect();
        expect_eq("what was deleted", kinds, vec!["endpoint", "endpoint-config", "model"])
    })?;
    step("hosting deploy again", Expect::Success, hosting.deploy(&deploy(&second)).await, |_| Ok(()))?;
    step("hosting tagged", Expect::Success, hosting.tagged(PROJECT_TAG, &project).await, |found| {
        let kinds: Vec<&str> = found.iter().map(|r| r.kind).collect();
        expect_eq("the project's hosting resources", kinds, vec!["endpoint", "endpoint-config", "model"])
    })?;
    step("hosting delete_tagged", Expect::Success, hosting.delete_tagged(PROJECT_TAG, &project).await, |gone| {
        expect_eq("resources deleted", gone.len(), 3)
    })?;
    lap("hosting and runtime");

    // Model Monitor: a data-quality schedule, replaced, found by tag and deleted.
    let monitoring = Monitoring::from_sdk_config(sdk).poll_interval(Duration::from_millis(5));
    let (schedule, job_definition) = schedule_names(&project, "ep");
    let baseline = format!("s3://{bucket}/{PREFIX}/monitoring/{project}-ep/baseline");
    let spec = MonitoringSpec {
        schedule,
        job_definition,
        endpoint: format!("{project}-ep"),
        analyzer: Analyzer::ModelMonitor { image: model_monitor_image(REGION).expect("an analyzer in the region") },
        statistics_uri: format!("{baseline}/statistics.json"),
        constraints_uri: format!("{baseline}/constraints.json"),
        output_uri: format!("s3://{bucket}/{PREFIX}/monitoring/{project}-ep/reports"),
        schedule_expression: "cron(0 * ? * * *)".into(),
        role_arn: role_arn(),
        instance_type: "ml.m5.xlarge".into(),
        instance_count: 1,
        volume_size_gb: 20,
        max_runtime_seconds: 3600,
        kms_key_id: Some(KMS_KEY.into()),
        tags: tags.clone(),
    };
    step("monitoring schedule", Expect::Success, monitoring.schedule(&spec).await, |scheduled| {
        expect_eq("a new schedule", scheduled.replaced, false)
    })?;
    step("monitoring reschedule", Expect::Success, monitoring.schedule(&spec).await, |scheduled| {
        expect_eq("the schedule replaced", scheduled.replaced, true)
    })?;
    let found = monitoring.tagged(PROJECT_TAG, &project).await;
    step("monitoring tagged", Expect::Success, found.as_ref().map_err(ToString::to_string), |found| {
        let kinds: Vec<&str> = found.iter().map(|r| r.kind).collect();
        expect_eq("the project's monitoring", kinds, vec!["monitoring-schedule", "data-quality-job-definition"])
    })?;
    let found = found.unwrap_or_default();
    step("monitoring delete", Expect::Success, monitoring.delete_resources(&found).await, |()| Ok(()))?;
    step("monitoring tagged after", Expect::Success, monitoring.tagged(PROJECT_TAG, &project).await, |left| {
        expect_eq("what is left", left.len(), 0)
    })?;
    lap("monitoring");

    // The model registry.
    let packages = ModelPackages::from_sdk_config(sdk);
    let model = ModelName::parse(format!("{project}-model")).expect("model name");
    let package = PackageSpec {
        group: project.clone(),
        model: model.clone(),
        description: "the policy proof's model".into(),
        image: IMAGE.into(),
        model_data_url: artifact.clone(),
        content_types: vec!["text/csv".into()],
        response_types: vec!["text/csv".into()],
        metrics: BTreeMap::from([("auc".into(), 0.9)]),
        metadata: BTreeMap::new(),
        tags: tags.clone(),
    };
    step("registry register", Expect::Success, packages.register(&package).await, |registered| {
        expect_eq("the first version", registered.version, Some(1))
    })?;
    step("registry promote", Expect::Success, packages.promote(&project, &model, "proof").await, |promoted| {
        expect_eq("the approval", promoted.approval.as_str(), "Approved")
    })?;
    step("registry list", Expect::Success, packages.list(&project).await, |listed| {
        let approvals: Vec<&str> = listed.iter().map(|p| p.approval.as_str()).collect();
        expect_eq("the group's versions", approvals, vec!["Approved"])
    })?;
    step("registry tagged", Expect::Success, packages.tagged(PROJECT_TAG, &project).await, |found| {
        let kinds: Vec<&str> = found.iter().map(|r| r.kind).collect();
        expect_eq("the project's registry resources", kinds, vec!["model-package", "model-package-group"])
    })?;
    step("registry delete_tagged", Expect::Success, packages.delete_tagged(PROJECT_TAG, &project).await, |gone| {
        let kinds: Vec<&str> = gone.iter().map(|r| r.kind).collect();
        expect_eq("what was deleted", kinds, vec!["model-package", "model-package-group"])
    })?;
    step("registry tagged after", Expect::Success, packages.tagged(PROJECT_TAG, &project).await, |left| {
        expect_eq("what is left", left.len(), 0)
    })?;
    lap("registry");

    // The hosted workflow: a function and a state machine created, updated in place, started,
    // found by tag and deleted (moto's Step Functions run nothing by default: the execution stays
    // RUNNING, which is all the authorization needs).
    let functions = Functions::from_sdk_config(sdk);
    let machines = StateMachines::from_sdk_config(sdk);
    let zip_dir = tempfile::tempdir().expect("tempdir");
    let zip = zip_dir.path().join("filter.zip");
    write_bootstrap_zip(&zip);
    let function = FunctionPackage {
        name: format!("wb-{project}-filter"),
        zip,
        runtime: "provided.al2023".into(),
        handler: "bootstrap".into(),
        architecture: "x86_64".into(),
        environment: BTreeMap::from([("WB_STEP".to_owned(), "filter".to_owned())]),
        timeout: Duration::from_secs(30),
        memory_mb: 512,
    };
    let role = role_arn();
    step("workflow function create", Expect::Success, functions.deploy(&function, &role, &tags).await, |f| {
        expect_eq("created", f.created, true)
    })?;
    step("workflow function update", Expect::Success, functions.deploy(&function, &role, &tags).await, |f| {
        expect_eq("created", f.created, false)
    })?;
    let machine = format!("wb-{project}-workflow");
    let definition = json!({"StartAt": "Filter", "States": {"Filter": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function.name, "Payload.$": "$"}, "End": true}}});
    step(
        "workflow machine create",
        Expect::Success,
        machines.deploy(&machine, &definition, &role, &tags).await,
        |m| expect_eq("replaced", m.1, false),
    )?;
    step(
        "workflow machine update",
        Expect::Success,
        machines.deploy(&machine, &definition, &role, &tags).await,
        |m| expect_eq("replaced", m.1, true),
    )?;
    step("workflow start", Expect::Success, machines.start(&machine, &json!({}), Duration::ZERO).await, |run| {
        expect_eq("an execution of the machine", run.execution_arn.contains(&machine), true)
    })?;
    let found_functions = functions.tagged(PROJECT_TAG, &project).await.map_err(|e| e.to_string());
    step("workflow functions tagged", Expect::Success, found_functions.as_ref(), |found| {
        expect_eq(
            "the project's functions",
            found.iter().map(|r| r.name.as_str()).collect(),
            vec![function.name.as_str()],
        )
    })?;
    let found_machines = machines.tagged(PROJECT_TAG, &project).await.map_err(|e| e.to_string());
    step("workflow machines tagged", Expect::Success, found_machines.as_ref(), |found| {
        expect_eq(
            "the project's state machines",
            found.iter().map(|r| r.name.as_str()).collect(),
            vec![machine.as_str()],
        )
    })?;
    let found_machines = found_machines.unwrap_or_default();
    step("workflow machine delete", Expect::Success, machines.delete(&found_machines).await, |()| Ok(()))?;
    step(
        "workflow function delete",
        Expect::Success,
        functions.delete(&found_functions.unwrap_or_default()).await,
        |()| Ok(()),
    )?;
    step("workflow tagged after", Expect::Success, functions.tagged(PROJECT_TAG, &project).await, |left| {
        expect_eq("functions left", left.len(), 0)
    })?;
    lap("workflow");
    Ok(timings)
}

/// A zip holding an executable `bootstrap` (moto runs nothing; Lambda would run it).
fn write_bootstrap_zip(path: &std::path::Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("zip file"));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).expect("bootstrap entry");
    zip.write_all(b"#!/bin/sh\nexit 0\n").expect("bootstrap");
    zip.finish().expect("zip");
}

/// The actions the removal loop takes out: every one of the document that moto derives from a
/// call. The others are exactly [`NOT_ENFORCED`].
fn enforced_actions() -> Vec<&'static str> {
    let enforced: BTreeSet<String> = PERMISSIONS.iter().flat_map(|p| p.calls).filter_map(|c| moto_action(c)).collect();
    let (checked, unchecked): (Vec<&str>, Vec<&str>) =
        PERMISSIONS.iter().map(|p| p.action).partition(|a| enforced.contains(*a));
    assert_eq!(unchecked, NOT_ENFORCED, "the actions moto cannot check are the ones its source says");
    checked
}

fn shorten(text: &str) -> String {
    let line: String = text.chars().take(200).collect();
    line.replace('\n', " ")
}

#[test]
fn the_test_documents_are_the_projects_with_moto_widened_service_resources() {
    let scope = scope("wb-policy-bucket", "doc");
    let document = project_policy(&scope);
    for p in PERMISSIONS {
        assert_eq!(without_all(&document, &[p.action]), project_policy_without(&scope, p.action), "{}", p.action);
    }
    let widened = for_moto(&document);
    let (before, after) =
        (document["Statement"].as_array().expect("list"), widened["Statement"].as_array().expect("list"));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        let text = b["Resource"].to_string();
        let checked_against_any =
            ["arn:aws:sagemaker:", "arn:aws:lambda:", "arn:aws:states:"].iter().any(|s| text.contains(s));
        assert_eq!(a["Resource"] == json!("*"), checked_against_any || b["Resource"] == json!("*"), "{b}");
        for field in ["Sid", "Effect", "Action", "Condition"] {
            assert_eq!(a.get(field), b.get(field), "only resources change: {b}");
        }
    }
    assert_eq!(enforced_actions().len() + NOT_ENFORCED.len(), PERMISSIONS.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_project_policy_the_whole_flow_succeeds() {
    let started = Instant::now();
    let setup = Setup::new(
        |bucket| {
            BTreeMap::from([
                ("full".to_owned(), for_moto(&project_policy(&scope(bucket, "full")))),
                ("exact".to_owned(), project_policy(&scope(bucket, "exact"))),
                (
                    "unchecked".to_owned(),
                    for_moto(&without_all(&project_policy(&scope(bucket, "unchecked")), &NOT_ENFORCED)),
                ),
            ])
        },
        3,
    )
    .await;
    let set_up = started.elapsed();

    let full_started = Instant::now();
    let timings = match setup.run("full").await {
        Ok(timings) => timings,
        Err(f) => panic!("with the project's policy the flow failed at {}: {}", f.step, f.error),
    };
    let full = full_started.elapsed();

    // Least privilege where moto can tell: objects outside the store's prefix, a sibling prefix
    // included, are refused.
    let full_sdk = sdk_for(&setup.moto, &setup.keys["full"]);
    for elsewhere in ["elsewhere", "wbx"] {
        let outside = S3Store::new(s3_client(&full_sdk), &setup.bucket, Some(path(elsewhere)), Encryption::SseS3);
        let err = outside.put(&path("x.json"), Bytes::from_static(b"{}")).await.expect_err("outside the prefix");
        assert!(matches!(err, wb_core::Error::AccessDenied { operation: "PutObject", .. }), "{elsewhere}: {err:?}");
        let err = outside.get(&path("x.json")).await.expect_err("outside the prefix");
        assert!(matches!(err, wb_core::Error::AccessDenied { operation: "GetObject", .. }), "{elsewhere}: {err:?}");
    }

    // The unchanged document: moto checks SageMaker calls against `*`, which its ARN-scoped
    // statements do not match, so the store steps pass and the first SageMaker call is refused.
    let exact = setup.run("exact").await.expect_err("moto checks SageMaker calls against `*`");
    assert_eq!(exact.step, "training start", "{exact:?}");
    assert!(is_denial(&exact.error) && exact.error.contains("CreateTrainingJob"), "{exact:?}");

    // Without all the actions moto cannot check, the flow still succeeds.
    if let Err(f) = setup.run("unchecked").await {
        panic!("moto now enforces one of {NOT_ENFORCED:?} (at {}: {}); move it into the removal loop", f.step, f.error);
    }
    let summary = format!(
        "set-up {set_up:.1?}; full flow {full:.1?}: {}; the unchanged document is refused at {}: {}",
        timings.iter().map(|(s, d)| format!("{s} {d:.0?}")).collect::<Vec<_>>().join(", "),
        exact.step,
        shorten(&exact.error),
    );
    setup.assert_no_secret(&summary);
    eprintln!("{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_any_enforced_action_the_flow_is_denied_naming_the_operation() {
    let started = Instant::now();
    let runs: Vec<(String, &str)> =
        enforced_actions().into_iter().enumerate().map(|(i, a)| (format!("r{i:02}"), a)).collect();
    let setup = Setup::new(
        |bucket| {
            runs.iter()
                .map(|(run, action)| (run.clone(), for_moto(&project_policy_without(&scope(bucket, run), action))))
                .collect()
        },
        runs.len(),
    )
    .await;
    let set_up = started.elapsed();

    let loop_started = Instant::now();
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (i, (run, action)) in runs.iter().enumerate() {
        if loop_started.elapsed() > REMOVAL_BUDGET {
            let skipped: Vec<&str> = runs[i..].iter().map(|(_, a)| *a).collect();
            wrong.push(format!("the removal runs took longer than {REMOVAL_BUDGET:?}; not run: {skipped:?}"));
            break;
        }
        let Err(failure) = setup.run(run).await else {
            wrong.push(format!("without {action} the flow succeeded"));
            continue;
        };
        let operations = refused_operations(action);
        let named = operations.iter().any(|op| failure.error.contains(op.as_str()));
        if !is_denial(&failure.error) || !named {
            wrong.push(format!(
                "without {action} ({operations:?}) the flow failed at {} with: {}",
                failure.step, failure.error
            ));
        }
        report.push(format!("{action:<36} -> {}: {}", failure.step, shorten(&failure.error)));
    }
    let summary = format!(
        "set-up {set_up:.1?}; {} removal runs {:.1?}\n{}",
        runs.len(),
        loop_started.elapsed(),
        report.join("\n")
    );
    setup.assert_no_secret(&summary);
    assert!(wrong.is_empty(), "{}\n\n{summary}", wrong.join("\n"));
    eprintln!("{summary}");
}

//! A moto server for tests (feature `testkit`).
//!
//! [`Moto::shared`] gives every test in a process one server: the one at `MOTO_URL` when that
//! variable is set, otherwise a server this module starts itself. To start one it provisions
//! moto once per target directory — a virtual environment at `<target>/moto-venv` made with
//! `python3 -m venv` and `pip install` of [`REQUIREMENTS`] (`moto[server]==5.2.5`,
//! `pyarrow==26.0.1`, `numpy==2.4.6` and `statelint==3.1.0`), guarded by a file lock so parallel test processes install it only once,
//! and reused by later runs — and then runs a small Python guard script that serves moto on a
//! free loopback port and exits when its stdin closes. The test process holds that stdin, so the
//! server dies with it (even after a `SIGKILL`). moto's request log goes to
//! `<target>/moto-venv/logs/`. The guard script also adds what moto 5.2.5 lacks and the
//! workbench calls, as state only: `DeleteModelPackage`, `DeleteModelPackageGroup` and the
//! monitoring schedules (`Create`/`Describe`/`List`/`DeleteMonitoringSchedule`, with tags); and
//! it lets `InvokeEndpoint` take binary bodies such as PNG images (moto decodes every body as
//! UTF-8 and answers HTTP 500).
//!
//! The same environment gives tests an independent Parquet reader: [`python`] returns its
//! interpreter, which can `import pyarrow` (to check that what the workbench writes is Parquet
//! that pyarrow reads) and `import numpy` (to unpickle the CIFAR archives it writes).
//!
//! Nothing here skips silently: when Python or the install is missing, the harness panics with a
//! message that says what to install.
//!
//! ```no_run
//! # async fn example() {
//! use wb_aws::testkit::Moto;
//! let moto = Moto::shared();
//! let store = moto.s3_store(wb_aws::Encryption::SseS3).await; // a fresh bucket
//! wb_core::testkit::object_store_conformance(&store, "suite").await;
//! # }
//! ```

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use wb_core::ObjectPath;

use crate::{Encryption, MIN_PART_SIZE, S3Store};

/// The pinned moto requirement the harness installs.
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";
/// The pinned pyarrow requirement the harness installs (for tests that read Parquet with pyarrow).
pub const PYARROW_REQUIREMENT: &str = "pyarrow==26.0.1";
/// The pinned numpy requirement the harness installs (for tests that unpickle the CIFAR
/// archives the workbench writes, whose data are numpy arrays).
pub const NUMPY_REQUIREMENT: &str = "numpy==2.4.6";
/// The pinned statelint requirement the harness installs (the Amazon States Language
/// validator the workflow tests run on exported state machines: `<venv>/bin/statelint`).
pub const STATELINT_REQUIREMENT: &str = "statelint==3.1.0";
/// Everything the harness installs into `<target>/moto-venv`, in one `pip install`.
pub const REQUIREMENTS: &[&str] = &[MOTO_REQUIREMENT, PYARROW_REQUIREMENT, NUMPY_REQUIREMENT, STATELINT_REQUIREMENT];
/// The file in the venv that records the requirement list of the last complete install (one
/// requirement per line). A venv whose marker differs from [`REQUIREMENTS`] is brought up to date.
const MARKER: &str = ".wb-testkit-installed";
/// The marker of earlier versions of the harness (moto only): its venv is complete and is
/// upgraded in place rather than rebuilt.
const LEGACY_MARKER: &str = ".wb-moto-installed";
/// How long a starting server may take to report readiness.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Request logs older than this are removed when a server starts.
const LOG_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// The key prefix of stores made by [`Moto::s3_store`].
pub const STORE_PREFIX: &str = "wb";

const GUARD_SCRIPT: &str = r#"# Written by wb-aws's test kit: serve moto until stdin reaches EOF.
import os
import sys

from moto.server import ThreadedMotoServer

# moto 5.2.5 has no DeleteModelPackage or DeleteModelPackageGroup (HTTP 500), which `wb clean`
# needs to remove the model registry mirror. Add them the way moto implements its other
# SageMaker deletes: state only, "not found" as a ValidationException, a group only when empty.
from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse


def _delete_model_package(self, name):
    arn = self.model_package_name_mapping.get(name, name)
    if self.model_packages.pop(arn, None) is None:
        raise ValidationError(f"Model package {name} not found")
    for key in [k for k, v in self.model_package_name_mapping.items() if v == arn]:
        del self.model_package_name_mapping[key]


def _delete_model_package_group(self, name):
    name = name.split("model-package-group/")[-1]
    if name not in self.model_package_groups:
        raise ValidationError(f"ModelPackageGroup {name} does not exist.")
    if any(p.model_package_group_name == name for p in self.model_packages.values()):
        raise ValidationError(f"ModelPackageGroup {name} still has model packages; delete them first.")
    del self.model_package_groups[name]


SageMakerModelBackend.delete_model_package = _delete_model_package
SageMakerModelBackend.delete_model_package_group = _delete_model_package_group
SageMakerResponse.delete_model_package = lambda self: (
    self.sagemaker_backend.delete_model_package(self._get_param("ModelPackageName")),
    EmptyResult(),
)[1]
SageMakerResponse.delete_model_package_group = lambda self: (
    self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName")),
    EmptyResult(),
)[1]

# moto 5.2.5 has no monitoring schedules (HTTP 500), which `wb monitor schedule`, inventory and
# `wb clean` need. Add Create/Describe/List/DeleteMonitoringSchedule as state only: a schedule is
# "Scheduled" at once, never runs, carries its tags (ListTags), and is gone at once when deleted.
import time
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound
from moto.sagemaker.utils import arn_formatter


def _schedules(backend):
    if not hasattr(backend, "_wb_monitoring_schedules"):
        backend._wb_monitoring_schedules = {}
    return backend._wb_monitoring_schedules


class _Schedule:
    def __init__(self, backend, name, config, tags):
        self.arn = arn_formatter("monitoring-schedule", name, backend.account_id, backend.region_name)
        self.name, self.config, self.tags, self.created = name, config or {}, list(tags or []), time.time()

    def summary(self):
        return {
            "MonitoringScheduleName": self.name,
            "MonitoringScheduleArn": self.arn,
            "CreationTime": self.created,
            "LastModifiedTime": self.created,
            "MonitoringScheduleStatus": "Scheduled",
            "MonitoringJobDefinitionName": self.config.get("MonitoringJobDefinitionName"),
            "MonitoringType": self.config.get("MonitoringType", "DataQuality"),
        }


def _schedule(backend, name):
    found = _schedules(backend).get(name)
    if found is None:
        raise ResourceNotFound(f"Monitoring schedule {name} not found")
    return found


def _create_monitoring_schedule(self):
    name = self._get_param("MonitoringScheduleName")
    if name in _schedules(self.sagemaker_backend):
        raise ResourceInUseException(f"Monitoring schedule {name} already exists")
    schedule = _Schedule(self.sagemaker_backend, name, self._get_param("MonitoringScheduleConfig"), self._get_param("Tags"))
    _schedules(self.sagemaker_backend)[name] = schedule
    return ActionResult({"MonitoringScheduleArn": schedule.arn})


def _describe_monitoring_schedule(self):
    schedule = _schedule(self.sagemaker_backend, self._get_param("MonitoringScheduleName"))
    out = schedule.summary()
    out["MonitoringScheduleConfig"] = schedule.config
    return ActionResult(out)


def _delete_monitoring_schedule(self):
    name = self._get_param("MonitoringScheduleName")
    _schedule(self.sagemaker_backend, name)
    del _schedules(self.sagemaker_backend)[name]
    return EmptyResult()


_resource_from_arn = SageMakerModelBackend._get_resource_from_arn


def _get_resource_from_arn(self, arn):
    if ":monitoring-schedule/" in arn:
        return _schedule(self, arn.split(":monitoring-schedule/")[-1])
    return _resource_from_arn(self, arn)


SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn

# moto 5.2.5 decodes every request body as UTF-8, so an InvokeEndpoint with an image body (a PNG
# starts with 0x89) fails with HTTP 500. Keep SageMaker Runtime's bodies raw and key the canned
# answers by a lossless text form of the bytes (Latin-1).
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

_invoke_endpoint = SageMakerRuntimeResponse.invoke_endpoint


def _invoke_endpoint_raw(self):
    if isinstance(self.body, bytes):
        self.body = self.body.decode("latin-1")
    return _invoke_endpoint(self)


SageMakerRuntimeResponse.use_raw_body = True
SageMakerRuntimeResponse.invoke_endpoint = _invoke_endpoint_raw
SageMakerResponse.create_monitoring_schedule = _create_monitoring_schedule
SageMakerResponse.describe_monitoring_schedule = _describe_monitoring_schedule
SageMakerResponse.delete_monitoring_schedule = _delete_monitoring_schedule
SageMakerResponse.list_monitoring_schedules = lambda self: ActionResult(
    {"MonitoringScheduleSummaries": [s.summary() for s in _schedules(self.sagemaker_backend).values()]}
)

# Dockerless Lambda (`{"lambda":{"use_docker":false}}`) only echoes its input. With
# WB_LAMBDA_INVOKE_URL set, forward each invocation to that Lambda Invoke API (the Runtime API
# emulator the real functions poll) and report a function error as Lambda does: the emulator
# answers it with HTTP 500, Lambda with 200 and `X-Amz-Function-Error: Unhandled`.
# WB_LAMBDA_THROTTLE="<function>:<n>" answers the first n invocations of that function with
# Lambda's TooManyRequestsException (HTTP 429), for tests of the state machine's retries.
import urllib.error
import urllib.parse
import urllib.request
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda_simple.models import LambdaSimpleBackend


class _TooManyRequests(LambdaClientError):
    code = 429

    def __init__(self, name):
        super().__init__("TooManyRequestsException", f"Rate exceeded for function {name}")


_throttle = {}
for _item in filter(None, os.environ.get("WB_LAMBDA_THROTTLE", "").split(",")):
    _name, _, _count = _item.rpartition(":")
    _throttle[_name] = int(_count)
_simple_invoke = LambdaSimpleBackend.invoke


def _forward_invoke(self, function_name, qualifier, body, headers, response_headers):
    url = os.environ.get("WB_LAMBDA_INVOKE_URL")
    if not url:
        return _simple_invoke(self, function_name, qualifier, body, headers, response_headers)
    name = function_name.split(":function:")[-1].split(":")[0]
    if _throttle.get(name, 0) > 0:
        _throttle[name] -= 1
        raise _TooManyRequests(name)
    data = body if isinstance(body, bytes) else (body or "").encode("utf-8")
    request = urllib.request.Request(
        f"{url}/2015-03-31/functions/{urllib.parse.quote(name)}/invocations",
        data=data,
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read()
    except urllib.error.HTTPError as error:
        payload = error.read()
        if error.code == 500:
            response_headers["x-amz-function-error"] = "Unhandled"
            return payload
        raise LambdaClientError("ServiceException", f"the Invoke API answered HTTP {error.code}: {payload[:300]!r}")


LambdaSimpleBackend.invoke = _forward_invoke

# moto 5.2.5 checks the signature of a request without a body (Lambda's GET and DELETE calls)
# over its parsed form data instead of the empty payload (`self._body or self._data`), so with
# IAM enforcement on every such call fails with SignatureDoesNotMatch, boto3's too. Sign over
# the empty body, as AWS does.
from moto.iam.access_control import IAMRequest

_create_aws_request = IAMRequest._create_aws_request


def _create_aws_request_empty_body(self):
    if not self._body and isinstance(self._data, dict):
        self._data = b""
    return _create_aws_request(self)


IAMRequest._create_aws_request = _create_aws_request_empty_body

# moto 5.2.5 checks a PUT's If-Match / If-None-Match and then writes, without a lock, so two
# concurrent compare-and-swap writers can both pass the check and one update is lost (S3 makes
# the check and the write one step). Serialise object writes and multipart completions, which is
# what makes them atomic on S3. Reads take the same lock: a PUT closes the replaced object's
# buffer, so a GET reading it at that moment failed with HTTP 500 ("I/O operation on closed
# file") where S3 answers with the old or the new object.
import threading
from moto.s3.responses import S3Response

_s3_write_lock = threading.Lock()


def _serialised(method):
    def locked(self, *args, **kwargs):
        with _s3_write_lock:
            return method(self, *args, **kwargs)

    return locked


S3Response.put_object = _serialised(S3Response.put_object)
S3Response._key_response_post = _serialised(S3Response._key_response_post)
S3Response.get_object = _serialised(S3Response.get_object)

# Injected faults, for tests of retries. WB_FAULT_RATE=<p> answers that fraction of S3 calls with
# S3's `503 SlowDown` and of SageMaker control-plane calls with its `ThrottlingException`;
# WB_FAULT_AFTER=<q> makes that fraction of the faults happen after moto has done the work (the
# answer is lost, as when a connection drops), so a retried create finds its resource already
# there. WB_FAULT_SEED seeds the choice. Each fault is logged as `wb-fault <when> <service> <method>
# <path>`.
import random
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from werkzeug.wsgi import get_input_stream

_fault_rate = float(os.environ.get("WB_FAULT_RATE") or 0)
_fault_after = float(os.environ.get("WB_FAULT_AFTER") or 0)
_fault_rng = random.Random(int(os.environ.get("WB_FAULT_SEED") or 7))
_fault_lock = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _fault_service(environ):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("SageMaker."):
        return "sagemaker"
    if "/s3/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
        return "s3"
    return None


def _faulty_dispatch(self, environ, start_response):
    service = _fault_service(environ)
    if service is None:
        return _dispatch(self, environ, start_response)
    with _fault_lock:
        fault = _fault_rng.random() < _fault_rate
        after = fault and _fault_rng.random() < _fault_after
    if not fault:
        return _dispatch(self, environ, start_response)
    if after:
        answer = _dispatch(self, environ, lambda status, headers, exc_info=None: (lambda data: None))
        for _ in answer:
            pass
        if hasattr(answer, "close"):
            answer.close()
    else:
        get_input_stream(environ).read()
    sys.stderr.write(f"wb-fault {'after' if after else 'before'} {service} {environ.get('REQUEST_METHOD')} "
                     f"{environ.get('PATH_INFO')} {environ.get('HTTP_X_AMZ_TARGET', '')}\n")
    sys.stderr.flush()
    if service == "s3":
        status, content_type = "503 Slow Down", "application/xml"
        payload = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
                   b"<Message>Please reduce your request rate.</Message><RequestId>wb-fault</RequestId></Error>")
    else:
        status, content_type = "400 Bad Request", "application/x-amz-json-1.1"
        payload = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(payload))),
                            ("x-amzn-RequestId", "wb-fault")])
    return [payload]


if _fault_rate > 0:
    DomainDispatcherApplication.__call__ = _faulty_dispatch

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
os.environ["MOTO_PORT"] = str(port)
sys.stdout.write(f"READY http://{host}:{port}\n")
sys.stdout.flush()
# Nothing reads stdout any more: send anything printed later to the log (stderr).
os.dup2(2, 1)
sys.stdin.buffer.read()
os._exit(0)
"#;

/// A running moto server (or one given by `MOTO_URL`).
///
/// A server started by [`Moto::spawn_dedicated`] stops when the value is dropped; the
/// [`Moto::shared`] one lives as long as the test process.
#[derive(Debug)]
pub struct Moto {
    url: String,
    log: Option<PathBuf>,
    /// The guard process; its stdin is kept open for as long as the server should run.
    child: Option<Child>,
}

impl Moto {
    /// The process-wide server: `MOTO_URL` when set, otherwise one started (and, on first use,
    /// installed) by the harness.
    ///
    /// Blocks while provisioning (about a minute for `pip install` the first time, about half a
    /// second to start a server afterwards).
    ///
    /// # Panics
    /// When moto cannot be provisioned or started; the message says what to install or where the
    /// log is.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| match std::env::var("MOTO_URL") {
            Ok(url) if !url.trim().is_empty() => {
                Moto { url: url.trim().trim_end_matches('/').to_owned(), log: None, child: None }
            }
            _ => Self::spawn(&[]),
        })
    }

    /// Starts a separate server, for tests that flip server-wide switches (such as
    /// `/moto-api/reset-auth`). Always started locally, even when `MOTO_URL` is set.
    ///
    /// # Panics
    /// As [`Moto::shared`].
    #[must_use]
    pub fn spawn_dedicated() -> Moto {
        Self::spawn(&[])
    }

    /// Starts a separate server with extra environment variables for its process, such as
    /// `WB_LAMBDA_INVOKE_URL` (dockerless Lambda invocations forwarded to that Lambda Invoke
    /// API, for example the Runtime API emulator of [`cargo_lambda`]) and `WB_LAMBDA_THROTTLE`
    /// (`<function>:<n>`: the first `n` invocations answered `TooManyRequestsException`), or
    /// `WB_FAULT_RATE` (that fraction of S3 and SageMaker calls answered `503 SlowDown` /
    /// `ThrottlingException`), `WB_FAULT_AFTER` (the fraction of those faults injected after the
    /// call took effect) and `WB_FAULT_SEED`; [`Moto::faults`] counts them.
    ///
    /// # Panics
    /// As [`Moto::shared`].
    #[must_use]
    pub fn spawn_dedicated_with(env: &[(&str, &str)]) -> Moto {
        Self::spawn(env)
    }

    /// The endpoint, `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The faults injected so far (`WB_FAULT_RATE`), as logged: `wb-fault <before|after>
    /// <service> <method> <path> <target>`.
    ///
    /// # Panics
    /// When the server has no log (a `MOTO_URL` server).
    #[must_use]
    pub fn faults(&self) -> Vec<String> {
        let log = self.log.as_deref().expect("a spawned server has a log");
        fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("wb-fault "))
            .map(str::to_owned)
            .collect()
    }

    /// The file receiving this server's request log (`None` for a `MOTO_URL` server).
    #[must_use]
    pub fn log_file(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// An SDK configuration for this server: static test credentials, `us-east-1`, the server as
    /// endpoint and no retries (moto answers unimplemented operations with 500s, which should fail
    /// at once).
    #[must_use]
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .retry_config(RetryConfig::disabled())
            .build()
    }

    /// An S3 client for this server (path-style addressing).
    #[must_use]
    pub fn s3_client(&self) -> Client {
        s3_client(&self.sdk_config())
    }

    /// Creates a bucket with a unique name, `wb-test-<uuid>`, and returns the name.
    ///
    /// # Panics
    /// When moto refuses to create it.
    pub async fn fresh_bucket(&self) -> String {
        let bucket = format!("wb-test-{}", uuid::Uuid::now_v7().simple());
        if let Err(e) = self.s3_client().create_bucket().bucket(&bucket).send().await {
            panic!(
                "moto at {} did not create bucket {bucket}: {}",
                self.url,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            );
        }
        bucket
    }

    /// An [`S3Store`] on a fresh bucket below the prefix [`STORE_PREFIX`], with multipart
    /// threshold and part size at S3's 5 MiB minimum (so a 6 MiB file goes multipart).
    ///
    /// # Panics
    /// When the bucket cannot be created.
    pub async fn s3_store(&self, encryption: Encryption) -> S3Store {
        let bucket = self.fresh_bucket().await;
        let prefix = ObjectPath::parse(STORE_PREFIX).expect("the store prefix is a valid path");
        S3Store::new(self.s3_client(), bucket, Some(prefix), encryption)
            .with_multipart(MIN_PART_SIZE, MIN_PART_SIZE)
            .expect("5 MiB is a valid multipart setting")
    }

    /// Sends `POST <path>` with `body` to the server's `/moto-api` (plain HTTP/1.1) and returns
    /// the status code and response body.
    ///
    /// # Panics
    /// When the server cannot be reached or answers with something that is not HTTP.
    #[must_use]
    pub fn post_moto_api(&self, path: &str, content_type: &str, body: &str) -> (u16, String) {
        let authority = self.url.strip_prefix("http://").unwrap_or(&self.url);
        let authority = authority.split('/').next().unwrap_or(authority);
        let mut stream =
            TcpStream::connect(authority).unwrap_or_else(|e| panic!("connecting to moto at {}: {e}", self.url));
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("sending {path} to moto: {e}"));
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap_or_else(|e| panic!("reading moto's answer to {path}: {e}"));
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("moto's answer to {path} is not HTTP: {response:?}"));
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }

    /// Turns on authentication and authorization (`POST /moto-api/reset-auth` with body `0`):
    /// from then on every request needs credentials that exist in moto's IAM, and signatures are
    /// checked. Server-wide, so use it on a [`Moto::spawn_dedicated`] server only.
    ///
    /// # Panics
    /// When moto refuses.
    pub fn enable_auth(&self) {
        let (status, body) = self.post_moto_api("/moto-api/reset-auth", "text/plain", "0");
        assert_eq!(status, 200, "moto refused /moto-api/reset-auth: {body}");
    }

    fn spawn(env: &[(&str, &str)]) -> Moto {
        let python = provision();
        let venv = venv_dir();
        let guard = write_guard(&venv);
        let logs = venv.join("logs");
        fs::create_dir_all(&logs).unwrap_or_else(|e| panic!("creating {}: {e}", logs.display()));
        prune_logs(&logs);
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, Ordering::Relaxed);
        let log = logs.join(format!("moto-{}-{n}.log", std::process::id()));
        let log_file = File::create(&log).unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let mut child = Command::new(&python)
            .arg(&guard)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto with {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
        });
        let outcome = rx.recv_timeout(READY_TIMEOUT);
        let url = match &outcome {
            Ok(Ok(line)) => line.strip_prefix("READY ").map(|u| u.trim().to_owned()),
            _ => None,
        };
        let Some(url) = url else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "moto did not become ready within {READY_TIMEOUT:?} (guard said {outcome:?}); its log {}:\n{}",
                log.display(),
                tail(&log)
            );
        };
        tracing::debug!(url, log = %log.display(), "moto server started");
        Moto { url, log: Some(log), child: Some(child) }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take()); // EOF: the guard exits on its own ...
            let _ = child.kill(); // ... but do not wait for it.
            let _ = child.wait();
        }
    }
}

/// An S3 client from an SDK configuration, with path-style addressing.
#[must_use]
pub fn s3_client(sdk: &SdkConfig) -> Client {
    Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

/// The workspace's target directory: `CARGO_TARGET_DIR`, or `target/` in the workspace root
/// (the nearest ancestor of this crate whose `Cargo.toml` has a `[workspace]` table).
fn target_dir() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace_root = manifest_dir
        .ancestors()
        .find(|dir| fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|toml| toml.contains("[workspace]")))
        .unwrap_or(manifest_dir);
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace_root.join(dir),
        None => workspace_root.join("target"),
    }
}

fn venv_dir() -> PathBuf {
    target_dir().join("moto-venv")
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) { venv.join("Scripts").join("python.exe") } else { venv.join("bin").join("python") }
}

/// The Python interpreter of the harness's virtual environment, with [`REQUIREMENTS`] installed
/// (so `import pyarrow` works). Provisions the environment on first use, as [`Moto::shared`] does,
/// even when `MOTO_URL` names a server.
///
/// # Panics
/// When the environment cannot be provisioned; the message says what to install.
#[must_use]
pub fn python() -> PathBuf {
    provision()
}

/// The `statelint` command of the harness's virtual environment ([`STATELINT_REQUIREMENT`]),
/// provisioned as [`python`] is.
///
/// # Panics
/// When the environment cannot be provisioned; the message says what to install.
#[must_use]
pub fn statelint() -> PathBuf {
    let python = provision();
    python.with_file_name(if cfg!(windows) { "statelint.exe" } else { "statelint" })
}

/// The pinned cargo-lambda release whose Lambda Runtime API emulator (`cargo lambda watch
/// --only-lambda-apis`) the workflow tests run the packaged Lambda binary under. Its PyPI wheel
/// carries the prebuilt binary; it is installed with `--no-deps` (its `ziglang` dependency only
/// serves cross-compiling builds).
pub const CARGO_LAMBDA_REQUIREMENT: &str = "cargo-lambda==1.9.2";

/// The `cargo-lambda` binary ([`CARGO_LAMBDA_REQUIREMENT`]) in the harness's virtual
/// environment, installed once (`pip install --no-deps`) under a file lock. Run it as
/// `cargo-lambda lambda watch …` (the first argument is the one cargo would pass).
///
/// # Panics
/// When the environment cannot be provisioned or the install fails; the message says what to
/// run.
#[must_use]
pub fn cargo_lambda() -> PathBuf {
    let python = provision();
    let venv = venv_dir();
    let command = python.with_file_name(if cfg!(windows) { "cargo-lambda.exe" } else { "cargo-lambda" });
    install_once(
        &command,
        &venv.join(".wb-testkit-cargo-lambda"),
        CARGO_LAMBDA_REQUIREMENT,
        "cargo-lambda.lock",
        || {
            eprintln!("wb-aws testkit: installing {CARGO_LAMBDA_REQUIREMENT} into {} (once)", venv.display());
            let out = Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-deps"])
                .arg(CARGO_LAMBDA_REQUIREMENT)
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("running pip in {}: {e}", venv.display()));
            if !out.status.success() || !command.exists() {
                panic!(
                    "`{} -m pip install --no-deps {CARGO_LAMBDA_REQUIREMENT}` failed ({}); it needs network access to PyPI:\n{}",
                    python.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        },
    )
}

/// The pinned XGBoost the boosted-tree tests compare the workbench against (the CPU-only wheel:
/// no CUDA libraries). It brings scipy along.
pub const XGBOOST_REQUIREMENT: &str = "xgboost-cpu==3.1.2";

/// The harness's Python interpreter with [`XGBOOST_REQUIREMENT`] installed too (once, under a
/// file lock), so `import xgboost` works.
///
/// # Panics
/// When the environment cannot be provisioned or the install fails; the message says what to
/// run.
#[must_use]
pub fn xgboost_python() -> PathBuf {
    let python = provision();
    let venv = venv_dir();
    install_once(&python, &venv.join(".wb-testkit-xgboost"), XGBOOST_REQUIREMENT, "xgboost.lock", || {
        eprintln!("wb-aws testkit: installing {XGBOOST_REQUIREMENT} into {} (once)", venv.display());
        let out = Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
            .arg(XGBOOST_REQUIREMENT)
            .arg(NUMPY_REQUIREMENT)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running pip in {}: {e}", venv.display()));
        if !out.status.success() {
            panic!(
                "`{} -m pip install {XGBOOST_REQUIREMENT} {NUMPY_REQUIREMENT}` failed ({}); it needs network access to PyPI:\n{}",
                python.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    })
}

/// `command`, installed by `install` unless `marker` already records `requirement` (and the
/// command exists); installs are serialised by the file lock `<target>/<lock>` and the marker is
/// written only after a complete install.
fn install_once(command: &Path, marker: &Path, requirement: &str, lock: &str, install: impl FnOnce()) -> PathBuf {
    let installed = || fs::read_to_string(marker).is_ok_and(|m| m.trim() == requirement) && command.exists();
    if installed() {
        return command.to_path_buf();
    }
    let lock_path = target_dir().join(lock);
    if let Some(parent) = lock_path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    }
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if !installed() {
        install();
        if let Some(parent) = marker.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
        }
        fs::write(marker, requirement).unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
    }
    drop(lock);
    command.to_path_buf()
}

/// The pinned npm package of the other Amazon States Language validator.
pub const ASL_VALIDATOR_REQUIREMENT: &str = "asl-validator@4.0.0";

/// The `asl-validator` command (npm [`ASL_VALIDATOR_REQUIREMENT`]), installed once per target
/// directory into `<target>/node-tools` with the machine's npm, under a file lock.
///
/// # Panics
/// When npm is missing or the install fails; the message says what to run.
#[must_use]
pub fn asl_validator() -> PathBuf {
    let tools = target_dir().join("node-tools");
    let command = tools.join("node_modules").join(".bin").join("asl-validator");
    install_once(
        &command,
        &tools.join(".wb-testkit-installed"),
        ASL_VALIDATOR_REQUIREMENT,
        "node-tools/install.lock",
        || {
            eprintln!("wb-aws testkit: installing {ASL_VALIDATOR_REQUIREMENT} into {} (once)", tools.display());
            let out = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--no-save", "--prefix"])
                .arg(&tools)
                .arg(ASL_VALIDATOR_REQUIREMENT)
                .stdin(Stdio::null())
                .output();
            match out {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "npm was not found; the workflow tests validate state machines with {ASL_VALIDATOR_REQUIREMENT}: install Node.js and npm (Debian/Ubuntu: `apt-get install nodejs npm`), or run `npm install --prefix {} {}`",
                    tools.display(),
                    ASL_VALIDATOR_REQUIREMENT
                ),
                Err(e) => panic!("running npm: {e}"),
                Ok(out) if !out.status.success() || !command.exists() => panic!(
                    "`npm install --prefix {} {ASL_VALIDATOR_REQUIREMENT}` failed ({}); it needs the npm registry:\n{}",
                    tools.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ),
                Ok(_) => {}
            }
        },
    )
}

/// The marker's content for the current requirement list.
fn marker_content() -> String {
    REQUIREMENTS.join("\n")
}

/// Makes sure the virtual environment with [`REQUIREMENTS`] exists and returns its Python.
///
/// A venv carrying the marker of an older requirement list (or the legacy moto-only marker) was
/// complete once: the requirements are installed into it (pip adds what is missing and changes
/// what differs; an interrupted upgrade is retried the same way next time). A venv without either
/// marker is an interrupted creation and is rebuilt.
fn provision() -> PathBuf {
    let venv = venv_dir();
    let python = venv_python(&venv);
    let marker = venv.join(MARKER);
    let wanted = marker_content();
    let installed = || fs::read_to_string(&marker).is_ok_and(|m| m.trim() == wanted) && python.exists();
    if installed() {
        return python;
    }
    let target = target_dir();
    fs::create_dir_all(&target).unwrap_or_else(|e| panic!("creating {}: {e}", target.display()));
    let lock_path = target.join("moto-venv.lock");
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
    lock.lock().unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if installed() {
        return python; // another process finished the install while we waited
    }
    let upgradable = python.exists() && (marker.exists() || venv.join(LEGACY_MARKER).exists());
    let requirements = REQUIREMENTS.join(" ");
    if upgradable {
        eprintln!("wb-aws testkit: installing {requirements} into the existing {} (once)", venv.display());
    } else {
        if venv.exists() {
            fs::remove_dir_all(&venv).unwrap_or_else(|e| panic!("removing the incomplete {}: {e}", venv.display()));
        }
        eprintln!("wb-aws testkit: installing {requirements} into {} (once; about a minute)", venv.display());
        create_venv(&venv);
    }
    let pip_log = venv.join("pip-install.log");
    let log = File::create(&pip_log).unwrap_or_else(|e| panic!("creating {}: {e}", pip_log.display()));
    let log_err = log.try_clone().unwrap_or_else(|e| panic!("opening {}: {e}", pip_log.display()));
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
        .args(REQUIREMENTS)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .status()
        .unwrap_or_else(|e| panic!("running pip in {}: {e}", venv.display()));
    if !status.success() {
        panic!(
            "`pip install {requirements}` failed ({status}); it needs network access to PyPI (or, for the S3 tests \
             alone, set MOTO_URL to a running moto server). The end of {}:\n{}",
            pip_log.display(),
            tail(&pip_log)
        );
    }
    fs::write(&marker, wanted).unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
    drop(lock);
    python
}

/// `python3 -m venv <venv>`, with a message that says what to install when it fails.
fn create_venv(venv: &Path) {
    let created = Command::new("python3").arg("-m").arg("venv").arg(venv).output();
    match created {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "python3 was not found; the test harness needs it for moto (the S3 tests) and pyarrow: install Python 3 \
             with venv support (Debian/Ubuntu: `apt-get install python3 python3-venv`), or, for the S3 tests alone, \
             start moto yourself and set MOTO_URL (e.g. MOTO_URL=http://127.0.0.1:5000)"
        ),
        Err(e) => panic!("running python3 -m venv: {e}"),
        Ok(out) if !out.status.success() => panic!(
            "`python3 -m venv {}` failed ({}); install the venv module (Debian/Ubuntu: `apt-get install \
             python3-venv`) or set MOTO_URL to a running moto server:\n{}",
            venv.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
}

/// Writes the guard script into the venv (atomically, as other processes may be starting it).
fn write_guard(venv: &Path) -> PathBuf {
    let guard = venv.join("moto_stdin_guard.py");
    if fs::read_to_string(&guard).is_ok_and(|s| s == GUARD_SCRIPT) {
        return guard;
    }
    let tmp = venv.join(format!(".moto_stdin_guard.{}.tmp", std::process::id()));
    fs::write(&tmp, GUARD_SCRIPT)
        .and_then(|()| fs::rename(&tmp, &guard))
        .unwrap_or_else(|e| panic!("writing {}: {e}", guard.display()));
    guard
}

/// Removes request logs of earlier runs.
fn prune_logs(logs: &Path) {
    let Ok(entries) = fs::read_dir(logs) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > LOG_RETENTION));
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The last lines of a log file, for panic messages.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

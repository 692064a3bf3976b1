//! The backend interface: where training jobs run, where endpoints are hosted, how they are
//! invoked, where registrations are mirrored and what clean-up must remove outside the store.
//!
//! A project chooses its backend once, when it is opened (`workbench.toml`'s `[backend] kind`),
//! and everything above that point talks to one `Arc<dyn Backend>`: the facade's `Project`, the
//! `wb` commands, the comparison, and later monitoring and workflows. Two implementations exist:
//! [`LocalBackend`] (in-process training laid out like a SageMaker training container, the local
//! model server) and `wb_aws::backend::SageMakerBackend` (SageMaker training jobs, hosting,
//! SageMaker Runtime and the model package mirror). Both record jobs and endpoints in the store
//! in the same layout, and both pass one conformance suite
//! (`wb_serving::testkit::backend_conformance`, feature `testkit`); a backend written by a user
//! runs the same suite.
//!
//! ```no_run
//! # async fn example(store: wb_core::DynObjectStore) -> wb_serving::Result<()> {
//! use std::sync::Arc;
//! use wb_serving::backend::{Backend, LocalBackend, TrainControl, TrainJob};
//!
//! let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(store));
//! let job = backend
//!     .train(TrainJob::new(wb_core::DatasetName::parse("wine")?, "decision-tree"), TrainControl::default())
//!     .await?;
//! println!("{} on {}: {:?}", job.name, backend.kind(), job.metrics);
//! # Ok(()) }
//! ```

mod local;
mod workflow;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use wb_core::{BackendKind, DatasetName, DynObjectStore, EndpointName, JobName, ModelName, ObjectPath};
use wb_models::registry::{ModelRecord, Promotion};
use wb_models::training::JobRecord;
/// How a caller follows and stops a training job, and the steps it sees: defined with local
/// training jobs in [`wb_models::training`], re-exported here beside the [`Backend`] trait.
pub use wb_models::training::{TrainControl, TrainingProgress};

pub use self::local::{InProcessServer, LocalBackend, ServerLauncher};
pub use self::workflow::{DeployedFunction, DeployedWorkflow, FunctionPackage, WorkflowDeployment, WorkflowRun};
use crate::endpoints::EndpointRecord;
use crate::error::Result;
use crate::invoke::InvokeEndpoint;
use crate::local::ServerStatus;

/// A training job to run: what to learn, with what, and on which resources.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrainJob {
    /// The partitioned dataset (its train and validation channels; never the test split).
    pub dataset: DatasetName,
    /// The algorithm (the workbench's own, or a SageMaker built-in on that backend).
    pub algorithm: String,
    /// Hyperparameters, SageMaker's string convention.
    pub hyperparameters: BTreeMap<String, String>,
    /// The job's name (default `<dataset>-<algorithm>-<UTC time>`).
    pub job: Option<JobName>,
    /// Where it runs; backends without instances ignore this.
    pub resources: Resources,
    /// Tags recorded on the job and on everything the backend creates for it.
    pub tags: BTreeMap<String, String>,
}

impl TrainJob {
    /// A job of `algorithm` on `dataset` with default hyperparameters and resources.
    #[must_use]
    pub fn new(dataset: DatasetName, algorithm: impl Into<String>) -> Self {
        Self {
            dataset,
            algorithm: algorithm.into(),
            hyperparameters: BTreeMap::new(),
            job: None,
            resources: Resources::default(),
            tags: BTreeMap::new(),
        }
    }

    /// Replaces the hyperparameters.
    #[must_use]
    pub fn hyperparameters(mut self, hyperparameters: BTreeMap<String, String>) -> Self {
        self.hyperparameters = hyperparameters;
        self
    }

    /// Names the job.
    #[must_use]
    pub fn job_name(mut self, job: Option<JobName>) -> Self {
        self.job = job;
        self
    }

    /// Sets the resources.
    #[must_use]
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = resources;
        self
    }

    /// Sets the tags.
    #[must_use]
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }
}

/// Instances behind a job or an endpoint. The local backend runs in-process and ignores them
/// (see [`Capabilities::instances`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resources {
    /// Instance type (default: the project's).
    pub instance_type: Option<String>,
    /// Instance count (default 1).
    pub instance_count: Option<u32>,
    /// Managed spot training.
    pub spot: bool,
    /// Limit of a training job's run time (default: the backend's).
    pub max_runtime: Option<Duration>,
}

impl Resources {
    /// Resources with these settings.
    #[must_use]
    pub fn new(instance_type: Option<String>, instance_count: Option<u32>, spot: bool) -> Self {
        Self { instance_type, instance_count, spot, max_runtime: None }
    }
}

/// A deployment: a completed job's model on an endpoint (an existing endpoint moves to it).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeployEndpoint {
    /// The completed job whose model is served.
    pub job: JobName,
    /// The endpoint.
    pub endpoint: EndpointName,
    /// Percentage of requests and responses captured (SageMaker's data capture format, below
    /// the store's `capture/`).
    pub capture: Option<u8>,
    /// Instances behind the endpoint; backends without instances ignore them.
    pub resources: Resources,
    /// Tags of the endpoint and what serves it.
    pub tags: BTreeMap<String, String>,
}

impl DeployEndpoint {
    /// `job`'s model on `endpoint`, tagged with `tags`, without capture, on default resources
    /// (set the public fields to change them).
    #[must_use]
    pub fn new(job: JobName, endpoint: EndpointName, tags: BTreeMap<String, String>) -> Self {
        Self { job, endpoint, capture: None, resources: Resources::default(), tags }
    }

    /// Captures this percentage of invocations.
    #[must_use]
    pub fn capture(mut self, percent: Option<u8>) -> Self {
        self.capture = percent;
        self
    }
}

/// How endpoints are invoked, once the backend made sure they can answer.
#[derive(Clone, Debug)]
pub struct Serving {
    /// SageMaker Runtime's `InvokeEndpoint`, on this backend.
    pub invoker: Arc<dyn InvokeEndpoint>,
    /// The base URL of the runtime API (`http://127.0.0.1:8080`, or SageMaker Runtime's
    /// regional URL): an endpoint answers at `{url}/endpoints/{name}/invocations`.
    pub url: String,
    /// Whether this call started a server.
    pub started: bool,
}

impl Serving {
    /// Where `endpoint` answers.
    #[must_use]
    pub fn invocation_url(&self, endpoint: &str) -> String {
        invocation_url(&self.url, endpoint)
    }
}

/// Where SageMaker Runtime's `InvokeEndpoint` for `endpoint` answers below `base`
/// (`{base}/endpoints/{endpoint}/invocations`).
#[must_use]
pub fn invocation_url(base: &str, endpoint: &str) -> String {
    format!("{}/endpoints/{endpoint}/invocations", base.trim_end_matches('/'))
}

/// An endpoint as its backend sees it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EndpointStatus {
    /// `up` / `down` (local server), SageMaker's status (`InService`, `Creating`, ...), or
    /// `missing` when the backend has no such endpoint.
    pub state: String,
    /// Where it answers, when it can.
    pub url: Option<String>,
    /// Whether it answers invocations now.
    pub answers: bool,
}

/// SageMaker's schedule expression for "every hour, on the hour".
pub const HOURLY: &str = "cron(0 * ? * * *)";

/// The default instance type of a monitoring job.
pub const DEFAULT_MONITORING_INSTANCE_TYPE: &str = "ml.m5.xlarge";

/// The default volume of a monitoring job, in GB.
pub const DEFAULT_MONITORING_VOLUME_GB: u32 = 20;

/// The default limit of a monitoring job's run time.
pub const DEFAULT_MONITORING_MAX_RUNTIME: Duration = Duration::from_secs(3600);

/// What analyses an endpoint's captured traffic on a monitoring schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[non_exhaustive]
pub enum MonitoringAnalyzer {
    /// SageMaker Model Monitor's own analyzer image of the backend's region
    /// (`<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-model-monitor-analyzer`).
    #[default]
    ModelMonitor,
    /// A container implementing Model Monitor's bring-your-own-container contract (inputs
    /// under `/opt/ml/processing/input`, reports to `/opt/ml/processing/output`): `image`, or,
    /// when `None`, the workbench's own image (`[backend] image` in `workbench.toml`), started
    /// with the argument `monitor`.
    Container {
        /// The image URI; `None` is the project's own image.
        image: Option<String>,
    },
}

/// A data-quality monitoring schedule to create for an endpoint: which baseline its traffic
/// is checked against, where the reports go, how often and on what it runs. Paths are in the
/// project's store; [`MonitoringScheduleRequest::new`] fills the workbench's layout and
/// defaults (hourly, one `ml.m5.xlarge` with 20 GB, one hour at most, Model Monitor's analyzer).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitoringScheduleRequest {
    /// The endpoint whose captured traffic is analysed.
    pub endpoint: EndpointName,
    /// The baseline's `statistics.json` (default `monitoring/<endpoint>/baseline/statistics.json`).
    pub baseline_statistics: ObjectPath,
    /// The baseline's `constraints.json` (default `monitoring/<endpoint>/baseline/constraints.json`).
    pub baseline_constraints: ObjectPath,
    /// The prefix every run writes its reports below (default `monitoring/<endpoint>/reports`).
    pub output: ObjectPath,
    /// When runs start, in SageMaker's syntax (default [`HOURLY`]).
    pub schedule_expression: String,
    /// Instance type of a run (default [`DEFAULT_MONITORING_INSTANCE_TYPE`]).
    pub instance_type: String,
    /// Instances of a run (default 1).
    pub instance_count: u32,
    /// Volume of each instance in GB (default [`DEFAULT_MONITORING_VOLUME_GB`]).
    pub volume_size_gb: u32,
    /// Limit of a run's time (default [`DEFAULT_MONITORING_MAX_RUNTIME`]).
    pub max_runtime: Duration,
    /// What analyses the traffic (default [`MonitoringAnalyzer::ModelMonitor`]).
    pub analyzer: MonitoringAnalyzer,
}

impl MonitoringScheduleRequest {
    /// An hourly data-quality schedule of `endpoint` with the workbench's layout and defaults.
    ///
    /// # Errors
    /// [`crate::Error::Core`] if the endpoint's name does not make a store path (never, for a
    /// valid [`EndpointName`]).
    pub fn new(endpoint: EndpointName) -> Result<Self> {
        let root = ObjectPath::parse(format!("monitoring/{endpoint}"))?;
        Ok(Self {
            baseline_statistics: root.join("baseline")?.join("statistics.json")?,
            baseline_constraints: root.join("baseline")?.join("constraints.json")?,
            output: root.join("reports")?,
            endpoint,
            schedule_expression: HOURLY.to_owned(),
            instance_type: DEFAULT_MONITORING_INSTANCE_TYPE.to_owned(),
            instance_count: 1,
            volume_size_gb: DEFAULT_MONITORING_VOLUME_GB,
            max_runtime: DEFAULT_MONITORING_MAX_RUNTIME,
            analyzer: MonitoringAnalyzer::ModelMonitor,
        })
    }

    /// Analyses with `analyzer`.
    #[must_use]
    pub fn analyzer(mut self, analyzer: MonitoringAnalyzer) -> Self {
        self.analyzer = analyzer;
        self
    }

    /// Runs on `expression` (SageMaker's `cron(...)` syntax) instead of hourly.
    #[must_use]
    pub fn schedule_expression(mut self, expression: impl Into<String>) -> Self {
        self.schedule_expression = expression.into();
        self
    }
}

/// A monitoring schedule as the backend created it (backends fill every field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonitoringSchedule {
    /// The endpoint it monitors.
    pub endpoint: EndpointName,
    /// The schedule's name.
    pub name: String,
    /// The schedule's identifier (an ARN).
    pub id: String,
    /// The job definition each run follows.
    pub job_definition: String,
    /// When runs start.
    pub schedule_expression: String,
    /// The analyzer's image URI.
    pub image: String,
    /// Where reports are written (a URI below the store's `monitoring/<endpoint>/reports`).
    pub reports: String,
    /// Whether an earlier schedule of the endpoint was replaced.
    pub replaced: bool,
}

/// Something a backend created outside the store (a SageMaker endpoint, a model package, a
/// running job, the local server), as inventory and clean-up list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// Its kind, in deletion order: `state-machine`, `lambda-function`, `monitoring-schedule`, `data-quality-job-definition`,
    /// `endpoint`, `endpoint-config`, `model`, `model-package`, `model-package-group`,
    /// `training-job`, `local-server`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its identifier (an ARN, a URL).
    pub id: String,
}

/// What a backend can do beyond the common contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Jobs and endpoints run on instances of a type and count ([`Resources`]).
    pub instances: bool,
    /// [`Backend::schedule_monitoring`] creates schedules that run without the workbench.
    pub scheduled_monitoring: bool,
    /// [`Backend::deploy_workflow`] hosts state machines and functions that run without the
    /// workbench.
    pub hosted_workflows: bool,
    /// How long after an invocation its data capture can be read from the store, at most:
    /// the local server writes its buffers every few seconds; SageMaker delivers capture files
    /// "after a couple of minutes". Zero when unknown.
    pub capture_delay: std::time::Duration,
}

/// The operations every backend provides. Implementations record training jobs in
/// `training/<job>/job.json` and endpoints in `endpoints/<endpoint>.json` of [`Backend::store`]
/// (the layout of [`wb_models::layout`]), so everything reading the store — listings, the
/// comparison, monitoring — works unchanged on any backend.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// Which backend this is (recorded on jobs, endpoints and models).
    fn kind(&self) -> BackendKind;

    /// The project's store.
    fn store(&self) -> &DynObjectStore;

    /// What it can do beyond the common contract.
    fn capabilities(&self) -> Capabilities;

    /// Runs a training job to its end on the dataset's train and validation channels and
    /// records it; `control` follows and may stop it.
    ///
    /// # Errors
    /// Invalid requests before anything runs; [`wb_models::Error::JobFailed`] (or the backend's
    /// own failure) with the reason; cancellation.
    async fn train(&self, job: TrainJob, control: TrainControl) -> Result<JobRecord>;

    /// Hosts a completed job's model on an endpoint and records it.
    ///
    /// # Errors
    /// [`wb_models::Error::JobNotCompleted`], capture settings out of range, hosting failures.
    async fn deploy(&self, deploy: DeployEndpoint) -> Result<EndpointRecord>;

    /// Makes sure endpoints can be invoked (the local backend starts its server when none
    /// answers) and returns how.
    ///
    /// # Errors
    /// A server that cannot start; clients that cannot be built.
    async fn serving(&self) -> Result<Serving>;

    /// The invocation interface as things stand, starting nothing (the local backend refuses
    /// when its server is not running).
    ///
    /// # Errors
    /// Endpoints cannot be invoked now.
    async fn invoker(&self) -> Result<Serving> {
        self.serving().await
    }

    /// The local model server's status, on backends that have one.
    ///
    /// # Errors
    /// Store errors.
    async fn server(&self) -> Result<Option<ServerStatus>> {
        Ok(None)
    }

    /// How `endpoint` stands now.
    ///
    /// # Errors
    /// The backend cannot be asked.
    async fn endpoint_status(&self, endpoint: &EndpointRecord) -> Result<EndpointStatus>;

    /// Mirrors a registration outside the store (SageMaker's model package group); returns the
    /// mirror's identifier, or `None` when the backend keeps none.
    ///
    /// # Errors
    /// The mirror refuses.
    async fn mirror_registration(&self, model: &ModelRecord) -> Result<Option<String>>;

    /// Mirrors a promotion (approves the model's package); returns the mirror's identifier.
    ///
    /// # Errors
    /// The mirror refuses or has no such model.
    async fn mirror_promotion(&self, model: &ModelName, why: &str) -> Result<Option<String>>;

    /// Everything the backend created for the project outside the store, found without the
    /// store's records (by the project's tag on SageMaker).
    ///
    /// # Errors
    /// The backend cannot be listed.
    async fn inventory(&self) -> Result<Vec<Resource>>;

    /// Removes (with `dry_run`, lists) what [`Backend::inventory`] finds, in dependency order;
    /// `keep` spares the promoted model and what serves it.
    ///
    /// # Errors
    /// A removal refused for another reason than "not found".
    async fn clean(&self, dry_run: bool, keep: Option<&Promotion>) -> Result<Vec<Resource>>;

    /// Schedules data-quality monitoring of an endpoint: on `request.schedule_expression`, its
    /// captured traffic is compared with the baseline in the store and the reports are written
    /// below `request.output`. Scheduling an endpoint again replaces its schedule.
    ///
    /// The default refuses ([`crate::Error::Unsupported`]): only backends with
    /// [`Capabilities::scheduled_monitoring`] run schedules; locally, run
    /// `wb monitor run --endpoint E` on a timer (cron, a systemd timer).
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`]; the backend's refusal (an unknown region, a missing image).
    async fn schedule_monitoring(&self, request: MonitoringScheduleRequest) -> Result<MonitoringSchedule> {
        Err(crate::Error::Unsupported {
            operation: "scheduled monitoring",
            backend: self.kind().to_string(),
            hint: format!(
                "schedules need the sagemaker backend; locally, run `wb monitor run --endpoint {}` on a timer \
                 (cron or a systemd timer)",
                request.endpoint
            ),
        })
    }

    /// Creates (or updates) a hosted workflow: its functions, then its state machine, each
    /// tagged with the deployment's tags.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] on a backend without hosted workflows (the local one runs
    /// state machines with its own executor: `wb workflow run`); the backend's refusal.
    async fn deploy_workflow(&self, deployment: WorkflowDeployment) -> Result<DeployedWorkflow> {
        Err(crate::Error::Unsupported {
            operation: "hosted workflows",
            backend: self.kind().to_string(),
            hint: format!(
                "state machine {:?} needs the sagemaker backend (Lambda and Step Functions); locally, run it with \
                 `wb workflow run`",
                deployment.machine
            ),
        })
    }

    /// Starts an execution of the hosted state machine `machine` with `input` and follows it
    /// until it ends or `wait` has passed (then its status is `RUNNING`).
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] as for [`Backend::deploy_workflow`]; a machine that does not
    /// exist; the backend's refusal.
    async fn start_workflow(&self, machine: &str, input: Value, wait: Duration) -> Result<WorkflowRun> {
        let _ = (input, wait);
        Err(crate::Error::Unsupported {
            operation: "hosted workflows",
            backend: self.kind().to_string(),
            hint: format!("state machine {machine:?} runs on the sagemaker backend; locally, use `wb workflow run`"),
        })
    }

    /// Stops what the backend started in this process (an in-process model server), flushing
    /// data capture. Safe to call more than once.
    ///
    /// # Errors
    /// The server could not flush its capture.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// A shared backend.
pub type DynBackend = Arc<dyn Backend>;

//! The SageMaker backend: the workbench's training jobs and endpoints on SageMaker, recorded in
//! the project's store exactly as the local backend records them.
//!
//! [`SageMakerBackend`] implements the backend interface ([`wb_serving::backend::Backend`]).
//! `train` runs a SageMaker training job on a dataset's partitions: a built-in algorithm
//! (`xgboost`, `linear-learner`, `image-classification`, in the region's published image) or one
//! of the workbench's own algorithms in the project's container image (`[backend] image`), which
//! reads the same `train`, `validation` and `metadata` channels as a local job. SageMaker writes
//! `model.tar.gz` to `training/<job>/output/` in the store, the local backend's layout, and the
//! job is recorded in `training/<job>/job.json` with `backend = "sagemaker"`, so `wb jobs`,
//! `wb deploy`, `wb register` and `wb compare` work unchanged. `deploy` hosts a completed job's
//! model on an endpoint with data capture to the store's `capture/` prefix and records it in
//! `endpoints/<endpoint>.json`. `inventory` and `clean` find what the project created on
//! SageMaker by its tag alone. The facade's `Project` is the usual way in; the trait is the
//! whole public surface of training and hosting here.
//!
//! ```no_run
//! # async fn example(config: wb_core::LoadedConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use wb_aws::backend::SageMakerBackend;
//! use wb_serving::backend::{Backend, DeployEndpoint, TrainControl, TrainJob};
//!
//! let sdk = wb_aws::sdk_config(&config.config.aws).await; // once, at the edge
//! let store = wb_aws::open_store_with(&config, &sdk)?;
//! let backend = SageMakerBackend::from_sdk_config(&config, store, &sdk)?;
//! let mut job = TrainJob::new(wb_core::DatasetName::parse("wine")?, "xgboost");
//! job.hyperparameters.insert("num_round".into(), "50".into());
//! let job = backend.train(job, TrainControl::default()).await?;
//! let endpoint = wb_core::EndpointName::parse("wine-xgb")?;
//! let deploy = DeployEndpoint::new(job.name, endpoint, config.tags()).capture(Some(20));
//! let endpoint = backend.deploy(deploy).await?;
//! println!("{} serves {}", endpoint.name, endpoint.job);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use wb_core::{DatasetName, DynObjectStore, EndpointName, JobName, ModelName, ObjectStoreExt, PROJECT_TAG, StoreUri};
use wb_datasets::images::IMAGE_CONTENT_TYPE;
use wb_datasets::{Datasets, ImageManifest, Split};
use wb_models::algorithm::Algorithm;
use wb_models::container::{ALGORITHM_KEY, METADATA_CHANNEL};
use wb_models::layout;
use wb_models::registry::{ModelRecord, Promotion};
use wb_models::schema::{ModelSchema, SCHEMA_FILE};
use wb_models::training::{JobRecord, JobStatus, TrainingJobs, default_job_name};
use wb_serving::capture::CaptureConfig;
use wb_serving::endpoints::{DEFAULT_VARIANT, EndpointRecord, Endpoints};

use crate::SageMakerRuntime;
use crate::error::{Error, Result};
use crate::functions::Functions;
use crate::hosting::{CaptureSpec, DeploySpec, Hosting, TaggedResource};
use crate::images::BuiltinAlgorithm;
use crate::monitoring::{Analyzer, Monitoring, MonitoringSpec, model_monitor_image, schedule_names};
use crate::registry::{ModelPackage, ModelPackages, PackageSpec};
use crate::state_machines::StateMachines;
use crate::training::{ChannelSpec, TrainedJob, Training, TrainingProgress, TrainingSpec};

/// The default training and hosting instance type.
pub const DEFAULT_INSTANCE_TYPE: &str = "ml.m5.large";
/// The default training volume, in GB.
pub const DEFAULT_VOLUME_GB: u32 = 30;
/// The default limit of a training job's run time.
pub const DEFAULT_MAX_RUNTIME: Duration = Duration::from_secs(24 * 3600);
/// The metrics the workbench's container prints (`validation:<name>=<value>`), which SageMaker
/// reads from its log.
pub const CONTAINER_METRICS: [&str; 6] = ["accuracy", "log_loss", "auc", "rmse", "mae", "r2"];

/// What the SageMaker backend needs beyond the store: the role, the region, the images, the
/// instance types and the tags, usually from `workbench.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendSettings {
    /// The IAM role SageMaker assumes.
    pub role_arn: String,
    /// The region (for the built-in algorithms' image URIs).
    pub region: String,
    /// The workbench's own container image, for its algorithms.
    pub image: Option<String>,
    /// KMS key for training output, volumes, endpoints and capture.
    pub kms_key_id: Option<String>,
    /// Training instance type.
    pub training_instance_type: String,
    /// Hosting instance type.
    pub hosting_instance_type: String,
    /// Whether registered models are mirrored into a model package group.
    pub model_registry: bool,
    /// The project's name (the value of the project tag, and the model package group).
    pub project: String,
    /// Tags of every resource (the project tag included).
    pub tags: BTreeMap<String, String>,
}

impl BackendSettings {
    /// The settings of a project's `workbench.toml`, in `region` (the SDK configuration's).
    ///
    /// # Errors
    /// [`Error::Invalid`] when the role is missing.
    pub fn from_config(config: &wb_core::LoadedConfig, region: &str) -> Result<Self> {
        let c = &config.config;
        let role_arn = c.aws.role_arn.clone().filter(|r| !r.is_empty()).ok_or_else(|| Error::Invalid {
            field: "role",
            value: String::new(),
            expected: "the IAM role SageMaker assumes: `wb init --role ARN`, or role_arn under [aws]".into(),
        })?;
        Ok(Self {
            role_arn,
            region: region.to_owned(),
            image: c.backend.image.clone(),
            kms_key_id: c.aws.kms_key_id.clone(),
            training_instance_type: c
                .backend
                .training_instance_type
                .clone()
                .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into()),
            hosting_instance_type: c
                .backend
                .hosting_instance_type
                .clone()
                .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into()),
            model_registry: c.backend.model_registry.unwrap_or(true),
            project: c.project.name.clone(),
            tags: config.tags(),
        })
    }
}

/// How an algorithm runs on SageMaker.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Runner {
    /// A SageMaker built-in algorithm in the region's image.
    Builtin(BuiltinAlgorithm),
    /// One of the workbench's algorithms in the project's image.
    Workbench(Algorithm),
}

impl Runner {
    fn parse(algorithm: &str) -> Result<Self> {
        if let Some(builtin) = BuiltinAlgorithm::parse(algorithm) {
            return Ok(Self::Builtin(builtin));
        }
        Algorithm::parse(algorithm).map(Self::Workbench).map_err(|_| {
            let known: Vec<&str> =
                BuiltinAlgorithm::ALL.iter().map(|b| b.name()).chain(Algorithm::ALL.iter().map(|a| a.name())).collect();
            Error::Invalid {
                field: "algorithm",
                value: algorithm.to_owned(),
                expected: format!("one of {}", known.join(", ")),
            }
        })
    }

    /// How a job's model is served: an imported model (`wb jobs import`) is in the workbench's
    /// artefact format, so the project's image serves it even where its algorithm's name is a
    /// built-in's (`xgboost`).
    fn of_job(job: &JobRecord) -> Result<Self> {
        if job.is_imported() {
            return Algorithm::parse(&job.algorithm).map(Self::Workbench).map_err(|_| Error::Invalid {
                field: "algorithm",
                value: job.algorithm.clone(),
                expected: "a workbench algorithm for an imported model".into(),
            });
        }
        Self::parse(&job.algorithm)
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Builtin(b) => b.name(),
            Self::Workbench(a) => a.name(),
        }
    }

    /// The request and response content types the model's endpoint supports, as a model
    /// package's inference specification lists them: images for image models (SageMaker's
    /// built-in classifier answers JSON only; the workbench's server also answers CSV when
    /// asked), CSV rows for tabular ones.
    fn content_types(&self) -> (Vec<String>, Vec<String>) {
        let strings = |types: &[&str]| types.iter().map(|t| (*t).to_owned()).collect::<Vec<String>>();
        let images = strings(&["image/png", "image/jpeg", "application/x-image"]);
        match self {
            Self::Builtin(BuiltinAlgorithm::ImageClassification) => (images, strings(&["application/json"])),
            Self::Workbench(a) if a.is_image() => (images, strings(&["application/json", "text/csv"])),
            Self::Builtin(_) | Self::Workbench(_) => {
                (strings(&["text/csv"]), strings(&["text/csv", "application/json"]))
            }
        }
    }

    fn image(&self, settings: &BackendSettings) -> Result<String> {
        match self {
            Self::Builtin(b) => b.image_uri(&settings.region),
            Self::Workbench(a) => settings.image.clone().filter(|i| !i.is_empty()).ok_or_else(|| Error::Invalid {
                field: "image",
                value: String::new(),
                expected: format!(
                    "the workbench's container image to run {a} on SageMaker: build and push the repository's \
                     Dockerfile, then set image = \"<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>\" under \
                     [backend] in workbench.toml"
                ),
            }),
        }
    }
}

/// The SageMaker backend of one project.
#[derive(Clone, Debug)]
pub struct SageMakerBackend {
    store: DynObjectStore,
    training: Training,
    hosting: Hosting,
    packages: ModelPackages,
    monitoring: Monitoring,
    runtime: SageMakerRuntime,
    runtime_url: String,
    settings: BackendSettings,
    workflows: Option<(Functions, StateMachines)>,
}

impl SageMakerBackend {
    /// The backend over `store` (an S3 store) with injected SageMaker clients.
    ///
    /// # Errors
    /// [`Error::NotS3`] when the store is not in S3.
    pub fn new(
        store: DynObjectStore,
        training: Training,
        hosting: Hosting,
        packages: ModelPackages,
        monitoring: Monitoring,
        runtime: SageMakerRuntime,
        settings: BackendSettings,
    ) -> Result<Self> {
        if !matches!(store.uri(), StoreUri::S3 { .. }) {
            return Err(Error::NotS3 { uri: store.uri().to_string() });
        }
        let runtime_url = format!("https://runtime.sagemaker.{}.amazonaws.com", settings.region);
        Ok(Self { store, training, hosting, packages, monitoring, runtime, runtime_url, settings, workflows: None })
    }

    /// Hosts workflows with these Lambda and Step Functions clients
    /// ([`wb_serving::backend::Backend::deploy_workflow`]); without them the backend refuses.
    #[must_use]
    pub fn with_workflows(mut self, functions: Functions, machines: StateMachines) -> Self {
        self.workflows = Some((functions, machines));
        self
    }

    fn workflows(&self) -> Result<&(Functions, StateMachines)> {
        self.workflows.as_ref().ok_or_else(|| Error::Invalid {
            field: "workflow clients",
            value: String::new(),
            expected: "Lambda and Step Functions clients (SageMakerBackend::with_workflows, or from_sdk_config)".into(),
        })
    }

    /// The base URL invocations go to (SageMaker Runtime's regional URL, or the configured
    /// endpoint URL such as a moto server's).
    #[must_use]
    pub fn with_runtime_url(mut self, url: impl Into<String>) -> Self {
        self.runtime_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The backend of a project's `workbench.toml`, its AWS configuration and its store.
    ///
    /// # Errors
    /// [`Error::Invalid`] without a role or region; [`Error::NotS3`] for a local store.
    pub async fn from_config(config: &wb_core::LoadedConfig, store: DynObjectStore) -> Result<Self> {
        Self::from_sdk_config(config, store, &crate::sdk_config(&config.config.aws).await)
    }

    /// The backend of a project's `workbench.toml` and its store, with clients made from an
    /// SDK configuration loaded once by the caller.
    ///
    /// # Errors
    /// [`Error::Invalid`] without a role or region; [`Error::NotS3`] for a local store.
    pub fn from_sdk_config(
        config: &wb_core::LoadedConfig,
        store: DynObjectStore,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self> {
        let region = sdk.region().map(ToString::to_string).ok_or_else(|| Error::Invalid {
            field: "region",
            value: String::new(),
            expected: "an AWS region: AWS_REGION, a profile's region, `wb init --region`, or region under [aws]".into(),
        })?;
        let settings = BackendSettings::from_config(config, &region)?;
        let backend = Self::new(
            store,
            Training::from_sdk_config(sdk),
            Hosting::from_sdk_config(sdk),
            ModelPackages::from_sdk_config(sdk),
            Monitoring::from_sdk_config(sdk),
            SageMakerRuntime::from_sdk_config(sdk),
            settings,
        )?
        .with_workflows(Functions::from_sdk_config(sdk), StateMachines::from_sdk_config(sdk));
        Ok(match sdk.endpoint_url() {
            Some(url) => backend.with_runtime_url(url),
            None => backend,
        })
    }

    /// The settings in use.
    #[must_use]
    pub fn settings(&self) -> &BackendSettings {
        &self.settings
    }

    /// The training-job client.
    #[must_use]
    pub fn training(&self) -> &Training {
        &self.training
    }

    /// The hosting client.
    #[must_use]
    pub fn hosting(&self) -> &Hosting {
        &self.hosting
    }

    /// The model-registry client.
    #[must_use]
    pub fn packages(&self) -> &ModelPackages {
        &self.packages
    }

    /// The Model Monitor client.
    #[must_use]
    pub fn monitoring(&self) -> &Monitoring {
        &self.monitoring
    }

    /// Replaces the Model Monitor client (its polling, in tests).
    #[must_use]
    pub fn with_monitoring(mut self, monitoring: Monitoring) -> Self {
        self.monitoring = monitoring;
        self
    }

    /// Schedules data-quality monitoring of a recorded endpoint that captures its traffic, once
    /// its baseline is in the store: a job definition and a schedule named after the project
    /// and the endpoint ([`schedule_names`]), both tagged with the project's tags, replacing an
    /// earlier schedule of the endpoint.
    ///
    /// # Errors
    /// [`wb_models::Error::UnknownEndpoint`]; [`Error::Invalid`] for an endpoint without data
    /// capture, a missing baseline file, no project image for the workbench's analyzer, or a
    /// request SageMaker would refuse; [`Error::NoImage`] for a region without Model Monitor's
    /// analyzer; [`Error::SageMaker`].
    pub async fn schedule_data_quality(
        &self,
        request: wb_serving::backend::MonitoringScheduleRequest,
    ) -> Result<wb_serving::backend::MonitoringSchedule> {
        use wb_serving::backend::MonitoringAnalyzer;
        let settings = &self.settings;
        let endpoint = Endpoints::new(self.store.clone()).get(&request.endpoint).await.map_err(|e| match e {
            wb_serving::Error::Models(e) => Error::Models(e),
            other => Error::Serving(other),
        })?;
        if endpoint.capture.as_ref().is_none_or(|c| c.sampling_percentage == 0) {
            return Err(Error::Invalid {
                field: "endpoint",
                value: request.endpoint.to_string(),
                expected: format!(
                    "an endpoint that captures its traffic (nothing to monitor otherwise): `wb deploy --endpoint {} \
                     --capture 20 ...`",
                    request.endpoint
                ),
            });
        }
        for path in [&request.baseline_statistics, &request.baseline_constraints] {
            if !self.store.exists(path).await? {
                return Err(Error::Invalid {
                    field: "baseline",
                    value: self.store.uri().object_uri(path),
                    expected: format!(
                        "the endpoint's baseline statistics.json and constraints.json in the store: run `wb monitor \
                         baseline --endpoint {}` first",
                        request.endpoint
                    ),
                });
            }
        }
        let analyzer = match &request.analyzer {
            MonitoringAnalyzer::Container { image: Some(image) } if !image.is_empty() => {
                Analyzer::Container { image: image.clone() }
            }
            MonitoringAnalyzer::Container { .. } => Analyzer::Container {
                image: settings.image.clone().filter(|i| !i.is_empty()).ok_or_else(|| Error::Invalid {
                    field: "image",
                    value: String::new(),
                    expected: "the workbench's container image to monitor with: set image = \
                               \"<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>\" under [backend] in \
                               workbench.toml, or use Model Monitor's analyzer"
                        .into(),
                })?,
            },
            _ => Analyzer::ModelMonitor { image: model_monitor_image(&settings.region)? },
        };
        let (schedule, job_definition) = schedule_names(&settings.project, request.endpoint.as_str());
        let uri = |path: &wb_core::ObjectPath| self.store.uri().object_uri(path);
        let spec = MonitoringSpec {
            schedule,
            job_definition,
            endpoint: request.endpoint.to_string(),
            analyzer,
            statistics_uri: uri(&request.baseline_statistics),
            constraints_uri: uri(&request.baseline_constraints),
            output_uri: uri(&request.output),
            schedule_expression: request.schedule_expression.clone(),
            role_arn: settings.role_arn.clone(),
            instance_type: request.instance_type.clone(),
            instance_count: request.instance_count,
            volume_size_gb: request.volume_size_gb,
            max_runtime_seconds: u32::try_from(request.max_runtime.as_secs()).unwrap_or(u32::MAX),
            kms_key_id: settings.kms_key_id.clone(),
            tags: settings.tags.clone(),
        };
        let scheduled = self.monitoring.schedule(&spec).await?;
        Ok(wb_serving::backend::MonitoringSchedule {
            endpoint: request.endpoint,
            name: spec.schedule,
            id: scheduled.arn,
            job_definition: spec.job_definition,
            schedule_expression: spec.schedule_expression,
            image: spec.analyzer.image().to_owned(),
            reports: spec.output_uri,
            replaced: scheduled.replaced,
        })
    }

    /// Starts describing a training job of `algorithm` on `dataset`'s partitions; `.await` it.
    pub(crate) fn train_request(&self, dataset: &DatasetName, algorithm: &str) -> SageMakerTrain<'_> {
        SageMakerTrain {
            backend: self,
            dataset: dataset.clone(),
            algorithm: algorithm.to_owned(),
            hyperparameters: BTreeMap::new(),
            job: None,
            instance_type: None,
            instance_count: 1,
            spot: false,
            max_runtime: DEFAULT_MAX_RUNTIME,
            progress: Box::new(|_| {}),
            cancel: Box::pin(std::future::pending()),
        }
    }

    /// Starts describing the deployment of `job`'s model to `endpoint`; `.await` it.
    pub(crate) fn deploy_request(&self, job: &JobName, endpoint: &EndpointName) -> SageMakerDeploy<'_> {
        SageMakerDeploy {
            backend: self,
            job: job.clone(),
            endpoint: endpoint.clone(),
            capture: None,
            instance_type: None,
            instance_count: 1,
        }
    }

    /// The project's model package group: its name, as SageMaker allows it.
    #[must_use]
    pub fn package_group(&self) -> String {
        let name: String =
            self.settings.project.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(63).collect();
        let name = name.trim_matches('-');
        if name.is_empty() { "workbench".to_owned() } else { name.to_owned() }
    }

    /// Mirrors a registered model into the project's model package group (one package per
    /// registration, pending approval, its validation metrics as metadata); `None` when the
    /// mirror is off (`model_registry = false`).
    ///
    /// # Errors
    /// [`Error::SageMaker`] when SageMaker refuses; [`Error::Invalid`] for an unknown algorithm.
    pub async fn register_package(&self, model: &ModelRecord) -> Result<Option<ModelPackage>> {
        if !self.settings.model_registry {
            return Ok(None);
        }
        let runner = Runner::parse(&model.algorithm)?;
        let image = runner.image(&self.settings)?;
        let (content_types, response_types) = runner.content_types();
        let spec = PackageSpec {
            group: self.package_group(),
            model: model.name.clone(),
            description: model.description.chars().take(1024).collect(),
            image,
            model_data_url: model.artifact.clone(),
            content_types,
            response_types,
            metrics: model
                .validation_metrics
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            metadata: BTreeMap::from([
                ("workbench:dataset".to_owned(), model.dataset.to_string()),
                ("workbench:partition".to_owned(), model.fingerprint.to_string()),
                ("workbench:job".to_owned(), model.job.to_string()),
                ("workbench:endpoint".to_owned(), model.endpoint.to_string()),
            ]),
            tags: self.settings.tags.clone(),
        };
        Ok(Some(self.packages.register(&spec).await?))
    }

    /// Approves the newest package of `model` in the project's group (the promoted model is the
    /// approved one); `None` when the mirror is off.
    ///
    /// # Errors
    /// [`Error::SageMaker`] when SageMaker refuses or the model has no package.
    pub async fn promote_package(&self, model: &ModelName, why: &str) -> Result<Option<ModelPackage>> {
        if !self.settings.model_registry {
            return Ok(None);
        }
        Ok(Some(self.packages.promote(&self.package_group(), model, why).await?))
    }

    /// Deletes an endpoint on SageMaker (its monitoring schedule and job definition first, then
    /// the endpoint with its configuration and models) and its record.
    ///
    /// # Errors
    /// SageMaker or store errors.
    pub async fn delete_endpoint(&self, endpoint: &EndpointName) -> Result<Vec<TaggedResource>> {
        let (schedule, definition) = schedule_names(&self.settings.project, endpoint.as_str());
        let mut deleted = Vec::new();
        if self.monitoring.delete_schedule(&schedule).await? {
            deleted.push(TaggedResource { kind: "monitoring-schedule", name: schedule, arn: String::new() });
        }
        if self.monitoring.delete_definition(&definition).await? {
            deleted.push(TaggedResource { kind: "data-quality-job-definition", name: definition, arn: String::new() });
        }
        deleted.extend(self.hosting.delete(endpoint.as_str()).await?);
        match Endpoints::new(self.store.clone()).delete(endpoint).await {
            Ok(()) | Err(wb_serving::Error::Models(wb_models::Error::UnknownEndpoint { .. })) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(deleted)
    }

    /// Everything the project created on SageMaker, found by its tag alone, in deletion order:
    /// monitoring schedules and data-quality job definitions (SageMaker keeps an endpoint while
    /// a schedule watches it, and a definition while a schedule uses it), endpoints, endpoint
    /// configurations, models, model packages and their group, then the
    /// training jobs still running, which are stopped (SageMaker keeps ended jobs as history).
    /// With `keep` (the promoted model), its endpoint, the configuration and models serving it,
    /// its model packages and the group stay. With `dry_run`, only lists them.
    ///
    /// # Errors
    /// SageMaker errors (a listing that fails, a deletion refused for another reason than "not
    /// found").
    pub(crate) async fn clean_tagged(&self, dry_run: bool, keep: Option<&Promotion>) -> Result<Vec<TaggedResource>> {
        let project = self.settings.project.as_str();
        // State machines first (their tasks invoke the functions), then the functions.
        let mut workflows = Vec::new();
        if let Some((functions, machines)) = &self.workflows {
            workflows.extend(machines.tagged(PROJECT_TAG, project).await?);
            workflows.extend(functions.tagged(PROJECT_TAG, project).await?);
        }
        let mut monitoring = self.monitoring.tagged(PROJECT_TAG, project).await?;
        let mut hosting = self.hosting.tagged(PROJECT_TAG, project).await?;
        let mut packages = self.packages.tagged(PROJECT_TAG, project).await?;
        if let Some(promoted) = keep {
            let serving = self.hosting.serving(promoted.endpoint.as_str()).await?;
            hosting.retain(|r| !serving.iter().any(|(kind, name)| *kind == r.kind && *name == r.name));
            // The promoted endpoint's monitoring stays with it.
            let (schedule, definition) = schedule_names(project, promoted.endpoint.as_str());
            monitoring.retain(|r| r.name != schedule && r.name != definition);
            let group = self.package_group();
            let kept: Vec<String> = self
                .packages
                .list(&group)
                .await?
                .into_iter()
                .filter(|p| p.model.as_deref() == Some(promoted.model.as_str()))
                .map(|p| p.arn)
                .collect();
            packages.retain(|r| r.kind == "model-package" && !kept.contains(&r.arn));
        }
        let running = if dry_run {
            self.training.running_tagged(PROJECT_TAG, project).await?
        } else {
            if let Some((functions, machines)) = &self.workflows {
                machines.delete(&workflows).await?;
                functions.delete(&workflows).await?;
            }
            self.monitoring.delete_resources(&monitoring).await?;
            self.hosting.delete_resources(&hosting).await?;
            self.packages.delete(&packages).await?;
            self.training.stop_tagged(PROJECT_TAG, project).await?
        };
        let mut found = workflows;
        found.extend(monitoring);
        found.extend(hosting);
        found.extend(packages);
        found.extend(running);
        tracing::info!(project, dry_run, kept = keep.is_some(), resources = found.len(), "SageMaker resources cleaned");
        Ok(found)
    }
}

impl From<TaggedResource> for wb_serving::backend::Resource {
    fn from(r: TaggedResource) -> Self {
        Self { kind: r.kind.to_owned(), name: r.name, id: r.arn }
    }
}

impl From<Error> for wb_serving::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Serving(e) => e,
            Error::Models(e) => Self::Models(e),
            other => Self::Backend(Box::new(other)),
        }
    }
}

#[async_trait::async_trait]
impl wb_serving::backend::Backend for SageMakerBackend {
    fn kind(&self) -> wb_core::BackendKind {
        wb_core::BackendKind::Sagemaker
    }

    fn store(&self) -> &DynObjectStore {
        &self.store
    }

    fn capabilities(&self) -> wb_serving::backend::Capabilities {
        let mut capabilities = wb_serving::backend::Capabilities::default();
        capabilities.instances = true;
        capabilities.scheduled_monitoring = true;
        capabilities.hosted_workflows = self.workflows.is_some();
        // SageMaker delivers capture files "after a couple of minutes" (contract B2).
        capabilities.capture_delay = std::time::Duration::from_secs(300);
        capabilities
    }

    /// Runs a SageMaker training job. The job is tagged with the project's tags (the
    /// backend's settings); `job.tags` is not consulted.
    async fn train(
        &self,
        job: wb_serving::backend::TrainJob,
        control: wb_serving::backend::TrainControl,
    ) -> wb_serving::Result<JobRecord> {
        let wb_serving::backend::TrainControl { mut progress, cancel } = control;
        let mut request = self
            .train_request(&job.dataset, &job.algorithm)
            .hyperparameters(job.hyperparameters)
            .on_progress(move |p| progress(p))
            .cancel_on(cancel);
        request.job = job.job;
        request.spot = job.resources.spot;
        request.instance_type = job.resources.instance_type;
        request.instance_count = job.resources.instance_count.unwrap_or(request.instance_count);
        request.max_runtime = job.resources.max_runtime.unwrap_or(request.max_runtime);
        Ok(request.await?)
    }

    async fn deploy(&self, deploy: wb_serving::backend::DeployEndpoint) -> wb_serving::Result<EndpointRecord> {
        let mut request = self.deploy_request(&deploy.job, &deploy.endpoint);
        request.capture = deploy.capture;
        request.instance_type = deploy.resources.instance_type;
        request.instance_count = deploy.resources.instance_count.unwrap_or(request.instance_count);
        Ok(request.await?)
    }

    async fn serving(&self) -> wb_serving::Result<wb_serving::backend::Serving> {
        Ok(wb_serving::backend::Serving {
            invoker: std::sync::Arc::new(self.runtime.clone()),
            url: self.runtime_url.clone(),
            started: false,
        })
    }

    async fn endpoint_status(
        &self,
        endpoint: &EndpointRecord,
    ) -> wb_serving::Result<wb_serving::backend::EndpointStatus> {
        let state = self.hosting.status(endpoint.name.as_str()).await?.unwrap_or_else(|| "missing".into());
        Ok(wb_serving::backend::EndpointStatus {
            answers: state == "InService",
            url: Some(wb_serving::backend::invocation_url(&self.runtime_url, endpoint.name.as_str())),
            state,
        })
    }

    async fn mirror_registration(&self, model: &ModelRecord) -> wb_serving::Result<Option<String>> {
        Ok(self.register_package(model).await?.map(|p| p.arn))
    }

    async fn mirror_promotion(&self, model: &ModelName, why: &str) -> wb_serving::Result<Option<String>> {
        Ok(self.promote_package(model, why).await?.map(|p| p.arn))
    }

    async fn schedule_monitoring(
        &self,
        request: wb_serving::backend::MonitoringScheduleRequest,
    ) -> wb_serving::Result<wb_serving::backend::MonitoringSchedule> {
        Ok(self.schedule_data_quality(request).await?)
    }

    async fn inventory(&self) -> wb_serving::Result<Vec<wb_serving::backend::Resource>> {
        Ok(self.clean_tagged(true, None).await?.into_iter().map(Into::into).collect())
    }

    /// Creates or updates the functions (run as the project's role), then the state machine
    /// (run as the project's role too, so it needs `lambda.amazonaws.com` and
    /// `states.amazonaws.com` in its trust policy), all tagged with the project's tags.
    async fn deploy_workflow(
        &self,
        deployment: wb_serving::backend::WorkflowDeployment,
    ) -> wb_serving::Result<wb_serving::backend::DeployedWorkflow> {
        let (functions, machines) = self.workflows()?;
        let mut tags = self.settings.tags.clone();
        tags.extend(deployment.tags.clone());
        let mut deployed = Vec::new();
        for package in &deployment.functions {
            deployed.push(functions.deploy(package, &self.settings.role_arn, &tags).await?);
        }
        let (machine_arn, replaced) =
            machines.deploy(&deployment.machine, &deployment.definition, &self.settings.role_arn, &tags).await?;
        Ok(wb_serving::backend::DeployedWorkflow {
            machine: deployment.machine,
            machine_arn,
            replaced,
            functions: deployed,
        })
    }

    async fn start_workflow(
        &self,
        machine: &str,
        input: serde_json::Value,
        wait: Duration,
    ) -> wb_serving::Result<wb_serving::backend::WorkflowRun> {
        let (_, machines) = self.workflows()?;
        Ok(machines.start(machine, &input, wait).await?)
    }

    async fn clean(
        &self,
        dry_run: bool,
        keep: Option<&Promotion>,
    ) -> wb_serving::Result<Vec<wb_serving::backend::Resource>> {
        Ok(self.clean_tagged(dry_run, keep).await?.into_iter().map(Into::into).collect())
    }
}

/// A SageMaker training job being described; `.await` runs it to the end.
#[must_use = "a training request does nothing until awaited"]
pub(crate) struct SageMakerTrain<'a> {
    backend: &'a SageMakerBackend,
    dataset: DatasetName,
    algorithm: String,
    hyperparameters: BTreeMap<String, String>,
    job: Option<JobName>,
    instance_type: Option<String>,
    instance_count: u32,
    spot: bool,
    max_runtime: Duration,
    progress: Box<dyn FnMut(&TrainingProgress) + Send + 'a>,
    cancel: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
}

impl std::fmt::Debug for SageMakerTrain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SageMakerTrain")
            .field("dataset", &self.dataset)
            .field("algorithm", &self.algorithm)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl<'a> SageMakerTrain<'a> {
    /// Sets all hyperparameters.
    pub(crate) fn hyperparameters(mut self, map: BTreeMap<String, String>) -> Self {
        self.hyperparameters = map;
        self
    }

    /// Called whenever the job's status or secondary status changes.
    pub(crate) fn on_progress(mut self, progress: impl FnMut(&TrainingProgress) + Send + 'a) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// When `cancel` completes first (Ctrl-C), the job is stopped and recorded `Stopped`.
    pub(crate) fn cancel_on(mut self, cancel: impl Future<Output = ()> + Send + 'a) -> Self {
        self.cancel = Box::pin(cancel);
        self
    }

    async fn run(self) -> Result<JobRecord> {
        let backend = self.backend;
        let settings = &backend.settings;
        let runner = Runner::parse(&self.algorithm)?;
        let image = runner.image(settings)?;
        if self.hyperparameters.contains_key(ALGORITHM_KEY) {
            return Err(Error::Invalid {
                field: "hyperparameter",
                value: ALGORITHM_KEY.into(),
                expected: "no `algorithm` key: it is set by --algorithm".into(),
            });
        }
        let datasets = Datasets::new(backend.store.clone());
        // What the dataset decides: its fingerprint, the schema the workbench's container
        // reads, the hyperparameters, the channels and the default instance type.
        let (fingerprint, schema, hyperparameters, mut channels, default_instance_type) = if datasets
            .is_image_dataset(&self.dataset)
            .await?
        {
            let images = datasets.open_images(&self.dataset).await?;
            let mut given = self.hyperparameters.clone();
            for (key, value) in image_task_defaults(&images, &runner) {
                given.entry(key.to_owned()).or_insert(value);
            }
            let (hyperparameters, schema) = match runner {
                Runner::Builtin(builtin @ BuiltinAlgorithm::ImageClassification) => {
                    (builtin.fill_hyperparameters(&given)?, None)
                }
                // The workbench's image algorithms, in the project's container: the same
                // channels, and the schema (class names, image shape) on the metadata channel.
                Runner::Workbench(a) if a.is_image() => {
                    given.insert(ALGORITHM_KEY.into(), a.name().into());
                    (given, Some(ModelSchema::from_image_manifest(&images)))
                }
                _ => {
                    return Err(Error::Invalid {
                        field: "algorithm",
                        value: runner.name().to_owned(),
                        expected: format!(
                            "an image algorithm for the image dataset {}: image-classification (SageMaker's built-in) \
                             or image-logistic (the workbench's, in the project's image)",
                            self.dataset
                        ),
                    });
                }
            };
            let channels: BTreeMap<String, ChannelSpec> = images
                .channel_uris()
                .into_iter()
                .map(|(name, s3_uri)| (name, ChannelSpec { s3_uri, content_type: IMAGE_CONTENT_TYPE.to_owned() }))
                .collect();
            // SageMaker's classifier on a GPU, as the course did; the workbench's on the CPU.
            let instance_type = if schema.is_none() {
                IMAGE_TRAINING_INSTANCE_TYPE.to_owned()
            } else {
                settings.training_instance_type.clone()
            };
            (images.fingerprint, schema, hyperparameters, channels, instance_type)
        } else {
            let dataset = datasets.open(&self.dataset).await?;
            let manifest = dataset.manifest();
            if matches!(runner, Runner::Builtin(BuiltinAlgorithm::ImageClassification)) {
                // Its channels are images (PNG + .lst manifests); a tabular dataset's are CSV rows.
                return Err(Error::Invalid {
                    field: "algorithm",
                    value: runner.name().to_owned(),
                    expected: format!(
                        "an algorithm for the tabular dataset {}: xgboost, linear-learner or one of the workbench's own \
                         (image-classification trains on an image dataset: `wb dataset register NAME --images DIR`)",
                        self.dataset
                    ),
                });
            }
            let (hyperparameters, content_type) = match &runner {
                Runner::Builtin(b) => {
                    let mut given = self.hyperparameters.clone();
                    // The objective (and metric) the dataset's task calls for, unless given.
                    for (key, value) in builtin_task_defaults(*b, &manifest.task, &self.hyperparameters) {
                        given.entry(key.to_owned()).or_insert(value);
                    }
                    (b.fill_hyperparameters(&given)?, b.content_type())
                }
                Runner::Workbench(a) => {
                    let mut given = self.hyperparameters.clone();
                    // What the task decides (a regression tree's criterion), as local jobs record.
                    let classes = match &manifest.task {
                        wb_datasets::Task::Classification { classes } => classes.len(),
                        wb_datasets::Task::Regression => 0,
                    };
                    for (key, value) in wb_models::algorithm::task_defaults(*a, classes, &self.hyperparameters) {
                        given.entry(key.to_owned()).or_insert(value);
                    }
                    given.insert(ALGORITHM_KEY.into(), a.name().into());
                    (given, "text/csv")
                }
            };
            let channels = BTreeMap::from([
                (
                    "train".to_owned(),
                    ChannelSpec {
                        s3_uri: manifest.split(Split::Train).channel_prefix.clone(),
                        content_type: content_type.to_owned(),
                    },
                ),
                (
                    "validation".to_owned(),
                    ChannelSpec {
                        s3_uri: manifest.split(Split::Validation).channel_prefix.clone(),
                        content_type: content_type.to_owned(),
                    },
                ),
            ]);
            let schema = matches!(runner, Runner::Workbench(_)).then(|| ModelSchema::from_manifest(manifest));
            (manifest.fingerprint, schema, hyperparameters, channels, settings.training_instance_type.clone())
        };
        let now = chrono::Utc::now();
        let job = match self.job {
            Some(job) => job,
            None => default_job_name(&self.dataset, runner.name(), now)?,
        };
        let mut metric_definitions = Vec::new();
        let metadata_prefix = layout::job_input_channel(&job, METADATA_CHANNEL);
        if schema.is_some() {
            // The container reads the dataset's schema (no rows) from the metadata channel.
            channels.insert(
                METADATA_CHANNEL.to_owned(),
                ChannelSpec {
                    s3_uri: format!("{}/", backend.store.uri().object_uri(&metadata_prefix)),
                    content_type: "application/json".into(),
                },
            );
            metric_definitions = CONTAINER_METRICS
                .iter()
                .map(|m| (format!("validation:{m}"), format!("validation:{m}=([-+0-9.eE]+|NaN|inf)")))
                .collect();
        }
        let spec = TrainingSpec {
            job: job.clone(),
            image,
            role_arn: settings.role_arn.clone(),
            channels,
            hyperparameters,
            instance_type: self.instance_type.unwrap_or(default_instance_type),
            instance_count: self.instance_count,
            volume_size_gb: DEFAULT_VOLUME_GB,
            max_runtime: self.max_runtime,
            spot: self.spot,
            // SageMaker writes `<output>/<job>/output/model.tar.gz`: the store's own layout.
            output_path: backend.store.uri().object_uri(&layout::training_root()),
            kms_key_id: settings.kms_key_id.clone(),
            environment: BTreeMap::new(),
            metric_definitions,
            tags: settings.tags.clone(),
        };
        spec.validate()?;
        let mut record = JobRecord {
            name: job.clone(),
            status: JobStatus::InProgress,
            failure_reason: None,
            algorithm: runner.name().to_owned(),
            // What SageMaker was given (a built-in's task defaults included), without the
            // workbench's `algorithm` key, as local jobs record theirs.
            hyperparameters: spec
                .hyperparameters
                .iter()
                .filter(|(k, _)| *k != ALGORITHM_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            dataset: self.dataset.clone(),
            fingerprint,
            channels: spec.channels.iter().map(|(k, c)| (k.clone(), c.s3_uri.clone())).collect(),
            backend: wb_core::BackendKind::Sagemaker,
            model_artifact: None,
            metrics: BTreeMap::new(),
            created_at: now.into(),
            ended_at: None,
            training_seconds: None,
            tags: settings.tags.clone(),
        };
        let jobs = TrainingJobs::new(backend.store.clone());
        let etag = jobs.record_started(&record).await?;
        let outcome = async {
            if let Some(schema) = &schema {
                let path = metadata_prefix.join(SCHEMA_FILE)?;
                backend.store.put_json(&path, schema, wb_core::PutMode::Overwrite).await?;
            }
            backend.training.run(&spec, self.progress, self.cancel).await
        }
        .await;
        record.ended_at = Some(wb_core::Timestamp::now());
        let result = match outcome {
            Ok(trained) => {
                record.status = JobStatus::Completed;
                record.metrics = validation_metrics(&trained);
                record.model_artifact = Some(trained.model_artifact);
                #[expect(clippy::cast_precision_loss, reason = "seconds of a training job")]
                {
                    record.training_seconds = trained.training_seconds.map(|s| s as f64);
                }
                Ok(())
            }
            Err(Error::TrainingFailed { job, status, reason }) => {
                record.status = if status == "Stopped" { JobStatus::Stopped } else { JobStatus::Failed };
                record.failure_reason = Some(reason.clone());
                Err(Error::TrainingFailed { job, status, reason })
            }
            Err(e) => {
                record.status = JobStatus::Failed;
                record.failure_reason = Some(e.to_string());
                Err(e)
            }
        };
        jobs.record_ended(&record, etag).await?;
        result.map(|()| record)
    }
}

/// A built-in algorithm's settings for a dataset's task. XGBoost: `binary:logistic` with AUC for
/// two classes, `multi:softprob` over the classes, `reg:squarederror` with RMSE for numbers.
/// Linear learner: `binary_classifier`, `multiclass_classifier` over the classes, `regressor`.
/// The instance type SageMaker's image classifier trains on unless one is given: a GPU, as the
/// course project this workbench replaces used.
pub const IMAGE_TRAINING_INSTANCE_TYPE: &str = "ml.p3.2xlarge";

/// The image hyperparameters the dataset decides, unless given: `num_classes`,
/// `num_training_samples` and `image_shape` — `3,H,W` for SageMaker's built-in classifier, which
/// decodes every image to three channels; the images' own channels for the workbench's.
fn image_task_defaults(images: &ImageManifest, runner: &Runner) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("num_classes", images.classes().len().to_string()),
        ("num_training_samples", images.split(Split::Train).images.to_string()),
    ];
    if let Some(shape) = images.registration.shape {
        let channels = if matches!(runner, Runner::Builtin(_)) { 3 } else { shape.channels };
        out.push(("image_shape", format!("{channels},{},{}", shape.height, shape.width)));
    }
    out
}

/// What the dataset's task decides unless `given`: for XGBoost the workbench's own `xgboost`
/// defaults (one definition for both backends), for Linear Learner the predictor type.
fn builtin_task_defaults(
    algorithm: BuiltinAlgorithm,
    task: &wb_datasets::Task,
    given: &BTreeMap<String, String>,
) -> Vec<(&'static str, String)> {
    use wb_datasets::Task;
    match (algorithm, task) {
        (BuiltinAlgorithm::Xgboost, Task::Classification { classes }) => {
            wb_models::algorithm::xgboost_task_defaults(classes.len().max(2), given)
        }
        (BuiltinAlgorithm::Xgboost, Task::Regression) => wb_models::algorithm::xgboost_task_defaults(0, given),
        (BuiltinAlgorithm::LinearLearner, Task::Classification { classes }) if classes.len() <= 2 => {
            vec![("predictor_type", "binary_classifier".into())]
        }
        (BuiltinAlgorithm::LinearLearner, Task::Classification { classes }) => {
            vec![("predictor_type", "multiclass_classifier".into()), ("num_classes", classes.len().to_string())]
        }
        (BuiltinAlgorithm::LinearLearner, Task::Regression) => vec![("predictor_type", "regressor".into())],
        _ => Vec::new(),
    }
}

/// The validation metrics of a finished job, named as local jobs name them: `validation:auc`
/// becomes `auc`; other metrics keep their names.
fn validation_metrics(job: &TrainedJob) -> BTreeMap<String, f64> {
    job.metrics
        .iter()
        .map(|(name, value)| (name.strip_prefix("validation:").unwrap_or(name).to_owned(), *value))
        .collect()
}

impl<'a> IntoFuture for SageMakerTrain<'a> {
    type Output = Result<JobRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A SageMaker deployment being described; `.await` brings the endpoint into service.
#[must_use = "a deploy request does nothing until awaited"]
#[derive(Debug)]
pub(crate) struct SageMakerDeploy<'a> {
    backend: &'a SageMakerBackend,
    job: JobName,
    endpoint: EndpointName,
    capture: Option<u8>,
    instance_type: Option<String>,
    instance_count: u32,
}

impl SageMakerDeploy<'_> {
    async fn run(self) -> Result<EndpointRecord> {
        let backend = self.backend;
        let settings = &backend.settings;
        let job = TrainingJobs::new(backend.store.clone()).get(&self.job).await?;
        let artifact = match (&job.status, &job.model_artifact) {
            (JobStatus::Completed, Some(uri)) => uri.clone(),
            _ => {
                return Err(wb_models::Error::JobNotCompleted {
                    name: job.name.to_string(),
                    status: job.status.to_string(),
                    reason: job.failure_reason.clone(),
                }
                .into());
            }
        };
        let image = Runner::of_job(&job)?.image(settings)?;
        let capture = self.capture.map(CaptureConfig::new).transpose()?;
        let spec = DeploySpec {
            endpoint: self.endpoint.clone(),
            model_data_url: artifact.clone(),
            image,
            role_arn: settings.role_arn.clone(),
            instance_type: self.instance_type.unwrap_or_else(|| settings.hosting_instance_type.clone()),
            instance_count: self.instance_count,
            capture: capture.as_ref().map(|c| CaptureSpec {
                sampling_percentage: c.sampling_percentage,
                destination: backend.store.uri().object_uri(&c.destination),
            }),
            kms_key_id: settings.kms_key_id.clone(),
            environment: BTreeMap::new(),
            tags: settings.tags.clone(),
        };
        let hosted = backend.hosting.deploy(&spec).await?;
        let now = wb_core::Timestamp::now();
        let record = EndpointRecord {
            name: self.endpoint,
            job: job.name,
            model_artifact: artifact,
            algorithm: job.algorithm,
            dataset: job.dataset,
            fingerprint: job.fingerprint,
            variant: DEFAULT_VARIANT.into(),
            capture,
            backend: wb_core::BackendKind::Sagemaker,
            created_at: now,
            updated_at: now,
            tags: settings.tags.clone(),
        };
        let record = Endpoints::new(backend.store.clone()).record(record).await?;
        tracing::info!(endpoint = %record.name, arn = %hosted.endpoint_arn, config = %hosted.config, "SageMaker endpoint recorded");
        Ok(record)
    }
}

impl<'a> IntoFuture for SageMakerDeploy<'a> {
    type Output = Result<EndpointRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_are_built_in_or_the_workbench_s_own() {
        assert_eq!(Runner::parse("xgboost").expect("xgboost"), Runner::Builtin(BuiltinAlgorithm::Xgboost));
        let imported: JobRecord = serde_json::from_value(serde_json::json!({
            "name": "imported", "status": "Completed", "failure_reason": null, "algorithm": "xgboost",
            "hyperparameters": {"imported_from": "model.json", "objective": "binary:logistic"},
            "dataset": "toy", "fingerprint": format!("blake3:{}", "0".repeat(64)), "channels": {},
            "backend": "sagemaker", "model_artifact": "s3://b/training/imported/output/model.tar.gz",
            "metrics": {}, "created_at": "2026-12-07T00:00:00Z", "ended_at": null,
            "training_seconds": null, "tags": {}
        }))
        .expect("a job record");
        assert_eq!(Runner::of_job(&imported).expect("imported"), Runner::Workbench(Algorithm::Xgboost));
        let mut trained = imported.clone();
        trained.hyperparameters.remove(wb_models::training::IMPORTED_FROM_KEY);
        assert_eq!(Runner::of_job(&trained).expect("trained"), Runner::Builtin(BuiltinAlgorithm::Xgboost));
        assert_eq!(Runner::parse("random-forest").expect("forest"), Runner::Workbench(Algorithm::RandomForest));
        let err = Runner::parse("svm").expect_err("unknown").to_string();
        assert!(err.contains("\"svm\"") && err.contains("xgboost") && err.contains("random-forest"), "{err}");
    }

    #[test]
    fn the_workbench_s_algorithms_need_the_project_image() {
        let mut settings = BackendSettings {
            role_arn: "arn:aws:iam::123456789012:role/wb".into(),
            region: "us-east-1".into(),
            image: None,
            kms_key_id: None,
            training_instance_type: DEFAULT_INSTANCE_TYPE.into(),
            hosting_instance_type: DEFAULT_INSTANCE_TYPE.into(),
            model_registry: true,
            project: "p".into(),
            tags: BTreeMap::new(),
        };
        let forest = Runner::Workbench(Algorithm::RandomForest);
        let err = forest.image(&settings).expect_err("no image").to_string();
        assert!(err.contains("[backend]") && err.contains("Dockerfile"), "{err}");
        settings.image = Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/wb:1".into());
        assert_eq!(forest.image(&settings).expect("image"), "123456789012.dkr.ecr.us-east-1.amazonaws.com/wb:1");
        let xgb = Runner::Builtin(BuiltinAlgorithm::Xgboost).image(&settings).expect("xgboost image");
        assert!(xgb.contains(".dkr.ecr.us-east-1.amazonaws.com/") && xgb.contains("xgboost"), "{xgb}");
    }

    #[test]
    fn built_in_algorithms_get_the_task_s_objective() {
        use wb_datasets::Task;
        let binary = Task::Classification { classes: vec!["no".into(), "yes".into()] };
        let three = Task::Classification { classes: vec!["a".into(), "b".into(), "c".into()] };
        let get = |a, t: &Task, key: &str| {
            builtin_task_defaults(a, t, &BTreeMap::new()).into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
        };
        assert_eq!(get(BuiltinAlgorithm::Xgboost, &binary, "objective").as_deref(), Some("binary:logistic"));
        assert_eq!(get(BuiltinAlgorithm::Xgboost, &three, "objective").as_deref(), Some("multi:softprob"));
        assert_eq!(get(BuiltinAlgorithm::Xgboost, &three, "num_class").as_deref(), Some("3"));
        assert_eq!(get(BuiltinAlgorithm::Xgboost, &Task::Regression, "eval_metric").as_deref(), Some("rmse"));
        assert_eq!(
            get(BuiltinAlgorithm::LinearLearner, &three, "predictor_type").as_deref(),
            Some("multiclass_classifier")
        );
        assert_eq!(get(BuiltinAlgorithm::LinearLearner, &three, "num_classes").as_deref(), Some("3"));
        assert_eq!(
            get(BuiltinAlgorithm::LinearLearner, &Task::Regression, "predictor_type").as_deref(),
            Some("regressor")
        );
        // The defaults fill what SageMaker requires, so only the user's own choices can miss it.
        for task in [&binary, &three, &Task::Regression] {
            for algorithm in [BuiltinAlgorithm::Xgboost, BuiltinAlgorithm::LinearLearner] {
                let given: BTreeMap<String, String> = builtin_task_defaults(algorithm, task, &BTreeMap::new())
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                assert!(algorithm.fill_hyperparameters(&given).is_ok(), "{algorithm} on {task:?}");
            }
        }
    }

    #[test]
    fn validation_metrics_are_named_as_local_jobs_name_them() {
        let job = TrainedJob {
            name: "j".into(),
            arn: "arn".into(),
            model_artifact: "s3://b/p/training/j/output/model.tar.gz".into(),
            metrics: BTreeMap::from([("validation:auc".into(), 0.9), ("train:progress".into(), 100.0)]),
            training_seconds: Some(3),
            billable_seconds: Some(3),
        };
        let metrics = validation_metrics(&job);
        assert_eq!(metrics.get("auc"), Some(&0.9));
        assert_eq!(metrics.get("train:progress"), Some(&100.0));
    }
}

//! A project: its `workbench.toml`, its store and its backend, with the workbench's services on
//! top.
//!
//! The backend is chosen once, in [`ProjectBuilder::open`], from `[backend] kind` (or injected
//! with [`ProjectBuilder::backend`]); every method here goes through the one
//! [`Backend`](wb_serving::backend::Backend) it holds and never asks which backend it is.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wb_compare::compare::{CompareOptions, Comparison};
use wb_compare::reports;
use wb_core::{BackendKind, DatasetName, DynObjectStore, EndpointName, JobName, LoadedConfig, ModelName, StoreUri};
use wb_datasets::Datasets;
use wb_models::registry::{ModelRecord, Promotion, Registry};
use wb_models::training::{JobRecord, TrainingJobs};
use wb_serving::backend::{
    Backend, DeployEndpoint, DynBackend, LocalBackend, Resource, Resources, ServerLauncher, Serving, TrainControl,
    TrainJob, TrainingProgress,
};
use wb_serving::clean::{self, CleanOptions, CleanPlan, CleanReport};
use wb_serving::endpoints::{EndpointRecord, Endpoints};

/// The facade's error: whichever crate failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration, names or the store.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// Datasets.
    #[error(transparent)]
    Datasets(#[from] wb_datasets::Error),
    /// Models, training jobs and the registry.
    #[error(transparent)]
    Models(#[from] wb_models::Error),
    /// Endpoints, serving, invocation, clean-up, and the backend's own failures.
    #[error(transparent)]
    Serving(#[from] wb_serving::Error),
    /// Something this build cannot do.
    #[error("{what} is not available in this build: {advice}")]
    Unsupported {
        /// What was asked for.
        what: String,
        /// What to do.
        advice: String,
    },
    /// Comparisons and reports.
    #[error(transparent)]
    Compare(#[from] wb_compare::Error),
    /// The S3 store and the SageMaker backend.
    #[cfg(feature = "aws")]
    #[error(transparent)]
    Aws(Box<wb_aws::Error>),
}

#[cfg(feature = "aws")]
impl From<wb_aws::Error> for Error {
    fn from(e: wb_aws::Error) -> Self {
        Self::Aws(Box::new(e))
    }
}

/// A project opened from its `workbench.toml`: the configuration, the store and the backend.
///
/// [`Project::train`], [`Project::deploy`], [`Project::register`], [`Project::promote`],
/// [`Project::compare`] and [`Project::clean`] run on the configured backend — in-process jobs
/// and the local model server, or SageMaker (feature `aws`) — and record jobs, endpoints and
/// models in the store the same way, so an experiment runs unchanged on either.
#[derive(Clone, Debug)]
pub struct Project {
    /// The configuration.
    pub config: LoadedConfig,
    /// Its store.
    pub store: DynObjectStore,
    backend: DynBackend,
    /// The AWS SDK configuration, when the project needed one (loaded once, when opened).
    #[cfg(feature = "aws")]
    sdk: Option<wb_aws::aws_config::SdkConfig>,
}

/// Builds a [`Project`]: a configuration plus, optionally, an injected store, backend, SDK
/// configuration or local-server launcher (tools and tests inject their clients here).
#[must_use = "a builder does nothing until opened"]
#[derive(Debug)]
pub struct ProjectBuilder {
    config: LoadedConfig,
    store: Option<DynObjectStore>,
    backend: Option<DynBackend>,
    launcher: Option<Arc<dyn ServerLauncher>>,
    #[cfg(feature = "aws")]
    sdk: Option<wb_aws::aws_config::SdkConfig>,
}

impl ProjectBuilder {
    /// Uses this store instead of opening the configured one.
    pub fn store(mut self, store: DynObjectStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses this backend instead of the configured one (a user's own backend, or one built on
    /// injected clients); it must work on the project's store.
    pub fn backend(mut self, backend: DynBackend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Starts the local model server with `launcher` (default: a server inside this process,
    /// stopped by [`Project::close`]); the local backend only.
    pub fn server_launcher(mut self, launcher: Arc<dyn ServerLauncher>) -> Self {
        self.launcher = Some(launcher);
        self
    }

    /// Builds the S3 store and SageMaker clients from this SDK configuration instead of
    /// loading the standard chain (one load, at the edge).
    #[cfg(feature = "aws")]
    pub fn sdk_config(mut self, sdk: wb_aws::aws_config::SdkConfig) -> Self {
        self.sdk = Some(sdk);
        self
    }

    /// Opens the project: the store, then the backend `[backend] kind` names. This is the only
    /// place that decides which backend a project uses.
    ///
    /// # Errors
    /// A store that cannot be opened, a backend that cannot be configured (the `sagemaker`
    /// backend needs the `aws` feature, a role and a region).
    pub async fn open(self) -> Result<Project, Error> {
        let config = self.config;
        #[cfg(feature = "aws")]
        let sdk = match (self.sdk, needs_sdk(&config, self.store.is_some(), self.backend.is_some())?) {
            (Some(sdk), _) => Some(sdk),
            (None, true) => Some(wb_aws::sdk_config(&config.config.aws).await),
            (None, false) => None,
        };
        let store = match self.store {
            Some(store) => store,
            #[cfg(feature = "aws")]
            None => match &sdk {
                Some(sdk) => wb_aws::open_store_with(&config, sdk)?,
                None => Arc::new(wb_core::open_local(&config.store_uri()?)?),
            },
            #[cfg(not(feature = "aws"))]
            None => Arc::new(wb_core::open_local(&config.store_uri()?)?),
        };
        let backend: DynBackend = match (self.backend, config.config.backend.kind) {
            (Some(backend), _) => backend,
            (None, BackendKind::Local) => {
                let local = LocalBackend::new(store.clone());
                Arc::new(match self.launcher {
                    Some(launcher) => local.with_launcher(launcher),
                    None => local,
                })
            }
            #[cfg(feature = "aws")]
            (None, BackendKind::Sagemaker) => {
                // `needs_sdk` had it loaded; load it here otherwise rather than fail.
                let sdk = match &sdk {
                    Some(sdk) => sdk.clone(),
                    None => wb_aws::sdk_config(&config.config.aws).await,
                };
                Arc::new(wb_aws::backend::SageMakerBackend::from_sdk_config(&config, store.clone(), &sdk)?)
            }
            #[cfg(not(feature = "aws"))]
            (None, BackendKind::Sagemaker) => {
                return Err(Error::Unsupported {
                    what: "backend \"sagemaker\"".into(),
                    advice: "build with the `aws` feature".into(),
                });
            }
        };
        Ok(Project {
            config,
            store,
            backend,
            #[cfg(feature = "aws")]
            sdk,
        })
    }
}

impl IntoFuture for ProjectBuilder {
    type Output = Result<Project, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.open())
    }
}

/// Whether opening needs the AWS SDK configuration: an S3 store or the SageMaker backend that
/// was not injected.
#[cfg(feature = "aws")]
fn needs_sdk(config: &LoadedConfig, has_store: bool, has_backend: bool) -> Result<bool, Error> {
    let s3 = !has_store && matches!(config.store_uri()?, StoreUri::S3 { .. });
    let sagemaker = !has_backend && config.config.backend.kind == BackendKind::Sagemaker;
    Ok(s3 || sagemaker)
}

impl Project {
    /// Opens the project whose `workbench.toml` is `$WB_CONFIG`, or the first one found in the
    /// current directory or its parents.
    ///
    /// # Errors
    /// No configuration found, an invalid one, or a store or backend that cannot be opened.
    pub async fn discover() -> Result<Self, Error> {
        let config = match std::env::var_os("WB_CONFIG") {
            Some(path) => LoadedConfig::load(Path::new(&path))?,
            None => LoadedConfig::discover(&std::env::current_dir().map_err(|e| wb_core::Error::Io {
                operation: "reading",
                path: ".".into(),
                source: e,
            })?)?,
        };
        Self::open(config).await
    }

    /// Opens the project of a loaded configuration with its configured store and backend.
    ///
    /// # Errors
    /// A store or backend that cannot be opened (an S3 store needs the `aws` feature).
    pub async fn open(config: LoadedConfig) -> Result<Self, Error> {
        Self::builder(config).open().await
    }

    /// Starts building the project of `config`, to inject a store, a backend or an SDK
    /// configuration; `.await` (or [`ProjectBuilder::open`]) opens it.
    pub fn builder(config: LoadedConfig) -> ProjectBuilder {
        ProjectBuilder {
            config,
            store: None,
            backend: None,
            launcher: None,
            #[cfg(feature = "aws")]
            sdk: None,
        }
    }

    /// The project's backend.
    #[must_use]
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The AWS SDK configuration the project was opened with (an S3 store or the SageMaker
    /// backend needs one), for a tool's own AWS calls without loading it again.
    #[cfg(feature = "aws")]
    #[must_use]
    pub fn sdk_config(&self) -> Option<&wb_aws::aws_config::SdkConfig> {
        self.sdk.as_ref()
    }

    /// Which backend the project uses.
    #[must_use]
    pub fn kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// A training job of `algorithm` on `dataset`'s partitions, on the project's backend, tagged
    /// with the project's tags; configure it and `.await` it.
    pub fn train(&self, dataset: &DatasetName, algorithm: &str) -> Train<'_> {
        Train {
            project: self,
            job: TrainJob::new(dataset.clone(), algorithm).tags(self.tags()),
            control: TrainControl::default(),
        }
    }

    /// Deploys a completed job's model to `endpoint` on the project's backend (an existing
    /// endpoint moves to the new model); configure it and `.await` it. On the local backend the
    /// model server serves it (see [`Project::serve`]).
    pub fn deploy(&self, job: &JobName, endpoint: &EndpointName) -> Deploy<'_> {
        Deploy { project: self, deploy: DeployEndpoint::new(job.clone(), endpoint.clone(), self.tags()) }
    }

    /// Registers the model `endpoint` serves as `name`, for comparison; the backend mirrors it
    /// (on SageMaker, as a model package of the project's group unless `model_registry =
    /// false`). Configure it and `.await` it.
    pub fn register(&self, name: &ModelName, endpoint: &EndpointName) -> Register<'_> {
        Register {
            project: self,
            name: name.clone(),
            endpoint: endpoint.clone(),
            description: String::new(),
            replace: false,
        }
    }

    /// Makes sure the project's endpoints can be invoked — the local backend starts its model
    /// server when none answers — and returns the invocation interface and its URL.
    ///
    /// # Errors
    /// A server that cannot start.
    pub async fn serve(&self) -> Result<Serving, Error> {
        Ok(self.backend.serving().await?)
    }

    /// A comparison of the registered models on the held-out test split, scored through the
    /// backend's endpoints; configure it and `.await` it, then [`Project::save_report`].
    pub fn compare(&self) -> Compare<'_> {
        Compare { project: self, options: CompareOptions::default() }
    }

    /// Writes a comparison's report (`reports/compare/<id>/`: JSON, Markdown, HTML, SVG).
    ///
    /// # Errors
    /// Store errors.
    pub async fn save_report(&self, comparison: &Comparison) -> Result<ReportLocation, Error> {
        let prefix = reports::write(&self.store, &comparison.report, comparison.files()).await?;
        Ok(ReportLocation {
            id: comparison.report.id.clone(),
            uri: self.store.uri().object_uri(&prefix),
            index_html: match self.store.uri() {
                StoreUri::Local(dir) => dir.join(prefix.as_str()).join("index.html").display().to_string(),
                other => format!("{}/index.html", other.object_uri(&prefix)),
            },
        })
    }

    /// Promotes a registered model: records it in `registry/promoted.json` citing the newest
    /// report that scored it, with warnings when that report found it significantly worse than
    /// the best, and mirrors the promotion on the backend (approves its SageMaker package).
    ///
    /// # Errors
    /// An unknown model, store or backend errors.
    pub async fn promote(&self, name: &ModelName) -> Result<Promoted, Error> {
        let registry = self.registry();
        registry.get(name).await?;
        let report = reports::latest_with(&self.store, name.as_str()).await?;
        let mut warnings = Vec::new();
        let (cited, metrics) = match report.as_ref().and_then(|r| r.model(name.as_str()).map(|m| (r, m))) {
            Some((report, model)) => {
                let metrics = model.metrics.iter().filter_map(|e| e.value.map(|v| (e.metric.clone(), v))).collect();
                if let Some(entry) = report.leaderboard.iter().find(|e| &e.model == name)
                    && entry.significantly_worse
                {
                    warnings.push(format!(
                        "{name} ranks {} in report {} and is significantly worse than {} on {}",
                        entry.rank,
                        report.id,
                        report.best().map_or("the best model", |b| b.model.as_str()),
                        report.primary_metric
                    ));
                }
                if model.foreign {
                    warnings.push(format!("{name} was trained on another partition than the one it was scored on"));
                }
                (Some(format!("{}/{}", reports::REPORTS_ROOT, report.id)), metrics)
            }
            None => {
                warnings.push(format!("{name} has not been compared on the test split yet (run `wb compare`)"));
                (None, BTreeMap::new())
            }
        };
        let promotion = registry.promote(name, cited, metrics).await?;
        let why = promotion.report.as_deref().map_or_else(
            || "promoted with `wb promote`".to_owned(),
            |r| format!("promoted with `wb promote` on the evidence of {r}"),
        );
        let mirror = self.backend.mirror_promotion(name, &why).await?;
        if let Some(id) = &mirror {
            tracing::info!(package = %id, "promotion mirrored");
        }
        Ok(Promoted { promotion, warnings, mirror })
    }

    /// Removes what the project created: first what the backend created outside the store
    /// (found without the store's records), then the store's jobs, endpoints, models, reports
    /// and capture (and with `options.all` its datasets). With `dry_run`, only lists it.
    ///
    /// # Errors
    /// Backend or store errors.
    pub async fn clean(&self, options: CleanOptions, dry_run: bool) -> Result<Cleaned, Error> {
        let keep = if options.keep_promoted { self.registry().promoted().await? } else { None };
        let backend = self.backend.clean(dry_run, keep.as_ref()).await?;
        let (plan, report) = if dry_run {
            (clean::plan_with(&self.store, options).await?, None)
        } else {
            let report = clean::execute_with(&self.store, options).await?;
            (report.removed.clone(), Some(report))
        };
        Ok(Cleaned { backend, plan, report, kept: keep })
    }

    /// What the backend created outside the store, found without the store's records.
    ///
    /// # Errors
    /// Backend errors.
    pub async fn inventory(&self) -> Result<Vec<Resource>, Error> {
        Ok(self.backend.inventory().await?)
    }

    /// Stops what the project started in this process (an in-process model server, flushing
    /// its data capture). Call it before an experiment binary exits.
    ///
    /// # Errors
    /// The server could not flush its capture.
    pub async fn close(&self) -> Result<(), Error> {
        Ok(self.backend.close().await?)
    }

    /// Registered datasets and their partitions.
    #[must_use]
    pub fn datasets(&self) -> Datasets {
        Datasets::new(self.store.clone())
    }

    /// Training jobs.
    #[must_use]
    pub fn training(&self) -> TrainingJobs {
        TrainingJobs::new(self.store.clone())
    }

    /// Endpoints.
    #[must_use]
    pub fn endpoints(&self) -> Endpoints {
        Endpoints::new(self.store.clone())
    }

    /// The model registry.
    #[must_use]
    pub fn registry(&self) -> Registry {
        Registry::new(self.store.clone())
    }

    /// The project's tags (the project tag included), for every resource it creates.
    #[must_use]
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.config.tags()
    }
}

/// Where a comparison's report was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportLocation {
    /// The report's id.
    pub id: String,
    /// `<store>/reports/compare/<id>`.
    pub uri: String,
    /// The page to open (a file path for local stores).
    pub index_html: String,
}

/// What [`Project::promote`] did.
#[derive(Clone, Debug, Serialize)]
pub struct Promoted {
    /// The promotion record.
    #[serde(flatten)]
    pub promotion: Promotion,
    /// Warnings about the choice (not the best model, no report, another partition).
    pub warnings: Vec<String>,
    /// The backend's mirror of the promotion (the approved model package's ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
}

/// What [`Project::clean`] removed (or, in a dry run, would remove).
#[derive(Clone, Debug, Serialize)]
pub struct Cleaned {
    /// What the backend removed outside the store (SageMaker resources, the local server).
    pub backend: Vec<Resource>,
    /// The store's items.
    pub plan: CleanPlan,
    /// What was removed from the store (`None` in a dry run).
    pub report: Option<CleanReport>,
    /// The promoted model that was kept, with `keep_promoted`.
    pub kept: Option<Promotion>,
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A training job being described; `.await` runs it on the project's backend.
#[must_use = "a training request does nothing until awaited"]
#[derive(Debug)]
pub struct Train<'a> {
    project: &'a Project,
    job: TrainJob,
    control: TrainControl,
}

impl Train<'_> {
    /// Sets one hyperparameter (SageMaker's string convention).
    pub fn hyperparameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.job.hyperparameters.insert(key.into(), value.into());
        self
    }

    /// Sets all hyperparameters.
    pub fn hyperparameters(mut self, map: BTreeMap<String, String>) -> Self {
        self.job.hyperparameters = map;
        self
    }

    /// Names the job (default: `<dataset>-<algorithm>-<UTC time>`).
    pub fn job_name(mut self, job: JobName) -> Self {
        self.job.job = Some(job);
        self
    }

    /// The SageMaker training instance type (the local backend runs in-process and ignores it).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.job.resources.instance_type = Some(instance_type.into());
        self
    }

    /// SageMaker training instances (ignored by the local backend).
    pub fn instance_count(mut self, count: u32) -> Self {
        self.job.resources.instance_count = Some(count);
        self
    }

    /// SageMaker managed spot training (ignored by the local backend).
    pub fn spot(mut self, spot: bool) -> Self {
        self.job.resources.spot = spot;
        self
    }

    /// Limits the job's run time on SageMaker (default 24 h).
    pub fn max_runtime(mut self, limit: Duration) -> Self {
        self.job.resources.max_runtime = Some(limit);
        self
    }

    /// Sets all resources at once.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.job.resources = resources;
        self
    }

    /// Calls `progress` at every change of the job's status, on either backend.
    pub fn on_progress(mut self, progress: impl FnMut(&TrainingProgress) + Send + 'static) -> Self {
        self.control = self.control.on_progress(progress);
        self
    }

    /// Stops the job when `cancel` resolves (Ctrl-C, a deadline): a SageMaker job is stopped
    /// (no more billing) and followed until `Stopped`; a local job is recorded `Stopped`.
    pub fn cancel_on(mut self, cancel: impl Future<Output = ()> + Send + 'static) -> Self {
        self.control = self.control.cancel_on(cancel);
        self
    }
}

impl<'a> IntoFuture for Train<'a> {
    type Output = Result<JobRecord, Error>;
    type IntoFuture = Boxed<'a, JobRecord>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { Ok(self.project.backend.train(self.job, self.control).await?) })
    }
}

/// A deployment being described; `.await` deploys on the project's backend.
#[must_use = "a deploy request does nothing until awaited"]
#[derive(Debug)]
pub struct Deploy<'a> {
    project: &'a Project,
    deploy: DeployEndpoint,
}

impl Deploy<'_> {
    /// Captures this percentage of requests and responses (SageMaker's data capture format,
    /// below the store's `capture/`).
    pub fn capture(mut self, percent: u8) -> Self {
        self.deploy.capture = Some(percent);
        self
    }

    /// The SageMaker hosting instance type (ignored by the local backend).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.deploy.resources.instance_type = Some(instance_type.into());
        self
    }

    /// SageMaker instances behind the endpoint (ignored by the local backend).
    pub fn instance_count(mut self, count: u32) -> Self {
        self.deploy.resources.instance_count = Some(count);
        self
    }

    /// Sets all resources at once.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.deploy.resources = resources;
        self
    }
}

impl<'a> IntoFuture for Deploy<'a> {
    type Output = Result<EndpointRecord, Error>;
    type IntoFuture = Boxed<'a, EndpointRecord>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { Ok(self.project.backend.deploy(self.deploy).await?) })
    }
}

/// A registration being described; `.await` records it and mirrors it on the backend.
#[must_use = "a registration does nothing until awaited"]
#[derive(Debug)]
pub struct Register<'a> {
    project: &'a Project,
    name: ModelName,
    endpoint: EndpointName,
    description: String,
    replace: bool,
}

impl Register<'_> {
    /// What the model is.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Replaces an existing registration of the name.
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    async fn run(self) -> Result<Registered, Error> {
        let record = self
            .project
            .registry()
            .register(&self.name, &self.endpoint)
            .description(self.description)
            .replace(self.replace)
            .tags(self.project.tags())
            .await?;
        let mirror = self.project.backend.mirror_registration(&record).await?;
        Ok(Registered { record, mirror })
    }
}

/// What a registration recorded.
#[derive(Clone, Debug, Serialize)]
pub struct Registered {
    /// The registry's record.
    #[serde(flatten)]
    pub record: ModelRecord,
    /// The backend's mirror (the SageMaker model package's ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
}

impl std::ops::Deref for Registered {
    type Target = ModelRecord;

    fn deref(&self) -> &ModelRecord {
        &self.record
    }
}

impl<'a> IntoFuture for Register<'a> {
    type Output = Result<Registered, Error>;
    type IntoFuture = Boxed<'a, Registered>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A comparison being described; `.await` scores every registered model through the
/// backend's endpoints (starting the local server when needed).
#[must_use = "a comparison does nothing until awaited"]
#[derive(Debug)]
pub struct Compare<'a> {
    project: &'a Project,
    options: CompareOptions,
}

impl Compare<'_> {
    /// Replaces all options.
    pub fn options(mut self, options: CompareOptions) -> Self {
        self.options = options;
        self
    }

    /// Changes some options: `.configure(|o| o.resamples = 200)`.
    pub fn configure(mut self, change: impl FnOnce(&mut CompareOptions)) -> Self {
        change(&mut self.options);
        self
    }
}

impl<'a> IntoFuture for Compare<'a> {
    type Output = Result<Comparison, Error>;
    type IntoFuture = Boxed<'a, Comparison>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let serving = self.project.backend.serving().await?;
            Ok(wb_compare::compare(self.project.store.clone(), serving.invoker).options(self.options).await?)
        })
    }
}

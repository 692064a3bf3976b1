//! A project: its `workbench.toml` and its store, with the workbench's services on top.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::path::Path;
use std::pin::Pin;

use wb_core::{BackendKind, DatasetName, DynObjectStore, EndpointName, JobName, LoadedConfig, ModelName};
use wb_datasets::Datasets;
use wb_models::capture::CaptureConfig;
use wb_models::endpoints::{EndpointRecord, Endpoints};
use wb_models::registry::{ModelRecord, Registry};
use wb_models::training::{JobRecord, TrainingJobs};

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
    /// Models, endpoints, registry.
    #[error(transparent)]
    Models(#[from] wb_models::Error),
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

/// A project opened from its `workbench.toml`.
///
/// [`Project::train`], [`Project::deploy`] and [`Project::register`] run on the configured
/// backend — in-process jobs and the local server, or SageMaker (feature `aws`) — and record
/// jobs, endpoints and models in the store the same way, so an experiment runs unchanged on
/// either.
#[derive(Clone, Debug)]
pub struct Project {
    /// The configuration.
    pub config: LoadedConfig,
    /// Its store.
    pub store: DynObjectStore,
    /// The SageMaker backend, when the project uses it.
    #[cfg(feature = "aws")]
    sagemaker: Option<std::sync::Arc<wb_aws::backend::SageMakerBackend>>,
}

impl Project {
    /// Opens the project whose `workbench.toml` is `$WB_CONFIG`, or the first one found in the
    /// current directory or its parents.
    ///
    /// # Errors
    /// No configuration found, an invalid one, or a store that cannot be opened.
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

    /// Opens the project of a loaded configuration.
    ///
    /// # Errors
    /// A store that cannot be opened (an S3 store needs the `aws` feature).
    pub async fn open(config: LoadedConfig) -> Result<Self, Error> {
        #[cfg(feature = "aws")]
        {
            let store = wb_aws::open_store(&config).await?;
            let sagemaker = match config.config.backend.kind {
                BackendKind::Sagemaker => Some(std::sync::Arc::new(
                    wb_aws::backend::SageMakerBackend::from_config(&config, store.clone()).await?,
                )),
                BackendKind::Local => None,
            };
            Ok(Self { config, store, sagemaker })
        }
        #[cfg(not(feature = "aws"))]
        {
            if config.config.backend.kind == BackendKind::Sagemaker {
                return Err(Error::Unsupported {
                    what: "backend \"sagemaker\"".into(),
                    advice: "build with the `aws` feature".into(),
                });
            }
            let store: DynObjectStore = std::sync::Arc::new(wb_core::open_local(&config.store_uri()?)?);
            Ok(Self { config, store })
        }
    }

    /// The project's backend.
    #[must_use]
    pub fn backend(&self) -> BackendKind {
        self.config.config.backend.kind
    }

    /// The SageMaker backend, when the project uses it.
    #[cfg(feature = "aws")]
    #[must_use]
    pub fn sagemaker(&self) -> Option<&wb_aws::backend::SageMakerBackend> {
        self.sagemaker.as_deref()
    }

    /// A training job of `algorithm` on `dataset`'s partitions, on the project's backend, tagged
    /// with the project's tags; configure it and `.await` it.
    pub fn train(&self, dataset: &DatasetName, algorithm: &str) -> Train<'_> {
        Train {
            project: self,
            dataset: dataset.clone(),
            algorithm: algorithm.to_owned(),
            hyperparameters: BTreeMap::new(),
            job: None,
            instance_type: None,
            instance_count: None,
            spot: false,
        }
    }

    /// Deploys a completed job's model to `endpoint` on the project's backend (an existing
    /// endpoint moves to the new model); configure it and `.await` it. On the local backend the
    /// model server (`wb serve`) serves it.
    pub fn deploy(&self, job: &JobName, endpoint: &EndpointName) -> Deploy<'_> {
        Deploy {
            project: self,
            job: job.clone(),
            endpoint: endpoint.clone(),
            capture: None,
            instance_type: None,
            instance_count: None,
        }
    }

    /// Registers the model `endpoint` serves as `name`, for comparison; on the SageMaker
    /// backend also as a model package of the project's group (unless `model_registry =
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

    /// A comparison of the registered models on the test split, scored through `invoker`
    /// (the local server's `RuntimeClient`, or `wb_aws::SageMakerRuntime`); configure it and
    /// `.await` it.
    pub fn compare(&self, invoker: std::sync::Arc<dyn wb_models::invoke::InvokeEndpoint>) -> wb_compare::Compare {
        wb_compare::compare(self.store.clone(), invoker)
    }

    /// The project's tags (the project tag included), for every resource it creates.
    #[must_use]
    pub fn tags(&self) -> std::collections::BTreeMap<String, String> {
        self.config.tags()
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A training job being described; `.await` runs it on the project's backend.
#[must_use = "a training request does nothing until awaited"]
#[derive(Debug)]
pub struct Train<'a> {
    project: &'a Project,
    dataset: DatasetName,
    algorithm: String,
    hyperparameters: BTreeMap<String, String>,
    job: Option<JobName>,
    instance_type: Option<String>,
    instance_count: Option<u32>,
    spot: bool,
}

impl Train<'_> {
    /// Sets one hyperparameter (SageMaker's string convention).
    pub fn hyperparameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.hyperparameters.insert(key.into(), value.into());
        self
    }

    /// Sets all hyperparameters.
    pub fn hyperparameters(mut self, map: BTreeMap<String, String>) -> Self {
        self.hyperparameters = map;
        self
    }

    /// Names the job (default: `<dataset>-<algorithm>-<UTC time>`).
    pub fn job_name(mut self, job: JobName) -> Self {
        self.job = Some(job);
        self
    }

    /// The SageMaker training instance type (the local backend runs in-process and ignores it).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.instance_type = Some(instance_type.into());
        self
    }

    /// SageMaker training instances (ignored by the local backend).
    pub fn instance_count(mut self, count: u32) -> Self {
        self.instance_count = Some(count);
        self
    }

    /// SageMaker managed spot training (ignored by the local backend).
    pub fn spot(mut self, spot: bool) -> Self {
        self.spot = spot;
        self
    }

    async fn run(self) -> Result<JobRecord, Error> {
        #[cfg(feature = "aws")]
        if let Some(sagemaker) = self.project.sagemaker() {
            let mut request =
                sagemaker.train(&self.dataset, &self.algorithm).hyperparameters(self.hyperparameters).spot(self.spot);
            if let Some(job) = self.job {
                request = request.job_name(job);
            }
            if let Some(t) = self.instance_type {
                request = request.instance_type(t);
            }
            if let Some(n) = self.instance_count {
                request = request.instance_count(n);
            }
            return Ok(request.await?);
        }
        let mut request = self
            .project
            .training()
            .train(&self.dataset, &self.algorithm)
            .hyperparameters(self.hyperparameters)
            .tags(self.project.tags());
        if let Some(job) = self.job {
            request = request.job_name(job);
        }
        Ok(request.await?)
    }
}

impl<'a> IntoFuture for Train<'a> {
    type Output = Result<JobRecord, Error>;
    type IntoFuture = Boxed<'a, JobRecord>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A deployment being described; `.await` deploys on the project's backend.
#[must_use = "a deploy request does nothing until awaited"]
#[derive(Debug)]
pub struct Deploy<'a> {
    project: &'a Project,
    job: JobName,
    endpoint: EndpointName,
    capture: Option<u8>,
    instance_type: Option<String>,
    instance_count: Option<u32>,
}

impl Deploy<'_> {
    /// Captures this percentage of requests and responses (SageMaker's data capture format,
    /// below the store's `capture/`).
    pub fn capture(mut self, percent: u8) -> Self {
        self.capture = Some(percent);
        self
    }

    /// The SageMaker hosting instance type (ignored by the local backend).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.instance_type = Some(instance_type.into());
        self
    }

    /// SageMaker instances behind the endpoint (ignored by the local backend).
    pub fn instance_count(mut self, count: u32) -> Self {
        self.instance_count = Some(count);
        self
    }

    async fn run(self) -> Result<EndpointRecord, Error> {
        #[cfg(feature = "aws")]
        if let Some(sagemaker) = self.project.sagemaker() {
            let mut request = sagemaker.deploy(&self.job, &self.endpoint);
            if let Some(percent) = self.capture {
                request = request.capture(percent);
            }
            if let Some(t) = self.instance_type {
                request = request.instance_type(t);
            }
            if let Some(n) = self.instance_count {
                request = request.instance_count(n);
            }
            return Ok(request.await?);
        }
        let mut request = self.project.endpoints().deploy(&self.job, &self.endpoint).tags(self.project.tags());
        if let Some(percent) = self.capture {
            request = request.capture(CaptureConfig::new(percent)?);
        }
        Ok(request.await?)
    }
}

impl<'a> IntoFuture for Deploy<'a> {
    type Output = Result<EndpointRecord, Error>;
    type IntoFuture = Boxed<'a, EndpointRecord>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A registration being described; `.await` records it (and mirrors it on SageMaker).
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

    async fn run(self) -> Result<ModelRecord, Error> {
        let record = self
            .project
            .registry()
            .register(&self.name, &self.endpoint)
            .description(self.description)
            .replace(self.replace)
            .tags(self.project.tags())
            .await?;
        #[cfg(feature = "aws")]
        if let Some(sagemaker) = self.project.sagemaker() {
            sagemaker.register_package(&record).await?;
        }
        Ok(record)
    }
}

impl<'a> IntoFuture for Register<'a> {
    type Output = Result<ModelRecord, Error>;
    type IntoFuture = Boxed<'a, ModelRecord>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

//! The model registry: one document per registered model, `registry/models/<model>.json`.
//!
//! A registration names what the comparison needs to score a model independently of how it
//! was built: its endpoint, the dataset and partition fingerprint it was trained on, its
//! algorithm, hyperparameters, artefact and validation metrics. Documents are written
//! create-only (or compare-and-swap with `replace`), so concurrent registrations never lose
//! one another and a name is never silently overwritten.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use wb_core::{ContentHash, DatasetName, DynObjectStore, EndpointName, JobName, ModelName, ObjectStoreExt, PutMode};

use crate::endpoints::Endpoints;
use crate::error::{Error, Result};
use crate::training::TrainingJobs;
use crate::{layout, records};

/// `registry/models/<model>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The model's name.
    pub name: ModelName,
    /// What it is, in the author's words.
    pub description: String,
    /// The algorithm.
    pub algorithm: String,
    /// The `model.tar.gz` URI.
    pub artifact: String,
    /// The endpoint serving it.
    pub endpoint: EndpointName,
    /// `local` or `sagemaker`.
    pub backend: String,
    /// The dataset it was trained on.
    pub dataset: DatasetName,
    /// The partition fingerprint it was trained on (the comparison checks it).
    pub fingerprint: ContentHash,
    /// The training job.
    pub job: JobName,
    /// Hyperparameters as given to the job.
    pub hyperparameters: BTreeMap<String, String>,
    /// Validation metrics of the job.
    pub validation_metrics: BTreeMap<String, f64>,
    /// When it was registered (RFC 3339).
    pub registered_at: String,
    /// Tags (the project tag included).
    pub tags: BTreeMap<String, String>,
}

/// The registry of one store.
#[derive(Clone, Debug)]
pub struct Registry {
    store: DynObjectStore,
}

impl Registry {
    /// The registry in `store`.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store }
    }

    /// Starts registering the model served by `endpoint` as `name`; `.await` it.
    pub fn register(&self, name: &ModelName, endpoint: &EndpointName) -> RegisterModel {
        RegisterModel {
            store: self.store.clone(),
            name: name.clone(),
            endpoint: endpoint.clone(),
            description: String::new(),
            replace: false,
            tags: BTreeMap::new(),
        }
    }

    /// A registered model.
    ///
    /// # Errors
    /// [`Error::UnknownModel`] when there is none.
    pub async fn get(&self, name: &ModelName) -> Result<ModelRecord> {
        records::get(&self.store, &layout::model_record(name), || Error::UnknownModel { name: name.to_string() }).await
    }

    /// Every registered model, by name.
    ///
    /// # Errors
    /// Store errors.
    pub async fn list(&self) -> Result<Vec<ModelRecord>> {
        let mut out: Vec<ModelRecord> =
            records::list(&self.store, &layout::registry_root(), 3, |p| p.as_str().ends_with(".json")).await?;
        out.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        Ok(out)
    }

    /// Removes a registered model (its endpoint and job stay).
    ///
    /// # Errors
    /// [`Error::UnknownModel`] when there is none.
    pub async fn remove(&self, name: &ModelName) -> Result<ModelRecord> {
        let record = self.get(name).await?;
        self.store.delete(&layout::model_record(name)).await?;
        Ok(record)
    }
}

/// A registration being described; `.await` writes it.
#[must_use = "a registration does nothing until awaited"]
#[derive(Debug)]
pub struct RegisterModel {
    store: DynObjectStore,
    name: ModelName,
    endpoint: EndpointName,
    description: String,
    replace: bool,
    tags: BTreeMap<String, String>,
}

impl RegisterModel {
    /// What the model is.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Replaces an existing registration of the same name instead of failing.
    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    /// Tags recorded on the model.
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    async fn run(self) -> Result<ModelRecord> {
        let endpoint = Endpoints::new(self.store.clone()).get(&self.endpoint).await?;
        let job = TrainingJobs::new(self.store.clone()).get(&endpoint.job).await?;
        let record = ModelRecord {
            name: self.name.clone(),
            description: self.description,
            algorithm: endpoint.algorithm,
            artifact: endpoint.model_artifact,
            endpoint: endpoint.name,
            backend: endpoint.backend,
            dataset: endpoint.dataset,
            fingerprint: endpoint.fingerprint,
            job: endpoint.job,
            hyperparameters: job.hyperparameters,
            validation_metrics: job.metrics,
            registered_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            tags: self.tags,
        };
        let path = layout::model_record(&self.name);
        let mode = if self.replace {
            match self.store.head(&path).await {
                Ok(meta) => PutMode::Update(meta.etag),
                Err(wb_core::Error::NotFound { .. }) => PutMode::Create,
                Err(e) => return Err(e.into()),
            }
        } else {
            PutMode::Create
        };
        match self.store.put_json(&path, &record, mode).await {
            Ok(_) => Ok(record),
            Err(wb_core::Error::AlreadyExists { .. }) => Err(Error::ModelExists { name: self.name.to_string() }),
            Err(wb_core::Error::PreconditionFailed { .. } | wb_core::Error::NotFound { .. }) => {
                Err(Error::Conflict { what: format!("model {}", self.name), advice: "register again".into() })
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl IntoFuture for RegisterModel {
    type Output = Result<ModelRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

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
use wb_core::{
    BackendKind, ContentHash, DatasetName, DynObjectStore, EndpointName, JobName, ModelName, ObjectStoreExt, PutMode,
    Timestamp,
};

use crate::error::{Error, Result};
use crate::training::TrainingJobs;
use crate::{layout, records};

/// What a registration takes from the endpoint record (`endpoints/<endpoint>.json`, written by
/// `wb-serving`'s deployments and backends, at [`layout::endpoint_record`]).
#[derive(Deserialize)]
struct Served {
    name: EndpointName,
    job: JobName,
    model_artifact: String,
    algorithm: String,
    dataset: DatasetName,
    fingerprint: ContentHash,
    backend: BackendKind,
}

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
    /// The backend it ran on (`local` or `sagemaker` in the JSON).
    pub backend: BackendKind,
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
    pub registered_at: Timestamp,
    /// Tags (the project tag included).
    pub tags: BTreeMap<String, String>,
}

/// `registry/promoted.json`: the model chosen to serve, and the evidence it was chosen on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// The promoted model.
    pub model: ModelName,
    /// Its endpoint.
    pub endpoint: EndpointName,
    /// Its training job.
    pub job: JobName,
    /// The dataset it was trained on.
    pub dataset: DatasetName,
    /// The partition fingerprint it was trained on.
    pub fingerprint: ContentHash,
    /// The comparison report the decision rests on (`reports/compare/<id>`), if any.
    pub report: Option<String>,
    /// Test-split metrics from that report.
    pub metrics: BTreeMap<String, f64>,
    /// The model promoted before, if another.
    pub previous: Option<ModelName>,
    /// When (RFC 3339).
    pub promoted_at: Timestamp,
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

    /// Records `name` as the promoted model, citing `report` and its test metrics; replaces an
    /// earlier promotion (compare-and-swap, so two promotions at once cannot both win silently).
    ///
    /// # Errors
    /// [`Error::UnknownModel`] when it is not registered; [`Error::Conflict`] when another
    /// promotion landed meanwhile.
    pub async fn promote(
        &self,
        name: &ModelName,
        report: Option<String>,
        metrics: BTreeMap<String, f64>,
    ) -> Result<Promotion> {
        let record = self.get(name).await?;
        let path = layout::promotion_record();
        let (previous, mode) = match self.store.get_json::<Promotion>(&path).await {
            Ok((p, etag)) => (Some(p.model), PutMode::Update(etag)),
            Err(wb_core::Error::NotFound { .. }) => (None, PutMode::Create),
            Err(e) => return Err(e.into()),
        };
        let promotion = Promotion {
            model: record.name,
            endpoint: record.endpoint,
            job: record.job,
            dataset: record.dataset,
            fingerprint: record.fingerprint,
            report,
            metrics,
            previous: previous.filter(|p| p != name),
            promoted_at: Timestamp::now(),
        };
        match self.store.put_json(&path, &promotion, mode).await {
            Ok(_) => Ok(promotion),
            Err(wb_core::Error::AlreadyExists { .. } | wb_core::Error::PreconditionFailed { .. }) => {
                Err(Error::Conflict { what: "the promotion".into(), advice: "promote again".into() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The promoted model, if one was promoted.
    ///
    /// # Errors
    /// Store errors.
    pub async fn promoted(&self) -> Result<Option<Promotion>> {
        match self.store.get_json::<Promotion>(&layout::promotion_record()).await {
            Ok((p, _)) => Ok(Some(p)),
            Err(wb_core::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a registered model (its endpoint and job stay).
    ///
    /// # Errors
    /// [`Error::UnknownModel`] when there is none; [`Error::Promoted`] for the promoted model.
    pub async fn remove(&self, name: &ModelName) -> Result<ModelRecord> {
        let record = self.get(name).await?;
        if self.promoted().await?.is_some_and(|p| &p.model == name) {
            return Err(Error::Promoted { name: name.to_string() });
        }
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
        let endpoint: Served = records::get(&self.store, &layout::endpoint_record(&self.endpoint), || {
            Error::UnknownEndpoint { name: self.endpoint.to_string() }
        })
        .await?;
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
            registered_at: Timestamp::now(),
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

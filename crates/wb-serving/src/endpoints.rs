//! Local endpoints: their records, the catalog the model server loads them from, the local
//! server's record and lifecycle, and a client for SageMaker Runtime's `InvokeEndpoint`.
//!
//! `wb deploy` writes `endpoints/<endpoint>.json` (which job's `model.tar.gz` it serves, its
//! variant and data-capture configuration). One local server per store serves every endpoint
//! (`POST /endpoints/<name>/invocations`); it loads an endpoint's model on first use and
//! notices within a second when a record changes or disappears. The server records itself
//! in `servers/local.json` (URL, process id, a per-start instance id) and shuts down
//! gracefully — flushing data capture — when that record is removed or taken over, which is
//! how `wb clean` stops it.

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wb_core::{
    BackendKind, ContentHash, DatasetName, DynObjectStore, ETag, EndpointName, JobName, ObjectStoreExt, PutMode,
    Timestamp,
};
use wb_models::artifact::ModelArtifact;
use wb_models::training::{JobStatus, TrainingJobs};
use wb_models::{layout, records};

use crate::capture::CaptureConfig;
use crate::error::Result;
use crate::server::{EndpointCatalog, LoadedEndpoint};

/// The production variant every local endpoint has (SageMaker's default name).
pub const DEFAULT_VARIANT: &str = "AllTraffic";
/// How often the server re-reads endpoint records and its own server record.
pub const REVALIDATE_EVERY: Duration = Duration::from_secs(1);

/// `endpoints/<endpoint>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// The endpoint.
    pub name: EndpointName,
    /// The training job whose model it serves.
    pub job: JobName,
    /// That job's `model.tar.gz` URI.
    pub model_artifact: String,
    /// The algorithm.
    pub algorithm: String,
    /// The dataset the model was trained on.
    pub dataset: DatasetName,
    /// Its partition fingerprint.
    pub fingerprint: ContentHash,
    /// The production variant (`AllTraffic`).
    pub variant: String,
    /// Data capture, when enabled.
    pub capture: Option<CaptureConfig>,
    /// The backend hosting it (`local` or `sagemaker` in the JSON).
    pub backend: BackendKind,
    /// When it was first deployed (RFC 3339).
    pub created_at: Timestamp,
    /// When it was last (re)deployed (RFC 3339).
    pub updated_at: Timestamp,
    /// Tags (the project tag included).
    pub tags: BTreeMap<String, String>,
}

/// The endpoints of one store.
#[derive(Clone, Debug)]
pub struct Endpoints {
    store: DynObjectStore,
}

impl Endpoints {
    /// Endpoints in `store`.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store }
    }

    /// Starts deploying `job`'s model as `endpoint`; `.await` it. Deploying an existing
    /// endpoint moves it to the new model.
    pub fn deploy(&self, job: &JobName, endpoint: &EndpointName) -> DeployRequest {
        DeployRequest {
            store: self.store.clone(),
            job: job.clone(),
            endpoint: endpoint.clone(),
            capture: None,
            tags: BTreeMap::new(),
        }
    }

    /// Records an endpoint hosted elsewhere (a SageMaker endpoint), or its move to a new model:
    /// created when new, otherwise replaced with compare-and-swap keeping its creation time.
    /// The local server never serves records whose `backend` is not `local`.
    ///
    /// # Errors
    /// [`wb_models::Error::Conflict`] when another deploy wrote the record at the same time;
    /// store errors.
    pub async fn record(&self, record: EndpointRecord) -> Result<EndpointRecord> {
        put_record(&self.store, record).await
    }

    /// An endpoint's record.
    ///
    /// # Errors
    /// [`wb_models::Error::UnknownEndpoint`] when there is none.
    pub async fn get(&self, endpoint: &EndpointName) -> Result<EndpointRecord> {
        Ok(records::get(&self.store, &layout::endpoint_record(endpoint), || wb_models::Error::UnknownEndpoint {
            name: endpoint.to_string(),
        })
        .await?)
    }

    /// Every endpoint, by name.
    ///
    /// # Errors
    /// Store errors.
    pub async fn list(&self) -> Result<Vec<EndpointRecord>> {
        let mut out: Vec<EndpointRecord> =
            records::list(&self.store, &layout::endpoints_root(), 2, |p| p.as_str().ends_with(".json")).await?;
        out.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        Ok(out)
    }

    /// Removes an endpoint's record (the server stops serving it within a second).
    ///
    /// # Errors
    /// [`wb_models::Error::UnknownEndpoint`] when there is none.
    pub async fn delete(&self, endpoint: &EndpointName) -> Result<()> {
        self.get(endpoint).await?;
        Ok(self.store.delete(&layout::endpoint_record(endpoint)).await?)
    }
}

/// A deployment being described; `.await` writes the endpoint record.
#[must_use = "a deploy request does nothing until awaited"]
#[derive(Debug)]
pub struct DeployRequest {
    store: DynObjectStore,
    job: JobName,
    endpoint: EndpointName,
    capture: Option<CaptureConfig>,
    tags: BTreeMap<String, String>,
}

impl DeployRequest {
    /// Enables data capture.
    pub fn capture(mut self, capture: CaptureConfig) -> Self {
        self.capture = Some(capture);
        self
    }

    /// Tags recorded on the endpoint.
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    async fn run(self) -> Result<EndpointRecord> {
        let job = TrainingJobs::new(self.store.clone()).get(&self.job).await?;
        let artifact_uri = match (&job.status, &job.model_artifact) {
            (JobStatus::Completed, Some(uri)) => uri.clone(),
            _ => {
                return Err(wb_models::Error::JobNotCompleted {
                    name: self.job.to_string(),
                    status: job.status.to_string(),
                    reason: job.failure_reason.clone(),
                }
                .into());
            }
        };
        // Fail now, not at the first request, when the artefact is missing or unreadable.
        load_artifact(&self.store, &artifact_uri).await?;
        let now = Timestamp::now();
        let record = EndpointRecord {
            name: self.endpoint.clone(),
            job: self.job.clone(),
            model_artifact: artifact_uri,
            algorithm: job.algorithm,
            dataset: job.dataset,
            fingerprint: job.fingerprint,
            variant: DEFAULT_VARIANT.into(),
            capture: self.capture,
            backend: BackendKind::Local,
            created_at: now,
            updated_at: now,
            tags: self.tags,
        };
        let record = put_record(&self.store, record).await?;
        tracing::info!(endpoint = %self.endpoint, job = %self.job, "endpoint deployed");
        Ok(record)
    }
}

/// Writes an endpoint record: create-only when new, otherwise compare-and-swap keeping the first
/// `created_at`.
async fn put_record(store: &DynObjectStore, mut record: EndpointRecord) -> Result<EndpointRecord> {
    let path = layout::endpoint_record(&record.name);
    let mode = match store.get_json::<EndpointRecord>(&path).await {
        Ok((old, etag)) => {
            record.created_at = old.created_at;
            PutMode::Update(etag)
        }
        Err(wb_core::Error::NotFound { .. }) => PutMode::Create,
        Err(e) => return Err(e.into()),
    };
    match store.put_json(&path, &record, mode).await {
        Ok(_) => Ok(record),
        Err(wb_core::Error::AlreadyExists { .. } | wb_core::Error::PreconditionFailed { .. }) => {
            Err(wb_models::Error::Conflict { what: format!("endpoint {}", record.name), advice: "deploy again".into() }
                .into())
        }
        Err(e) => Err(e.into()),
    }
}

impl IntoFuture for DeployRequest {
    type Output = Result<EndpointRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Reads a `model.tar.gz` from the store by URI. Unpacking and parsing the model runs on
/// tokio's blocking pool, off the runtime's workers.
///
/// # Errors
/// [`wb_models::Error::Artifact`] when the URI is outside the store or the archive is invalid.
pub async fn load_artifact(store: &DynObjectStore, uri: &str) -> Result<ModelArtifact> {
    let path = store.uri().relative_object(uri).ok_or_else(|| wb_models::Error::Artifact {
        what: uri.to_owned(),
        message: format!("is not inside the store {}", store.uri()),
    })?;
    let bytes = store.get(&path).await?.bytes;
    let what = uri.to_owned();
    let artifact = tokio::task::spawn_blocking(move || ModelArtifact::from_tar_gz(&what, &bytes))
        .await
        .map_err(|e| wb_models::Error::Task { message: format!("decoding {uri} failed: {e}") })??;
    Ok(artifact)
}

struct Cached {
    endpoint: Arc<LoadedEndpoint>,
    etag: ETag,
    checked: Instant,
}

/// The endpoints of a store as the model server sees them: loaded on first use, re-read when
/// their record changes, dropped when it disappears.
pub struct StoreCatalog {
    store: DynObjectStore,
    cache: RwLock<HashMap<String, Cached>>,
}

impl std::fmt::Debug for StoreCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCatalog").field("store", &self.store.uri()).finish_non_exhaustive()
    }
}

impl StoreCatalog {
    /// The catalog of `store`'s endpoints.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store, cache: RwLock::new(HashMap::new()) }
    }

    fn fresh(&self, name: &str) -> Option<Arc<LoadedEndpoint>> {
        let cache = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(name).filter(|c| c.checked.elapsed() < REVALIDATE_EVERY).map(|c| c.endpoint.clone())
    }

    async fn revalidate(&self, name: &str) -> Result<Option<Arc<LoadedEndpoint>>> {
        let Ok(endpoint) = EndpointName::parse(name) else {
            return Ok(None);
        };
        let path = layout::endpoint_record(&endpoint);
        let meta = match self.store.head(&path).await {
            Ok(meta) => meta,
            Err(wb_core::Error::NotFound { .. }) => {
                self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name);
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        {
            let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(c) = cache.get_mut(name).filter(|c| c.etag == meta.etag) {
                c.checked = Instant::now();
                return Ok(Some(c.endpoint.clone()));
            }
        }
        let (record, etag): (EndpointRecord, _) = match self.store.get_json(&path).await {
            Ok(found) => found,
            Err(wb_core::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if record.backend != BackendKind::Local {
            // Hosted elsewhere (SageMaker): not this server's to serve.
            return Ok(None);
        }
        let artifact = load_artifact(&self.store, &record.model_artifact).await?;
        let loaded =
            Arc::new(LoadedEndpoint::new(record.name.to_string(), record.variant, Arc::new(artifact), record.capture)?);
        tracing::info!(endpoint = name, job = %record.job, "endpoint loaded");
        self.cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned(), Cached { endpoint: loaded.clone(), etag, checked: Instant::now() });
        Ok(Some(loaded))
    }
}

#[async_trait::async_trait]
impl EndpointCatalog for StoreCatalog {
    async fn resolve(&self, name: &str) -> Result<Option<Arc<LoadedEndpoint>>> {
        if let Some(endpoint) = self.fresh(name) {
            return Ok(Some(endpoint));
        }
        self.revalidate(name).await
    }
}

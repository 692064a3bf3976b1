//! Importing a model trained elsewhere as a completed job ([`TrainingJobs::import`]).

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::io::Read;
use std::pin::Pin;

use wb_core::{BackendKind, DatasetName, DynObjectStore, JobName, Timestamp};
use wb_datasets::{Datasets, Split};

use super::{JobRecord, JobStatus, TrainingJobs};
use crate::algorithm::{Algorithm, TrainingData};
use crate::artifact::{ModelArtifact, ModelMetadata};
use crate::boosted::BoostedTrees;
use crate::error::{Error, Result};
use crate::layout;
use crate::metrics::validation_metrics;
use crate::model::FittedModel;
use crate::schema::ModelSchema;

/// The formats [`TrainingJobs::import`] reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelFormat {
    /// XGBoost's JSON model (`Booster.save_model("model.json")`), as a file or inside a
    /// `model.tar.gz` (SageMaker's XGBoost output, whose `xgboost-model` member must then be
    /// JSON). Recorded as algorithm `xgboost`.
    #[default]
    XgboostJson,
}

impl ModelFormat {
    /// The format's name (`xgboost-json`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::XgboostJson => "xgboost-json",
        }
    }

    /// Parses a name.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming the known formats.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "xgboost-json" => Ok(Self::XgboostJson),
            other => Err(Error::Unsupported {
                algorithm: "import".into(),
                reason: format!("model format {other:?} is not known; known: xgboost-json"),
            }),
        }
    }
}

/// The hyperparameter that marks an imported job (its value: where the model came from). Such a
/// job's artefact is in the workbench's format whatever its algorithm's name, so a backend serves
/// it with the workbench's own server, never a built-in algorithm's image.
pub const IMPORTED_FROM_KEY: &str = "imported_from";

impl super::JobRecord {
    /// Whether the job was imported ([`TrainingJobs::import`]) rather than trained.
    #[must_use]
    pub fn is_imported(&self) -> bool {
        self.hyperparameters.contains_key(IMPORTED_FROM_KEY)
    }
}

/// The largest model file read (a boosted model of thousands of deep trees is tens of MB).
const MAX_MODEL_BYTES: u64 = 1 << 30;

impl TrainingJobs {
    /// Starts importing a model trained elsewhere (`model`: the file's bytes; `source`: where it
    /// came from, for messages and the record) as the completed job `job` on `dataset`'s
    /// partition; `.await` it. The job then deploys like any other.
    pub fn import(
        &self,
        job: JobName,
        dataset: DatasetName,
        source: impl Into<String>,
        model: Vec<u8>,
    ) -> ImportRequest {
        ImportRequest {
            store: self.store.clone(),
            job,
            dataset,
            source: source.into(),
            model,
            format: ModelFormat::default(),
            backend: BackendKind::Local,
            tags: BTreeMap::new(),
        }
    }
}

/// A model import being described; `.await` records the job.
#[must_use = "an import does nothing until awaited"]
#[derive(Debug)]
pub struct ImportRequest {
    store: DynObjectStore,
    job: JobName,
    dataset: DatasetName,
    source: String,
    model: Vec<u8>,
    format: ModelFormat,
    backend: BackendKind,
    tags: BTreeMap<String, String>,
}

impl ImportRequest {
    /// The model's format (default [`ModelFormat::XgboostJson`]).
    pub fn format(mut self, format: ModelFormat) -> Self {
        self.format = format;
        self
    }

    /// The backend the job is recorded on (default local).
    pub fn backend(mut self, backend: BackendKind) -> Self {
        self.backend = backend;
        self
    }

    /// Tags recorded on the job (add the project tag here).
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    async fn run(self) -> Result<JobRecord> {
        let started = std::time::Instant::now();
        let datasets = Datasets::new(self.store.clone());
        if datasets.is_image_dataset(&self.dataset).await? {
            return Err(Error::Unsupported {
                algorithm: Algorithm::Xgboost.name().into(),
                reason: format!("{} is an image dataset; an XGBoost model reads tabular rows", self.dataset),
            });
        }
        let manifest = datasets.open(&self.dataset).await?.manifest().clone();
        let schema = ModelSchema::from_manifest(&manifest);
        let what = format!("{} ({})", self.source, self.format.name());
        let json = model_json(&self.source, &self.model)?;
        let boosted = BoostedTrees::from_xgboost_json(&json).map_err(|e| match e {
            Error::Artifact { message, .. } => Error::Artifact { what: what.clone(), message },
            other => other,
        })?;
        let model = FittedModel::Boosted { model: boosted };
        let width = schema.features.0.len();
        if model.n_features() != width {
            return Err(Error::Artifact {
                what,
                message: format!(
                    "the model reads {} features but dataset {} encodes {width} (its schema's feature columns, \
                     in the channel order: target first, then the features); train it on the dataset's channels",
                    model.n_features(),
                    self.dataset
                ),
            });
        }

        // Validation metrics on the dataset's validation channel, as a trained job records them.
        let validation = &manifest.split(Split::Validation).channel;
        let bytes = self.store.get(&validation.path).await?.bytes;
        let n_classes = match schema.classes().len() {
            0 => None,
            k => Some(k),
        };
        let scratch = wb_core::scratch::ScratchDir::create("import")?;
        let file = scratch.path().join("validation.csv");
        std::fs::write(&file, &bytes).map_err(|e| Error::io(&file, e))?;
        let data = TrainingData::read_channel_csv(&file, n_classes)?;
        let metrics = validation_metrics(&model, &data);
        drop(scratch);

        let mut hyperparameters = BTreeMap::from([(IMPORTED_FROM_KEY.to_owned(), self.source.clone())]);
        if let FittedModel::Boosted { model } = &model {
            hyperparameters.insert("objective".into(), model.objective().name().into());
            hyperparameters.insert("num_round".into(), model.rounds().to_string());
        }
        let artifact = ModelArtifact {
            model,
            schema,
            metadata: ModelMetadata {
                algorithm: Algorithm::Xgboost.name().to_owned(),
                hyperparameters: hyperparameters.clone(),
                job: Some(self.job.to_string()),
                validation_metrics: metrics.clone(),
                train_rows: 0,
                trained_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                workbench_version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        };
        artifact.check(&what)?;
        let packed = artifact.to_tar_gz()?;

        let now = Timestamp::now();
        let mut record = JobRecord {
            name: self.job.clone(),
            status: JobStatus::InProgress,
            failure_reason: None,
            algorithm: Algorithm::Xgboost.name().to_owned(),
            hyperparameters,
            dataset: self.dataset.clone(),
            fingerprint: manifest.fingerprint,
            channels: BTreeMap::new(),
            backend: self.backend,
            model_artifact: None,
            metrics: BTreeMap::new(),
            created_at: now,
            ended_at: None,
            training_seconds: None,
            tags: self.tags,
        };
        // Create-only, so an import never replaces a job; completed once the artefact is stored.
        let jobs = TrainingJobs::new(self.store.clone());
        let etag = jobs.record_started(&record).await?;
        let artifact_path = layout::model_artifact(&self.job);
        self.store.put(&artifact_path, packed.into()).await?;
        record.status = JobStatus::Completed;
        record.model_artifact = Some(self.store.uri().object_uri(&artifact_path));
        record.metrics = metrics;
        record.ended_at = Some(Timestamp::now());
        record.training_seconds = Some(started.elapsed().as_secs_f64());
        jobs.record_ended(&record, etag).await?;
        tracing::info!(job = %self.job, dataset = %self.dataset, source = %self.source, "model imported");
        Ok(record)
    }
}

impl IntoFuture for ImportRequest {
    type Output = Result<JobRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The model's JSON: the bytes themselves, or the one model member of a `model.tar.gz`
/// (`xgboost-model`, or the only regular file).
fn model_json(source: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let err = |message: String| Error::Artifact { what: source.to_owned(), message };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().map_err(|e| err(format!("not a tar.gz archive: {e}")))? {
        let entry = entry.map_err(|e| err(format!("corrupt archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(|e| err(format!("bad member name: {e}")))?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.take(MAX_MODEL_BYTES + 1).read_to_end(&mut data).map_err(|e| err(format!("reading {name}: {e}")))?;
        if data.len() as u64 > MAX_MODEL_BYTES {
            return Err(err(format!("member {name} is larger than {MAX_MODEL_BYTES} bytes")));
        }
        members.push((name.trim_start_matches("./").to_owned(), data));
    }
    if let Some(i) = members.iter().position(|(name, _)| name == "xgboost-model") {
        return Ok(members.swap_remove(i).1);
    }
    match members.len() {
        1 => Ok(members.remove(0).1),
        0 => Err(err("the archive holds no file".into())),
        _ => Err(err(format!(
            "the archive holds {} files ({}) and no xgboost-model; name the model file xgboost-model",
            members.len(),
            members.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

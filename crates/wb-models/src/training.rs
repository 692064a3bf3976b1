//! Local training jobs: SageMaker's training-job lifecycle on this machine.
//!
//! [`TrainingJobs::train`] records the job as `InProgress` (`training/<job>/job.json`, written
//! create-only so two jobs never share a name), lays out a work directory exactly like a
//! SageMaker training container (see [`crate::container`]), copies in the dataset's `train`
//! and `validation` channels (verified against the manifest hashes) and its schema, runs the
//! container's `train` in-process, packs `model/` into `training/<job>/output/model.tar.gz`,
//! saves the validation metrics beside it and records `Completed` — or `Failed` with the
//! container's failure reason. The test split is never copied: it is not a channel.
//!
//! ```no_run
//! # async fn run(store: wb_core::DynObjectStore) -> wb_models::Result<()> {
//! use wb_models::training::TrainingJobs;
//! let job = TrainingJobs::new(store)
//!     .train(&wb_core::DatasetName::parse("wine")?, "random-forest")
//!     .hyperparameter("num_trees", "50")
//!     .await?;
//! println!("{} → {}", job.name, job.model_artifact.unwrap_or_default());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wb_core::{
    BackendKind, ContentHash, DatasetName, DynObjectStore, ETag, JobName, ObjectStoreExt, PutMode, Timestamp,
};
use wb_datasets::images::{IMAGE_CONTENT_TYPE, LST_SUFFIX};
use wb_datasets::{Datasets, ImageManifest, Manifest, Split};

use crate::algorithm::Algorithm;
use crate::artifact::pack_dir;
use crate::container::{self, ALGORITHM_KEY, ChannelConfig, ContainerPaths, METADATA_CHANNEL};
use crate::error::{Error, Result};
use crate::image_classifier::EpochMetrics;
use crate::schema::ModelSchema;
use crate::{layout, records};

mod import;
pub use import::{IMPORTED_FROM_KEY, ImportRequest, ModelFormat};

/// A training job's state, as SageMaker names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    /// Running.
    InProgress,
    /// Finished with a model.
    Completed,
    /// Finished without one; see the failure reason.
    Failed,
    /// Stopped on request before it finished (SageMaker jobs).
    Stopped,
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InProgress => "InProgress",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
        })
    }
}

/// `training/<job>/job.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job.
    pub name: JobName,
    /// Its state.
    pub status: JobStatus,
    /// Why it failed (the first 1024 characters of `output/failure`).
    pub failure_reason: Option<String>,
    /// The algorithm.
    pub algorithm: String,
    /// The hyperparameters the job ran with (without `algorithm`; on SageMaker, a built-in
    /// algorithm's defaults for the task included).
    pub hyperparameters: BTreeMap<String, String>,
    /// The dataset.
    pub dataset: DatasetName,
    /// The partition fingerprint it trained on.
    pub fingerprint: ContentHash,
    /// The channels given to training (`train`, `validation`): their URIs.
    pub channels: BTreeMap<String, String>,
    /// The backend it ran on (`local` or `sagemaker` in the JSON).
    pub backend: BackendKind,
    /// The model artefact's URI, once Completed.
    pub model_artifact: Option<String>,
    /// Validation metrics, once Completed.
    pub metrics: BTreeMap<String, f64>,
    /// When it was created (RFC 3339).
    pub created_at: Timestamp,
    /// When it ended (RFC 3339).
    pub ended_at: Option<Timestamp>,
    /// Training seconds.
    pub training_seconds: Option<f64>,
    /// Tags (the project tag included).
    pub tags: BTreeMap<String, String>,
}

/// Local training jobs in one store.
#[derive(Clone, Debug)]
pub struct TrainingJobs {
    store: DynObjectStore,
}

impl TrainingJobs {
    /// Jobs in `store`.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store }
    }

    /// Starts building a training job of `algorithm` on `dataset`'s partitions; `.await` it.
    pub fn train(&self, dataset: &DatasetName, algorithm: &str) -> TrainRequest {
        TrainRequest {
            store: self.store.clone(),
            dataset: dataset.clone(),
            algorithm: algorithm.to_owned(),
            hyperparameters: BTreeMap::new(),
            job: None,
            work_dir: None,
            tags: BTreeMap::new(),
            control: TrainControl::default(),
        }
    }

    /// A job's record.
    ///
    /// # Errors
    /// [`Error::UnknownJob`] when there is none.
    pub async fn get(&self, job: &JobName) -> Result<JobRecord> {
        records::get(&self.store, &layout::job_record(job), || Error::UnknownJob { name: job.to_string() }).await
    }

    /// Records a job that runs elsewhere (a SageMaker training job) as it starts, create-only so
    /// two jobs never share a name; returns the record's tag for [`TrainingJobs::record_ended`].
    ///
    /// # Errors
    /// [`Error::JobExists`] when the name is taken; store errors.
    pub async fn record_started(&self, record: &JobRecord) -> Result<ETag> {
        match self.store.put_json(&layout::job_record(&record.name), record, PutMode::Create).await {
            Ok(meta) => Ok(meta.etag),
            Err(wb_core::Error::AlreadyExists { .. } | wb_core::Error::PreconditionFailed { .. }) => {
                Err(Error::JobExists { name: record.name.to_string() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records how a job that runs elsewhere ended (compare-and-swap on the started record), and
    /// its validation metrics beside the artefact as local jobs do.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the record changed since it was started; store errors.
    pub async fn record_ended(&self, record: &JobRecord, started: ETag) -> Result<()> {
        if record.status == JobStatus::Completed {
            self.store.put_json(&layout::job_metrics(&record.name), &record.metrics, PutMode::Overwrite).await?;
        }
        match self.store.put_json(&layout::job_record(&record.name), record, PutMode::Update(started)).await {
            Ok(_) => Ok(()),
            Err(wb_core::Error::PreconditionFailed { .. } | wb_core::Error::NotFound { .. }) => Err(Error::Conflict {
                what: format!("training job {}", record.name),
                advice: "the job record changed while the job ran; see `wb jobs show`".into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Every job, oldest first.
    ///
    /// # Errors
    /// Store errors.
    pub async fn list(&self) -> Result<Vec<JobRecord>> {
        let mut jobs: Vec<JobRecord> =
            records::list(&self.store, &layout::training_root(), 3, |p| p.file_name() == "job.json").await?;
        jobs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.as_str().cmp(b.name.as_str())));
        Ok(jobs)
    }
}

/// A training job being described; `.await` runs it.
#[must_use = "a training request does nothing until awaited"]
#[derive(Debug)]
pub struct TrainRequest {
    store: DynObjectStore,
    dataset: DatasetName,
    algorithm: String,
    hyperparameters: BTreeMap<String, String>,
    job: Option<JobName>,
    work_dir: Option<PathBuf>,
    tags: BTreeMap<String, String>,
    control: TrainControl,
}

impl TrainRequest {
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

    /// Keeps the container work directory at `dir` instead of a temporary one.
    pub fn work_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.work_dir = Some(dir.into());
        self
    }

    /// Tags recorded on the job (add the project tag here).
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    /// Follows the job's phases (`Starting`, `Downloading`, `Training`, `Uploading`,
    /// `Completed`) and stops it when the control's cancellation resolves: the job is then
    /// recorded `Stopped`, its model is not stored, and [`Error::JobStopped`] is returned.
    pub fn control(mut self, control: TrainControl) -> Self {
        self.control = control;
        self
    }

    async fn run(self) -> Result<JobRecord> {
        let algorithm = Algorithm::parse(&self.algorithm)?;
        if self.hyperparameters.contains_key(ALGORITHM_KEY) {
            return Err(Error::hyperparameter(
                ALGORITHM_KEY,
                "is set by --algorithm; do not pass it as a hyperparameter",
            ));
        }
        let datasets = Datasets::new(self.store.clone());
        let inputs = if datasets.is_image_dataset(&self.dataset).await? {
            Inputs::Images(Box::new(datasets.open_images(&self.dataset).await?))
        } else {
            Inputs::Tabular(Box::new(datasets.open(&self.dataset).await?.manifest().clone()))
        };
        if inputs.is_images() != algorithm.is_image() {
            let (kind, wanted) = if inputs.is_images() {
                ("an image dataset", "an image algorithm (image-classification, image-logistic)")
            } else {
                (
                    "a tabular dataset",
                    "a tabular algorithm; image-classification and image-logistic train on image datasets",
                )
            };
            return Err(Error::hyperparameter(
                ALGORITHM_KEY,
                format!("{} cannot train on {} {kind}: choose {wanted}", algorithm.name(), self.dataset),
            ));
        }
        let mut given = self.hyperparameters;
        // Recorded with the job, as the sagemaker backend records a built-in's task defaults.
        for (key, value) in crate::algorithm::task_defaults(algorithm, inputs.schema().classes().len(), &given) {
            given.insert(key.to_owned(), value);
        }
        let now = chrono::Utc::now();
        let job = match self.job {
            Some(job) => job,
            None => default_job_name(&self.dataset, algorithm.name(), now)?,
        };
        let mut record = JobRecord {
            name: job.clone(),
            status: JobStatus::InProgress,
            failure_reason: None,
            algorithm: algorithm.name().to_owned(),
            hyperparameters: given.clone(),
            dataset: self.dataset.clone(),
            fingerprint: inputs.fingerprint(),
            channels: inputs.channel_uris(),
            backend: BackendKind::Local,
            model_artifact: None,
            metrics: BTreeMap::new(),
            created_at: now.into(),
            ended_at: None,
            training_seconds: None,
            tags: self.tags,
        };
        let record_path = layout::job_record(&job);
        let etag = match self.store.put_json(&record_path, &record, PutMode::Create).await {
            Ok(meta) => meta.etag,
            Err(wb_core::Error::AlreadyExists { .. } | wb_core::Error::PreconditionFailed { .. }) => {
                return Err(Error::JobExists { name: job.to_string() });
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(job = %job, algorithm = algorithm.name(), dataset = %self.dataset, "training job started");

        let temp;
        let root = if let Some(dir) = self.work_dir {
            dir
        } else {
            temp = wb_core::scratch::ScratchDir::create("train")?;
            temp.path().to_owned()
        };
        let paths = ContainerPaths::new(&root);
        let started = std::time::Instant::now();
        let TrainControl { mut progress, cancel } = self.control;
        let job_text = job.to_string();
        let mut report = move |status: &str, secondary: &str, message: Option<String>| {
            progress(&TrainingProgress {
                job: job_text.clone(),
                status: status.to_owned(),
                secondary_status: secondary.to_owned(),
                message,
                elapsed: started.elapsed(),
            });
        };
        report("InProgress", "Starting", None);
        let schema = inputs.schema();
        let mut hyperparameters = given;
        for (key, value) in inputs.hyperparameter_defaults() {
            hyperparameters.entry(key.to_owned()).or_insert(value);
        }
        hyperparameters.insert(ALGORITHM_KEY.into(), algorithm.name().into());
        // Set on cancellation: an image fit on the blocking thread stops before its next
        // mini-batch (a tabular fit runs to its end, and nothing of it is stored).
        let stop = Arc::new(AtomicBool::new(false));
        let stop_training = Arc::clone(&stop);
        let outcome = async {
            container::write_input_config(&paths, &hyperparameters, &inputs.channel_configs(), &schema)?;
            report("InProgress", "Downloading", None);
            inputs.download(&self.store, &paths).await?;
            let job_name = job.to_string();
            let run_paths = paths.clone();
            report("InProgress", "Training", None);
            // Epochs (image algorithms) arrive from the training thread as they end.
            let (epochs, mut epoch_rx) = tokio::sync::mpsc::unbounded_channel::<EpochMetrics>();
            let mut training = tokio::task::spawn_blocking(move || {
                container::train_with_progress(
                    &run_paths,
                    Some(&job_name),
                    &mut |e| {
                        let _ = epochs.send(e.clone());
                    },
                    &stop_training,
                )
            });
            let trained = loop {
                tokio::select! {
                    done = &mut training => break done,
                    Some(e) = epoch_rx.recv() => report("InProgress", "Training", Some(epoch_message(&e))),
                }
            };
            while let Ok(e) = epoch_rx.try_recv() {
                report("InProgress", "Training", Some(epoch_message(&e)));
            }
            trained.map_err(|e| Error::Task { message: format!("training task failed: {e}") })??;
            report("InProgress", "Uploading", None);
            let model_dir = paths.model_dir();
            let packed = tokio::task::spawn_blocking(move || pack_dir(&model_dir))
                .await
                .map_err(|e| Error::Task { message: format!("packing task failed: {e}") })??;
            let artifact_path = layout::model_artifact(&job);
            self.store.put(&artifact_path, packed.into()).await?;
            let metrics: BTreeMap<String, f64> = {
                let file = paths.output_data_dir().join("metrics.json");
                let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
                serde_json::from_slice(&bytes).map_err(|e| Error::json(file.display().to_string(), e))?
            };
            self.store.put_json(&layout::job_metrics(&job), &metrics, PutMode::Overwrite).await?;
            Ok::<_, Error>((self.store.uri().object_uri(&artifact_path), metrics))
        };
        // Stop waiting when the caller cancels, and tell the fit to stop.
        let outcome = tokio::select! {
            outcome = outcome => Some(outcome),
            () = cancel => {
                stop.store(true, Ordering::Relaxed);
                None
            }
        };

        record.ended_at = Some(Timestamp::now());
        record.training_seconds = Some(started.elapsed().as_secs_f64());
        let result = match outcome {
            Some(Ok((uri, metrics))) => {
                record.status = JobStatus::Completed;
                record.model_artifact = Some(uri);
                record.metrics = metrics;
                report("Completed", "Completed", None);
                Ok(())
            }
            None => {
                let reason = "stopped on request".to_owned();
                record.status = JobStatus::Stopped;
                record.failure_reason = Some(reason.clone());
                report("Stopped", "Stopped", Some(reason));
                Err(Error::JobStopped { name: job.to_string() })
            }
            Some(Err(e)) => {
                let reason = std::fs::read_to_string(paths.failure_file()).unwrap_or_else(|_| e.to_string());
                record.status = JobStatus::Failed;
                record.failure_reason = Some(reason.clone());
                report("Failed", "Failed", Some(reason.clone()));
                Err(Error::JobFailed { name: job.to_string(), reason })
            }
        };
        self.store.put_json(&record_path, &record, PutMode::Update(etag)).await?;
        tracing::info!(job = %job, status = %record.status, "training job ended");
        result.map(|()| record)
    }
}

impl IntoFuture for TrainRequest {
    type Output = Result<JobRecord>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// What a job trains on: a tabular partition or an image partition.
enum Inputs {
    Tabular(Box<Manifest>),
    Images(Box<ImageManifest>),
}

impl Inputs {
    fn is_images(&self) -> bool {
        matches!(self, Self::Images(_))
    }

    fn fingerprint(&self) -> ContentHash {
        match self {
            Self::Tabular(m) => m.fingerprint,
            Self::Images(m) => m.fingerprint,
        }
    }

    /// The channels' URIs, as the job records them.
    fn channel_uris(&self) -> BTreeMap<String, String> {
        match self {
            Self::Tabular(m) => BTreeMap::from([
                ("train".to_owned(), m.split(Split::Train).channel_prefix.clone()),
                ("validation".to_owned(), m.split(Split::Validation).channel_prefix.clone()),
            ]),
            Self::Images(m) => m.channel_uris(),
        }
    }

    fn channel_configs(&self) -> BTreeMap<String, ChannelConfig> {
        let mut channels: BTreeMap<String, ChannelConfig> = match self {
            Self::Tabular(_) => {
                ["train", "validation"].into_iter().map(|c| (c.to_owned(), ChannelConfig::file("text/csv"))).collect()
            }
            Self::Images(m) => {
                m.channel_uris().into_keys().map(|c| (c, ChannelConfig::file(IMAGE_CONTENT_TYPE))).collect()
            }
        };
        channels.insert(METADATA_CHANNEL.to_owned(), ChannelConfig::file("application/json"));
        channels
    }

    fn schema(&self) -> ModelSchema {
        match self {
            Self::Tabular(m) => ModelSchema::from_manifest(m),
            Self::Images(m) => ModelSchema::from_image_manifest(m),
        }
    }

    /// The hyperparameters the dataset decides unless given (image algorithms: the class
    /// count, the training images and their shape, as SageMaker's image classifier needs them).
    fn hyperparameter_defaults(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Tabular(_) => Vec::new(),
            Self::Images(m) => {
                let mut out = vec![
                    ("num_classes", m.classes().len().to_string()),
                    ("num_training_samples", m.split(Split::Train).images.to_string()),
                ];
                if let Some(shape) = m.registration.shape {
                    out.push(("image_shape", shape.to_string()));
                }
                out
            }
        }
    }

    /// Copies the train and validation channels into the container tree, each file checked
    /// against the manifest's hash. The test split is not a channel and is never copied.
    async fn download(&self, store: &DynObjectStore, paths: &ContainerPaths) -> Result<()> {
        let mismatch = |uri: String| Error::Container {
            path: uri,
            message: "does not match the hash in the dataset manifest".into(),
        };
        match self {
            Self::Tabular(m) => {
                for name in ["train", "validation"] {
                    let split = if name == "train" { Split::Train } else { Split::Validation };
                    let file = &m.split(split).channel;
                    let bytes = store.get(&file.path).await?.bytes;
                    if ContentHash::of_bytes(&bytes) != file.hash {
                        return Err(mismatch(file.uri.clone()));
                    }
                    let dest = paths.channel(name).join(format!("{name}.csv"));
                    std::fs::create_dir_all(paths.channel(name)).map_err(|e| Error::io(paths.channel(name), e))?;
                    tokio::fs::write(&dest, &bytes).await.map_err(|e| Error::io(&dest, e))?;
                }
            }
            Self::Images(m) => {
                use futures::{StreamExt, TryStreamExt};
                for split in [Split::Train, Split::Validation] {
                    let name = split.as_str();
                    let dir = paths.channel(name);
                    let images: Vec<(wb_core::ObjectPath, String, ContentHash)> =
                        m.images(split).map(|i| (i.path, i.relative.to_owned(), i.entry.hash)).collect();
                    futures::stream::iter(images.into_iter().map(|(path, relative, hash)| {
                        let dir = dir.clone();
                        async move {
                            let bytes = store.get(&path).await?.bytes;
                            if ContentHash::of_bytes(&bytes) != hash {
                                return Err(mismatch(store.uri().object_uri(&path)));
                            }
                            let dest = dir.join(relative);
                            if let Some(parent) = dest.parent() {
                                tokio::fs::create_dir_all(parent).await.map_err(|e| Error::io(parent, e))?;
                            }
                            tokio::fs::write(&dest, &bytes).await.map_err(|e| Error::io(&dest, e))
                        }
                    }))
                    .buffer_unordered(16)
                    .try_collect::<Vec<()>>()
                    .await?;
                    let lst = &m.split(split).lst;
                    let bytes = store.get(&lst.path).await?.bytes;
                    if ContentHash::of_bytes(&bytes) != lst.hash {
                        return Err(mismatch(lst.uri.clone()));
                    }
                    let lst_dir = paths.channel(&format!("{name}{LST_SUFFIX}"));
                    std::fs::create_dir_all(&lst_dir).map_err(|e| Error::io(&lst_dir, e))?;
                    let dest = lst_dir.join(format!("{name}.lst"));
                    tokio::fs::write(&dest, &bytes).await.map_err(|e| Error::io(&dest, e))?;
                }
            }
        }
        Ok(())
    }
}

fn epoch_message(e: &EpochMetrics) -> String {
    format!(
        "epoch {}: train loss {:.4}, validation loss {:.4}, validation accuracy {:.4} ({:.1} s)",
        e.epoch, e.train_loss, e.validation_loss, e.validation_accuracy, e.seconds
    )
}

/// The default job name, `<dataset>-<algorithm>-<UTC time to the millisecond>`, with the dataset
/// cut so the whole fits SageMaker's 63 characters.
///
/// # Errors
/// [`Error::Core`] when the result is not a valid job name (an algorithm name too long).
pub fn default_job_name(dataset: &DatasetName, algorithm: &str, now: chrono::DateTime<chrono::Utc>) -> Result<JobName> {
    let stamp = now.format("%Y%m%d-%H%M%S-%3f").to_string();
    let budget = wb_core::MAX_NAME_LEN.saturating_sub(stamp.len() + algorithm.len() + 2);
    let prefix: String = dataset.as_str().chars().take(budget).collect();
    let prefix = prefix.trim_end_matches('-');
    Ok(JobName::parse(format!("{prefix}-{algorithm}-{stamp}"))?)
}

/// One step of a running training job, as the backend sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainingProgress {
    /// The job.
    pub job: String,
    /// `InProgress`, `Completed`, `Failed`, `Stopping` or `Stopped`.
    pub status: String,
    /// SageMaker's finer status (`Starting`, `Downloading`, `Training`, `Uploading`, ...); the
    /// local backend reports the same phases.
    pub secondary_status: String,
    /// The latest status message, or the failure reason.
    pub message: Option<String>,
    /// Time since the job started.
    pub elapsed: Duration,
}

/// How the caller follows and stops a training job: a progress callback and a cancellation
/// future. When `cancel` resolves first, the backend stops the job (SageMaker:
/// `StopTrainingJob`, then waits until it is `Stopped`; local: the job is recorded `Stopped`
/// and its model is not stored) and returns an error.
pub struct TrainControl {
    /// Called on every change of status.
    pub progress: Box<dyn FnMut(&TrainingProgress) + Send>,
    /// Resolves when the caller wants the job stopped.
    pub cancel: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl TrainControl {
    /// Calls `progress` on every change of status.
    #[must_use]
    pub fn on_progress(mut self, progress: impl FnMut(&TrainingProgress) + Send + 'static) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// Stops the job when `cancel` resolves (Ctrl-C, a deadline, a token).
    #[must_use]
    pub fn cancel_on(mut self, cancel: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cancel = Box::pin(cancel);
        self
    }
}

impl Default for TrainControl {
    fn default() -> Self {
        Self { progress: Box::new(|_| {}), cancel: Box::pin(std::future::pending()) }
    }
}

impl fmt::Debug for TrainControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrainControl").finish_non_exhaustive()
    }
}

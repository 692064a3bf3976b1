//! The SageMaker training-container contract, as the workbench's own container follows it.
//!
//! SageMaker starts a training container as `<image> train` with this tree (its root is
//! `/opt/ml`; local jobs use a work directory laid out the same way):
//!
//! ```text
//! input/config/hyperparameters.json   string → string map; `algorithm` picks the algorithm
//! input/config/inputdataconfig.json   one entry per channel
//! input/config/resourceconfig.json    {"current_host": "algo-1", "hosts": ["algo-1"], ...}
//! input/data/train/*.csv              SageMaker CSV channel: target first, encoded, no header
//! input/data/validation/*.csv         optional, same format; validation metrics come from it
//! input/data/metadata/schema.json     the dataset's ModelSchema (features, encoding, classes)
//! input/data/train_lst/*.lst          image algorithms only: `.lst` manifests of the train
//! input/data/validation_lst/*.lst     and validation image channels (see image_classifier)
//! model/                              written here; SageMaker packs it as model.tar.gz
//! output/data/metrics.json            validation metrics
//! output/data/epochs.json             image algorithms: per-epoch losses and accuracy
//! output/failure                      on failure: the reason (SageMaker keeps 1024 chars)
//! ```
//!
//! [`train`] is what both the in-process local trainer and `wb-container train` run. The test
//! split is never a channel: only `train`, `validation` and the row-free `metadata` channel
//! exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use crate::algorithm::{Algorithm, Targets, TrainParams, TrainingData, fit_validated, task_defaults};
use crate::artifact::{ModelArtifact, ModelMetadata};
use crate::error::{Error, Result};
use crate::image_classifier::{self, EpochMetrics};
use crate::metrics::validation_metrics;
use crate::schema::{ModelSchema, SCHEMA_FILE};

/// The hyperparameter that names the algorithm (the rest go to the algorithm).
pub const ALGORITHM_KEY: &str = "algorithm";
/// The channel that carries the dataset's schema.
pub const METADATA_CHANNEL: &str = "metadata";
/// SageMaker keeps the first 1024 characters of `output/failure` as the failure reason.
pub const FAILURE_REASON_LIMIT: usize = 1024;

/// The `/opt/ml` tree of a training or serving container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPaths {
    root: PathBuf,
}

impl ContainerPaths {
    /// SageMaker's root, `/opt/ml`.
    pub const SAGEMAKER_ROOT: &'static str = "/opt/ml";

    /// The tree under `root`.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `input/config/hyperparameters.json`.
    #[must_use]
    pub fn hyperparameters(&self) -> PathBuf {
        self.root.join("input/config/hyperparameters.json")
    }

    /// `input/config/inputdataconfig.json`.
    #[must_use]
    pub fn input_data_config(&self) -> PathBuf {
        self.root.join("input/config/inputdataconfig.json")
    }

    /// `input/config/resourceconfig.json`.
    #[must_use]
    pub fn resource_config(&self) -> PathBuf {
        self.root.join("input/config/resourceconfig.json")
    }

    /// `input/data/<channel>/`.
    #[must_use]
    pub fn channel(&self, name: &str) -> PathBuf {
        self.root.join("input/data").join(name)
    }

    /// `model/`.
    #[must_use]
    pub fn model_dir(&self) -> PathBuf {
        self.root.join("model")
    }

    /// `output/data/`.
    #[must_use]
    pub fn output_data_dir(&self) -> PathBuf {
        self.root.join("output/data")
    }

    /// `output/failure`.
    #[must_use]
    pub fn failure_file(&self) -> PathBuf {
        self.root.join("output/failure")
    }
}

/// One entry of `inputdataconfig.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelConfig {
    /// MIME type of the channel's files, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `File` (the only mode the workbench uses).
    pub training_input_mode: String,
    /// `FullyReplicated`.
    #[serde(rename = "S3DistributionType")]
    pub s3_distribution_type: String,
    /// `None`.
    pub record_wrapper_type: String,
}

impl ChannelConfig {
    /// A File-mode, fully replicated channel of `content_type`.
    #[must_use]
    pub fn file(content_type: &str) -> Self {
        Self {
            content_type: Some(content_type.to_owned()),
            training_input_mode: "File".into(),
            s3_distribution_type: "FullyReplicated".into(),
            record_wrapper_type: "None".into(),
        }
    }
}

/// `resourceconfig.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceConfig {
    /// This host.
    pub current_host: String,
    /// All hosts of the job.
    pub hosts: Vec<String>,
    /// The network interface.
    pub network_interface_name: String,
}

impl ResourceConfig {
    /// The one-host configuration (`algo-1`).
    #[must_use]
    pub fn single_host() -> Self {
        Self { current_host: "algo-1".into(), hosts: vec!["algo-1".into()], network_interface_name: "eth0".into() }
    }
}

/// What a finished training run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// The model written to `model/`.
    pub artifact: ModelArtifact,
}

/// Lays out the `input/` tree: configuration files and the schema channel. Data channel files
/// are copied in by the caller (`input/data/train/`, `input/data/validation/`).
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn write_input_config(
    paths: &ContainerPaths,
    hyperparameters: &BTreeMap<String, String>,
    channels: &BTreeMap<String, ChannelConfig>,
    schema: &ModelSchema,
) -> Result<()> {
    write_json(&paths.hyperparameters(), hyperparameters)?;
    write_json(&paths.input_data_config(), channels)?;
    write_json(&paths.resource_config(), &ResourceConfig::single_host())?;
    write_json(&paths.channel(METADATA_CHANNEL).join(SCHEMA_FILE), schema)?;
    for dir in [paths.model_dir(), paths.output_data_dir()] {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    Ok(())
}

/// Runs `train` as the container contract says, writing `output/failure` when it fails.
///
/// `job` is the training job's name (`TRAINING_JOB_NAME`), recorded in the model's metadata.
///
/// # Errors
/// The training error; its message is also in `output/failure`.
pub fn train(paths: &ContainerPaths, job: Option<&str>) -> Result<TrainOutcome> {
    train_with_progress(paths, job, &mut |_| {}, &AtomicBool::new(false))
}

/// [`train`], passing each epoch's metrics of an image algorithm to `progress` (tabular
/// algorithms have no epochs and never call it), and stopping an image algorithm before its
/// next mini-batch once `stop` is set (tabular fits run to the end).
///
/// # Errors
/// The training error; its message is also in `output/failure`. [`Error::JobStopped`] when
/// `stop` ended the training.
pub fn train_with_progress(
    paths: &ContainerPaths,
    job: Option<&str>,
    progress: &mut dyn FnMut(&EpochMetrics),
    stop: &AtomicBool,
) -> Result<TrainOutcome> {
    let outcome = train_inner(paths, job, progress, stop);
    if let Err(e) = &outcome {
        let reason: String = e.to_string().chars().take(FAILURE_REASON_LIMIT).collect();
        let failure = paths.failure_file();
        if let Some(parent) = failure.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(write_error) = std::fs::write(&failure, reason) {
            tracing::warn!(path = %failure.display(), error = %write_error, "could not write the failure file");
        }
    }
    outcome
}

fn train_inner(
    paths: &ContainerPaths,
    job: Option<&str>,
    progress: &mut dyn FnMut(&EpochMetrics),
    stop: &AtomicBool,
) -> Result<TrainOutcome> {
    let started = std::time::Instant::now();
    let mut hyperparameters: BTreeMap<String, String> = read_json(&paths.hyperparameters())?;
    let channels: BTreeMap<String, ChannelConfig> = read_json(&paths.input_data_config())?;
    if !channels.contains_key("train") {
        return Err(Error::Container {
            path: paths.input_data_config().display().to_string(),
            message: "has no \"train\" channel".into(),
        });
    }
    let algorithm_name = hyperparameters.remove(ALGORITHM_KEY).ok_or_else(|| {
        Error::hyperparameter(ALGORITHM_KEY, "missing: name the algorithm (for example logistic-regression)")
    })?;
    let algorithm = Algorithm::parse(&algorithm_name)?;
    if algorithm.is_image() {
        return image_classifier::train_in_container(paths, algorithm, &hyperparameters, job, progress, stop);
    }
    let schema: ModelSchema = read_json(&paths.channel(METADATA_CHANNEL).join(SCHEMA_FILE))?;
    let n_classes = match schema.classes().len() {
        0 => None,
        k => Some(k),
    };
    for (key, value) in task_defaults(algorithm, n_classes.unwrap_or(0), &hyperparameters) {
        hyperparameters.insert(key.to_owned(), value);
    }
    let params = TrainParams::from_map(algorithm, &hyperparameters)?;

    let train_data = read_channel(&paths.channel("train"), n_classes)?;
    check_width(&train_data, &schema, &paths.channel("train"))?;
    let validation_dir = paths.channel("validation");
    let validation = if channels.contains_key("validation") && validation_dir.is_dir() {
        let validation = read_channel(&validation_dir, n_classes)?;
        check_width(&validation, &schema, &validation_dir)?;
        Some(validation)
    } else {
        None
    };
    let model = fit_validated(&params, &train_data, validation.as_ref())?;
    let validation_metrics = validation.map(|v| validation_metrics(&model, &v)).unwrap_or_default();
    let mut resolved = params.to_map();
    resolved.insert(ALGORITHM_KEY.to_owned(), algorithm.name().to_owned());
    let artifact = ModelArtifact {
        model,
        schema,
        metadata: ModelMetadata {
            algorithm: algorithm.name().to_owned(),
            hyperparameters: resolved,
            job: job.map(str::to_owned),
            validation_metrics,
            train_rows: train_data.features.nrows() as u64,
            trained_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            workbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    };
    artifact.write_dir(&paths.model_dir())?;
    write_json(&paths.output_data_dir().join("metrics.json"), &artifact.metadata.validation_metrics)?;
    tracing::info!(
        algorithm = algorithm.name(),
        rows = train_data.features.nrows(),
        seconds = started.elapsed().as_secs_f64(),
        "trained"
    );
    Ok(TrainOutcome { artifact })
}

/// Reads every file of a channel directory (sorted by name) as one training set.
fn read_channel(dir: &Path, n_classes: Option<usize>) -> Result<TrainingData> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut parts: Vec<TrainingData> = Vec::with_capacity(files.len());
    for file in &files {
        parts.push(TrainingData::read_channel_csv(file, n_classes)?);
    }
    let empty =
        || Error::Container { path: dir.display().to_string(), message: "the channel holds no data files".into() };
    if parts.len() <= 1 {
        return parts.pop().ok_or_else(empty);
    }
    let views: Vec<_> = parts.iter().map(|p| p.features.view()).collect();
    let features = ndarray::concatenate(ndarray::Axis(0), &views).map_err(|e| Error::Container {
        path: dir.display().to_string(),
        message: format!("channel files disagree in width: {e}"),
    })?;
    let targets = match &parts[0].targets {
        Targets::Classes { n_classes, .. } => Targets::Classes {
            n_classes: *n_classes,
            labels: parts
                .iter()
                .flat_map(|p| match &p.targets {
                    Targets::Classes { labels, .. } => labels.to_vec(),
                    Targets::Values(_) => Vec::new(),
                })
                .collect(),
        },
        Targets::Values(_) => Targets::Values(
            parts
                .iter()
                .flat_map(|p| match &p.targets {
                    Targets::Values(v) => v.to_vec(),
                    Targets::Classes { .. } => Vec::new(),
                })
                .collect(),
        ),
    };
    Ok(TrainingData { features, targets })
}

fn check_width(data: &TrainingData, schema: &ModelSchema, dir: &Path) -> Result<()> {
    let expected = schema.features.0.len();
    let got = data.features.ncols();
    if got == expected {
        Ok(())
    } else {
        Err(Error::Container {
            path: dir.display().to_string(),
            message: format!("rows have {got} feature columns but the schema lists {expected}"),
        })
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Container { path: path.display().to_string(), message: format!("invalid JSON: {e}") })
}

pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::json(path.display().to_string(), e))?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

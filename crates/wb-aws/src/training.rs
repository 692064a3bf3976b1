//! SageMaker training jobs: start one from a checked spec, follow it to its end, stop it.
//!
//! [`TrainingSpec::validate`] checks a job locally (role, S3 URIs, channels, instance type and
//! count, runtime, hyperparameter limits) before anything is paid for. [`Training::start`] sends
//! `CreateTrainingJob` (File-mode, fully replicated `S3Prefix` channels; managed spot training
//! with checkpoints below the output path when asked; the KMS key on the output and the volumes;
//! the project's tags on the job). [`Training::wait`] polls `DescribeTrainingJob`, reports every
//! change of status, secondary status or message, and ends with the model artefact and final
//! metrics, SageMaker's failure reason, or a timeout. [`Training::run`] does both and stops the
//! job when the caller cancels (Ctrl-C). Training jobs cannot be deleted on SageMaker;
//! [`Training::tagged`] finds a project's jobs by tag and [`Training::stop_tagged`] stops the
//! ones still running.
//!
//! ```no_run
//! # async fn example() -> Result<(), wb_aws::Error> {
//! use std::collections::BTreeMap;
//! use std::time::Duration;
//! use wb_aws::images::BuiltinAlgorithm;
//! use wb_aws::training::{ChannelSpec, Training, TrainingSpec};
//!
//! let sdk = wb_aws::aws_config::load_defaults(wb_aws::aws_config::BehaviorVersion::latest()).await;
//! let training = Training::from_sdk_config(&sdk);
//! let xgboost = BuiltinAlgorithm::Xgboost;
//! let channel = |uri: &str| ChannelSpec { s3_uri: uri.into(), content_type: xgboost.content_type().into() };
//! let spec = TrainingSpec {
//!     job: wb_core::JobName::parse("wine-xgb-20261123")?,
//!     image: xgboost.image_uri("eu-west-1")?,
//!     role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
//!     channels: BTreeMap::from([
//!         ("train".into(), channel("s3://bucket/wb/datasets/wine/train/")),
//!         ("validation".into(), channel("s3://bucket/wb/datasets/wine/validation/")),
//!     ]),
//!     hyperparameters: xgboost.fill_hyperparameters(&BTreeMap::from([("max_depth".into(), "5".into())]))?,
//!     instance_type: "ml.m5.xlarge".into(),
//!     instance_count: 1,
//!     volume_size_gb: 10,
//!     max_runtime: Duration::from_secs(3600),
//!     spot: true,
//!     output_path: "s3://bucket/wb/training".into(),
//!     kms_key_id: None,
//!     environment: BTreeMap::new(),
//!     metric_definitions: Vec::new(),
//!     tags: BTreeMap::from([("workbench:project".into(), "wine".into())]),
//! };
//! let cancel = async {
//!     // In the CLI: tokio::signal::ctrl_c().
//!     std::future::pending::<()>().await;
//! };
//! let trained = training
//!     .run(&spec, |p| eprintln!("{} {} {}", p.job, p.status, p.secondary_status), cancel)
//!     .await?;
//! println!("{} -> {} {:?}", trained.name, trained.model_artifact, trained.metrics);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;
use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, Channel, CheckpointConfig, DataSource, MetricDefinition, OutputDataConfig, ResourceConfig,
    S3DataDistribution, S3DataSource, S3DataType, StoppingCondition, TrainingInputMode, TrainingInstanceType,
    TrainingJobStatus,
};
use futures::future::Either;

use crate::error::{Error, Result};
use crate::hosting::TaggedResource;
use crate::sagemaker::{is_not_found, sagemaker_error, tags};

/// How long [`Training::wait`] waits for a job to end by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);

/// The longest runtime SageMaker allows a training job (28 days).
pub const MAX_RUNTIME: Duration = Duration::from_secs(28 * 24 * 60 * 60);

/// The kind of the resources [`Training::tagged`] returns.
pub const KIND: &str = "training-job";

/// SageMaker's limits on a `CreateTrainingJob` request.
const MAX_HYPERPARAMETERS: usize = 100;
const MAX_HYPERPARAMETER_KEY: usize = 256;
const MAX_HYPERPARAMETER_VALUE: usize = 2500;
const MAX_CHANNELS: usize = 20;
const MAX_CHANNEL_NAME: usize = 64;
const MAX_ENVIRONMENT: usize = 100;
const MAX_ENVIRONMENT_ENTRY: usize = 512;
const MAX_METRIC_DEFINITIONS: usize = 40;
const MAX_TAGS: usize = 50;

/// One input channel: an S3 prefix (every object below it is copied to the instances).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    /// `s3://bucket/prefix/`.
    pub s3_uri: String,
    /// The MIME type of the channel's data (`text/csv`); empty to leave it unset.
    pub content_type: String,
}

/// A training job to start.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSpec {
    /// The job's name (unique in the account and region, forever).
    pub job: wb_core::JobName,
    /// The training image URI (see [`crate::images::BuiltinAlgorithm::image_uri`]).
    pub image: String,
    /// The IAM role SageMaker assumes (`arn:aws:iam::<account>:role/<name>`).
    pub role_arn: String,
    /// Input channels by name (`train`, `validation`, ...): File mode, fully replicated,
    /// `S3Prefix`.
    pub channels: BTreeMap<String, ChannelSpec>,
    /// The algorithm's hyperparameters.
    pub hyperparameters: BTreeMap<String, String>,
    /// The instance type (`ml.m5.xlarge`).
    pub instance_type: String,
    /// Instances to train on.
    pub instance_count: u32,
    /// The storage volume of each instance, in GB.
    pub volume_size_gb: u32,
    /// How long the job may train before SageMaker stops it (at most [`MAX_RUNTIME`]).
    pub max_runtime: Duration,
    /// Managed spot training: SageMaker may wait up to twice `max_runtime` for capacity, and the
    /// job checkpoints to `<output_path>/<job>/checkpoints`.
    pub spot: bool,
    /// `s3://bucket/prefix`; SageMaker writes `<output_path>/<job>/output/model.tar.gz`.
    pub output_path: String,
    /// A KMS key for the model artefact and the instances' volumes.
    pub kms_key_id: Option<String>,
    /// Environment variables of the training container.
    pub environment: BTreeMap<String, String>,
    /// `(name, regex)` of metrics to read from the logs (for own images; SageMaker's built-in
    /// algorithms define theirs).
    pub metric_definitions: Vec<(String, String)>,
    /// Tags of the job (the project tag included).
    pub tags: BTreeMap<String, String>,
}

impl TrainingSpec {
    /// Checks the spec before anything is started: the role, the image, the channels, the
    /// instance type and count, the volume, the runtime, the output path, the hyperparameters,
    /// environment, metric definitions and tags against SageMaker's limits.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field and value.
    pub fn validate(&self) -> Result<()> {
        if !is_role_arn(&self.role_arn) {
            return invalid("role", &self.role_arn, "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>");
        }
        if self.image.trim().is_empty() || self.image.contains(char::is_whitespace) {
            return invalid("image", &self.image, "a container image URI");
        }
        if self.channels.is_empty() {
            return invalid("channels", "", "at least one input channel (such as train)");
        }
        if self.channels.len() > MAX_CHANNELS {
            return invalid("channels", &self.channels.len().to_string(), "at most 20 channels");
        }
        for (name, channel) in &self.channels {
            let name_ok = !name.is_empty()
                && name.len() <= MAX_CHANNEL_NAME
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !name_ok {
                return invalid("channel name", name, "1-64 letters, digits, '.', '-' or '_'");
            }
            if !is_s3_uri(&channel.s3_uri) {
                return invalid("channel", &channel.s3_uri, "an s3://bucket/prefix URI");
            }
        }
        if !TrainingInstanceType::values().contains(&self.instance_type.as_str()) {
            return invalid(
                "instance type",
                &self.instance_type,
                "a SageMaker training instance type such as ml.m5.xlarge",
            );
        }
        if self.instance_count == 0 || i32::try_from(self.instance_count).is_err() {
            return invalid("instance count", &self.instance_count.to_string(), "at least 1");
        }
        if self.volume_size_gb == 0 || i32::try_from(self.volume_size_gb).is_err() {
            return invalid("volume size", &self.volume_size_gb.to_string(), "at least 1 GB");
        }
        let runtime = whole_seconds(self.max_runtime);
        if runtime == 0 || runtime > MAX_RUNTIME.as_secs() {
            return invalid("max runtime", &format!("{:?}", self.max_runtime), "from 1 second to 28 days");
        }
        if !is_s3_uri(&self.output_path) {
            return invalid("output path", &self.output_path, "an s3://bucket/prefix URI");
        }
        if self.kms_key_id.as_deref().is_some_and(|k| k.trim().is_empty()) {
            return invalid("KMS key", "", "a KMS key id, alias or ARN");
        }
        self.validate_maps()
    }

    /// The limits on the key-value parts of the request.
    fn validate_maps(&self) -> Result<()> {
        if self.hyperparameters.len() > MAX_HYPERPARAMETERS {
            return invalid("hyperparameters", &self.hyperparameters.len().to_string(), "at most 100 hyperparameters");
        }
        for (key, value) in &self.hyperparameters {
            if key.is_empty() || key.chars().count() > MAX_HYPERPARAMETER_KEY {
                return invalid("hyperparameter", key, "a name of 1-256 characters");
            }
            if value.chars().count() > MAX_HYPERPARAMETER_VALUE {
                return invalid("hyperparameter", key, "a value of at most 2500 characters");
            }
        }
        if self.environment.len() > MAX_ENVIRONMENT {
            return invalid("environment", &self.environment.len().to_string(), "at most 100 variables");
        }
        for (key, value) in &self.environment {
            let key_ok = key.len() <= MAX_ENVIRONMENT_ENTRY
                && key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !key_ok {
                return invalid("environment", key, "a variable name [A-Za-z_][A-Za-z0-9_]* of at most 512 characters");
            }
            if value.chars().count() > MAX_ENVIRONMENT_ENTRY {
                return invalid("environment", key, "a value of at most 512 characters");
            }
        }
        if self.metric_definitions.len() > MAX_METRIC_DEFINITIONS {
            return invalid("metric definitions", &self.metric_definitions.len().to_string(), "at most 40 metrics");
        }
        for (name, regex) in &self.metric_definitions {
            if name.is_empty() || name.chars().count() > 255 || regex.is_empty() || regex.chars().count() > 500 {
                return invalid(
                    "metric definition",
                    &format!("{name}={regex}"),
                    "a name of 1-255 characters and a regex of 1-500 characters",
                );
            }
        }
        if self.tags.len() > MAX_TAGS {
            return invalid("tags", &self.tags.len().to_string(), "at most 50 tags");
        }
        for (key, value) in &self.tags {
            if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
                return invalid("tag", key, "a key of 1-128 characters and a value of at most 256");
            }
        }
        Ok(())
    }

    /// `<output_path>/<job>/checkpoints`, where spot jobs keep their checkpoints.
    #[must_use]
    pub fn checkpoint_uri(&self) -> String {
        format!("{}/{}/checkpoints", self.output_path.trim_end_matches('/'), self.job)
    }

    /// `<output_path>/<job>/output/model.tar.gz`, where SageMaker writes the model.
    #[must_use]
    pub fn model_artifact(&self) -> String {
        format!("{}/{}/output/model.tar.gz", self.output_path.trim_end_matches('/'), self.job)
    }
}

fn invalid(field: &'static str, value: &str, expected: &str) -> Result<()> {
    Err(Error::Invalid { field, value: value.to_owned(), expected: expected.to_owned() })
}

/// `arn:<partition>:iam::<12 digits>:role/<name>` (the `aws`, `aws-cn`, `aws-us-gov`, ...
/// partitions).
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws") else { return false };
    let Some((partition_suffix, rest)) = rest.split_once(":iam::") else { return false };
    let partition_ok = partition_suffix.is_empty()
        || partition_suffix
            .strip_prefix('-')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    partition_ok
        && rest.split_once(":role/").is_some_and(|(account, name)| {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        })
}

/// `s3://<bucket>[/<key>]` with a non-empty bucket and no whitespace.
fn is_s3_uri(uri: &str) -> bool {
    uri.strip_prefix("s3://").is_some_and(|rest| {
        !rest.split('/').next().unwrap_or_default().is_empty() && !rest.contains(char::is_whitespace)
    })
}

/// `d` in whole seconds, rounded up.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Seconds as SageMaker's `i32` (saturating; validated values fit).
fn seconds_i32(secs: u64) -> i32 {
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// Where a job stands, as [`Training::wait`] reports it: the backend interface's progress type.
pub use wb_models::training::TrainingProgress;

/// A completed training job.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedJob {
    /// The job's name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// The `model.tar.gz` SageMaker wrote.
    pub model_artifact: String,
    /// The final value of each metric SageMaker recorded.
    pub metrics: BTreeMap<String, f64>,
    /// Seconds of training.
    pub training_seconds: Option<i64>,
    /// Seconds billed (less than `training_seconds` with spot instances).
    pub billable_seconds: Option<i64>,
}

impl TrainedJob {
    fn from_description(job: &str, out: &DescribeTrainingJobOutput) -> Self {
        let model_artifact = out
            .model_artifacts()
            .and_then(|m| m.s3_model_artifacts())
            .map(str::to_owned)
            .or_else(|| {
                out.output_data_config()
                    .and_then(|o| o.s3_output_path())
                    .map(|p| format!("{}/{job}/output/model.tar.gz", p.trim_end_matches('/')))
            })
            .unwrap_or_default();
        let metrics = out
            .final_metric_data_list()
            .iter()
            .filter_map(|m| Some((m.metric_name()?.to_owned(), metric_value(m.value()?))))
            .collect();
        Self {
            name: out.training_job_name().unwrap_or(job).to_owned(),
            arn: out.training_job_arn().unwrap_or_default().to_owned(),
            model_artifact,
            metrics,
            training_seconds: out.training_time_in_seconds().map(i64::from),
            billable_seconds: out.billable_time_in_seconds().map(i64::from),
        }
    }
}

/// SageMaker's `f32` metric as the `f64` with the same shortest decimal form (0.95, not
/// 0.949999988079071).
fn metric_value(v: f32) -> f64 {
    v.to_string().parse().unwrap_or_else(|_| f64::from(v))
}

/// What was last reported, so that only changes are.
type Seen = Option<(String, String, Option<String>)>;

/// SageMaker training through one injected client.
#[derive(Clone, Debug)]
pub struct Training {
    client: Client,
    poll: Duration,
    timeout: Duration,
}

impl Training {
    /// Training through `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client, poll: Duration::from_secs(15), timeout: DEFAULT_TIMEOUT }
    }

    /// Training for the configuration's region, credentials and endpoint URL.
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// How often the job's status is polled.
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// How long [`Training::wait`] waits for the job to end (and [`Training::run`] for a
    /// stopped job to be `Stopped`).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks `spec` and starts the job; returns its ARN.
    ///
    /// # Errors
    /// [`Error::Invalid`] before any call for a bad spec; [`Error::SageMaker`] when
    /// `CreateTrainingJob` fails (`ResourceInUse` when a job of that name exists: names are never
    /// freed, so choose another).
    pub async fn start(&self, spec: &TrainingSpec) -> Result<String> {
        spec.validate()?;
        let job = spec.job.as_str();
        let max_runtime = seconds_i32(whole_seconds(spec.max_runtime));
        let channels = spec.channels.iter().map(|(name, channel)| {
            let source = S3DataSource::builder()
                .s3_data_type(S3DataType::S3Prefix)
                .s3_uri(&channel.s3_uri)
                .s3_data_distribution_type(S3DataDistribution::FullyReplicated)
                .build();
            Channel::builder()
                .channel_name(name)
                .data_source(DataSource::builder().s3_data_source(source).build())
                .set_content_type((!channel.content_type.is_empty()).then(|| channel.content_type.clone()))
                .input_mode(TrainingInputMode::File)
                .build()
        });
        let algorithm = AlgorithmSpecification::builder()
            .training_image(&spec.image)
            .training_input_mode(TrainingInputMode::File)
            .set_metric_definitions((!spec.metric_definitions.is_empty()).then(|| {
                spec.metric_definitions
                    .iter()
                    .map(|(name, regex)| MetricDefinition::builder().name(name).regex(regex).build())
                    .collect()
            }))
            .build();
        let resources = ResourceConfig::builder()
            .instance_type(TrainingInstanceType::from(spec.instance_type.as_str()))
            .instance_count(i32::try_from(spec.instance_count).unwrap_or(1))
            .volume_size_in_gb(i32::try_from(spec.volume_size_gb).unwrap_or(1))
            .set_volume_kms_key_id(spec.kms_key_id.clone())
            .build();
        let output = OutputDataConfig::builder()
            .s3_output_path(&spec.output_path)
            .set_kms_key_id(spec.kms_key_id.clone())
            .build();
        let stopping = StoppingCondition::builder()
            .max_runtime_in_seconds(max_runtime)
            .set_max_wait_time_in_seconds(spec.spot.then(|| max_runtime.saturating_mul(2)))
            .build();
        let map = |m: &BTreeMap<String, String>| {
            (!m.is_empty()).then(|| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>())
        };
        let created = self
            .client
            .create_training_job()
            .training_job_name(job)
            .algorithm_specification(algorithm)
            .role_arn(&spec.role_arn)
            .set_input_data_config(Some(channels.collect()))
            .output_data_config(output)
            .resource_config(resources)
            .stopping_condition(stopping)
            .set_hyper_parameters(map(&spec.hyperparameters))
            .set_environment(map(&spec.environment))
            .set_enable_managed_spot_training(spec.spot.then_some(true))
            .set_checkpoint_config(spec.spot.then(|| CheckpointConfig::builder().s3_uri(spec.checkpoint_uri()).build()))
            .set_tags((!spec.tags.is_empty()).then(|| tags(&spec.tags)))
            .send()
            .await;
        let arn = match created {
            Ok(out) => out.training_job_arn().unwrap_or_default().to_owned(),
            Err(e) => {
                let in_use = e.code() == Some("ResourceInUse");
                let mut err = sagemaker_error("CreateTrainingJob", job, e);
                if in_use && let Error::SageMaker { message, .. } = &mut err {
                    *message = format!(
                        "a training job named {job:?} already exists; training job names are unique per account and \
                         region and are never freed, so choose another name ({message})"
                    );
                }
                return Err(err);
            }
        };
        tracing::info!(job, arn = %arn, instance_type = %spec.instance_type, spot = spec.spot, "training job started");
        Ok(arn)
    }

    /// The job's description, or `None` when SageMaker does not know it.
    async fn describe(&self, job: &str) -> Result<Option<DescribeTrainingJobOutput>> {
        match self.client.describe_training_job().training_job_name(job).send().await {
            Ok(out) => Ok(Some(out)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sagemaker_error("DescribeTrainingJob", job, e)),
        }
    }

    /// Polls the job until it ends, calling `progress` whenever its status, secondary status or
    /// message changes (the final state included).
    ///
    /// # Errors
    /// [`Error::TrainingFailed`] when the job ends `Failed` (with SageMaker's reason) or
    /// `Stopped`, or no longer exists; [`Error::TrainingTimeout`] when it has not ended in time
    /// (it keeps running); [`Error::SageMaker`] when `DescribeTrainingJob` fails.
    pub async fn wait(&self, job: &str, mut progress: impl FnMut(&TrainingProgress)) -> Result<TrainedJob> {
        let started = Instant::now();
        self.follow(job, &mut progress, started, started, &mut None).await
    }

    /// [`Training::wait`]'s loop: `started` is when the caller began waiting (for the progress'
    /// `elapsed`), `since` when this wait's timeout began.
    async fn follow(
        &self,
        job: &str,
        progress: &mut impl FnMut(&TrainingProgress),
        started: Instant,
        since: Instant,
        seen: &mut Seen,
    ) -> Result<TrainedJob> {
        loop {
            let Some(out) = self.describe(job).await? else {
                return Err(Error::TrainingFailed {
                    job: job.to_owned(),
                    status: TrainingJobStatus::Failed.as_str().to_owned(),
                    reason: "it no longer exists".into(),
                });
            };
            let status = out.training_job_status().map(|s| s.as_str().to_owned()).unwrap_or_default();
            let secondary = out.secondary_status().map(|s| s.as_str().to_owned()).unwrap_or_default();
            let message = out
                .secondary_status_transitions()
                .last()
                .and_then(|t| t.status_message())
                .or_else(|| out.failure_reason())
                .map(str::to_owned);
            let now = (status.clone(), secondary.clone(), message.clone());
            if seen.as_ref() != Some(&now) {
                tracing::debug!(job, status = %status, secondary = %secondary, message = ?message, "training job progress");
                progress(&TrainingProgress {
                    job: job.to_owned(),
                    status: status.clone(),
                    secondary_status: secondary,
                    message,
                    elapsed: started.elapsed(),
                });
                *seen = Some(now);
            }
            let reason = || out.failure_reason().map(str::to_owned);
            match out.training_job_status() {
                Some(TrainingJobStatus::Completed) => {
                    let trained = TrainedJob::from_description(job, &out);
                    tracing::info!(job, model = %trained.model_artifact, "training job completed");
                    return Ok(trained);
                }
                Some(TrainingJobStatus::Failed) => {
                    return Err(Error::TrainingFailed {
                        job: job.to_owned(),
                        status,
                        reason: reason().unwrap_or_else(|| "SageMaker gave no reason".into()),
                    });
                }
                Some(TrainingJobStatus::Stopped) => {
                    return Err(Error::TrainingFailed {
                        job: job.to_owned(),
                        status,
                        reason: reason().unwrap_or_else(|| "it was stopped before it completed".into()),
                    });
                }
                _ => {}
            }
            if since.elapsed() + self.poll > self.timeout {
                return Err(Error::TrainingTimeout { job: job.to_owned(), waited: since.elapsed() });
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Stops the job. Stopping a job that has already ended is harmless (SageMaker refuses with a
    /// `ValidationException`, which is taken as done).
    ///
    /// # Errors
    /// [`Error::SageMaker`] for other failures, including a job SageMaker does not know.
    pub async fn stop(&self, job: &str) -> Result<()> {
        match self.client.stop_training_job().training_job_name(job).send().await {
            Ok(_) => {
                tracing::info!(job, "training job stop requested");
                Ok(())
            }
            Err(e) if e.code() == Some("ValidationException") && !is_not_found(&e) => {
                tracing::debug!(job, message = ?e.message(), "training job not in progress; nothing to stop");
                Ok(())
            }
            Err(e) => Err(sagemaker_error("StopTrainingJob", job, e)),
        }
    }

    /// Starts `spec` and waits for it, as [`Training::start`] and [`Training::wait`] do. When
    /// `cancel` resolves first (Ctrl-C), the job is stopped and followed until it is `Stopped`
    /// (within the timeout); a job that ended on its own in the meantime keeps its outcome.
    ///
    /// # Errors
    /// As [`Training::start`] and [`Training::wait`]; after a cancel,
    /// [`Error::TrainingFailed`] with status `Stopped` and reason `stopped on request`.
    pub async fn run(
        &self,
        spec: &TrainingSpec,
        mut progress: impl FnMut(&TrainingProgress),
        cancel: impl Future<Output = ()>,
    ) -> Result<TrainedJob> {
        self.start(spec).await?;
        let job = spec.job.as_str();
        let started = Instant::now();
        let mut seen = None;
        let outcome = {
            let following = pin!(self.follow(job, &mut progress, started, started, &mut seen));
            match futures::future::select(following, pin!(cancel)).await {
                Either::Left((result, _)) => Some(result),
                Either::Right(((), _)) => None,
            }
        };
        if let Some(result) = outcome {
            return result;
        }
        tracing::warn!(job, "stopping the training job on request");
        self.stop(job).await?;
        match self.follow(job, &mut progress, started, Instant::now(), &mut seen).await {
            Err(Error::TrainingFailed { status, .. }) if status == TrainingJobStatus::Stopped.as_str() => {
                Err(Error::TrainingFailed { job: job.to_owned(), status, reason: "stopped on request".into() })
            }
            other => other,
        }
    }

    /// Every training job tagged `key` = `value` (kind [`KIND`]), newest first.
    ///
    /// # Errors
    /// [`Error::SageMaker`] when listing jobs or reading tags fails.
    pub async fn tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        self.tagged_with_status(key, value, None).await
    }

    /// The tagged jobs still `InProgress`: what [`Training::stop_tagged`] would stop.
    ///
    /// # Errors
    /// [`Error::SageMaker`] when listing jobs or reading tags fails.
    pub async fn running_tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        self.tagged_with_status(key, value, Some(TrainingJobStatus::InProgress)).await
    }

    /// Stops every job [`Training::tagged`] finds that is still `InProgress`; returns them.
    /// (Training jobs cannot be deleted; ended ones stay listed on SageMaker.)
    ///
    /// # Errors
    /// [`Error::SageMaker`] when listing, reading tags or stopping fails.
    pub async fn stop_tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let running = self.tagged_with_status(key, value, Some(TrainingJobStatus::InProgress)).await?;
        for job in &running {
            self.stop(&job.name).await?;
        }
        Ok(running)
    }

    async fn tagged_with_status(
        &self,
        key: &str,
        value: &str,
        status: Option<TrainingJobStatus>,
    ) -> Result<Vec<TaggedResource>> {
        let jobs: Vec<_> = self
            .client
            .list_training_jobs()
            .set_status_equals(status)
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListTrainingJobs", "training jobs", e))?;
        let mut tagged = Vec::new();
        for summary in &jobs {
            let (Some(name), Some(arn)) = (summary.training_job_name(), summary.training_job_arn()) else { continue };
            let tags: Vec<_> = self
                .client
                .list_tags()
                .resource_arn(arn)
                .into_paginator()
                .items()
                .send()
                .collect::<std::result::Result<_, _>>()
                .await
                .map_err(|e| sagemaker_error("ListTags", arn, e))?;
            if tags.iter().any(|t| t.key() == Some(key) && t.value() == Some(value)) {
                tagged.push(TaggedResource { kind: KIND, name: name.to_owned(), arn: arn.to_owned() });
            }
        }
        Ok(tagged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TrainingSpec {
        TrainingSpec {
            job: wb_core::JobName::parse("wine-xgb-1").expect("name"),
            image: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1".into(),
            role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
            channels: BTreeMap::from([(
                "train".into(),
                ChannelSpec { s3_uri: "s3://bucket/wb/train/".into(), content_type: "text/csv".into() },
            )]),
            hyperparameters: BTreeMap::from([("num_round".into(), "10".into())]),
            instance_type: "ml.m5.xlarge".into(),
            instance_count: 1,
            volume_size_gb: 10,
            max_runtime: Duration::from_secs(3600),
            spot: false,
            output_path: "s3://bucket/wb/training".into(),
            kms_key_id: None,
            environment: BTreeMap::new(),
            metric_definitions: Vec::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn specs_are_checked_before_anything_is_started() {
        assert!(spec().validate().is_ok());
        type Break = fn(&mut TrainingSpec);
        let cases: [(&str, Break); 24] = [
            ("role", |s| s.role_arn = "workbench".into()),
            ("role", |s| s.role_arn = "arn:aws:iam::123:role/x".into()),
            ("role", |s| s.role_arn = "arn:aws:iam::123456789012:user/x".into()),
            ("role", |s| s.role_arn = "arn:awsx:iam::123456789012:role/x".into()),
            ("image", |s| s.image = String::new()),
            ("channels", |s| s.channels.clear()),
            ("channels", |s| {
                s.channels = (0..21)
                    .map(|i| (format!("c{i}"), ChannelSpec { s3_uri: "s3://b/p".into(), content_type: String::new() }))
                    .collect();
            }),
            ("channel name", |s| {
                s.channels
                    .insert("bad name".into(), ChannelSpec { s3_uri: "s3://b/p".into(), content_type: String::new() });
            }),
            ("channel", |s| s.channels.get_mut("train").expect("train").s3_uri = "/data/train".into()),
            ("channel", |s| s.channels.get_mut("train").expect("train").s3_uri = "s3:///train".into()),
            ("instance type", |s| s.instance_type = "m5.xlarge".into()),
            ("instance type", |s| s.instance_type = "ml.m5.nonexistent".into()),
            ("instance count", |s| s.instance_count = 0),
            ("volume size", |s| s.volume_size_gb = 0),
            ("max runtime", |s| s.max_runtime = Duration::ZERO),
            ("max runtime", |s| s.max_runtime = MAX_RUNTIME + Duration::from_secs(1)),
            ("output path", |s| s.output_path = "bucket/wb".into()),
            ("KMS key", |s| s.kms_key_id = Some(String::new())),
            ("hyperparameters", |s| s.hyperparameters = (0..101).map(|i| (format!("k{i}"), "v".into())).collect()),
            ("hyperparameter", |s| {
                s.hyperparameters.insert("long".into(), "x".repeat(2501));
            }),
            ("environment", |s| {
                s.environment.insert("1BAD".into(), "x".into());
            }),
            ("metric definition", |s| s.metric_definitions.push(("loss".into(), String::new()))),
            ("tags", |s| s.tags = (0..51).map(|i| (format!("k{i}"), "v".into())).collect()),
            ("tag", |s| {
                s.tags.insert(String::new(), "v".into());
            }),
        ];
        for (field, breaks) in cases {
            let mut s = spec();
            breaks(&mut s);
            let err = s.validate().expect_err(field);
            assert!(err.to_string().starts_with(&format!("invalid {field} ")), "{field}: {err}");
            assert!(matches!(err, Error::Invalid { field: f, .. } if f == field), "{field}: {err:?}");
        }
    }

    #[test]
    fn limits_are_inclusive_and_partitions_accepted() {
        let mut s = spec();
        s.max_runtime = MAX_RUNTIME;
        s.hyperparameters = (0..100).map(|i| (format!("k{i}"), "x".repeat(2500))).collect();
        s.role_arn = "arn:aws-cn:iam::123456789012:role/service-role/workbench".into();
        s.kms_key_id = Some("alias/workbench".into());
        s.environment.insert("_WB_LOG".into(), "debug".into());
        s.channels.insert("validation".into(), ChannelSpec { s3_uri: "s3://b".into(), content_type: String::new() });
        s.validate().expect("at the limits");
        s.role_arn = "arn:aws-us-gov:iam::123456789012:role/workbench".into();
        s.validate().expect("GovCloud role");
    }

    #[test]
    fn derived_locations_sit_below_the_output_path() {
        let mut s = spec();
        assert_eq!(s.model_artifact(), "s3://bucket/wb/training/wine-xgb-1/output/model.tar.gz");
        assert_eq!(s.checkpoint_uri(), "s3://bucket/wb/training/wine-xgb-1/checkpoints");
        s.output_path.push('/');
        assert_eq!(s.checkpoint_uri(), "s3://bucket/wb/training/wine-xgb-1/checkpoints", "no double slash");
    }

    #[test]
    fn runtimes_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(3600)), 3600);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(seconds_i32(u64::MAX), i32::MAX);
    }

    #[test]
    fn metrics_keep_their_decimal_form() {
        assert!((metric_value(0.95_f32) - 0.95).abs() < f64::EPSILON);
        assert!((metric_value(100.0_f32) - 100.0).abs() < f64::EPSILON);
        assert!(metric_value(f32::NAN).is_nan());
    }
}

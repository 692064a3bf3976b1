//! SageMaker Model Monitor: an hourly data-quality schedule of an endpoint.
//!
//! [`Monitoring::schedule`] creates a data-quality job definition
//! (`CreateDataQualityJobDefinition`: the analyzer image, the baseline's `statistics.json` and
//! `constraints.json` in S3, the endpoint's captured traffic at [`ENDPOINT_INPUT_PATH`], the
//! reports from [`OUTPUT_PATH`] to the store's `monitoring/<endpoint>/reports` at the end of each
//! run, the instances, the execution role, the run-time limit, the project's tags) and a
//! monitoring schedule running it (`CreateMonitoringSchedule`: the schedule expression, the
//! definition's name, type `DataQuality`, the tags).
//!
//! Names are derived from the project and the endpoint ([`schedule_names`]), so each endpoint has
//! at most one schedule per project. **Scheduling an endpoint again replaces its schedule**: the
//! old schedule is deleted, and once SageMaker has let go of it (a job definition is locked while
//! a schedule uses it) its job definition too, then both are created anew. [`Monitoring::tagged`]
//! finds schedules and definitions by the project's tag for inventory and clean-up, which remove
//! them before the endpoints they watch.
//!
//! The analyzer is SageMaker's own ([`model_monitor_image`], per region) or a container that
//! implements Model Monitor's bring-your-own-container contract, such as the workbench's image.
//!
//! ```no_run
//! # async fn example() -> Result<(), wb_aws::Error> {
//! use std::collections::BTreeMap;
//! use wb_aws::monitoring::{Analyzer, Monitoring, MonitoringSpec, model_monitor_image, schedule_names};
//!
//! let sdk = wb_aws::aws_config::load_defaults(wb_aws::aws_config::BehaviorVersion::latest()).await;
//! let (schedule, job_definition) = schedule_names("wine", "wine-forest");
//! let spec = MonitoringSpec {
//!     schedule,
//!     job_definition,
//!     endpoint: "wine-forest".into(),
//!     analyzer: Analyzer::ModelMonitor { image: model_monitor_image("eu-west-1")? },
//!     statistics_uri: "s3://bucket/wb/monitoring/wine-forest/baseline/statistics.json".into(),
//!     constraints_uri: "s3://bucket/wb/monitoring/wine-forest/baseline/constraints.json".into(),
//!     output_uri: "s3://bucket/wb/monitoring/wine-forest/reports".into(),
//!     schedule_expression: "cron(0 * ? * * *)".into(),
//!     role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
//!     instance_type: "ml.m5.xlarge".into(),
//!     instance_count: 1,
//!     volume_size_gb: 20,
//!     max_runtime_seconds: 3600,
//!     kms_key_id: None,
//!     tags: BTreeMap::from([("workbench:project".into(), "wine".into())]),
//! };
//! let scheduled = Monitoring::from_sdk_config(&sdk).schedule(&spec).await?;
//! println!("{} runs {}", scheduled.arn, spec.job_definition);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    DataQualityAppSpecification, DataQualityBaselineConfig, DataQualityJobInput, EndpointInput,
    MonitoringClusterConfig, MonitoringConstraintsResource, MonitoringOutput, MonitoringOutputConfig,
    MonitoringResources, MonitoringS3Output, MonitoringScheduleConfig, MonitoringStatisticsResource,
    MonitoringStoppingCondition, MonitoringType, ProcessingInstanceType, ProcessingS3InputMode, ProcessingS3UploadMode,
    ScheduleConfig,
};

use crate::error::{Error, Result};
use crate::hosting::{TaggedResource, keep_tagged};
use crate::sagemaker::{is_not_found, sagemaker_error, tags};

/// Where a monitoring run finds the endpoint's captured traffic (the SageMaker Python SDK's
/// `/opt/ml/processing/input/endpoint`).
pub const ENDPOINT_INPUT_PATH: &str = "/opt/ml/processing/input/endpoint";

/// Where a monitoring run leaves its reports, uploaded when it ends.
pub const OUTPUT_PATH: &str = "/opt/ml/processing/output";

/// The repository of SageMaker Model Monitor's analyzer image.
pub const ANALYZER_REPOSITORY: &str = "sagemaker-model-monitor-analyzer";

/// The argument the workbench's container runs a monitoring job with
/// (`wb-container monitor`).
pub const CONTAINER_MONITOR_ARGUMENT: &str = "monitor";

/// `dataset_format` of an endpoint's captured traffic, in the bring-your-own-container
/// contract's words.
pub const CAPTURE_DATASET_FORMAT: &str =
    r#"{"sagemakerCaptureJson":{"captureIndexNames":["endpointInput","endpointOutput"]}}"#;

/// `(region, registry account)` of SageMaker Model Monitor's analyzer image (repository
/// [`ANALYZER_REPOSITORY`], no tag: the SDK uses the latest).
///
/// Source: aws/sagemaker-python-sdk, `src/sagemaker/image_uri_config/model-monitor.json`, since
/// moved to `sagemaker-core/src/sagemaker/core/image_uri_config/model-monitor.json` (identical
/// content; commit a24812666d258d9d19c9a82d0c9385ca0bd3ba01, file last changed in
/// 3203e4996219799e7fcad214c7925ffd8594da1f), read on 2026-12-06.
const MODEL_MONITOR_REGISTRIES: &[(&str, &str)] = &[
    ("af-south-1", "875698925577"),
    ("ap-east-1", "001633400207"),
    ("ap-northeast-1", "574779866223"),
    ("ap-northeast-2", "709848358524"),
    ("ap-northeast-3", "990339680094"),
    ("ap-south-1", "126357580389"),
    ("ap-southeast-1", "245545462676"),
    ("ap-southeast-2", "563025443158"),
    ("ap-southeast-3", "669540362728"),
    ("ca-central-1", "536280801234"),
    ("cn-north-1", "453000072557"),
    ("cn-northwest-1", "453252182341"),
    ("eu-central-1", "048819808253"),
    ("eu-central-2", "590183933784"),
    ("eu-north-1", "895015795356"),
    ("eu-south-1", "933208885752"),
    ("eu-south-2", "437450045455"),
    ("eu-west-1", "468650794304"),
    ("eu-west-2", "749857270468"),
    ("eu-west-3", "680080141114"),
    ("il-central-1", "843974653677"),
    ("me-central-1", "588750061953"),
    ("me-south-1", "607024016150"),
    ("sa-east-1", "539772159869"),
    ("us-east-1", "156813124566"),
    ("us-east-2", "777275614652"),
    ("us-isof-east-1", "853188333426"),
    ("us-isof-south-1", "467912361380"),
    ("us-west-1", "890145073186"),
    ("us-west-2", "159807026194"),
];

/// SageMaker Model Monitor's analyzer image in `region`:
/// `<account>.dkr.ecr.<region>.<domain>/sagemaker-model-monitor-analyzer`.
///
/// # Errors
/// [`Error::NoImage`] listing the regions that have it, when `region` has none.
pub fn model_monitor_image(region: &str) -> Result<String> {
    let Some((_, account)) = MODEL_MONITOR_REGISTRIES.iter().find(|(r, _)| *r == region) else {
        return Err(Error::NoImage {
            algorithm: "Model Monitor analyzer".into(),
            region: region.to_owned(),
            available: MODEL_MONITOR_REGISTRIES.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", "),
        });
    };
    Ok(format!("{account}.dkr.ecr.{region}.{}/{ANALYZER_REPOSITORY}", crate::images::dns_suffix(region)))
}

/// The schedule's and the job definition's names for `endpoint` of `project`:
/// `<project>-<endpoint>-monitoring` and `<project>-<endpoint>-data-quality`, with every
/// character SageMaker refuses replaced by `-`. When the pair would pass SageMaker's 63
/// characters, the project-and-endpoint part is shortened and ends in a hash of the whole, so
/// different endpoints keep different names.
#[must_use]
pub fn schedule_names(project: &str, endpoint: &str) -> (String, String) {
    const LONGEST_SUFFIX: usize = "-data-quality".len();
    let full = format!("{project}-{endpoint}");
    let mut base = String::with_capacity(full.len());
    for c in full.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        // No runs of dashes at the start; SageMaker allows them inside, but keep names tidy.
        if c != '-' || !(base.is_empty() || base.ends_with('-')) {
            base.push(c);
        }
    }
    let mut base = base.trim_end_matches('-').to_owned();
    if base.is_empty() {
        base = "workbench".into();
    }
    let room = 63 - LONGEST_SUFFIX;
    if base.len() > room {
        let hash = format!("{:08x}", fnv1a(full.as_bytes()));
        let keep = room - hash.len() - 1;
        base = format!("{}-{hash}", base[..keep].trim_end_matches('-'));
    }
    (format!("{base}-monitoring"), format!("{base}-data-quality"))
}

/// FNV-1a, 32 bits: a stable hash (Rust's `DefaultHasher` may change between releases).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// What analyses the traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Analyzer {
    /// SageMaker Model Monitor's analyzer image (see [`model_monitor_image`]).
    ModelMonitor {
        /// The region's image URI.
        image: String,
    },
    /// A container implementing the bring-your-own-container contract. It is started with the
    /// argument [`CONTAINER_MONITOR_ARGUMENT`] and the environment `dataset_format` =
    /// [`CAPTURE_DATASET_FORMAT`], `publish_cloudwatch_metrics` = `Disabled`; SageMaker adds the
    /// contract's own variables (`dataset_source`, `output_path`, `start_time`, `end_time`,
    /// `baseline_statistics`, `baseline_constraints`, ...).
    Container {
        /// The image URI.
        image: String,
    },
}

impl Analyzer {
    /// The image URI.
    #[must_use]
    pub fn image(&self) -> &str {
        match self {
            Self::ModelMonitor { image } | Self::Container { image } => image,
        }
    }
}

/// A data-quality schedule to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitoringSpec {
    /// The schedule's name (see [`schedule_names`]).
    pub schedule: String,
    /// The job definition's name.
    pub job_definition: String,
    /// The endpoint whose captured traffic is analysed.
    pub endpoint: String,
    /// What analyses it.
    pub analyzer: Analyzer,
    /// `s3://` URI of the baseline's `statistics.json`.
    pub statistics_uri: String,
    /// `s3://` URI of the baseline's `constraints.json`.
    pub constraints_uri: String,
    /// `s3://` prefix the reports are uploaded below.
    pub output_uri: String,
    /// When runs start (`cron(0 * ? * * *)`: hourly).
    pub schedule_expression: String,
    /// The IAM role SageMaker assumes.
    pub role_arn: String,
    /// Instance type of a run (`ml.m5.xlarge`).
    pub instance_type: String,
    /// Instances of a run.
    pub instance_count: u32,
    /// Volume per instance, in GB.
    pub volume_size_gb: u32,
    /// Limit of a run's time, in seconds (1–86,400).
    pub max_runtime_seconds: u32,
    /// KMS key of the volumes and the reports.
    pub kms_key_id: Option<String>,
    /// Tags of the schedule and the job definition.
    pub tags: BTreeMap<String, String>,
}

impl MonitoringSpec {
    /// Checks what SageMaker would refuse, before any call.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let invalid =
            |field, value: String, expected: &str| Err(Error::Invalid { field, value, expected: expected.into() });
        for (field, name) in [("schedule name", &self.schedule), ("job definition name", &self.job_definition)] {
            if !valid_name(name) {
                return invalid(field, name.clone(), "1-63 letters, digits and inner dashes");
            }
        }
        for (field, uri) in [
            ("baseline statistics", &self.statistics_uri),
            ("baseline constraints", &self.constraints_uri),
            ("output", &self.output_uri),
        ] {
            if !uri.starts_with("s3://") {
                return invalid(field, uri.clone(), "an s3:// URI");
            }
        }
        if !self.instance_type.starts_with("ml.") {
            return invalid(
                "instance type",
                self.instance_type.clone(),
                "a SageMaker processing instance type (ml.m5.xlarge)",
            );
        }
        if !(1..=100).contains(&self.instance_count) {
            return invalid("instance count", self.instance_count.to_string(), "1 to 100");
        }
        if !(1..=16384).contains(&self.volume_size_gb) {
            return invalid("volume size", self.volume_size_gb.to_string(), "1 to 16384 GB");
        }
        if !(1..=86_400).contains(&self.max_runtime_seconds) {
            return invalid("maximum run time", self.max_runtime_seconds.to_string(), "1 to 86400 seconds");
        }
        let expression = self.schedule_expression.as_str();
        if !(expression.starts_with("cron(") && expression.ends_with(')')) && expression != "NOW" {
            return invalid(
                "schedule expression",
                expression.to_owned(),
                "cron(...) such as cron(0 * ? * * *) (hourly)",
            );
        }
        Ok(())
    }
}

/// SageMaker's name rule: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`.
fn valid_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A created schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledMonitoring {
    /// The schedule's ARN.
    pub arn: String,
    /// The job definition's ARN.
    pub job_definition_arn: String,
    /// Whether an earlier schedule of the same name was replaced.
    pub replaced: bool,
}

/// Model Monitor schedules through one injected client.
#[derive(Clone, Debug)]
pub struct Monitoring {
    client: Client,
    poll: Duration,
    timeout: Duration,
}

impl Monitoring {
    /// Monitoring through `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client, poll: Duration::from_secs(5), timeout: Duration::from_secs(5 * 60) }
    }

    /// Monitoring for the configuration's region, credentials and endpoint URL.
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// How often a deleted schedule is looked for while it is being deleted.
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// How long to wait for a deleted schedule to go.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Creates `spec`'s job definition and schedule (see the module docs), replacing a schedule
    /// and definition of the same names.
    ///
    /// # Errors
    /// [`Error::Invalid`] before any call for a bad spec; [`Error::SageMaker`] naming the
    /// operation that failed (a definition created for a schedule that was then refused is
    /// deleted again).
    pub async fn schedule(&self, spec: &MonitoringSpec) -> Result<ScheduledMonitoring> {
        spec.validate()?;
        let replaced = self.delete_schedule(&spec.schedule).await?;
        self.delete_definition(&spec.job_definition).await?;
        let tags = tags(&spec.tags);
        let mut app = DataQualityAppSpecification::builder().image_uri(spec.analyzer.image());
        if let Analyzer::Container { .. } = spec.analyzer {
            app = app
                .container_arguments(CONTAINER_MONITOR_ARGUMENT)
                .environment("dataset_format", CAPTURE_DATASET_FORMAT)
                .environment("publish_cloudwatch_metrics", "Disabled");
        }
        let baseline = DataQualityBaselineConfig::builder()
            .constraints_resource(MonitoringConstraintsResource::builder().s3_uri(&spec.constraints_uri).build())
            .statistics_resource(MonitoringStatisticsResource::builder().s3_uri(&spec.statistics_uri).build())
            .build();
        let input = DataQualityJobInput::builder()
            .endpoint_input(
                EndpointInput::builder()
                    .endpoint_name(&spec.endpoint)
                    .local_path(ENDPOINT_INPUT_PATH)
                    .s3_input_mode(ProcessingS3InputMode::File)
                    .build(),
            )
            .build();
        let output = MonitoringOutputConfig::builder()
            .monitoring_outputs(
                MonitoringOutput::builder()
                    .s3_output(
                        MonitoringS3Output::builder()
                            .s3_uri(&spec.output_uri)
                            .local_path(OUTPUT_PATH)
                            .s3_upload_mode(ProcessingS3UploadMode::EndOfJob)
                            .build(),
                    )
                    .build(),
            )
            .set_kms_key_id(spec.kms_key_id.clone())
            .build();
        let resources = MonitoringResources::builder()
            .cluster_config(
                MonitoringClusterConfig::builder()
                    .instance_type(ProcessingInstanceType::from(spec.instance_type.as_str()))
                    .instance_count(i32::try_from(spec.instance_count).unwrap_or(1))
                    .volume_size_in_gb(i32::try_from(spec.volume_size_gb).unwrap_or(20))
                    .set_volume_kms_key_id(spec.kms_key_id.clone())
                    .build(),
            )
            .build();
        let definition = self
            .client
            .create_data_quality_job_definition()
            .job_definition_name(&spec.job_definition)
            .data_quality_app_specification(app.build())
            .data_quality_baseline_config(baseline)
            .data_quality_job_input(input)
            .data_quality_job_output_config(output)
            .job_resources(resources)
            .role_arn(&spec.role_arn)
            .stopping_condition(
                MonitoringStoppingCondition::builder()
                    .max_runtime_in_seconds(i32::try_from(spec.max_runtime_seconds).unwrap_or(3600))
                    .build(),
            )
            .set_tags(Some(tags.clone()))
            .send()
            .await
            .map_err(|e| sagemaker_error("CreateDataQualityJobDefinition", &spec.job_definition, e))?;
        let job_definition_arn = definition.job_definition_arn().unwrap_or_default().to_owned();
        let config = MonitoringScheduleConfig::builder()
            .schedule_config(ScheduleConfig::builder().schedule_expression(&spec.schedule_expression).build())
            .monitoring_job_definition_name(&spec.job_definition)
            .monitoring_type(MonitoringType::DataQuality)
            .build();
        let created = self
            .client
            .create_monitoring_schedule()
            .monitoring_schedule_name(&spec.schedule)
            .monitoring_schedule_config(config)
            .set_tags(Some(tags))
            .send()
            .await;
        let arn = match created {
            Ok(out) => out.monitoring_schedule_arn().unwrap_or_default().to_owned(),
            Err(e) => {
                // Best effort: the definition is tagged, so `wb clean` finds it if this fails.
                let _ = self
                    .client
                    .delete_data_quality_job_definition()
                    .job_definition_name(&spec.job_definition)
                    .send()
                    .await;
                return Err(sagemaker_error("CreateMonitoringSchedule", &spec.schedule, e));
            }
        };
        tracing::info!(
            schedule = %spec.schedule,
            job_definition = %spec.job_definition,
            endpoint = %spec.endpoint,
            expression = %spec.schedule_expression,
            replaced,
            "monitoring schedule created"
        );
        Ok(ScheduledMonitoring { arn, job_definition_arn, replaced })
    }

    /// Deletes the schedule `name` and waits until SageMaker no longer has it (its job
    /// definition stays locked until then); `false` when there was none.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found", or when the schedule is still
    /// there after the timeout.
    pub async fn delete_schedule(&self, name: &str) -> Result<bool> {
        match self.client.delete_monitoring_schedule().monitoring_schedule_name(name).send().await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(e) => return Err(sagemaker_error("DeleteMonitoringSchedule", name, e)),
        }
        let started = Instant::now();
        loop {
            match self.client.describe_monitoring_schedule().monitoring_schedule_name(name).send().await {
                Err(e) if is_not_found(&e) => return Ok(true),
                Err(e) => return Err(sagemaker_error("DescribeMonitoringSchedule", name, e)),
                Ok(out) => {
                    let status = out.monitoring_schedule_status().map(|s| s.as_str().to_owned()).unwrap_or_default();
                    if started.elapsed() + self.poll > self.timeout {
                        return Err(Error::SageMaker {
                            operation: "DeleteMonitoringSchedule",
                            resource: name.to_owned(),
                            code: "Timeout".into(),
                            message: format!(
                                "the schedule is still {status} after {:?}; run `wb clean` again later",
                                started.elapsed()
                            ),
                        });
                    }
                    tracing::debug!(schedule = name, status, "waiting for the schedule to be deleted");
                }
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Deletes the data-quality job definition `name`; `false` when there was none.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found" (a definition a schedule still
    /// uses is refused).
    pub async fn delete_definition(&self, name: &str) -> Result<bool> {
        match self.client.delete_data_quality_job_definition().job_definition_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(sagemaker_error("DeleteDataQualityJobDefinition", name, e)),
        }
    }

    /// Every monitoring schedule and data-quality job definition tagged `key` = `value`, in
    /// deletion order (schedules, then definitions).
    ///
    /// # Errors
    /// [`Error::SageMaker`] when listing or reading tags fails.
    pub async fn tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let schedules: Vec<_> = self
            .client
            .list_monitoring_schedules()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListMonitoringSchedules", "monitoring schedules", e))?;
        let definitions: Vec<_> = self
            .client
            .list_data_quality_job_definitions()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListDataQualityJobDefinitions", "data-quality job definitions", e))?;
        let resource = |kind, name: Option<&str>, arn: Option<&str>| {
            Some(TaggedResource { kind, name: name?.to_owned(), arn: arn?.to_owned() })
        };
        let candidates = schedules
            .iter()
            .filter_map(|s| resource("monitoring-schedule", s.monitoring_schedule_name(), s.monitoring_schedule_arn()))
            .chain(definitions.iter().filter_map(|d| {
                resource(
                    "data-quality-job-definition",
                    d.monitoring_job_definition_name(),
                    d.monitoring_job_definition_arn(),
                )
            }));
        let candidates: Vec<TaggedResource> = candidates.collect();
        keep_tagged(&self.client, candidates, key, value).await
    }

    /// Deletes `resources` (as [`Monitoring::tagged`] lists them) in order, skipping those
    /// already gone and anything that is not a schedule or a data-quality job definition.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn delete_resources(&self, resources: &[TaggedResource]) -> Result<()> {
        for r in resources {
            match r.kind {
                "monitoring-schedule" => {
                    self.delete_schedule(&r.name).await?;
                }
                "data-quality-job-definition" => {
                    self.delete_definition(&r.name).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analyzer_image_comes_from_the_sdk_table() {
        assert_eq!(
            model_monitor_image("us-east-1").expect("us-east-1"),
            "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        );
        assert_eq!(
            model_monitor_image("eu-central-1").expect("eu-central-1"),
            "048819808253.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        );
        assert_eq!(
            model_monitor_image("cn-north-1").expect("cn-north-1"),
            "453000072557.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-model-monitor-analyzer"
        );
    }

    #[test]
    fn an_unknown_region_has_no_analyzer_and_says_where_there_is_one() {
        let err = model_monitor_image("xx-nowhere-1").expect_err("no such region");
        assert!(matches!(&err, Error::NoImage { region, .. } if region == "xx-nowhere-1"), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("Model Monitor analyzer") && text.contains("us-east-1"), "{text}");
    }

    #[test]
    fn the_table_is_sorted_unique_and_well_formed() {
        let regions: Vec<&str> = MODEL_MONITOR_REGISTRIES.iter().map(|(r, _)| *r).collect();
        let mut sorted = regions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(regions, sorted);
        assert!(MODEL_MONITOR_REGISTRIES.iter().all(|(_, a)| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit())));
    }

    #[test]
    fn names_are_deterministic_valid_and_distinct() {
        assert_eq!(
            schedule_names("wine", "wine-forest"),
            ("wine-wine-forest-monitoring".to_owned(), "wine-wine-forest-data-quality".to_owned())
        );
        let (schedule, definition) = schedule_names("My Project_2", "ep");
        assert_eq!(
            (schedule.as_str(), definition.as_str()),
            ("My-Project-2-ep-monitoring", "My-Project-2-ep-data-quality")
        );
        let long = "e".repeat(63);
        let (a, b) = schedule_names("project", &long);
        let (c, _) = schedule_names("project", &format!("{}x", &long[..62]));
        for name in [&a, &b, &c] {
            assert!(valid_name(name), "{name}");
        }
        assert_ne!(a, c, "long names keep a hash of the whole");
        assert_eq!(schedule_names("project", &long), (a, b), "deterministic");
        assert!(valid_name(&schedule_names("-", "-").0));
    }
}

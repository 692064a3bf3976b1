//! SageMaker hosting: a model behind an endpoint, with data capture and the project's tags.
//!
//! [`Hosting::deploy`] creates a model (`CreateModel`: the container image and the
//! `model.tar.gz` in S3), an endpoint configuration (`CreateEndpointConfig`: instance type and
//! count, `DataCaptureConfig` with the sampling percentage and the project's capture prefix, an
//! optional KMS key) and the endpoint (`CreateEndpoint`), or moves an existing endpoint to the
//! new configuration (`UpdateEndpoint`); then it waits until the endpoint is `InService`, fails
//! with SageMaker's reason, or gives up after a timeout. Every resource carries the project's
//! tags; when a step fails, what the call created is deleted again. [`Hosting::delete`] removes an
//! endpoint, its configuration and its models; [`Hosting::tagged`] finds the project's resources
//! by tag even when local records are lost.
//!
//! ```no_run
//! # async fn example() -> Result<(), wb_aws::Error> {
//! use std::collections::BTreeMap;
//! use wb_aws::hosting::{CaptureSpec, DeploySpec, Hosting};
//!
//! let sdk = wb_aws::aws_config::load_defaults(wb_aws::aws_config::BehaviorVersion::latest()).await;
//! let hosting = Hosting::from_sdk_config(&sdk);
//! let spec = DeploySpec {
//!     endpoint: wb_core::EndpointName::parse("wine-forest")?,
//!     model_data_url: "s3://bucket/wb/training/job/output/model.tar.gz".into(),
//!     image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:latest".into(),
//!     role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
//!     instance_type: "ml.m5.large".into(),
//!     instance_count: 1,
//!     capture: Some(CaptureSpec { sampling_percentage: 100, destination: "s3://bucket/wb/capture".into() }),
//!     kms_key_id: None,
//!     environment: BTreeMap::new(),
//!     tags: BTreeMap::from([("workbench:project".into(), "wine".into())]),
//! };
//! let endpoint = hosting.deploy(&spec).await?;
//! println!("{} is {}", endpoint.endpoint_arn, endpoint.status);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    CaptureContentTypeHeader, CaptureMode, CaptureOption, ContainerDefinition, DataCaptureConfig, EndpointStatus,
    ProductionVariant, ProductionVariantInstanceType,
};
use wb_core::EndpointName;

use crate::error::{Error, Result};
use crate::sagemaker::{ignore_missing, is_not_found, sagemaker_error, tags};

/// The production variant every endpoint gets (as the local backend).
pub const VARIANT: &str = "AllTraffic";

/// How long [`Hosting::deploy`] waits for `InService` by default (SageMaker usually needs 5–10
/// minutes for a new endpoint).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Data capture of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSpec {
    /// Percentage of requests captured (0–100).
    pub sampling_percentage: u8,
    /// `s3://bucket/prefix` SageMaker writes capture files below.
    pub destination: String,
}

/// What to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploySpec {
    /// The endpoint (created, or moved to the new model).
    pub endpoint: EndpointName,
    /// The `model.tar.gz` in S3.
    pub model_data_url: String,
    /// The serving container image URI.
    pub image: String,
    /// The IAM role SageMaker assumes (`arn:aws:iam::<account>:role/<name>`).
    pub role_arn: String,
    /// The instance type (`ml.m5.large`).
    pub instance_type: String,
    /// Instances behind the endpoint.
    pub instance_count: u32,
    /// Data capture, if any.
    pub capture: Option<CaptureSpec>,
    /// A KMS key for the endpoint's storage and capture files.
    pub kms_key_id: Option<String>,
    /// Environment variables of the container.
    pub environment: BTreeMap<String, String>,
    /// Tags of every resource created (the project tag included).
    pub tags: BTreeMap<String, String>,
}

impl DeploySpec {
    /// Checks the spec before anything is created: the role, the artefact URI, the instance type
    /// and count, the capture settings.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field and value.
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &'static str, value: &str, expected: &str| {
            Err(Error::Invalid { field, value: value.to_owned(), expected: expected.to_owned() })
        };
        let role = self.role_arn.strip_prefix("arn:aws:iam::").and_then(|r| r.split_once(":role/"));
        if !role.is_some_and(|(account, name)| {
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty()
        }) {
            return invalid("role", &self.role_arn, "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>");
        }
        if !self.model_data_url.starts_with("s3://") || !self.model_data_url.ends_with(".tar.gz") {
            return invalid("model data", &self.model_data_url, "an s3://.../model.tar.gz URI");
        }
        if !ProductionVariantInstanceType::values().contains(&self.instance_type.as_str()) {
            return invalid(
                "instance type",
                &self.instance_type,
                "a SageMaker hosting instance type such as ml.m5.large",
            );
        }
        if self.instance_count == 0 || i32::try_from(self.instance_count).is_err() {
            return invalid("instance count", &self.instance_count.to_string(), "at least 1");
        }
        if self.image.is_empty() {
            return invalid("image", &self.image, "a container image URI");
        }
        if let Some(capture) = &self.capture {
            if capture.sampling_percentage > 100 {
                return invalid("capture", &capture.sampling_percentage.to_string(), "a percentage from 0 to 100");
            }
            if !capture.destination.starts_with("s3://") {
                return invalid("capture destination", &capture.destination, "an s3:// prefix");
            }
        }
        Ok(())
    }
}

/// A deployed endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedEndpoint {
    /// The endpoint's name.
    pub endpoint: String,
    /// Its ARN.
    pub endpoint_arn: String,
    /// The configuration it runs.
    pub config: String,
    /// The model that configuration serves.
    pub model: String,
    /// `InService` after a successful deploy.
    pub status: String,
    /// Whether an existing endpoint was moved to the new model.
    pub updated: bool,
}

/// A tagged SageMaker resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaggedResource {
    /// `state-machine`, `lambda-function`, `monitoring-schedule`, `data-quality-job-definition`, `endpoint`, `endpoint-config`,
    /// `model`, `model-package`, `model-package-group` or `training-job` (the order they are
    /// deleted in).
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
}

/// The `candidates` that carry the tag `key` = `value` (one `ListTags` each), in order.
pub(crate) async fn keep_tagged(
    client: &Client,
    candidates: impl IntoIterator<Item = TaggedResource>,
    key: &str,
    value: &str,
) -> Result<Vec<TaggedResource>> {
    let mut tagged = Vec::new();
    for resource in candidates {
        let out = client
            .list_tags()
            .resource_arn(&resource.arn)
            .send()
            .await
            .map_err(|e| sagemaker_error("ListTags", &resource.arn, e))?;
        if out.tags().iter().any(|t| t.key() == Some(key) && t.value() == Some(value)) {
            tagged.push(resource);
        }
    }
    Ok(tagged)
}

/// SageMaker hosting through one injected client.
#[derive(Clone, Debug)]
pub struct Hosting {
    client: Client,
    poll: Duration,
    timeout: Duration,
}

impl Hosting {
    /// Hosting through `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client, poll: Duration::from_secs(15), timeout: DEFAULT_TIMEOUT }
    }

    /// Hosting for the configuration's region, credentials and endpoint URL.
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// How often the endpoint's status is polled.
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// How long to wait for `InService`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Deploys `spec` (see the module docs) and waits until the endpoint is in service.
    ///
    /// # Errors
    /// [`Error::Invalid`] before any call for a bad spec; [`Error::SageMaker`] naming the
    /// operation that failed (what this call created is deleted again);
    /// [`Error::EndpointFailed`] with SageMaker's reason; [`Error::Timeout`].
    pub async fn deploy(&self, spec: &DeploySpec) -> Result<HostedEndpoint> {
        spec.validate()?;
        let name = resource_name(spec.endpoint.as_str(), &chrono::Utc::now().format("%Y%m%d%H%M%S%3f").to_string());
        let tags = tags(&spec.tags);
        let container = ContainerDefinition::builder()
            .image(&spec.image)
            .model_data_url(&spec.model_data_url)
            .set_environment(
                (!spec.environment.is_empty())
                    .then(|| spec.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>()),
            )
            .build();
        self.client
            .create_model()
            .model_name(&name)
            .execution_role_arn(&spec.role_arn)
            .primary_container(container)
            .set_tags(Some(tags.clone()))
            .send()
            .await
            .map_err(|e| sagemaker_error("CreateModel", &name, e))?;
        let variant = ProductionVariant::builder()
            .variant_name(VARIANT)
            .model_name(&name)
            .initial_instance_count(i32::try_from(spec.instance_count).unwrap_or(1))
            .instance_type(ProductionVariantInstanceType::from(spec.instance_type.as_str()))
            .initial_variant_weight(1.0)
            .build();
        let capture = spec.capture.as_ref().map(|c| {
            DataCaptureConfig::builder()
                .enable_capture(c.sampling_percentage > 0)
                .initial_sampling_percentage(i32::from(c.sampling_percentage))
                .destination_s3_uri(&c.destination)
                .set_kms_key_id(spec.kms_key_id.clone())
                .capture_options(CaptureOption::builder().capture_mode(CaptureMode::Input).build())
                .capture_options(CaptureOption::builder().capture_mode(CaptureMode::Output).build())
                .capture_content_type_header(
                    CaptureContentTypeHeader::builder()
                        .csv_content_types("text/csv")
                        .json_content_types("application/json")
                        .build(),
                )
                .build()
        });
        let created_config = self
            .client
            .create_endpoint_config()
            .endpoint_config_name(&name)
            .production_variants(variant)
            .set_data_capture_config(capture)
            .set_kms_key_id(spec.kms_key_id.clone())
            .set_tags(Some(tags.clone()))
            .send()
            .await;
        if let Err(e) = created_config {
            self.roll_back(None, &name).await;
            return Err(sagemaker_error("CreateEndpointConfig", &name, e));
        }
        let endpoint = spec.endpoint.as_str();
        let existing = self.describe(endpoint).await?;
        let result = match &existing {
            Some(_) => self
                .client
                .update_endpoint()
                .endpoint_name(endpoint)
                .endpoint_config_name(&name)
                .send()
                .await
                .map(|o| o.endpoint_arn().unwrap_or_default().to_owned())
                .map_err(|e| sagemaker_error("UpdateEndpoint", endpoint, e)),
            None => self
                .client
                .create_endpoint()
                .endpoint_name(endpoint)
                .endpoint_config_name(&name)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|o| o.endpoint_arn().unwrap_or_default().to_owned())
                .map_err(|e| sagemaker_error("CreateEndpoint", endpoint, e)),
        };
        let endpoint_arn = match result {
            Ok(arn) => arn,
            Err(e) => {
                self.roll_back(Some(&name), &name).await;
                return Err(e);
            }
        };
        let status = self.wait_in_service(endpoint).await?;
        tracing::info!(endpoint, config = %name, updated = existing.is_some(), "endpoint in service");
        Ok(HostedEndpoint {
            endpoint: endpoint.to_owned(),
            endpoint_arn,
            config: name.clone(),
            model: name,
            status,
            updated: existing.is_some(),
        })
    }

    /// Deletes what a failed deploy created (best effort; the resources are tagged, so `wb
    /// clean` finds anything left).
    async fn roll_back(&self, config: Option<&str>, model: &str) {
        if let Some(config) = config {
            let _ = self.client.delete_endpoint_config().endpoint_config_name(config).send().await;
        }
        let _ = self.client.delete_model().model_name(model).send().await;
    }

    /// The endpoint's status and failure reason, or `None` when it does not exist.
    async fn describe(&self, endpoint: &str) -> Result<Option<(String, Option<String>, Option<String>)>> {
        match self.client.describe_endpoint().endpoint_name(endpoint).send().await {
            Ok(out) => Ok(Some((
                out.endpoint_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                out.failure_reason().map(str::to_owned),
                out.endpoint_config_name().map(str::to_owned),
            ))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sagemaker_error("DescribeEndpoint", endpoint, e)),
        }
    }

    /// The endpoint's status (`Creating`, `InService`, `Failed`, ...), or `None` when SageMaker
    /// has no such endpoint.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn status(&self, endpoint: &str) -> Result<Option<String>> {
        Ok(self.describe(endpoint).await?.map(|(status, _, _)| status))
    }

    /// Waits until `endpoint` is `InService`.
    ///
    /// # Errors
    /// [`Error::EndpointFailed`] when it fails (with SageMaker's reason) or disappears;
    /// [`Error::Timeout`].
    pub async fn wait_in_service(&self, endpoint: &str) -> Result<String> {
        wait_until(endpoint, self.poll, self.timeout, || async {
            Ok(self.describe(endpoint).await?.map(|(status, reason, _)| (status, reason)))
        })
        .await
    }

    /// Deletes `endpoint`, its configuration and the models that configuration serves. Missing
    /// pieces are skipped, so deleting twice is harmless. Returns what was deleted.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn delete(&self, endpoint: &str) -> Result<Vec<TaggedResource>> {
        let mut deleted = Vec::new();
        let Some((_, _, config)) = self.describe(endpoint).await? else { return Ok(deleted) };
        let mut models = Vec::new();
        if let Some(config) = &config {
            match self.client.describe_endpoint_config().endpoint_config_name(config).send().await {
                Ok(out) => {
                    models.extend(out.production_variants().iter().filter_map(|v| v.model_name()).map(str::to_owned));
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(sagemaker_error("DescribeEndpointConfig", config, e)),
            }
        }
        ignore_missing(self.client.delete_endpoint().endpoint_name(endpoint).send().await, "DeleteEndpoint", endpoint)?;
        deleted.push(TaggedResource { kind: "endpoint", name: endpoint.to_owned(), arn: String::new() });
        if let Some(config) = config {
            ignore_missing(
                self.client.delete_endpoint_config().endpoint_config_name(&config).send().await,
                "DeleteEndpointConfig",
                &config,
            )?;
            deleted.push(TaggedResource { kind: "endpoint-config", name: config, arn: String::new() });
        }
        for model in models {
            ignore_missing(self.client.delete_model().model_name(&model).send().await, "DeleteModel", &model)?;
            deleted.push(TaggedResource { kind: "model", name: model, arn: String::new() });
        }
        Ok(deleted)
    }

    /// Every endpoint, endpoint configuration and model tagged `key` = `value`, in deletion
    /// order (endpoints, then configurations, then models).
    ///
    /// # Errors
    /// [`Error::SageMaker`] when listing or reading tags fails.
    pub async fn tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let endpoints: Vec<_> = self
            .client
            .list_endpoints()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListEndpoints", "endpoints", e))?;
        let configs: Vec<_> = self
            .client
            .list_endpoint_configs()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListEndpointConfigs", "endpoint configs", e))?;
        let models: Vec<_> = self
            .client
            .list_models()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListModels", "models", e))?;
        let resource = |kind, name: Option<&str>, arn: Option<&str>| {
            Some(TaggedResource { kind, name: name?.to_owned(), arn: arn?.to_owned() })
        };
        let candidates = endpoints
            .iter()
            .filter_map(|e| resource("endpoint", e.endpoint_name(), e.endpoint_arn()))
            .chain(
                configs
                    .iter()
                    .filter_map(|c| resource("endpoint-config", c.endpoint_config_name(), c.endpoint_config_arn())),
            )
            .chain(models.iter().filter_map(|m| resource("model", m.model_name(), m.model_arn())));
        let candidates: Vec<TaggedResource> = candidates.collect();
        keep_tagged(&self.client, candidates, key, value).await
    }

    /// Deletes every resource [`Hosting::tagged`] finds, endpoints first; returns them.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn delete_tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let found = self.tagged(key, value).await?;
        self.delete_resources(&found).await?;
        Ok(found)
    }

    /// Deletes `resources` (as [`Hosting::tagged`] lists them) in order, skipping those already
    /// gone.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn delete_resources(&self, resources: &[TaggedResource]) -> Result<()> {
        for r in resources {
            let name = r.name.as_str();
            match r.kind {
                "endpoint" => ignore_missing(
                    self.client.delete_endpoint().endpoint_name(name).send().await,
                    "DeleteEndpoint",
                    name,
                )?,
                "endpoint-config" => ignore_missing(
                    self.client.delete_endpoint_config().endpoint_config_name(name).send().await,
                    "DeleteEndpointConfig",
                    name,
                )?,
                _ => ignore_missing(self.client.delete_model().model_name(name).send().await, "DeleteModel", name)?,
            }
        }
        Ok(())
    }

    /// What keeps `endpoint` serving, as `(kind, name)`: the endpoint, its current configuration
    /// and that configuration's models; empty when the endpoint does not exist.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn serving(&self, endpoint: &str) -> Result<Vec<(&'static str, String)>> {
        let Some((_, _, config)) = self.describe(endpoint).await? else { return Ok(Vec::new()) };
        let mut out = vec![("endpoint", endpoint.to_owned())];
        if let Some(config) = config {
            match self.client.describe_endpoint_config().endpoint_config_name(&config).send().await {
                Ok(described) => out.extend(
                    described
                        .production_variants()
                        .iter()
                        .filter_map(|v| v.model_name())
                        .map(|m| ("model", m.to_owned())),
                ),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(sagemaker_error("DescribeEndpointConfig", &config, e)),
            }
            out.push(("endpoint-config", config));
        }
        Ok(out)
    }
}

/// `<endpoint>-<stamp>`, cut to SageMaker's 63 characters (the stamp is kept).
fn resource_name(endpoint: &str, stamp: &str) -> String {
    let room = 63 - stamp.len() - 1;
    let base: String = endpoint.chars().take(room).collect();
    format!("{}-{stamp}", base.trim_end_matches('-'))
}

/// Polls `status` every `poll` until it says `InService`; `Failed` (or the resource vanishing)
/// is an error with SageMaker's reason, and so is running past `timeout`.
pub(crate) async fn wait_until<F, Fut>(
    endpoint: &str,
    poll: Duration,
    timeout: Duration,
    mut status: F,
) -> Result<String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<(String, Option<String>)>>>,
{
    let started = Instant::now();
    loop {
        match status().await? {
            Some((s, _)) if s == EndpointStatus::InService.as_str() => return Ok(s),
            Some((s, reason)) if s == EndpointStatus::Failed.as_str() => {
                return Err(Error::EndpointFailed {
                    endpoint: endpoint.to_owned(),
                    reason: reason.unwrap_or_else(|| "SageMaker gave no reason".into()),
                });
            }
            Some((s, _)) => tracing::debug!(endpoint, status = %s, "waiting for InService"),
            None => {
                return Err(Error::EndpointFailed {
                    endpoint: endpoint.to_owned(),
                    reason: "it no longer exists".into(),
                });
            }
        }
        if started.elapsed() + poll > timeout {
            return Err(Error::Timeout { endpoint: endpoint.to_owned(), waited: started.elapsed() });
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DeploySpec {
        DeploySpec {
            endpoint: EndpointName::parse("wine-forest").expect("name"),
            model_data_url: "s3://bucket/wb/training/j/output/model.tar.gz".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:1".into(),
            role_arn: "arn:aws:iam::123456789012:role/workbench".into(),
            instance_type: "ml.m5.large".into(),
            instance_count: 1,
            capture: Some(CaptureSpec { sampling_percentage: 50, destination: "s3://bucket/wb/capture".into() }),
            kms_key_id: None,
            environment: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn specs_are_checked_before_anything_is_created() {
        assert!(spec().validate().is_ok());
        type Break = fn(&mut DeploySpec);
        let cases: [(&str, Break); 7] = [
            ("role", |s| s.role_arn = "workbench".into()),
            ("role", |s| s.role_arn = "arn:aws:iam::123:role/x".into()),
            ("model data", |s| s.model_data_url = "/tmp/model.tar.gz".into()),
            ("instance type", |s| s.instance_type = "m5.large".into()),
            ("instance count", |s| s.instance_count = 0),
            ("capture", |s| s.capture.as_mut().expect("capture").sampling_percentage = 101),
            ("capture destination", |s| s.capture.as_mut().expect("capture").destination = "capture/".into()),
        ];
        for (field, breaks) in cases {
            let mut s = spec();
            breaks(&mut s);
            let err = s.validate().expect_err(field);
            assert!(err.to_string().starts_with(&format!("invalid {field}")), "{err}");
        }
    }

    #[test]
    fn resource_names_fit_sagemaker() {
        let stamp = "20261123142233123";
        assert_eq!(resource_name("wine-forest", stamp), "wine-forest-20261123142233123");
        let long = "a".repeat(63);
        let name = resource_name(&long, stamp);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with(stamp));
        assert!(wb_core::EndpointName::parse(&name).is_ok(), "a valid SageMaker name");
    }

    #[tokio::test]
    async fn waiting_follows_the_status_to_in_service_failure_or_timeout() {
        let poll = Duration::from_millis(2);
        let mut script = vec!["Creating", "Creating", "InService"].into_iter();
        let done = wait_until("ep", poll, Duration::from_secs(5), || {
            let s = script.next().map(|s| (s.to_owned(), None));
            async move { Ok(s) }
        })
        .await
        .expect("in service");
        assert_eq!(done, "InService");

        let mut script = vec![("Creating", None), ("Failed", Some("the image cannot be pulled"))].into_iter();
        let failed = wait_until("ep", poll, Duration::from_secs(5), || {
            let s = script.next().map(|(s, r)| (s.to_owned(), r.map(str::to_owned)));
            async move { Ok(s) }
        })
        .await
        .expect_err("failed");
        assert_eq!(failed.to_string(), "endpoint \"ep\" failed to come up: the image cannot be pulled");

        let slow =
            wait_until("ep", poll, Duration::from_millis(20), || async { Ok(Some(("Creating".to_owned(), None))) })
                .await
                .expect_err("timeout");
        assert!(matches!(slow, Error::Timeout { .. }), "{slow}");

        let gone = wait_until("ep", poll, Duration::from_millis(20), || async { Ok(None) }).await.expect_err("gone");
        assert!(gone.to_string().contains("no longer exists"), "{gone}");
    }
}

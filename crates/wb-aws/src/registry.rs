//! The SageMaker model registry mirror: one model package group per project, one model package
//! per registered model.
//!
//! The workbench keeps its own model registry in its store; on the SageMaker backend it can
//! mirror it into SageMaker's Model Registry so that SageMaker tooling (Studio, the console,
//! MLOps pipelines that deploy "the approved version") sees the same models:
//!
//! * [`ModelPackages::ensure_group`] creates the project's model package group (tagged) unless
//!   it exists;
//! * [`ModelPackages::register`] adds a versioned model package to it (`CreateModelPackage`: the
//!   inference image and `model.tar.gz`, the content types, `PendingManualApproval`) whose
//!   customer metadata carries the workbench model name ([`MODEL_PROPERTY`]), each validation
//!   metric as `metric:<name>` ([`METRIC_PREFIX`]) and any extra properties (dataset, partition
//!   fingerprint, job);
//! * [`ModelPackages::promote`] approves the newest package of a workbench model and sends every
//!   other `Approved` package of the group back to `PendingManualApproval`, so that **the promoted
//!   model is the group's only approved one** (see the method for why not `Rejected`);
//! * [`ModelPackages::delete_group`] and [`ModelPackages::delete_tagged`] delete the packages,
//!   then the group; [`ModelPackages::tagged`] finds them by the project's tag alone.
//!
//! ```no_run
//! # async fn example() -> Result<(), wb_aws::Error> {
//! use std::collections::BTreeMap;
//! use wb_aws::registry::{ModelPackages, PackageSpec};
//!
//! let sdk = wb_aws::aws_config::load_defaults(wb_aws::aws_config::BehaviorVersion::latest()).await;
//! let packages = ModelPackages::from_sdk_config(&sdk);
//! let model = wb_core::ModelName::parse("wine-forest")?;
//! let spec = PackageSpec {
//!     group: "wine".into(),
//!     model: model.clone(),
//!     description: "random forest on wine-quality".into(),
//!     image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:latest".into(),
//!     model_data_url: "s3://bucket/wb/training/job/output/model.tar.gz".into(),
//!     content_types: vec!["text/csv".into()],
//!     response_types: vec!["text/csv".into(), "application/json".into()],
//!     metrics: BTreeMap::from([("rmse".into(), 0.61)]),
//!     metadata: BTreeMap::from([("dataset".into(), "wine-quality".into())]),
//!     tags: BTreeMap::from([("workbench:project".into(), "wine".into())]),
//! };
//! let package = packages.register(&spec).await?;
//! println!("{} is version {:?} of {}", package.arn, package.version, package.group);
//! let promoted = packages.promote("wine", &model, "promoted with wb promote").await?;
//! assert_eq!(promoted.approval, "Approved");
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::types::{
    InferenceSpecification, ModelApprovalStatus, ModelPackageContainerDefinition, ModelPackageSortBy, SortOrder,
};
use futures::StreamExt;
use wb_core::ModelName;

use crate::error::{Error, Result};
use crate::hosting::TaggedResource;
use crate::sagemaker::{ignore_missing, is_not_found, sagemaker_error};

/// The customer metadata property holding the workbench model name.
pub const MODEL_PROPERTY: &str = "workbench:model";

/// The prefix of the customer metadata properties holding validation metrics (`metric:rmse`).
pub const METRIC_PREFIX: &str = "metric:";

/// The most customer metadata properties SageMaker keeps on one model package (the model name
/// counts as one).
pub const MAX_PROPERTIES: usize = 50;

/// Longest customer metadata key SageMaker accepts.
pub const MAX_PROPERTY_KEY_LEN: usize = 128;

/// Longest customer metadata value SageMaker accepts.
pub const MAX_PROPERTY_VALUE_LEN: usize = 256;

/// Longest model package (and group, and approval) description SageMaker accepts.
pub const MAX_DESCRIPTION_LEN: usize = 1024;

/// How many `DescribeModelPackage` calls [`ModelPackages::list`] keeps in flight.
const DESCRIBE_CONCURRENCY: usize = 4;

/// What to register: one workbench model as one model package of the project's group.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageSpec {
    /// The project's model package group (a SageMaker name: 1–63 ASCII letters, digits and
    /// hyphens, starting and ending with a letter or digit).
    pub group: String,
    /// The workbench model name (stored as the property [`MODEL_PROPERTY`]).
    pub model: ModelName,
    /// The package's description (at most 1024 characters, no control characters).
    pub description: String,
    /// The inference image URI.
    pub image: String,
    /// The `s3://.../model.tar.gz` the image serves.
    pub model_data_url: String,
    /// Request content types the model accepts (`text/csv`).
    pub content_types: Vec<String>,
    /// Response MIME types it answers with (`text/csv`, `application/json`).
    pub response_types: Vec<String>,
    /// Validation metrics, stored as properties `metric:<name>`.
    pub metrics: BTreeMap<String, f64>,
    /// Extra properties (dataset, partition fingerprint, job).
    pub metadata: BTreeMap<String, String>,
    /// Tags of the group when this registration creates it (a versioned package takes its
    /// group's tags; SageMaker refuses tags on it).
    pub tags: BTreeMap<String, String>,
}

impl PackageSpec {
    /// Checks the spec against SageMaker's limits before any call: the group name, the
    /// description, the image, the `s3://` model URL, the content types, and the customer
    /// metadata (keys of at most 128 characters, values of at most 256, at most 50 properties,
    /// finite metrics, no extra property that collides with the model name or a metric).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field and value.
    pub fn validate(&self) -> Result<()> {
        check_group(&self.group)?;
        check_description("description", &self.description)?;
        if self.image.is_empty() || self.image.len() > 255 || self.image.chars().any(char::is_whitespace) {
            return invalid("image", &self.image, "a container image URI (1 to 255 characters, no whitespace)");
        }
        let bucket = self.model_data_url.strip_prefix("s3://").and_then(|rest| rest.split('/').next());
        if bucket.is_none_or(str::is_empty)
            || !self.model_data_url.ends_with(".tar.gz")
            || self.model_data_url.len() > 1024
            || self.model_data_url.chars().any(char::is_whitespace)
        {
            return invalid("model data", &self.model_data_url, "an s3://bucket/.../model.tar.gz URI");
        }
        check_media_types("content type", &self.content_types, 256)?;
        check_media_types("response type", &self.response_types, 1024)?;
        for (name, value) in &self.metrics {
            let key = format!("{METRIC_PREFIX}{name}");
            if name.trim().is_empty() || key.chars().count() > MAX_PROPERTY_KEY_LEN || has_control(name) {
                return invalid(
                    "metric",
                    name,
                    &format!(
                        "a metric name of 1 to {} characters without control characters",
                        MAX_PROPERTY_KEY_LEN - METRIC_PREFIX.len()
                    ),
                );
            }
            if !value.is_finite() {
                return invalid("metric", &format!("{name}={value}"), "a finite number");
            }
        }
        for (key, value) in &self.metadata {
            if key == MODEL_PROPERTY || key.starts_with(METRIC_PREFIX) {
                return invalid(
                    "metadata",
                    key,
                    &format!(
                        "a key other than {MODEL_PROPERTY:?} and {METRIC_PREFIX}* (reserved for the model and its metrics)"
                    ),
                );
            }
            if key.trim().is_empty() || key.chars().count() > MAX_PROPERTY_KEY_LEN || has_control(key) {
                return invalid(
                    "metadata",
                    key,
                    &format!("a key of 1 to {MAX_PROPERTY_KEY_LEN} characters without control characters"),
                );
            }
            if value.trim().is_empty() || value.chars().count() > MAX_PROPERTY_VALUE_LEN || has_control(value) {
                return invalid(
                    "metadata",
                    &format!("{key}={value}"),
                    &format!("a value of 1 to {MAX_PROPERTY_VALUE_LEN} characters without control characters"),
                );
            }
        }
        let properties = 1 + self.metrics.len() + self.metadata.len();
        if properties > MAX_PROPERTIES {
            return invalid(
                "metadata",
                &format!("{} metrics and {} properties", self.metrics.len(), self.metadata.len()),
                &format!("at most {MAX_PROPERTIES} properties in all, the model name included"),
            );
        }
        check_tags(&self.tags)
    }

    /// The package's customer metadata: the model name, the metrics, the extra properties.
    fn properties(&self) -> HashMap<String, String> {
        let mut properties: HashMap<String, String> =
            self.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        properties
            .extend(self.metrics.iter().map(|(name, value)| (format!("{METRIC_PREFIX}{name}"), metric_value(*value))));
        properties.insert(MODEL_PROPERTY.to_owned(), self.model.as_str().to_owned());
        properties
    }
}

/// A model package (one version in a group) as the workbench sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelPackage {
    /// Its ARN (`arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>`).
    pub arn: String,
    /// The model package group.
    pub group: String,
    /// Its version in the group (1, 2, ...).
    pub version: Option<i32>,
    /// The workbench model it mirrors (property [`MODEL_PROPERTY`]); `None` for packages that
    /// the workbench did not register.
    pub model: Option<String>,
    /// `PendingManualApproval`, `Approved` or `Rejected`.
    pub approval: String,
    /// The validation metrics (properties `metric:<name>` that hold numbers).
    pub metrics: BTreeMap<String, f64>,
}

/// A described package with all its customer metadata.
#[derive(Clone, Debug)]
struct Described {
    package: ModelPackage,
    properties: HashMap<String, String>,
}

/// The SageMaker model registry through one injected client.
#[derive(Clone, Debug)]
pub struct ModelPackages {
    client: Client,
}

impl ModelPackages {
    /// The registry through `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The registry for the configuration's region, credentials and endpoint URL.
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// The ARN of the model package group `group`: the existing one, or a new one created with
    /// `description` and `tags` (an existing group keeps its description and tags).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad name or description (before any call);
    /// [`Error::SageMaker`] when describing or creating the group fails.
    pub async fn ensure_group(
        &self,
        group: &str,
        description: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String> {
        check_group(group)?;
        check_description("group description", description)?;
        check_tags(tags)?;
        if let Some(arn) = self.group_arn(group).await? {
            return Ok(arn);
        }
        let created = self
            .client
            .create_model_package_group()
            .model_package_group_name(group)
            .set_model_package_group_description((!description.is_empty()).then(|| description.to_owned()))
            .set_tags(Some(crate::sagemaker::tags(tags)))
            .send()
            .await;
        match created {
            Ok(out) => {
                tracing::info!(group, "model package group created");
                Ok(out.model_package_group_arn().unwrap_or_default().to_owned())
            }
            // Someone else created it in between: that one will do.
            Err(e) => match self.group_arn(group).await {
                Ok(Some(arn)) => Ok(arn),
                _ => Err(sagemaker_error("CreateModelPackageGroup", group, e)),
            },
        }
    }

    /// Registers `spec` as a new version in its group (created first if need be), awaiting
    /// manual approval.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad spec, before any call; [`Error::SageMaker`] naming the
    /// operation that failed.
    pub async fn register(&self, spec: &PackageSpec) -> Result<ModelPackage> {
        spec.validate()?;
        let group = spec.group.as_str();
        self.ensure_group(group, &format!("Models of the workbench project {group}"), &spec.tags).await?;
        let container =
            ModelPackageContainerDefinition::builder().image(&spec.image).model_data_url(&spec.model_data_url).build();
        let inference = InferenceSpecification::builder()
            .containers(container)
            .set_supported_content_types(Some(spec.content_types.clone()))
            .set_supported_response_mime_types(Some(spec.response_types.clone()))
            .build();
        let out = self
            .client
            .create_model_package()
            .model_package_group_name(group)
            .set_model_package_description((!spec.description.is_empty()).then(|| spec.description.clone()))
            .inference_specification(inference)
            .model_approval_status(ModelApprovalStatus::PendingManualApproval)
            .set_customer_metadata_properties(Some(spec.properties()))
            // A versioned package takes its group's tags; SageMaker refuses `Tags` here.
            .send()
            .await
            .map_err(|e| sagemaker_error("CreateModelPackage", group, e))?;
        let arn = out.model_package_arn().unwrap_or_default().to_owned();
        let version = version_from_arn(&arn);
        tracing::info!(group, model = %spec.model, arn, version, "model package registered");
        Ok(ModelPackage {
            arn,
            group: group.to_owned(),
            version,
            model: Some(spec.model.as_str().to_owned()),
            approval: ModelApprovalStatus::PendingManualApproval.as_str().to_owned(),
            metrics: spec.metrics.clone(),
        })
    }

    /// Every package of `group` with its model name, approval and metrics, oldest first. A group
    /// that does not exist has none.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad group name; [`Error::SageMaker`] when listing or describing
    /// fails.
    pub async fn list(&self, group: &str) -> Result<Vec<ModelPackage>> {
        check_group(group)?;
        Ok(self.described(group).await?.into_iter().map(|d| d.package).collect())
    }

    /// The newest package of the workbench model `model` in `group`, if any.
    ///
    /// # Errors
    /// As [`ModelPackages::list`].
    pub async fn find(&self, group: &str, model: &ModelName) -> Result<Option<ModelPackage>> {
        check_group(group)?;
        Ok(newest_of(self.described(group).await?, model).map(|d| d.package))
    }

    /// Sets the package `arn` to `Approved`, with `description` as the approval description.
    ///
    /// The package's customer metadata is sent along unchanged: SageMaker merges it (a no-op),
    /// while moto 5.2.5 would otherwise drop it on every update.
    ///
    /// # Errors
    /// [`Error::Invalid`] for something that is not a model package ARN or a description that is
    /// too long; [`Error::SageMaker`] when the package cannot be described or updated.
    pub async fn approve(&self, arn: &str, description: &str) -> Result<()> {
        check_package_arn(arn)?;
        check_description("approval description", description)?;
        let out = self
            .client
            .describe_model_package()
            .model_package_name(arn)
            .send()
            .await
            .map_err(|e| sagemaker_error("DescribeModelPackage", arn, e))?;
        let described = described_from(arn, "", &out);
        self.set_approval(&described, ModelApprovalStatus::Approved, description).await?;
        tracing::info!(arn, "model package approved");
        Ok(())
    }

    /// Makes the newest package of `model` the group's approved one: it is set to `Approved`
    /// (with `description`), then every other `Approved` package of the group goes back to
    /// `PendingManualApproval` ("superseded by ...").
    ///
    /// Why `PendingManualApproval` and not `Rejected`: SageMaker users (and the MLOps project
    /// templates, which deploy the latest `Approved` version) read `Approved` as "the one to
    /// deploy" and `Rejected` as "reviewed and found unfit". A model that a newer promotion
    /// replaced was not found unfit — it can be promoted again — so it returns to awaiting a
    /// decision. The promoted package is approved first, so the group never lacks an approved
    /// package part-way through.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad group name or description, or when `model` has no package in
    /// the group; [`Error::SageMaker`] naming the operation that failed.
    pub async fn promote(&self, group: &str, model: &ModelName, description: &str) -> Result<ModelPackage> {
        check_group(group)?;
        check_description("approval description", description)?;
        let packages = self.described(group).await?;
        let Some(target) = newest_of(packages.clone(), model) else {
            return invalid("model", model.as_str(), &format!("a model registered in model package group {group}"));
        };
        self.set_approval(&target, ModelApprovalStatus::Approved, description).await?;
        let superseded = format!(
            "superseded by {model}{}",
            target.package.version.map(|v| format!(" (version {v})")).unwrap_or_default()
        );
        let approved = ModelApprovalStatus::Approved.as_str();
        for other in packages.iter().filter(|p| p.package.arn != target.package.arn && p.package.approval == approved) {
            self.set_approval(other, ModelApprovalStatus::PendingManualApproval, &superseded).await?;
            tracing::info!(group, arn = %other.package.arn, "model package no longer approved");
        }
        tracing::info!(group, model = %model, arn = %target.package.arn, "model package promoted");
        Ok(ModelPackage { approval: approved.to_owned(), ..target.package })
    }

    /// Deletes every package of `group`, then the group; returns what was deleted (packages
    /// first). A missing group (or package) is skipped, so deleting twice is harmless.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad group name; [`Error::SageMaker`] for failures other than
    /// "not found".
    pub async fn delete_group(&self, group: &str) -> Result<Vec<TaggedResource>> {
        check_group(group)?;
        let Some(arn) = self.group_arn(group).await? else { return Ok(Vec::new()) };
        let mut found = self.package_resources(group).await?;
        found.push(TaggedResource { kind: "model-package-group", name: group.to_owned(), arn });
        self.delete(&found).await?;
        tracing::info!(group, deleted = found.len(), "model package group deleted");
        Ok(found)
    }

    /// Every model package group tagged `key` = `value`, and its packages, in deletion order
    /// (all packages first, then the groups).
    ///
    /// # Errors
    /// [`Error::SageMaker`] when listing or reading tags fails.
    pub async fn tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let groups: Vec<_> = self
            .client
            .list_model_package_groups()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| sagemaker_error("ListModelPackageGroups", "model package groups", e))?;
        let mut packages = Vec::new();
        let mut tagged_groups = Vec::new();
        for summary in &groups {
            let (Some(name), Some(arn)) = (summary.model_package_group_name(), summary.model_package_group_arn())
            else {
                continue;
            };
            let group_tags: std::result::Result<Vec<_>, _> =
                self.client.list_tags().resource_arn(arn).into_paginator().items().send().collect().await;
            let group_tags = match group_tags {
                Ok(t) => t,
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(sagemaker_error("ListTags", arn, e)),
            };
            if group_tags.iter().any(|t| t.key() == Some(key) && t.value() == Some(value)) {
                packages.extend(self.package_resources(name).await?);
                tagged_groups.push(TaggedResource {
                    kind: "model-package-group",
                    name: name.to_owned(),
                    arn: arn.to_owned(),
                });
            }
        }
        packages.extend(tagged_groups);
        Ok(packages)
    }

    /// Deletes everything [`ModelPackages::tagged`] finds, packages first; returns it.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn delete_tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let found = self.tagged(key, value).await?;
        self.delete(&found).await?;
        Ok(found)
    }

    /// Deletes `resources` (packages and groups, as [`ModelPackages::tagged`] lists them) in
    /// order, skipping those already gone.
    ///
    /// # Errors
    /// [`Error::SageMaker`] for failures other than "not found".
    pub async fn delete(&self, resources: &[TaggedResource]) -> Result<()> {
        for r in resources {
            if r.kind == "model-package" {
                let result = self.client.delete_model_package().model_package_name(&r.arn).send().await;
                ignore_missing(result, "DeleteModelPackage", &r.arn)?;
            } else {
                let result = self.client.delete_model_package_group().model_package_group_name(&r.name).send().await;
                ignore_missing(result, "DeleteModelPackageGroup", &r.name)?;
            }
            tracing::debug!(kind = r.kind, name = %r.name, "deleted");
        }
        Ok(())
    }

    /// The group's ARN, or `None` when it does not exist.
    async fn group_arn(&self, group: &str) -> Result<Option<String>> {
        match self.client.describe_model_package_group().model_package_group_name(group).send().await {
            Ok(out) => Ok(Some(out.model_package_group_arn().unwrap_or_default().to_owned())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(sagemaker_error("DescribeModelPackageGroup", group, e)),
        }
    }

    /// The group's packages (ARN and version), oldest first; none for a missing group.
    async fn summaries(&self, group: &str) -> Result<Vec<(String, Option<i32>)>> {
        let listed: std::result::Result<Vec<_>, _> = self
            .client
            .list_model_packages()
            .model_package_group_name(group)
            .sort_by(ModelPackageSortBy::CreationTime)
            .sort_order(SortOrder::Ascending)
            .into_paginator()
            .items()
            .send()
            .collect()
            .await;
        let listed = match listed {
            Ok(listed) => listed,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(sagemaker_error("ListModelPackages", group, e)),
        };
        let mut packages: Vec<(String, Option<i32>)> = listed
            .iter()
            .filter_map(|s| {
                let arn = s.model_package_arn()?;
                Some((arn.to_owned(), s.model_package_version().or_else(|| version_from_arn(arn))))
            })
            .collect();
        // Versions grow with creation; a stable sort keeps the listing order for ties.
        packages.sort_by_key(|(_, version)| version.unwrap_or(i32::MAX));
        Ok(packages)
    }

    /// The group's packages as resources to delete.
    async fn package_resources(&self, group: &str) -> Result<Vec<TaggedResource>> {
        Ok(self
            .summaries(group)
            .await?
            .into_iter()
            .map(|(arn, version)| TaggedResource {
                kind: "model-package",
                name: version.map_or_else(|| group.to_owned(), |v| format!("{group}/{v}")),
                arn,
            })
            .collect())
    }

    /// The group's packages, described, oldest first.
    async fn described(&self, group: &str) -> Result<Vec<Described>> {
        let summaries = self.summaries(group).await?;
        let described: Vec<Result<Option<Described>>> = futures::stream::iter(summaries)
            .map(|(arn, _)| async move {
                match self.client.describe_model_package().model_package_name(&arn).send().await {
                    Ok(out) => Ok(Some(described_from(&arn, group, &out))),
                    // Deleted since it was listed.
                    Err(e) if is_not_found(&e) => Ok(None),
                    Err(e) => Err(sagemaker_error("DescribeModelPackage", &arn, e)),
                }
            })
            .buffered(DESCRIBE_CONCURRENCY)
            .collect()
            .await;
        described.into_iter().filter_map(Result::transpose).collect()
    }

    /// `UpdateModelPackage` to `status` with `description`, re-sending the package's metadata.
    async fn set_approval(&self, package: &Described, status: ModelApprovalStatus, description: &str) -> Result<()> {
        let arn = package.package.arn.as_str();
        self.client
            .update_model_package()
            .model_package_arn(arn)
            .model_approval_status(status)
            .set_approval_description((!description.is_empty()).then(|| description.to_owned()))
            .set_customer_metadata_properties((!package.properties.is_empty()).then(|| package.properties.clone()))
            .send()
            .await
            .map_err(|e| sagemaker_error("UpdateModelPackage", arn, e))?;
        Ok(())
    }
}

/// The newest (last) of `packages` that mirrors `model`.
fn newest_of(packages: Vec<Described>, model: &ModelName) -> Option<Described> {
    packages.into_iter().rev().find(|d| d.package.model.as_deref() == Some(model.as_str()))
}

/// A described package from `DescribeModelPackage`'s answer.
fn described_from(
    arn: &str,
    group: &str,
    out: &aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput,
) -> Described {
    let properties = out.customer_metadata_properties().cloned().unwrap_or_default();
    let metrics = properties
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix(METRIC_PREFIX)?;
            match value.parse::<f64>() {
                Ok(v) => Some((name.to_owned(), v)),
                Err(_) => {
                    tracing::debug!(arn, key, value, "metric property is not a number; skipped");
                    None
                }
            }
        })
        .collect();
    let package = ModelPackage {
        arn: out.model_package_arn().unwrap_or(arn).to_owned(),
        group: out.model_package_group_name().unwrap_or(group).to_owned(),
        version: out.model_package_version().or_else(|| version_from_arn(arn)),
        model: properties.get(MODEL_PROPERTY).cloned(),
        approval: out.model_approval_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        metrics,
    };
    Described { package, properties }
}

/// A metric as a property value: the shortest text that parses back to the same number, in
/// exponent form when the plain form would be too long.
fn metric_value(value: f64) -> String {
    let plain = value.to_string();
    if plain.len() <= 32 { plain } else { format!("{value:e}") }
}

/// The version at the end of a versioned package ARN (`.../model-package/<group>/<version>`).
fn version_from_arn(arn: &str) -> Option<i32> {
    let (_, rest) = arn.split_once(":model-package/")?;
    let (_, version) = rest.rsplit_once('/')?;
    version.parse().ok()
}

fn invalid<T>(field: &'static str, value: &str, expected: &str) -> Result<T> {
    Err(Error::Invalid { field, value: value.to_owned(), expected: expected.to_owned() })
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn check_group(group: &str) -> Result<()> {
    if wb_core::check_sagemaker_name("model package group", group).is_err() {
        return invalid(
            "group",
            group,
            "a SageMaker name: 1 to 63 ASCII letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    Ok(())
}

fn check_description(field: &'static str, description: &str) -> Result<()> {
    if description.chars().count() > MAX_DESCRIPTION_LEN || has_control(description) {
        return invalid(field, description, "at most 1024 characters, without control characters");
    }
    Ok(())
}

fn check_package_arn(arn: &str) -> Result<()> {
    let ok = arn.starts_with("arn:aws") && arn.contains(":sagemaker:") && arn.contains(":model-package/");
    if !ok || arn.len() > 2048 {
        return invalid(
            "model package",
            arn,
            "a model package ARN, arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
        );
    }
    Ok(())
}

/// Each type must look like `type/subtype`; at least one is needed.
fn check_media_types(field: &'static str, types: &[String], max_len: usize) -> Result<()> {
    if types.is_empty() {
        return invalid(field, "", "at least one MIME type such as text/csv");
    }
    for t in types {
        let well_formed = t.split_once('/').is_some_and(|(kind, sub)| {
            !kind.is_empty() && kind.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') && !sub.is_empty()
        });
        if !well_formed || t.len() > max_len || t.chars().any(char::is_whitespace) {
            return invalid(field, t, "a MIME type such as text/csv");
        }
    }
    Ok(())
}

fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return invalid("tags", &tags.len().to_string(), "at most 50 tags");
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return invalid("tag", key, "a key of 1 to 128 characters not starting with aws:");
        }
        if value.chars().count() > 256 {
            return invalid("tag", &format!("{key}={value}"), "a value of at most 256 characters");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PackageSpec {
        PackageSpec {
            group: "wine".into(),
            model: ModelName::parse("wine-forest").expect("name"),
            description: "a forest".into(),
            image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:1".into(),
            model_data_url: "s3://bucket/wb/training/j/output/model.tar.gz".into(),
            content_types: vec!["text/csv".into()],
            response_types: vec!["text/csv".into(), "application/json".into()],
            metrics: BTreeMap::from([("rmse".into(), 0.5)]),
            metadata: BTreeMap::from([("dataset".into(), "wine-quality".into())]),
            tags: BTreeMap::from([("workbench:project".into(), "wine".into())]),
        }
    }

    #[test]
    fn specs_are_checked_before_anything_is_created() {
        assert!(spec().validate().is_ok());
        type Break = fn(&mut PackageSpec);
        let cases: [(&str, Break); 17] = [
            ("group", |s| s.group = "bad_group".into()),
            ("group", |s| s.group = "g".repeat(64)),
            ("group", |s| s.group = String::new()),
            ("description", |s| s.description = "d".repeat(1025)),
            ("description", |s| s.description = "two\nlines".into()),
            ("image", |s| s.image = String::new()),
            ("model data", |s| s.model_data_url = "/tmp/model.tar.gz".into()),
            ("model data", |s| s.model_data_url = "s3:///model.tar.gz".into()),
            ("content type", |s| s.content_types.clear()),
            ("response type", |s| s.response_types = vec!["json".into()]),
            ("metric", |s| {
                s.metrics.insert("m".repeat(122), 1.0);
            }),
            ("metric", |s| {
                s.metrics.insert("nan".into(), f64::NAN);
            }),
            ("metadata", |s| {
                s.metadata.insert(MODEL_PROPERTY.into(), "other".into());
            }),
            ("metadata", |s| {
                s.metadata.insert("metric:rmse".into(), "1".into());
            }),
            ("metadata", |s| {
                s.metadata.insert("long".into(), "v".repeat(257));
            }),
            ("metadata", |s| s.metrics = (0..50).map(|i| (format!("m{i}"), 1.0)).collect()),
            ("tag", |s| {
                s.tags.insert("aws:reserved".into(), "x".into());
            }),
        ];
        for (field, breaks) in cases {
            let mut s = spec();
            breaks(&mut s);
            let err = s.validate().expect_err(field);
            assert!(err.to_string().starts_with(&format!("invalid {field} ")), "{field}: {err}");
        }
        // The limits themselves are fine.
        let mut edge = spec();
        edge.metrics = (0..48).map(|i| (format!("m{i}"), 1.0)).collect();
        edge.metrics.insert("m".repeat(121), 2.0);
        edge.metadata.clear();
        edge.description = "d".repeat(1024);
        assert!(edge.validate().is_ok(), "{:?}", edge.validate());
    }

    #[test]
    fn properties_hold_the_model_metrics_and_metadata() {
        let props = spec().properties();
        assert_eq!(props.get(MODEL_PROPERTY).map(String::as_str), Some("wine-forest"));
        assert_eq!(props.get("metric:rmse").map(String::as_str), Some("0.5"));
        assert_eq!(props.get("dataset").map(String::as_str), Some("wine-quality"));
        assert_eq!(props.len(), 3);
    }

    #[test]
    fn metric_values_round_trip_within_the_value_limit() {
        for v in [0.0, -0.0, 0.1, 1.0 / 3.0, 1e300, -1e-300, f64::MAX, f64::MIN_POSITIVE, 123_456_789.0] {
            let text = metric_value(v);
            assert!(text.len() <= MAX_PROPERTY_VALUE_LEN, "{text}");
            assert_eq!(text.parse::<f64>().expect("parses"), v, "{text}");
        }
        assert_eq!(metric_value(0.25), "0.25");
        assert_eq!(metric_value(1e300), "1e300");
    }

    #[test]
    fn versions_come_from_package_arns() {
        assert_eq!(version_from_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/wine/12"), Some(12));
        assert_eq!(version_from_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned"), None);
        assert_eq!(version_from_arn("arn:aws:sagemaker:us-east-1:123456789012:model/x/1"), None);
    }

    #[test]
    fn package_arns_are_checked() {
        assert!(check_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/wine/1").is_ok());
        assert!(check_package_arn("wine/1").is_err());
        assert!(check_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model/wine").is_err());
    }
}

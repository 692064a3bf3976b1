//! `workbench.toml`: the project's configuration, found by searching upward from a directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::uri::StoreUri;

/// The file name the workbench looks for.
pub const CONFIG_FILE: &str = "workbench.toml";

/// Which backend trains and hosts models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// In-process training and a local model server; the default.
    #[default]
    Local,
    /// SageMaker training jobs and endpoints (needs an `s3://` store).
    Sagemaker,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::Sagemaker => "sagemaker",
        })
    }
}

/// The `[project]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Project name; becomes the value of the `workbench:project` tag on every resource.
    pub name: String,
}

impl Default for ProjectConfig {
    fn default() -> Self {
        Self { name: "workbench".into() }
    }
}

/// The `[store]` table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `s3://bucket/prefix`, `file:///dir`, or a directory relative to the config file.
    pub uri: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { uri: ".workbench".into() }
    }
}

/// The `[backend]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// `local` (default) or `sagemaker`.
    #[serde(default)]
    pub kind: BackendKind,
    /// The workbench's own container image (an ECR URI of `wb-container`, built from the
    /// repository's `Dockerfile`) that runs the workbench's algorithms on SageMaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// SageMaker training instance type (default `ml.m5.large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_instance_type: Option<String>,
    /// SageMaker hosting instance type (default `ml.m5.large`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosting_instance_type: Option<String>,
    /// Mirror registered models into a SageMaker model package group named after the project
    /// (default `true` on the sagemaker backend); `wb promote` approves the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_registry: Option<bool>,
}

/// The `[datasets]` table: defaults for partitioning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetDefaults {
    /// Share of rows for training.
    pub train: f64,
    /// Share of rows for validation.
    pub validation: f64,
    /// Share of rows for the held-out test split.
    pub test: f64,
    /// Seed of the partition's random permutation.
    pub seed: u64,
    /// Cell values that mean "missing" in CSV sources.
    pub missing: Vec<String>,
}

impl Default for DatasetDefaults {
    fn default() -> Self {
        Self { train: 0.6, validation: 0.2, test: 0.2, seed: 42, missing: vec![String::new(), "?".into()] }
    }
}

/// The `[aws]` table. Credentials never live here: they come from the standard AWS chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Region (otherwise the AWS configuration's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// IAM role SageMaker assumes for training and hosting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Endpoint URL override (e.g. a moto server); `AWS_ENDPOINT_URL` works too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// KMS key for server-side encryption; AES256 (SSE-S3) when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

/// The whole `workbench.toml`.
///
/// ```toml
/// [project]
/// name = "readmission"
///
/// [store]
/// uri = ".workbench"            # or s3://bucket/prefix
///
/// [backend]
/// kind = "local"
///
/// [datasets]
/// seed = 42
///
/// [tags]
/// team = "ml"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Project identity.
    #[serde(default)]
    pub project: ProjectConfig,
    /// Where state lives.
    #[serde(default)]
    pub store: StoreConfig,
    /// Which backend trains and hosts.
    #[serde(default)]
    pub backend: BackendConfig,
    /// Partitioning defaults.
    #[serde(default)]
    pub datasets: DatasetDefaults,
    /// AWS settings for the sagemaker backend and S3 stores.
    #[serde(default)]
    pub aws: AwsConfig,
    /// Extra tags put on every resource the project creates.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl Config {
    /// Parses a configuration document; `path` is used in error messages only.
    ///
    /// # Errors
    /// [`Error::Config`] with the parser's line and column, or the rule broken.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        let config: Self =
            toml::from_str(text).map_err(|e| Error::Config { path: path.to_owned(), message: e.to_string() })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Checks the cross-field rules.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |message: String| Err(Error::Config { path: path.to_owned(), message });
        let d = &self.datasets;
        for (field, v) in [("train", d.train), ("validation", d.validation), ("test", d.test)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("datasets.{field} = {v} must be between 0 and 1"));
            }
        }
        let sum = d.train + d.validation + d.test;
        if (sum - 1.0).abs() > 1e-9 {
            return bad(format!("datasets.train + validation + test = {sum} must be 1"));
        }
        if self.project.name.trim().is_empty() {
            return bad("project.name must not be empty".into());
        }
        let uri = StoreUri::parse_relative_to(&self.store.uri, Path::new("/"))
            .map_err(|e| Error::Config { path: path.to_owned(), message: format!("store.uri: {e}") })?;
        if self.backend.kind == BackendKind::Sagemaker && !matches!(uri, StoreUri::S3 { .. }) {
            return bad(format!("backend.kind = \"sagemaker\" needs an s3:// store.uri, not {:?}", self.store.uri));
        }
        if self.backend.kind == BackendKind::Sagemaker && self.aws.role_arn.as_deref().is_none_or(str::is_empty) {
            return bad("backend.kind = \"sagemaker\" needs aws.role_arn, the IAM role SageMaker assumes \
                 (wb init --role ARN, or role_arn under [aws])"
                .into());
        }
        Ok(())
    }

    /// Renders the configuration as TOML.
    #[must_use]
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// A configuration together with where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedConfig {
    /// The `workbench.toml` file.
    pub path: PathBuf,
    /// Its contents.
    pub config: Config,
}

impl LoadedConfig {
    /// Loads a specific file.
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::Config`] when malformed.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))?;
        let path = std::path::absolute(path).map_err(|e| Error::io("resolving", path, e))?;
        let config = Config::from_toml(&text, &path)?;
        Ok(Self { path, config })
    }

    /// Searches `start` and its ancestors for `workbench.toml` and loads the first one found.
    ///
    /// # Errors
    /// [`Error::ConfigNotFound`] when there is none; otherwise as [`LoadedConfig::load`].
    pub fn discover(start: &Path) -> Result<Self> {
        let start = std::path::absolute(start).map_err(|e| Error::io("resolving", start, e))?;
        let found = start.ancestors().map(|dir| dir.join(CONFIG_FILE)).find(|candidate| candidate.is_file());
        match found {
            Some(path) => Self::load(&path),
            None => Err(Error::ConfigNotFound { start }),
        }
    }

    /// The directory holding the configuration file.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    /// The store URI, with a relative local path resolved against the config's directory.
    ///
    /// # Errors
    /// [`Error::Config`] when the URI is invalid.
    pub fn store_uri(&self) -> Result<StoreUri> {
        StoreUri::parse_relative_to(&self.config.store.uri, self.dir())
            .map_err(|e| Error::Config { path: self.path.clone(), message: format!("store.uri: {e}") })
    }

    /// The tags every resource of this project carries: `workbench:project` plus `[tags]`.
    #[must_use]
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self.config.tags.clone();
        tags.insert(PROJECT_TAG.into(), self.config.project.name.clone());
        tags
    }
}

/// The tag key that marks every resource the project creates.
pub const PROJECT_TAG: &str = "workbench:project";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip() {
        let c = Config::default();
        let text = c.to_toml();
        assert_eq!(Config::from_toml(&text, Path::new("x.toml")).expect("parse"), c);
    }

    #[test]
    fn errors_name_file_and_field() {
        let p = Path::new("/p/workbench.toml");
        let e = Config::from_toml("[store]\nuri = 3\n", p).expect_err("type").to_string();
        assert!(e.contains("/p/workbench.toml") && e.contains("line 2"), "{e}");
        let e = Config::from_toml("[stor]\nuri='x'\n", p).expect_err("unknown").to_string();
        assert!(e.contains("stor"), "{e}");
        let e = Config::from_toml("[datasets]\ntrain=0.9\n", p).expect_err("sum").to_string();
        assert!(e.contains("must be 1"), "{e}");
        let e = Config::from_toml("[backend]\nkind='sagemaker'\n", p).expect_err("s3").to_string();
        assert!(e.contains("needs an s3://"), "{e}");
        let e = Config::from_toml("[store]\nuri='ftp://x'\n", p).expect_err("scheme").to_string();
        assert!(e.contains("unknown scheme"), "{e}");
    }

    #[test]
    fn discovers_upward_and_resolves_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(CONFIG_FILE), "[project]\nname = \"demo\"\n").expect("write");
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).expect("mkdir");
        let loaded = LoadedConfig::discover(&nested).expect("found");
        assert_eq!(loaded.config.project.name, "demo");
        assert_eq!(loaded.store_uri().expect("uri"), StoreUri::Local(dir.path().join(".workbench")));
        assert_eq!(loaded.tags().get(PROJECT_TAG).map(String::as_str), Some("demo"));
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(matches!(LoadedConfig::discover(empty.path()), Err(Error::ConfigNotFound { .. })));
    }
}

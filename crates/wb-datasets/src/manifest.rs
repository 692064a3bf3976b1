//! The registration record and the partition manifest, as stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wb_core::{ContentHash, DatasetName, ObjectPath};

use crate::encoding::Encoding;
use crate::spec::{PartitionSpec, Split};

/// Version of the manifest document format.
pub const MANIFEST_FORMAT: u32 = 1;

/// The format of a dataset's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// CSV with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// One column of the source schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Arrow data type, as Arrow prints it (`Int64`, `Float64`, `Utf8`, ...).
    pub data_type: String,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

/// The bytes a dataset was registered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `file:///...` or a URI inside the store.
    pub uri: String,
    /// CSV or Parquet.
    pub format: SourceFormat,
    /// Content hash of the source bytes.
    pub fingerprint: ContentHash,
    /// Size in bytes.
    pub size: u64,
}

/// `datasets/<name>/dataset.json`: what was registered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// The dataset.
    pub name: DatasetName,
    /// Its source.
    pub source: SourceInfo,
    /// The target column.
    pub target: String,
    /// The optional row-key column.
    pub key: Option<String>,
    /// CSV tokens read as missing.
    pub missing: Vec<String>,
    /// Columns that are not features (absent from records written before exclusions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Feature columns a JSON instance may leave out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
    /// The source schema.
    pub schema: Vec<ColumnSchema>,
    /// Registration version (1, then +1 per `--new-version`).
    pub version: u32,
    /// When it was registered (RFC 3339).
    pub registered_at: String,
}

impl DatasetRecord {
    /// Feature columns: every column but the target, the key and the excluded ones, in source
    /// order.
    #[must_use]
    pub fn feature_columns(&self) -> Vec<String> {
        self.schema
            .iter()
            .map(|c| c.name.clone())
            .filter(|n| *n != self.target && Some(n) != self.key.as_ref() && !self.exclude.contains(n))
            .collect()
    }

    /// Differences in what defines the registration (everything but time and version).
    #[must_use]
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut d = Vec::new();
        if self.source.uri != other.source.uri {
            d.push(format!("source {} vs {}", self.source.uri, other.source.uri));
        }
        if self.source.fingerprint != other.source.fingerprint {
            d.push(format!("source fingerprint {} vs {}", self.source.fingerprint, other.source.fingerprint));
        }
        if self.target != other.target {
            d.push(format!("target {:?} vs {:?}", self.target, other.target));
        }
        if self.key != other.key {
            d.push(format!("key {:?} vs {:?}", self.key, other.key));
        }
        if self.missing != other.missing {
            d.push(format!("missing tokens {:?} vs {:?}", self.missing, other.missing));
        }
        if self.exclude != other.exclude {
            d.push(format!("excluded columns {:?} vs {:?}", self.exclude, other.exclude));
        }
        if self.optional != other.optional {
            d.push(format!("optional columns {:?} vs {:?}", self.optional, other.optional));
        }
        if self.schema != other.schema {
            d.push("schema differs".into());
        }
        d
    }
}

/// What the target is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Task {
    /// Predict one of `classes` (the class index is the label models use).
    Classification {
        /// Class labels in index order.
        classes: Vec<String>,
    },
    /// Predict a number.
    Regression,
}

impl Task {
    /// `classification` or `regression`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Which kind of task, without the classes.
    #[must_use]
    pub fn kind(&self) -> TaskKind {
        match self {
            Self::Classification { .. } => TaskKind::Classification,
            Self::Regression => TaskKind::Regression,
        }
    }
}

/// The kind of a [`Task`], as documents that list the classes apart name it
/// (`"classification"` / `"regression"` in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Predict a class.
    Classification,
    /// Predict a number.
    Regression,
}

impl TaskKind {
    /// `classification` or `regression`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Classification => "classification",
            Self::Regression => "regression",
        }
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One stored file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its path in the store.
    pub path: ObjectPath,
    /// Its full URI.
    pub uri: String,
    /// Content hash.
    pub hash: ContentHash,
    /// Size in bytes.
    pub size: u64,
    /// Data rows in it.
    pub rows: u64,
}

/// One split's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitManifest {
    /// Rows in the split.
    pub rows: u64,
    /// Rows per class label (classification only).
    pub class_counts: BTreeMap<String, u64>,
    /// Parquet files holding the split's rows (all source columns).
    pub files: Vec<FileEntry>,
    /// The SageMaker CSV channel file: target first, encoded features, no header.
    pub channel: FileEntry,
    /// The channel prefix SageMaker training reads (`.../channels/<split>/`).
    pub channel_prefix: String,
}

/// `datasets/<name>/manifest.json`: the dataset's partition, the contract every model shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Document format version.
    pub format: u32,
    /// The dataset.
    pub dataset: DatasetName,
    /// Partition version: 1, then +1 per `--new-version`.
    pub version: u32,
    /// Fingerprint of every input of the partition; models record it.
    pub fingerprint: ContentHash,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// Partition algorithm and version (`wb-stratified-v1` / `wb-keyhash-v1`).
    pub algorithm: String,
    /// The registration it was made from.
    pub registration: DatasetRecord,
    /// Proportions, seed, stratification.
    pub spec: PartitionSpec,
    /// Classification (with classes) or regression.
    pub task: Task,
    /// The encoding every model must share (fitted on train).
    pub features: Encoding,
    /// The three splits.
    pub splits: BTreeMap<Split, SplitManifest>,
    /// The fingerprint of the version this one replaced.
    pub previous: Option<ContentHash>,
}

impl Manifest {
    /// The split's entry.
    ///
    /// # Panics
    /// Never for manifests written by this crate (all three splits are present).
    #[must_use]
    pub fn split(&self, split: Split) -> &SplitManifest {
        &self.splits[&split]
    }

    /// Every file the manifest references.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.splits.values().flat_map(|s| s.files.iter().chain(std::iter::once(&s.channel)))
    }

    /// Differences in the inputs between two manifests, for conflict messages.
    #[must_use]
    pub fn input_differences(&self, requested: &PartitionInputs) -> Vec<String> {
        let mut d = Vec::new();
        let (a, b) = (&self.spec, &requested.spec);
        if a.seed != b.seed {
            d.push(format!("seed {} vs {}", a.seed, b.seed));
        }
        if a.proportions() != b.proportions() {
            d.push(format!(
                "proportions {}/{}/{} vs {}/{}/{}",
                a.train, a.validation, a.test, b.train, b.validation, b.test
            ));
        }
        if a.stratify != b.stratify {
            d.push(format!("stratify {} vs {}", a.stratify, b.stratify));
        }
        d.extend(self.registration.differences(&requested.registration));
        if self.algorithm != requested.algorithm {
            d.push(format!("algorithm {} vs {}", self.algorithm, requested.algorithm));
        }
        if d.is_empty() && self.fingerprint != requested.fingerprint() {
            d.push(format!("fingerprint {} vs {}", self.fingerprint, requested.fingerprint()));
        }
        d
    }
}

/// Everything that determines a partition's bytes.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionInputs {
    /// The registration (its time and version do not count).
    pub registration: DatasetRecord,
    /// Proportions, seed, stratification.
    pub spec: PartitionSpec,
    /// Algorithm and version.
    pub algorithm: String,
}

impl PartitionInputs {
    /// A hash of the inputs: same inputs, same fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> ContentHash {
        let r = &self.registration;
        let canonical = serde_json::json!({
            "manifest_format": MANIFEST_FORMAT,
            "algorithm": self.algorithm,
            "spec": self.spec,
            "source_fingerprint": r.source.fingerprint,
            "source_format": r.source.format,
            "target": r.target,
            "key": r.key,
            "missing": r.missing,
            "schema": r.schema,
        });
        ContentHash::of_bytes(canonical.to_string().as_bytes())
    }
}

//! `model.tar.gz`: the fitted model, its input schema and its metadata.
//!
//! The archive holds three JSON files at its root, as the training container writes them into
//! `/opt/ml/model/`:
//!
//! | file | content |
//! |---|---|
//! | `model.json` | the [`FittedModel`] |
//! | `schema.json` | the [`ModelSchema`]: dataset, fingerprint, features and their shared encoding |
//! | `metadata.json` | the [`ModelMetadata`]: algorithm, hyperparameters, job, metrics |
//! | `model.safetensors` | image models only: the network's weights ([`crate::image_classifier`]); `model.json` then holds the architecture, image shape, normalisation and classes |
//!
//! Archives are reproducible: entries sorted by name, mtime 0, uid/gid 0, mode 0644, so equal
//! models have equal bytes (and equal content hashes).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image_classifier::ImageWeights;
pub use crate::image_classifier::WEIGHTS_FILE;
use crate::model::FittedModel;
use crate::schema::{ModelSchema, SCHEMA_FILE};

/// The fitted model's file in `model/`.
pub const MODEL_FILE: &str = "model.json";
/// The metadata file in `model/`.
pub const METADATA_FILE: &str = "metadata.json";
/// Largest member accepted when reading an archive (a model is JSON of a few MB at most).
const MAX_MEMBER_BYTES: u64 = 512 * 1024 * 1024;

/// What produced a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// The algorithm (`logistic-regression`, ...).
    pub algorithm: String,
    /// The hyperparameters as given (SageMaker's string map).
    pub hyperparameters: BTreeMap<String, String>,
    /// The training job, when known (`TRAINING_JOB_NAME`).
    pub job: Option<String>,
    /// Validation metrics by name.
    pub validation_metrics: BTreeMap<String, f64>,
    /// Rows trained on.
    pub train_rows: u64,
    /// When training finished (RFC 3339).
    pub trained_at: String,
    /// The workbench version that trained it.
    pub workbench_version: String,
}

/// A model ready to predict: what `model.tar.gz` holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelArtifact {
    /// The fitted model.
    pub model: FittedModel,
    /// Its input contract.
    pub schema: ModelSchema,
    /// What produced it.
    pub metadata: ModelMetadata,
}

impl ModelArtifact {
    /// Writes the files into `dir` (the container's `/opt/ml/model`): the three JSON files, and
    /// `model.safetensors` for an image model.
    ///
    /// # Errors
    /// [`Error::Io`] when a file cannot be written.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (name, bytes) in self.files()? {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    /// Reads the files from `dir` (`model.safetensors` too when `model.json` is an image model).
    ///
    /// # Errors
    /// [`Error::Artifact`] naming the missing or invalid file.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| Error::Artifact {
                what: path.display().to_string(),
                message: format!("cannot be read: {e}"),
            })
        };
        let weights = if dir.join(WEIGHTS_FILE).is_file() { Some(read(WEIGHTS_FILE)?) } else { None };
        Self::from_files(
            &dir.display().to_string(),
            &read(MODEL_FILE)?,
            &read(SCHEMA_FILE)?,
            &read(METADATA_FILE)?,
            weights.as_deref(),
        )
    }

    /// Packs the artefact as a reproducible `model.tar.gz`.
    ///
    /// # Errors
    /// [`Error::Artifact`] when serialization fails.
    pub fn to_tar_gz(&self) -> Result<Vec<u8>> {
        let files = self.files()?;
        pack_tar_gz(files.iter().map(|(n, b)| (*n, b.as_slice())))
    }

    /// Reads an artefact from `model.tar.gz` bytes. Only the known files are read (the three
    /// JSON files, and `model.safetensors` of an image model); links, directories and other
    /// members are ignored.
    ///
    /// # Errors
    /// [`Error::Artifact`] naming `what` when the archive is not gzip/tar or lacks a file.
    pub fn from_tar_gz(what: &str, bytes: &[u8]) -> Result<Self> {
        let err = |message: String| Error::Artifact { what: what.to_owned(), message };
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut found: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for entry in archive.entries().map_err(|e| err(format!("not a tar.gz archive: {e}")))? {
            let entry = entry.map_err(|e| err(format!("corrupt archive: {e}")))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(|e| err(format!("bad member name: {e}")))?.into_owned();
            let name = path.to_string_lossy().trim_start_matches("./").to_owned();
            if ![MODEL_FILE, SCHEMA_FILE, METADATA_FILE, WEIGHTS_FILE].contains(&name.as_str()) {
                continue;
            }
            let mut buf = Vec::new();
            entry.take(MAX_MEMBER_BYTES).read_to_end(&mut buf).map_err(|e| err(format!("cannot read {name}: {e}")))?;
            found.insert(name, buf);
        }
        let get = |name: &str| found.get(name).ok_or_else(|| err(format!("has no {name}")));
        let weights = found.get(WEIGHTS_FILE).map(Vec::as_slice);
        Self::from_files(what, get(MODEL_FILE)?, get(SCHEMA_FILE)?, get(METADATA_FILE)?, weights)
    }

    fn from_files(what: &str, model: &[u8], schema: &[u8], metadata: &[u8], weights: Option<&[u8]>) -> Result<Self> {
        let parse_err = |file: &str, e: serde_json::Error| Error::Artifact {
            what: what.to_owned(),
            message: format!("{file} is invalid: {e}"),
        };
        let mut artifact = Self {
            model: serde_json::from_slice(model).map_err(|e| parse_err(MODEL_FILE, e))?,
            schema: serde_json::from_slice(schema).map_err(|e| parse_err(SCHEMA_FILE, e))?,
            metadata: serde_json::from_slice(metadata).map_err(|e| parse_err(METADATA_FILE, e))?,
        };
        if let FittedModel::ImageClassifier { weights: slot, .. } = &mut artifact.model {
            let bytes = weights.ok_or_else(|| Error::Artifact {
                what: what.to_owned(),
                message: format!("an image model needs {WEIGHTS_FILE}, which is missing"),
            })?;
            *slot = ImageWeights::from_safetensors(&format!("{what}: {WEIGHTS_FILE}"), bytes)?;
        }
        artifact.check(what)?;
        Ok(artifact)
    }

    /// Checks that the model is well formed and fits its schema (feature count, class count).
    pub(crate) fn check(&self, what: &str) -> Result<()> {
        self.model.check().map_err(|e| Error::Artifact { what: what.to_owned(), message: e.to_string() })?;
        if let FittedModel::ImageClassifier { spec, .. } = &self.model {
            let err = |message: String| Err(Error::Artifact { what: what.to_owned(), message });
            if self.schema.image != Some(spec.image) {
                return err(format!(
                    "the model takes images of shape {} but the schema says {:?}",
                    spec.image, self.schema.image
                ));
            }
            if !self.schema.features.0.is_empty() {
                return err("an image model's schema lists tabular features".into());
            }
            if self.schema.classes() != spec.classes.as_slice() {
                return err("the model's class names differ from the schema's".into());
            }
            return Ok(());
        }
        let features = self.schema.features.0.len();
        if self.model.n_features() != features {
            return Err(Error::Artifact {
                what: what.to_owned(),
                message: format!(
                    "the model reads {} features but the schema lists {features}",
                    self.model.n_features()
                ),
            });
        }
        let expected = self.schema.classes().len();
        match self.model.classes() {
            Some(k) if k != expected => Err(Error::Artifact {
                what: what.to_owned(),
                message: format!("the model predicts {k} classes but the schema lists {expected}"),
            }),
            None if expected > 0 => Err(Error::Artifact {
                what: what.to_owned(),
                message: "a regression model for a classification dataset".into(),
            }),
            _ => Ok(()),
        }
    }

    /// The files of the artefact, sorted by name: `metadata.json`, `model.json`, then
    /// `model.safetensors` for an image model, and `schema.json`.
    ///
    /// # Errors
    /// [`Error::Artifact`] when serialization fails.
    pub fn files(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let json = |name: &str, r: serde_json::Result<Vec<u8>>| {
            r.map_err(|e| Error::Artifact { what: name.to_owned(), message: e.to_string() })
        };
        let mut files = vec![
            (METADATA_FILE, json(METADATA_FILE, serde_json::to_vec_pretty(&self.metadata))?),
            (MODEL_FILE, json(MODEL_FILE, serde_json::to_vec(&self.model))?),
        ];
        if let FittedModel::ImageClassifier { weights, .. } = &self.model {
            files.push((WEIGHTS_FILE, weights.to_safetensors()?));
        }
        files.push((SCHEMA_FILE, json(SCHEMA_FILE, serde_json::to_vec_pretty(&self.schema))?));
        Ok(files)
    }
}

/// Packs every regular file directly inside `dir` (sorted by name) as a reproducible tar.gz,
/// as SageMaker packs `/opt/ml/model`.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be read.
pub fn pack_dir(dir: &Path) -> Result<Vec<u8>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_type().map_err(|e| Error::io(entry.path(), e))?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        files.push((name, std::fs::read(&path).map_err(|e| Error::io(&path, e))?));
    }
    pack_tar_gz(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
}

fn pack_tar_gz<'a>(files: impl Iterator<Item = (&'a str, &'a [u8])>) -> Result<Vec<u8>> {
    let err = |e: std::io::Error| Error::Artifact { what: "model.tar.gz".into(), message: e.to_string() };
    let gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    builder.mode(tar::HeaderMode::Deterministic);
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, bytes).map_err(err)?;
    }
    let mut gz = builder.into_inner().map_err(err)?;
    gz.flush().map_err(err)?;
    gz.finish().map_err(err)
}

#[cfg(test)]
mod tests {
    use wb_core::{ContentHash, DatasetName};
    use wb_datasets::{Encoding, FeatureEncoding, FeatureKind, Task};

    use super::*;
    use crate::model::LinearModel;

    fn artifact(weights: Vec<f64>) -> ModelArtifact {
        ModelArtifact {
            model: FittedModel::Logistic {
                classes: 2,
                linear: LinearModel { weights: vec![weights], intercepts: vec![0.1] },
            },
            schema: ModelSchema {
                dataset: DatasetName::parse("toy").expect("name"),
                fingerprint: ContentHash::of_bytes(b"toy"),
                version: 1,
                target: "label".into(),
                task: Task::Classification { classes: vec!["no".into(), "yes".into()] },
                features: Encoding(vec![
                    FeatureEncoding {
                        name: "x".into(),
                        source_type: "Float64".into(),
                        kind: FeatureKind::Numeric { impute: 0.0 },
                    },
                    FeatureEncoding {
                        name: "c".into(),
                        source_type: "Utf8".into(),
                        kind: FeatureKind::Categorical { categories: vec!["a".into()] },
                    },
                ]),
                missing: vec!["?".into()],
                image: None,
                optional: Vec::new(),
            },
            metadata: ModelMetadata {
                algorithm: "logistic-regression".into(),
                hyperparameters: BTreeMap::from([("alpha".into(), "1".into())]),
                job: Some("j".into()),
                validation_metrics: BTreeMap::from([("auc".into(), 0.9)]),
                train_rows: 10,
                trained_at: "2026-11-23T00:00:00Z".into(),
                workbench_version: "0.1.0".into(),
            },
        }
    }

    #[test]
    fn archives_round_trip_and_are_reproducible() {
        let a = artifact(vec![1.0, -2.0]);
        let bytes = a.to_tar_gz().expect("pack");
        assert_eq!(bytes, a.to_tar_gz().expect("pack again"), "equal models pack to equal bytes");
        assert_eq!(ModelArtifact::from_tar_gz("mem", &bytes).expect("read"), a);

        let dir = tempfile::tempdir().expect("tempdir");
        a.write_dir(dir.path()).expect("write");
        assert_eq!(ModelArtifact::read_dir(dir.path()).expect("read dir"), a);
        assert_eq!(pack_dir(dir.path()).expect("pack dir"), bytes, "packing model/ gives the same archive");
    }

    #[test]
    fn a_model_that_does_not_fit_its_schema_or_a_broken_archive_is_refused() {
        let wrong = artifact(vec![1.0, -2.0, 3.0]).to_tar_gz().expect("pack");
        let err = ModelArtifact::from_tar_gz("wrong.tar.gz", &wrong).expect_err("3 weights, 2 features");
        assert!(err.to_string().contains("wrong.tar.gz") && err.to_string().contains("features"), "{err}");
        let err = ModelArtifact::from_tar_gz("junk", b"not a tarball").expect_err("junk");
        assert!(err.to_string().contains("junk"), "{err}");
    }
}

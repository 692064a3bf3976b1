//! The entry point: register, partition, list and open datasets in a store.

use std::collections::BTreeMap;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::DataType;
use ndarray::{Array1, Ix1};
use serde::Serialize;
use wb_core::{ContentHash, DatasetName, DynObjectStore, ObjectStoreExt, PutMode};

use crate::error::{Error, Result};
use crate::layout;
use crate::manifest::{DatasetRecord, FileEntry, Manifest, SourceInfo, Task};
use crate::partition::Partition;
use crate::source::{LocalSource, canonical_uri, format_of, to_columns};
use crate::source_index::SourceIndex;
use crate::spec::{PartitionSpec, Split};

/// What to register.
#[derive(Clone, Debug)]
pub struct RegisterRequest {
    /// The dataset's name.
    pub name: DatasetName,
    /// A local path or a URI inside the store (`.csv` or `.parquet`).
    pub source: String,
    /// The target column.
    pub target: String,
    /// An optional row-key column (its values decide splits; see [`crate::assign`]).
    pub key: Option<String>,
    /// CSV cells read as missing.
    pub missing: Vec<String>,
    /// Replace a registration made with different inputs.
    pub new_version: bool,
    /// Columns that are not features (identifiers, free text): no model of the dataset uses them.
    pub exclude: Vec<String>,
    /// Feature columns a JSON instance may leave out (imputed, as `null` is); every other
    /// column must be named in each instance.
    pub optional: Vec<String>,
}

/// What a registration did.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The stored record.
    pub record: DatasetRecord,
    /// False when an identical registration already existed.
    pub created: bool,
}

/// One line of `wb dataset list`.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetSummary {
    /// The dataset.
    pub name: DatasetName,
    /// `tabular` or `images`.
    pub kind: &'static str,
    /// Its target column.
    pub target: String,
    /// Its source URI.
    pub source: String,
    /// The partition fingerprint, when partitioned.
    pub fingerprint: Option<ContentHash>,
    /// Rows per split, when partitioned.
    pub rows: Option<BTreeMap<Split, u64>>,
}

/// The datasets of one store.
#[derive(Clone, Debug)]
pub struct Datasets {
    pub(crate) store: DynObjectStore,
}

impl Datasets {
    /// Datasets kept in `store`.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store }
    }

    /// Registers a dataset: checks the source, infers its schema, fingerprints its bytes.
    ///
    /// Registering the same inputs again changes nothing; different inputs are refused unless
    /// `new_version` is set.
    ///
    /// # Errors
    /// A missing target or key column, an unreadable source, or a conflicting registration.
    pub async fn register(&self, request: RegisterRequest) -> Result<Registration> {
        if self.is_image_dataset(&request.name).await? {
            return Err(Error::RegistrationConflict {
                name: request.name.to_string(),
                differences: vec!["it is registered as an image dataset".into()],
            });
        }
        let uri = canonical_uri(&request.source, self.store.uri())?;
        format_of(&uri)?;
        let source = LocalSource::fetch(self.store.as_ref(), &uri).await?;
        let missing = request.missing.clone();
        let target = request.target.clone();
        let (schema, fingerprint, size, index, source) = tokio::task::spawn_blocking(move || -> Result<_> {
            // The schema is inferred, the target tallied (for the source index) and the source
            // hashed: a plain CSV file is read by a line-end scan and by its chunks, whose bytes
            // are hashed as they are inferred.
            let crate::source::Inferred { schema, chunks, tally, fingerprint } = source.infer(&missing, &target)?;
            let size = std::fs::metadata(&source.path).map_err(|e| Error::io("reading", &source.path, e))?.len();
            let index = match (chunks, tally) {
                (Some(chunks), Some(tally)) => {
                    Some(SourceIndex { source: fingerprint, target, chunks, values: tally.values, ids: tally.ids })
                }
                _ => None,
            };
            Ok((schema, fingerprint, size, index, source))
        })
        .await
        .map_err(|e| Error::data("registering", e))??;
        let available: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let named = std::iter::once((&request.target, "target"))
            .chain(request.key.iter().map(|k| (k, "key")))
            .chain(request.exclude.iter().map(|c| (c, "excluded columns")))
            .chain(request.optional.iter().map(|c| (c, "optional columns")));
        for (column, role) in named {
            if !available.contains(column) {
                return Err(Error::MissingColumn {
                    source_name: uri.clone(),
                    column: column.clone(),
                    role,
                    available: available.clone(),
                });
            }
        }
        // Roles that exclude each other: (column, the role asked for).
        let asked = request
            .key
            .iter()
            .map(|k| (k, "the key"))
            .chain(request.exclude.iter().map(|c| (c, "excluded")))
            .chain(request.optional.iter().map(|c| (c, "optional")));
        for (column, role) in asked {
            let other = if *column == request.target {
                Some("the target")
            } else if role != "the key" && request.key.as_ref() == Some(column) {
                Some("the key")
            } else if role == "optional" && request.exclude.contains(column) {
                Some("excluded")
            } else {
                None
            };
            if let Some(other) = other {
                return Err(Error::ColumnRoleConflict { source_name: uri, column: column.clone(), other, role });
            }
        }
        let features = available
            .iter()
            .filter(|c| **c != request.target && request.key.as_ref() != Some(*c) && !request.exclude.contains(c))
            .count();
        if features == 0 {
            return Err(Error::BadSource {
                source_name: uri,
                reason: "it needs at least one feature column (besides the target, the key and the excluded columns)"
                    .into(),
            });
        }
        let dedup = |columns: Vec<String>| {
            let mut seen = Vec::new();
            for c in columns {
                if !seen.contains(&c) {
                    seen.push(c);
                }
            }
            seen
        };
        let mut record = DatasetRecord {
            name: request.name.clone(),
            source: SourceInfo { uri, format: source.format, fingerprint, size },
            target: request.target,
            key: request.key,
            missing: request.missing,
            exclude: dedup(request.exclude),
            optional: dedup(request.optional),
            schema: to_columns(&schema),
            version: 1,
            registered_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let path = layout::record_path(&request.name);
        match self.store.get_json::<DatasetRecord>(&path).await {
            Ok((existing, etag)) => {
                let differences = existing.differences(&record);
                if differences.is_empty() {
                    return Ok(Registration { record: existing, created: false });
                }
                if !request.new_version {
                    return Err(Error::RegistrationConflict { name: request.name.to_string(), differences });
                }
                record.version = existing.version + 1;
                self.put_source_index(&request.name, index).await?;
                self.store.put_json(&path, &record, PutMode::Update(etag)).await?;
            }
            Err(e) if e.is_not_found() => {
                self.put_source_index(&request.name, index).await?;
                self.store.put_json(&path, &record, PutMode::Create).await?;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(dataset = %record.name, source = %record.source.uri, "registered");
        Ok(Registration { record, created: true })
    }

    /// Starts a partition of a registered dataset; configure it and `.await` it.
    pub fn partition(&self, name: &DatasetName) -> Partition {
        Partition { store: self.store.clone(), name: name.clone(), spec: PartitionSpec::default(), new_version: false }
    }

    /// Stores the index of a registration's source, or removes the one of an earlier version
    /// when this source has none (an index only serves the bytes it describes, but a dataset
    /// keeps none that it does not use).
    async fn put_source_index(&self, name: &DatasetName, index: Option<SourceIndex>) -> Result<()> {
        let path = layout::source_index_path(name);
        match index {
            Some(index) => {
                self.store.put(&path, index.to_bytes().into()).await?;
            }
            None => self.store.delete(&path).await?,
        }
        Ok(())
    }

    /// The registration record of a dataset.
    ///
    /// # Errors
    /// [`Error::UnknownDataset`] when it is not registered.
    pub async fn record(&self, name: &DatasetName) -> Result<DatasetRecord> {
        match self.store.get_json(&layout::record_path(name)).await {
            Ok((record, _)) => Ok(record),
            Err(e) if e.is_not_found() => {
                if self.is_image_dataset(name).await? {
                    return Err(Error::TaskMismatch {
                        name: name.to_string(),
                        task: "image",
                        wanted: "this reads tabular datasets (image datasets: `wb dataset show` and the image channels)",
                    });
                }
                Err(Error::UnknownDataset { name: name.to_string() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a partitioned dataset for reading.
    ///
    /// # Errors
    /// [`Error::UnknownDataset`] or [`Error::NotPartitioned`].
    pub async fn open(&self, name: &DatasetName) -> Result<Dataset> {
        match self.store.get_json::<Manifest>(&layout::manifest_path(name)).await {
            Ok((manifest, _)) => Ok(Dataset { store: self.store.clone(), manifest }),
            Err(e) if e.is_not_found() => {
                self.record(name).await?;
                Err(Error::NotPartitioned { name: name.to_string() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every registered dataset, by name.
    ///
    /// # Errors
    /// Store errors and malformed records.
    pub async fn list(&self) -> Result<Vec<DatasetSummary>> {
        let mut out = Vec::new();
        for meta in self.store.list(Some(&layout::datasets_root())).await? {
            let segments: Vec<&str> = meta.path.segments().collect();
            if segments.len() != 3 || !["dataset.json", "images.json"].contains(&segments[2]) {
                continue;
            }
            let Ok(name) = DatasetName::parse(segments[1]) else { continue };
            if segments[2] == "images.json" {
                let record = self.image_record(&name).await?;
                let manifest = match self.open_images(&name).await {
                    Ok(m) => Some(m),
                    Err(Error::NotPartitioned { .. }) => None,
                    Err(e) => return Err(e),
                };
                out.push(DatasetSummary {
                    name,
                    kind: "images",
                    target: "label".into(),
                    source: record.source,
                    fingerprint: manifest.as_ref().map(|m| m.fingerprint),
                    rows: manifest.map(|m| m.splits.iter().map(|(s, sm)| (*s, sm.images)).collect()),
                });
                continue;
            }
            let record = self.record(&name).await?;
            let manifest = match self.store.get_json::<Manifest>(&layout::manifest_path(&name)).await {
                Ok((m, _)) => Some(m),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.into()),
            };
            out.push(DatasetSummary {
                name,
                kind: "tabular",
                target: record.target,
                source: record.source.uri,
                fingerprint: manifest.as_ref().map(|m| m.fingerprint),
                rows: manifest.map(|m| m.splits.iter().map(|(s, sm)| (*s, sm.rows)).collect()),
            });
        }
        Ok(out)
    }
}

/// SageMaker training channels of a dataset (train and validation only: training never sees
/// the test split).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrainingChannels {
    /// `.../channels/train/`.
    pub train: String,
    /// `.../channels/validation/`.
    pub validation: String,
}

/// A partitioned dataset, read through its manifest.
///
/// Train and validation rows are one call away; the test split needs the explicitly named
/// [`Dataset::test_for_evaluation`], which training code paths never call.
#[derive(Clone, Debug)]
pub struct Dataset {
    store: DynObjectStore,
    manifest: Manifest,
}

impl Dataset {
    /// The manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The training split.
    ///
    /// # Errors
    /// Store errors, or [`Error::Corrupt`] when a file does not match its manifest hash.
    pub async fn train(&self) -> Result<SplitData> {
        self.load(Split::Train).await
    }

    /// The validation split.
    ///
    /// # Errors
    /// As [`Dataset::train`].
    pub async fn validation(&self) -> Result<SplitData> {
        self.load(Split::Validation).await
    }

    /// The held-out test split, for evaluation only (the comparison calls this; training never
    /// does).
    ///
    /// # Errors
    /// As [`Dataset::train`].
    pub async fn test_for_evaluation(&self) -> Result<SplitData> {
        self.load(Split::Test).await
    }

    /// SageMaker channel prefixes for training.
    #[must_use]
    pub fn training_channels(&self) -> TrainingChannels {
        TrainingChannels {
            train: self.manifest.split(Split::Train).channel_prefix.clone(),
            validation: self.manifest.split(Split::Validation).channel_prefix.clone(),
        }
    }

    /// The test channel prefix, for batch evaluation only.
    #[must_use]
    pub fn test_channel_for_evaluation(&self) -> String {
        self.manifest.split(Split::Test).channel_prefix.clone()
    }

    async fn fetch_verified(&self, file: &FileEntry) -> Result<bytes::Bytes> {
        let got = self.store.get(&file.path).await?;
        let actual = ContentHash::of_bytes(&got.bytes);
        if actual != file.hash {
            return Err(Error::Corrupt {
                path: file.uri.clone(),
                expected: file.hash.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(got.bytes)
    }

    async fn load(&self, split: Split) -> Result<SplitData> {
        let mut batches = Vec::new();
        for file in &self.manifest.split(split).files {
            let bytes = self.fetch_verified(file).await?;
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
                .and_then(parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::build)
                .map_err(|e| Error::data(&file.uri, e))?;
            for batch in reader {
                batches.push(batch.map_err(|e| Error::data(&file.uri, e))?);
            }
        }
        Ok(SplitData { split, manifest: self.manifest.clone(), batches })
    }
}

/// The rows of one split, as Arrow record batches, convertible to linfa datasets with the
/// manifest's shared encoding.
#[derive(Clone, Debug)]
pub struct SplitData {
    split: Split,
    manifest: Manifest,
    batches: Vec<RecordBatch>,
}

impl SplitData {
    /// Which split this is.
    #[must_use]
    pub fn split(&self) -> Split {
        self.split
    }

    /// The record batches (all source columns).
    #[must_use]
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    /// Number of rows.
    #[must_use]
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn concat(&self) -> Result<Option<RecordBatch>> {
        let Some(first) = self.batches.first() else { return Ok(None) };
        arrow::compute::concat_batches(&first.schema(), &self.batches).map(Some).map_err(|e| Error::data("split", e))
    }

    /// The encoded feature matrix (rows × features).
    ///
    /// # Errors
    /// [`Error::Data`] when the batches do not carry the manifest's feature columns.
    pub fn features(&self) -> Result<ndarray::Array2<f64>> {
        match self.concat()? {
            Some(batch) => self.manifest.features.encode_matrix(&batch),
            None => Ok(ndarray::Array2::zeros((0, self.manifest.features.0.len()))),
        }
    }

    /// A linfa classification dataset: encoded features and class indices (into the
    /// manifest's class list), with feature names set.
    ///
    /// # Errors
    /// [`Error::TaskMismatch`] for a regression dataset.
    pub fn to_linfa_classification(&self) -> Result<linfa::Dataset<f64, usize, Ix1>> {
        let Task::Classification { classes } = &self.manifest.task else {
            return Err(self.mismatch("use to_linfa_regression"));
        };
        let targets: Vec<usize> = match self.concat()? {
            Some(batch) => {
                let text = arrow::compute::cast(self.target_column(&batch)?, &DataType::Utf8)
                    .map_err(|e| Error::data("target", e))?;
                text.as_string::<i32>()
                    .iter()
                    .map(|v| {
                        v.and_then(|v| classes.iter().position(|c| c == v)).ok_or_else(|| Error::Data {
                            what: "target".into(),
                            message: format!("value {v:?} is not one of the manifest's classes"),
                        })
                    })
                    .collect::<Result<_>>()?
            }
            None => Vec::new(),
        };
        Ok(linfa::Dataset::new(self.features()?, Array1::from(targets))
            .with_feature_names(self.manifest.features.feature_names()))
    }

    /// A linfa regression dataset.
    ///
    /// # Errors
    /// [`Error::TaskMismatch`] for a classification dataset.
    pub fn to_linfa_regression(&self) -> Result<linfa::Dataset<f64, f64, Ix1>> {
        if !matches!(self.manifest.task, Task::Regression) {
            return Err(self.mismatch("use to_linfa_classification"));
        }
        let targets: Vec<f64> = match self.concat()? {
            Some(batch) => {
                let floats = arrow::compute::cast(self.target_column(&batch)?, &DataType::Float64)
                    .map_err(|e| Error::data("target", e))?;
                floats.as_primitive::<arrow::datatypes::Float64Type>().iter().map(|v| v.unwrap_or(f64::NAN)).collect()
            }
            None => Vec::new(),
        };
        Ok(linfa::Dataset::new(self.features()?, Array1::from(targets))
            .with_feature_names(self.manifest.features.feature_names()))
    }

    fn target_column<'b>(&self, batch: &'b RecordBatch) -> Result<&'b arrow::array::ArrayRef> {
        batch.column_by_name(&self.manifest.registration.target).ok_or_else(|| Error::Data {
            what: "split".into(),
            message: "target column missing from the split file".into(),
        })
    }

    fn mismatch(&self, wanted: &'static str) -> Error {
        Error::TaskMismatch { name: self.manifest.dataset.to_string(), task: self.manifest.task.name(), wanted }
    }
}

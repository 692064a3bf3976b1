//! # wb-datasets — register once, partition once
//!
//! A dataset is **registered** once (source, target, optional key, schema, source
//! fingerprint) and **partitioned** once into train / validation / test: stratified with exact
//! per-class counts, seeded, deterministic, verifiable from its manifest. Every model trains
//! on those partitions, through the same feature encoding, and the test split is only reachable
//! through [`Dataset::test_for_evaluation`].
//!
//! ```
//! use std::sync::Arc;
//! use wb_core::{DatasetName, LocalStore};
//! use wb_datasets::{Datasets, PartitionSpec, RegisterRequest, Split};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let csv = dir.path().join("wine.csv");
//! # let mut text = String::from("alcohol,colour,good\n");
//! # for i in 0..100 { text.push_str(&format!("{}.{},{},{}\n", 9 + i % 5, i % 10, ["red", "white"][i % 2], u8::from(i % 4 == 0))); }
//! # std::fs::write(&csv, text)?;
//! let store = Arc::new(LocalStore::open(&dir.path().join("store"))?);
//! let datasets = Datasets::new(store);
//! let name = DatasetName::parse("wine")?;
//! datasets
//!     .register(RegisterRequest {
//!         name: name.clone(),
//!         source: csv.display().to_string(),
//!         target: "good".into(),
//!         key: None,
//!         missing: vec!["?".into()],
//!         new_version: false,
//!         exclude: Vec::new(),
//!         optional: Vec::new(),
//!     })
//!     .await?;
//! let outcome = datasets.partition(&name).spec(PartitionSpec { seed: 7, ..PartitionSpec::default() }).await?;
//! assert_eq!(outcome.manifest.split(Split::Train).rows, 60);
//! // Partitioning again with the same inputs changes nothing.
//! assert!(!datasets.partition(&name).spec(PartitionSpec { seed: 7, ..PartitionSpec::default() }).await?.created);
//!
//! let dataset = datasets.open(&name).await?;
//! let train = dataset.train().await?.to_linfa_classification()?;
//! assert_eq!(train.records().dim(), (60, 2));
//! # Ok(()) }
//! ```

pub mod assign;
mod channel;
mod chunks;
mod datasets;
mod encoding;
mod error;
pub mod images;
pub mod layout;
mod manifest;
mod partition;
mod plain;
mod source;
mod source_index;
mod spec;
mod split_file;

pub use datasets::{Dataset, DatasetSummary, Datasets, RegisterRequest, Registration, SplitData, TrainingChannels};
pub use encoding::{Encoding, FeatureEncoding, FeatureKind, MAX_CATEGORIES};
pub use error::{Error, Result};
pub use images::{
    ImageDatasetRecord, ImageEntry, ImageFormat, ImageManifest, ImagePartitionOutcome, ImageRegisterRequest,
    ImageRegistration, ImageShape, ImageSplit,
};
pub use manifest::{
    ColumnSchema, DatasetRecord, FileEntry, MANIFEST_FORMAT, Manifest, PartitionInputs, SourceFormat, SourceInfo,
    SplitManifest, Task, TaskKind,
};
pub use partition::{Partition, PartitionOutcome};
pub use spec::{PartitionSpec, Split};

//! # workbench — a disciplined data-science workbench for SageMaker, with a local default
//!
//! This facade re-exports the workbench crates so that a team's own tools can depend on one
//! crate:
//!
//! - [`core`] (`wb-core`): configuration, validated names and URIs, the object-store trait and
//!   the local-directory store;
//! - [`etl`] (`wb-etl`): downloads, safe extraction, CSV → Parquet, synthetic data;
//! - [`datasets`] (`wb-datasets`): register once, partition once, load the partitions;
//! - [`models`] (`wb-models`): what a model is — algorithms, training jobs, artefacts, metrics
//!   and the registry;
//! - [`serving`] (`wb-serving`): serving models — endpoints, the local model server with data
//!   capture, `InvokeEndpoint`, the backend interface and clean-up;
//! - [`compare`] (`wb-compare`): score every registered model on the held-out test split, with
//!   confidence intervals, paired tests, explanations, reports and a web app;
//! - [`monitor`] (`wb-monitor`): read endpoints' data capture back, baselines and violations
//!   in SageMaker Model Monitor's formats, drift, charts and reports;
//! - [`Project`]: a `workbench.toml`, its store and its backend — the starting point of an
//!   experiment: train, deploy, register, compare, promote and clean through one backend
//!   interface ([`serving::backend::Backend`]), local or SageMaker;
//! - `aws` (`wb-aws`, feature `aws`): the S3 store and the SageMaker backend.
//!
//! ```
//! use std::sync::Arc;
//! use workbench::prelude::*;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! // Generate a readmission-like CSV, register it with a row key, partition it once.
//! let csv = dir.path().join("readmission.csv");
//! workbench::etl::synth::write_readmission_csv(std::fs::File::create(&csv)?, 2_000, 1)?;
//! let datasets = Datasets::new(Arc::new(LocalStore::open(&dir.path().join("store"))?));
//! let name = DatasetName::parse("readmission")?;
//! datasets
//!     .register(RegisterRequest {
//!         name: name.clone(),
//!         source: csv.display().to_string(),
//!         target: "readmitted".into(),
//!         key: Some("encounter_id".into()),
//!         missing: vec!["?".into()],
//!         new_version: false,
//!         exclude: Vec::new(),
//!         optional: Vec::new(),
//!     })
//!     .await?;
//! let manifest = datasets.partition(&name).await?.manifest;
//! assert_eq!(manifest.algorithm, "wb-keyhash-v1");
//! # Ok(()) }
//! ```

pub use wb_compare as compare;
pub use wb_core as core;
pub use wb_datasets as datasets;
pub use wb_etl as etl;
pub use wb_models as models;
pub use wb_monitor as monitor;
pub use wb_serving as serving;

mod project;
pub use project::{
    Cleaned, Compare, Deploy, Error, Project, ProjectBuilder, Promoted, Register, Registered, ReportLocation, Train,
};

#[cfg(feature = "aws")]
pub use wb_aws as aws;

/// The names most programs need.
pub mod prelude {
    pub use wb_core::BackendKind;
    pub use wb_core::{
        ContentHash, DatasetName, DynObjectStore, EndpointName, JobName, LoadedConfig, LocalStore, ModelName,
        ObjectPath, ObjectStore, ObjectStoreExt, PutMode, StoreUri,
    };
    pub use wb_datasets::{Dataset, Datasets, Manifest, PartitionSpec, RegisterRequest, Split, Task};
    pub use wb_models::{FittedModel, ModelArtifact, ModelSchema, Prediction};
    pub use wb_serving::backend::{Backend, TrainingProgress};
    pub use wb_serving::clean::CleanOptions;

    pub use crate::Project;
}

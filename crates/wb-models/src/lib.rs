//! # wb-models — what a model is: algorithms, training, artefacts and the registry
//!
//! - [`algorithm`]: the linfa algorithms and their hyperparameters (SageMaker's string map,
//!   validated into typed parameters);
//! - [`model`]: fitted models as plain structures, and their predictions;
//! - [`boosted`]: gradient-boosted trees as XGBoost evaluates them (trained by `xgboost`, or
//!   read from XGBoost's own JSON model format);
//! - [`metrics`]: validation and comparison metrics (checked against scikit-learn);
//! - [`container`]: the SageMaker training-container contract (`/opt/ml/...`), used in-process
//!   by local training jobs and by the `wb-container` image alike;
//! - [`training`]: local training jobs (work directory, status, `model.tar.gz` in the store),
//!   their records, and how a caller follows and stops one ([`TrainControl`]);
//! - [`image_classifier`]: image models under SageMaker's image-classification contract (a
//!   small CNN and a pixel-logistic baseline on candle), their training and inference;
//! - [`artifact`]: `model.tar.gz` (fitted model, input schema, metadata; weights of image models);
//! - [`schema`]: the input schema a model was trained on;
//! - [`layout`]: where jobs, endpoints, registrations and captures live in the store;
//! - [`records`]: reading the JSON records kept there;
//! - [`registry`]: registered models, one document each, written conditionally;
//! - `testkit` (feature `testkit`): a partitioned toy dataset for tests, and `metrics::fixture`.
//!
//! Serving a model — endpoints, the model server, `InvokeEndpoint`, backends and clean-up —
//! is `wb-serving`'s, which builds on this crate.
//!
//! Train on a partitioned dataset, read the model back, and look at the registry:
//!
//! ```no_run
//! # async fn experiment(store: wb_core::DynObjectStore) -> wb_models::Result<()> {
//! use wb_core::DatasetName;
//! use wb_models::{Registry, TrainingJobs};
//!
//! let jobs = TrainingJobs::new(store.clone());
//! let job = jobs
//!     .train(&DatasetName::parse("wine-quality")?, "random-forest")
//!     .hyperparameter("num_trees", "100")
//!     .await?;
//! println!("{} → {:?}: {:?}", job.name, job.model_artifact, job.metrics);
//! for model in Registry::new(store).list().await? {
//!     println!("{}: {} on {}, serving at {}", model.name, model.algorithm, model.dataset, model.endpoint);
//! }
//! # Ok(()) }
//! ```

pub mod algorithm;
pub mod artifact;
pub mod boosted;
pub mod container;
mod error;
pub mod image_classifier;
pub mod layout;
pub mod metrics;
pub mod model;
pub mod records;
pub mod registry;
pub mod schema;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod training;

pub use artifact::{ModelArtifact, ModelMetadata};
pub use error::{Error, Result};
pub use model::{FittedModel, Prediction};
pub use registry::{ModelRecord, Promotion, Registry};
pub use schema::{ImageInput, ModelSchema};
pub use training::{JobRecord, JobStatus, TrainControl, TrainingJobs, TrainingProgress};

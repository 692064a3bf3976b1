//! # wb-models — train, package, serve, register and clean up models
//!
//! - [`algorithm`]: the linfa algorithms and their hyperparameters (SageMaker's string map,
//!   validated into typed parameters);
//! - [`container`]: the SageMaker training-container contract (`/opt/ml/...`), used in-process
//!   by local training jobs and by the `wb-container` image alike;
//! - [`training`]: local training jobs (work directory, status, `model.tar.gz` in the store);
//! - [`artifact`]: `model.tar.gz` (fitted model, input schema, metadata);
//! - [`inference`], [`server`], [`capture`]: the model server speaking SageMaker's container
//!   contract and Runtime API, with data capture in SageMaker's format;
//! - [`endpoints`]: endpoint records, the catalog the server loads them from;
//! - [`local`]: the local server's record and lifecycle (`servers/local.json`);
//! - [`invoke`]: a client for `InvokeEndpoint` on the local server;
//! - [`registry`]: registered models, one document each, written conditionally;
//! - [`clean`]: removing what the project created.

pub mod algorithm;
pub mod artifact;
pub mod capture;
pub mod clean;
pub mod container;
pub mod endpoints;
mod error;
pub mod inference;
pub mod invoke;
pub mod layout;
pub mod local;
pub mod metrics;
pub mod model;
pub mod registry;
pub mod schema;
pub mod server;
pub mod training;

pub use artifact::{ModelArtifact, ModelMetadata};
pub use error::{Error, Result};
pub use model::{FittedModel, Prediction};
pub use schema::ModelSchema;

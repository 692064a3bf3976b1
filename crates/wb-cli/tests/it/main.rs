//! End-to-end tests of the `wb` binary.

mod compare;
mod images;
mod lambda;
mod local;
mod models;
mod monitor;
mod python;
mod readme;
mod workflow;
mod xgboost;
// A wb built without the `aws` feature opens local stores only.
#[cfg(feature = "aws")]
mod s3;
#[cfg(feature = "aws")]
mod sagemaker;

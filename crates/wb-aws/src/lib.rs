//! The workbench's AWS backend: an S3 [`ObjectStore`](wb_core::ObjectStore) and the SageMaker
//! backend.
//!
//! [`S3Store`] keeps a workbench's objects in an S3 bucket below an optional key prefix. It passes
//! the same conformance suite as `wb_core`'s local store: atomic writes, create-only and
//! compare-and-swap writes (S3's `If-None-Match` / `If-Match`), segment-wise listing, streaming
//! reads and multipart uploads of large files, with server-side encryption on every write.
//!
//! The store never loads AWS configuration itself: the application builds an `SdkConfig` once
//! (for example with `aws_config::load_defaults`, or [`sdk_config`] for a project's `[aws]`
//! table) and hands it, or a ready client, to the store; [`open_store`] does both for a
//! project's `workbench.toml`.
//! Both SDK crates are re-exported ([`aws_config`], [`aws_sdk_s3`]) so applications need no
//! direct dependency on them.
//!
//! ```no_run
//! use bytes::Bytes;
//! use wb_aws::{Encryption, S3Store, aws_config};
//! use wb_core::{ObjectPath, ObjectStore, PutMode, StoreUri};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let uri = StoreUri::parse("s3://my-bucket/team/wb")?;
//! let store = S3Store::from_sdk_config(&sdk, &uri, Encryption::default())?;
//!
//! let path = ObjectPath::parse("runs/latest.json")?;
//! let written = store.put_opts(&path, Bytes::from_static(b"{}"), PutMode::Create).await?;
//! // Compare-and-swap: fails with `PreconditionFailed` if someone else wrote in between.
//! store.put_opts(&path, Bytes::from_static(b"{\"n\": 1}"), PutMode::Update(written.etag)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! [`SageMakerRuntime`] is SageMaker Runtime's `InvokeEndpoint` behind the workbench's one
//! invocation interface ([`wb_serving::invoke::InvokeEndpoint`]), so `wb compare` scores
//! SageMaker endpoints exactly as it scores the local server's.
//!
//! [`hosting::Hosting`] deploys a `model.tar.gz` to a SageMaker endpoint (model, endpoint
//! configuration with data capture, endpoint; update and delete; every resource tagged) and finds
//! the project's resources by tag. [`training::Training`] runs SageMaker training jobs (built-in
//! images from [`images`], or the workbench's own container), [`registry::ModelPackages`]
//! mirrors registered models as model packages, [`monitoring::Monitoring`] schedules Model
//! Monitor's data-quality checks of an endpoint, and [`policy`] writes the least-privilege IAM
//! policy. [`functions::Functions`] and [`state_machines::StateMachines`] host the image
//! workflow on Lambda and Step Functions. [`SageMakerBackend`] puts them together over a project's store as an implementation
//! of the workbench's backend interface ([`wb_serving::backend::Backend`]), recording jobs and
//! endpoints exactly as the local backend does; it passes the same conformance suite.
//!
//! With the `testkit` feature, `testkit::Moto` provides a moto server (a local S3 mock) for
//! tests, installing it on first use.

pub mod backend;
mod error;
pub mod functions;
pub mod hosting;
pub mod images;
pub mod monitoring;
pub mod policy;
pub mod registry;
pub mod runtime;
mod sagemaker;
pub mod state_machines;
mod store;
pub mod training;

#[cfg(feature = "testkit")]
pub mod testkit;

#[doc(no_inline)]
pub use aws_config;
#[doc(no_inline)]
pub use aws_sdk_lambda;
#[doc(no_inline)]
pub use aws_sdk_s3;
#[doc(no_inline)]
pub use aws_sdk_sagemaker;
#[doc(no_inline)]
pub use aws_sdk_sagemakerruntime;
#[doc(no_inline)]
pub use aws_sdk_sfn;
pub use backend::{BackendSettings, SageMakerBackend};
pub use error::{Error, Result};
pub use runtime::SageMakerRuntime;
pub use store::{DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, Encryption, MAX_PART_SIZE, MIN_PART_SIZE, S3Store};

/// The AWS SDK configuration for a project's `[aws]` table: the standard chain (environment,
/// profiles, `AWS_ENDPOINT_URL`) with the table's region and endpoint URL on top.
pub async fn sdk_config(aws: &wb_core::AwsConfig) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &aws.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    loader.load().await
}

/// Opens a project's store: its local directory, or its S3 prefix (encrypted with the
/// configured KMS key, SSE-S3 otherwise).
///
/// # Errors
/// An invalid store URI, or a local directory that cannot be opened.
pub async fn open_store(config: &wb_core::LoadedConfig) -> Result<wb_core::DynObjectStore> {
    match config.store_uri()? {
        wb_core::StoreUri::Local(dir) => Ok(std::sync::Arc::new(wb_core::LocalStore::open(&dir)?)),
        wb_core::StoreUri::S3 { .. } => open_store_with(config, &sdk_config(&config.config.aws).await),
    }
}

/// Opens a project's store with an SDK configuration the caller loaded once (see
/// [`sdk_config`]).
///
/// # Errors
/// An invalid store URI, or a local directory that cannot be opened.
pub fn open_store_with(config: &wb_core::LoadedConfig, sdk: &aws_config::SdkConfig) -> Result<wb_core::DynObjectStore> {
    match config.store_uri()? {
        wb_core::StoreUri::Local(dir) => Ok(std::sync::Arc::new(wb_core::LocalStore::open(&dir)?)),
        uri @ wb_core::StoreUri::S3 { .. } => {
            let encryption = match &config.config.aws.kms_key_id {
                Some(key_id) => Encryption::Kms { key_id: key_id.clone() },
                None => Encryption::SseS3,
            };
            Ok(std::sync::Arc::new(S3Store::from_sdk_config(sdk, &uri, encryption)?))
        }
    }
}

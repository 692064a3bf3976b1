//! The workbench's AWS backend: an S3 [`ObjectStore`](wb_core::ObjectStore).
//!
//! [`S3Store`] keeps a workbench's objects in an S3 bucket below an optional key prefix. It passes
//! the same conformance suite as `wb_core`'s local store: atomic writes, create-only and
//! compare-and-swap writes (S3's `If-None-Match` / `If-Match`), segment-wise listing, streaming
//! reads and multipart uploads of large files, with server-side encryption on every write.
//!
//! The library never loads AWS configuration itself: the application builds an `SdkConfig` once
//! (for example with `aws_config::load_defaults`) and hands it, or a ready client, to the store.
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
//! With the `testkit` feature, [`testkit::Moto`] provides a moto server (a local S3 mock) for
//! tests, installing it on first use.

mod error;
mod store;

#[cfg(feature = "testkit")]
pub mod testkit;

#[doc(no_inline)]
pub use aws_config;
#[doc(no_inline)]
pub use aws_sdk_s3;
pub use error::{Error, Result};
pub use store::{DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE, Encryption, MAX_PART_SIZE, MIN_PART_SIZE, S3Store};

//! # wb-core — the workbench's vocabulary
//!
//! Everything the other workbench crates share: the `workbench.toml` configuration
//! ([`LoadedConfig`]), validated names ([`DatasetName`] and friends follow SageMaker's naming
//! rule), store locations ([`StoreUri`]) and keys ([`ObjectPath`]), content hashes
//! ([`ContentHash`]), the [`ObjectStore`] trait with its local-directory implementation
//! ([`LocalStore`]), and one error type ([`Error`]).
//!
//! With the `testkit` feature, the `testkit` module holds the conformance suites every backend
//! runs.
//!
//! ```
//! use wb_core::{LocalStore, ObjectPath, ObjectStore, ObjectStoreExt, PutMode};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> wb_core::Result<()> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let store = LocalStore::open(dir.path())?;
//! let path = ObjectPath::parse("registry/models/wine-lr.json")?;
//! let first = store.put_json(&path, &serde_json::json!({"v": 1}), PutMode::Create).await?;
//! // A compare-and-swap update succeeds only against the version we read.
//! store.put_json(&path, &serde_json::json!({"v": 2}), PutMode::Update(first.etag.clone())).await?;
//! let stale = store.put_json(&path, &serde_json::json!({"v": 3}), PutMode::Update(first.etag)).await;
//! assert!(stale.unwrap_err().is_precondition_failed());
//! # Ok(()) }
//! ```

mod config;
mod error;
mod hash;
pub mod image_header;
mod name;
mod path;
pub mod scratch;
mod store;
pub mod text;
mod time;
mod uri;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::{
    AwsConfig, BackendConfig, BackendKind, CONFIG_FILE, Config, DatasetDefaults, LoadedConfig, PROJECT_TAG,
    ProjectConfig, StoreConfig,
};
pub use error::{Error, Result};
pub use hash::{ContentHash, ContentHasher, PIECE_LEN, PieceHash};
pub use name::{DatasetName, EndpointName, JobName, MAX_NAME_LEN, ModelName, check_sagemaker_name};
pub use path::ObjectPath;
pub use store::{
    ByteStream, DynObjectStore, ETag, GetResult, LocalStore, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode,
    open_local, temp_sibling, write_file_atomically,
};
pub use time::Timestamp;
pub use uri::StoreUri;

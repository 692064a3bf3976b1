//! The object-store abstraction every backend implements.
//!
//! Two implementations exist: [`LocalStore`] (a directory, here) and the S3 store in `wb-aws`.
//! Both pass the same conformance suite (`testkit::object_store_conformance`, behind the
//! `testkit` feature).

mod local;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde::{Serialize, de::DeserializeOwned};

pub use local::LocalStore;

use crate::error::{Error, Result};
use crate::path::ObjectPath;
use crate::uri::StoreUri;

/// An opaque version tag of an object, used for compare-and-swap writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ETag(pub String);

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a put treats an existing object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Write only if no object exists ([`Error::AlreadyExists`] otherwise).
    Create,
    /// Write only if the current object has this ETag ([`Error::PreconditionFailed`] otherwise,
    /// [`Error::NotFound`] when there is no object).
    Update(ETag),
}

/// What a store knows about one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Its path.
    pub path: ObjectPath,
    /// Size in bytes.
    pub size: u64,
    /// Its version tag.
    pub etag: ETag,
    /// When it was last written.
    pub last_modified: DateTime<Utc>,
}

/// An object's bytes and metadata.
#[derive(Clone, Debug)]
pub struct GetResult {
    /// The content.
    pub bytes: Bytes,
    /// Its metadata (the ETag is the one of these bytes).
    pub meta: ObjectMeta,
}

/// A stream of an object's bytes, in chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// A shared, dynamically dispatched store.
pub type DynObjectStore = Arc<dyn ObjectStore>;

/// A key/value store of immutable-by-convention objects, local or remote.
///
/// Writes are atomic: a reader sees the old object or the new one, never part of one.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// The store's location.
    fn uri(&self) -> &StoreUri;

    /// Writes `bytes` at `path` according to `mode`.
    async fn put_opts(&self, path: &ObjectPath, bytes: Bytes, mode: PutMode) -> Result<ObjectMeta>;

    /// Uploads a local file at `path`, streaming it (multipart for large objects where the
    /// backend has it).
    async fn put_file(&self, path: &ObjectPath, file: &Path, mode: PutMode) -> Result<ObjectMeta>;

    /// Uploads a local file that nobody writes to again, as [`ObjectStore::put_file`] does. A
    /// store on the same filesystem may share the file's data instead of copying it (the local
    /// store links it into place), which is why the file must never be written to afterwards;
    /// removing it is fine.
    async fn put_immutable_file(&self, path: &ObjectPath, file: &Path, mode: PutMode) -> Result<ObjectMeta> {
        self.put_file(path, file, mode).await
    }

    /// Reads a whole object.
    async fn get(&self, path: &ObjectPath) -> Result<GetResult>;

    /// Streams an object's bytes.
    async fn get_stream(&self, path: &ObjectPath) -> Result<(ObjectMeta, ByteStream)>;

    /// Reads an object's metadata.
    async fn head(&self, path: &ObjectPath) -> Result<ObjectMeta>;

    /// Lists the objects at or below `prefix` (segment-wise), sorted by path.
    async fn list(&self, prefix: Option<&ObjectPath>) -> Result<Vec<ObjectMeta>>;

    /// Deletes an object; deleting a missing object succeeds.
    async fn delete(&self, path: &ObjectPath) -> Result<()>;

    /// Overwrites `path` with `bytes`.
    async fn put(&self, path: &ObjectPath, bytes: Bytes) -> Result<ObjectMeta> {
        self.put_opts(path, bytes, PutMode::Overwrite).await
    }

    /// Downloads an object to a local file, atomically (a temporary sibling is renamed).
    async fn get_to_file(&self, path: &ObjectPath, dest: &Path) -> Result<ObjectMeta> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let (meta, mut stream) = self.get_stream(path).await?;
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| Error::io("creating", parent, e))?;
        }
        let tmp = temp_sibling(dest);
        let result = async {
            let mut file = tokio::fs::File::create(&tmp).await.map_err(|e| Error::io("creating", &tmp, e))?;
            while let Some(chunk) = stream.next().await {
                file.write_all(&chunk?).await.map_err(|e| Error::io("writing", &tmp, e))?;
            }
            file.sync_all().await.map_err(|e| Error::io("syncing", &tmp, e))?;
            tokio::fs::rename(&tmp, dest).await.map_err(|e| Error::io("renaming into", dest, e))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result.map(|()| meta)
    }

    /// True when an object exists at `path`.
    async fn exists(&self, path: &ObjectPath) -> Result<bool> {
        match self.head(path).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// JSON helpers over any [`ObjectStore`].
#[async_trait]
pub trait ObjectStoreExt: ObjectStore {
    /// Reads and parses a JSON document, returning it with its ETag.
    async fn get_json<T: DeserializeOwned>(&self, path: &ObjectPath) -> Result<(T, ETag)> {
        let got = self.get(path).await?;
        let value = serde_json::from_slice(&got.bytes)
            .map_err(|source| Error::Json { what: self.uri().object_uri(path), source })?;
        Ok((value, got.meta.etag))
    }

    /// Writes a value as pretty JSON (with a trailing newline).
    async fn put_json<T: Serialize + Sync>(&self, path: &ObjectPath, value: &T, mode: PutMode) -> Result<ObjectMeta> {
        let mut bytes =
            serde_json::to_vec_pretty(value).map_err(|source| Error::Json { what: path.to_string(), source })?;
        bytes.push(b'\n');
        self.put_opts(path, Bytes::from(bytes), mode).await
    }
}

impl<S: ObjectStore + ?Sized> ObjectStoreExt for S {}

/// A temporary name next to `dest` (same directory, so a final rename is atomic), unique per
/// call: `.<name>.<uuid v7>.tmp`.
#[must_use]
pub fn temp_sibling(dest: &Path) -> std::path::PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()))
}

/// Writes `bytes` to the file `dest` atomically: into a [`temp_sibling`] first (its parent
/// directories created), then renamed over `dest`, so `dest` is either absent, its old content
/// or all of `bytes`; the temporary file is removed when a step fails.
///
/// # Errors
/// [`Error::Io`] naming the file that could not be created, written or renamed.
pub fn write_file_atomically(dest: &Path, bytes: &[u8]) -> Result<()> {
    let io = |operation: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { operation, path, source }
    };
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
    }
    let tmp = temp_sibling(dest);
    let written = std::fs::write(&tmp, bytes)
        .map_err(io("writing", &tmp))
        .and_then(|()| std::fs::rename(&tmp, dest).map_err(io("writing", dest)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Opens the store at a local URI. S3 stores are opened by `wb-aws`.
///
/// # Errors
/// [`Error::InvalidUri`] for an `s3://` URI (it needs `wb-aws`), [`Error::Io`] when the
/// directory cannot be created.
pub fn open_local(uri: &StoreUri) -> Result<LocalStore> {
    match uri {
        StoreUri::Local(dir) => LocalStore::open(dir),
        StoreUri::S3 { .. } => Err(Error::InvalidUri {
            uri: uri.to_string(),
            reason: "S3 stores are opened through wb-aws (build with the `aws` feature)".into(),
        }),
    }
}

//! The local-directory object store.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::{ByteStream, ETag, GetResult, ObjectMeta, ObjectStore, PutMode};
use crate::error::{Error, Result};
use crate::path::ObjectPath;
use crate::scratch::{self, ScratchDir};
use crate::uri::StoreUri;

/// Directory under the root holding temporary files and lock files (never listed).
const INTERNAL_DIR: &str = ".wb-store";
/// Under [`INTERNAL_DIR`]: each process's scratch directory of writes in progress.
const SCRATCH_DIR: &str = "tmp";
/// Temporary files of versions before scratch directories, directly under [`INTERNAL_DIR`]:
/// removed at open once this old (no writer takes that long).
const LEGACY_TEMP_AGE: Duration = Duration::from_secs(3600);

/// An [`ObjectStore`] in a local directory: object `a/b.json` is the file `<root>/a/b.json`.
///
/// Writes go to a temporary file in the same filesystem, are synced, and are then renamed
/// into place, so readers never see half a file. `PutMode::Create` links the temporary file
/// into place (which fails atomically when the target exists); `PutMode::Update` holds an
/// exclusive per-object lock file while it compares ETags and renames, so concurrent
/// compare-and-swap writers, even in different processes, never lose an update.
///
/// ETags are derived from the file's inode, modification time and size: every write creates
/// a new inode, so any change produces a new ETag.
///
/// Temporary files live in this value's own [`ScratchDir`] under `<root>/.wb-store/tmp`,
/// removed when the last clone is dropped; opening a store sweeps the scratch directories of
/// processes that were killed mid-write (see [`crate::scratch`]).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    uri: StoreUri,
    scratch: Arc<Mutex<Option<ScratchDir>>>,
}

impl LocalStore {
    /// Opens (creating when needed) a store rooted at `root`.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created or resolved.
    pub fn open(root: &Path) -> Result<Self> {
        fs::create_dir_all(root.join(INTERNAL_DIR).join("locks")).map_err(|e| Error::io("creating", root, e))?;
        let root = fs::canonicalize(root).map_err(|e| Error::io("resolving", root, e))?;
        let swept = scratch::sweep(&root.join(INTERNAL_DIR).join(SCRATCH_DIR))?;
        if swept.dirs > 0 {
            tracing::info!(store = %root.display(), dirs = swept.dirs, bytes = swept.bytes, "removed writes left by killed processes");
        }
        sweep_legacy_temp_files(&root.join(INTERNAL_DIR));
        Ok(Self { uri: StoreUri::Local(root.clone()), root, scratch: Arc::default() })
    }

    /// The root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local file of an object (whether or not it exists).
    #[must_use]
    pub fn file_path(&self, path: &ObjectPath) -> PathBuf {
        self.root.join(path.as_str())
    }

    fn store_name(&self) -> String {
        self.uri.to_string()
    }

    fn not_found(&self, path: &ObjectPath) -> Error {
        Error::NotFound { store: self.store_name(), path: path.to_string() }
    }

    /// A fresh path in this value's scratch directory (created on first use).
    fn temp_file(&self) -> Result<PathBuf> {
        let mut guard = self.scratch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let scratch = match &mut *guard {
            Some(scratch) => scratch,
            empty => empty.insert(ScratchDir::create_in(&self.root.join(INTERNAL_DIR).join(SCRATCH_DIR), "writes")?),
        };
        Ok(scratch.path().join(format!("{}.tmp", uuid::Uuid::now_v7().simple())))
    }

    fn lock_file(&self, path: &ObjectPath) -> PathBuf {
        let key = blake3::hash(path.as_str().as_bytes()).to_hex();
        self.root.join(INTERNAL_DIR).join("locks").join(format!("{}.lock", &key[..32]))
    }

    fn meta_of(path: &ObjectPath, md: &fs::Metadata) -> ObjectMeta {
        let modified = md.modified().ok().map_or_else(Utc::now, DateTime::<Utc>::from);
        ObjectMeta { path: path.clone(), size: md.len(), etag: etag_of(md), last_modified: modified }
    }

    fn head_blocking(&self, path: &ObjectPath) -> Result<ObjectMeta> {
        let file = self.file_path(path);
        match fs::metadata(&file) {
            Ok(md) if md.is_file() => Ok(Self::meta_of(path, &md)),
            Ok(_) => Err(self.not_found(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(self.not_found(path)),
            Err(e) => Err(Error::io("reading metadata of", file, e)),
        }
    }

    /// Stores the local `file` at `path`: copied into a temporary file of the store (with
    /// `link`, linked there instead where the filesystem allows: the caller promises never to
    /// write to the file again), synced, then committed according to `mode`.
    async fn store_file(&self, path: &ObjectPath, file: &Path, mode: PutMode, link: bool) -> Result<ObjectMeta> {
        let this = self.clone();
        let path = path.clone();
        let file = file.to_owned();
        blocking(move || {
            let tmp = this.temp_file()?;
            let linked = link && fs::hard_link(&file, &tmp).is_ok();
            let staged = if linked { Ok(()) } else { fs::copy(&file, &tmp).map(|_| ()) }
                .and_then(|()| File::open(&tmp)?.sync_all());
            if let Err(e) = staged {
                let _ = fs::remove_file(&tmp);
                return Err(Error::io("copying", file, e));
            }
            this.commit_blocking(&path, &tmp, &mode)
        })
        .await
    }

    /// Moves a fully written temporary file into place according to `mode`.
    fn commit_blocking(&self, path: &ObjectPath, tmp: &Path, mode: &PutMode) -> Result<ObjectMeta> {
        let dest = self.file_path(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        match mode {
            PutMode::Overwrite => {
                fs::rename(tmp, &dest).map_err(|e| Error::io("renaming into", &dest, e))?;
            }
            PutMode::Create => {
                // The link fails atomically if the destination exists.
                let linked = fs::hard_link(tmp, &dest);
                let _ = fs::remove_file(tmp);
                match linked {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Err(Error::AlreadyExists { store: self.store_name(), path: path.to_string() });
                    }
                    Err(e) => return Err(Error::io("linking into", &dest, e)),
                }
            }
            PutMode::Update(expected) => {
                let lock_path = self.lock_file(path);
                let lock = File::create(&lock_path).map_err(|e| Error::io("creating lock", &lock_path, e))?;
                lock.lock().map_err(|e| Error::io("locking", &lock_path, e))?;
                let current = self.head_blocking(path);
                let outcome = match current {
                    Ok(meta) if &meta.etag == expected => {
                        fs::rename(tmp, &dest).map_err(|e| Error::io("renaming into", &dest, e))
                    }
                    Ok(_) => Err(Error::PreconditionFailed {
                        store: self.store_name(),
                        path: path.to_string(),
                        expected: expected.to_string(),
                    }),
                    Err(e) => Err(e),
                };
                let _ = lock.unlock();
                if outcome.is_err() {
                    let _ = fs::remove_file(tmp);
                }
                outcome?;
            }
        }
        if let Some(parent) = dest.parent() {
            // Make the rename durable; failure to sync a directory is not fatal on all filesystems.
            if let Ok(dir) = File::open(parent) {
                let _ = dir.sync_all();
            }
        }
        self.head_blocking(path)
    }

    fn write_temp(&self, bytes: &[u8]) -> Result<PathBuf> {
        let tmp = self.temp_file()?;
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        match result {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(Error::io("writing", tmp, e))
            }
        }
    }

    fn list_blocking(&self, prefix: Option<&ObjectPath>) -> Result<Vec<ObjectMeta>> {
        let start = prefix.map_or_else(|| self.root.clone(), |p| self.file_path(p));
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                    // The prefix names an object itself.
                    if let Some(p) = prefix {
                        out.push(self.head_blocking(p)?);
                    }
                    continue;
                }
                Err(e) => return Err(Error::io("listing", dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("listing", &dir, e))?;
                let full = entry.path();
                let md = entry.metadata().map_err(|e| Error::io("reading metadata of", &full, e))?;
                if md.is_dir() {
                    if full != self.root.join(INTERNAL_DIR) {
                        stack.push(full);
                    }
                    continue;
                }
                let Ok(rel) = full.strip_prefix(&self.root) else { continue };
                let rel = rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
                match ObjectPath::parse(rel.clone()) {
                    Ok(p) => out.push(Self::meta_of(&p, &md)),
                    Err(_) => tracing::debug!(file = %full.display(), "skipping file that is not a valid object path"),
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn delete_blocking(&self, path: &ObjectPath) -> Result<()> {
        let file = self.file_path(path);
        match fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("deleting", file, e)),
        }
        // Remove directories left empty, up to (not including) the root.
        let mut dir = file.parent();
        while let Some(d) = dir {
            if d == self.root || fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn etag_of(md: &fs::Metadata) -> ETag {
    use std::os::unix::fs::MetadataExt;
    ETag(format!("{:x}-{:x}{:08x}-{:x}", md.ino(), md.mtime(), md.mtime_nsec(), md.len()))
}

#[cfg(not(unix))]
fn etag_of(md: &fs::Metadata) -> ETag {
    let nanos =
        md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    ETag(format!("{nanos:x}-{:x}", md.len()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Error::io("running blocking task", PathBuf::new(), std::io::Error::other(e))))
}

#[async_trait]
impl ObjectStore for LocalStore {
    fn uri(&self) -> &StoreUri {
        &self.uri
    }

    async fn put_opts(&self, path: &ObjectPath, bytes: Bytes, mode: PutMode) -> Result<ObjectMeta> {
        let this = self.clone();
        let path = path.clone();
        blocking(move || {
            let tmp = this.write_temp(&bytes)?;
            this.commit_blocking(&path, &tmp, &mode)
        })
        .await
    }

    async fn put_file(&self, path: &ObjectPath, file: &Path, mode: PutMode) -> Result<ObjectMeta> {
        self.store_file(path, file, mode, false).await
    }

    async fn put_immutable_file(&self, path: &ObjectPath, file: &Path, mode: PutMode) -> Result<ObjectMeta> {
        self.store_file(path, file, mode, true).await
    }

    async fn get(&self, path: &ObjectPath) -> Result<GetResult> {
        let this = self.clone();
        let path = path.clone();
        blocking(move || {
            let file_path = this.file_path(&path);
            let mut file = match File::open(&file_path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(this.not_found(&path)),
                Err(e) => return Err(Error::io("opening", file_path, e)),
            };
            let md = file.metadata().map_err(|e| Error::io("reading metadata of", &file_path, e))?;
            if !md.is_file() {
                return Err(this.not_found(&path));
            }
            let mut buf = Vec::with_capacity(usize::try_from(md.len()).unwrap_or(0));
            file.read_to_end(&mut buf).map_err(|e| Error::io("reading", &file_path, e))?;
            Ok(GetResult { bytes: Bytes::from(buf), meta: Self::meta_of(&path, &md) })
        })
        .await
    }

    async fn get_stream(&self, path: &ObjectPath) -> Result<(ObjectMeta, ByteStream)> {
        use futures::StreamExt;
        use tokio::io::AsyncReadExt;
        let file_path = self.file_path(path);
        let file = match tokio::fs::File::open(&file_path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.not_found(path)),
            Err(e) => return Err(Error::io("opening", file_path, e)),
        };
        let md = file.metadata().await.map_err(|e| Error::io("reading metadata of", &file_path, e))?;
        if !md.is_file() {
            return Err(self.not_found(path));
        }
        let meta = Self::meta_of(path, &md);
        let stream = futures::stream::try_unfold((file, file_path), |(mut file, file_path)| async move {
            let mut buf = vec![0u8; 256 * 1024];
            let n = file.read(&mut buf).await.map_err(|e| Error::io("reading", &file_path, e))?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            Ok(Some((Bytes::from(buf), (file, file_path))))
        });
        Ok((meta, stream.boxed()))
    }

    async fn head(&self, path: &ObjectPath) -> Result<ObjectMeta> {
        let this = self.clone();
        let path = path.clone();
        blocking(move || this.head_blocking(&path)).await
    }

    async fn list(&self, prefix: Option<&ObjectPath>) -> Result<Vec<ObjectMeta>> {
        let this = self.clone();
        let prefix = prefix.cloned();
        blocking(move || this.list_blocking(prefix.as_ref())).await
    }

    async fn delete(&self, path: &ObjectPath) -> Result<()> {
        let this = self.clone();
        let path = path.clone();
        blocking(move || this.delete_blocking(&path)).await
    }
}

/// Removes `*.tmp` files directly under `internal` older than [`LEGACY_TEMP_AGE`] (left by
/// versions before scratch directories).
fn sweep_legacy_temp_files(internal: &Path) {
    let Ok(entries) = fs::read_dir(internal) else { return };
    for entry in entries.filter_map(std::result::Result::ok) {
        let path = entry.path();
        if scratch::modified_before(&entry, LEGACY_TEMP_AGE)
            && path.extension().is_some_and(|x| x == "tmp")
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn temp_files_never_show_and_empty_dirs_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path()).expect("open");
        let p = ObjectPath::parse("a/b/c.txt").expect("path");
        store.put(&p, Bytes::from_static(b"x")).await.expect("put");
        assert_eq!(store.list(None).await.expect("list").len(), 1);
        store.delete(&p).await.expect("delete");
        assert!(!dir.path().join("a").exists(), "empty parents are removed");
        assert!(store.list(None).await.expect("list").is_empty());
        let scratch = store.scratch.lock().expect("lock").as_ref().expect("a scratch dir").path().to_owned();
        let leftovers: Vec<_> = fs::read_dir(&scratch)
            .expect("scratch dir")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files are left behind: {leftovers:?}");
    }
}

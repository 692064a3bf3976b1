//! Scratch directories that a killed process does not leak for long.
//!
//! A [`ScratchDir`] is a directory `<base>/<purpose>-<uuid>/` owned by the process that created
//! it, proved by an exclusive lock on `<base>/<purpose>-<uuid>.lock` held for the directory's
//! lifetime (the operating system releases it when the process dies, however it dies). Dropping
//! the value removes the directory. When a process is killed instead, the directory stays until
//! the next [`sweep`] of its base, which removes every directory whose lock nobody holds; a
//! live owner's lock makes its directory untouchable, so concurrent processes are safe.
//! [`ScratchDir::create_in`] sweeps its base before creating, so the next run of any command
//! that spools cleans up after a killed one.
//!
//! The workbench spools under [`root`] (`<system temp>/wb-scratch`; staged partitions,
//! downloaded sources, packages), and a [`crate::LocalStore`] stages its writes in its own
//! scratch directory under `<store>/.wb-store/tmp` (the same filesystem, so commits are renames).
//!
//! ```
//! let base = tempfile::tempdir()?;
//! let scratch = wb_core::scratch::ScratchDir::create_in(base.path(), "example")?;
//! std::fs::write(scratch.path().join("part"), b"spooled")?;
//! assert_eq!(wb_core::scratch::sweep(base.path())?.dirs, 0, "a live owner's directory stays");
//! let path = scratch.path().to_owned();
//! drop(scratch);
//! assert!(!path.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// Suffix of the lock files beside the scratch directories.
const LOCK_SUFFIX: &str = ".lock";
/// A lock file still being set up starts with this (never swept while younger than
/// [`SETUP_GRACE`]).
const SETUP_PREFIX: &str = ".new-";
/// How old a half-created lock file must be before a sweep removes it.
const SETUP_GRACE: Duration = Duration::from_secs(60);

/// The base of the workbench's spool directories: `<system temp dir>/wb-scratch`.
#[must_use]
pub fn root() -> PathBuf {
    std::env::temp_dir().join("wb-scratch")
}

/// A directory removed when dropped, or by the next [`sweep`] once its process is gone.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    lock_path: PathBuf,
    // Held for the directory's lifetime: the proof that its owner is alive.
    lock: Option<File>,
}

impl ScratchDir {
    /// A scratch directory under [`root`], after sweeping the orphans there.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or its lock cannot be created.
    pub fn create(purpose: &str) -> Result<Self> {
        Self::create_in(&root(), purpose)
    }

    /// A scratch directory under `base` (created when missing), after sweeping the orphans
    /// there. `purpose` names it (`partition`, `download`, …) for whoever looks.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or its lock cannot be created.
    pub fn create_in(base: &Path, purpose: &str) -> Result<Self> {
        fs::create_dir_all(base).map_err(|e| Error::io("creating", base, e))?;
        if let Err(e) = sweep(base) {
            tracing::warn!(base = %base.display(), error = %e, "sweeping orphaned scratch directories failed");
        }
        let name = format!("{purpose}-{}", uuid::Uuid::now_v7().simple());
        // Lock first under a name sweeps skip, then publish it: a sweep never sees an
        // unlocked lock file of a live owner.
        let setup = base.join(format!("{SETUP_PREFIX}{name}{LOCK_SUFFIX}"));
        let lock = File::create_new(&setup).map_err(|e| Error::io("creating", &setup, e))?;
        lock.try_lock().map_err(|e| Error::io("locking", &setup, io::Error::from(e)))?;
        let lock_path = base.join(format!("{name}{LOCK_SUFFIX}"));
        fs::rename(&setup, &lock_path).map_err(|e| Error::io("renaming into", &lock_path, e))?;
        let path = base.join(&name);
        let scratch = Self { path, lock_path, lock: Some(lock) };
        fs::create_dir(&scratch.path).map_err(|e| Error::io("creating", &scratch.path, e))?;
        Ok(scratch)
    }

    /// The directory.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "removing a scratch directory failed");
        }
        let _ = fs::remove_file(&self.lock_path);
        drop(self.lock.take());
    }
}

/// What a [`sweep`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Orphaned directories removed.
    pub dirs: u64,
    /// Bytes of the files in them.
    pub bytes: u64,
}

/// Removes the scratch directories under `base` whose owner is gone (nobody holds their
/// lock), with their lock files. A missing `base` sweeps nothing.
///
/// # Errors
/// [`Error::Io`] when `base` cannot be read or an orphan cannot be removed.
pub fn sweep(base: &Path) -> Result<Swept> {
    let entries = match fs::read_dir(base) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Swept::default()),
        Err(e) => return Err(Error::io("reading", base, e)),
    };
    let mut swept = Swept::default();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("reading", base, e))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else { continue };
        let Some(stem) = file_name.strip_suffix(LOCK_SUFFIX) else { continue };
        let lock_path = entry.path();
        if stem.starts_with(SETUP_PREFIX) {
            // Killed between creating and publishing its lock (or still doing so: spare the young).
            if modified_before(&entry, SETUP_GRACE) {
                let _ = fs::remove_file(&lock_path);
            }
            continue;
        }
        let Ok(lock) = File::options().write(true).open(&lock_path) else { continue };
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(Error::io("locking", &lock_path, e)),
        }
        let dir = base.join(stem);
        let bytes = size_of_tree(&dir);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {
                swept.dirs += 1;
                swept.bytes += bytes;
                tracing::info!(dir = %dir.display(), bytes, "removed an orphaned scratch directory");
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("removing", &dir, e)),
        }
        let _ = fs::remove_file(&lock_path);
    }
    Ok(swept)
}

/// Whether `entry` was last modified more than `age` ago (false when that cannot be read).
pub(crate) fn modified_before(entry: &fs::DirEntry, age: Duration) -> bool {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > age)
}

/// The bytes of the files under `dir` (0 when unreadable).
fn size_of_tree(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(std::result::Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => size_of_tree(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orphan_is_swept_and_a_live_directory_is_not() {
        let base = tempfile::tempdir().expect("tempdir");
        let live = ScratchDir::create_in(base.path(), "live").expect("live");
        fs::write(live.path().join("a"), b"12345").expect("write");
        // An orphan: what a killed process leaves (its lock released by the OS).
        let mut orphan = ScratchDir::create_in(base.path(), "orphan").expect("orphan");
        fs::create_dir(orphan.path().join("sub")).expect("mkdir");
        fs::write(orphan.path().join("sub/b"), b"1234567").expect("write");
        let (orphan_path, orphan_lock) = (orphan.path.clone(), orphan.lock_path.clone());
        drop(orphan.lock.take());
        std::mem::forget(orphan);

        assert_eq!(sweep(base.path()).expect("sweep"), Swept { dirs: 1, bytes: 7 });
        assert!(!orphan_path.exists() && !orphan_lock.exists());
        assert!(live.path().join("a").exists(), "the live owner's files stay");
        assert_eq!(sweep(base.path()).expect("sweep"), Swept::default());

        // Creating a new one sweeps too.
        let orphan = ScratchDir::create_in(base.path(), "again").expect("again");
        let path = orphan.path.clone();
        let mut orphan = orphan;
        drop(orphan.lock.take());
        std::mem::forget(orphan);
        let _next = ScratchDir::create_in(base.path(), "next").expect("next");
        assert!(!path.exists(), "the next creation swept the orphan");

        let live_path = live.path().to_owned();
        drop(live);
        assert!(!live_path.exists());
        assert_eq!(sweep(Path::new("/nonexistent/wb-scratch")).expect("missing base"), Swept::default());
    }
}

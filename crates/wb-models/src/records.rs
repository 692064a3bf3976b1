//! Reading the JSON records (jobs, endpoints, registered models) kept in the store, at the
//! paths of [`crate::layout`]; `wb-serving` reads endpoint records with them too.

use serde::de::DeserializeOwned;
use wb_core::{DynObjectStore, ObjectPath, ObjectStoreExt};

use crate::error::{Error, Result};

/// The record at `path`, or `missing()` when there is none.
///
/// # Errors
/// `missing()`; store errors, and a record that is not valid JSON of `T`.
pub async fn get<T: DeserializeOwned>(
    store: &DynObjectStore,
    path: &ObjectPath,
    missing: impl FnOnce() -> Error,
) -> Result<T> {
    match store.get_json(path).await {
        Ok((record, _)) => Ok(record),
        Err(wb_core::Error::NotFound { .. }) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// Every record below `root` whose path has `segments` segments and passes `is_record`.
///
/// # Errors
/// Store errors, and a record that is not valid JSON of `T`.
pub async fn list<T: DeserializeOwned>(
    store: &DynObjectStore,
    root: &ObjectPath,
    segments: usize,
    is_record: impl Fn(&ObjectPath) -> bool,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for meta in store.list(Some(root)).await? {
        if meta.path.segments().count() == segments && is_record(&meta.path) {
            let (record, _): (T, _) = store.get_json(&meta.path).await?;
            out.push(record);
        }
    }
    Ok(out)
}

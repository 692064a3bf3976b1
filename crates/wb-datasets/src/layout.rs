//! Where datasets live in the store.
//!
//! ```text
//! datasets/<name>/dataset.json                                  registration
//! datasets/<name>/source-index                                  a CSV source's chunks and target ids
//! datasets/<name>/manifest.json                                 current partition manifest
//! datasets/<name>/partitions/<pid>/manifest.json                every version, immutable
//! datasets/<name>/partitions/<pid>/<split>/part-00000.parquet   split rows (all columns)
//! datasets/<name>/partitions/<pid>/channels/<split>/<split>.csv SageMaker CSV channel
//!
//! datasets/<name>/images.json                                   image registration
//! datasets/<name>/image-manifest.json                           current image partition
//! datasets/<name>/partitions/<pid>/channels/{train,validation}/… images (channels)
//! datasets/<name>/partitions/<pid>/channels/{train,validation}_lst/<split>.lst
//! datasets/<name>/partitions/<pid>/test/images/…, test/test.lst  the test split, never a channel
//! ```
//!
//! `<pid>` is the first 16 hex digits of the partition fingerprint: different inputs never
//! write to the same prefix, so concurrent or interrupted runs cannot mix files, and a
//! SageMaker channel prefix only ever holds its own file.

use wb_core::{DatasetName, ObjectPath};

use crate::spec::Split;

fn path(s: String) -> ObjectPath {
    ObjectPath::parse(s).expect("dataset names and split names make valid paths")
}

/// The prefix of all datasets.
#[must_use]
pub fn datasets_root() -> ObjectPath {
    path("datasets".into())
}

/// `datasets/<name>/dataset.json`.
#[must_use]
pub fn record_path(name: &DatasetName) -> ObjectPath {
    path(format!("datasets/{name}/dataset.json"))
}

/// `datasets/<name>/source-index`: what registering a plain CSV source kept for partitioning
/// it (its chunks and each record's target; see the `source_index` module).
#[must_use]
pub fn source_index_path(name: &DatasetName) -> ObjectPath {
    path(format!("datasets/{name}/source-index"))
}

/// `datasets/<name>/manifest.json`.
#[must_use]
pub fn manifest_path(name: &DatasetName) -> ObjectPath {
    path(format!("datasets/{name}/manifest.json"))
}

/// `datasets/<name>/images.json`: an image dataset's registration.
#[must_use]
pub fn image_record_path(name: &DatasetName) -> ObjectPath {
    path(format!("datasets/{name}/images.json"))
}

/// `datasets/<name>/image-manifest.json`: an image dataset's current partition.
#[must_use]
pub fn image_manifest_path(name: &DatasetName) -> ObjectPath {
    path(format!("datasets/{name}/image-manifest.json"))
}

/// An image split's image prefix and `.lst` file: `channels/<split>/` and
/// `channels/<split>_lst/<split>.lst` for train and validation, `test/images/` and
/// `test/test.lst` for the test split.
pub(crate) fn image_split_paths(prefix: &ObjectPath, split: Split) -> (ObjectPath, ObjectPath) {
    match split {
        Split::Test => (path(format!("{prefix}/test/images")), path(format!("{prefix}/test/test.lst"))),
        _ => (path(format!("{prefix}/channels/{split}")), path(format!("{prefix}/channels/{split}_lst/{split}.lst"))),
    }
}

/// `datasets/<name>/partitions/<pid>`.
#[must_use]
pub fn partition_prefix(name: &DatasetName, pid: &str) -> ObjectPath {
    path(format!("datasets/{name}/partitions/{pid}"))
}

pub(crate) fn split_file(prefix: &ObjectPath, split: Split) -> ObjectPath {
    path(format!("{prefix}/{split}/part-00000.parquet"))
}

pub(crate) fn channel_dir(prefix: &ObjectPath, split: Split) -> ObjectPath {
    path(format!("{prefix}/channels/{split}"))
}

pub(crate) fn channel_file(prefix: &ObjectPath, split: Split) -> ObjectPath {
    path(format!("{prefix}/channels/{split}/{split}.csv"))
}

pub(crate) fn version_manifest(prefix: &ObjectPath) -> ObjectPath {
    path(format!("{prefix}/manifest.json"))
}

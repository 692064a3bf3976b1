//! The one error type of `wb-datasets`.

use std::path::PathBuf;

/// Result alias of `wb-datasets`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong registering, partitioning or loading a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or vocabulary error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A CSV/Parquet reading or writing error.
    #[error(transparent)]
    Etl(#[from] wb_etl::Error),
    /// No dataset of that name is registered.
    #[error("dataset {name:?} is not registered (see `wb dataset list`)")]
    UnknownDataset {
        /// The name asked for.
        name: String,
    },
    /// The dataset is registered but has not been partitioned.
    #[error("dataset {name:?} has not been partitioned yet (run `wb dataset partition {name}`)")]
    NotPartitioned {
        /// The dataset.
        name: String,
    },
    /// A named column does not exist in the source.
    #[error("{source_name} has no column {column:?} for the {role} (columns: {})", available.join(", "))]
    MissingColumn {
        /// The source file or URI.
        source_name: String,
        /// The missing column.
        column: String,
        /// What the column was for ("target", "key").
        role: &'static str,
        /// The columns the source has.
        available: Vec<String>,
    },
    /// A column named for two roles that exclude each other (the target as the key, an
    /// excluded target, an optional excluded column).
    #[error("{source_name}: column {column:?} is {other}, so it cannot also be {role}")]
    ColumnRoleConflict {
        /// The source file or URI.
        source_name: String,
        /// The column.
        column: String,
        /// The role it already has ("the target", "the key", "excluded").
        other: &'static str,
        /// The role asked for ("the key", "excluded", "optional").
        role: &'static str,
    },
    /// A column's type does not suit its role.
    #[error("{source_name}: column {column:?} has type {data_type}, which cannot be used as the {role}")]
    UnsuitableColumn {
        /// The source file or URI.
        source_name: String,
        /// The column.
        column: String,
        /// Its type.
        data_type: String,
        /// Its role.
        role: &'static str,
    },
    /// A row has no value in a column that needs one (target or key).
    #[error("{source_name}, {location}: the {role} column {column:?} has no value")]
    MissingValue {
        /// The source file or URI.
        source_name: String,
        /// `line N` for CSV, `row N` for Parquet.
        location: String,
        /// The column.
        column: String,
        /// Its role.
        role: &'static str,
    },
    /// Partition proportions are invalid.
    #[error("invalid partition proportions: {message}")]
    InvalidSpec {
        /// What is wrong.
        message: String,
    },
    /// A class has too few rows to appear in every split.
    #[error(
        "class {class:?} of target {target:?} has {rows} row(s): too small to appear in all {splits} splits (use --no-stratify, or merge rare classes)"
    )]
    ClassTooSmall {
        /// The target column.
        target: String,
        /// The class label.
        class: String,
        /// Its row count.
        rows: u64,
        /// How many splits need it.
        splits: usize,
    },
    /// A classification target with fewer than two classes: no classifier can be trained on it.
    #[error("target {target:?} has {} class(es) ({counts}): a classification target needs at least two", classes)]
    TooFewClasses {
        /// The target column.
        target: String,
        /// How many classes it has.
        classes: usize,
        /// Rows per class, `label: rows`.
        counts: String,
    },
    /// A split with a positive proportion would get no row of some class (possible with a key
    /// column or without stratification, where counts follow the proportions only in
    /// expectation).
    #[error(
        "the {split} split would get no row of class {class:?} of target {target:?} (rows per class in {split}: {counts}); partition stratified without a key column, change the proportions, or merge rare classes"
    )]
    EmptyClassInSplit {
        /// The target column.
        target: String,
        /// The split.
        split: String,
        /// The class missing from it.
        class: String,
        /// Rows per class in that split, `label: rows`.
        counts: String,
    },
    /// A registration with different inputs exists.
    #[error("dataset {name:?} is already registered differently: {} (register under a new name, or pass --new-version)", differences.join("; "))]
    RegistrationConflict {
        /// The dataset.
        name: String,
        /// What differs, one entry per field.
        differences: Vec<String>,
    },
    /// A partition with different inputs exists (or was written concurrently).
    #[error("dataset {name:?} is already partitioned with different inputs: {} (pass --new-version to make a new partition version)", differences.join("; "))]
    PartitionConflict {
        /// The dataset.
        name: String,
        /// What differs, one entry per field.
        differences: Vec<String>,
    },
    /// The source's bytes are not the ones that were registered.
    #[error(
        "source {source_name} of dataset {name:?} changed since registration (registered {registered}, now {now}); register it again with --new-version"
    )]
    SourceChanged {
        /// The dataset.
        name: String,
        /// The source.
        source_name: String,
        /// The registered fingerprint.
        registered: String,
        /// The current fingerprint.
        now: String,
    },
    /// The source URI cannot be read from here.
    #[error("cannot read source {source_name:?}: {reason}")]
    BadSource {
        /// The source as given.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// A stored file's content hash does not match the manifest.
    #[error("{path} is corrupt: manifest says {expected}, content hashes to {actual}")]
    Corrupt {
        /// The object.
        path: String,
        /// The manifest's hash.
        expected: String,
        /// The actual hash.
        actual: String,
    },
    /// The dataset's task does not fit the requested loader.
    #[error("dataset {name:?} is a {task} dataset; {wanted}")]
    TaskMismatch {
        /// The dataset.
        name: String,
        /// Its task.
        task: &'static str,
        /// What was asked.
        wanted: &'static str,
    },
    /// A local file operation failed.
    #[error("{operation} {}: {source}", path.display())]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An Arrow or Parquet computation failed.
    #[error("{what}: {message}")]
    Data {
        /// What was being processed.
        what: String,
        /// The library's message.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(operation: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { operation, path: path.into(), source }
    }

    pub(crate) fn data(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Self::Data { what: what.into(), message: e.to_string() }
    }
}

//! The one error type of `wb-monitor`.

/// Result alias of `wb-monitor`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading capture, building baselines or running a monitor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or vocabulary error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A dataset error (unknown dataset, not partitioned, a file failing its hash).
    #[error(transparent)]
    Datasets(#[from] wb_datasets::Error),
    /// A registry, training-job or model error.
    #[error(transparent)]
    Models(#[from] wb_models::Error),
    /// An endpoint error.
    #[error(transparent)]
    Serving(#[from] wb_serving::Error),
    /// A monitoring document (statistics, constraints, violations) that does not follow its
    /// format, naming the document and the field.
    #[error("{document}: {field}: {message}")]
    BadDocument {
        /// The document (a store path or file name).
        document: String,
        /// The JSON path of the field (`features[3].completeness`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The endpoint has no baseline yet.
    #[error("endpoint {endpoint:?} has no monitoring baseline; run `wb monitor baseline --endpoint {endpoint}` first")]
    NoBaseline {
        /// The endpoint.
        endpoint: String,
    },
    /// A baseline or run needs a dataset the endpoint does not name.
    #[error("endpoint {endpoint:?}: {message}")]
    NoDataset {
        /// The endpoint.
        endpoint: String,
        /// What is missing and what to do.
        message: String,
    },
    /// A capture prefix with no capture file at all.
    #[error("no capture files under {prefix:?}{hint}")]
    NoCapture {
        /// The store prefix read.
        prefix: String,
        /// What to do about it.
        hint: String,
    },
    /// No monitoring report `id` for `endpoint` in the store (or a name that cannot be one).
    #[error("there is no monitoring report {id:?} for endpoint {endpoint:?} in this store")]
    UnknownReport {
        /// The endpoint asked for.
        endpoint: String,
        /// The report id asked for.
        id: String,
    },
    /// Invalid arguments (a window whose end is before its start, a threshold outside 0..=1).
    #[error("{0}")]
    InvalidInput(String),
    /// Writing Parquet failed.
    #[error("writing Parquet {path}: {message}")]
    Parquet {
        /// The file.
        path: String,
        /// The writer's error.
        message: String,
    },
    /// A background parsing task failed (panicked or was cancelled).
    #[error("a capture parsing task failed: {0}")]
    Task(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

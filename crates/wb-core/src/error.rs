//! The one error type of `wb-core`.

use std::path::PathBuf;

/// Result alias used throughout `wb-core` and by object-store implementations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the workbench vocabulary and its object stores.
///
/// Variants keep the offending value (name, path, URI, ...) so that messages can say exactly
/// what was wrong. Store implementations outside this crate (S3) map their failures into the
/// store-level variants (`NotFound`, `AlreadyExists`, `PreconditionFailed`, `AccessDenied`,
/// `Backend`) so that callers can react to them without knowing the backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A time that is not RFC 3339.
    #[error("{value:?} is not an RFC 3339 time: {reason}")]
    InvalidTime {
        /// The text given.
        value: String,
        /// What the parser said.
        reason: String,
    },
    /// A resource name does not follow SageMaker's naming rule.
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        /// What the name was for ("dataset", "endpoint", ...).
        kind: &'static str,
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An object path is not a valid store key.
    #[error("invalid object path {path:?}: {reason}")]
    InvalidPath {
        /// The rejected path.
        path: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A store or source URI could not be understood.
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri {
        /// The rejected URI.
        uri: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A configuration file is malformed or inconsistent.
    #[error("invalid configuration in {}: {message}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong, with line and column where the parser gives them.
        message: String,
    },
    /// No `workbench.toml` was found in the start directory or any of its parents.
    #[error(
        "no workbench.toml found in {} or any parent directory (run `wb init` first, or pass --config)",
        start.display()
    )]
    ConfigNotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// The object does not exist.
    #[error("object {path} not found in {store}")]
    NotFound {
        /// The store's URI.
        store: String,
        /// The missing object.
        path: String,
    },
    /// A create-only write found an existing object.
    #[error("object {path} already exists in {store}")]
    AlreadyExists {
        /// The store's URI.
        store: String,
        /// The existing object.
        path: String,
    },
    /// A conditional write found a different version than expected.
    #[error("object {path} in {store} changed since it was read (expected ETag {expected})")]
    PreconditionFailed {
        /// The store's URI.
        store: String,
        /// The object.
        path: String,
        /// The ETag the writer expected.
        expected: String,
    },
    /// The backend refused the credentials or the operation.
    #[error("access denied by {store} during {operation}: {message}")]
    AccessDenied {
        /// The store's URI.
        store: String,
        /// The operation that was refused.
        operation: &'static str,
        /// The backend's message.
        message: String,
    },
    /// A store's container (bucket, root directory) does not exist.
    #[error("store {store} does not exist: {message}")]
    StoreMissing {
        /// The store's URI.
        store: String,
        /// The backend's message.
        message: String,
    },
    /// A local filesystem operation failed.
    #[error("{operation} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "writing", ...).
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document could not be read or written.
    #[error("malformed JSON in {what}: {source}")]
    Json {
        /// Which document.
        what: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Any other backend failure, with the backend's error code where it has one.
    #[error("{store}: {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Backend {
        /// The store's URI.
        store: String,
        /// The operation that failed.
        operation: &'static str,
        /// The backend's error code (e.g. `NoSuchBucket`).
        code: Option<String>,
        /// The backend's message.
        message: String,
        /// The underlying error, boxed to keep `Result` small.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Error {
    /// Builds an [`Error::Io`].
    pub fn io(operation: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { operation, path: path.into(), source }
    }

    /// True for [`Error::NotFound`].
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// True for [`Error::AlreadyExists`].
    #[must_use]
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Self::AlreadyExists { .. })
    }

    /// True for [`Error::PreconditionFailed`].
    #[must_use]
    pub fn is_precondition_failed(&self) -> bool {
        matches!(self, Self::PreconditionFailed { .. })
    }
}

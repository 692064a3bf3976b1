//! The one error type of `wb-serving`.

/// Result alias of `wb-serving`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong deploying, serving, invoking or cleaning up models: the
/// serving failures, and the model's own ([`Error::Models`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invocation request is malformed (the container's 4xx).
    #[error("{message}")]
    BadRequest {
        /// The HTTP status the container answers with (400, 413, 415, 406).
        status: u16,
        /// What was wrong, naming the row, column and value.
        message: String,
    },
    /// An endpoint refused an invocation.
    #[error("endpoint {endpoint:?} answered {code} (HTTP {status}): {message}")]
    Invocation {
        /// The endpoint.
        endpoint: String,
        /// AWS's error code (`ValidationError`, `ModelError`, ...).
        code: String,
        /// The HTTP status.
        status: u16,
        /// The message.
        message: String,
    },
    /// A data-capture configuration is invalid (sampling percentage, capture options, content types).
    #[error("invalid data-capture configuration: {reason}")]
    InvalidCapture {
        /// What is wrong.
        reason: String,
    },
    /// Inference failed inside the server (not the request's fault; the container's 500).
    #[error("inference failed: {message}")]
    Inference {
        /// What happened.
        message: String,
    },
    /// The local model server could not be started, reached or stopped.
    #[error("local server: {message}")]
    Server {
        /// What happened.
        message: String,
    },
    /// The backend does not provide this operation.
    #[error("{operation} is not available on the {backend} backend: {hint}")]
    Unsupported {
        /// The operation (`scheduled monitoring`, ...).
        operation: &'static str,
        /// The backend's kind (`local`, ...).
        backend: String,
        /// What to do instead.
        hint: String,
    },
    // The wrapped errors of the crates below, and a backend's own.
    /// A store or vocabulary error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A model, training job, artefact or registry error (an unknown endpoint or job, a job
    /// that did not complete, an unreadable artefact, a concurrent write).
    #[error(transparent)]
    Models(#[from] wb_models::Error),
    /// A backend's own failure (SageMaker's, or a user's backend), with its message.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Whether retrying the same invocation may succeed: throttling (`ThrottlingException`,
    /// HTTP 429), server faults (HTTP 5xx: `InternalFailure`, `ServiceUnavailable`) and a
    /// server that could not be reached. A model's own error (`ModelError`, 424) and a
    /// `ValidationError` are not retried.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Invocation { code, status, .. } => {
                *status == 429 || (*status >= 500 && *status != 501) || code.contains("Throttling")
            }
            Self::Server { .. } => true,
            _ => false,
        }
    }

    /// A JSON document that could not be written ([`wb_models::Error::Json`]).
    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Models(wb_models::Error::Json { what: what.into(), source })
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest { status: 400, message: message.into() }
    }
}

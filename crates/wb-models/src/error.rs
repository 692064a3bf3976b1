//! The one error type of `wb-models`.

/// Result alias of `wb-models`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong training, packaging, reading or registering models.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or vocabulary error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A dataset error (unknown dataset, not partitioned, a file that fails its hash).
    #[error(transparent)]
    Datasets(#[from] wb_datasets::Error),
    /// The algorithm name is not one this workbench trains.
    #[error("unknown algorithm {name:?} (known: {})", known.join(", "))]
    UnknownAlgorithm {
        /// The name asked for.
        name: String,
        /// The algorithms there are.
        known: Vec<&'static str>,
    },
    /// A hyperparameter is unknown to the algorithm or its value is invalid.
    #[error("hyperparameter {name:?}: {reason}")]
    Hyperparameter {
        /// The hyperparameter.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The algorithm cannot learn this dataset (task, classes, shape).
    #[error("{algorithm} cannot train on this data: {reason}")]
    Unsupported {
        /// The algorithm.
        algorithm: String,
        /// Why not.
        reason: String,
    },
    /// Fitting failed inside the learning library.
    #[error("{algorithm} failed to fit: {message}")]
    Fit {
        /// The algorithm.
        algorithm: String,
        /// The library's message.
        message: String,
    },
    /// A training job of that name does not exist.
    #[error("training job {name:?} does not exist (see `wb jobs list`)")]
    UnknownJob {
        /// The job.
        name: String,
    },
    /// The training job was stopped on request before it finished.
    #[error("training job {name:?} was stopped on request")]
    JobStopped {
        /// The job.
        name: String,
    },
    /// The training job ran and failed.
    #[error("training job {name:?} failed: {reason}")]
    JobFailed {
        /// The job.
        name: String,
        /// The failure reason (from `output/failure`).
        reason: String,
    },
    /// A training job of that name exists already.
    #[error("training job {name:?} exists already; choose another --job name")]
    JobExists {
        /// The job.
        name: String,
    },
    /// The job did not complete, so it has no model.
    #[error("training job {name:?} is {status}{}; only a Completed job can be deployed", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    JobNotCompleted {
        /// The job.
        name: String,
        /// Its status.
        status: String,
        /// Its failure reason, if it failed.
        reason: Option<String>,
    },
    /// A training container layout (`/opt/ml/...`) is missing a file or holds a bad one.
    #[error("{path}: {message}")]
    Container {
        /// The file or directory.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A model artefact cannot be read or written.
    #[error("model artefact {what}: {message}")]
    Artifact {
        /// The artefact (URI or path).
        what: String,
        /// What is wrong.
        message: String,
    },
    /// An image cannot be used: not PNG or JPEG, corrupt or truncated, empty, or too large.
    #[error("{what} {message}")]
    Image {
        /// The image (a request image, or its position in a batch).
        what: String,
        /// What is wrong, with the decoder's message where there is one.
        message: String,
    },
    /// No endpoint of that name is deployed.
    #[error("endpoint {name:?} does not exist (see `wb endpoints list`)")]
    UnknownEndpoint {
        /// The endpoint.
        name: String,
    },
    /// A registered model of that name exists already.
    #[error("model {name:?} is registered already; pass --replace to replace it")]
    ModelExists {
        /// The model.
        name: String,
    },
    /// No registered model of that name.
    #[error("model {name:?} is not registered (see `wb models list`)")]
    UnknownModel {
        /// The model.
        name: String,
    },
    /// The model is the promoted one and cannot be removed.
    #[error("model {name:?} is the promoted model; promote another model first (`wb promote MODEL`)")]
    Promoted {
        /// The model.
        name: String,
    },
    /// A concurrent writer changed a record between our read and our write.
    #[error("{what} was changed concurrently; {advice}")]
    Conflict {
        /// The record.
        what: String,
        /// What to do.
        advice: String,
    },
    /// An in-process task (training, packing, decoding a model) panicked or was cancelled.
    #[error("{message}")]
    Task {
        /// What happened.
        message: String,
    },
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON document could not be read or written.
    #[error("{what}: {source}")]
    Json {
        /// The document.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Self::Io { path: path.as_ref().display().to_string(), source }
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Json { what: what.into(), source }
    }

    pub(crate) fn hyperparameter(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Hyperparameter { name: name.into(), reason: reason.into() }
    }
}

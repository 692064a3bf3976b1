//! The one error type of `wb-compare`.

/// Result alias of `wb-compare`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong comparing models, writing reports or serving them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or vocabulary error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A dataset error (unknown dataset, not partitioned, a file failing its hash).
    #[error(transparent)]
    Datasets(#[from] wb_datasets::Error),
    /// A registry or training-job error.
    #[error(transparent)]
    Models(#[from] wb_models::Error),
    /// An endpoint or invocation error.
    #[error(transparent)]
    Serving(#[from] wb_serving::Error),
    /// Nothing to compare.
    #[error("no registered models to compare{hint}")]
    NoModels {
        /// What to do about it (`, run ...`).
        hint: String,
    },
    /// A model named with `--models` is not registered.
    #[error("model {name:?} is not registered (registered: {})", if registered.is_empty() { "none".to_owned() } else { registered.join(", ") })]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The models there are.
        registered: Vec<String>,
    },
    /// The models were trained on different datasets and none was chosen.
    #[error("the registered models were trained on different datasets ({}); choose one with --dataset", datasets.join(", "))]
    AmbiguousDataset {
        /// The datasets.
        datasets: Vec<String>,
    },
    /// Every model was refused or failed, so there is nothing to report.
    #[error("no model could be scored:\n{}", reasons.join("\n"))]
    NothingScored {
        /// One line per model.
        reasons: Vec<String>,
    },
    /// An endpoint answered something that is not a prediction for every row.
    #[error("endpoint {endpoint:?}: {message}")]
    BadPredictions {
        /// The endpoint.
        endpoint: String,
        /// What is wrong, naming the row.
        message: String,
    },
    /// An invocation kept failing with throttling or server errors.
    #[error("{source} (gave up after {attempts} attempts)")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: wb_serving::Error,
    },
    /// An option is out of range.
    #[error("{option}: {message}")]
    InvalidOption {
        /// The option (`--batch-size`).
        option: &'static str,
        /// What is accepted.
        message: String,
    },
    /// A slice column is not a column of the dataset.
    #[error("cannot slice by {column:?}: not a column of dataset {dataset} (columns: {})", columns.join(", "))]
    UnknownColumn {
        /// The column asked for.
        column: String,
        /// The dataset.
        dataset: String,
        /// Its columns.
        columns: Vec<String>,
    },
    /// No report of that id exists.
    #[error("no comparison report {id:?} (see `wb compare serve` or reports/compare/)")]
    UnknownReport {
        /// The id.
        id: String,
    },
    /// The report could not be written; the comparison itself succeeded.
    #[error("cannot write report {path}: {message}")]
    WriteReport {
        /// Where it was going.
        path: String,
        /// Why it failed.
        message: String,
    },
    /// The web app's socket failed.
    #[error("web app: {message}")]
    Server {
        /// What happened.
        message: String,
    },
}

//! The crate's one error type.

/// What can go wrong in a workflow step or an export.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A step failed with a named error, as Step Functions reports a task failure: the name a
    /// `Retry` or `Catch` matches (`THRESHOLD_CONFIDENCE_NOT_MET`, …) and a readable cause.
    #[error("{name}: {cause}")]
    Step {
        /// The error name (never starting with `States.`, which Step Functions reserves).
        name: &'static str,
        /// What happened, naming the key, object, endpoint or value.
        cause: String,
    },
    /// A state machine definition the executor refuses before running it.
    #[error("{at} {message}")]
    Definition {
        /// Where: the state (and field) at fault.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// An execution record that could not be stored or read.
    #[error("execution history: {0}")]
    Store(#[from] wb_core::Error),
    /// An export option that cannot be honoured.
    #[error("invalid {field} {value:?}: {expected}")]
    Invalid {
        /// The option.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
}

impl Error {
    /// A step failure named `name`.
    pub(crate) fn step(name: &'static str, cause: impl Into<String>) -> Self {
        Self::Step { name, cause: cause.into() }
    }

    /// The error name Step Functions would see: the step's name, or `States.Runtime` for an
    /// export error (which never happens inside an execution).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Step { name, .. } => name,
            Self::Invalid { .. } | Self::Definition { .. } | Self::Store(_) => "States.Runtime",
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Partition proportions and options.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The three splits, in the order they are allotted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Rows models are fitted on.
    Train,
    /// Rows used for model selection and early stopping.
    Validation,
    /// Held-out rows, read only by the comparison.
    Test,
}

impl Split {
    /// All splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// The lower-case name used in paths and manifests.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::Test => "test",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// How to partition: proportions, seed, stratification.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartitionSpec {
    /// Share of rows for training.
    pub train: f64,
    /// Share of rows for validation.
    pub validation: f64,
    /// Share of rows for testing.
    pub test: f64,
    /// Seed of the permutation (or of the key hash).
    pub seed: u64,
    /// Whether per-class counts follow the proportions exactly.
    pub stratify: bool,
}

impl Default for PartitionSpec {
    fn default() -> Self {
        Self { train: 0.6, validation: 0.2, test: 0.2, seed: 42, stratify: true }
    }
}

impl PartitionSpec {
    /// The proportions as an array in [`Split::ALL`] order.
    #[must_use]
    pub fn proportions(&self) -> [f64; 3] {
        [self.train, self.validation, self.test]
    }

    /// Checks the proportions: each finite and in [0, 1], summing to 1 (±1e-9), train > 0 and
    /// test > 0.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the offending value.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| Err(Error::InvalidSpec { message });
        for (split, p) in Split::ALL.iter().zip(self.proportions()) {
            if !p.is_finite() || !(0.0..=1.0).contains(&p) {
                return bad(format!("{split} = {p} must be between 0 and 1"));
            }
        }
        let sum: f64 = self.proportions().iter().sum();
        if (sum - 1.0).abs() > 1e-9 {
            return bad(format!(
                "train {} + validation {} + test {} = {sum} must be 1",
                self.train, self.validation, self.test
            ));
        }
        if self.train == 0.0 || self.test == 0.0 {
            return bad("train and test must both be greater than 0".into());
        }
        Ok(())
    }
}

//! Validated resource names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest name SageMaker accepts for jobs, models, endpoints and the like.
pub const MAX_NAME_LEN: usize = 63;

/// Checks `name` against SageMaker's resource-name rule `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`:
/// 1 to 63 ASCII letters, digits and hyphens, starting and ending with a letter or digit.
///
/// # Errors
/// [`Error::InvalidName`] saying which rule the name breaks.
pub fn check_sagemaker_name(kind: &'static str, name: &str) -> Result<()> {
    let fail = |reason: String| Err(Error::InvalidName { kind, name: name.to_owned(), reason });
    if name.is_empty() {
        return fail("must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return fail(format!("is {} characters long; at most {MAX_NAME_LEN} are allowed", name.len()));
    }
    if let Some((i, c)) = name.char_indices().find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-')) {
        return fail(format!(
            "character {c:?} at position {} is not allowed (only ASCII letters, digits and '-')",
            i + 1
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return fail("must start and end with a letter or digit".into());
    }
    Ok(())
}

macro_rules! sagemaker_name {
    ($(#[$doc:meta])* $ty:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Invariant: matches SageMaker's resource-name rule (see [`check_sagemaker_name`]).
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Validates and wraps a name.
            ///
            /// # Errors
            /// [`Error::InvalidName`] when the name breaks SageMaker's rule.
            pub fn parse(name: impl Into<String>) -> Result<Self> {
                let name = name.into();
                check_sagemaker_name($kind, &name)?;
                Ok(Self(name))
            }

            /// The name as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad` honours width and alignment, so names line up in tables.
                f.pad(&self.0)
            }
        }

        impl FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                Self::parse(s)
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

sagemaker_name!(
    /// The name of a registered dataset.
    DatasetName,
    "dataset"
);
sagemaker_name!(
    /// The name of a training job (local or SageMaker).
    JobName,
    "training job"
);
sagemaker_name!(
    /// The name of an endpoint (local or SageMaker).
    EndpointName,
    "endpoint"
);
sagemaker_name!(
    /// The name of a registered model.
    ModelName,
    "model"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sagemaker_names() {
        for ok in ["a", "wine", "wine-quality", "a--b", "A1", &"x".repeat(63)] {
            assert!(DatasetName::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_bad_names_with_reason() {
        let cases = [
            ("", "empty"),
            ("-a", "start and end"),
            ("a-", "start and end"),
            ("a_b", "'_'"),
            ("wine quality", "' '"),
            ("é", "'é'"),
        ];
        for (bad, why) in cases {
            let err = DatasetName::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(why), "{err:?} should mention {why:?}");
            assert!(err.contains("dataset"), "{err:?} should name the kind");
        }
        let long = "x".repeat(64);
        assert!(DatasetName::parse(&long).expect_err("too long").to_string().contains("64 characters"));
    }

    #[test]
    fn serde_validates() {
        let ok: DatasetName = serde_json::from_str("\"wine\"").expect("valid");
        assert_eq!(ok.as_str(), "wine");
        assert!(serde_json::from_str::<DatasetName>("\"bad name\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_the_regex(name in "[a-zA-Z0-9_ -]{0,70}") {
            let bytes = name.as_bytes();
            let regex_like = !name.is_empty()
                && name.len() <= 63
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-';
            proptest::prop_assert_eq!(DatasetName::parse(name.clone()).is_ok(), regex_like);
        }
    }
}

//! Validated object paths (store keys).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A key in an object store, relative to the store's root: `datasets/wine/manifest.json`.
///
/// Invariants: `/`-separated non-empty segments; no segment is `.` or `..` or starts with a
/// `.` (dot-names are reserved for the stores' own bookkeeping); no backslashes, no control
/// characters; no leading or trailing `/`; at most 1024 bytes (S3's key limit).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectPath(String);

impl ObjectPath {
    /// Validates and wraps a path.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] naming the rule the path breaks.
    pub fn parse(path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        let fail = |reason: &str| Err(Error::InvalidPath { path: path.clone(), reason: reason.to_owned() });
        if path.is_empty() {
            return fail("must not be empty");
        }
        if path.len() > 1024 {
            return fail("is longer than 1024 bytes");
        }
        if path.starts_with('/') || path.ends_with('/') {
            return fail("must not start or end with '/'");
        }
        if path.contains('\\') {
            return fail("must not contain '\\'");
        }
        if path.chars().any(char::is_control) {
            return fail("must not contain control characters");
        }
        for segment in path.split('/') {
            if segment.is_empty() {
                return fail("must not contain empty segments ('//')");
            }
            if segment.starts_with('.') {
                return fail("segments must not start with '.' (reserved, and no '.' or '..')");
            }
        }
        Ok(Self(path))
    }

    /// Joins a relative path below this one.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] when `child` is not a valid relative path.
    pub fn join(&self, child: &str) -> Result<Self> {
        Self::parse(format!("{}/{child}", self.0))
    }

    /// The path as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments of the path.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment.
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// True when `self` is `prefix` or lies below it (segment-wise: `a/bc` is not below `a/b`).
    #[must_use]
    pub fn starts_with(&self, prefix: &ObjectPath) -> bool {
        self.0 == prefix.0 || (self.0.starts_with(&prefix.0) && self.0.as_bytes()[prefix.0.len()] == b'/')
    }
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ObjectPath {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ObjectPath {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl From<ObjectPath> for String {
    fn from(p: ObjectPath) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths() {
        let p = ObjectPath::parse("datasets/wine/manifest.json").expect("valid");
        assert_eq!(p.file_name(), "manifest.json");
        assert_eq!(p.segments().count(), 3);
        let j = ObjectPath::parse("a").expect("valid").join("b/c.txt").expect("valid");
        assert_eq!(j.as_str(), "a/b/c.txt");
    }

    #[test]
    fn invalid_paths_say_why() {
        for (bad, why) in [
            ("", "empty"),
            ("/abs", "start or end"),
            ("a/", "start or end"),
            ("a//b", "empty segments"),
            ("a/../b", "'.'"),
            ("./a", "'.'"),
            (".wb-tmp/x", "'.'"),
            ("a\\b", "'\\'"),
            ("a\nb", "control"),
        ] {
            let msg = ObjectPath::parse(bad).expect_err(bad).to_string();
            assert!(msg.contains(why), "{msg:?} should mention {why:?}");
        }
    }

    #[test]
    fn prefix_is_segment_wise() {
        let p = |s: &str| ObjectPath::parse(s).expect("valid");
        assert!(p("a/b/c").starts_with(&p("a/b")));
        assert!(p("a/b").starts_with(&p("a/b")));
        assert!(!p("a/bc").starts_with(&p("a/b")));
    }
}

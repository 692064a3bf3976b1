//! Store URIs: where a workbench keeps its state.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::path::ObjectPath;

/// The location of an object store.
///
/// Canonical forms: `file:///absolute/dir` for a local directory and `s3://bucket/prefix` (prefix
/// optional) for S3. A plain path without a scheme is a local directory, resolved against a base
/// directory by [`StoreUri::parse_relative_to`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum StoreUri {
    /// A directory on the local filesystem (absolute).
    Local(PathBuf),
    /// A bucket and an optional key prefix in S3.
    S3 {
        /// The bucket name.
        bucket: String,
        /// The key prefix without leading or trailing `/` (`None` for the bucket root).
        prefix: Option<ObjectPath>,
    },
}

impl StoreUri {
    /// Parses an absolute store URI (`file:///dir`, `/dir`, `s3://bucket/prefix`).
    ///
    /// # Errors
    /// [`Error::InvalidUri`] for unknown schemes, relative local paths and invalid bucket names.
    pub fn parse(uri: &str) -> Result<Self> {
        Self::parse_inner(uri, None)
    }

    /// Parses a store URI, resolving a relative local path against `base`.
    ///
    /// # Errors
    /// [`Error::InvalidUri`] for unknown schemes and invalid bucket names.
    pub fn parse_relative_to(uri: &str, base: &Path) -> Result<Self> {
        Self::parse_inner(uri, Some(base))
    }

    fn parse_inner(uri: &str, base: Option<&Path>) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidUri { uri: uri.to_owned(), reason };
        if uri.trim().is_empty() {
            return Err(invalid("must not be empty".into()));
        }
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            check_bucket(bucket).map_err(invalid)?;
            let prefix = prefix.trim_end_matches('/');
            let prefix = if prefix.is_empty() {
                None
            } else {
                Some(ObjectPath::parse(prefix).map_err(|e| invalid(format!("bad key prefix: {e}")))?)
            };
            return Ok(Self::S3 { bucket: bucket.to_owned(), prefix });
        }
        let path = if let Some(rest) = uri.strip_prefix("file://") {
            PathBuf::from(rest)
        } else if let Some((scheme, _)) = uri.split_once("://") {
            return Err(invalid(format!(
                "unknown scheme {scheme:?}; supported are file:// (or a plain path) and s3://"
            )));
        } else {
            PathBuf::from(uri)
        };
        if path.is_absolute() {
            Ok(Self::Local(path))
        } else if let Some(base) = base {
            Ok(Self::Local(base.join(path)))
        } else {
            Err(invalid("a local store path must be absolute here".into()))
        }
    }

    /// The URI of an object inside this store.
    #[must_use]
    pub fn object_uri(&self, path: &ObjectPath) -> String {
        match self {
            Self::Local(dir) => format!("file://{}", dir.join(path.as_str()).display()),
            Self::S3 { bucket, prefix: Some(p) } => format!("s3://{bucket}/{p}/{path}"),
            Self::S3 { bucket, prefix: None } => format!("s3://{bucket}/{path}"),
        }
    }

    /// When `uri` names an object inside this store, its path relative to the store.
    #[must_use]
    pub fn relative_object(&self, uri: &str) -> Option<ObjectPath> {
        let root = self.to_string();
        let rest = uri.strip_prefix(root.trim_end_matches('/'))?.strip_prefix('/')?;
        ObjectPath::parse(rest).ok()
    }
}

/// S3 bucket naming rules (general-purpose buckets): 3–63 characters of lower-case letters,
/// digits, dots and hyphens, beginning and ending with a letter or digit.
fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    if !(3..=63).contains(&bucket.len()) {
        return Err(format!("bucket name {bucket:?} must be 3 to 63 characters long"));
    }
    if !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return Err(format!("bucket name {bucket:?} may contain only lower-case letters, digits, '.' and '-'"));
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(bucket.as_bytes()[0]) || !edge_ok(bucket.as_bytes()[bucket.len() - 1]) {
        return Err(format!("bucket name {bucket:?} must begin and end with a letter or digit"));
    }
    Ok(())
}

impl fmt::Display for StoreUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(dir) => write!(f, "file://{}", dir.display()),
            Self::S3 { bucket, prefix: Some(p) } => write!(f, "s3://{bucket}/{p}"),
            Self::S3 { bucket, prefix: None } => write!(f, "s3://{bucket}"),
        }
    }
}

impl TryFrom<String> for StoreUri {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<StoreUri> for String {
    fn from(u: StoreUri) -> String {
        u.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonical_forms() {
        let s3 = StoreUri::parse("s3://my-bucket/team/wb/").expect("valid");
        assert_eq!(s3.to_string(), "s3://my-bucket/team/wb");
        let root = StoreUri::parse("s3://my-bucket").expect("valid");
        assert_eq!(root, StoreUri::S3 { bucket: "my-bucket".into(), prefix: None });
        let local = StoreUri::parse("file:///tmp/wb").expect("valid");
        assert_eq!(local, StoreUri::Local("/tmp/wb".into()));
        assert_eq!(StoreUri::parse(&local.to_string()).expect("round trip"), local);
        let rel = StoreUri::parse_relative_to(".workbench", Path::new("/p")).expect("valid");
        assert_eq!(rel, StoreUri::Local("/p/.workbench".into()));
    }

    #[test]
    fn object_uris_round_trip() {
        let s3 = StoreUri::parse("s3://my-bucket/wb").expect("valid");
        let p = ObjectPath::parse("datasets/wine/manifest.json").expect("valid");
        let uri = s3.object_uri(&p);
        assert_eq!(uri, "s3://my-bucket/wb/datasets/wine/manifest.json");
        assert_eq!(s3.relative_object(&uri), Some(p));
        assert_eq!(s3.relative_object("s3://my-bucket/wbx/a"), None);
    }

    #[test]
    fn rejects_unknown_schemes_and_bad_buckets() {
        let e = StoreUri::parse("gs://bucket/x").expect_err("unknown").to_string();
        assert!(e.contains("unknown scheme \"gs\""), "{e}");
        for bad in ["s3://AB", "s3://Bad_Bucket/x", "s3://-abc", "s3://"] {
            assert!(StoreUri::parse(bad).is_err(), "{bad}");
        }
        assert!(StoreUri::parse("relative/dir").is_err());
    }
}

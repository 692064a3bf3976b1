//! Content hashes used to fingerprint datasets, files and artefacts.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A BLAKE3 digest of some content, written `blake3:<64 lower-case hex digits>`.
///
/// Invariant: always 32 bytes of digest; the algorithm prefix makes room for others later.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Hashes a byte slice.
    #[must_use]
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Hashes a file, streaming it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn of_file(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
        let mut hasher = ContentHasher::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io("reading", path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finish())
    }

    /// Parses `blake3:<hex>`.
    ///
    /// # Errors
    /// [`Error::InvalidUri`]-style message as [`Error::InvalidName`] when malformed.
    pub fn parse(s: &str) -> Result<Self> {
        let bad =
            |reason: &str| Error::InvalidName { kind: "content hash", name: s.to_owned(), reason: reason.to_owned() };
        let hex_part = s.strip_prefix("blake3:").ok_or_else(|| bad("must start with 'blake3:'"))?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| bad("must be 64 hex digits after 'blake3:'"))?;
        Ok(Self(out))
    }

    /// The first `n` hex digits, for short identifiers (`n` ≤ 64).
    #[must_use]
    pub fn short(&self, n: usize) -> String {
        let mut s = hex::encode(self.0);
        s.truncate(n.min(64));
        s
    }

    /// The raw digest.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for ContentHash {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<ContentHash> for String {
    fn from(h: ContentHash) -> String {
        h.to_string()
    }
}

/// Incremental [`ContentHash`] computation.
#[derive(Debug, Default, Clone)]
pub struct ContentHasher(blake3::Hasher);

impl ContentHasher {
    /// A fresh hasher.
    #[must_use]
    pub fn new() -> Self {
        Self(blake3::Hasher::new())
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    /// The digest of everything fed so far.
    #[must_use]
    pub fn finish(&self) -> ContentHash {
        ContentHash(*self.0.finalize().as_bytes())
    }
}

impl std::io::Write for ContentHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_blake3() {
        let h = ContentHash::of_bytes(b"abc");
        let s = h.to_string();
        assert_eq!(s, "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
        assert_eq!(ContentHash::parse(&s).expect("parse"), h);
        assert_eq!(h.short(8), "6437b3ac");
        let mut inc = ContentHasher::new();
        inc.update(b"a").update(b"bc");
        assert_eq!(inc.finish(), h);
        assert!(ContentHash::parse("sha256:00").is_err());
        assert!(ContentHash::parse("blake3:zz").is_err());
    }
}

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

    /// The hash of content of `len` bytes from the [`PieceHash`]es of its pieces, in order: the
    /// same digest as hashing it whole. BLAKE3 is a tree, and each aligned piece one of its
    /// subtrees, so the pieces may be hashed on any thread, in any order, by whoever reads them.
    /// `None` when the pieces do not make up `len` bytes, or when the content is a single piece
    /// (which is the root itself: hash it whole).
    ///
    /// ```
    /// use wb_core::{ContentHash, PieceHash, PIECE_LEN};
    /// let content = vec![7u8; 3 * PIECE_LEN as usize + 5];
    /// let pieces: Vec<PieceHash> = content
    ///     .chunks(PIECE_LEN as usize)
    ///     .enumerate()
    ///     .map(|(i, piece)| PieceHash::of(i as u64 * PIECE_LEN, piece).expect("an aligned piece"))
    ///     .collect();
    /// assert_eq!(ContentHash::of_pieces(content.len() as u64, &pieces), Some(ContentHash::of_bytes(&content)));
    /// ```
    #[must_use]
    pub fn of_pieces(len: u64, pieces: &[PieceHash]) -> Option<Self> {
        use blake3::hazmat::{ChainingValue, Mode, left_subtree_len, merge_subtrees_non_root, merge_subtrees_root};
        /// The chaining value of the subtree of `len` bytes made of `pieces`.
        fn subtree(pieces: &[PieceHash], len: u64) -> Option<ChainingValue> {
            if len <= PIECE_LEN {
                return pieces.first().map(|p| p.0);
            }
            let left = left_subtree_len(len);
            let (l, r) = pieces.split_at_checked(usize::try_from(left / PIECE_LEN).ok()?)?;
            Some(merge_subtrees_non_root(&subtree(l, left)?, &subtree(r, len - left)?, Mode::Hash))
        }
        if len <= PIECE_LEN || pieces.len() as u64 != len.div_ceil(PIECE_LEN) {
            return None;
        }
        let left = left_subtree_len(len);
        let (l, r) = pieces.split_at_checked(usize::try_from(left / PIECE_LEN).ok()?)?;
        let root = merge_subtrees_root(&subtree(l, left)?, &subtree(r, len - left)?, Mode::Hash);
        Some(Self(*root.as_bytes()))
    }
}

/// The length of the pieces of [`ContentHash::of_pieces`]: 64 KiB, a subtree of 64 BLAKE3
/// chunks (enough for its SIMD paths).
pub const PIECE_LEN: u64 = 64 * 1024;

/// The hash of one piece of some content: its [`PIECE_LEN`] bytes from an offset that is a
/// multiple of [`PIECE_LEN`] (the content's last piece may be shorter), as a subtree of the
/// content's BLAKE3 tree. See [`ContentHash::of_pieces`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PieceHash(blake3::hazmat::ChainingValue);

impl PieceHash {
    /// Hashes the piece at `offset`; `None` when `offset` is not a multiple of [`PIECE_LEN`] or
    /// `bytes` are longer than a piece.
    #[must_use]
    pub fn of(offset: u64, bytes: &[u8]) -> Option<Self> {
        use blake3::hazmat::HasherExt;
        if !offset.is_multiple_of(PIECE_LEN) || bytes.len() as u64 > PIECE_LEN {
            return None;
        }
        let mut hasher = blake3::Hasher::new();
        hasher.set_input_offset(offset).update(bytes);
        Some(Self(hasher.finalize_non_root()))
    }

    /// The hashes of the pieces of `file` (of `len` bytes) that start in the byte range read
    /// into `bytes` from offset `start` — from the start of the file when `from_file_start`
    /// (the first of a run of ranges that cover the file after its header, so that every piece
    /// is some range's). A piece that runs past the range (or starts before it) is read from
    /// `file`; the others are hashed from `bytes`. The ranges' pieces, in order, make up the
    /// file's for [`ContentHash::of_pieces`].
    ///
    /// # Errors
    /// The error of reading a piece from `file`.
    pub fn of_range(
        file: &std::fs::File,
        len: u64,
        start: u64,
        bytes: &[u8],
        from_file_start: bool,
    ) -> std::io::Result<Vec<Self>> {
        let end = start + bytes.len() as u64;
        let from = if from_file_start { 0 } else { start.next_multiple_of(PIECE_LEN) };
        let mut pieces = Vec::new();
        let mut outside = Vec::new();
        let mut at = from;
        while at < end {
            let piece_end = (at + PIECE_LEN).min(len);
            let piece = match bytes.get(at.wrapping_sub(start) as usize..piece_end.wrapping_sub(start) as usize) {
                Some(inside) if at >= start => inside,
                _ => {
                    outside.resize(usize::try_from(piece_end.saturating_sub(at)).unwrap_or_default(), 0);
                    std::os::unix::fs::FileExt::read_exact_at(file, &mut outside, at)?;
                    &outside[..]
                }
            };
            pieces.push(Self::of(at, piece).ok_or_else(|| std::io::Error::other("a piece out of line"))?);
            at += PIECE_LEN;
        }
        Ok(pieces)
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

    #[test]
    fn pieces_join_into_the_hash_of_the_whole() {
        let piece = PIECE_LEN as usize;
        let content: Vec<u8> = (0..9 * piece + 77).map(|i| (i * 31 % 251) as u8).collect();
        // Lengths around the tree's boundaries: one piece and a byte, powers of two, a short last piece.
        for len in
            [piece + 1, 2 * piece, 2 * piece + 1, 3 * piece - 1, 4 * piece, 5 * piece + 1000, 8 * piece, 9 * piece + 77]
        {
            let content = &content[..len];
            let pieces: Vec<PieceHash> = content
                .chunks(piece)
                .enumerate()
                .map(|(i, p)| PieceHash::of((i * piece) as u64, p).expect("aligned"))
                .collect();
            assert_eq!(ContentHash::of_pieces(len as u64, &pieces), Some(ContentHash::of_bytes(content)), "{len}");
            // A missing or an extra piece, a wrong length, pieces out of order: no hash, or another.
            assert_eq!(ContentHash::of_pieces(len as u64, &pieces[1..]), None);
            assert_eq!(ContentHash::of_pieces(len as u64 + PIECE_LEN, &pieces), None);
            let mut swapped = pieces.clone();
            swapped.swap(0, 1);
            assert_ne!(ContentHash::of_pieces(len as u64, &swapped), Some(ContentHash::of_bytes(content)));
        }
        // Pieces of ranges read from a file: any cut, the first range's from the file's start.
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f");
        std::fs::write(&path, &content).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let len = content.len() as u64;
        for cuts in [vec![100, len], vec![40, piece as u64, 3 * piece as u64 + 1, len], vec![5000, 5001, 300_000, len]]
        {
            let mut pieces = Vec::new();
            // The ranges start after a "header" of 37 bytes, which the first range's pieces cover.
            let mut start = 37;
            for (i, &end) in cuts.iter().enumerate() {
                let bytes = &content[start as usize..end as usize];
                pieces.extend(PieceHash::of_range(&file, len, start, bytes, i == 0).expect("read"));
                start = end;
            }
            assert_eq!(ContentHash::of_pieces(len, &pieces), Some(ContentHash::of_bytes(&content)), "{cuts:?}");
        }

        // A single piece is the root itself.
        let one = PieceHash::of(0, &content[..100]).expect("aligned");
        assert_eq!(ContentHash::of_pieces(100, &[one]), None);
        // Misaligned or oversized pieces are refused, not hashed wrong.
        assert_eq!(PieceHash::of(1024, &content[..10]), None);
        assert_eq!(PieceHash::of(0, &content[..piece + 1]), None);
    }
}

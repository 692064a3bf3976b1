//! The source index a registration keeps of a plain CSV source, so that partitioning it need
//! not read the file once more before decoding it.
//!
//! Registering reads every record to infer the schema. On the way it keeps what a partition's
//! first pass would otherwise read again: the file's chunks of [`CHUNK_ROWS`] whole records
//! (where a line-end scan cuts them), and each record's target cell as an id among the
//! target's distinct texts ([`wb_etl::tabular::ColumnTally`]). It is stored next to the
//! registration (`datasets/<name>/source-index`):
//!
//! ```text
//! wb-source-index 1\n
//! {"source":"blake3:…","target":"…","chunk_rows":16384,"chunks":[[start,end,rows],…],"values":["…",…]}\n
//! <one byte per record: the id of its target cell among values>
//! <32 bytes: BLAKE3 of everything above>
//! ```
//!
//! The index is an accelerator, never a source of truth: a partition uses it only when it
//! reads back whole (its own hash), describes the registered bytes (the source's fingerprint,
//! size, record count and target) and is consistent (contiguous chunks, ids within the
//! values); otherwise it reads the file as before. The source itself is still hashed while it
//! is partitioned, and every chunk's record count is checked as it is decoded.

use serde::{Deserialize, Serialize};
use wb_core::{ContentHash, DatasetName, ObjectStore};

use crate::chunks::{CHUNK_ROWS, Chunk};
use crate::error::Result;
use crate::layout;
use crate::manifest::DatasetRecord;

/// The first line of the format, with its version.
const MAGIC: &[u8] = b"wb-source-index 1\n";

/// The index of one registered source (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SourceIndex {
    /// The fingerprint of the bytes it describes.
    pub(crate) source: ContentHash,
    /// The column tallied.
    pub(crate) target: String,
    /// The chunks of the data records, in file order.
    pub(crate) chunks: Vec<Chunk>,
    /// The target's distinct texts, as written in the file.
    pub(crate) values: Vec<String>,
    /// Per data record: the index of its target text in `values`.
    pub(crate) ids: Vec<u8>,
}

/// The JSON line of the format.
#[derive(Serialize, Deserialize)]
struct Header {
    source: ContentHash,
    target: String,
    chunk_rows: usize,
    /// (start, end, records) of each chunk.
    chunks: Vec<(u64, u64, usize)>,
    values: Vec<String>,
}

impl SourceIndex {
    /// The index stored for dataset `name` when it can stand in for reading `record`'s source:
    /// it reads back whole and describes the registered bytes and target. A damaged or foreign
    /// index is set aside with a `warn` event saying why (`None`: the source is then read).
    ///
    /// # Errors
    /// Store errors other than the index being absent.
    pub(crate) async fn load(
        store: &dyn ObjectStore,
        name: &DatasetName,
        record: &DatasetRecord,
    ) -> Result<Option<Self>> {
        let bytes = match store.get(&layout::source_index_path(name)).await {
            Ok(found) => found.bytes,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match Self::from_bytes(&bytes).and_then(|index| index.describes(record).map(|()| index)) {
            Ok(index) => Ok(Some(index)),
            Err(reason) => {
                tracing::warn!(dataset = %name, %reason, "the source index is not used: the source is read for its targets");
                Ok(None)
            }
        }
    }

    /// The stored form.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            source: self.source,
            target: self.target.clone(),
            chunk_rows: CHUNK_ROWS,
            chunks: self.chunks.iter().map(|c| (c.start, c.end, c.rows)).collect(),
            values: self.values.clone(),
        };
        let mut bytes = MAGIC.to_vec();
        serde_json::to_writer(&mut bytes, &header).expect("a header serializes");
        bytes.push(b'\n');
        bytes.extend_from_slice(&self.ids);
        let hash = ContentHash::of_bytes(&bytes);
        bytes.extend_from_slice(hash.as_bytes());
        bytes
    }

    /// Reads the stored form back; `Err` says what is wrong with it.
    pub(crate) fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let body_len = bytes.len().checked_sub(32).ok_or("it is shorter than its hash")?;
        let (body, hash) = bytes.split_at(body_len);
        if ContentHash::of_bytes(body).as_bytes()[..] != hash[..] {
            return Err("its bytes do not match their hash".into());
        }
        let rest = body.strip_prefix(MAGIC).ok_or("it is not a source index of version 1")?;
        let line = memchr::memchr(b'\n', rest).ok_or("its header has no end")?;
        let header: Header =
            serde_json::from_slice(&rest[..line]).map_err(|e| format!("its header does not read: {e}"))?;
        let ids = rest[line + 1..].to_vec();
        if header.chunk_rows != CHUNK_ROWS {
            return Err(format!("its chunks hold {} records, not {CHUNK_ROWS}", header.chunk_rows));
        }
        let mut chunks = Vec::with_capacity(header.chunks.len());
        let mut first_row = 0u64;
        for (i, &(start, end, rows)) in header.chunks.iter().enumerate() {
            let last = i + 1 == header.chunks.len();
            let follows = chunks.last().is_none_or(|prev: &Chunk| prev.end == start);
            if !follows || end <= start || rows == 0 || (rows != CHUNK_ROWS && !last) {
                return Err(format!("its chunk {i} ({start}..{end}, {rows} records) does not follow the others"));
            }
            chunks.push(Chunk { start, end, rows, first_row });
            first_row += rows as u64;
        }
        if first_row != ids.len() as u64 || ids.is_empty() {
            return Err(format!("its chunks hold {first_row} records and its ids {}", ids.len()));
        }
        let mut used = [false; 256];
        for &id in &ids {
            used[usize::from(id)] = true;
        }
        if let Some(id) = used.iter().rposition(|&u| u).filter(|&id| id >= header.values.len()) {
            return Err(format!("an id ({id}) is past its {} values", header.values.len()));
        }
        if let Some(value) = used.iter().take(header.values.len()).position(|&u| !u) {
            return Err(format!("its value {value} ({:?}) is no record's", header.values[value]));
        }
        Ok(Self { source: header.source, target: header.target, chunks, values: header.values, ids })
    }

    /// `Err` with the reason when the index does not describe `record`'s source and target.
    pub(crate) fn describes(&self, record: &DatasetRecord) -> std::result::Result<(), String> {
        if self.source != record.source.fingerprint {
            return Err(format!("it describes {}, not the registered {}", self.source, record.source.fingerprint));
        }
        if self.target != record.target {
            return Err(format!("it tallies {:?}, not the target {:?}", self.target, record.target));
        }
        let end = self.chunks.last().map_or(0, |c| c.end);
        if end != record.source.size {
            return Err(format!("its chunks end at byte {end}, the source has {} bytes", record.source.size));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SourceIndex {
        let rows = CHUNK_ROWS + 3;
        SourceIndex {
            source: ContentHash::of_bytes(b"source"),
            target: "label".into(),
            chunks: vec![
                Chunk { start: 10, end: 5000, rows: CHUNK_ROWS, first_row: 0 },
                Chunk { start: 5000, end: 5012, rows: 3, first_row: CHUNK_ROWS as u64 },
            ],
            values: vec!["no".into(), ">30".into()],
            ids: (0..rows).map(|i| u8::from(i % 3 == 0)).collect(),
        }
    }

    #[test]
    fn an_index_reads_back_as_written() {
        let index = index();
        assert_eq!(SourceIndex::from_bytes(&index.to_bytes()), Ok(index));
    }

    #[test]
    fn a_damaged_or_inconsistent_index_is_refused_with_the_reason() {
        let bytes = index().to_bytes();
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert_eq!(SourceIndex::from_bytes(&flipped), Err("its bytes do not match their hash".into()));
        assert!(SourceIndex::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(SourceIndex::from_bytes(&bytes[..10]).is_err());
        // Consistent bytes (their hash recomputed) that contradict themselves.
        let mut gap = index();
        gap.chunks[1].start = 5001;
        assert!(SourceIndex::from_bytes(&gap.to_bytes()).expect_err("gap").contains("chunk 1"));
        let mut short = index();
        short.ids.pop();
        assert!(SourceIndex::from_bytes(&short.to_bytes()).expect_err("short").contains("16387 records"));
        let mut past = index();
        past.ids[7] = 2;
        assert!(SourceIndex::from_bytes(&past.to_bytes()).expect_err("past").contains("id (2)"));
        let mut unused = index();
        unused.values.push("<30".into());
        assert!(SourceIndex::from_bytes(&unused.to_bytes()).expect_err("unused").contains("\"<30\""));
        let mut small = index();
        small.chunks[0].rows = 5;
        small.ids.truncate(8);
        assert!(SourceIndex::from_bytes(&small.to_bytes()).expect_err("small chunk").contains("chunk 0"));
    }
}

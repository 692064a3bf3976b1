//! Decoding a CSV source in parallel, in chunks of whole records.
//!
//! [`split`] scans the file once for line ends (a `memchr` pass, no tokenizing) and cuts the
//! data lines into chunks of a fixed number of records. A chunk is then decoded on its own by
//! Arrow's CSV decoder, on any thread, and the results are handed back in file order by
//! [`ordered`]. Chunks hold exactly as many records as the sequential reader's batches, so the
//! batches are the same either way.
//!
//! Line ends are record ends only when no field is quoted, no line is empty and every `\r` is
//! part of a `\r\n`: otherwise [`split`] answers `None` and the caller reads the file
//! sequentially (a quoted field may hold a line end, and the CSV reader skips empty lines).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::Scope;

use arrow::array::RecordBatch;
use arrow::csv::reader::{Format, ReaderBuilder};
use arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::plain::Missing;

/// A run of whole records of a CSV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Byte offset of the first record.
    pub(crate) start: u64,
    /// Byte offset just past the last record.
    pub(crate) end: u64,
    /// Records in the chunk.
    pub(crate) rows: usize,
    /// Index of the chunk's first record among the data records (0 is the line after the
    /// header).
    pub(crate) first_row: u64,
}

/// Records per chunk: the chunks a registration keeps in its source index, and those a
/// partition decodes (each as many records as a batch of the sequential reader).
pub(crate) const CHUNK_ROWS: usize = 16 * 1024;

/// Bytes read per block while scanning for line ends.
const SCAN_BLOCK: usize = 8 << 20;

/// Cuts the data records of a CSV file (after its header line) into chunks of `rows_per_chunk`
/// records (the last one may be shorter); `None` when line ends are not record ends (see the
/// module docs).
pub(crate) fn split(path: &Path, rows_per_chunk: usize) -> Result<Option<Vec<Chunk>>> {
    split_each(path, rows_per_chunk, |_| ())
}

/// [`split`], handing each chunk to `found` as soon as it is found (a `None` at the end means
/// the chunks handed over are not to be used).
pub(crate) fn split_each(
    path: &Path,
    rows_per_chunk: usize,
    mut found: impl FnMut(&Chunk),
) -> Result<Option<Vec<Chunk>>> {
    let rows_per_chunk = rows_per_chunk.max(1);
    let mut file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut block = vec![0u8; SCAN_BLOCK];
    let mut chunks = Vec::new();
    let mut offset = 0u64; // of the block
    let mut line_start: Option<u64> = None; // None while in the header line
    let mut chunk_start = 0u64;
    let mut rows = 0usize;
    let mut first_row = 0u64;
    let mut pending_cr: Option<u64> = None; // a `\r` that must be followed by `\n`
    loop {
        let n = read_full(&mut file, &mut block).map_err(|e| Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        let bytes = &block[..n];
        for i in memchr::memchr3_iter(b'\n', b'\r', b'"', bytes) {
            let at = offset + i as u64;
            let after_cr = match pending_cr.take() {
                Some(cr) if bytes[i] == b'\n' && cr + 1 == at => true,
                Some(_) => return Ok(None),
                None => false,
            };
            match bytes[i] {
                b'"' => return Ok(None),
                b'\r' => pending_cr = Some(at),
                _ => {
                    let Some(start) = line_start else {
                        line_start = Some(at + 1);
                        chunk_start = at + 1;
                        continue;
                    };
                    let content_end = if after_cr { at - 1 } else { at };
                    if content_end == start {
                        return Ok(None);
                    }
                    rows += 1;
                    line_start = Some(at + 1);
                    if rows == rows_per_chunk {
                        let chunk = Chunk { start: chunk_start, end: at + 1, rows, first_row };
                        found(&chunk);
                        chunks.push(chunk);
                        first_row += rows as u64;
                        chunk_start = at + 1;
                        rows = 0;
                    }
                }
            }
        }
        offset += n as u64;
    }
    if pending_cr.is_some() {
        return Ok(None);
    }
    if let Some(start) = line_start
        && start < offset
    {
        // A last record without a line end.
        rows += 1;
    }
    if rows > 0 {
        let chunk = Chunk { start: chunk_start, end: offset, rows, first_row };
        found(&chunk);
        chunks.push(chunk);
    }
    Ok(Some(chunks))
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The missing-value tokens, matched exactly against whole fields.
#[derive(Clone, Debug)]
pub(crate) struct MissingTokens {
    missing: Missing,
    delimiter: u8,
    /// Arrow's format without a null pattern: only empty cells are null.
    format: Format,
}

impl MissingTokens {
    /// Exact matching of `missing` in fields split by `delimiter`; `None` for a single-column
    /// file (emptying its only field would turn a record into an empty line, which the
    /// decoder skips).
    pub(crate) fn new(missing: &[String], delimiter: u8, columns: usize) -> Option<Self> {
        // A token holding a delimiter, line end or quote never equals a whole field.
        let plain = missing.iter().all(|t| !t.bytes().any(|b| b == delimiter || b == b'\n' || b == b'\r' || b == b'"'));
        (columns > 1 && plain).then(|| Self {
            missing: Missing::new(missing),
            delimiter,
            format: Format::default().with_header(false).with_delimiter(delimiter),
        })
    }

    /// `records` (whole records, no quotes) with every field that equals a missing token
    /// emptied, so that the decoder's own test (an empty cell is null) finds exactly the missing
    /// cells; `Err` with the records untouched when some field is empty although the empty
    /// string is not missing. Tokens and empty fields are found with substring searches (the
    /// tokens are rare; a per-field scan costs as much as the pattern it replaces).
    fn blank(&self, records: Vec<u8>) -> std::result::Result<Vec<u8>, Vec<u8>> {
        let d = self.delimiter;
        if !self.missing.empty {
            let empty_field = records.first() == Some(&d)
                || records.last() == Some(&d)
                || [[d, d], [d, b'\n'], [d, b'\r'], [b'\n', d]]
                    .iter()
                    .any(|pair| memchr::memmem::find(&records, pair).is_some());
            if empty_field {
                return Err(records);
            }
        }
        let starts_field = |i: usize| i == 0 || records[i - 1] == d || records[i - 1] == b'\n';
        let ends_field = |i: usize| i == records.len() || records[i] == d || records[i] == b'\n' || records[i] == b'\r';
        let mut cuts: Vec<(usize, usize)> = Vec::new();
        for token in &self.missing.tokens {
            for at in memchr::memmem::find_iter(&records, token) {
                let end = at + token.len();
                if starts_field(at) && ends_field(end) {
                    cuts.push((at, end));
                }
            }
        }
        if cuts.is_empty() {
            return Ok(records);
        }
        cuts.sort_unstable();
        let mut out = Vec::with_capacity(records.len());
        let mut from = 0;
        for (at, end) in cuts {
            out.extend_from_slice(&records[from..at]);
            from = end;
        }
        out.extend_from_slice(&records[from..]);
        Ok(out)
    }
}

/// Reads the bytes of `chunk` of `file` into `bytes` (replacing what it held): a buffer reused from
/// chunk to chunk keeps its pages, where a fresh one would fault every page in again.
pub(crate) fn read_into(
    file: &File,
    path: &Path,
    chunk: &Chunk,
    bytes: &mut Vec<u8>,
) -> std::result::Result<(), ChunkError> {
    let len = usize::try_from(chunk.end - chunk.start)
        .map_err(|e| ChunkError::Failed(Error::data(path.display().to_string(), e)))?;
    bytes.clear();
    bytes.resize(len, 0);
    file.read_exact_at(bytes, chunk.start).map_err(|e| ChunkError::Failed(Error::io("reading", path, e)))
}

/// Decodes the bytes of one chunk (`rows` records) with Arrow into a single batch with `schema`
/// (and `projection`), with the format of the file's reader (without its header). With
/// `missing`, missing cells are found by exact matching rather than by the format's null
/// pattern (when the chunk allows it).
pub(crate) fn decode(
    bytes: Vec<u8>,
    rows: usize,
    schema: &SchemaRef,
    format: &Format,
    missing: Option<&MissingTokens>,
    projection: Option<&[usize]>,
) -> std::result::Result<RecordBatch, ChunkError> {
    let (bytes, format) = match missing {
        Some(m) => match m.blank(bytes) {
            Ok(blanked) => (blanked, &m.format),
            Err(bytes) => (bytes, format),
        },
        None => (bytes, format),
    };
    let mut builder =
        ReaderBuilder::new(schema.clone()).with_format(format.clone().with_header(false)).with_batch_size(rows.max(1));
    if let Some(projection) = projection {
        builder = builder.with_projection(projection.to_vec());
    }
    let mut decoder = builder.build_decoder();
    let mut at = 0;
    let mut batch = None;
    loop {
        let consumed = decoder.decode(&bytes[at..]).map_err(|_| ChunkError::Decode)?;
        at += consumed;
        if consumed == 0 || decoder.capacity() == 0 {
            match decoder.flush().map_err(|_| ChunkError::Decode)? {
                Some(b) if batch.is_none() => batch = Some(b),
                Some(_) => return Err(ChunkError::Decode),
                None => break,
            }
        }
    }
    match batch {
        Some(b) if b.num_rows() == rows => Ok(b),
        _ => Err(ChunkError::Decode),
    }
}

/// Why a chunk did not decode.
#[derive(Debug)]
pub(crate) enum ChunkError {
    /// Reading the file (or working on what was decoded) failed with this error.
    Failed(Error),
    /// The records did not decode; the sequential reader says why, with the right line.
    Decode,
}

/// Runs `work` on every item on `threads` threads (item `i` on thread `i % threads`) and
/// yields the results in item order. Each thread runs at most two items ahead of the
/// consumer, so memory stays bounded however many items there are; dropping the iterator
/// stops the threads after their current item.
pub(crate) fn ordered<'scope, T, R, F>(
    scope: &'scope Scope<'scope, '_>,
    items: Vec<T>,
    threads: usize,
    work: F,
) -> impl Iterator<Item = R> + 'scope
where
    T: Send + 'scope,
    R: Send + 'scope,
    F: Fn(T) -> R + Send + Sync + Clone + 'scope,
{
    let threads = threads.clamp(1, items.len().max(1));
    let mut queues: Vec<Vec<T>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        queues[i % threads].push(item);
    }
    let receivers: Vec<Receiver<R>> = queues
        .into_iter()
        .map(|queue| {
            let (tx, rx) = sync_channel::<R>(1);
            let work = work.clone();
            scope.spawn(move || {
                for item in queue {
                    if tx.send(work(item)).is_err() {
                        break;
                    }
                }
            });
            rx
        })
        .collect();
    let mut next = 0usize;
    std::iter::from_fn(move || {
        let r = receivers[next % receivers.len()].recv().ok();
        next += 1;
        r
    })
}

/// Threads for decoding: the machine's parallelism.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("d.csv");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn chunks_hold_whole_records_in_order() {
        let (_d, p) = file(b"a,b\n1,x\n2,y\n3,z\n4,w\n5,v");
        let chunks = split(&p, 2).expect("split").expect("splittable");
        assert_eq!(
            chunks,
            vec![
                Chunk { start: 4, end: 12, rows: 2, first_row: 0 },
                Chunk { start: 12, end: 20, rows: 2, first_row: 2 },
                Chunk { start: 20, end: 23, rows: 1, first_row: 4 },
            ]
        );
        let (_d, p) = file(b"a,b\r\n1,x\r\n2,y\r\n");
        let chunks = split(&p, 1).expect("split").expect("CRLF is fine");
        assert_eq!(chunks.iter().map(|c| (c.start, c.end)).collect::<Vec<_>>(), vec![(5, 10), (10, 15)]);
        let (_d, p) = file(b"a,b\n");
        assert_eq!(split(&p, 2).expect("split"), Some(vec![]));
    }

    #[test]
    fn quotes_empty_lines_and_bare_returns_are_left_to_the_sequential_reader() {
        for text in [&b"a,b\n\"1\n2\",x\n"[..], b"a,b\n1,x\n\n2,y\n", b"a,b\n1,x\r2,y\n", b"a,b\n1,x\n\r\n", b"a\n1\r"]
        {
            let (_d, p) = file(text);
            assert_eq!(split(&p, 2).expect("split"), None, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn missing_tokens_are_matched_exactly_on_whole_fields() {
        let m = MissingTokens::new(&["?".into(), "NA".into()], b',', 3).expect("three columns");
        let blanked = m.blank(b"?,a?,NA\r\nNA,?x,?\n1,?,2\n?a,NA,??".to_vec()).expect("no empty field");
        assert_eq!(blanked, b",a?,\r\n,?x,\n1,,2\n?a,,??");
        assert!(m.blank(b"1,,2\n".to_vec()).is_err(), "an empty cell is text here, not missing");
        assert!(m.blank(b"1,2,".to_vec()).is_err(), "a last field left empty");
        assert!(m.blank(b",1,2\n".to_vec()).is_err(), "a first field left empty");
        assert!(m.blank(b"1,2,3\r\n,2,3\n".to_vec()).is_err(), "a line's first field left empty");
        assert_eq!(m.blank(b"1,2,3\n".to_vec()), Ok(b"1,2,3\n".to_vec()), "nothing missing");
        let with_empty = MissingTokens::new(&[String::new(), "?".into()], b';', 3).expect("three columns");
        assert_eq!(with_empty.blank(b"1;;?\n?;2;\n".to_vec()).expect("empty is missing"), b"1;;\n;2;\n");
        assert!(MissingTokens::new(&["a,b".into()], b',', 3).is_none(), "a token with a delimiter keeps the pattern");
        assert!(MissingTokens::new(&["?".into()], b',', 1).is_none(), "a single column keeps the pattern");
    }

    #[test]
    fn ordered_results_follow_the_items() {
        let out: Vec<usize> = std::thread::scope(|s| ordered(s, (0..100).collect(), 3, |i: usize| i * 2).collect());
        assert_eq!(out, (0..100).map(|i| i * 2).collect::<Vec<_>>());
        let none: Vec<usize> = std::thread::scope(|s| ordered(s, Vec::<usize>::new(), 2, |i| i).collect());
        assert!(none.is_empty());
    }
}

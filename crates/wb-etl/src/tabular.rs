//! Tabular transforms: CSV → Arrow record batches → Parquet.
//!
//! - [`CsvOptions`] says how to read a CSV file: delimiter, the tokens that mean "missing"
//!   (the seed data uses `?`), batch size.
//! - [`infer_schema`] reads the whole file once and infers each column's type (integer, float,
//!   boolean, string, ...), ignoring missing tokens, so a column that turns out to hold text on
//!   its millionth row is typed as text.
//! - [`CsvBatches`] streams record batches with a given schema; every error names the file and
//!   the line.
//! - [`Lookup`] maps a code column through a two-column mapping CSV (`code,description`).
//! - [`ingest_csv`] does all of it and writes a Parquet file atomically.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringBuilder};
use arrow::csv::reader::{BufReader as CsvBufReader, Format, ReaderBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// Rows per record batch unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 64 * 1024;

/// How to read a CSV file. The first line is always the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Cell values that mean "missing" (compared with the whole, unquoted cell). The empty
    /// string is missing when listed here.
    pub missing: Vec<String>,
    /// Field delimiter.
    pub delimiter: u8,
    /// Rows per batch.
    pub batch_size: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self { missing: vec![String::new(), "?".into()], delimiter: b',', batch_size: DEFAULT_BATCH_SIZE }
    }
}

impl CsvOptions {
    /// Options with the given missing-value tokens.
    #[must_use]
    pub fn with_missing(missing: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { missing: missing.into_iter().map(Into::into).collect(), ..Self::default() }
    }

    /// Arrow's CSV format for these options: a header line, the delimiter, and the missing
    /// tokens as Arrow's null pattern (whole-cell matches only). Readers of byte ranges that
    /// start after the header use it with `with_header(false)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the missing tokens do not make a pattern.
    pub fn arrow_format(&self) -> Result<Format> {
        let alternatives: Vec<String> = self.missing.iter().map(|t| regex::escape(t)).collect();
        let pattern = format!("^(?:{})$", alternatives.join("|"));
        let null_regex = regex::Regex::new(&pattern)
            .map_err(|e| Error::InvalidArgument { what: "missing-value tokens", message: e.to_string() })?;
        let format = Format::default().with_header(true).with_delimiter(self.delimiter);
        // An empty token list means nothing is missing: a regex that never matches.
        Ok(if self.missing.is_empty() {
            format.with_null_regex(regex::Regex::new("[^\\s\\S]").expect("valid regex"))
        } else {
            format.with_null_regex(null_regex)
        })
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io("opening", path, e))
}

/// Turns an Arrow CSV error into one that names the file and, where Arrow says it, the line.
fn csv_error(file: &Path, e: &ArrowError) -> Error {
    let message = e.to_string();
    let message = message.strip_prefix("Csv error: ").unwrap_or(&message).to_owned();
    let line = message
        .split("line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok());
    Error::Csv { file: file.to_owned(), line, column: None, message }
}

/// Reads the header and checks it: at least one column, no empty or duplicate names.
fn read_header(file: &Path, options: &CsvOptions) -> Result<Vec<String>> {
    let mut first = [0u8; 1];
    let mut handle = open(file)?;
    if handle.read(&mut first).map_err(|e| Error::io("reading", file, e))? == 0 {
        return Err(Error::EmptyFile { file: file.to_owned(), what: "a CSV header line" });
    }
    let mut reader = csv::ReaderBuilder::new().delimiter(options.delimiter).from_reader(BufReader::new(open(file)?));
    let header = reader.headers().map_err(|e| Error::Csv {
        file: file.to_owned(),
        line: Some(1),
        column: None,
        message: format!("unreadable header: {e}"),
    })?;
    let names: Vec<String> = header.iter().map(str::to_owned).collect();
    let mut seen = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(Error::Csv {
                file: file.to_owned(),
                line: Some(1),
                column: None,
                message: format!("header field {} is empty; every column needs a name", i + 1),
            });
        }
        if let Some(prev) = seen.insert(name.as_str(), i) {
            return Err(Error::Csv {
                file: file.to_owned(),
                line: Some(1),
                column: Some(name.clone()),
                message: format!("column name appears twice (fields {} and {})", prev + 1, i + 1),
            });
        }
    }
    Ok(names)
}

/// Infers the schema of a CSV file from all of its rows.
///
/// Every data row is read once (with the `csv` crate, on raw bytes) and each column gets the
/// narrowest type that every one of its non-missing cells fits, in a lattice compatible with
/// what Arrow's CSV reader (and so [`CsvBatches`]) can then parse:
///
/// - `Boolean`: every cell is `true` or `false`, in any letter case;
/// - `Int64`: every cell is an optional `+`/`-` followed by ASCII digits, and fits an `i64`;
/// - `Float64`: every cell is an integer or a decimal number: optional sign, digits with an
///   optional `.` (`1.5`, `.5`, `5.`), an optional exponent (`1e5`, `2.5E-3`), or one of `NaN`,
///   `nan`, `inf`, `-inf`; integers mixed with such numbers make the column `Float64`;
/// - `Utf8`: anything else, including a column with no non-missing cell at all.
///
/// A cell equal to one of `options.missing` (compared with the whole, unquoted cell) is a null
/// and does not influence its column's type. Quoted numbers (`"42"`) count as numbers, since
/// the reader unquotes them too.
///
/// Dates and timestamps are deliberately *not* inferred: `2024-01-31` stays `Utf8` (text is
/// never lossy, and the accepted date formats are a policy the caller should choose, by
/// passing an explicit schema).
///
/// All columns are nullable.
///
/// # Errors
/// [`Error::EmptyFile`] for an empty file or one with a header and no rows, [`Error::Csv`]
/// for malformed content (ragged rows, invalid UTF-8, duplicate or empty column names) with
/// the line (the header is line 1).
pub fn infer_schema(file: &Path, options: &CsvOptions) -> Result<SchemaRef> {
    let names = read_header(file, options)?;
    let missing: Vec<&[u8]> = options.missing.iter().map(String::as_bytes).collect();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .has_headers(true)
        .buffer_capacity(1 << 20)
        .from_reader(open(file)?);
    let mut kinds = vec![Kind::Empty; names.len()];
    // The columns that can still be something other than `Utf8`.
    let mut open_columns: Vec<usize> = (0..names.len()).collect();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    let mut last_start = None;
    while reader.read_byte_record(&mut record).map_err(|e| csv_read_error(file, options.delimiter, e))? {
        rows += 1;
        last_start = record.position().cloned();
        if !record.as_slice().is_ascii() {
            check_utf8(file, &names, &record)?;
        }
        let mut narrowed = false;
        for &i in &open_columns {
            let Some(cell) = record.get(i) else { continue };
            if missing.contains(&cell) {
                continue;
            }
            let kind = kinds[i].join(Kind::of(cell));
            kinds[i] = kind;
            narrowed |= kind == Kind::Utf8;
        }
        if narrowed {
            open_columns.retain(|&i| kinds[i] != Kind::Utf8);
        }
    }
    if rows == 0 {
        return Err(Error::EmptyFile { file: file.to_owned(), what: "data rows after the header" });
    }
    // A quote left open in the last record swallows the rest of the file into one field,
    // which the reader accepts; refuse it.
    if let Some(start) = last_start
        && let Some(field) = quote_open_at_end(file, options.delimiter, start.byte())
    {
        return Err(Error::Csv {
            file: file.to_owned(),
            line: Some(start.line()),
            column: names.get(field - 1).cloned(),
            message: format!(
                "field {field} opens a double quote that is never closed: the field runs on to the end of the file"
            ),
        });
    }
    let fields: Vec<Field> =
        names.iter().zip(kinds).map(|(name, kind)| Field::new(name, kind.data_type(), true)).collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// [`infer_schema`], with the data records read in parallel: `ranges` are byte ranges of
/// `file` that together hold every data record (after the header) whole, with no quoted field
/// (such as the chunks a line-end scan finds in a file without quotes); they are inferred on
/// `threads` threads and their column types joined (the lattice's join does not depend on the
/// order). A range that does not read cleanly (a record with the wrong number of fields,
/// invalid UTF-8, ...) sends the whole file through [`infer_schema`], so errors are the same,
/// with the same lines.
///
/// # Errors
/// As [`infer_schema`].
pub fn infer_schema_in_ranges(
    file: &Path,
    options: &CsvOptions,
    ranges: &[(u64, u64)],
    threads: usize,
) -> Result<SchemaRef> {
    infer_in_ranges(file, options, ranges.iter().copied(), threads.min(ranges.len()), None, false)
        .map(|inferred| inferred.schema)
}

/// What [`infer_schema_and_tally`] reads off a file.
#[derive(Clone, Debug)]
pub struct RangeInference {
    /// The schema, as [`infer_schema`] infers it.
    pub schema: SchemaRef,
    /// The tally of the column asked for (see [`infer_schema_and_tally`]).
    pub tally: Option<ColumnTally>,
    /// The file's hash, from the bytes the ranges read (each range's pieces hashed as it is
    /// read, [`wb_core::PieceHash::of_range`]): `None` when the ranges do not cover the file
    /// after its header one after the other, or when the file was inferred whole.
    pub hash: Option<wb_core::ContentHash>,
}

/// The most distinct texts a [`ColumnTally`] holds (its ids are bytes).
pub const TALLY_MAX_VALUES: usize = 256;

/// One column's cells, record by record, as ids into the column's distinct texts: what
/// [`infer_schema_and_tally`] reads on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnTally {
    /// The distinct texts of the column's cells (missing tokens included, as they are written),
    /// in order of first occurrence.
    pub values: Vec<String>,
    /// Per data record, in file order: the index of its cell in `values`.
    pub ids: Vec<u8>,
}

/// [`infer_schema_in_ranges`], with the ranges taken as they come (from an iterator that may
/// wait for the next, such as a channel's filled by a line-end scan), and on the way the
/// [`ColumnTally`] of the column named `column`
/// (`None` when it has more than [`TALLY_MAX_VALUES`] distinct texts, when the file has no such
/// column, or when some range is not plain: a quote or a bare `\r`, and the CSV reader infers
/// it, cell by cell) and the file's hash, from the bytes read (see [`RangeInference`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use wb_etl::tabular::{infer_schema_and_tally, CsvOptions};
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("t.csv");
/// std::fs::write(&file, "x,label\n1,no\n2,yes\n3,no\n")?;
/// // Two ranges of whole records: after the header (8 bytes), then after the second record.
/// let inferred = infer_schema_and_tally(&file, &CsvOptions::default(), [(8, 19), (19, 24)], 2, "label")?;
/// assert_eq!(inferred.schema.field(0).data_type(), &arrow::datatypes::DataType::Int64);
/// let tally = inferred.tally.expect("two distinct labels");
/// assert_eq!(tally.values, ["no", "yes"]);
/// assert_eq!(tally.ids, [0, 1, 0]);
/// // A file of one piece is no tree of pieces: it is hashed whole.
/// assert_eq!(inferred.hash, None);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`infer_schema`].
pub fn infer_schema_and_tally(
    file: &Path,
    options: &CsvOptions,
    ranges: impl IntoIterator<Item = (u64, u64), IntoIter: Send>,
    threads: usize,
    column: &str,
) -> Result<RangeInference> {
    infer_in_ranges(file, options, ranges.into_iter(), threads, Some(column), true)
}

/// A range's tally: its own distinct texts, and each record's id among them.
#[derive(Default)]
struct RangeTally {
    values: Vec<Vec<u8>>,
    ids: Vec<u8>,
    /// Too many distinct texts, or a range read by the CSV reader: no tally.
    abandoned: bool,
}

impl RangeTally {
    /// Values compared one by one before a map is built.
    const FEW: usize = 16;

    fn push(&mut self, cell: &[u8], index: &mut std::collections::HashMap<Vec<u8>, u8>) {
        let found = if self.values.len() <= Self::FEW {
            self.values.iter().position(|v| v.as_slice() == cell)
        } else {
            index.get(cell).map(|&id| usize::from(id))
        };
        let id = match found {
            Some(id) => id,
            None => {
                if self.values.len() == TALLY_MAX_VALUES {
                    self.abandoned = true;
                    return;
                }
                self.values.push(cell.to_vec());
                if self.values.len() > Self::FEW {
                    if index.is_empty() {
                        index.extend(self.values.iter().enumerate().map(|(i, v)| (v.clone(), i as u8)));
                    } else {
                        index.insert(cell.to_vec(), (self.values.len() - 1) as u8);
                    }
                }
                self.values.len() - 1
            }
        };
        self.ids.push(id as u8);
    }
}

/// Joins the ranges' tallies, in file order, into one; `None` when one was abandoned or there
/// are too many distinct texts in all.
fn join_tallies(tallies: Vec<RangeTally>) -> Option<ColumnTally> {
    let mut values: Vec<String> = Vec::new();
    let mut ids = Vec::with_capacity(tallies.iter().map(|t| t.ids.len()).sum());
    for tally in tallies {
        if tally.abandoned {
            return None;
        }
        let mut global = Vec::with_capacity(tally.values.len());
        for value in tally.values {
            let value = String::from_utf8(value).ok()?;
            let id = match values.iter().position(|v| *v == value) {
                Some(id) => id,
                None => {
                    values.push(value);
                    values.len() - 1
                }
            };
            global.push(u8::try_from(id).ok()?);
        }
        ids.extend(tally.ids.iter().map(|&id| global[usize::from(id)]));
    }
    (values.len() <= TALLY_MAX_VALUES).then_some(ColumnTally { values, ids })
}

/// What an inference thread finds: the columns' kinds, and the tally and the piece hashes of
/// each range it read (by the range's index).
#[derive(Default)]
struct Inferred {
    kinds: Vec<Kind>,
    tallies: Vec<(usize, RangeTally)>,
    pieces: Vec<(usize, Vec<wb_core::PieceHash>)>,
}

/// The ranges still to infer, taken one at a time by the inference threads as they come, and
/// those taken so far.
struct Ranges<I> {
    next: I,
    taken: Vec<(u64, u64)>,
}

fn infer_in_ranges(
    file: &Path,
    options: &CsvOptions,
    ranges: impl Iterator<Item = (u64, u64)> + Send,
    threads: usize,
    tally: Option<&str>,
    hash: bool,
) -> Result<RangeInference> {
    let names = read_header(file, options)?;
    let whole = |file: &Path| -> Result<RangeInference> {
        Ok(RangeInference { schema: infer_schema(file, options)?, tally: None, hash: None })
    };
    let tally = tally.and_then(|name| names.iter().position(|n| n == name));
    let missing: Vec<&[u8]> = options.missing.iter().map(String::as_bytes).collect();
    let handle = open(file)?;
    let len = handle.metadata().map_err(|e| Error::io("reading", file, e))?.len();
    let ranges = std::sync::Mutex::new(Ranges { next: ranges, taken: Vec::new() });
    let joined: Option<Inferred> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> Option<Inferred> {
                    let mut found = Inferred { kinds: vec![Kind::Empty; names.len()], ..Inferred::default() };
                    let mut index = std::collections::HashMap::new();
                    // One buffer per thread, reused for every range it reads.
                    let mut bytes = Vec::new();
                    loop {
                        let (i, start, end) = {
                            let mut ranges = ranges.lock().ok()?;
                            let Some(range) = ranges.next.next() else { return Some(found) };
                            ranges.taken.push(range);
                            (ranges.taken.len() - 1, range.0, range.1)
                        };
                        if end < start {
                            return None;
                        }
                        bytes.resize(usize::try_from(end - start).ok()?, 0);
                        std::os::unix::fs::FileExt::read_exact_at(&handle, &mut bytes, start).ok()?;
                        if hash {
                            found
                                .pieces
                                .push((i, wb_core::PieceHash::of_range(&handle, len, start, &bytes, i == 0).ok()?));
                        }
                        let mut range_tally = tally.map(|_| RangeTally::default());
                        index.clear();
                        let counted = tally.zip(range_tally.as_mut()).map(|(c, t)| (c, t, &mut index));
                        infer_range(&bytes, options.delimiter, &missing, &mut found.kinds, counted)?;
                        found.tallies.extend(range_tally.map(|t| (i, t)));
                    }
                })
            })
            .collect();
        let mut joined = Inferred { kinds: vec![Kind::Empty; names.len()], ..Inferred::default() };
        for worker in workers {
            let mut found = worker.join().ok()??;
            for (j, k) in joined.kinds.iter_mut().zip(found.kinds) {
                *j = j.join(k);
            }
            joined.tallies.append(&mut found.tallies);
            joined.pieces.append(&mut found.pieces);
        }
        Some(joined)
    });
    let taken = ranges.into_inner().map(|r| r.taken).unwrap_or_default();
    let Some(Inferred { kinds, mut tallies, mut pieces }) = joined.filter(|_| !taken.is_empty()) else {
        return whole(file);
    };
    let fields: Vec<Field> =
        names.iter().zip(kinds).map(|(name, kind)| Field::new(name, kind.data_type(), true)).collect();
    tallies.sort_by_key(|(i, _)| *i);
    let tally = match tally {
        Some(_) if tallies.len() == taken.len() => join_tallies(tallies.into_iter().map(|(_, t)| t).collect()),
        _ => None,
    };
    // The pieces make up the file only when the ranges cover it after its header, in order.
    let covered = taken.windows(2).all(|w| w[0].1 == w[1].0) && taken.last().is_some_and(|r| r.1 == len);
    pieces.sort_by_key(|(i, _)| *i);
    let pieces: Vec<wb_core::PieceHash> = pieces.into_iter().flat_map(|(_, p)| p).collect();
    let hash = (hash && covered).then(|| wb_core::ContentHash::of_pieces(len, &pieces)).flatten();
    Ok(RangeInference { schema: Arc::new(Schema::new(fields)), tally, hash })
}

/// Records indexed at a time while inferring (their bytes and field ends stay in a core's
/// cache while each column is looked at).
const INFER_BLOCK_ROWS: usize = 1024;

/// The column tallied while inferring, its range's tally, and a map the tally may use.
type Counted<'a> = (usize, &'a mut RangeTally, &'a mut std::collections::HashMap<Vec<u8>, u8>);

/// Joins the kinds of the cells of `records` (whole records, no header) into `kinds`, and
/// tallies the cells of one column when `counted` says which; `None` when a record has another
/// number of fields or is not UTF-8.
fn infer_range(
    records: &[u8],
    delimiter: u8,
    missing: &[&[u8]],
    kinds: &mut [Kind],
    mut counted: Option<Counted<'_>>,
) -> Option<()> {
    if (records.is_ascii() || std::str::from_utf8(records).is_ok()) && crate::plain::is_plain(records) {
        // Plain records (no quotes) are split without a CSV reader, a block at a time: their
        // fields found once, then only the columns that are not text yet looked at (text is as
        // wide as a kind gets). Anything else is read by a CSV reader.
        let columns = kinds.len();
        let mut plain = kinds.to_vec();
        let mut ends = Vec::with_capacity(INFER_BLOCK_ROWS * columns);
        let mut from = 0;
        let indexed = loop {
            if from >= records.len() {
                break true;
            }
            ends.clear();
            let Some((rows, next)) =
                crate::plain::index_fields(records, from, delimiter, columns, INFER_BLOCK_ROWS, &mut ends)
            else {
                break false;
            };
            for (column, kind) in plain.iter_mut().enumerate() {
                for row in 0..rows {
                    if *kind == Kind::Utf8 {
                        break;
                    }
                    let cell = crate::plain::field(records, &ends, columns, from, row, column);
                    // An integer column stays one while its cells are short runs of digits
                    // (what `Kind::of` calls `Int64`, and a missing token changes nothing).
                    if *kind == Kind::Int64 && (1..19).contains(&cell.len()) && cell.iter().all(u8::is_ascii_digit) {
                        continue;
                    }
                    if !missing.contains(&cell) {
                        *kind = kind.join(Kind::of(cell));
                    }
                }
            }
            if let Some((column, tally, index)) = counted.as_mut()
                && !tally.abandoned
            {
                for row in 0..rows {
                    tally.push(crate::plain::field(records, &ends, columns, from, row, *column), index);
                }
            }
            from = next;
        };
        if indexed {
            kinds.copy_from_slice(&plain);
            return Some(());
        }
    }
    if let Some((_, tally, _)) = counted {
        tally.abandoned = true;
    }
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).from_reader(records);
    let mut record = csv::ByteRecord::new();
    let mut open_columns: Vec<usize> = (0..kinds.len()).filter(|&i| kinds[i] != Kind::Utf8).collect();
    while reader.read_byte_record(&mut record).ok()? {
        if record.len() != kinds.len()
            || (!record.as_slice().is_ascii() && record.iter().any(|f| std::str::from_utf8(f).is_err()))
        {
            return None;
        }
        let mut narrowed = false;
        for &i in &open_columns {
            let cell = &record[i];
            if missing.contains(&cell) {
                continue;
            }
            let kind = kinds[i].join(Kind::of(cell));
            kinds[i] = kind;
            narrowed |= kind == Kind::Utf8;
        }
        if narrowed {
            open_columns.retain(|&i| kinds[i] != Kind::Utf8);
        }
    }
    Some(())
}

/// Turns an error of the `csv` crate met while reading data rows into ours.
fn csv_read_error(file: &Path, delimiter: u8, e: csv::Error) -> Error {
    let line = e.position().map(csv::Position::line);
    if let csv::ErrorKind::UnequalLengths { expected_len, len, pos } = e.kind() {
        let quote =
            pos.as_ref().and_then(|p| unbalanced_quote(file, delimiter, p.byte())).map_or_else(String::new, |field| {
                format!(
                    "; field {field} opens a double quote that this line never closes, so the field runs on \
                 into the following lines (close the quote, or escape a quote inside a quoted field as \"\")"
                )
            });
        return Error::Csv {
            file: file.to_owned(),
            line,
            column: None,
            message: format!("expected {expected_len} fields (as in the header), found {len}{quote}"),
        };
    }
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::io("reading", file, source),
        _ => Error::Csv { file: file.to_owned(), line, column: None, message },
    }
}

/// When the line starting at byte `start` of `file` (fields split by `delimiter`) leaves a double quote open, the 1-based
/// field where that quote opens (`None` when the line's quotes balance or it cannot be read).
/// Only the first 64 KiB of the line are looked at.
fn unbalanced_quote(file: &Path, delimiter: u8, start: u64) -> Option<usize> {
    use std::io::SeekFrom;
    let mut handle = File::open(file).ok()?;
    handle.seek(SeekFrom::Start(start)).ok()?;
    let mut head = Vec::new();
    handle.take(64 * 1024).read_to_end(&mut head).ok()?;
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let (mut field, mut opened_in, mut quoted) = (1, 0, false);
    for &byte in line {
        match byte {
            b'"' => {
                quoted = !quoted;
                if quoted {
                    opened_in = field;
                }
            }
            b if b == delimiter && !quoted => field += 1,
            _ => {}
        }
    }
    quoted.then_some(opened_in)
}

/// When the record starting at byte `start` of `file` is still inside a quoted field at the end
/// of the file, the 1-based field where that quote opens.
fn quote_open_at_end(file: &Path, delimiter: u8, start: u64) -> Option<usize> {
    use std::io::{BufRead as _, SeekFrom};
    let mut handle = File::open(file).ok()?;
    handle.seek(SeekFrom::Start(start)).ok()?;
    let mut reader = BufReader::new(handle);
    let (mut field, mut opened_in, mut quoted) = (1, 0, false);
    loop {
        let chunk = reader.fill_buf().ok()?;
        if chunk.is_empty() {
            break;
        }
        for &byte in chunk {
            if byte == b'"' {
                quoted = !quoted;
                if quoted {
                    opened_in = field;
                }
            } else if byte == delimiter && !quoted {
                field += 1;
            } else if byte == b'\n' && !quoted {
                // A later record began (trailing blank lines and the like): nothing is open.
                field = 1;
            }
        }
        let consumed = chunk.len();
        reader.consume(consumed);
    }
    quoted.then_some(opened_in)
}

/// Checks that every field of a record is valid UTF-8 (the reader needs text).
fn check_utf8(file: &Path, names: &[String], record: &csv::ByteRecord) -> Result<()> {
    for (i, cell) in record.iter().enumerate() {
        if let Err(e) = std::str::from_utf8(cell) {
            return Err(Error::Csv {
                file: file.to_owned(),
                line: record.position().map(csv::Position::line),
                column: names.get(i).cloned(),
                message: format!("invalid UTF-8 at byte {} of the field: {e}", e.valid_up_to()),
            });
        }
    }
    Ok(())
}

/// What [`infer_schema`] knows about a column so far, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// No non-missing cell yet.
    Empty,
    Boolean,
    Int64,
    Float64,
    Utf8,
}

impl Kind {
    /// The narrowest kind holding both (as Arrow's inference does: integers widen to floats,
    /// every other mix is text).
    fn join(self, other: Self) -> Self {
        match (self, other) {
            (Self::Empty, k) | (k, Self::Empty) => k,
            (a, b) if a == b => a,
            (Self::Int64, Self::Float64) | (Self::Float64, Self::Int64) => Self::Float64,
            _ => Self::Utf8,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Self::Boolean => DataType::Boolean,
            Self::Int64 => DataType::Int64,
            Self::Float64 => DataType::Float64,
            Self::Empty | Self::Utf8 => DataType::Utf8,
        }
    }

    /// The kind of one (non-missing, unquoted) cell. Accepts exactly what Arrow's inference
    /// regexes accept (restricted to ASCII digits), minus dates and timestamps.
    fn of(cell: &[u8]) -> Self {
        let (Some(&first), Some(&last)) = (cell.first(), cell.last()) else {
            return Self::Utf8;
        };
        if last.is_ascii_digit() || last == b'.' {
            return Self::of_number(cell);
        }
        match first {
            b't' | b'T' | b'f' | b'F' if cell.eq_ignore_ascii_case(b"true") || cell.eq_ignore_ascii_case(b"false") => {
                Self::Boolean
            }
            _ if matches!(cell, b"NaN" | b"nan" | b"inf" | b"-inf") => Self::Float64,
            _ => Self::Utf8,
        }
    }

    /// `[+-]?digits` (fitting an `i64`) is `Int64`;
    /// `[+-]?(digits?.digits|digits.digits?)([eE][+-]?digits)?` and `[+-]?digits[eE][+-]?digits`
    /// are `Float64`; anything else is `Utf8`.
    fn of_number(cell: &[u8]) -> Self {
        let digits = |from: usize| cell[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let mut i = usize::from(matches!(cell.first(), Some(b'+' | b'-')));
        let integer_digits = digits(i);
        i += integer_digits;
        if i == cell.len() {
            return if integer_digits == 0 {
                Self::Utf8
            } else if cell.len() < 19 || std::str::from_utf8(cell).is_ok_and(|s| s.parse::<i64>().is_ok()) {
                Self::Int64
            } else {
                // Like Arrow: an integer too large for an i64 is text, not a float.
                Self::Utf8
            };
        }
        let mut mantissa_digits = integer_digits;
        if cell[i] == b'.' {
            let fraction_digits = digits(i + 1);
            i += 1 + fraction_digits;
            mantissa_digits += fraction_digits;
        } else if integer_digits == 0 {
            return Self::Utf8;
        }
        if mantissa_digits == 0 {
            return Self::Utf8;
        }
        if i < cell.len() {
            if !matches!(cell[i], b'e' | b'E') {
                return Self::Utf8;
            }
            i += 1;
            if matches!(cell.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exponent_digits = digits(i);
            if exponent_digits == 0 || i + exponent_digits != cell.len() {
                return Self::Utf8;
            }
        }
        Self::Float64
    }
}

/// A stream of record batches read from a CSV file with a known schema.
pub struct CsvBatches {
    file: PathBuf,
    inner: arrow::csv::reader::BufReader<BufReader<File>>,
}

impl std::fmt::Debug for CsvBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvBatches").field("file", &self.file).finish_non_exhaustive()
    }
}

impl CsvBatches {
    /// Opens `file` for reading with `schema`; `projection` limits the columns decoded.
    ///
    /// # Errors
    /// [`Error::Csv`] when the header does not match the schema's column names.
    pub fn open(file: &Path, schema: SchemaRef, options: &CsvOptions, projection: Option<Vec<usize>>) -> Result<Self> {
        let header = read_header(file, options)?;
        let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if header != expected {
            return Err(Error::Csv {
                file: file.to_owned(),
                line: Some(1),
                column: None,
                message: format!(
                    "header [{}] does not match the expected columns [{}]",
                    header.join(","),
                    expected.join(",")
                ),
            });
        }
        let mut builder =
            ReaderBuilder::new(schema).with_format(options.arrow_format()?).with_batch_size(options.batch_size.max(1));
        if let Some(projection) = projection {
            builder = builder.with_projection(projection);
        }
        let inner: CsvBufReader<BufReader<File>> =
            builder.build_buffered(BufReader::with_capacity(1 << 20, open(file)?)).map_err(|e| csv_error(file, &e))?;
        Ok(Self { file: file.to_owned(), inner })
    }

    /// The schema of the batches (after projection).
    #[must_use]
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Iterator for CsvBatches {
    type Item = Result<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| r.map_err(|e| csv_error(&self.file, &e)))
    }
}

/// Opens a Parquet file as a stream of record batches.
///
/// # Errors
/// [`Error::Parquet`] when the file is not Parquet.
pub fn read_parquet(file: &Path, batch_size: usize) -> Result<ParquetRecordBatchReader> {
    ParquetRecordBatchReaderBuilder::try_new(open(file)?)
        .and_then(|b| b.with_batch_size(batch_size.max(1)).build())
        .map_err(|source| Error::Parquet { file: file.to_owned(), source })
}

/// The Parquet writer settings the workbench uses everywhere: Snappy pages (what pyarrow and
/// Spark default to), statistics, dictionary encoding, row groups of
/// [`PARQUET_ROW_GROUP_ROWS`] rows.
///
/// A column chunk's dictionary falls back to plain encoding past 128 KiB rather than 1 MiB:
/// with 128 Ki-row groups, a column of unique integers (an identifier) would otherwise never fall
/// back, and every value would be hashed into a dictionary as large as the plain data. Columns
/// of categories stay far below the limit.
#[must_use]
pub fn parquet_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by("workbench".into())
        // A writer buffers a whole row group in memory; 128 Ki rows keeps that bounded (Parquet's
        // default of 1 Mi rows made memory grow with the data up to a million rows per writer).
        .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP_ROWS))
        .set_dictionary_page_size_limit(PARQUET_DICTIONARY_LIMIT)
        .build()
}

/// Rows per Parquet row group written by the workbench.
pub const PARQUET_ROW_GROUP_ROWS: usize = 128 * 1024;

/// Bytes a column chunk's dictionary may reach before the chunk falls back to plain encoding.
pub const PARQUET_DICTIONARY_LIMIT: usize = 128 * 1024;

/// Creates a Parquet writer on any sink with the workbench's settings.
///
/// # Errors
/// [`Error::Parquet`] when the schema cannot be written.
pub fn parquet_writer<W: Write + Send>(sink: W, schema: SchemaRef, file: &Path) -> Result<ArrowWriter<W>> {
    ArrowWriter::try_new(sink, schema, Some(parquet_properties()))
        .map_err(|source| Error::Parquet { file: file.to_owned(), source })
}

/// A code column mapped through a lookup table: `admission_type_id=IDs_mapping.csv`.
///
/// The mapping file is a CSV with a header and two columns: the code and its replacement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The column whose codes are replaced.
    pub column: String,
    /// The mapping CSV.
    pub mapping: PathBuf,
}

impl FromStr for Lookup {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once('=') {
            Some((column, mapping)) if !column.is_empty() && !mapping.is_empty() => {
                Ok(Self { column: column.to_owned(), mapping: PathBuf::from(mapping) })
            }
            _ => Err(Error::InvalidArgument {
                what: "lookup",
                message: format!("{s:?} should look like COLUMN=MAPPING.csv"),
            }),
        }
    }
}

/// A loaded lookup table.
#[derive(Clone, Debug)]
pub struct LookupTable {
    lookup: Lookup,
    map: HashMap<String, String>,
}

impl LookupTable {
    /// Loads and checks a mapping file: two columns, no duplicate codes, at least one row.
    ///
    /// # Errors
    /// [`Error::Csv`] naming the line of a malformed row or a duplicate code;
    /// [`Error::EmptyFile`] when there is no mapping row.
    pub fn load(lookup: &Lookup) -> Result<Self> {
        let file = &lookup.mapping;
        read_header(file, &CsvOptions::default())?;
        let mut reader = csv::ReaderBuilder::new().from_reader(BufReader::new(open(file)?));
        let mut map = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let record = record.map_err(|e| Error::Csv {
                file: file.clone(),
                line: Some(line),
                column: None,
                message: e.to_string(),
            })?;
            if record.len() != 2 {
                return Err(Error::Csv {
                    file: file.clone(),
                    line: Some(line),
                    column: None,
                    message: format!("a mapping row needs 2 fields (code, value), found {}", record.len()),
                });
            }
            if map.insert(record[0].to_owned(), record[1].to_owned()).is_some() {
                return Err(Error::Csv {
                    file: file.clone(),
                    line: Some(line),
                    column: None,
                    message: format!("code {:?} is mapped twice", &record[0]),
                });
            }
        }
        if map.is_empty() {
            return Err(Error::EmptyFile { file: file.clone(), what: "mapping rows after the header" });
        }
        Ok(Self { lookup: lookup.clone(), map })
    }

    /// Replaces the codes of `column` in a batch; `first_line` is the file line of its first row.
    fn apply(&self, data_file: &Path, batch: &RecordBatch, index: usize, first_line: u64) -> Result<ArrayRef> {
        let column = batch.column(index);
        let as_text = arrow::compute::cast(column, &DataType::Utf8)
            .map_err(|source| Error::Arrow { file: data_file.to_owned(), source })?;
        let codes = as_text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8 yields a StringArray");
        let mut out = StringBuilder::with_capacity(codes.len(), codes.len() * 8);
        for (row, code) in codes.iter().enumerate() {
            match code {
                None => out.append_null(),
                Some(code) => match self.map.get(code) {
                    Some(value) => out.append_value(value),
                    None => {
                        return Err(Error::UnmappedValue {
                            file: data_file.to_owned(),
                            line: first_line + row as u64,
                            column: self.lookup.column.clone(),
                            value: code.to_owned(),
                            mapping: self.lookup.mapping.clone(),
                        });
                    }
                },
            }
        }
        Ok(Arc::new(out.finish()))
    }
}

/// What [`ingest_csv`] should do.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// How to read the CSV.
    pub csv: CsvOptions,
    /// An explicit schema; inferred from the data when `None`.
    pub schema: Option<SchemaRef>,
    /// Code columns to map through lookup tables.
    pub lookups: Vec<Lookup>,
}

/// What [`ingest_csv`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IngestReport {
    /// The Parquet file.
    pub output: PathBuf,
    /// Data rows written.
    pub rows: u64,
    /// Column names and Arrow types, in order.
    pub columns: Vec<(String, String)>,
    /// Size of the Parquet file in bytes.
    pub bytes: u64,
}

/// Converts a CSV file to Parquet: schema inference (or `options.schema`), missing tokens as
/// nulls, lookups applied. The output appears atomically; on any error nothing is left at
/// `dest` (an existing file there is kept as it was).
///
/// # Errors
/// Any CSV, lookup or Parquet error, naming the file and line.
pub fn ingest_csv(src: &Path, dest: &Path, options: &IngestOptions) -> Result<IngestReport> {
    let schema = match &options.schema {
        Some(schema) => schema.clone(),
        None => infer_schema(src, &options.csv)?,
    };
    let tables = options
        .lookups
        .iter()
        .map(|lookup| {
            let index = schema.index_of(&lookup.column).map_err(|_| Error::MissingColumn {
                file: src.to_owned(),
                column: lookup.column.clone(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            })?;
            Ok((index, LookupTable::load(lookup)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let out_schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if tables.iter().any(|(index, _)| *index == i) {
                    Field::new(f.name(), DataType::Utf8, true)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    ));

    let tmp = wb_core::temp_sibling(dest);
    let result = (|| {
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        let sink = File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        let mut writer = parquet_writer(sink, out_schema.clone(), dest)?;
        let mut rows = 0u64;
        for batch in CsvBatches::open(src, schema.clone(), &options.csv, None)? {
            let batch = batch?;
            let first_line = rows + 2;
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            for (index, table) in &tables {
                columns[*index] = table.apply(src, &batch, *index, first_line)?;
            }
            let batch = RecordBatch::try_new(out_schema.clone(), columns)
                .map_err(|source| Error::Arrow { file: src.to_owned(), source })?;
            rows += batch.num_rows() as u64;
            writer.write(&batch).map_err(|source| Error::Parquet { file: dest.to_owned(), source })?;
        }
        if rows == 0 {
            return Err(Error::EmptyFile { file: src.to_owned(), what: "data rows after the header" });
        }
        let mut file = writer.into_inner().map_err(|source| Error::Parquet { file: dest.to_owned(), source })?;
        file.flush().map_err(|e| Error::io("writing", &tmp, e))?;
        file.sync_all().map_err(|e| Error::io("syncing", &tmp, e))?;
        let bytes = file.stream_position().map_err(|e| Error::io("writing", &tmp, e))?;
        std::fs::rename(&tmp, dest).map_err(|e| Error::io("renaming into", dest, e))?;
        Ok(IngestReport {
            output: dest.to_owned(),
            rows,
            columns: out_schema.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect(),
            bytes,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write fixture");
        p
    }

    fn types(schema: &Schema) -> Vec<(String, DataType)> {
        schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect()
    }

    #[test]
    fn an_unbalanced_quote_is_named_with_its_line_and_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = CsvOptions::default();
        let file = write(dir.path(), "q.csv", b"a,b,label\n1,x,yes\n2,\"y,no\n3,z,yes\n4,w,no\n");
        let message = infer_schema(&file, &options).expect_err("refused").to_string();
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("expected 3 fields (as in the header), found 2"), "{message}");
        assert!(message.contains("field 2 opens a double quote that this line never closes"), "{message}");
        // A ragged row without quotes says nothing about quotes.
        let ragged = write(dir.path(), "r.csv", b"a,b,label\n1,x,yes\n2,y\n");
        let message = infer_schema(&ragged, &options).expect_err("refused").to_string();
        assert!(message.contains("found 2") && !message.contains("quote"), "{message}");
        // Balanced quotes, escaped quotes and quoted delimiters are fine.
        let fine = write(dir.path(), "f.csv", b"a,b,label\n1,\"x, \"\"quoted\"\"\",yes\n2,y,no\n");
        assert_eq!(infer_schema(&fine, &options).expect("fine").fields().len(), 3);
        // Another delimiter.
        let semi = CsvOptions { delimiter: b';', ..CsvOptions::default() };
        let file = write(dir.path(), "s.csv", b"a;b;label\n0;w;no\n1;\"x;yes\n2;y;no\n3;z;yes\n");
        let message = infer_schema(&file, &semi).expect_err("refused").to_string();
        assert!(message.contains("line 3") && message.contains("field 2 opens a double quote"), "{message}");
        // A quote opened in the last column swallows the rest of the file with the right
        // number of fields: refused too, naming the line and the column.
        let file = write(dir.path(), "end.csv", b"a,b,label\n1,x,yes\n2,y,\"no\n3,z,yes\n4,w,no\n");
        let message = infer_schema(&file, &options).expect_err("refused").to_string();
        assert!(message.contains("line 3") && message.contains("label"), "{message}");
        assert!(message.contains("field 3 opens a double quote that is never closed"), "{message}");
        // A quoted multi-line value that closes is fine.
        let multi = write(dir.path(), "m.csv", b"a,b,label\n1,\"two\nlines\",yes\n2,y,no\n");
        assert_eq!(infer_schema(&multi, &options).expect("fine").fields().len(), 3);
    }

    #[test]
    fn infers_types_treating_missing_tokens_as_null() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(
            dir.path(),
            "a.csv",
            b"id,age,score,flag,diag\n1,[70-80),0.5,true,250.83\n2,?,?,false,V45\n3,[50-60),1,,428\n",
        );
        let schema = infer_schema(&f, &CsvOptions::default()).expect("infer");
        assert_eq!(
            types(&schema),
            vec![
                ("id".into(), DataType::Int64),
                ("age".into(), DataType::Utf8),
                ("score".into(), DataType::Float64),
                ("flag".into(), DataType::Boolean),
                ("diag".into(), DataType::Utf8),
            ]
        );
        let batches: Vec<RecordBatch> = CsvBatches::open(&f, schema, &CsvOptions::default(), None)
            .expect("open")
            .map(|b| b.expect("batch"))
            .collect();
        assert_eq!(batches[0].num_rows(), 3);
        assert_eq!(batches[0].column(2).null_count(), 1, "'?' is read as null");
        assert_eq!(batches[0].column(3).null_count(), 1, "the empty cell is read as null");
    }

    #[test]
    fn bad_files_name_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = CsvOptions::default();
        let empty = write(dir.path(), "empty.csv", b"");
        let e = infer_schema(&empty, &opts).expect_err("empty").to_string();
        assert!(e.contains("empty.csv is empty"), "{e}");
        let header_only = write(dir.path(), "h.csv", b"a,b\n");
        assert!(infer_schema(&header_only, &opts).expect_err("no rows").to_string().contains("data rows"));
        let ragged = write(dir.path(), "ragged.csv", b"a,b\n1,2\n3\n");
        let e = infer_schema(&ragged, &opts).expect_err("ragged");
        assert!(matches!(&e, Error::Csv { line: Some(_), .. }), "{e:?}");
        assert!(e.to_string().contains("ragged.csv"), "{e}");
        let utf8 = write(dir.path(), "bad.csv", b"a,b\n1,2\n3,\xff\xfe\n");
        let e = infer_schema(&utf8, &opts).expect_err("utf8").to_string();
        assert!(e.contains("bad.csv") && e.to_lowercase().contains("utf-8"), "{e}");
        let dup = write(dir.path(), "dup.csv", b"a,a\n1,2\n");
        assert!(infer_schema(&dup, &opts).expect_err("dup").to_string().contains("appears twice"));
    }

    fn read_all(f: &Path, schema: SchemaRef, options: &CsvOptions) -> RecordBatch {
        let batches: Vec<RecordBatch> = CsvBatches::open(f, schema.clone(), options, None)
            .expect("open")
            .collect::<Result<_>>()
            .expect("every inferred column parses");
        arrow::compute::concat_batches(&schema, &batches).expect("concat")
    }

    /// Byte ranges of `rows` records each after the header line (the file has no quotes).
    fn line_ranges(text: &[u8], rows: usize) -> Vec<(u64, u64)> {
        let header_end = text.iter().position(|&b| b == b'\n').expect("header") + 1;
        let ends: Vec<usize> = text[header_end..]
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| header_end + i + 1)
            .collect();
        let mut ranges = Vec::new();
        let mut start = header_end;
        for chunk in ends.chunks(rows) {
            let end = *chunk.last().expect("non-empty");
            ranges.push((start as u64, end as u64));
            start = end;
        }
        ranges
    }

    #[test]
    fn inference_in_ranges_agrees_with_the_whole_file_and_its_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = String::from("a,b,c,d,e\n");
        // More records than are indexed at a time, with kinds that widen in later blocks.
        for i in 0..2500 {
            let b = if i == 1700 { "2.5".to_owned() } else { i.to_string() };
            let d = if i % 3 == 0 { "?" } else { "true" };
            let e = if i == 2499 { "x" } else { "1" };
            text.push_str(&format!("{i},{b},é{i},{d},{e}\n"));
        }
        let f = write(dir.path(), "ok.csv", text.as_bytes());
        let options = CsvOptions::default();
        let whole = infer_schema(&f, &options).expect("whole");
        for rows in [1, 7, 100, 2500] {
            let ranges = line_ranges(text.as_bytes(), rows);
            for threads in [1, 2, 3] {
                let parts = infer_schema_in_ranges(&f, &options, &ranges, threads).expect("ranges");
                assert_eq!(types(&parts), types(&whole), "{rows} rows per range, {threads} threads");
            }
        }
        assert_eq!(
            types(&whole).into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
            vec![DataType::Int64, DataType::Float64, DataType::Utf8, DataType::Boolean, DataType::Utf8]
        );
        // Ranges that are not plain (a quoted field, a blank line, `\r\n` line ends) are read
        // by the CSV reader and give the same types.
        let mixed =
            text.replace('\n', "\r\n").replacen("300,300,", "300,\"300\",", 1).replacen("\r\n600,", "\r\n\r\n600,", 1);
        let f = write(dir.path(), "mixed.csv", mixed.as_bytes());
        let whole_mixed = infer_schema(&f, &options).expect("whole");
        assert_eq!(types(&whole_mixed), types(&whole));
        for rows in [7, 100] {
            let parts = infer_schema_in_ranges(&f, &options, &line_ranges(mixed.as_bytes(), rows), 2).expect("ranges");
            assert_eq!(types(&parts), types(&whole), "{rows} rows per range, not plain");
        }
        // A ragged record: the same error, with the same line, as the whole-file read.
        let ragged = text.replacen("500,500,", "500,", 1);
        let f = write(dir.path(), "ragged.csv", ragged.as_bytes());
        let expected = infer_schema(&f, &options).expect_err("ragged").to_string();
        let got = infer_schema_in_ranges(&f, &options, &line_ranges(ragged.as_bytes(), 64), 2).expect_err("ragged");
        assert_eq!(got.to_string(), expected);
    }

    #[test]
    fn a_tally_holds_every_record_of_its_column_in_file_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = String::from("a,label,many\n");
        let labels = ["no", ">30", "<30", "?"];
        for i in 0..2500 {
            text.push_str(&format!("{i},{},{}\n", labels[(i * 7 + i / 100) % 4], i % 300));
        }
        let f = write(dir.path(), "t.csv", text.as_bytes());
        let options = CsvOptions::with_missing(["?"]);
        let whole = infer_schema(&f, &options).expect("whole");
        for rows in [1, 7, 1000, 2500] {
            let ranges = line_ranges(text.as_bytes(), rows);
            for threads in [1, 2, 3] {
                let inferred =
                    infer_schema_and_tally(&f, &options, ranges.clone(), threads, "label").expect("inferred");
                assert_eq!(types(&inferred.schema), types(&whole));
                let tally = inferred.tally.expect("four distinct labels");
                // Each record's id names its own text, and ids follow first occurrence.
                let cells: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').nth(1).expect("label")).collect();
                let named: Vec<&str> = tally.ids.iter().map(|&id| tally.values[usize::from(id)].as_str()).collect();
                assert_eq!(named, cells, "{rows} rows per range, {threads} threads");
                let mut first = Vec::new();
                for c in &cells {
                    if !first.contains(c) {
                        first.push(*c);
                    }
                }
                assert_eq!(tally.values, first);
            }
        }
        // 300 distinct texts are more than a tally holds; an unknown column has none.
        let ranges = line_ranges(text.as_bytes(), 100);
        let many = infer_schema_and_tally(&f, &options, ranges.clone(), 2, "many").expect("inferred");
        assert_eq!(many.tally, None);
        let unknown = infer_schema_and_tally(&f, &options, ranges.clone(), 2, "nope").expect("inferred");
        assert_eq!(unknown.tally, None);
        // A range the CSV reader reads (a quoted field) gives no tally, and the same types.
        let quoted = text.replacen("\n300,", "\n\"300\",", 1);
        let f = write(dir.path(), "quoted.csv", quoted.as_bytes());
        let inferred =
            infer_schema_and_tally(&f, &options, line_ranges(quoted.as_bytes(), 100), 2, "label").expect("inferred");
        assert_eq!(types(&inferred.schema), types(&whole));
        assert_eq!(inferred.tally, None);

        // A file of many pieces: its hash from the bytes the ranges read, when they cover it
        // after the header one after the other.
        let mut big = String::from("a,label,many\n");
        for i in 0..20_000 {
            big.push_str(&format!("{i},{},{}\n", labels[i % 4], i % 300));
        }
        assert!(big.len() as u64 > 3 * wb_core::PIECE_LEN, "{}", big.len());
        let f = write(dir.path(), "big.csv", big.as_bytes());
        let ranges = line_ranges(big.as_bytes(), 1000);
        let file_hash = wb_core::ContentHash::of_file(&f).expect("hash");
        for threads in [1, 2, 3] {
            let inferred = infer_schema_and_tally(&f, &options, ranges.clone(), threads, "label").expect("inferred");
            assert_eq!(inferred.hash, Some(file_hash), "{threads} threads");
        }
        // Ranges with a gap, or short of the end: no hash (the caller hashes the file).
        let gap: Vec<(u64, u64)> = ranges.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, r)| *r).collect();
        assert_eq!(infer_schema_and_tally(&f, &options, gap, 2, "label").expect("inferred").hash, None);
        let short = &ranges[..ranges.len() - 1];
        assert_eq!(infer_schema_and_tally(&f, &options, short.to_vec(), 2, "label").expect("inferred").hash, None);
    }

    #[test]
    fn inferred_types_are_what_the_reader_parses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(
            dir.path(),
            "tricky.csv",
            b"int,float,flag,big,text,date,none,quoted\n\
              +5,1e5,TRUE,9223372036854775807,1e,2024-01-31,?,\"42\"\n\
              -0,.5,false,-9223372036854775808,.,2024-02-01,,\"7\"\n\
              007,5.,True,1,+,2024-02-02,?,?\n\
              ?,-1.5E-3,?,2,9223372036854775808,2024-02-03,,\"-3\"\n\
              42,+.5e+2,fAlSe,3, 5,2024-02-04,?,8\n\
              ,NaN,,4,0x10,2024-02-05,,9\n\
              1,inf,true,5,Infinity,2024-02-06,?,10\n\
              2,-inf,false,6,1.2.3,2024-02-07,,11\n\
              3,nan,true,7,true,2024-02-08,?,12\n\
              4,12,false,8,tru,2024-02-09,,13\n",
        );
        let options = CsvOptions::default();
        let schema = infer_schema(&f, &options).expect("infer");
        assert_eq!(
            types(&schema),
            vec![
                ("int".into(), DataType::Int64),
                ("float".into(), DataType::Float64),
                ("flag".into(), DataType::Boolean),
                ("big".into(), DataType::Int64),
                ("text".into(), DataType::Utf8),
                ("date".into(), DataType::Utf8),
                ("none".into(), DataType::Utf8),
                ("quoted".into(), DataType::Int64),
            ]
        );
        assert!(schema.fields().iter().all(|f| f.is_nullable()));
        let batch = read_all(&f, schema, &options);
        assert_eq!(batch.num_rows(), 10);
        let ints = batch.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().expect("ints");
        assert_eq!(ints.iter().take(5).collect::<Vec<_>>(), vec![Some(5), Some(0), Some(7), None, Some(42)]);
        let floats = batch.column(1).as_any().downcast_ref::<arrow::array::Float64Array>().expect("floats");
        assert_eq!(
            floats.iter().take(5).collect::<Vec<_>>(),
            vec![Some(1e5), Some(0.5), Some(5.0), Some(-1.5e-3), Some(50.0)]
        );
        assert!(floats.value(5).is_nan() && floats.value(8).is_nan());
        assert_eq!((floats.value(6), floats.value(7), floats.value(9)), (f64::INFINITY, f64::NEG_INFINITY, 12.0));
        let big = batch.column(3).as_any().downcast_ref::<arrow::array::Int64Array>().expect("big");
        assert_eq!((big.value(0), big.value(1)), (i64::MAX, i64::MIN));
        assert_eq!(batch.column(6).null_count(), 10, "an all-missing column is all nulls");
    }

    #[test]
    fn mixed_columns_widen_like_arrow() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(dir.path(), "mix.csv", b"if,bi,bf,fi\n1,true,false,1.5\n2.5,1,0.5,2\n");
        let schema = infer_schema(&f, &CsvOptions::default()).expect("infer");
        let kinds: Vec<DataType> = schema.fields().iter().map(|f| f.data_type().clone()).collect();
        assert_eq!(kinds, vec![DataType::Float64, DataType::Utf8, DataType::Utf8, DataType::Float64]);
        read_all(&f, schema, &CsvOptions::default());

        // Only ASCII digits make numbers (Arrow's regexes would take these Arabic-Indic digits
        // for an integer its reader then fails to parse).
        let f = write(dir.path(), "arabic.csv", "n\n١٢\n".as_bytes());
        let schema = infer_schema(&f, &CsvOptions::default()).expect("infer");
        assert_eq!(types(&schema), vec![("n".into(), DataType::Utf8)]);
        read_all(&f, schema, &CsvOptions::default());
    }

    #[test]
    fn honours_delimiter_quotes_and_missing_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(dir.path(), "semi.csv", b"a;b;c\n1,5;\"x;y\";NA\n2,5;\"multi\nline\";3\n");
        let options = CsvOptions { delimiter: b';', ..CsvOptions::with_missing(["NA"]) };
        let schema = infer_schema(&f, &options).expect("infer");
        assert_eq!(
            types(&schema),
            vec![("a".into(), DataType::Utf8), ("b".into(), DataType::Utf8), ("c".into(), DataType::Int64)]
        );
        assert_eq!(read_all(&f, schema, &options).num_rows(), 2);

        // With no missing tokens an empty cell is a value, and not a number.
        let f = write(dir.path(), "empty_cells.csv", b"a,b\n1,\n2,3\n");
        let options = CsvOptions::with_missing(Vec::<String>::new());
        let schema = infer_schema(&f, &options).expect("infer");
        assert_eq!(types(&schema), vec![("a".into(), DataType::Int64), ("b".into(), DataType::Utf8)]);
        read_all(&f, schema, &options);
    }

    #[test]
    fn malformed_rows_name_line_column_and_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = CsvOptions::default();
        // The quoted field spans lines 2-3, so the short row starts on line 4.
        let ragged = write(dir.path(), "ragged.csv", b"a,b\n\"x\ny\",1\n3\n");
        match infer_schema(&ragged, &opts).expect_err("ragged") {
            Error::Csv { line: Some(4), column: None, message, .. } => {
                assert!(message.contains("expected 2 fields") && message.contains("found 1"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        let long = write(dir.path(), "long.csv", b"a,b\n1,2,3\n");
        assert!(matches!(infer_schema(&long, &opts), Err(Error::Csv { line: Some(2), .. })));
        let utf8 = write(dir.path(), "bad.csv", b"a,b\n1,2\n3,\xff\xfe\n");
        match infer_schema(&utf8, &opts).expect_err("utf8") {
            Error::Csv { line: Some(3), column: Some(column), message, .. } => {
                assert_eq!(column, "b");
                assert!(message.contains("UTF-8"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        // A multi-byte character split by a delimiter is invalid in both halves.
        let split = write(dir.path(), "split.csv", b"a,b\n\xc3,\xa9\n");
        assert!(
            matches!(infer_schema(&split, &opts), Err(Error::Csv { line: Some(2), column: Some(c), .. }) if c == "a")
        );
        // Valid non-ASCII text is fine.
        let text = write(dir.path(), "text.csv", "a,b\n1,é\n".as_bytes());
        assert_eq!(
            types(&infer_schema(&text, &opts).expect("infer")),
            vec![("a".into(), DataType::Int64), ("b".into(), DataType::Utf8)]
        );
        let blank = write(dir.path(), "blank.csv", b"a,b\n\n\n");
        assert!(matches!(infer_schema(&blank, &opts), Err(Error::EmptyFile { .. })));
        let empty_name = write(dir.path(), "noname.csv", b"a,\n1,2\n");
        assert!(matches!(infer_schema(&empty_name, &opts), Err(Error::Csv { line: Some(1), .. })));
    }

    /// What Arrow 60's inference makes of one cell, with dates and timestamps as text.
    fn arrow_kind(cell: &str) -> Kind {
        static SET: std::sync::LazyLock<regex::RegexSet> = std::sync::LazyLock::new(|| {
            regex::RegexSet::new([
                r"(?i)^(true)$|^(false)$(?-i)",
                r"^[+-]?(\d+)$",
                r"^[+-]?((\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?|\d+([eE][-+]?\d+))$",
            ])
            .expect("regexes")
        });
        if cell.starts_with('"') {
            return Kind::Utf8;
        }
        match SET.matches(cell).into_iter().next() {
            Some(0) => Kind::Boolean,
            Some(1) if cell.len() >= 19 && cell.parse::<i64>().is_err() => Kind::Utf8,
            Some(1) => Kind::Int64,
            Some(_) => Kind::Float64,
            None if matches!(cell, "NaN" | "nan" | "inf" | "-inf") => Kind::Float64,
            None => Kind::Utf8,
        }
    }

    fn cells() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[-+0-9.eE]{0,8}",
            "[-+]?[0-9]{17,21}",
            "[-+0-9.eEtrueTRUEfalsFALSNainf \"x]{0,8}",
            "(true|false|TRUE|FaLsE|NaN|nan|inf|-inf|\\+inf|Infinity)",
        ]
    }

    proptest::proptest! {
        #[test]
        fn cell_kinds_match_arrow_and_parse(cell in cells()) {
            use arrow::compute::kernels::cast_utils::Parser;
            let kind = Kind::of(cell.as_bytes());
            proptest::prop_assert_eq!(kind, arrow_kind(&cell));
            match kind {
                Kind::Int64 => proptest::prop_assert!(arrow::datatypes::Int64Type::parse(&cell).is_some()),
                Kind::Float64 => proptest::prop_assert!(arrow::datatypes::Float64Type::parse(&cell).is_some()),
                Kind::Boolean => proptest::prop_assert!(cell.eq_ignore_ascii_case("true") || cell.eq_ignore_ascii_case("false")),
                Kind::Empty | Kind::Utf8 => {}
            }
        }

        #[test]
        fn any_file_infers_like_arrow_without_panicking(
            bytes in proptest::prop_oneof![
                proptest::collection::vec(proptest::sample::select(b"0123456789,,,\n\n\r\".+-eEtrufalsNin? x\xc3\xa9\xff".to_vec()), 0..120),
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            ],
            semicolon in proptest::prelude::any::<bool>(),
        ) {
            agrees_with_arrow(&bytes, if semicolon { b';' } else { b',' })?;
        }

        #[test]
        fn tabular_files_infer_like_arrow(
            rows in proptest::collection::vec(
                proptest::collection::vec((proptest::prop_oneof![cells(), "(|\\?)"], proptest::prelude::any::<bool>()), 3),
                0..8,
            ),
            ragged in proptest::prelude::any::<bool>(),
        ) {
            let mut text = String::from("a,b,c\n");
            for (r, row) in rows.iter().enumerate() {
                let cells: Vec<String> = row
                    .iter()
                    .take(if ragged && r == rows.len() - 1 { 2 } else { 3 })
                    .map(|(cell, quoted)| if *quoted || cell.contains('"') { format!("\"{}\"", cell.replace('"', "\"\"")) } else { cell.clone() })
                    .collect();
                text.push_str(&cells.join(","));
                text.push('\n');
            }
            agrees_with_arrow(text.as_bytes(), b',')?;
        }
    }

    /// Infers `bytes` as a CSV file with both this module and Arrow: never a panic, the same
    /// schema (Arrow's nulls, dates and timestamps as text), and the schema reads back; where
    /// Arrow reads a file whose last quote never closes, this module refuses it.
    fn agrees_with_arrow(bytes: &[u8], delimiter: u8) -> std::result::Result<(), proptest::test_runner::TestCaseError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(dir.path(), "fuzz.csv", bytes);
        let options = CsvOptions { delimiter, ..CsvOptions::default() };
        let ours = infer_schema(&f, &options);
        let arrow = options.arrow_format().expect("format").infer_schema(File::open(&f).expect("open"), None);
        match (&ours, &arrow) {
            (Ok(ours), Ok((theirs, _))) => {
                let theirs: Vec<(String, DataType)> = types(theirs)
                    .into_iter()
                    .map(|(n, t)| match t {
                        DataType::Null | DataType::Date32 | DataType::Timestamp(..) => (n, DataType::Utf8),
                        t => (n, t),
                    })
                    .collect();
                proptest::prop_assert_eq!(types(ours), theirs);
                read_all(&f, ours.clone(), &options);
            }
            (Ok(_), Err(e)) => proptest::prop_assert!(false, "arrow fails where we do not: {e}"),
            (Err(e), Ok((_, rows))) => {
                // Stricter than Arrow by design: a quote open at the end of the file.
                let unclosed = e.to_string().contains("opens a double quote that is never closed");
                proptest::prop_assert!(*rows == 0 || read_header(&f, &options).is_err() || unclosed, "{ours:?}");
            }
            (Err(_), Err(_)) => {}
        }
        Ok(())
    }

    #[test]
    fn explicit_schema_errors_name_the_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = write(dir.path(), "x.csv", b"a,b\n1,2\n3,4\nfive,6\n");
        let schema =
            Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true), Field::new("b", DataType::Int64, true)]));
        let err = CsvBatches::open(&f, schema, &CsvOptions::default(), None)
            .expect("open")
            .find_map(Result::err)
            .expect("a parse error");
        let msg = err.to_string();
        assert!(msg.contains("x.csv") && msg.contains("five"), "{msg}");
    }

    #[test]
    fn ingest_applies_lookups_and_writes_parquet_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = write(dir.path(), "d.csv", b"id,admission_type_id\n1,1\n2,3\n3,?\n");
        let map = write(dir.path(), "map.csv", b"admission_type_id,description\n1,Emergency\n3,Elective\n");
        let out = dir.path().join("out/d.parquet");
        let options = IngestOptions {
            lookups: vec![format!("admission_type_id={}", map.display()).parse().expect("lookup")],
            ..IngestOptions::default()
        };
        let report = ingest_csv(&data, &out, &options).expect("ingest");
        assert_eq!(report.rows, 3);
        assert_eq!(report.columns[1], ("admission_type_id".into(), "Utf8".into()));
        let batch = read_parquet(&out, 1024).expect("read").next().expect("batch").expect("ok");
        let mapped = batch.column(1).as_any().downcast_ref::<StringArray>().expect("strings");
        assert_eq!(mapped.iter().collect::<Vec<_>>(), vec![Some("Emergency"), Some("Elective"), None]);

        // An unmapped code fails, names the line and value, and leaves the old output in place.
        let bad = write(dir.path(), "bad.csv", b"id,admission_type_id\n1,1\n2,9\n");
        let err = ingest_csv(&bad, &out, &options).expect_err("unmapped");
        assert!(matches!(&err, Error::UnmappedValue { line: 3, value, .. } if value == "9"), "{err:?}");
        assert_eq!(
            read_parquet(&out, 1024).expect("old file intact").next().expect("batch").expect("ok").num_rows(),
            3
        );
        let leftovers = std::fs::read_dir(dir.path().join("out")).expect("dir").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn lookup_spec_and_table_errors() {
        assert!("nocolumn".parse::<Lookup>().is_err());
        assert!("=x.csv".parse::<Lookup>().is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let dup = write(dir.path(), "m.csv", b"code,desc\n1,a\n1,b\n");
        let e = LookupTable::load(&Lookup { column: "c".into(), mapping: dup }).expect_err("dup").to_string();
        assert!(e.contains("line 3") && e.contains("mapped twice"), "{e}");
    }
}

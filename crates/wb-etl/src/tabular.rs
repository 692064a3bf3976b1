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

    fn format(&self) -> Result<Format> {
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
/// Columns whose every value is missing become nullable `Utf8`.
///
/// # Errors
/// [`Error::EmptyFile`] for an empty file or one with a header and no rows, [`Error::Csv`]
/// for malformed content (ragged rows, invalid UTF-8, duplicate column names) with the line.
pub fn infer_schema(file: &Path, options: &CsvOptions) -> Result<SchemaRef> {
    read_header(file, options)?;
    let (schema, rows) = options
        .format()?
        .infer_schema(BufReader::with_capacity(1 << 20, open(file)?), None)
        .map_err(|e| csv_error(file, &e))?;
    if rows == 0 {
        return Err(Error::EmptyFile { file: file.to_owned(), what: "data rows after the header" });
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Null => Field::new(f.name(), DataType::Utf8, true),
            _ => f.as_ref().clone(),
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
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
            ReaderBuilder::new(schema).with_format(options.format()?).with_batch_size(options.batch_size.max(1));
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
/// Spark default to), statistics, dictionary encoding.
#[must_use]
pub fn parquet_properties() -> WriterProperties {
    WriterProperties::builder().set_compression(Compression::SNAPPY).set_created_by("workbench".into()).build()
}

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

    let tmp = temp_path(dest);
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

/// A temporary sibling of `dest` (same directory, so the final rename is atomic).
#[must_use]
pub fn temp_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.{}.partial", std::process::id()))
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

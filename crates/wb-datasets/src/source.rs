//! Reading a dataset's source, wherever it lives.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use wb_core::{ContentHash, ObjectStore, StoreUri};
use wb_etl::tabular::{ColumnTally, CsvBatches, CsvOptions};

use crate::chunks::{CHUNK_ROWS, Chunk};
use crate::error::{Error, Result};
use crate::manifest::{ColumnSchema, SourceFormat};

/// Batches of a source, in order.
pub(crate) type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Canonical URI of a source given as a path or URI: `file:///abs` for local files; a URI
/// inside the store stays as it is.
pub(crate) fn canonical_uri(source: &str, store: &StoreUri) -> Result<String> {
    let bad = |reason: String| Error::BadSource { source_name: source.to_owned(), reason };
    if let Some(path) = source.strip_prefix("file://") {
        return canonical_uri(path, store);
    }
    if source.contains("://") {
        return match store.relative_object(source) {
            Some(_) => Ok(source.to_owned()),
            None => Err(bad(format!("only local files and objects inside the store ({store}) can be sources"))),
        };
    }
    let path = std::fs::canonicalize(source).map_err(|e| bad(e.to_string()))?;
    if !path.is_file() {
        return Err(bad("not a file".into()));
    }
    Ok(format!("file://{}", path.display()))
}

/// The format of a source, from its extension.
pub(crate) fn format_of(uri: &str) -> Result<SourceFormat> {
    let lower = uri.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Ok(SourceFormat::Csv)
    } else if lower.ends_with(".parquet") || lower.ends_with(".pq") {
        Ok(SourceFormat::Parquet)
    } else {
        Err(Error::BadSource { source_name: uri.to_owned(), reason: "expected a .csv or .parquet file".into() })
    }
}

/// What [`LocalSource::infer`] finds.
pub(crate) struct Inferred {
    pub(crate) schema: SchemaRef,
    /// The chunks of a CSV file whose line ends are record ends.
    pub(crate) chunks: Option<Vec<Chunk>>,
    /// The tally of the column asked for, when it was read from such chunks.
    pub(crate) tally: Option<ColumnTally>,
    /// The hash of the source's bytes.
    pub(crate) fingerprint: ContentHash,
}

/// A source available as a local file (downloaded from the store when needed).
#[derive(Debug)]
pub(crate) struct LocalSource {
    pub(crate) path: PathBuf,
    pub(crate) uri: String,
    pub(crate) format: SourceFormat,
    _download: Option<wb_core::scratch::ScratchDir>,
}

impl LocalSource {
    pub(crate) async fn fetch(store: &dyn ObjectStore, uri: &str) -> Result<Self> {
        let format = format_of(uri)?;
        if let Some(path) = uri.strip_prefix("file://") {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(Error::BadSource { source_name: uri.to_owned(), reason: "file not found".into() });
            }
            return Ok(Self { path, uri: uri.to_owned(), format, _download: None });
        }
        let object = store.uri().relative_object(uri).ok_or_else(|| Error::BadSource {
            source_name: uri.to_owned(),
            reason: format!("not inside the store {}", store.uri()),
        })?;
        let dir = wb_core::scratch::ScratchDir::create("source")?;
        let path = dir.path().join(object.file_name());
        store.get_to_file(&object, &path).await?;
        Ok(Self { path, uri: uri.to_owned(), format, _download: Some(dir) })
    }

    /// The schema: inferred for CSV (with the missing tokens), read for Parquet. For a CSV file
    /// whose line ends are record ends, also its chunks of [`CHUNK_ROWS`] records and the
    /// tally of the `tally` column (see [`wb_etl::tabular::infer_schema_and_tally`]). And the
    /// source's hash: from the bytes the chunks read when they are inferred on every core,
    /// otherwise hashed on a thread of its own meanwhile.
    pub(crate) fn infer(&self, missing: &[String], tally: &str) -> Result<Inferred> {
        let hash = || ContentHash::of_file(&self.path).map_err(Error::from);
        // `read`'s result, with the source hashed on a thread of its own meanwhile.
        let hashed_meanwhile = |read: &dyn Fn() -> Result<SchemaRef>| -> Result<Inferred> {
            std::thread::scope(|scope| {
                let hashing = scope.spawn(hash);
                let schema = read();
                let fingerprint = hashing
                    .join()
                    .unwrap_or_else(|_| Err(Error::data("hashing the source", "the hashing thread panicked")))?;
                Ok(Inferred { schema: schema?, chunks: None, tally: None, fingerprint })
            })
        };
        match self.format {
            SourceFormat::Csv => {
                let options = CsvOptions::with_missing(missing);
                // A file whose line ends are record ends is inferred in chunks on every core,
                // each chunk as soon as the line-end scan finds it.
                let (ranges, found) = std::sync::mpsc::channel::<(u64, u64)>();
                let (chunks, inferred) = std::thread::scope(|scope| {
                    let options = &options;
                    let inferring = scope.spawn(move || {
                        let threads = crate::chunks::threads();
                        wb_etl::tabular::infer_schema_and_tally(&self.path, options, found, threads, tally)
                    });
                    let chunks = crate::chunks::split_each(&self.path, CHUNK_ROWS, |chunk| {
                        // The inference stops early only on an error of its own, reported below.
                        let _ = ranges.send((chunk.start, chunk.end));
                    });
                    drop(ranges);
                    let inferred = inferring.join().unwrap_or_else(|_| {
                        Err(wb_etl::Error::Io {
                            operation: "inferring",
                            path: self.path.clone(),
                            source: std::io::Error::other("an inference thread panicked"),
                        })
                    });
                    (chunks, inferred)
                });
                match chunks? {
                    Some(chunks) => {
                        let inferred = inferred?;
                        let fingerprint = match inferred.hash {
                            Some(fingerprint) => fingerprint,
                            None => hash()?,
                        };
                        Ok(Inferred {
                            schema: inferred.schema,
                            chunks: Some(chunks),
                            tally: inferred.tally,
                            fingerprint,
                        })
                    }
                    // Line ends that are not record ends: what the chunks gave is set aside.
                    None => hashed_meanwhile(&|| Ok(wb_etl::tabular::infer_schema(&self.path, &options)?)),
                }
            }
            SourceFormat::Parquet => hashed_meanwhile(&|| {
                let builder = ParquetRecordBatchReaderBuilder::try_new(open(&self.path)?)
                    .map_err(|e| Error::data(&self.uri, e))?;
                Ok(builder.schema().clone())
            }),
        }
    }

    /// Streams the source's batches with `schema`, decoding only `projection` when given.
    pub(crate) fn batches(
        &self,
        schema: &SchemaRef,
        missing: &[String],
        projection: Option<Vec<usize>>,
        batch_size: usize,
    ) -> Result<Batches> {
        match self.format {
            SourceFormat::Csv => {
                let options = CsvOptions { batch_size, ..CsvOptions::with_missing(missing) };
                let reader = CsvBatches::open(&self.path, schema.clone(), &options, projection)?;
                Ok(Box::new(reader.map(|b| b.map_err(Error::from))))
            }
            SourceFormat::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(open(&self.path)?)
                    .map_err(|e| Error::data(&self.uri, e))?
                    .with_batch_size(batch_size);
                let builder = match projection {
                    Some(indices) => {
                        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
                        builder.with_projection(mask)
                    }
                    None => builder,
                };
                let reader = builder.build().map_err(|e| Error::data(&self.uri, e))?;
                let uri = self.uri.clone();
                Ok(Box::new(reader.map(move |b| b.map_err(|e| Error::data(&uri, e)))))
            }
        }
    }

    /// Where a row is, for messages: CSV line (header is line 1) or Parquet row (1-based).
    pub(crate) fn location(&self, row: u64) -> String {
        match self.format {
            SourceFormat::Csv => format!("line {}", row + 2),
            SourceFormat::Parquet => format!("row {}", row + 1),
        }
    }
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))
}

/// The stored form of a schema.
pub(crate) fn to_columns(schema: &Schema) -> Vec<ColumnSchema> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnSchema {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// The Arrow schema of stored columns.
pub(crate) fn from_columns(columns: &[ColumnSchema]) -> Result<SchemaRef> {
    let fields = columns
        .iter()
        .map(|c| {
            let t = DataType::from_str(&c.data_type)
                .map_err(|e| Error::data(format!("schema of column {:?}", c.name), e))?;
            Ok(Field::new(&c.name, t, c.nullable))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

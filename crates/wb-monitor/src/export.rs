//! Writing captured rows to a Parquet file that pandas, pyarrow and polars read.
//!
//! Columns, in order: `time` (timestamp, ms, UTC), `event_id`, `inference_id` (nullable),
//! `variant`, `row` (the row's index in its request), one column per feature (Float64 for
//! numeric columns, Utf8 otherwise, null when missing), then for classification `label` (the
//! class name, or its index when the classes are unknown), `confidence` and `probabilities`
//! (`List<Float64>`), or for regression `prediction`. Rows without a captured output have nulls
//! there.
//!
//! Rows are written batch by batch (one row group at most every
//! `PARQUET_ROW_GROUP_ROWS` rows), to a temporary sibling renamed over the destination at
//! [`ParquetExport::finish`]: the destination never holds a half-written file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, ListBuilder, RecordBatch, StringBuilder, TimestampMillisecondBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::capture::{CaptureReader, ReadOutcome};
use crate::error::{Error, Result};
use crate::record::{CapturedRow, ModelOutput, RowSchema, Value};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    /// The file written.
    pub path: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// Feature values that did not fit their column's type (text in a numeric column) and were
    /// written as null.
    pub coerced: u64,
}

/// A positional schema: `n` features named `_c0`, `_c1`, …, all numeric; classes unknown.
#[must_use]
pub fn positional_schema(n: usize, regression: bool) -> RowSchema {
    RowSchema {
        features: CaptureReader::column_names(None, n),
        numeric: vec![true; n],
        missing: Vec::new(),
        classes: Vec::new(),
        regression,
    }
}

/// A schema inferred from rows read without one: as many positional features as the widest
/// row, numeric where every value is a number or missing, regression when the first output
/// is.
#[must_use]
pub fn infer_schema(rows: &[CapturedRow]) -> RowSchema {
    let n = rows.iter().map(|r| r.features.len()).max().unwrap_or(0);
    let regression =
        rows.iter().find_map(|r| r.output.as_ref()).is_some_and(|o| matches!(o, ModelOutput::Regression { .. }));
    let mut schema = positional_schema(n, regression);
    for row in rows {
        for (i, v) in row.features.iter().enumerate() {
            if matches!(v, Value::Text(_)) {
                schema.numeric[i] = false;
            }
        }
    }
    schema
}

/// A Parquet file being written, batch by batch.
pub struct ParquetExport {
    dest: PathBuf,
    tmp: PathBuf,
    schema: RowSchema,
    arrow_schema: SchemaRef,
    writer: Option<ArrowWriter<File>>,
    rows: u64,
    coerced: u64,
}

impl std::fmt::Debug for ParquetExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetExport").field("dest", &self.dest).field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl ParquetExport {
    /// Starts writing `dest` (through a temporary sibling) with the columns of `schema`.
    ///
    /// # Errors
    /// [`Error::Io`] when the temporary file cannot be created, [`Error::Parquet`] when the
    /// writer cannot start.
    pub fn create(dest: &Path, schema: RowSchema) -> Result<Self> {
        let tmp = wb_core::temp_sibling(dest);
        let file = File::create(&tmp).map_err(|source| Error::Io { path: tmp.display().to_string(), source })?;
        let arrow_schema = arrow_schema(&schema);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by("workbench".into())
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&arrow_schema), Some(props)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            parquet_err(dest, &e)
        })?;
        Ok(Self { dest: dest.to_owned(), tmp, schema, arrow_schema, writer: Some(writer), rows: 0, coerced: 0 })
    }

    /// The schema the file's feature columns follow.
    #[must_use]
    pub fn schema(&self) -> &RowSchema {
        &self.schema
    }

    /// Appends rows.
    ///
    /// # Errors
    /// [`Error::Parquet`] when writing fails.
    pub fn write(&mut self, rows: &[CapturedRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = self.batch(rows)?;
        let writer = self.writer.as_mut().ok_or_else(|| Error::InvalidInput("the export is finished".into()))?;
        writer.write(&batch).map_err(|e| parquet_err(&self.dest, &e))?;
        self.rows += rows.len() as u64;
        Ok(())
    }

    fn batch(&mut self, rows: &[CapturedRow]) -> Result<RecordBatch> {
        let n = rows.len();
        let mut time = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut event_id = StringBuilder::new();
        let mut inference_id = StringBuilder::new();
        let mut variant = StringBuilder::new();
        let mut row_index = UInt64Builder::with_capacity(n);
        for r in rows {
            time.append_value(r.time.timestamp_millis());
            event_id.append_value(&r.event_id);
            inference_id.append_option(r.inference_id.as_deref());
            variant.append_value(&r.variant);
            row_index.append_value(r.row as u64);
        }
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(time.finish()),
            Arc::new(event_id.finish()),
            Arc::new(inference_id.finish()),
            Arc::new(variant.finish()),
            Arc::new(row_index.finish()),
        ];
        for (i, numeric) in self.schema.numeric.iter().copied().enumerate() {
            if numeric {
                let mut b = Float64Builder::with_capacity(n);
                for r in rows {
                    match r.features.get(i) {
                        Some(Value::Number(x)) => b.append_value(*x),
                        Some(Value::Text(t)) => match t.trim().parse::<f64>() {
                            Ok(x) => b.append_value(x),
                            Err(_) => {
                                self.coerced += 1;
                                b.append_null();
                            }
                        },
                        Some(Value::Missing) | None => b.append_null(),
                    }
                }
                columns.push(Arc::new(b.finish()));
            } else {
                let mut b = StringBuilder::new();
                for r in rows {
                    match r.features.get(i) {
                        Some(Value::Text(t)) => b.append_value(t),
                        Some(Value::Number(x)) => b.append_value(x.to_string()),
                        Some(Value::Missing) | None => b.append_null(),
                    }
                }
                columns.push(Arc::new(b.finish()));
            }
        }
        if self.schema.regression {
            let mut b = Float64Builder::with_capacity(n);
            for r in rows {
                match &r.output {
                    Some(ModelOutput::Regression { value }) => b.append_value(*value),
                    _ => b.append_null(),
                }
            }
            columns.push(Arc::new(b.finish()));
        } else {
            let mut label = StringBuilder::new();
            let mut confidence = Float64Builder::with_capacity(n);
            let mut probabilities = ListBuilder::new(Float64Builder::new());
            for r in rows {
                match &r.output {
                    Some(ModelOutput::Classification { probabilities: p, label: l, confidence: c }) => {
                        match self.schema.classes.get(*l) {
                            Some(name) => label.append_value(name),
                            None => label.append_value(l.to_string()),
                        }
                        confidence.append_value(*c);
                        probabilities.values().append_slice(p);
                        probabilities.append(true);
                    }
                    _ => {
                        label.append_null();
                        confidence.append_null();
                        probabilities.append(false);
                    }
                }
            }
            columns.push(Arc::new(label.finish()));
            columns.push(Arc::new(confidence.finish()));
            columns.push(Arc::new(probabilities.finish()));
        }
        RecordBatch::try_new(Arc::clone(&self.arrow_schema), columns).map_err(|e| parquet_err(&self.dest, &e))
    }

    /// Closes the file and renames it to the destination.
    ///
    /// # Errors
    /// [`Error::Parquet`] when closing fails, [`Error::Io`] when the rename fails (the
    /// temporary file is removed in both cases).
    pub fn finish(mut self) -> Result<ExportSummary> {
        let writer = self.writer.take().ok_or_else(|| Error::InvalidInput("the export is finished".into()))?;
        if let Err(e) = writer.close() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(parquet_err(&self.dest, &e));
        }
        if let Err(source) = std::fs::rename(&self.tmp, &self.dest) {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(Error::Io { path: self.dest.display().to_string(), source });
        }
        tracing::info!(path = %self.dest.display(), rows = self.rows, "capture exported to Parquet");
        Ok(ExportSummary { path: self.dest.clone(), rows: self.rows, coerced: self.coerced })
    }
}

impl Drop for ParquetExport {
    fn drop(&mut self) {
        // An unfinished export leaves nothing behind.
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn parquet_err(dest: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Parquet { path: dest.display().to_string(), message: e.to_string() }
}

fn arrow_schema(schema: &RowSchema) -> SchemaRef {
    let mut fields = vec![
        Field::new("time", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("inference_id", DataType::Utf8, true),
        Field::new("variant", DataType::Utf8, false),
        Field::new("row", DataType::UInt64, false),
    ];
    for (name, numeric) in schema.features.iter().zip(&schema.numeric) {
        fields.push(Field::new(name, if *numeric { DataType::Float64 } else { DataType::Utf8 }, true));
    }
    if schema.regression {
        fields.push(Field::new("prediction", DataType::Float64, true));
    } else {
        fields.push(Field::new("label", DataType::Utf8, true));
        fields.push(Field::new("confidence", DataType::Float64, true));
        fields.push(Field::new("probabilities", DataType::new_list(DataType::Float64, true), true));
    }
    Arc::new(Schema::new(fields))
}

/// Reads a capture and writes its rows to `dest`, batch by batch. With `schema` `None` the
/// columns are inferred from the first batch ([`infer_schema`]).
///
/// # Errors
/// The reader's errors ([`Error::NoCapture`], store errors) and the writer's; on error no
/// file is left at `dest`.
pub async fn export_parquet(
    reader: CaptureReader,
    schema: Option<RowSchema>,
    dest: &Path,
) -> Result<(ReadOutcome, ExportSummary)> {
    let reader = match &schema {
        Some(s) => reader.schema(s.clone()),
        None => reader,
    };
    let mut export: Option<ParquetExport> = None;
    let outcome = reader
        .for_each_batch(|rows| {
            let e = match &mut export {
                Some(e) => e,
                None => {
                    export.insert(ParquetExport::create(dest, schema.clone().unwrap_or_else(|| infer_schema(rows)))?)
                }
            };
            e.write(rows)
        })
        .await?;
    let export = match export {
        Some(e) => e,
        None => ParquetExport::create(dest, schema.unwrap_or_else(|| positional_schema(0, false)))?,
    };
    Ok((outcome, export.finish()?))
}

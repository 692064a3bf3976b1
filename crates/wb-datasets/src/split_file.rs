//! The split files' Parquet writer.
//!
//! Parquet's Arrow writer dictionary-encodes a text column by hashing every value into the row
//! group's dictionary and comparing every value twice more for the column's minimum and
//! maximum. A split's text columns are categories with a handful of values, so those three
//! byte comparisons per cell were a quarter of partitioning's time. [`SplitFileWriter`] writes
//! them itself: each batch's values are found once in a small dictionary of the batch's own
//! ([`Dictionary`]); only those few values are looked up in the row group's dictionary and
//! compared for the statistics; the rows become dictionary indices, written as Parquet's
//! `RLE_DICTIONARY` data page after a `PLAIN` dictionary page, compressed as the Arrow writer
//! compresses them (`parquet_properties`: snappy, dictionaries on, version 1 data pages; under
//! other settings every column is parquet's). Every other column, and a text column whose
//! dictionary outgrows the limit the Arrow writer keeps (it then writes plain values), goes
//! through the Arrow writer's own column writers, so the file has the schema (with its Arrow
//! schema), row groups, settings and values an [`ArrowWriter`](parquet::arrow::ArrowWriter)
//! gives it. The text columns written here have one data page per row group, an offset index
//! and chunk statistics (min, max, null count), but no column index (per-page min / max).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, FieldRef, SchemaRef};
use bytes::Bytes;
use foldhash::fast::FixedState;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, Encoding, PageType};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ColumnChunkMetaData, PageEncodingStats};
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::properties::WriterVersion;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;
use wb_etl::tabular::{PARQUET_DICTIONARY_LIMIT, PARQUET_ROW_GROUP_ROWS};

use crate::channel::{Dictionary, is_text, put_varint};
use crate::error::{Error, Result};

// A text column's dictionary indices fit 16 bits (see `TextChunk::ids`).
const _: () = assert!(PARQUET_DICTIONARY_LIMIT / 4 <= u16::MAX as usize);

/// Writes one split's Parquet file (see the module docs).
pub(crate) struct SplitFileWriter<W: Write + Send> {
    path: PathBuf,
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The row group being written.
    group: Option<RowGroup>,
    /// Row groups written so far (the index of the next).
    groups: usize,
}

/// The columns of the row group being written.
struct RowGroup {
    rows: usize,
    columns: Vec<ColumnChunk>,
}

/// One column of the row group being written.
enum ColumnChunk {
    /// Encoded by the Arrow writer's column writer.
    Arrow(Box<ArrowColumnWriter>),
    /// A text column, dictionary-encoded here.
    Text(Box<TextChunk>),
}

impl<W: Write + Send> SplitFileWriter<W> {
    /// A writer of batches of `schema` to `sink`, with the workbench's Parquet settings;
    /// `path` names the file in errors.
    pub(crate) fn try_new(sink: W, schema: SchemaRef, path: &Path) -> Result<Self> {
        let (file, factory) = wb_etl::tabular::parquet_writer(sink, schema.clone(), path)?
            .into_serialized_writer()
            .map_err(|e| Error::data(path.display().to_string(), e))?;
        Ok(Self { path: path.to_owned(), file, factory, schema, group: None, groups: 0 })
    }

    /// Writes `batch`, closing row groups of [`PARQUET_ROW_GROUP_ROWS`] rows as the Arrow
    /// writer does. `dictionaries` are those of some of its text columns (by column index),
    /// already made; the others' are made here. A text column may come dictionary-encoded with
    /// 32-bit keys (as the partition's decoder builds categorical features): it is written as
    /// its text.
    pub(crate) fn write(&mut self, batch: &RecordBatch, dictionaries: &[(usize, Dictionary)]) -> Result<()> {
        if let Some((field, array)) = self.schema.fields().iter().zip(batch.columns()).find(|(f, a)| {
            f.data_type() != a.data_type() && !(f.data_type() == &DataType::Utf8 && is_text(a.data_type()))
        }) {
            let e = format!("column {} is {}, not {}", field.name(), array.data_type(), field.data_type());
            return Err(failed(&self.path, ParquetError::General(e)));
        }
        if batch.num_columns() != self.schema.fields().len() {
            let e = format!("{} columns for a schema of {}", batch.num_columns(), self.schema.fields().len());
            return Err(failed(&self.path, ParquetError::General(e)));
        }
        let mut given: Vec<Option<&Dictionary>> = vec![None; batch.num_columns()];
        for (column, dictionary) in dictionaries {
            if let Some(slot) = given.get_mut(*column) {
                *slot = Some(dictionary);
            }
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.group.is_none() {
                let writers = self.factory.create_column_writers(self.groups).map_err(|e| failed(&self.path, e))?;
                let props = self.file.properties();
                let columns = writers
                    .into_iter()
                    .zip(self.schema.fields())
                    .enumerate()
                    .map(|(i, (writer, field))| {
                        let descr = self.file.schema_descr().column(i);
                        // Only under the settings this encoder reproduces; parquet's otherwise.
                        let reproduced = props.compression(descr.path()) == Compression::SNAPPY
                            && props.dictionary_enabled(descr.path())
                            && props.writer_version() == WriterVersion::PARQUET_1_0;
                        if field.data_type() == &DataType::Utf8 && reproduced {
                            let limit = props.statistics_truncate_length().unwrap_or(usize::MAX);
                            ColumnChunk::Text(Box::new(TextChunk::new(descr, field.clone(), writer, limit)))
                        } else {
                            ColumnChunk::Arrow(Box::new(writer))
                        }
                    })
                    .collect();
                self.group = Some(RowGroup { rows: 0, columns });
            }
            let group = self.group.as_mut().expect("a row group was opened");
            let n = (batch.num_rows() - offset).min(PARQUET_ROW_GROUP_ROWS - group.rows);
            let range = offset..offset + n;
            let written: std::result::Result<(), ParquetError> =
                group.columns.iter_mut().enumerate().zip(batch.columns()).try_for_each(|((c, column), array)| {
                    match column {
                        ColumnChunk::Arrow(writer) => {
                            write_leaves(writer, &self.schema.fields()[c], &array.slice(offset, n))
                        }
                        ColumnChunk::Text(text) => text.write(array, given[c], range.clone()),
                    }
                });
            written.map_err(|e| failed(&self.path, e))?;
            group.rows += n;
            offset += n;
            if group.rows == PARQUET_ROW_GROUP_ROWS {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the row group being written to the file.
    fn flush(&mut self) -> Result<()> {
        let Some(group) = self.group.take() else { return Ok(()) };
        let appended = (|| -> std::result::Result<(), ParquetError> {
            let mut row_group = self.file.next_row_group()?;
            for column in group.columns {
                match column {
                    ColumnChunk::Arrow(writer) => writer.close()?.append_to_row_group(&mut row_group)?,
                    ColumnChunk::Text(text) => text.append_to(&mut row_group)?,
                }
            }
            row_group.close()?;
            Ok(())
        })();
        appended.map_err(|e| failed(&self.path, e))?;
        self.groups += 1;
        Ok(())
    }

    /// Writes the last row group and the footer, and answers the sink.
    pub(crate) fn into_inner(mut self) -> Result<W> {
        self.flush()?;
        self.file.into_inner().map_err(|e| failed(&self.path, e))
    }
}

fn failed(path: &Path, e: ParquetError) -> Error {
    Error::data(path.display().to_string(), e)
}

/// Writes `array` with parquet's column writer, as text when it is dictionary-encoded text
/// (see [`SplitFileWriter::write`]).
fn write_leaves(writer: &mut ArrowColumnWriter, field: &FieldRef, array: &ArrayRef) -> parquet::errors::Result<()> {
    let text;
    let array = if field.data_type() == array.data_type() {
        array
    } else {
        text = arrow::compute::cast(array, field.data_type()).map_err(|e| ParquetError::ArrowError(e.to_string()))?;
        &text
    };
    for leaf in compute_leaves(field, array)? {
        writer.write(&leaf)?;
    }
    Ok(())
}

/// One text column of a row group, dictionary-encoded (see the module docs).
struct TextChunk {
    descr: ColumnDescPtr,
    field: FieldRef,
    /// The longest min / max kept in the statistics (parquet's writer truncates longer ones).
    statistics_limit: usize,
    /// The row group's dictionary: each value's index.
    index: HashMap<Box<[u8]>, u16, FixedState>,
    /// The dictionary page, `PLAIN`-encoded (each value's length, four bytes little-endian,
    /// then its bytes), and where each value's bytes are in it.
    page: Vec<u8>,
    values: Vec<(usize, usize)>,
    /// The smallest and largest value (by their bytes, Parquet's order for text).
    min: Option<Box<[u8]>>,
    max: Option<Box<[u8]>>,
    /// The dictionary index of every value that is not null. The column goes to the Arrow
    /// writer as soon as its dictionary passes the limit: every value but the last takes its
    /// four-byte length at least, so the last index is at most 128 Ki / 4 and fits 16 bits.
    ids: Vec<u16>,
    /// Every row's definition level (0 for null), kept from the first null on (before it,
    /// every row was 1).
    levels: Option<Vec<u8>>,
    rows: usize,
    nulls: u64,
    /// The Arrow writer's column writer, which takes over a column whose dictionary
    /// outgrows the limit (or that has only nulls).
    arrow: Option<ArrowColumnWriter>,
    /// Whether it has taken over.
    overflowed: bool,
}

impl TextChunk {
    fn new(descr: ColumnDescPtr, field: FieldRef, arrow: ArrowColumnWriter, statistics_limit: usize) -> Self {
        Self {
            descr,
            field,
            statistics_limit,
            index: HashMap::default(),
            page: Vec::new(),
            values: Vec::new(),
            min: None,
            max: None,
            ids: Vec::new(),
            levels: None,
            rows: 0,
            nulls: 0,
            arrow: Some(arrow),
            overflowed: false,
        }
    }

    /// Writes the `rows` of `array` (a text column), with its `dictionary` when it was made
    /// already (it is made here otherwise).
    fn write(
        &mut self,
        array: &ArrayRef,
        dictionary: Option<&Dictionary>,
        rows: std::ops::Range<usize>,
    ) -> parquet::errors::Result<()> {
        if self.overflowed {
            let writer = self.arrow.as_mut().expect("kept until closed");
            return write_leaves(writer, &self.field, &array.slice(rows.start, rows.len()));
        }
        let made;
        let dictionary = match dictionary {
            Some(given) => given,
            None => {
                made = Dictionary::of_array(array.as_ref()).ok_or_else(|| {
                    ParquetError::General(format!("column {} is {}, not text", self.field.name(), array.data_type()))
                })?;
                &made
            }
        };
        let block = dictionary.ids.get(rows.clone()).ok_or_else(|| {
            ParquetError::General(format!("a dictionary of {} rows for {} rows", dictionary.ids.len(), array.len()))
        })?;
        // The values the rows hold: all of the block's, unless the rows are part of it.
        let mut used = vec![rows.len() == dictionary.ids.len(); dictionary.values.len() + 1];
        if rows.len() != dictionary.ids.len() {
            for &id in block {
                used[id as usize] = true;
            }
        }
        // Each of the block's values' index in the row group's dictionary (0 for null).
        let mut ids = vec![0; dictionary.values.len() + 1];
        for ((value, id), &used) in dictionary.values().zip(&mut ids[1..]).zip(&used[1..]) {
            if used {
                *id = self.intern(value.as_bytes());
                if self.page.len() > PARQUET_DICTIONARY_LIMIT {
                    return self.overflow(&array.slice(rows.start, rows.len()));
                }
            }
        }
        let nulls = if array.null_count() == 0 { 0 } else { block.iter().filter(|&&id| id == 0).count() };
        if nulls > 0 && self.levels.is_none() {
            let mut levels = Vec::with_capacity(PARQUET_ROW_GROUP_ROWS.max(self.rows));
            levels.resize(self.rows, 1);
            self.levels = Some(levels);
        }
        if self.ids.capacity() == 0 {
            // Room for a whole row group at once: growing by doubling copied every id of
            // every text column several times per row group.
            self.ids.reserve(PARQUET_ROW_GROUP_ROWS);
        }
        match &mut self.levels {
            Some(levels) => {
                for &id in block {
                    levels.push(u8::from(id != 0));
                    if id != 0 {
                        self.ids.push(ids[id as usize]);
                    }
                }
            }
            None => self.ids.extend(block.iter().map(|&id| ids[id as usize])),
        }
        self.rows += rows.len();
        self.nulls += nulls as u64;
        Ok(())
    }

    /// The index of `value` in the row group's dictionary, added if new.
    fn intern(&mut self, value: &[u8]) -> u16 {
        if let Some(&id) = self.index.get(value) {
            return id;
        }
        // The dictionary is at most one value past the limit (see `ids`).
        let id = u16::try_from(self.values.len()).expect("a dictionary within its limit");
        self.page.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.values.push((self.page.len(), value.len()));
        self.page.extend_from_slice(value);
        self.index.insert(value.into(), id);
        if self.min.as_deref().is_none_or(|min| value < min) {
            self.min = Some(value.into());
        }
        if self.max.as_deref().is_none_or(|max| value > max) {
            self.max = Some(value.into());
        }
        id
    }

    /// The rows written so far, as text.
    fn rows_so_far(&self) -> StringArray {
        let mut offsets = Vec::with_capacity(self.rows + 1);
        let mut bytes = Vec::new();
        offsets.push(0i32);
        let mut ids = self.ids.iter();
        for row in 0..self.rows {
            let valid = self.levels.as_ref().is_none_or(|levels| levels[row] == 1);
            if valid && let Some(&id) = ids.next() {
                let (at, len) = self.values[id as usize];
                bytes.extend_from_slice(&self.page[at..at + len]);
            }
            offsets.push(bytes.len() as i32);
        }
        let nulls = self.levels.as_ref().map(|levels| NullBuffer::from_iter(levels.iter().map(|&l| l == 1)));
        StringArray::new(OffsetBuffer::new(offsets.into()), bytes.into(), nulls)
    }

    /// Hands the column to the Arrow writer's column writer: the rows so far, then `array`.
    fn overflow(&mut self, array: &ArrayRef) -> parquet::errors::Result<()> {
        let so_far: ArrayRef = Arc::new(self.rows_so_far());
        let writer = self.arrow.as_mut().expect("kept until closed");
        if self.rows > 0 {
            write_leaves(writer, &self.field, &so_far)?;
        }
        write_leaves(writer, &self.field, array)?;
        self.overflowed = true;
        self.index = HashMap::default();
        (self.page, self.values, self.ids, self.levels) = (Vec::new(), Vec::new(), Vec::new(), None);
        Ok(())
    }

    /// Appends the column chunk to `row_group`.
    fn append_to<W: Write + Send>(
        mut self,
        row_group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> parquet::errors::Result<()> {
        if self.values.is_empty() && !self.overflowed {
            // Only nulls: nothing to gain, and no dictionary to write.
            let nulls: ArrayRef = Arc::new(self.rows_so_far());
            write_leaves(self.arrow.as_mut().expect("kept until closed"), &self.field, &nulls)?;
            self.overflowed = true;
        }
        if self.overflowed {
            return self.arrow.take().expect("kept until closed").close()?.append_to_row_group(row_group);
        }
        let (chunk, close) = self.encode()?;
        row_group.append_column(&chunk, close)
    }

    /// The column chunk (dictionary page, then one data page) and its metadata.
    fn encode(&self) -> parquet::errors::Result<(Bytes, ColumnCloseResult)> {
        let bit_width = bits_for(self.values.len() as u64 - 1);
        let mut data = Vec::with_capacity(self.ids.len() * usize::from(bit_width) / 8 + 64);
        if self.descr.max_def_level() > 0 {
            let mut levels = Vec::new();
            match &self.levels {
                Some(all) => encode_hybrid(all.iter().map(|&l| u32::from(l)), 1, &mut levels),
                None => encode_hybrid(std::iter::repeat_n(1, self.rows), 1, &mut levels),
            }
            data.extend_from_slice(&(levels.len() as u32).to_le_bytes());
            data.extend_from_slice(&levels);
        } else if self.nulls > 0 {
            return Err(ParquetError::General(format!("column {} holds nulls", self.field.name())));
        }
        data.push(bit_width);
        encode_hybrid(self.ids.iter().map(|&id| u32::from(id)), bit_width, &mut data);

        let compress = |bytes: &[u8]| -> parquet::errors::Result<Bytes> {
            let compressed =
                snap::raw::Encoder::new().compress_vec(bytes).map_err(|e| ParquetError::External(Box::new(e)))?;
            Ok(compressed.into())
        };
        let dictionary = CompressedPage::new(
            Page::DictionaryPage {
                buf: compress(&self.page)?,
                num_values: self.values.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            },
            self.page.len(),
        );
        let rows = self.rows as u32;
        let values = CompressedPage::new(
            Page::DataPage {
                buf: compress(&data)?,
                num_values: rows,
                encoding: Encoding::RLE_DICTIONARY,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            },
            data.len(),
        );
        let mut sink = TrackedWrite::new(Vec::new());
        let (dictionary, values) = {
            let mut pages = SerializedPageWriter::new(&mut sink);
            let dictionary = pages.write_page(dictionary)?;
            let values = pages.write_page(values)?;
            pages.close()?;
            (dictionary, values)
        };
        let chunk = Bytes::from(sink.into_inner()?);

        // Statistics as the Arrow writer keeps them, without values it would truncate.
        let limit = self.statistics_limit;
        let (min, max) = match (&self.min, &self.max) {
            (Some(min), Some(max)) if min.len() <= limit && max.len() <= limit => {
                (Some(ByteArray::from(min.to_vec())), Some(ByteArray::from(max.to_vec())))
            }
            _ => (None, None),
        };
        let metadata = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(Compression::SNAPPY)
            .set_encodings(vec![Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY])
            .set_page_encoding_stats(vec![
                PageEncodingStats { page_type: PageType::DICTIONARY_PAGE, encoding: Encoding::PLAIN, count: 1 },
                PageEncodingStats { page_type: PageType::DATA_PAGE, encoding: Encoding::RLE_DICTIONARY, count: 1 },
            ])
            .set_total_compressed_size(chunk.len() as i64)
            .set_total_uncompressed_size((dictionary.uncompressed_size + values.uncompressed_size) as i64)
            .set_num_values(self.rows as i64)
            .set_dictionary_page_offset(Some(dictionary.offset as i64))
            .set_data_page_offset(values.offset as i64)
            .set_statistics(Statistics::new(min, max, None, Some(self.nulls), false))
            .build()?;
        let close = ColumnCloseResult {
            bytes_written: chunk.len() as u64,
            rows_written: self.rows as u64,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(OffsetIndexMetaData {
                page_locations: vec![PageLocation {
                    offset: values.offset as i64,
                    compressed_page_size: values.compressed_size as i32,
                    first_row_index: 0,
                }],
                unencoded_byte_array_data_bytes: None,
            }),
        };
        Ok((chunk, close))
    }
}

/// The bits an index up to `max` needs (at least one).
fn bits_for(max: u64) -> u8 {
    (64 - max.leading_zeros()).max(1) as u8
}

/// Appends `values` of `bit_width` bits in Parquet's RLE / bit-packing hybrid encoding: runs
/// of sixteen or more equal values as one repeated value, the rest bit-packed eight at a time.
fn encode_hybrid(values: impl Iterator<Item = u32>, bit_width: u8, out: &mut Vec<u8>) {
    /// The shortest run worth a repeated run.
    const RUN: usize = 16;
    let values: Vec<u32> = values.collect();
    let run_at = |i: usize| values[i..].iter().take_while(|&&v| v == values[i]).count();
    let value_bytes = usize::from(bit_width).div_ceil(8);
    let mut i = 0;
    while i < values.len() {
        let run = run_at(i);
        if run >= RUN {
            put_varint(out, (run as u64) << 1);
            out.extend_from_slice(&values[i].to_le_bytes()[..value_bytes]);
            i += run;
            continue;
        }
        // Groups of eight until a long run starts (the last group padded with zeros).
        let start = i;
        let mut groups = 0usize;
        loop {
            groups += 1;
            i = start + groups * 8;
            if i >= values.len() || run_at(i) >= RUN {
                break;
            }
        }
        put_varint(out, ((groups as u64) << 1) | 1);
        let (mut buffer, mut bits) = (0u64, 0u32);
        for k in start..start + groups * 8 {
            buffer |= u64::from(values.get(k).copied().unwrap_or(0)) << bits;
            bits += u32::from(bit_width);
            while bits >= 8 {
                out.push(buffer as u8);
                buffer >>= 8;
                bits -= 8;
            }
        }
        i = i.min(values.len());
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("x", DataType::Float64, true),
            Field::new("c", DataType::Utf8, true),
            Field::new("k", DataType::Utf8, false),
            Field::new("none", DataType::Utf8, true),
        ]))
    }

    /// Rows `start..start + n`: `c` in runs and alternations of a few values with nulls, `k`
    /// with one value per 1,000 rows, `none` only nulls.
    fn batch(start: usize, n: usize) -> RecordBatch {
        let rows = start..start + n;
        let c = rows.clone().map(|i| match i % 3000 {
            0..1000 => Some("run"),
            r if r % 7 == 0 => None,
            r => Some(["b", "a", "dd", "c"][r % 4]),
        });
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(rows.clone().map(|i| i as i64))),
            Arc::new(Float64Array::from_iter(rows.clone().map(|i| (i % 5 != 0).then_some(i as f64 / 2.0)))),
            Arc::new(StringArray::from_iter(c)),
            Arc::new(StringArray::from_iter_values(rows.clone().map(|i| format!("k{:03}", i / 1000)))),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
        ];
        RecordBatch::try_new(schema(), columns).expect("batch")
    }

    fn read(bytes: Vec<u8>) -> (Vec<RecordBatch>, SerializedFileReader<Bytes>) {
        let bytes = Bytes::from(bytes);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).expect("parquet").build().expect("reader");
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>().expect("read");
        let options = parquet::file::serialized_reader::ReadOptionsBuilder::new().with_page_index().build();
        (batches, SerializedFileReader::new_with_options(bytes, options).expect("file"))
    }

    /// The file of `batches` with every text column dictionary-encoded, the dictionaries of
    /// columns `given` made before.
    fn write_encoded(batches: &[RecordBatch], given: &[usize]) -> Vec<u8> {
        let schema = batches[0].schema();
        let mut writer =
            SplitFileWriter::try_new(Vec::new(), schema.clone(), Path::new("encoded.parquet")).expect("writer");
        let encoded = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        for b in batches {
            let columns: Vec<ArrayRef> = b
                .columns()
                .iter()
                .map(|c| {
                    if c.data_type() == &DataType::Utf8 {
                        arrow::compute::cast(c, &encoded).expect("cast")
                    } else {
                        c.clone()
                    }
                })
                .collect();
            let dictionaries: Vec<(usize, Dictionary)> =
                given.iter().map(|&c| (c, Dictionary::of_array(columns[c].as_ref()).expect("text"))).collect();
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .zip(&columns)
                .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
                .collect();
            let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
            writer.write(&batch, &dictionaries).expect("write");
        }
        writer.into_inner().expect("finish")
    }

    #[test]
    fn text_columns_read_back_as_written_across_row_groups() {
        let path = Path::new("split.parquet");
        let mut writer = SplitFileWriter::try_new(Vec::new(), schema(), path).expect("writer");
        // Batches of uneven sizes, one across the first row group's end; `c` comes with its
        // dictionary (as the channel templates make it), `k` and `none` without.
        let sizes = [1, 9999, 100_000, 30_000, 20_000];
        let mut start = 0;
        let mut written = Vec::new();
        for n in sizes {
            let b = batch(start, n);
            let given = vec![(2, Dictionary::of_array(b.column(2).as_ref()).expect("text"))];
            writer.write(&b, &given).expect("write");
            written.push(b);
            start += n;
        }
        let bytes = writer.into_inner().expect("finish");
        // The same rows with their text dictionary-encoded (as the partition's decoder builds
        // categorical features) make the same file.
        assert_eq!(write_encoded(&written, &[2]), bytes, "given dictionaries");
        assert_eq!(write_encoded(&written, &[]), bytes, "dictionaries made");
        let (read, file) = read(bytes);
        let schema = schema();
        let expected = arrow::compute::concat_batches(&schema, &written).expect("concat");
        let got = arrow::compute::concat_batches(&read[0].schema(), &read).expect("concat");
        assert_eq!(got, expected);

        let metadata = file.metadata();
        assert_eq!(metadata.num_row_groups(), 2);
        assert_eq!(metadata.row_group(0).num_rows(), PARQUET_ROW_GROUP_ROWS as i64);
        let c = metadata.row_group(0).column(2);
        assert!(c.dictionary_page_offset().is_some());
        assert!(c.encodings().any(|e| e == Encoding::RLE_DICTIONARY), "{:?}", c.encodings().collect::<Vec<_>>());
        // Its offset index names its one data page, where the chunk says it is.
        let page_index = metadata.page_index_for_row_group(0);
        let offsets = page_index.offset_index(2).expect("offset index");
        assert_eq!(offsets.page_locations().len(), 1);
        assert_eq!(offsets.page_locations()[0].offset, c.data_page_offset());
        let stats = c.statistics().expect("statistics");
        assert_eq!(stats.min_bytes_opt(), Some(&b"a"[..]));
        assert_eq!(stats.max_bytes_opt(), Some(&b"run"[..]));
        let nulls = expected.column(2).slice(0, PARQUET_ROW_GROUP_ROWS).null_count() as u64;
        assert_eq!(stats.null_count_opt(), Some(nulls));
        // The second row group holds rows 131,072..160,000: `k` from k131 to k159.
        let k = metadata.row_group(1).column(3).statistics().expect("statistics");
        assert_eq!((k.min_bytes_opt(), k.max_bytes_opt()), (Some(&b"k131"[..]), Some(&b"k159"[..])));
        assert_eq!(k.null_count_opt(), Some(0));
    }

    #[test]
    fn a_dictionary_past_the_limit_hands_the_column_to_the_arrow_writer() {
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8, true)]));
        // 30-byte values, all different: the dictionary passes 128 KiB in the second batch.
        let values = |from: usize| {
            let v: Vec<Option<String>> =
                (from..from + 3000).map(|i| (i % 11 != 0).then(|| format!("{i:030}"))).collect();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(v)) as ArrayRef]).expect("batch")
        };
        let mut writer = SplitFileWriter::try_new(Vec::new(), schema.clone(), Path::new("t.parquet")).expect("writer");
        let written: Vec<RecordBatch> = (0..4).map(|b| values(b * 3000)).collect();
        for b in &written {
            writer.write(b, &[]).expect("write");
        }
        let bytes = writer.into_inner().expect("finish");
        assert_eq!(write_encoded(&written, &[]), bytes, "dictionary-encoded text");
        let (read, file) = read(bytes);
        let expected = arrow::compute::concat_batches(&schema, &written).expect("concat");
        assert_eq!(arrow::compute::concat_batches(&schema, &read).expect("concat"), expected);
        let column = file.metadata().row_group(0).column(0);
        assert!(column.encodings().any(|e| e == Encoding::PLAIN), "{:?}", column.encodings().collect::<Vec<_>>());
        assert_eq!(
            column.statistics().and_then(Statistics::null_count_opt),
            Some(expected.column(0).null_count() as u64)
        );
    }

    #[test]
    fn a_batch_of_another_schema_is_refused_with_the_column() {
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8, true)]));
        let mut writer = SplitFileWriter::try_new(Vec::new(), schema, Path::new("t.parquet")).expect("writer");
        let ints = Arc::new(Schema::new(vec![Field::new("t", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(ints, vec![Arc::new(Int64Array::from(vec![1])) as ArrayRef]).expect("batch");
        let e = writer.write(&batch, &[]).expect_err("another type").to_string();
        assert!(e.contains("t.parquet") && e.contains("column t is Int64, not Utf8"), "{e}");
    }

    #[test]
    fn the_hybrid_encoding_mixes_runs_and_packed_groups() {
        // 20 equal values (a run), then 10 different ones (two packed groups, the second padded).
        let values: Vec<u32> = std::iter::repeat_n(5, 20).chain(0..10).collect();
        let mut out = Vec::new();
        encode_hybrid(values.iter().copied(), 4, &mut out);
        // Run: header 20 << 1, value 5 in one byte; packed: header (2 << 1) | 1, then 8 bytes.
        let packed = [0x10, 0x32, 0x54, 0x76, 0x98, 0x00, 0x00, 0x00];
        let expected: Vec<u8> = [40, 5, 5].into_iter().chain(packed).collect();
        assert_eq!(out, expected);
    }
}

//! A decoder of our own for plain CSV chunks: whole records, no quotes, every line end a record
//! end (the chunks [`crate::chunks::split`] cuts).
//!
//! It builds exactly the arrays Arrow's CSV decoder builds for the types schema inference
//! gives (`Boolean`, `Int64`, `Float64`, `Utf8`), and can route every record to one of several
//! outputs as it goes (the splits of a partition) instead of building one batch and copying its
//! rows out. Anything it does not reproduce exactly — another column type, a cell it does not
//! parse (`+1`, `1e5`, ` 7`, an integer of 19 digits), a record with another number of fields,
//! a quote, a bare `\r`, bytes that are not UTF-8 — makes it answer `None`, and the caller
//! decodes that chunk with Arrow, which says what is wrong and where.
//!
//! Records are read a block at a time: the ends of their fields are found first, eight bytes
//! at a time ([`wb_etl::plain::index_fields`]), then each column's cells are parsed in a loop
//! of that column's type, with no choice of type per cell.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, BooleanBufferBuilder, DictionaryArray, Int32Array, NullBufferBuilder, PrimitiveArray,
    RecordBatch, StringArray,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef};
use foldhash::fast::FixedState;
use wb_etl::plain::for_each_cell;

/// The column types this decoder builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Boolean,
    Int64,
    Float64,
    Utf8,
}

/// Records indexed and then read column by column at a time: their bytes and field ends
/// (about 100 KB on the readmission table) stay in a core's cache while every column is read.
const BLOCK_ROWS: usize = 512;

/// Decodes plain chunks of one CSV file (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct PlainDecoder {
    schema: SchemaRef,
    delimiter: u8,
    missing: Missing,
    kinds: Vec<Kind>,
}

/// The cells that are missing (compared with the whole cell).
#[derive(Clone, Debug)]
pub(crate) struct Missing {
    /// An empty cell is missing.
    pub(crate) empty: bool,
    /// The other missing tokens.
    pub(crate) tokens: Vec<Vec<u8>>,
}

impl Missing {
    pub(crate) fn new(tokens: &[String]) -> Self {
        Self {
            empty: tokens.iter().any(String::is_empty),
            tokens: tokens.iter().filter(|t| !t.is_empty()).map(|t| t.as_bytes().to_vec()).collect(),
        }
    }

    #[inline]
    fn is(&self, cell: &[u8]) -> bool {
        if cell.is_empty() { self.empty } else { self.tokens.iter().any(|t| same(t, cell)) }
    }
}

impl PlainDecoder {
    /// A decoder of records with `schema`, or `None` when some column has a type it does not
    /// build.
    pub(crate) fn new(schema: &SchemaRef, delimiter: u8, missing: &[String]) -> Option<Self> {
        let kinds = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Boolean => Some(Kind::Boolean),
                DataType::Int64 => Some(Kind::Int64),
                DataType::Float64 => Some(Kind::Float64),
                DataType::Utf8 => Some(Kind::Utf8),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { schema: schema.clone(), delimiter, missing: Missing::new(missing), kinds })
    }

    /// Decodes `records` (`rows` whole records) into one batch of the `projection` columns (all
    /// when `None`), as Arrow's decoder would; `None` when Arrow must decode them.
    pub(crate) fn decode(&self, records: &[u8], rows: usize, projection: Option<&[usize]>) -> Option<RecordBatch> {
        if let Some(&[column]) = projection {
            // One column (a target): only its cells are looked at.
            if !records.is_ascii() && std::str::from_utf8(records).is_err() {
                return None;
            }
            let mut builder = Output::new(*self.kinds.get(column)?, &[rows], records.len() / rows.max(1));
            let decoded = for_each_cell(records, self.delimiter, self.kinds.len(), column, |cell| {
                builder.push(cell, self.missing.is(cell))
            })?;
            if decoded != rows {
                return None;
            }
            let schema = Arc::new(self.schema.project(&[column]).ok()?);
            let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
            let array = builder.finish()?.into_iter().next()??;
            return RecordBatch::try_new_with_options(schema, vec![array], &options).ok();
        }
        let [batch] = self.decode_routed(records, rows, projection, &Route::One, &[])?;
        batch
    }

    /// Decodes `records` (`rows` whole records) into `N` batches (of the `projection` columns),
    /// record `i` into batch `route(i)`, each batch as Arrow's decoder followed by a `take` of
    /// its records would build it (`None` for a batch without records); `None` when Arrow must
    /// decode them.
    ///
    /// Text columns named in `categories` are built dictionary-encoded (`Int32` keys into
    /// their values, in order of first occurrence), without a copy of every cell.
    ///
    /// Records are read [`BLOCK_ROWS`] at a time: their fields are found once
    /// ([`wb_etl::plain::index_fields`]), then each column's cells are parsed in one loop of
    /// their type.
    pub(crate) fn decode_routed<const N: usize>(
        &self,
        records: &[u8],
        rows: usize,
        projection: Option<&[usize]>,
        route: &Route<'_>,
        categories: &[usize],
    ) -> Option<[Option<RecordBatch>; N]> {
        if (!records.is_ascii() && std::str::from_utf8(records).is_err()) || !wb_etl::plain::is_plain(records) {
            return None;
        }
        let columns = self.kinds.len();
        let projected: Vec<usize> = projection.map_or_else(|| (0..columns).collect(), <[usize]>::to_vec);
        let counts = route.counts::<N>(rows)?;
        let encoded = |c: usize| self.kinds[c] == Kind::Utf8 && categories.contains(&c);
        let mut outputs: Vec<Output> = projected
            .iter()
            .map(|&c| {
                let kind = *self.kinds.get(c)?;
                Some(if encoded(c) {
                    Output::Categories(counts.iter().map(|&n| Categories::new(n)).collect())
                } else {
                    Output::new(kind, &counts, records.len() / rows.max(1))
                })
            })
            .collect::<Option<_>>()?;
        let mut ends = Vec::with_capacity(BLOCK_ROWS * columns);
        let (mut from, mut row) = (0usize, 0usize);
        while from < records.len() {
            ends.clear();
            let (n, next) = wb_etl::plain::index_fields(records, from, self.delimiter, columns, BLOCK_ROWS, &mut ends)?;
            let labels = route.block(row, n)?;
            let fields = Fields { records, ends: &ends, columns, from, rows: n };
            for (output, &column) in outputs.iter_mut().zip(&projected) {
                output.read(&fields, column, labels, &self.missing)?;
            }
            row += n;
            from = next;
        }
        if row != rows {
            return None;
        }
        let mut schema = match projection {
            Some(p) => Arc::new(self.schema.project(p).ok()?),
            None => self.schema.clone(),
        };
        if projected.iter().any(|&c| encoded(c)) {
            let fields: Vec<Field> = schema
                .fields()
                .iter()
                .zip(&projected)
                .map(|(f, &c)| {
                    let field = f.as_ref().clone();
                    if encoded(c) { field.with_data_type(Categories::data_type()) } else { field }
                })
                .collect();
            schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        }
        // Per output, its columns' arrays.
        let mut arrays: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(outputs.len()); N];
        for output in outputs {
            for (out, array) in arrays.iter_mut().zip(output.finish()?) {
                out.push(array?);
            }
        }
        let mut batches: [Option<RecordBatch>; N] = std::array::from_fn(|_| None);
        for ((out, arrays), n) in batches.iter_mut().zip(arrays).zip(counts) {
            if n == 0 {
                continue;
            }
            let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(n));
            *out = Some(RecordBatch::try_new_with_options(schema.clone(), arrays, &options).ok()?);
        }
        Some(batches)
    }
}

/// Where each record goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Route<'a> {
    /// Every record into the first output.
    One,
    /// Record `i` into output `labels[i]`.
    Labels(&'a [u8]),
}

impl Route<'_> {
    /// Records per output; `None` when the labels do not fit.
    fn counts<const N: usize>(&self, rows: usize) -> Option<[usize; N]> {
        let mut counts = [0usize; N];
        match self {
            Self::One => *counts.first_mut()? = rows,
            Self::Labels(labels) => {
                if labels.len() != rows {
                    return None;
                }
                for &l in *labels {
                    *counts.get_mut(usize::from(l))? += 1;
                }
            }
        }
        Some(counts)
    }

    /// The outputs of the `n` records from `row`: `Some(None)` when they all go to the first;
    /// `None` past the labels.
    fn block(&self, row: usize, n: usize) -> Option<Option<&[u8]>> {
        match self {
            Self::One => Some(None),
            Self::Labels(labels) => labels.get(row..row + n).map(Some),
        }
    }
}

/// A block of records indexed by [`wb_etl::plain::index_fields`].
struct Fields<'a> {
    records: &'a [u8],
    ends: &'a [u32],
    columns: usize,
    from: usize,
    rows: usize,
}

impl Fields<'_> {
    #[inline]
    fn cell(&self, row: usize, column: usize) -> &[u8] {
        wb_etl::plain::field(self.records, self.ends, self.columns, self.from, row, column)
    }
}

/// Builds one column of each output, cell by cell.
trait Cells {
    /// Appends one cell (`missing`: it is one of the missing tokens); false when it is not one
    /// this decoder reads as Arrow does.
    fn push(&mut self, cell: &[u8], missing: bool) -> bool;
    fn finish(self) -> Option<ArrayRef>;
}

/// One column being built, for every output.
enum Output {
    Boolean(Vec<Booleans>),
    Int64(Vec<Numbers<Int64Type>>),
    Float64(Vec<Numbers<Float64Type>>),
    Utf8(Vec<Texts>),
    Categories(Vec<Categories>),
}

impl Output {
    /// Builders of `kind` for outputs of `rows` records each (`bytes`: the size of a record,
    /// of which a text column is guessed to hold an eighth).
    fn new(kind: Kind, rows: &[usize], bytes: usize) -> Self {
        let nulls = NullBufferBuilder::new;
        match kind {
            Kind::Boolean => Self::Boolean(
                rows.iter().map(|&n| Booleans { values: BooleanBufferBuilder::new(n), nulls: nulls(n) }).collect(),
            ),
            Kind::Int64 => Self::Int64(rows.iter().map(|&n| Numbers::new(n)).collect()),
            Kind::Float64 => Self::Float64(rows.iter().map(|&n| Numbers::new(n)).collect()),
            Kind::Utf8 => Self::Utf8(
                rows.iter()
                    .map(|&n| {
                        let mut offsets = Vec::with_capacity(n + 1);
                        offsets.push(0);
                        Texts { offsets, values: Vec::with_capacity(n * bytes / 8), nulls: nulls(n) }
                    })
                    .collect(),
            ),
        }
    }

    /// Appends a cell to the first output.
    fn push(&mut self, cell: &[u8], missing: bool) -> bool {
        fn first<C: Cells>(outputs: &mut [C], cell: &[u8], missing: bool) -> bool {
            outputs.first_mut().is_some_and(|c| c.push(cell, missing))
        }
        match self {
            Self::Boolean(o) => first(o, cell, missing),
            Self::Int64(o) => first(o, cell, missing),
            Self::Float64(o) => first(o, cell, missing),
            Self::Utf8(o) => first(o, cell, missing),
            Self::Categories(o) => first(o, cell, missing),
        }
    }

    /// Appends column `column` of every record of `fields`, record `i` to output `labels[i]`
    /// (the first when `None`).
    fn read(&mut self, fields: &Fields<'_>, column: usize, labels: Option<&[u8]>, missing: &Missing) -> Option<()> {
        #[inline(always)]
        fn cells<C: Cells>(
            outputs: &mut [C],
            fields: &Fields<'_>,
            column: usize,
            labels: Option<&[u8]>,
            missing: &Missing,
        ) -> Option<()> {
            match labels {
                None => {
                    let out = outputs.first_mut()?;
                    for r in 0..fields.rows {
                        let cell = fields.cell(r, column);
                        if !out.push(cell, missing.is(cell)) {
                            return None;
                        }
                    }
                }
                Some(labels) => {
                    for (r, &label) in labels.iter().enumerate().take(fields.rows) {
                        let cell = fields.cell(r, column);
                        if !outputs.get_mut(usize::from(label))?.push(cell, missing.is(cell)) {
                            return None;
                        }
                    }
                }
            }
            Some(())
        }
        match self {
            Self::Boolean(o) => cells(o, fields, column, labels, missing),
            Self::Int64(o) => cells(o, fields, column, labels, missing),
            Self::Float64(o) => cells(o, fields, column, labels, missing),
            Self::Utf8(o) => cells(o, fields, column, labels, missing),
            Self::Categories(o) => cells(o, fields, column, labels, missing),
        }
    }

    /// Each output's array (`None` for one that is not valid).
    fn finish(self) -> Option<Vec<Option<ArrayRef>>> {
        fn all<C: Cells>(outputs: Vec<C>) -> Vec<Option<ArrayRef>> {
            outputs.into_iter().map(Cells::finish).collect()
        }
        Some(match self {
            Self::Boolean(o) => all(o),
            Self::Int64(o) => all(o),
            Self::Float64(o) => all(o),
            Self::Utf8(o) => all(o),
            Self::Categories(o) => all(o),
        })
    }
}

struct Booleans {
    values: BooleanBufferBuilder,
    nulls: NullBufferBuilder,
}

impl Cells for Booleans {
    #[inline(always)]
    fn push(&mut self, cell: &[u8], missing: bool) -> bool {
        if missing {
            self.values.append(false);
            self.nulls.append_null();
        } else if cell.eq_ignore_ascii_case(b"true") {
            self.values.append(true);
            self.nulls.append_non_null();
        } else if cell.eq_ignore_ascii_case(b"false") {
            self.values.append(false);
            self.nulls.append_non_null();
        } else {
            return false;
        }
        true
    }

    fn finish(mut self) -> Option<ArrayRef> {
        Some(Arc::new(BooleanArray::new(self.values.finish(), self.nulls.finish())))
    }
}

/// The number types this decoder parses itself.
trait Number: ArrowPrimitiveType {
    fn parse(cell: &[u8]) -> Option<Self::Native>;
}

impl Number for Int64Type {
    #[inline]
    fn parse(cell: &[u8]) -> Option<i64> {
        parse_i64(cell)
    }
}

impl Number for Float64Type {
    #[inline]
    fn parse(cell: &[u8]) -> Option<f64> {
        parse_f64(cell)
    }
}

struct Numbers<T: Number> {
    values: Vec<T::Native>,
    nulls: NullBufferBuilder,
}

impl<T: Number> Numbers<T> {
    fn new(rows: usize) -> Self {
        Self { values: Vec::with_capacity(rows), nulls: NullBufferBuilder::new(rows) }
    }
}

impl<T: Number> Cells for Numbers<T> {
    #[inline(always)]
    fn push(&mut self, cell: &[u8], missing: bool) -> bool {
        if missing {
            self.values.push(T::Native::default());
            self.nulls.append_null();
        } else if let Some(v) = T::parse(cell) {
            self.values.push(v);
            self.nulls.append_non_null();
        } else {
            return false;
        }
        true
    }

    fn finish(mut self) -> Option<ArrayRef> {
        Some(Arc::new(PrimitiveArray::<T>::new(ScalarBuffer::from(self.values), self.nulls.finish())))
    }
}

struct Texts {
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl Cells for Texts {
    #[inline(always)]
    fn push(&mut self, cell: &[u8], missing: bool) -> bool {
        if missing {
            self.nulls.append_null();
        } else {
            self.values.extend_from_slice(cell);
            self.nulls.append_non_null();
        }
        let Ok(end) = i32::try_from(self.values.len()) else { return false };
        self.offsets.push(end);
        true
    }

    fn finish(mut self) -> Option<ArrayRef> {
        Some(Arc::new(
            StringArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(self.offsets)),
                self.values.into(),
                self.nulls.finish(),
            )
            .ok()?,
        ))
    }
}

/// A text column built dictionary-encoded: each cell's key into the distinct values. A value
/// of at most seven bytes (as most categories are) is compared as one number ([`packed`]):
/// among the few seen so far first, in a hash map of numbers once there are more. Longer
/// values are looked up in a hash map of their bytes.
struct Categories {
    keys: Vec<i32>,
    nulls: NullBufferBuilder,
    /// The distinct values, in order of first occurrence.
    offsets: Vec<i32>,
    values: Vec<u8>,
    /// Each value as a number ([`packed`]), [`Categories::LONG`] for a longer one.
    packed: Vec<u64>,
    /// Whether there are more than [`Categories::FEW`] values, and `short` holds the keys of
    /// the short ones.
    indexed: bool,
    short: HashMap<u64, i32, FixedState>,
    /// The keys of the longer values.
    long: HashMap<Box<[u8]>, i32, FixedState>,
}

/// A cell of at most seven bytes as one number: its bytes, and its length in the top byte.
#[inline]
fn packed(cell: &[u8]) -> Option<u64> {
    if cell.len() > 7 {
        return None;
    }
    let mut v = (cell.len() as u64) << 56;
    for (i, &b) in cell.iter().enumerate() {
        v |= u64::from(b) << (8 * i);
    }
    Some(v)
}

impl Categories {
    const FEW: usize = 16;
    /// Stands for a value too long to be packed (no packed value has a top byte above 7).
    const LONG: u64 = u64::MAX;

    fn new(rows: usize) -> Self {
        Self {
            keys: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
            offsets: vec![0],
            values: Vec::new(),
            packed: Vec::new(),
            indexed: false,
            short: HashMap::default(),
            long: HashMap::default(),
        }
    }

    /// The array built.
    fn encoded(mut self) -> Option<DictionaryArray<Int32Type>> {
        let values =
            StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(self.offsets)), self.values.into(), None).ok()?;
        let keys = Int32Array::new(ScalarBuffer::from(self.keys), self.nulls.finish());
        DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).ok()
    }

    /// The type of the arrays built.
    fn data_type() -> DataType {
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    }

    /// The key of `cell`, added as a new value if it is not one yet; `None` past `i32` keys.
    #[inline(always)]
    fn key(&mut self, cell: &[u8]) -> Option<i32> {
        let number = packed(cell);
        let found = match number {
            Some(n) if self.indexed => self.short.get(&n).copied(),
            Some(n) => self.packed.iter().position(|&known| known == n).map(|k| k as i32),
            None => self.long.get(cell).copied(),
        };
        if found.is_some() {
            return found;
        }
        let key = i32::try_from(self.packed.len()).ok()?;
        self.values.extend_from_slice(cell);
        self.offsets.push(i32::try_from(self.values.len()).ok()?);
        self.packed.push(number.unwrap_or(Self::LONG));
        match number {
            None => {
                self.long.insert(cell.into(), key);
            }
            Some(n) if self.indexed => {
                self.short.insert(n, key);
            }
            Some(_) => {}
        }
        if !self.indexed && self.packed.len() > Self::FEW {
            self.short
                .extend(self.packed.iter().enumerate().filter(|(_, n)| **n != Self::LONG).map(|(k, &n)| (n, k as i32)));
            self.indexed = true;
        }
        Some(key)
    }
}

impl Cells for Categories {
    #[inline(always)]
    fn push(&mut self, cell: &[u8], missing: bool) -> bool {
        if missing {
            self.keys.push(0);
            self.nulls.append_null();
            return true;
        }
        let Some(key) = self.key(cell) else { return false };
        self.keys.push(key);
        self.nulls.append_non_null();
        true
    }

    fn finish(self) -> Option<ArrayRef> {
        Some(Arc::new(self.encoded()?))
    }
}

/// `column` dictionary-encoded as the decoder encodes categorical features: `Int32` keys into
/// its values in order of first occurrence; `None` past `i32` keys.
pub(crate) fn dictionary_encode(column: &StringArray) -> Option<DictionaryArray<Int32Type>> {
    let mut encoded = Categories::new(arrow::array::Array::len(column));
    for value in column {
        if !encoded.push(value.map_or(&[][..], str::as_bytes), value.is_none()) {
            return None;
        }
    }
    encoded.encoded()
}

/// Whether two short byte strings are equal, compared in line (no call per cell).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// `-?[0-9]{1,18}` (what fits an `i64` whatever the digits); anything else is left to Arrow.
#[inline]
fn parse_i64(cell: &[u8]) -> Option<i64> {
    let (negative, digits) = match cell.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, cell),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v = 0i64;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if negative { -v } else { v })
}

/// Exact powers of ten as `f64` (every one up to 1e22 is exact).
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// `-?[0-9]+(\.[0-9]+)?` of at most 40 characters, correctly rounded (as Arrow's parser, and any
/// correct one, rounds it); anything else is left to Arrow.
#[inline]
fn parse_f64(cell: &[u8]) -> Option<f64> {
    if cell.len() > 40 {
        return None;
    }
    let (negative, text) = match cell.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, cell),
    };
    let (integer, fraction) = match memchr::memchr(b'.', text) {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    if integer.is_empty() || fraction.is_some_and(<[u8]>::is_empty) {
        return None;
    }
    let fraction = fraction.unwrap_or_default();
    let mut mantissa = 0u64;
    for &b in integer.iter().chain(fraction) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
    }
    let digits = integer.len() + fraction.len();
    let v = if digits <= 15 && fraction.len() < POWERS_OF_TEN.len() {
        // Clinger's fast path: both operands exact, so the one rounding is the correct one.
        mantissa as f64 / POWERS_OF_TEN[fraction.len()]
    } else {
        // Only ASCII digits and at most one dot were seen: the text is valid UTF-8.
        std::str::from_utf8(text).ok()?.parse::<f64>().ok()?
    };
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::csv::reader::ReaderBuilder;
    use arrow::datatypes::{Field, Schema};

    use super::*;

    /// Arrow's batch for `text` (no header) with `schema`, `missing` as its null pattern.
    fn arrow_batch(text: &[u8], schema: &SchemaRef, missing: &[&str], projection: Option<&[usize]>) -> RecordBatch {
        let format = wb_etl::tabular::CsvOptions::with_missing(missing.iter().copied())
            .arrow_format()
            .expect("a pattern")
            .with_header(false);
        let mut builder = ReaderBuilder::new(schema.clone()).with_format(format).with_batch_size(1 << 20);
        if let Some(p) = projection {
            builder = builder.with_projection(p.to_vec());
        }
        let mut reader = builder.build_buffered(text).expect("reader");
        reader.next().expect("a batch").expect("arrow decodes it")
    }

    fn schema(types: &[DataType]) -> SchemaRef {
        Arc::new(Schema::new(
            types.iter().enumerate().map(|(i, t)| Field::new(format!("c{i}"), t.clone(), true)).collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn numbers_parse_as_arrow_parses_them_or_not_at_all() {
        for (text, expected) in [("0", Some(0)), ("-0", Some(0)), ("007", Some(7)), ("-123", Some(-123))] {
            assert_eq!(parse_i64(text.as_bytes()), expected, "{text}");
        }
        assert_eq!(parse_i64(b"999999999999999999"), Some(999_999_999_999_999_999));
        for text in ["", "-", "+1", "1.0", " 1", "1 ", "9999999999999999999", "1e3", "x"] {
            assert_eq!(parse_i64(text.as_bytes()), None, "{text:?} is left to Arrow");
        }
        for text in [
            "0",
            "-0",
            "1.5",
            "-2.25",
            "0.1",
            "3.14159265358979",
            "123456789012345678901234567890.5",
            "1.0000000000000002220446",
            "0.30000000000000004441",
        ] {
            let ours = parse_f64(text.as_bytes()).expect(text);
            let theirs: f64 = lexical_like(text);
            assert_eq!(ours.to_bits(), theirs.to_bits(), "{text}");
        }
        for text in ["", "-", ".5", "5.", "1e5", "+1.5", "NaN", "inf", "1.2.3", " 1.5"] {
            assert_eq!(parse_f64(text.as_bytes()), None, "{text:?} is left to Arrow");
        }
    }

    /// Arrow's own parse of a float cell.
    fn lexical_like(text: &str) -> f64 {
        let schema = schema(&[DataType::Float64, DataType::Int64]);
        let batch = arrow_batch(format!("{text},1\n").as_bytes(), &schema, &[], None);
        batch.column(0).as_primitive::<Float64Type>().value(0)
    }

    #[test]
    fn batches_equal_arrows_on_tricky_records() {
        let types = [DataType::Int64, DataType::Float64, DataType::Boolean, DataType::Utf8, DataType::Utf8];
        let schema = schema(&types);
        let cases: [(&[u8], &[&str]); 5] = [
            (b"1,1.5,true,a,b\n?,?,?,?,?\n-3,-0.25,FALSE,,x\n4,2,True,c d,\n", &["?", ""]),
            (b"1,1.5,true,a,b\r\n-3,7,false,?x,NA\r\n", &["?", "NA"]),
            (b"1,1.5,true,a,b\n2,2.5,false,c,d", &["?"]),
            (b"1,1.5,true,\xc3\xa9t\xc3\xa9,b\n", &[]),
            (b"5,0.1,true,,\n", &[""]),
        ];
        for (text, missing) in cases {
            let owned: Vec<String> = missing.iter().map(|t| (*t).to_owned()).collect();
            let decoder = PlainDecoder::new(&schema, b',', &owned).expect("supported types");
            let rows = text.iter().filter(|&&b| b == b'\n').count() + usize::from(!text.ends_with(b"\n"));
            let ours = decoder.decode(text, rows, None).expect("plain");
            assert_eq!(ours, arrow_batch(text, &schema, missing, None), "{}", String::from_utf8_lossy(text));
            let projected = decoder.decode(text, rows, Some(&[1, 3])).expect("plain");
            assert_eq!(projected, arrow_batch(text, &schema, missing, Some(&[1, 3])));
            for column in 0..types.len() {
                let one = decoder.decode(text, rows, Some(&[column])).expect("plain");
                assert_eq!(one, arrow_batch(text, &schema, missing, Some(&[column])), "column {column}");
            }
        }
    }

    #[test]
    fn what_arrow_reads_differently_or_refuses_is_left_to_it() {
        let schema = schema(&[DataType::Int64, DataType::Utf8]);
        let decoder = PlainDecoder::new(&schema, b',', &["?".to_owned()]).expect("supported");
        for text in [&b"+1,a\n"[..], b",a\n", b"1,a,b\n", b"1\n", b"x,a\n", b"1,\"a\"\n", b"1,\xff\n", b"1,a\r2,b\n"] {
            assert!(decoder.decode(text, 1, None).is_none(), "{}", String::from_utf8_lossy(text));
        }
        assert!(decoder.decode(b"1,a\n", 2, None).is_none(), "another number of records");
        let dates = Arc::new(Schema::new(vec![Field::new("d", DataType::Date32, true)]));
        assert!(PlainDecoder::new(&dates, b',', &[]).is_none(), "dates are Arrow's");
    }

    #[test]
    fn routed_batches_equal_taking_the_rows() {
        let schema = schema(&[DataType::Int64, DataType::Utf8, DataType::Float64, DataType::Utf8]);
        // More records than a block holds, so that they are read in several; the last column
        // has more values than are looked for one by one, some of them long.
        const ROWS: usize = 2 * BLOCK_ROWS + 300;
        let text: Vec<u8> = (0..ROWS)
            .flat_map(|i| {
                let many = match i {
                    _ if i % 11 == 0 => "?".to_owned(),
                    // Values too long to be compared as one number, among short ones.
                    _ if i % 13 == 0 => format!("a longer value {}", i % 5),
                    _ => format!("v{}", (i * 7) % 40),
                };
                format!("{i},{},{}.5,{many}\n", ["a", "?", "bb"][i % 3], i % 7).into_bytes()
            })
            .collect();
        let labels: Vec<u8> = (0..ROWS).map(|i| [0, 0, 1, 2, 0][i % 5]).collect();
        let decoder = PlainDecoder::new(&schema, b',', &["?".to_owned()]).expect("supported");
        let whole = decoder.decode(&text, ROWS, None).expect("plain");
        assert_eq!(whole, arrow_batch(&text, &schema, &["?"], None));
        let parts: [Option<RecordBatch>; 3] =
            decoder.decode_routed(&text, ROWS, None, &Route::Labels(&labels), &[]).expect("plain");
        let encoded: [Option<RecordBatch>; 3] =
            decoder.decode_routed(&text, ROWS, None, &Route::Labels(&labels), &[0, 1, 3]).expect("plain");
        for (split, (part, encoded)) in parts.iter().zip(&encoded).enumerate() {
            let rows: Vec<u32> = (0..ROWS as u32).filter(|&i| usize::from(labels[i as usize]) == split).collect();
            let taken =
                arrow::compute::take_record_batch(&whole, &arrow::array::UInt32Array::from(rows)).expect("take");
            assert_eq!(part.as_ref(), Some(&taken), "split {split}");
            // Text columns asked for come dictionary-encoded, with the same text; others as they are.
            let encoded = encoded.as_ref().expect("rows");
            assert_eq!(encoded.column(0), taken.column(0), "an integer column is not encoded");
            for c in [1, 3] {
                let column = encoded.column(c);
                assert_eq!(column.data_type(), &Categories::data_type());
                let text = arrow::compute::cast(column, &DataType::Utf8).expect("cast");
                assert_eq!(&text, taken.column(c), "split {split} column {c}");
                // Values in order of first occurrence, each once.
                let values = column.as_any_dictionary().values().clone();
                let values: Vec<&str> = values.as_string::<i32>().iter().flatten().collect();
                let mut first: Vec<&str> = Vec::new();
                for v in taken.column(c).as_string::<i32>().iter().flatten() {
                    if !first.contains(&v) {
                        first.push(v);
                    }
                }
                assert_eq!(values, first, "split {split} column {c}");
            }
        }
        let none: [Option<RecordBatch>; 3] =
            decoder.decode_routed(&text, ROWS, None, &Route::Labels(&[0; ROWS]), &[]).expect("plain");
        assert!(none[1].is_none() && none[2].is_none());
        let bad = decoder.decode_routed::<3>(&text, ROWS, None, &Route::Labels(&[3; ROWS]), &[]);
        assert!(bad.is_none(), "a bad label");
        assert!(decoder.decode(&text, ROWS + 1, None).is_none(), "fewer records than said");
        assert!(decoder.decode(&text, ROWS - 1, None).is_none(), "more records than said");
    }
}

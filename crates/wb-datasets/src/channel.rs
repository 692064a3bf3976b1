//! The SageMaker CSV channels: the target first (class index, or the value for regression),
//! then the encoded features, no header.
//!
//! The encoding (train means, category codes) is known only once every train row has been
//! seen, but the source is decoded only once, in pass 2. So pass 2 writes each split's rows as
//! a *template* in a scratch file: every number that does not depend on the encoding already
//! formatted, and a hole for every value that does — a category, by its index in a dictionary
//! of the block's own, or a missing number, to be imputed. Pass 3 then fills the holes of each
//! template block ([`Filler::block`], each block on its own, on any thread), which is all the
//! channel costs once the encoding is known.
//!
//! A template is a sequence of blocks (one per batch of a split), each
//! `[u64 LE length][dictionaries][rows]`: for each categorical feature in order, a varint count
//! of values then each value (varint length, bytes); then the rows as text, where `0x01 f`
//! (`f` a varint feature index) stands for a missing number and `0x02 k` (`k` a varint; 0 when
//! missing, `i + 1` for the block's `i`-th value) for the next categorical feature's value.
//! Formatted numbers never hold those bytes.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use foldhash::fast::FixedState;

use crate::encoding::{CategoryCounts, Encoding, FeatureKind};
use crate::error::{Error, Result};

/// Marks a missing number in a template.
const MISSING_NUMBER: u8 = 0x01;
/// Marks a category in a template.
const CATEGORY: u8 = 0x02;

/// How one feature goes into the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A number, from this column of the batch.
    Numeric(usize),
    /// A category, from this (text) column of the batch.
    Categorical(usize),
}

/// Builds template blocks from batches of one split (on any thread).
#[derive(Clone, Debug)]
pub(crate) struct Templates {
    /// The features, in channel order.
    slots: Vec<Slot>,
    /// The target column, read as a number (regression); `None` for classification, whose
    /// class indices are given.
    regression_target: Option<usize>,
}

/// What making a template block also gives.
pub(crate) struct Block {
    /// With the train split's blocks: how often each category occurs, per categorical feature.
    pub(crate) counts: Option<Vec<CategoryCounts>>,
    /// The dictionary of each of the batch's text columns that is a categorical feature, by
    /// column index.
    pub(crate) dictionaries: Vec<(usize, Dictionary)>,
}

impl Templates {
    /// Templates of `slots` (features in channel order), with the target read from column
    /// `regression_target` (regression) or given as class indices (classification, `None`).
    pub(crate) fn new(slots: Vec<Slot>, regression_target: Option<usize>) -> Self {
        Self { slots, regression_target }
    }

    /// Appends the block of `batch` (rows of one split, in order) to `out`; `classes` holds
    /// each row's class index (classification). Answers the dictionaries of the batch's text
    /// columns it made, and with `count` how often each value of each categorical feature
    /// occurs (in slot order), for the train split's statistics.
    pub(crate) fn block(
        &self,
        batch: &RecordBatch,
        classes: Option<&[u32]>,
        out: &mut Vec<u8>,
        count: bool,
    ) -> Result<Block> {
        let rows = batch.num_rows();
        let bad = |e: arrow::error::ArrowError| Error::data("writing channels", e);
        let start = out.len();
        out.extend_from_slice(&0u64.to_le_bytes());
        // Integer columns are read as they are, other numbers as floats, categories as text
        // (a cast to a column's own type only shares its buffers).
        let arrays: Vec<ArrayRef> = self
            .slots
            .iter()
            .map(|slot| match *slot {
                Slot::Numeric(column) if batch.column(column).data_type() == &DataType::Int64 => {
                    Ok(batch.column(column).clone())
                }
                Slot::Numeric(column) => arrow::compute::cast(batch.column(column), &DataType::Float64),
                Slot::Categorical(column) if is_text(batch.column(column).data_type()) => {
                    Ok(batch.column(column).clone())
                }
                Slot::Categorical(column) => arrow::compute::cast(batch.column(column), &DataType::Utf8),
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(bad)?;
        let mut categories: Vec<(usize, Dictionary)> = Vec::new();
        for (a, (slot, array)) in self.slots.iter().zip(&arrays).enumerate() {
            if let Slot::Categorical(_) = slot {
                let dictionary = Dictionary::of_array(array.as_ref()).ok_or_else(|| {
                    Error::data("writing channels", format!("a category column of type {}", array.data_type()))
                })?;
                categories.push((a, dictionary));
            }
        }
        let mut ids = categories.iter().map(|(_, d)| d.ids.as_slice());
        let columns: Vec<Column<'_>> = self
            .slots
            .iter()
            .zip(&arrays)
            .map(|(slot, array)| match slot {
                Slot::Numeric(_) => match array.as_primitive_opt::<Int64Type>() {
                    Some(ints) => Column::Ints(ints),
                    None => Column::Floats(array.as_primitive::<Float64Type>()),
                },
                Slot::Categorical(_) => Column::Category(ids.next().unwrap_or_default()),
            })
            .collect();
        for (_, dictionary) in &categories {
            put_varint(out, dictionary.values.len() as u64);
            for value in dictionary.values() {
                put_varint(out, value.len() as u64);
                out.extend_from_slice(value.as_bytes());
            }
        }
        let target = match self.regression_target {
            Some(column) => Some(arrow::compute::cast(batch.column(column), &DataType::Float64).map_err(bad)?),
            None => None,
        };
        let target = target.as_ref().map(AsArray::as_primitive::<Float64Type>);
        let (mut ints, mut floats) = (itoa::Buffer::new(), ryu::Buffer::new());
        out.reserve(rows * (self.slots.len() * 3 + 2));
        for r in 0..rows {
            let t = match (target, classes) {
                (Some(values), _) if values.is_valid(r) => values.value(r),
                (None, Some(classes)) => classes.get(r).map_or(f64::NAN, |&c| f64::from(c)),
                _ => f64::NAN,
            };
            push_number(out, t, &mut ints, &mut floats);
            for (f, column) in columns.iter().enumerate() {
                out.push(b',');
                match *column {
                    Column::Ints(values) if values.is_valid(r) => {
                        push_int(out, values.value(r), &mut ints, &mut floats);
                    }
                    Column::Floats(values) if values.is_valid(r) => {
                        push_number(out, values.value(r), &mut ints, &mut floats);
                    }
                    Column::Ints(_) | Column::Floats(_) => {
                        out.push(MISSING_NUMBER);
                        put_varint(out, f as u64);
                    }
                    Column::Category(ids) => match ids.get(r) {
                        // Most ids take one varint byte: marker and id in one write.
                        Some(&id) if id < 0x80 => out.extend_from_slice(&[CATEGORY, id as u8]),
                        id => {
                            out.push(CATEGORY);
                            put_varint(out, u64::from(id.copied().unwrap_or_default()));
                        }
                    },
                }
            }
            out.push(b'\n');
        }
        let length = (out.len() - start - 8) as u64;
        out[start..start + 8].copy_from_slice(&length.to_le_bytes());
        let counts = count.then(|| categories.iter().map(|(_, d)| d.counts()).collect());
        // The dictionaries of the batch's own text columns (not of other columns cast to text).
        let dictionaries = categories
            .into_iter()
            .filter_map(|(a, d)| match self.slots[a] {
                Slot::Categorical(column) if is_text(batch.column(column).data_type()) => Some((column, d)),
                _ => None,
            })
            .collect();
        Ok(Block { counts, dictionaries })
    }
}

/// One feature of a block, as its rows are read.
enum Column<'a> {
    /// Integers, formatted as they are.
    Ints(&'a PrimitiveArray<Int64Type>),
    /// Other numbers, as floats.
    Floats(&'a PrimitiveArray<Float64Type>),
    /// A category: each row's id in the block's dictionary of the feature.
    Category(&'a [u32]),
}

/// The values of one text column of a block: each row's id (0 missing, `i + 1` the `i`-th
/// value) and the values, in order of first occurrence. The template of a block and its split
/// file's text columns are both written from it.
#[derive(Clone, Debug)]
pub(crate) struct Dictionary {
    pub(crate) ids: Vec<u32>,
    pub(crate) values: StringArray,
}

impl Dictionary {
    /// The dictionary of a text column: text, or text dictionary-encoded with 32-bit keys (as
    /// the partition's decoder builds categorical features); `None` for any other type.
    pub(crate) fn of_array(array: &dyn Array) -> Option<Self> {
        if let Some(text) = array.as_string_opt::<i32>() {
            return Self::of(text);
        }
        let encoded = array.as_dictionary_opt::<Int32Type>()?;
        let values = encoded.values().as_string_opt::<i32>()?;
        if values.null_count() > 0 {
            let text = arrow::compute::cast(array, &DataType::Utf8).ok()?;
            return Self::of(text.as_string::<i32>());
        }
        Self::of_keys(encoded.keys(), values)
    }

    /// The dictionary of a text column, made as the decoder makes categorical features'
    /// ([`crate::plain::dictionary_encode`]).
    fn of(column: &StringArray) -> Option<Self> {
        let encoded = crate::plain::dictionary_encode(column)?;
        Self::of_keys(encoded.keys(), encoded.values().as_string_opt::<i32>()?)
    }

    /// The dictionary of rows holding `keys` into `values` (which has no nulls): the values
    /// the rows use, renumbered in order of first use (as [`Dictionary::of`] numbers them).
    fn of_keys(keys: &Int32Array, values: &StringArray) -> Option<Self> {
        let mut id_of = vec![0u32; values.len()];
        let mut used: Vec<usize> = Vec::new();
        let nulls = keys.null_count() > 0;
        let mut ids = Vec::with_capacity(keys.len());
        for (row, &key) in keys.values().iter().enumerate() {
            if nulls && keys.is_null(row) {
                ids.push(0);
                continue;
            }
            let key = usize::try_from(key).ok()?;
            let id = id_of.get_mut(key)?;
            if *id == 0 {
                used.push(key);
                *id = used.len() as u32;
            }
            ids.push(*id);
        }
        let values = if used.iter().enumerate().all(|(i, &key)| i == key) && used.len() == values.len() {
            values.clone()
        } else {
            StringArray::from_iter_values(used.iter().map(|&key| values.value(key)))
        };
        Some(Self { ids, values })
    }

    /// The values, in order of first occurrence.
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        (0..self.values.len()).map(|i| self.values.value(i))
    }

    /// Occurrences of each value (missing ones left out).
    pub(crate) fn counts(&self) -> CategoryCounts {
        let mut n = vec![0u64; self.values.len() + 1];
        for &id in &self.ids {
            n[id as usize] += 1;
        }
        n.remove(0);
        CategoryCounts { values: self.values.clone(), counts: n }
    }
}

/// Whether `data_type` is text as [`Dictionary::of_array`] reads it without a cast.
pub(crate) fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 => true,
        DataType::Dictionary(key, value) => **key == DataType::Int32 && **value == DataType::Utf8,
        _ => false,
    }
}

/// The byte ranges of the blocks of `template` (each block's bytes after its length), in
/// order: each is filled on its own ([`Filler::block`]), on any thread.
pub(crate) fn blocks(template: &Path) -> Result<Vec<std::ops::Range<u64>>> {
    let corrupt = || Error::data(template.display().to_string(), "a channel template is damaged");
    let file = std::fs::File::open(template).map_err(|e| Error::io("opening", template, e))?;
    let size = file.metadata().map_err(|e| Error::io("reading", template, e))?.len();
    let mut blocks = Vec::new();
    let mut at = 0u64;
    while at < size {
        let mut length = [0u8; 8];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut length, at)
            .map_err(|e| Error::io("reading", template, e))?;
        let start = at + 8;
        at = start.checked_add(u64::from_le_bytes(length)).filter(|&next| next <= size).ok_or_else(corrupt)?;
        blocks.push(start..at);
    }
    Ok(blocks)
}

/// Fills the holes of template blocks with an encoding (see the module docs).
pub(crate) struct Filler<'a> {
    /// Per categorical feature: its categories' index, and the code text of each (`other`
    /// last).
    categorical: Vec<CategoryCodes<'a>>,
    /// Per feature: its imputed value's text (numeric features).
    imputed: Vec<Vec<u8>>,
}

/// A categorical feature's categories, each by its index, and the code text of each index
/// (`other` last).
type CategoryCodes<'a> = (HashMap<&'a [u8], usize, FixedState>, Vec<Code>);

/// What filling a block needs besides the filler, kept from one block to the next.
#[derive(Default)]
pub(crate) struct FillBuffers {
    /// The code text of each of the block's ids, for every categorical feature in turn (its
    /// `other` code first, for id 0).
    codes: Vec<Code>,
    /// Where each feature's codes start in `codes`.
    starts: Vec<usize>,
    /// The channel text of the block.
    pub(crate) line: Vec<u8>,
}

impl<'a> Filler<'a> {
    /// A filler of the holes with `encoding`.
    pub(crate) fn new(encoding: &'a Encoding) -> Option<Self> {
        let mut categorical = Vec::new();
        let mut imputed: Vec<Vec<u8>> = Vec::new();
        let (mut ints, mut floats) = (itoa::Buffer::new(), ryu::Buffer::new());
        for feature in &encoding.0 {
            let mut text = Vec::new();
            match &feature.kind {
                FeatureKind::Numeric { impute } => push_number(&mut text, *impute, &mut ints, &mut floats),
                FeatureKind::Categorical { categories } => {
                    let index: HashMap<&[u8], usize, FixedState> =
                        categories.iter().enumerate().map(|(i, c)| (c.as_bytes(), i)).collect();
                    let codes: Vec<Code> = (0..=categories.len()).map(Code::of).collect::<Option<_>>()?;
                    categorical.push((index, codes));
                }
            }
            imputed.push(text);
        }
        Some(Self { categorical, imputed })
    }

    /// Fills `block` (a template block's bytes after its length) into `buffers.line`, and
    /// answers how many of its bytes are the channel's text; `None` when the block is damaged.
    pub(crate) fn block(&self, block: &[u8], buffers: &mut FillBuffers) -> Option<usize> {
        let FillBuffers { codes, starts, line } = buffers;
        let mut at = 0usize;
        codes.clear();
        starts.clear();
        for (index, known) in &self.categorical {
            let count = get_varint(block, &mut at)?;
            let other = *known.last()?;
            starts.push(codes.len());
            codes.push(other);
            for _ in 0..count {
                let len = usize::try_from(get_varint(block, &mut at)?).ok()?;
                let value = block.get(at..at.checked_add(len)?)?;
                at += len;
                codes.push(index.get(value).map_or(other, |&i| known[i]));
            }
        }
        starts.push(codes.len());
        fill_rows(block.get(at..)?, codes, starts, &self.imputed, line)
    }
}

/// The text of a category code (at most [`MAX_CATEGORIES`](crate::encoding::MAX_CATEGORIES),
/// so three digits), kept in a fixed array so that it is copied with one move.
#[derive(Clone, Copy, Debug)]
struct Code {
    text: [u8; 4],
    len: u8,
}

impl Code {
    fn of(code: usize) -> Option<Self> {
        let mut ints = itoa::Buffer::new();
        let digits = ints.format(code).as_bytes();
        let mut text = [0u8; 4];
        text.get_mut(..digits.len())?.copy_from_slice(digits);
        Some(Self { text, len: digits.len() as u8 })
    }
}

/// Fills the holes of a block's `rows` into `line` (grown as needed, its contents
/// overwritten) and answers how many bytes of it are the channel's text; `None` when the rows
/// are damaged. `codes[starts[k]..starts[k + 1]]` are the codes of the `k`-th categorical
/// feature's ids.
///
/// Text is copied byte by byte while looking for the next hole (the runs between holes are a
/// few bytes, shorter than a call to find them), and codes with one fixed-size move. `line` is
/// sized once for the block: a category's hole (two bytes or more) becomes at most three bytes
/// of code and the one scratch byte its move writes, any other byte one byte, so twice the rows
/// leaves room for everything but imputed numbers, which make room as they come.
fn fill_rows(rows: &[u8], codes: &[Code], starts: &[usize], imputed: &[Vec<u8>], line: &mut Vec<u8>) -> Option<usize> {
    /// Room kept free past twice the rows still to fill.
    const SLACK: usize = 8;
    let room = |from: usize| 2 * (rows.len() - from) + SLACK;
    if line.len() < room(0) {
        line.resize(room(0), 0);
    }
    let categories = starts.len().saturating_sub(1);
    let (mut pos, mut i, mut next_category) = (0usize, 0usize, 0usize);
    while i < rows.len() {
        let b = rows[i];
        // Anything but the two hole markers is text.
        if b.wrapping_sub(MISSING_NUMBER) > CATEGORY - MISSING_NUMBER {
            line[pos] = b;
            pos += 1;
            i += 1;
            continue;
        }
        if b == CATEGORY {
            // Ids below 128 (one varint byte) are the common case.
            let (id, after) = match rows.get(i + 1) {
                Some(&id) if id < 0x80 => (usize::from(id), i + 2),
                _ => {
                    let mut after = i + 1;
                    (usize::try_from(get_varint(rows, &mut after)?).ok()?, after)
                }
            };
            let start = *starts.get(next_category)?;
            if id >= starts.get(next_category + 1)? - start {
                return None;
            }
            let code = codes[start + id];
            line[pos..pos + 4].copy_from_slice(&code.text);
            pos += usize::from(code.len);
            next_category += 1;
            if next_category == categories {
                next_category = 0;
            }
            i = after;
        } else {
            let mut after = i + 1;
            let text = imputed.get(usize::try_from(get_varint(rows, &mut after)?).ok()?)?;
            let needed = pos + text.len() + room(after);
            if line.len() < needed {
                line.resize(needed + line.len() / 2, 0);
            }
            line[pos..pos + text.len()].copy_from_slice(text);
            pos += text.len();
            i = after;
        }
    }
    Some(pos)
}

/// Appends `v` as an unsigned LEB128 varint (the templates' counts and ids, and Parquet's run
/// headers).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Appends an integer as [`push_number`] appends it as a float (digits below 10¹⁵, where
/// every integer is exact; the float's form beyond).
fn push_int(line: &mut Vec<u8>, v: i64, ints: &mut itoa::Buffer, floats: &mut ryu::Buffer) {
    if (0..10).contains(&v) {
        line.push(b'0' + v as u8);
    } else if v.unsigned_abs() < 1_000_000_000_000_000 {
        line.extend_from_slice(ints.format(v).as_bytes());
    } else {
        push_number(line, v as f64, ints, floats);
    }
}

/// Appends a number: integers without a fraction, other values in the shortest form that reads
/// back to the same `f64`.
pub(crate) fn push_number(line: &mut Vec<u8>, v: f64, ints: &mut itoa::Buffer, floats: &mut ryu::Buffer) {
    // `v as i64 as f64 == v` is `v.fract() == 0.0` for finite values below 2^63 (and false
    // for NaN and the infinities), without a call to `trunc`.
    let int = v as i64;
    if (0..10).contains(&int) && int as f64 == v {
        line.push(b'0' + int as u8);
    } else if int as f64 == v && v.abs() < 1e15 {
        line.extend_from_slice(ints.format(int).as_bytes());
    } else {
        line.extend_from_slice(floats.format(v).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};

    use super::*;
    use crate::encoding::FeatureEncoding;

    fn feature(name: &str, kind: FeatureKind) -> FeatureEncoding {
        FeatureEncoding { name: name.into(), source_type: String::new(), kind }
    }

    #[test]
    fn integers_are_written_as_their_floats_are() {
        let (mut ints, mut floats) = (itoa::Buffer::new(), ryu::Buffer::new());
        for v in [
            0,
            7,
            9,
            10,
            -1,
            -10,
            123_456,
            999_999_999_999_999,
            1_000_000_000_000_000,
            -1_000_000_000_000_001,
            i64::MAX,
            i64::MIN,
        ] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            push_int(&mut a, v, &mut ints, &mut floats);
            push_number(&mut b, v as f64, &mut ints, &mut floats);
            assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b), "{v}");
        }
    }

    #[test]
    fn a_dictionary_numbers_values_in_order_of_first_use_whatever_the_array() {
        use arrow::array::DictionaryArray;
        let rows = ["b", "a", "b", "c", "a"];
        let text = Dictionary::of_array(&StringArray::from(rows.to_vec())).expect("text");
        assert_eq!(text.ids, [1, 2, 1, 3, 2]);
        assert_eq!(text.values().collect::<Vec<_>>(), ["b", "a", "c"]);
        let encoded = |keys: Vec<Option<i32>>, values: Vec<&str>| {
            let array =
                DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), Arc::new(StringArray::from(values)))
                    .expect("dictionary");
            Dictionary::of_array(&array).expect("dictionary of text")
        };
        let same = |d: Dictionary| (d.values().map(str::to_owned).collect::<Vec<_>>(), d.ids);
        // Already in order of first use (the decoder's), in another order, with an unused value.
        for d in [
            encoded(vec![Some(0), Some(1), Some(0), Some(2), Some(1)], vec!["b", "a", "c"]),
            encoded(vec![Some(2), Some(0), Some(2), Some(1), Some(0)], vec!["a", "c", "b"]),
            encoded(vec![Some(0), Some(2), Some(0), Some(3), Some(2)], vec!["b", "unused", "a", "c"]),
        ] {
            assert_eq!(same(d), same(text.clone()));
        }
        // Missing rows are id 0, and do not count as a use of the key they hold.
        let missing = encoded(vec![None, Some(1), Some(0), None], vec!["a", "b"]);
        assert_eq!(same(missing), (vec!["b".to_owned(), "a".to_owned()], vec![0, 1, 2, 0]));
    }

    #[test]
    fn templates_filled_with_the_encoding_give_the_channel_text() {
        let batch = RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(vec![Some(0.5), None, Some(-3.0)])) as _),
            ("c", Arc::new(StringArray::from(vec![Some("a"), None, Some("unseen")])) as _),
            ("n", Arc::new(Int64Array::from(vec![None, Some(12_345), Some(7)])) as _),
            ("d", Arc::new(StringArray::from(vec![Some("b"), Some("b"), Some("a")])) as _),
        ])
        .expect("batch");
        let templates =
            Templates::new(vec![Slot::Numeric(0), Slot::Categorical(1), Slot::Numeric(2), Slot::Categorical(3)], None);
        let dir = tempfile::tempdir().expect("dir");
        let template = dir.path().join("t");
        let mut bytes = Vec::new();
        // Two blocks, the second with its own dictionary.
        let block = templates.block(&batch, Some(&[1, 0, 1]), &mut bytes, true).expect("block");
        templates.block(&batch.slice(1, 2), Some(&[0, 1]), &mut bytes, false).expect("block");
        std::fs::write(&template, &bytes).expect("write");
        let counts = block.counts.expect("counted");
        let columns: Vec<usize> = block.dictionaries.iter().map(|(c, _)| *c).collect();
        assert_eq!(columns, [1, 3]);
        assert_eq!(block.dictionaries[0].1.ids, [1, 0, 2]);
        assert_eq!(block.dictionaries[1].1.values().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(counts[0].get("a"), Some(1));
        assert_eq!(counts[1].get("b"), Some(2));

        let many: Vec<String> = (0..120).map(|i| format!("v{i}")).chain(["b".into(), "a".into()]).collect();
        let encoding = Encoding(vec![
            feature("x", FeatureKind::Numeric { impute: 0.125 }),
            feature("c", FeatureKind::Categorical { categories: vec!["b".into(), "a".into()] }),
            feature("n", FeatureKind::Numeric { impute: 1e20 }),
            // Codes of three digits.
            feature("d", FeatureKind::Categorical { categories: many }),
        ]);
        let expected = "1,0.5,1,1e20,120\n0,0.125,2,12345,120\n1,-3,2,7,121\n0,0.125,2,12345,120\n1,-3,2,7,121\n";
        // Block by block, in order.
        let blocks = super::blocks(&template).expect("blocks");
        let first_block = 8 + u64::from_le_bytes(bytes[..8].try_into().expect("length"));
        assert_eq!(blocks, [8..first_block, first_block + 8..bytes.len() as u64]);
        let filler = Filler::new(&encoding).expect("filler");
        let mut buffers = FillBuffers::default();
        let mut out = Vec::new();
        for block in &blocks {
            let block = &bytes[block.start as usize..block.end as usize];
            let n = filler.block(block, &mut buffers).expect("filled");
            out.extend_from_slice(&buffers.line[..n]);
        }
        assert_eq!(String::from_utf8(out).expect("text"), expected);

        // A damaged template is refused, not read past its end: a block cut in its
        // dictionaries, a length past the end of the file.
        assert!(filler.block(&bytes[8..11], &mut buffers).is_none(), "a dictionary cut short");
        std::fs::write(&template, &bytes[..bytes.len() / 2]).expect("write");
        assert!(super::blocks(&template).is_err(), "a length past the end");
    }
}

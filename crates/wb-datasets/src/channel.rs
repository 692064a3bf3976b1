//! The SageMaker CSV channels: the target first (class index, or the value for regression),
//! then the encoded features, no header.
//!
//! The encoding (train means, category codes) is known only once every train row has been
//! seen, but the source is decoded only once, in pass 2. So pass 2 writes each split's rows as
//! a *template* in a scratch file: every number that does not depend on the encoding already
//! formatted, and a hole for every value that does — a category, by its index in a dictionary
//! of the block's own, or a missing number, to be imputed. Pass 3 then fills the holes of each
//! template in one streaming copy ([`fill`]), which is all the channel costs once the encoding
//! is known.
//!
//! A template is a sequence of blocks (one per batch of a split), each
//! `[u64 LE length][dictionaries][rows]`: for each categorical feature in order, a varint count
//! of values then each value (varint length, bytes); then the rows as text, where `0x01 f`
//! (`f` a varint feature index) stands for a missing number and `0x02 k` (`k` a varint; 0 when
//! missing, `i + 1` for the block's `i`-th value) for the next categorical feature's value.
//! Formatted numbers never hold those bytes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
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

/// What a template block of the train split also gives: how often each category occurs.
pub(crate) type BlockCounts = Vec<CategoryCounts>;

impl Templates {
    /// Templates of `slots` (features in channel order), with the target read from column
    /// `regression_target` (regression) or given as class indices (classification, `None`).
    pub(crate) fn new(slots: Vec<Slot>, regression_target: Option<usize>) -> Self {
        Self { slots, regression_target }
    }

    /// Appends the block of `batch` (rows of one split, in order) to `out`; `classes` holds
    /// each row's class index (classification). With `count`, also answers how often each value
    /// of each categorical feature occurs (in slot order), for the train split's statistics.
    pub(crate) fn block(
        &self,
        batch: &RecordBatch,
        classes: Option<&[u32]>,
        out: &mut Vec<u8>,
        count: bool,
    ) -> Result<Option<BlockCounts>> {
        let rows = batch.num_rows();
        let bad = |e: arrow::error::ArrowError| Error::data("writing channels", e);
        let start = out.len();
        out.extend_from_slice(&0u64.to_le_bytes());
        // The categorical features: each row's id (0 missing) and each id's value.
        let mut texts = Vec::new();
        let mut numbers = Vec::new();
        for slot in &self.slots {
            match *slot {
                Slot::Numeric(column) => {
                    numbers.push(arrow::compute::cast(batch.column(column), &DataType::Float64).map_err(bad)?);
                }
                Slot::Categorical(column) => {
                    texts.push(arrow::compute::cast(batch.column(column), &DataType::Utf8).map_err(bad)?);
                }
            }
        }
        let categories: Vec<Dictionary<'_>> = texts.iter().map(|t| Dictionary::of(t.as_string::<i32>())).collect();
        for dictionary in &categories {
            put_varint(out, dictionary.values.len() as u64);
            for value in &dictionary.values {
                put_varint(out, value.len() as u64);
                out.extend_from_slice(value.as_bytes());
            }
        }
        let numbers: Vec<_> = numbers.iter().map(AsArray::as_primitive::<Float64Type>).collect();
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
            let (mut n, mut c) = (0, 0);
            for (f, slot) in self.slots.iter().enumerate() {
                out.push(b',');
                match slot {
                    Slot::Numeric(_) => {
                        let values = numbers[n];
                        n += 1;
                        if values.is_valid(r) {
                            push_number(out, values.value(r), &mut ints, &mut floats);
                        } else {
                            out.push(MISSING_NUMBER);
                            put_varint(out, f as u64);
                        }
                    }
                    Slot::Categorical(_) => {
                        out.push(CATEGORY);
                        put_varint(out, u64::from(categories[c].ids[r]));
                        c += 1;
                    }
                }
            }
            out.push(b'\n');
        }
        let length = (out.len() - start - 8) as u64;
        out[start..start + 8].copy_from_slice(&length.to_le_bytes());
        Ok(count.then(|| categories.iter().map(Dictionary::counts).collect()))
    }
}

/// The values of one text column of a block: each row's id (0 missing, `i + 1` the `i`-th
/// value) and the values in order of first occurrence.
struct Dictionary<'a> {
    ids: Vec<u32>,
    values: Vec<&'a str>,
}

impl<'a> Dictionary<'a> {
    /// Values are first looked for among the few seen so far (most text features have a
    /// handful of values), and in a hash map once there are more.
    fn of(column: &'a arrow::array::StringArray) -> Self {
        const FEW: usize = 16;
        let mut index: HashMap<&str, u32, FixedState> = HashMap::default();
        let mut values: Vec<&'a str> = Vec::new();
        let ids = column
            .iter()
            .map(|v| {
                let Some(v) = v else { return 0 };
                if values.len() <= FEW {
                    if let Some(i) = values.iter().position(|known| crate::plain::same(known.as_bytes(), v.as_bytes()))
                    {
                        return i as u32 + 1;
                    }
                    values.push(v);
                    if values.len() > FEW {
                        index.extend(values.iter().enumerate().map(|(i, &known)| (known, i as u32 + 1)));
                    }
                    return values.len() as u32;
                }
                *index.entry(v).or_insert_with(|| {
                    values.push(v);
                    values.len() as u32
                })
            })
            .collect();
        Self { ids, values }
    }

    /// Occurrences of each value (missing ones left out).
    fn counts(&self) -> CategoryCounts {
        let mut n = vec![0u64; self.values.len() + 1];
        for &id in &self.ids {
            n[id as usize] += 1;
        }
        self.values.iter().zip(&n[1..]).map(|(v, &n)| ((*v).to_owned(), n)).collect()
    }
}

/// Writes a channel from its template: every hole filled with `encoding` (see the module
/// docs). `slots` are the features as the template was built.
pub(crate) fn fill(template: &Path, out: &mut impl Write, dest: &Path, encoding: &Encoding) -> Result<()> {
    let corrupt = || Error::data(template.display().to_string(), "a channel template is damaged");
    let write_error = |e| Error::io("writing", dest, e);
    // Per feature: its categories' index (categorical) or its imputed value's text (numeric).
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
                let codes: Vec<Vec<u8>> = (0..=categories.len())
                    .map(|i| {
                        let mut t = Vec::new();
                        push_number(&mut t, i as f64, &mut ints, &mut floats);
                        t
                    })
                    .collect();
                categorical.push((index, codes));
            }
        }
        imputed.push(text);
    }
    let mut file =
        std::io::BufReader::new(std::fs::File::open(template).map_err(|e| Error::io("opening", template, e))?);
    let mut block = Vec::new();
    let mut line = Vec::with_capacity(1 << 20);
    // Per categorical feature, the code text of each of the block's ids.
    let mut tables: Vec<Vec<&[u8]>> = vec![Vec::new(); categorical.len()];
    loop {
        let mut length = [0u8; 8];
        match file.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(Error::io("reading", template, e)),
        }
        let length = usize::try_from(u64::from_le_bytes(length)).map_err(|_| corrupt())?;
        block.resize(length, 0);
        file.read_exact(&mut block).map_err(|e| Error::io("reading", template, e))?;
        let mut at = 0usize;
        for (table, (index, codes)) in tables.iter_mut().zip(&categorical) {
            let count = get_varint(&block, &mut at).ok_or_else(corrupt)?;
            let other = codes.last().ok_or_else(corrupt)?.as_slice();
            table.clear();
            table.push(other);
            for _ in 0..count {
                let len = usize::try_from(get_varint(&block, &mut at).ok_or_else(corrupt)?).map_err(|_| corrupt())?;
                let value = block.get(at..at + len).ok_or_else(corrupt)?;
                at += len;
                table.push(index.get(value).map_or(other, |&i| codes[i].as_slice()));
            }
        }
        let rows = &block[at..];
        let mut next_category = 0usize;
        let mut from = 0usize;
        line.clear();
        while let Some(found) = memchr::memchr2(MISSING_NUMBER, CATEGORY, &rows[from..]) {
            let hole = from + found;
            line.extend_from_slice(&rows[from..hole]);
            let mut after = hole + 1;
            let n = usize::try_from(get_varint(rows, &mut after).ok_or_else(corrupt)?).map_err(|_| corrupt())?;
            if rows[hole] == CATEGORY {
                let table = tables.get(next_category).ok_or_else(corrupt)?;
                line.extend_from_slice(table.get(n).ok_or_else(corrupt)?);
                next_category += 1;
                if next_category == tables.len() {
                    next_category = 0;
                }
            } else {
                line.extend_from_slice(imputed.get(n).ok_or_else(corrupt)?);
            }
            from = after;
            if line.len() >= 1 << 20 {
                out.write_all(&line).map_err(write_error)?;
                line.clear();
            }
        }
        line.extend_from_slice(&rows[from..]);
        out.write_all(&line).map_err(write_error)?;
    }
    Ok(())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
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

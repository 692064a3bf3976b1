//! Splitting *plain* CSV records into fields: whole records, no quotes, every line end a
//! record end (the chunks a line-end scan cuts from a file without quotes). Schema inference
//! and the partitioner's decoder read such chunks with these instead of a general CSV reader;
//! anything that is not plain makes them answer `None`, and the caller reads it with one.
//!
//! Records are split eight bytes at a time: the delimiters and line ends of a word are found
//! with a few integer operations (no branch per byte), then visited in order.
//!
//! ```
//! let mut cells = Vec::new();
//! let rows = wb_etl::plain::for_each_field(b"a,1\nb,2\n", b',', 2, |column, cell| {
//!     cells.push((column, cell.to_vec()));
//!     true
//! });
//! assert_eq!(rows, Some(2));
//! assert_eq!(cells[3], (1, b"2".to_vec()));
//! assert_eq!(wb_etl::plain::for_each_field(b"a,\"1\"\n", b',', 2, |_, _| true), None, "a quote");
//! ```

/// Calls `field(column, bytes)` for every field of `records` (whole records, fields split by
/// `delimiter`, `\n` or `\r\n` line ends, the last line end optional), in order, and answers the
/// number of records; `None` as soon as a record does not have `columns` fields, a line is
/// empty, a quote or a `\r` that does not end a line is met, or `field` answers false.
pub fn for_each_field(
    records: &[u8],
    delimiter: u8,
    columns: usize,
    field: impl FnMut(usize, &[u8]) -> bool,
) -> Option<usize> {
    split(records, delimiter, columns, None, field)
}

/// Calls `cell(bytes)` with field `wanted` of every record of `records`, checking the records
/// as [`for_each_field`] does, and answers the number of records. Words that hold neither a line
/// end nor a boundary of that field are only counted (a population count of their delimiters),
/// so reading one column costs little more than finding the line ends.
pub fn for_each_cell(
    records: &[u8],
    delimiter: u8,
    columns: usize,
    wanted: usize,
    mut cell: impl FnMut(&[u8]) -> bool,
) -> Option<usize> {
    if wanted >= columns.max(1) {
        return None;
    }
    split(records, delimiter, columns, Some(wanted), |_, bytes| cell(bytes))
}

/// Indexes up to `max_rows` records of `records` from byte `from` (a record start) for reading
/// column by column: appends to `ends` the position of the byte that ends each field (its
/// delimiter or line end, or `records.len()` for a last record without one), `columns` per
/// record, and answers the records indexed and the byte where the next one starts. Records are
/// checked as [`for_each_field`] checks them, except for quotes and bare `\r`s, which the
/// caller checks once for all of `records` ([`is_plain`]); `None` when a record is not plain or
/// `records` is too long for `u32` positions.
///
/// A field ends at its end's position, except the last of a `\r\n` record, which ends one
/// byte before (see [`field`]).
///
/// ```
/// let text = b"a,1\r\nbb,22\n";
/// let mut ends = Vec::new();
/// assert!(wb_etl::plain::is_plain(text));
/// assert_eq!(wb_etl::plain::index_fields(text, 0, b',', 2, 10, &mut ends), Some((2, text.len())));
/// assert_eq!(wb_etl::plain::field(text, &ends, 2, 0, 0, 1), b"1");
/// assert_eq!(wb_etl::plain::field(text, &ends, 2, 0, 1, 0), b"bb");
/// ```
pub fn index_fields(
    records: &[u8],
    from: usize,
    delimiter: u8,
    columns: usize,
    max_rows: usize,
    ends: &mut Vec<u32>,
) -> Option<(usize, usize)> {
    u32::try_from(records.len()).ok()?;
    let columns = columns.max(1);
    let text = records.get(from..)?;
    // A delimiter's end is only recorded; the record's fields are counted at its line end
    // (the ends recorded since the call began must then be `columns` per record).
    let first = ends.len();
    let (mut rows, mut start) = (0usize, from);
    let mut line_end = |at: usize, ends: &mut Vec<u32>| -> Option<bool> {
        ends.push(at as u32);
        let empty = at == start || (at == start + 1 && records[start] == b'\r');
        if ends.len() - first != (rows + 1) * columns || (columns == 1 && empty) {
            return None;
        }
        rows += 1;
        start = at + 1;
        Some(rows == max_rows)
    };
    let delimiters = u64::from_ne_bytes([delimiter; 8]);
    let newlines = u64::from_ne_bytes([b'\n'; 8]);
    // Sixty-four bytes at a time: each word's separators as eight bits of one mask, so that
    // the loop over a block's separators ends once per block, not once per word.
    let mut blocks = text.chunks_exact(64);
    let mut base = from;
    for block in &mut blocks {
        let (mut found, mut lines) = (0u64, 0u64);
        for (i, word) in block.chunks_exact(8).enumerate() {
            let w = u64::from_le_bytes(word.try_into().ok()?);
            let line = zero_bytes(w ^ newlines);
            lines |= byte_bits(line) << (8 * i);
            found |= byte_bits(zero_bytes(w ^ delimiters) | line) << (8 * i);
        }
        while found != 0 {
            let bit = found & found.wrapping_neg();
            let at = base + found.trailing_zeros() as usize;
            if lines & bit == 0 {
                ends.push(at as u32);
            } else if line_end(at, ends)? {
                return Some((rows, at + 1));
            }
            found &= found - 1;
        }
        base += 64;
    }
    for (i, &b) in blocks.remainder().iter().enumerate() {
        if b == delimiter {
            ends.push((base + i) as u32);
        } else if b == b'\n' && line_end(base + i, ends)? {
            return Some((rows, base + i + 1));
        }
    }
    let partial = ends.len() - first - rows * columns;
    if start < records.len() || partial > 0 {
        // A last record without a line end.
        if partial + 1 != columns {
            return None;
        }
        ends.push(records.len() as u32);
        rows += 1;
    }
    Some((rows, records.len()))
}

/// Field `column` of record `row` of the records indexed by [`index_fields`] into `ends`
/// (`columns` per record) from byte `from`.
#[inline]
#[must_use]
pub fn field<'a>(records: &'a [u8], ends: &[u32], columns: usize, from: usize, row: usize, column: usize) -> &'a [u8] {
    let at = row * columns + column;
    let start = if at == 0 { from } else { ends[at - 1] as usize + 1 };
    let mut end = ends[at] as usize;
    if column + 1 == columns && end > start && records[end - 1] == b'\r' {
        end -= 1;
    }
    &records[start..end]
}

/// Both splitters: `field` is called for every field, or only for column `wanted`, whose
/// skipping of the words that hold none of its boundaries keeps `start` exact only where it
/// is read (the wanted field, and a line's first field for the empty-line check).
#[inline(always)]
fn split(
    records: &[u8],
    delimiter: u8,
    columns: usize,
    wanted: Option<usize>,
    mut field: impl FnMut(usize, &[u8]) -> bool,
) -> Option<usize> {
    if !is_plain(records) {
        return None;
    }
    let columns = columns.max(1);
    let visits = |column: usize| wanted.is_none_or(|w| w == column);
    let (mut column, mut start, mut rows) = (0usize, 0usize, 0usize);
    let mut separator = |column: &mut usize, start: &mut usize, rows: &mut usize, at: usize| -> bool {
        if records[at] == delimiter {
            if *column + 1 >= columns || (visits(*column) && !field(*column, &records[*start..at])) {
                return false;
            }
            *column += 1;
        } else {
            let end = if at > *start && records[at - 1] == b'\r' { at - 1 } else { at };
            if *column + 1 != columns
                || (*column == 0 && end == *start)
                || (visits(*column) && !field(*column, &records[*start..end]))
            {
                return false;
            }
            *column = 0;
            *rows += 1;
        }
        *start = at + 1;
        true
    };
    // Eight bytes at a time: a word's separators are the bytes where it equals the delimiter
    // or `\n` (see `zero_bytes`), visited lowest first.
    let delimiters = u64::from_ne_bytes([delimiter; 8]);
    let newlines = u64::from_ne_bytes([b'\n'; 8]);
    let mut words = records.chunks_exact(8);
    let mut base = 0usize;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().ok()?);
        let ends = zero_bytes(w ^ newlines);
        let mut found = zero_bytes(w ^ delimiters);
        if let Some(wanted) = wanted
            && ends == 0
        {
            let n = found.count_ones() as usize;
            if column + n < wanted || column > wanted {
                column += n;
                if column >= columns {
                    return None;
                }
                base += 8;
                continue;
            }
        }
        found |= ends;
        while found != 0 {
            if !separator(&mut column, &mut start, &mut rows, base + (found.trailing_zeros() / 8) as usize) {
                return None;
            }
            found &= found - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if (b == delimiter || b == b'\n') && !separator(&mut column, &mut start, &mut rows, base + i) {
            return None;
        }
    }
    if start < records.len() || column > 0 {
        // A last record without a line end.
        let last = &records[start.min(records.len())..];
        if column + 1 != columns || (visits(column) && !field(column, last)) {
            return None;
        }
        rows += 1;
    }
    Some(rows)
}

/// Whether `records` hold no quote (quotes are never plain) and every `\r` is the first half of
/// a `\r\n`: the check [`index_fields`] leaves to its caller.
#[must_use]
pub fn is_plain(records: &[u8]) -> bool {
    memchr::memchr2_iter(b'"', b'\r', records).all(|at| records[at] == b'\r' && records.get(at + 1) == Some(&b'\n'))
}

/// The high bits of the bytes of `high` (only high bits set) as the eight low bits of the
/// answer, byte `i`'s as bit `i` (one multiplication gathers them: its partial products never
/// meet, so nothing carries).
#[inline]
fn byte_bits(high: u64) -> u64 {
    (high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The high bit of every zero byte of `x` (and no other bit): exact, with no carries between
/// bytes.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_split_at_delimiters_and_line_ends() {
        let mut seen = Vec::new();
        let rows = for_each_field(b"a,b\r\n,c\nd,\n", b',', 2, |c, f| {
            seen.push((c, String::from_utf8_lossy(f).into_owned()));
            true
        });
        assert_eq!(rows, Some(3));
        let expected = [(0, "a"), (1, "b"), (0, ""), (1, "c"), (0, "d"), (1, "")];
        assert_eq!(seen, expected.iter().map(|(c, f)| (*c, (*f).to_owned())).collect::<Vec<_>>());
        assert_eq!(for_each_field(b"a,b\nc,d", b',', 2, |_, _| true), Some(2), "no last line end");
        assert_eq!(for_each_field(b"a,b\nc,", b',', 2, |_, _| true), Some(2), "an empty last field, no line end");
        assert_eq!(for_each_field(b"a;b\n", b';', 2, |_, _| true), Some(1));
        assert_eq!(for_each_field(b"", b',', 2, |_, _| true), Some(0));
        for bad in [&b"a,b\nc\n"[..], b"a,b,c\n", b"a,\"b\"\n", b"a,b\rc,d\n", b"a,b\n\nc,d\n", b"a\n\n", b"a,b\r"] {
            let columns = if bad.starts_with(b"a\n") { 1 } else { 2 };
            assert_eq!(for_each_field(bad, b',', columns, |_, _| true), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(for_each_field(b"a,b\n", b',', 2, |c, _| c == 0), None, "the callback refuses");
        // Long records cross the 64-byte blocks.
        let long: Vec<u8> = (0..200).flat_map(|i| format!("{i},{}\r\n", "x".repeat(i % 70)).into_bytes()).collect();
        let mut count = 0;
        assert_eq!(
            for_each_field(&long, b',', 2, |c, f| {
                count += 1;
                c == 0 || f.iter().all(|&b| b == b'x')
            }),
            Some(200)
        );
        assert_eq!(count, 400);
    }

    #[test]
    fn byte_bits_gathers_each_bytes_high_bit_in_order() {
        for pattern in 0..=255u64 {
            let high = (0..8).filter(|i| pattern >> i & 1 == 1).map(|i| 0x80u64 << (8 * i)).sum();
            assert_eq!(byte_bits(high), pattern, "{high:#018x}");
        }
    }

    #[test]
    fn indexed_fields_are_the_split_fields_in_blocks_of_any_size() {
        let mut texts: Vec<(Vec<u8>, usize)> = vec![
            (b"a,b\r\n,c\nd,\n".to_vec(), 2),
            (b"a,b\nc,d".to_vec(), 2),
            (b"a,b\nc,".to_vec(), 2),
            (b"".to_vec(), 2),
            (b"a\r\nb\n".to_vec(), 1),
        ];
        texts.push((
            (0..300).flat_map(|i| format!("{i},{},{}\r\n", "x".repeat(i % 23), i % 7).into_bytes()).collect(),
            3,
        ));
        for (text, columns) in &texts {
            let mut expected = Vec::new();
            let rows = for_each_field(text, b',', *columns, |_, f| {
                expected.push(f.to_vec());
                true
            })
            .expect("plain");
            for block in [1, 2, 7, 1000] {
                let (mut from, mut seen, mut fields) = (0, 0, Vec::new());
                while from < text.len() {
                    let mut ends = Vec::new();
                    let (n, next) = index_fields(text, from, b',', *columns, block, &mut ends).expect("plain");
                    assert!(n >= 1 && n <= block && next > from, "{n} records up to {next}");
                    assert_eq!(ends.len(), n * columns);
                    for r in 0..n {
                        fields.extend((0..*columns).map(|c| field(text, &ends, *columns, from, r, c).to_vec()));
                    }
                    (from, seen) = (next, seen + n);
                }
                assert_eq!(
                    (seen, &fields),
                    (rows, &expected),
                    "{} in blocks of {block}",
                    String::from_utf8_lossy(text)
                );
            }
        }
        // Far past the first sixty-four bytes: a record short of a field, an empty line.
        let long = &texts[5].0;
        let at = long.windows(5).position(|w| w == b"\n200,").expect("record 200") + 4;
        let mut short = long.clone();
        short.remove(at);
        let mut empty = long.clone();
        empty.insert(at - 3, b'\n');
        for bad in [&short, &empty] {
            assert_eq!(index_fields(bad, 0, b',', 3, 1000, &mut Vec::new()), None);
        }
        for bad in [&b"a,b\nc\n"[..], b"a,b,c\n", b"a,b\n\nc,d\n", b"a,b\r\n\r\nc,d\n"] {
            assert_eq!(index_fields(bad, 0, b',', 2, 10, &mut Vec::new()), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(index_fields(b"\r\n", 0, b',', 1, 10, &mut Vec::new()), None, "an empty line");
        assert!(!is_plain(b"a,\"b\"\n") && !is_plain(b"a\rb\n") && is_plain(b"a\r\n"));
    }

    #[test]
    fn one_column_is_read_as_all_of_them_are() {
        let mut texts: Vec<Vec<u8>> = vec![
            b"a,b\r\n,c\nd,\n".to_vec(),
            b"a,b\nc,d".to_vec(),
            b"a,b\nc,".to_vec(),
            b"".to_vec(),
            b"a,b\nc\n".to_vec(),
            b"a,b,c\n".to_vec(),
            b"a,\"b\"\n".to_vec(),
            b"a,b\rc,d\n".to_vec(),
            b"a,b\n\nc,d\n".to_vec(),
        ];
        // Records of every length across the eight-byte words.
        texts.push((0..300).flat_map(|i| format!("{i},{},{}\r\n", "x".repeat(i % 23), i % 7).into_bytes()).collect());
        texts.push(
            (0..300)
                .flat_map(|i| format!("{},{i},{}\n", "yy".repeat(i % 11), "z".repeat(i % 5)).into_bytes())
                .collect(),
        );
        for text in &texts {
            for wanted in 0..3 {
                let columns = if text.starts_with(b"0,") || text.starts_with(b",0") { 3 } else { 2 };
                if wanted >= columns {
                    continue;
                }
                let mut all = Vec::new();
                let rows_all = for_each_field(text, b',', columns, |c, f| {
                    if c == wanted {
                        all.push(f.to_vec());
                    }
                    true
                });
                let mut one = Vec::new();
                let rows_one = for_each_cell(text, b',', columns, wanted, |f| {
                    one.push(f.to_vec());
                    true
                });
                assert_eq!(rows_one, rows_all, "{} column {wanted}", String::from_utf8_lossy(text));
                if rows_all.is_some() {
                    assert_eq!(one, all, "{} column {wanted}", String::from_utf8_lossy(text));
                }
            }
        }
        assert_eq!(for_each_cell(b"a,b\n", b',', 2, 2, |_| true), None, "no such column");
    }
}

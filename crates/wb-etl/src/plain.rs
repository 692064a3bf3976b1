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
    if !quotes_and_returns_are_plain(records) {
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
/// a `\r\n`.
fn quotes_and_returns_are_plain(records: &[u8]) -> bool {
    memchr::memchr2_iter(b'"', b'\r', records).all(|at| records[at] == b'\r' && records.get(at + 1) == Some(&b'\n'))
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

//! Byte-level mutation of inputs (bit flips, interesting bytes, truncation, deletion,
//! insertion of random bytes or of a target's tokens, repeated chunks, splicing), and the text
//! pieces the text formats share (numbers, CSV cells and rows).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Mutated inputs are cut to this size.
pub(crate) const MAX_INPUT: usize = 256 << 10;

/// One edit of an input.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Truncate(Index),
    Remove(Index, usize),
    Insert(Index, Vec<u8>),
    Token(Index, Index, bool),
    Repeat(Index, usize, usize),
    Splice(Index, Index, usize),
    Swap(Index, Index, usize),
}

/// Bytes that often mean something to a parser.
const INTERESTING: &[u8] =
    &[0, 1, 0x7f, 0x80, 0xff, 0xfe, b'"', b',', b'\n', b'\r', b'\\', b'{', b'[', b'0', b'9', b'.'];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), prop_oneof![select(INTERESTING), any::<u8>()]).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Remove(i, n)),
        1 => (any::<Index>(), vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        3 => (any::<Index>(), any::<Index>(), any::<bool>()).prop_map(|(i, t, r)| Mutation::Token(i, t, r)),
        1 => (any::<Index>(), 1usize..256, 1usize..64).prop_map(|(i, n, k)| Mutation::Repeat(i, n, k)),
        1 => (any::<Index>(), any::<Index>(), 1usize..512).prop_map(|(i, j, n)| Mutation::Splice(i, j, n)),
        1 => (any::<Index>(), any::<Index>(), 1usize..32).prop_map(|(i, j, n)| Mutation::Swap(i, j, n)),
    ]
}

/// `i` as a position in `0..=len` (an insertion point).
fn at(i: &Index, len: usize) -> usize {
    i.index(len + 1)
}

fn apply(data: &mut Vec<u8>, m: &Mutation, other: &[u8], tokens: &[&[u8]]) {
    let len = data.len();
    match m {
        Mutation::FlipBit(i, bit) if len > 0 => data[i.index(len)] ^= 1 << bit,
        Mutation::SetByte(i, b) if len > 0 => data[i.index(len)] = *b,
        Mutation::Truncate(i) => data.truncate(at(i, len)),
        Mutation::Remove(i, n) if len > 0 => {
            let start = i.index(len);
            data.drain(start..(start + n).min(len));
        }
        Mutation::Insert(i, bytes) => {
            let p = at(i, len);
            data.splice(p..p, bytes.iter().copied());
        }
        Mutation::Token(i, t, replace) if !tokens.is_empty() => {
            let token = tokens[t.index(tokens.len())];
            let p = at(i, len);
            let end = if *replace { (p + token.len()).min(len) } else { p };
            data.splice(p..end, token.iter().copied());
        }
        Mutation::Repeat(i, n, k) if len > 0 => {
            let start = i.index(len);
            let chunk = data[start..(start + n).min(len)].to_vec();
            let repeated: Vec<u8> = chunk.iter().copied().cycle().take(chunk.len() * k).collect();
            data.splice(start..start, repeated);
        }
        Mutation::Splice(i, j, n) if !other.is_empty() => {
            let from = j.index(other.len());
            let piece = &other[from..(from + n).min(other.len())];
            let p = at(i, len);
            let end = (p + piece.len()).min(len);
            data.splice(p..end, piece.iter().copied());
        }
        Mutation::Swap(i, j, n) if len > 0 => {
            let (a, b) = (i.index(len), j.index(len));
            let n = (*n).min(len - a.max(b));
            for k in 0..n {
                data.swap(a + k, b + k);
            }
        }
        _ => {}
    }
    data.truncate(MAX_INPUT);
}

/// Inputs from `bases` with 1 to 8 mutations; splices take bytes from a second base. `tokens`
/// are inserted or written over the input.
pub(crate) fn mutated(bases: BoxedStrategy<Vec<u8>>, tokens: &'static [&'static [u8]]) -> BoxedStrategy<Vec<u8>> {
    (bases.clone(), bases, vec(mutation(), 1..8))
        .prop_map(move |(mut data, other, mutations)| {
            for m in &mutations {
                apply(&mut data, m, &other, tokens);
            }
            data
        })
        .boxed()
}

/// [`mutated`] over bases drawn half from `generated`, half from the corpus `files` (or
/// `generated` again when there is none): every target's mutated inputs.
pub(crate) fn mutated_from(
    generated: BoxedStrategy<Vec<u8>>,
    files: Vec<Vec<u8>>,
    tokens: &'static [&'static [u8]],
) -> BoxedStrategy<Vec<u8>> {
    let bases = prop_oneof![generated.clone(), corpus_or(files, generated)].boxed();
    mutated(bases, tokens)
}

/// One of `files` (the corpus), or `otherwise` when there is none.
pub(crate) fn corpus_or(files: Vec<Vec<u8>>, otherwise: BoxedStrategy<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    if files.is_empty() { otherwise } else { select(files).boxed() }
}

/// A number's text: ordinary integers and decimals, extremes, exponents, non-finite spellings
/// and near-numbers.
pub(crate) fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (-1000i64..1000).prop_map(|v| v.to_string()),
        3 => (-1e6f64..1e6).prop_map(|v| v.to_string()),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_map(|v| v.to_string()),
        1 => any::<f64>().prop_map(|v| format!("{v:e}")),
        2 => select(&[
            "NaN", "nan", "-NaN", "inf", "-inf", "+inf", "Infinity", "infinity", "1e308", "1e309", "-1e309", "4.9e-324",
            "1e-400", "2.2250738585072014e-308", "0x10", "1_000", "+5", "-0", "-0.0", "5.", ".5", ".", "-", "+", "e5",
            "1e", "1e+", "1E-3", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890", "00012", "1.2.3",
            " 7 ", "\t8", "1,5", "٣", "１", "0.1234567890123456789012345", "9007199254740993",
        ][..])
        .prop_map(String::from),
    ]
    .boxed()
}

/// A raw CSV field (quoting included where it is quoted).
pub(crate) fn csv_field() -> BoxedStrategy<String> {
    prop_oneof![
        4 => number_text(),
        2 => select(&["true", "false", "TRUE", "False", "yes", "no", "?", "NA", "", " ", "null", "N/A", "red", "blue", "\u{feff}", "\u{0}"][..]).prop_map(String::from),
        2 => "[a-zA-Z ]{0,10}",
        1 => "\\PC{0,6}",
        // Quoted, with the quotes inside doubled.
        2 => "[a-z,\"\n\r ]{0,10}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        // Quoting gone wrong.
        1 => select(&["\"unclosed", "a\"b", "\"\"", "\"a\"b\"", "\"a\"\"", "\"\"\"", "\"a\" ", " \"a\""][..]).prop_map(String::from),
    ]
    .boxed()
}

/// Line endings: mostly one per input, sometimes mixed.
pub(crate) fn line_ending() -> BoxedStrategy<&'static str> {
    select(&["\n", "\n", "\n", "\r\n", "\r\n", "\r"][..]).boxed()
}

/// Joins rows of fields into CSV text with `ending` (each line picks from `mixed` when given),
/// an optional BOM and an optional final line ending.
pub(crate) fn csv_text(
    rows: &[Vec<String>],
    ending: &str,
    mixed: Option<&[&str]>,
    bom: bool,
    trailing: bool,
) -> String {
    let mut text = String::new();
    if bom {
        text.push('\u{feff}');
    }
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push_str(mixed.map_or(ending, |m| m[i % m.len()]));
        }
        text.push_str(&row.join(","));
    }
    if trailing && !rows.is_empty() {
        text.push_str(ending);
    }
    text
}

/// Rows of `width` fields of `field`, a few of them ragged (one field more or less).
pub(crate) fn ragged_rows(
    field: BoxedStrategy<String>,
    width: usize,
    rows: std::ops::Range<usize>,
) -> BoxedStrategy<Vec<Vec<String>>> {
    vec((vec(field, width + 1), prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)]), rows)
        .prop_map(move |rows| {
            rows.into_iter()
                .map(|(mut fields, shift)| {
                    let n = match shift {
                        0 => width,
                        s if s < 0 => width.saturating_sub(1),
                        _ => width + 1,
                    };
                    fields.truncate(n);
                    fields
                })
                .collect()
        })
        .boxed()
}

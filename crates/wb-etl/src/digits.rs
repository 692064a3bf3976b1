//! The UCI "Optical Recognition of Handwritten Digits" data (Alpaydin & Kaynak, 1998; CC BY 4.0),
//! shipped with this crate, and its conversion to a CIFAR-format archive.
//!
//! The file `data/digits.csv.gz` is scikit-learn's copy (1,797 images of 8×8 pixels with
//! values 0..=16, then the digit; 65 comma-separated integers a line), unchanged; see
//! `crates/wb-etl/data/README.md` for the source and licence.
//!
//! [`to_cifar`] turns them into 32×32 RGB images (each pixel repeated 4×4, grey in all three
//! channels, 0..=16 scaled to 0..=255), holds out [`TEST_PERCENT`] % of every class for the
//! test batch (a ChaCha8 shuffle per class from the seed) and names them
//! `digit_<class>_<index>.png`, where `index` is the row in the data file.
//!
//! ```
//! let digits = wb_etl::digits::load()?;
//! let archive = wb_etl::digits::to_cifar(&digits, Some(&[0, 1]), 7)?;
//! assert_eq!(archive.label_names.len(), 10);
//! assert!(archive.train.iter().all(|image| image.label <= 1));
//! # Ok::<(), wb_etl::Error>(())
//! ```

use std::io::Read as _;
use std::path::PathBuf;

use flate2::read::GzDecoder;
use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;
use rand_chacha::ChaCha8Rng;

use crate::cifar::{CifarArchive, CifarImage, IMAGE_BYTES};
use crate::error::{Error, Result};

/// The compressed data file, as shipped.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");
/// The name used in error messages.
const FILE: &str = "digits.csv.gz (embedded in wb-etl)";

/// Number of images in the data.
pub const COUNT: usize = 1797;
/// Share of every class held out for the test batch, in percent (rounded to whole images).
pub const TEST_PERCENT: usize = 20;

/// One 8×8 digit image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digit {
    /// The digit shown (0..=9).
    pub label: u8,
    /// The pixels, row-major, each 0..=16 (the number of set pixels in a 4×4 block).
    pub pixels: [u8; 64],
}

/// Reads the shipped data: [`COUNT`] digits in file order.
///
/// # Errors
/// [`Error::Csv`] when the embedded file is damaged (which a test rules out).
pub fn load() -> Result<Vec<Digit>> {
    let csv_error =
        |line: Option<u64>, message: String| Error::Csv { file: PathBuf::from(FILE), line, column: None, message };
    let mut text = String::new();
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| csv_error(None, format!("decompressing: {e}")))?;
    let mut digits = Vec::with_capacity(COUNT);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let line_no = Some(i as u64 + 1);
        let values = line
            .split(',')
            .map(|v| v.trim().parse::<u8>().map_err(|e| csv_error(line_no, format!("value {v:?}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let Some((label, pixels)) = values.split_last() else {
            return Err(csv_error(line_no, "an empty line".to_owned()));
        };
        let pixels: [u8; 64] = pixels.try_into().map_err(|_| {
            csv_error(line_no, format!("{} values, expected 65 (64 pixels and the digit)", values.len()))
        })?;
        if *label > 9 || pixels.iter().any(|&p| p > 16) {
            return Err(csv_error(line_no, "a pixel above 16 or a digit above 9".to_owned()));
        }
        digits.push(Digit { label: *label, pixels });
    }
    Ok(digits)
}

/// The 32×32 CIFAR image of an 8×8 digit: nearest-neighbour ×4, 0..=16 → 0..=255 (rounded),
/// the same grey in the R, G and B planes.
#[must_use]
pub fn to_cifar_pixels(digit: &Digit) -> Box<[u8; IMAGE_BYTES]> {
    let mut out = Box::new([0_u8; IMAGE_BYTES]);
    for y in 0..32 {
        for x in 0..32 {
            let v = u16::from(digit.pixels[(y / 4) * 8 + x / 4]);
            let grey = u8::try_from((v * 255 + 8) / 16).unwrap_or(u8::MAX);
            let p = y * 32 + x;
            out[p] = grey;
            out[1024 + p] = grey;
            out[2048 + p] = grey;
        }
    }
    out
}

/// Builds a CIFAR-format archive of `digits`: only the digits in `classes` (all when `None`),
/// labelled by the digit itself (label names `"0"` … `"9"`), [`TEST_PERCENT`] % of each class
/// in the test split chosen by a ChaCha8 shuffle seeded with `seed`; both splits in data order.
/// The same inputs give the same archive.
///
/// # Errors
/// [`Error::InvalidArgument`] when a class is above 9, given twice, or `classes` is empty.
pub fn to_cifar(digits: &[Digit], classes: Option<&[u8]>, seed: u64) -> Result<CifarArchive> {
    let classes: Vec<u8> = match classes {
        Some(c) => c.to_vec(),
        None => (0..10).collect(),
    };
    if classes.is_empty() {
        return Err(Error::InvalidArgument { what: "classes", message: "no digits selected".to_owned() });
    }
    let mut sorted = classes.clone();
    sorted.sort_unstable();
    if let Some(&bad) = sorted.iter().find(|&&c| c > 9) {
        return Err(Error::InvalidArgument { what: "classes", message: format!("digit {bad} does not exist (0..=9)") });
    }
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::InvalidArgument { what: "classes", message: format!("digit {} is given twice", w[0]) });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut test_rows = Vec::new();
    let mut train_rows = Vec::new();
    for &class in &sorted {
        let mut rows: Vec<usize> =
            digits.iter().enumerate().filter(|(_, d)| d.label == class).map(|(i, _)| i).collect();
        rows.shuffle(&mut rng);
        let test = (rows.len() * TEST_PERCENT + 50) / 100;
        test_rows.extend_from_slice(&rows[..test]);
        train_rows.extend_from_slice(&rows[test..]);
    }
    test_rows.sort_unstable();
    train_rows.sort_unstable();
    let image = |i: usize| {
        let digit = &digits[i];
        CifarImage {
            filename: format!("digit_{}_{i}.png", digit.label),
            label: u32::from(digit.label),
            pixels: to_cifar_pixels(digit),
        }
    };
    Ok(CifarArchive {
        label_names: (0..10).map(|d: u8| d.to_string()).collect(),
        train: train_rows.into_iter().map(image).collect(),
        test: test_rows.into_iter().map(image).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_has_1797_digits_of_every_class() {
        let digits = load().expect("load");
        assert_eq!(digits.len(), COUNT);
        let mut counts = [0_usize; 10];
        for d in &digits {
            counts[usize::from(d.label)] += 1;
        }
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        // The first row of the file is a 0.
        assert_eq!(digits[0].label, 0);
        assert_eq!(&digits[0].pixels[..8], &[0, 0, 5, 13, 9, 1, 0, 0]);
    }

    #[test]
    fn upsampling_repeats_each_pixel_four_by_four_and_scales_to_255() {
        let mut pixels = [0_u8; 64];
        pixels[0] = 16;
        pixels[9] = 8; // row 1, column 1
        let out = to_cifar_pixels(&Digit { label: 3, pixels });
        for (x, y, want) in [(0, 0, 255), (3, 3, 255), (4, 0, 0), (0, 4, 0), (4, 4, 128), (7, 7, 128), (8, 8, 0)] {
            let p = y * 32 + x;
            assert_eq!([out[p], out[1024 + p], out[2048 + p]], [want; 3], "pixel ({x}, {y})");
        }
    }

    #[test]
    fn to_cifar_selects_classes_holds_out_a_fifth_and_is_deterministic() {
        let digits = load().expect("load");
        let a = to_cifar(&digits, Some(&[1, 0]), 42).expect("archive");
        let b = to_cifar(&digits, Some(&[1, 0]), 42).expect("archive");
        let c = to_cifar(&digits, Some(&[1, 0]), 43).expect("archive");
        assert_eq!(a, b);
        assert_ne!(a.test, c.test);
        assert_eq!(a.train.len() + a.test.len(), 178 + 182);
        assert_eq!(a.test.iter().filter(|i| i.label == 0).count(), 36);
        assert_eq!(a.test.iter().filter(|i| i.label == 1).count(), 36);
        assert!(a.train.iter().chain(&a.test).all(|i| i.label <= 1));
        assert_eq!(a.label_names, (0..10).map(|d| d.to_string()).collect::<Vec<_>>());
        let first = &a.train[0];
        assert_eq!(first.filename, format!("digit_{}_{}.png", first.label, 0));
        let names: std::collections::HashSet<_> = a.train.iter().chain(&a.test).map(|i| &i.filename).collect();
        assert_eq!(names.len(), a.train.len() + a.test.len());
    }

    #[test]
    fn to_cifar_refuses_unknown_or_repeated_digits() {
        let digits = load().expect("load");
        for bad in [&[10_u8][..], &[1, 1], &[]] {
            let err = to_cifar(&digits, Some(bad), 1).expect_err("refused");
            assert!(matches!(err, Error::InvalidArgument { what: "classes", .. }), "{err}");
        }
    }
}

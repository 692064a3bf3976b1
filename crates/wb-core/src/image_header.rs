//! What an image file's header declares, read from its bytes without decoding anything.
//!
//! Decoders refuse some headers with a generic error (the `png` crate says "Invalid image
//! dimensions" for a 0×0 PNG); reading the declared size lets callers name the problem.
//!
//! ```
//! let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
//! png.extend(0_u32.to_be_bytes()); // width
//! png.extend(7_u32.to_be_bytes()); // height
//! assert_eq!(wb_core::image_header::png_dimensions(&png), Some((0, 7)));
//! assert_eq!(wb_core::image_header::png_dimensions(b"GIF89a"), None);
//! ```

/// The PNG signature.
const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// The width and height a PNG's `IHDR` chunk declares, or `None` when `bytes` do not start
/// with a PNG signature followed by an `IHDR` chunk.
#[must_use]
pub fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != PNG_SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((word(16), word(20)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_declared_size_and_refuses_what_is_not_a_png_header() {
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend([0, 0, 0, 13]);
        png.extend(b"IHDR");
        png.extend(640_u32.to_be_bytes());
        png.extend(480_u32.to_be_bytes());
        assert_eq!(png_dimensions(&png), Some((640, 480)));
        assert_eq!(png_dimensions(&png[..23]), None, "too short");
        let mut other = png.clone();
        other[12..16].copy_from_slice(b"IDAT");
        assert_eq!(png_dimensions(&other), None, "the first chunk is not IHDR");
        other = png;
        other[0] = b'x';
        assert_eq!(png_dimensions(&other), None, "no signature");
    }
}

//! Reading SageMaker's image channels: `.lst` manifests and the image files they name, and
//! decoding request images at inference.

use std::io::Cursor;
use std::path::{Component, Path, PathBuf};

use image::{DynamicImage, ImageFormat, ImageReader};

use crate::error::{Error, Result};
use crate::schema::ImageInput;

/// Largest image accepted, in pixels (width × height), for training files and requests alike.
pub const MAX_PIXELS: u64 = 4096 * 4096;

/// Decoded images of one channel: `len × shape.len()` bytes in CHW order (channel planes, rows,
/// columns), and their class indices.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImageSet {
    pub(crate) shape: ImageInput,
    pub(crate) pixels: Vec<u8>,
    pub(crate) labels: Vec<u32>,
}

impl ImageSet {
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    pub(crate) fn image(&self, i: usize) -> &[u8] {
        let n = self.shape.len();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// One line of a `.lst` file.
struct Entry {
    lst: PathBuf,
    line: usize,
    label: u32,
    path: String,
}

/// Reads every `.lst` file of `lst_dir` (sorted by name) and the images they name under
/// `image_dir`.
///
/// Each non-blank line is `index<TAB>label<TAB>relative path`; the label is a class index in
/// `0..n_classes` (written `1` or `1.0`); the path stays inside `image_dir`. Images must have
/// `shape`'s height and width; grey images become RGB when `shape` has 3 channels (the grey
/// value in each channel), colour images become grey (luma) when it has 1; alpha is dropped.
pub(crate) fn read_channel(lst_dir: &Path, image_dir: &Path, shape: ImageInput, n_classes: usize) -> Result<ImageSet> {
    let entries = read_lst_dir(lst_dir, n_classes)?;
    let root = image_dir.canonicalize().map_err(|e| Error::io(image_dir, e))?;
    let mut set = ImageSet { shape, pixels: Vec::with_capacity(entries.len() * shape.len()), labels: Vec::new() };
    for entry in &entries {
        let at = || format!("{} line {}", entry.lst.display(), entry.line);
        let file = resolve(&root, &entry.path).map_err(|message| Error::Container { path: at(), message })?;
        let bad = |message: String| Error::Container {
            path: file.display().to_string(),
            message: format!("({}) {message}", at()),
        };
        let bytes = std::fs::read(&file).map_err(|e| bad(format!("cannot be read: {e}")))?;
        let img = decode_bytes(&bytes).map_err(bad)?;
        if (img.width(), img.height()) != (shape.width, shape.height) {
            return Err(bad(format!(
                "is {}×{} (width×height) but image_shape {shape} needs {}×{}; resize the training images (SageMaker's image classifier also expects training images of image_shape's size)",
                img.width(),
                img.height(),
                shape.width,
                shape.height
            )));
        }
        push_chw(&img, shape, &mut set.pixels);
        set.labels.push(entry.label);
    }
    Ok(set)
}

/// The entries of every `.lst` file of `dir`, files sorted by name.
fn read_lst_dir(dir: &Path, n_classes: usize) -> Result<Vec<Entry>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("lst")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Container {
            path: dir.display().to_string(),
            message: "holds no .lst file (index<TAB>label<TAB>relative path per line)".into(),
        });
    }
    let mut entries = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let bad =
                |message: String| Error::Container { path: format!("{} line {line_no}", file.display()), message };
            let fields: Vec<&str> = line.split('\t').collect();
            let [_, label, path] = fields[..] else {
                return Err(bad(format!(
                    "{} tab-separated field(s); a line is index<TAB>label<TAB>relative path",
                    fields.len()
                )));
            };
            let label = parse_label(label.trim(), n_classes).map_err(bad)?;
            entries.push(Entry { lst: file.clone(), line: line_no, label, path: path.trim().to_owned() });
        }
    }
    if entries.is_empty() {
        return Err(Error::Container {
            path: dir.display().to_string(),
            message: "the .lst files list no images".into(),
        });
    }
    Ok(entries)
}

fn parse_label(text: &str, n_classes: usize) -> std::result::Result<u32, String> {
    let value: f64 = text.parse().map_err(|_| format!("label {text:?} is not a number"))?;
    if value >= 0.0 && value.fract() == 0.0 && value < n_classes as f64 {
        u32::try_from(value as u64).map_err(|_| format!("label {text:?} is too large"))
    } else {
        Err(format!("label {text:?} is not a class index in 0..{n_classes} (num_classes is {n_classes})"))
    }
}

/// The file `relative` names inside `root` (canonical), refusing absolute paths, `..` and
/// anything that resolves outside `root` (symbolic links included).
fn resolve(root: &Path, relative: &str) -> std::result::Result<PathBuf, String> {
    let rel = Path::new(relative);
    if relative.is_empty() {
        return Err("the image path is empty".into());
    }
    if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("image path {relative:?} must be relative to the channel and stay inside it"));
    }
    let joined = root.join(rel);
    let real =
        joined.canonicalize().map_err(|e| format!("image {relative:?} ({}) does not exist: {e}", joined.display()))?;
    if !real.starts_with(root) {
        return Err(format!("image path {relative:?} leaves the channel directory {}", root.display()));
    }
    if !real.is_file() {
        return Err(format!("image path {relative:?} is not a file"));
    }
    Ok(real)
}

/// Decodes PNG or JPEG bytes (the format sniffed from the content), refusing other formats,
/// corrupt or truncated data (with the decoder's message), empty images and images over
/// [`MAX_PIXELS`].
pub(crate) fn decode_bytes(bytes: &[u8]) -> std::result::Result<DynamicImage, String> {
    let reader =
        || ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| format!("cannot be read: {e}"));
    match reader()?.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg) => {}
        Some(other) => return Err(format!("is {other:?}, not a PNG or JPEG image")),
        None => return Err("is not a PNG or JPEG image (unrecognised signature)".into()),
    }
    let (width, height) =
        reader()?.into_dimensions().map_err(|e| match wb_core::image_header::png_dimensions(bytes) {
            Some((w, h)) if w == 0 || h == 0 => format!("is empty ({w}×{h} pixels)"),
            _ => format!("is not a valid image: {e}"),
        })?;
    if width == 0 || height == 0 {
        return Err(format!("is empty ({width}×{height} pixels)"));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!("is {width}×{height} pixels, over the limit of {MAX_PIXELS} pixels"));
    }
    reader()?.decode().map_err(|e| format!("is corrupt or truncated: {e}"))
}

/// Appends `img` in CHW order with `shape.channels` channels (grey ↔ RGB converted, alpha
/// dropped); `img` has `shape`'s size.
pub(crate) fn push_chw(img: &DynamicImage, shape: ImageInput, out: &mut Vec<u8>) {
    let (w, h) = (shape.width as usize, shape.height as usize);
    if shape.channels == 1 {
        out.extend_from_slice(img.to_luma8().as_raw());
    } else {
        let rgb = img.to_rgb8();
        let raw = rgb.as_raw();
        for c in 0..3 {
            out.extend((0..w * h).map(|p| raw[p * 3 + c]));
        }
    }
}

//! CIFAR-10 and CIFAR-100 (the "python version" archives) to PNG files and SageMaker `.lst`
//! manifests, and a writer of CIFAR-10-format archives.
//!
//! [`etl`] reads `cifar-10-python.tar.gz` (`cifar-10-batches-py/{data_batch_1..5, test_batch,
//! batches.meta}`) or `cifar-100-python.tar.gz` (`cifar-100-python/{train, test, meta}`),
//! streamed from the gzip (nothing is extracted to disk; every member is checked by the rules
//! of [`crate::extract`]), or a directory holding those files (directly or in its
//! `cifar-10-batches-py/` or `cifar-100-python/` subdirectory). Which dataset it is follows from
//! the files present. The pickles may be Python 2 `cPickle` protocol 2 pickles as published, or
//! re-pickled by Python 3 with numpy 1 or 2 under protocols 2 to 5.
//!
//! It writes, under the output directory `to`:
//!
//! - `train/<filename>` and `test/<filename>`: 32×32 RGB PNGs named by the archive's
//!   `filenames` (`.png` is appended when a name does not end with it);
//! - `train.lst` and `test.lst`: SageMaker's image-classification manifest, one line per image,
//!   `index<TAB>label<TAB>path`, where `index` counts from 0, `label` is the class's position
//!   in the selected classes (0..k-1) and `path` is **relative to `to`** with `/`
//!   (`train/bicycle_s_000017.png`), so the manifest pairs with the directory `to` as its root;
//! - `classes.json`: `{"source": "cifar-100", "label_kind": "fine", "classes": [{"index": 0,
//!   "id": 8, "name": "bicycle"}, ...]}` (`label_kind` is `"labels"` for CIFAR-10).
//!
//! Images are written in archive order: the training batches by number, then the test batch.
//! Everything is written to a temporary directory next to `to` and renamed into place at the
//! end, so a failure leaves nothing behind. The selected images are held in memory until then
//! (at most the whole dataset, about 180 MB).
//!
//! [`write_archive`] writes a [`CifarArchive`] as a `.tar.gz` laid out and pickled like the
//! published CIFAR-10 archive, which Python's `pickle.load(f, encoding="bytes")` reads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use image::ImageEncoder as _;

use crate::error::{Error, Result};
use crate::pickle::{self, Py2Writer, Value};

/// Width and height of a CIFAR image.
pub const SIDE: u32 = 32;
/// Bytes of one CIFAR image: three planes (R, G, B) of 32×32 bytes, each row-major.
pub const IMAGE_BYTES: usize = 3072;
/// Bytes of one colour plane.
const PLANE: usize = 1024;

/// Which dataset an archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum CifarKind {
    /// CIFAR-10: `data_batch_N`, `test_batch`, `batches.meta`; labels under `labels`.
    #[serde(rename = "cifar-10")]
    Cifar10,
    /// CIFAR-100: `train`, `test`, `meta`; `fine_labels` and `coarse_labels`.
    #[serde(rename = "cifar-100")]
    Cifar100,
}

impl CifarKind {
    /// `"cifar-10"` or `"cifar-100"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Cifar10 => "cifar-10",
            Self::Cifar100 => "cifar-100",
        }
    }
}

/// Which labels of CIFAR-100 to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelKind {
    /// The 100 fine classes (`fine_labels`); for CIFAR-10, its only labels (`labels`).
    #[default]
    Fine,
    /// The 20 superclasses (`coarse_labels`); CIFAR-100 only.
    Coarse,
}

/// Options of [`etl`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CifarOptions {
    /// The class ids to keep, in the order that defines the new labels 0..k-1; `None` keeps
    /// every class in id order.
    pub classes: Option<Vec<u32>>,
    /// Fine or coarse labels (coarse is CIFAR-100 only).
    pub labels: LabelKind,
}

/// One selected class: its new label, its id in the archive and its name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClassEntry {
    /// The label in the `.lst` files (0..k-1).
    pub index: u32,
    /// The class id in the archive.
    pub id: u32,
    /// The class name from the archive's meta file.
    pub name: String,
}

/// What [`etl`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CifarSummary {
    /// The dataset found.
    pub source: CifarKind,
    /// The label key used: `"labels"` (CIFAR-10), `"fine"` or `"coarse"` (CIFAR-100).
    pub label_kind: &'static str,
    /// The selected classes, in label order.
    pub classes: Vec<ClassEntry>,
    /// Images written to `train/`.
    pub train: usize,
    /// Images written to `test/`.
    pub test: usize,
    /// The output directory.
    pub output: PathBuf,
}

/// One CIFAR image with its label and file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CifarImage {
    /// The file name recorded in the archive (`filenames`), e.g. `bicycle_s_000017.png`.
    pub filename: String,
    /// The class id (an index into [`CifarArchive::label_names`]).
    pub label: u32,
    /// The pixels in CIFAR order: the R plane (1024 bytes, 32 rows of 32), then G, then B.
    pub pixels: Box<[u8; IMAGE_BYTES]>,
}

impl CifarImage {
    /// The `[r, g, b]` value at column `x`, row `y` (both below 32).
    ///
    /// # Panics
    /// When `x` or `y` is 32 or more.
    #[must_use]
    pub fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        assert!(x < SIDE as usize && y < SIDE as usize, "pixel ({x}, {y}) is outside 32×32");
        let p = y * SIDE as usize + x;
        [self.pixels[p], self.pixels[PLANE + p], self.pixels[2 * PLANE + p]]
    }
}

/// A dataset to write in CIFAR-10's format with [`write_archive`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CifarArchive {
    /// The class names (`batches.meta` `label_names`); labels index into it.
    pub label_names: Vec<String>,
    /// The training images, spread over `data_batch_1` to `data_batch_5`.
    pub train: Vec<CifarImage>,
    /// The test images (`test_batch`).
    pub test: Vec<CifarImage>,
}

// ---- reading ------------------------------------------------------------------------------

/// The CIFAR files, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Member {
    /// `data_batch_N` (CIFAR-10).
    DataBatch(u32),
    /// `test_batch` (CIFAR-10).
    TestBatch,
    /// `batches.meta` (CIFAR-10).
    BatchesMeta,
    /// `train` (CIFAR-100).
    Train,
    /// `test` (CIFAR-100).
    Test,
    /// `meta` (CIFAR-100).
    Meta,
}

impl Member {
    /// The role of a file named `name` directly in a directory named `dir` (`None`: the
    /// root of the archive or the directory given).
    fn classify(dir: Option<&str>, name: &str) -> Option<Self> {
        let member = match name {
            "test_batch" => Self::TestBatch,
            "batches.meta" => Self::BatchesMeta,
            "train" => Self::Train,
            "test" => Self::Test,
            "meta" => Self::Meta,
            _ => {
                let n = name.strip_prefix("data_batch_")?;
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
                    return None;
                }
                Self::DataBatch(n.parse().ok()?)
            }
        };
        match (dir, member.kind()) {
            (None, _)
            | (Some("cifar-10-batches-py"), CifarKind::Cifar10)
            | (Some("cifar-100-python"), CifarKind::Cifar100) => Some(member),
            _ => None,
        }
    }

    fn kind(self) -> CifarKind {
        match self {
            Self::DataBatch(_) | Self::TestBatch | Self::BatchesMeta => CifarKind::Cifar10,
            Self::Train | Self::Test | Self::Meta => CifarKind::Cifar100,
        }
    }

    fn is_meta(self) -> bool {
        matches!(self, Self::BatchesMeta | Self::Meta)
    }
}

/// A parsed batch: its rows, all its label lists and its file names.
#[derive(Debug)]
struct Batch {
    file: String,
    rows: usize,
    data: std::rc::Rc<Vec<u8>>,
    labels: Vec<u32>,
    filenames: Vec<String>,
}

/// The parsed files of an archive or directory.
#[derive(Debug, Default)]
struct Parsed {
    /// Batches by role, with the file they came from.
    batches: BTreeMap<Member, Batch>,
    /// Class names of the meta file, and the file.
    names: Option<(String, Vec<String>)>,
    /// Where each member was found (to refuse duplicates).
    seen: HashMap<Member, String>,
}

fn cifar_error(file: &str, message: impl Into<String>) -> Error {
    Error::Cifar { file: file.to_owned(), message: message.into() }
}

/// The label key of the batches for `kind` and `labels`, and the meta key of the names.
fn keys(kind: CifarKind, labels: LabelKind) -> Result<(&'static str, &'static str, &'static str)> {
    match (kind, labels) {
        (CifarKind::Cifar10, LabelKind::Fine) => Ok(("labels", "label_names", "labels")),
        (CifarKind::Cifar10, LabelKind::Coarse) => Err(Error::InvalidArgument {
            what: "labels",
            message: "coarse labels exist only in CIFAR-100; CIFAR-10 has one set of labels".to_owned(),
        }),
        (CifarKind::Cifar100, LabelKind::Fine) => Ok(("fine_labels", "fine_label_names", "fine")),
        (CifarKind::Cifar100, LabelKind::Coarse) => Ok(("coarse_labels", "coarse_label_names", "coarse")),
    }
}

fn load_pickle(file: &str, bytes: &[u8]) -> Result<Value> {
    pickle::load(bytes).map_err(|e| Error::Pickle {
        file: file.to_owned(),
        offset: e.offset as u64,
        message: e.message,
    })
}

fn required(file: &str, dict: &Value, key: &str) -> Result<Value> {
    if !matches!(dict, Value::Dict(_)) {
        return Err(cifar_error(file, format!("the pickle holds a {}, not a dict", dict.type_name())));
    }
    dict.get(key).ok_or_else(|| cifar_error(file, format!("key b'{key}' is missing")))
}

fn list_of(file: &str, key: &str, value: &Value) -> Result<Vec<Value>> {
    value.items().ok_or_else(|| cifar_error(file, format!("b'{key}' is a {}, not a list", value.type_name())))
}

fn strings(file: &str, key: &str, value: &Value) -> Result<Vec<String>> {
    list_of(file, key, value)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_text().ok_or_else(|| cifar_error(file, format!("b'{key}'[{i}] is a {}, not a string", v.type_name())))
        })
        .collect()
}

fn parse_batch(file: &str, bytes: &[u8], label_key: &str) -> Result<Batch> {
    let value = load_pickle(file, bytes)?;
    let data = required(file, &value, "data")?;
    let Value::Array(array) = &data else {
        return Err(cifar_error(file, format!("b'data' is a {}, not a numpy array", data.type_name())));
    };
    let array = array.borrow();
    let (rows, data) = match (array.shape.as_slice(), &array.data) {
        ([rows, IMAGE_BYTES], Some(data)) => (*rows, std::rc::Rc::clone(data)),
        (shape, Some(_)) => {
            return Err(cifar_error(file, format!("b'data' has shape {shape:?}; CIFAR needs (N, {IMAGE_BYTES})")));
        }
        (_, None) => return Err(cifar_error(file, "b'data' is a numpy array without data")),
    };
    let labels = list_of(file, label_key, &required(file, &value, label_key)?)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Int(n) => {
                u32::try_from(*n).map_err(|_| cifar_error(file, format!("b'{label_key}'[{i}] = {n} is not a class id")))
            }
            other => Err(cifar_error(file, format!("b'{label_key}'[{i}] is a {}, not an int", other.type_name()))),
        })
        .collect::<Result<Vec<_>>>()?;
    if labels.len() != rows {
        return Err(cifar_error(file, format!("b'{label_key}' has {} labels for {rows} images", labels.len())));
    }
    let filenames = strings(file, "filenames", &required(file, &value, "filenames")?)?;
    if filenames.len() != rows {
        return Err(cifar_error(file, format!("b'filenames' has {} names for {rows} images", filenames.len())));
    }
    Ok(Batch { file: file.to_owned(), rows, data, labels, filenames })
}

impl Parsed {
    fn add(&mut self, member: Member, file: String, bytes: &[u8], labels: LabelKind) -> Result<()> {
        if let Some(first) = self.seen.get(&member) {
            return Err(cifar_error(&file, format!("a second copy of {first}")));
        }
        self.seen.insert(member, file.clone());
        let (label_key, names_key, _) = keys(member.kind(), labels)?;
        tracing::debug!(file, "reading CIFAR pickle");
        if member.is_meta() {
            let value = load_pickle(&file, bytes)?;
            let names = strings(&file, names_key, &required(&file, &value, names_key)?)?;
            self.names = Some((file, names));
        } else {
            let batch = parse_batch(&file, bytes, label_key)?;
            self.batches.insert(member, batch);
        }
        Ok(())
    }

    /// The dataset present, with its required files checked.
    fn kind(&self, source: &Path) -> Result<CifarKind> {
        let kinds: HashSet<CifarKind> = self.seen.keys().map(|m| m.kind()).collect();
        let source_name = source.display().to_string();
        if kinds.len() > 1 {
            return Err(cifar_error(&source_name, "holds both CIFAR-10 and CIFAR-100 files"));
        }
        let Some(&kind) = kinds.iter().next() else {
            return Err(cifar_error(
                &source_name,
                "no CIFAR files found (expected cifar-10-batches-py/{data_batch_N, test_batch, batches.meta} or cifar-100-python/{train, test, meta})",
            ));
        };
        let has = |m: Member| self.seen.contains_key(&m);
        let missing: Vec<&str> = match kind {
            CifarKind::Cifar10 => {
                let mut missing = Vec::new();
                if !self.seen.keys().any(|m| matches!(m, Member::DataBatch(_))) {
                    missing.push("data_batch_1");
                }
                if !has(Member::TestBatch) {
                    missing.push("test_batch");
                }
                if !has(Member::BatchesMeta) {
                    missing.push("batches.meta");
                }
                missing
            }
            CifarKind::Cifar100 => [(Member::Train, "train"), (Member::Test, "test"), (Member::Meta, "meta")]
                .into_iter()
                .filter(|(m, _)| !has(*m))
                .map(|(_, name)| name)
                .collect(),
        };
        if !missing.is_empty() {
            return Err(cifar_error(&source_name, format!("{} is missing {}", kind.name(), missing.join(", "))));
        }
        Ok(kind)
    }
}

fn read_archive(archive: &Path, labels: LabelKind) -> Result<Parsed> {
    let file = File::open(archive).map_err(|e| Error::io("opening", archive, e))?;
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    let archive_error = |message: String| Error::Archive { archive: archive.to_path_buf(), message };
    let mut parsed = Parsed::default();
    for entry in tar.entries().map_err(|e| archive_error(format!("reading the archive: {e}")))? {
        let mut entry = entry.map_err(|e| archive_error(format!("reading the archive: {e}")))?;
        let Some(rel) = crate::extract::check_streamed_tar_entry(archive, &entry)? else { continue };
        let dir = match rel.parent().map(|p| p.components().count()) {
            Some(0) | None => None,
            Some(1) => rel.parent().and_then(|p| p.to_str()),
            Some(_) => continue,
        };
        let Some(member) = rel.file_name().and_then(|n| n.to_str()).and_then(|n| Member::classify(dir, n)) else {
            continue;
        };
        let name = rel.to_string_lossy().replace('\\', "/");
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(256 << 20));
        entry.read_to_end(&mut bytes).map_err(|e| archive_error(format!("reading member {name}: {e}")))?;
        parsed.add(member, format!("{}:{name}", archive.display()), &bytes, labels)?;
    }
    Ok(parsed)
}

fn read_directory(dir: &Path, labels: LabelKind) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    for (subdir, candidate) in [
        (None, dir.to_path_buf()),
        (Some("cifar-10-batches-py"), dir.join("cifar-10-batches-py")),
        (Some("cifar-100-python"), dir.join("cifar-100-python")),
    ] {
        if !candidate.is_dir() {
            continue;
        }
        let entries = fs::read_dir(&candidate).map_err(|e| Error::io("listing", &candidate, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("listing", &candidate, e))?;
            let path = entry.path();
            let Some(member) = entry.file_name().to_str().and_then(|n| Member::classify(subdir, n)) else { continue };
            if path.is_file() {
                found.push((member, path));
            }
        }
        found.sort();
        for (member, path) in found {
            let bytes = fs::read(&path).map_err(|e| Error::io("reading", &path, e))?;
            parsed.add(member, path.display().to_string(), &bytes, labels)?;
        }
    }
    Ok(parsed)
}

/// Checks a file name from the archive and returns the PNG name to write.
fn png_name(file: &str, index: usize, name: &str) -> Result<String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(cifar_error(
            file,
            format!(
                "b'filenames'[{index}] = {name:?} is not a plain file name (no path separators, not empty, not . or ..)"
            ),
        ));
    }
    if name.to_ascii_lowercase().ends_with(".png") { Ok(name.to_owned()) } else { Ok(format!("{name}.png")) }
}

/// Encodes one CIFAR image (planar R, G, B) as a PNG file.
fn write_png(path: &Path, planes: &[u8]) -> Result<()> {
    let mut rgb = vec![0_u8; IMAGE_BYTES];
    for p in 0..PLANE {
        rgb[3 * p] = planes[p];
        rgb[3 * p + 1] = planes[PLANE + p];
        rgb[3 * p + 2] = planes[2 * PLANE + p];
    }
    let file = File::create(path).map_err(|e| Error::io("creating", path, e))?;
    let mut writer = BufWriter::new(file);
    image::codecs::png::PngEncoder::new(&mut writer)
        .write_image(&rgb, SIDE, SIDE, image::ExtendedColorType::Rgb8)
        .map_err(|source| Error::Image { file: path.to_path_buf(), source })?;
    writer.flush().map_err(|e| Error::io("writing", path, e))
}

/// An image chosen for output.
struct Selected<'a> {
    batch: &'a Batch,
    row: usize,
    label: u32,
    name: String,
}

/// Picks the rows of `batches` whose class is selected, checking labels and file names.
fn select<'a>(batches: &[&'a Batch], index_of: &HashMap<u32, u32>, class_count: usize) -> Result<Vec<Selected<'a>>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for batch in batches {
        for row in 0..batch.rows {
            let id = batch.labels[row];
            if id as usize >= class_count {
                return Err(cifar_error(
                    &batch.file,
                    format!("image {row} has label {id}, but the meta file names only {class_count} classes"),
                ));
            }
            let Some(&label) = index_of.get(&id) else { continue };
            let name = png_name(&batch.file, row, &batch.filenames[row])?;
            if !names.insert(name.clone()) {
                return Err(cifar_error(
                    &batch.file,
                    format!("b'filenames'[{row}] = {name:?} occurs twice in the split"),
                ));
            }
            out.push(Selected { batch, row, label, name });
        }
    }
    Ok(out)
}

/// Reads a CIFAR-10 or CIFAR-100 archive (`.tar.gz`) or directory and writes PNGs, `.lst`
/// manifests and `classes.json` under `to` (see the [module documentation](self)).
///
/// # Errors
/// - [`Error::InvalidArgument`] when `to` exists and is not an empty directory, for coarse
///   labels of CIFAR-10, and for unknown or repeated class ids (naming the id and the valid
///   range) or an empty class list;
/// - [`Error::Archive`] when the gzip or tar stream is damaged (naming the member being read),
///   [`Error::UnsafeArchiveEntry`] for entries [`crate::extract`] refuses;
/// - [`Error::Pickle`] when a member is not a readable pickle (unknown opcode, a global other
///   than numpy's array reconstruction, a dtype other than `uint8`, data of the wrong length);
/// - [`Error::Cifar`] when files are missing or a pickle lacks a key, has rows that are not
///   3072 bytes wide, label or file-name counts that differ from the image count, labels
///   beyond the class names, or file names with path separators or duplicates;
/// - [`Error::Io`], [`Error::Image`] when writing fails.
///
/// Nothing is left at `to` (or next to it) on error.
pub fn etl(source: &Path, to: &Path, options: &CifarOptions) -> Result<CifarSummary> {
    check_output_dir(to)?;
    tracing::info!(source = %source.display(), to = %to.display(), "reading CIFAR data");
    let parsed =
        if source.is_dir() { read_directory(source, options.labels)? } else { read_archive(source, options.labels)? };
    let kind = parsed.kind(source)?;
    let (_, _, label_kind) = keys(kind, options.labels)?;
    let (meta_file, names) =
        parsed.names.as_ref().ok_or_else(|| cifar_error(&source.display().to_string(), "no meta file"))?;

    let ids: Vec<u32> = match &options.classes {
        Some(ids) => ids.clone(),
        None => (0..u32::try_from(names.len()).unwrap_or(u32::MAX)).collect(),
    };
    if ids.is_empty() {
        return Err(Error::InvalidArgument { what: "classes", message: "no classes selected".to_owned() });
    }
    let mut index_of = HashMap::new();
    let mut classes = Vec::with_capacity(ids.len());
    for (index, &id) in ids.iter().enumerate() {
        let name = names.get(id as usize).ok_or_else(|| Error::InvalidArgument {
            what: "classes",
            message: format!(
                "class id {id} does not exist: {} has {} {label_kind} classes, ids 0..={} (names from {meta_file})",
                kind.name(),
                names.len(),
                names.len().saturating_sub(1)
            ),
        })?;
        let index = u32::try_from(index).expect("fewer classes than names, which fit in u32 ids");
        if index_of.insert(id, index).is_some() {
            return Err(Error::InvalidArgument { what: "classes", message: format!("class id {id} is given twice") });
        }
        classes.push(ClassEntry { index, id, name: name.clone() });
    }

    let (train_batches, test_batches): (Vec<&Batch>, Vec<&Batch>) = match kind {
        CifarKind::Cifar10 => (
            parsed.batches.iter().filter(|(m, _)| matches!(m, Member::DataBatch(_))).map(|(_, b)| b).collect(),
            parsed.batches.get(&Member::TestBatch).into_iter().collect(),
        ),
        CifarKind::Cifar100 => (
            parsed.batches.get(&Member::Train).into_iter().collect(),
            parsed.batches.get(&Member::Test).into_iter().collect(),
        ),
    };
    let train = select(&train_batches, &index_of, names.len())?;
    let test = select(&test_batches, &index_of, names.len())?;

    let summary = CifarSummary {
        source: kind,
        label_kind,
        classes,
        train: train.len(),
        test: test.len(),
        output: to.to_path_buf(),
    };
    write_output(to, &summary, &[("train", &train), ("test", &test)])?;
    tracing::info!(
        source = %source.display(),
        to = %to.display(),
        dataset = kind.name(),
        classes = summary.classes.len(),
        train = summary.train,
        test = summary.test,
        "wrote CIFAR images"
    );
    Ok(summary)
}

/// Refuses an output directory that exists and is not empty (or is not a directory).
fn check_output_dir(to: &Path) -> Result<()> {
    match fs::read_dir(to) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::InvalidArgument {
                    what: "output directory",
                    message: format!("{} exists and is not empty", to.display()),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::InvalidArgument {
            what: "output directory",
            message: format!("{} exists and is not a readable directory: {e}", to.display()),
        }),
    }
}

fn write_output(to: &Path, summary: &CifarSummary, splits: &[(&str, &[Selected<'_>])]) -> Result<()> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    let tmp = wb_core::temp_sibling(to);
    let written = write_tree(&tmp, summary, splits).and_then(|()| {
        if to.exists() {
            // Checked empty before; `rename` replaces only an empty directory on some systems.
            fs::remove_dir(to).map_err(|e| Error::io("replacing the empty directory", to, e))?;
        }
        fs::rename(&tmp, to).map_err(|e| Error::io("renaming the output into place at", to, e))
    });
    if written.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    written
}

fn write_tree(tmp: &Path, summary: &CifarSummary, splits: &[(&str, &[Selected<'_>])]) -> Result<()> {
    fs::create_dir(tmp).map_err(|e| Error::io("creating", tmp, e))?;
    for (split, images) in splits {
        let dir = tmp.join(split);
        fs::create_dir(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        let mut lst = String::new();
        for (index, image) in images.iter().enumerate() {
            let start = image.row * IMAGE_BYTES;
            write_png(&dir.join(&image.name), &image.batch.data[start..start + IMAGE_BYTES])?;
            lst.push_str(&format!("{index}\t{}\t{split}/{}\n", image.label, image.name));
        }
        let lst_path = tmp.join(format!("{split}.lst"));
        fs::write(&lst_path, lst).map_err(|e| Error::io("writing", &lst_path, e))?;
    }
    #[derive(serde::Serialize)]
    struct ClassesFile<'a> {
        source: &'static str,
        label_kind: &'static str,
        classes: &'a [ClassEntry],
    }
    let file = ClassesFile { source: summary.source.name(), label_kind: summary.label_kind, classes: &summary.classes };
    let classes_path = tmp.join("classes.json");
    let text = serde_json::to_string_pretty(&file).expect("strings and numbers always serialize");
    fs::write(&classes_path, text + "\n").map_err(|e| Error::io("writing", &classes_path, e))
}

// ---- writing ------------------------------------------------------------------------------

/// Number of training batches of the published CIFAR-10 archive.
const TRAIN_BATCHES: usize = 5;

fn check_archive(path: &Path, archive: &CifarArchive) -> Result<()> {
    let file = path.display().to_string();
    if archive.label_names.is_empty() {
        return Err(cifar_error(&file, "the archive needs at least one label name"));
    }
    for (split, images) in [("train", &archive.train), ("test", &archive.test)] {
        let mut names = HashSet::new();
        for (i, image) in images.iter().enumerate() {
            png_name(&file, i, &image.filename)?;
            if image.label as usize >= archive.label_names.len() {
                return Err(cifar_error(
                    &file,
                    format!(
                        "{split} image {i} ({}) has label {}, beyond the {} label names",
                        image.filename,
                        image.label,
                        archive.label_names.len()
                    ),
                ));
            }
            if i32::try_from(image.label).is_err() {
                return Err(cifar_error(&file, format!("{split} image {i} has label {} (too large)", image.label)));
            }
            if !names.insert(image.filename.as_str()) {
                return Err(cifar_error(&file, format!("{split} file name {:?} occurs twice", image.filename)));
            }
        }
    }
    Ok(())
}

fn batch_pickle(images: &[CifarImage], batch_label: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(images.len() * IMAGE_BYTES);
    for image in images {
        data.extend_from_slice(image.pixels.as_slice());
    }
    let mut w = Py2Writer::new();
    w.empty_dict();
    w.mark();
    w.string(b"data");
    w.uint8_matrix(images.len(), IMAGE_BYTES, &data);
    w.string(b"labels");
    w.list(images, |w, image| w.int(i32::try_from(image.label).expect("checked by check_archive")));
    w.string(b"batch_label");
    w.string(batch_label.as_bytes());
    w.string(b"filenames");
    w.list(images, |w, image| w.string(image.filename.as_bytes()));
    w.set_items();
    w.finish()
}

fn meta_pickle(label_names: &[String], per_batch: usize) -> Vec<u8> {
    let mut w = Py2Writer::new();
    w.empty_dict();
    w.mark();
    w.string(b"num_cases_per_batch");
    w.int(i32::try_from(per_batch).unwrap_or(i32::MAX));
    w.string(b"label_names");
    w.list(label_names, |w, name| w.string(name.as_bytes()));
    w.string(b"num_vis");
    w.int(3072);
    w.set_items();
    w.finish()
}

/// Writes `archive` as a `.tar.gz` laid out like the published `cifar-10-python.tar.gz`:
/// `cifar-10-batches-py/` with `data_batch_1` … `data_batch_5` (the training images in order,
/// split into five batches of equal size, the first ones one larger when it does not divide),
/// `test_batch` and `batches.meta` (`label_names`, `num_cases_per_batch`, `num_vis`), each a
/// Python 2 `cPickle` protocol 2 pickle with byte-string keys and the data as a numpy `uint8`
/// array of shape (N, 3072) (`numpy.core.multiarray._reconstruct`).
///
/// The archive is reproducible (entries in that order, mtime 0) and appears at `path` only
/// when complete.
///
/// # Errors
/// [`Error::Cifar`] when there are no label names, a label is beyond them, or a file name is
/// empty, has a path separator or repeats within a split; [`Error::Io`] when writing fails.
pub fn write_archive(path: &Path, archive: &CifarArchive) -> Result<()> {
    check_archive(path, archive)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    let tmp = wb_core::temp_sibling(path);
    let written = write_tar_gz(&tmp, archive)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| Error::io("renaming into place", path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    tracing::info!(path = %path.display(), train = archive.train.len(), test = archive.test.len(), "wrote CIFAR-10-format archive");
    Ok(())
}

fn write_tar_gz(tmp: &Path, archive: &CifarArchive) -> Result<()> {
    let io = |e: std::io::Error| Error::io("writing", tmp, e);
    let file = File::create(tmp).map_err(|e| Error::io("creating", tmp, e))?;
    let gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_mtime(0);
    header.set_size(0);
    tar.append_data(&mut header, "cifar-10-batches-py/", std::io::empty()).map_err(io)?;

    let per_batch = archive.train.len().div_ceil(TRAIN_BATCHES).max(1);
    let mut members = Vec::new();
    let mut chunks = archive.train.chunks(per_batch);
    for n in 1..=TRAIN_BATCHES {
        let chunk = chunks.next().unwrap_or(&[]);
        members
            .push((format!("data_batch_{n}"), batch_pickle(chunk, &format!("training batch {n} of {TRAIN_BATCHES}"))));
    }
    members.push(("test_batch".to_owned(), batch_pickle(&archive.test, "testing batch 1 of 1")));
    members.push(("batches.meta".to_owned(), meta_pickle(&archive.label_names, per_batch)));
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, format!("cifar-10-batches-py/{name}"), bytes.as_slice()).map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?;
    let mut writer = gz.finish().map_err(io)?;
    writer.flush().map_err(io)?;
    writer.get_ref().sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use sha2::Digest as _;

    use super::*;

    /// A distinctive image: R = (i + p) % 256, G = 100 + i, B = p / 32 (its row).
    fn image(i: usize, label: u32) -> CifarImage {
        let mut pixels = Box::new([0_u8; IMAGE_BYTES]);
        for p in 0..PLANE {
            pixels[p] = ((i + p) % 256) as u8;
            pixels[PLANE + p] = 100 + i as u8;
            pixels[2 * PLANE + p] = (p / 32) as u8;
        }
        CifarImage { filename: format!("img_{i}.png"), label, pixels }
    }

    fn sample_archive() -> CifarArchive {
        CifarArchive {
            label_names: vec!["cat".into(), "dog".into(), "emu".into()],
            train: (0..7).map(|i| image(i, (i % 3) as u32)).collect(),
            test: (7..10).map(|i| image(i, (i % 3) as u32)).collect(),
        }
    }

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path).expect("read").lines().map(str::to_owned).collect()
    }

    /// The names in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A field of a hand-made batch pickle.
    enum Field<'a> {
        Ints(&'a [i32]),
        Strs(&'a [&'a str]),
        Matrix(usize, usize, &'a [u8]),
    }

    fn pickle_dict(fields: &[(&str, Field<'_>)]) -> Vec<u8> {
        let mut w = Py2Writer::new();
        w.empty_dict();
        w.mark();
        for (key, field) in fields {
            w.string(key.as_bytes());
            match field {
                Field::Ints(ints) => w.list(ints, |w, &n| w.int(n)),
                Field::Strs(strs) => w.list(strs, |w, s| w.string(s.as_bytes())),
                Field::Matrix(rows, cols, data) => w.uint8_matrix(*rows, *cols, data),
            }
        }
        w.set_items();
        w.finish()
    }

    fn write_tar_gz(path: &Path, members: &[(&str, Vec<u8>)]) {
        let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (name, bytes) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            tar.append(&header, bytes.as_slice()).expect("append");
        }
        let bytes = tar.into_inner().expect("tar").finish().expect("gzip");
        fs::write(path, bytes).expect("write");
    }

    /// A CIFAR-100-like archive: 3 train and 2 test images of 4 fine / 2 coarse classes.
    fn cifar100_members() -> Vec<(&'static str, Vec<u8>)> {
        let train_data: Vec<u8> = (0..3 * IMAGE_BYTES).map(|i| (i / IMAGE_BYTES * 50) as u8).collect();
        let test_data: Vec<u8> = (0..2 * IMAGE_BYTES).map(|i| (200 + i / IMAGE_BYTES) as u8).collect();
        vec![
            (
                "cifar-100-python/train",
                pickle_dict(&[
                    ("filenames", Field::Strs(&["a.png", "b.png", "c.png"])),
                    ("batch_label", Field::Strs(&[])),
                    ("fine_labels", Field::Ints(&[3, 1, 0])),
                    ("coarse_labels", Field::Ints(&[1, 0, 0])),
                    ("data", Field::Matrix(3, IMAGE_BYTES, &train_data)),
                ]),
            ),
            (
                "cifar-100-python/test",
                pickle_dict(&[
                    ("filenames", Field::Strs(&["d.png", "e.png"])),
                    ("fine_labels", Field::Ints(&[1, 2])),
                    ("coarse_labels", Field::Ints(&[0, 1])),
                    ("data", Field::Matrix(2, IMAGE_BYTES, &test_data)),
                ]),
            ),
            (
                "cifar-100-python/meta",
                pickle_dict(&[
                    ("fine_label_names", Field::Strs(&["apple", "bicycle", "cloud", "motorcycle"])),
                    ("coarse_label_names", Field::Strs(&["vehicles", "other"])),
                ]),
            ),
        ]
    }

    /// Asserts that nothing but `expected` is in `dir` (no output, no temporary directory).
    fn assert_only(dir: &Path, expected: &[&str]) {
        assert_eq!(listing(dir), expected.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    }

    #[test]
    fn round_trip_write_archive_then_etl() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("cifar-10-python.tar.gz");
        let archive = sample_archive();
        write_archive(&archive_path, &archive).expect("write");
        let to = dir.path().join("out");

        let summary = etl(&archive_path, &to, &CifarOptions::default()).expect("etl");

        assert_eq!(summary.source, CifarKind::Cifar10);
        assert_eq!(summary.label_kind, "labels");
        assert_eq!((summary.train, summary.test), (7, 3));
        assert_eq!(
            summary.classes.iter().map(|c| (c.index, c.id, c.name.as_str())).collect::<Vec<_>>(),
            vec![(0, 0, "cat"), (1, 1, "dog"), (2, 2, "emu")]
        );
        assert_eq!(listing(&to), ["classes.json", "test", "test.lst", "train", "train.lst"]);
        assert_eq!(
            lines(&to.join("test.lst")),
            ["0\t1\ttest/img_7.png", "1\t2\ttest/img_8.png", "2\t0\ttest/img_9.png"]
        );
        let train = lines(&to.join("train.lst"));
        assert_eq!(train.len(), 7);
        assert_eq!(train[0], "0\t0\ttrain/img_0.png");
        assert_eq!(train[6], "6\t0\ttrain/img_6.png");
        // Every PNG decodes to the planes it came from.
        for (split, images) in [("train", &archive.train), ("test", &archive.test)] {
            for original in images {
                let png = image::open(to.join(split).join(&original.filename)).expect("png").to_rgb8();
                assert_eq!(png.dimensions(), (32, 32));
                for (x, y) in [(0, 0), (31, 0), (0, 31), (5, 17), (31, 31)] {
                    assert_eq!(
                        png.get_pixel(x, y).0,
                        original.rgb(x as usize, y as usize),
                        "{} ({x}, {y})",
                        original.filename
                    );
                }
            }
        }
        // Pixel (5, 17) of image 3: R = (3 + 17 * 32 + 5) % 256, G = 103, B = 17.
        let png = image::open(to.join("train/img_3.png")).expect("png").to_rgb8();
        assert_eq!(png.get_pixel(5, 17).0, [((3 + 17 * 32 + 5) % 256) as u8, 103, 17]);
        let text = fs::read_to_string(to.join("classes.json")).expect("read");
        assert!(
            text.starts_with("{\n  \"source\": \"cifar-10\",\n  \"label_kind\": \"labels\",\n  \"classes\": ["),
            "{text}"
        );
        assert!(text.contains("\"index\": 0,\n      \"id\": 0,\n      \"name\": \"cat\""), "{text}");
        let classes: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(classes["source"], "cifar-10");
        assert_eq!(classes["label_kind"], "labels");
        assert_eq!(classes["classes"][2], serde_json::json!({"index": 2, "id": 2, "name": "emu"}));
        assert_only(dir.path(), &["cifar-10-python.tar.gz", "out"]);
    }

    #[test]
    fn written_archive_has_the_published_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.tar.gz");
        write_archive(&path, &sample_archive()).expect("write");
        let mut tar = tar::Archive::new(GzDecoder::new(File::open(&path).expect("open")));
        let names: Vec<String> = tar
            .entries()
            .expect("entries")
            .map(|e| e.expect("entry").path().expect("path").display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "cifar-10-batches-py/",
                "cifar-10-batches-py/data_batch_1",
                "cifar-10-batches-py/data_batch_2",
                "cifar-10-batches-py/data_batch_3",
                "cifar-10-batches-py/data_batch_4",
                "cifar-10-batches-py/data_batch_5",
                "cifar-10-batches-py/test_batch",
                "cifar-10-batches-py/batches.meta",
            ]
        );
        // The Python 2 form: PROTO 2, EMPTY_DICT, BINPUT 1, MARK, SHORT_BINSTRING 'data', numpy.core.
        let batch = batch_pickle(&sample_archive().train[..2], "training batch 1 of 5");
        assert!(batch.starts_with(b"\x80\x02}q\x01(U\x04dataq\x02cnumpy.core.multiarray\n_reconstruct\n"));
        // 7 images over 5 batches: 2, 2, 2, 1, 0; the same bytes again (reproducible).
        let again = dir.path().join("d.tar.gz");
        write_archive(&again, &sample_archive()).expect("write");
        assert_eq!(fs::read(&path).expect("read"), fs::read(&again).expect("read"));
    }

    #[test]
    fn classes_are_selected_and_remapped_in_the_given_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c.tar.gz");
        write_archive(&archive_path, &sample_archive()).expect("write");
        let to = dir.path().join("out");
        let options = CifarOptions { classes: Some(vec![2, 0]), labels: LabelKind::Fine };

        let summary = etl(&archive_path, &to, &options).expect("etl");

        // Train labels are i % 3 for i in 0..7: class 2 → 0 (images 2, 5), class 0 → 1 (0, 3, 6).
        assert_eq!(
            lines(&to.join("train.lst")),
            [
                "0\t1\ttrain/img_0.png",
                "1\t0\ttrain/img_2.png",
                "2\t1\ttrain/img_3.png",
                "3\t0\ttrain/img_5.png",
                "4\t1\ttrain/img_6.png",
            ]
        );
        assert_eq!(lines(&to.join("test.lst")), ["0\t0\ttest/img_8.png", "1\t1\ttest/img_9.png"]);
        assert_eq!(listing(&to.join("train")), ["img_0.png", "img_2.png", "img_3.png", "img_5.png", "img_6.png"]);
        assert_eq!(summary.classes[0], ClassEntry { index: 0, id: 2, name: "emu".into() });
        assert_eq!(summary.classes[1], ClassEntry { index: 1, id: 0, name: "cat".into() });
    }

    #[test]
    fn an_extracted_directory_reads_like_the_archive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c.tar.gz");
        write_archive(&archive_path, &sample_archive()).expect("write");
        let extracted = dir.path().join("x");
        crate::extract::extract_archive(&archive_path, &extracted).expect("extract");

        let from_dir = etl(&extracted, &dir.path().join("a"), &CifarOptions::default()).expect("etl dir");
        let from_inner =
            etl(&extracted.join("cifar-10-batches-py"), &dir.path().join("b"), &CifarOptions::default()).expect("etl");
        let from_tar = etl(&archive_path, &dir.path().join("c"), &CifarOptions::default()).expect("etl tar");

        assert_eq!((from_dir.train, from_dir.test), (from_tar.train, from_tar.test));
        assert_eq!(from_dir.classes, from_inner.classes);
        for name in ["train.lst", "test.lst", "classes.json", "train/img_4.png"] {
            assert_eq!(
                fs::read(dir.path().join("a").join(name)).ok(),
                fs::read(dir.path().join("c").join(name)).ok(),
                "{name}"
            );
        }
    }

    #[test]
    fn cifar100_fine_and_coarse_labels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("cifar-100-python.tar.gz");
        write_tar_gz(&archive_path, &cifar100_members());

        let fine = etl(
            &archive_path,
            &dir.path().join("fine"),
            &CifarOptions { classes: Some(vec![1, 3]), labels: LabelKind::Fine },
        )
        .expect("fine");
        assert_eq!(fine.source, CifarKind::Cifar100);
        assert_eq!(lines(&dir.path().join("fine/train.lst")), ["0\t1\ttrain/a.png", "1\t0\ttrain/b.png"]);
        assert_eq!(lines(&dir.path().join("fine/test.lst")), ["0\t0\ttest/d.png"]);
        let png = image::open(dir.path().join("fine/train/b.png")).expect("png").to_rgb8();
        assert_eq!(png.get_pixel(9, 9).0, [50, 50, 50]);

        let coarse =
            etl(&archive_path, &dir.path().join("coarse"), &CifarOptions { classes: None, labels: LabelKind::Coarse })
                .expect("coarse");
        assert_eq!(coarse.label_kind, "coarse");
        assert_eq!(coarse.classes.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["vehicles", "other"]);
        assert_eq!(lines(&dir.path().join("coarse/test.lst")), ["0\t0\ttest/d.png", "1\t1\ttest/e.png"]);
        let json = fs::read_to_string(dir.path().join("coarse/classes.json")).expect("read");
        assert!(json.contains("\"source\": \"cifar-100\"") && json.contains("\"label_kind\": \"coarse\""), "{json}");
    }

    #[test]
    fn coarse_labels_of_cifar10_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c.tar.gz");
        write_archive(&archive_path, &sample_archive()).expect("write");
        let err =
            etl(&archive_path, &dir.path().join("out"), &CifarOptions { classes: None, labels: LabelKind::Coarse })
                .expect_err("refused");
        assert!(matches!(err, Error::InvalidArgument { what: "labels", .. }), "{err}");
        assert_only(dir.path(), &["c.tar.gz"]);
    }

    /// Runs `etl` on a CIFAR-100 archive whose member `name` is replaced by `bytes`, expecting
    /// an error and no output; returns the error's text.
    fn etl_error_with(name: &str, bytes: Vec<u8>, options: &CifarOptions) -> (Error, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c100.tar.gz");
        let members: Vec<_> =
            cifar100_members().into_iter().map(|(n, b)| if n == name { (n, bytes.clone()) } else { (n, b) }).collect();
        write_tar_gz(&archive_path, &members);
        let err = etl(&archive_path, &dir.path().join("out"), options).expect_err("must fail");
        assert_only(dir.path(), &["c100.tar.gz"]);
        let text = err.to_string();
        (err, text)
    }

    #[test]
    fn missing_data_key_names_the_member_and_key() {
        let bytes = pickle_dict(&[("filenames", Field::Strs(&["a.png"])), ("fine_labels", Field::Ints(&[0]))]);
        let (err, text) = etl_error_with("cifar-100-python/train", bytes, &CifarOptions::default());
        assert!(matches!(err, Error::Cifar { .. }), "{err:?}");
        assert!(
            text.contains("c100.tar.gz:cifar-100-python/train") && text.contains("key b'data' is missing"),
            "{text}"
        );
    }

    #[test]
    fn rows_of_3071_bytes_are_refused() {
        let data = vec![0_u8; 2 * 3071];
        let bytes = pickle_dict(&[
            ("data", Field::Matrix(2, 3071, &data)),
            ("fine_labels", Field::Ints(&[0, 1])),
            ("coarse_labels", Field::Ints(&[0, 1])),
            ("filenames", Field::Strs(&["d.png", "e.png"])),
        ]);
        let (_, text) = etl_error_with("cifar-100-python/test", bytes, &CifarOptions::default());
        assert!(text.contains("cifar-100-python/test") && text.contains("shape [2, 3071]"), "{text}");
    }

    #[test]
    fn label_and_filename_counts_must_match_the_images() {
        let data = vec![0_u8; 2 * IMAGE_BYTES];
        let labels = pickle_dict(&[
            ("data", Field::Matrix(2, IMAGE_BYTES, &data)),
            ("fine_labels", Field::Ints(&[0])),
            ("filenames", Field::Strs(&["d.png", "e.png"])),
        ]);
        let (_, text) = etl_error_with("cifar-100-python/test", labels, &CifarOptions::default());
        assert!(text.contains("b'fine_labels' has 1 labels for 2 images"), "{text}");
        let names = pickle_dict(&[
            ("data", Field::Matrix(2, IMAGE_BYTES, &data)),
            ("fine_labels", Field::Ints(&[0, 1])),
            ("filenames", Field::Strs(&["d.png", "e.png", "f.png"])),
        ]);
        let (_, text) = etl_error_with("cifar-100-python/test", names, &CifarOptions::default());
        assert!(text.contains("b'filenames' has 3 names for 2 images"), "{text}");
    }

    #[test]
    fn unknown_class_id_names_the_id_and_the_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c100.tar.gz");
        write_tar_gz(&archive_path, &cifar100_members());
        let err = etl(
            &archive_path,
            &dir.path().join("out"),
            &CifarOptions { classes: Some(vec![1, 4]), labels: LabelKind::Fine },
        )
        .expect_err("unknown");
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidArgument { what: "classes", .. }), "{err:?}");
        assert!(text.contains("class id 4") && text.contains("ids 0..=3"), "{text}");
        assert_only(dir.path(), &["c100.tar.gz"]);
    }

    #[test]
    fn path_traversal_and_duplicate_filenames_are_refused() {
        let data = vec![0_u8; 2 * IMAGE_BYTES];
        for (names, expected) in [
            (["../evil.png", "e.png"], "\"../evil.png\" is not a plain file name"),
            (["sub\\evil.png", "e.png"], "is not a plain file name"),
            (["same.png", "same.png"], "occurs twice"),
        ] {
            let bytes = pickle_dict(&[
                ("data", Field::Matrix(2, IMAGE_BYTES, &data)),
                ("fine_labels", Field::Ints(&[0, 1])),
                ("filenames", Field::Strs(&names)),
            ]);
            let (err, text) = etl_error_with("cifar-100-python/test", bytes, &CifarOptions::default());
            assert!(matches!(err, Error::Cifar { .. }), "{err:?}");
            assert!(text.contains(expected), "{text}");
        }
        let mut archive = sample_archive();
        archive.test[0].filename = "../x.png".into();
        let dir = tempfile::tempdir().expect("tempdir");
        let err = write_archive(&dir.path().join("a.tar.gz"), &archive).expect_err("refused");
        assert!(err.to_string().contains("not a plain file name"), "{err}");
        assert_only(dir.path(), &[]);
    }

    #[test]
    fn unknown_global_is_refused_without_running_it() {
        // {b'data': os.system('true')} in protocol 2.
        let bytes = b"\x80\x02}q\x01(U\x04dataq\x02cos\nsystem\nq\x03U\x04trueq\x04\x85Rq\x05u.".to_vec();
        let (err, text) = etl_error_with("cifar-100-python/train", bytes, &CifarOptions::default());
        match err {
            Error::Pickle { file, offset, .. } => {
                assert!(file.ends_with("cifar-100-python/train"), "{file}");
                assert_eq!(offset, 14);
            }
            other => panic!("expected a pickle error, got {other:?}"),
        }
        assert!(text.contains("global os.system is not allowed"), "{text}");
    }

    #[test]
    fn unsafe_archive_entries_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("evil.tar.gz");
        let mut members = cifar100_members();
        members.push(("../evil", b"x".to_vec()));
        write_tar_gz(&archive_path, &members);
        let err = etl(&archive_path, &dir.path().join("out"), &CifarOptions::default()).expect_err("refused");
        assert!(matches!(&err, Error::UnsafeArchiveEntry { entry, .. } if entry == "../evil"), "{err:?}");
        assert_only(dir.path(), &["evil.tar.gz"]);
    }

    #[test]
    fn truncated_gzip_is_an_archive_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c.tar.gz");
        write_archive(&archive_path, &sample_archive()).expect("write");
        let bytes = fs::read(&archive_path).expect("read");
        fs::write(&archive_path, &bytes[..bytes.len() / 2]).expect("truncate");
        let err = etl(&archive_path, &dir.path().join("out"), &CifarOptions::default()).expect_err("truncated");
        assert!(matches!(err, Error::Archive { .. }), "{err:?}");
        assert!(err.to_string().contains("c.tar.gz"), "{err}");
        assert_only(dir.path(), &["c.tar.gz"]);
    }

    #[test]
    fn missing_members_and_non_empty_output_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive_path = dir.path().join("c100.tar.gz");
        let members: Vec<_> = cifar100_members().into_iter().filter(|(n, _)| !n.ends_with("/meta")).collect();
        write_tar_gz(&archive_path, &members);
        let err = etl(&archive_path, &dir.path().join("out"), &CifarOptions::default()).expect_err("no meta");
        assert!(err.to_string().contains("cifar-100 is missing meta"), "{err}");

        write_tar_gz(&archive_path, &cifar100_members());
        let out = dir.path().join("out");
        fs::create_dir(&out).expect("mkdir");
        fs::write(out.join("keep.txt"), "mine").expect("write");
        let err = etl(&archive_path, &out, &CifarOptions::default()).expect_err("non-empty");
        assert!(err.to_string().contains("exists and is not empty"), "{err}");
        assert_eq!(listing(&out), ["keep.txt"]);
        // An existing empty directory is fine.
        fs::remove_file(out.join("keep.txt")).expect("rm");
        etl(&archive_path, &out, &CifarOptions::default()).expect("empty dir is replaced");
        assert!(out.join("train.lst").is_file());
    }

    /// The pickles written by Python (see `tests/fixtures/make_cifar_pickles.py`), in every
    /// form, read to the values recorded in `expected.json`.
    #[test]
    fn python_written_pickles_in_every_form() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar");
        let expected: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join("expected.json")).expect("expected.json")).expect("json");
        let fixtures = expected["fixtures"].as_array().expect("fixtures");
        assert_eq!(fixtures.len(), 7);
        let ints = |key: &str| -> Vec<u32> {
            expected[key].as_array().expect(key).iter().map(|v| v.as_u64().expect("int") as u32).collect()
        };
        let texts = |key: &str| -> Vec<String> {
            expected[key].as_array().expect(key).iter().map(|v| v.as_str().expect("str").to_owned()).collect()
        };
        for fixture in fixtures {
            let name = fixture.as_str().expect("name");
            let bytes = fs::read(dir.join(name)).expect("fixture");
            for key in ["labels", "fine_labels", "coarse_labels"] {
                let batch = parse_batch(name, &bytes, key).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(batch.rows, 4, "{name}");
                assert_eq!(batch.labels, ints(key), "{name} {key}");
                assert_eq!(batch.filenames, texts("filenames"), "{name}");
                assert_eq!(hex::encode(sha2::Sha256::digest(batch.data.as_slice())), expected["data_sha256"], "{name}");
            }
            let value = pickle::load(&bytes).expect("load");
            let batch_label = value.get("batch_label").and_then(|v| v.as_text());
            assert_eq!(batch_label.as_deref(), expected["batch_label"].as_str(), "{name}");
            let Some(Value::List(names)) = value.get("label_names") else { panic!("{name}: label_names") };
            let names: Vec<String> = names
                .borrow()
                .iter()
                .map(|v| match v {
                    Value::Bytes(b) => b.iter().map(|&c| char::from(c)).collect(),
                    other => panic!("{name}: label name is a {}", other.type_name()),
                })
                .collect();
            assert_eq!(names, texts("label_names_latin1"), "{name}");
        }
    }

    #[test]
    fn each_form_is_what_its_name_says() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cifar");
        let read = |name: &str| fs::read(dir.join(name)).expect("fixture");
        let has = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(has(&read("py2_proto2.pkl"), b"cnumpy.core.multiarray\n_reconstruct\n"));
        assert!(has(&read("py2_proto2.pkl"), b"T\x00\x30\x00\x00"), "BINSTRING of 12288 bytes");
        assert!(has(&read("py3_proto2.pkl"), b"c_codecs\nencode\n"));
        assert!(has(&read("py3_proto2.pkl"), b"cnumpy._core.multiarray\n_reconstruct\n"));
        assert!(has(&read("py3_proto2_numpy1.pkl"), b"cnumpy.core.multiarray\n_reconstruct\n"));
        assert!(has(&read("py3_proto4.pkl"), b"\x8c\x16numpy._core.multiarray"));
        assert!(has(&read("py3_proto5.pkl"), b"\x8c\x13numpy._core.numeric\x94\x8c\x0b_frombuffer"));
        assert!(has(&read("py3_proto5_numpy1.pkl"), b"\x8c\x12numpy.core.numeric"));
        assert_eq!(read("py3_proto5.pkl")[1], 5);
    }

    #[test]
    fn gzip_of_garbage_is_an_archive_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.tar.gz");
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(&[7_u8; 2000]).expect("gzip");
        fs::write(&path, gz.finish().expect("gzip")).expect("write");
        let err = etl(&path, &dir.path().join("out"), &CifarOptions::default()).expect_err("garbage");
        assert!(matches!(err, Error::Archive { .. } | Error::Cifar { .. }), "{err:?}");
    }
}

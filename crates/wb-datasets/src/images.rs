//! Image datasets: register once, partition once, into the channels SageMaker's image
//! classifier reads.
//!
//! **Registration** ([`Datasets::register_images`]) reads a directory of PNG and JPEG files
//! (a local directory or a prefix inside the store). Labels come from SageMaker `.lst` manifests
//! (`index<TAB>label<TAB>relative path`, paths relative to the directory; several files are
//! pooled) or, without `.lst` files, from each image's first sub-folder (`cat/1.png` is class
//! `cat`; classes in name order). Class names come from a `classes.json` beside the images
//! when there is one (as `wb etl cifar` writes it), else the label numbers. Every image is
//! decoded once; its content hash, size, format, width, height and colour channels are
//! recorded in `datasets/<name>/images.json`. A corrupt image, a `.lst` line that is not three
//! fields, names a missing file or a label out of range, an image listed twice, and the same
//! image bytes under two classes are refused, naming the file (and line).
//!
//! **Partitioning** (the same [`Datasets::partition`] as tabular data) splits the images once:
//! stratified with exact per-class counts ([`crate::assign`], `wb-stratified-v1`), seeded,
//! verified against the registered hashes while it copies, and recorded in
//! `datasets/<name>/image-manifest.json`. Same inputs, same files, nothing rewritten; different
//! inputs are refused unless a new version is asked for. The store then holds:
//!
//! ```text
//! datasets/<name>/partitions/<pid>/channels/train/<relative path>        application/x-image
//! datasets/<name>/partitions/<pid>/channels/train_lst/train.lst
//! datasets/<name>/partitions/<pid>/channels/validation/<relative path>
//! datasets/<name>/partitions/<pid>/channels/validation_lst/validation.lst
//! datasets/<name>/partitions/<pid>/test/images/<relative path>           never a channel
//! datasets/<name>/partitions/<pid>/test/test.lst
//! datasets/<name>/partitions/<pid>/manifest.json                         this version's manifest
//! ```
//!
//! The `.lst` files list the split's images in registration order, numbered from 0, with the
//! label index and the path relative to the split's image prefix — what SageMaker's built-in
//! image classifier reads from its `train_lst` and `validation_lst` channels.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use wb_core::{ContentHash, DatasetName, DynObjectStore, ObjectPath, ObjectStoreExt, PutMode};

use crate::assign::{self, STRATIFIED_ALGORITHM};
use crate::datasets::Datasets;
use crate::error::{Error, Result};
use crate::layout;
use crate::manifest::FileEntry;
use crate::spec::{PartitionSpec, Split};

/// Format version of `image-manifest.json`.
pub const IMAGE_MANIFEST_FORMAT: u32 = 1;
/// The `.lst` channel of a training split (`train_lst`, `validation_lst`).
pub const LST_SUFFIX: &str = "_lst";
/// The content type of image channels and image requests.
pub const IMAGE_CONTENT_TYPE: &str = "application/x-image";
/// The class-name file `wb etl cifar` writes beside its images.
pub const CLASSES_FILE: &str = "classes.json";
/// Images with more pixels than this are refused at registration (a 8192×8192 photo).
pub const MAX_PIXELS: u64 = 8192 * 8192;
/// Images uploaded at once while partitioning.
const UPLOAD_CONCURRENCY: usize = 16;

/// An image file format the workbench reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

impl ImageFormat {
    /// The name (`png`, `jpeg`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
        }
    }

    /// The MIME type (`image/png`, `image/jpeg`).
    #[must_use]
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    /// The format of `bytes` from their signature, when PNG or JPEG.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }
}

/// The shape of an image as SageMaker's `image_shape` writes it: channels, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageShape {
    /// Colour channels (1 grey, 3 RGB).
    pub channels: u32,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
}

impl fmt::Display for ImageShape {
    /// `channels,height,width` (SageMaker's `image_shape` hyperparameter).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{},{}", self.channels, self.height, self.width)
    }
}

/// One registered image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// Its path relative to the source directory (`/`-separated).
    pub path: String,
    /// Its class index (into [`ImageDatasetRecord::classes`]).
    pub label: u32,
    /// Content hash of its bytes.
    pub hash: ContentHash,
    /// Size in bytes.
    pub size: u64,
    /// File format.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour channels as stored (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA).
    pub channels: u8,
}

/// Where an image dataset's labels came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from")]
pub enum LabelSource {
    /// SageMaker `.lst` manifests (their paths as given).
    Lst {
        /// The manifests.
        files: Vec<String>,
    },
    /// The first sub-folder of each image.
    Folders,
}

/// `datasets/<name>/images.json`: an image dataset's registration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageDatasetRecord {
    /// The dataset's name.
    pub name: DatasetName,
    /// The image directory (`file:///…` or a URI inside the store).
    pub source: String,
    /// Where the labels came from.
    pub labels: LabelSource,
    /// A hash over every image's path, label and content hash, and the class names.
    pub fingerprint: ContentHash,
    /// Total bytes of the images.
    pub size: u64,
    /// Class names, by label index.
    pub classes: Vec<String>,
    /// The one shape of all images (channels as stored, 1 or 3), when they share one.
    pub shape: Option<ImageShape>,
    /// Every image, sorted by path.
    pub images: Vec<ImageEntry>,
    /// Registration version: 1, then +1 per new version.
    pub version: u32,
    /// When it was registered (RFC 3339).
    pub registered_at: String,
}

impl ImageDatasetRecord {
    /// Images per class name.
    #[must_use]
    pub fn class_counts(&self) -> BTreeMap<String, u64> {
        let mut counts: BTreeMap<String, u64> = self.classes.iter().map(|c| (c.clone(), 0)).collect();
        for image in &self.images {
            *counts.entry(self.classes[image.label as usize].clone()).or_default() += 1;
        }
        counts
    }

    /// What differs from `other` (ignoring time and version), for conflict messages.
    #[must_use]
    pub fn differences(&self, other: &Self) -> Vec<String> {
        let mut d = Vec::new();
        if self.source != other.source {
            d.push(format!("source {} vs {}", self.source, other.source));
        }
        if self.labels != other.labels {
            d.push(format!("labels {:?} vs {:?}", self.labels, other.labels));
        }
        if self.classes != other.classes {
            d.push(format!("classes {} vs {}", self.classes.join(","), other.classes.join(",")));
        }
        if self.fingerprint != other.fingerprint {
            d.push(format!(
                "images {} vs {} ({} vs {} files)",
                self.fingerprint,
                other.fingerprint,
                self.images.len(),
                other.images.len()
            ));
        }
        d
    }
}

/// One split of an image partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSplit {
    /// Images in the split.
    pub images: u64,
    /// Images per class name.
    pub class_counts: BTreeMap<String, u64>,
    /// Indexes into the registration's images, in `.lst` order.
    pub members: Vec<u32>,
    /// The prefix holding the split's images (`…/channels/train`, `…/test/images`).
    pub image_prefix: ObjectPath,
    /// Its URI with a trailing `/` (what a SageMaker channel names).
    pub image_prefix_uri: String,
    /// The split's `.lst` manifest.
    pub lst: FileEntry,
}

/// `datasets/<name>/image-manifest.json`: an image dataset's partition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageManifest {
    /// Document format version.
    pub format: u32,
    /// The dataset.
    pub dataset: DatasetName,
    /// Partition version: 1, then +1 per new version.
    pub version: u32,
    /// Fingerprint of every input of the partition.
    pub fingerprint: ContentHash,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// Partition algorithm and version.
    pub algorithm: String,
    /// The registration it was made from.
    pub registration: ImageDatasetRecord,
    /// Proportions, seed, stratification.
    pub spec: PartitionSpec,
    /// The three splits.
    pub splits: BTreeMap<Split, ImageSplit>,
    /// The fingerprint of the version this one replaced.
    pub previous: Option<ContentHash>,
}

/// One image of a split, where the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage<'a> {
    /// The object.
    pub path: ObjectPath,
    /// Its path relative to the split's image prefix (what the `.lst` names).
    pub relative: &'a str,
    /// The registered image.
    pub entry: &'a ImageEntry,
}

impl ImageManifest {
    /// The split's entry.
    ///
    /// # Panics
    /// Never for manifests written by this crate (all three splits are present).
    #[must_use]
    pub fn split(&self, split: Split) -> &ImageSplit {
        &self.splits[&split]
    }

    /// Class names, by label index.
    #[must_use]
    pub fn classes(&self) -> &[String] {
        &self.registration.classes
    }

    /// The images of a split in `.lst` order, with their store paths.
    pub fn images(&self, split: Split) -> impl Iterator<Item = StoredImage<'_>> {
        let s = self.split(split);
        s.members.iter().map(move |&i| {
            let entry = &self.registration.images[i as usize];
            StoredImage { path: child(&s.image_prefix, &entry.path), relative: &entry.path, entry }
        })
    }

    /// The training channels as SageMaker's image classifier names them: `train`,
    /// `validation` (image prefixes) and `train_lst`, `validation_lst` (the `.lst` prefixes),
    /// as store paths. Never the test split.
    #[must_use]
    pub fn channel_prefixes(&self) -> BTreeMap<String, ObjectPath> {
        let mut out = BTreeMap::new();
        for split in [Split::Train, Split::Validation] {
            let s = self.split(split);
            out.insert(split.as_str().to_owned(), s.image_prefix.clone());
            let lst_dir = s
                .lst
                .path
                .as_str()
                .rsplit_once('/')
                .map(|(dir, _)| dir)
                .expect("a .lst file lives in a channel folder");
            let lst_dir = ObjectPath::parse(lst_dir).expect("the parent of an object path is one");
            out.insert(format!("{split}{LST_SUFFIX}"), lst_dir);
        }
        out
    }
}

impl ImageManifest {
    /// [`Self::channel_prefixes`] as URIs with a trailing `/`, as SageMaker channels name them.
    #[must_use]
    pub fn channel_uris(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for split in [Split::Train, Split::Validation] {
            let s = self.split(split);
            out.insert(split.as_str().to_owned(), s.image_prefix_uri.clone());
            let lst_dir = s.lst.uri.rsplit_once('/').map_or(s.lst.uri.as_str(), |(dir, _)| dir);
            out.insert(format!("{split}{LST_SUFFIX}"), format!("{lst_dir}/"));
        }
        out
    }
}

fn child(prefix: &ObjectPath, relative: &str) -> ObjectPath {
    ObjectPath::parse(format!("{prefix}/{relative}")).expect("registered image paths are valid object paths")
}

/// What to register as an image dataset.
#[derive(Clone, Debug)]
pub struct ImageRegisterRequest {
    /// The dataset's name.
    pub name: DatasetName,
    /// The image directory: a local path or a URI inside the store.
    pub images: String,
    /// SageMaker `.lst` manifests with paths relative to the directory (local paths or URIs
    /// inside the store); none: labels from sub-folder names.
    pub lst: Vec<String>,
    /// Replace a registration made with different inputs.
    pub new_version: bool,
}

/// What an image registration did.
#[derive(Clone, Debug)]
pub struct ImageRegistration {
    /// The stored record.
    pub record: ImageDatasetRecord,
    /// False when an identical registration already existed.
    pub created: bool,
}

/// A directory of images: local or inside the store.
#[derive(Clone, Debug)]
enum ImageRoot {
    Local(PathBuf),
    Store(DynObjectStore, ObjectPath),
}

impl ImageRoot {
    fn open(store: &DynObjectStore, given: &str) -> Result<(Self, String)> {
        let bad = |reason: String| Error::BadSource { source_name: given.to_owned(), reason };
        let given_path = given.strip_prefix("file://").unwrap_or(given);
        if given_path.contains("://") {
            let prefix = store.uri().relative_object(given_path.trim_end_matches('/')).ok_or_else(|| {
                bad(format!("only local directories and prefixes inside the store ({}) hold images", store.uri()))
            })?;
            return Ok((Self::Store(store.clone(), prefix), given_path.trim_end_matches('/').to_owned()));
        }
        let path = std::fs::canonicalize(given_path).map_err(|e| bad(e.to_string()))?;
        if !path.is_dir() {
            return Err(bad("not a directory".into()));
        }
        let uri = format!("file://{}", path.display());
        Ok((Self::Local(path), uri))
    }

    /// Every file below the root, as sorted relative paths (hidden files skipped).
    async fn list(&self) -> Result<Vec<String>> {
        match self {
            Self::Local(root) => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    walk(&root, &root, &mut out)?;
                    out.sort();
                    Ok(out)
                })
                .await
                .map_err(|e| Error::data("listing images", e))?
            }
            Self::Store(store, prefix) => {
                let mut out: Vec<String> = store
                    .list(Some(prefix))
                    .await?
                    .into_iter()
                    .filter_map(|m| m.path.as_str().strip_prefix(prefix.as_str())?.strip_prefix('/').map(str::to_owned))
                    .collect();
                out.sort();
                Ok(out)
            }
        }
    }

    async fn read(&self, relative: &str) -> Result<Vec<u8>> {
        match self {
            Self::Local(root) => {
                let path = root.join(relative);
                tokio::fs::read(&path).await.map_err(|e| Error::io("reading", path, e))
            }
            Self::Store(store, prefix) => Ok(store.get(&child(prefix, relative)).await?.bytes.to_vec()),
        }
    }

    async fn read_optional(&self, relative: &str) -> Result<Option<Vec<u8>>> {
        match self.read(relative).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(Error::Core(e)) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))? {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io("reading", &path, e))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let relative = path.strip_prefix(root).expect("walked below the root");
            let parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

fn is_image_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".png") || lower.ends_with(".jpg") || lower.ends_with(".jpeg")
}

/// A relative image path the store can hold (no empty, `.`-leading or backslash segments).
fn check_relative(path: &str) -> std::result::Result<(), String> {
    if path.is_empty() || path.starts_with('/') || path.contains('\\') {
        return Err(format!("{path:?} is not a relative path with / separators"));
    }
    if path.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
        return Err(format!("{path:?} has an empty, `.` or `..` segment"));
    }
    Ok(())
}

/// Reads a `.lst` file: `(line, label, path)` per entry.
fn parse_lst(name: &str, text: &str) -> Result<Vec<(usize, u32, String)>> {
    let bad = |line: usize, reason: String| Error::BadSource { source_name: format!("{name}, line {line}"), reason };
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split('\t').collect();
        if fields.len() != 3 {
            return Err(bad(
                line,
                format!("expected 3 tab-separated fields (index, label, relative path), found {}", fields.len()),
            ));
        }
        fields[0]
            .trim()
            .parse::<u64>()
            .map_err(|_| bad(line, format!("image index {:?} is not a whole number", fields[0])))?;
        let label_text = fields[1].trim();
        let label = label_text
            .parse::<f64>()
            .ok()
            .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v < f64::from(u32::MAX))
            .ok_or_else(|| bad(line, format!("label {label_text:?} is not a class index (0, 1, …)")))?
            as u32;
        let path = fields[2].trim().to_owned();
        check_relative(&path).map_err(|reason| bad(line, reason))?;
        out.push((line, label, path));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ClassesFile {
    classes: Vec<ClassName>,
}

#[derive(Deserialize)]
struct ClassName {
    index: u32,
    name: String,
}

/// Decodes an image fully, returning its format, size and channels.
fn inspect(source: &str, bytes: &[u8]) -> Result<(ImageFormat, u32, u32, u8)> {
    let bad = |reason: String| Error::BadSource { source_name: source.to_owned(), reason };
    let format = ImageFormat::sniff(bytes).ok_or_else(|| bad("not a PNG or JPEG image".into()))?;
    let cannot_decode = |e: image::ImageError| bad(format!("cannot decode the {} image: {e}", format.name()));
    let reader = || {
        image::ImageReader::with_format(
            std::io::Cursor::new(bytes),
            match format {
                ImageFormat::Png => image::ImageFormat::Png,
                ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            },
        )
    };
    // The declared size first: an empty or oversized image is refused before any pixel is
    // decoded (the png crate reports a 0×0 header only as "Invalid image dimensions").
    let (width, height) = match reader().into_dimensions() {
        Ok(size) => size,
        Err(e) => match wb_core::image_header::png_dimensions(bytes) {
            Some((w, h)) if w == 0 || h == 0 => (w, h),
            _ => return Err(cannot_decode(e)),
        },
    };
    if width == 0 || height == 0 {
        return Err(bad(format!("the image is {width}×{height}")));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(bad(format!("the image is {width}×{height}, more than {MAX_PIXELS} pixels")));
    }
    let decoded = reader().decode().map_err(cannot_decode)?;
    Ok((format, width, height, decoded.color().channel_count()))
}

fn fingerprint_of(images: &[ImageEntry], classes: &[String]) -> ContentHash {
    let mut text = String::new();
    for c in classes {
        text.push_str("class\t");
        text.push_str(c);
        text.push('\n');
    }
    for i in images {
        text.push_str(&format!("{}\t{}\t{}\n", i.path, i.label, i.hash));
    }
    ContentHash::of_bytes(text.as_bytes())
}

impl Datasets {
    /// Registers a directory of images as a dataset (see the [module docs](self)).
    ///
    /// Registering the same images and labels again changes nothing; different ones are
    /// refused unless `new_version` is set. A tabular dataset of the same name is refused.
    ///
    /// # Errors
    /// [`Error::BadSource`] naming the file (and `.lst` line) that is wrong,
    /// [`Error::RegistrationConflict`], store and I/O errors.
    pub async fn register_images(&self, request: ImageRegisterRequest) -> Result<ImageRegistration> {
        let store = self.store.clone();
        if store.head(&layout::record_path(&request.name)).await.is_ok() {
            return Err(Error::RegistrationConflict {
                name: request.name.to_string(),
                differences: vec!["it is registered as a tabular dataset".into()],
            });
        }
        let (root, uri) = ImageRoot::open(&store, &request.images)?;
        let files = root.list().await?;
        let present: BTreeSet<&str> = files.iter().map(String::as_str).collect();

        // Class names from classes.json when present.
        let named: Option<Vec<String>> = match root.read_optional(CLASSES_FILE).await? {
            Some(bytes) => {
                let what = format!("{uri}/{CLASSES_FILE}");
                let parsed: ClassesFile = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::BadSource { source_name: what.clone(), reason: e.to_string() })?;
                let count = parsed.classes.len();
                let mut names = vec![String::new(); count];
                for c in parsed.classes {
                    let slot = names.get_mut(c.index as usize).ok_or_else(|| Error::BadSource {
                        source_name: what.clone(),
                        reason: format!("class index {} is out of range for {count} classes", c.index),
                    })?;
                    *slot = c.name;
                }
                Some(names)
            }
            None => None,
        };

        // (relative path, label) for every image, labels as indexes.
        let (labelled, classes, labels): (Vec<(String, u32)>, Vec<String>, LabelSource) = if request.lst.is_empty() {
            let mut folders = BTreeSet::new();
            let mut pairs = Vec::new();
            for f in files.iter().filter(|f| is_image_name(f)) {
                let Some((folder, _)) = f.split_once('/') else {
                    return Err(Error::BadSource {
                        source_name: format!("{uri}/{f}"),
                        reason: "without --lst, every image must sit in a sub-folder named after its class".into(),
                    });
                };
                folders.insert(folder.to_owned());
                pairs.push((f.clone(), folder.to_owned()));
            }
            let classes: Vec<String> = folders.into_iter().collect();
            let index: HashMap<&str, u32> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as u32)).collect();
            let labelled = pairs
                .into_iter()
                .map(|(f, c)| {
                    let l = index[c.as_str()];
                    (f, l)
                })
                .collect();
            (labelled, classes, LabelSource::Folders)
        } else {
            let mut labelled: Vec<(String, u32)> = Vec::new();
            let mut seen: HashMap<String, String> = HashMap::new();
            let mut max_label = 0u32;
            for lst in &request.lst {
                let text = read_text(&store, lst).await?;
                for (line, label, path) in parse_lst(lst, &text)? {
                    let at = format!("{lst}, line {line}");
                    if !present.contains(path.as_str()) {
                        return Err(Error::BadSource {
                            source_name: at,
                            reason: format!("{path} does not exist in {uri}"),
                        });
                    }
                    if let Some(first) = seen.insert(path.clone(), at.clone()) {
                        return Err(Error::BadSource {
                            source_name: at,
                            reason: format!("{path} is already listed at {first}"),
                        });
                    }
                    if let Some(names) = &named
                        && label as usize >= names.len()
                    {
                        return Err(Error::BadSource {
                            source_name: at,
                            reason: format!(
                                "label {label} is out of range: {CLASSES_FILE} names {} classes (0..={})",
                                names.len(),
                                names.len().saturating_sub(1)
                            ),
                        });
                    }
                    max_label = max_label.max(label);
                    labelled.push((path, label));
                }
            }
            if labelled.is_empty() {
                return Err(Error::BadSource {
                    source_name: request.lst.join(", "),
                    reason: "the .lst files list no images".into(),
                });
            }
            let classes = named.clone().unwrap_or_else(|| (0..=max_label).map(|l| l.to_string()).collect());
            (labelled, classes, LabelSource::Lst { files: request.lst.clone() })
        };
        if labelled.is_empty() {
            return Err(Error::BadSource { source_name: uri, reason: "no PNG or JPEG images found".into() });
        }

        // Read, hash and decode every image.
        let root_ref = &root;
        let uri_ref = &uri;
        let mut images: Vec<ImageEntry> = futures::stream::iter(labelled.into_iter().map(|(path, label)| async move {
            let bytes = root_ref.read(&path).await?;
            let what = format!("{uri_ref}/{path}");
            let (hash, size, inspected) = tokio::task::spawn_blocking(move || {
                let inspected = inspect(&what, &bytes);
                (ContentHash::of_bytes(&bytes), bytes.len() as u64, inspected)
            })
            .await
            .map_err(|e| Error::data("decoding images", e))?;
            let (format, width, height, channels) = inspected?;
            Ok::<_, Error>(ImageEntry { path, label, hash, size, format, width, height, channels })
        }))
        .buffer_unordered(UPLOAD_CONCURRENCY)
        .try_collect()
        .await?;
        images.sort_by(|a, b| a.path.cmp(&b.path));

        // The same bytes under two classes is a labelling error.
        let mut by_hash: HashMap<ContentHash, &ImageEntry> = HashMap::new();
        for image in &images {
            if let Some(first) = by_hash.insert(image.hash, image)
                && first.label != image.label
            {
                return Err(Error::BadSource {
                    source_name: format!("{uri}/{}", image.path),
                    reason: format!(
                        "the same image as {} is labelled {:?} there and {:?} here",
                        first.path, classes[first.label as usize], classes[image.label as usize]
                    ),
                });
            }
        }
        let duplicates = images.len() - by_hash.len();
        if duplicates > 0 {
            tracing::warn!(dataset = %request.name, duplicates, "images with identical bytes (same class) are registered more than once");
        }
        let shape = {
            let mut shapes = images.iter().map(|i| (if i.channels >= 3 { 3u32 } else { 1 }, i.height, i.width));
            let first = shapes.next();
            first.filter(|f| shapes.all(|s| s == *f)).map(|(channels, height, width)| ImageShape {
                channels,
                height,
                width,
            })
        };
        let mut record = ImageDatasetRecord {
            name: request.name.clone(),
            source: uri,
            labels,
            fingerprint: fingerprint_of(&images, &classes),
            size: images.iter().map(|i| i.size).sum(),
            classes,
            shape,
            images,
            version: 1,
            registered_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let path = layout::image_record_path(&request.name);
        match store.get_json::<ImageDatasetRecord>(&path).await {
            Ok((existing, etag)) => {
                let differences = existing.differences(&record);
                if differences.is_empty() {
                    return Ok(ImageRegistration { record: existing, created: false });
                }
                if !request.new_version {
                    return Err(Error::RegistrationConflict { name: request.name.to_string(), differences });
                }
                record.version = existing.version + 1;
                store.put_json(&path, &record, PutMode::Update(etag)).await?;
            }
            Err(e) if e.is_not_found() => {
                store.put_json(&path, &record, PutMode::Create).await?;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(dataset = %record.name, images = record.images.len(), classes = record.classes.len(), "registered images");
        Ok(ImageRegistration { record, created: true })
    }

    /// The registration of an image dataset.
    ///
    /// # Errors
    /// [`Error::UnknownDataset`] when no image dataset of that name is registered.
    pub async fn image_record(&self, name: &DatasetName) -> Result<ImageDatasetRecord> {
        match self.store.get_json(&layout::image_record_path(name)).await {
            Ok((record, _)) => Ok(record),
            Err(e) if e.is_not_found() => Err(Error::UnknownDataset { name: name.to_string() }),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `name` is a registered image dataset.
    ///
    /// # Errors
    /// Store errors other than "not found".
    pub async fn is_image_dataset(&self, name: &DatasetName) -> Result<bool> {
        match self.store.head(&layout::image_record_path(name)).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Partitions a registered image dataset once (see the [module docs](self)): the same
    /// inputs again change nothing; different ones are refused unless `new_version` is set.
    ///
    /// # Errors
    /// [`Error::UnknownDataset`], [`Error::InvalidSpec`], [`Error::ClassTooSmall`],
    /// [`Error::PartitionConflict`], [`Error::SourceChanged`] naming the image, store errors.
    pub async fn partition_images(
        &self,
        name: &DatasetName,
        spec: PartitionSpec,
        new_version: bool,
    ) -> Result<ImagePartitionOutcome> {
        spec.validate()?;
        self.image_record(name).await?;
        partition_images(self.store.clone(), name, spec, new_version).await
    }

    /// The partition manifest of an image dataset.
    ///
    /// # Errors
    /// [`Error::UnknownDataset`] or [`Error::NotPartitioned`].
    pub async fn open_images(&self, name: &DatasetName) -> Result<ImageManifest> {
        match self.store.get_json::<ImageManifest>(&layout::image_manifest_path(name)).await {
            Ok((manifest, _)) => Ok(manifest),
            Err(e) if e.is_not_found() => {
                self.image_record(name).await?;
                Err(Error::NotPartitioned { name: name.to_string() })
            }
            Err(e) => Err(e.into()),
        }
    }
}

async fn read_text(store: &DynObjectStore, given: &str) -> Result<String> {
    let bad = |reason: String| Error::BadSource { source_name: given.to_owned(), reason };
    let given_path = given.strip_prefix("file://").unwrap_or(given);
    let bytes = if given_path.contains("://") {
        let object = store
            .uri()
            .relative_object(given_path)
            .ok_or_else(|| bad(format!("not inside the store {}", store.uri())))?;
        store.get(&object).await?.bytes.to_vec()
    } else {
        tokio::fs::read(given_path).await.map_err(|e| bad(e.to_string()))?
    };
    String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))
}

/// Everything that determines an image partition's bytes.
fn image_partition_fingerprint(record: &ImageDatasetRecord, spec: &PartitionSpec) -> ContentHash {
    let canonical = serde_json::json!({
        "image_manifest_format": IMAGE_MANIFEST_FORMAT,
        "algorithm": STRATIFIED_ALGORITHM,
        "spec": spec,
        "images": record.fingerprint,
        "classes": record.classes,
    });
    ContentHash::of_bytes(canonical.to_string().as_bytes())
}

fn input_differences(manifest: &ImageManifest, record: &ImageDatasetRecord, spec: &PartitionSpec) -> Vec<String> {
    let mut d = Vec::new();
    let (a, b) = (&manifest.spec, spec);
    if a.seed != b.seed {
        d.push(format!("seed {} vs {}", a.seed, b.seed));
    }
    if a.proportions() != b.proportions() {
        d.push(format!(
            "proportions {}/{}/{} vs {}/{}/{}",
            a.train, a.validation, a.test, b.train, b.validation, b.test
        ));
    }
    if a.stratify != b.stratify {
        d.push(format!("stratify {} vs {}", a.stratify, b.stratify));
    }
    d.extend(manifest.registration.differences(record));
    d
}

/// What an image partition run did.
#[derive(Clone, Debug)]
pub struct ImagePartitionOutcome {
    /// The dataset's manifest (new, or the existing one when nothing changed).
    pub manifest: ImageManifest,
    /// False when an identical partition already existed and nothing was written.
    pub created: bool,
}

async fn partition_images(
    store: DynObjectStore,
    name: &DatasetName,
    spec: PartitionSpec,
    new_version: bool,
) -> Result<ImagePartitionOutcome> {
    let (record, _) = store.get_json::<ImageDatasetRecord>(&layout::image_record_path(name)).await?;
    let fingerprint = image_partition_fingerprint(&record, &spec);
    let manifest_path = layout::image_manifest_path(name);
    let existing = match store.get_json::<ImageManifest>(&manifest_path).await {
        Ok(found) => Some(found),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    if let Some((manifest, _)) = &existing {
        if manifest.fingerprint == fingerprint {
            tracing::info!(dataset = %name, "already partitioned with the same inputs; nothing to do");
            return Ok(ImagePartitionOutcome { manifest: manifest.clone(), created: false });
        }
        if !new_version {
            return Err(Error::PartitionConflict {
                name: name.to_string(),
                differences: input_differences(manifest, &record, &spec),
            });
        }
    }

    // Assign splits.
    let k = record.classes.len();
    let labels: Vec<u32> = record.images.iter().map(|i| if spec.stratify { i.label } else { 0 }).collect();
    let needed = spec.proportions().iter().filter(|p| **p > 0.0).count();
    let mut per_class = vec![0u64; if spec.stratify { k } else { 1 }];
    for &l in &labels {
        per_class[l as usize] += 1;
    }
    if spec.stratify {
        if let Some((c, &n)) = per_class.iter().enumerate().find(|(_, n)| (**n as usize) < needed) {
            return Err(Error::ClassTooSmall {
                target: "label".into(),
                class: record.classes[c].clone(),
                rows: n,
                splits: needed,
            });
        }
    } else if (record.images.len()) < needed {
        return Err(Error::ClassTooSmall {
            target: "label".into(),
            class: "(all)".into(),
            rows: record.images.len() as u64,
            splits: needed,
        });
    }
    let assigned = assign::stratified(&labels, per_class.len(), spec.proportions(), spec.seed);

    let pid = fingerprint.short(16);
    let prefix = layout::partition_prefix(name, &pid);
    tracing::info!(dataset = %name, partition = %pid, images = record.images.len(), "partitioning images");
    let (root, _) = ImageRoot::open(&store, &record.source)?;
    let mut splits = BTreeMap::new();
    for split in Split::ALL {
        let members: Vec<u32> = assigned
            .iter()
            .enumerate()
            .filter(|(_, s)| usize::from(**s) == split.index())
            .map(|(i, _)| i as u32)
            .collect();
        let (image_prefix, lst_path) = layout::image_split_paths(&prefix, split);
        // Copy the images, verifying each against its registered hash.
        let root_ref = &root;
        let store_ref = &store;
        let record_ref = &record;
        let prefix_ref = &image_prefix;
        futures::stream::iter(members.iter().map(|&i| async move {
            let entry = &record_ref.images[i as usize];
            let bytes = root_ref.read(&entry.path).await?;
            let now = ContentHash::of_bytes(&bytes);
            if now != entry.hash {
                return Err(Error::SourceChanged {
                    name: record_ref.name.to_string(),
                    source_name: format!("{}/{}", record_ref.source, entry.path),
                    registered: entry.hash.to_string(),
                    now: now.to_string(),
                });
            }
            // Same inputs, same prefix, same bytes: an identical run writing the same object
            // is harmless.
            store_ref.put_opts(&child(prefix_ref, &entry.path), bytes.into(), PutMode::Overwrite).await?;
            Ok(())
        }))
        .buffer_unordered(UPLOAD_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        let mut lst = String::new();
        let mut class_counts: BTreeMap<String, u64> = record.classes.iter().map(|c| (c.clone(), 0)).collect();
        for (n, &i) in members.iter().enumerate() {
            let entry = &record.images[i as usize];
            lst.push_str(&format!("{n}\t{}\t{}\n", entry.label, entry.path));
            *class_counts.entry(record.classes[entry.label as usize].clone()).or_default() += 1;
        }
        let lst_bytes = lst.into_bytes();
        let lst_entry = FileEntry {
            uri: store.uri().object_uri(&lst_path),
            path: lst_path.clone(),
            hash: ContentHash::of_bytes(&lst_bytes),
            size: lst_bytes.len() as u64,
            rows: members.len() as u64,
        };
        store.put_opts(&lst_path, lst_bytes.into(), PutMode::Overwrite).await?;
        splits.insert(
            split,
            ImageSplit {
                images: members.len() as u64,
                class_counts,
                members,
                image_prefix_uri: format!("{}/", store.uri().object_uri(&image_prefix)),
                image_prefix,
                lst: lst_entry,
            },
        );
    }
    let manifest = ImageManifest {
        format: IMAGE_MANIFEST_FORMAT,
        dataset: name.clone(),
        version: existing.as_ref().map_or(1, |(m, _)| m.version + 1),
        fingerprint,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        algorithm: STRATIFIED_ALGORITHM.into(),
        registration: record,
        spec,
        splits,
        previous: existing.as_ref().map(|(m, _)| m.fingerprint),
    };
    store.put_json(&layout::version_manifest(&prefix), &manifest, PutMode::Overwrite).await?;
    let mode = match &existing {
        Some((_, etag)) => PutMode::Update(etag.clone()),
        None => PutMode::Create,
    };
    match store.put_json(&manifest_path, &manifest, mode).await {
        Ok(_) => Ok(ImagePartitionOutcome { manifest, created: true }),
        Err(e) if e.is_already_exists() || e.is_precondition_failed() => {
            let (winner, _) = store.get_json::<ImageManifest>(&manifest_path).await?;
            if winner.fingerprint == manifest.fingerprint {
                return Ok(ImagePartitionOutcome { manifest: winner, created: false });
            }
            let mut differences = input_differences(&winner, &manifest.registration, &spec);
            differences.insert(0, "another partition run committed first".into());
            Err(Error::PartitionConflict { name: name.to_string(), differences })
        }
        Err(e) => Err(e.into()),
    }
}

/// Every object an image manifest references (images and `.lst` files).
#[must_use]
pub fn manifest_objects(manifest: &ImageManifest) -> Vec<ObjectPath> {
    let mut out = Vec::new();
    for split in Split::ALL {
        out.extend(manifest.images(split).map(|i| i.path));
        out.push(manifest.split(split).lst.path.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lst_lines_are_checked_with_line_numbers() {
        let ok = parse_lst("a.lst", "0\t1\ttrain/x.png\n1\t0.0\ttrain/y.png\n\n").expect("valid");
        assert_eq!(ok, vec![(1, 1, "train/x.png".to_owned()), (2, 0, "train/y.png".to_owned())]);
        let err = parse_lst("a.lst", "0\t1\tx.png\n1 0 y.png\n").expect_err("spaces").to_string();
        assert!(err.contains("a.lst, line 2") && err.contains("3 tab-separated fields"), "{err}");
        let err = parse_lst("a.lst", "0\t-1\tx.png\n").expect_err("negative").to_string();
        assert!(err.contains("label \"-1\""), "{err}");
        let err = parse_lst("a.lst", "0\t1.5\tx.png\n").expect_err("fraction").to_string();
        assert!(err.contains("1.5"), "{err}");
        let err = parse_lst("a.lst", "0\t1\t../x.png\n").expect_err("escape").to_string();
        assert!(err.contains("segment"), "{err}");
    }

    #[test]
    fn formats_are_sniffed_from_signatures() {
        assert_eq!(ImageFormat::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::sniff(b"GIF89a"), None);
    }

    #[test]
    fn shapes_print_as_sagemaker_image_shape() {
        assert_eq!(ImageShape { channels: 3, height: 32, width: 28 }.to_string(), "3,32,28");
    }
}

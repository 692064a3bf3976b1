//! Safe extraction of zip, tar and tar.gz archives.
//!
//! [`extract_archive`] reads the archive twice. The first pass checks every entry and writes
//! nothing; the second pass writes regular files and directories. An entry is refused (with
//! [`Error::UnsafeArchiveEntry`]) when its name
//! - is absolute (`/etc/passwd`, `\\server\share`) or has a drive prefix (`C:`),
//! - contains a `..` component, or a NUL byte, or is not UTF-8,
//!
//! or when it is a symbolic link, hard link, device, FIFO or any other special entry, or when
//! its path would pass through a symbolic link that already exists in the destination. So a
//! malicious archive leaves the destination untouched.
//!
//! Archives are also bounded, before anything is written, by [`ExtractLimits`]: the number of
//! entries, the size of one entry, the total size, and the compression ratio (a zip bomb
//! inflates a megabyte into gigabytes). Zip entries are checked against the sizes their
//! directory declares, and again while they are written, so an entry that inflates past its
//! declared size stops the extraction and what it wrote is removed.
//!
//! Extracted files get the process's default permissions (the umask applies); only the
//! executable bits of entries that are executable by their owner are kept. Ownership,
//! timestamps, set-id and sticky bits are not restored. Existing files of the same name are
//! overwritten.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//!
//! let report = wb_etl::extract::extract_archive(Path::new("data/dataset.zip"), Path::new("data/raw"))?;
//! println!("{} files, {} bytes", report.files.len(), report.bytes);
//! # Ok::<(), wb_etl::Error>(())
//! ```

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

use crate::error::{Error, Result};

/// Bounds on what an archive may inflate to. The defaults suit datasets (CIFAR-100 is 161 MB
/// compressed, 185 MB extracted); raise them for bigger archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExtractLimits {
    /// Most bytes all entries may total (default 8 GiB).
    pub max_total_bytes: u64,
    /// Most bytes one entry may hold (default 4 GiB).
    pub max_entry_bytes: u64,
    /// Most entries (default 1,000,000).
    pub max_entries: u64,
    /// Largest ratio of extracted to compressed size (default 200), checked per zip entry and
    /// for a whole gzip-compressed tar, once the inflated size passes 1 MiB (small files of
    /// repeated bytes legitimately compress more).
    pub max_ratio: u64,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self { max_total_bytes: 8 << 30, max_entry_bytes: 4 << 30, max_entries: 1_000_000, max_ratio: 200 }
    }
}

/// Below this many inflated bytes the ratio is not checked.
const RATIO_FLOOR: u64 = 1 << 20;

/// Tallies entries against [`ExtractLimits`].
struct Budget<'a> {
    limits: &'a ExtractLimits,
    archive: &'a Path,
    entries: u64,
    total: u64,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a ExtractLimits, archive: &'a Path) -> Self {
        Self { limits, archive, entries: 0, total: 0 }
    }

    fn over(&self, what: String, limit: &str) -> Error {
        archive_error(self.archive, format!("{what}, over the limit of {limit} (raise it with the extraction limits)"))
    }

    /// Counts an entry of `size` inflated bytes from `compressed` bytes (`None` when the
    /// format has no per-entry compression).
    fn add(&mut self, name: &str, size: u64, compressed: Option<u64>) -> Result<()> {
        let l = self.limits;
        self.entries += 1;
        if self.entries > l.max_entries {
            return Err(self.over(format!("the archive has more than {} entries", l.max_entries), "--max-entries"));
        }
        if size > l.max_entry_bytes {
            return Err(self.over(
                format!("entry {name:?} is {size} bytes"),
                &format!("{} bytes per entry (--max-entry-bytes)", l.max_entry_bytes),
            ));
        }
        if let Some(compressed) = compressed
            && size > RATIO_FLOOR
            && size / compressed.max(1) > l.max_ratio
        {
            return Err(self.over(
                format!("entry {name:?} inflates {compressed} bytes to {size} (ratio {})", size / compressed.max(1)),
                &format!("ratio {} (--max-ratio)", l.max_ratio),
            ));
        }
        self.total = self.total.saturating_add(size);
        if self.total > l.max_total_bytes {
            return Err(self.over(format!("the entries total more than {} bytes", l.max_total_bytes), "--max-bytes"));
        }
        Ok(())
    }

    /// Checks the whole archive's ratio (a gzip-compressed tar).
    fn check_ratio(&self, compressed: u64) -> Result<()> {
        if self.total > RATIO_FLOOR && self.total / compressed.max(1) > self.limits.max_ratio {
            return Err(self.over(
                format!(
                    "the archive inflates {compressed} bytes to {} (ratio {})",
                    self.total,
                    self.total / compressed.max(1)
                ),
                &format!("ratio {} (--max-ratio)", self.limits.max_ratio),
            ));
        }
        Ok(())
    }
}

/// What [`extract_archive`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExtractReport {
    /// The regular files written, as `dest` joined with the entry's path, in archive order.
    pub files: Vec<PathBuf>,
    /// The total size of the files written, in bytes.
    pub bytes: u64,
}

/// The archive formats [`extract_archive`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// A zip archive (stored or deflated entries).
    Zip,
    /// A gzip-compressed tar archive (`.tar.gz`, `.tgz`).
    TarGz,
    /// An uncompressed tar archive.
    Tar,
}

impl ArchiveFormat {
    /// Guesses the format from the file name (`.zip`, `.tar.gz`, `.tgz`, `.tar`, any case).
    #[must_use]
    pub fn from_file_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(Self::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if name.ends_with(".tar") {
            Some(Self::Tar)
        } else {
            None
        }
    }

    /// Guesses the format from the first bytes of the file: the zip local-header or
    /// empty-archive signature, the gzip magic number (assumed to wrap a tar archive), or the
    /// `ustar` magic at offset 257.
    #[must_use]
    pub fn from_magic(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(Self::Zip)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Self::TarGz)
        } else if head.get(257..262) == Some(b"ustar") {
            Some(Self::Tar)
        } else {
            None
        }
    }

    /// The format of `archive`: from its name, else from its first bytes.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Archive`] when neither its name nor
    /// its content reveals a supported format.
    pub fn detect(archive: &Path) -> Result<Self> {
        if let Some(format) = Self::from_file_name(archive) {
            return Ok(format);
        }
        let file = File::open(archive).map_err(|e| Error::io("opening", archive, e))?;
        let mut head = Vec::with_capacity(512);
        file.take(512).read_to_end(&mut head).map_err(|e| Error::io("reading", archive, e))?;
        Self::from_magic(&head).ok_or_else(|| Error::Archive {
            archive: archive.to_path_buf(),
            message: "unsupported archive format (expected zip, tar or tar.gz)".to_owned(),
        })
    }
}

/// Extracts `archive` (zip, tar or tar.gz; see [`ArchiveFormat::detect`]) into the directory
/// `dest`, creating it when needed, after checking every entry.
///
/// See the [module documentation](self) for what is refused.
///
/// # Errors
/// - [`Error::UnsafeArchiveEntry`] naming the first unsafe entry; nothing has been written.
/// - [`Error::Archive`] when the format is unsupported, the archive is malformed or encrypted,
///   or an entry is both a file and a directory (nothing has been written unless the archive
///   turns out to be corrupt during the second pass).
/// - [`Error::Io`] when a file cannot be read or written.
pub fn extract_archive(archive: &Path, dest: &Path) -> Result<ExtractReport> {
    extract_archive_with(archive, dest, &ExtractLimits::default())
}

/// [`extract_archive`] within `limits`.
///
/// # Errors
/// As [`extract_archive`]; [`Error::Archive`] naming the limit an archive exceeds, before
/// anything is written (or, for a zip entry that inflates past its declared size, after
/// removing what the extraction wrote).
pub fn extract_archive_with(archive: &Path, dest: &Path, limits: &ExtractLimits) -> Result<ExtractReport> {
    let format = ArchiveFormat::detect(archive)?;
    tracing::debug!(archive = %archive.display(), dest = %dest.display(), ?format, "extracting");
    let report = match format {
        ArchiveFormat::Zip => extract_zip(archive, dest, limits)?,
        ArchiveFormat::TarGz | ArchiveFormat::Tar => {
            extract_tar(archive, dest, format == ArchiveFormat::TarGz, limits)?
        }
    };
    tracing::info!(
        archive = %archive.display(),
        dest = %dest.display(),
        files = report.files.len(),
        bytes = report.bytes,
        "extracted archive"
    );
    Ok(report)
}

/// What an entry becomes on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    /// A regular file, with the entry's Unix mode when it has one.
    File(Option<u32>),
    /// Metadata (a pax global header): nothing to write.
    Skip,
}

/// An entry that passed the checks.
#[derive(Debug)]
struct Checked {
    /// The entry's safe path relative to the destination (empty for the root directory).
    rel: PathBuf,
    kind: Kind,
}

/// Collects the paths of checked entries to find entries that are both a file and a directory.
#[derive(Default)]
struct Layout {
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
}

impl Layout {
    fn add(&mut self, checked: &Checked) {
        if let Kind::File(_) = checked.kind {
            self.files.insert(checked.rel.clone());
        } else if checked.kind == Kind::Dir {
            self.dirs.insert(checked.rel.clone());
        }
        let mut parent = checked.rel.parent();
        while let Some(dir) = parent.filter(|p| !p.as_os_str().is_empty()) {
            if !self.dirs.insert(dir.to_path_buf()) {
                break;
            }
            parent = dir.parent();
        }
    }

    fn check(&self, archive: &Path) -> Result<()> {
        match self.files.intersection(&self.dirs).next() {
            Some(both) => Err(Error::Archive {
                archive: archive.to_path_buf(),
                message: format!("entry {:?} is both a file and a directory", both.display().to_string()),
            }),
            None => Ok(()),
        }
    }
}

fn unsafe_entry(archive: &Path, entry: &str, reason: impl Into<String>) -> Error {
    Error::UnsafeArchiveEntry { archive: archive.to_path_buf(), entry: entry.to_owned(), reason: reason.into() }
}

fn archive_error(archive: &Path, message: impl Into<String>) -> Error {
    Error::Archive { archive: archive.to_path_buf(), message: message.into() }
}

/// Turns an entry name into a path relative to the destination, or says why it is unsafe.
///
/// Both `/` and `\` separate components, so a name crafted for Windows cannot escape either.
fn safe_relative_path(name: &str) -> std::result::Result<PathBuf, &'static str> {
    if name.contains('\0') {
        return Err("the name contains a NUL byte");
    }
    if name.starts_with(['/', '\\']) {
        return Err("the path is absolute");
    }
    let mut rel = PathBuf::new();
    for (i, component) in name.split(['/', '\\']).enumerate() {
        match component {
            "" | "." => {}
            ".." => return Err("the path contains `..`"),
            c if i == 0 && has_drive_prefix(c) => return Err("the path has a drive prefix"),
            c => rel.push(c),
        }
    }
    // Defence in depth: the platform's own parser must see nothing but plain names.
    if rel.components().all(|c| matches!(c, Component::Normal(_))) {
        Ok(rel)
    } else {
        Err("the path is not a plain relative path")
    }
}

fn has_drive_prefix(component: &str) -> bool {
    let bytes = component.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Refuses a path that would pass through a symbolic link already present in `dest`.
fn check_no_symlink_in_dest(dest: &Path, rel: &Path) -> std::result::Result<(), String> {
    let mut current = dest.to_path_buf();
    for component in rel.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link in the destination", current.display()));
            }
            Ok(_) => {}
            // Nothing exists below a missing path.
            Err(_) => break,
        }
    }
    Ok(())
}

/// Checks one entry; `name` is its path in the archive, `kind` what it would become.
fn check_entry(archive: &Path, dest: &Path, name: &str, kind: Kind) -> Result<Checked> {
    if kind == Kind::Skip {
        return Ok(Checked { rel: PathBuf::new(), kind });
    }
    let rel = safe_relative_path(name).map_err(|reason| unsafe_entry(archive, name, reason))?;
    if rel.as_os_str().is_empty() {
        return match kind {
            // `./` names the destination itself.
            Kind::Dir => Ok(Checked { rel, kind }),
            _ => Err(unsafe_entry(archive, name, "the entry has an empty name")),
        };
    }
    check_no_symlink_in_dest(dest, &rel).map_err(|reason| unsafe_entry(archive, name, reason))?;
    Ok(Checked { rel, kind })
}

/// Writes one checked entry; returns the file written and its size, if it is a file.
fn write_entry(dest: &Path, checked: &Checked, content: &mut dyn Read) -> Result<Option<(PathBuf, u64)>> {
    let target = dest.join(&checked.rel);
    match checked.kind {
        Kind::Skip => Ok(None),
        Kind::Dir => {
            fs::create_dir_all(&target).map_err(|e| Error::io("creating", &target, e))?;
            Ok(None)
        }
        Kind::File(mode) => {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
            }
            let mut file = File::create(&target).map_err(|e| Error::io("creating", &target, e))?;
            let bytes = match io::copy(content, &mut file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    drop(file);
                    let _ = fs::remove_file(&target);
                    return Err(Error::io("writing", &target, e));
                }
            };
            if let Some(mode) = mode {
                keep_executable_bits(&file, mode).map_err(|e| Error::io("setting permissions of", &target, e))?;
            }
            Ok(Some((target, bytes)))
        }
    }
}

/// Makes `file` executable where it is readable when the entry was executable by its owner.
#[cfg(unix)]
fn keep_executable_bits(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if mode & 0o100 == 0 {
        return Ok(());
    }
    let mut permissions = file.metadata()?.permissions();
    let current = permissions.mode() & 0o777;
    permissions.set_mode(current | ((current & 0o444) >> 2));
    file.set_permissions(permissions)
}

#[cfg(not(unix))]
fn keep_executable_bits(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// The files an extraction has written so far: removed when it fails part-way (dropped
/// without [`Written::finish`]).
#[derive(Default)]
struct Written {
    report: ExtractReport,
    finished: bool,
}

impl Written {
    fn add(&mut self, written: Option<(PathBuf, u64)>) {
        if let Some((path, bytes)) = written {
            self.report.files.push(path);
            self.report.bytes += bytes;
        }
    }

    fn finish(mut self) -> ExtractReport {
        self.finished = true;
        std::mem::take(&mut self.report)
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        if !self.finished {
            for file in &self.report.files {
                let _ = fs::remove_file(file);
            }
        }
    }
}

// ---- tar ----------------------------------------------------------------------------------

fn open_tar(archive: &Path, gzip: bool) -> Result<tar::Archive<Box<dyn Read>>> {
    let file = File::open(archive).map_err(|e| Error::io("opening", archive, e))?;
    let reader: Box<dyn Read> =
        if gzip { Box::new(GzDecoder::new(BufReader::new(file))) } else { Box::new(BufReader::new(file)) };
    Ok(tar::Archive::new(reader))
}

/// The name of a tar entry (long GNU and pax names included).
fn tar_entry_name<R: Read>(archive: &Path, entry: &tar::Entry<'_, R>) -> Result<String> {
    let bytes = entry.path_bytes();
    String::from_utf8(bytes.to_vec())
        .map_err(|_| unsafe_entry(archive, &String::from_utf8_lossy(&bytes), "the name is not valid UTF-8"))
}

fn tar_kind(archive: &Path, name: &str, header: &tar::Header) -> Result<Kind> {
    let ty = header.entry_type();
    if ty.is_dir() {
        Ok(Kind::Dir)
    } else if ty.is_file() || ty.is_contiguous() || ty.is_gnu_sparse() {
        if name.ends_with('/') {
            // Pre-POSIX tar marks directories with a trailing slash on a regular entry.
            Ok(Kind::Dir)
        } else {
            Ok(Kind::File(header.mode().ok()))
        }
    } else if ty.is_pax_global_extensions() {
        Ok(Kind::Skip)
    } else if ty.is_symlink() {
        Err(unsafe_entry(archive, name, "symbolic links are not extracted"))
    } else if ty.is_hard_link() {
        Err(unsafe_entry(archive, name, "hard links are not extracted"))
    } else if ty.is_character_special() || ty.is_block_special() {
        Err(unsafe_entry(archive, name, "device files are not extracted"))
    } else if ty.is_fifo() {
        Err(unsafe_entry(archive, name, "FIFOs are not extracted"))
    } else {
        Err(unsafe_entry(archive, name, format!("entry type {:?} is not extracted", char::from(ty.as_byte()))))
    }
}

/// Checks one entry of a tar archive that is read without being extracted (the CIFAR reader
/// streams members into memory) by the same rules as [`extract_archive`]: a safe relative name,
/// no links, devices or other special entries.
///
/// Returns the entry's safe relative path for a regular file, `None` for a directory or
/// metadata entry.
pub(crate) fn check_streamed_tar_entry<R: Read>(archive: &Path, entry: &tar::Entry<'_, R>) -> Result<Option<PathBuf>> {
    let name = tar_entry_name(archive, entry)?;
    let kind = tar_kind(archive, &name, entry.header())?;
    if kind == Kind::Skip {
        return Ok(None);
    }
    let rel = safe_relative_path(&name).map_err(|reason| unsafe_entry(archive, &name, reason))?;
    match kind {
        Kind::File(_) if rel.as_os_str().is_empty() => Err(unsafe_entry(archive, &name, "the entry has an empty name")),
        Kind::File(_) => Ok(Some(rel)),
        Kind::Dir | Kind::Skip => Ok(None),
    }
}

fn extract_tar(archive: &Path, dest: &Path, gzip: bool, limits: &ExtractLimits) -> Result<ExtractReport> {
    let read_error = |e: io::Error| archive_error(archive, format!("reading the archive: {e}"));

    // Pass 1: check everything, write nothing. A tar header's size is the size of the data
    // that follows it, so the budget is exact.
    let mut layout = Layout::default();
    let mut budget = Budget::new(limits, archive);
    let mut tar = open_tar(archive, gzip)?;
    for entry in tar.entries().map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = tar_entry_name(archive, &entry)?;
        let kind = tar_kind(archive, &name, entry.header())?;
        let checked = check_entry(archive, dest, &name, kind)?;
        if matches!(checked.kind, Kind::File(_)) {
            budget.add(&name, entry.size(), None)?;
        }
        layout.add(&checked);
    }
    layout.check(archive)?;
    if gzip {
        let compressed = fs::metadata(archive).map_err(|e| Error::io("reading", archive, e))?.len();
        budget.check_ratio(compressed)?;
    }

    // Pass 2: write, checking each entry again in case the file changed in between.
    fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    let mut written = Written::default();
    let mut tar = open_tar(archive, gzip)?;
    for entry in tar.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let name = tar_entry_name(archive, &entry)?;
        let kind = tar_kind(archive, &name, entry.header())?;
        let checked = check_entry(archive, dest, &name, kind)?;
        written.add(write_entry(dest, &checked, &mut entry)?);
    }
    Ok(written.finish())
}

// ---- zip ----------------------------------------------------------------------------------

/// File-type bits of a Unix mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

fn zip_kind(archive: &Path, name: &str, is_dir: bool, is_symlink: bool, mode: Option<u32>) -> Result<Kind> {
    let file_type = mode.map_or(0, |m| m & S_IFMT);
    if is_symlink || file_type == S_IFLNK {
        return Err(unsafe_entry(archive, name, "symbolic links are not extracted"));
    }
    match file_type {
        0 | S_IFREG | S_IFDIR => {}
        other => {
            return Err(unsafe_entry(archive, name, format!("special files (mode {other:o}) are not extracted")));
        }
    }
    if is_dir || file_type == S_IFDIR { Ok(Kind::Dir) } else { Ok(Kind::File(mode)) }
}

fn extract_zip(archive: &Path, dest: &Path, limits: &ExtractLimits) -> Result<ExtractReport> {
    let file = File::open(archive).map_err(|e| Error::io("opening", archive, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| archive_error(archive, format!("reading the zip directory: {e}")))?;

    // Pass 1: check everything, write nothing.
    let mut checked = Vec::with_capacity(zip.len());
    let mut layout = Layout::default();
    let mut budget = Budget::new(limits, archive);
    if zip.len() as u64 > limits.max_entries {
        return Err(budget.over(format!("the archive has {} entries", zip.len()), "--max-entries"));
    }
    for index in 0..zip.len() {
        let entry = zip.by_index_data(index).map_err(|e| archive_error(archive, format!("entry {index}: {e}")))?;
        let name = entry.name().map_err(|e| archive_error(archive, format!("entry {index}: {e}")))?.into_owned();
        if entry.encrypted() {
            return Err(archive_error(archive, format!("entry {name:?} is encrypted")));
        }
        let kind = zip_kind(archive, &name, entry.is_dir(), entry.is_symlink(), entry.unix_mode())?;
        let entry_checked = check_entry(archive, dest, &name, kind)?;
        if matches!(entry_checked.kind, Kind::File(_)) {
            budget.add(&name, entry.size(), Some(entry.compressed_size()))?;
        }
        layout.add(&entry_checked);
        checked.push((name, entry_checked, entry.size()));
    }
    layout.check(archive)?;

    // Pass 2: write (the central directory is already in memory, so the entries are the same).
    fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    let mut written = Written::default();
    for (index, (name, entry_checked, declared)) in checked.iter().enumerate() {
        let entry = zip.by_index(index).map_err(|e| archive_error(archive, format!("reading entry {name:?}: {e}")))?;
        // The directory's sizes can lie: read one byte more than declared and refuse it.
        let mut content = entry.take(declared.saturating_add(1));
        let entry_written = write_entry(dest, entry_checked, &mut content).map_err(|e| match e {
            // A read failure of the entry (bad CRC, a size past the declared one, truncated
            // data) is the archive's fault; what was extracted is removed.
            Error::Io { source, .. } if source.kind() == io::ErrorKind::InvalidData => {
                archive_error(archive, format!("reading entry {name:?}: {source}; removed what was extracted"))
            }
            other => other,
        })?;
        let lied = entry_written.as_ref().is_some_and(|(_, bytes)| bytes > declared);
        written.add(entry_written);
        if lied {
            return Err(archive_error(
                archive,
                format!(
                    "entry {name:?} inflates past the {declared} bytes its directory declares; removed what was extracted"
                ),
            ));
        }
    }
    Ok(written.finish())
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use zip::write::SimpleFileOptions;

    use super::*;

    /// A temporary directory with an (empty) destination inside it.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let fixture = Self { dir: tempfile::tempdir().expect("tempdir") };
            fs::create_dir(fixture.dest()).expect("create dest");
            fixture
        }

        fn dest(&self) -> PathBuf {
            self.dir.path().join("out")
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        /// Asserts that the destination is still empty and nothing appeared next to it.
        fn assert_untouched(&self, archive_name: &str) {
            let inside: Vec<_> = fs::read_dir(self.dest()).expect("read dest").collect();
            assert!(inside.is_empty(), "destination not empty: {inside:?}");
            let mut beside: Vec<_> = fs::read_dir(self.dir.path())
                .expect("read dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            beside.sort();
            let mut expected = vec![archive_name.to_owned(), "out".to_owned()];
            expected.sort();
            assert_eq!(beside, expected);
        }
    }

    fn tar_header(name: &[u8], size: u64, entry_type: tar::EntryType) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        // Raw name bytes: `Header::set_path` refuses the names these tests need.
        let field = &mut header.as_old_mut().name;
        field.fill(0);
        field[..name.len()].copy_from_slice(name);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(entry_type);
        header.set_cksum();
        header
    }

    /// Builds a tar (optionally gzipped) from `(name, type, content)` entries.
    fn build_tar(path: &Path, gzip: bool, entries: &[(&str, tar::EntryType, &[u8])]) {
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut raw);
            for (name, ty, content) in entries {
                let header = tar_header(name.as_bytes(), content.len() as u64, *ty);
                builder.append(&header, *content).expect("append");
            }
            builder.finish().expect("finish");
        }
        let bytes = if gzip {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(&raw).expect("gzip");
            encoder.finish().expect("gzip finish")
        } else {
            raw
        };
        fs::write(path, bytes).expect("write archive");
    }

    fn build_zip(path: &Path, entries: &[(&str, &[u8])]) {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            if name.ends_with('/') {
                zip.add_directory(*name, SimpleFileOptions::default()).expect("add dir");
            } else {
                zip.start_file(*name, SimpleFileOptions::default()).expect("start file");
                zip.write_all(content).expect("write");
            }
        }
        let bytes = zip.finish().expect("finish").into_inner();
        fs::write(path, bytes).expect("write archive");
    }

    fn assert_unsafe(err: &Error, archive: &Path, entry: &str) {
        match err {
            Error::UnsafeArchiveEntry { archive: a, entry: e, .. } => {
                assert_eq!(a, archive);
                assert_eq!(e, entry);
            }
            other => panic!("expected UnsafeArchiveEntry for {entry:?}, got {other:?}"),
        }
    }

    #[test]
    fn zip_round_trip() {
        let fx = Fixture::new();
        let archive = fx.path("good.zip");
        build_zip(
            &archive,
            &[("data/", b""), ("data/a.csv", b"x,y\n1,2\n"), ("readme.txt", b"hello"), ("empty/", b"")],
        );

        let report = extract_archive(&archive, &fx.dest()).expect("extract");

        assert_eq!(report.files, vec![fx.dest().join("data/a.csv"), fx.dest().join("readme.txt")]);
        assert_eq!(report.bytes, 13);
        assert_eq!(fs::read(fx.dest().join("data/a.csv")).expect("read"), b"x,y\n1,2\n");
        assert_eq!(fs::read(fx.dest().join("readme.txt")).expect("read"), b"hello");
        assert!(fx.dest().join("empty").is_dir());
    }

    #[test]
    fn tar_gz_round_trip() {
        let fx = Fixture::new();
        let archive = fx.path("good.tar.gz");
        let big = vec![7_u8; 100_000];
        build_tar(
            &archive,
            true,
            &[
                ("./", tar::EntryType::Directory, b""),
                ("model/", tar::EntryType::Directory, b""),
                ("model/weights.bin", tar::EntryType::Regular, &big),
                ("model/config.json", tar::EntryType::Regular, b"{}"),
                ("top.txt", tar::EntryType::Regular, b"top"),
            ],
        );

        let report = extract_archive(&archive, &fx.dest()).expect("extract");

        assert_eq!(
            report.files,
            vec![fx.dest().join("model/weights.bin"), fx.dest().join("model/config.json"), fx.dest().join("top.txt")]
        );
        assert_eq!(report.bytes, 100_005);
        assert_eq!(fs::read(fx.dest().join("model/weights.bin")).expect("read"), big);
        assert_eq!(fs::read(fx.dest().join("top.txt")).expect("read"), b"top");
    }

    #[test]
    fn tar_gz_with_a_long_name_created_by_the_builder() {
        let fx = Fixture::new();
        let archive = fx.path("long.tgz");
        let long_name = format!("{}/file.txt", "d".repeat(150));
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(GzEncoder::new(&mut raw, Compression::fast()));
            let mut header = tar::Header::new_gnu();
            header.set_size(3);
            header.set_mode(0o755);
            builder.append_data(&mut header, &long_name, &b"abc"[..]).expect("append");
            builder.into_inner().expect("finish tar").finish().expect("finish gzip");
        }
        fs::write(&archive, raw).expect("write");

        let report = extract_archive(&archive, &fx.dest()).expect("extract");

        let file = fx.dest().join(&long_name);
        assert_eq!(report.files, vec![file.clone()]);
        assert_eq!(fs::read(&file).expect("read"), b"abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&file).expect("metadata").permissions().mode();
            assert_ne!(mode & 0o100, 0, "the executable bit is kept: {mode:o}");
        }
    }

    #[test]
    fn plain_tar_is_detected_by_magic_bytes() {
        let fx = Fixture::new();
        let archive = fx.path("blob.bin");
        build_tar(&archive, false, &[("a.txt", tar::EntryType::Regular, b"a")]);
        assert_eq!(ArchiveFormat::detect(&archive).expect("detect"), ArchiveFormat::Tar);

        let report = extract_archive(&archive, &fx.dest()).expect("extract");
        assert_eq!(report.files, vec![fx.dest().join("a.txt")]);
    }

    #[test]
    fn gzip_and_zip_are_detected_by_magic_bytes() {
        let fx = Fixture::new();
        let tgz = fx.path("download-1");
        build_tar(&tgz, true, &[("a.txt", tar::EntryType::Regular, b"a")]);
        let zip = fx.path("download-2");
        build_zip(&zip, &[("b.txt", b"b")]);

        assert_eq!(ArchiveFormat::detect(&tgz).expect("detect"), ArchiveFormat::TarGz);
        assert_eq!(ArchiveFormat::detect(&zip).expect("detect"), ArchiveFormat::Zip);
        extract_archive(&tgz, &fx.dest()).expect("extract tgz");
        extract_archive(&zip, &fx.dest()).expect("extract zip");
        assert_eq!(fs::read(fx.dest().join("a.txt")).expect("read"), b"a");
        assert_eq!(fs::read(fx.dest().join("b.txt")).expect("read"), b"b");
    }

    #[test]
    fn unsupported_format_is_an_archive_error() {
        let fx = Fixture::new();
        let archive = fx.path("notes.txt");
        fs::write(&archive, "just text").expect("write");

        let err = extract_archive(&archive, &fx.dest()).expect_err("unsupported");

        assert!(matches!(err, Error::Archive { .. }), "{err:?}");
        fx.assert_untouched("notes.txt");
    }

    #[test]
    fn tar_with_parent_dir_entry_is_refused_and_nothing_is_written() {
        let fx = Fixture::new();
        let archive = fx.path("evil.tar.gz");
        build_tar(
            &archive,
            true,
            &[("ok.txt", tar::EntryType::Regular, b"fine"), ("../evil.txt", tar::EntryType::Regular, b"pwned")],
        );

        let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

        assert_unsafe(&err, &archive, "../evil.txt");
        fx.assert_untouched("evil.tar.gz");
    }

    #[test]
    fn tar_with_absolute_path_is_refused_and_nothing_is_written() {
        let fx = Fixture::new();
        let archive = fx.path("abs.tar");
        let target = fx.path("abs-evil.txt");
        let name = target.to_str().expect("utf-8 temp path").to_owned();
        assert!(name.len() < 100, "name must fit the old header");
        build_tar(
            &archive,
            false,
            &[("ok.txt", tar::EntryType::Regular, b"fine"), (&name, tar::EntryType::Regular, b"pwned")],
        );

        let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

        assert_unsafe(&err, &archive, &name);
        assert!(!target.exists());
        fx.assert_untouched("abs.tar");
    }

    #[test]
    fn tar_with_symlink_is_refused_and_nothing_is_written() {
        let fx = Fixture::new();
        let archive = fx.path("link.tar.gz");
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut raw);
            let header = tar_header(b"ok.txt", 4, tar::EntryType::Regular);
            builder.append(&header, &b"fine"[..]).expect("append");
            let mut header = tar_header(b"passwd", 0, tar::EntryType::Symlink);
            header.set_link_name("/etc/passwd").expect("link name");
            header.set_cksum();
            builder.append(&header, io::empty()).expect("append link");
            builder.finish().expect("finish");
        }
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&raw).expect("gzip");
        fs::write(&archive, encoder.finish().expect("gzip")).expect("write");

        let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

        assert_unsafe(&err, &archive, "passwd");
        fx.assert_untouched("link.tar.gz");
    }

    #[test]
    fn tar_with_hard_link_or_fifo_is_refused() {
        for (ty, name) in
            [(tar::EntryType::Link, "hard"), (tar::EntryType::Fifo, "fifo"), (tar::EntryType::Char, "tty")]
        {
            let fx = Fixture::new();
            let archive = fx.path("special.tar");
            build_tar(&archive, false, &[("ok.txt", tar::EntryType::Regular, b"fine"), (name, ty, b"")]);

            let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

            assert_unsafe(&err, &archive, name);
            fx.assert_untouched("special.tar");
        }
    }

    #[test]
    fn zip_with_parent_dir_entry_is_refused_and_nothing_is_written() {
        let fx = Fixture::new();
        let archive = fx.path("evil.zip");
        build_zip(&archive, &[("ok.txt", b"fine"), ("../evil.txt", b"pwned")]);

        let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

        assert_unsafe(&err, &archive, "../evil.txt");
        fx.assert_untouched("evil.zip");
    }

    #[test]
    fn zip_with_symlink_is_refused() {
        let fx = Fixture::new();
        let archive = fx.path("link.zip");
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("ok.txt", SimpleFileOptions::default()).expect("start");
        zip.write_all(b"fine").expect("write");
        zip.add_symlink("passwd", "/etc/passwd", SimpleFileOptions::default()).expect("symlink");
        fs::write(&archive, zip.finish().expect("finish").into_inner()).expect("write");

        let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

        assert_unsafe(&err, &archive, "passwd");
        fx.assert_untouched("link.zip");
    }

    #[cfg(unix)]
    #[test]
    fn entry_through_an_existing_symlink_in_dest_is_refused() {
        let fx = Fixture::new();
        let outside = fx.path("outside");
        fs::create_dir(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, fx.dest().join("sub")).expect("symlink");
        let archive = fx.path("through.tar");
        build_tar(&archive, false, &[("sub/evil.txt", tar::EntryType::Regular, b"pwned")]);

        let err = extract_archive(&archive, &fx.dest()).expect_err("refused");

        assert_unsafe(&err, &archive, "sub/evil.txt");
        assert!(fs::read_dir(&outside).expect("read").next().is_none());
    }

    #[test]
    fn file_and_directory_with_the_same_name_is_an_archive_error() {
        let fx = Fixture::new();
        let archive = fx.path("clash.tar");
        build_tar(
            &archive,
            false,
            &[("a", tar::EntryType::Regular, b"file"), ("a/b.txt", tar::EntryType::Regular, b"under a")],
        );

        let err = extract_archive(&archive, &fx.dest()).expect_err("clash");

        assert!(matches!(err, Error::Archive { .. }), "{err:?}");
        fx.assert_untouched("clash.tar");
    }

    #[test]
    fn safe_relative_path_rules() {
        assert_eq!(safe_relative_path("a/./b//c.txt"), Ok(PathBuf::from("a/b/c.txt")));
        assert_eq!(safe_relative_path("./"), Ok(PathBuf::new()));
        assert_eq!(safe_relative_path("a..b/c"), Ok(PathBuf::from("a..b/c")));
        for bad in ["../x", "a/../../x", "a/..", "/etc/passwd", "\\\\server\\share", "..\\x", "C:/x", "c:x", "a\0b"] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn format_from_file_name() {
        assert_eq!(ArchiveFormat::from_file_name(Path::new("x/DATA.ZIP")), Some(ArchiveFormat::Zip));
        assert_eq!(ArchiveFormat::from_file_name(Path::new("model.tar.gz")), Some(ArchiveFormat::TarGz));
        assert_eq!(ArchiveFormat::from_file_name(Path::new("model.tgz")), Some(ArchiveFormat::TarGz));
        assert_eq!(ArchiveFormat::from_file_name(Path::new("model.tar")), Some(ArchiveFormat::Tar));
        assert_eq!(ArchiveFormat::from_file_name(Path::new("model.gz")), None);
    }
    /// An extraction refused for a limit: the message names it; nothing was written.
    fn refused_for(f: &Fixture, name: &str, limits: &ExtractLimits, needle: &str) {
        let err = extract_archive_with(&f.path(name), &f.dest(), limits).expect_err("refused");
        let text = err.to_string();
        assert!(matches!(err, Error::Archive { .. }) && text.contains(needle), "{text}");
        let inside: Vec<_> = fs::read_dir(f.dest()).expect("read dest").collect();
        assert!(inside.is_empty(), "{name}: nothing is written: {inside:?}");
    }

    /// A zip whose headers declare fewer bytes than the entry holds (the check before writing
    /// passes on the declared sizes): the extraction stops one byte past the declared size and
    /// removes what it wrote.
    #[test]
    fn a_zip_whose_directory_lies_about_a_size_is_refused_and_cleaned_up() {
        let f = Fixture::new();
        // Incompressible content, so the ratio check is not what refuses it.
        let mut state = 0x2545_f491_u32;
        let content: Vec<u8> = (0..50_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state.to_le_bytes()[0]
            })
            .collect();
        build_zip(&f.path("honest.zip"), &[("first.txt", b"fine"), ("data.bin", &content)]);
        let mut bytes = fs::read(f.path("honest.zip")).expect("read");
        // Declare 1,000 bytes for data.bin in its local header (offset 22) and its central
        // directory record (offset 24).
        let lie = 1_000_u32.to_le_bytes();
        let mut patched = 0;
        for at in 0..bytes.len().saturating_sub(46) {
            let signature = &bytes[at..at + 4];
            let (size_at, name_at) = match signature {
                [0x50, 0x4b, 0x03, 0x04] => (at + 22, at + 30),
                [0x50, 0x4b, 0x01, 0x02] => (at + 24, at + 46),
                _ => continue,
            };
            if bytes[name_at..].starts_with(b"data.bin") {
                bytes[size_at..size_at + 4].copy_from_slice(&lie);
                patched += 1;
            }
        }
        assert_eq!(patched, 2, "both headers of data.bin were found");
        fs::write(f.path("liar.zip"), &bytes).expect("write");
        let err = extract_archive(&f.path("liar.zip"), &f.dest()).expect_err("refused");
        let message = err.to_string();
        // The zip reader notices first ("larger than its declared uncompressed size"); the
        // extraction's own check (one byte past the declared size) backs it up.
        assert!(
            message.contains("entry \"data.bin\"")
                && (message.contains("larger than its declared") || message.contains("inflates past the 1000 bytes"))
                && message.contains("removed what was extracted"),
            "{message}"
        );
        assert!(message.contains("liar.zip"), "names the archive: {message}");
        let left: Vec<_> = fs::read_dir(f.dest()).expect("read dest").map(|e| e.expect("entry").file_name()).collect();
        assert!(left.is_empty(), "what was extracted is removed: {left:?}");
        // The honest archive extracts.
        let report = extract_archive(&f.path("honest.zip"), &f.dest()).expect("honest");
        assert_eq!(report.bytes, 4 + 50_000);
    }

    #[test]
    fn bombs_are_refused_by_ratio_before_anything_is_written() {
        let f = Fixture::new();
        let zeros = vec![0_u8; 16 << 20];
        build_zip(&f.path("bomb.zip"), &[("readme.txt", b"hello"), ("zeros.bin", &zeros)]);
        refused_for(&f, "bomb.zip", &ExtractLimits::default(), "inflates");
        build_tar(&f.path("bomb.tar.gz"), true, &[("zeros.bin", tar::EntryType::Regular, &zeros)]);
        refused_for(&f, "bomb.tar.gz", &ExtractLimits::default(), "--max-ratio");
        // A user who expects it raises the limit.
        let generous = ExtractLimits { max_ratio: 1_000_000, ..ExtractLimits::default() };
        let report = extract_archive_with(&f.path("bomb.zip"), &f.dest(), &generous).expect("raised limit");
        assert_eq!(report.bytes, 5 + (16 << 20));
    }

    #[test]
    fn entry_count_entry_size_and_total_are_bounded() {
        let f = Fixture::new();
        build_zip(&f.path("three.zip"), &[("a", b"12345"), ("b", b"12345"), ("c", b"12345")]);
        build_tar(
            &f.path("three.tar"),
            false,
            &[
                ("a", tar::EntryType::Regular, b"12345"),
                ("b", tar::EntryType::Regular, b"12345"),
                ("c", tar::EntryType::Regular, b"12345"),
            ],
        );
        for name in ["three.zip", "three.tar"] {
            refused_for(&f, name, &ExtractLimits { max_entries: 2, ..ExtractLimits::default() }, "entries");
            refused_for(
                &f,
                name,
                &ExtractLimits { max_entry_bytes: 4, ..ExtractLimits::default() },
                "--max-entry-bytes",
            );
            refused_for(&f, name, &ExtractLimits { max_total_bytes: 12, ..ExtractLimits::default() }, "--max-bytes");
            let fits =
                ExtractLimits { max_entries: 3, max_entry_bytes: 5, max_total_bytes: 15, ..ExtractLimits::default() };
            let report = extract_archive_with(&f.path(name), &f.dest(), &fits).expect("within the limits");
            assert_eq!((report.files.len(), report.bytes), (3, 15), "{name}");
            fs::remove_dir_all(f.dest()).expect("clear");
            fs::create_dir(f.dest()).expect("dest");
        }
    }
}

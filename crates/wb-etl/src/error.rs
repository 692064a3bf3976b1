//! The one error type of `wb-etl`.

use std::path::PathBuf;

/// Result alias of `wb-etl`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while extracting, transforming or loading data.
///
/// Every variant names the file, URL, line, column or value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A store or vocabulary error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A local filesystem operation failed.
    #[error("{operation} {}: {source}", path.display())]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP transfer failed.
    #[error("downloading {url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
        /// The client's error, boxed to keep `Result` small.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The server answered with an unexpected status.
    #[error("downloading {url}: server answered HTTP {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The downloaded bytes do not have the expected SHA-256; nothing was left at the target.
    #[error("checksum mismatch for {url}: expected sha256 {expected}, got {actual} (the download was discarded)")]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// The expected digest (hex).
        expected: String,
        /// The digest of what arrived (hex).
        actual: String,
    },
    /// An archive entry would land outside the target directory, or is a link.
    #[error("refusing archive entry {entry:?} in {}: {reason}", archive.display())]
    UnsafeArchiveEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry's name.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// An archive is malformed or of an unsupported kind.
    #[error("archive {}: {message}", archive.display())]
    Archive {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A CSV file could not be parsed.
    #[error("{}{}{}: {message}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default(), column.as_deref().map(|c| format!(", column {c:?}")).unwrap_or_default())]
    Csv {
        /// The file.
        file: PathBuf,
        /// The 1-based line (the header is line 1), when known.
        line: Option<u64>,
        /// The column, when known.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A file that must hold data holds none.
    #[error("{} is empty: {what}", file.display())]
    EmptyFile {
        /// The file.
        file: PathBuf,
        /// What was expected in it.
        what: &'static str,
    },
    /// A column that must exist does not.
    #[error("{} has no column {column:?} (columns: {})", file.display(), available.join(", "))]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// The missing column.
        column: String,
        /// The columns it has.
        available: Vec<String>,
    },
    /// A code column holds a value the mapping file does not list.
    #[error("{}, line {line}, column {column:?}: value {value:?} is not in the mapping {}", file.display(), mapping.display())]
    UnmappedValue {
        /// The data file.
        file: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The column.
        column: String,
        /// The unmapped value.
        value: String,
        /// The mapping file.
        mapping: PathBuf,
    },
    /// Writing or reading Parquet failed.
    #[error("parquet {}: {source}", file.display())]
    Parquet {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow computation failed.
    #[error("{}: {source}", file.display())]
    Arrow {
        /// The file being processed.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A pickle (a member of a CIFAR archive) cannot be read.
    #[error("{file}: pickle {message} (at byte {offset})")]
    Pickle {
        /// The file, or `archive:member` for a member of an archive.
        file: String,
        /// The byte offset of the opcode at fault.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A CIFAR file or archive does not hold what the CIFAR format requires.
    #[error("{file}: {message}")]
    Cifar {
        /// The file, or `archive:member` for a member of an archive.
        file: String,
        /// What is wrong (the key, value or size at fault).
        message: String,
    },
    /// Encoding an image failed.
    #[error("encoding {}: {source}", file.display())]
    Image {
        /// The image file being written.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: image::ImageError,
    },
    /// An argument is out of range or malformed.
    #[error("invalid {what}: {message}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// Builds an [`Error::Io`].
    pub fn io(operation: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { operation, path: path.into(), source }
    }
}

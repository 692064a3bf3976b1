//! # wb-etl — extract, transform, load
//!
//! - [`cifar`]: CIFAR-10/CIFAR-100 python archives (`.tar.gz`, streamed, or a directory) to
//!   PNG files, SageMaker `.lst` manifests and `classes.json`, with class selection and
//!   remapping; and a writer of CIFAR-10-format archives. Its pickles are read by a private,
//!   whitelisting unpickler (`pickle.rs`) that understands numpy `uint8` arrays from Python 2
//!   `cPickle` and Python 3 protocols 2–5, and never imports or runs anything.
//! - [`digits`]: the UCI handwritten digits (1,797 8×8 images, CC BY 4.0) shipped with the
//!   crate, and their conversion to a CIFAR-format archive of 32×32 RGB images.
//! - [`download`]: streamed HTTP downloads, resumable with `Range`, SHA-256 verified; the
//!   target file appears only when complete and verified.
//! - [`extract`]: zip and tar.gz extraction that refuses entries escaping the target directory
//!   and links.
//! - [`plain`]: splitting plain CSV records (no quotes) into fields eight bytes at a time, for
//!   the parallel readers of inference and partitioning.
//! - [`tabular`]: CSV → Arrow/Parquet with schema inference or an explicit schema,
//!   missing-value tokens and lookup-table mapping of code columns.
//! - [`synth`]: a deterministic generator of a hospital-readmission-like CSV for tests and
//!   benchmarks.

pub mod cifar;
pub mod digits;
pub mod download;
mod error;
pub mod extract;
mod pickle;
pub mod plain;
pub mod synth;
pub mod tabular;

pub use error::{Error, Result};

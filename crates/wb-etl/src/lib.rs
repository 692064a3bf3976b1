//! # wb-etl — extract, transform, load
//!
//! - [`download`]: streamed HTTP downloads, resumable with `Range`, SHA-256 verified; the
//!   target file appears only when complete and verified.
//! - [`extract`]: zip and tar.gz extraction that refuses entries escaping the target directory
//!   and links.
//! - [`tabular`]: CSV → Arrow/Parquet with schema inference or an explicit schema,
//!   missing-value tokens and lookup-table mapping of code columns.
//! - [`synth`]: a deterministic generator of a hospital-readmission-like CSV for tests and
//!   benchmarks.

pub mod download;
mod error;
pub mod extract;
pub mod synth;
pub mod tabular;

pub use error::{Error, Result};

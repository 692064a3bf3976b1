//! # wb-monitor — read what endpoints captured, and say when it no longer looks like training
//!
//! Endpoints capture requests and responses in SageMaker's data-capture format (contract B2,
//! written by [`wb_serving::capture`] locally and by SageMaker on AWS). This crate reads every
//! record back and checks it against a baseline in SageMaker Model Monitor's own file formats
//! (contract B3), so the same files work with SageMaker's analyzer and with this one:
//!
//! - [`record`]: what a captured invocation decodes into (rows of feature values plus the
//!   model's output) and the time [`Window`] a read is limited to;
//! - [`statistics`], [`constraints`], [`violations`]: `statistics.json`, `constraints.json`,
//!   `constraint_violations.json`;
//! - [`drift`]: distances between baseline and window per column;
//! - [`capture`]: reading capture files back, batch by batch ([`payload`] decodes one
//!   request or response); [`export`] writes the rows to Parquet;
//! - [`hourly`]: predictions and low-confidence predictions per hour;
//! - [`report`]: `report.json`, the input of the renderings;
//! - [`render`]: `report.md`, a self-contained `index.html` and the SVG charts;
//! - [`reports`]: where reports and baselines live in the store, writing, listing and reading reports.

pub mod capture;
pub mod check;
pub mod constraints;
pub mod container;
pub mod drift;
mod error;
pub mod export;
pub mod hourly;
pub mod monitor;
pub mod payload;
pub mod profile;
pub mod record;
pub mod render;
pub mod report;
pub mod reports;
pub mod sketch;
pub mod statistics;
pub mod violations;

pub use error::{Error, Result};
pub use record::{CapturedRow, ModelOutput, RowSchema, Value, Window};

//! # wb-compare — judge every registered model on data none of them saw
//!
//! A comparison scores the held-out test split through every registered model's endpoint, so
//! models built independently — by different people, with different tools — are judged
//! together, on the same rows, through what will serve them:
//!
//! - [`score`]: the test split as CSV batches (or, for an image dataset, its test images one
//!   per request), sent through [`wb_serving::invoke::InvokeEndpoint`] with bounded
//!   concurrency and retries, answers checked row by row;
//! - [`compare`](mod@compare): model selection and partition discipline, then everything below, assembled
//!   into a [`report::Report`];
//! - [`metrics`]: classification and regression metrics, curves and threshold tables (checked
//!   against scikit-learn) — [`wb_models::metrics`], re-exported;
//! - [`stats`]: seeded bootstrap confidence intervals and paired tests (McNemar, DeLong,
//!   paired bootstrap) with Holm's correction;
//! - [`explain`]: permutation importance through the endpoint, slices, worst rows;
//! - [`reports`], [`render`], [`web`]: `reports/compare/<id>/` in the store (`report.json`,
//!   `report.md`, `index.html`, SVG charts) and the web app over all reports.
//!
//! Compare the registered models through the local server and write the report:
//!
//! ```no_run
//! # async fn run(store: wb_core::DynObjectStore) -> wb_compare::Result<()> {
//! use std::sync::Arc;
//! use wb_serving::invoke::RuntimeClient;
//!
//! let invoker = Arc::new(RuntimeClient::new("http://127.0.0.1:8080")?);
//! let comparison = wb_compare::compare(store.clone(), invoker).seed(7).slice_by("alcohol").await?;
//! let report = &comparison.report;
//! for entry in &report.leaderboard {
//!     println!("{} {} {:?} worse than best: {}", entry.rank, entry.model, entry.value, entry.significantly_worse);
//! }
//! // report.json, report.md, index.html, the SVG charts and predictions-<model>.csv:
//! let prefix = wb_compare::reports::write(&store, report, comparison.files()).await?;
//! println!("open {prefix}/index.html");
//! # Ok(()) }
//! ```

pub mod compare;
mod error;
pub mod explain;
pub mod metrics;
pub mod render;
pub mod report;
pub mod reports;
pub mod score;
pub mod stats;
pub mod web;

pub use compare::{Compare, CompareOptions, Comparison, ModelPredictions, RowPrediction, compare};
pub use error::{Error, Result};

//! # wb-monitor — read what endpoints captured, and say when it no longer looks like training
//!
//! Endpoints capture requests and responses in SageMaker's data-capture format (contract B2,
//! written by [`wb_serving::capture`] locally and by SageMaker on AWS). This crate reads every
//! record back and checks it against a baseline in SageMaker Model Monitor's own file formats
//! (contract B3), so the same files work with SageMaker's analyzer and with this one:
//!
//! - [`record`]: what a captured invocation decodes into (rows of feature values plus the
//!   model's output) and the time [`Window`] a read is limited to;
//! - [`capture`]: reading capture files back, batch by batch ([`payload`] decodes one
//!   request or response); [`export`] writes the rows to Parquet;
//! - [`sketch`], [`profile`]: KLL sketches and column profiles;
//! - [`statistics`], [`constraints`], [`violations`]: `statistics.json`, `constraints.json`,
//!   `constraint_violations.json`;
//! - [`drift`], [`check`]: distances between baseline and window per column, and the checks;
//! - [`hourly`]: predictions and low-confidence predictions per hour;
//! - [`monitor`]: baselines and runs of an endpoint, in the store's `monitoring/` prefix;
//! - [`report`], [`reports`], [`render`]: `report.json`, its files, Markdown, HTML and SVG;
//! - [`container`]: the analyzer under Model Monitor's bring-your-own-container contract.
//!
//! Baseline an endpoint, then check the last day of its capture:
//!
//! ```no_run
//! # async fn run(store: wb_core::DynObjectStore) -> wb_monitor::Result<()> {
//! use wb_core::EndpointName;
//! use wb_monitor::Window;
//! use wb_monitor::monitor::Monitor;
//!
//! let endpoint = EndpointName::parse("wine-forest")?;
//! let monitor = Monitor::new(store);
//! monitor.baseline(&endpoint).await?; // monitoring/wine-forest/baseline/*.json
//! let since = chrono::Utc::now() - chrono::Duration::days(1);
//! let run = monitor.run(&endpoint).window(Window::new(Some(since), None)?).threshold(0.93).await?;
//! for v in &run.report.violations.violations {
//!     println!("{} {:?}: {}", v.feature_name, v.constraint_check_type, v.description);
//! }
//! println!("{} rows read, report under {:?}", run.report.counts.rows, run.prefix);
//! # Ok(()) }
//! ```

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

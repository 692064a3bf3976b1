//! # wb-compare — judge every registered model on data none of them saw
//!
//! - [`metrics`]: classification and regression metrics, curves and threshold tables
//!   (checked against scikit-learn);
//! - [`stats`]: seeded bootstrap confidence intervals and paired tests (McNemar, DeLong,
//!   paired bootstrap) with Holm's correction.

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

pub use compare::{Compare, CompareOptions, compare};
pub use error::{Error, Result};

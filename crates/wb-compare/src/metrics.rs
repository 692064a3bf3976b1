//! Classification and regression metrics, curves, calibration and threshold tables, and the
//! [`Metric`] names with their direction: [`wb_models::metrics`], re-exported so that the
//! comparison and the job records score with one implementation.

pub use wb_models::metrics::*;

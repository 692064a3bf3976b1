//! One module per command family.

pub(crate) mod clean;
pub(crate) mod compare;
pub(crate) mod dataset;
pub(crate) mod demo;
pub(crate) mod demo_images;
pub(crate) mod etl;
pub(crate) mod init;
pub(crate) mod models;
pub(crate) mod monitor;
#[cfg(feature = "aws")]
pub(crate) mod sagemaker;
pub(crate) mod serving;
pub(crate) mod workflow;

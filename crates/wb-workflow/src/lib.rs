//! Workbench workflows: the image-classification workflow of the reference project —
//! serialize an image from the store, classify it at an endpoint, fail loudly on low
//! confidence — as typed steps over one event, and its export as an Amazon States Language
//! state machine.
//!
//! - [`event`]: [`ImageEvent`], the reference's JSON (`image_data`, `s3_bucket`, `s3_key`,
//!   `inferences` as an array of numbers), read strictly.
//! - [`steps`]: [`serialize_image_data`], [`classify`] (through the one invocation interface,
//!   so the same step runs against the local server and SageMaker Runtime) and
//!   [`filter_low_confidence`]; every failure is a named error ([`THRESHOLD_CONFIDENCE_NOT_MET`],
//!   [`IMAGE_TOO_LARGE`], …) that a state machine's `Retry` and `Catch` can match.
//! - [`asl`]: the state machine (`lambda:invoke` tasks with retries, timeouts, a `Catch` into a
//!   named `Fail` state, a `Map` variant for batches).
//! - [`machine`], [`path`], [`executor`]: a local executor of the *same* ASL JSON with Step
//!   Functions' semantics (paths, templates, intrinsics, retries, catchers, timeouts, Map,
//!   Parallel, Choice, Wait) and an execution history in Step Functions' event types.
//! - [`lambda`]: the steps as Lambda functions: settings from the environment, one handler.
//! - [`package`]: the functions' zips (the Lambda binary as `bootstrap`) and their manifest.
//! - [`local`]: the steps as the executor's task resources, in-process, and the executions
//!   recorded in the store (`workflows/<machine>/executions/<id>.json`).
//!
//! ```
//! use wb_workflow::{ImageEvent, THRESHOLD_CONFIDENCE_NOT_MET, Threshold, filter_low_confidence};
//!
//! let event = ImageEvent { inferences: vec![0.6, 0.4], ..ImageEvent::new("bucket", "test/cat.png") };
//! let err = filter_low_confidence(event, Threshold::new(0.9)?).expect_err("not confident");
//! assert_eq!(err.name(), THRESHOLD_CONFIDENCE_NOT_MET);
//! # Ok::<(), wb_workflow::Error>(())
//! ```

pub mod asl;
mod error;
pub mod event;
pub mod executor;
pub mod lambda;
pub mod local;
pub mod machine;
pub mod package;
pub mod path;
pub mod steps;

pub use error::{Error, Result};
pub use event::{INVALID_EVENT, ImageEvent};
pub use steps::{
    BAD_INFERENCE, DEFAULT_THRESHOLD, ENDPOINT_REFUSED, ENDPOINT_UNAVAILABLE, ERROR_NAMES, IMAGE_NOT_FOUND,
    IMAGE_TOO_LARGE, NOT_AN_IMAGE, STATE_LIMIT_BYTES, STORE_UNAVAILABLE, StoreObjects, THRESHOLD_CONFIDENCE_NOT_MET,
    Threshold, classify, filter_low_confidence, serialize_image_data,
};

//! The steps as AWS Lambda functions: which step a function runs and its settings, read from
//! the function's environment ([`Settings`]), and the handler every function runs
//! ([`StepFunction`]). The `wb-lambda` binary (package `wb-cli`) wires these to the Lambda
//! Runtime API; the local executor runs the same handlers in-process ([`crate::local`]).
//!
//! | variable | step | meaning |
//! |---|---|---|
//! | `WB_STEP` | all | `serialize`, `classify` or `filter`; when unset, the function name's suffix (`wb-<endpoint>-serialize`, …) decides |
//! | `WB_STORE` | serialize | the project's store (`s3://bucket/prefix` or a directory): events naming objects outside it are refused |
//! | `WB_ENDPOINT` | classify | the endpoint to invoke |
//! | `WB_RUNTIME_URL` | classify | a local model server's URL (`http://127.0.0.1:8080`); when unset, SageMaker Runtime |
//! | `WB_THRESHOLD` | filter | the confidence a class must reach (default 0.93) |
//!
//! ```
//! use wb_workflow::lambda::{Settings, Step};
//!
//! let env = [("AWS_LAMBDA_FUNCTION_NAME", "wb-digits-filter"), ("WB_THRESHOLD", "0.9")];
//! let settings = Settings::from_vars(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned()))?;
//! assert_eq!(settings.step, Step::Filter);
//! assert_eq!(settings.threshold.get(), 0.9);
//! # Ok::<(), wb_workflow::Error>(())
//! ```

use std::sync::Arc;

use serde_json::Value;
use wb_core::{EndpointName, StoreUri};
use wb_serving::invoke::InvokeEndpoint;

use crate::error::{Error, Result};
use crate::event::ImageEvent;
use crate::local::function_name;
use crate::steps::{StoreObjects, Threshold, classify, filter_low_confidence, serialize_image_data};

/// Which step a function runs (overrides the function name's suffix).
pub const ENV_STEP: &str = "WB_STEP";
/// The project's store the serializer reads from.
pub const ENV_STORE: &str = "WB_STORE";
/// The endpoint the classifier invokes.
pub const ENV_ENDPOINT: &str = "WB_ENDPOINT";
/// A local model server's URL for the classifier (SageMaker Runtime when unset).
pub const ENV_RUNTIME_URL: &str = "WB_RUNTIME_URL";
/// The filter's confidence threshold.
pub const ENV_THRESHOLD: &str = "WB_THRESHOLD";
/// The function's name, set by Lambda.
pub const ENV_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// One of the workflow's three steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// `serialize_image_data`: read the image, base64 it into the event.
    Serialize,
    /// The classifier: invoke the endpoint with the image.
    Classify,
    /// `filter_low_confidence`: fail with `THRESHOLD_CONFIDENCE_NOT_MET` below the threshold.
    Filter,
}

impl Step {
    /// The three steps in workflow order.
    pub const ALL: [Self; 3] = [Self::Serialize, Self::Classify, Self::Filter];

    /// `serialize`, `classify` or `filter`: the suffix of the step's function name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Serialize => "serialize",
            Self::Classify => "classify",
            Self::Filter => "filter",
        }
    }

    /// The step a function named like `wb-<endpoint>-<step>` (or its ARN) runs.
    #[must_use]
    pub fn of_function(function: &str) -> Option<Self> {
        let name = function_name(function);
        Self::ALL.into_iter().find(|step| name.strip_suffix(step.as_str()).is_some_and(|rest| rest.ends_with('-')))
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Step {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|step| step.as_str() == s.trim()).ok_or_else(|| Error::Invalid {
            field: "step",
            value: s.to_owned(),
            expected: "serialize, classify or filter".into(),
        })
    }
}

/// A function's settings, from its environment (the table in the [module docs](self)).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The step the function runs.
    pub step: Step,
    /// The project's store (the serializer's).
    pub store: Option<StoreUri>,
    /// The endpoint (the classifier's).
    pub endpoint: Option<EndpointName>,
    /// A local model server's URL (the classifier's; SageMaker Runtime when `None`).
    pub runtime_url: Option<String>,
    /// The confidence threshold (the filter's).
    pub threshold: Threshold,
}

impl Settings {
    /// The settings in the process environment.
    ///
    /// # Errors
    /// As [`Settings::from_vars`].
    pub fn from_env() -> Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings in the variables `var` looks up; only the variables the step needs are
    /// required.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the variable: no step (neither `WB_STEP` nor a function name
    /// ending in `-serialize`, `-classify` or `-filter`), a missing `WB_STORE` or
    /// `WB_ENDPOINT`, or a value that does not parse.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let invalid = |field: &'static str, value: String, expected: String| Error::Invalid { field, value, expected };
        let step = match (var(ENV_STEP), var(ENV_FUNCTION_NAME)) {
            (Some(step), _) => {
                step.parse().map_err(|_| invalid(ENV_STEP, step.clone(), "serialize, classify or filter".into()))?
            }
            (None, Some(function)) => Step::of_function(&function).ok_or_else(|| {
                invalid(
                    ENV_FUNCTION_NAME,
                    function.clone(),
                    format!("a name ending in -serialize, -classify or -filter, or {ENV_STEP} set"),
                )
            })?,
            (None, None) => {
                return Err(invalid(
                    ENV_STEP,
                    String::new(),
                    format!("serialize, classify or filter (or {ENV_FUNCTION_NAME} ending in -<step>)"),
                ));
            }
        };
        let required = |name: &'static str, what: &str| {
            var(name).ok_or_else(|| invalid(name, String::new(), format!("{what} (the {step} step needs it)")))
        };
        // Only the serializer reads the store; a store given to another step is checked all the same.
        let store = match (step, var(ENV_STORE)) {
            (_, Some(uri)) => Some(StoreUri::parse(&uri).map_err(|e| invalid(ENV_STORE, uri.clone(), e.to_string()))?),
            (Step::Serialize, None) => {
                required(ENV_STORE, "the project's store, s3://bucket/prefix or a directory")?;
                None
            }
            (_, None) => None,
        };
        let endpoint = match step {
            Step::Classify => {
                let name = required(ENV_ENDPOINT, "the endpoint to invoke")?;
                Some(EndpointName::parse(&name).map_err(|e| invalid(ENV_ENDPOINT, name.clone(), e.to_string()))?)
            }
            _ => None,
        };
        let runtime_url = var(ENV_RUNTIME_URL);
        if let Some(url) = &runtime_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid(ENV_RUNTIME_URL, url.clone(), "an http:// or https:// URL".into()));
        }
        let threshold = match var(ENV_THRESHOLD) {
            Some(p) => p.parse().map_err(|_| invalid(ENV_THRESHOLD, p.clone(), "a probability in (0, 1]".into()))?,
            None => Threshold::default(),
        };
        Ok(Self { step, store, endpoint, runtime_url, threshold })
    }
}

/// A step with what it needs: the handler one Lambda function runs, and the local executor's
/// in-process task.
#[derive(Clone)]
pub enum StepFunction {
    /// Reads images from the project's store.
    Serialize(StoreObjects),
    /// Invokes `endpoint` through `invoker`.
    Classify {
        /// The invocation client (local server or SageMaker Runtime).
        invoker: Arc<dyn InvokeEndpoint>,
        /// The endpoint.
        endpoint: String,
    },
    /// Passes confident events.
    Filter(Threshold),
}

impl std::fmt::Debug for StepFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serialize(objects) => f.debug_tuple("Serialize").field(objects).finish(),
            Self::Classify { endpoint, .. } => f.debug_struct("Classify").field("endpoint", endpoint).finish(),
            Self::Filter(threshold) => f.debug_tuple("Filter").field(threshold).finish(),
        }
    }
}

impl StepFunction {
    /// Which step this is.
    #[must_use]
    pub const fn step(&self) -> Step {
        match self {
            Self::Serialize(_) => Step::Serialize,
            Self::Classify { .. } => Step::Classify,
            Self::Filter(_) => Step::Filter,
        }
    }

    /// Runs the step on one event (the function's payload) and returns the next event.
    ///
    /// # Errors
    /// [`Error::Step`] with the error name a state machine sees: `INVALID_EVENT` for a payload
    /// that is not the event, and each step's own names.
    pub async fn handle(&self, payload: &Value) -> Result<Value> {
        let event = ImageEvent::from_json(payload)?;
        let out = match self {
            Self::Serialize(objects) => serialize_image_data(objects, event).await?,
            Self::Classify { invoker, endpoint } => classify(invoker.as_ref(), endpoint, event).await?,
            Self::Filter(threshold) => filter_low_confidence(event, *threshold)?,
        };
        Ok(out.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings> {
        Settings::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn the_function_name_or_wb_step_chooses_the_step() {
        assert_eq!(Step::of_function("wb-digits-serialize"), Some(Step::Serialize));
        assert_eq!(
            Step::of_function("arn:aws:lambda:us-east-1:123456789012:function:wb-a-classify:$LATEST"),
            Some(Step::Classify)
        );
        assert_eq!(Step::of_function("wb-a-filters"), None);
        assert_eq!(Step::of_function("filter"), None);
        let s = settings(&[(ENV_FUNCTION_NAME, "anything"), (ENV_STEP, "filter")]).expect("WB_STEP wins");
        assert_eq!(s.step, Step::Filter);
        assert_eq!(s.threshold, Threshold::default());
    }

    #[test]
    fn each_step_names_the_variable_it_misses() {
        let err = settings(&[(ENV_FUNCTION_NAME, "wb-a-serialize")]).expect_err("no store");
        assert!(err.to_string().contains("WB_STORE") && err.to_string().contains("serialize step"), "{err}");
        let err = settings(&[(ENV_FUNCTION_NAME, "wb-a-classify")]).expect_err("no endpoint");
        assert!(err.to_string().contains("WB_ENDPOINT"), "{err}");
        let err = settings(&[(ENV_FUNCTION_NAME, "my-function")]).expect_err("no step");
        assert!(err.to_string().contains("my-function") && err.to_string().contains("WB_STEP"), "{err}");
        let err = settings(&[]).expect_err("nothing");
        assert!(err.to_string().contains("WB_STEP"), "{err}");
        let err = settings(&[(ENV_STEP, "filter"), (ENV_THRESHOLD, "1.5")]).expect_err("threshold");
        assert!(err.to_string().contains("WB_THRESHOLD") && err.to_string().contains("1.5"), "{err}");
        let err = settings(&[(ENV_STEP, "classify"), (ENV_ENDPOINT, "e"), (ENV_RUNTIME_URL, "localhost:8080")])
            .expect_err("url");
        assert!(err.to_string().contains("WB_RUNTIME_URL"), "{err}");
        let ok = settings(&[(ENV_STEP, "serialize"), (ENV_STORE, "s3://bucket/project")]).expect("s3 store");
        assert!(matches!(ok.store, Some(StoreUri::S3 { .. })));
    }

    #[tokio::test]
    async fn the_filter_function_answers_the_event_or_the_named_error() {
        let f = StepFunction::Filter(Threshold::new(0.8).expect("threshold"));
        let ok = serde_json::json!({"image_data": "", "s3_bucket": "b", "s3_key": "k.png", "inferences": [0.9, 0.1]});
        assert_eq!(f.handle(&ok).await.expect("passes"), ok);
        let low = serde_json::json!({"image_data": "", "s3_bucket": "b", "s3_key": "k.png", "inferences": [0.5, 0.5]});
        assert_eq!(f.handle(&low).await.expect_err("fails").name(), crate::THRESHOLD_CONFIDENCE_NOT_MET);
        let string =
            serde_json::json!({"image_data": "", "s3_bucket": "b", "s3_key": "k.png", "inferences": "[0.9, 0.1]"});
        assert_eq!(f.handle(&string).await.expect_err("reference shape").name(), crate::INVALID_EVENT);
    }
}

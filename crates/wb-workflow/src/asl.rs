//! The image workflow as an Amazon States Language state machine (JSONPath), the reference
//! project's `step_function.json` with its defects fixed:
//!
//! - three `Task` states on `arn:aws:states:::lambda:invoke` (`Payload.$: "$"`, `OutputPath:
//!   "$.Payload"`), each retrying the four Lambda service errors with backoff (2 s, ×2, 6
//!   attempts, as the reference), the serializer also [`STORE_UNAVAILABLE`] and the classifier
//!   [`ENDPOINT_UNAVAILABLE`] (1 s, ×2, 3 attempts);
//! - `TimeoutSeconds` on every task and on the machine;
//! - a `Catch` on the filter that routes [`THRESHOLD_CONFIDENCE_NOT_MET`] to a named `Fail`
//!   state, optionally through an SNS notification first;
//! - a `Map` variant that classifies a batch (`{"images": [event, …]}`): each image runs the
//!   three steps, an unconfident one is recorded (its event with an `error` object) rather than
//!   failing the batch, and the results land in `$.results`.
//!
//! ```
//! use wb_workflow::asl::{ExportOptions, Functions, state_machine};
//!
//! let options = ExportOptions::new(Functions::for_endpoint("digits-cnn")?, "digits-cnn");
//! let machine = state_machine(&options)?;
//! assert_eq!(machine["StartAt"], "Image Serializer");
//! assert_eq!(machine["States"]["Image Predictor"]["Parameters"]["FunctionName"], "wb-digits-cnn-classify");
//! # Ok::<(), wb_workflow::Error>(())
//! ```

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::steps::{ENDPOINT_UNAVAILABLE, STORE_UNAVAILABLE, THRESHOLD_CONFIDENCE_NOT_MET, Threshold};

/// The Lambda errors worth a retry, as the reference's machine lists them.
pub const LAMBDA_SERVICE_ERRORS: [&str; 4] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];
/// The state names (the reference's).
pub const SERIALIZER: &str = "Image Serializer";
/// The classifier's state.
pub const PREDICTOR: &str = "Image Predictor";
/// The filter's state.
pub const FILTER: &str = "Confidence Filter";
/// The `Fail` state of an unconfident image.
pub const LOW_CONFIDENCE: &str = "Low Confidence";
/// The notification state before [`LOW_CONFIDENCE`].
pub const NOTIFY: &str = "Notify Low Confidence";
/// The `Map` state of the batch variant.
pub const MAP: &str = "Classify Images";
/// In the batch variant, the state that records an unconfident image.
pub const RECORD_LOW_CONFIDENCE: &str = "Record Low Confidence";
/// Longest Lambda function name.
const MAX_FUNCTION_NAME: usize = 64;

/// The three functions the tasks invoke: names, or ARNs (with or without a version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Functions {
    /// `serialize_image_data`.
    pub serialize: String,
    /// The classifier.
    pub classify: String,
    /// `filter_low_confidence`.
    pub filter: String,
}

impl Functions {
    /// The workbench's names for the functions serving `endpoint`:
    /// `wb-<endpoint>-serialize`, `wb-<endpoint>-classify`, `wb-<endpoint>-filter`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a name would not be a valid Lambda function name (1–64 letters,
    /// digits, `-` and `_`).
    pub fn for_endpoint(endpoint: &str) -> Result<Self> {
        let name = |step: &str| -> Result<String> {
            let name = format!("wb-{endpoint}-{step}");
            let valid = name.len() <= MAX_FUNCTION_NAME
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if valid {
                Ok(name)
            } else {
                Err(Error::Invalid {
                    field: "endpoint",
                    value: endpoint.to_owned(),
                    expected: format!(
                        "an endpoint name that makes valid Lambda function names (wb-<endpoint>-{step}: at most \
                         {MAX_FUNCTION_NAME} letters, digits, '-' and '_')"
                    ),
                })
            }
        };
        Ok(Self { serialize: name("serialize")?, classify: name("classify")?, filter: name("filter")? })
    }
}

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The functions the tasks invoke.
    pub functions: Functions,
    /// The endpoint the classifier invokes (configuration of the function; named in the
    /// machine's comment).
    pub endpoint: String,
    /// The filter's threshold (configuration of the function; named in the comment).
    pub threshold: Threshold,
    /// The batch (`Map`) variant.
    pub map: bool,
    /// Images classified at once in the batch variant.
    pub max_concurrency: u32,
    /// An SNS topic ARN to notify before failing on an unconfident image.
    pub notify_topic: Option<String>,
    /// `TimeoutSeconds` of each task.
    pub task_timeout_seconds: u32,
    /// `TimeoutSeconds` of the whole machine (the reference's 60; the batch variant's default
    /// is 300).
    pub timeout_seconds: u32,
}

impl ExportOptions {
    /// The single-image machine for `endpoint`, with the reference's threshold and timeout.
    #[must_use]
    pub fn new(functions: Functions, endpoint: impl Into<String>) -> Self {
        Self {
            functions,
            endpoint: endpoint.into(),
            threshold: Threshold::default(),
            map: false,
            max_concurrency: 4,
            notify_topic: None,
            task_timeout_seconds: 30,
            timeout_seconds: 60,
        }
    }
}

/// A retrier (`IntervalSeconds`, `MaxAttempts`, `BackoffRate`).
fn retrier(errors: &[&str], interval: u32, attempts: u32) -> Value {
    json!({"ErrorEquals": errors, "IntervalSeconds": interval, "MaxAttempts": attempts, "BackoffRate": 2.0})
}

/// One `lambda:invoke` task.
fn task(function: &str, timeout: u32, own_retry: Option<&str>, next: Option<&str>) -> Value {
    let mut retry = vec![retrier(&LAMBDA_SERVICE_ERRORS, 2, 6)];
    if let Some(error) = own_retry {
        retry.push(retrier(&[error], 1, 3));
    }
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"Payload.$": "$", "FunctionName": function},
        "OutputPath": "$.Payload",
        "TimeoutSeconds": timeout,
        "Retry": retry,
    });
    match next {
        Some(next) => state["Next"] = json!(next),
        None => state["End"] = json!(true),
    }
    state
}

/// The three steps' states, the filter catching [`THRESHOLD_CONFIDENCE_NOT_MET`] into
/// `on_low_confidence`.
fn steps(options: &ExportOptions, on_low_confidence: &str) -> serde_json::Map<String, Value> {
    let f = &options.functions;
    let timeout = options.task_timeout_seconds;
    let mut filter = task(&f.filter, timeout, None, None);
    filter["Catch"] =
        json!([{"ErrorEquals": [THRESHOLD_CONFIDENCE_NOT_MET], "ResultPath": "$.error", "Next": on_low_confidence}]);
    let mut states = serde_json::Map::new();
    states.insert(SERIALIZER.into(), task(&f.serialize, timeout, Some(STORE_UNAVAILABLE), Some(PREDICTOR)));
    states.insert(PREDICTOR.into(), task(&f.classify, timeout, Some(ENDPOINT_UNAVAILABLE), Some(FILTER)));
    states.insert(FILTER.into(), filter);
    states
}

/// The state machine's definition.
///
/// # Errors
/// [`Error::Invalid`] for a zero timeout or concurrency, a task timeout not below the
/// machine's, or a notification topic that is not an SNS topic ARN.
pub fn state_machine(options: &ExportOptions) -> Result<Value> {
    let invalid = |field: &'static str, value: String, expected: &str| Error::Invalid {
        field,
        value,
        expected: expected.to_owned(),
    };
    if options.task_timeout_seconds == 0 || options.task_timeout_seconds >= options.timeout_seconds {
        return Err(invalid(
            "task timeout",
            options.task_timeout_seconds.to_string(),
            &format!("a positive number of seconds below the machine's {}", options.timeout_seconds),
        ));
    }
    if options.map && options.max_concurrency == 0 {
        return Err(invalid("max concurrency", "0".into(), "at least 1"));
    }
    if let Some(topic) = &options.notify_topic
        && !(topic.starts_with("arn:aws") && topic.contains(":sns:"))
    {
        return Err(invalid(
            "notify topic",
            topic.clone(),
            "an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
        ));
    }
    let comment = format!(
        "Image classification exported by workbench: serialize, classify at endpoint {}, filter at confidence {} \
         (fails with {THRESHOLD_CONFIDENCE_NOT_MET}){}",
        options.endpoint,
        options.threshold.get(),
        if options.map { "; one branch per image of $.images, results in $.results" } else { "" }
    );
    if options.map {
        let mut inner = steps(options, RECORD_LOW_CONFIDENCE);
        inner.insert(RECORD_LOW_CONFIDENCE.into(), json!({"Type": "Pass", "End": true}));
        let map = json!({
            "Type": "Map",
            "ItemsPath": "$.images",
            "MaxConcurrency": options.max_concurrency,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": SERIALIZER,
                "States": inner,
            },
            "ResultPath": "$.results",
            "End": true,
        });
        return Ok(json!({
            "Comment": comment,
            "StartAt": MAP,
            "TimeoutSeconds": options.timeout_seconds,
            "States": {MAP: map},
        }));
    }
    let fail = json!({
        "Type": "Fail",
        "Error": THRESHOLD_CONFIDENCE_NOT_MET,
        "Cause": format!("no class probability reached the confidence threshold {}", options.threshold.get()),
    });
    let mut states = steps(options, if options.notify_topic.is_some() { NOTIFY } else { LOW_CONFIDENCE });
    if let Some(topic) = &options.notify_topic {
        states.insert(
            NOTIFY.into(),
            json!({
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message.$": "$.error.Cause", "Subject": "Low-confidence image"},
                "ResultPath": null,
                "TimeoutSeconds": options.task_timeout_seconds,
                "Next": LOW_CONFIDENCE,
            }),
        );
    }
    states.insert(LOW_CONFIDENCE.into(), fail);
    Ok(json!({
        "Comment": comment,
        "StartAt": SERIALIZER,
        "TimeoutSeconds": options.timeout_seconds,
        "States": states,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ExportOptions {
        ExportOptions::new(Functions::for_endpoint("digits-cnn").expect("names"), "digits-cnn")
    }

    #[test]
    fn the_single_image_machine_has_the_references_shape_and_its_fixes() {
        let machine = state_machine(&options()).expect("exports");
        assert_eq!(machine["TimeoutSeconds"], 60);
        let states = machine["States"].as_object().expect("states");
        let names: Vec<&str> = states.keys().map(String::as_str).collect();
        let mut expected = vec![SERIALIZER, PREDICTOR, FILTER, LOW_CONFIDENCE];
        expected.sort_unstable();
        assert_eq!(names, expected);
        for (state, next) in [(SERIALIZER, PREDICTOR), (PREDICTOR, FILTER)] {
            assert_eq!(states[state]["Next"], next);
            assert_eq!(states[state]["OutputPath"], "$.Payload");
            assert_eq!(states[state]["Parameters"]["Payload.$"], "$");
            assert_eq!(states[state]["Retry"][0]["ErrorEquals"], json!(LAMBDA_SERVICE_ERRORS));
            assert_eq!(states[state]["TimeoutSeconds"], 30);
        }
        assert_eq!(states[PREDICTOR]["Retry"][1]["ErrorEquals"], json!([ENDPOINT_UNAVAILABLE]));
        assert_eq!(states[FILTER]["End"], true);
        assert_eq!(states[FILTER]["Catch"][0]["Next"], LOW_CONFIDENCE);
        assert_eq!(states[LOW_CONFIDENCE]["Error"], THRESHOLD_CONFIDENCE_NOT_MET);
        assert!(machine["Comment"].as_str().expect("comment").contains("confidence 0.93"));
    }

    #[test]
    fn notification_and_batch_variants() {
        let mut o = options();
        o.notify_topic = Some("arn:aws:sns:us-east-1:123456789012:low-confidence".into());
        let machine = state_machine(&o).expect("exports");
        assert_eq!(machine["States"][FILTER]["Catch"][0]["Next"], NOTIFY);
        assert_eq!(machine["States"][NOTIFY]["Next"], LOW_CONFIDENCE);

        let mut o = options();
        o.map = true;
        o.timeout_seconds = 300;
        let machine = state_machine(&o).expect("exports");
        let map = &machine["States"][MAP];
        assert_eq!((map["ItemsPath"].as_str(), map["ResultPath"].as_str()), (Some("$.images"), Some("$.results")));
        let inner = &map["ItemProcessor"]["States"];
        assert_eq!(inner[FILTER]["Catch"][0]["Next"], RECORD_LOW_CONFIDENCE);
        assert_eq!(inner[RECORD_LOW_CONFIDENCE]["Type"], "Pass");
    }

    #[test]
    fn bad_options_are_refused() {
        let mut o = options();
        o.task_timeout_seconds = 60;
        assert!(state_machine(&o).expect_err("timeout").to_string().contains("below the machine's 60"));
        let mut o = options();
        o.notify_topic = Some("my-topic".into());
        assert!(state_machine(&o).expect_err("topic").to_string().contains("SNS topic ARN"));
        let long = "e".repeat(60);
        assert!(Functions::for_endpoint(&long).expect_err("long").to_string().contains("at most 64"));
    }
}

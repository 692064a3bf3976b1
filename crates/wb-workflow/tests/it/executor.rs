//! The local executor: the exported machines on the real steps, and ASL semantics on
//! scripted resources (retries, catchers, timeouts, Map, Parallel, Choice, Wait, intrinsics).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wb_workflow::asl::{ExportOptions, Functions, state_machine};
use wb_workflow::executor::{ExecutionStatus, Executor, Failure, TaskResources};
use wb_workflow::local::{LocalSteps, find, record};
use wb_workflow::machine::StateMachine;
use wb_workflow::{ENDPOINT_UNAVAILABLE, IMAGE_NOT_FOUND, THRESHOLD_CONFIDENCE_NOT_MET, Threshold};

use crate::steps::{fixture, put};

fn exported(map: bool) -> StateMachine {
    let mut options = ExportOptions::new(Functions::for_endpoint("bars").expect("names"), "bars");
    options.map = map;
    options.timeout_seconds = 300;
    StateMachine::parse(&state_machine(&options).expect("exports")).expect("the executor accepts the export")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exported_machine_runs_on_the_local_steps() {
    let f = fixture().await;
    let path = put(&f.store, "images/bar.png", f.png.clone()).await;
    let input = f.objects.event_for(&path).to_json();
    let steps = |threshold: f64| {
        LocalSteps::new(
            f.store.clone(),
            Arc::new(f.client.clone()),
            "bars",
            Threshold::new(threshold).expect("threshold"),
            Functions::for_endpoint("bars").expect("names"),
        )
    };

    // What the model answers for a pure and a mixed image: a threshold between the two lets the
    // first pass and the second fail.
    let mixed = put(&f.store, "images/mixed.png", f.ambiguous.clone()).await;
    let unsure = f.objects.event_for(&mixed).to_json();
    let probe = steps(0.5);
    let best = |event: Value| async {
        let e = Executor::new(&probe).execute(&exported(false), "probe", event).await;
        assert_eq!(e.status, ExecutionStatus::Succeeded, "{:?}: {:?}", e.error, e.cause);
        let inferences = e.output.expect("output")["inferences"].as_array().expect("inferences").clone();
        inferences.iter().filter_map(Value::as_f64).fold(0.0, f64::max)
    };
    let (pure, ambiguous) = (best(input.clone()).await, best(unsure.clone()).await);
    assert!(ambiguous < pure, "the mixed image is less certain: {ambiguous} vs {pure}");
    let threshold = f64::midpoint(pure, ambiguous);

    // A confident image: SUCCEEDED, the output is the event with its inferences.
    let confident = steps(threshold);
    let execution = Executor::new(&confident).execute(&exported(false), "image-workflow", input.clone()).await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded, "{:?}: {:?}", execution.error, execution.cause);
    let output = execution.output.clone().expect("output");
    assert_eq!(output["s3_key"], "images/bar.png");
    assert_eq!(output["inferences"].as_array().map(Vec::len), Some(2), "{}", output["inferences"]);
    assert_eq!(execution.states_entered(), ["Image Serializer", "Image Predictor", "Confidence Filter"]);
    let kinds: Vec<&str> = execution.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"));
    assert_eq!(kinds.iter().filter(|k| **k == "TaskSucceeded").count(), 3);

    // Recorded in the store and found again by id.
    let recorded = record(&f.store, &execution).await.expect("records");
    assert!(recorded.as_str().starts_with("workflows/image-workflow/executions/"), "{recorded}");
    assert_eq!(find(&f.store, &execution.id).await.expect("finds"), execution);
    assert!(find(&f.store, "no-such-id").await.expect_err("absent").to_string().contains("wb workflow run"));

    // An unconfident image (the bars of both classes) fails loudly with the named error,
    // through the Catch and the Fail state.
    let execution = Executor::new(&confident).execute(&exported(false), "image-workflow", unsure.clone()).await;
    assert_eq!(execution.status, ExecutionStatus::Failed, "{:?}", execution.states_entered());
    assert_eq!(execution.error.as_deref(), Some(THRESHOLD_CONFIDENCE_NOT_MET), "{:?}", execution.cause);
    assert_eq!(execution.states_entered().last(), Some(&"Low Confidence"));

    // A missing image: the serializer's named error ends the execution.
    let missing = json!({"image_data": "", "s3_bucket": input["s3_bucket"], "s3_key": "images/none.png"});
    let execution = Executor::new(&confident).execute(&exported(false), "image-workflow", missing).await;
    assert_eq!((execution.status, execution.error.as_deref()), (ExecutionStatus::Failed, Some(IMAGE_NOT_FOUND)));

    // The batch variant: one branch per image; unconfident ones are recorded, not fatal.
    let batch = json!({"images": [input, unsure]});
    let execution = Executor::new(&confident).execute(&exported(true), "image-batch", batch).await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded, "{:?}: {:?}", execution.error, execution.cause);
    let results = execution.output.expect("output")["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 2);
    assert!(results[0].get("error").is_none(), "the confident image passes: {}", results[0]["inferences"]);
    assert_eq!(results[1]["error"]["Error"], THRESHOLD_CONFIDENCE_NOT_MET, "{}", results[1]["error"]);
    assert_eq!(results[1]["inferences"].as_array().map(Vec::len), Some(2), "{}", results[1]["inferences"]);
    f.server.shutdown().await.expect("shutdown");

    // The endpoint is down: the classifier is retried (1 s, 2 s, 4 s on the clock; scaled down
    // here), then the execution fails with the named error, every attempt in the history.
    let execution =
        Executor::new(&confident).time_scale(0.001).execute(&exported(false), "image-workflow", input.clone()).await;
    assert_eq!(execution.status, ExecutionStatus::Failed, "{:?}", execution.states_entered());
    assert_eq!(execution.error.as_deref(), Some(ENDPOINT_UNAVAILABLE), "{:?}", execution.cause);
    assert!(execution.cause.as_deref().is_some_and(|c| c.contains("bars")), "{:?}", execution.cause);
    let failed_attempts = execution.events.iter().filter(|e| e.kind == "TaskFailed").count();
    assert_eq!(failed_attempts, 4, "one attempt and three retries of the classifier");
    assert_eq!(execution.states_entered(), ["Image Serializer", "Image Predictor"]);
}

/// A resource that answers from a script per resource name: a list of outcomes, the last one
/// repeating; `sleep:<seconds>` waits before answering its input.
#[derive(Default)]
struct Scripted {
    script: BTreeMap<String, Vec<Result<Value, Failure>>>,
    calls: Mutex<BTreeMap<String, usize>>,
}

impl Scripted {
    fn on(mut self, resource: &str, outcomes: Vec<Result<Value, Failure>>) -> Self {
        self.script.insert(resource.to_owned(), outcomes);
        self
    }

    fn calls(&self, resource: &str) -> usize {
        self.calls.lock().expect("lock").get(resource).copied().unwrap_or(0)
    }
}

#[async_trait::async_trait]
impl TaskResources for Scripted {
    async fn run(&self, resource: &str, input: Value) -> Result<Value, Failure> {
        if let Some(seconds) = resource.strip_prefix("sleep:") {
            tokio::time::sleep(std::time::Duration::from_secs_f64(seconds.parse().expect("seconds"))).await;
            return Ok(input);
        }
        let n = {
            let mut calls = self.calls.lock().expect("lock");
            let n = calls.entry(resource.to_owned()).or_insert(0);
            *n += 1;
            *n
        };
        let outcomes = &self.script[resource];
        outcomes[(n - 1).min(outcomes.len() - 1)].clone()
    }
}

fn failure(error: &str) -> Result<Value, Failure> {
    Err(Failure::new(error, format!("{error} happened")))
}

async fn run(resources: &Scripted, definition: Value, input: Value) -> wb_workflow::executor::Execution {
    let machine = StateMachine::parse(&definition).expect("valid");
    Executor::new(resources).time_scale(0.001).execute(&machine, "fixture", input).await
}

#[tokio::test]
async fn retries_then_catchers_with_result_paths() {
    let resources = Scripted::default()
        .on("flaky", vec![failure("Transient"), failure("Transient"), Ok(json!({"value": 7}))])
        .on("broken", vec![failure("Transient")]);
    let definition = json!({
        "StartAt": "Flaky",
        "States": {
            "Flaky": {"Type": "Task", "Resource": "flaky", "ResultSelector": {"got.$": "$.value"}, "ResultPath": "$.flaky",
                      "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 2}], "Next": "Broken"},
            "Broken": {"Type": "Task", "Resource": "broken",
                       "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 5}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                       "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Pass", "End": true}
        }
    });
    let execution = run(&resources, definition, json!({"start": true})).await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded, "{execution:?}");
    assert_eq!(resources.calls("flaky"), 3, "two retries, then success");
    assert_eq!(resources.calls("broken"), 2, "one retry by the States.ALL retrier");
    let output = execution.output.clone().expect("output");
    assert_eq!(output["flaky"], json!({"got": 7}));
    assert_eq!(output["error"], json!({"Error": "Transient", "Cause": "Transient happened"}));
    assert_eq!(output["start"], true, "the catcher's ResultPath kept the input");
    assert_eq!(execution.states_entered(), ["Flaky", "Broken", "Handled"]);
    let retried = execution.events.iter().filter(|e| e.kind == "TaskRetryScheduled").count();
    assert_eq!(retried, 3);

    // Retries exhausted and nothing catches: the execution fails with the task's error.
    let resources = Scripted::default().on("broken", vec![failure("Transient")]);
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "broken",
        "Retry": [{"ErrorEquals": ["Transient"], "MaxAttempts": 2}], "End": true}}});
    let execution = run(&resources, definition, json!({})).await;
    assert_eq!((execution.status, execution.error.as_deref()), (ExecutionStatus::Failed, Some("Transient")));
    assert_eq!(resources.calls("broken"), 3);
}

#[tokio::test]
async fn task_and_execution_timeouts() {
    let resources = Scripted::default();
    // Time is scaled by 1/1000: a 10 s task timeout is 10 ms against a 200 ms task.
    let definition = json!({"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "sleep:0.2",
        "TimeoutSeconds": 10, "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TimedOut"}], "End": true},
        "TimedOut": {"Type": "Fail", "Error": "TOO_SLOW", "Cause": "the task timed out"}}});
    let execution = run(&resources, definition, json!({})).await;
    assert_eq!(execution.error.as_deref(), Some("TOO_SLOW"), "{execution:?}");
    assert!(execution.events.iter().any(|e| e.kind == "TaskTimedOut"));

    let definition = json!({"TimeoutSeconds": 20, "StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 1000, "End": true}}});
    let execution = run(&resources, definition, json!({})).await;
    assert_eq!((execution.status, execution.error.as_deref()), (ExecutionStatus::TimedOut, Some("States.Timeout")));
}

#[tokio::test]
async fn choice_map_parallel_wait_and_intrinsics() {
    let resources = Scripted::default().on("double", vec![Ok(json!("doubled"))]);
    let definition = json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [
                {"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.name", "StringMatches": "img-*"}], "Next": "Each"},
                {"Variable": "$.n", "IsPresent": false, "Next": "Nothing"}
            ], "Default": "Nothing"},
            "Nothing": {"Type": "Fail", "Error": "NO_ROUTE"},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                     "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "name.$": "$.name"},
                     "ItemProcessor": {"StartAt": "Label", "States": {
                         "Label": {"Type": "Pass", "Parameters": {"label.$": "States.Format('{}#{}', $.name, $.index)", "item.$": "$.item"}, "End": true}}},
                     "ResultPath": "$.labels", "Next": "Both"},
            "Both": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "double", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "Next": "C"},
                                            "C": {"Type": "Pass", "Parameters": {"count.$": "States.ArrayLength($.items)"}, "End": true}}}
            ], "ResultPath": "$.both", "OutputPath": "$", "Next": "Done"},
            "Done": {"Type": "Succeed", "OutputPath": "$.both"}
        }
    });
    let execution =
        run(&resources, definition.clone(), json!({"n": 2, "name": "img-a", "items": ["x", "y", "z"]})).await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded, "{execution:?}");
    assert_eq!(execution.output, Some(json!(["doubled", {"count": 3}])));
    let iterations = execution.events.iter().filter(|e| e.kind == "MapIterationSucceeded").count();
    assert_eq!(iterations, 3);
    let labels: Vec<&str> = execution
        .events
        .iter()
        .filter(|e| e.kind == "PassStateExited" && e.state.as_deref() == Some("Label"))
        .filter_map(|e| e.details["output"]["label"].as_str())
        .collect();
    let mut sorted = labels.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["img-a#0", "img-a#1", "img-a#2"]);

    let execution = run(&resources, definition, json!({"n": 1, "name": "img-a", "items": []})).await;
    assert_eq!((execution.status, execution.error.as_deref()), (ExecutionStatus::Failed, Some("NO_ROUTE")));
    assert_eq!(execution.states_entered(), ["Route", "Nothing"]);
}

#[tokio::test]
async fn states_over_the_size_limit_fail_uncatchably() {
    let resources = Scripted::default().on("big", vec![Ok(json!("x".repeat(300_000)))]);
    let definition = json!({"StartAt": "Big", "States": {"Big": {"Type": "Task", "Resource": "big",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true}, "Caught": {"Type": "Succeed"}}});
    let execution = run(&resources, definition, json!({})).await;
    assert_eq!(execution.error.as_deref(), Some("States.DataLimitExceeded"), "{:?}", execution.cause);
}

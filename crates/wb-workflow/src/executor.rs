//! Runs a checked [`StateMachine`] with Step Functions' semantics: Task, Pass, Choice, Wait,
//! Succeed, Fail, Map and Parallel; `InputPath`, `Parameters`/`ItemSelector` (with `.$` paths,
//! the context object and intrinsic functions), `ResultSelector`, `ResultPath`, `OutputPath`;
//! `Retry` (`ErrorEquals`, `IntervalSeconds`, `MaxAttempts`, `BackoffRate`, `MaxDelaySeconds`,
//! counters per retrier), `Catch` (error output `{"Error", "Cause"}` at the catcher's
//! `ResultPath`), `TimeoutSeconds` on tasks (`States.Timeout`) and on the execution
//! (`TIMED_OUT`), and the 262,144-byte state limit (`States.DataLimitExceeded`, which no
//! catcher matches).
//!
//! Tasks run through [`TaskResources`]; every step is recorded as an execution history with
//! Step Functions' event types (`ExecutionStarted`, `TaskStateEntered`, `TaskScheduled`,
//! `TaskFailed`, `MapIterationStarted`, …).

use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wb_core::Timestamp;

use crate::machine::{Retrier, State, StateKind, StateMachine, WaitFor};
use crate::path::{self, PathFailure};
use crate::steps::STATE_LIMIT_BYTES;

/// A named failure, as Step Functions reports one (`{"Error", "Cause"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error name (`THRESHOLD_CONFIDENCE_NOT_MET`, `States.Timeout`, …).
    #[serde(rename = "Error")]
    pub error: String,
    /// What happened.
    #[serde(rename = "Cause")]
    pub cause: String,
}

impl Failure {
    /// A failure named `error`.
    #[must_use]
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { error: error.into(), cause: cause.into() }
    }
}

impl From<PathFailure> for Failure {
    fn from(f: PathFailure) -> Self {
        Self::new(f.error, f.cause)
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Step { name, cause } => Self::new(name, cause),
            other => Self::new(other.name(), other.to_string()),
        }
    }
}

/// What runs a Task state's `Resource`.
#[async_trait::async_trait]
pub trait TaskResources: Send + Sync {
    /// Runs `resource` on `input` (the state's effective input, after `Parameters`).
    ///
    /// # Errors
    /// A [`Failure`] with the name a `Retry` or `Catch` matches.
    async fn run(&self, resource: &str, input: Value) -> Result<Value, Failure>;
}

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    /// It reached a terminal state.
    Succeeded,
    /// A state failed and no catcher handled it.
    Failed,
    /// The machine's `TimeoutSeconds` passed.
    TimedOut,
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
        })
    }
}

/// One event of an execution's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// 1, 2, … in order.
    pub id: u64,
    /// When (RFC 3339, UTC).
    pub timestamp: String,
    /// Step Functions' event type (`TaskStateEntered`, `TaskFailed`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The state it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Input, output, error and cause, as the event type carries them.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// An execution: its input, how it ended and its history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Its id.
    pub id: String,
    /// The machine's name.
    pub machine: String,
    /// How it ended.
    pub status: ExecutionStatus,
    /// The input.
    pub input: Value,
    /// The output when it succeeded.
    pub output: Option<Value>,
    /// The error name when it failed or timed out.
    pub error: Option<String>,
    /// The cause when it failed or timed out.
    pub cause: Option<String>,
    /// When it started.
    pub started: String,
    /// When it stopped.
    pub stopped: String,
    /// Its history.
    pub events: Vec<HistoryEvent>,
}

impl Execution {
    /// The states entered, in order (`…StateEntered` events).
    #[must_use]
    pub fn states_entered(&self) -> Vec<&str> {
        self.events.iter().filter(|e| e.kind.ends_with("StateEntered")).filter_map(|e| e.state.as_deref()).collect()
    }
}

/// Runs state machines over a set of task resources.
pub struct Executor<'a> {
    resources: &'a dyn TaskResources,
    time_scale: f64,
}

/// The state of one running execution.
struct Run<'a> {
    resources: &'a dyn TaskResources,
    time_scale: f64,
    execution_id: String,
    history: Mutex<Vec<HistoryEvent>>,
}

impl<'a> Executor<'a> {
    /// An executor whose Task states run on `resources`.
    #[must_use]
    pub fn new(resources: &'a dyn TaskResources) -> Self {
        Self { resources, time_scale: 1.0 }
    }

    /// Multiplies every wait (retry intervals, `Wait` states) and timeout by `scale`: tests run
    /// the same definitions in a fraction of their time.
    #[must_use]
    pub const fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }

    /// Runs `machine` (named `name`) on `input` to its end, with a fresh execution id.
    pub async fn execute(&self, machine: &StateMachine, name: &str, input: Value) -> Execution {
        let id = uuid::Uuid::now_v7().to_string();
        let run = Run {
            resources: self.resources,
            time_scale: self.time_scale,
            execution_id: id.clone(),
            history: Mutex::new(Vec::new()),
        };
        let started = Timestamp::now().to_string();
        run.event("ExecutionStarted", None, json!({"input": input}));
        let body = run.machine(machine, input.clone(), None);
        let outcome = match machine.timeout_seconds {
            Some(seconds) => tokio::time::timeout(run.scaled(seconds as f64), body).await.ok(),
            None => Some(body.await),
        };
        let (status, output, error, cause) = match outcome {
            Some(Ok(output)) => {
                run.event("ExecutionSucceeded", None, json!({"output": output}));
                (ExecutionStatus::Succeeded, Some(output), None, None)
            }
            Some(Err(f)) => {
                run.event("ExecutionFailed", None, json!({"error": f.error, "cause": f.cause}));
                (ExecutionStatus::Failed, None, Some(f.error), Some(f.cause))
            }
            None => {
                let cause = format!("the execution ran longer than its TimeoutSeconds ({:?})", machine.timeout_seconds);
                run.event("ExecutionTimedOut", None, json!({"error": "States.Timeout", "cause": cause}));
                (ExecutionStatus::TimedOut, None, Some("States.Timeout".to_owned()), Some(cause))
            }
        };
        let events = run.history.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        Execution {
            id,
            machine: name.to_owned(),
            status,
            input,
            output,
            error,
            cause,
            started,
            stopped: Timestamp::now().to_string(),
            events,
        }
    }
}

/// Whether a retrier's or catcher's `ErrorEquals` matches `error`.
fn matches(names: &[String], error: &str) -> bool {
    names.iter().any(|n| {
        n == error
            || (n == "States.ALL" && error != "States.DataLimitExceeded" && error != "States.Runtime")
            || (n == "States.TaskFailed"
                && error != "States.Timeout"
                && error != "States.DataLimitExceeded"
                && error != "States.Runtime")
    })
}

/// The state type's name in event types (`Task`, `Pass`, …).
const fn type_name(kind: &StateKind) -> &'static str {
    match kind {
        StateKind::Task { .. } => "Task",
        StateKind::Pass { .. } => "Pass",
        StateKind::Choice { .. } => "Choice",
        StateKind::Wait { .. } => "Wait",
        StateKind::Succeed => "Succeed",
        StateKind::Fail { .. } => "Fail",
        StateKind::Map { .. } => "Map",
        StateKind::Parallel { .. } => "Parallel",
    }
}

impl Run<'_> {
    fn event(&self, kind: &str, state: Option<&str>, details: Value) {
        let mut history = self.history.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = history.len() as u64 + 1;
        history.push(HistoryEvent {
            id,
            timestamp: Timestamp::now().to_string(),
            kind: kind.to_owned(),
            state: state.map(str::to_owned),
            details,
        });
    }

    fn scaled(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64((seconds * self.time_scale).max(0.0))
    }

    fn context(&self, state: &str, map_item: Option<&(usize, Value)>) -> Value {
        let mut context = json!({
            "Execution": {"Id": self.execution_id},
            "State": {"Name": state, "EnteredTime": Timestamp::now().to_string()},
        });
        if let Some((index, value)) = map_item {
            context["Map"] = json!({"Item": {"Index": index, "Value": value}});
        }
        context
    }

    /// Runs the states of `machine` from its start; `map_item` is the Map item it processes.
    fn machine<'s>(
        &'s self,
        machine: &'s StateMachine,
        input: Value,
        map_item: Option<(usize, Value)>,
    ) -> futures::future::BoxFuture<'s, Result<Value, Failure>> {
        Box::pin(async move {
            let mut name = machine.start_at.clone();
            let mut input = input;
            loop {
                let state = &machine.states[&name];
                let kind = type_name(&state.kind);
                self.event(&format!("{kind}StateEntered"), Some(&name), json!({"input": input}));
                let (output, next) = self.state(&name, state, input, map_item.as_ref()).await?;
                let size = output.to_string().len();
                if size > STATE_LIMIT_BYTES {
                    return Err(Failure::new(
                        "States.DataLimitExceeded",
                        format!("the output of state {name:?} is {size} bytes, over the limit of {STATE_LIMIT_BYTES}"),
                    ));
                }
                match next {
                    Some(next) => {
                        self.event(&format!("{kind}StateExited"), Some(&name), json!({"output": output}));
                        name = next;
                        input = output;
                    }
                    None => {
                        if !matches!(state.kind, StateKind::Fail { .. }) {
                            self.event(&format!("{kind}StateExited"), Some(&name), json!({"output": output}));
                        }
                        return Ok(output);
                    }
                }
            }
        })
    }

    /// Runs one state: its output and the next state's name (`None` at the end).
    async fn state(
        &self,
        name: &str,
        state: &State,
        raw: Value,
        map_item: Option<&(usize, Value)>,
    ) -> Result<(Value, Option<String>), Failure> {
        let context = self.context(name, map_item);
        let effective = path::select(&raw, state.input_path.as_ref(), "InputPath")?;
        let finish = |result: Value| -> Result<Value, Failure> {
            let selected = match &state.result_selector {
                Some(selector) => path::render(selector, &result, &context)?,
                None => result,
            };
            let merged = path::merge(&raw, selected, state.result_path.as_ref())?;
            Ok(path::select(&merged, state.output_path.as_ref(), "OutputPath")?)
        };
        match &state.kind {
            StateKind::Pass { result } => {
                let value = match (result, &state.parameters) {
                    (Some(result), _) => result.clone(),
                    (None, Some(parameters)) => path::render(parameters, &effective, &context)?,
                    (None, None) => effective,
                };
                let merged = path::merge(&raw, value, state.result_path.as_ref())?;
                Ok((path::select(&merged, state.output_path.as_ref(), "OutputPath")?, state.next.clone()))
            }
            StateKind::Succeed => Ok((path::select(&effective, state.output_path.as_ref(), "OutputPath")?, None)),
            StateKind::Fail { error, cause } => Err(Failure::new(
                error.clone().unwrap_or_else(|| "States.Fail".into()),
                cause.clone().unwrap_or_default(),
            )),
            StateKind::Wait { seconds } => {
                let seconds = match seconds {
                    WaitFor::Seconds(s) => *s,
                    WaitFor::SecondsPath(p) => path::get(&effective, p).and_then(|v| v.as_f64()).ok_or_else(|| {
                        Failure::new("States.Runtime", format!("SecondsPath {p:?} is not a number in the input"))
                    })?,
                };
                tokio::time::sleep(self.scaled(seconds)).await;
                Ok((path::select(&effective, state.output_path.as_ref(), "OutputPath")?, state.next.clone()))
            }
            StateKind::Choice { choices, default } => {
                for (rule, next) in choices {
                    if rule_holds(rule, &effective)? {
                        return Ok((
                            path::select(&effective, state.output_path.as_ref(), "OutputPath")?,
                            Some(next.clone()),
                        ));
                    }
                }
                match default {
                    Some(next) => {
                        Ok((path::select(&effective, state.output_path.as_ref(), "OutputPath")?, Some(next.clone())))
                    }
                    None => Err(Failure::new(
                        "States.NoChoiceMatched",
                        format!("no choice rule of {name:?} matched and it has no Default"),
                    )),
                }
            }
            StateKind::Task { .. } | StateKind::Map { .. } | StateKind::Parallel { .. } => {
                match self.attempts(name, state, &effective, &context).await {
                    Ok(result) => Ok((finish(result)?, state.next.clone())),
                    Err(failure) => {
                        let caught = state.catch.iter().find(|c| matches(&c.error_equals, &failure.error));
                        let Some(catcher) = caught else { return Err(failure) };
                        let error_output = json!({"Error": failure.error, "Cause": failure.cause});
                        let output = path::merge(&raw, error_output, catcher.result_path.as_ref())?;
                        Ok((output, Some(catcher.next.clone())))
                    }
                }
            }
        }
    }

    /// Runs a Task, Map or Parallel state's work, retrying as its retriers say.
    async fn attempts(&self, name: &str, state: &State, effective: &Value, context: &Value) -> Result<Value, Failure> {
        let mut retries = vec![0_u32; state.retry.len()];
        loop {
            let failure = match self.work(name, state, effective, context).await {
                Ok(result) => return Ok(result),
                Err(failure) => failure,
            };
            let Some((i, retrier)) =
                state.retry.iter().enumerate().find(|(_, r)| matches(&r.error_equals, &failure.error))
            else {
                return Err(failure);
            };
            if retries[i] >= retrier.max_attempts {
                return Err(failure);
            }
            retries[i] += 1;
            let wait = backoff(retrier, retries[i]);
            self.event(
                "TaskRetryScheduled",
                Some(name),
                json!({"error": failure.error, "attempt": retries[i], "waitSeconds": wait}),
            );
            tokio::time::sleep(self.scaled(wait)).await;
        }
    }

    /// One attempt of a Task, Map or Parallel state.
    async fn work(&self, name: &str, state: &State, effective: &Value, context: &Value) -> Result<Value, Failure> {
        match &state.kind {
            StateKind::Task { resource, timeout_seconds } => {
                let input = match &state.parameters {
                    Some(parameters) => path::render(parameters, effective, context)?,
                    None => effective.clone(),
                };
                self.event("TaskScheduled", Some(name), json!({"resource": resource, "parameters": input}));
                let call = self.resources.run(resource, input);
                let outcome = match timeout_seconds {
                    Some(seconds) => {
                        tokio::time::timeout(self.scaled(*seconds as f64), call).await.unwrap_or_else(|_| {
                            Err(Failure::new(
                                "States.Timeout",
                                format!("task {name:?} ran longer than its TimeoutSeconds ({seconds})"),
                            ))
                        })
                    }
                    None => call.await,
                };
                match &outcome {
                    Ok(output) => self.event("TaskSucceeded", Some(name), json!({"output": output})),
                    Err(f) if f.error == "States.Timeout" => {
                        self.event("TaskTimedOut", Some(name), json!({"error": f.error, "cause": f.cause}));
                    }
                    Err(f) => self.event("TaskFailed", Some(name), json!({"error": f.error, "cause": f.cause})),
                }
                outcome
            }
            StateKind::Map { items_path, processor, max_concurrency } => {
                let items = match items_path {
                    Some(p) => path::get(effective, p),
                    None => Some(effective.clone()),
                };
                let Some(Value::Array(items)) = items else {
                    return Err(Failure::new(
                        "States.Runtime",
                        format!(
                            "ItemsPath {:?} of {name:?} is not an array in the input",
                            items_path.as_deref().unwrap_or("$")
                        ),
                    ));
                };
                let limit = if *max_concurrency == 0 { items.len().max(1) } else { *max_concurrency };
                let iterations = items.into_iter().enumerate().map(|(index, item)| async move {
                    let item_context = self.context(name, Some(&(index, item.clone())));
                    let input = match &state.parameters {
                        Some(selector) => path::render(selector, effective, &item_context)?,
                        None => item.clone(),
                    };
                    self.event("MapIterationStarted", Some(name), json!({"index": index}));
                    let result = self.machine(processor, input, Some((index, item))).await;
                    let (kind, error) = match &result {
                        Ok(_) => ("MapIterationSucceeded", Value::Null),
                        Err(f) => ("MapIterationFailed", json!(f.error)),
                    };
                    self.event(kind, Some(name), json!({"index": index, "error": error}));
                    result
                });
                let results: Vec<Result<Value, Failure>> =
                    futures::stream::iter(iterations).buffered(limit).collect().await;
                results.into_iter().collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            StateKind::Parallel { branches } => {
                let input = match &state.parameters {
                    Some(parameters) => path::render(parameters, effective, context)?,
                    None => effective.clone(),
                };
                let runs = branches.iter().map(|b| self.machine(b, input.clone(), None));
                let results = futures::future::join_all(runs).await;
                results.into_iter().collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            _ => Err(Failure::new("States.Runtime", format!("{name:?} is not a Task, Map or Parallel state"))),
        }
    }
}

/// The wait before retry `attempt` (1, 2, …): `IntervalSeconds × BackoffRate^(attempt−1)`,
/// capped by `MaxDelaySeconds`.
#[must_use]
pub fn backoff(retrier: &Retrier, attempt: u32) -> f64 {
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let wait = retrier.interval_seconds * retrier.backoff_rate.powi(exponent);
    retrier.max_delay_seconds.map_or(wait, |cap| wait.min(cap))
}

/// Whether a choice rule holds for `input`.
fn rule_holds(rule: &Value, input: &Value) -> Result<bool, Failure> {
    if let Some(rules) = rule.get("And").and_then(Value::as_array) {
        for r in rules {
            if !rule_holds(r, input)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(rules) = rule.get("Or").and_then(Value::as_array) {
        for r in rules {
            if rule_holds(r, input)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(inner) = rule.get("Not") {
        return Ok(!rule_holds(inner, input)?);
    }
    let variable = rule.get("Variable").and_then(Value::as_str).unwrap_or("$");
    let value = path::get(input, variable);
    let Some((operator, operand)) =
        rule.as_object().and_then(|o| o.iter().find(|(k, _)| *k != "Variable" && *k != "Next" && *k != "Comment"))
    else {
        return Ok(false);
    };
    let (operator, operand) = match operator.strip_suffix("Path") {
        Some(op) if op != "Is" && !operator.starts_with("Is") => {
            let p = operand.as_str().unwrap_or("$");
            let resolved = path::get(input, p).ok_or_else(|| {
                Failure::new("States.Runtime", format!("{operator} {p:?} matches nothing in the input"))
            })?;
            (op, resolved)
        }
        _ => (operator.as_str(), operand.clone()),
    };
    let is = |want: bool| operand.as_bool() == Some(want);
    Ok(match operator {
        "IsPresent" => is(value.is_some()),
        "IsNull" => is(value.as_ref().is_some_and(Value::is_null)),
        "IsNumeric" => is(value.as_ref().is_some_and(Value::is_number)),
        "IsString" => is(value.as_ref().is_some_and(Value::is_string)),
        "IsBoolean" => is(value.as_ref().is_some_and(Value::is_boolean)),
        "IsTimestamp" => is(value.as_ref().and_then(Value::as_str).is_some_and(chrono_like)),
        _ => {
            let Some(value) = value else {
                return Err(Failure::new(
                    "States.Runtime",
                    format!("Variable {variable:?} matches nothing in the input"),
                ));
            };
            compare(operator, &value, &operand)
        }
    })
}

/// An RFC 3339 timestamp, loosely (`YYYY-MM-DDTHH:MM:SS…Z` or with an offset).
fn chrono_like(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T') && s[..4].bytes().all(|b| b.is_ascii_digit())
}

fn compare(operator: &str, value: &Value, operand: &Value) -> bool {
    match operator {
        "StringEquals" | "TimestampEquals" => value.as_str().is_some() && value.as_str() == operand.as_str(),
        "StringLessThan" => pair_str(value, operand).is_some_and(|(a, b)| a < b),
        "StringGreaterThan" => pair_str(value, operand).is_some_and(|(a, b)| a > b),
        "StringLessThanEquals" => pair_str(value, operand).is_some_and(|(a, b)| a <= b),
        "StringGreaterThanEquals" => pair_str(value, operand).is_some_and(|(a, b)| a >= b),
        "StringMatches" => pair_str(value, operand).is_some_and(|(a, b)| glob(a, b)),
        "NumericEquals" => pair_num(value, operand).is_some_and(|(a, b)| (a - b).abs() < f64::EPSILON),
        "NumericLessThan" => pair_num(value, operand).is_some_and(|(a, b)| a < b),
        "NumericGreaterThan" => pair_num(value, operand).is_some_and(|(a, b)| a > b),
        "NumericLessThanEquals" => pair_num(value, operand).is_some_and(|(a, b)| a <= b),
        "NumericGreaterThanEquals" => pair_num(value, operand).is_some_and(|(a, b)| a >= b),
        "BooleanEquals" => value.as_bool().is_some() && value.as_bool() == operand.as_bool(),
        _ => false,
    }
}

fn pair_str<'v>(a: &'v Value, b: &'v Value) -> Option<(&'v str, &'v str)> {
    Some((a.as_str()?, b.as_str()?))
}

fn pair_num(a: &Value, b: &Value) -> Option<(f64, f64)> {
    Some((a.as_f64()?, b.as_f64()?))
}

/// `StringMatches`: `*` matches any run of characters.
fn glob(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_asl_formula() {
        let r = Retrier {
            error_equals: vec!["X".into()],
            interval_seconds: 3.0,
            max_attempts: 3,
            backoff_rate: 1.5,
            max_delay_seconds: Some(5.0),
        };
        assert_eq!(backoff(&r, 1), 3.0);
        assert_eq!(backoff(&r, 2), 4.5);
        assert_eq!(backoff(&r, 3), 5.0, "capped by MaxDelaySeconds");
    }

    #[test]
    fn error_matching_follows_the_reserved_names() {
        let all = vec!["States.ALL".to_owned()];
        let task = vec!["States.TaskFailed".to_owned()];
        assert!(matches(&all, "THRESHOLD_CONFIDENCE_NOT_MET"));
        assert!(!matches(&all, "States.DataLimitExceeded"));
        assert!(matches(&task, "Lambda.Unknown") && !matches(&task, "States.Timeout"));
        assert!(matches(&all, "States.Timeout"));
    }

    #[test]
    fn string_matches_globs() {
        assert!(glob("test/cat.png", "test/*.png"));
        assert!(glob("a", "*"));
        assert!(!glob("test/cat.jpg", "test/*.png"));
        assert!(glob("abcabc", "a*c*c"));
    }
}

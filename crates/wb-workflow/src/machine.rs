//! An Amazon States Language definition (JSONPath), parsed and checked before anything runs:
//! known state types only, every `Next`/`Default`/`Catch` target present, a terminal state,
//! non-empty `ErrorEquals` with `States.ALL` alone and last, positive timeouts, and choice
//! rules built from the comparison operators the executor implements.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A checked state machine (or a `Map` processor's / `Parallel` branch's states).
#[derive(Clone, Debug, PartialEq)]
pub struct StateMachine {
    /// The first state.
    pub start_at: String,
    /// The states by name.
    pub states: BTreeMap<String, State>,
    /// `TimeoutSeconds` of the whole machine.
    pub timeout_seconds: Option<u64>,
}

/// One state.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// What the state does.
    pub kind: StateKind,
    /// `InputPath`: `None` = `$`; `Some(None)` = `null` (the input becomes `{}`).
    pub input_path: Option<Option<String>>,
    /// `OutputPath`, as `input_path`.
    pub output_path: Option<Option<String>>,
    /// `ResultPath`: `None` = `$`; `Some(None)` = `null` (the result is discarded).
    pub result_path: Option<Option<String>>,
    /// `Parameters` (or a `Map`'s `ItemSelector`), a template with `.$` keys.
    pub parameters: Option<Value>,
    /// `ResultSelector`, a template over the result.
    pub result_selector: Option<Value>,
    /// `Retry`, in order.
    pub retry: Vec<Retrier>,
    /// `Catch`, in order.
    pub catch: Vec<Catcher>,
    /// `Next`, or `None` for `End` (and for Choice, Succeed and Fail).
    pub next: Option<String>,
}

/// What a state does.
#[derive(Clone, Debug, PartialEq)]
pub enum StateKind {
    /// Runs a resource.
    Task {
        /// The resource ARN.
        resource: String,
        /// `TimeoutSeconds` of one attempt.
        timeout_seconds: Option<u64>,
    },
    /// Passes its input (or `Result`) on.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// Branches on rules.
    Choice {
        /// The rules and their `Next`, in order.
        choices: Vec<(Value, String)>,
        /// `Default`.
        default: Option<String>,
    },
    /// Waits.
    Wait {
        /// `Seconds`, or the path of the seconds in the input (`SecondsPath`).
        seconds: WaitFor,
    },
    /// Ends the execution successfully.
    Succeed,
    /// Ends the execution with an error.
    Fail {
        /// `Error`.
        error: Option<String>,
        /// `Cause`.
        cause: Option<String>,
    },
    /// Runs a processor on every item of an array.
    Map {
        /// `ItemsPath` (default `$`).
        items_path: Option<String>,
        /// `ItemProcessor` (or the older `Iterator`).
        processor: Box<StateMachine>,
        /// `MaxConcurrency` (0 = no limit).
        max_concurrency: usize,
    },
    /// Runs branches on the same input.
    Parallel {
        /// `Branches`.
        branches: Vec<StateMachine>,
    },
}

/// How long a `Wait` state waits.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitFor {
    /// `Seconds`.
    Seconds(f64),
    /// `SecondsPath`.
    SecondsPath(String),
}

/// One `Retry` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3; 0 = never).
    pub max_attempts: u32,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`, a cap on each wait.
    pub max_delay_seconds: Option<f64>,
}

/// One `Catch` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (default `$`; `Some(None)` = `null`).
    pub result_path: Option<Option<String>>,
}

/// The comparison operators of choice rules (each also with a `Path` suffix, comparing with
/// another value of the input).
pub const COMPARISONS: [&str; 19] = [
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

impl StateMachine {
    /// Parses and checks a definition.
    ///
    /// # Errors
    /// [`Error::Definition`] naming the state and field that is wrong.
    pub fn parse(definition: &Value) -> Result<Self> {
        parse_machine(definition, "")
    }
}

fn definition(at: &str, message: impl Into<String>) -> Error {
    Error::Definition {
        at: if at.is_empty() { "the state machine".into() } else { at.to_owned() },
        message: message.into(),
    }
}

fn parse_machine(value: &Value, at: &str) -> Result<StateMachine> {
    let object = value.as_object().ok_or_else(|| definition(at, "must be a JSON object"))?;
    let start_at = string(object, "StartAt", at)?.ok_or_else(|| definition(at, "has no StartAt"))?;
    let states_value =
        object.get("States").and_then(Value::as_object).ok_or_else(|| definition(at, "has no States object"))?;
    if states_value.is_empty() {
        return Err(definition(at, "has no states"));
    }
    let mut states = BTreeMap::new();
    for (name, state) in states_value {
        let here = if at.is_empty() { format!("state {name:?}") } else { format!("{at} state {name:?}") };
        states.insert(name.clone(), parse_state(state, &here)?);
    }
    if !states.contains_key(&start_at) {
        return Err(definition(at, format!("StartAt names {start_at:?}, which is not a state")));
    }
    for (name, state) in &states {
        let here = if at.is_empty() { format!("state {name:?}") } else { format!("{at} state {name:?}") };
        let mut targets: Vec<&String> = state.next.iter().chain(state.catch.iter().map(|c| &c.next)).collect();
        if let StateKind::Choice { choices, default } = &state.kind {
            targets.extend(choices.iter().map(|(_, next)| next));
            targets.extend(default.iter());
        }
        for target in targets {
            if !states.contains_key(target) {
                return Err(definition(&here, format!("goes to {target:?}, which is not a state")));
            }
        }
    }
    let terminal = states.values().any(|s| {
        matches!(s.kind, StateKind::Succeed | StateKind::Fail { .. })
            || (s.next.is_none() && !matches!(s.kind, StateKind::Choice { .. }))
    });
    if !terminal {
        return Err(definition(at, "has no terminal state (End, Succeed or Fail)"));
    }
    Ok(StateMachine { start_at, states, timeout_seconds: positive(object, "TimeoutSeconds", at)? })
}

fn string(object: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(definition(at, format!("{key} must be a string, not {other}"))),
    }
}

/// A path field that may be `null`.
fn nullable_path(object: &Map<String, Value>, key: &str, at: &str) -> Result<Option<Option<String>>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.starts_with('$') => Ok(Some(Some(s.clone()))),
        Some(other) => Err(definition(at, format!("{key} must be a path starting with $ or null, not {other}"))),
    }
}

fn positive(object: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>> {
    match object.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64().filter(|&n| n > 0) {
            Some(n) => Ok(Some(n)),
            None => Err(definition(at, format!("{key} must be a positive integer, not {v}"))),
        },
    }
}

fn number(object: &Map<String, Value>, key: &str, at: &str, default: f64) -> Result<f64> {
    match object.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|n| *n >= 0.0 && n.is_finite())
            .ok_or_else(|| definition(at, format!("{key} must be a non-negative number, not {v}"))),
    }
}

fn error_equals(object: &Map<String, Value>, at: &str) -> Result<Vec<String>> {
    let names: Vec<String> = object
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if names.is_empty() {
        return Err(definition(at, "ErrorEquals must be a non-empty array of error names"));
    }
    if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
        return Err(definition(at, "States.ALL must be alone in its ErrorEquals"));
    }
    Ok(names)
}

fn check_all_last<T>(entries: &[T], names: impl Fn(&T) -> &[String], what: &str, at: &str) -> Result<()> {
    let last = entries.len().saturating_sub(1);
    if entries.iter().enumerate().any(|(i, e)| i != last && names(e).iter().any(|n| n == "States.ALL")) {
        return Err(definition(at, format!("the {what} with States.ALL must be the last")));
    }
    Ok(())
}

fn parse_state(value: &Value, at: &str) -> Result<State> {
    let o = value.as_object().ok_or_else(|| definition(at, "must be a JSON object"))?;
    let kind_name = string(o, "Type", at)?.ok_or_else(|| definition(at, "has no Type"))?;
    let end = o.get("End").and_then(Value::as_bool).unwrap_or(false);
    let next = string(o, "Next", at)?;
    let kind = match kind_name.as_str() {
        "Task" => {
            let resource = string(o, "Resource", at)?.ok_or_else(|| definition(at, "has no Resource"))?;
            StateKind::Task { resource, timeout_seconds: positive(o, "TimeoutSeconds", at)? }
        }
        "Pass" => StateKind::Pass { result: o.get("Result").cloned() },
        "Choice" => {
            let rules = o
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| definition(at, "has no Choices"))?;
            let mut choices = Vec::new();
            for (i, rule) in rules.iter().enumerate() {
                let here = format!("{at} Choices[{i}]");
                check_rule(rule, &here, true)?;
                let next = rule
                    .get("Next")
                    .and_then(Value::as_str)
                    .ok_or_else(|| definition(&here, "has no Next"))?
                    .to_owned();
                choices.push((rule.clone(), next));
            }
            StateKind::Choice { choices, default: string(o, "Default", at)? }
        }
        "Wait" => {
            let seconds = match (o.get("Seconds"), string(o, "SecondsPath", at)?) {
                (Some(s), None) => WaitFor::Seconds(
                    s.as_f64()
                        .filter(|n| *n >= 0.0)
                        .ok_or_else(|| definition(at, format!("Seconds must be a non-negative number, not {s}")))?,
                ),
                (None, Some(path)) => WaitFor::SecondsPath(path),
                _ => return Err(definition(at, "needs exactly one of Seconds and SecondsPath")),
            };
            StateKind::Wait { seconds }
        }
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail { error: string(o, "Error", at)?, cause: string(o, "Cause", at)? },
        "Map" => {
            let processor = o
                .get("ItemProcessor")
                .or_else(|| o.get("Iterator"))
                .ok_or_else(|| definition(at, "has no ItemProcessor"))?;
            let max = o.get("MaxConcurrency").map_or(Some(0), Value::as_u64);
            StateKind::Map {
                items_path: string(o, "ItemsPath", at)?,
                processor: Box::new(parse_machine(processor, &format!("{at} ItemProcessor"))?),
                max_concurrency: max
                    .and_then(|m| usize::try_from(m).ok())
                    .ok_or_else(|| definition(at, "MaxConcurrency must be a non-negative integer"))?,
            }
        }
        "Parallel" => {
            let branches = o
                .get("Branches")
                .and_then(Value::as_array)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| definition(at, "has no Branches"))?;
            StateKind::Parallel {
                branches: branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| parse_machine(b, &format!("{at} Branches[{i}]")))
                    .collect::<Result<_>>()?,
            }
        }
        other => {
            return Err(definition(
                at,
                format!("has the unknown Type {other:?} (Task, Pass, Choice, Wait, Succeed, Fail, Map or Parallel)"),
            ));
        }
    };
    let flows = !matches!(kind, StateKind::Choice { .. } | StateKind::Succeed | StateKind::Fail { .. });
    if flows && end == next.is_some() {
        return Err(definition(at, "needs exactly one of Next and End"));
    }
    let mut retry = Vec::new();
    let mut catch = Vec::new();
    if matches!(kind, StateKind::Task { .. } | StateKind::Map { .. } | StateKind::Parallel { .. }) {
        for (i, r) in o.get("Retry").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let here = format!("{at} Retry[{i}]");
            let r = r.as_object().ok_or_else(|| definition(&here, "must be an object"))?;
            retry.push(Retrier {
                error_equals: error_equals(r, &here)?,
                interval_seconds: number(r, "IntervalSeconds", &here, 1.0)?,
                max_attempts: u32::try_from(number(r, "MaxAttempts", &here, 3.0)? as u64).unwrap_or(u32::MAX),
                backoff_rate: number(r, "BackoffRate", &here, 2.0)?,
                max_delay_seconds: r
                    .get("MaxDelaySeconds")
                    .map(|_| number(r, "MaxDelaySeconds", &here, 0.0))
                    .transpose()?,
            });
        }
        for (i, c) in o.get("Catch").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let here = format!("{at} Catch[{i}]");
            let c = c.as_object().ok_or_else(|| definition(&here, "must be an object"))?;
            catch.push(Catcher {
                error_equals: error_equals(c, &here)?,
                next: string(c, "Next", &here)?.ok_or_else(|| definition(&here, "has no Next"))?,
                result_path: nullable_path(c, "ResultPath", &here)?,
            });
        }
        check_all_last(&retry, |r| &r.error_equals, "retrier", at)?;
        check_all_last(&catch, |c| &c.error_equals, "catcher", at)?;
    }
    let parameters = o.get("Parameters").or_else(|| o.get("ItemSelector")).cloned();
    Ok(State {
        input_path: nullable_path(o, "InputPath", at)?,
        output_path: nullable_path(o, "OutputPath", at)?,
        result_path: nullable_path(o, "ResultPath", at)?,
        parameters,
        result_selector: o.get("ResultSelector").cloned(),
        retry,
        catch,
        next: if flows { next } else { None },
        kind,
    })
}

/// Checks a choice rule: `And`/`Or` (arrays of rules), `Not` (a rule) or a `Variable` with one
/// comparison; `top` rules carry `Next`.
fn check_rule(rule: &Value, at: &str, top: bool) -> Result<()> {
    let o = rule.as_object().ok_or_else(|| definition(at, "must be an object"))?;
    if let Some(rules) = o.get("And").or_else(|| o.get("Or")) {
        let rules = rules.as_array().filter(|r| !r.is_empty()).ok_or_else(|| definition(at, "And/Or needs rules"))?;
        return rules.iter().try_for_each(|r| check_rule(r, at, false));
    }
    if let Some(inner) = o.get("Not") {
        return check_rule(inner, at, false);
    }
    if !o.get("Variable").and_then(Value::as_str).is_some_and(|v| v.starts_with('$')) {
        return Err(definition(at, "needs a Variable (a path) or And, Or, Not"));
    }
    let operators: Vec<&String> =
        o.keys().filter(|k| *k != "Variable" && *k != "Next" && !(top && *k == "Comment")).collect();
    match operators.as_slice() {
        [op] if COMPARISONS.contains(&op.trim_end_matches("Path")) => Ok(()),
        [op] => Err(definition(at, format!("uses the unknown comparison {op:?}"))),
        _ => Err(definition(at, "needs exactly one comparison")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(definition: &Value) -> String {
        StateMachine::parse(definition).expect_err("refused").to_string()
    }

    #[test]
    fn definitions_are_checked_before_anything_runs() {
        let ok = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
        assert_eq!(StateMachine::parse(&ok).expect("parses").start_at, "A");
        assert!(
            refused(&json!({"StartAt": "A", "States": {"A": {"Type": "Sleep", "End": true}}}))
                .contains("unknown Type \"Sleep\"")
        );
        assert!(
            refused(&json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}))
                .contains("goes to \"B\", which is not a state")
        );
        assert!(
            refused(&json!({"StartAt": "B", "States": {"A": {"Type": "Pass", "End": true}}}))
                .contains("StartAt names \"B\"")
        );
        assert!(
            refused(&json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}))
                .contains("exactly one of Next and End")
        );
        let all_first = json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "r", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}});
        assert!(refused(&all_first).contains("States.ALL must be the last"));
        let bad_choice = json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Variable": "$.x", "Approximately": 3, "Next": "D"}]}, "D": {"Type": "Succeed"}}});
        assert!(refused(&bad_choice).contains("unknown comparison \"Approximately\""));
        let loop_only = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}});
        assert!(refused(&loop_only).contains("no terminal state"));
    }
}

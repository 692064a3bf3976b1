//! The workflow on the local backend: [`LocalSteps`] runs the exported machine's Lambda tasks
//! in-process (the same step functions the Lambda binaries wrap), and executions are recorded
//! in the store under `workflows/<machine>/executions/<id>.json`.

use std::sync::Arc;

use serde_json::{Value, json};
use wb_core::{DynObjectStore, ObjectPath, ObjectStoreExt, PutMode};
use wb_serving::invoke::InvokeEndpoint;

use crate::asl::Functions;
use crate::error::{Error, Result};
use crate::executor::{Execution, Failure, TaskResources};
use crate::lambda::StepFunction;
use crate::steps::{StoreObjects, Threshold};

/// Step Functions' Lambda service integration.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// The three steps in-process, under the function names a state machine invokes: the same
/// [`StepFunction`]s the Lambda binary runs.
pub struct LocalSteps {
    functions: [(String, StepFunction); 3],
}

impl LocalSteps {
    /// The steps over the project's store, classifying at `endpoint` through `invoker`.
    #[must_use]
    pub fn new(
        store: DynObjectStore,
        invoker: Arc<dyn InvokeEndpoint>,
        endpoint: impl Into<String>,
        threshold: Threshold,
        functions: Functions,
    ) -> Self {
        let Functions { serialize, classify, filter } = functions;
        Self {
            functions: [
                (serialize, StepFunction::Serialize(StoreObjects::new(store))),
                (classify, StepFunction::Classify { invoker, endpoint: endpoint.into() }),
                (filter, StepFunction::Filter(threshold)),
            ],
        }
    }
}

/// A function name from a name, a name with a qualifier, or an ARN
/// (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`).
#[must_use]
pub fn function_name(function: &str) -> &str {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function.split(':').next().unwrap_or(function),
    }
}

#[async_trait::async_trait]
impl TaskResources for LocalSteps {
    async fn run(&self, resource: &str, input: Value) -> std::result::Result<Value, Failure> {
        let (function, payload, integration) = if resource == LAMBDA_INVOKE {
            let function = input.get("FunctionName").and_then(Value::as_str).ok_or_else(|| {
                Failure::new("States.Runtime", "a lambda:invoke task's Parameters have no FunctionName")
            })?;
            (function.to_owned(), input.get("Payload").cloned().unwrap_or(Value::Null), true)
        } else if resource.starts_with("arn:aws:lambda:") {
            (resource.to_owned(), input, false)
        } else {
            return Err(Failure::new(
                "States.Runtime",
                format!("resource {resource:?} has no local implementation ({LAMBDA_INVOKE} or a Lambda function ARN)"),
            ));
        };
        let name = function_name(&function);
        let Some((_, step)) = self.functions.iter().find(|(known, _)| known == name) else {
            let known: Vec<&str> = self.functions.iter().map(|(known, _)| known.as_str()).collect();
            return Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!("no local function {name:?} (known: {})", known.join(", ")),
            ));
        };
        let output = step.handle(&payload).await?;
        // The integration wraps the function's output as Lambda's Invoke answer.
        Ok(if integration {
            json!({"ExecutedVersion": "$LATEST", "Payload": output, "StatusCode": 200})
        } else {
            output
        })
    }
}

/// Where an execution is recorded.
///
/// # Errors
/// [`Error::Invalid`] when the machine name or id would not make a store path.
pub fn execution_path(machine: &str, id: &str) -> Result<ObjectPath> {
    ObjectPath::parse(format!("workflows/{machine}/executions/{id}.json")).map_err(|e| Error::Invalid {
        field: "execution",
        value: format!("{machine}/{id}"),
        expected: e.to_string(),
    })
}

/// Stores an execution (its input, outcome and history).
///
/// # Errors
/// [`Error::Store`] when the store refuses.
pub async fn record(store: &DynObjectStore, execution: &Execution) -> Result<ObjectPath> {
    let path = execution_path(&execution.machine, &execution.id)?;
    store.put_json(&path, execution, PutMode::Create).await?;
    Ok(path)
}

/// Finds a recorded execution by id, under any machine.
///
/// # Errors
/// [`Error::Invalid`] when there is none; [`Error::Store`] when the store cannot be read.
pub async fn find(store: &DynObjectStore, id: &str) -> Result<Execution> {
    let wanted = format!("/executions/{id}.json");
    let prefix = ObjectPath::parse("workflows").map_err(|e| Error::Invalid {
        field: "execution",
        value: id.to_owned(),
        expected: e.to_string(),
    })?;
    let listed = store.list(Some(&prefix)).await?;
    let Some(meta) = listed.iter().find(|m| m.path.as_str().ends_with(&wanted)) else {
        return Err(Error::Invalid {
            field: "execution",
            value: id.to_owned(),
            expected: "the id of a recorded execution (wb workflow run prints it)".into(),
        });
    };
    let (execution, _) = store.get_json(&meta.path).await?;
    Ok(execution)
}

//! Hosted workflows: a state machine and the Lambda functions its tasks invoke, deployed and
//! started by a backend that runs them without the workbench ([`super::Backend::deploy_workflow`],
//! [`super::Backend::start_workflow`]). The local backend runs the same state machines with the
//! workbench's own executor instead.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// One function to deploy: a zip holding the custom runtime's `bootstrap`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionPackage {
    /// The function name (`wb-<endpoint>-serialize`, …).
    pub name: String,
    /// The zip.
    pub zip: PathBuf,
    /// The runtime (`provided.al2023`).
    pub runtime: String,
    /// The handler (`bootstrap`).
    pub handler: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// The function's environment.
    pub environment: BTreeMap<String, String>,
    /// How long one invocation may run.
    pub timeout: Duration,
    /// Memory in MB.
    pub memory_mb: u32,
}

/// A state machine and its functions, to create or update.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowDeployment {
    /// The state machine's name.
    pub machine: String,
    /// Its Amazon States Language definition.
    pub definition: Value,
    /// The functions its tasks invoke.
    pub functions: Vec<FunctionPackage>,
    /// Tags for every resource created (the project's tag among them).
    pub tags: BTreeMap<String, String>,
}

/// A deployed function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeployedFunction {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether it was created (`false`: its code and configuration were updated).
    pub created: bool,
}

/// What [`super::Backend::deploy_workflow`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeployedWorkflow {
    /// The state machine's name.
    pub machine: String,
    /// Its ARN.
    pub machine_arn: String,
    /// Whether the state machine existed and was updated.
    pub replaced: bool,
    /// The functions, in the deployment's order.
    pub functions: Vec<DeployedFunction>,
}

/// One execution of a hosted state machine, as it ended (or stood when the wait ran out).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkflowRun {
    /// The execution's ARN.
    pub execution_arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, or `RUNNING` when the wait ran out.
    pub status: String,
    /// The output of a successful execution.
    pub output: Option<Value>,
    /// The error name of a failed one.
    pub error: Option<String>,
    /// Its cause.
    pub cause: Option<String>,
    /// The history's event types, in order.
    pub events: Vec<String>,
}

impl WorkflowRun {
    /// Whether the execution succeeded.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }
}

//! Step Functions state machines of hosted workflows: created (or updated) from their Amazon
//! States Language definition and tagged; executions started under a unique name and followed
//! to their end; found by tag and deleted by `wb clean`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::ProvideErrorMetadata as _;
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineListItem, Tag};
use serde_json::Value;
use wb_serving::backend::WorkflowRun;

use crate::error::{Error, Result, service_error};
use crate::hosting::TaggedResource;

const SERVICE: &str = "Step Functions";

/// The project's state machines.
#[derive(Clone, Debug)]
pub struct StateMachines {
    client: Client,
    poll: Duration,
}

impl StateMachines {
    /// State machines through `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client, poll: Duration::from_millis(250) }
    }

    /// State machines through a client of `sdk`.
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Every state machine of the account and region.
    async fn list(&self) -> Result<Vec<StateMachineListItem>> {
        self.client
            .list_state_machines()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| service_error(SERVICE, "ListStateMachines", "state machines", e))
    }

    /// The ARN of the state machine named `name`, if there is one.
    ///
    /// # Errors
    /// [`Error::Service`] when the listing fails.
    pub async fn find(&self, name: &str) -> Result<Option<String>> {
        Ok(self.list().await?.into_iter().find(|m| m.name() == name).map(|m| m.state_machine_arn().to_owned()))
    }

    /// Creates the state machine `name` with `definition`, run as `role`, tagged with `tags`,
    /// or updates the definition and role of the one that exists (and its tags). Returns its
    /// ARN and whether it existed.
    ///
    /// # Errors
    /// [`Error::Service`] when Step Functions refuses (an invalid definition among others).
    pub async fn deploy(
        &self,
        name: &str,
        definition: &Value,
        role: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(String, bool)> {
        let text = definition.to_string();
        let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        if let Some(arn) = self.find(name).await? {
            self.client
                .update_state_machine()
                .state_machine_arn(&arn)
                .definition(text)
                .role_arn(role)
                .send()
                .await
                .map_err(|e| service_error(SERVICE, "UpdateStateMachine", name, e))?;
            self.client
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| service_error(SERVICE, "TagResource", name, e))?;
            tracing::info!(machine = name, "state machine updated");
            return Ok((arn, true));
        }
        let out = self
            .client
            .create_state_machine()
            .name(name)
            .definition(text)
            .role_arn(role)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| service_error(SERVICE, "CreateStateMachine", name, e))?;
        tracing::info!(machine = name, "state machine created");
        Ok((out.state_machine_arn().to_owned(), false))
    }

    /// Starts an execution of the state machine `name` with `input` (under a unique execution
    /// name) and follows it until it ends or `wait` has passed.
    ///
    /// # Errors
    /// [`Error::Invalid`] when there is no such state machine; [`Error::Service`] when a call
    /// fails.
    pub async fn start(&self, name: &str, input: &Value, wait: Duration) -> Result<WorkflowRun> {
        let arn = self.find(name).await?.ok_or_else(|| Error::Invalid {
            field: "state machine",
            value: name.to_owned(),
            expected: "a deployed state machine (`wb workflow deploy` creates it)".into(),
        })?;
        let execution = format!("wb-{}", uuid::Uuid::now_v7().simple());
        let started = self
            .client
            .start_execution()
            .state_machine_arn(&arn)
            .name(&execution)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| service_error(SERVICE, "StartExecution", name, e))?;
        let execution_arn = started.execution_arn().to_owned();
        tracing::info!(machine = name, execution = %execution_arn, "execution started");
        let deadline = Instant::now() + wait;
        let described = loop {
            let described = self
                .client
                .describe_execution()
                .execution_arn(&execution_arn)
                .send()
                .await
                .map_err(|e| service_error(SERVICE, "DescribeExecution", &execution, e))?;
            if *described.status() != ExecutionStatus::Running || Instant::now() >= deadline {
                break described;
            }
            tokio::time::sleep(self.poll).await;
        };
        let events: Vec<_> = self
            .client
            .get_execution_history()
            .execution_arn(&execution_arn)
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| service_error(SERVICE, "GetExecutionHistory", &execution, e))?;
        let failure = events.iter().find_map(|e| e.execution_failed_event_details());
        Ok(WorkflowRun {
            execution_arn,
            status: described.status().as_str().to_owned(),
            output: described.output().map(|o| serde_json::from_str(o).unwrap_or_else(|_| Value::String(o.to_owned()))),
            error: described.error().or_else(|| failure.and_then(|f| f.error())).map(str::to_owned),
            cause: described.cause().or_else(|| failure.and_then(|f| f.cause())).map(str::to_owned),
            events: events.iter().map(|e| e.r#type().as_str().to_owned()).collect(),
        })
    }

    /// The state machines tagged `key` = `value`.
    ///
    /// # Errors
    /// [`Error::Service`] when a listing fails.
    pub async fn tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let mut found = Vec::new();
        for machine in self.list().await? {
            let tags = self
                .client
                .list_tags_for_resource()
                .resource_arn(machine.state_machine_arn())
                .send()
                .await
                .map_err(|e| service_error(SERVICE, "ListTagsForResource", machine.name(), e))?;
            if tags.tags().iter().any(|t| t.key() == Some(key) && t.value() == Some(value)) {
                found.push(TaggedResource {
                    kind: "state-machine",
                    name: machine.name().to_owned(),
                    arn: machine.state_machine_arn().to_owned(),
                });
            }
        }
        Ok(found)
    }

    /// Deletes the state machines among `resources`, skipping those already gone.
    ///
    /// # Errors
    /// [`Error::Service`] for failures other than "not found".
    pub async fn delete(&self, resources: &[TaggedResource]) -> Result<()> {
        for r in resources.iter().filter(|r| r.kind == "state-machine") {
            match self.client.delete_state_machine().state_machine_arn(&r.arn).send().await {
                Ok(_) => {}
                Err(e) if e.code() == Some("StateMachineDoesNotExist") => {}
                Err(e) => return Err(service_error(SERVICE, "DeleteStateMachine", &r.name, e)),
            }
        }
        Ok(())
    }
}

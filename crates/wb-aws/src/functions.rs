//! Lambda functions of hosted workflows: created from a zip (or updated in place when they
//! exist), tagged with the project's tags, waited on until Lambda can invoke them; found by tag
//! and deleted by `wb clean`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State};
use wb_serving::backend::{DeployedFunction, FunctionPackage};

use crate::error::{Error, Result, service_error};
use crate::hosting::TaggedResource;

const SERVICE: &str = "Lambda";

/// The project's Lambda functions.
#[derive(Clone, Debug)]
pub struct Functions {
    client: Client,
    poll: Duration,
    timeout: Duration,
}

impl Functions {
    /// Functions through `client`.
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client, poll: Duration::from_millis(500), timeout: Duration::from_secs(5 * 60) }
    }

    /// Functions through a client of `sdk`.
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }

    /// Creates the function of `package` with `role`, tagged with `tags`, or, when it exists,
    /// updates its configuration and code (and its tags); then waits until Lambda can invoke it.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a zip that cannot be read or an unknown runtime or architecture;
    /// [`Error::Service`] when Lambda refuses, or when the function fails or is not active
    /// within five minutes.
    pub async fn deploy(
        &self,
        package: &FunctionPackage,
        role: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<DeployedFunction> {
        let zip = tokio::fs::read(&package.zip).await.map_err(|e| Error::Invalid {
            field: "function zip",
            value: package.zip.display().to_string(),
            expected: format!("a readable zip from `wb workflow package` ({e})"),
        })?;
        if !Runtime::values().contains(&package.runtime.as_str()) {
            return Err(Error::Invalid {
                field: "runtime",
                value: package.runtime.clone(),
                expected: "a Lambda runtime such as provided.al2023".into(),
            });
        }
        let architecture = match package.architecture.as_str() {
            "x86_64" => Architecture::X8664,
            "arm64" => Architecture::Arm64,
            other => {
                return Err(Error::Invalid {
                    field: "architecture",
                    value: other.to_owned(),
                    expected: "x86_64 or arm64".into(),
                });
            }
        };
        let environment = Environment::builder()
            .set_variables(Some(package.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .build();
        let timeout = i32::try_from(package.timeout.as_secs().clamp(1, 900)).unwrap_or(900);
        let memory = i32::try_from(package.memory_mb.clamp(128, 10_240)).unwrap_or(512);
        let tags: HashMap<String, String> = tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let name = package.name.as_str();
        let created = self
            .client
            .create_function()
            .function_name(name)
            .runtime(Runtime::from(package.runtime.as_str()))
            .handler(&package.handler)
            .role(role)
            .architectures(architecture.clone())
            .code(FunctionCode::builder().zip_file(Blob::new(zip.clone())).build())
            .environment(environment.clone())
            .timeout(timeout)
            .memory_size(memory)
            .set_tags(Some(tags.clone()))
            .send()
            .await;
        let (arn, created) = match created {
            Ok(out) => (out.function_arn().unwrap_or_default().to_owned(), true),
            Err(e) if e.code() == Some("ResourceConflictException") => {
                // It exists: bring its configuration, code and tags up to date, one change at a
                // time (Lambda refuses an update while another is in progress).
                self.client
                    .update_function_configuration()
                    .function_name(name)
                    .runtime(Runtime::from(package.runtime.as_str()))
                    .handler(&package.handler)
                    .role(role)
                    .environment(environment)
                    .timeout(timeout)
                    .memory_size(memory)
                    .send()
                    .await
                    .map_err(|e| service_error(SERVICE, "UpdateFunctionConfiguration", name, e))?;
                self.wait_until_ready(name).await?;
                let out = self
                    .client
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip))
                    .architectures(architecture)
                    .send()
                    .await
                    .map_err(|e| service_error(SERVICE, "UpdateFunctionCode", name, e))?;
                let arn = out.function_arn().unwrap_or_default().to_owned();
                self.client
                    .tag_resource()
                    .resource(&arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| service_error(SERVICE, "TagResource", name, e))?;
                (arn, false)
            }
            Err(e) => return Err(service_error(SERVICE, "CreateFunction", name, e)),
        };
        self.wait_until_ready(name).await?;
        tracing::info!(function = name, created, "Lambda function deployed");
        Ok(DeployedFunction { name: name.to_owned(), arn, created })
    }

    /// Waits until the function is `Active` and no update is in progress.
    async fn wait_until_ready(&self, name: &str) -> Result<()> {
        let started = Instant::now();
        loop {
            let out = self
                .client
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| service_error(SERVICE, "GetFunctionConfiguration", name, e))?;
            let state = out.state().cloned().unwrap_or(State::Active);
            let update = out.last_update_status().cloned().unwrap_or(LastUpdateStatus::Successful);
            if state == State::Failed || update == LastUpdateStatus::Failed {
                let reason = out.state_reason().or(out.last_update_status_reason()).unwrap_or("no reason given");
                return Err(Error::Service {
                    service: SERVICE,
                    operation: "GetFunctionConfiguration",
                    resource: name.to_owned(),
                    code: "FunctionFailed".into(),
                    message: reason.to_owned(),
                });
            }
            if state == State::Active && update != LastUpdateStatus::InProgress {
                return Ok(());
            }
            if started.elapsed() > self.timeout {
                return Err(Error::Service {
                    service: SERVICE,
                    operation: "GetFunctionConfiguration",
                    resource: name.to_owned(),
                    code: "Timeout".into(),
                    message: format!("the function was not active after {:?} (state {})", self.timeout, state.as_str()),
                });
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// The functions tagged `key` = `value`.
    ///
    /// # Errors
    /// [`Error::Service`] when a listing fails.
    pub async fn tagged(&self, key: &str, value: &str) -> Result<Vec<TaggedResource>> {
        let functions: Vec<_> = self
            .client
            .list_functions()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<_, _>>()
            .await
            .map_err(|e| service_error(SERVICE, "ListFunctions", "functions", e))?;
        let mut found = Vec::new();
        for function in functions {
            let (Some(name), Some(arn)) = (function.function_name(), function.function_arn()) else { continue };
            let tags = self
                .client
                .list_tags()
                .resource(arn)
                .send()
                .await
                .map_err(|e| service_error(SERVICE, "ListTags", name, e))?;
            if tags.tags().and_then(|t| t.get(key)).is_some_and(|v| v == value) {
                found.push(TaggedResource { kind: "lambda-function", name: name.to_owned(), arn: arn.to_owned() });
            }
        }
        Ok(found)
    }

    /// Deletes the functions among `resources`, skipping those already gone.
    ///
    /// # Errors
    /// [`Error::Service`] for failures other than "not found".
    pub async fn delete(&self, resources: &[TaggedResource]) -> Result<()> {
        for r in resources.iter().filter(|r| r.kind == "lambda-function") {
            match self.client.delete_function().function_name(&r.name).send().await {
                Ok(_) => {}
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(service_error(SERVICE, "DeleteFunction", &r.name, e)),
            }
        }
        Ok(())
    }
}

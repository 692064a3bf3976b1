//! `wb-lambda`: the image workflow's steps as an AWS Lambda function on a custom runtime
//! (`provided.al2023`). `wb workflow package` puts this binary in each function's zip as
//! `bootstrap`; the function's name (`wb-<endpoint>-serialize`, `-classify`, `-filter`) or
//! `WB_STEP` chooses the step, and the environment configures it (see
//! `wb_workflow::lambda`). A step's failure reaches Step Functions as its error name
//! (`THRESHOLD_CONFIDENCE_NOT_MET`, …), which a `Catch` can match.

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use wb_core::StoreUri;
use wb_serving::invoke::{InvokeEndpoint, RuntimeClient};
use wb_workflow::StoreObjects;
use wb_workflow::lambda::{Settings, Step, StepFunction};

/// What Lambda's runtime sets; without them `lambda_runtime` would panic.
const LAMBDA_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// A step's failure, reported to Lambda under the step's error name.
#[derive(Debug)]
struct StepFailure(wb_workflow::Error);

impl From<StepFailure> for Diagnostic {
    fn from(failure: StepFailure) -> Self {
        let error_message = match &failure.0 {
            wb_workflow::Error::Step { cause, .. } => cause.clone(),
            other => other.to_string(),
        };
        Self { error_type: failure.0.name().to_owned(), error_message }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,wb_workflow=info")),
        )
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let missing: Vec<&str> = LAMBDA_VARIABLES.into_iter().filter(|v| std::env::var_os(v).is_none()).collect();
    if !missing.is_empty() {
        eprintln!(
            "error: wb-lambda is an AWS Lambda function (custom runtime): it runs under Lambda or a Lambda Runtime \
             API emulator, which set {}; `wb workflow package` builds its zips",
            missing.join(", ")
        );
        return ExitCode::FAILURE;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let function = match step_function(&settings).await {
            Ok(function) => Arc::new(function),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(step = %settings.step, "wb-lambda ready");
        let handler = service_fn(move |event: LambdaEvent<Value>| {
            let function = Arc::clone(&function);
            async move { function.handle(&event.payload).await.map_err(StepFailure) }
        });
        match lambda_runtime::run(handler).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: the Lambda runtime stopped: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The step with its store or endpoint client, as the settings say.
async fn step_function(settings: &Settings) -> anyhow::Result<StepFunction> {
    Ok(match settings.step {
        Step::Serialize => {
            let uri = settings.store.clone().ok_or_else(|| anyhow::anyhow!("WB_STORE is not set"))?;
            StepFunction::Serialize(StoreObjects::new(open_store(uri).await?))
        }
        Step::Classify => {
            let endpoint = settings.endpoint.clone().ok_or_else(|| anyhow::anyhow!("WB_ENDPOINT is not set"))?;
            let invoker: Arc<dyn InvokeEndpoint> = match &settings.runtime_url {
                Some(url) => Arc::new(RuntimeClient::new(url)?),
                None => sagemaker_runtime().await?,
            };
            StepFunction::Classify { invoker, endpoint: endpoint.as_str().to_owned() }
        }
        Step::Filter => StepFunction::Filter(settings.threshold),
    })
}

async fn open_store(uri: StoreUri) -> anyhow::Result<wb_core::DynObjectStore> {
    match uri {
        StoreUri::Local(_) => Ok(Arc::new(wb_core::open_local(&uri)?)),
        #[cfg(feature = "aws")]
        StoreUri::S3 { .. } => {
            let sdk = wb_aws::sdk_config(&wb_core::AwsConfig::default()).await;
            // Reads only: the encryption setting applies to writes.
            Ok(Arc::new(wb_aws::S3Store::from_sdk_config(&sdk, &uri, wb_aws::Encryption::SseS3)?))
        }
        #[cfg(not(feature = "aws"))]
        StoreUri::S3 { .. } => anyhow::bail!("WB_STORE {uri} is on S3: build wb-lambda with the `aws` feature"),
    }
}

#[cfg(feature = "aws")]
async fn sagemaker_runtime() -> anyhow::Result<Arc<dyn InvokeEndpoint>> {
    let sdk = wb_aws::sdk_config(&wb_core::AwsConfig::default()).await;
    Ok(Arc::new(wb_aws::SageMakerRuntime::from_sdk_config(&sdk)))
}

#[cfg(not(feature = "aws"))]
async fn sagemaker_runtime() -> anyhow::Result<Arc<dyn InvokeEndpoint>> {
    anyhow::bail!(
        "without WB_RUNTIME_URL the classifier calls SageMaker Runtime: build wb-lambda with the `aws` feature"
    )
}

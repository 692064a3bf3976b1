//! The commands' SageMaker side: `wb train` on `backend = "sagemaker"` (with progress and Ctrl-C), the
//! SageMaker half of `wb clean`, the model-registry mirror of `wb register` and `wb promote`,
//! and `wb aws policy`.

use anyhow::{Context as _, Result};
use wb_aws::backend::SageMakerBackend;
use wb_aws::hosting::TaggedResource;
use wb_aws::policy::{PolicyScope, project_policy};
use wb_core::{DatasetName, JobName, ModelName};
use wb_models::registry::{ModelRecord, Promotion};
use wb_models::training::JobRecord;

use crate::cli::{AwsCommand, TrainArgs};
use crate::commands::models::parse_hyperparameters;
use crate::context::Context;
use crate::output::{print_json, spinner};

/// The project's SageMaker backend.
pub(crate) async fn backend(ctx: &Context) -> Result<SageMakerBackend> {
    Ok(SageMakerBackend::from_config(&ctx.config, ctx.store.clone()).await?)
}

/// Runs a SageMaker training job, showing its status and secondary status; Ctrl-C stops it.
pub(crate) async fn train(args: &TrainArgs, ctx: &Context, quiet: bool) -> Result<JobRecord> {
    let backend = backend(ctx).await?;
    let dataset = DatasetName::parse(&args.dataset)?;
    let bar = spinner(quiet, format!("SageMaker training {} on {dataset}", args.algorithm));
    let progress_bar = bar.clone();
    let mut request = backend
        .train(&dataset, &args.algorithm)
        .hyperparameters(parse_hyperparameters(&args.hyperparameters)?)
        .spot(args.spot)
        .on_progress(move |p| {
            let message = p.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            progress_bar.set_message(format!("{} {} / {}{message}", p.job, p.status, p.secondary_status));
            tracing::info!(job = %p.job, status = %p.status, secondary = %p.secondary_status, "training job");
        })
        .cancel_on(async {
            // Ctrl-C stops the SageMaker job rather than leaving it running (and billing).
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        });
    if let Some(job) = &args.job {
        request = request.job_name(JobName::parse(job)?);
    }
    if let Some(t) = &args.instance_type {
        request = request.instance_type(t.clone());
    }
    if let Some(n) = args.instance_count {
        request = request.instance_count(n);
    }
    let outcome = request.await;
    bar.finish_and_clear();
    Ok(outcome?)
}

/// Mirrors a registration into the project's model package group (when enabled); returns the
/// package's ARN.
pub(crate) async fn register_package(ctx: &Context, model: &ModelRecord) -> Result<Option<String>> {
    let backend = backend(ctx).await?;
    let package = backend.register_package(model).await.context("mirroring the model into SageMaker's registry")?;
    Ok(package.map(|p| p.arn))
}

/// Approves the promoted model's package (when the mirror is enabled); returns its ARN.
pub(crate) async fn promote_package(ctx: &Context, model: &ModelName, why: &str) -> Result<Option<String>> {
    let backend = backend(ctx).await?;
    let package = backend.promote_package(model, why).await.context("approving the model package")?;
    Ok(package.map(|p| p.arn))
}

/// Removes (or with `dry_run` lists) what the project created on SageMaker, by tag; `keep`
/// spares the promoted model.
pub(crate) async fn clean(ctx: &Context, dry_run: bool, keep: Option<&Promotion>) -> Result<Vec<TaggedResource>> {
    let backend = backend(ctx).await?;
    Ok(backend.clean(dry_run, keep).await?)
}

/// `wb aws ...`.
pub(crate) async fn aws(command: AwsCommand, ctx: &Context) -> Result<()> {
    match command {
        AwsCommand::Policy => {
            let sdk = wb_aws::sdk_config(&ctx.config.config.aws).await;
            let mut scope = PolicyScope::from_config(&ctx.config).with_context(|| {
                format!("`wb aws policy` describes an S3 project's needs ({})", ctx.config.path.display())
            })?;
            if scope.region.is_none() {
                scope.region = sdk.region().map(ToString::to_string);
            }
            print_json(&project_policy(&scope))
        }
    }
}

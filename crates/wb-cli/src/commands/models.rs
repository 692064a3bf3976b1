//! `wb train`, `wb jobs`, `wb register`, `wb models`.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use wb_core::{DatasetName, EndpointName, JobName, ModelName};
use wb_models::registry::{ModelRecord, Registry};
use wb_models::training::{JobRecord, ModelFormat, TrainingJobs};
use wb_serving::backend::Resources;

use crate::cli::{JobsCommand, ModelsCommand, RegisterModelArgs, TrainArgs};
use crate::context::Context;
use crate::output::{print_json, spinner};

/// Parses `KEY=VALUE` hyperparameter arguments.
pub(crate) fn parse_hyperparameters(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            bail!("--hp {arg:?}: expected KEY=VALUE, for example --hp max_depth=8");
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("--hp {arg:?}: the key is empty");
        }
        if map.insert(key.to_owned(), value.to_owned()).is_some() {
            bail!("--hp {key}: given twice");
        }
    }
    Ok(map)
}

pub(crate) async fn train(args: TrainArgs, ctx: &Context, quiet: bool) -> Result<()> {
    ctx.instance_options(&[
        ("--instance-type", args.instance_type.is_some()),
        ("--instance-count", args.instance_count.is_some()),
        ("--spot", args.spot),
    ])?;
    let dataset = DatasetName::parse(&args.dataset)?;
    let bar = spinner(quiet, format!("training {} on {dataset} ({} backend)", args.algorithm, ctx.project.kind()));
    let progress_bar = bar.clone();
    let mut request = ctx
        .project
        .train(&dataset, &args.algorithm)
        .hyperparameters(parse_hyperparameters(&args.hyperparameters)?)
        .resources(Resources::new(args.instance_type.clone(), args.instance_count, args.spot))
        .on_progress(move |p| {
            let message = p.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            progress_bar.set_message(format!("{} {} / {}{message}", p.job, p.status, p.secondary_status));
            tracing::info!(job = %p.job, status = %p.status, secondary = %p.secondary_status, "training job");
        })
        .cancel_on(async {
            // Ctrl-C stops the job (on SageMaker: rather than leaving it running, and billing).
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        });
    if let Some(job) = &args.job {
        request = request.job_name(JobName::parse(job)?);
    }
    let outcome = request.await;
    bar.finish_and_clear();
    report_job(&outcome?, args.json)
}

fn report_job(job: &JobRecord, json: bool) -> Result<()> {
    if json {
        return print_json(job);
    }
    println!(
        "training job {} ({}) Completed in {:.2} s",
        job.name,
        job.backend,
        job.training_seconds.unwrap_or_default()
    );
    print_job(job);
    println!();
    println!("next: wb deploy --job {} --endpoint NAME", job.name);
    Ok(())
}

fn print_job(job: &JobRecord) {
    println!("status      {}", job.status);
    if let Some(reason) = &job.failure_reason {
        println!("reason      {reason}");
    }
    println!("algorithm   {}", job.algorithm);
    if !job.hyperparameters.is_empty() {
        let hp: Vec<String> = job.hyperparameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("hyperparams {}", hp.join(" "));
    }
    println!("dataset     {} (partition {})", job.dataset, job.fingerprint.short(16));
    for (name, uri) in &job.channels {
        println!("channel     {name:<10} {uri}");
    }
    if let Some(artifact) = &job.model_artifact {
        println!("artifact    {artifact}");
    }
    if !job.metrics.is_empty() {
        let metrics: Vec<String> = job.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        println!("validation  {}", metrics.join(", "));
    }
}

pub(crate) async fn jobs(command: JobsCommand, ctx: &Context) -> Result<()> {
    let jobs = TrainingJobs::new(ctx.store.clone());
    match command {
        JobsCommand::List(args) => {
            let list = jobs.list().await?;
            if args.json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no training jobs (see `wb train --help`)");
            }
            for job in list {
                let metric = job.metrics.get("auc").or_else(|| job.metrics.get("r2"));
                println!(
                    "{:<48} {:<10} {:<20} {:<16} {}",
                    job.name,
                    job.status.to_string(),
                    job.algorithm,
                    job.dataset,
                    metric.map(|m| format!("{m:.4}")).unwrap_or_default()
                );
            }
            Ok(())
        }
        JobsCommand::Show(args) => {
            let job = jobs.get(&JobName::parse(&args.name)?).await?;
            if args.json {
                return print_json(&job);
            }
            println!("training job {}", job.name);
            print_job(&job);
            Ok(())
        }
        JobsCommand::Import(args) => {
            let job = JobName::parse(&args.job)?;
            let dataset = DatasetName::parse(&args.dataset)?;
            let bytes = std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
            let record = jobs
                .import(job, dataset, args.model.display().to_string(), bytes)
                .format(ModelFormat::parse(&args.format)?)
                .backend(ctx.project.kind())
                .tags(ctx.project.tags())
                .await?;
            if args.json {
                return print_json(&record);
            }
            println!("imported {} as training job {}", args.model.display(), record.name);
            print_job(&record);
            println!("deploy it with `wb deploy --job {} --endpoint NAME`", record.name);
            Ok(())
        }
    }
}

pub(crate) async fn register(args: RegisterModelArgs, ctx: &Context) -> Result<()> {
    let name = ModelName::parse(&args.name)?;
    let registered = ctx
        .project
        .register(&name, &EndpointName::parse(&args.endpoint)?)
        .description(args.description)
        .replace(args.replace)
        .await?;
    if args.json {
        return print_json(&registered.record);
    }
    let record = &registered.record;
    println!("registered model {} (endpoint {}, {})", record.name, record.endpoint, record.algorithm);
    if let Some(arn) = &registered.mirror {
        println!("model package {arn} (pending approval; `wb promote` approves it)");
    }
    Ok(())
}

fn print_model(m: &ModelRecord) {
    println!("model       {}", m.name);
    println!("description {}", m.description);
    println!("algorithm   {}", m.algorithm);
    println!("endpoint    {} ({})", m.endpoint, m.backend);
    println!("dataset     {} (partition {})", m.dataset, m.fingerprint.short(16));
    println!("job         {}", m.job);
    println!("artifact    {}", m.artifact);
    if !m.validation_metrics.is_empty() {
        let metrics: Vec<String> = m.validation_metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        println!("validation  {}", metrics.join(", "));
    }
    println!("registered  {}", m.registered_at);
}

pub(crate) async fn models(command: ModelsCommand, ctx: &Context) -> Result<()> {
    let registry = Registry::new(ctx.store.clone());
    match command {
        ModelsCommand::List(args) => {
            let list = registry.list().await?;
            if args.json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no registered models (see `wb register --help`)");
            }
            for m in list {
                println!("{:<28} {:<20} {:<28} {}", m.name, m.algorithm, m.endpoint, m.description);
            }
            Ok(())
        }
        ModelsCommand::Show(args) => {
            let model = registry.get(&ModelName::parse(&args.name)?).await?;
            if args.json {
                print_json(&model)
            } else {
                print_model(&model);
                Ok(())
            }
        }
        ModelsCommand::Remove(args) => {
            let name = ModelName::parse(&args.name)?;
            let removed = registry.remove(&name).await.with_context(|| format!("removing model {name}"))?;
            if args.json {
                return print_json(&removed);
            }
            println!("removed model {} (endpoint {} and job {} stay)", removed.name, removed.endpoint, removed.job);
            Ok(())
        }
    }
}

//! `wb workflow …`: the image workflow's state machine, exported and run on the local
//! executor, and the executions' histories.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde_json::{Value, json};
use wb_core::{EndpointName, ObjectPath};
use wb_serving::Endpoints;
use wb_serving::backend::{FunctionPackage, WorkflowDeployment, WorkflowRun};
use wb_workflow::asl::{ExportOptions, Functions, state_machine};
use wb_workflow::executor::{Execution, ExecutionStatus, Executor};
use wb_workflow::local::{LocalSteps, find, record};
use wb_workflow::machine::StateMachine;
use wb_workflow::package::{PackageOptions, package};
use wb_workflow::{StoreObjects, Threshold};

use crate::cli::{
    LambdaFunctionArgs, WorkflowCommand, WorkflowDeployArgs, WorkflowExportArgs, WorkflowHistoryArgs,
    WorkflowPackageArgs, WorkflowRunArgs, WorkflowStartArgs,
};
use crate::context::Context;
use crate::output::{print_json, spinner};

pub(crate) async fn run(command: WorkflowCommand, config: Option<&Path>, quiet: bool) -> Result<()> {
    match command {
        WorkflowCommand::Export(args) => export(&args),
        WorkflowCommand::Run(args) => execute(args, &Context::load(config).await?, quiet).await,
        WorkflowCommand::History(args) => history(&args, &Context::load(config).await?).await,
        WorkflowCommand::Package(args) => package_functions(&args),
        WorkflowCommand::Deploy(args) => deploy(&args, &Context::load(config).await?, quiet).await,
        WorkflowCommand::Start(args) => start(args, &Context::load(config).await?, quiet).await,
    }
}

/// The hosted state machine's name for an endpoint.
fn hosted_machine(endpoint: &str, map: bool) -> String {
    format!("wb-{endpoint}-{}", if map { "batch" } else { "workflow" })
}

async fn deploy(args: &WorkflowDeployArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let endpoint = EndpointName::parse(&args.functions.endpoint)?;
    Endpoints::new(ctx.store.clone()).get(&endpoint).await?;
    let packaging = package_options(&args.functions, Some(ctx.store.uri().to_string()))?;
    let mut options = ExportOptions::new(packaging.functions.clone(), endpoint.as_str());
    options.threshold = packaging.threshold;
    options.map = args.map;
    if args.map {
        options.timeout_seconds = 300;
    }
    let definition = state_machine(&options)?;
    let dir = scratch_dir()?;
    let packaged = package(&packaging, dir.path())?;
    let deployment = WorkflowDeployment {
        machine: hosted_machine(endpoint.as_str(), args.map),
        definition,
        functions: packaged
            .functions
            .iter()
            .map(|f| FunctionPackage {
                name: f.name.clone(),
                zip: f.zip.clone(),
                runtime: packaged.runtime.to_owned(),
                handler: packaged.handler.to_owned(),
                architecture: packaged.architecture.as_str().to_owned(),
                environment: f.environment.clone(),
                timeout: std::time::Duration::from_secs(u64::from(options.task_timeout_seconds)),
                memory_mb: 512,
            })
            .collect(),
        tags: ctx.project.tags(),
    };
    let progress = spinner(quiet, format!("deploying {} and its three functions", deployment.machine));
    let deployed = ctx.project.backend().deploy_workflow(deployment).await;
    progress.finish_and_clear();
    let deployed = deployed?;
    if args.json {
        return print_json(&deployed);
    }
    for f in &deployed.functions {
        println!("{} function {}  {}", if f.created { "created" } else { "updated" }, f.name, f.arn);
    }
    println!(
        "{} state machine {}  {}",
        if deployed.replaced { "updated" } else { "created" },
        deployed.machine,
        deployed.machine_arn
    );
    Ok(())
}

/// A scratch directory for the deployment's zips.
fn scratch_dir() -> Result<wb_core::scratch::ScratchDir> {
    wb_core::scratch::ScratchDir::create("lambda-package").context("creating a directory for the function zips")
}

async fn start(args: WorkflowStartArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let endpoint = EndpointName::parse(&args.endpoint)?;
    let machine = hosted_machine(endpoint.as_str(), args.map);
    let inputs = execution_inputs(ctx, &machine, &args.images, args.map).await?;
    let wait = std::time::Duration::from_secs(args.wait);
    let progress = spinner(quiet, format!("running {} execution(s) of {machine}", inputs.len()));
    let mut runs = Vec::new();
    for (images, input) in inputs {
        let mut run = ctx.project.backend().start_workflow(&machine, input, wait).await?;
        if let Some(output) = run.output.as_mut() {
            strip_image_data(output);
        }
        runs.push(HostedRun { images, run });
    }
    progress.finish_and_clear();
    let failed: Vec<&HostedRun> = runs.iter().filter(|r| !r.run.succeeded()).collect();
    let first =
        failed.first().map(|r| (r.run.error.clone().unwrap_or_else(|| r.run.status.clone()), r.images.join(", ")));
    let (total, failures) = (runs.len(), failed.len());
    if args.json {
        print_json(&runs)?;
    } else {
        for r in &runs {
            let run = &r.run;
            println!(
                "{}",
                execution_line(
                    &run.execution_arn,
                    &run.status,
                    &r.images,
                    run.error.as_deref(),
                    run.cause.as_deref(),
                    run.output.as_ref()
                )
            );
        }
    }
    if let Some((error, images)) = first {
        anyhow::bail!("{failures} of {total} execution(s) of {machine} failed, the first with {error} ({images})");
    }
    Ok(())
}

/// One hosted execution as `wb workflow start` reports it.
#[derive(Serialize)]
struct HostedRun {
    images: Vec<String>,
    #[serde(flatten)]
    run: WorkflowRun,
}

/// The Lambda binary installed or built next to this `wb`.
fn default_bootstrap() -> Result<std::path::PathBuf> {
    let wb = std::env::current_exe().context("finding the running wb")?;
    let name = format!("wb-lambda{}", std::env::consts::EXE_SUFFIX);
    let beside = wb.with_file_name(&name);
    // `cargo test` runs `wb` from target/<profile>/ and `cargo install` puts both in one directory.
    if beside.exists() {
        return Ok(beside);
    }
    anyhow::bail!(
        "no {name} beside {} (it is installed with wb by `cargo install --path crates/wb-cli`); pass --bootstrap FILE",
        wb.display()
    )
}

/// What to package for `args`, serving `store` when known.
fn package_options(args: &LambdaFunctionArgs, store: Option<String>) -> Result<PackageOptions> {
    let bootstrap = match &args.bootstrap {
        Some(file) => file.clone(),
        None => default_bootstrap()?,
    };
    Ok(PackageOptions {
        functions: Functions::for_endpoint(&args.endpoint)?,
        endpoint: args.endpoint.clone(),
        threshold: args.threshold.parse()?,
        store,
        bootstrap,
    })
}

fn package_functions(args: &WorkflowPackageArgs) -> Result<()> {
    let options = package_options(&args.functions, args.store.clone())?;
    let packaged = package(&options, &args.to)?;
    if args.json {
        return print_json(&packaged);
    }
    for f in &packaged.functions {
        let environment: Vec<String> = f.environment.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("wrote {} ({} bytes; {})", f.zip.display(), f.bytes, environment.join(" "));
    }
    println!(
        "runtime {}, handler {}, architecture {}, bootstrap {} ({} bytes); manifest {}",
        packaged.runtime,
        packaged.handler,
        packaged.architecture.as_str(),
        packaged.bootstrap.display(),
        packaged.bootstrap_bytes,
        args.to.join(wb_workflow::package::MANIFEST).display()
    );
    Ok(())
}

#[derive(Serialize)]
struct Exported {
    file: String,
    start_at: String,
    states: Vec<String>,
    functions: [String; 3],
    threshold: f64,
    timeout_seconds: u32,
}

fn export(args: &WorkflowExportArgs) -> Result<()> {
    let threshold: Threshold = args.threshold.parse()?;
    let functions = Functions::for_endpoint(&args.endpoint)?;
    let mut options = ExportOptions::new(functions.clone(), args.endpoint.clone());
    options.threshold = threshold;
    options.map = args.map;
    options.notify_topic.clone_from(&args.notify_topic);
    options.task_timeout_seconds = args.task_timeout;
    options.timeout_seconds = args.timeout.unwrap_or(if args.map { 300 } else { 60 });
    let machine = state_machine(&options)?;
    let text = serde_json::to_string_pretty(&machine)? + "\n";
    wb_core::write_file_atomically(&args.to, text.as_bytes())?;
    let summary = Exported {
        file: args.to.display().to_string(),
        start_at: machine["StartAt"].as_str().unwrap_or_default().to_owned(),
        states: machine["States"].as_object().map(|s| s.keys().cloned().collect()).unwrap_or_default(),
        functions: [functions.serialize, functions.classify, functions.filter],
        threshold: threshold.get(),
        timeout_seconds: options.timeout_seconds,
    };
    if args.json {
        return print_json(&summary);
    }
    println!(
        "wrote {} ({}state machine, starts at {:?}; functions {}; threshold {}; timeout {} s)",
        summary.file,
        if args.map { "batch " } else { "" },
        summary.start_at,
        summary.functions.join(", "),
        summary.threshold,
        summary.timeout_seconds
    );
    Ok(())
}

/// One execution as `wb workflow run` reports it.
#[derive(Serialize)]
struct RunSummary {
    id: String,
    status: ExecutionStatus,
    images: Vec<String>,
    error: Option<String>,
    cause: Option<String>,
    output: Option<Value>,
    history: String,
}

/// The machine `wb workflow run` executes: the definition file, or the export for the
/// endpoint; and its name in the store.
fn machine_for(args: &WorkflowRunArgs, functions: &Functions, threshold: Threshold) -> Result<(StateMachine, String)> {
    if let Some(file) = &args.definition {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let definition: Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
        let machine = StateMachine::parse(&definition).with_context(|| format!("in {}", file.display()))?;
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
        return Ok((machine, if name.trim_matches('-').is_empty() { "workflow".into() } else { name }));
    }
    let mut options = ExportOptions::new(functions.clone(), args.endpoint.clone());
    options.threshold = threshold;
    options.map = args.map;
    if args.map {
        options.timeout_seconds = 300;
    }
    let machine = StateMachine::parse(&state_machine(&options)?)?;
    Ok((machine, if args.map { "image-batch" } else { "image-workflow" }.to_owned()))
}

/// The store path of an image argument: a URI inside the project's store, or a local file
/// copied into the store under `workflows/<machine>/inputs/`.
async fn image_path(ctx: &Context, machine: &str, image: &str) -> Result<ObjectPath> {
    if image.contains("://") {
        return ctx.store.uri().relative_object(image).ok_or_else(|| {
            anyhow::anyhow!(
                "{image} is not in the project's store {} (the workflow reads images from it)",
                ctx.store.uri()
            )
        });
    }
    let file = Path::new(image);
    let bytes = std::fs::read(file).with_context(|| format!("reading the image {}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let hash = wb_core::ContentHash::of_bytes(&bytes).short(12);
    let path = ObjectPath::parse(format!("workflows/{machine}/inputs/{hash}-{name}"))
        .with_context(|| format!("the image name {name:?} cannot be a store key"))?;
    ctx.store.put(&path, bytes.into()).await?;
    Ok(path)
}

async fn execute(args: WorkflowRunArgs, ctx: &Context, quiet: bool) -> Result<()> {
    let endpoint = EndpointName::parse(&args.endpoint)?;
    Endpoints::new(ctx.store.clone()).get(&endpoint).await?;
    let threshold: Threshold = args.threshold.parse()?;
    let functions = Functions::for_endpoint(endpoint.as_str())?;
    let (machine, name) = machine_for(&args, &functions, threshold)?;
    let inputs = execution_inputs(ctx, &name, &args.images, args.map).await?;
    let invoker = ctx.project.backend().invoker().await?.invoker;
    let steps = LocalSteps::new(ctx.store.clone(), invoker, endpoint.as_str(), threshold, functions);
    let executor = Executor::new(&steps);
    let progress = spinner(quiet, format!("running {} execution(s) of {name}", inputs.len()));
    let mut summaries = Vec::new();
    for (images, input) in inputs {
        let execution = executor.execute(&machine, &name, input).await;
        let stored = record(&ctx.store, &execution).await?;
        summaries.push(summary(execution, images, ctx.store.uri().object_uri(&stored)));
    }
    progress.finish_and_clear();
    let failed: Vec<&RunSummary> = summaries.iter().filter(|s| s.status != ExecutionStatus::Succeeded).collect();
    let first_error = failed.first().map(|s| (s.error.clone().unwrap_or_default(), s.images.join(", ")));
    let (total, failures) = (summaries.len(), failed.len());
    if args.json {
        print_json(&summaries)?;
    } else {
        for s in &summaries {
            let status = s.status.to_string();
            println!(
                "{}",
                execution_line(&s.id, &status, &s.images, s.error.as_deref(), s.cause.as_deref(), s.output.as_ref())
            );
        }
    }
    if let Some((error, images)) = first_error {
        anyhow::bail!(
            "{failures} of {total} execution(s) failed, the first with {error} ({images}); `wb workflow history ID` shows why"
        );
    }
    Ok(())
}

/// The inputs of the executions over `images` (each copied into the store when local): one
/// event per execution, or one `{"images": [...]}` batch with `map`; each with the images it
/// covers.
async fn execution_inputs(
    ctx: &Context,
    machine: &str,
    images: &[String],
    map: bool,
) -> Result<Vec<(Vec<String>, Value)>> {
    let objects = StoreObjects::new(ctx.store.clone());
    let mut events = Vec::new();
    for image in images {
        events.push((image.clone(), objects.event_for(&image_path(ctx, machine, image).await?).to_json()));
    }
    Ok(if map {
        let (images, events): (Vec<String>, Vec<Value>) = events.into_iter().unzip();
        vec![(images, json!({ "images": events }))]
    } else {
        events.into_iter().map(|(image, event)| (vec![image], event)).collect()
    })
}

/// One execution as a line: its id, status, images, and its error or most probable class.
fn execution_line(
    id: &str,
    status: &str,
    images: &[String],
    error: Option<&str>,
    cause: Option<&str>,
    output: Option<&Value>,
) -> String {
    let detail = match (error, output) {
        (Some(error), _) => format!("{error}: {}", cause.unwrap_or_default()),
        (None, Some(output)) => describe(output),
        (None, None) => String::new(),
    };
    let images = if images.len() > 3 { format!("{} images", images.len()) } else { images.join(", ") };
    format!("{id}  {status:<9}  {images}  {detail}")
}

/// The most probable class of an event's inferences, or the batch's counts.
fn describe(output: &Value) -> String {
    if let Some(results) = output.get("results").and_then(Value::as_array) {
        let unconfident = results.iter().filter(|r| r.get("error").is_some()).count();
        return format!(
            "{} image(s): {} confident, {unconfident} below the threshold",
            results.len(),
            results.len() - unconfident
        );
    }
    let inferences: Vec<f64> = output
        .get("inferences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    match inferences.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)) {
        Some((class, p)) => format!("class {class} with probability {p:.4}"),
        None => String::new(),
    }
}

fn summary(execution: Execution, images: Vec<String>, history: String) -> RunSummary {
    let output = execution.output.map(|mut o| {
        // The image bytes are in the stored history; the summary leaves them out.
        strip_image_data(&mut o);
        o
    });
    RunSummary {
        id: execution.id,
        status: execution.status,
        images,
        error: execution.error,
        cause: execution.cause,
        output,
        history,
    }
}

fn strip_image_data(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("image_data");
            map.values_mut().for_each(strip_image_data);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_image_data),
        _ => {}
    }
}

async fn history(args: &WorkflowHistoryArgs, ctx: &Context) -> Result<()> {
    let execution = find(&ctx.store, &args.id).await?;
    if args.json {
        return print_json(&execution);
    }
    println!("execution {} of {}: {}", execution.id, execution.machine, execution.status);
    if let Some(error) = &execution.error {
        println!("error       {error}: {}", execution.cause.as_deref().unwrap_or_default());
    }
    println!("started     {}\nstopped     {}", execution.started, execution.stopped);
    for event in &execution.events {
        let error = event.details.get("error").and_then(Value::as_str).map(|e| format!("  {e}")).unwrap_or_default();
        println!(
            "{:>4}  {}  {:<24}  {}{error}",
            event.id,
            event.timestamp,
            event.kind,
            event.state.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

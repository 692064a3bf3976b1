//! `wb demo images`: the image workflow end to end on the local backend.
//!
//! On the local backend by default; `--backend sagemaker` (with `--store`, `--role`, `--image`)
//! runs the same steps on SageMaker: the CNN as SageMaker's built-in image classifier on a GPU
//! instance, the baseline in the project's container image.
//!
//! Packs the shipped UCI handwritten digits (Alpaydin & Kaynak 1998, CC BY 4.0; see
//! `crates/wb-etl/data/README.md`) as a CIFAR-10-format archive — Python 2 pickles of numpy
//! arrays, the published layout — and reads it back with the CIFAR ETL (`wb etl cifar`), all ten
//! digits. Registers the PNGs and their `.lst`
//! manifests as an image dataset and partitions it once, then runs experiments 05 (a small CNN
//! under SageMaker's image-classification hyperparameters) and 06 (the pixel-logistic
//! baseline): train in the container layout, deploy (the CNN with data capture), register.
//! Invokes the CNN with one test PNG as the course's Lambda does (`image/png`), compares both
//! models on the held-out test images (intervals, paired tests, the worst-classified images in
//! the HTML report), promotes the best, exports the image workflow as a Step Functions state
//! machine and runs it on the local executor over forty test images (confident ones succeed,
//! unconfident ones fail with THRESHOLD_CONFIDENCE_NOT_MET, every execution recorded), and
//! prints where everything is.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use serde::Serialize;
use wb_compare::compare::CompareOptions;
use wb_core::{DatasetName, DynObjectStore};
use wb_datasets::{Datasets, ImageManifest, ImageRegisterRequest, PartitionSpec};
use wb_etl::cifar::{self, CifarOptions};
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest};
use wb_workflow::asl::{ExportOptions, Functions, state_machine};
use wb_workflow::executor::Executor;
use wb_workflow::local::{LocalSteps, record};
use wb_workflow::machine::StateMachine;
use wb_workflow::{StoreObjects, THRESHOLD_CONFIDENCE_NOT_MET};
use workbench::{Promoted, Registered};

use crate::cli::DemoArgs;
use crate::commands::demo::{Comparison, compare_and_promote, demo_project, print_leaderboard};
use crate::context::Context;
use crate::output::{print_json, spinner};

/// The demo's image dataset (the experiments' `DATASET`).
const DATASET: &str = "digits";
/// The digits kept: all ten. (With four, both models sit so near a perfect score on the ~143
/// test images that no paired test can separate them; on ten, the CNN's lead on the 357 test
/// images is significant.)
const CLASSES: [u32; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/// The seed of the archive's train/test assignment.
const ARCHIVE_SEED: u64 = 42;

#[derive(Serialize)]
struct ImagesDemo {
    dir: String,
    config: String,
    store: String,
    archive: String,
    images: String,
    classes: Vec<String>,
    train_images: u64,
    validation_images: u64,
    test_images: u64,
    registered: bool,
    partitioned: bool,
    models: Vec<Registered>,
    sample: Sample,
    comparison: Comparison,
    promoted: Promoted,
    workflow: WorkflowDemo,
}

/// The workflow part: the exported machine and its local executions on test images.
#[derive(Serialize)]
struct WorkflowDemo {
    definition: String,
    endpoint: String,
    threshold: f64,
    executions: usize,
    succeeded: usize,
    /// Failed executions by error name.
    failed: BTreeMap<String, usize>,
    /// An execution that failed, for `wb workflow history`.
    failed_example: Option<String>,
    /// The endpoint's capture of these executions, drawn.
    chart: Option<crate::commands::monitor::ChartWritten>,
}

/// Waits until the endpoint's capture holds the workflow's classifications since `since`, then
/// draws them (the reference project's chart, at the workflow's threshold).
async fn draw_workflow_capture(
    ctx: &Context,
    endpoint: &str,
    since: chrono::DateTime<chrono::Utc>,
    workflow: &WorkflowDemo,
    dir: &Path,
) -> Result<crate::commands::monitor::ChartWritten> {
    let name = wb_core::EndpointName::parse(endpoint)?;
    let classified = workflow.succeeded + workflow.failed.get(THRESHOLD_CONFIDENCE_NOT_MET).copied().unwrap_or(0);
    let delay = ctx.project.backend().capabilities().capture_delay;
    crate::commands::demo::await_capture(&ctx.store, &name, since, classified as u64, delay).await?;
    let reader = wb_monitor::capture::CaptureReader::new(ctx.store.clone(), endpoint)
        .window(wb_monitor::Window::new(Some(since), None)?);
    crate::commands::monitor::write_confidence_chart(
        reader,
        workflow.threshold,
        &dir.join("workflow").join("confidence.svg"),
    )
    .await
}

/// Test images the demo's workflow classifies.
const WORKFLOW_IMAGES: usize = 40;

/// Exports the workflow for `endpoint` next to the demo's data and runs it on the local
/// executor over a spread of test images, one execution each, every one recorded.
async fn run_workflow(
    store: &DynObjectStore,
    invoker: Arc<dyn InvokeEndpoint>,
    endpoint: &str,
    manifest: &ImageManifest,
    dir: &Path,
) -> Result<WorkflowDemo> {
    let functions = Functions::for_endpoint(endpoint)?;
    let options = ExportOptions::new(functions.clone(), endpoint);
    let definition = state_machine(&options)?;
    let file = dir.join("workflow").join("image-workflow.asl.json");
    std::fs::create_dir_all(dir.join("workflow"))?;
    std::fs::write(&file, serde_json::to_string_pretty(&definition)? + "\n")
        .with_context(|| format!("writing {}", file.display()))?;
    let machine = StateMachine::parse(&definition)?;
    let steps = LocalSteps::new(store.clone(), invoker, endpoint, options.threshold, functions);
    let executor = Executor::new(&steps);
    let objects = StoreObjects::new(store.clone());
    let test: Vec<_> = manifest.images(wb_datasets::Split::Test).collect();
    let stride = (test.len() / WORKFLOW_IMAGES).max(1);
    let mut demo = WorkflowDemo {
        definition: file.display().to_string(),
        endpoint: endpoint.to_owned(),
        threshold: options.threshold.get(),
        executions: 0,
        succeeded: 0,
        failed: BTreeMap::new(),
        failed_example: None,
        chart: None,
    };
    for image in test.iter().step_by(stride).take(WORKFLOW_IMAGES) {
        let execution = executor.execute(&machine, "image-workflow", objects.event_for(&image.path).to_json()).await;
        record(store, &execution).await?;
        demo.executions += 1;
        match execution.error {
            None => demo.succeeded += 1,
            Some(error) => {
                *demo.failed.entry(error).or_default() += 1;
                demo.failed_example.get_or_insert(execution.id);
            }
        }
    }
    Ok(demo)
}

#[derive(Serialize)]
struct Sample {
    endpoint: String,
    url: String,
    image: String,
    true_class: String,
    response: String,
}

/// Writes the digits as a CIFAR-10-format archive (deterministic: the same bytes every run).
fn write_digits_archive(path: &Path) -> Result<usize> {
    let digits = wb_etl::digits::load()?;
    let archive = wb_etl::digits::to_cifar(&digits, None, ARCHIVE_SEED)?;
    cifar::write_archive(path, &archive)?;
    Ok(archive.train.len() + archive.test.len())
}

pub(crate) async fn run(args: DemoArgs, quiet: bool) -> Result<()> {
    let (dir, config) = demo_project(&args, "wb-demo-images")?;
    let ctx = Context::open(config.clone()).await?;
    let (project, store) = (&ctx.project, ctx.store.clone());

    // Archive → CIFAR ETL → PNGs, .lst manifests and classes.json.
    let step = spinner(quiet, "packing the digits as a CIFAR archive and extracting the images");
    let archive = dir.join("data/digits-cifar-10-python.tar.gz");
    let images = dir.join("data/digits");
    let (archive_for_task, images_for_task) = (archive.clone(), images.clone());
    tokio::task::spawn_blocking(move || -> Result<()> {
        write_digits_archive(&archive_for_task)?;
        if !images_for_task.join(wb_datasets::images::CLASSES_FILE).is_file() {
            let options = CifarOptions { classes: Some(CLASSES.to_vec()), ..CifarOptions::default() };
            cifar::etl(&archive_for_task, &images_for_task, &options)?;
        }
        Ok(())
    })
    .await??;
    step.finish_and_clear();

    let datasets = Datasets::new(store.clone());
    let name = DatasetName::parse(DATASET)?;
    let registration = datasets
        .register_images(ImageRegisterRequest {
            name: name.clone(),
            images: images.display().to_string(),
            lst: vec![images.join("train.lst").display().to_string(), images.join("test.lst").display().to_string()],
            new_version: false,
        })
        .await?;
    let defaults = &config.config.datasets;
    let spec = PartitionSpec {
        train: defaults.train,
        validation: defaults.validation,
        test: defaults.test,
        seed: defaults.seed,
        stratify: true,
    };
    let step = spinner(quiet, "partitioning the images");
    let outcome = datasets.partition_images(&name, spec, false).await;
    step.finish_and_clear();
    let outcome = outcome?;
    let manifest = &outcome.manifest;

    let mut models = Vec::new();
    let step = spinner(quiet, "experiment 05: a convolutional network");
    models.push(exp_05_image_cnn::run(project).await?);
    step.set_message("experiment 06: the pixel-logistic baseline");
    models.push(exp_06_image_pixels::run(project).await?);
    step.set_message("making sure the endpoints answer");
    let serving = project.serve().await?;
    step.finish_and_clear();

    // One test image, as the course's classifier Lambda sends it.
    let sample_image = manifest.images(wb_datasets::Split::Test).next().context("the test split holds no image")?;
    let true_class = manifest.classes()[sample_image.entry.label as usize].clone();
    let png = store.get(&sample_image.path).await?.bytes;
    let endpoint = models[0].endpoint.to_string();
    let endpoint_of_cnn = endpoint.clone();
    let response = serving
        .invoker
        .invoke_endpoint(&endpoint, InvokeRequest { content_type: "image/png".into(), body: png, ..Default::default() })
        .await?;
    let sample = Sample {
        url: serving.invocation_url(&endpoint),
        endpoint,
        image: store.uri().object_uri(&sample_image.path),
        true_class,
        response: String::from_utf8_lossy(&response.body).trim_end().to_owned(),
    };

    let (comparison, _, promoted) =
        compare_and_promote(&ctx, CompareOptions::default(), quiet, "comparing the models on the test images").await?;

    let step = spinner(quiet, "the workflow: exporting its state machine and running it on test images");
    let since = crate::commands::demo::next_second().await;
    let workflow = run_workflow(&store, serving.invoker.clone(), &endpoint_of_cnn, manifest, &dir).await;
    step.finish_and_clear();
    let mut workflow = workflow?;
    // The confidence chart of what the endpoint captured during the executions.
    let step = spinner(quiet, "the workflow: drawing the endpoint's captured confidences");
    let chart = draw_workflow_capture(&ctx, &endpoint_of_cnn, since, &workflow, &dir).await;
    step.finish_and_clear();
    workflow.chart = Some(chart?);

    let split = |s| manifest.split(s).images;
    let report = ImagesDemo {
        dir: dir.display().to_string(),
        config: config.path.display().to_string(),
        store: store.uri().to_string(),
        archive: archive.display().to_string(),
        images: images.display().to_string(),
        classes: manifest.classes().to_vec(),
        train_images: split(wb_datasets::Split::Train),
        validation_images: split(wb_datasets::Split::Validation),
        test_images: split(wb_datasets::Split::Test),
        registered: registration.created,
        partitioned: outcome.created,
        models,
        sample,
        comparison,
        promoted,
        workflow,
    };
    if args.json {
        return print_json(&report);
    }
    println!("workbench image demo in {}", report.dir);
    println!("config      {}", report.config);
    println!("store       {}", report.store);
    println!("archive     {} (UCI digits, CIFAR-10 python format)", report.archive);
    println!("images      {} (digits {}, PNG + .lst + classes.json)", report.images, report.classes.join(", "));
    println!(
        "dataset     {DATASET} {}, {}: train {}, validation {}, test {} images",
        if report.registered { "registered" } else { "already registered" },
        if report.partitioned { "partitioned now" } else { "already partitioned (unchanged)" },
        report.train_images,
        report.validation_images,
        report.test_images
    );
    println!();
    println!("models (trained on train, scored on validation; the test images stay held out):");
    for m in &report.models {
        let acc =
            m.validation_metrics.get("accuracy").map(|v| format!("validation accuracy {v:.3}")).unwrap_or_default();
        println!("  {:<16} {:<22} job {:<48} {acc}", m.name, m.algorithm, m.job);
    }
    println!("invoke      POST {}", report.sample.url);
    println!("  image/png {} (a {})", report.sample.image, report.sample.true_class);
    println!("  answer    {} (probabilities of {})", report.sample.response, report.classes.join(", "));
    println!();
    let c = &report.comparison;
    println!("comparison on the held-out test images ({}, paired tests vs best):", c.primary_metric);
    print_leaderboard(&c.leaderboard);
    println!("report      {}", c.location.uri);
    println!("open        {}", c.location.index_html);
    println!("promoted    {}", report.promoted.promotion.model);
    let w = &report.workflow;
    let failed: Vec<String> = w.failed.iter().map(|(error, n)| format!("{n} FAILED with {error}")).collect();
    println!("workflow    {} (Step Functions; serialize → classify → filter at {})", w.definition, w.threshold);
    println!(
        "  ran       {} executions locally on test images at {}: {} SUCCEEDED{}",
        w.executions,
        w.endpoint,
        w.succeeded,
        if failed.is_empty() { String::new() } else { format!(", {}", failed.join(", ")) }
    );
    if let Some(id) = &w.failed_example {
        println!("  history   wb --config {} workflow history {id}", report.config);
    }
    if let Some(chart) = &w.chart {
        println!(
            "  capture   {} ({} inferences captured at {}, {} below {})",
            chart.path, chart.inferences, w.endpoint, chart.below_threshold, chart.threshold
        );
    }
    println!();
    println!(
        "next: wb --config {} endpoints invoke {} --content-type image/png --body @{}",
        report.config,
        report.sample.endpoint,
        images.join("test").join("<file>.png").display()
    );
    println!("      wb --config {} compare serve   # browse the report and its gallery", report.config);
    println!("      wb --config {} clean --all     # remove everything the demo made", report.config);
    Ok(())
}

//! The command-line grammar.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit-status contract, shown under `wb --help`.
pub(crate) const EXIT_STATUS: &str = "Exit status: 0 when the command did what it was asked; 1 on any error, bad arguments \
included (one `error:` line on stderr naming the file, row, field, flag or value); 2 only when a flag asks \
to fail on a finding and there was one (`wb monitor run --fail-on-violation`).";

/// The workbench: register and partition datasets once; train models on those partitions,
/// deploy them to endpoints that speak SageMaker's API, register them, compare them on the
/// held-out test split with honest statistics, promote the best; clean up.
#[derive(Debug, Parser)]
#[command(name = "wb", version, propagate_version = true, after_help = EXIT_STATUS)]
pub(crate) struct Cli {
    /// The workbench.toml to use (default: search the current directory and its parents).
    #[arg(long, global = true, env = "WB_CONFIG", value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a workbench.toml (and the local store directory) in the current directory.
    Init(InitArgs),
    /// Register, partition and inspect datasets.
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Download, extract, convert and generate data.
    #[command(subcommand)]
    Etl(EtlCommand),
    /// Train a model on a dataset's partitions (a local job in SageMaker's container layout, or
    /// a SageMaker training job on the sagemaker backend).
    Train(TrainArgs),
    /// Inspect training jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Deploy a completed job's model to an endpoint (starting the local server when needed).
    Deploy(DeployArgs),
    /// Register the model an endpoint serves, for comparison.
    Register(RegisterModelArgs),
    /// List, show and remove registered models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run the local model server (SageMaker Runtime API) in the foreground.
    Serve(ServeArgs),
    /// List endpoints and invoke them.
    #[command(subcommand)]
    Endpoints(EndpointsCommand),
    /// Remove what the project created: server, endpoints, models, jobs, capture, monitoring,
    /// workflow executions (datasets and reports with --all; --keep-promoted spares the
    /// promoted model).
    Clean(CleanArgs),
    /// Score registered models on the held-out test split: metrics with confidence intervals,
    /// paired significance tests, explanations, and a report (`wb compare serve` browses them).
    Compare(CompareArgs),
    /// Record the model chosen to serve, citing the newest comparison report that scored it.
    Promote(PromoteArgs),
    /// Read endpoints' captured requests back, baseline them, check them for drift and
    /// violations (Model Monitor's formats), and chart them.
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// The image workflow (serialize an image from the store → classify it at an endpoint →
    /// fail loudly on low confidence): export it as a Step Functions state machine, run it
    /// locally, read execution histories; package its steps as Lambda functions, host it on
    /// Lambda and Step Functions and start it there (sagemaker backend).
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Run the whole pipeline on the red wine quality data (local backend by default), or
    /// `wb demo images`: the image workflow on the shipped handwritten digits.
    Demo(DemoArgs),
    /// AWS helpers: the IAM policy the project needs.
    #[command(subcommand)]
    Aws(AwsCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum WorkflowCommand {
    /// Write the workflow as an Amazon States Language state machine: three lambda:invoke
    /// tasks (functions wb-<endpoint>-serialize, -classify, -filter) with retries and
    /// timeouts, THRESHOLD_CONFIDENCE_NOT_MET caught into a Fail state; --map classifies a
    /// batch ({"images": [event, …]}).
    Export(WorkflowExportArgs),
    /// Run the workflow on the local executor (the same ASL JSON, Step Functions' semantics):
    /// one execution per image (--map: one batch execution), each recorded with its history
    /// under workflows/<machine>/executions/; exit status 1 naming the error when one fails.
    Run(WorkflowRunArgs),
    /// Show a recorded execution's history (Step Functions' event types).
    History(WorkflowHistoryArgs),
    /// Build the three Lambda functions' zips (<function>.zip, each holding the wb-lambda
    /// binary as `bootstrap` for the provided.al2023 runtime) and functions.json, which lists
    /// each function's step, architecture and environment.
    Package(WorkflowPackageArgs),
    /// Host the workflow on the sagemaker backend: the three Lambda functions (packaged from
    /// wb-lambda, run as the project's role, reading the project's store, invoking the
    /// endpoint) and the state machine wb-<endpoint>-workflow (--map: wb-<endpoint>-batch),
    /// all tagged with the project's tag; updated in place when they exist.
    Deploy(WorkflowDeployArgs),
    /// Start the hosted state machine on images (one execution each; --map: one batch) and
    /// follow each to its end; exit status 1 naming the error when one fails.
    Start(WorkflowStartArgs),
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowDeployArgs {
    #[command(flatten)]
    pub(crate) functions: LambdaFunctionArgs,
    /// The batch variant (a Map state over $.images).
    #[arg(long)]
    pub(crate) map: bool,
    /// Print what was deployed as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowStartArgs {
    /// The endpoint whose workflow to start.
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// Images: URIs inside the project's store (s3://…), or local files (copied into the store
    /// under workflows/<machine>/inputs/ first).
    #[arg(long = "image", value_name = "PATH_OR_URI", required = true)]
    pub(crate) images: Vec<String>,
    /// Start the batch variant with all images in one execution.
    #[arg(long)]
    pub(crate) map: bool,
    /// How long to follow each execution, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) wait: u64,
    /// Print the executions as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The three Lambda functions: the endpoint that names them, the filter's threshold and the
/// binary they run.
#[derive(Debug, Args)]
pub(crate) struct LambdaFunctionArgs {
    /// The endpoint the classifier invokes (it names the functions).
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// The filter's confidence threshold (WB_THRESHOLD), in (0, 1].
    #[arg(long, value_name = "P", default_value = "0.93")]
    pub(crate) threshold: String,
    /// The Lambda binary [default: wb-lambda next to this wb]. For AWS, build it for Lambda's
    /// glibc, e.g. `cargo lambda build --release --bin wb-lambda`.
    #[arg(long, value_name = "FILE")]
    pub(crate) bootstrap: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowPackageArgs {
    #[command(flatten)]
    pub(crate) functions: LambdaFunctionArgs,
    /// The directory to write the zips to (created when missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) to: std::path::PathBuf,
    /// The project's store the serializer reads (WB_STORE), e.g. s3://bucket/prefix.
    #[arg(long, value_name = "URI")]
    pub(crate) store: Option<String>,
    /// Print the package as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowRunArgs {
    /// The endpoint the classifier invokes.
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// Images: URIs inside the project's store (s3://… or file://…), or local files (copied into
    /// the store under workflows/<machine>/inputs/ first, as the workflow reads the store).
    #[arg(long = "image", value_name = "PATH_OR_URI", required = true)]
    pub(crate) images: Vec<String>,
    /// The confidence an image's most probable class must reach, in (0, 1].
    #[arg(long, value_name = "P", default_value = "0.93")]
    pub(crate) threshold: String,
    /// One batch execution (the Map variant) instead of one execution per image.
    #[arg(long)]
    pub(crate) map: bool,
    /// Run this state machine definition (ASL JSON, e.g. an edited export) instead of the
    /// exported one; its lambda:invoke tasks call the functions wb-<endpoint>-serialize,
    /// -classify and -filter.
    #[arg(long, value_name = "FILE")]
    pub(crate) definition: Option<std::path::PathBuf>,
    /// Print the executions as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowHistoryArgs {
    /// The execution id (`wb workflow run` prints it).
    pub(crate) id: String,
    /// Print the execution as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowExportArgs {
    /// The endpoint the classifier invokes (it names the three functions).
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// The batch variant: a Map state over $.images, results in $.results.
    #[arg(long)]
    pub(crate) map: bool,
    /// The confidence an image's most probable class must reach, in (0, 1].
    #[arg(long, value_name = "P", default_value = "0.93")]
    pub(crate) threshold: String,
    /// An SNS topic ARN notified before the execution fails on an unconfident image.
    #[arg(long, value_name = "ARN")]
    pub(crate) notify_topic: Option<String>,
    /// TimeoutSeconds of the whole machine [default: 60, or 300 with --map].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<u32>,
    /// TimeoutSeconds of each task.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) task_timeout: u32,
    /// Where to write the definition (JSON).
    #[arg(long, value_name = "FILE")]
    pub(crate) to: std::path::PathBuf,
    /// Print a summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum MonitorCommand {
    /// Profile the endpoint's train split and its model's confidence on the validation split
    /// into Model Monitor's statistics.json and constraints.json.
    Baseline(MonitorBaselineArgs),
    /// Check a window of captured data against the baseline: violations, drift, confidence
    /// per hour; writes a report under monitoring/<endpoint>/reports/.
    Run(MonitorRunArgs),
    /// Read every captured record back: counts, malformed lines, Parquet export, hourly
    /// confidence (works on capture of endpoints that are gone).
    Captures(MonitorCapturesArgs),
    /// List baselines and monitoring reports.
    List(MonitorListArgs),
    /// Schedule hourly monitoring on SageMaker (a data-quality job definition and a
    /// monitoring schedule; sagemaker backend).
    Schedule(MonitorScheduleArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MonitorBaselineArgs {
    /// The endpoint.
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// Print the baseline as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WindowArgs {
    /// Only records at or after this UTC time (RFC 3339 such as 2026-12-06T10:00:00Z, or a
    /// date).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Only records before this UTC time (exclusive).
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
    /// Store prefix the capture is under (default `capture`, SageMaker's DestinationS3Uri
    /// inside the store).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) destination: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct MonitorRunArgs {
    /// The endpoint.
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    #[command(flatten)]
    pub(crate) window: WindowArgs,
    /// Confidence below this is low.
    #[arg(long, value_name = "P", default_value_t = 0.93)]
    pub(crate) threshold: f64,
    /// Exit with status 2 when there are violations (for CI).
    #[arg(long)]
    pub(crate) fail_on_violation: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MonitorCapturesArgs {
    /// The endpoint whose capture is read (under <destination>/<endpoint>/).
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    #[command(flatten)]
    pub(crate) window: WindowArgs,
    /// Only this production variant.
    #[arg(long, value_name = "VARIANT")]
    pub(crate) variant: Option<String>,
    /// Write every decoded row to this Parquet file.
    #[arg(long, value_name = "FILE.parquet")]
    pub(crate) to: Option<std::path::PathBuf>,
    /// Predictions and low-confidence predictions per hour.
    #[arg(long)]
    pub(crate) hourly: bool,
    /// Draw every captured inference's confidence over time into this SVG file, red below the
    /// threshold (the reference project's "Observed Recent Inferences").
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) chart: Option<std::path::PathBuf>,
    /// Confidence below this is low (with --hourly and --chart).
    #[arg(long, value_name = "P", default_value_t = 0.93)]
    pub(crate) threshold: f64,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MonitorListArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MonitorScheduleArgs {
    /// The endpoint (it needs a baseline: `wb monitor baseline`).
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// Schedule expression.
    #[arg(long, value_name = "EXPR", default_value = "cron(0 * ? * * *)")]
    pub(crate) cron: String,
    /// Run the workbench's own analyzer (the project's container image, Model Monitor's
    /// bring-your-own-container contract) instead of SageMaker's.
    #[arg(long)]
    pub(crate) own_analyzer: bool,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AwsCommand {
    /// Print the least-privilege IAM policy document the project needs (its S3 prefix, the
    /// SageMaker actions on resources tagged with the project, iam:PassRole on its role).
    Policy,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The partitioned dataset to train on.
    #[arg(long, value_name = "NAME")]
    pub(crate) dataset: String,
    /// logistic-regression, decision-tree, random-forest, gaussian-nb, linear-regression or
    /// xgboost (gradient-boosted trees with SageMaker XGBoost's hyperparameters: the built-in
    /// algorithm on the sagemaker backend); image-classification or image-logistic for image
    /// datasets; on the sagemaker backend also SageMaker's linear-learner.
    #[arg(long, value_name = "ALG")]
    pub(crate) algorithm: String,
    /// A hyperparameter (repeatable), e.g. --hp max_depth=8.
    #[arg(long = "hp", value_name = "KEY=VALUE")]
    pub(crate) hyperparameters: Vec<String>,
    /// Job name (default: <dataset>-<algorithm>-<time>).
    #[arg(long, value_name = "NAME")]
    pub(crate) job: Option<String>,
    /// SageMaker training instance type (sagemaker backend; default from workbench.toml, else
    /// ml.m5.large).
    #[arg(long, value_name = "T")]
    pub(crate) instance_type: Option<String>,
    /// SageMaker training instances (sagemaker backend).
    #[arg(long, value_name = "N")]
    pub(crate) instance_count: Option<u32>,
    /// Managed spot training (sagemaker backend).
    #[arg(long)]
    pub(crate) spot: bool,
    /// Print the job record as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobsCommand {
    /// List training jobs.
    List(JsonArg),
    /// Show one job: status, failure reason, channels, artefact, metrics.
    Show(NameArg),
    /// Record a model trained elsewhere (XGBoost's JSON model, from `xgboost` or SageMaker's
    /// XGBoost) as a completed job on a dataset, to deploy, invoke and compare like any other.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The job name to record.
    pub(crate) job: String,
    /// The dataset whose channels the model was trained on (its feature count must match).
    #[arg(long, value_name = "DATASET")]
    pub(crate) dataset: String,
    /// The model file: XGBoost's JSON (`save_model("model.json")`), or a `model.tar.gz` whose
    /// `xgboost-model` is that JSON.
    #[arg(long, value_name = "FILE")]
    pub(crate) model: std::path::PathBuf,
    /// The model's format.
    #[arg(long, value_name = "FORMAT", default_value = "xgboost-json", value_parser = ["xgboost-json"])]
    pub(crate) format: String,
    /// Print the job record as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The name.
    pub(crate) name: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The completed training job.
    #[arg(long, value_name = "JOB")]
    pub(crate) job: String,
    /// The endpoint name (an existing endpoint moves to this job's model).
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// Capture this percentage of requests and responses (SageMaker's data capture, 0–100).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) capture: Option<u8>,
    /// SageMaker hosting instance type (sagemaker backend; default from workbench.toml, else
    /// ml.m5.large).
    #[arg(long, value_name = "T")]
    pub(crate) instance_type: Option<String>,
    /// SageMaker instances behind the endpoint (sagemaker backend).
    #[arg(long, value_name = "N")]
    pub(crate) instance_count: Option<u32>,
    /// Print the endpoint record as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RegisterModelArgs {
    /// The model's name.
    pub(crate) name: String,
    /// The endpoint serving it.
    #[arg(long, value_name = "NAME")]
    pub(crate) endpoint: String,
    /// What the model is.
    #[arg(long, value_name = "TEXT")]
    pub(crate) description: String,
    /// Replace an existing registration of this name.
    #[arg(long)]
    pub(crate) replace: bool,
    /// Print the registration as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelsCommand {
    /// List registered models.
    List(JsonArg),
    /// Show one registered model.
    Show(NameArg),
    /// Remove a registration (its endpoint and job stay).
    Remove(NameArg),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to bind (only loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Seconds a client has to send a whole request head, from its first byte.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    pub(crate) header_timeout: Duration,
    /// Seconds a connection may stay open with no request in flight.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = seconds)]
    pub(crate) idle_timeout: Duration,
    /// Largest request head (start line and headers) in bytes; larger ones get 431.
    #[arg(long, value_name = "BYTES", default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(8192..=1_048_576))]
    pub(crate) max_header_bytes: u64,
    /// Most connections open at once; more get 503.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub(crate) max_connections: u64,
}

/// A positive number of seconds (fractions allowed, at most a day).
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("expected a number of seconds in (0, 86400], got {text:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum EndpointsCommand {
    /// List endpoints with their URL and whether they answer.
    List(JsonArg),
    /// Invoke an endpoint; the response body goes to stdout.
    Invoke(InvokeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InvokeArgs {
    /// The endpoint.
    pub(crate) name: String,
    /// The body's MIME type (text/csv, application/json).
    #[arg(long, value_name = "TYPE")]
    pub(crate) content_type: String,
    /// The response type wanted.
    #[arg(long, value_name = "TYPE")]
    pub(crate) accept: Option<String>,
    /// The body: @FILE, or - for stdin (the default), or the literal text.
    #[arg(long, value_name = "@FILE", default_value = "-")]
    pub(crate) body: String,
}

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// List what would be removed, remove nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Remove datasets and reports too.
    #[arg(long)]
    pub(crate) all: bool,
    /// Keep the promoted model: its registry entry, endpoint, job, captured data, dataset,
    /// the report it was promoted on, and the running server.
    #[arg(long)]
    pub(crate) keep_promoted: bool,
    /// Print the plan and report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct CompareArgs {
    #[command(subcommand)]
    pub(crate) command: Option<CompareCommand>,
    #[command(flatten)]
    pub(crate) run: CompareRunArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompareCommand {
    /// Serve a small web app over every comparison report (leaderboard, model pages, the
    /// pairwise matrix).
    Serve(CompareServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CompareRunArgs {
    /// The dataset whose test split is scored (default: the one the models were trained on).
    #[arg(long, value_name = "NAME")]
    pub(crate) dataset: Option<String>,
    /// Comma-separated models to compare (default: every registered model).
    #[arg(long, value_name = "A,B,...")]
    pub(crate) models: Option<String>,
    /// Rows per invocation.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub(crate) batch_size: usize,
    /// Invocations in flight per model.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Seed of the bootstrap resamples and permutations.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub(crate) seed: u64,
    /// Bootstrap resamples for intervals and paired tests (0 turns them off).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) resamples: usize,
    /// Include models trained on another partition, flagged in every output.
    #[arg(long)]
    pub(crate) allow_foreign: bool,
    /// Report metrics by slice of this column (categories, or quartile bins of numbers).
    #[arg(long, value_name = "COLUMN")]
    pub(crate) slice_by: Option<String>,
    /// Most invocations permutation importance may make per model (0 turns it off).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) importance_budget: usize,
    /// Print `{"location": ..., "report": <report.json>}` instead of the leaderboard.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CompareServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 8090)]
    pub(crate) port: u16,
}

#[derive(Debug, Args)]
pub(crate) struct PromoteArgs {
    /// The registered model to promote.
    pub(crate) model: String,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Backend {
    Local,
    Sagemaker,
}

impl From<Backend> for wb_core::BackendKind {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Local => Self::Local,
            Backend::Sagemaker => Self::Sagemaker,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Store URI: a directory (relative to the config), file:///dir or s3://bucket/prefix.
    #[arg(long, default_value = ".workbench")]
    pub(crate) store: String,
    /// Backend that trains and hosts models.
    #[arg(long, value_enum, default_value = "local")]
    pub(crate) backend: Backend,
    /// Project name (tags every resource).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// IAM role for SageMaker.
    #[arg(long)]
    pub(crate) role: Option<String>,
    /// AWS region.
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// The workbench's container image (ECR URI) that runs its algorithms on SageMaker.
    #[arg(long, value_name = "URI")]
    pub(crate) image: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCommand {
    /// Register a dataset: source, target column, optional row-key column; or a directory of
    /// PNG/JPEG images (--images) labelled by SageMaker .lst files or by sub-folder names.
    Register(RegisterArgs),
    /// Partition a registered dataset into train/validation/test, once.
    Partition(PartitionArgs),
    /// Show a dataset: target, rows per split and class, seed, fingerprint, files, channels.
    Show(ShowArgs),
    /// List registered datasets.
    List(JsonArg),
}

#[derive(Debug, Args)]
pub(crate) struct JsonArg {
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// Dataset name (letters, digits, '-'; at most 63 characters).
    pub(crate) name: String,
    /// A .csv or .parquet file, or a URI inside the store.
    #[arg(long, value_name = "PATH_OR_URI", required_unless_present = "images", conflicts_with = "images")]
    pub(crate) source: Option<String>,
    /// The column to predict.
    #[arg(long, value_name = "COLUMN", required_unless_present = "images", conflicts_with = "images")]
    pub(crate) target: Option<String>,
    /// A row-key column: each row's split then depends only on its key and the seed.
    #[arg(long, value_name = "COLUMN", conflicts_with = "images")]
    pub(crate) key: Option<String>,
    /// A cell value meaning "missing" (repeatable; default from workbench.toml: "" and "?").
    #[arg(long, value_name = "TOKEN", conflicts_with = "images")]
    pub(crate) missing: Vec<String>,
    /// Columns that are not features (identifiers such as encounter_id, free text): recorded
    /// with the dataset, so every model of it leaves them out.
    #[arg(long, value_name = "COLUMN[,COLUMN...]", value_delimiter = ',', conflicts_with = "images")]
    pub(crate) exclude: Vec<String>,
    /// Feature columns a JSON instance may leave out at inference (imputed, as null is); every
    /// other column must be named in each JSON instance. CSV rows always carry every column,
    /// and an empty field or missing token there means missing.
    #[arg(long, value_name = "COLUMN[,COLUMN...]", value_delimiter = ',', conflicts_with = "images")]
    pub(crate) optional: Vec<String>,
    /// An image dataset: a directory (or a prefix inside the store) of PNG and JPEG images.
    /// Labels come from --lst files, else from each image's sub-folder; class names from a
    /// classes.json beside the images (as `wb etl cifar` writes it) when there is one.
    #[arg(long, value_name = "DIR_OR_URI")]
    pub(crate) images: Option<String>,
    /// A SageMaker .lst manifest (index TAB label TAB path relative to --images; repeatable).
    #[arg(long, value_name = "FILE", requires = "images")]
    pub(crate) lst: Vec<String>,
    /// Replace a registration made with different inputs.
    #[arg(long)]
    pub(crate) new_version: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PartitionArgs {
    /// Dataset name.
    pub(crate) name: String,
    /// Share of rows for training.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub(crate) train: Option<f64>,
    /// Share of rows for validation.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub(crate) validation: Option<f64>,
    /// Share of rows for the held-out test split.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub(crate) test: Option<f64>,
    /// Seed of the partition.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Do not stratify on the target.
    #[arg(long)]
    pub(crate) no_stratify: bool,
    /// Replace a partition made with different inputs by a new version.
    #[arg(long)]
    pub(crate) new_version: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Dataset name.
    pub(crate) name: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EtlCommand {
    /// Download a file over HTTP(S), resumably, verifying its SHA-256.
    Download(DownloadArgs),
    /// Extract a zip or tar.gz archive, refusing entries that escape the target directory.
    Extract(ExtractArgs),
    /// Convert a CSV file to Parquet.
    Ingest(IngestArgs),
    /// Generate synthetic data.
    #[command(subcommand)]
    Synth(SynthCommand),
    /// Convert a CIFAR-10/CIFAR-100 python archive (or its extracted directory) to PNG files,
    /// SageMaker .lst manifests (paths relative to --to) and classes.json.
    Cifar(CifarArgs),
    /// Write the shipped UCI handwritten digits (CC BY 4.0) as a CIFAR-10-format .tar.gz.
    Digits(DigitsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CifarArgs {
    /// cifar-10-python.tar.gz, cifar-100-python.tar.gz, or a directory holding their files.
    pub(crate) source: PathBuf,
    /// Output directory (must not exist or be empty): train/, test/, train.lst, test.lst,
    /// classes.json.
    #[arg(long, value_name = "DIR")]
    pub(crate) to: PathBuf,
    /// Class ids to keep, in the order of the new labels 0..k-1 (default: all), e.g. 8,48.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub(crate) classes: Option<Vec<u32>>,
    /// Which CIFAR-100 labels to use (CIFAR-10 has only fine ones).
    #[arg(long, value_enum, default_value = "fine")]
    pub(crate) labels: CifarLabels,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--labels` of `wb etl cifar`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum CifarLabels {
    /// The 100 fine classes (CIFAR-100) or CIFAR-10's classes.
    Fine,
    /// The 20 coarse superclasses (CIFAR-100 only).
    Coarse,
}

#[derive(Debug, Args)]
pub(crate) struct DigitsArgs {
    /// The .tar.gz to write (cifar-10-batches-py/ layout).
    #[arg(long, value_name = "FILE.tar.gz")]
    pub(crate) to: PathBuf,
    /// Digits to keep (default: all ten), e.g. 0,1.
    #[arg(long, value_name = "DIGITS", value_delimiter = ',')]
    pub(crate) classes: Option<Vec<u8>>,
    /// Seed of the train/test split (20 % of each digit is held out for testing).
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub(crate) seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DownloadArgs {
    /// http:// or https:// URL.
    pub(crate) url: String,
    /// Where to write the file.
    #[arg(long, value_name = "PATH")]
    pub(crate) to: PathBuf,
    /// Expected SHA-256 (64 hex digits); the file is discarded when it differs.
    #[arg(long, value_name = "HEX")]
    pub(crate) sha256: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    /// The archive (.zip, .tar.gz, .tgz, .tar).
    pub(crate) archive: PathBuf,
    /// Target directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) to: PathBuf,
    /// Most bytes all entries may total (refused before anything is written).
    #[arg(long, value_name = "BYTES", default_value_t = wb_etl::extract::ExtractLimits::default().max_total_bytes)]
    pub(crate) max_bytes: u64,
    /// Most bytes one entry may hold.
    #[arg(long, value_name = "BYTES", default_value_t = wb_etl::extract::ExtractLimits::default().max_entry_bytes)]
    pub(crate) max_entry_bytes: u64,
    /// Most entries.
    #[arg(long, value_name = "N", default_value_t = wb_etl::extract::ExtractLimits::default().max_entries)]
    pub(crate) max_entries: u64,
    /// Largest ratio of extracted to compressed size (per zip entry, per .tar.gz), above 1 MiB.
    #[arg(long, value_name = "R", default_value_t = wb_etl::extract::ExtractLimits::default().max_ratio)]
    pub(crate) max_ratio: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The CSV file (first line is the header).
    pub(crate) csv: PathBuf,
    /// The Parquet file to write.
    #[arg(long, value_name = "PARQUET")]
    pub(crate) to: PathBuf,
    /// A cell value meaning "missing" (repeatable; default "" and "?").
    #[arg(long, value_name = "TOKEN")]
    pub(crate) missing: Vec<String>,
    /// Map a code column through a two-column CSV (code,value), e.g. admission_type_id=IDs.csv.
    #[arg(long, value_name = "COLUMN=MAPPING.csv")]
    pub(crate) lookup: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SynthCommand {
    /// A hospital-readmission-like CSV (about 50 columns, '?' for missing, ~11 % positives).
    Readmission(SynthArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// Number of rows (at least 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) rows: u64,
    /// Seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub(crate) seed: u64,
    /// The CSV file to write.
    #[arg(long, value_name = "CSV")]
    pub(crate) to: PathBuf,
    /// Also write the admission_type_id lookup table here.
    #[arg(long, value_name = "CSV")]
    pub(crate) mapping: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The demos `wb demo` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DemoKind {
    /// The red wine quality data: tabular models, comparison, monitoring.
    Wine,
    /// The UCI digits: CIFAR ETL, image dataset, CNN and pixel baseline, PNG endpoint.
    Images,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Which demo: `wine` (tabular: four models, comparison, monitoring) or `images` (the
    /// digits as a CIFAR archive, a CNN and a pixel baseline, PNG invocations; local backend).
    #[arg(value_enum, default_value = "wine")]
    pub(crate) which: DemoKind,
    /// Working directory of the demo (created; reused when run again; default wb-demo, or
    /// wb-demo-images for the images demo).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// The backend to run on (sagemaker needs --store s3://..., --role and --image, or a
    /// workbench.toml in DIR that has them).
    #[arg(long, value_enum, default_value = "local")]
    pub(crate) backend: Backend,
    /// The store, for --backend sagemaker: s3://BUCKET/PREFIX.
    #[arg(long, value_name = "URI")]
    pub(crate) store: Option<String>,
    /// The IAM role SageMaker assumes, for --backend sagemaker.
    #[arg(long, value_name = "ARN")]
    pub(crate) role: Option<String>,
    /// The AWS region, for --backend sagemaker (default: the AWS configuration's).
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// The workbench's container image (ECR URI), for --backend sagemaker.
    #[arg(long, value_name = "URI")]
    pub(crate) image: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

//! `wb deploy`, `wb serve`, `wb endpoints`: the local endpoints and their server.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use wb_core::{BackendKind, DynObjectStore, EndpointName, JobName, LoadedConfig};
use wb_serving::backend::{Resources, ServerLauncher};
use wb_serving::endpoints::{EndpointRecord, Endpoints};
use wb_serving::invoke::InvokeRequest;
use wb_serving::local::{self, ServerRecord};

use crate::cli::{DeployArgs, EndpointsCommand, InvokeArgs, ServeArgs};
use crate::context::Context;
use crate::output::{self, print_json, spinner};

/// How long a background server may take to answer its first ping.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What `wb deploy` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Deployed {
    #[serde(flatten)]
    pub(crate) endpoint: EndpointRecord,
    /// The endpoint's invocation URL.
    pub(crate) url: String,
    /// Whether this deploy started the local server.
    pub(crate) started_server: bool,
}

/// Deploys a job's model to an endpoint on the project's backend and makes sure it can be
/// invoked (on the local backend, the model server is started when none answers).
pub(crate) async fn deploy_endpoint(
    ctx: &Context,
    job: &JobName,
    endpoint: &EndpointName,
    capture: Option<u8>,
    resources: Resources,
) -> Result<Deployed> {
    let mut request = ctx.project.deploy(job, endpoint).resources(resources);
    if let Some(percent) = capture {
        request = request.capture(percent);
    }
    let record = request.await?;
    let serving = ctx.project.serve().await?;
    Ok(Deployed {
        url: serving.invocation_url(record.name.as_str()),
        endpoint: record,
        started_server: serving.started,
    })
}

pub(crate) async fn deploy(args: DeployArgs, ctx: &Context, quiet: bool) -> Result<()> {
    ctx.instance_options(&[
        ("--instance-type", args.instance_type.is_some()),
        ("--instance-count", args.instance_count.is_some()),
    ])?;
    let (job, endpoint) = (JobName::parse(&args.job)?, EndpointName::parse(&args.endpoint)?);
    let bar = spinner(quiet, format!("deploying {job} to {endpoint} ({} backend)", ctx.project.kind()));
    let resources = Resources::new(args.instance_type.clone(), args.instance_count, false);
    let deployed = deploy_endpoint(ctx, &job, &endpoint, args.capture, resources).await;
    bar.finish_and_clear();
    let deployed = deployed?;
    if args.json {
        return print_json(&deployed);
    }
    let e = &deployed.endpoint;
    println!("endpoint {} serves job {} ({}) on the {} backend", e.name, e.job, e.algorithm, e.backend);
    println!("url         {}", deployed.url);
    if let Some(capture) = &e.capture {
        println!(
            "capture     {} % of requests to {}/{}/{}/",
            capture.sampling_percentage,
            ctx.store.uri().object_uri(&capture.destination),
            e.name,
            e.variant
        );
    }
    if deployed.started_server {
        println!("started the local server");
    }
    Ok(())
}

/// Starts the local model server as a background `wb serve` of the project's configuration,
/// in its own process group, logging to `$TMPDIR/wb-serve-<project>-<hash>.log`.
#[derive(Debug)]
pub(crate) struct BackgroundServe {
    config: PathBuf,
    log: PathBuf,
}

impl BackgroundServe {
    pub(crate) fn new(config: &LoadedConfig) -> Self {
        Self { config: config.path.clone(), log: server_log(config) }
    }
}

#[async_trait::async_trait]
impl ServerLauncher for BackgroundServe {
    async fn launch(&self, store: &DynObjectStore, port: u16) -> wb_serving::Result<ServerRecord> {
        start_background_server(self, store, port)
            .await
            .map_err(|e| wb_serving::Error::Server { message: output::one_line(&e) })
    }
}

fn server_log(config: &LoadedConfig) -> PathBuf {
    let project: String =
        config.config.project.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    // One log per project configuration, replaced at each start.
    let config = wb_core::ContentHash::of_bytes(config.path.as_os_str().as_encoded_bytes()).short(8);
    std::env::temp_dir().join(format!("wb-serve-{project}-{config}.log"))
}

async fn start_background_server(
    launcher: &BackgroundServe,
    store: &DynObjectStore,
    port: u16,
) -> Result<ServerRecord> {
    let exe = std::env::current_exe().context("locating the wb executable")?;
    let log_path = launcher.log.clone();
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("--config")
        .arg(&launcher.config)
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    #[cfg(unix)]
    {
        // Its own process group: a Ctrl-C meant for this command does not stop the server.
        use std::os::unix::process::CommandExt as _;
        command.process_group(0);
    }
    let mut child = command.spawn().context("starting `wb serve` in the background")?;
    let pid = child.id();
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = local::status(store).await?
            && status.record.pid == pid
            && status.up
        {
            tracing::info!(url = %status.record.url, pid, log = %log_path.display(), "local server started");
            return Ok(status.record);
        }
        if let Some(exit) = child.try_wait()? {
            let mut text = String::new();
            std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut text)).ok();
            let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            bail!("the local server exited ({exit}) on port {port}: {last} (log: {})", log_path.display());
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            bail!("the local server did not answer within {START_TIMEOUT:?} (log: {})", log_path.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn serve(args: ServeArgs, ctx: &Context) -> Result<()> {
    let shutdown = async {
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    let report = local::run(
        ctx.store.clone(),
        &args.host,
        args.port,
        wb_serving::server::ServerOptions {
            connections: wb_serving::connections::ConnectionLimits {
                header_read_timeout: args.header_timeout,
                idle_timeout: args.idle_timeout,
                max_header_bytes: usize::try_from(args.max_header_bytes).unwrap_or(usize::MAX),
                max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            },
            ..wb_serving::server::ServerOptions::default()
        },
        shutdown,
        |record| {
            eprintln!("serving the endpoints of {} at {} (pid {})", ctx.store.uri(), record.url, record.pid);
        },
    )
    .await?;
    let s = report.stats;
    eprintln!(
        "stopped after {} invocations ({} model errors, {} rejected){}",
        s.invocations,
        s.model_errors,
        s.rejected,
        report.capture.map(|c| format!("; captured {} records in {} files", c.records, c.files)).unwrap_or_default()
    );
    Ok(())
}

#[derive(Debug, Serialize)]
struct EndpointView {
    name: String,
    job: String,
    algorithm: String,
    dataset: String,
    backend: BackendKind,
    /// The backend's status of the endpoint (`up`/`down` on the local server; SageMaker's
    /// status, or `missing` when SageMaker has none).
    status: String,
    url: Option<String>,
    answers: bool,
    capture_percent: Option<u8>,
}

pub(crate) async fn endpoints(command: EndpointsCommand, ctx: &Context) -> Result<()> {
    match command {
        EndpointsCommand::List(args) => {
            let list = Endpoints::new(ctx.store.clone()).list().await?;
            let backend = ctx.project.backend();
            let server = backend.server().await?;
            let mut views = Vec::new();
            for e in list {
                let status = backend.endpoint_status(&e).await?;
                views.push(EndpointView {
                    name: e.name.to_string(),
                    job: e.job.to_string(),
                    algorithm: e.algorithm,
                    dataset: e.dataset.to_string(),
                    backend: e.backend,
                    status: status.state,
                    url: status.url,
                    answers: status.answers,
                    capture_percent: e.capture.as_ref().map(|c| c.sampling_percentage),
                });
            }
            if args.json {
                #[derive(Serialize)]
                struct Out<'a> {
                    server: Option<&'a local::ServerStatus>,
                    endpoints: Vec<EndpointView>,
                }
                return print_json(&Out { server: server.as_ref(), endpoints: views });
            }
            match &server {
                Some(s) if s.up => println!("local server {} (pid {}) is up", s.record.url, s.record.pid),
                Some(s) => println!(
                    "local server {} (pid {}) is DOWN; `wb serve` or `wb deploy` restarts it",
                    s.record.url, s.record.pid
                ),
                None if !backend.capabilities().instances => {
                    println!("no local server is running; `wb serve` or `wb deploy` starts one");
                }
                None => {}
            }
            if views.is_empty() {
                println!("no endpoints (see `wb deploy --help`)");
            }
            for v in views {
                println!(
                    "{:<28} {:<9} {:<20} {:<16} {}",
                    v.name,
                    v.status,
                    v.algorithm,
                    v.dataset,
                    v.url.unwrap_or_default()
                );
            }
            Ok(())
        }
        EndpointsCommand::Invoke(args) => invoke(args, ctx).await,
    }
}

async fn invoke(args: InvokeArgs, ctx: &Context) -> Result<()> {
    let name = EndpointName::parse(&args.name)?;
    Endpoints::new(ctx.store.clone()).get(&name).await?;
    let body = if args.body == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("reading the body from stdin")?;
        buf
    } else if let Some(path) = args.body.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("reading the body from {path}"))?
    } else {
        args.body.into_bytes()
    };
    let response = ctx
        .project
        .backend()
        .invoker()
        .await?
        .invoker
        .invoke_endpoint(
            name.as_str(),
            InvokeRequest {
                content_type: args.content_type,
                accept: args.accept,
                body: body.into(),
                ..Default::default()
            },
        )
        .await?;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(&response.body)?;
    if !response.body.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

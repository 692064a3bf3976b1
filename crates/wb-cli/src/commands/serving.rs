//! `wb deploy`, `wb serve`, `wb endpoints`: the local endpoints and their server.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use wb_core::{EndpointName, JobName};
use wb_models::capture::CaptureConfig;
use wb_models::endpoints::{EndpointRecord, Endpoints};
use wb_models::invoke::{InvokeEndpoint, InvokeRequest, RuntimeClient};
use wb_models::local::{self, ServerRecord};

use crate::cli::{DeployArgs, EndpointsCommand, InvokeArgs, ServeArgs};
use crate::context::Context;
use crate::output::{print_json, spinner};

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

/// Deploys a job's model to an endpoint and makes sure the local server is up.
pub(crate) async fn deploy_endpoint(
    ctx: &Context,
    job: &JobName,
    endpoint: &EndpointName,
    capture: Option<u8>,
) -> Result<Deployed> {
    let mut request = Endpoints::new(ctx.store.clone()).deploy(job, endpoint).tags(ctx.config.tags());
    if let Some(percent) = capture {
        request = request.capture(CaptureConfig::new(percent)?);
    }
    let record = request.await?;
    let (server, started_server) = ensure_server(ctx).await?;
    Ok(Deployed {
        url: format!("{}/endpoints/{}/invocations", server.url, record.name),
        endpoint: record,
        started_server,
    })
}

pub(crate) async fn deploy(args: DeployArgs, ctx: &Context, quiet: bool) -> Result<()> {
    ctx.sagemaker_only(&[
        ("--instance-type", args.instance_type.is_some()),
        ("--instance-count", args.instance_count.is_some()),
    ])?;
    let (job, endpoint) = (JobName::parse(&args.job)?, EndpointName::parse(&args.endpoint)?);
    if ctx.is_sagemaker() {
        // The library's backend-neutral deploy, as experiments use it.
        let project = workbench::Project::open(ctx.config.clone()).await?;
        let mut request = project.deploy(&job, &endpoint);
        if let Some(percent) = args.capture {
            request = request.capture(percent);
        }
        if let Some(instance_type) = &args.instance_type {
            request = request.instance_type(instance_type.clone());
        }
        if let Some(count) = args.instance_count {
            request = request.instance_count(count);
        }
        let bar = spinner(quiet, format!("deploying {job} to SageMaker endpoint {endpoint} (until InService)"));
        let record = request.await;
        bar.finish_and_clear();
        let record = record?;
        if args.json {
            return print_json(&record);
        }
        println!(
            "SageMaker endpoint {} serves job {} ({}) and is InService",
            record.name, record.job, record.algorithm
        );
        if let Some(capture) = &record.capture {
            println!(
                "capture     {} % of requests to {}/{}/{}/",
                capture.sampling_percentage,
                ctx.store.uri().object_uri(&capture.destination),
                record.name,
                record.variant
            );
        }
        return Ok(());
    }
    let bar = spinner(quiet, format!("deploying {} to {}", args.job, args.endpoint));
    let deployed = deploy_endpoint(ctx, &job, &endpoint, args.capture).await;
    bar.finish_and_clear();
    let deployed = deployed?;
    if args.json {
        return print_json(&deployed);
    }
    let e = &deployed.endpoint;
    println!("endpoint {} serves job {} ({})", e.name, e.job, e.algorithm);
    println!("url         {}", deployed.url);
    if let Some(capture) = &e.capture {
        println!(
            "capture     {} % of requests to {}/{}/{}/",
            capture.sampling_percentage, capture.destination, e.name, e.variant
        );
    }
    if deployed.started_server {
        println!("started the local server");
    }
    Ok(())
}

/// Returns the running local server, starting `wb serve` in the background when none answers.
pub(crate) async fn ensure_server(ctx: &Context) -> Result<(ServerRecord, bool)> {
    let previous = local::status(&ctx.store).await?;
    if let Some(status) = &previous {
        if status.up {
            return Ok((status.record.clone(), false));
        }
        tracing::warn!(url = %status.record.url, pid = status.record.pid, "the recorded local server does not answer; starting a new one");
    }
    // Prefer the previous port so endpoint URLs stay the same; fall back to any free port.
    let mut ports = vec![0];
    if let Some(status) = &previous {
        ports.insert(0, status.record.port);
    }
    let mut last_error = None;
    for port in ports {
        match start_background_server(ctx, port).await {
            Ok(record) => return Ok((record, true)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("the local server did not start")))
}

fn server_log(ctx: &Context) -> PathBuf {
    let project: String =
        ctx.config.config.project.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    // One log per project configuration, replaced at each start.
    let config = wb_core::ContentHash::of_bytes(ctx.config.path.as_os_str().as_encoded_bytes()).short(8);
    std::env::temp_dir().join(format!("wb-serve-{project}-{config}.log"))
}

async fn start_background_server(ctx: &Context, port: u16) -> Result<ServerRecord> {
    let exe = std::env::current_exe().context("locating the wb executable")?;
    let log_path = server_log(ctx);
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("--config")
        .arg(&ctx.config.path)
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
        if let Some(status) = local::status(&ctx.store).await?
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
        wb_models::server::ServerOptions::default(),
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
    backend: String,
    /// SageMaker's status of the endpoint (`missing` when SageMaker has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    url: Option<String>,
    answers: bool,
    capture_percent: Option<u8>,
}

pub(crate) async fn endpoints(command: EndpointsCommand, ctx: &Context) -> Result<()> {
    match command {
        EndpointsCommand::List(args) => {
            let list = Endpoints::new(ctx.store.clone()).list().await?;
            let server = local::status(&ctx.store).await?;
            let mut views = Vec::new();
            let sagemaker = sagemaker_statuses(ctx, &list).await?;
            for e in list {
                let status = sagemaker.get(e.name.as_str()).cloned();
                let (url, answers) = match &server {
                    _ if e.backend != "local" => (None, status.as_deref() == Some("InService")),
                    Some(s) => {
                        let url = format!("{}/endpoints/{}/invocations", s.record.url, e.name);
                        let answers = s.up && local::endpoint_answers(&s.record.url, e.name.as_str()).await;
                        (Some(url), answers)
                    }
                    None => (None, false),
                };
                views.push(EndpointView {
                    name: e.name.to_string(),
                    job: e.job.to_string(),
                    algorithm: e.algorithm,
                    dataset: e.dataset.to_string(),
                    backend: e.backend.clone(),
                    status,
                    url,
                    answers,
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
                None => println!("no local server is running; `wb serve` or `wb deploy` starts one"),
            }
            if views.is_empty() {
                println!("no endpoints (see `wb deploy --help`)");
            }
            for v in views {
                println!(
                    "{:<28} {:<9} {:<20} {:<16} {}",
                    v.name,
                    match (v.backend.as_str(), v.answers) {
                        ("local", true) => "up",
                        ("local", false) => "down",
                        _ => v.status.as_deref().unwrap_or("unknown"),
                    },
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

/// SageMaker's status of each endpoint the store records as hosted there.
async fn sagemaker_statuses(
    ctx: &Context,
    endpoints: &[EndpointRecord],
) -> Result<std::collections::BTreeMap<String, String>> {
    if !endpoints.iter().any(|e| e.backend == "sagemaker") {
        return Ok(std::collections::BTreeMap::new());
    }
    #[cfg(feature = "aws")]
    {
        let mut out = std::collections::BTreeMap::new();
        let sdk = wb_aws::sdk_config(&ctx.config.config.aws).await;
        let hosting = wb_aws::hosting::Hosting::from_sdk_config(&sdk);
        for e in endpoints.iter().filter(|e| e.backend == "sagemaker") {
            let status = hosting.status(e.name.as_str()).await?.unwrap_or_else(|| "missing".into());
            out.insert(e.name.to_string(), status);
        }
        Ok(out)
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = ctx;
        Err(crate::context::no_aws())
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
    let client: std::sync::Arc<dyn InvokeEndpoint> = if ctx.is_sagemaker() {
        crate::commands::compare::invoker(ctx).await?
    } else {
        let Some(server) = local::status(&ctx.store).await?.filter(|s| s.up) else {
            bail!("the local server is not running; start it with `wb serve` (or `wb deploy`)");
        };
        std::sync::Arc::new(RuntimeClient::new(&server.record.url)?)
    };
    let response = client
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

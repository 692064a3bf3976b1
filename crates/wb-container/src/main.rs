//! `wb-container`: the workbench's models as a SageMaker bring-your-own-container image.
//!
//! SageMaker starts the image as `<image> train` for a training job and `<image> serve` for an
//! endpoint (see `Dockerfile` at the repository root):
//!
//! - `train` reads `/opt/ml/input/config/hyperparameters.json` (the `algorithm` key picks the
//!   algorithm), the `train`, `validation` and `metadata` channels under `/opt/ml/input/data/`,
//!   writes the model into `/opt/ml/model/` and metrics into `/opt/ml/output/data/`; on failure
//!   it writes the reason to `/opt/ml/output/failure` and exits 1.
//! - `serve` loads `/opt/ml/model/` and answers `GET /ping` and `POST /invocations` on port
//!   8080, or `$SAGEMAKER_BIND_TO_PORT`; SIGTERM stops it gracefully.
//!
//! - `monitor` is Model Monitor's bring-your-own-container analyzer (a monitoring schedule's
//!   job): it reads `dataset_source`, `output_path`, `sagemaker_endpoint_name`, `start_time`,
//!   `end_time`, `baseline_statistics` and `baseline_constraints` from the environment and writes
//!   `statistics.json`, `constraint_violations.json` and the workbench's report into
//!   `output_path` ([`wb_monitor::container`]); it exits 0 whether or not it found violations.
//!
//! Outside a container, `WB_OPT_ML` replaces `/opt/ml` and `WB_CONTAINER_HOST` the listening
//! address (default `0.0.0.0`, as a container needs).

use std::process::ExitCode;
use std::sync::Arc;

use wb_models::ModelArtifact;
use wb_models::container::{self, ContainerPaths};
use wb_serving::endpoints::DEFAULT_VARIANT;
use wb_serving::server::{LoadedEndpoint, ModelServer, serve};

/// SageMaker's default inference port.
const DEFAULT_PORT: u16 = 8080;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("WB_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,wb_models=info,wb_serving=info,wb_monitor=info,wb_container=info")
        }))
        .with_writer(std::io::stderr)
        .init();
    let root: std::path::PathBuf =
        std::env::var_os("WB_OPT_ML").map_or_else(|| ContainerPaths::SAGEMAKER_ROOT.into(), Into::into);
    let paths = ContainerPaths::new(root);
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "train" => train(&paths),
        "serve" => serve_model(&paths),
        "monitor" => monitor(),
        other => Err(format!("usage: wb-container train|serve|monitor (got {other:?})")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn train(paths: &ContainerPaths) -> Result<(), String> {
    let job = std::env::var("TRAINING_JOB_NAME").ok();
    // `container::train` writes `output/failure` itself when it fails.
    container::train(paths, job.as_deref()).map_err(|e| e.to_string())?;
    // SageMaker reads training metrics from the container's log with one regular expression per
    // metric (`validation:<name>=<value>`; see wb-aws's backend), so print them there too.
    let file = paths.output_data_dir().join("metrics.json");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    let metrics: std::collections::BTreeMap<String, f64> =
        serde_json::from_str(&text).map_err(|e| format!("reading {}: {e}", file.display()))?;
    for (name, value) in metrics {
        println!("validation:{name}={value}");
    }
    Ok(())
}

fn monitor() -> Result<(), String> {
    let inputs =
        wb_monitor::container::AnalyzerInputs::from_env(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let report = runtime.block_on(wb_monitor::container::analyze(&inputs)).map_err(|e| e.to_string())?;
    tracing::info!(
        endpoint = %report.endpoint,
        records = report.counts.records,
        violations = report.violations.violations.len(),
        output = %inputs.output_path.display(),
        "monitoring analysis written"
    );
    Ok(())
}

fn serve_model(paths: &ContainerPaths) -> Result<(), String> {
    let artifact = ModelArtifact::read_dir(&paths.model_dir()).map_err(|e| e.to_string())?;
    let port = match std::env::var("SAGEMAKER_BIND_TO_PORT") {
        Ok(p) => p.parse::<u16>().map_err(|_| format!("SAGEMAKER_BIND_TO_PORT={p:?} is not a port number"))?,
        Err(_) => DEFAULT_PORT,
    };
    let host = std::env::var("WB_CONTAINER_HOST").unwrap_or_else(|_| "0.0.0.0".into());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let endpoint = Arc::new(
            LoadedEndpoint::new("model", DEFAULT_VARIANT, Arc::new(artifact), None).map_err(|e| e.to_string())?,
        );
        let server = ModelServer::single(endpoint).build();
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
        tracing::info!(%host, port, "serving /ping and /invocations");
        let report = serve(listener, server, shutdown_signal()).await.map_err(|e| e.to_string())?;
        tracing::info!(invocations = report.stats.invocations, "stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

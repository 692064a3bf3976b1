//! The local backend: in-process training jobs in SageMaker's container layout and the local
//! model server speaking SageMaker Runtime's API.

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wb_core::{BackendKind, DynObjectStore, ModelName};
use wb_models::registry::{ModelRecord, Promotion};
use wb_models::training::{JobRecord, TrainingJobs};

use super::{
    Backend, Capabilities, DeployEndpoint, EndpointStatus, Resource, Serving, TrainControl, TrainJob, invocation_url,
};
use crate::capture::CaptureConfig;
use crate::endpoints::{EndpointRecord, Endpoints};
use crate::error::{Error, Result};
use crate::invoke::RuntimeClient;
use crate::local::{self, ServerRecord, ServerStatus};
use crate::server::{ServeReport, ServerOptions};

/// Starts the local model server when no server of the store answers.
///
/// The library's default is [`InProcessServer`] (a server task inside this process, stopped by
/// [`Backend::close`]); the `wb` tool injects one that starts `wb serve` in the background, so
/// the server outlives the command.
#[async_trait::async_trait]
pub trait ServerLauncher: Send + Sync + fmt::Debug {
    /// Starts a server of `store` on `127.0.0.1:port` (`0`: any free port) and returns its
    /// record once it answers.
    ///
    /// # Errors
    /// [`Error::Server`] when it cannot start.
    async fn launch(&self, store: &DynObjectStore, port: u16) -> Result<ServerRecord>;

    /// Stops the servers this launcher started in this process.
    ///
    /// # Errors
    /// [`Error::Server`] when a server failed while flushing its capture.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// A server task inside this process ([`local::run`]): it records itself in
/// `servers/local.json` like `wb serve`, and stops, flushing data capture, on
/// [`ServerLauncher::close`].
#[derive(Default)]
pub struct InProcessServer {
    running: Mutex<Vec<RunningTask>>,
}

/// A server task and the sender that stops it.
type RunningTask = (oneshot::Sender<()>, JoinHandle<Result<ServeReport>>);

impl fmt::Debug for InProcessServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let running = self.running.lock().map_or(0, |r| r.len());
        f.debug_struct("InProcessServer").field("running", &running).finish()
    }
}

#[async_trait::async_trait]
impl ServerLauncher for InProcessServer {
    async fn launch(&self, store: &DynObjectStore, port: u16) -> Result<ServerRecord> {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, on_ready) = oneshot::channel::<ServerRecord>();
        let store = store.clone();
        let task = tokio::spawn(async move {
            local::run(
                store,
                "127.0.0.1",
                port,
                ServerOptions::default(),
                async move {
                    let _ = stopped.await;
                },
                move |record| {
                    let _ = ready.send(record.clone());
                },
            )
            .await
        });
        match on_ready.await {
            Ok(record) => {
                self.running.lock().map_err(|_| poisoned())?.push((stop, task));
                Ok(record)
            }
            // The task ended before it was ready: its error says why.
            Err(_) => match task.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(_)) => Err(Error::Server { message: "the in-process server stopped before it was ready".into() }),
                Err(e) => Err(Error::Server { message: format!("the in-process server task failed: {e}") }),
            },
        }
    }

    async fn close(&self) -> Result<()> {
        let running = std::mem::take(&mut *self.running.lock().map_err(|_| poisoned())?);
        for (stop, task) in running {
            let _ = stop.send(());
            let report =
                task.await.map_err(|e| Error::Server { message: format!("the server task failed: {e}") })??;
            tracing::info!(invocations = report.stats.invocations, "in-process server stopped");
        }
        Ok(())
    }
}

/// Invocations through the local server at `url`.
fn serving_at(url: String, started: bool) -> Result<Serving> {
    Ok(Serving { invoker: Arc::new(RuntimeClient::new(&url)?), url, started })
}

fn poisoned() -> Error {
    Error::Server { message: "the in-process server registry was poisoned by a panic".into() }
}

/// The local backend of one store.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    store: DynObjectStore,
    launcher: Arc<dyn ServerLauncher>,
}

impl LocalBackend {
    /// The backend over `store`, serving from a server inside this process when none runs.
    #[must_use]
    pub fn new(store: DynObjectStore) -> Self {
        Self { store, launcher: Arc::new(InProcessServer::default()) }
    }

    /// Starts servers with `launcher` instead (the `wb` tool starts `wb serve`).
    #[must_use]
    pub fn with_launcher(mut self, launcher: Arc<dyn ServerLauncher>) -> Self {
        self.launcher = launcher;
        self
    }

    fn server_resource(record: &ServerRecord) -> Resource {
        Resource { kind: "local-server".into(), name: record.url.clone(), id: format!("pid {}", record.pid) }
    }
}

#[async_trait::async_trait]
impl Backend for LocalBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Local
    }

    fn store(&self) -> &DynObjectStore {
        &self.store
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            instances: false,
            scheduled_monitoring: false,
            hosted_workflows: false,
            capture_delay: crate::capture::DEFAULT_FLUSH_INTERVAL,
        }
    }

    async fn train(&self, job: TrainJob, control: TrainControl) -> Result<JobRecord> {
        let mut request = TrainingJobs::new(self.store.clone())
            .train(&job.dataset, &job.algorithm)
            .hyperparameters(job.hyperparameters)
            .tags(job.tags)
            .control(control);
        if let Some(name) = job.job {
            request = request.job_name(name);
        }
        Ok(request.await?)
    }

    async fn deploy(&self, deploy: DeployEndpoint) -> Result<EndpointRecord> {
        let mut request = Endpoints::new(self.store.clone()).deploy(&deploy.job, &deploy.endpoint).tags(deploy.tags);
        if let Some(percent) = deploy.capture {
            request = request.capture(CaptureConfig::new(percent)?);
        }
        request.await
    }

    async fn serving(&self) -> Result<Serving> {
        let previous = local::status(&self.store).await?;
        if let Some(status) = &previous {
            if status.up {
                return serving_at(status.record.url.clone(), false);
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
            match self.launcher.launch(&self.store, port).await {
                Ok(record) => return serving_at(record.url, true),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Server { message: "the local server did not start".into() }))
    }

    async fn invoker(&self) -> Result<Serving> {
        match local::status(&self.store).await? {
            Some(status) if status.up => serving_at(status.record.url, false),
            _ => Err(Error::Server {
                message: "the local server is not running; start it with `wb serve` (or `wb deploy`)".into(),
            }),
        }
    }

    async fn server(&self) -> Result<Option<ServerStatus>> {
        local::status(&self.store).await
    }

    async fn endpoint_status(&self, endpoint: &EndpointRecord) -> Result<EndpointStatus> {
        Ok(match local::status(&self.store).await? {
            Some(server) => {
                let url = invocation_url(&server.record.url, endpoint.name.as_str());
                let answers = server.up && local::endpoint_answers(&server.record.url, endpoint.name.as_str()).await;
                EndpointStatus { state: if answers { "up" } else { "down" }.into(), url: Some(url), answers }
            }
            None => EndpointStatus { state: "down".into(), url: None, answers: false },
        })
    }

    async fn mirror_registration(&self, _model: &ModelRecord) -> Result<Option<String>> {
        Ok(None)
    }

    async fn mirror_promotion(&self, _model: &ModelName, _why: &str) -> Result<Option<String>> {
        Ok(None)
    }

    async fn inventory(&self) -> Result<Vec<Resource>> {
        Ok(local::status(&self.store).await?.map(|s| Self::server_resource(&s.record)).into_iter().collect())
    }

    /// Stops the servers this process started (unless `keep`: they serve the promoted model).
    /// The recorded server (`servers/local.json`) is an item of the store's clean-up
    /// ([`crate::clean`]), which stops it, so it is not listed here.
    async fn clean(&self, dry_run: bool, keep: Option<&Promotion>) -> Result<Vec<Resource>> {
        if keep.is_none() && !dry_run {
            self.launcher.close().await?;
        }
        Ok(Vec::new())
    }

    async fn close(&self) -> Result<()> {
        self.launcher.close().await
    }
}

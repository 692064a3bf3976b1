//! The local model server's record and lifecycle: `servers/local.json`.
//!
//! One server per store hosts every local endpoint. It writes this record when it starts
//! (URL, process id, a fresh instance id), re-reads it every second, and shuts down
//! gracefully — finishing requests in flight and flushing data capture — once the record is
//! gone or names another instance. [`stop`] removes the record and waits for the server to go
//! quiet; a server killed outright leaves a record whose URL no longer answers, which
//! [`status`] reports as down and the next start replaces.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wb_core::{DynObjectStore, ObjectStoreExt, PutMode, Timestamp};
use wb_models::layout;

use crate::endpoints::{REVALIDATE_EVERY, StoreCatalog};
use crate::error::{Error, Result};
use crate::server::{ModelServer, ServeReport, ServerOptions, serve};

/// How long one health check waits (SageMaker's ping timeout).
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `servers/local.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRecord {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The address it is bound to.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The serving process.
    pub pid: u32,
    /// A fresh id per start; the server stops when the record names another.
    pub instance: String,
    /// When it started (RFC 3339).
    pub started_at: Timestamp,
}

/// Whether the recorded server answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerStatus {
    /// The record.
    pub record: ServerRecord,
    /// `GET /ping` answered 200 within [`PING_TIMEOUT`].
    pub up: bool,
}

/// The recorded server and whether it answers; `None` when no server is recorded.
///
/// # Errors
/// Store errors.
pub async fn status(store: &DynObjectStore) -> Result<Option<ServerStatus>> {
    let record: ServerRecord = match store.get_json(&layout::local_server_record()).await {
        Ok((record, _)) => record,
        Err(wb_core::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let up = ping(&record.url).await;
    Ok(Some(ServerStatus { record, up }))
}

/// Whether `GET {url}/ping` answers 200.
pub async fn ping(url: &str) -> bool {
    answers_ok(&format!("{url}/ping")).await
}

/// Whether a `GET` of `url` answers 2xx within [`PING_TIMEOUT`].
async fn answers_ok(url: &str) -> bool {
    // One client for every ping, built on first use. It keeps no idle connections: a pooled
    // connection belongs to the runtime that opened it, and pings come from many runtimes
    // (each test's, each command's).
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    let client =
        CLIENT.get_or_init(|| reqwest::Client::builder().timeout(PING_TIMEOUT).pool_max_idle_per_host(0).build().ok());
    let Some(client) = client else {
        return false;
    };
    matches!(client.get(url).send().await, Ok(r) if r.status().is_success())
}

/// Stops the recorded server: removes its record, then waits up to `wait` for it to stop
/// answering. Returns the record it stopped, if any.
///
/// # Errors
/// [`Error::Server`] when it still answers after `wait`.
pub async fn stop(store: &DynObjectStore, wait: Duration) -> Result<Option<ServerRecord>> {
    let Some(ServerStatus { record, up }) = status(store).await? else {
        return Ok(None);
    };
    match store.delete(&layout::local_server_record()).await {
        Ok(()) | Err(wb_core::Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    if up {
        let deadline = tokio::time::Instant::now() + wait;
        while ping(&record.url).await {
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Server {
                    message: format!("the server at {} (pid {}) still answers after {wait:?}", record.url, record.pid),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tracing::info!(url = %record.url, pid = record.pid, "local server stopped");
    Ok(Some(record))
}

/// Whether the server at `url` has endpoint `name` loaded and answering
/// (`GET {url}/endpoints/{name}`, the workbench's describe route, answers 200).
pub async fn endpoint_answers(url: &str, name: &str) -> bool {
    answers_ok(&format!("{url}/endpoints/{name}")).await
}

/// Serves every endpoint of `store` on `host:port` until `shutdown` completes or the server's
/// record is removed or taken over; records the server in `servers/local.json` while it runs.
/// `on_ready` is called once the server listens and is recorded.
///
/// # Errors
/// [`Error::Server`] when a recorded server already answers, or the address cannot be bound.
pub async fn run(
    store: DynObjectStore,
    host: &str,
    port: u16,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(&ServerRecord),
) -> Result<ServeReport> {
    if let Some(existing) = status(&store).await?
        && existing.up
    {
        return Err(Error::Server {
            message: format!(
                "a local server for this store already runs at {} (pid {}); stop it with `wb clean` or use it",
                existing.record.url, existing.record.pid
            ),
        });
    }
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .map_err(|e| Error::Server { message: format!("cannot listen on {host}:{port}: {e}") })?;
    let addr =
        listener.local_addr().map_err(|e| Error::Server { message: format!("reading the bound address: {e}") })?;
    let record = ServerRecord {
        url: format!("http://{addr}"),
        host: addr.ip().to_string(),
        port: addr.port(),
        pid: std::process::id(),
        instance: uuid::Uuid::now_v7().to_string(),
        started_at: Timestamp::now(),
    };
    let path = layout::local_server_record();
    store.put_json(&path, &record, PutMode::Overwrite).await?;
    let server = ModelServer::builder(Arc::new(StoreCatalog::new(store.clone())))
        .capture_store(store.clone())
        .options(options)
        .build();
    on_ready(&record);
    tracing::info!(url = %record.url, pid = record.pid, "local server started");

    let watched = watch_record(store.clone(), record.instance.clone());
    let stop = async move {
        tokio::select! {
            () = shutdown => tracing::info!("shutdown requested"),
            reason = watched => tracing::info!(reason, "stopping"),
        }
    };
    let report = serve(listener, server, stop).await;
    // Remove the record only if it is still ours.
    if let Ok((current, _)) = store.get_json::<ServerRecord>(&path).await
        && current.instance == record.instance
        && let Err(e) = store.delete(&path).await
    {
        tracing::warn!(error = %e, "could not remove the server record");
    }
    report
}

/// Resolves when the server record is gone, names another instance, or cannot be read three
/// times in a row (the store itself went away); returns why.
async fn watch_record(store: DynObjectStore, instance: String) -> &'static str {
    let path = layout::local_server_record();
    let mut failures = 0;
    loop {
        tokio::time::sleep(REVALIDATE_EVERY).await;
        match store.get_json::<ServerRecord>(&path).await {
            Ok((record, _)) if record.instance == instance => failures = 0,
            Ok(_) => return "another server took over the record",
            Err(wb_core::Error::NotFound { .. }) => return "the server record was removed",
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, failures, "cannot read the server record");
                if failures >= 3 {
                    return "the store cannot be read";
                }
            }
        }
    }
}

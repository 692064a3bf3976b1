//! A store that pauses a run just before chosen writes, to force an interleaving of concurrent
//! partition runs deterministically.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, Semaphore};
use wb_core::{ByteStream, DynObjectStore, GetResult, ObjectMeta, ObjectPath, ObjectStore, PutMode, Result, StoreUri};

type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Which operation a gate stops before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Put,
    Delete,
}

/// Stops the first `op` on a path `matches` accepts until released.
#[derive(Debug)]
pub(crate) struct Gate {
    op: Op,
    matches: fn(&str) -> bool,
    fired: AtomicBool,
    reached: Notify,
    release: Semaphore,
}

impl Gate {
    pub(crate) fn new(op: Op, matches: fn(&str) -> bool) -> Arc<Self> {
        Arc::new(Self {
            op,
            matches,
            fired: AtomicBool::new(false),
            reached: Notify::new(),
            release: Semaphore::new(0),
        })
    }

    /// Waits until a run is held at this gate.
    pub(crate) async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the held run go on.
    pub(crate) fn release(&self) {
        self.release.add_permits(1);
    }

    async fn pass(&self, op: Op, path: &ObjectPath) {
        if op == self.op && (self.matches)(path.as_str()) && !self.fired.swap(true, Ordering::SeqCst) {
            self.reached.notify_one();
            self.release.acquire().await.expect("gate open").forget();
        }
    }
}

/// A store that runs every call through `inner`, holding the calls a gate matches.
#[derive(Debug)]
pub(crate) struct Gated {
    pub(crate) inner: DynObjectStore,
    pub(crate) gates: Vec<Arc<Gate>>,
}

impl Gated {
    async fn pass(&self, op: Op, path: &ObjectPath) {
        for gate in &self.gates {
            gate.pass(op, path).await;
        }
    }
}

// Spelled out as `async_trait` expands it (the crate is not a dependency here).
impl ObjectStore for Gated {
    fn uri(&self) -> &StoreUri {
        self.inner.uri()
    }

    fn put_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        path: &'life1 ObjectPath,
        bytes: Bytes,
        mode: PutMode,
    ) -> Fut<'async_trait, ObjectMeta>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.pass(Op::Put, path).await;
            self.inner.put_opts(path, bytes, mode).await
        })
    }

    fn put_file<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        path: &'life1 ObjectPath,
        file: &'life2 Path,
        mode: PutMode,
    ) -> Fut<'async_trait, ObjectMeta>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.pass(Op::Put, path).await;
            self.inner.put_file(path, file, mode).await
        })
    }

    fn get<'life0, 'life1, 'async_trait>(&'life0 self, path: &'life1 ObjectPath) -> Fut<'async_trait, GetResult>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.get(path)
    }

    fn get_stream<'life0, 'life1, 'async_trait>(
        &'life0 self,
        path: &'life1 ObjectPath,
    ) -> Fut<'async_trait, (ObjectMeta, ByteStream)>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.get_stream(path)
    }

    fn head<'life0, 'life1, 'async_trait>(&'life0 self, path: &'life1 ObjectPath) -> Fut<'async_trait, ObjectMeta>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.head(path)
    }

    fn list<'life0, 'life1, 'async_trait>(
        &'life0 self,
        prefix: Option<&'life1 ObjectPath>,
    ) -> Fut<'async_trait, Vec<ObjectMeta>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.inner.list(prefix)
    }

    fn delete<'life0, 'life1, 'async_trait>(&'life0 self, path: &'life1 ObjectPath) -> Fut<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.pass(Op::Delete, path).await;
            self.inner.delete(path).await
        })
    }
}

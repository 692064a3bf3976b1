//! The model server's connections: the accept loop, the per-connection limits and the graceful
//! shutdown, on hyper 1's HTTP/1 server.
//!
//! Every limit is a [`ConnectionLimits`] field (part of [`crate::server::ServerOptions`]):
//!
//! | limit | default | what happens |
//! |---|---|---|
//! | [`header_read_timeout`](ConnectionLimits::header_read_timeout) | 30 s | a request head (start line and headers) must arrive within this time of its first byte; otherwise the connection is closed (a partial or trickled head) |
//! | [`idle_timeout`](ConnectionLimits::idle_timeout) | 60 s | a connection with no request in flight and no byte received for this long is closed (a new connection that never sends, or an idle keep-alive one) |
//! | [`max_header_bytes`](ConnectionLimits::max_header_bytes) | 16 KiB | a larger head is answered `431 Request Header Fields Too Large` and the connection closed |
//! | [`max_connections`](ConnectionLimits::max_connections) | 256 | a connection over the cap is answered `503 Service Unavailable` (with `Retry-After: 1`) and closed at once, so the server still accepts within SageMaker's 250 ms |
//!
//! Reading a request's body and inferring are bounded by the server's own deadline
//! ([`crate::server::ServerOptions::deadline`]), not by these limits: a connection with a request
//! in flight is never closed for being idle.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::Service as _;

/// Default [`ConnectionLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ConnectionLimits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ConnectionLimits::max_header_bytes`].
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// Default [`ConnectionLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// The smallest [`ConnectionLimits::max_header_bytes`] accepted (hyper's smallest read buffer).
pub const MIN_HEADER_BYTES: usize = 8192;

/// Limits on each connection and on their number (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a client has to send a whole request head, from its first byte.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight and nothing received.
    pub idle_timeout: Duration,
    /// Largest request head (start line and headers), in bytes; at least [`MIN_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// Most connections open at once; at least 1.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ConnectionLimits {
    /// Checks the limits; the message names the limit and the accepted range.
    ///
    /// # Errors
    /// A zero timeout, a header cap under [`MIN_HEADER_BYTES`] or a connection cap of 0.
    pub fn validate(&self) -> Result<(), String> {
        if self.header_read_timeout.is_zero() {
            return Err("the header read timeout must be positive".to_owned());
        }
        if self.idle_timeout.is_zero() {
            return Err("the idle timeout must be positive".to_owned());
        }
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(format!(
                "the header size limit must be at least {MIN_HEADER_BYTES} bytes (got {})",
                self.max_header_bytes
            ));
        }
        if self.max_connections == 0 {
            return Err("the connection limit must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, asks every connection to close after its current request, and returns once all
/// are closed. Callers bound that wait themselves (the server's shutdown grace).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Connections hold a receiver; `closed()` on the sender resolves when the last one ends.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(%peer, limit = limits.max_connections, "connection refused: at the connection limit");
            tokio::spawn(refuse(tcp, limits.max_connections));
            continue;
        };
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let activity = Arc::new(AtomicUsize::new(0));
            let io = TokioIo::new(GuardedIo::new(tcp, limits, Arc::clone(&activity)));
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let in_flight = InFlight::enter(&activity);
                let mut router = router.clone();
                async move {
                    let response = router.call(request.map(Body::new)).await;
                    drop(in_flight);
                    response
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.max_header_size(limits.max_header_bytes);
            // The guarded stream applies the header and idle timeouts (hyper's own header
            // timer would also run while a keep-alive connection waits, so it is off).
            builder.header_read_timeout(None);
            let connection = builder.serve_connection(io, service);
            let mut connection = std::pin::pin!(connection);
            let mut asked = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    changed = stop.wait_for(|s| *s), if !asked => {
                        asked = true;
                        if changed.is_ok() {
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            drop(permit);
            drop(stop);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
    Ok(())
}

/// Whether an accept error concerns only that connection (the loop goes on at once).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection over the cap with a 503 and closes it, reading (and dropping) what the
/// client sent for a moment so the close does not reset the answer away.
async fn refuse(mut tcp: TcpStream, limit: usize) {
    let body = format!("the model server is at its limit of {limit} connections; retry later\n");
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    if tcp.write_all(response.as_bytes()).await.is_err() || tcp.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0_u8; 4096];
        let mut total = 0_usize;
        while total < 64 * 1024 {
            match tokio::io::AsyncReadExt::read(&mut tcp, &mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Counts a connection's requests in flight while alive.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a connection is, for its timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request: the idle timeout runs from the last byte moved.
    Idle,
    /// A request head has begun: the header timeout runs from its first byte.
    Head,
    /// A request is in flight: no timeout here (the server's deadline bounds it).
    Busy,
}

/// A TCP stream that fails its reads with [`io::ErrorKind::TimedOut`] when a request head takes
/// too long or the connection sits idle (hyper then closes the connection).
struct GuardedIo {
    inner: TcpStream,
    limits: ConnectionLimits,
    in_flight: Arc<AtomicUsize>,
    phase: Phase,
    since: Instant,
    timer: Pin<Box<Sleep>>,
}

impl GuardedIo {
    fn new(inner: TcpStream, limits: ConnectionLimits, in_flight: Arc<AtomicUsize>) -> Self {
        let now = Instant::now();
        Self {
            inner,
            limits,
            in_flight,
            phase: Phase::Idle,
            since: now,
            timer: Box::pin(tokio::time::sleep_until(now + limits.idle_timeout)),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle => Some(self.since + self.limits.idle_timeout),
            Phase::Head => Some(self.since + self.limits.header_read_timeout),
            Phase::Busy => None,
        }
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let busy = this.in_flight.load(Ordering::Acquire) > 0;
                    if !busy && this.phase != Phase::Head {
                        this.phase = Phase::Head;
                        this.since = Instant::now();
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.in_flight.load(Ordering::Acquire) > 0 {
                    this.phase = Phase::Busy;
                    return Poll::Pending;
                }
                if this.phase == Phase::Busy {
                    this.phase = Phase::Idle;
                    this.since = Instant::now();
                }
                let Some(deadline) = this.deadline() else { return Poll::Pending };
                // The timer is re-armed lazily: moved earlier at once, but left to fire early when
                // the deadline moved later (each request does), and re-armed then — one timer
                // reset per period rather than one per request.
                if this.timer.deadline() > deadline {
                    this.timer.as_mut().reset(deadline);
                }
                loop {
                    ready!(this.timer.as_mut().poll(cx));
                    if this.timer.deadline() >= deadline {
                        break;
                    }
                    this.timer.as_mut().reset(deadline);
                }
                let (what, limit) = match this.phase {
                    Phase::Head => ("the request head did not arrive within", this.limits.header_read_timeout),
                    _ => ("the connection was idle for", this.limits.idle_timeout),
                };
                tracing::debug!(?limit, "{what} the limit; closing the connection");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("{what} {limit:?}"))))
            }
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, data));
        if this.phase == Phase::Idle {
            // A response still going out after its request ended: idle counts from its end.
            this.since = Instant::now();
        }
        Poll::Ready(written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs));
        if this.phase == Phase::Idle {
            this.since = Instant::now();
        }
        Poll::Ready(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

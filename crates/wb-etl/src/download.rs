//! Streamed, resumable, SHA-256-verified HTTP downloads.
//!
//! [`Download`] is a builder that is `.await`ed. The body is streamed chunk by chunk into
//! `<dest>.part` (see [`part_path`]) and hashed on the way; the whole body is never held in
//! memory.
//!
//! - **Resume.** When `<dest>.part` already exists (say an earlier attempt lost its
//!   connection), the request asks for the rest with `Range: bytes=<len>-` and the existing
//!   bytes are hashed first. A `206 Partial Content` whose `Content-Range` starts at `<len>` is
//!   appended; a `200 OK` means the server ignored the range and the download restarts from
//!   zero; a `416 Range Not Satisfiable` (the partial file is stale or too long) restarts
//!   without a range.
//! - **Atomicity.** Only a complete (and, when a digest was given, verified) file is synced and
//!   renamed to `dest`, so `dest` never holds a partial file. A checksum mismatch deletes the
//!   `.part` file, leaving nothing behind. A connection that breaks mid-way leaves the `.part`
//!   file for the next attempt to resume.
//! - **Validation first.** The URL must be `http` or `https` and the digest 64 hex digits;
//!   both are checked before any network traffic.
//! - **Client injection.** Pass a configured [`reqwest::Client`] (timeouts, proxies, TLS
//!   roots) with [`Download::client`]; by default a plain client is built.
//!
//! Two downloads to the same `dest` at the same time would share the `.part` file; callers
//! must not start them.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> wb_etl::Result<()> {
//! use wb_etl::download::Download;
//!
//! let report = Download::new("https://example.org/diabetic_data.zip", "data/diabetic_data.zip")
//!     .sha256("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
//!     .progress(|p| eprintln!("{} of {:?} bytes", p.downloaded, p.total))
//!     .await?;
//! assert_eq!(report.sha256.len(), 64);
//! # Ok(())
//! # }
//! ```

use std::ffi::OsString;
use std::fmt;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::header::{CONTENT_RANGE, HeaderMap, RANGE};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};

/// Size of the write buffer in front of the `.part` file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Size of the buffer used to hash an existing partial file.
const HASH_BUFFER: usize = 64 * 1024;

/// How far a download has got, passed to the [`Download::progress`] callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes in the target so far, including bytes kept from an earlier, resumed attempt.
    pub downloaded: u64,
    /// The full size of the file, when the server announced it.
    pub total: Option<u64>,
}

/// What a finished download produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DownloadReport {
    /// The downloaded file (the `dest` given to [`Download::new`]).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256 digest, lower-case hex.
    pub sha256: String,
    /// How many bytes were kept from an earlier partial download (0 when the download started
    /// from the beginning).
    pub resumed_from: u64,
}

type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// A streamed, resumable, optionally checksummed HTTP download; `.await` it to run it.
///
/// See the [module documentation](self) for the protocol.
///
/// # Errors
/// Awaiting yields
/// - [`Error::InvalidArgument`] for a URL that is not `http`/`https` or a digest that is not 64
///   hex digits (nothing is sent);
/// - [`Error::HttpStatus`] when the server answers with a status other than success;
/// - [`Error::Http`] when the connection fails or the body ends early (the `.part` file is kept
///   for resuming);
/// - [`Error::ChecksumMismatch`] when the digest differs (the `.part` file is deleted);
/// - [`Error::Io`] when a local file cannot be read, written, synced or renamed.
#[must_use = "a download does nothing until it is awaited"]
pub struct Download {
    url: String,
    dest: PathBuf,
    sha256: Option<String>,
    client: Option<reqwest::Client>,
    progress: Option<ProgressFn>,
}

impl Download {
    /// Prepares a download of `url` into the file `dest` (its parent directory is created when
    /// missing).
    pub fn new(url: impl Into<String>, dest: impl Into<PathBuf>) -> Self {
        Self { url: url.into(), dest: dest.into(), sha256: None, client: None, progress: None }
    }

    /// Requires the downloaded bytes to have this SHA-256 digest (64 hex digits, any case).
    pub fn sha256(mut self, hex_digest: impl Into<String>) -> Self {
        self.sha256 = Some(hex_digest.into());
        self
    }

    /// Uses this HTTP client (with its timeouts, proxy and TLS settings) instead of a default one.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Calls `callback` once before the body is read and after every chunk written.
    ///
    /// The callback runs on the task driving the download, so it should return quickly.
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    async fn run(self) -> Result<DownloadReport> {
        let Self { url, dest, sha256, client, progress } = self;
        let parsed = validate_url(&url)?;
        let expected = sha256.as_deref().map(validate_sha256).transpose()?;
        let client = match client {
            Some(client) => client,
            None => reqwest::Client::builder().build().map_err(|e| http_error(&url, "building the HTTP client", e))?,
        };
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(|e| Error::io("creating", parent, e))?;
        }
        let part = part_path(&dest);
        let mut offset = existing_len(&part).await?;
        if offset > 0 {
            tracing::debug!(%url, part = %part.display(), offset, "resuming a partial download");
        }

        // At most two requests: a ranged one, then (if the range is not honoured) a full one.
        let (response, resumed) = loop {
            let mut request = client.get(parsed.clone());
            if offset > 0 {
                request = request.header(RANGE, format!("bytes={offset}-"));
            }
            let response = request.send().await.map_err(|e| http_error(&url, "sending the request", e))?;
            let status = response.status();
            if offset > 0 && status == StatusCode::PARTIAL_CONTENT {
                match content_range(response.headers()) {
                    Some((start, _)) if start == offset => break (response, true),
                    other => {
                        tracing::warn!(%url, offset, content_range = ?other, "the partial response does not continue the partial file; restarting");
                        offset = 0;
                    }
                }
            } else if offset > 0 && status == StatusCode::RANGE_NOT_SATISFIABLE {
                tracing::info!(%url, offset, "the server cannot continue the partial file; restarting");
                offset = 0;
            } else if status.is_success() && status != StatusCode::PARTIAL_CONTENT {
                if offset > 0 {
                    tracing::info!(%url, offset, %status, "the server ignored the range; restarting from zero");
                }
                break (response, false);
            } else {
                return Err(Error::HttpStatus { url, status: status.as_u16() });
            }
        };

        let resumed_from = if resumed { offset } else { 0 };
        let total = if resumed {
            content_range(response.headers())
                .and_then(|(_, total)| total)
                .or_else(|| response.content_length().map(|len| len + resumed_from))
        } else {
            response.content_length()
        };

        let (file, mut hasher) = if resumed {
            let hasher = hash_prefix(&part, resumed_from).await?;
            let file = tokio::fs::OpenOptions::new()
                .append(true)
                .open(&part)
                .await
                .map_err(|e| Error::io("opening", &part, e))?;
            (file, hasher)
        } else {
            let file = tokio::fs::File::create(&part).await.map_err(|e| Error::io("creating", &part, e))?;
            (file, Sha256::new())
        };
        let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut downloaded = resumed_from;
        let report_progress = |downloaded| {
            if let Some(callback) = &progress {
                callback(Progress { downloaded, total });
            }
        };
        report_progress(downloaded);

        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    hasher.update(&chunk);
                    writer.write_all(&chunk).await.map_err(|e| Error::io("writing", &part, e))?;
                    downloaded += chunk.len() as u64;
                    report_progress(downloaded);
                }
                Ok(None) => break,
                Err(e) => {
                    // Keep what arrived so that the next attempt can resume from it.
                    writer.flush().await.map_err(|e| Error::io("writing", &part, e))?;
                    tracing::warn!(%url, part = %part.display(), downloaded, "the download broke off; keeping the partial file");
                    return Err(http_error(
                        &url,
                        format!("the connection failed after {downloaded} bytes (kept in {})", part.display()),
                        e,
                    ));
                }
            }
        }
        writer.flush().await.map_err(|e| Error::io("writing", &part, e))?;
        if let Some(total) = total.filter(|&total| total != downloaded) {
            return Err(Error::Http {
                url,
                message: format!("the body ended after {downloaded} of {total} bytes (kept in {})", part.display()),
                source: None,
            });
        }
        let file = writer.into_inner();
        file.sync_all().await.map_err(|e| Error::io("syncing", &part, e))?;
        drop(file);

        let actual = hex::encode(hasher.finalize());
        if let Some(expected) = expected.filter(|expected| *expected != actual) {
            if let Err(e) = tokio::fs::remove_file(&part).await {
                tracing::warn!(part = %part.display(), error = %e, "could not delete a download that failed its checksum");
            }
            return Err(Error::ChecksumMismatch { url, expected, actual });
        }
        tokio::fs::rename(&part, &dest).await.map_err(|e| Error::io("renaming into", &dest, e))?;
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the rename durable; not every filesystem can sync a directory.
            if let Ok(dir) = tokio::fs::File::open(parent).await {
                let _ = dir.sync_all().await;
            }
        }
        tracing::info!(%url, path = %dest.display(), bytes = downloaded, resumed_from, sha256 = %actual, "download complete");
        Ok(DownloadReport { path: dest, bytes: downloaded, sha256: actual, resumed_from })
    }
}

impl IntoFuture for Download {
    type Output = Result<DownloadReport>;
    type IntoFuture = BoxFuture<'static, Result<DownloadReport>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("url", &self.url)
            .field("dest", &self.dest)
            .field("sha256", &self.sha256)
            .field("client", &self.client)
            .field("progress", &self.progress.as_ref().map(|_| "Fn(Progress)"))
            .finish()
    }
}

/// The partial file a download into `dest` writes to: `dest` with `.part` appended to its name.
#[must_use]
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = OsString::from(dest.as_os_str());
    name.push(".part");
    PathBuf::from(name)
}

fn validate_url(url: &str) -> Result<Url> {
    let parsed = Url::parse(url)
        .map_err(|e| Error::InvalidArgument { what: "download URL", message: format!("{url:?}: {e}") })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(Error::InvalidArgument {
            what: "download URL",
            message: format!("{url:?}: scheme {other:?} is not supported (use http or https)"),
        }),
    }
}

/// Checks a hex SHA-256 digest and returns it in lower case.
fn validate_sha256(hex_digest: &str) -> Result<String> {
    if hex_digest.len() == 64 && hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex_digest.to_ascii_lowercase())
    } else {
        Err(Error::InvalidArgument {
            what: "SHA-256 digest",
            message: format!("{hex_digest:?} is not 64 hexadecimal digits"),
        })
    }
}

/// The length of an existing partial file, 0 when there is none.
async fn existing_len(part: &Path) -> Result<u64> {
    match tokio::fs::metadata(part).await {
        Ok(md) if md.is_file() => Ok(md.len()),
        Ok(_) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io("reading metadata of", part, e)),
    }
}

/// Hashes the first `len` bytes of `path`.
async fn hash_prefix(path: &Path, len: u64) -> Result<Sha256> {
    let file = tokio::fs::File::open(path).await.map_err(|e| Error::io("opening", path, e))?;
    let mut reader = file.take(len);
    let mut hasher = Sha256::new();
    let mut buf = vec![0; HASH_BUFFER];
    let mut read = 0;
    loop {
        let n = reader.read(&mut buf).await.map_err(|e| Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
    }
    if read != len {
        return Err(Error::io(
            "reading",
            path,
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("expected {len} bytes, found {read}")),
        ));
    }
    Ok(hasher)
}

/// Parses `Content-Range: bytes <start>-<end>/<total or *>` into `(start, total)`.
fn content_range(headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    parse_content_range(headers.get(CONTENT_RANGE)?.to_str().ok()?)
}

fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start, total))
}

fn http_error(url: &str, message: impl Into<String>, source: reqwest::Error) -> Error {
    Error::Http { url: url.to_owned(), message: message.into(), source: Some(Box::new(source)) }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::extract::State;
    use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use bytes::Bytes;

    use super::*;

    /// How the test server treats `Range` requests.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum RangeMode {
        Honour,
        Ignore,
    }

    struct ServerState {
        body: Bytes,
        mode: RangeMode,
        /// The `Range` header of every request, `None` when absent.
        ranges: Mutex<Vec<Option<String>>>,
    }

    /// An in-process HTTP server on 127.0.0.1; stopped when dropped.
    struct TestServer {
        base: String,
        state: Arc<ServerState>,
        task: tokio::task::JoinHandle<()>,
    }

    impl TestServer {
        async fn start(body: impl Into<Bytes>, mode: RangeMode) -> Self {
            let state = Arc::new(ServerState { body: body.into(), mode, ranges: Mutex::new(Vec::new()) });
            let router = Router::new()
                .route("/file", get(serve_file))
                .route("/broken", get(serve_broken))
                .with_state(Arc::clone(&state));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("local addr"));
            let task = tokio::spawn(async move {
                axum::serve(listener, router).await.expect("serve");
            });
            Self { base, state, task }
        }

        fn url(&self, path: &str) -> String {
            format!("{}{path}", self.base)
        }

        fn ranges(&self) -> Vec<Option<String>> {
            self.state.ranges.lock().expect("lock").clone()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn serve_file(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
        let range = headers.get(header::RANGE).map(|v| v.to_str().expect("ascii range").to_owned());
        state.ranges.lock().expect("lock").push(range.clone());
        let len = state.body.len() as u64;
        let start = match (state.mode, range) {
            (RangeMode::Honour, Some(range)) => {
                let start: u64 = range
                    .strip_prefix("bytes=")
                    .and_then(|r| r.strip_suffix('-'))
                    .and_then(|s| s.parse().ok())
                    .expect("open-ended range");
                if start >= len {
                    let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                    response.headers_mut().insert(
                        header::CONTENT_RANGE,
                        HeaderValue::from_str(&format!("bytes */{len}")).expect("header"),
                    );
                    return response;
                }
                Some(start)
            }
            _ => None,
        };
        match start {
            Some(start) => {
                let slice = state.body.slice(usize::try_from(start).expect("small")..);
                let content_range = format!("bytes {start}-{}/{len}", len - 1);
                (StatusCode::PARTIAL_CONTENT, [(header::CONTENT_RANGE, content_range)], slice).into_response()
            }
            None => (StatusCode::OK, state.body.clone()).into_response(),
        }
    }

    /// Announces the whole body, sends the first 1000 bytes, then breaks the connection.
    async fn serve_broken(State(state): State<Arc<ServerState>>) -> Response {
        let first = state.body.slice(..1000);
        let stream = futures::stream::unfold(0, move |step| {
            let first = first.clone();
            async move {
                match step {
                    0 => Some((Ok(first), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Some((Err(std::io::Error::other("simulated network failure")), 2))
                    }
                    _ => None,
                }
            }
        });
        let mut response = Body::from_stream(stream).into_response();
        response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(state.body.len()));
        response
    }

    fn sample_body(len: usize) -> Vec<u8> {
        (0..len).map(|i| u8::try_from((i * 31 + i / 251) % 251).expect("below 251")).collect()
    }

    fn sha256_hex(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn test_client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().expect("client")
    }

    #[tokio::test]
    async fn full_download_with_the_right_checksum() {
        let body = sample_body(300_000);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("nested/dir/data.bin");

        let report = Download::new(server.url("/file"), &dest)
            .sha256(sha256_hex(&body).to_uppercase())
            .client(test_client())
            .await
            .expect("download");

        assert_eq!(report.path, dest);
        assert_eq!(report.bytes, body.len() as u64);
        assert_eq!(report.sha256, sha256_hex(&body));
        assert_eq!(report.resumed_from, 0);
        assert_eq!(std::fs::read(&dest).expect("read"), body);
        assert!(!part_path(&dest).exists());
        assert_eq!(server.ranges(), vec![None]);
    }

    #[tokio::test]
    async fn download_without_checksum_uses_the_default_client() {
        let body = sample_body(10_000);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");

        let report = Download::new(server.url("/file"), &dest).await.expect("download");

        assert_eq!(report.sha256, sha256_hex(&body));
        assert_eq!(std::fs::read(&dest).expect("read"), body);
    }

    #[tokio::test]
    async fn resumes_from_a_partial_file_when_the_server_honours_range() {
        let body = sample_body(200_000);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");
        std::fs::write(part_path(&dest), &body[..70_000]).expect("write partial");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_in_callback = Arc::clone(&seen);

        let report = Download::new(server.url("/file"), &dest)
            .sha256(sha256_hex(&body))
            .client(test_client())
            .progress(move |p| seen_in_callback.lock().expect("lock").push(p))
            .await
            .expect("download");

        assert_eq!(server.ranges(), vec![Some("bytes=70000-".to_owned())]);
        assert_eq!(report.resumed_from, 70_000);
        assert_eq!(report.bytes, 200_000);
        assert_eq!(std::fs::read(&dest).expect("read"), body);
        assert!(!part_path(&dest).exists());
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.first(), Some(&Progress { downloaded: 70_000, total: Some(200_000) }));
        assert_eq!(seen.last(), Some(&Progress { downloaded: 200_000, total: Some(200_000) }));
    }

    #[tokio::test]
    async fn restarts_when_the_server_ignores_range() {
        let body = sample_body(150_000);
        let server = TestServer::start(body.clone(), RangeMode::Ignore).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");
        // A partial file that does not even match the body: it must be discarded, not appended to.
        std::fs::write(part_path(&dest), vec![0xAA; 50_000]).expect("write partial");

        let report = Download::new(server.url("/file"), &dest)
            .sha256(sha256_hex(&body))
            .client(test_client())
            .await
            .expect("download");

        assert_eq!(server.ranges(), vec![Some("bytes=50000-".to_owned())]);
        assert_eq!(report.resumed_from, 0);
        assert_eq!(report.bytes, 150_000);
        assert_eq!(std::fs::read(&dest).expect("read"), body);
    }

    #[tokio::test]
    async fn restarts_without_range_after_416() {
        let body = sample_body(20_000);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");
        // Longer than the file: the server cannot satisfy the range.
        std::fs::write(part_path(&dest), vec![1; 30_000]).expect("write partial");

        let report = Download::new(server.url("/file"), &dest)
            .sha256(sha256_hex(&body))
            .client(test_client())
            .await
            .expect("download");

        assert_eq!(server.ranges(), vec![Some("bytes=30000-".to_owned()), None]);
        assert_eq!(report.resumed_from, 0);
        assert_eq!(std::fs::read(&dest).expect("read"), body);
    }

    #[tokio::test]
    async fn a_broken_connection_keeps_the_partial_file_for_resuming() {
        let body = sample_body(50_000);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");

        let err = Download::new(server.url("/broken"), &dest)
            .sha256(sha256_hex(&body))
            .client(test_client())
            .await
            .expect_err("the connection breaks");

        assert!(matches!(err, Error::Http { .. }), "{err:?}");
        assert!(!dest.exists());
        assert_eq!(std::fs::read(part_path(&dest)).expect("partial kept"), &body[..1000]);

        let report = Download::new(server.url("/file"), &dest)
            .sha256(sha256_hex(&body))
            .client(test_client())
            .await
            .expect("resumed download");
        assert_eq!(report.resumed_from, 1000);
        assert_eq!(std::fs::read(&dest).expect("read"), body);
        assert_eq!(server.ranges(), vec![Some("bytes=1000-".to_owned())]);
    }

    #[tokio::test]
    async fn checksum_mismatch_leaves_neither_target_nor_partial_file() {
        let body = sample_body(40_000);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");
        let wrong = sha256_hex(b"something else");

        let err = Download::new(server.url("/file"), &dest)
            .sha256(wrong.clone())
            .client(test_client())
            .await
            .expect_err("mismatch");

        match err {
            Error::ChecksumMismatch { url, expected, actual } => {
                assert_eq!(url, server.url("/file"));
                assert_eq!(expected, wrong);
                assert_eq!(actual, sha256_hex(&body));
            }
            other => panic!("expected ChecksumMismatch, got {other:?}"),
        }
        assert!(!dest.exists());
        assert!(!part_path(&dest).exists());
    }

    #[tokio::test]
    async fn not_found_is_an_http_status_error() {
        let server = TestServer::start(sample_body(10), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");

        let err = Download::new(server.url("/missing"), &dest).client(test_client()).await.expect_err("404");

        match err {
            Error::HttpStatus { url, status } => {
                assert_eq!(status, 404);
                assert_eq!(url, server.url("/missing"));
            }
            other => panic!("expected HttpStatus, got {other:?}"),
        }
        assert!(!dest.exists());
        assert!(!part_path(&dest).exists());
    }

    #[tokio::test]
    async fn progress_reaches_the_total() {
        let body = sample_body(1 << 20);
        let server = TestServer::start(body.clone(), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen_in_callback = Arc::clone(&seen);

        Download::new(server.url("/file"), &dest)
            .client(test_client())
            .progress(move |p| seen_in_callback.lock().expect("lock").push(p))
            .await
            .expect("download");

        let seen = seen.lock().expect("lock");
        let total = Some(body.len() as u64);
        assert_eq!(seen.first(), Some(&Progress { downloaded: 0, total }));
        assert_eq!(seen.last(), Some(&Progress { downloaded: body.len() as u64, total }));
        assert!(seen.len() > 2, "expected several chunks, got {}", seen.len());
        assert!(seen.windows(2).all(|w| w[0].downloaded <= w[1].downloaded));
    }

    #[tokio::test]
    async fn rejects_bad_arguments_before_any_request() {
        let server = TestServer::start(sample_body(10), RangeMode::Honour).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("data.bin");

        for url in ["ftp://example.org/file", "file:///etc/passwd", "not a url"] {
            let err = Download::new(url, &dest).await.expect_err("bad URL");
            assert!(matches!(err, Error::InvalidArgument { what: "download URL", .. }), "{err:?}");
        }
        for digest in ["abc", &"g".repeat(64), &"a".repeat(65)] {
            let err = Download::new(server.url("/file"), &dest)
                .sha256(digest)
                .client(test_client())
                .await
                .expect_err("bad digest");
            assert!(matches!(err, Error::InvalidArgument { what: "SHA-256 digest", .. }), "{err:?}");
        }
        assert!(server.ranges().is_empty());
        assert!(!dest.exists());
        assert!(!part_path(&dest).exists());
    }

    #[test]
    fn parses_content_range() {
        assert_eq!(parse_content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(parse_content_range("bytes 0-9/*"), Some((0, None)));
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("bytes 9-1/20"), None);
        assert_eq!(parse_content_range("items 0-9/10"), None);
    }

    #[test]
    fn part_path_appends_a_suffix() {
        assert_eq!(part_path(Path::new("/data/file.tar.gz")), Path::new("/data/file.tar.gz.part"));
        assert_eq!(part_path(Path::new("file")), Path::new("file.part"));
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<Download>();
        send::<<Download as IntoFuture>::IntoFuture>();
        send_sync::<DownloadReport>();
        send_sync::<Progress>();
    }
}

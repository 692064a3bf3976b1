//! The model server's connection limits on a real loopback socket: each limit set small, one
//! bounded test per limit (a handful of connections, a few seconds at most).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use wb_serving::connections::ConnectionLimits;
use wb_serving::server::{ModelServer, RunningServer, ServerOptions, StaticCatalog};

use crate::server::endpoint;

/// How long a test waits for the server to close a connection before calling it still open.
const PATIENCE: Duration = Duration::from_secs(5);

async fn start(limits: ConnectionLimits) -> RunningServer {
    let catalog = StaticCatalog::new([endpoint("wine", None)]);
    let options = ServerOptions { connections: limits, ..ServerOptions::default() };
    ModelServer::builder(Arc::new(catalog))
        .options(options)
        .build()
        .bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind")
}

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(400),
        ..ConnectionLimits::default()
    }
}

fn request(addr: SocketAddr, body: &str, close: bool) -> String {
    format!(
        "POST /endpoints/wine/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\n{}\r\n{body}",
        body.len(),
        if close { "Connection: close\r\n" } else { "" }
    )
}

/// Reads until the server closes the connection (EOF or reset); returns what arrived and
/// when. Fails when the connection is still open after [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await {
            Err(_) => panic!("the connection is still open after {PATIENCE:?}; received {raw:?}"),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    (String::from_utf8_lossy(&raw).into_owned(), started.elapsed())
}

/// Reads one response on a keep-alive connection (headers, then `Content-Length` bytes).
async fn one_response(stream: &mut TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    let mut byte = [0_u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await.expect("response in time").expect("read");
        assert_eq!(n, 1, "the connection closed mid-response: {raw:?}");
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).expect("utf8 head");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().expect("length")))
        .expect("content-length");
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).await.expect("body");
    (status, String::from_utf8(body).expect("utf8 body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_or_trickled_request_head_is_cut_off_at_the_header_timeout() {
    let server = start(ConnectionLimits { idle_timeout: Duration::from_secs(30), ..limits() }).await;
    let addr = server.local_addr();

    // A head that stops halfway.
    let mut partial = TcpStream::connect(addr).await.expect("connect");
    partial.write_all(b"POST /endpoints/wine/invocations HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let (received, after) = until_closed(&mut partial).await;
    assert!(after >= Duration::from_millis(300), "closed at the timeout, not before: {after:?}");
    assert!(!received.contains(" 200 "), "{received}");

    // A head trickled one byte every 50 ms: each byte arrives in time, the head does not.
    let mut trickle = TcpStream::connect(addr).await.expect("connect");
    let head = request(addr, "1.0,red\n", false);
    let started = Instant::now();
    let mut cut = false;
    for byte in head.as_bytes() {
        if trickle.write_all(std::slice::from_ref(byte)).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if started.elapsed() > PATIENCE {
            break;
        }
    }
    if !cut {
        let (received, _) = until_closed(&mut trickle).await;
        assert!(!received.contains(" 200 "), "a trickled head was served: {received}");
    }
    assert!(started.elapsed() < PATIENCE, "the trickled head was cut off: {:?}", started.elapsed());

    // A prompt request is served as usual.
    let mut prompt = TcpStream::connect(addr).await.expect("connect");
    prompt.write_all(request(addr, "1.0,red\n", true).as_bytes()).await.expect("write");
    let (received, _) = until_closed(&mut prompt).await;
    assert!(received.starts_with("HTTP/1.1 200 "), "{received}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_but_a_slow_body_is_not() {
    let server = start(ConnectionLimits { header_read_timeout: Duration::from_secs(30), ..limits() }).await;
    let addr = server.local_addr();

    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let (received, after) = until_closed(&mut silent).await;
    assert_eq!(received, "");
    assert!(after >= Duration::from_millis(300), "{after:?}");

    // A keep-alive connection after its response.
    let mut kept = TcpStream::connect(addr).await.expect("connect");
    kept.write_all(request(addr, "1.0,red\n", false).as_bytes()).await.expect("write");
    let (status, body) = one_response(&mut kept).await;
    assert_eq!(status, 200, "{body}");
    kept.write_all(request(addr, "2.0,blue\n", false).as_bytes()).await.expect("write");
    assert_eq!(one_response(&mut kept).await.0, 200, "keep-alive serves a second request");
    let (received, after) = until_closed(&mut kept).await;
    assert_eq!(received, "");
    assert!(after >= Duration::from_millis(300), "{after:?}");

    // A request whose body arrives slowly (within the server's deadline) is in flight, not idle.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let body = "1.0,red\n";
    let head = format!(
        "POST /endpoints/wine/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.expect("write head");
    for byte in body.as_bytes() {
        tokio::time::sleep(Duration::from_millis(120)).await;
        slow.write_all(std::slice::from_ref(byte)).await.expect("the server keeps a request in flight open");
    }
    let (received, _) = until_closed(&mut slow).await;
    assert!(received.starts_with("HTTP/1.1 200 "), "{received}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_oversized_request_head_is_answered_431() {
    let server = start(ConnectionLimits { max_header_bytes: 16 * 1024, ..ConnectionLimits::default() }).await;
    let addr = server.local_addr();
    let with_header = |size: usize| {
        let body = "1.0,red\n";
        format!(
            "POST /endpoints/wine/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/csv\r\nX-Padding: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            "a".repeat(size),
            body.len()
        )
    };
    let mut big = TcpStream::connect(addr).await.expect("connect");
    // The server may close before reading all of it.
    let _ = big.write_all(with_header(100 * 1024).as_bytes()).await;
    let (received, _) = until_closed(&mut big).await;
    assert!(received.starts_with("HTTP/1.1 431 "), "{received}");

    let mut fits = TcpStream::connect(addr).await.expect("connect");
    fits.write_all(with_header(8 * 1024).as_bytes()).await.expect("write");
    let (received, _) = until_closed(&mut fits).await;
    assert!(received.starts_with("HTTP/1.1 200 "), "{received}");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_503_until_one_closes() {
    let server = start(ConnectionLimits { max_connections: 3, ..ConnectionLimits::default() }).await;
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request(addr, "1.0,red\n", false).as_bytes()).await.expect("write");
        assert_eq!(one_response(&mut stream).await.0, 200, "within the cap");
        held.push(stream);
    }
    let mut over = TcpStream::connect(addr).await.expect("connect");
    let _ = over.write_all(request(addr, "1.0,red\n", true).as_bytes()).await;
    let (received, _) = until_closed(&mut over).await;
    assert!(received.starts_with("HTTP/1.1 503 "), "{received}");
    assert!(received.contains("retry-after: 1"), "{received}");
    assert!(received.contains("at its limit of 3 connections"), "{received}");

    // A held connection still works; once one closes, a new one is served.
    assert_eq!(
        {
            held[0].write_all(request(addr, "2.0,blue\n", false).as_bytes()).await.expect("write");
            one_response(&mut held[0]).await.0
        },
        200
    );
    drop(held.pop());
    let started = Instant::now();
    loop {
        let mut again = TcpStream::connect(addr).await.expect("connect");
        let _ = again.write_all(request(addr, "1.0,red\n", true).as_bytes()).await;
        let (received, _) = until_closed(&mut again).await;
        if received.starts_with("HTTP/1.1 200 ") {
            break;
        }
        assert!(received.starts_with("HTTP/1.1 503 "), "{received}");
        assert!(started.elapsed() < PATIENCE, "the closed connection's slot was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn limits_out_of_range_are_refused_by_name() {
    let cases = [
        (
            ConnectionLimits { header_read_timeout: Duration::ZERO, ..ConnectionLimits::default() },
            "header read timeout",
        ),
        (ConnectionLimits { idle_timeout: Duration::ZERO, ..ConnectionLimits::default() }, "idle timeout"),
        (ConnectionLimits { max_header_bytes: 100, ..ConnectionLimits::default() }, "at least 8192 bytes (got 100)"),
        (ConnectionLimits { max_connections: 0, ..ConnectionLimits::default() }, "connection limit"),
    ];
    for (limits, words) in cases {
        let message = limits.validate().expect_err("refused");
        assert!(message.contains(words), "{message}");
        let error = start(limits).await.shutdown().await.expect_err("the server refuses to start");
        assert!(error.to_string().contains(words), "{error}");
    }
    assert_eq!(ConnectionLimits::default().validate(), Ok(()));
}

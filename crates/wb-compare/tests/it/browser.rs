//! The web app in a real headless Chromium, driven through chromedriver with fantoccini:
//! comparison reports, then a monitoring report.
//!
//! Needs Debian's `chromium` and `chromium-driver`. When they are missing, the harness runs
//! the project's `scripts/install-test-deps` (apt-get, as root or through sudo) once; when that
//! cannot install them the test fails saying what to run — it never skips. `WB_CHROMIUM` and
//! `WB_CHROMEDRIVER` point at other binaries. Screenshots go to `target/browser-screenshots/`.

use std::net::TcpListener as StdListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt as _;
use serde_json::json;

use crate::support::{self, MODELS, SCRIPT_DESCRIPTION};
use crate::web::{MONITORING, write_monitoring_report};

const OLD: &str = "20260301T090000Z-aaaaaa";
const NEW: &str = "20260302T101500Z-bbbbbb";

/// Every browser step together must finish within this.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// Installs Chromium and ChromeDriver with the project's script when the default binaries
/// are missing; the outcome is checked by [`binary`].
fn provision() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if Path::new("/usr/bin/chromium").is_file() && Path::new("/usr/bin/chromedriver").is_file() {
            return;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-test-deps");
        match Command::new(&script).status() {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("{} exited with {status}", script.display()),
            Err(e) => eprintln!("cannot run {}: {e}", script.display()),
        }
    });
}

fn binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    if !path.is_file() && std::env::var_os(env).is_none() {
        provision();
    }
    assert!(
        path.is_file(),
        "the browser test needs {} (not found at {}). Install Chromium and its WebDriver with \
         `scripts/install-test-deps` (sudo apt-get install -y chromium chromium-driver), or set {env} \
         to the binary.",
        Path::new(default).file_name().and_then(|n| n.to_str()).unwrap_or(default),
        path.display()
    );
    path
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("addr").port()
}

/// chromedriver in its own process group; dropping it kills the group (chromedriver and any
/// Chromium it started) and any straggler whose command line names our profile directory.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Driver {
    fn spawn(chromedriver: &Path, port: u16, profile: PathBuf) -> Self {
        use std::os::unix::process::CommandExt as _;
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        Self { child, profile }
    }

    /// Waits (bounded) until chromedriver accepts connections.
    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited at start-up ({status})");
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Processes whose command line mentions `profile` (Chromium and its helpers started for it).
fn processes_naming(profile: &Path) -> Vec<String> {
    let needle = profile.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(&needle).then(|| pid.to_string())
        })
        .collect()
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for _ in 0..50 {
            let left = processes_naming(&self.profile);
            if left.is_empty() {
                return;
            }
            for pid in &left {
                let _ = Command::new("kill").args(["-KILL", pid]).stderr(Stdio::null()).status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&dir).expect("create target/browser-screenshots");
    dir
}

/// Saves a screenshot of the whole page: the window is grown to the document's height for the
/// shot (WebDriver screenshots show the viewport only), then restored.
async fn save_screenshot(client: &Client, name: &str) {
    let sizes = client
        .execute("return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];", vec![])
        .await
        .expect("page height");
    let dim = |i: usize| sizes.get(i).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let (page, chrome) = (dim(0), dim(1));
    let height = u32::try_from((page + chrome).clamp(600, 12_000)).expect("bounded");
    client.set_window_size(1280, height).await.expect("grow window");
    let png = client.screenshot().await.expect("screenshot");
    client.set_window_size(1280, 1600).await.expect("restore window");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshot_dir().join(name), png).expect("write screenshot");
}

/// Polls until the browser is at `path` (bounded).
async fn wait_for_path(client: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = client.current_url().await.expect("current url");
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "expected to navigate to {path}, still at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("find {css}: {e}")) {
        out.push(e.text().await.expect("text").trim().to_owned());
    }
    out
}

/// The leaderboard as (rank, model) pairs, read through CSS selectors.
async fn leaderboard(client: &Client) -> Vec<(String, String)> {
    let ranks = texts(client, "table.leaderboard tbody tr td.rank").await;
    let models = texts(client, "table.leaderboard tbody tr td.model a").await;
    ranks.into_iter().zip(models).collect()
}

fn expected_leaderboard() -> Vec<(String, String)> {
    MODELS.iter().enumerate().map(|(i, m)| ((i + 1).to_string(), (*m).to_owned())).collect()
}

/// No injected script ran or exists: no `<script>` elements, and the description shows the
/// markup as text.
async fn assert_no_injection(client: &Client) {
    let scripts = client.find_all(Locator::Css("script")).await.expect("find scripts");
    assert!(scripts.is_empty(), "no script elements on {}", client.current_url().await.expect("url"));
}

async fn browse(client: &Client, base: &str) {
    client
        .update_timeouts(TimeoutConfiguration::new(
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(20)),
            Some(Duration::from_secs(0)),
        ))
        .await
        .expect("set timeouts");

    // Home: the newest report's leaderboard and the list of reports.
    client.goto(&format!("{base}/")).await.expect("open /");
    assert_eq!(leaderboard(client).await, expected_leaderboard(), "home leaderboard ranks and models");
    let listed: Vec<String> = texts(client, "table.reports tbody tr a.report-link").await;
    assert_eq!(listed, [NEW, OLD], "reports newest first");
    assert_no_injection(client).await;
    save_screenshot(client, "home.png").await;

    // The newest report.
    client
        .find(Locator::Css("table.reports tbody tr:first-child a.report-link"))
        .await
        .expect("report link")
        .click()
        .await
        .expect("click");
    wait_for_path(client, &format!("/reports/{NEW}")).await;
    assert_eq!(leaderboard(client).await, expected_leaderboard(), "report leaderboard");
    let warning = client.find(Locator::Css(".alert.warnings")).await.expect("warnings box");
    assert!(warning.is_displayed().await.expect("displayed"), "warnings are visible");
    assert!(warning.text().await.expect("text").contains("<not the scored one>"), "warning text shown literally");
    let descriptions = texts(client, "table.models td.description").await;
    assert_eq!(descriptions[0], SCRIPT_DESCRIPTION, "the description is text, not markup");
    assert_no_injection(client).await;
    save_screenshot(client, "report.png").await;

    // A model.
    client
        .find(Locator::Css("table.leaderboard tbody tr:first-child td.model a"))
        .await
        .expect("model link")
        .click()
        .await
        .expect("click");
    wait_for_path(client, &format!("/reports/{NEW}/models/{}", MODELS[0])).await;
    let charts = client.find_all(Locator::Css("figure svg")).await.expect("charts");
    assert!(!charts.is_empty(), "inline SVG charts");
    assert!(charts[0].is_displayed().await.expect("displayed"), "the first chart is displayed");
    let (_, _, width, height) = charts[0].rectangle().await.expect("rect");
    assert!(width > 200.0 && height > 150.0, "chart has a readable size ({width}×{height})");
    let lines = client.find_all(Locator::Css("figure svg polyline, figure svg path")).await.expect("lines");
    assert!(!lines.is_empty(), "charts draw lines");
    let values = texts(client, "table.metrics tbody td.value").await;
    assert!(values.len() >= 5, "metrics listed: {values:?}");
    for v in &values {
        let x: f64 = v.parse().unwrap_or_else(|_| panic!("metric value {v:?} is a number"));
        assert!((0.0..=1.0).contains(&x), "{v}");
    }
    let desc = client.find(Locator::Css("p.desc")).await.expect("description").text().await.expect("text");
    assert_eq!(desc, SCRIPT_DESCRIPTION, "escaped description visible as text");
    assert_no_injection(client).await;
    save_screenshot(client, "model.png").await;

    // The pairs matrix.
    client.find(Locator::Css(r#"nav.top a[href$="/pairs"]"#)).await.expect("pairs link").click().await.expect("click");
    wait_for_path(client, &format!("/reports/{NEW}/pairs")).await;
    let cells = client.find_all(Locator::Css("table.matrix td.pair-cell")).await.expect("cells");
    assert_eq!(cells.len(), MODELS.len() * MODELS.len(), "a models × models matrix");
    save_screenshot(client, "pairs.png").await;

    // The stored one-page report renders the same leaderboard.
    client.goto(&format!("{base}/reports/{NEW}/files/index.html")).await.expect("open index.html");
    assert_eq!(leaderboard(client).await, expected_leaderboard(), "index.html leaderboard");
    let desc = client.find(Locator::Css("p.desc")).await.expect("description").text().await.expect("text");
    assert_eq!(desc, SCRIPT_DESCRIPTION);
    assert_no_injection(client).await;
    save_screenshot(client, "index.png").await;

    browse_monitoring(client, base).await;
}

/// Home lists the monitoring reports; the newest opens as its stored page with its title,
/// violations table and a visible chart.
async fn browse_monitoring(client: &Client, base: &str) {
    client.goto(&format!("{base}/")).await.expect("open /");
    let endpoints = texts(client, "table.monitoring tbody tr td.endpoint").await;
    let expected: Vec<&str> = MONITORING.iter().map(|m| m.0).collect();
    assert_eq!(endpoints, expected, "monitoring reports newest first");
    let (endpoint, id, _, violations) = MONITORING[0];
    client
        .find(Locator::Css("table.monitoring tbody tr:first-child a.monitoring-link"))
        .await
        .expect("monitoring report link")
        .click()
        .await
        .expect("click");
    wait_for_path(client, &format!("/monitoring/{endpoint}/{id}/")).await;
    assert_eq!(client.title().await.expect("title"), format!("Monitoring · {endpoint} · {id}"));
    let table = client.find(Locator::Css("table.violations")).await.expect("violations table");
    assert!(table.is_displayed().await.expect("displayed"), "the violations table is visible");
    let features = texts(client, "table.violations tbody tr td.feature").await;
    assert_eq!(features.len(), violations, "one row per violation: {features:?}");
    let description = texts(client, "table.violations tbody tr td.wrap").await;
    assert!(description[0].ends_with("<&>"), "escaped text shown literally: {description:?}");
    let charts = client.find_all(Locator::Css("figure svg")).await.expect("charts");
    assert!(!charts.is_empty(), "an inline SVG chart");
    assert!(charts[0].is_displayed().await.expect("displayed"), "the chart is displayed");
    let (_, _, width, height) = charts[0].rectangle().await.expect("rect");
    assert!(width > 200.0 && height > 100.0, "chart has a readable size ({width}×{height})");
    assert_no_injection(client).await;
    save_screenshot(client, "monitoring.png").await;

    // Its chart is also served on its own.
    client
        .goto(&format!("{base}/monitoring/{endpoint}/{id}/files/confidence-over-time.svg"))
        .await
        .expect("open the SVG");
    let svg = client.find(Locator::Css("svg")).await.expect("svg document");
    assert!(svg.is_displayed().await.expect("displayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browse_reports_in_headless_chromium() {
    let chromium = binary("WB_CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("WB_CHROMEDRIVER", "/usr/bin/chromedriver");

    // Two reports in a local store, served on a free port.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = support::store(&dir.path().join("store"));
    support::write_report(&store, &support::sample_report(OLD)).await;
    let mut newer = support::sample_report(NEW);
    newer.dataset = wb_core::DatasetName::parse("churn-q2").expect("name");
    support::write_report(&store, &newer).await;
    for (endpoint, id, created, violations) in MONITORING {
        write_monitoring_report(&store, endpoint, id, created, violations).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(wb_compare::web::serve(listener, store, async move {
        let _ = stopped.await;
    }));

    let profile = dir.path().join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let port = free_port();
    let mut driver = Driver::spawn(&chromedriver, port, profile.clone());
    driver.wait_ready(port);

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()), "--window-size=1280,1600",
                "--hide-scrollbars", "--force-device-scale-factor=1",
            ],
        }),
    );
    let client = tokio::time::timeout(
        Duration::from_secs(60),
        ClientBuilder::rustls().expect("TLS roots").capabilities(caps).connect(&format!("http://127.0.0.1:{port}")),
    )
    .await
    .expect("a WebDriver session within 60 s")
    .expect("chromedriver starts Chromium");

    let outcome = tokio::time::timeout(TEST_TIMEOUT, AssertUnwindSafe(browse(&client, &base)).catch_unwind()).await;
    // Close the session (ends Chromium) whatever happened, bounded; the guard kills the rest.
    let _ = tokio::time::timeout(Duration::from_secs(15), client.close()).await;
    drop(driver);
    let left = processes_naming(&profile);
    assert!(left.is_empty(), "Chromium processes outlived the test: {left:?}");
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    match outcome {
        Err(_) => panic!("the browser steps took longer than {TEST_TIMEOUT:?}"),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Ok(Ok(())) => {}
    }
}

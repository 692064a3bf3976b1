//! The `wb compare serve` web app in process (`oneshot`) and once on a real socket.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::ServiceExt as _;
use wb_compare::report::Report;
use wb_compare::reports::ReportSummary;
use wb_compare::web::{self, MonitoringSummary};
use wb_core::{DynObjectStore, ObjectPath};

use crate::support::{self, FAILED, MODELS};

const OLD: &str = "20260301T090000Z-aaaaaa";
const NEW: &str = "20260302T101500Z-bbbbbb";

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn assert_html(&self, status: StatusCode) {
        assert_eq!(self.status, status, "status; body: {}", self.body);
        assert!(self.content_type().starts_with("text/html"), "content type {}", self.content_type());
        assert!(self.body.starts_with("<!DOCTYPE html>"), "a whole document");
        assert!(self.body.contains(r#"<nav class="top">"#), "the shared nav header");
        let csp = self.headers.get(header::CONTENT_SECURITY_POLICY).expect("CSP header").to_str().expect("ascii");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(!self.body.contains("<script"), "no script element (raw or injected)");
    }
}

async fn get(app: &Router, uri: &str) -> Got {
    let response =
        app.clone().oneshot(Request::get(uri).body(Body::empty()).expect("request")).await.expect("infallible service");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes: Bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await.expect("body");
    Got { status, headers, body: String::from_utf8(bytes.to_vec()).expect("utf-8 body") }
}

/// A store with two reports (`OLD`, `NEW`) and the app over it.
async fn app() -> (tempfile::TempDir, DynObjectStore, Router) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = support::store(dir.path());
    support::write_report(&store, &support::sample_report(OLD)).await;
    let mut newer = support::sample_report(NEW);
    newer.dataset = wb_core::DatasetName::parse("churn-q2").expect("name");
    support::write_report(&store, &newer).await;
    let app = web::router(store.clone());
    (dir, store, app)
}

fn position(body: &str, needle: &str) -> usize {
    body.find(needle).unwrap_or_else(|| panic!("{needle:?} not in page"))
}

#[tokio::test]
async fn index_shows_newest_leaderboard_and_every_report() {
    let (_dir, _store, app) = app().await;
    let got = get(&app, "/").await;
    got.assert_html(StatusCode::OK);
    let body = &got.body;
    // The leaderboard of the newest report, in rank order, linking to the model pages.
    let rows: Vec<usize> =
        MODELS.iter().map(|m| position(body, &format!(r#"href="/reports/{NEW}/models/{m}""#))).collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "leaderboard in rank order");
    assert!(body.contains(r#"class="leaderboard""#));
    for rank in ["1", "2", "3"] {
        assert!(body.contains(&format!(r#"<td class="num rank">{rank}</td>"#)), "rank {rank}");
    }
    assert!(body.contains("0.9123") && body.contains("[0.8812, 0.9401]"), "value and interval");
    assert!(body.contains("0.003") && body.contains("&lt;0.001"), "p-values formatted");
    // Both reports are listed, newest first, with dataset and best model.
    assert!(
        position(body, &format!(r#"href="/reports/{NEW}""#)) < position(body, &format!(r#"href="/reports/{OLD}""#))
    );
    assert!(body.contains("churn-q2") && body.contains("customer-churn"));
    // The foreign-partition warning is repeated, escaped.
    assert!(body.contains("&lt;not the scored one&gt;"), "warning shown and escaped");
}

#[tokio::test]
async fn index_without_reports_says_how_to_make_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = web::router(support::store(dir.path()));
    let got = get(&app, "/").await;
    got.assert_html(StatusCode::OK);
    assert!(got.body.contains("No comparison reports yet") && got.body.contains("wb compare"));
    let api = get(&app, "/api/reports").await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.body, "[]");
}

#[tokio::test]
async fn report_page_has_leaderboard_models_pairs_link_warnings_and_failures() {
    let (_dir, _store, app) = app().await;
    let got = get(&app, &format!("/reports/{OLD}")).await;
    got.assert_html(StatusCode::OK);
    let body = &got.body;
    assert!(position(body, "Warnings") < position(body, "Leaderboard"), "warnings come first");
    assert!(body.contains(&format!(r#"href="/reports/{OLD}/pairs""#)), "link to the pairs page");
    for m in MODELS {
        assert!(body.contains(&format!(r#"href="/reports/{OLD}/models/{m}""#)), "link to {m}");
    }
    assert!(body.contains(FAILED), "failed model listed");
    assert!(body.contains("status &lt;Failed&gt; &amp; unreachable"), "failure message escaped");
    assert!(body.contains("<svg"), "charts inline");
    assert!(body.contains("ROC curve") && body.contains("Calibration"), "curves");
    // Descriptions are escaped: the script tag is text.
    assert!(body.contains("&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;"), "escaped description");
    assert!(body.contains("&lt;b&gt;baseline&lt;/b&gt; &amp; &quot;reference&quot;"), "escaped description");
}

#[tokio::test]
async fn model_page_has_metrics_curves_confusion_thresholds_importance_slices_worst_rows() {
    let (_dir, _store, app) = app().await;
    let got = get(&app, &format!("/reports/{OLD}/models/{}", MODELS[0])).await;
    got.assert_html(StatusCode::OK);
    let body = &got.body;
    for section in [
        "Metrics",
        "Per class",
        "Confusion matrix",
        "Curves",
        "Thresholds",
        "Permutation importance",
        "Slices by",
        "Worst rows",
    ] {
        assert!(body.contains(section), "section {section}");
    }
    assert!(body.contains("ROC AUC") && body.contains("0.9123"), "metric values");
    assert!(body.contains("<polyline"), "curve drawn");
    assert!(body.contains("tenure_months") && body.contains("contract &lt;type&gt;"), "importance, escaped");
    assert!(body.contains("&lt;family &amp; friends&gt;"), "slice escaped");
    assert!(body.contains("cust-0017&lt;0&gt;"), "row id escaped");
    assert!(body.contains("&lt;script&gt;"), "description escaped");
    // Only this model's curves.
    assert!(!body.contains(&format!("<title>{}", MODELS[1])), "no other model's series");
}

#[tokio::test]
async fn pairs_page_is_a_models_by_models_matrix() {
    let (_dir, _store, app) = app().await;
    let got = get(&app, &format!("/reports/{OLD}/pairs")).await;
    got.assert_html(StatusCode::OK);
    let cells = got.body.matches(r#"class="pair-cell"#).count();
    assert_eq!(cells, MODELS.len() * MODELS.len(), "one cell per ordered pair");
    assert_eq!(got.body.matches("pair-cell diag").count(), MODELS.len());
    assert!(got.body.contains("+0.0552"), "row minus column difference");
    assert!(got.body.contains("−0.0552") || got.body.contains("-0.0552"), "and its mirror");
    assert!(got.body.contains("McNemar") && got.body.contains("DeLong"));
}

#[tokio::test]
async fn files_are_served_with_their_content_types() {
    let (_dir, _store, app) = app().await;
    let cases = [
        ("report.json", "application/json"),
        ("report.md", "text/markdown"),
        ("index.html", "text/html"),
        ("roc.svg", "image/svg+xml"),
        ("pr.svg", "image/svg+xml"),
        ("calibration.svg", "image/svg+xml"),
        ("leaderboard.svg", "image/svg+xml"),
        ("importance-gbdt-churn.svg", "image/svg+xml"),
    ];
    for (file, ty) in cases {
        let got = get(&app, &format!("/reports/{OLD}/files/{file}")).await;
        assert_eq!(got.status, StatusCode::OK, "{file}");
        assert!(got.content_type().starts_with(ty), "{file}: {}", got.content_type());
        assert!(!got.body.is_empty());
    }
    let json = get(&app, &format!("/reports/{OLD}/files/report.json")).await;
    let report: Report = serde_json::from_str(&json.body).expect("report.json parses");
    assert_eq!(report, support::sample_report(OLD));
    let svg = get(&app, &format!("/reports/{OLD}/files/roc.svg")).await;
    assert!(svg.body.starts_with("<svg"));
}

#[tokio::test]
async fn api_lists_summaries_and_returns_reports() {
    let (_dir, _store, app) = app().await;
    let got = get(&app, "/api/reports").await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.content_type().starts_with("application/json"));
    let list: Vec<ReportSummary> = serde_json::from_str(&got.body).expect("summaries");
    let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [NEW, OLD], "newest first");
    assert_eq!(list[1].best, Some((MODELS[0].to_owned(), Some(0.9123))));
    assert_eq!(list[1].models, 3);

    let got = get(&app, &format!("/api/reports/{OLD}")).await;
    assert_eq!(got.status, StatusCode::OK);
    let report: Report = serde_json::from_str(&got.body).expect("report");
    assert_eq!(report, support::sample_report(OLD));
}

#[tokio::test]
async fn unknown_things_are_404_pages_naming_them() {
    let (_dir, _store, app) = app().await;
    let cases = [
        ("/reports/20990101T000000Z-ffffff".to_owned(), "20990101T000000Z-ffffff"),
        (format!("/reports/{OLD}/models/no-such-model"), "no-such-model"),
        (format!("/reports/{OLD}/models/{FAILED}"), "not InService"),
        ("/reports/20990101T000000Z-ffffff/pairs".to_owned(), "20990101T000000Z-ffffff"),
        (format!("/reports/{OLD}/files/nope.svg"), "nope.svg"),
        (format!("/reports/{OLD}/files/..%2Freport.json"), "report.json"),
        ("/reports/bad%20id".to_owned(), "bad id"),
        ("/no/such/page".to_owned(), "/no/such/page"),
    ];
    for (uri, named) in &cases {
        let got = get(&app, uri).await;
        got.assert_html(StatusCode::NOT_FOUND);
        assert!(got.body.contains(named), "{uri}: page names {named:?}: {}", got.body);
        assert!(got.body.contains(r#"href="/""#), "{uri}: link home");
    }
    let escaped = get(&app, &format!("/reports/{OLD}/models/%3Cscript%3Ex")).await;
    escaped.assert_html(StatusCode::NOT_FOUND);
    assert!(escaped.body.contains("&lt;script&gt;x"), "the name asked for is escaped");

    let api = get(&app, "/api/reports/20990101T000000Z-ffffff").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    let error: serde_json::Value = serde_json::from_str(&api.body).expect("JSON error");
    assert!(error["error"].as_str().expect("message").contains("20990101T000000Z-ffffff"));
}

#[tokio::test]
async fn store_errors_are_500_pages_with_the_message() {
    let (_dir, store, app) = app().await;
    let broken = "20260303T000000Z-cccccc";
    let path = ObjectPath::parse(format!("reports/compare/{broken}/report.json")).expect("path");
    store.put(&path, Bytes::from_static(b"{ not json")).await.expect("put");
    for uri in ["/".to_owned(), format!("/reports/{broken}"), format!("/reports/{broken}/pairs")] {
        let got = get(&app, &uri).await;
        got.assert_html(StatusCode::INTERNAL_SERVER_ERROR);
        assert!(got.body.contains("report.json"), "{uri}: message names the document: {}", got.body);
    }
    let api = get(&app, "/api/reports").await;
    assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
    // The other reports still open.
    get(&app, &format!("/reports/{OLD}")).await.assert_html(StatusCode::OK);
}

#[tokio::test]
async fn serve_answers_on_a_socket_and_shuts_down() {
    let (_dir, store, _app) = app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, store, async move {
        let _ = stopped.await;
    }));
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /api/reports HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_string(&mut answer))
        .await
        .expect("answer within 10 s")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(NEW) && answer.contains(OLD));
    stop.send(()).expect("server running");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("shuts down within 10 s")
        .expect("task")
        .expect("serve ends cleanly");
}

// ---------------------------------------------------------------------------------------------
// Monitoring reports

/// The monitoring reports of the fixtures: (endpoint, id, created, violations).
pub(crate) const MONITORING: [(&str, &str, &str, usize); 2] = [
    ("churn-ep", "20261206T101500Z", "2026-12-06T10:15:00Z", 2),
    ("fraud-ep", "20261206T081500Z", "2026-12-06T08:15:00Z", 0),
];

/// A chart as `wb-monitor` draws them: titled, described, inline in `index.html` and stored
/// on its own.
fn monitoring_svg(endpoint: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 780 460" width="780" height="460" role="img"><title>Confidence per hour</title><desc>{endpoint}</desc><rect width="780" height="460" fill="#ffffff"/><polyline fill="none" stroke="#4e79a7" stroke-width="2.2" points="90.0,100.0 300.0,140.0 600.0,90.0"/><rect class="count" x="80" y="330" width="40" height="60" fill="#9fb4cc"/></svg>"##
    )
}

/// Writes a monitoring report the way `wb-monitor`'s `reports::write` lays it out
/// (`monitoring/<endpoint>/reports/<id>/`: `report.json` with the fields the list reads, a
/// self-contained `index.html` with the violations table and an inline chart, the chart's SVG,
/// `constraint_violations.json`). This crate does not depend on `wb-monitor`, so the files are
/// made here; their rendering is tested in `wb-monitor`.
pub(crate) async fn write_monitoring_report(
    store: &DynObjectStore,
    endpoint: &str,
    id: &str,
    created: &str,
    violations: usize,
) {
    let rows: Vec<serde_json::Value> = (0..violations)
        .map(|i| {
            serde_json::json!({
                "feature_name": format!("feature-{i}"),
                "constraint_check_type": "baseline_drift_check",
                "description": format!("Baseline drift distance: 0.4{i} exceeds threshold: 0.1 <&>")
            })
        })
        .collect();
    let report = serde_json::json!({
        "endpoint": endpoint, "id": id, "created": created,
        "window": { "since": null, "until": null }, "dataset": "customer-churn",
        "counts": { "files": 3, "records": 1200, "decoded": 1198, "skipped": 2, "rows": 1198 },
        "problems": [],
        "statistics": { "version": 0, "dataset": { "item_count": 1198 }, "features": [] },
        "violations": { "violations": rows },
        "drift": [ { "feature": "feature-0", "drifted": violations > 0 }, { "feature": "other", "drifted": false } ],
        "confidence": null
    });
    let table: String = (0..violations)
        .map(|i| {
            format!(
                r#"<tr><td class="feature">feature-{i}</td><td><code>baseline_drift_check</code></td><td class="wrap">Baseline drift distance: 0.4{i} exceeds threshold: 0.1 &lt;&amp;&gt;</td></tr>"#
            )
        })
        .collect();
    let index = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Monitoring · {endpoint} · {id}</title><style>figure svg{{display:block;width:100%;height:auto}}figure{{max-width:800px}}</style></head><body><main><header class="title"><h1>Monitoring report: {endpoint}</h1></header><section class="card" id="violations"><h2>Violations ({violations})</h2><table class="violations"><thead><tr><th>Feature</th><th>Check</th><th>Description</th></tr></thead><tbody>{table}</tbody></table></section><section class="card" id="confidence"><div class="charts"><figure class="chart wide" data-file="confidence-over-time.svg">{}</figure></div></section></main></body></html>"#,
        monitoring_svg(endpoint)
    );
    let files = [
        ("constraint_violations.json", serde_json::to_vec_pretty(&report["violations"]).expect("json")),
        ("index.html", index.into_bytes()),
        ("confidence-over-time.svg", monitoring_svg(endpoint).into_bytes()),
        ("report.json", serde_json::to_vec_pretty(&report).expect("json")),
    ];
    for (file, bytes) in files {
        let path = ObjectPath::parse(format!("monitoring/{endpoint}/reports/{id}/{file}")).expect("path");
        store.put(&path, Bytes::from(bytes)).await.expect("put");
    }
}

async fn with_monitoring(store: &DynObjectStore) {
    for (endpoint, id, created, violations) in MONITORING {
        write_monitoring_report(store, endpoint, id, created, violations).await;
    }
}

fn assert_security_headers(got: &Got) {
    let csp = got.headers.get(header::CONTENT_SECURITY_POLICY).expect("CSP header").to_str().expect("ascii");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        got.headers.get(header::X_CONTENT_TYPE_OPTIONS).map(axum::http::HeaderValue::as_bytes),
        Some(&b"nosniff"[..])
    );
    assert_eq!(
        got.headers.get(header::REFERRER_POLICY).map(axum::http::HeaderValue::as_bytes),
        Some(&b"no-referrer"[..])
    );
}

#[tokio::test]
async fn index_lists_monitoring_reports_beside_the_comparisons_newest_first() {
    let (_dir, store, app) = app().await;
    with_monitoring(&store).await;
    let got = get(&app, "/").await;
    got.assert_html(StatusCode::OK);
    let body = &got.body;
    assert!(position(body, r#"class="reports""#) < position(body, r#"class="monitoring""#), "after the comparisons");
    assert!(body.contains("Monitoring reports (2)"));
    let newer = position(body, r#"href="/monitoring/churn-ep/20261206T101500Z/""#);
    let older = position(body, r#"href="/monitoring/fraud-ep/20261206T081500Z/""#);
    assert!(newer < older, "newest first");
    assert!(body.contains(r#"<span class="badge worse">2</span>"#), "violations of the newer report");
    assert!(body.contains("2026-12-06T10:15:00Z") && body.contains("1,200"), "time and records");
    assert!(body.contains(r#"href="/monitoring/churn-ep/20261206T101500Z/files/report.md""#));
}

#[tokio::test]
async fn index_without_comparisons_still_lists_monitoring_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = support::store(dir.path());
    let app = web::router(store.clone());
    let got = get(&app, "/").await;
    got.assert_html(StatusCode::OK);
    assert!(got.body.contains("No monitoring reports yet"));
    with_monitoring(&store).await;
    let got = get(&app, "/").await;
    got.assert_html(StatusCode::OK);
    assert!(got.body.contains("No comparison reports yet") && got.body.contains("Monitoring reports (2)"));
    assert_eq!(got.body.matches(r#"class="monitoring-link""#).count(), 2);
}

#[tokio::test]
async fn monitoring_report_page_and_files_are_served_with_security_headers() {
    let (_dir, store, app) = app().await;
    with_monitoring(&store).await;
    let stored = store
        .get(&ObjectPath::parse("monitoring/churn-ep/reports/20261206T101500Z/index.html").expect("path"))
        .await
        .expect("stored page");
    for uri in ["/monitoring/churn-ep/20261206T101500Z/", "/monitoring/churn-ep/20261206T101500Z"] {
        let got = get(&app, uri).await;
        assert_eq!(got.status, StatusCode::OK, "{uri}: {}", got.body);
        assert!(got.content_type().starts_with("text/html"), "{uri}");
        assert_security_headers(&got);
        assert_eq!(got.body.as_bytes(), &stored.bytes[..], "{uri}: the stored page as it is");
        assert!(got.body.contains(r#"<table class="violations">"#) && got.body.contains("<svg"));
    }
    let cases = [
        ("confidence-over-time.svg", "image/svg+xml"),
        ("report.json", "application/json"),
        ("constraint_violations.json", "application/json"),
        ("index.html", "text/html"),
    ];
    for (file, ty) in cases {
        let got = get(&app, &format!("/monitoring/churn-ep/20261206T101500Z/files/{file}")).await;
        assert_eq!(got.status, StatusCode::OK, "{file}");
        assert!(got.content_type().starts_with(ty), "{file}: {}", got.content_type());
        assert_security_headers(&got);
    }
    let svg = get(&app, "/monitoring/churn-ep/20261206T101500Z/files/confidence-over-time.svg").await;
    assert!(svg.body.starts_with("<svg") && svg.body.contains("<title>Confidence per hour</title>"));
}

#[tokio::test]
async fn unknown_monitoring_reports_and_files_are_404_pages_naming_them() {
    let (_dir, store, app) = app().await;
    with_monitoring(&store).await;
    let cases = [
        ("/monitoring/churn-ep/20991231T000000Z/", "There is no monitoring report \"20991231T000000Z\""),
        ("/monitoring/no-such-ep/20261206T101500Z/", "\"no-such-ep\""),
        ("/monitoring/churn-ep/20261206T101500Z/files/nope.svg", "has no file \"nope.svg\""),
        ("/monitoring/churn-ep/20991231T000000Z/files/report.json", "There is no monitoring report"),
        (
            "/monitoring/churn-ep/20261206T101500Z/files/..%2F..%2Fbaseline%2Fstatistics.json",
            "baseline/statistics.json",
        ),
        ("/monitoring/churn-ep/20261206T101500Z/files/.hidden", ".hidden"),
        ("/monitoring/..%2Fsecret/x/", "../secret"),
    ];
    for (uri, named) in cases {
        let got = get(&app, uri).await;
        got.assert_html(StatusCode::NOT_FOUND);
        assert!(got.body.contains(&named.replace('"', "&quot;")), "{uri}: page names {named:?}: {}", got.body);
        assert_security_headers(&got);
    }
}

#[tokio::test]
async fn api_lists_monitoring_summaries_and_leaves_out_broken_ones() {
    let (_dir, store, app) = app().await;
    with_monitoring(&store).await;
    let broken = ObjectPath::parse("monitoring/churn-ep/reports/20261207T000000Z/report.json").expect("path");
    store.put(&broken, Bytes::from_static(b"{ not json")).await.expect("put");
    let got = get(&app, "/api/monitoring").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let list: Vec<MonitoringSummary> = serde_json::from_str(&got.body).expect("summaries");
    assert_eq!(
        list[0],
        MonitoringSummary {
            endpoint: "churn-ep".into(),
            id: "20261206T101500Z".into(),
            created: "2026-12-06T10:15:00Z".into(),
            records: 1200,
            decoded: 1198,
            skipped: 2,
            violations: 2,
            drifted: 1,
        }
    );
    assert_eq!(list.len(), 2, "the broken report is left out");
    assert_eq!(list[1].violations, 0);
    // The index still opens.
    get(&app, "/").await.assert_html(StatusCode::OK);
}

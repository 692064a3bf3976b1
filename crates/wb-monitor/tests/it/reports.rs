//! `reports`: writing, listing and reading monitoring reports in a local store.

use std::sync::Arc;

use wb_core::{DynObjectStore, LocalStore, ObjectPath};
use wb_monitor::reports::{self, MonitoringReportSummary};
use wb_monitor::statistics::Statistics;
use wb_monitor::violations::ConstraintViolations;
use wb_monitor::{Error, render};

use crate::render::{at, sample};

fn store(dir: &std::path::Path) -> DynObjectStore {
    Arc::new(LocalStore::open(dir).expect("open local store"))
}

async fn text(store: &DynObjectStore, path: &str) -> String {
    let got = store.get(&ObjectPath::parse(path).expect("path")).await.unwrap_or_else(|e| panic!("{path}: {e}"));
    String::from_utf8(got.bytes.to_vec()).expect("utf-8")
}

#[tokio::test]
async fn write_list_read_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let older = sample("churn-ep", "20261206T081500Z", at(8, 15));
    let newer = sample("churn-ep", "20261206T101500Z", at(10, 15));
    let mut other = sample("fraud-ep", "20261206T091500Z", at(9, 15));
    other.violations = ConstraintViolations::default();
    other.baseline = None;

    let prefix = reports::write(&store, &newer).await.expect("write");
    assert_eq!(prefix.to_string(), "monitoring/churn-ep/reports/20261206T101500Z");
    reports::write(&store, &older).await.expect("write");
    reports::write(&store, &other).await.expect("write");

    // Every file, in Model Monitor's formats where it has one.
    let base = "monitoring/churn-ep/reports/20261206T101500Z";
    let stats: Statistics =
        serde_json::from_str(&text(&store, &format!("{base}/statistics.json")).await).expect("statistics");
    assert_eq!(stats, newer.statistics);
    let violations: ConstraintViolations =
        serde_json::from_str(&text(&store, &format!("{base}/constraint_violations.json")).await).expect("violations");
    assert_eq!(violations, newer.violations);
    let raw: serde_json::Value =
        serde_json::from_str(&text(&store, &format!("{base}/constraint_violations.json")).await).expect("json");
    assert_eq!(raw["violations"][0]["constraint_check_type"], "baseline_drift_check");
    assert_eq!(text(&store, &format!("{base}/report.md")).await, render::markdown(&newer));
    assert_eq!(text(&store, &format!("{base}/index.html")).await, render::html(&newer));
    for chart in render::charts(&newer) {
        assert_eq!(text(&store, &format!("{base}/{}", chart.file)).await, chart.svg, "{}", chart.file);
    }

    // Listed newest first with their counts.
    let list = reports::list(&store).await.expect("list");
    let ids: Vec<(&str, &str)> = list.iter().map(|s| (s.endpoint.as_str(), s.id.as_str())).collect();
    assert_eq!(
        ids,
        [("churn-ep", "20261206T101500Z"), ("fraud-ep", "20261206T091500Z"), ("churn-ep", "20261206T081500Z")]
    );
    assert_eq!(
        list[0],
        MonitoringReportSummary {
            endpoint: "churn-ep".into(),
            id: "20261206T101500Z".into(),
            created: at(10, 15),
            counts: newer.counts.clone(),
            violations: 2,
            drifted: 2,
        }
    );
    assert_eq!(list[1].violations, 0);

    // Read back whole, the baseline statistics included when they were written.
    assert_eq!(reports::read(&store, "churn-ep", "20261206T101500Z").await.expect("read"), newer);
    assert_eq!(reports::read(&store, "fraud-ep", "20261206T091500Z").await.expect("read"), other);
}

#[tokio::test]
async fn unknown_reports_and_bad_names_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    assert!(reports::list(&store).await.expect("empty store lists").is_empty());
    reports::write(&store, &sample("churn-ep", "20261206T101500Z", at(10, 15))).await.expect("write");
    for (endpoint, id) in
        [("churn-ep", "20261206T111500Z"), ("other-ep", "20261206T101500Z"), ("churn-ep", "../x"), ("a/b", "1")]
    {
        let err = reports::read(&store, endpoint, id).await.expect_err("unknown");
        assert!(matches!(err, Error::UnknownReport { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(endpoint) && message.contains(id), "{message}");
    }
    let mut bad = sample("churn ep", "20261206T101500Z", at(10, 15));
    assert!(matches!(reports::write(&store, &bad).await, Err(Error::UnknownReport { .. })));
    bad.endpoint = "churn-ep".into();
    bad.id = "2026/12".into();
    assert!(matches!(reports::write(&store, &bad).await, Err(Error::UnknownReport { .. })));
    assert!(matches!(
        reports::report_file("churn-ep", "20261206T101500Z", ".hidden"),
        Err(Error::UnknownReport { .. })
    ));
}

#[tokio::test]
async fn a_report_json_that_does_not_parse_fails_the_list_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let path = ObjectPath::parse("monitoring/churn-ep/reports/20261206T101500Z/report.json").expect("path");
    store.put(&path, bytes::Bytes::from_static(b"{ not json")).await.expect("put");
    let err = reports::list(&store).await.expect_err("bad document");
    assert!(err.to_string().contains("report.json"), "{err}");
}

#[test]
fn baseline_paths_are_under_the_endpoint() {
    assert_eq!(
        reports::baseline_statistics_path("churn-ep").expect("path").to_string(),
        "monitoring/churn-ep/baseline/statistics.json"
    );
    assert_eq!(
        reports::baseline_constraints_path("churn-ep").expect("path").to_string(),
        "monitoring/churn-ep/baseline/constraints.json"
    );
    assert!(matches!(reports::baseline_statistics_path("../etc"), Err(Error::InvalidInput(_))));
    assert!(matches!(reports::baseline_constraints_path(""), Err(Error::InvalidInput(_))));
}

//! A store written before the backend interface (by `wb demo` at commit 9b35a2a, on
//! 2026-12-06: `tests/fixtures/store-2026-12-06/`, pruned of the report's rendered files) opens
//! unchanged: every record reads into today's types and writes back to the same JSON, and a
//! comparison of its three models through today's facade gives the old leaderboard.

use std::path::Path;

use serde_json::Value;
use workbench::prelude::*;

const FIXTURE: &str = "tests/fixtures/store-2026-12-06";
/// Where the store was written (`file://` URIs in records are absolute).
const WRITTEN_AT: &str = "file:///tmp/olddemo/.workbench";

/// Copies the fixture store below `dir`, moving its absolute `file://` URIs along, as moving a
/// store directory requires.
fn copy_store(from: &Path, to: &Path, uri: &str) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_store(&entry.path(), &target, uri);
        } else if entry.path().extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(entry.path()).expect("read");
            std::fs::write(&target, text.replace(WRITTEN_AT, uri)).expect("write");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_before_the_backend_interface_opens_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_dir = dir.path().join(".workbench");
    let uri = format!("file://{}", store_dir.display());
    copy_store(&Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), &store_dir, &uri);
    std::fs::write(dir.path().join("workbench.toml"), "[project]\nname = \"wb-demo\"\n").expect("config");
    let project =
        Project::open(LoadedConfig::load(&dir.path().join("workbench.toml")).expect("load")).await.expect("open");

    // Every record reads into today's types, and writes back as the same JSON.
    let jobs = project.training().list().await.expect("jobs");
    assert_eq!(jobs.len(), 3);
    for job in &jobs {
        assert_eq!(job.backend, BackendKind::Local);
        assert!(job.ended_at.is_some_and(|end| end >= job.created_at), "{job:?}");
        let stored = json(&store_dir.join(format!("training/{}/job.json", job.name)));
        assert_eq!(serde_json::to_value(job).expect("json"), stored, "job {} round-trips", job.name);
    }
    let endpoints = project.endpoints().list().await.expect("endpoints");
    assert_eq!(endpoints.len(), 3);
    for endpoint in &endpoints {
        let stored = json(&store_dir.join(format!("endpoints/{}.json", endpoint.name)));
        assert_eq!(serde_json::to_value(endpoint).expect("json"), stored, "endpoint {}", endpoint.name);
    }
    let models = project.registry().list().await.expect("models");
    assert_eq!(models.len(), 3);
    for model in &models {
        let stored = json(&store_dir.join(format!("registry/models/{}.json", model.name)));
        assert_eq!(serde_json::to_value(model).expect("json"), stored, "model {}", model.name);
    }
    let promoted = project.registry().promoted().await.expect("promoted").expect("a promotion");
    assert_eq!(serde_json::to_value(&promoted).expect("json"), json(&store_dir.join("registry/promoted.json")));
    assert_eq!(promoted.model.as_str(), "wine-forest");

    // The old report is listed and loads; today's comparison of the same models reproduces it.
    let reports = workbench::compare::reports::list(&project.store).await.expect("reports");
    assert_eq!(reports.len(), 1);
    let old = workbench::compare::reports::load(&project.store, &reports[0].id).await.expect("the old report");
    let options = workbench::compare::CompareOptions {
        seed: old.settings.seed,
        resamples: old.settings.resamples,
        confidence: old.settings.confidence,
        alpha: old.settings.alpha,
        slice_by: old.settings.slice_by.clone(),
        importance_budget: 0,
        ..Default::default()
    };
    let comparison = project.compare().options(options).await.expect("compare");
    let new = &comparison.report;
    assert_eq!(new.primary_metric, old.primary_metric);
    let board = |r: &workbench::compare::report::Report| -> Vec<(String, f64)> {
        r.leaderboard.iter().map(|e| (e.model.to_string(), e.value.unwrap_or(f64::NAN))).collect()
    };
    let (new_board, old_board) = (board(new), board(&old));
    assert_eq!(new_board.len(), 3);
    for ((new_model, new_value), (old_model, old_value)) in new_board.iter().zip(&old_board) {
        assert_eq!(new_model, old_model, "the same ranking: {new_board:?} vs {old_board:?}");
        assert!((new_value - old_value).abs() < 1e-12, "{new_model}: {new_value} vs {old_value}");
    }
    for (new_entry, old_entry) in new.leaderboard.iter().zip(&old.leaderboard) {
        assert_eq!(new_entry.interval, old_entry.interval, "the same seeded intervals");
        assert_eq!(new_entry.significantly_worse, old_entry.significantly_worse);
    }
    project.close().await.expect("close");
}

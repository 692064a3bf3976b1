//! End to end through the facade: synthesize → ingest → register → partition → load, and the
//! SageMaker channel agrees with the linfa loader row for row; train → deploy → register →
//! compare through `Project`.

use std::sync::Arc;

use workbench::etl::tabular::{IngestOptions, ingest_csv};
use workbench::prelude::*;

#[tokio::test]
async fn channel_rows_equal_the_linfa_encoding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("r.csv");
    let parquet = dir.path().join("r.parquet");
    workbench::etl::synth::write_readmission_csv(std::fs::File::create(&csv).expect("create"), 1_500, 3)
        .expect("synth");
    ingest_csv(&csv, &parquet, &IngestOptions::default()).expect("ingest");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let datasets = Datasets::new(store.clone());
    let name = DatasetName::parse("r").expect("name");
    datasets
        .register(RegisterRequest {
            name: name.clone(),
            source: parquet.display().to_string(),
            target: "readmitted".into(),
            key: None,
            missing: vec!["?".into()],
            new_version: false,
            exclude: Vec::new(),
            optional: Vec::new(),
        })
        .await
        .expect("register");
    let manifest = datasets.partition(&name).await.expect("partition").manifest;
    let dataset = datasets.open(&name).await.expect("open");
    let validation = dataset.validation().await.expect("validation").to_linfa_classification().expect("linfa");

    let channel = store.get(&manifest.split(Split::Validation).channel.path).await.expect("channel");
    let text = std::str::from_utf8(&channel.bytes).expect("utf8");
    let rows: Vec<Vec<f64>> =
        text.lines().map(|l| l.split(',').map(|v| v.parse().expect("number")).collect()).collect();
    assert_eq!(rows.len(), validation.records().nrows());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0] as usize, validation.targets()[i], "row {i}: target first");
        let features: Vec<f64> = validation.records().row(i).to_vec();
        assert_eq!(row[1..].len(), features.len());
        for (a, b) in row[1..].iter().zip(&features) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "row {i}: channel {a} vs loader {b}");
        }
    }
}

/// An experiment author's whole loop through the facade: train two models on the partition,
/// deploy and register them, serve them, and compare them on the held-out test split.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_deploy_register_and_compare_through_the_project() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(root.join("workbench.toml"), "[project]\nname = \"facade\"\n").expect("config");
    let project = Project::open(LoadedConfig::load(&root.join("workbench.toml")).expect("load")).await.expect("open");
    let csv = root.join("r.csv");
    workbench::etl::synth::write_readmission_csv(std::fs::File::create(&csv).expect("create"), 1_200, 5)
        .expect("synth");
    let name = DatasetName::parse("r").expect("name");
    project
        .datasets()
        .register(RegisterRequest {
            name: name.clone(),
            source: csv.display().to_string(),
            target: "readmitted".into(),
            key: Some("encounter_id".into()),
            missing: vec!["?".into()],
            new_version: false,
            exclude: Vec::new(),
            optional: Vec::new(),
        })
        .await
        .expect("register");
    project.datasets().partition(&name).await.expect("partition");
    for (model, algorithm) in [("facade-logistic", "logistic-regression"), ("facade-bayes", "gaussian-nb")] {
        let job = project.train(&name, algorithm).await.expect("train");
        let endpoint = EndpointName::parse(model).expect("endpoint");
        project.deploy(&job.name, &endpoint).await.expect("deploy");
        project.register(&ModelName::parse(model).expect("model"), &endpoint).await.expect("register");
    }
    // No server plumbing: the local backend starts its model server in this process.
    let comparison =
        project.compare().configure(|o| (o.resamples, o.importance_budget) = (100, 0)).await.expect("compare");
    let report = &comparison.report;
    assert_eq!(report.models.len(), 2);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.row_id_column.as_deref(), Some("encounter_id"));
    assert_eq!(comparison.predictions[0].rows.len(), report.test_rows);
    let location = project.save_report(&comparison).await.expect("write");
    assert!(std::path::Path::new(&location.index_html).exists(), "{location:?}");
    project.close().await.expect("close");
    assert!(project.backend().server().await.expect("status").is_none(), "the in-process server stopped");
}

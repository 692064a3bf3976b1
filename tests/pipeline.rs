//! End to end through the facade: synthesize → ingest → register → partition → load, and the
//! SageMaker channel agrees with the linfa loader row for row.

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

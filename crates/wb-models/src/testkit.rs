//! Test support for this crate's tests and `wb-serving`'s (feature `testkit`): a project
//! store in a temporary directory holding a registered, partitioned toy dataset.

use std::path::Path;
use std::sync::Arc;

use wb_core::{DatasetName, DynObjectStore, LocalStore};
use wb_datasets::{Datasets, PartitionSpec, RegisterRequest};

/// A store in a temporary directory with the partitioned dataset `toy`.
#[derive(Debug)]
pub struct ToyProject {
    /// The temporary directory (the store is its `store/`); removed when dropped.
    pub dir: tempfile::TempDir,
    /// The store.
    pub store: DynObjectStore,
    /// The dataset, `toy`.
    pub dataset: DatasetName,
}

/// Writes a binary dataset of `rows` rows to `path`: a numeric signal, a noise column, a
/// categorical column with missing values (`?`), and a target (`label`) that follows the
/// signal. Its key is `id`.
///
/// # Panics
/// When the file cannot be written.
pub fn write_toy_csv(path: &Path, rows: usize) {
    let mut text = String::from("id,signal,noise,colour,label\n");
    for i in 0..rows {
        let signal = ((i * 7919) % 1000) as f64 / 100.0;
        let noise = ((i * 104_729) % 97) as f64;
        let colour = if i % 11 == 0 { "?" } else { ["red", "green", "blue"][i % 3] };
        let label = if signal + if colour == "red" { 1.5 } else { 0.0 } > 5.5 { "yes" } else { "no" };
        text.push_str(&format!("{i},{signal},{noise},{colour},{label}\n"));
    }
    std::fs::write(path, text).expect("write csv");
}

/// A project with the toy dataset of [`write_toy_csv`] (`rows` rows) registered as `toy` and
/// partitioned.
///
/// # Panics
/// When the store cannot be created or the dataset registered or partitioned.
pub async fn toy_project(rows: usize) -> ToyProject {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let csv = dir.path().join("toy.csv");
    write_toy_csv(&csv, rows);
    let dataset = register_toy(&store, &csv, &["?"], PartitionSpec::default()).await;
    ToyProject { dir, store, dataset }
}

/// Registers the CSV file `csv` in `store` as the dataset `toy` (target `label`, key `id`,
/// `missing` as its missing-value markers) and partitions it with `spec`.
///
/// # Panics
/// When the dataset cannot be registered or partitioned.
pub async fn register_toy(store: &DynObjectStore, csv: &Path, missing: &[&str], spec: PartitionSpec) -> DatasetName {
    let dataset = DatasetName::parse("toy").expect("name");
    let datasets = Datasets::new(store.clone());
    datasets
        .register(RegisterRequest {
            name: dataset.clone(),
            source: csv.display().to_string(),
            target: "label".into(),
            key: Some("id".into()),
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
            new_version: false,
        })
        .await
        .expect("register");
    datasets.partition(&dataset).spec(spec).await.expect("partition");
    dataset
}

//! Generate a readmission-like CSV, ingest it to Parquet, register and partition it, then load
//! the training split as a linfa dataset — the library API an experiment binary uses.
//!
//! ```text
//! cargo run --example partition_readmission -- [ROWS] [DIR]
//! ```

use std::sync::Arc;

use workbench::etl::tabular::{IngestOptions, ingest_csv};
use workbench::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).map_or(Ok(20_000), |r| r.parse())?;
    let dir = std::env::args().nth(2).map_or_else(|| std::env::temp_dir().join("wb-example"), Into::into);
    std::fs::create_dir_all(&dir)?;

    let csv = dir.join("readmission.csv");
    let parquet = dir.join("readmission.parquet");
    workbench::etl::synth::write_readmission_csv(std::io::BufWriter::new(std::fs::File::create(&csv)?), rows, 42)?;
    let ingested = ingest_csv(&csv, &parquet, &IngestOptions::default())?;
    println!("ingested {} rows into {}", ingested.rows, parquet.display());

    let datasets = Datasets::new(Arc::new(LocalStore::open(&dir.join("store"))?));
    let name = DatasetName::parse("readmission")?;
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
        .await?;
    let outcome = datasets.partition(&name).await?;
    for split in Split::ALL {
        let s = outcome.manifest.split(split);
        println!("{split:<10} {:>8} rows {:?}", s.rows, s.class_counts);
    }
    let train = datasets.open(&name).await?.train().await?.to_linfa_classification()?;
    println!("train matrix {:?}, {} features", train.records().dim(), train.feature_names().len());
    Ok(())
}

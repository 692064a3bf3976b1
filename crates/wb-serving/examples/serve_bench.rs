//! Serving benchmark target: the model server on 127.0.0.1 with a hand-built 11-feature
//! logistic regression (the shape of `../shared/bench/anchor_serve_flask.py`'s model), for a
//! load generator such as `wrk`. `bench/serve.sh` runs it beside the gunicorn + Flask anchor.
//!
//! ```text
//! cargo run --release -p wb-serving --example serve_bench -- \
//!     [--addr 127.0.0.1:0] [--threads 2] [--capture DIR] [--sampling 100]
//! ```
//!
//! Prints `url=http://127.0.0.1:PORT` once listening; the endpoint is `bench`
//! (`POST /endpoints/bench/invocations`, and `POST /invocations`). With `--capture DIR` the
//! endpoint captures `--sampling` percent of its invocations into a local store at `DIR`.
//! Stops gracefully on SIGINT/SIGTERM and prints the server's report.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use wb_core::{ContentHash, DatasetName, LocalStore};
use wb_datasets::{Encoding, FeatureEncoding, FeatureKind, Task};
use wb_models::model::LinearModel;
use wb_models::{FittedModel, ModelArtifact, ModelMetadata, ModelSchema};
use wb_serving::capture::CaptureConfig;
use wb_serving::server::{LoadedEndpoint, ModelServer};

const FEATURES: [&str; 11] = [
    "fixed_acidity",
    "volatile_acidity",
    "citric_acid",
    "residual_sugar",
    "chlorides",
    "free_sulfur_dioxide",
    "total_sulfur_dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
];

fn artifact() -> Result<ModelArtifact, Box<dyn std::error::Error>> {
    let features = FEATURES
        .iter()
        .map(|name| FeatureEncoding {
            name: (*name).to_owned(),
            source_type: "Float64".into(),
            kind: FeatureKind::Numeric { impute: 0.0 },
        })
        .collect();
    let schema = ModelSchema {
        dataset: DatasetName::parse("bench")?,
        fingerprint: ContentHash::of_bytes(b"bench"),
        version: 1,
        target: "y".into(),
        task: Task::Classification { classes: vec!["0".into(), "1".into()] },
        features: Encoding(features),
        missing: vec![],
        image: None,
        optional: Vec::new(),
    };
    let weights = (0..FEATURES.len()).map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
    let model =
        FittedModel::Logistic { classes: 2, linear: LinearModel { weights: vec![weights], intercepts: vec![0.1] } };
    let metadata = ModelMetadata {
        algorithm: "logistic-regression".into(),
        hyperparameters: BTreeMap::new(),
        job: None,
        validation_metrics: BTreeMap::new(),
        train_rows: 0,
        trained_at: "1970-01-01T00:00:00Z".into(),
        workbench_version: env!("CARGO_PKG_VERSION").into(),
    };
    Ok(ModelArtifact { model, schema, metadata })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: serve_bench [--addr HOST:PORT] [--threads N] [--capture DIR] [--sampling PCT]";
    let mut addr: SocketAddr = "127.0.0.1:0".parse()?;
    let mut threads = 2_usize;
    let mut capture: Option<PathBuf> = None;
    let mut sampling = 100_u8;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        match flag.as_str() {
            "--addr" => addr = value.parse()?,
            "--threads" => threads = value.parse()?,
            "--capture" => capture = Some(PathBuf::from(value)),
            "--sampling" => sampling = value.parse()?,
            _ => return Err(usage.into()),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?;
    runtime.block_on(async move {
        let config = capture.is_some().then(|| CaptureConfig::new(sampling)).transpose()?;
        let endpoint = Arc::new(LoadedEndpoint::new("bench", "AllTraffic", Arc::new(artifact()?), config)?);
        let mut builder = ModelServer::single(endpoint);
        if let Some(dir) = &capture {
            builder = builder.capture_store(Arc::new(LocalStore::open(dir)?));
        }
        let running = builder.build().bind(addr).await?;
        println!("url={}", running.url());
        std::io::stdout().flush()?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let report = running.shutdown().await?;
        eprintln!("{report:?}");
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}

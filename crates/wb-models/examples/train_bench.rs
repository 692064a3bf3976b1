//! Training benchmark: fit each algorithm on a train channel CSV (target first, no header) and
//! report the fit time and the validation metrics on a validation channel CSV. `bench/train.sh`
//! runs it beside scikit-learn on the same files.
//!
//! ```text
//! cargo run --release -p wb-models --example train_bench -- TRAIN.csv VALIDATION.csv \
//!     [--classes K] [--algorithms a,b,...] [--set algorithm.key=value ...]
//! ```
//!
//! One line per algorithm: `ours <algorithm> <seconds> s auc <auc> accuracy <accuracy>`, or with
//! `--classes 0` (a regression target) `ours <algorithm> <seconds> s r2 <r2> rmse <rmse>`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use wb_models::algorithm::{Algorithm, TrainParams, TrainingData, fit, task_defaults};
use wb_models::metrics::validation_metrics;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: train_bench TRAIN.csv VALIDATION.csv [--classes K] [--algorithms a,b] [--set alg.key=value]";
    let train_path = PathBuf::from(args.next().ok_or(usage)?);
    let validation_path = PathBuf::from(args.next().ok_or(usage)?);
    let mut classes = 2_usize;
    let mut algorithms: Vec<Algorithm> =
        vec![Algorithm::LogisticRegression, Algorithm::DecisionTree, Algorithm::RandomForest, Algorithm::GaussianNb];
    let mut hyperparameters: BTreeMap<Algorithm, BTreeMap<String, String>> = BTreeMap::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        match flag.as_str() {
            "--classes" => classes = value.parse()?,
            "--algorithms" => algorithms = value.split(',').map(Algorithm::parse).collect::<Result<_, _>>()?,
            "--set" => {
                let (name, assignment) = value.split_once('.').ok_or(usage)?;
                let (key, v) = assignment.split_once('=').ok_or(usage)?;
                hyperparameters.entry(Algorithm::parse(name)?).or_default().insert(key.to_owned(), v.to_owned());
            }
            _ => return Err(usage.into()),
        }
    }

    let started = Instant::now();
    let task = (classes > 0).then_some(classes);
    let train = TrainingData::read_channel_csv(&train_path, task)?;
    let validation = TrainingData::read_channel_csv(&validation_path, task)?;
    println!(
        "read {} train and {} validation rows × {} features in {:.2} s",
        train.n_rows(),
        validation.n_rows(),
        train.n_features(),
        started.elapsed().as_secs_f64()
    );
    for algorithm in algorithms {
        let mut given = hyperparameters.get(&algorithm).cloned().unwrap_or_default();
        for (key, value) in task_defaults(algorithm, classes, &given) {
            given.insert(key.to_owned(), value);
        }
        let params = TrainParams::from_map(algorithm, &given)?;
        let started = Instant::now();
        let model = fit(&params, &train)?;
        let seconds = started.elapsed().as_secs_f64();
        let metrics = validation_metrics(&model, &validation);
        let metric = |name: &str| metrics.get(name).map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        let (first, second) = if classes > 0 { ("auc", "accuracy") } else { ("r2", "rmse") };
        println!(
            "ours    {:<22} {seconds:>9.2} s  {first} {}  {second} {}  ({})",
            algorithm.name(),
            metric(first),
            metric(second),
            params.to_map().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

//! An experiment author's whole loop through the facade, on the local backend: partition once →
//! train → deploy → register → compare on the held-out test split → promote → clean.
//!
//! `cargo run --example experiment_loop [DIR]` (default: a fresh temporary directory).

use std::path::Path;

use workbench::prelude::*;

/// Runs the loop in `dir`; returns the promoted model.
pub(crate) async fn run(dir: &Path) -> Result<ModelName, Box<dyn std::error::Error>> {
    std::fs::write(dir.join("workbench.toml"), "[project]\nname = \"loop\"\n")?;
    let project = Project::open(LoadedConfig::load(&dir.join("workbench.toml"))?).await?;
    let csv = dir.join("readmission.csv");
    workbench::etl::synth::write_readmission_csv(std::fs::File::create(&csv)?, 2_000, 7)?;
    let dataset = DatasetName::parse("readmission")?;
    let source = csv.display().to_string();
    let (target, key) = ("readmitted".into(), Some("encounter_id".into()));
    let missing = vec!["?".into()];
    let request = RegisterRequest {
        name: dataset.clone(),
        source,
        target,
        key,
        missing,
        new_version: false,
        exclude: Vec::new(),
        optional: Vec::new(),
    };
    project.datasets().register(request).await?;
    project.datasets().partition(&dataset).await?; // once: train / validation / test
    for (name, algorithm) in [("loop-logistic", "logistic-regression"), ("loop-tree", "decision-tree")] {
        let job = project.train(&dataset, algorithm).on_progress(|p| println!("{} {}", p.job, p.secondary_status));
        let job = job.await?;
        let endpoint = project.deploy(&job.name, &EndpointName::parse(name)?).capture(20).await?;
        project.register(&ModelName::parse(name)?, &endpoint.name).description(algorithm).await?;
    }
    // Scored through the endpoints; the local backend starts its model server in-process.
    let comparison = project.compare().configure(|o| o.resamples = 200).await?;
    let report = project.save_report(&comparison).await?;
    let best = comparison.report.best().ok_or("no model was ranked")?.model.clone();
    let promoted = project.promote(&best).await?;
    println!("promoted {} on the evidence of {}", promoted.promotion.model, report.index_html);
    let cleaned = project.clean(CleanOptions { all: true, keep_promoted: false }, false).await?;
    println!("removed {} items", cleaned.plan.items.len());
    project.close().await?;
    Ok(best)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let dir = std::env::args().nth(1).map_or_else(|| temp.path().to_owned(), Into::into);
    std::fs::create_dir_all(&dir)?;
    run(&dir).await?;
    Ok(())
}

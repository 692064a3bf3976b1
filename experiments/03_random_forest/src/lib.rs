//! Experiment 03 — a random forest on the wine-quality partitions.
//!
//! The template of an experiment: load the dataset's registered partitions, train, deploy,
//! register. Copy the directory, rename the package, change the algorithm and its
//! hyperparameters. Run it inside a project (`wb demo` makes one):
//!
//! ```text
//! cargo run -p exp-03-random-forest        # uses ./workbench.toml or $WB_CONFIG
//! ```

use workbench::prelude::*;

/// The dataset this experiment learns (partitioned once by `wb dataset partition`).
pub const DATASET: &str = "wine-quality";
/// The endpoint it deploys to, and the name it registers under.
pub const NAME: &str = "wine-forest";

/// Trains, deploys and registers the model; returns its registration.
///
/// # Errors
/// An unpartitioned dataset, a failed training job, or a store error.
pub async fn run(project: &Project) -> Result<workbench::Registered, workbench::Error> {
    let dataset = DatasetName::parse(DATASET)?;
    // Training reads the train and validation channels of the one partition; never the test split.
    let job = project
        .train(&dataset, "random-forest")
        .hyperparameter("num_trees", "100")
        .hyperparameter("max_depth", "10")
        .hyperparameter("seed", "7")
        .await?;
    let endpoint = project.deploy(&job.name, &EndpointName::parse(NAME)?).await?;
    let model = project
        .register(&ModelName::parse(NAME)?, &endpoint.name)
        .description("A random forest of 100 trees of depth at most 10.")
        .replace(true)
        .await?;
    Ok(model)
}

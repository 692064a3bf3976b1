//! Experiment 04 — gradient-boosted trees (`xgboost`) on the wine-quality partitions.
//!
//! The same code trains locally (the workbench's histogram gradient boosting) and on SageMaker
//! (the built-in XGBoost): the hyperparameters are SageMaker XGBoost's names and meanings, and
//! the objective (`binary:logistic` here) and metric follow from the dataset's task. Run it
//! inside a project (`wb demo` makes one):
//!
//! ```text
//! cargo run -p exp-04-xgboost        # uses ./workbench.toml or $WB_CONFIG
//! ```

use workbench::prelude::*;

/// The dataset this experiment learns (partitioned once by `wb dataset partition`).
pub const DATASET: &str = "wine-quality";
/// The endpoint it deploys to, and the name it registers under.
pub const NAME: &str = "wine-xgboost";

/// Trains, deploys and registers the model; returns its registration.
///
/// # Errors
/// An unpartitioned dataset, a failed training job, or a store error.
pub async fn run(project: &Project) -> Result<workbench::Registered, workbench::Error> {
    let dataset = DatasetName::parse(DATASET)?;
    // Early stopping watches the validation channel's AUC; the test split is never read here.
    let job = project
        .train(&dataset, "xgboost")
        .hyperparameter("num_round", "300")
        .hyperparameter("max_depth", "5")
        .hyperparameter("eta", "0.1")
        .hyperparameter("subsample", "0.8")
        .hyperparameter("colsample_bytree", "0.8")
        .hyperparameter("early_stopping_rounds", "20")
        .hyperparameter("seed", "7")
        .await?;
    let endpoint = project.deploy(&job.name, &EndpointName::parse(NAME)?).await?;
    let model = project
        .register(&ModelName::parse(NAME)?, &endpoint.name)
        .description("Gradient-boosted trees: up to 300 rounds of depth 5, eta 0.1, early stopping on validation AUC.")
        .replace(true)
        .await?;
    Ok(model)
}

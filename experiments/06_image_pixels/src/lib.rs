//! Experiment 06 — the pixel-logistic baseline on the digit images.
//!
//! Trains `image-logistic` on the partitions of the image dataset `digits` (`wb demo images` makes
//! it from the shipped UCI digits), deploys it to an endpoint that answers `image/png` requests
//! with SageMaker's JSON array of class probabilities, and registers it for the comparison.
//! `num_classes`, `num_training_samples` and `image_shape` come from the partition.
//!
//! ```text
//! cargo run -p exp-06-image-pixels        # uses ./workbench.toml or $WB_CONFIG
//! ```

use workbench::prelude::*;

/// The image dataset this experiment learns (partitioned once by `wb dataset partition`).
pub const DATASET: &str = "digits";
/// The endpoint it deploys to, and the name it registers under.
pub const NAME: &str = "digits-pixels";

/// Trains, deploys and registers the model; returns its registration.
///
/// # Errors
/// An unpartitioned dataset, a failed training job, or a store error.
pub async fn run(project: &Project) -> Result<workbench::Registered, workbench::Error> {
    let dataset = DatasetName::parse(DATASET)?;
    // Training reads the train and validation channels (images and .lst); never the test split.
    let job = project
        .train(&dataset, "image-logistic")
        .hyperparameter("epochs", "20")
        .hyperparameter("learning_rate", "0.01")
        .hyperparameter("mini_batch_size", "32")
        .await?;
    let endpoint = project.deploy(&job.name, &EndpointName::parse(NAME)?).await?;
    let model = project
        .register(&ModelName::parse(NAME)?, &endpoint.name)
        .description("Multinomial logistic regression on the normalised raw pixels: the baseline a network must beat.")
        .replace(true)
        .await?;
    Ok(model)
}

//! `cargo run -p exp-04-xgboost`: see the library docs.

use workbench::Project;

#[tokio::main]
async fn main() -> Result<(), workbench::Error> {
    let project = Project::discover().await?;
    let model = exp_04_xgboost::run(&project).await?;
    println!(
        "registered {} ({}) at endpoint {} on the {} backend",
        model.name,
        model.algorithm,
        model.endpoint,
        project.kind()
    );
    println!("validation {:?}", model.validation_metrics);
    if let Some(package) = &model.mirror {
        println!("model package {package}");
    }
    // Stops what this run started in-process (none here: `wb serve` or SageMaker serves it).
    project.close().await
}

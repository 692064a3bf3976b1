//! `cargo run -p exp-06-image-pixels`: see the library docs.

use workbench::Project;

#[tokio::main]
async fn main() -> Result<(), workbench::Error> {
    let project = Project::discover().await?;
    let model = exp_06_image_pixels::run(&project).await?;
    println!(
        "registered {} ({}) at endpoint {} on the {} backend",
        model.name,
        model.algorithm,
        model.endpoint,
        project.kind()
    );
    println!("validation {:?}", model.validation_metrics);
    project.close().await
}

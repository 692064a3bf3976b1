//! `cargo run -p exp-03-random-forest`: see the library docs.

use workbench::Project;

#[tokio::main]
async fn main() -> Result<(), workbench::Error> {
    let project = Project::discover().await?;
    let model = exp_03_random_forest::run(&project).await?;
    println!("registered {} ({}) at endpoint {}", model.name, model.algorithm, model.endpoint);
    println!("validation {:?}", model.validation_metrics);
    if !workbench::models::local::status(&project.store).await?.is_some_and(|s| s.up) {
        println!("the local server is not running: start it with `wb serve` to invoke the endpoint");
    }
    Ok(())
}

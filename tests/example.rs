//! `examples/experiment_loop.rs` runs end to end and leaves nothing behind.

#[path = "../examples/experiment_loop.rs"]
#[expect(dead_code, reason = "the example's own main is not called here")]
mod example;

use workbench::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_experiment_loop_example_runs_and_cleans_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let best = example::run(dir.path()).await.expect("the loop runs");
    assert!(["loop-logistic", "loop-tree"].contains(&best.as_str()), "{best}");
    let project =
        Project::open(LoadedConfig::load(&dir.path().join("workbench.toml")).expect("config")).await.expect("open");
    assert!(project.registry().list().await.expect("models").is_empty(), "clean removed the models");
    assert!(project.training().list().await.expect("jobs").is_empty(), "and the jobs");
    assert!(project.datasets().list().await.expect("datasets").is_empty(), "and, with all, the dataset");
    assert!(project.backend().server().await.expect("server").is_none(), "the in-process server stopped");
    assert_eq!(project.inventory().await.expect("inventory"), Vec::new());
}

//! The local backend passes the backend conformance suite, and follows and stops its jobs.

use std::time::Duration;

use wb_models::training::{JobStatus, TrainingJobs};
use wb_serving::backend::{Backend, LocalBackend, TrainControl, TrainJob};
use wb_serving::testkit::{BackendFixture, NoHooks, backend_conformance};

use wb_models::testkit::toy_project;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_backend_passes_the_conformance_suite() {
    let p = toy_project(600).await;
    let backend = LocalBackend::new(p.store.clone());
    let fixture = BackendFixture::new(p.dataset.clone(), "logistic-regression", "4.2,17,red");
    backend_conformance(&backend, &fixture, &NoHooks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_local_job_is_recorded_stopped_without_a_model() {
    let p = toy_project(600).await;
    let backend = LocalBackend::new(p.store.clone());
    let job = wb_core::JobName::parse("toy-stopped").expect("job");
    // Cancelled at once: the job is recorded, then stopped before it can store a model.
    let control = TrainControl::default().cancel_on(async {});
    let err = backend
        .train(TrainJob::new(p.dataset.clone(), "random-forest").job_name(Some(job.clone())), control)
        .await
        .expect_err("cancelled");
    assert!(err.to_string().contains("stopped on request"), "{err}");
    let record = TrainingJobs::new(p.store.clone()).get(&job).await.expect("record");
    assert_eq!(record.status, JobStatus::Stopped);
    assert_eq!(record.model_artifact, None);
    // Give the abandoned fit time to finish: nothing of it reaches the store.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let artifact = wb_models::layout::model_artifact(&job);
    assert!(!p.store.exists(&artifact).await.expect("exists"), "no model.tar.gz of a stopped job");
}

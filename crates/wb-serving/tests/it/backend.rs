//! The local backend passes the backend conformance suite, and follows and stops its jobs.

use std::time::Duration;

use wb_models::training::{JobStatus, TrainingJobs};
use wb_serving::backend::{
    Backend, LocalBackend, MonitoringAnalyzer, MonitoringScheduleRequest, TrainControl, TrainJob,
};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_backend_refuses_to_schedule_monitoring_and_says_what_to_do_instead() {
    let p = toy_project(50).await;
    let backend = LocalBackend::new(p.store.clone());
    assert!(!backend.capabilities().scheduled_monitoring);
    let endpoint = wb_core::EndpointName::parse("toy-endpoint").expect("endpoint");
    let request = MonitoringScheduleRequest::new(endpoint.clone()).expect("request");
    // The request carries the workbench's layout and defaults.
    assert_eq!(request.baseline_statistics.as_str(), "monitoring/toy-endpoint/baseline/statistics.json");
    assert_eq!(request.baseline_constraints.as_str(), "monitoring/toy-endpoint/baseline/constraints.json");
    assert_eq!(request.output.as_str(), "monitoring/toy-endpoint/reports");
    assert_eq!(request.schedule_expression, "cron(0 * ? * * *)");
    assert_eq!(
        (request.instance_type.as_str(), request.instance_count, request.volume_size_gb),
        ("ml.m5.xlarge", 1, 20)
    );
    assert_eq!(request.max_runtime, Duration::from_secs(3600));
    assert_eq!(request.analyzer, MonitoringAnalyzer::ModelMonitor);

    let err = backend.schedule_monitoring(request).await.expect_err("refused");
    assert!(
        matches!(&err, wb_serving::Error::Unsupported { operation: "scheduled monitoring", backend, .. } if backend == "local"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "scheduled monitoring is not available on the local backend: schedules need the sagemaker backend; locally, \
         run `wb monitor run --endpoint toy-endpoint` on a timer (cron or a systemd timer)"
    );
    // Nothing was created.
    assert!(backend.inventory().await.expect("inventory").is_empty());
}

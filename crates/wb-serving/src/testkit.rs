//! The backend conformance suite (feature `testkit`): the one contract every
//! [`Backend`] passes, the local backend in `wb-serving`'s tests, the SageMaker backend in
//! `wb-aws`'s against moto, and a backend a user writes in theirs.
//!
//! [`backend_conformance`] runs the whole life of a model on a partitioned dataset: train (the
//! job record's status, backend, dataset, partition fingerprint, channels without the test split,
//! artefact in the store's layout, progress reported) → deploy with data capture (the endpoint's
//! record) → invoke through the backend's one invocation interface (a CSV row answered with
//! numbers) → register and mirror → promote and mirror → inventory (something to clean) → clean
//! (the backend's part, then the store's) leaves nothing: an empty inventory, no job, endpoint or
//! model record, an endpoint that no longer answers. A backend without
//! [`Capabilities::scheduled_monitoring`](crate::backend::Capabilities) refuses to schedule
//! monitoring with [`Error::Unsupported`](crate::Error::Unsupported).
//!
//! Where a backend is emulated (moto trains and hosts nothing), [`ConformanceHooks`] put a real
//! artefact where the service would have written it and queue the answers it should give.
//!
//! ```no_run
//! # async fn example(store: wb_core::DynObjectStore, dataset: wb_core::DatasetName) {
//! use wb_serving::backend::LocalBackend;
//! use wb_serving::testkit::{BackendFixture, NoHooks, backend_conformance};
//!
//! let backend = LocalBackend::new(store);
//! let fixture = BackendFixture::new(dataset, "logistic-regression", "0.5,1.0,red");
//! backend_conformance(&backend, &fixture, &NoHooks).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wb_core::{EndpointName, JobName, ModelName};
use wb_models::layout;
use wb_models::registry::Registry;
use wb_models::training::{JobRecord, JobStatus, TrainingJobs};

use crate::backend::{Backend, DeployEndpoint, MonitoringScheduleRequest, TrainControl, TrainJob, TrainingProgress};
use crate::clean::{self, CleanOptions};
use crate::endpoints::{EndpointRecord, Endpoints};
use crate::invoke::InvokeRequest;

/// What the suite trains and sends.
#[derive(Clone, Debug)]
pub struct BackendFixture {
    /// A registered and partitioned dataset in the backend's store.
    pub dataset: wb_core::DatasetName,
    /// The algorithm to train.
    pub algorithm: String,
    /// Its hyperparameters.
    pub hyperparameters: BTreeMap<String, String>,
    /// One CSV row of the dataset's feature columns (raw values, as a client sends them).
    pub sample: String,
    /// Whether the backend reports validation metrics on the job record (moto reports none).
    pub expect_metrics: bool,
    /// The names of the job, endpoint and model (a prefix; the suite appends `-job`, ...).
    pub prefix: String,
}

impl BackendFixture {
    /// `algorithm` on `dataset`, invoked with `sample`; validation metrics expected.
    #[must_use]
    pub fn new(dataset: wb_core::DatasetName, algorithm: &str, sample: &str) -> Self {
        Self {
            dataset,
            algorithm: algorithm.to_owned(),
            hyperparameters: BTreeMap::new(),
            sample: sample.to_owned(),
            expect_metrics: true,
            prefix: "conformance".to_owned(),
        }
    }
}

/// What an emulated backend needs done between the suite's steps.
#[async_trait::async_trait]
pub trait ConformanceHooks: Send + Sync {
    /// After `job` completed (an emulator puts a real `model.tar.gz` where the service would).
    async fn after_train(&self, job: &JobRecord) {
        let _ = job;
    }

    /// Before `endpoint` is invoked with `body` (an emulator queues the answer).
    async fn before_invoke(&self, endpoint: &EndpointRecord, body: &str) {
        let _ = (endpoint, body);
    }
}

/// No hooks: a backend that really trains and hosts.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl ConformanceHooks for NoHooks {}

/// Runs the contract against `backend`; panics with what broke it.
///
/// # Panics
/// When the backend breaks the contract.
pub async fn backend_conformance(backend: &dyn Backend, fixture: &BackendFixture, hooks: &dyn ConformanceHooks) {
    let store = backend.store().clone();
    let kind = backend.kind();
    let name = |suffix: &str| format!("{}-{suffix}", fixture.prefix);
    let job_name = JobName::parse(name("job")).expect("a valid job name");
    let endpoint = EndpointName::parse(name("endpoint")).expect("a valid endpoint name");
    let model = ModelName::parse(name("model")).expect("a valid model name");
    let tags = BTreeMap::from([(wb_core::PROJECT_TAG.to_owned(), fixture.prefix.clone())]);
    let partition = wb_datasets::Datasets::new(store.clone())
        .open(&fixture.dataset)
        .await
        .expect("the fixture's dataset is partitioned")
        .manifest()
        .clone();

    // Train, following the progress.
    let seen: Arc<Mutex<Vec<TrainingProgress>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let control = TrainControl::default().on_progress(move |p| sink.lock().expect("progress").push(p.clone()));
    let job = backend
        .train(
            TrainJob::new(fixture.dataset.clone(), fixture.algorithm.clone())
                .hyperparameters(fixture.hyperparameters.clone())
                .job_name(Some(job_name.clone()))
                .tags(tags.clone()),
            control,
        )
        .await
        .expect("the training job completes");
    assert_eq!(job.name, job_name);
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.backend, kind, "the job records its backend");
    assert_eq!(job.dataset, fixture.dataset);
    assert_eq!(job.fingerprint, partition.fingerprint, "the job names the partition it trained on");
    assert!(
        job.channels.contains_key("train") && job.channels.contains_key("validation"),
        "train and validation channels: {:?}",
        job.channels
    );
    assert!(!job.channels.contains_key("test"), "the test split never reaches training: {:?}", job.channels);
    let artifact = store.uri().object_uri(&layout::model_artifact(&job_name));
    assert_eq!(job.model_artifact.as_deref(), Some(artifact.as_str()), "the artefact in the store's layout");
    if fixture.expect_metrics {
        assert!(!job.metrics.is_empty(), "validation metrics on the record");
    }
    assert!(job.metrics.values().all(|v| !v.is_nan()), "{:?}", job.metrics);
    assert_eq!(TrainingJobs::new(store.clone()).get(&job_name).await.expect("the job's record"), job);
    {
        let seen = seen.lock().expect("progress");
        assert!(!seen.is_empty(), "progress was reported");
        assert!(seen.iter().all(|p| p.job == job_name.as_str()), "{seen:?}");
        assert_eq!(seen.last().map(|p| p.status.as_str()), Some("Completed"), "{seen:?}");
    }
    hooks.after_train(&job).await;

    // A job's name is taken once.
    let again = backend
        .train(
            TrainJob::new(fixture.dataset.clone(), fixture.algorithm.clone()).job_name(Some(job_name.clone())),
            TrainControl::default(),
        )
        .await;
    assert!(again.is_err(), "a second job of the same name is refused");

    // Deploy with capture.
    let deployed = backend
        .deploy(DeployEndpoint::new(job_name.clone(), endpoint.clone(), tags.clone()).capture(Some(100)))
        .await
        .expect("the model is deployed");
    assert_eq!(deployed.name, endpoint);
    assert_eq!(deployed.job, job_name);
    assert_eq!(deployed.backend, kind, "the endpoint records its backend");
    assert_eq!(deployed.fingerprint, partition.fingerprint);
    assert_eq!(deployed.capture.as_ref().map(|c| c.sampling_percentage), Some(100));
    assert_eq!(Endpoints::new(store.clone()).get(&endpoint).await.expect("the endpoint's record"), deployed);

    // Invoke through the one interface.
    let serving = backend.serving().await.expect("endpoints can be invoked");
    hooks.before_invoke(&deployed, &fixture.sample).await;
    let response = serving
        .invoker
        .invoke_endpoint(
            endpoint.as_str(),
            InvokeRequest {
                content_type: "text/csv".into(),
                body: fixture.sample.clone().into_bytes().into(),
                ..Default::default()
            },
        )
        .await
        .expect("the endpoint answers");
    let text = String::from_utf8(response.body.to_vec()).expect("a text answer");
    let numbers: Vec<f64> =
        text.trim().split(',').map(|v| v.trim().parse().expect("the answer is CSV numbers")).collect();
    assert!(!numbers.is_empty() && numbers.iter().all(|v| v.is_finite()), "{text:?}");
    let status = backend.endpoint_status(&deployed).await.expect("the endpoint's status");
    assert!(status.answers, "the deployed endpoint answers: {status:?}");
    assert!(
        status.url.as_deref().is_some_and(|u| u.ends_with(&format!("/endpoints/{endpoint}/invocations"))),
        "{status:?}"
    );

    // Register and promote, mirrored by the backend.
    let registry = Registry::new(store.clone());
    let record = registry
        .register(&model, &endpoint)
        .description("the conformance suite's model")
        .tags(tags.clone())
        .await
        .expect("registered");
    assert_eq!(record.backend, kind, "the model records its backend");
    assert_eq!(record.job, job_name);
    if let Some(mirror) = backend.mirror_registration(&record).await.expect("the registration is mirrored") {
        assert!(!mirror.is_empty());
    }
    let promotion = registry.promote(&model, None, BTreeMap::new()).await.expect("promoted");
    assert_eq!(promotion.endpoint, endpoint);
    if let Some(mirror) = backend.mirror_promotion(&model, "conformance").await.expect("the promotion is mirrored") {
        assert!(!mirror.is_empty());
    }

    // Scheduled monitoring: a backend without it refuses, saying what to do instead (a backend
    // with it is tested against its service's own requests; emulators cannot run schedules).
    if !backend.capabilities().scheduled_monitoring {
        let request = MonitoringScheduleRequest::new(endpoint.clone()).expect("a schedule request");
        let err = backend.schedule_monitoring(request).await.expect_err("no scheduled monitoring");
        assert!(matches!(err, crate::Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains(&format!("wb monitor run --endpoint {endpoint}")), "{err}");
    }

    // Inventory, a dry run and a clean that keeps the promoted model change nothing serving it.
    let inventory = backend.inventory().await.expect("inventory");
    assert!(!inventory.is_empty(), "the backend lists what it created");
    backend.clean(true, None).await.expect("a dry run");
    backend.clean(false, Some(&promotion)).await.expect("a clean keeping the promoted model");
    assert!(backend.endpoint_status(&deployed).await.expect("status").answers, "the promoted model still answers");

    // Clean: the backend's part, then the store's, leaves nothing.
    backend.clean(false, None).await.expect("the backend cleans");
    clean::execute_with(&store, CleanOptions { all: false, keep_promoted: false }).await.expect("the store cleans");
    assert_eq!(backend.inventory().await.expect("inventory"), Vec::new(), "nothing is left");
    assert!(TrainingJobs::new(store.clone()).list().await.expect("jobs").is_empty(), "no job records");
    assert!(Endpoints::new(store.clone()).list().await.expect("endpoints").is_empty(), "no endpoint records");
    assert!(registry.list().await.expect("models").is_empty(), "no model records");
    assert!(!backend.endpoint_status(&deployed).await.expect("status").answers, "the endpoint is gone");
    backend.close().await.expect("the backend closes");
}

//! The SageMaker backend passes the backend conformance suite against moto.
//!
//! moto trains and hosts nothing, so the hooks do what SageMaker would have done: after a job
//! "completes", a real `model.tar.gz` (trained by the workbench's own trainer on the same
//! partition) goes where SageMaker writes it, and before an invocation moto is given the answer
//! the endpoint should return. Everything else — the calls, the records, the mirror, the
//! inventory by tag and the clean-up — is the backend's own work.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use wb_aws::backend::SageMakerBackend;
use wb_aws::testkit::Moto;
use wb_aws::{Encryption, S3Store};
use wb_core::{BackendKind, Config, DynObjectStore, JobName, LoadedConfig, ObjectPath};
use wb_datasets::PartitionSpec;
use wb_models::testkit::register_toy;
use wb_models::training::{JobRecord, TrainingJobs};
use wb_serving::endpoints::EndpointRecord;
use wb_serving::testkit::{BackendFixture, ConformanceHooks, backend_conformance};

const ROLE: &str = "arn:aws:iam::123456789012:role/wb-test";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:test";

struct MotoHooks<'a> {
    moto: &'a Moto,
    store: DynObjectStore,
}

#[async_trait::async_trait]
impl ConformanceHooks for MotoHooks<'_> {
    async fn after_train(&self, job: &JobRecord) {
        let twin = TrainingJobs::new(self.store.clone())
            .train(&job.dataset, &job.algorithm)
            .job_name(JobName::parse(format!("{}-twin", job.name)).expect("twin name"))
            .await
            .expect("the twin trains locally");
        let bytes = self.store.get(&wb_models::layout::model_artifact(&twin.name)).await.expect("twin artefact").bytes;
        self.store.put(&wb_models::layout::model_artifact(&job.name), bytes).await.expect("artefact in place");
    }

    async fn before_invoke(&self, _endpoint: &EndpointRecord, _body: &str) {
        let payload = json!({
            "account_id": "123456789012",
            "region": "us-east-1",
            "results": [{"Body": "0.25,0.75", "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic"}],
        });
        let (status, body) = tokio::task::block_in_place(|| {
            self.moto.post_moto_api(
                "/moto-api/static/sagemaker/endpoint-results",
                "application/json",
                &payload.to_string(),
            )
        });
        assert_eq!(status, 201, "moto queued the answer: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sagemaker_backend_passes_the_conformance_suite_against_moto() {
    // Its own server: moto's queued answers are one queue per account.
    let moto = Moto::spawn_dedicated();
    let bucket = moto.fresh_bucket().await;
    let store: DynObjectStore = Arc::new(S3Store::new(
        moto.s3_client(),
        bucket.clone(),
        Some(ObjectPath::parse("wb").expect("prefix")),
        Encryption::SseS3,
    ));

    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("toy.csv");
    let mut text = String::from("id,signal,colour,label\n");
    for i in 0..300 {
        let signal = ((i * 7919) % 1000) as f64 / 100.0;
        let label = if signal > 5.0 { "yes" } else { "no" };
        text.push_str(&format!("{i},{signal},{},{label}\n", ["red", "green", "blue"][i % 3]));
    }
    std::fs::write(&csv, text).expect("csv");
    let dataset = register_toy(&store, &csv, &[], PartitionSpec::default()).await;

    let mut config = Config::default();
    config.project.name = "conformance".into();
    config.store.uri = format!("s3://{bucket}/wb");
    config.backend.kind = BackendKind::Sagemaker;
    config.backend.image = Some(IMAGE.into());
    config.aws.role_arn = Some(ROLE.into());
    config.aws.region = Some("us-east-1".into());
    let config = LoadedConfig { path: dir.path().join("workbench.toml"), config };
    let backend = SageMakerBackend::from_sdk_config(&config, store.clone(), &moto.sdk_config()).expect("backend");

    let mut fixture = BackendFixture::new(dataset, "logistic-regression", "4.2,red");
    fixture.expect_metrics = false; // moto reports no metrics from a job's log
    fixture.hyperparameters = BTreeMap::from([("alpha".into(), "1".into())]);
    backend_conformance(&backend, &fixture, &MotoHooks { moto: &moto, store: store.clone() }).await;
}

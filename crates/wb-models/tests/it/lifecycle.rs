//! Local training jobs on a store, through the library API: the container layout, the
//! packed model, and the failures that name their culprit.

use std::collections::BTreeMap;

use wb_core::{DatasetName, JobName, ObjectPath};
use wb_datasets::{Datasets, RegisterRequest};
use wb_models::testkit::{toy_project, write_toy_csv};
use wb_models::training::{JobStatus, TrainingJobs};
use wb_models::{Error, ModelArtifact};

fn job(name: &str) -> JobName {
    JobName::parse(name).expect("job name")
}

#[tokio::test]
async fn a_job_lays_out_the_container_trains_and_packs_its_model() {
    let p = toy_project(600).await;
    let work = p.dir.path().join("work");
    let record = TrainingJobs::new(p.store.clone())
        .train(&p.dataset, "logistic-regression")
        .job_name(job("toy-logistic"))
        .work_dir(&work)
        .tags(BTreeMap::from([("workbench:project".to_owned(), "t".to_owned())]))
        .await
        .expect("train");
    assert_eq!(record.status, JobStatus::Completed);
    assert!(record.metrics["auc"] > 0.8, "a learnable target: {:?}", record.metrics);
    assert_eq!(record.channels.keys().collect::<Vec<_>>(), ["train", "validation"]);

    // The SageMaker container layout, with exactly the train, validation and metadata channels.
    for file in [
        "input/config/hyperparameters.json",
        "input/config/inputdataconfig.json",
        "input/config/resourceconfig.json",
        "input/data/train/train.csv",
        "input/data/validation/validation.csv",
        "input/data/metadata/schema.json",
        "model/model.json",
        "output/data/metrics.json",
    ] {
        assert!(work.join(file).is_file(), "{file} is missing");
    }
    let channels: Vec<String> = std::fs::read_dir(work.join("input/data"))
        .expect("channels")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(channels, ["metadata", "train", "validation"], "the test split is never a channel");
    let hp: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(work.join("input/config/hyperparameters.json")).expect("read"))
            .expect("json");
    assert_eq!(hp["algorithm"], "logistic-regression");
    assert!(!work.join("output/failure").exists());

    let bytes = p.store.get(&ObjectPath::parse("training/toy-logistic/output/model.tar.gz").expect("p")).await;
    let artifact = ModelArtifact::from_tar_gz("model.tar.gz", &bytes.expect("artifact").bytes).expect("valid");
    assert_eq!(artifact.schema.dataset, p.dataset);
    assert_eq!(artifact.schema.feature_names(), ["signal", "noise", "colour"]);
    assert_eq!(artifact.schema.classes(), ["no", "yes"]);
    assert_eq!(artifact.metadata.job.as_deref(), Some("toy-logistic"));
    assert_eq!(artifact.metadata.validation_metrics, record.metrics);
    assert!(
        p.store
            .exists(&ObjectPath::parse("training/toy-logistic/output/metrics.json").expect("p"))
            .await
            .expect("head")
    );

    // Names are taken once.
    let again =
        TrainingJobs::new(p.store.clone()).train(&p.dataset, "decision-tree").job_name(job("toy-logistic")).await;
    assert!(matches!(again, Err(Error::JobExists { .. })), "{again:?}");
}

#[tokio::test]
async fn bad_training_requests_fail_with_a_reason_that_names_the_culprit() {
    let p = toy_project(300).await;
    let jobs = TrainingJobs::new(p.store.clone());

    let unknown = jobs.train(&p.dataset, "deep-magic").await.expect_err("unknown algorithm");
    assert!(unknown.to_string().contains("deep-magic"), "{unknown}");
    assert!(jobs.list().await.expect("list").is_empty(), "no job is created for an unknown algorithm");

    let failed = jobs
        .train(&p.dataset, "decision-tree")
        .job_name(job("bad-hp"))
        .hyperparameter("max_depht", "3")
        .await
        .expect_err("unknown hyperparameter");
    assert!(matches!(&failed, Error::JobFailed { reason, .. } if reason.contains("max_depht")), "{failed}");
    let record = jobs.get(&job("bad-hp")).await.expect("recorded");
    assert_eq!(record.status, JobStatus::Failed);
    assert!(record.failure_reason.as_deref().is_some_and(|r| r.contains("max_depht")));
    assert!(record.model_artifact.is_none());

    let invalid =
        jobs.train(&p.dataset, "random-forest").hyperparameter("num_trees", "many").await.expect_err("invalid value");
    assert!(invalid.to_string().contains("num_trees") && invalid.to_string().contains("many"), "{invalid}");

    // An unpartitioned dataset cannot be trained on.
    let csv = p.dir.path().join("other.csv");
    write_toy_csv(&csv, 50);
    let other = DatasetName::parse("other").expect("name");
    Datasets::new(p.store.clone())
        .register(RegisterRequest {
            name: other.clone(),
            source: csv.display().to_string(),
            target: "label".into(),
            key: None,
            missing: vec![],
            new_version: false,
            exclude: Vec::new(),
            optional: Vec::new(),
        })
        .await
        .expect("register");
    let unpartitioned = jobs.train(&other, "logistic-regression").await.expect_err("not partitioned");
    assert!(unpartitioned.to_string().contains("partition"), "{unpartitioned}");
}

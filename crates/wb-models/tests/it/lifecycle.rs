//! Train → deploy → register → clean on a local store, through the library API.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use wb_core::{DatasetName, DynObjectStore, EndpointName, JobName, LocalStore, ModelName, ObjectPath};
use wb_datasets::{Datasets, RegisterRequest};
use wb_models::clean;
use wb_models::endpoints::{Endpoints, StoreCatalog};
use wb_models::registry::Registry;
use wb_models::server::EndpointCatalog;
use wb_models::training::{JobStatus, TrainingJobs};
use wb_models::{Error, ModelArtifact};

pub(crate) struct Project {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) store: DynObjectStore,
    pub(crate) dataset: DatasetName,
}

/// A binary dataset: a numeric signal, a noise column, a categorical column with missing
/// values, and a target that follows the signal.
pub(crate) fn write_csv(path: &Path, rows: usize) {
    let mut text = String::from("id,signal,noise,colour,label\n");
    for i in 0..rows {
        let signal = ((i * 7919) % 1000) as f64 / 100.0;
        let noise = ((i * 104_729) % 97) as f64;
        let colour = if i % 11 == 0 { "?" } else { ["red", "green", "blue"][i % 3] };
        let label = if signal + if colour == "red" { 1.5 } else { 0.0 } > 5.5 { "yes" } else { "no" };
        text.push_str(&format!("{i},{signal},{noise},{colour},{label}\n"));
    }
    std::fs::write(path, text).expect("write csv");
}

/// A project with a registered and partitioned dataset `toy`.
pub(crate) async fn project(rows: usize) -> Project {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let csv = dir.path().join("toy.csv");
    write_csv(&csv, rows);
    let dataset = DatasetName::parse("toy").expect("name");
    let datasets = Datasets::new(store.clone());
    datasets
        .register(RegisterRequest {
            name: dataset.clone(),
            source: csv.display().to_string(),
            target: "label".into(),
            key: Some("id".into()),
            missing: vec!["?".into()],
            new_version: false,
        })
        .await
        .expect("register");
    datasets.partition(&dataset).await.expect("partition");
    Project { dir, store, dataset }
}

fn job(name: &str) -> JobName {
    JobName::parse(name).expect("job name")
}

#[tokio::test]
async fn a_job_lays_out_the_container_trains_and_packs_its_model() {
    let p = project(600).await;
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
    let p = project(300).await;
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

    // Deploying a failed or missing job is refused.
    let endpoints = Endpoints::new(p.store.clone());
    let ep = EndpointName::parse("toy").expect("name");
    let not_completed = endpoints.deploy(&job("bad-hp"), &ep).await.expect_err("failed job");
    assert!(matches!(not_completed, Error::JobNotCompleted { .. }), "{not_completed}");
    let missing = endpoints.deploy(&job("nope"), &ep).await.expect_err("missing job");
    assert!(matches!(missing, Error::UnknownJob { .. }), "{missing}");

    // An unpartitioned dataset cannot be trained on.
    let csv = p.dir.path().join("other.csv");
    write_csv(&csv, 50);
    let other = DatasetName::parse("other").expect("name");
    Datasets::new(p.store.clone())
        .register(RegisterRequest {
            name: other.clone(),
            source: csv.display().to_string(),
            target: "label".into(),
            key: None,
            missing: vec![],
            new_version: false,
        })
        .await
        .expect("register");
    let unpartitioned = jobs.train(&other, "logistic-regression").await.expect_err("not partitioned");
    assert!(unpartitioned.to_string().contains("partition"), "{unpartitioned}");
}

#[tokio::test]
async fn deploy_register_and_clean_up() {
    let p = project(400).await;
    let jobs = TrainingJobs::new(p.store.clone());
    jobs.train(&p.dataset, "logistic-regression").job_name(job("j1")).await.expect("j1");
    jobs.train(&p.dataset, "gaussian-nb").job_name(job("j2")).await.expect("j2");
    let endpoints = Endpoints::new(p.store.clone());
    let ep = EndpointName::parse("toy-ep").expect("name");
    let first = endpoints.deploy(&job("j1"), &ep).await.expect("deploy");
    assert_eq!(first.variant, "AllTraffic");

    // The catalog loads the endpoint, and follows a redeploy to another job.
    let catalog = StoreCatalog::new(p.store.clone());
    let loaded = catalog.resolve("toy-ep").await.expect("resolve").expect("deployed");
    assert_eq!(loaded.artifact.metadata.algorithm, "logistic-regression");
    assert!(catalog.resolve("nothing-here").await.expect("resolve").is_none());
    let moved = endpoints.deploy(&job("j2"), &ep).await.expect("redeploy");
    assert_eq!(moved.created_at, first.created_at);
    tokio::time::sleep(wb_models::endpoints::REVALIDATE_EVERY).await;
    let reloaded = catalog.resolve("toy-ep").await.expect("resolve").expect("deployed");
    assert_eq!(reloaded.artifact.metadata.algorithm, "gaussian-nb");

    // Registration: once per name unless replaced; concurrent registrations all land.
    let registry = Registry::new(p.store.clone());
    let m = ModelName::parse("toy-model").expect("name");
    let record = registry.register(&m, &ep).description("first").await.expect("register");
    assert_eq!(record.fingerprint, first.fingerprint);
    assert_eq!(record.job.as_str(), "j2");
    let twice = registry.register(&m, &ep).description("again").await.expect_err("twice");
    assert!(matches!(twice, Error::ModelExists { .. }), "{twice}");
    let replaced = registry.register(&m, &ep).description("second").replace(true).await.expect("replace");
    assert_eq!(replaced.description, "second");
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let registry = registry.clone();
            let ep = ep.clone();
            tokio::spawn(async move {
                registry.register(&ModelName::parse(format!("m{i}")).expect("name"), &ep).description("c").await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("register");
    }
    assert_eq!(registry.list().await.expect("list").len(), 13);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let registry = registry.clone();
            let ep = ep.clone();
            tokio::spawn(async move {
                registry.register(&ModelName::parse("race").expect("name"), &ep).description("r").await
            })
        })
        .collect();
    let mut winners = 0;
    for t in racers {
        if t.await.expect("join").is_ok() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one registration of a contested name wins");

    // Clean: a dry run lists, execute removes, a second run finds nothing; datasets stay.
    let plan = clean::plan(&p.store, false).await.expect("plan");
    let kinds: std::collections::BTreeSet<_> = plan.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, ["endpoint", "model", "training-job"].into_iter().collect());
    assert!(p.store.exists(&ObjectPath::parse("endpoints/toy-ep.json").expect("p")).await.expect("head"));
    let report = clean::execute(&p.store, false).await.expect("clean");
    assert_eq!(report.objects, plan.object_count());
    assert_eq!(report.removed, plan);
    assert!(clean::plan(&p.store, false).await.expect("plan").is_empty(), "a second clean finds nothing");
    assert!(endpoints.list().await.expect("list").is_empty());
    assert!(Datasets::new(p.store.clone()).open(&p.dataset).await.is_ok(), "datasets are kept");
    let all = clean::plan(&p.store, true).await.expect("plan --all");
    assert!(all.items.iter().any(|i| i.kind == "dataset"));
    clean::execute(&p.store, true).await.expect("clean --all");
    assert!(p.store.list(None).await.expect("list").is_empty(), "--all leaves nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_server_serves_captures_and_stops_when_its_record_goes() {
    use wb_models::capture::CaptureConfig;
    use wb_models::invoke::{InvokeRequest, RuntimeClient};
    use wb_models::local;
    use wb_models::server::ServerOptions;

    let p = project(300).await;
    TrainingJobs::new(p.store.clone())
        .train(&p.dataset, "logistic-regression")
        .job_name(job("j"))
        .await
        .expect("train");
    let ep = EndpointName::parse("cap").expect("name");
    Endpoints::new(p.store.clone())
        .deploy(&job("j"), &ep)
        .capture(CaptureConfig::new(100).expect("capture"))
        .await
        .expect("deploy");

    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(local::run(
        p.store.clone(),
        "127.0.0.1",
        0,
        ServerOptions::default(),
        std::future::pending(),
        move |record| {
            let _ = ready_tx.send(record.clone());
        },
    ));
    let record = ready_rx.await.expect("server ready");
    assert!(record.url.starts_with("http://127.0.0.1:"));
    let status = local::status(&p.store).await.expect("status").expect("recorded");
    assert!(status.up);

    let client = RuntimeClient::new(&record.url).expect("client");
    for i in 0..25 {
        let response = client
            .invoke(
                "cap",
                InvokeRequest {
                    content_type: "text/csv".into(),
                    body: format!("{}.5,{},red\n", i % 10, i).into_bytes().into(),
                    inference_id: Some(format!("req-{i}")),
                    ..Default::default()
                },
            )
            .await
            .expect("invoke");
        assert_eq!(response.invoked_variant.as_deref(), Some("AllTraffic"));
    }
    // A second server for the same store is refused while the first answers.
    let second =
        local::run(p.store.clone(), "127.0.0.1", 0, ServerOptions::default(), std::future::pending(), |_| {}).await;
    assert!(matches!(second, Err(Error::Server { .. })), "{second:?}");

    // Removing the record stops the server gracefully, and capture is flushed first.
    let stopped = local::stop(&p.store, std::time::Duration::from_secs(10)).await.expect("stop");
    assert_eq!(stopped.map(|r| r.instance), Some(record.instance));
    let report = server.await.expect("join").expect("served");
    assert_eq!(report.stats.invocations, 25);
    assert_eq!(report.capture.expect("capture on").records, 25);

    let mut lines = Vec::new();
    for meta in p.store.list(Some(&ObjectPath::parse("capture/cap/AllTraffic").expect("p"))).await.expect("list") {
        let segments: Vec<&str> = meta.path.segments().collect();
        assert_eq!(segments.len(), 8, "capture/<endpoint>/<variant>/yyyy/mm/dd/hh/<id>.jsonl: {}", meta.path);
        assert!(meta.path.as_str().ends_with(".jsonl"));
        let bytes = p.store.get(&meta.path).await.expect("get").bytes;
        for line in String::from_utf8(bytes.to_vec()).expect("utf8").lines() {
            lines.push(serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON"));
        }
    }
    assert_eq!(lines.len(), 25, "no captured record is lost");
    let first = &lines[0];
    assert_eq!(first["eventVersion"], "0");
    assert_eq!(first["captureData"]["endpointInput"]["encoding"], "CSV");
    assert_eq!(first["captureData"]["endpointInput"]["mode"], "INPUT");
    assert_eq!(first["captureData"]["endpointOutput"]["mode"], "OUTPUT");
    assert!(lines.iter().any(|l| l["eventMetadata"]["inferenceId"] == "req-3"));
    assert!(local::status(&p.store).await.expect("status").is_none(), "the record is gone");
}

#[tokio::test]
async fn promotion_is_recorded_protected_and_kept_by_clean() {
    let p = project(400).await;
    let jobs = TrainingJobs::new(p.store.clone());
    jobs.train(&p.dataset, "logistic-regression").job_name(job("keep-job")).await.expect("train");
    jobs.train(&p.dataset, "gaussian-nb").job_name(job("drop-job")).await.expect("train");
    let endpoints = Endpoints::new(p.store.clone());
    let (keep_ep, drop_ep) =
        (EndpointName::parse("keep-ep").expect("name"), EndpointName::parse("drop-ep").expect("name"));
    endpoints.deploy(&job("keep-job"), &keep_ep).await.expect("deploy");
    endpoints.deploy(&job("drop-job"), &drop_ep).await.expect("deploy");
    let registry = Registry::new(p.store.clone());
    let (keep, drop) = (ModelName::parse("keep").expect("name"), ModelName::parse("drop").expect("name"));
    registry.register(&keep, &keep_ep).await.expect("register");
    registry.register(&drop, &drop_ep).await.expect("register");
    let report = ObjectPath::parse("reports/compare/20261123T000000Z-abcdef/report.json").expect("path");
    p.store.put(&report, bytes::Bytes::from_static(b"{}")).await.expect("report");
    let other_report = ObjectPath::parse("reports/compare/20261122T000000Z-000000/report.json").expect("path");
    p.store.put(&other_report, bytes::Bytes::from_static(b"{}")).await.expect("report");

    assert!(registry.promoted().await.expect("read").is_none());
    let ghost = registry.promote(&ModelName::parse("ghost").expect("name"), None, BTreeMap::new()).await;
    assert!(matches!(ghost, Err(Error::UnknownModel { .. })), "{ghost:?}");
    let first = registry.promote(&drop, None, BTreeMap::new()).await.expect("promote");
    assert_eq!(first.previous, None);
    let metrics = BTreeMap::from([("roc_auc".to_owned(), 0.9)]);
    let promotion = registry
        .promote(&keep, Some("reports/compare/20261123T000000Z-abcdef".into()), metrics.clone())
        .await
        .expect("promote");
    assert_eq!(promotion.previous.as_ref(), Some(&drop), "the promotion it replaced");
    assert_eq!(promotion.job.as_str(), "keep-job");
    assert_eq!(registry.promoted().await.expect("read"), Some(promotion.clone()));
    let refused = registry.remove(&keep).await.expect_err("promoted");
    assert!(matches!(refused, Error::Promoted { .. }) && refused.to_string().contains("wb promote"), "{refused}");

    let options = clean::CleanOptions { all: true, keep_promoted: true };
    let plan = clean::plan_with(&p.store, options).await.expect("plan");
    let names: Vec<String> = plan.items.iter().map(|i| format!("{}:{}", i.kind, i.name)).collect();
    for gone in ["endpoint:drop-ep", "model:drop", "training-job:drop-job", "report:compare/20261122T000000Z-000000"] {
        assert!(names.iter().any(|n| n == gone), "{gone} is removed: {names:?}");
    }
    for kept in ["keep", "promotion", "dataset", "20261123T000000Z"] {
        assert!(!names.iter().any(|n| n.contains(kept)), "{kept} is kept: {names:?}");
    }
    clean::execute_with(&p.store, options).await.expect("clean");
    assert!(clean::plan_with(&p.store, options).await.expect("plan").is_empty(), "nothing left to remove");
    assert_eq!(
        registry.list().await.expect("list").into_iter().map(|m| m.name).collect::<Vec<_>>(),
        std::slice::from_ref(&keep)
    );
    assert!(
        StoreCatalog::new(p.store.clone()).resolve("keep-ep").await.expect("resolve").is_some(),
        "still deployable"
    );
    assert!(p.store.exists(&report).await.expect("head"), "the cited report stays");
    assert!(Datasets::new(p.store.clone()).open(&p.dataset).await.is_ok(), "its dataset stays");

    // Without --keep-promoted everything goes, the promotion included.
    clean::execute(&p.store, true).await.expect("clean --all");
    assert!(p.store.list(None).await.expect("list").is_empty());
}

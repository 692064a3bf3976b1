//! Deploy → serve → register → clean on a local store, through the library API.

use std::collections::BTreeMap;

use wb_core::{EndpointName, JobName, ModelName, ObjectPath};
use wb_datasets::Datasets;
use wb_models::registry::Registry;
use wb_models::testkit::toy_project;
use wb_models::training::TrainingJobs;
use wb_serving::Error;
use wb_serving::clean;
use wb_serving::endpoints::{Endpoints, StoreCatalog};
use wb_serving::server::EndpointCatalog;

fn job(name: &str) -> JobName {
    JobName::parse(name).expect("job name")
}

#[tokio::test]
async fn deploying_a_failed_or_missing_job_is_refused() {
    let p = toy_project(300).await;
    let jobs = TrainingJobs::new(p.store.clone());
    jobs.train(&p.dataset, "decision-tree")
        .job_name(job("bad-hp"))
        .hyperparameter("max_depht", "3")
        .await
        .expect_err("unknown hyperparameter");

    let endpoints = Endpoints::new(p.store.clone());
    let ep = EndpointName::parse("toy").expect("name");
    let not_completed = endpoints.deploy(&job("bad-hp"), &ep).await.expect_err("failed job");
    assert!(matches!(not_completed, Error::Models(wb_models::Error::JobNotCompleted { .. })), "{not_completed}");
    let missing = endpoints.deploy(&job("nope"), &ep).await.expect_err("missing job");
    assert!(matches!(missing, Error::Models(wb_models::Error::UnknownJob { .. })), "{missing}");
}

#[tokio::test]
async fn deploy_register_and_clean_up() {
    let p = toy_project(400).await;
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
    tokio::time::sleep(wb_serving::endpoints::REVALIDATE_EVERY).await;
    let reloaded = catalog.resolve("toy-ep").await.expect("resolve").expect("deployed");
    assert_eq!(reloaded.artifact.metadata.algorithm, "gaussian-nb");

    // Registration: once per name unless replaced; concurrent registrations all land.
    let registry = Registry::new(p.store.clone());
    let m = ModelName::parse("toy-model").expect("name");
    let record = registry.register(&m, &ep).description("first").await.expect("register");
    assert_eq!(record.fingerprint, first.fingerprint);
    assert_eq!(record.job.as_str(), "j2");
    let twice = registry.register(&m, &ep).description("again").await.expect_err("twice");
    assert!(matches!(twice, wb_models::Error::ModelExists { .. }), "{twice}");
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
    let baseline = ObjectPath::parse("monitoring/toy-ep/baseline/statistics.json").expect("p");
    p.store.put(&baseline, bytes::Bytes::from_static(b"{}")).await.expect("put");
    let execution = ObjectPath::parse("workflows/image-workflow/executions/e1.json").expect("p");
    p.store.put(&execution, bytes::Bytes::from_static(b"{}")).await.expect("put");
    let plan = clean::plan(&p.store, false).await.expect("plan");
    let kinds: std::collections::BTreeSet<_> = plan.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, ["endpoint", "model", "monitoring", "training-job", "workflow"].into_iter().collect());
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
    use wb_serving::capture::CaptureConfig;
    use wb_serving::invoke::{InvokeRequest, RuntimeClient};
    use wb_serving::local;
    use wb_serving::server::ServerOptions;

    let p = toy_project(300).await;
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
    let p = toy_project(400).await;
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
    assert!(matches!(ghost, Err(wb_models::Error::UnknownModel { .. })), "{ghost:?}");
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
    assert!(
        matches!(refused, wb_models::Error::Promoted { .. }) && refused.to_string().contains("wb promote"),
        "{refused}"
    );

    for ep in ["keep-ep", "drop-ep"] {
        let path = ObjectPath::parse(format!("monitoring/{ep}/baseline/constraints.json")).expect("p");
        p.store.put(&path, bytes::Bytes::from_static(b"{}")).await.expect("put");
    }
    let options = clean::CleanOptions { all: true, keep_promoted: true };
    let plan = clean::plan_with(&p.store, options).await.expect("plan");
    let names: Vec<String> = plan.items.iter().map(|i| format!("{}:{}", i.kind, i.name)).collect();
    for gone in [
        "endpoint:drop-ep",
        "model:drop",
        "training-job:drop-job",
        "monitoring:drop-ep",
        "report:compare/20261122T000000Z-000000",
    ] {
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

//! The SageMaker backend through `wb`, against moto: the pipeline of `wb demo` step by step
//! (init, register, partition, train, deploy with capture, register with the registry mirror,
//! invoke, compare, promote, clean), and `wb demo --backend sagemaker` itself.
//!
//! Each test has its own moto server: moto's canned `InvokeEndpoint` answers are one queue per
//! account, handed out in the order new request bodies arrive. moto trains and hosts nothing, so
//! the step-by-step test puts a real `model.tar.gz` where SageMaker would have written it (made
//! by the workbench's own trainer on the same partition), computes what those models answer on
//! the test split with the workbench's model server, and queues those answers: the comparison
//! through SageMaker Runtime must then give the same metrics. Everything else checks that every
//! call reaches SageMaker with the right settings, that the workbench records what SageMaker did
//! exactly as the local backend records its own work, and that `wb clean` leaves nothing tagged.

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wb_aws::aws_sdk_sagemaker::Client;
use wb_aws::aws_sdk_sagemaker::types::{ProductionVariantInstanceType, TrainingInstanceType};
use wb_aws::hosting::Hosting;
use wb_aws::registry::ModelPackages;
use wb_aws::testkit::Moto;
use wb_aws::{Encryption, S3Store};
use wb_core::{DatasetName, DynObjectStore, ObjectPath};
use wb_models::ModelArtifact;
use wb_models::training::TrainingJobs;
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest, InvokeResponse, RuntimeClient};
use wb_serving::server::{LoadedEndpoint, ModelServer, StaticCatalog};

use crate::local::{csv, fails};
use crate::s3::{Bucket, stdout_json, toy_csv, wb_env};

const ROLE: &str = "arn:aws:iam::123456789012:role/wb-test";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/workbench:test";
const TAG: &str = "workbench:project";

/// Queues moto's answers (`text/csv`) to the next new `InvokeEndpoint` bodies, in order.
fn queue_answers(moto: &Moto, answers: &[String]) {
    queue_typed_answers(moto, "text/csv", answers);
}

/// Queues moto's answers of `content_type` to the next new `InvokeEndpoint` bodies, in order.
fn queue_typed_answers(moto: &Moto, content_type: &str, answers: &[String]) {
    let results: Vec<Value> = answers
        .iter()
        .map(|body| json!({"Body": body, "ContentType": content_type, "InvokedProductionVariant": "AllTraffic"}))
        .collect();
    let payload = json!({"account_id": "123456789012", "region": "us-east-1", "results": results});
    let (status, body) =
        moto.post_moto_api("/moto-api/static/sagemaker/endpoint-results", "application/json", &payload.to_string());
    assert_eq!(status, 201, "moto queued the answers: {body}");
}

/// The project's SageMaker resources that are still tagged: endpoints, configurations and
/// models.
fn tagged_hosting(bucket: &Bucket, moto: &Moto, project: &str) -> Vec<String> {
    let hosting = Hosting::from_sdk_config(&moto.sdk_config());
    let found = bucket.rt.block_on(hosting.tagged(TAG, project)).expect("tagged");
    found.into_iter().map(|r| format!("{} {}", r.kind, r.name)).collect()
}

/// Sends invocations to the workbench's model server and keeps each endpoint's last answer.
#[derive(Debug)]
struct Recording {
    client: RuntimeClient,
    answers: Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait::async_trait]
impl InvokeEndpoint for Recording {
    async fn invoke_endpoint(&self, endpoint: &str, request: InvokeRequest) -> wb_serving::Result<InvokeResponse> {
        let answer = self.client.invoke(endpoint, request).await?;
        self.answers.lock().expect("lock").insert(endpoint.to_owned(), answer.body.to_vec());
        Ok(answer)
    }
}

/// A model's point metrics in a report (report.json's shape).
fn point_metrics(report: &Value, model: &str) -> BTreeMap<String, f64> {
    let entry = report["models"]
        .as_array()
        .expect("models")
        .iter()
        .find(|m| m["model"] == model)
        .unwrap_or_else(|| panic!("{model} is in the report"));
    entry["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| Some((m["metric"].as_str()?.to_owned(), m["value"].as_f64()?)))
        .collect()
}

/// Twenty 8×8 PNGs in class folders `pics/bicycle` and `pics/motorcycle` under `dir`.
fn write_pics(dir: &Path) -> std::path::PathBuf {
    let pics = dir.join("pics");
    for (class, shade) in [("bicycle", 40u8), ("motorcycle", 200)] {
        std::fs::create_dir_all(pics.join(class)).expect("mkdir");
        for i in 0..10u8 {
            let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([shade, i * 7 + x as u8, y as u8]));
            img.save(pics.join(class).join(format!("{i}.png"))).expect("png");
        }
    }
    pics
}

/// [`write_pics`], registered as the image dataset `pics` and partitioned: the images'
/// directory and `wb dataset partition`'s JSON.
fn registered_pics(dir: &Path, moto: &Moto) -> (std::path::PathBuf, Value) {
    let pics = write_pics(dir);
    stdout_json(wb_env(dir, moto).args([
        "dataset",
        "register",
        "pics",
        "--images",
        pics.to_str().expect("utf8"),
        "--json",
    ]));
    let partition = stdout_json(wb_env(dir, moto).args(["dataset", "partition", "pics", "--json"]));
    (pics, partition)
}

/// Trains SageMaker's built-in image classifier on `pics` as job `pics-ic`.
fn train_image_classifier(dir: &Path, moto: &Moto) {
    stdout_json(wb_env(dir, moto).args([
        "train",
        "--dataset",
        "pics",
        "--algorithm",
        "image-classification",
        "--job",
        "pics-ic",
        "--json",
    ]));
}

fn init(dir: &Path, moto: &Moto, store: &str, project: &str) {
    stdout_json(wb_env(dir, moto).args([
        "init",
        "--store",
        store,
        "--backend",
        "sagemaker",
        "--role",
        ROLE,
        "--image",
        IMAGE,
        "--name",
        project,
        "--json",
    ]));
}

#[test]
fn sagemaker_pipeline_through_wb_against_moto() {
    let moto = Moto::spawn_dedicated();
    let bucket = Bucket::fresh(&moto);
    let sagemaker = Client::new(&moto.sdk_config());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let store = format!("s3://{}/wb", bucket.name);
    let project = format!("sm-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);

    // A SageMaker project needs its role; nothing is written without it.
    let err = fails(wb_env(d, &moto).args(["init", "--store", &store, "--backend", "sagemaker"]));
    assert!(err.contains("aws.role_arn") && err.contains("--role"), "{err}");
    assert!(!d.join("workbench.toml").exists());
    init(d, &moto, &store, &project);

    // The IAM policy of this project: its prefix, its role, its tag.
    let policy = stdout_json(wb_env(d, &moto).args(["aws", "policy"]));
    let text = policy.to_string();
    assert_eq!(policy["Version"], "2012-10-17");
    for needle in [format!("arn:aws:s3:::{}/wb/*", bucket.name), ROLE.to_owned(), format!("\"{project}\"")] {
        assert!(text.contains(&needle), "the policy names {needle}: {text}");
    }

    let source = csv(d, "toy.csv", &toy_csv(400));
    stdout_json(wb_env(d, &moto).args([
        "dataset",
        "register",
        "toy",
        "--source",
        source.to_str().expect("utf8"),
        "--target",
        "label",
        "--json",
    ]));
    let shown = stdout_json(wb_env(d, &moto).args(["dataset", "partition", "toy", "--json"]));
    let test_split = &shown["partition"]["splits"]["test"];
    let test_rows = test_split["rows"].as_u64().expect("test rows");

    // Training: a SageMaker job in the project's image, reading the dataset's channels.
    let job = stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "random-forest",
        "--hp",
        "num_trees=10",
        "--job",
        "toy-forest",
        "--instance-type",
        "ml.m5.xlarge",
        "--spot",
        "--json",
    ]));
    assert_eq!(job["backend"], "sagemaker");
    assert_eq!(job["status"], "Completed");
    let artifact = format!("{store}/training/toy-forest/output/model.tar.gz");
    assert_eq!(job["model_artifact"], artifact.as_str(), "SageMaker's output layout is the local backend's");
    let described = bucket
        .rt
        .block_on(sagemaker.describe_training_job().training_job_name("toy-forest").send())
        .expect("describe the training job");
    let spec = described.algorithm_specification().expect("algorithm");
    assert_eq!(spec.training_image(), Some(IMAGE));
    let hp = described.hyper_parameters().expect("hyperparameters");
    assert_eq!(hp.get("algorithm").map(String::as_str), Some("random-forest"));
    assert_eq!(hp.get("num_trees").map(String::as_str), Some("10"));
    assert_eq!(described.enable_managed_spot_training(), Some(true));
    let resources = described.resource_config().expect("resources");
    assert_eq!(resources.instance_type().map(TrainingInstanceType::as_str), Some("ml.m5.xlarge"));
    let mut channels: Vec<(String, String)> = described
        .input_data_config()
        .iter()
        .map(|c| {
            let uri = c.data_source().and_then(|s| s.s3_data_source()).and_then(|s| s.s3_uri()).unwrap_or_default();
            (c.channel_name().unwrap_or_default().to_owned(), uri.to_owned())
        })
        .collect();
    channels.sort();
    let names: Vec<&str> = channels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["metadata", "train", "validation"], "the test split is never a channel");
    let schema_key = format!("wb/training/toy-forest/input/metadata/{}", "schema.json");
    let schema: Value = serde_json::from_slice(&bucket.get(&schema_key)).expect("schema json");
    assert_eq!(schema["target"], "label", "the metadata channel holds the dataset's schema");
    assert!(channels.iter().all(|(_, uri)| uri.starts_with(&store)), "{channels:?}");

    // A built-in algorithm: the region's published image, the objective the task calls for.
    let xgb = stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "xgboost",
        "--hp",
        "max_depth=3",
        "--job",
        "toy-xgb",
        "--json",
    ]));
    assert_eq!((xgb["algorithm"].as_str(), xgb["status"].as_str()), (Some("xgboost"), Some("Completed")));
    assert_eq!(xgb["hyperparameters"]["objective"], "binary:logistic", "the record says what SageMaker got");
    let described = bucket
        .rt
        .block_on(sagemaker.describe_training_job().training_job_name("toy-xgb").send())
        .expect("describe the xgboost job");
    let image = described.algorithm_specification().and_then(|a| a.training_image()).expect("image");
    assert_eq!(image, "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1");
    let hp = described.hyper_parameters().expect("hyperparameters");
    for (key, value) in [("objective", "binary:logistic"), ("eval_metric", "auc"), ("max_depth", "3")] {
        assert_eq!(hp.get(key).map(String::as_str), Some(value), "{key}: {hp:?}");
    }
    assert!(hp.contains_key("num_round") && !hp.contains_key("algorithm"), "{hp:?}");
    let channel_types: Vec<Option<&str>> = described.input_data_config().iter().map(|c| c.content_type()).collect();
    assert_eq!(channel_types, [Some("text/csv"), Some("text/csv")], "train and validation only");
    let linear = stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "linear-learner",
        "--job",
        "toy-linear",
        "--json",
    ]));
    assert_eq!(linear["status"], "Completed");
    let described = bucket
        .rt
        .block_on(sagemaker.describe_training_job().training_job_name("toy-linear").send())
        .expect("describe the linear learner job");
    let hp = described.hyper_parameters().expect("hyperparameters");
    assert_eq!(hp.get("predictor_type").map(String::as_str), Some("binary_classifier"), "{hp:?}");

    // Bad input: nothing is started or recorded.
    let err = fails(wb_env(d, &moto).args(["train", "--dataset", "toy", "--algorithm", "svm"]));
    assert!(err.contains("\"svm\"") && err.contains("xgboost") && err.contains("random-forest"), "{err}");
    let err = fails(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "gaussian-nb",
        "--job",
        "toy-bad",
        "--instance-type",
        "m5.large",
    ]));
    assert!(err.contains("instance type") && err.contains("m5.large"), "{err}");
    let err = fails(wb_env(d, &moto).args(["train", "--dataset", "toy", "--algorithm", "image-classification"]));
    assert!(err.contains("image dataset") && err.contains("toy"), "{err}");
    let jobs = stdout_json(wb_env(d, &moto).args(["jobs", "list", "--json"]));
    assert_eq!(jobs.as_array().expect("jobs").len(), 3, "{jobs}");

    // A multi-class objective without num_class (which SageMaker's XGBoost requires): the
    // dataset's class count is filled in, as the local xgboost does.
    let multi = stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "xgboost",
        "--hp",
        "objective=multi:softprob",
        "--json",
    ]));
    let hp = &multi["hyperparameters"];
    assert_eq!((hp["num_class"].as_str(), hp["eval_metric"].as_str()), (Some("2"), Some("mlogloss")), "{multi}");

    // An image dataset: SageMaker's built-in image classifier on the partition's channels
    // (images and .lst manifests, application/x-image), on a GPU by default, with the
    // hyperparameters the dataset decides.
    let (_, partition) = registered_pics(d, &moto);
    let image_channels = &partition["partition"]["channels"];
    assert!(
        image_channels["train_lst"].as_str().is_some_and(|u| u.starts_with(&store) && u.ends_with("/train_lst/")),
        "{partition}"
    );
    let trained = stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "pics",
        "--algorithm",
        "image-classification",
        "--hp",
        "epochs=2",
        "--job",
        "pics-ic",
        "--json",
    ]));
    assert_eq!(trained["status"], "Completed", "{trained}");
    let described = bucket
        .rt
        .block_on(sagemaker.describe_training_job().training_job_name("pics-ic").send())
        .expect("describe the image job");
    let image = described.algorithm_specification().and_then(|a| a.training_image()).expect("image");
    assert_eq!(image, "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1");
    let hp = described.hyper_parameters().expect("hyperparameters");
    for (key, value) in
        [("num_classes", "2"), ("num_training_samples", "12"), ("image_shape", "3,8,8"), ("epochs", "2")]
    {
        assert_eq!(hp.get(key).map(String::as_str), Some(value), "{key}: {hp:?}");
    }
    let mut inputs: Vec<(String, Option<String>, String)> = described
        .input_data_config()
        .iter()
        .map(|c| {
            let uri = c.data_source().and_then(|s| s.s3_data_source()).and_then(|s| s.s3_uri()).unwrap_or_default();
            (c.channel_name().unwrap_or_default().to_owned(), c.content_type().map(str::to_owned), uri.to_owned())
        })
        .collect();
    inputs.sort();
    let names: Vec<&str> = inputs.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["train", "train_lst", "validation", "validation_lst"]);
    assert!(inputs.iter().all(|(_, ct, _)| ct.as_deref() == Some("application/x-image")), "{inputs:?}");
    assert!(inputs.iter().all(|(_, _, uri)| !uri.contains("/test/")), "the test split is never a channel: {inputs:?}");
    assert_eq!(
        described.resource_config().and_then(|r| r.instance_type()),
        Some(&TrainingInstanceType::MlP32Xlarge),
        "a GPU by default, as the course used"
    );
    // The workbench's pixel baseline in the project's image: the same channels plus the schema.
    let pixels = stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "pics",
        "--algorithm",
        "image-logistic",
        "--job",
        "pics-pixels",
        "--json",
    ]));
    assert_eq!(pixels["status"], "Completed", "{pixels}");
    let described = bucket
        .rt
        .block_on(sagemaker.describe_training_job().training_job_name("pics-pixels").send())
        .expect("describe the pixel job");
    let hp = described.hyper_parameters().expect("hyperparameters");
    for (key, value) in [("algorithm", "image-logistic"), ("num_classes", "2"), ("image_shape", "3,8,8")] {
        assert_eq!(hp.get(key).map(String::as_str), Some(value), "{key}: {hp:?}");
    }
    let mut names: Vec<&str> = described.input_data_config().iter().filter_map(|c| c.channel_name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["metadata", "train", "train_lst", "validation", "validation_lst"]);
    let schema: Value =
        serde_json::from_slice(&bucket.get("wb/training/pics-pixels/input/metadata/schema.json")).expect("schema json");
    assert_eq!(schema["image"], json!({"channels": 3, "height": 8, "width": 8}), "{schema}");
    assert_eq!(schema["task"]["classes"], json!(["bicycle", "motorcycle"]), "{schema}");
    let err = fails(wb_env(d, &moto).args(["train", "--dataset", "pics", "--algorithm", "xgboost"]));
    assert!(err.contains("an image algorithm for the image dataset pics"), "{err}");

    stdout_json(wb_env(d, &moto).args([
        "train",
        "--dataset",
        "toy",
        "--algorithm",
        "logistic-regression",
        "--job",
        "toy-logistic",
        "--json",
    ]));

    // moto trains nothing and writes no model.tar.gz: put a real one where SageMaker would have
    // written each, made by the workbench's own trainer on the same partition (in the same store,
    // as "twin" jobs).
    let store_handle: DynObjectStore = Arc::new(S3Store::new(
        moto.s3_client(),
        bucket.name.clone(),
        Some(ObjectPath::parse("wb").expect("prefix")),
        Encryption::SseS3,
    ));
    let toy: DatasetName = "toy".parse().expect("dataset");
    for (job, algorithm, hp) in
        [("toy-forest", "random-forest", ("num_trees", "10")), ("toy-logistic", "logistic-regression", ("alpha", "1"))]
    {
        let twin = bucket
            .rt
            .block_on(
                TrainingJobs::new(store_handle.clone())
                    .train(&toy, algorithm)
                    .hyperparameter(hp.0, hp.1)
                    .job_name(format!("{job}-twin").parse().expect("job"))
                    .into_future(),
            )
            .expect("the twin trains locally");
        let bytes = bucket.get(bucket.key_of(twin.model_artifact.as_deref().expect("artefact")));
        bucket.put(&format!("wb/training/{job}/output/model.tar.gz"), &bytes);
    }

    // Hosting, with data capture to the store's capture prefix.
    let endpoint = stdout_json(wb_env(d, &moto).args([
        "deploy",
        "--job",
        "toy-forest",
        "--endpoint",
        "toy-forest",
        "--capture",
        "50",
        "--instance-count",
        "2",
        "--json",
    ]));
    assert_eq!(endpoint["backend"], "sagemaker");
    assert_eq!(endpoint["capture"]["sampling_percentage"], 50);
    let config_name = bucket
        .rt
        .block_on(sagemaker.describe_endpoint().endpoint_name("toy-forest").send())
        .expect("describe endpoint")
        .endpoint_config_name()
        .expect("config")
        .to_owned();
    let config = bucket
        .rt
        .block_on(sagemaker.describe_endpoint_config().endpoint_config_name(&config_name).send())
        .expect("describe config");
    let capture = config.data_capture_config().expect("capture");
    assert_eq!(capture.destination_s3_uri(), Some(format!("{store}/capture").as_str()));
    assert_eq!(capture.initial_sampling_percentage(), Some(50));
    let variant = &config.production_variants()[0];
    assert_eq!(variant.initial_instance_count(), Some(2));
    assert_eq!(
        variant.instance_type().map(ProductionVariantInstanceType::as_str),
        Some("ml.m5.large"),
        "the default instance type"
    );
    stdout_json(wb_env(d, &moto).args(["deploy", "--job", "toy-logistic", "--endpoint", "toy-logistic", "--json"]));
    let listed = wb_env(d, &moto).args(["endpoints", "list"]).assert().success().get_output().stdout.clone();
    let listed = String::from_utf8_lossy(&listed);
    assert!(listed.lines().any(|l| l.starts_with("toy-forest") && l.contains("InService")), "{listed}");
    let listed = stdout_json(wb_env(d, &moto).args(["endpoints", "list", "--json"]));
    let forest = &listed["endpoints"][0];
    assert_eq!((forest["name"].as_str(), forest["status"].as_str()), (Some("toy-forest"), Some("InService")));
    assert_eq!((forest["backend"].as_str(), forest["answers"].as_bool()), (Some("sagemaker"), Some(true)));

    for model in ["toy-forest", "toy-logistic"] {
        let registered = stdout_json(wb_env(d, &moto).args([
            "register",
            model,
            "--endpoint",
            model,
            "--description",
            "a model on SageMaker",
            "--json",
        ]));
        assert_eq!(registered["backend"], "sagemaker");
    }

    // The registrations are mirrored as model packages of the project's group, pending approval.
    let packages = ModelPackages::from_sdk_config(&moto.sdk_config());
    let mirrored = bucket.rt.block_on(packages.list(&project)).expect("packages");
    let states: Vec<(Option<&str>, &str)> =
        mirrored.iter().map(|p| (p.model.as_deref(), p.approval.as_str())).collect();
    assert_eq!(
        states,
        [(Some("toy-forest"), "PendingManualApproval"), (Some("toy-logistic"), "PendingManualApproval")]
    );

    // What the models really answer: the uploaded artefacts behind the workbench's own model
    // server, compared in-process on the same test split (and each answer recorded).
    let served: Vec<Arc<LoadedEndpoint>> = ["toy-forest", "toy-logistic"]
        .iter()
        .map(|name| {
            let bytes = bucket.get(&format!("wb/training/{name}/output/model.tar.gz"));
            let artifact = ModelArtifact::from_tar_gz(name, &bytes).expect("a real model.tar.gz");
            Arc::new(LoadedEndpoint::new(*name, "AllTraffic", Arc::new(artifact), None).expect("endpoint"))
        })
        .collect();
    let server = bucket
        .rt
        .block_on(ModelServer::builder(Arc::new(StaticCatalog::new(served))).build().bind(([127, 0, 0, 1], 0).into()))
        .expect("serve the artefacts");
    let recording = Arc::new(Recording {
        client: RuntimeClient::new(&server.url()).expect("client"),
        answers: Mutex::new(BTreeMap::new()),
    });
    let local = bucket
        .rt
        .block_on(
            wb_compare::compare(store_handle.clone(), recording.clone())
                .batch_size(100_000)
                .resamples(20)
                .importance_budget(0)
                .into_future(),
        )
        .expect("the in-process comparison");
    bucket.rt.block_on(server.shutdown()).expect("shutdown");
    let forest_answer = recording.answers.lock().expect("lock")["toy-forest"].clone();
    let expected = point_metrics(&serde_json::to_value(&local.report).expect("report json"), "toy-forest");

    // Invocation through SageMaker Runtime: moto hands out the queued answers, in order.
    let row_answer = "0.25,0.75".to_owned();
    queue_answers(&moto, &[row_answer.clone(), String::from_utf8(forest_answer).expect("csv")]);
    let out = wb_env(d, &moto)
        .args(["endpoints", "invoke", "toy-forest", "--content-type", "text/csv", "--body", "7,red,3"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8_lossy(&out).trim(), row_answer);

    // The comparison scores both models through SageMaker Runtime, one body holding the whole
    // test split: the forest's real answers give the metrics the in-process comparison found.
    // (moto keys its answers by body alone, so the logistic endpoint gets the same answer.)
    let compared = stdout_json(wb_env(d, &moto).args([
        "compare",
        "--batch-size",
        "100000",
        "--resamples",
        "20",
        "--importance-budget",
        "0",
        "--json",
    ]));
    let report = &compared["report"];
    let models = report["models"].as_array().expect("models");
    assert_eq!(models.len(), 2, "both models were scored: {}", report["failures"]);
    assert!(models.iter().all(|m| m["backend"] == "sagemaker"), "{models:?}");
    assert_eq!(report["test_rows"].as_u64(), Some(test_rows));
    let through_sagemaker = point_metrics(report, "toy-forest");
    assert!(through_sagemaker.len() >= 4, "{through_sagemaker:?}");
    assert_eq!(through_sagemaker, expected, "the same predictions give the same metrics");
    assert_eq!(point_metrics(report, "toy-logistic"), expected, "moto's answer is keyed by body");
    stdout_json(wb_env(d, &moto).args(["promote", "toy-forest", "--json"]));
    let approved = bucket.rt.block_on(packages.find(&project, &"toy-forest".parse().expect("name"))).expect("find");
    assert_eq!(approved.expect("the promoted model's package").approval, "Approved", "promote approves the package");

    // Clean: a dry run lists the project's SageMaker resources and removes nothing.
    let before = tagged_hosting(&bucket, &moto, &project);
    assert_eq!(before.len(), 6, "two endpoints, two configs, two models: {before:?}");
    let dry = stdout_json(wb_env(d, &moto).args(["clean", "--all", "--dry-run", "--json"]));
    let kinds: Vec<&str> =
        dry["backend"].as_array().expect("backend").iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "endpoint").count(), 2, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "model-package").count(), 2, "{kinds:?}");
    assert!(kinds.contains(&"model-package-group"), "{kinds:?}");
    assert_eq!(tagged_hosting(&bucket, &moto, &project), before, "a dry run removes nothing");

    // --keep-promoted spares what serves the promoted model, on SageMaker and in the store.
    let kept = stdout_json(wb_env(d, &moto).args(["clean", "--keep-promoted", "--json"]));
    let removed: Vec<&str> =
        kept["backend"].as_array().expect("backend").iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(removed.contains(&"toy-logistic") && !removed.contains(&"toy-forest"), "{removed:?}");
    let left = tagged_hosting(&bucket, &moto, &project);
    assert_eq!(left.len(), 3, "the promoted endpoint, its configuration and its model: {left:?}");
    assert!(left.contains(&"endpoint toy-forest".to_owned()), "{left:?}");
    let left_packages = bucket.rt.block_on(packages.tagged(TAG, &project)).expect("tagged packages");
    let kinds: Vec<&str> = left_packages.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["model-package", "model-package-group"], "the promoted model's package and the group");
    let endpoints = stdout_json(wb_env(d, &moto).args(["endpoints", "list", "--json"]));
    let names: Vec<&str> =
        endpoints["endpoints"].as_array().expect("endpoints").iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, ["toy-forest"], "the promoted endpoint's record stays");

    stdout_json(wb_env(d, &moto).args(["clean", "--all", "--json"]));
    assert!(tagged_hosting(&bucket, &moto, &project).is_empty(), "nothing tagged is left");
    let packages_left = bucket.rt.block_on(packages.tagged(TAG, &project)).expect("tagged packages");
    assert!(packages_left.is_empty(), "no model package or group is left: {packages_left:?}");
    let left: Vec<String> = bucket.objects().into_keys().filter(|k| k.starts_with("wb/")).collect();
    assert!(left.is_empty(), "the store prefix is empty: {left:?}");
    let again = stdout_json(wb_env(d, &moto).args(["clean", "--all", "--json"]));
    assert!(again["backend"].as_array().expect("backend").iter().all(|r| r["kind"] != "endpoint"), "{again}");
}

#[test]
fn sagemaker_image_endpoint_deploys_answers_png_and_is_compared_against_moto() {
    let moto = Moto::spawn_dedicated();
    let bucket = Bucket::fresh(&moto);
    let sagemaker = Client::new(&moto.sdk_config());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let store = format!("s3://{}/wb", bucket.name);
    let project = format!("smi-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    init(d, &moto, &store, &project);
    let (pics, partition) = registered_pics(d, &moto);
    let test_images = partition["partition"]["splits"]["test"]["images"].as_u64().expect("test images");
    assert_eq!(test_images, 4, "{partition}");
    train_image_classifier(d, &moto);

    // Hosting SageMaker's built-in image classifier: its own image serves the job's artefact,
    // with data capture (SageMaker base64-encodes the PNG bodies, which are neither CSV nor JSON).
    let endpoint = stdout_json(wb_env(d, &moto).args([
        "deploy",
        "--job",
        "pics-ic",
        "--endpoint",
        "pics-ic",
        "--capture",
        "100",
        "--json",
    ]));
    assert_eq!(endpoint["backend"], "sagemaker", "{endpoint}");
    let described =
        bucket.rt.block_on(sagemaker.describe_endpoint().endpoint_name("pics-ic").send()).expect("describe endpoint");
    let config = bucket
        .rt
        .block_on(
            sagemaker
                .describe_endpoint_config()
                .endpoint_config_name(described.endpoint_config_name().expect("config"))
                .send(),
        )
        .expect("describe config");
    let capture = config.data_capture_config().expect("capture");
    assert_eq!(capture.initial_sampling_percentage(), Some(100));
    assert_eq!(capture.destination_s3_uri(), Some(format!("{store}/capture").as_str()));
    let model_name = config.production_variants()[0].model_name().expect("model").to_owned();
    let model = bucket.rt.block_on(sagemaker.describe_model().model_name(&model_name).send()).expect("describe model");
    let container = model.primary_container().expect("container");
    assert_eq!(container.image(), Some("811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"));
    assert_eq!(
        container.model_data_url(),
        Some(format!("{store}/training/pics-ic/output/model.tar.gz").as_str()),
        "the training job's artefact"
    );

    // Invocation with a PNG through SageMaker Runtime: moto hands out the queued answer.
    let answer = "[0.25, 0.75]".to_owned();
    queue_typed_answers(&moto, "application/json", std::slice::from_ref(&answer));
    let png = pics.join("motorcycle/3.png");
    let out = wb_env(d, &moto)
        .args(["endpoints", "invoke", "pics-ic", "--content-type", "image/png", "--body"])
        .arg(format!("@{}", png.display()))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8_lossy(&out).trim(), answer);

    // Registered: the model package says which bodies the model takes and answers.
    stdout_json(wb_env(d, &moto).args([
        "register",
        "pics-ic",
        "--endpoint",
        "pics-ic",
        "--description",
        "built-in image classifier",
        "--json",
    ]));
    let packages = ModelPackages::from_sdk_config(&moto.sdk_config());
    let mirrored = bucket.rt.block_on(packages.list(&project)).expect("packages");
    assert_eq!(mirrored.len(), 1, "{mirrored:?}");
    let package = bucket
        .rt
        .block_on(sagemaker.describe_model_package().model_package_name(&mirrored[0].arn).send())
        .expect("describe package");
    let inference = package.inference_specification().expect("inference specification");
    assert_eq!(inference.supported_content_types(), ["image/png", "image/jpeg", "application/x-image"]);
    assert_eq!(inference.supported_response_mime_types(), ["application/json"]);

    // The comparison sends every test image, one PNG per request, through SageMaker Runtime and
    // reads the built-in algorithm's JSON answers: every answer says "motorcycle", so accuracy is
    // the motorcycles' share of the test split (moto keys answers by body, so the order of the
    // concurrent requests does not matter when all answers are equal).
    queue_typed_answers(&moto, "application/json", &vec!["[0.1, 0.9]".to_owned(); test_images as usize]);
    let compared = stdout_json(wb_env(d, &moto).args(["compare", "--resamples", "20", "--json"]));
    let report = &compared["report"];
    assert_eq!(report["test_rows"].as_u64(), Some(test_images), "{report}");
    assert_eq!(report["models"].as_array().map(Vec::len), Some(1), "{}", report["failures"]);
    assert_eq!(point_metrics(report, "pics-ic")["accuracy"], 0.5, "two of the four test images are motorcycles");

    stdout_json(wb_env(d, &moto).args(["clean", "--all", "--json"]));
    assert!(tagged_hosting(&bucket, &moto, &project).is_empty(), "nothing tagged is left");
}

#[test]
fn wb_demo_on_the_sagemaker_backend_against_moto() {
    let moto = Moto::spawn_dedicated();
    let bucket = Bucket::fresh(&moto);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let demo = d.join("demo");
    let store = format!("s3://{}/demo", bucket.name);

    let err = fails(wb_env(d, &moto).args(["demo", "--backend", "sagemaker", "--dir", demo.to_str().expect("utf8")]));
    assert!(err.contains("--store") && err.contains("--role"), "{err}");

    // The wine test split: 319 of the 1,599 rows (60/20/20, stratified); one body per model holds them all
    // at the default batch size of 500. The sample invocation comes first.
    let mut answers = vec!["0.8,0.2".to_owned()];
    answers.extend((0..400).map(|i| {
        let p = 0.05 + f64::from(i % 17) / 20.0;
        format!("{:.3},{:.3}\n", 1.0 - p, p).repeat(319)
    }));
    queue_answers(&moto, &answers);
    let out = wb_env(d, &moto).args(sagemaker_demo(&demo, &store)).assert().success().get_output().stdout.clone();
    let report: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(report["store"], store.as_str());
    let models = report["models"].as_array().expect("models");
    assert_eq!(models.len(), 4);
    assert!(models.iter().all(|m| m["backend"] == "sagemaker"), "{models:?}");
    assert_eq!(report["sample"]["response"], "0.8,0.2");
    assert_eq!(report["comparison"]["leaderboard"].as_array().expect("leaderboard").len(), 4);
    // Monitoring: the promoted endpoint's baseline is in the bucket; the runs wait for SageMaker
    // to deliver capture (minutes), so the demo says what to run then.
    let monitoring = &report["monitoring"];
    assert!(monitoring["later"].as_str().is_some_and(|l| l.contains("wb monitor run")), "{monitoring}");
    assert!(monitoring.get("shifted").is_none(), "{monitoring}");
    let endpoint = monitoring["endpoint"].as_str().expect("endpoint");
    let key = format!("demo/monitoring/{endpoint}/baseline/statistics.json");
    assert!(bucket.objects().contains_key(&key), "{key}");
    assert!(report["promoted"]["model"].is_string());
    assert_eq!(tagged_hosting(&bucket, &moto, "wb-demo").len(), 12, "four endpoints, configs and models");

    let config = demo.join("workbench.toml");
    stdout_json(wb_env(d, &moto).args(["--config", config.to_str().expect("utf8"), "clean", "--all", "--json"]));
    assert!(tagged_hosting(&bucket, &moto, "wb-demo").is_empty(), "nothing tagged is left");
    assert!(bucket.objects().keys().all(|k| !k.starts_with("demo/")), "the store prefix is empty");
}

/// `wb demo --backend sagemaker --json` in `demo` on `store`, with the test role and image.
fn sagemaker_demo(demo: &Path, store: &str) -> Vec<String> {
    let demo = demo.to_str().expect("utf8");
    ["demo", "--backend", "sagemaker", "--dir", demo, "--store", store, "--role", ROLE, "--image", IMAGE, "--json"]
        .map(str::to_owned)
        .into()
}

/// Runs `wb demo --backend sagemaker` against `moto` (with `env` for `wb`) and returns its JSON
/// report and the tagged SageMaker resources it left.
fn demo_on(moto: &Moto, env: &[(&str, &str)]) -> (Value, Vec<String>) {
    let bucket = Bucket::fresh(moto);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let demo = d.join("demo");
    let store = format!("s3://{}/demo", bucket.name);
    // Every model answers the same 319 varied probabilities (whichever order the models are
    // scored in), so the comparison is informative and the same from run to run.
    let body: String = (0..319_u32)
        .map(|row| {
            let p = 0.01 + f64::from((row * 37) % 97) / 100.0;
            format!("{:.3},{:.3}\n", 1.0 - p, p)
        })
        .collect();
    let mut answers = vec!["0.8,0.2".to_owned()];
    answers.extend(std::iter::repeat_n(body, 400));
    queue_answers(moto, &answers);
    let mut cmd = wb_env(d, moto);
    cmd.envs(env.iter().copied()).args(sagemaker_demo(&demo, &store));
    let report = stdout_json(&mut cmd);
    // Looking with retries: the faults go on.
    let sdk = moto
        .sdk_config()
        .to_builder()
        .retry_config(wb_aws::aws_sdk_sagemaker::config::retry::RetryConfig::standard().with_max_attempts(10))
        .build();
    let found = bucket.rt.block_on(Hosting::from_sdk_config(&sdk).tagged(TAG, "wb-demo")).expect("tagged");
    let mut hosting: Vec<String> = found.into_iter().map(|r| format!("{} {}", r.kind, r.name)).collect();
    hosting.sort();
    let jobs =
        bucket.rt.block_on(Client::new(&sdk).list_training_jobs().max_results(100).send()).expect("training jobs");
    let mut names: Vec<String> = jobs
        .training_job_summaries()
        .iter()
        .map(|j| format!("training-job {}", j.training_job_name().unwrap_or_default()))
        .collect();
    names.sort();
    hosting.extend(names);
    // Without their time stamps (`-20261206210330395`, `-20261206-210330-058`).
    let hosting =
        hosting.into_iter().map(|n| n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-').to_owned()).collect();
    (report, hosting)
}

/// With a fifth of the S3 and SageMaker calls failing (S3's `503 SlowDown`, SageMaker's
/// `ThrottlingException`), the SDK's retries (`AWS_MAX_ATTEMPTS=10`) carry the demo pipeline —
/// register, partition, train, deploy, register the models, compare — to the same comparison
/// and the same resources, none duplicated, as without faults.
#[test]
fn the_sagemaker_pipeline_ends_the_same_under_injected_faults() {
    let calm = Moto::spawn_dedicated();
    let (expected, resources) = demo_on(&calm, &[]);
    assert!(calm.faults().is_empty());
    let stormy = Moto::spawn_dedicated_with(&[("WB_FAULT_RATE", "0.2"), ("WB_FAULT_SEED", "16")]);
    let (report, found) = demo_on(&stormy, &[("AWS_MAX_ATTEMPTS", "10")]);
    let faults = stormy.faults();
    let (s3, sagemaker) = (
        faults.iter().filter(|f| f.contains(" s3 ")).count(),
        faults.iter().filter(|f| f.contains(" sagemaker ")).count(),
    );
    assert!(s3 >= 10 && sagemaker >= 10, "faults were injected in both services: {s3} S3, {sagemaker} SageMaker");
    assert_eq!(found, resources, "the same resources, none duplicated");
    let leaderboard = &expected["comparison"]["leaderboard"];
    assert!(leaderboard[0]["value"].as_f64().is_some_and(|auc| auc != 0.5), "an informative comparison: {leaderboard}");
    assert_eq!(&report["comparison"]["leaderboard"], leaderboard, "the same comparison");
    assert_eq!(report["models"].as_array().map(Vec::len), Some(4));
}

#[test]
fn sagemaker_options_are_refused_on_the_local_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    stdout_json(crate::local::wb(d).args(["init", "--json"]));
    let err = fails(crate::local::wb(d).args(["train", "--dataset", "x", "--algorithm", "random-forest", "--spot"]));
    assert!(err.contains("--spot only applies to backend \"sagemaker\""), "{err}");
    let err = fails(crate::local::wb(d).args([
        "deploy",
        "--job",
        "j",
        "--endpoint",
        "e",
        "--instance-type",
        "ml.m5.large",
        "--instance-count",
        "2",
    ]));
    assert!(err.contains("--instance-type, --instance-count only apply"), "{err}");
    let err = fails(crate::local::wb(d).args(["aws", "policy"]));
    assert!(err.contains("S3") && err.contains("workbench.toml"), "{err}");
    assert!(!d.join(".workbench/training").exists(), "nothing was written");
}

/// A scripted SageMaker for what moto cannot do: a training job that keeps running until
/// `StopTrainingJob`, then is `Stopped`. Returns its URL and the operations it received.
fn running_job_sagemaker() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::http::{HeaderMap, StatusCode};
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&calls);
    let handler = move |headers: HeaderMap, body: String| {
        let calls = Arc::clone(&seen);
        async move {
            let operation = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .trim_start_matches("SageMaker.")
                .to_owned();
            let request: Value = serde_json::from_str(&body).unwrap_or_default();
            let job = request["TrainingJobName"].as_str().unwrap_or_default().to_owned();
            let mut calls = calls.lock().expect("lock");
            calls.push(operation.clone());
            let stopped = calls.iter().any(|c| c == "StopTrainingJob");
            let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}");
            let answer = match operation.as_str() {
                "CreateTrainingJob" => json!({ "TrainingJobArn": arn }),
                "StopTrainingJob" => json!({}),
                "DescribeTrainingJob" => {
                    let (status, secondary) = if stopped { ("Stopped", "Stopped") } else { ("InProgress", "Training") };
                    json!({
                        "TrainingJobName": job, "TrainingJobArn": arn,
                        "TrainingJobStatus": status, "SecondaryStatus": secondary,
                        "AlgorithmSpecification": { "TrainingImage": IMAGE, "TrainingInputMode": "File" },
                        "ResourceConfig": { "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30 },
                        "StoppingCondition": { "MaxRuntimeInSeconds": 86400 },
                        "CreationTime": 1.79e9, "LastModifiedTime": 1.79e9,
                    })
                }
                _ => {
                    let error = json!({ "__type": "UnknownOperationException", "message": operation });
                    return (StatusCode::BAD_REQUEST, error.to_string());
                }
            };
            (StatusCode::OK, answer.to_string())
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(format!("http://{}", listener.local_addr().expect("addr"))).expect("send the URL");
            let app = axum::Router::new().route("/", axum::routing::post(handler));
            // Serves until the test process ends.
            let _ = axum::serve(listener, app).await;
        });
    });
    (rx.recv().expect("the scripted SageMaker's URL"), calls)
}

#[test]
#[cfg(unix)]
fn ctrl_c_stops_the_sagemaker_training_job() {
    let moto = Moto::spawn_dedicated();
    let bucket = Bucket::fresh(&moto);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let project = format!("sm-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    init(d, &moto, &format!("s3://{}/wb", bucket.name), &project);
    let source = csv(d, "toy.csv", &toy_csv(200));
    let source = source.to_str().expect("utf8");
    stdout_json(
        wb_env(d, &moto).args(["dataset", "register", "toy", "--source", source, "--target", "label", "--json"]),
    );
    stdout_json(wb_env(d, &moto).args(["dataset", "partition", "toy", "--json"]));

    // The store stays on moto; SageMaker is the scripted one (the SDK's per-service endpoint).
    let (sagemaker_url, calls) = running_job_sagemaker();
    let empty = d.join("empty-aws-config");
    let mut train = std::process::Command::new(assert_cmd::cargo::cargo_bin("wb"));
    train.current_dir(d).env_remove("WB_CONFIG").env("NO_COLOR", "1");
    for var in crate::s3::FOREIGN_AWS_VARS {
        train.env_remove(var);
    }
    train
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ENDPOINT_URL_SAGEMAKER", &sagemaker_url)
        .args(["train", "--dataset", "toy", "--algorithm", "random-forest", "--job", "toy-stop"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = train.spawn().expect("start wb train");

    // Once the job is running, Ctrl-C (SIGINT) stops it rather than leaving it running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !calls.lock().expect("lock").iter().any(|c| c == "DescribeTrainingJob") {
        assert!(std::time::Instant::now() < deadline, "wb never asked for the job's status: {:?}", calls.lock());
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("wb train ended early ({status}): {:?}", child.wait_with_output());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wb train ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("toy-stop") && stderr.contains("Stopped: stopped on request"), "{stderr}");
    let operations = calls.lock().expect("lock").clone();
    assert_eq!(&operations[..2], ["CreateTrainingJob", "DescribeTrainingJob"], "{operations:?}");
    assert!(operations.contains(&"StopTrainingJob".to_owned()), "{operations:?}");
    assert_eq!(operations.last().map(String::as_str), Some("DescribeTrainingJob"), "followed until Stopped");

    // The job is recorded as SageMaker ended it.
    let job = stdout_json(wb_env(d, &moto).args(["jobs", "show", "toy-stop", "--json"]));
    assert_eq!(job["status"], "Stopped");
    assert_eq!(job["failure_reason"], "stopped on request");
    assert_eq!(job["backend"], "sagemaker");
}

/// Creates the project's role in moto's IAM (Lambda's CreateFunction needs it to exist).
fn create_role(moto: &Moto) {
    let script = r#"
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal":
         {"Service": ["sagemaker.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"]}}]}
iam.create_role(RoleName=sys.argv[2], AssumeRolePolicyDocument=json.dumps(trust))
"#;
    let out = std::process::Command::new(wb_aws::testkit::python())
        .args(["-c", script, moto.url(), ROLE.rsplit('/').next().expect("role name")])
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_workflow_is_hosted_on_lambda_and_step_functions_and_cleaned_against_moto() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let functions = ["wb-pics-ic-serialize", "wb-pics-ic-classify", "wb-pics-ic-filter"];
    let (mut emulator_process, emulator) = crate::lambda::emulator(&d.join("emulator"), &functions);
    let moto = Moto::spawn_dedicated_with(&[("WB_LAMBDA_INVOKE_URL", emulator.as_str())]);
    let (status, body) = moto.post_moto_api(
        "/moto-api/config",
        "application/json",
        r#"{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}"#,
    );
    assert!((200..300).contains(&status), "moto's engines switched on: {status} {body}");
    create_role(&moto);
    let bucket = Bucket::fresh(&moto);
    let store = format!("s3://{}/wb", bucket.name);
    let project = format!("wf-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let project_dir = d.join("project");
    std::fs::create_dir_all(&project_dir).expect("mkdir");
    let p = project_dir.as_path();
    init(p, &moto, &store, &project);
    let (pics, _) = registered_pics(p, &moto);
    train_image_classifier(p, &moto);
    stdout_json(wb_env(p, &moto).args(["deploy", "--job", "pics-ic", "--endpoint", "pics-ic", "--json"]));

    // Deployed: three functions running wb-lambda as bootstrap, the state machine, all tagged.
    let deployed = stdout_json(wb_env(p, &moto).args(["workflow", "deploy", "--endpoint", "pics-ic", "--json"]));
    assert_eq!(deployed["machine"], "wb-pics-ic-workflow", "{deployed}");
    assert_eq!(deployed["replaced"], false);
    let names: Vec<&str> =
        deployed["functions"].as_array().expect("functions").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, functions);
    assert!(deployed["functions"].as_array().expect("functions").iter().all(|f| f["created"] == true), "{deployed}");
    let lambda = wb_aws::aws_sdk_lambda::Client::new(&moto.sdk_config());
    let mut environments = Vec::new();
    for name in functions {
        let config = bucket
            .rt
            .block_on(lambda.get_function_configuration().function_name(name).send())
            .expect("the function exists");
        assert_eq!(
            config.runtime().map(wb_aws::aws_sdk_lambda::types::Runtime::as_str),
            Some("provided.al2023"),
            "{name}"
        );
        assert_eq!(config.handler(), Some("bootstrap"), "{name}");
        assert_eq!(config.role(), Some(ROLE), "{name}");
        let env = config.environment().and_then(|e| e.variables()).cloned().unwrap_or_default();
        environments.push(env);
    }
    assert_eq!(environments[0].get("WB_STORE"), Some(&store), "the serializer reads the project's store");
    assert_eq!(environments[1].get("WB_ENDPOINT").map(String::as_str), Some("pics-ic"));
    assert_eq!(environments[2].get("WB_THRESHOLD").map(String::as_str), Some("0.93"));
    let again = stdout_json(wb_env(p, &moto).args(["workflow", "deploy", "--endpoint", "pics-ic", "--json"]));
    assert_eq!(again["replaced"], true, "a second deploy updates in place: {again}");
    assert!(again["functions"].as_array().expect("functions").iter().all(|f| f["created"] == false), "{again}");
    let listed = stdout_json(wb_env(p, &moto).args(["clean", "--all", "--dry-run", "--json"]));
    let listed = listed.to_string();
    assert!(listed.contains("wb-pics-ic-workflow") && listed.contains("wb-pics-ic-classify"), "{listed}");

    // The functions as Lambda would run them: the deployed environment, credentials for moto.
    let logs = d.join("function-logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let bootstrap = Path::new(env!("CARGO_BIN_EXE_wb-lambda"));
    let mut running = Vec::new();
    for (name, env) in functions.iter().zip(&environments) {
        let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (k, v) in [
            ("AWS_ENDPOINT_URL", moto.url()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            env.push((k.to_owned(), v.to_owned()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        running.push(crate::lambda::function(bootstrap, &emulator, name, &env, &logs));
    }

    // A confident image succeeds with the reference's event; an unconfident one fails loudly.
    queue_typed_answers(&moto, "application/json", &["[0.02, 0.98]".to_owned()]);
    let image = pics.join("motorcycle/3.png");
    let started = stdout_json(
        wb_env(p, &moto).args(["workflow", "start", "--endpoint", "pics-ic", "--image"]).arg(&image).arg("--json"),
    );
    let run = &started[0];
    assert_eq!(
        run["status"],
        "SUCCEEDED",
        "{started}\n{}",
        std::fs::read_to_string(logs.join("wb-pics-ic-serialize.log")).unwrap_or_default()
    );
    assert_eq!(run["output"]["inferences"], json!([0.02, 0.98]), "{run}");
    assert!(
        run["output"]["s3_key"].as_str().is_some_and(|k| k.starts_with("wb/workflows/wb-pics-ic-workflow/inputs/")),
        "{run}"
    );
    assert!(run["output"].get("image_data").is_none(), "the summary leaves the image bytes out: {run}");
    assert_eq!(run["output"]["s3_bucket"], bucket.name.as_str());

    queue_typed_answers(&moto, "application/json", &["[0.6, 0.4]".to_owned()]);
    let err = fails(
        wb_env(p, &moto)
            .args(["workflow", "start", "--endpoint", "pics-ic", "--image"])
            .arg(pics.join("bicycle/4.png")),
    );
    assert!(err.contains("THRESHOLD_CONFIDENCE_NOT_MET") && err.contains("bicycle/4.png"), "{err}");
    let err =
        fails(wb_env(p, &moto).args(["workflow", "start", "--endpoint", "pics-ic", "--map", "--image"]).arg(&image));
    assert!(err.contains("wb-pics-ic-batch") && err.contains("wb workflow deploy"), "{err}");
    for function in &mut running {
        function.assert_alive(&logs.join("wb-pics-ic-classify.log"));
    }
    emulator_process.assert_alive(&d.join("emulator/emulator.err"));

    // `wb clean` removes the state machine and the functions by tag.
    stdout_json(wb_env(p, &moto).args(["clean", "--all", "--json"]));
    let left = bucket.rt.block_on(lambda.list_functions().send()).expect("list functions");
    assert!(left.functions().is_empty(), "functions left: {:?}", left.functions());
    let sfn = wb_aws::aws_sdk_sfn::Client::new(&moto.sdk_config());
    let machines = bucket.rt.block_on(sfn.list_state_machines().send()).expect("list machines");
    assert!(machines.state_machines().is_empty(), "state machines left: {:?}", machines.state_machines());
}

//! Image models compared like tabular ones: a small PNG dataset registered and partitioned in
//! a temporary store, fake image classifiers that decode each request's PNG and answer from its
//! pixels under SageMaker's image-classifier contract.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use wb_compare::report::{InputKind, Report};
use wb_compare::{Error, compare, render, reports};
use wb_core::{DatasetName, DynObjectStore, EndpointName, JobName, LocalStore, ModelName, ObjectStoreExt, PutMode};
use wb_datasets::images::{ImageManifest, ImageRegisterRequest};
use wb_datasets::{Datasets, PartitionSpec, Split};
use wb_models::registry::ModelRecord;
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest, InvokeResponse};

/// Images per class.
const PER_CLASS: usize = 40;

struct ImageProject {
    _dir: tempfile::TempDir,
    store: DynObjectStore,
    dataset: DatasetName,
    manifest: ImageManifest,
}

/// An 8×8 RGB PNG of mean brightness about `level` (0..1), with a little texture; the first
/// pixel's red and green hold `seed`, so images of different seeds differ.
fn png(level: f64, seed: u16) -> Vec<u8> {
    let [high, low] = seed.to_be_bytes();
    let image = image::RgbImage::from_fn(8, 8, |x, y| {
        if (x, y) == (0, 0) {
            return image::Rgb([low, high, 0]);
        }
        let texture = f64::from((x * 7 + y * 13 + u32::from(seed) * 5) % 9) - 4.0;
        let v = (level * 255.0 + texture).clamp(0.0, 255.0) as u8;
        image::Rgb([v, v, v])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

/// A distinct seed per image.
fn seed(class: usize, i: usize) -> u16 {
    u16::try_from(class * 256 + i).expect("small")
}

/// `dark/` and `light/` images whose brightness ranges overlap (so a good model still errs a
/// little), registered and partitioned as dataset `shades`.
async fn image_project() -> ImageProject {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let source = dir.path().join("shades");
    for (c, (class, base)) in [("dark", 0.10), ("light", 0.48)].into_iter().enumerate() {
        std::fs::create_dir_all(source.join(class)).expect("class folder");
        for i in 0..PER_CLASS {
            let level = base + 0.42 * (i as f64 / PER_CLASS as f64);
            std::fs::write(source.join(class).join(format!("img_{i:02}.png")), png(level, seed(c, i)))
                .expect("write png");
        }
    }
    let dataset = DatasetName::parse("shades").expect("name");
    let datasets = Datasets::new(store.clone());
    datasets
        .register_images(ImageRegisterRequest {
            name: dataset.clone(),
            images: source.to_str().expect("utf-8 path").to_owned(),
            lst: Vec::new(),
            new_version: false,
        })
        .await
        .expect("register images");
    let manifest =
        datasets.partition_images(&dataset, PartitionSpec::default(), false).await.expect("partition").manifest;
    ImageProject { _dir: dir, store, dataset, manifest }
}

/// A registry entry for an image model served by the fake invoker, trained on the partition.
async fn image_model(p: &ImageProject, name: &str) {
    let record = ModelRecord {
        name: ModelName::parse(name).expect("name"),
        description: "fake image classifier".into(),
        algorithm: "image-classification".into(),
        artifact: "none".into(),
        endpoint: EndpointName::parse(name).expect("endpoint"),
        backend: wb_core::BackendKind::Local,
        dataset: p.dataset.clone(),
        fingerprint: p.manifest.fingerprint,
        job: JobName::parse(format!("{name}-job")).expect("job"),
        hyperparameters: BTreeMap::new(),
        validation_metrics: BTreeMap::new(),
        registered_at: "2026-11-23T00:00:00Z".parse().expect("time"),
        tags: BTreeMap::new(),
    };
    let path = wb_core::ObjectPath::parse(format!("registry/models/{name}.json")).expect("path");
    p.store.put_json(&path, &record, PutMode::Create).await.expect("write record");
}

/// Image classifiers by endpoint name: `good` answers from the brightness, `noisy` flips
/// about 40 % of its answers (and answers as `text/csv`), `three` answers three
/// probabilities for two classes. Requests that are not one PNG with `Accept:
/// application/json` are refused.
#[derive(Debug, Default)]
struct FakeImageClassifiers {
    calls: AtomicUsize,
}

#[async_trait]
impl InvokeEndpoint for FakeImageClassifiers {
    async fn invoke_endpoint(&self, endpoint: &str, request: InvokeRequest) -> wb_serving::Result<InvokeResponse> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let refuse = |status: u16, message: String| {
            Err(wb_serving::Error::Invocation {
                endpoint: endpoint.into(),
                code: "ValidationError".into(),
                status,
                message,
            })
        };
        if request.content_type != "image/png" || request.accept.as_deref() != Some("application/json") {
            return refuse(415, format!("content type {} accept {:?}", request.content_type, request.accept));
        }
        let decoded = match image::load_from_memory_with_format(&request.body, image::ImageFormat::Png) {
            Ok(decoded) => decoded.to_luma8(),
            Err(e) => return refuse(400, format!("not one PNG: {e}")),
        };
        let mean = decoded.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / (decoded.len() as f64 * 255.0);
        let light = 1.0 / (1.0 + (-(mean - 0.5) * 12.0).exp());
        let json = |values: &[f64]| InvokeResponse {
            content_type: "application/json".into(),
            body: serde_json::to_vec(values).expect("json").into(),
            invoked_variant: Some("AllTraffic".into()),
            custom_attributes: None,
        };
        match endpoint {
            "good" => Ok(json(&[1.0 - light, light])),
            "noisy" => {
                let flip = request.body.iter().map(|b| usize::from(*b)).sum::<usize>() % 10 < 4;
                let p = if flip { 1.0 - light } else { light };
                Ok(InvokeResponse {
                    content_type: "text/csv".into(),
                    body: format!("{},{}\n", 1.0 - p, p).into_bytes().into(),
                    invoked_variant: None,
                    custom_attributes: None,
                })
            }
            "three" => Ok(json(&[0.2, 0.3, 0.5])),
            other => refuse(400, format!("Endpoint {other} not found.")),
        }
    }
}

fn accuracy(report: &Report, model: &str) -> f64 {
    report.model(model).and_then(|m| m.metric("accuracy")).and_then(|e| e.value).expect("accuracy")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_models_are_compared_on_the_test_images() {
    let p = image_project().await;
    for name in ["good", "noisy", "three"] {
        image_model(&p, name).await;
    }
    let invoker = Arc::new(FakeImageClassifiers::default());
    let comparison = compare(p.store.clone(), invoker.clone())
        .seed(3)
        .resamples(200)
        .batch_size(50)
        .concurrency(4)
        .await
        .expect("compare images");
    let report = &comparison.report;
    let test_paths: Vec<String> = p.manifest.images(Split::Test).map(|i| i.relative.to_owned()).collect();
    let n = test_paths.len();
    assert_eq!(n, 16, "20 % of 80 images");
    assert_eq!(report.inputs, InputKind::Images);
    assert_eq!(report.task, wb_datasets::TaskKind::Classification);
    assert_eq!(report.classes, ["dark", "light"]);
    assert_eq!(report.test_rows, n);
    assert_eq!(report.fingerprint, p.manifest.fingerprint);
    assert!(report.warnings.is_empty(), "no importance warning for images: {:?}", report.warnings);

    // The endpoint answering three probabilities for two classes fails, named.
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert_eq!(failure.model.as_str(), "three");
    assert!(
        failure.error.contains("endpoint \"three\"")
            && failure.error.contains("expected 2 class probabilities, got 3")
            && test_paths.iter().any(|path| failure.error.contains(&format!("image {path}"))),
        "{}",
        failure.error
    );

    // Both other models scored one image per invocation, whatever the batch size.
    assert_eq!(report.models.len(), 2);
    for m in &report.models {
        assert_eq!(m.scoring.rows, n);
        assert_eq!(m.scoring.invocations, n, "{}: one image per invocation", m.model);
        assert_eq!(m.confusion.iter().flatten().sum::<u64>(), n as u64, "{}", m.model);
        assert_eq!(m.per_class.iter().map(|c| c.support).sum::<u64>(), n as u64);
        assert!(m.curves.is_some(), "two classes have ROC and PR curves");
        assert!(m.importance.is_none() && m.slices.is_none(), "no importance or slices for images");
        assert_eq!(m.worst_rows.len(), 10);
        for w in &m.worst_rows {
            assert!(test_paths.contains(&w.row_id), "{} is a test image", w.row_id);
            assert!(w.image.as_deref().is_some_and(|uri| uri.starts_with("data:image/png;base64,")), "{w:?}");
        }
    }
    assert!(accuracy(report, "good") >= accuracy(report, "noisy"));
    assert!(accuracy(report, "good") >= 0.75, "brightness separates the classes");
    assert_eq!(report.leaderboard[0].model.as_str(), "good");
    let pair = &report.comparisons[0];
    assert!(pair.mcnemar.is_some() && pair.delong.is_some(), "the paired tests apply to images");
    assert_eq!(pair.rows, n);
    let calls = invoker.calls.load(Ordering::SeqCst);
    assert!(
        (2 * n + 1..=2 * n + 4).contains(&calls),
        "the scored models saw every test image once; the failing one stopped within its 4 in flight: {calls}"
    );

    // Predictions per image, by path.
    let good = comparison.predictions.iter().find(|m| m.model.as_str() == "good").expect("good");
    assert_eq!(good.rows.iter().map(|r| r.row_id.clone()).collect::<Vec<_>>(), test_paths);

    // The HTML gallery embeds the worst images; the Markdown lists them by path.
    let page = render::html(report);
    assert!(page.contains("data:image/png;base64,"), "embedded images");
    assert!(page.contains("Worst images"));
    let md = render::markdown(report);
    assert!(md.contains("#### Worst images") && !md.contains("base64"));
    for m in &report.models {
        for w in &m.worst_rows {
            assert!(page.contains(&w.row_id) && md.contains(&w.row_id), "{} is listed", w.row_id);
        }
    }

    // Written and read back whole.
    reports::write(&p.store, report, comparison.files()).await.expect("write");
    let loaded = reports::load(&p.store, &report.id).await.expect("load");
    assert_eq!(&loaded, report);
    let json = reports::load_file(&p.store, &report.id, "report.json").await.expect("report.json");
    let json: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(json["inputs"], "images");
}

#[tokio::test]
async fn a_tampered_test_image_is_refused_naming_the_object() {
    let p = image_project().await;
    image_model(&p, "good").await;
    let first = p.manifest.images(Split::Test).next().expect("a test image").path;
    p.store.put_opts(&first, png(0.5, 999).into(), PutMode::Overwrite).await.expect("tamper");
    let err = compare(p.store.clone(), Arc::new(FakeImageClassifiers::default()))
        .resamples(10)
        .await
        .expect_err("tampered image");
    assert!(matches!(err, Error::Datasets(wb_datasets::Error::Corrupt { .. })), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(first.as_str()) && message.contains("corrupt"), "{message}");
}

#[tokio::test]
async fn slicing_an_image_dataset_is_refused_naming_the_option() {
    let p = image_project().await;
    image_model(&p, "good").await;
    let err = compare(p.store.clone(), Arc::new(FakeImageClassifiers::default()))
        .slice_by("colour")
        .await
        .expect_err("no columns");
    assert!(matches!(err, Error::InvalidOption { option: "--slice-by", .. }), "{err:?}");
    assert!(err.to_string().contains("shades") && err.to_string().contains("images"), "{err}");
}

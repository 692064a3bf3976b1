use std::sync::Arc;

use bytes::Bytes;
use wb_core::{DynObjectStore, LocalStore, ObjectPath};
use wb_models::container;
use wb_models::testkit::BarImages;
use wb_serving::invoke::RuntimeClient;
use wb_serving::server::{LoadedEndpoint, ModelServer, RunningServer, StaticCatalog};
use wb_workflow::{
    ENDPOINT_REFUSED, ENDPOINT_UNAVAILABLE, IMAGE_NOT_FOUND, IMAGE_TOO_LARGE, INVALID_EVENT, ImageEvent, NOT_AN_IMAGE,
    STATE_LIMIT_BYTES, StoreObjects, THRESHOLD_CONFIDENCE_NOT_MET, Threshold, classify, filter_low_confidence,
    serialize_image_data,
};

pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) store: DynObjectStore,
    pub(crate) objects: StoreObjects,
    pub(crate) server: RunningServer,
    pub(crate) client: RuntimeClient,
    /// A validation image of the bars, as PNG bytes.
    pub(crate) png: Vec<u8>,
    /// The bars of both classes in one image, as PNG bytes.
    pub(crate) ambiguous: Vec<u8>,
}

/// A local store and the pixel baseline, briefly trained on bar images (so that it is not
/// certain of anything), served as endpoint `bars`.
pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = BarImages::default().write_container(
        &dir.path().join("job"),
        "image-logistic",
        &[("epochs", "1"), ("learning_rate", "0.0005")],
    );
    let outcome = container::train(&paths, Some("bars")).expect("trains");
    let endpoint = LoadedEndpoint::new("bars", "AllTraffic", Arc::new(outcome.artifact), None).expect("endpoint");
    let server = ModelServer::builder(Arc::new(StaticCatalog::new(vec![Arc::new(endpoint)])))
        .build()
        .bind(([127, 0, 0, 1], 0).into())
        .await
        .expect("serve");
    let client = RuntimeClient::new(&server.url()).expect("client");
    let lst = std::fs::read_to_string(paths.channel("validation_lst").join("validation.lst")).expect("lst");
    let of_class = |label: &str| -> Vec<u8> {
        let line = lst.lines().find(|l| l.split('\t').nth(1) == Some(label)).expect("an image of the class");
        std::fs::read(paths.channel("validation").join(line.split('\t').nth(2).expect("path"))).expect("png")
    };
    let png = of_class("0");
    // Both classes' bars at once: an image the model cannot be sure of.
    let (a, b) = (
        image::load_from_memory(&png).expect("decodes").to_rgb8(),
        image::load_from_memory(&of_class("1")).expect("decodes").to_rgb8(),
    );
    let mixed = image::RgbImage::from_fn(a.width(), a.height(), |x, y| {
        let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
        image::Rgb([0, 1, 2].map(|c| ((u16::from(p[c]) + u16::from(q[c])) / 2) as u8))
    });
    let mut ambiguous = Vec::new();
    mixed.write_to(&mut std::io::Cursor::new(&mut ambiguous), image::ImageFormat::Png).expect("png");
    let root = dir.path().join("store");
    let store: DynObjectStore = Arc::new(LocalStore::open(&root).expect("store"));
    Fixture { objects: StoreObjects::new(store.clone()), store, server, client, png, ambiguous, _dir: dir }
}

pub(crate) async fn put(store: &DynObjectStore, path: &str, bytes: Vec<u8>) -> ObjectPath {
    let path = ObjectPath::parse(path).expect("path");
    store.put(&path, Bytes::from(bytes)).await.expect("put");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_in_the_store_is_serialized_classified_and_filtered() {
    let f = fixture().await;
    let path = put(&f.store, "images/bar.png", f.png.clone()).await;
    let event = f.objects.event_for(&path);
    assert!(event.s3_bucket.starts_with("file://") && event.s3_key == "images/bar.png", "{event:?}");

    let serialized = serialize_image_data(&f.objects, event).await.expect("serializes");
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD.decode(&serialized.image_data).expect("base64");
    assert_eq!(decoded, f.png, "image_data is the object's bytes");

    let classified = classify(&f.client, "bars", serialized).await.expect("classifies");
    assert_eq!(classified.inferences.len(), 2, "{classified:?}");
    assert!((classified.inferences.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    let best = classified.inferences.iter().copied().fold(0.0, f64::max);

    // Passes at a threshold the answer reaches, fails loudly just above it.
    let passed = filter_low_confidence(classified.clone(), Threshold::new(best).expect("threshold")).expect("passes");
    assert_eq!(passed, classified);
    assert!(best < 1.0, "the briefly trained model is not certain: {best}");
    let above = Threshold::new(best + (1.0 - best) / 2.0).expect("threshold");
    let err = filter_low_confidence(classified, above).expect_err("below the threshold");
    assert_eq!(err.name(), THRESHOLD_CONFIDENCE_NOT_MET, "{err}");
    f.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_objects_images_and_endpoints_give_named_errors() {
    let f = fixture().await;
    let name = |r: wb_workflow::Result<ImageEvent>| r.expect_err("refused").name();

    // A missing object, an object outside the project's store, and one that is not an image.
    let missing = f.objects.event_for(&ObjectPath::parse("images/none.png").expect("path"));
    assert_eq!(name(serialize_image_data(&f.objects, missing).await), IMAGE_NOT_FOUND);
    let elsewhere = ImageEvent::new("some-other-bucket", "test/a.png");
    let err = serialize_image_data(&f.objects, elsewhere).await.expect_err("outside");
    assert!(err.name() == IMAGE_NOT_FOUND && err.to_string().contains("not in the project's store"), "{err}");
    let text = put(&f.store, "images/notes.png", b"these are not pixels".to_vec()).await;
    assert_eq!(name(serialize_image_data(&f.objects, f.objects.event_for(&text)).await), NOT_AN_IMAGE);

    // An image whose base64 would push the state over Step Functions' 262,144 bytes.
    let noise = image::RgbImage::from_fn(320, 320, |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).to_le_bytes();
        image::Rgb([v[0], v[1], v[2]])
    });
    let mut big = Vec::new();
    noise.write_to(&mut std::io::Cursor::new(&mut big), image::ImageFormat::Png).expect("png");
    assert!(big.len() * 4 / 3 > STATE_LIMIT_BYTES, "the test image is large enough: {} bytes", big.len());
    let big = put(&f.store, "images/big.png", big).await;
    let err = serialize_image_data(&f.objects, f.objects.event_for(&big)).await.expect_err("too large");
    assert!(err.name() == IMAGE_TOO_LARGE && err.to_string().contains("262144"), "{err}");

    // The classifier: an event without image data, an unknown endpoint, an endpoint that is down.
    let bar = put(&f.store, "images/bar.png", f.png.clone()).await;
    assert_eq!(name(classify(&f.client, "bars", f.objects.event_for(&bar)).await), INVALID_EVENT);
    let serialized = serialize_image_data(&f.objects, f.objects.event_for(&bar)).await.expect("serializes");
    assert_eq!(name(classify(&f.client, "no-such-endpoint", serialized.clone()).await), ENDPOINT_REFUSED);
    let url = f.server.url();
    f.server.shutdown().await.expect("shutdown");
    let down = RuntimeClient::new(&url).expect("client");
    let err = classify(&down, "bars", serialized).await.expect_err("down");
    assert!(err.name() == ENDPOINT_UNAVAILABLE && err.to_string().contains("bars"), "{err}");
}

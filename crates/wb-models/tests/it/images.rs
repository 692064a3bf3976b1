//! The image classifier end to end: container trees of synthetic bar images, training both
//! architectures, artefacts, inference and every refusal.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use rand::SeedableRng;
use wb_models::artifact::{ModelArtifact, WEIGHTS_FILE, pack_dir};
use wb_models::container::{self, ContainerPaths};
use wb_models::image_classifier::{EpochMetrics, ImageClassifier, decode_image};
use wb_models::testkit::BarImages;
use wb_models::{FittedModel, ImageInput};

/// Fast settings for the bar images: they separate within an epoch or two.
const FAST: [(&str, &str); 2] = [("learning_rate", "0.01"), ("mini_batch_size", "16")];

fn job(dir: &Path, bars: &BarImages, algorithm: &str, extra: &[(&str, &str)]) -> ContainerPaths {
    let mut all: Vec<(&str, &str)> = FAST.to_vec();
    all.extend_from_slice(extra);
    bars.write_container(dir, algorithm, &all)
}

fn train(paths: &ContainerPaths) -> (ModelArtifact, Vec<EpochMetrics>) {
    let mut seen = Vec::new();
    let never = AtomicBool::new(false);
    let outcome =
        container::train_with_progress(paths, Some("job-1"), &mut |m| seen.push(m.clone()), &never).expect("trains");
    (outcome.artifact, seen)
}

/// The validation images of a tree, decoded, with their labels.
fn validation_images(paths: &ContainerPaths, shape: ImageInput) -> (Vec<image::DynamicImage>, Vec<usize>) {
    let lst = std::fs::read_to_string(paths.channel("validation_lst").join("validation.lst")).expect("lst");
    lst.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let bytes = std::fs::read(paths.channel("validation").join(fields[2])).expect("png");
            (decode_image(&bytes, shape).expect("decodes"), fields[1].parse::<usize>().expect("label"))
        })
        .unzip()
}

fn argmax(p: &[f64]) -> usize {
    (0..p.len()).fold(0, |best, i| if p[i] > p[best] { i } else { best })
}

#[test]
fn the_cnn_learns_the_bars_and_its_archive_predicts_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = job(dir.path(), &BarImages::default(), "image-classification", &[("epochs", "2")]);
    let (artifact, seen) = train(&paths);

    // Per-epoch metrics: the callback, the events' numbers and epochs.json agree.
    assert_eq!(seen.iter().map(|m| m.epoch).collect::<Vec<_>>(), [1, 2]);
    let history: Vec<EpochMetrics> =
        serde_json::from_slice(&std::fs::read(paths.output_data_dir().join("epochs.json")).expect("epochs.json"))
            .expect("epochs parse");
    assert_eq!(history, seen);
    let last = seen.last().expect("an epoch");
    assert!(last.validation_accuracy >= 0.95, "validation accuracy {}", last.validation_accuracy);
    assert!(last.train_loss.is_finite() && last.validation_loss < seen[0].train_loss, "{seen:?}");

    // metrics.json uses the tabular names and matches the last epoch.
    let metrics: std::collections::BTreeMap<String, f64> =
        serde_json::from_slice(&std::fs::read(paths.output_data_dir().join("metrics.json")).expect("metrics.json"))
            .expect("metrics parse");
    assert_eq!(metrics["accuracy"], last.validation_accuracy);
    assert!(metrics.contains_key("log_loss") && metrics.contains_key("auc"), "{metrics:?}");
    assert_eq!(artifact.metadata.validation_metrics, metrics);
    assert_eq!(artifact.metadata.algorithm, "image-classification");
    assert_eq!(artifact.metadata.train_rows, 200);
    assert_eq!(artifact.metadata.hyperparameters["num_layers"], "2");
    assert_eq!(artifact.metadata.hyperparameters["seed"], "42");

    // The model files: weights in safetensors, none in model.json; the schema has the image shape.
    let shape = ImageInput { channels: 3, height: 32, width: 32 };
    assert_eq!(artifact.schema.image, Some(shape));
    assert!(artifact.schema.features.0.is_empty());
    let model_json = std::fs::read_to_string(paths.model_dir().join("model.json")).expect("model.json");
    assert!(model_json.contains("\"kind\":\"image-classifier\"") && !model_json.contains("weights"), "{model_json}");
    assert!(paths.model_dir().join(WEIGHTS_FILE).is_file());
    assert_eq!(ModelArtifact::read_dir(&paths.model_dir()).expect("read model/"), artifact);

    // Inference: class names from the metadata channel, probabilities in class order.
    let classifier = ImageClassifier::from_artifact(&artifact).expect("an image model");
    assert_eq!(classifier.classes(), ["vertical", "horizontal"]);
    assert_eq!(classifier.image_shape(), shape);
    let (images, labels) = validation_images(&paths, shape);
    let proba = classifier.predict(&images).expect("predicts");
    assert_eq!(proba.len(), images.len());
    assert!(proba.iter().all(|p| p.len() == 2 && (p.iter().sum::<f64>() - 1.0).abs() < 1e-5));
    let correct = proba.iter().zip(&labels).filter(|(p, l)| argmax(p) == **l).count();
    assert_eq!(correct as f64 / labels.len() as f64, metrics["accuracy"]);

    // The archive holds the weights and predicts identically after the round trip.
    let bytes = artifact.to_tar_gz().expect("pack");
    assert_eq!(bytes, artifact.to_tar_gz().expect("pack again"), "reproducible archive");
    assert_eq!(pack_dir(&paths.model_dir()).expect("pack model/"), bytes, "as SageMaker packs model/");
    let back = ModelArtifact::from_tar_gz("model.tar.gz", &bytes).expect("reads back");
    assert_eq!(back, artifact);
    let again = ImageClassifier::from_artifact(&back).expect("an image model");
    assert_eq!(again.predict(&images).expect("predicts"), proba);

    // A larger image is resized to the model's shape, a grey one made RGB.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let big = BarImages { side: 64, ..BarImages::default() };
    let decoded = classifier.decode(&big.png(0, &mut rng)).expect("decodes");
    assert_eq!((decoded.width(), decoded.height()), (32, 32));
    assert_eq!(argmax(&classifier.predict(&[decoded]).expect("predicts")[0]), 0, "a resized vertical bar");
    let grey = image::DynamicImage::ImageLuma8(image::GrayImage::from_pixel(20, 10, image::Luma([9])));
    let mut grey_png = Vec::new();
    grey.write_to(&mut std::io::Cursor::new(&mut grey_png), image::ImageFormat::Png).expect("encode");
    let decoded = classifier.decode(&grey_png).expect("decodes");
    assert!(matches!(decoded, image::DynamicImage::ImageRgb8(_)) && decoded.width() == 32);

    // The tabular API refuses an image model instead of panicking.
    let err = artifact.model.predict(ndarray::Array2::<f64>::zeros((1, 3)).view()).expect_err("tabular predict");
    assert!(err.to_string().contains("image"), "{err}");
    assert!(artifact.model.is_image());
    let tabular = FittedModel::Linear {
        linear: wb_models::model::LinearModel { weights: vec![vec![1.0]], intercepts: vec![0.0] },
    };
    assert!(ImageClassifier::from_model(&tabular).is_err());

    // An archive without its weights is refused naming the file.
    std::fs::remove_file(paths.model_dir().join(WEIGHTS_FILE)).expect("remove weights");
    let err = ModelArtifact::from_tar_gz("no-weights.tar.gz", &pack_dir(&paths.model_dir()).expect("pack"))
        .expect_err("weights missing");
    assert!(err.to_string().contains(WEIGHTS_FILE) && err.to_string().contains("no-weights.tar.gz"), "{err}");
}

#[test]
fn seeded_runs_write_identical_weights_and_other_seeds_do_not() {
    let bars = BarImages { train_per_class: 30, validation_per_class: 10, ..BarImages::default() };
    let weights = |seed: &str, optimizer: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = job(
            dir.path(),
            &bars,
            "image-classification",
            &[("epochs", "1"), ("seed", seed), ("optimizer", optimizer), ("augmentation_type", "crop")],
        );
        train(&paths);
        std::fs::read(paths.model_dir().join(WEIGHTS_FILE)).expect("weights")
    };
    let first = weights("7", "sgd");
    assert_eq!(first, weights("7", "sgd"), "same seed, same bytes");
    assert_ne!(first, weights("8", "sgd"), "another seed, other weights");
}

#[test]
fn the_pixel_logistic_baseline_trains_with_every_optimizer_and_stops_early() {
    let bars = BarImages { side: 16, train_per_class: 40, validation_per_class: 20, ..BarImages::default() };
    for (optimizer, lr) in [("sgd", "0.01"), ("nag", "0.01"), ("adam", "0.001"), ("rmsprop", "0.001")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = job(
            dir.path(),
            &bars,
            "image-logistic",
            &[("epochs", "3"), ("optimizer", optimizer), ("learning_rate", lr)],
        );
        let (artifact, seen) = train(&paths);
        assert_eq!(seen.len(), 3, "{optimizer}");
        let accuracy = artifact.metadata.validation_metrics["accuracy"];
        assert!(accuracy >= 0.9, "{optimizer}: accuracy {accuracy}");
        assert!(!artifact.metadata.hyperparameters.contains_key("num_layers"));
        let json = std::fs::read_to_string(paths.model_dir().join("model.json")).expect("model.json");
        assert!(json.contains("pixel-logistic"), "{json}");
    }

    // SageMaker's rule: after min_epochs, stop once accuracy has not improved for `patience` epochs.
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = job(
        dir.path(),
        &bars,
        "image-logistic",
        &[
            ("epochs", "20"),
            ("early_stopping", "True"),
            ("early_stopping_min_epochs", "3"),
            ("early_stopping_patience", "2"),
        ],
    );
    let (_, seen) = train(&paths);
    let best = seen.iter().map(|m| m.validation_accuracy).fold(0.0, f64::max);
    assert!(seen.len() < 20 && seen.len() >= 3, "stopped after {} epochs", seen.len());
    let improved_at = seen.iter().position(|m| m.validation_accuracy == best).expect("a best epoch") + 1;
    assert_eq!(seen.len(), improved_at.max(1) + 2, "two epochs without improvement after the best: {seen:?}");
}

/// A tiny tree (8×8 images, 3 per class) whose files a case then breaks.
fn tiny(dir: &Path, extra: &[(&str, &str)]) -> ContainerPaths {
    let bars = BarImages { side: 8, train_per_class: 3, validation_per_class: 2, seed: 3, anywhere: false };
    let mut all = vec![("epochs", "1")];
    all.extend_from_slice(extra);
    job(dir, &bars, "image-classification", &all)
}

fn append_train_lst(paths: &ContainerPaths, line: &str) {
    let file = paths.channel("train_lst").join("train.lst");
    let mut text = std::fs::read_to_string(&file).expect("lst");
    text.push_str(line);
    std::fs::write(file, text).expect("write lst");
}

fn png_of(img: &image::DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("encode");
    bytes
}

#[test]
fn bad_channels_and_hyperparameters_are_refused_naming_the_file_line_or_key() {
    type Breaker = fn(&ContainerPaths);
    type Pairs = &'static [(&'static str, &'static str)];
    let cases: Vec<(&str, Pairs, Breaker, &[&str])> = vec![
        ("bad .lst line", &[], |p| append_train_lst(p, "6\t1\n"), &["train.lst line 7", "2 tab-separated field(s)"]),
        (
            "label out of range",
            &[],
            |p| append_train_lst(p, "6\t2\tvertical/img_0000.png\n"),
            &["train.lst line 7", "label \"2\" is not a class index in 0..2"],
        ),
        (
            "missing file",
            &[],
            |p| append_train_lst(p, "6\t1\tnope.png\n"),
            &["train.lst line 7", "\"nope.png\"", "does not exist"],
        ),
        (
            "path escapes the channel",
            &[],
            |p| append_train_lst(p, "6\t1\t../validation/vertical/img_0000.png\n"),
            &["train.lst line 7", "stay inside"],
        ),
        (
            "corrupt PNG",
            &[],
            |p| {
                let file = p.channel("train").join("vertical/img_0000.png");
                let bytes = std::fs::read(&file).expect("png");
                std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("truncate");
            },
            &["img_0000.png", "train.lst line 1", "corrupt or truncated"],
        ),
        (
            "wrong size",
            &[],
            |p| {
                let img = image::DynamicImage::new_rgb8(9, 7);
                std::fs::write(p.channel("train").join("vertical/img_0000.png"), png_of(&img)).expect("write");
            },
            &["img_0000.png", "train.lst line 1", "9×7", "image_shape 3,8,8 needs 8×8"],
        ),
        (
            "pretrained model",
            &[("use_pretrained_model", "1")],
            |_| {},
            &[
                "no pretrained weights are available to the local trainer; set use_pretrained_model=0 or train on SageMaker",
            ],
        ),
        ("sample count", &[("num_training_samples", "7")], |_| {}, &["num_training_samples", "lists 6 images"]),
        ("unknown key", &[("dropout", "0.5")], |_| {}, &["\"dropout\"", "unknown for image-classification"]),
        ("ResNet depth", &[("num_layers", "50")], |_| {}, &["\"num_layers\"", "ResNet"]),
        (
            "no validation_lst",
            &[],
            |p| std::fs::remove_dir_all(p.channel("validation_lst")).expect("rm"),
            &["validation_lst"],
        ),
    ];
    for (name, extra, breaker, needles) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = tiny(dir.path(), extra);
        breaker(&paths);
        let err = container::train(&paths, None).expect_err(name);
        let text = err.to_string();
        for needle in needles {
            assert!(text.contains(needle), "{name}: {needle:?} not in {text}");
        }
        let failure = std::fs::read_to_string(paths.failure_file()).expect("output/failure");
        assert_eq!(failure, text.chars().take(container::FAILURE_REASON_LIMIT).collect::<String>(), "{name}");
        assert!(!paths.model_dir().join(WEIGHTS_FILE).exists(), "{name}: no model");
    }
}

#[test]
fn grey_images_become_rgb_and_float_labels_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = tiny(dir.path(), &[("num_training_samples", "7")]);
    let grey = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(8, 8, |x, _| image::Luma([(x * 30) as u8])));
    std::fs::write(paths.channel("train").join("grey.png"), png_of(&grey)).expect("write");
    append_train_lst(&paths, "6\t1.0\tgrey.png\n");
    let (artifact, _) = train(&paths);
    assert_eq!(artifact.metadata.train_rows, 7);
    assert_eq!(artifact.schema.classes(), ["vertical", "horizontal"]);
}

#[test]
fn request_images_that_are_not_usable_are_refused() {
    let shape = ImageInput { channels: 3, height: 8, width: 8 };
    let err = decode_image(b"GIF89a...", shape).expect_err("gif");
    assert!(err.to_string().contains("not a PNG or JPEG"), "{err}");
    let err = decode_image(b"\x89PNG\r\n\x1a\n", shape).expect_err("truncated");
    assert!(err.to_string().contains("the request image"), "{err}");
    // A valid PNG header claiming 5000×5000 pixels: refused from the header, before decoding.
    let err = decode_image(&png_header(5000, 5000), shape).expect_err("too large");
    assert!(err.to_string().contains("over the limit"), "{err}");
    let err = decode_image(&png_header(0, 0), shape).expect_err("empty");
    assert!(err.to_string().contains("the request image"), "{err}");
    let jpeg = {
        let mut bytes = Vec::new();
        image::DynamicImage::new_rgb8(12, 12)
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
            .expect("jpeg");
        bytes
    };
    let img = decode_image(&jpeg, shape).expect("JPEG decodes");
    assert_eq!((img.width(), img.height()), (8, 8));
}

/// A PNG signature, an IHDR chunk (8-bit RGB) and an empty IDAT chunk, with correct CRCs: a
/// header that claims any size without the pixels.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (&b"IDAT"[..], &[][..])] {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}

#[test]
fn the_inference_types_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<ImageClassifier>();
    shared::<ModelArtifact>();
}

#[test]
fn without_a_schema_classes_are_numbered_and_a_schema_must_agree_with_num_classes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = tiny(dir.path(), &[("num_classes", "3")]);
    let err = container::train(&paths, None).expect_err("the schema lists 2 classes");
    assert!(err.to_string().contains("schema.json") && err.to_string().contains("num_classes is 3"), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let paths = tiny(dir.path(), &[]);
    std::fs::remove_dir_all(paths.channel("metadata")).expect("no metadata channel");
    let (artifact, _) = train(&paths);
    assert_eq!(artifact.schema.classes(), ["0", "1"]);
    assert_eq!(artifact.schema.image, Some(ImageInput { channels: 3, height: 8, width: 8 }));
    assert_eq!(ImageClassifier::from_artifact(&artifact).expect("image model").classes(), ["0", "1"]);
}

#[test]
fn setting_stop_ends_an_image_fit_before_its_next_mini_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = job(dir.path(), &BarImages::default(), "image-classification", &[("epochs", "6")]);
    let stop = AtomicBool::new(false);
    let mut epochs = 0;
    let err = container::train_with_progress(
        &paths,
        Some("job-stop"),
        &mut |_| {
            epochs += 1;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        },
        &stop,
    )
    .expect_err("stopped");
    assert_eq!(epochs, 1, "no epoch ends after the stop");
    assert!(matches!(&err, wb_models::Error::JobStopped { name } if name == "job-stop"), "{err:?}");
    assert!(!paths.model_dir().join(WEIGHTS_FILE).exists(), "nothing is written for a stopped fit");
    let failure = std::fs::read_to_string(paths.failure_file()).expect("failure file");
    assert!(failure.contains("job-stop"), "{failure}");
}

//! A local image classifier under SageMaker's built-in image-classification contract.
//!
//! Two algorithms share the hyperparameters ([`ImageClassifierParams`], SageMaker's names), the
//! channel layout, the training loop, the artefact and the inference API ([`ImageClassifier`]):
//!
//! | algorithm | network |
//! |---|---|
//! | `image-classification` | a small CNN: `num_layers` blocks of conv 3×3 (32, 64, 128, 256 filters, padding 1) → ReLU → 2×2 max-pool, then a dense layer to the classes and softmax |
//! | `image-logistic` | multinomial logistic regression on the normalised raw pixels (a baseline) |
//!
//! SageMaker's image classifier is a ResNet; the local trainer has none. `num_layers` therefore
//! counts the local CNN's convolution blocks (1..=4) and ResNet depths (18, 50, 152, …) are
//! refused rather than silently mapped onto another network.
//!
//! ## Channels
//!
//! ```text
//! input/data/train/…            PNG or JPEG files (sub-folders allowed)
//! input/data/train_lst/*.lst    index<TAB>label<TAB>path relative to train/ (label 1 or 1.0)
//! input/data/validation/…       as train (required: validation accuracy drives early stopping)
//! input/data/validation_lst/*.lst
//! input/data/metadata/schema.json   optional: class names (task Classification { classes })
//! ```
//!
//! Training images must have `image_shape`'s height and width — SageMaker's built-in expects
//! training images of that shape and resizes only at inference — so another size is refused
//! naming the file, its `.lst` line and both sizes. Grey images are converted to RGB (the grey
//! value in every channel) when `image_shape` has 3 channels, colour to grey (luma) with 1;
//! alpha is dropped. Pixels are scaled to [0, 1] and normalised per channel with the training
//! set's mean and standard deviation (stored in `model.json`).
//!
//! ## Output
//!
//! `model/`: `model.safetensors` (the weights, float32), `model.json` ([`FittedModel::ImageClassifier`]:
//! architecture, image shape, normalisation, class names — no weights), `schema.json` (with
//! [`ModelSchema::image`] set and no features), `metadata.json`. `output/data/metrics.json` holds
//! the final validation `accuracy`, `log_loss` and `auc` (the names tabular jobs use), and
//! `output/data/epochs.json` the per-epoch [`EpochMetrics`].
//!
//! ## Inference
//!
//! [`ImageClassifier::decode`] sniffs PNG/JPEG, refuses corrupt, empty or oversized images and
//! **resizes** other sizes to `image_shape` (bilinear), as SageMaker's image classifier does at
//! inference; [`ImageClassifier::predict`] returns class probabilities in class order.
//!
//! ## Defaults
//!
//! The defaults are SageMaker's (`epochs` 30, `learning_rate` 0.1, `mini_batch_size` 32, `sgd`
//! with `momentum` 0.9, `weight_decay` 0.0001, `image_shape` 3,224,224) except `num_layers` (2
//! local blocks, not ResNet-152). SageMaker's learning rate suits its batch-normalised ResNet;
//! the local CNN has no batch norm and trains more steadily with `learning_rate=0.01`.
//!
//! ## Reproducibility
//!
//! Weight initialisation, shuffling and augmentation draw from `ChaCha8Rng::seed_from_u64(seed)`;
//! two runs with equal data, hyperparameters and seed on one machine write byte-identical
//! `model.safetensors`.
//!
//! ## Why candle
//!
//! The tensors and autodiff are candle's (`candle-core` only: CPU, float32; the layers, loss
//! and the four optimisers are a few lines each here, so `candle-nn` is not needed). Clean debug
//! builds of the candidates on the 2-core build machine (own target directory; wall / user CPU
//! seconds): candle-core + candle-nn 0.11.1 237 / 164 (0.11's candle-core depends on
//! `tokenizers` unconditionally), candle-core + candle-nn 0.9.2 134 / 100, burn 0.22.1 with the
//! ndarray backend and autodiff 470 / 212 (built at `nice -n 19`); candle-core 0.9.2 and
//! safetensors alone, what this crate adds, 64 / 83. candle 0.9 was chosen: the
//! smallest tree, safetensors as its native format, a plain tensor API with autodiff and fast
//! CPU matrix kernels (gemm). `[profile.dev.package]` raises candle-core and gemm to
//! `opt-level = 3`, which takes the test CNN's epoch (200 images of 32×32) from 44 s to about
//! 2.5 s in debug builds; the pixel-logistic epoch takes about 0.03 s.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use image::DynamicImage;
use image::imageops::FilterType;
use serde::{Deserialize, Serialize};

use crate::algorithm::Algorithm;
use crate::artifact::{ModelArtifact, ModelMetadata};
use crate::container::{ALGORITHM_KEY, ContainerPaths, METADATA_CHANNEL, TrainOutcome, read_json, write_json};
use crate::error::{Error, Result};
use crate::model::FittedModel;
use crate::schema::{ImageInput, ModelSchema, SCHEMA_FILE};

mod conv;
mod data;
mod net;
mod params;

pub use data::MAX_PIXELS;
pub(crate) use params::known_keys;
pub use params::{Augmentation, ImageClassifierParams, MAX_CONV_BLOCKS, MAX_IMAGE_SIDE, Optimizer};

/// The weights file in `model/` and in `model.tar.gz`.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The per-epoch history in `output/data/`.
pub const EPOCHS_FILE: &str = "epochs.json";
/// The channel of training `.lst` files.
pub const TRAIN_LST_CHANNEL: &str = "train_lst";
/// The channel of validation `.lst` files.
pub const VALIDATION_LST_CHANNEL: &str = "validation_lst";

/// The network of an image model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Architecture {
    /// `image-classification`: `conv_blocks` × (conv 3×3 → ReLU → 2×2 max-pool), filters 32 · 2ⁱ,
    /// then dense → softmax.
    Cnn {
        /// Convolution blocks, 1..=[`MAX_CONV_BLOCKS`].
        conv_blocks: u32,
    },
    /// `image-logistic`: dense on the normalised pixels → softmax.
    PixelLogistic,
}

impl Architecture {
    /// The architecture an image algorithm trains with these parameters.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when `algorithm` is not an image algorithm.
    pub fn of(algorithm: Algorithm, params: &ImageClassifierParams) -> Result<Self> {
        match algorithm {
            Algorithm::ImageClassification => {
                Ok(Self::Cnn { conv_blocks: params.num_layers.min(MAX_CONV_BLOCKS) as u32 })
            }
            Algorithm::ImageLogistic => Ok(Self::PixelLogistic),
            other => Err(Error::Unsupported {
                algorithm: other.name().to_owned(),
                reason: "it is not an image algorithm".into(),
            }),
        }
    }
}

/// Per-channel normalisation: `(pixel / 255 − mean[c]) / std[c]`, fitted on the training images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean of each channel's pixels scaled to [0, 1].
    pub mean: Vec<f32>,
    /// Standard deviation of each channel (1 for a constant channel).
    pub std: Vec<f32>,
}

/// What `model.json` holds for an image model (the weights are in `model.safetensors`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageModelSpec {
    /// The network.
    pub architecture: Architecture,
    /// The image shape the network takes.
    pub image: ImageInput,
    /// How pixels become inputs.
    pub normalisation: Normalisation,
    /// Class names, in class-index order (the probabilities' order).
    pub classes: Vec<String>,
}

/// One named weight tensor (float32, row-major).
#[derive(Clone, PartialEq)]
pub struct WeightTensor {
    /// The name in `model.safetensors` (`conv0.weight`, `fc.bias`, …).
    pub name: String,
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f32>,
}

impl std::fmt::Debug for WeightTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.name, self.shape)
    }
}

/// The weights of an image model, sorted by tensor name (as `model.safetensors` lists them);
/// stored as safetensors, never in JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageWeights {
    /// The tensors.
    pub tensors: Vec<WeightTensor>,
}

impl ImageWeights {
    /// The safetensors bytes (`model.safetensors`): deterministic for equal weights.
    ///
    /// # Errors
    /// [`Error::Artifact`] when a tensor's values do not match its shape.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let err = |message: String| Error::Artifact { what: WEIGHTS_FILE.into(), message };
        let bytes: Vec<Vec<u8>> =
            self.tensors.iter().map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
        let views = self
            .tensors
            .iter()
            .zip(&bytes)
            .map(|(t, b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, t.shape.clone(), b)
                    .map(|view| (t.name.clone(), view))
                    .map_err(|e| err(format!("tensor {}: {e}", t.name)))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::tensor::serialize(views, None).map_err(|e| err(e.to_string()))
    }

    /// Reads `model.safetensors` bytes; `what` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Artifact`] when the bytes are not safetensors or hold a tensor that is not float32.
    pub fn from_safetensors(what: &str, bytes: &[u8]) -> Result<Self> {
        let err = |message: String| Error::Artifact { what: what.to_owned(), message };
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| err(format!("not safetensors: {e}")))?;
        let mut tensors = Vec::new();
        for (name, view) in file.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(err(format!("tensor {name} is {:?}, expected F32", view.dtype())));
            }
            let values = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            tensors.push(WeightTensor { name, shape: view.shape().to_vec(), values });
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { tensors })
    }

    /// The tensors in the order the network uses them, checked against the architecture.
    fn ordered(&self, spec: &ImageModelSpec) -> std::result::Result<Vec<Tensor>, String> {
        let expected = net::param_specs(spec.architecture, spec.image, spec.classes.len());
        if self.tensors.len() != expected.len() {
            return Err(format!("{} weight tensors, the architecture has {}", self.tensors.len(), expected.len()));
        }
        expected
            .iter()
            .map(|p| {
                let t = self
                    .tensors
                    .iter()
                    .find(|t| t.name == p.name)
                    .ok_or_else(|| format!("weight tensor {} is missing", p.name))?;
                if t.shape != p.shape || t.values.len() != p.shape.iter().product::<usize>() {
                    return Err(format!("weight tensor {} has shape {:?}, expected {:?}", p.name, t.shape, p.shape));
                }
                if t.values.iter().any(|v| !v.is_finite()) {
                    return Err(format!("weight tensor {} holds a non-finite value", p.name));
                }
                Tensor::from_slice(&t.values, p.shape.as_slice(), &Device::Cpu).map_err(|e| e.to_string())
            })
            .collect()
    }
}

/// Metrics of one training epoch, as events and for the progress callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean cross-entropy of the training mini-batches (with augmentation) during the epoch.
    pub train_loss: f64,
    /// Mean cross-entropy on the validation images after the epoch.
    pub validation_loss: f64,
    /// Top-1 accuracy on the validation images after the epoch.
    pub validation_accuracy: f64,
    /// Seconds the epoch took (training and validation).
    pub seconds: f64,
}

/// A trained image model ready to predict: the network built once from the spec and weights.
/// `Send + Sync`; share one per endpoint.
#[derive(Clone, Debug)]
pub struct ImageClassifier {
    spec: ImageModelSpec,
    params: Vec<Tensor>,
}

impl ImageClassifier {
    /// Builds the network from its spec and weights.
    ///
    /// # Errors
    /// [`Error::Artifact`] when the weights do not fit the architecture (names, shapes,
    /// non-finite values) or the spec is inconsistent.
    pub fn new(spec: &ImageModelSpec, weights: &ImageWeights) -> Result<Self> {
        let err = |message: String| Error::Artifact { what: WEIGHTS_FILE.into(), message };
        check_spec(spec).map_err(err)?;
        let params = weights.ordered(spec).map_err(err)?;
        Ok(Self { spec: spec.clone(), params })
    }

    /// The image classifier of a fitted model.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a tabular model; as [`new`](Self::new).
    pub fn from_model(model: &FittedModel) -> Result<Self> {
        match model {
            FittedModel::ImageClassifier { spec, weights, .. } => Self::new(spec, weights),
            _ => Err(Error::Unsupported {
                algorithm: "image classifier".into(),
                reason: "the model is tabular; it predicts encoded rows, not images".into(),
            }),
        }
    }

    /// The image classifier of an artefact ([`from_model`](Self::from_model)).
    ///
    /// # Errors
    /// As [`from_model`](Self::from_model).
    pub fn from_artifact(artifact: &ModelArtifact) -> Result<Self> {
        Self::from_model(&artifact.model)
    }

    /// Class names in probability order.
    #[must_use]
    pub fn classes(&self) -> &[String] {
        &self.spec.classes
    }

    /// The image shape the network takes.
    #[must_use]
    pub fn image_shape(&self) -> ImageInput {
        self.spec.image
    }

    /// The spec (`model.json`'s content).
    #[must_use]
    pub fn spec(&self) -> &ImageModelSpec {
        &self.spec
    }

    /// Decodes a request body ([`decode_image`] with this model's shape).
    ///
    /// # Errors
    /// As [`decode_image`].
    pub fn decode(&self, bytes: &[u8]) -> Result<DynamicImage> {
        decode_image(bytes, self.spec.image)
    }

    /// Class probabilities (class order, each row summing to 1) of every image, predicted in
    /// batches. Images of another size are resized to [`image_shape`](Self::image_shape)
    /// (bilinear) and grey ↔ RGB converted, as [`decode`](Self::decode) does.
    ///
    /// # Errors
    /// [`Error::Image`] for an empty image; [`Error::Fit`] if the tensor computation fails.
    pub fn predict(&self, images: &[DynamicImage]) -> Result<Vec<Vec<f64>>> {
        let shape = self.spec.image;
        let mut out = Vec::with_capacity(images.len());
        for (b, batch) in images.chunks(net::EVAL_BATCH).enumerate() {
            let mut pixels = Vec::with_capacity(batch.len());
            for (i, img) in batch.iter().enumerate() {
                if img.width() == 0 || img.height() == 0 {
                    return Err(Error::Image {
                        what: format!("image {}", b * net::EVAL_BATCH + i),
                        message: "is empty (0 pixels)".into(),
                    });
                }
                let mut chw = Vec::with_capacity(shape.len());
                data::push_chw(&fit_to(img, shape), shape, &mut chw);
                pixels.push(chw);
            }
            let x = net::normalised(&pixels, shape, &self.spec.normalisation);
            let proba = net::batch_tensor(x, batch.len(), shape)
                .and_then(|x| net::probabilities(self.spec.architecture, &self.params, &x))
                .map_err(|e| Error::Fit { algorithm: "image classifier".into(), message: e.to_string() })?;
            out.extend(proba.into_iter().map(|row| row.into_iter().map(f64::from).collect::<Vec<f64>>()));
        }
        Ok(out)
    }
}

/// `img` at `shape`'s size: resized (bilinear) when it differs, unchanged otherwise.
fn fit_to(img: &DynamicImage, shape: ImageInput) -> std::borrow::Cow<'_, DynamicImage> {
    if (img.width(), img.height()) == (shape.width, shape.height) {
        std::borrow::Cow::Borrowed(img)
    } else {
        std::borrow::Cow::Owned(img.resize_exact(shape.width, shape.height, FilterType::Triangle))
    }
}

/// Decodes a PNG or JPEG request image for a model taking `shape`: the format is sniffed from
/// the bytes; corrupt or truncated data is refused with the decoder's message, as are 0×0
/// images and images over [`MAX_PIXELS`]; another size is **resized** to `shape` (bilinear,
/// what SageMaker's image classifier does at inference) and grey ↔ RGB converted as `shape`'s
/// channels need (alpha dropped).
///
/// # Errors
/// [`Error::Image`] saying what is wrong with the bytes.
pub fn decode_image(bytes: &[u8], shape: ImageInput) -> Result<DynamicImage> {
    let img =
        data::decode_bytes(bytes).map_err(|message| Error::Image { what: "the request image".into(), message })?;
    let img = fit_to(&img, shape).into_owned();
    Ok(match (shape.channels, img.color().has_color() || img.color().has_alpha()) {
        (1, true) => DynamicImage::ImageLuma8(img.to_luma8()),
        (3, _) if !matches!(img, DynamicImage::ImageRgb8(_)) => DynamicImage::ImageRgb8(img.to_rgb8()),
        _ => img,
    })
}

fn check_spec(spec: &ImageModelSpec) -> std::result::Result<(), String> {
    let c = spec.image.channels as usize;
    if !matches!(c, 1 | 3) || spec.image.is_empty() {
        return Err(format!("image shape {} needs 1 or 3 channels and a non-zero size", spec.image));
    }
    if spec.classes.len() < 2 {
        return Err(format!("an image classifier needs at least 2 classes, this one has {}", spec.classes.len()));
    }
    if spec.normalisation.mean.len() != c || spec.normalisation.std.len() != c {
        return Err(format!(
            "normalisation has {} means and {} deviations for {c} channels",
            spec.normalisation.mean.len(),
            spec.normalisation.std.len()
        ));
    }
    if spec.normalisation.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
        || spec.normalisation.mean.iter().any(|m| !m.is_finite())
    {
        return Err("normalisation holds a non-finite mean or a non-positive deviation".into());
    }
    if let Architecture::Cnn { conv_blocks } = spec.architecture {
        let min_side = 1_u32 << conv_blocks.min(31);
        if !(1..=MAX_CONV_BLOCKS as u32).contains(&conv_blocks) || spec.image.height.min(spec.image.width) < min_side {
            return Err(format!("{conv_blocks} convolution blocks do not fit image shape {}", spec.image));
        }
    }
    Ok(())
}

impl FittedModel {
    /// Checks an image model's spec against its weights (what [`FittedModel::check`] runs for
    /// the image variant).
    pub(crate) fn check_image(spec: &ImageModelSpec, weights: &ImageWeights) -> std::result::Result<(), String> {
        check_spec(spec)?;
        weights.ordered(spec).map(|_| ())
    }
}

/// Trains an image algorithm in a container tree: reads the image channels, fits, writes
/// `model/` and `output/data/{metrics,epochs}.json`. `hyperparameters` is the map without
/// `algorithm`; `progress` receives each epoch's metrics; setting `stop` ends the training
/// before its next mini-batch.
///
/// # Errors
/// [`Error::Hyperparameter`] for the parameters; [`Error::Container`] naming the file (and
/// `.lst` line) of a bad channel entry or image; [`Error::Fit`] if training diverges;
/// [`Error::JobStopped`] when `stop` ended it.
pub fn train_in_container(
    paths: &ContainerPaths,
    algorithm: Algorithm,
    hyperparameters: &BTreeMap<String, String>,
    job: Option<&str>,
    progress: &mut dyn FnMut(&EpochMetrics),
    stop: &std::sync::atomic::AtomicBool,
) -> Result<TrainOutcome> {
    let started = std::time::Instant::now();
    let params = ImageClassifierParams::from_map_for(algorithm, hyperparameters)?;
    let architecture = Architecture::of(algorithm, &params)?;
    let shape = params.image_shape;
    let k = params.num_classes;
    for channel in ["train", TRAIN_LST_CHANNEL, "validation", VALIDATION_LST_CHANNEL] {
        let dir = paths.channel(channel);
        if !dir.is_dir() {
            return Err(Error::Container {
                path: dir.display().to_string(),
                message: format!(
                    "{algorithm} needs the {channel} channel (train, train_lst, validation, validation_lst)"
                ),
            });
        }
    }
    let train = data::read_channel(&paths.channel(TRAIN_LST_CHANNEL), &paths.channel("train"), shape, k)?;
    if train.len() != params.num_training_samples {
        return Err(Error::hyperparameter(
            "num_training_samples",
            format!(
                "is {} but the train_lst channel lists {} images; set num_training_samples={}",
                params.num_training_samples,
                train.len(),
                train.len()
            ),
        ));
    }
    let validation =
        data::read_channel(&paths.channel(VALIDATION_LST_CHANNEL), &paths.channel("validation"), shape, k)?;
    let schema = image_schema(paths, &train, k)?;
    let normalisation = net::normalisation(&train);
    let fit_error =
        |e: candle_core::Error| Error::Fit { algorithm: algorithm.name().to_owned(), message: e.to_string() };
    let fitted = net::fit(architecture, &params, &train, &validation, &normalisation, progress, stop).map_err(|e| {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            Error::JobStopped { name: job.unwrap_or("training").to_owned() }
        } else {
            fit_error(e)
        }
    })?;

    let labels: Vec<usize> = validation.labels.iter().map(|&l| l as usize).collect();
    let proba: Vec<f64> = fitted.validation_probabilities.iter().flatten().map(|&p| f64::from(p)).collect();
    let mut validation_metrics = BTreeMap::new();
    validation_metrics.insert("accuracy".to_owned(), crate::metrics::accuracy(&labels, &proba, k));
    validation_metrics.insert(
        "log_loss".to_owned(),
        crate::metrics::log_loss(&labels, &proba, k, crate::metrics::RECORD_LOG_LOSS_EPS),
    );
    if let Some(auc) = crate::metrics::record_auc(&labels, &proba, k) {
        validation_metrics.insert("auc".to_owned(), auc);
    }
    let mut resolved = params.to_map_for(algorithm);
    resolved.insert(ALGORITHM_KEY.to_owned(), algorithm.name().to_owned());
    let spec = ImageModelSpec { architecture, image: shape, normalisation, classes: schema.classes().to_vec() };
    let artifact = ModelArtifact {
        model: FittedModel::ImageClassifier { classes: k, spec, weights: fitted.weights },
        schema,
        metadata: ModelMetadata {
            algorithm: algorithm.name().to_owned(),
            hyperparameters: resolved,
            job: job.map(str::to_owned),
            validation_metrics,
            train_rows: train.len() as u64,
            trained_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            workbench_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    };
    artifact.write_dir(&paths.model_dir())?;
    write_json(&paths.output_data_dir().join("metrics.json"), &artifact.metadata.validation_metrics)?;
    write_json(&paths.output_data_dir().join(EPOCHS_FILE), &fitted.history)?;
    tracing::info!(
        algorithm = algorithm.name(),
        images = train.len(),
        epochs = fitted.history.len(),
        seconds = started.elapsed().as_secs_f64(),
        "trained"
    );
    Ok(TrainOutcome { artifact })
}

/// The schema of an image model: the `metadata` channel's `schema.json` when present (its
/// class names; features dropped, `image` set), else one naming classes `"0".."k-1"`.
fn image_schema(paths: &ContainerPaths, train: &data::ImageSet, k: usize) -> Result<ModelSchema> {
    let file = paths.channel(METADATA_CHANNEL).join(SCHEMA_FILE);
    let mut schema = if file.is_file() {
        let schema: ModelSchema = read_json(&file)?;
        let n = schema.classes().len();
        if n != k {
            return Err(Error::Container {
                path: file.display().to_string(),
                message: format!("lists {n} classes but num_classes is {k}"),
            });
        }
        schema
    } else {
        let mut hasher = wb_core::ContentHasher::new();
        hasher.update(&train.pixels);
        hasher.update(&train.labels.iter().flat_map(|l| l.to_le_bytes()).collect::<Vec<u8>>());
        ModelSchema {
            dataset: wb_core::DatasetName::parse("images")?,
            fingerprint: hasher.finish(),
            version: 0,
            target: "label".into(),
            task: wb_datasets::Task::Classification { classes: (0..k).map(|c| c.to_string()).collect() },
            features: wb_datasets::Encoding(Vec::new()),
            missing: Vec::new(),
            image: None,
            optional: Vec::new(),
        }
    };
    schema.features = wb_datasets::Encoding(Vec::new());
    schema.image = Some(train.shape);
    Ok(schema)
}

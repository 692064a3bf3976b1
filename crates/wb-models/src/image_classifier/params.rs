//! The hyperparameters of `image-classification` and `image-logistic`: SageMaker's built-in
//! image-classification names and meanings, declared once with
//! [`hyperparameters!`](crate::algorithm::params).

use std::collections::BTreeMap;

use crate::algorithm::Algorithm;
use crate::algorithm::params::{Hyperparameters, Value, hyperparameters};
use crate::error::{Error, Result};
use crate::schema::ImageInput;

/// How parameters are updated from their gradients (`optimizer`).
///
/// All four of SageMaker's optimizers are implemented; `weight_decay` adds `weight_decay · w` to
/// every gradient (L2) before the update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Optimizer {
    /// `sgd`: `v ← momentum·v + g; w ← w − lr·v` (momentum 0 is plain SGD).
    #[default]
    Sgd,
    /// `nag`: Nesterov momentum, `v ← momentum·v + g; w ← w − lr·(g + momentum·v)`.
    Nag,
    /// `adam`: Adam with `beta_1`, `beta_2`, `eps`, bias-corrected.
    Adam,
    /// `rmsprop`: `s ← gamma·s + (1−gamma)·g²; w ← w − lr·g / (√s + eps)`.
    Rmsprop,
}

impl Optimizer {
    /// The hyperparameter value.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Nag => "nag",
            Self::Adam => "adam",
            Self::Rmsprop => "rmsprop",
        }
    }
}

impl Value for Optimizer {
    const EXPECTED: &'static str = "sgd, nag, adam or rmsprop";

    fn parse(s: &str) -> Option<Self> {
        [Self::Sgd, Self::Nag, Self::Adam, Self::Rmsprop].into_iter().find(|o| s.eq_ignore_ascii_case(o.name()))
    }

    fn write(self) -> String {
        self.name().to_owned()
    }
}

/// Training-time augmentation (`augmentation_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Augmentation {
    /// `none` (the workbench's spelling of SageMaker's "not set"): images as they are.
    #[default]
    None,
    /// `crop`: as SageMaker's `crop`, a random crop and a random horizontal flip. Locally the
    /// image is padded by 4 pixels (zeros after normalisation, i.e. the channel mean) and a
    /// window of the image's size is cut at a random offset, then flipped with probability ½.
    Crop,
    /// `crop_color`: refused locally — the random hue/saturation/lightness jitter is not
    /// implemented.
    CropColor,
    /// `crop_color_transform`: refused locally — colour jitter plus random rotation, shear and
    /// aspect-ratio changes are not implemented.
    CropColorTransform,
}

impl Augmentation {
    /// The hyperparameter value.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Crop => "crop",
            Self::CropColor => "crop_color",
            Self::CropColorTransform => "crop_color_transform",
        }
    }
}

impl Value for Augmentation {
    const EXPECTED: &'static str = "none, crop, crop_color or crop_color_transform";

    fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Crop, Self::CropColor, Self::CropColorTransform]
            .into_iter()
            .find(|a| s.eq_ignore_ascii_case(a.name()))
    }

    fn write(self) -> String {
        self.name().to_owned()
    }
}

impl Value for ImageInput {
    const EXPECTED: &'static str = "channels,height,width (for example 3,32,32)";

    fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split(',').map(|p| p.trim().parse::<u32>().ok());
        let shape = Self { channels: parts.next()??, height: parts.next()??, width: parts.next()?? };
        parts.next().is_none().then_some(shape)
    }

    fn write(self) -> String {
        self.to_string()
    }
}

/// Largest image side the local trainer accepts in `image_shape`.
pub const MAX_IMAGE_SIDE: u32 = 1024;
/// Largest number of convolution blocks of the local CNN (`num_layers`).
pub const MAX_CONV_BLOCKS: usize = 4;

fn valid_shape(s: ImageInput) -> bool {
    matches!(s.channels, 1 | 3) && (1..=MAX_IMAGE_SIDE).contains(&s.height) && (1..=MAX_IMAGE_SIDE).contains(&s.width)
}

hyperparameters! {
    /// `image-classification` and `image-logistic` hyperparameters: SageMaker's built-in
    /// image-classification names and meanings (defaults are SageMaker's unless noted), plus the
    /// workbench's `seed`.
    pub struct ImageClassifierParams {
        /// `num_classes`: number of output classes, ≥ 2. **Required.**
        "num_classes" num_classes: usize = 0, accepts |v| v >= 2 => "an integer ≥ 2";
        /// `num_training_samples`: number of training images; must equal the entries of the
        /// `train_lst` channel. **Required.**
        "num_training_samples" num_training_samples: usize = 0, accepts |v| v >= 1 => "an integer ≥ 1";
        /// `image_shape`: `channels,height,width`, channels 1 or 3, sides in 1..=1024. Default
        /// `3,224,224`. Training images must have this size.
        "image_shape" image_shape: ImageInput = ImageInput { channels: 3, height: 224, width: 224 },
            accepts valid_shape => "channels 1 or 3 and height and width in 1..=1024";
        /// `epochs`: passes over the training images, in 1..=10000. Default `30`.
        "epochs" epochs: usize = 30, accepts |v| (1..=10_000).contains(&v) => "an integer in 1..=10000";
        /// `learning_rate`: step size, a finite number > 0. Default `0.1`.
        "learning_rate" learning_rate: f64 = 0.1, accepts |v| v.is_finite() && v > 0.0 => "a finite number > 0";
        /// `mini_batch_size`: images per update, in 1..=65536. Default `32`.
        "mini_batch_size" mini_batch_size: usize = 32,
            accepts |v| (1..=65_536).contains(&v) => "an integer in 1..=65536";
        /// `optimizer`: `sgd`, `nag`, `adam` or `rmsprop`. Default `sgd`.
        "optimizer" optimizer: Optimizer = Optimizer::Sgd;
        /// `momentum`: momentum of `sgd` and `nag`, in [0, 1). Default `0.9`.
        "momentum" momentum: f64 = 0.9, accepts |v| (0.0..1.0).contains(&v) => "a number in [0, 1)";
        /// `weight_decay`: L2 coefficient added to the gradients, ≥ 0. Default `0.0001`.
        "weight_decay" weight_decay: f64 = 0.0001, accepts |v| v.is_finite() && v >= 0.0 => "a finite number ≥ 0";
        /// `beta_1`: Adam's first-moment decay, in [0, 1). Default `0.9`.
        "beta_1" beta_1: f64 = 0.9, accepts |v| (0.0..1.0).contains(&v) => "a number in [0, 1)";
        /// `beta_2`: Adam's second-moment decay, in [0, 1). Default `0.999`.
        "beta_2" beta_2: f64 = 0.999, accepts |v| (0.0..1.0).contains(&v) => "a number in [0, 1)";
        /// `eps`: Adam's and RMSProp's denominator offset, a finite number > 0. Default `1e-8`.
        "eps" eps: f64 = 1e-8, accepts |v| v.is_finite() && v > 0.0 => "a finite number > 0";
        /// `gamma`: RMSProp's decay of the squared-gradient average, in [0, 1). Default `0.9`.
        "gamma" gamma: f64 = 0.9, accepts |v| (0.0..1.0).contains(&v) => "a number in [0, 1)";
        /// `augmentation_type`: `none` (default; SageMaker's "not set") or `crop`; `crop_color`
        /// and `crop_color_transform` are refused locally.
        "augmentation_type" augmentation_type: Augmentation = Augmentation::None;
        /// `num_layers`: **locally**, the convolution blocks of the small CNN (conv 3×3 → ReLU →
        /// 2×2 max-pool; 32, 64, 128, 256 filters), in 1..=4. Default `2`. SageMaker's ResNet
        /// depths (18, 34, 50, 101, 152, 200, …; SageMaker's default 152) are refused: the local
        /// trainer has no ResNet, and mapping a depth onto a different network would make the same
        /// hyperparameters mean two models. Only `image-classification` has it.
        "num_layers" num_layers: usize = 2,
            accepts |v| (1..=MAX_CONV_BLOCKS).contains(&v)
            => "1..=4 convolution blocks of the local CNN (SageMaker's ResNet depths such as 18, 50 or 152 need a SageMaker training job)";
        /// `use_pretrained_model`: `0` only; `1` is refused (no pretrained weights locally).
        "use_pretrained_model" use_pretrained_model: u64 = 0;
        /// `early_stopping`: stop when validation accuracy stops improving. Default `false`.
        "early_stopping" early_stopping: bool = false;
        /// `early_stopping_min_epochs`: epochs always run before early stopping may stop. Default `10`.
        "early_stopping_min_epochs" early_stopping_min_epochs: usize = 10;
        /// `early_stopping_patience`: epochs without improvement before stopping, ≥ 1. Default `5`.
        "early_stopping_patience" early_stopping_patience: usize = 5, accepts |v| v >= 1 => "an integer ≥ 1";
        /// `early_stopping_tolerance`: an epoch improves when `(accuracy − best) / best` exceeds
        /// this, in [0, 1). Default `0`.
        "early_stopping_tolerance" early_stopping_tolerance: f64 = 0.0,
            accepts |v| (0.0..1.0).contains(&v) => "a number in [0, 1)";
        /// `seed` (workbench): seeds weight initialisation, shuffling and augmentation; equal
        /// seeds give bit-identical weights on one machine. Default `42`.
        "seed" seed: u64 = 42;
    }
}

/// Keys of the built-in image classifier that the local trainer does not implement (refused
/// with this reason rather than as unknown).
const SAGEMAKER_ONLY: &[(&str, &str)] = &[
    ("checkpoint_frequency", "checkpoints are not written by the local trainer"),
    ("kv_store", "distributed training is SageMaker's"),
    ("lr_scheduler_factor", "the local trainer keeps the learning rate constant"),
    ("lr_scheduler_step", "the local trainer keeps the learning rate constant"),
    ("multi_label", "multi-label training is not implemented locally"),
    ("precision_dtype", "the local trainer computes in float32 only"),
    ("resize", "training images must already have image_shape's size"),
    ("top_k", "only top-1 accuracy is reported"),
    ("use_weighted_loss", "multi-label weighting is not implemented locally"),
];

/// The keys an image algorithm accepts (sorted).
pub(crate) const fn known_keys(algorithm: Algorithm) -> &'static [&'static str] {
    match algorithm {
        Algorithm::ImageLogistic => LOGISTIC_KEYS,
        _ => ImageClassifierParams::KEYS,
    }
}

/// `image-logistic` has no convolution blocks.
const LOGISTIC_KEYS: &[&str] = &[
    "augmentation_type",
    "beta_1",
    "beta_2",
    "early_stopping",
    "early_stopping_min_epochs",
    "early_stopping_patience",
    "early_stopping_tolerance",
    "epochs",
    "eps",
    "gamma",
    "image_shape",
    "learning_rate",
    "mini_batch_size",
    "momentum",
    "num_classes",
    "num_training_samples",
    "optimizer",
    "seed",
    "use_pretrained_model",
    "weight_decay",
];

impl ImageClassifierParams {
    /// Reads `image-classification`'s hyperparameters from SageMaker's string map and checks
    /// them ([`from_map_for`](Self::from_map_for) with [`Algorithm::ImageClassification`]).
    ///
    /// # Errors
    /// As [`from_map_for`](Self::from_map_for).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self> {
        Self::from_map_for(Algorithm::ImageClassification, map)
    }

    /// Reads the hyperparameters of an image algorithm (`image-classification` or
    /// `image-logistic`) and [checks](Self::check_for) them.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the key: unknown (listing the known keys), a SageMaker
    /// key the local trainer does not implement (with the reason), `num_classes` or
    /// `num_training_samples` missing, a value that does not parse or is out of range, or a
    /// refused choice ([`check_for`](Self::check_for)); [`Error::Unsupported`] when
    /// `algorithm` is not an image algorithm.
    pub fn from_map_for(algorithm: Algorithm, map: &BTreeMap<String, String>) -> Result<Self> {
        if !algorithm.is_image() {
            return Err(not_image(algorithm));
        }
        let known = known_keys(algorithm);
        if let Some(key) = map.keys().find(|k| !known.contains(&k.as_str())) {
            if let Some((_, reason)) = SAGEMAKER_ONLY.iter().find(|(k, _)| k == key) {
                return Err(Error::hyperparameter(
                    key.clone(),
                    format!("SageMaker's image classifier knows it, but {algorithm} does not: {reason}"),
                ));
            }
            return Err(Error::hyperparameter(
                key.clone(),
                format!("unknown for {algorithm}; known: {}", known.join(", ")),
            ));
        }
        for required in ["num_classes", "num_training_samples"] {
            if !map.contains_key(required) {
                return Err(Error::hyperparameter(
                    required,
                    format!("missing: {algorithm} requires it (as SageMaker's image classifier does)"),
                ));
            }
        }
        let mut params = Self::default();
        params.read(map)?;
        params.check_for(algorithm)?;
        Ok(params)
    }

    /// Checks every range and the local trainer's refusals: `use_pretrained_model=1`,
    /// `augmentation_type` `crop_color` / `crop_color_transform`, and images too small for
    /// `num_layers` pooling steps.
    ///
    /// # Errors
    /// [`Error::Hyperparameter`] naming the key, the value and the reason.
    pub fn check_for(&self, algorithm: Algorithm) -> Result<()> {
        if !algorithm.is_image() {
            return Err(not_image(algorithm));
        }
        self.check()?;
        if self.use_pretrained_model != 0 {
            return Err(Error::hyperparameter(
                "use_pretrained_model",
                format!(
                    "{}: no pretrained weights are available to the local trainer; set use_pretrained_model=0 or train on SageMaker",
                    self.use_pretrained_model
                ),
            ));
        }
        match self.augmentation_type {
            Augmentation::None | Augmentation::Crop => {}
            refused @ (Augmentation::CropColor | Augmentation::CropColorTransform) => {
                return Err(Error::hyperparameter(
                    "augmentation_type",
                    format!(
                        "{} is not implemented by the local trainer (its random colour jitter{} is not); use crop, none, or train on SageMaker",
                        refused.name(),
                        if refused == Augmentation::CropColorTransform { " and affine transforms are" } else { "" }
                    ),
                ));
            }
        }
        if algorithm == Algorithm::ImageClassification {
            let side = self.image_shape.height.min(self.image_shape.width);
            let needed = 1_u32 << self.num_layers;
            if side < needed {
                return Err(Error::hyperparameter(
                    "num_layers",
                    format!(
                        "{} blocks halve the image {} times, so image_shape {} needs height and width ≥ {needed}",
                        self.num_layers, self.num_layers, self.image_shape
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The parameters as SageMaker's string map for `algorithm` (every key it accepts,
    /// defaults filled in); [`from_map_for`](Self::from_map_for) reads it back.
    #[must_use]
    pub fn to_map_for(&self, algorithm: Algorithm) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        self.write(&mut map);
        let known = known_keys(algorithm);
        map.retain(|k, _| known.contains(&k.as_str()));
        map
    }
}

fn not_image(algorithm: Algorithm) -> Error {
    Error::Unsupported {
        algorithm: algorithm.name().to_owned(),
        reason: "it is not an image algorithm (image-classification, image-logistic)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const REQUIRED: [(&str, &str); 2] = [("num_classes", "2"), ("num_training_samples", "10")];

    fn with(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut m = map(&REQUIRED);
        m.extend(map(extra));
        m
    }

    #[test]
    fn logistic_keys_are_the_sorted_keys_without_num_layers() {
        let mut expected: Vec<&str> =
            ImageClassifierParams::KEYS.iter().copied().filter(|k| *k != "num_layers").collect();
        expected.sort_unstable();
        assert_eq!(LOGISTIC_KEYS, expected.as_slice());
    }

    #[test]
    fn sagemaker_values_parse_and_read_back() {
        let p = ImageClassifierParams::from_map(&with(&[
            ("image_shape", "3, 32,32"),
            ("optimizer", "Adam"),
            ("augmentation_type", "crop"),
            ("early_stopping", "True"),
            ("num_layers", "3"),
        ]))
        .expect("valid");
        assert_eq!(p.image_shape, ImageInput { channels: 3, height: 32, width: 32 });
        assert_eq!(p.optimizer, Optimizer::Adam);
        assert_eq!(p.augmentation_type, Augmentation::Crop);
        assert!(p.early_stopping);
        assert_eq!(p.num_classes, 2);
        for algorithm in [Algorithm::ImageClassification, Algorithm::ImageLogistic] {
            let back = p.to_map_for(algorithm);
            assert_eq!(back.contains_key("num_layers"), algorithm == Algorithm::ImageClassification);
            let again = ImageClassifierParams::from_map_for(algorithm, &back).expect("reads back");
            assert_eq!(again.to_map_for(algorithm), back);
        }
    }

    #[test]
    fn refusals_name_the_key_and_the_reason() {
        type Pairs = &'static [(&'static str, &'static str)];
        let cases: &[(Algorithm, Pairs, &str, &str)] = &[
            (
                Algorithm::ImageClassification,
                &[("use_pretrained_model", "1")],
                "use_pretrained_model",
                "no pretrained weights are available to the local trainer; set use_pretrained_model=0 or train on SageMaker",
            ),
            (Algorithm::ImageClassification, &[("num_layers", "18")], "num_layers", "ResNet"),
            (Algorithm::ImageLogistic, &[("num_layers", "2")], "num_layers", "unknown for image-logistic"),
            (
                Algorithm::ImageClassification,
                &[("learning_rat", "0.1")],
                "learning_rat",
                "unknown for image-classification",
            ),
            (Algorithm::ImageClassification, &[("lr_scheduler_step", "10")], "lr_scheduler_step", "constant"),
            (
                Algorithm::ImageClassification,
                &[("augmentation_type", "crop_color")],
                "augmentation_type",
                "not implemented",
            ),
            (Algorithm::ImageClassification, &[("image_shape", "3,32")], "image_shape", "channels,height,width"),
            (Algorithm::ImageClassification, &[("image_shape", "4,32,32")], "image_shape", "channels 1 or 3"),
            (Algorithm::ImageClassification, &[("optimizer", "adagrad")], "optimizer", "sgd, nag, adam or rmsprop"),
            (Algorithm::ImageClassification, &[("image_shape", "3,2,2"), ("num_layers", "2")], "num_layers", "≥ 4"),
        ];
        for (algorithm, extra, key, needle) in cases {
            let err = ImageClassifierParams::from_map_for(*algorithm, &with(extra)).expect_err(key);
            let text = err.to_string();
            assert!(text.contains(&format!("{key:?}")) && text.contains(needle), "{key}: {text}");
        }
        let err = ImageClassifierParams::from_map(&map(&[("num_classes", "2")])).expect_err("missing samples");
        assert!(err.to_string().contains("num_training_samples") && err.to_string().contains("missing"), "{err}");
        let err = ImageClassifierParams::from_map_for(Algorithm::DecisionTree, &with(&[])).expect_err("tabular");
        assert!(err.to_string().contains("not an image algorithm"), "{err}");
    }
}

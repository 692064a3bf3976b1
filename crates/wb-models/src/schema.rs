//! What a model expects as input and promises as output: the dataset contract it was trained on.
//!
//! A [`ModelSchema`] is taken from the dataset's partition manifest (never from rows): the
//! feature columns in order with the shared [`Encoding`] fitted on train, the missing-value
//! tokens, the target and its classes, and the dataset fingerprint. Training receives it as
//! the `metadata` channel (`input/data/metadata/schema.json`) beside the `train` and
//! `validation` channels; it travels inside `model.tar.gz`, so an endpoint decodes raw rows
//! exactly as the dataset was encoded.

use serde::{Deserialize, Serialize};
use wb_core::{ContentHash, DatasetName};
use wb_datasets::{Encoding, ImageManifest, Manifest, Task};

/// The file name of the schema in the `metadata` channel and in `model/`.
pub const SCHEMA_FILE: &str = "schema.json";

/// The input and output contract of a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSchema {
    /// The dataset the model learns.
    pub dataset: DatasetName,
    /// The partition fingerprint (the comparison checks it).
    pub fingerprint: ContentHash,
    /// Partition version.
    pub version: u32,
    /// The target column.
    pub target: String,
    /// Classification (with class labels in index order) or regression.
    pub task: Task,
    /// The feature columns, in request order, and how each becomes a number.
    pub features: Encoding,
    /// CSV tokens read as missing (besides the empty field).
    pub missing: Vec<String>,
    /// The image shape an image model takes (`features` is then empty); `None` for tabular
    /// models. Absent from the JSON of tabular schemas, so schemas written before it read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInput>,
    /// Feature columns a JSON instance may leave out (the dataset's optional columns); absent
    /// from schemas written before them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
}

/// The image shape an image model takes: SageMaker's `image_shape` (`channels,height,width`).
///
/// Training images must have this size; at inference images of another size are resized to it
/// (see [`crate::image_classifier`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageInput {
    /// Colour channels: 1 (grey) or 3 (RGB).
    pub channels: u32,
    /// Rows of pixels.
    pub height: u32,
    /// Columns of pixels.
    pub width: u32,
}

impl ImageInput {
    /// Values per image (`channels × height × width`).
    #[must_use]
    pub const fn len(self) -> usize {
        self.channels as usize * self.height as usize * self.width as usize
    }

    /// Whether the shape holds no values (a zero dimension).
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for ImageInput {
    /// SageMaker's `image_shape` form, `channels,height,width`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.channels, self.height, self.width)
    }
}

impl ModelSchema {
    /// The schema of a partitioned dataset.
    #[must_use]
    pub fn from_manifest(manifest: &Manifest) -> Self {
        Self {
            dataset: manifest.dataset.clone(),
            fingerprint: manifest.fingerprint,
            version: manifest.version,
            target: manifest.registration.target.clone(),
            task: manifest.task.clone(),
            features: manifest.features.clone(),
            missing: manifest.registration.missing.clone(),
            image: None,
            optional: manifest.registration.optional.clone(),
        }
    }

    /// The schema of a partitioned image dataset: its classes, no feature columns, and the
    /// shape its images share (`None` when their sizes differ: `image_shape` must then be
    /// given).
    #[must_use]
    pub fn from_image_manifest(manifest: &ImageManifest) -> Self {
        Self {
            dataset: manifest.dataset.clone(),
            fingerprint: manifest.fingerprint,
            version: manifest.version,
            target: "label".into(),
            task: Task::Classification { classes: manifest.classes().to_vec() },
            features: Encoding(Vec::new()),
            missing: Vec::new(),
            image: manifest.registration.shape.map(|s| ImageInput {
                channels: s.channels,
                height: s.height,
                width: s.width,
            }),
            optional: Vec::new(),
        }
    }

    /// The feature column names, in request order.
    #[must_use]
    pub fn feature_names(&self) -> Vec<String> {
        self.features.feature_names()
    }

    /// The class labels (empty for regression).
    #[must_use]
    pub fn classes(&self) -> &[String] {
        match &self.task {
            Task::Classification { classes } => classes,
            Task::Regression => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_shape_is_optional_in_json_and_omitted_when_absent() {
        let tabular = ModelSchema {
            dataset: DatasetName::parse("toy").expect("name"),
            fingerprint: ContentHash::of_bytes(b"toy"),
            version: 1,
            target: "label".into(),
            task: Task::Classification { classes: vec!["a".into(), "b".into()] },
            features: Encoding(Vec::new()),
            missing: Vec::new(),
            image: None,
            optional: Vec::new(),
        };
        let json = serde_json::to_value(&tabular).expect("serialise");
        assert!(json.get("image").is_none(), "{json}");
        assert_eq!(serde_json::from_value::<ModelSchema>(json.clone()).expect("old JSON reads"), tabular);

        let shape = ImageInput { channels: 3, height: 32, width: 16 };
        let images = ModelSchema { image: Some(shape), ..tabular };
        let json = serde_json::to_value(&images).expect("serialise");
        assert_eq!(json["image"], serde_json::json!({"channels": 3, "height": 32, "width": 16}));
        assert_eq!(serde_json::from_value::<ModelSchema>(json).expect("reads"), images);
        assert_eq!((shape.to_string(), shape.len()), ("3,32,16".to_owned(), 1536));
    }
}

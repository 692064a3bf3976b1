//! Test support for this crate's tests and `wb-serving`'s (feature `testkit`): a project
//! store in a temporary directory holding a registered, partitioned toy dataset.

use std::path::Path;
use std::sync::Arc;

use wb_core::{DatasetName, DynObjectStore, LocalStore};
use wb_datasets::{Datasets, PartitionSpec, RegisterRequest};

/// A store in a temporary directory with the partitioned dataset `toy`.
#[derive(Debug)]
pub struct ToyProject {
    /// The temporary directory (the store is its `store/`); removed when dropped.
    pub dir: tempfile::TempDir,
    /// The store.
    pub store: DynObjectStore,
    /// The dataset, `toy`.
    pub dataset: DatasetName,
}

/// Writes a binary dataset of `rows` rows to `path`: a numeric signal, a noise column, a
/// categorical column with missing values (`?`), and a target (`label`) that follows the
/// signal. Its key is `id`.
///
/// # Panics
/// When the file cannot be written.
pub fn write_toy_csv(path: &Path, rows: usize) {
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

/// A project with the toy dataset of [`write_toy_csv`] (`rows` rows) registered as `toy` and
/// partitioned.
///
/// # Panics
/// When the store cannot be created or the dataset registered or partitioned.
pub async fn toy_project(rows: usize) -> ToyProject {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: DynObjectStore = Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    let csv = dir.path().join("toy.csv");
    write_toy_csv(&csv, rows);
    let dataset = register_toy(&store, &csv, &["?"], PartitionSpec::default()).await;
    ToyProject { dir, store, dataset }
}

/// Registers the CSV file `csv` in `store` as the dataset `toy` (target `label`, key `id`,
/// `missing` as its missing-value markers) and partitions it with `spec`.
///
/// # Panics
/// When the dataset cannot be registered or partitioned.
pub async fn register_toy(store: &DynObjectStore, csv: &Path, missing: &[&str], spec: PartitionSpec) -> DatasetName {
    let dataset = DatasetName::parse("toy").expect("name");
    let datasets = Datasets::new(store.clone());
    datasets
        .register(RegisterRequest {
            name: dataset.clone(),
            source: csv.display().to_string(),
            target: "label".into(),
            key: Some("id".into()),
            missing: missing.iter().map(|m| (*m).to_owned()).collect(),
            new_version: false,
            exclude: Vec::new(),
            optional: Vec::new(),
        })
        .await
        .expect("register");
    datasets.partition(&dataset).spec(spec).await.expect("partition");
    dataset
}

/// A synthetic image-classification job for tests and examples: two classes of RGB PNGs,
/// class 0 (`vertical`) a bright vertical bar and class 1 (`horizontal`) a bright horizontal
/// bar, each at a random position in the middle half of a noisy dark image (or anywhere, with
/// `anywhere`: then both classes have the same expected mean image, which is harder for a
/// linear model on the pixels than for a CNN).
#[derive(Clone, Debug)]
pub struct BarImages {
    /// Image side (the images are square).
    pub side: u32,
    /// Training images per class.
    pub train_per_class: usize,
    /// Validation images per class.
    pub validation_per_class: usize,
    /// Seed of the pixels and positions.
    pub seed: u64,
    /// Bars anywhere in the image rather than in its middle half.
    pub anywhere: bool,
}

impl Default for BarImages {
    fn default() -> Self {
        Self { side: 32, train_per_class: 100, validation_per_class: 50, seed: 7, anywhere: false }
    }
}

impl BarImages {
    /// The class names, as the `metadata` channel's schema lists them.
    pub const CLASSES: [&'static str; 2] = ["vertical", "horizontal"];

    /// One image of class `class` (0 vertical, 1 horizontal) drawn from `rng`.
    pub fn image(&self, class: usize, rng: &mut impl rand::Rng) -> image::RgbImage {
        let side = self.side;
        let width = (side / 8).max(1);
        let (lo, hi) = if self.anywhere { (0, side - width + 1) } else { (side / 4, (3 * side / 4).max(side / 4 + 1)) };
        let at = rng.gen_range(lo..hi);
        let tint: [u8; 3] = [rng.gen_range(180..=255), rng.gen_range(180..=255), rng.gen_range(180..=255)];
        image::RgbImage::from_fn(side, side, |x, y| {
            let on = if class == 0 { (at..at + width).contains(&x) } else { (at..at + width).contains(&y) };
            if on {
                image::Rgb(tint)
            } else {
                image::Rgb([rng.gen_range(0..60), rng.gen_range(0..60), rng.gen_range(0..60)])
            }
        })
    }

    /// PNG bytes of [`image`](Self::image).
    ///
    /// # Panics
    /// If PNG encoding fails (it does not for in-memory RGB images).
    pub fn png(&self, class: usize, rng: &mut impl rand::Rng) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.image(class, rng)
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encode PNG");
        bytes
    }

    /// Lays out a training-container tree under `root`: `hyperparameters.json` (`algorithm`,
    /// `num_classes`, `num_training_samples`, `image_shape`, then `extra`, which overrides),
    /// `inputdataconfig.json` with the four image channels and `metadata`, the `metadata`
    /// channel's schema (class names [`CLASSES`](Self::CLASSES)), PNGs under
    /// `train/<class>/` and `validation/<class>/`, and one `.lst` file per image channel.
    ///
    /// # Panics
    /// When a file cannot be written.
    pub fn write_container(
        &self,
        root: &Path,
        algorithm: &str,
        extra: &[(&str, &str)],
    ) -> crate::container::ContainerPaths {
        use rand::SeedableRng;

        let paths = crate::container::ContainerPaths::new(root);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        for (channel, per_class) in [("train", self.train_per_class), ("validation", self.validation_per_class)] {
            let mut lst = String::new();
            for i in 0..per_class * 2 {
                let class = i % 2;
                let rel = format!("{}/img_{i:04}.png", Self::CLASSES[class]);
                let file = paths.channel(channel).join(&rel);
                std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
                std::fs::write(&file, self.png(class, &mut rng)).expect("write PNG");
                lst.push_str(&format!("{i}\t{class}\t{rel}\n"));
            }
            let lst_dir = paths.channel(&format!("{channel}_lst"));
            std::fs::create_dir_all(&lst_dir).expect("mkdir lst");
            std::fs::write(lst_dir.join(format!("{channel}.lst")), lst).expect("write lst");
        }
        let mut hyperparameters: std::collections::BTreeMap<String, String> = [
            ("algorithm", algorithm.to_owned()),
            ("num_classes", "2".to_owned()),
            ("num_training_samples", (self.train_per_class * 2).to_string()),
            ("image_shape", format!("3,{},{}", self.side, self.side)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (k, v) in extra {
            hyperparameters.insert((*k).to_owned(), (*v).to_owned());
        }
        let channels = ["train", "train_lst", "validation", "validation_lst"]
            .into_iter()
            .map(|c| (c.to_owned(), crate::container::ChannelConfig::file("application/x-image")))
            .chain([("metadata".to_owned(), crate::container::ChannelConfig::file("application/json"))])
            .collect();
        let schema = crate::schema::ModelSchema {
            dataset: DatasetName::parse("bars").expect("a valid name"),
            fingerprint: wb_core::ContentHash::of_bytes(b"bars"),
            version: 1,
            target: "label".into(),
            task: wb_datasets::Task::Classification { classes: Self::CLASSES.map(str::to_owned).to_vec() },
            features: wb_datasets::Encoding(Vec::new()),
            missing: Vec::new(),
            image: Some(crate::schema::ImageInput { channels: 3, height: self.side, width: self.side }),
            optional: Vec::new(),
        };
        crate::container::write_input_config(&paths, &hyperparameters, &channels, &schema).expect("write config");
        paths
    }
}

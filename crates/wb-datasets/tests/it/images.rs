//! Image datasets: registration from folders or `.lst` files, partition once into SageMaker's
//! image-classifier channels, and the refusals.

use std::path::{Path, PathBuf};

use wb_core::{DatasetName, ObjectPath};
use wb_datasets::{Error, ImageRegisterRequest, ImageShape, PartitionSpec, Split};

use super::fixture;

/// A distinct 8×8 image per `(class, i)`: grey when `grey`, else RGB.
fn png(class: u8, i: u32, grey: bool) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    if grey {
        let img =
            image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 8 + y + i * 3 + u32::from(class) * 100) as u8]));
        img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    } else {
        let img = image::RgbImage::from_fn(8, 8, |x, y| {
            image::Rgb([(x * 16) as u8, (y * 16 + i) as u8, class.wrapping_mul(90).wrapping_add(i as u8)])
        });
        img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    }
    out.into_inner()
}

/// `dir/<class>/img_<i>.png`: 20 images of `cat`, 10 of `dog`.
fn folders(dir: &Path) -> PathBuf {
    let root = dir.join("pets");
    for (class, name, n) in [(0u8, "cat", 20u32), (1, "dog", 10)] {
        std::fs::create_dir_all(root.join(name)).expect("mkdir");
        for i in 0..n {
            std::fs::write(root.join(name).join(format!("img_{i:02}.png")), png(class, i, false)).expect("write");
        }
    }
    root
}

/// `dir/train/*.png`, `dir/train.lst`, `dir/classes.json` as `wb etl cifar` writes them.
fn lst_tree(dir: &Path, lines: &[(u32, &str)]) -> (PathBuf, PathBuf) {
    let root = dir.join("cifar");
    std::fs::create_dir_all(root.join("train")).expect("mkdir");
    let mut lst = String::new();
    for (n, (label, file)) in lines.iter().enumerate() {
        std::fs::write(root.join("train").join(file), png(*label as u8, n as u32, true)).expect("write");
        lst.push_str(&format!("{n}\t{label}\ttrain/{file}\n"));
    }
    std::fs::write(root.join("train.lst"), lst).expect("lst");
    std::fs::write(
        root.join("classes.json"),
        r#"{"source":"cifar-100","label_kind":"fine","classes":[{"index":0,"id":8,"name":"bicycle"},{"index":1,"id":48,"name":"motorcycle"}]}"#,
    )
    .expect("classes");
    let lst = root.join("train.lst");
    (root, lst)
}

fn request(name: &str, images: &Path, lst: &[&Path]) -> ImageRegisterRequest {
    ImageRegisterRequest {
        name: DatasetName::parse(name).expect("name"),
        images: images.display().to_string(),
        lst: lst.iter().map(|p| p.display().to_string()).collect(),
        new_version: false,
    }
}

#[tokio::test]
async fn folders_register_and_partition_once_into_image_channels() {
    let f = fixture();
    let root = folders(&f.root);
    let reg = f.datasets.register_images(request("pets", &root, &[])).await.expect("register");
    assert!(reg.created);
    assert_eq!(reg.record.classes, ["cat", "dog"]);
    assert_eq!(reg.record.images.len(), 30);
    assert_eq!(reg.record.shape, Some(ImageShape { channels: 3, height: 8, width: 8 }));
    assert!(reg.record.images.iter().all(|i| i.width == 8 && i.format.name() == "png" && i.size > 0));
    let again = f.datasets.register_images(request("pets", &root, &[])).await.expect("again");
    assert!(!again.created);

    let name = DatasetName::parse("pets").expect("name");
    let spec = PartitionSpec { seed: 7, ..PartitionSpec::default() };
    let first = f.datasets.partition_images(&name, spec, false).await.expect("partition");
    assert!(first.created);
    let m = &first.manifest;
    // Exact per-class counts: 20 cats → 12/4/4, 10 dogs → 6/2/2.
    for (split, cats, dogs) in [(Split::Train, 12, 6), (Split::Validation, 4, 2), (Split::Test, 4, 2)] {
        let s = m.split(split);
        assert_eq!(s.class_counts["cat"], cats, "{split}");
        assert_eq!(s.class_counts["dog"], dogs, "{split}");
        assert_eq!(s.images, cats + dogs);
        // Every listed image is in the store at its prefix with its registered bytes.
        for image in m.images(split) {
            let stored = f.store.get(&image.path).await.expect("stored image");
            assert_eq!(wb_core::ContentHash::of_bytes(&stored.bytes), image.entry.hash);
        }
        // The .lst: index, label, path relative to the split's image prefix.
        let lst = String::from_utf8(f.store.get(&s.lst.path).await.expect("lst").bytes.to_vec()).expect("utf8");
        let lines: Vec<&str> = lst.lines().collect();
        assert_eq!(lines.len() as u64, s.images);
        let first_image = m.images(split).next().expect("one");
        assert_eq!(lines[0], format!("0\t{}\t{}", first_image.entry.label, first_image.relative));
    }
    // Training channels never include the test split.
    let channels = m.channel_prefixes();
    assert_eq!(
        channels.keys().map(String::as_str).collect::<Vec<_>>(),
        ["train", "train_lst", "validation", "validation_lst"]
    );
    let test_prefix = m.split(Split::Test).image_prefix.as_str().to_owned();
    assert!(channels.values().all(|p| !p.as_str().starts_with(&test_prefix) && !p.as_str().contains("/test")));
    for image in m.images(Split::Test) {
        for p in channels.values() {
            assert!(!image.path.as_str().starts_with(p.as_str()), "{} is in channel {p}", image.path);
        }
    }

    // Same inputs: nothing written, byte-identical manifest; other inputs: refused.
    let manifest_path = wb_datasets::layout::image_manifest_path(&name);
    let before = f.store.get(&manifest_path).await.expect("manifest").bytes;
    let second = f.datasets.partition_images(&name, spec, false).await.expect("again");
    assert!(!second.created);
    assert_eq!(f.store.get(&manifest_path).await.expect("manifest").bytes, before);
    let err = f.datasets.partition_images(&name, PartitionSpec { seed: 8, ..spec }, false).await.expect_err("conflict");
    assert!(matches!(err, Error::PartitionConflict { .. }), "{err}");
    assert!(err.to_string().contains("seed 7 vs 8"), "{err}");

    // The same seed in another store gives the same assignment.
    let g = fixture();
    let root2 = folders(&g.root);
    g.datasets.register_images(request("pets", &root2, &[])).await.expect("register");
    let other = g.datasets.partition_images(&name, spec, false).await.expect("partition");
    for split in Split::ALL {
        assert_eq!(other.manifest.split(split).members, m.split(split).members);
    }

    // A changed image is caught while partitioning a new version.
    std::fs::write(root.join("cat").join("img_00.png"), png(0, 99, false)).expect("rewrite");
    let err = f.datasets.partition_images(&name, PartitionSpec { seed: 9, ..spec }, true).await.expect_err("changed");
    assert!(err.to_string().contains("img_00.png") && err.to_string().contains("changed"), "{err}");
}

#[tokio::test]
async fn lst_labels_and_class_names_from_classes_json() {
    let f = fixture();
    let lines: Vec<(u32, String)> = (0..12).map(|i| (i % 2, format!("im_{i}.png"))).collect();
    let borrowed: Vec<(u32, &str)> = lines.iter().map(|(l, s)| (*l, s.as_str())).collect();
    let (root, lst) = lst_tree(&f.root, &borrowed);
    let reg = f.datasets.register_images(request("bikes", &root, &[&lst])).await.expect("register");
    assert_eq!(reg.record.classes, ["bicycle", "motorcycle"]);
    assert_eq!(reg.record.class_counts()["motorcycle"], 6);
    assert_eq!(reg.record.shape, Some(ImageShape { channels: 1, height: 8, width: 8 }));
    assert!(reg.record.images.iter().all(|i| i.channels == 1));
}

#[tokio::test]
async fn bad_image_inputs_are_refused_naming_the_file_and_line() {
    let f = fixture();
    let (root, lst) = lst_tree(&f.root, &[(0, "a.png"), (1, "b.png"), (0, "c.png")]);

    // A .lst naming a file that does not exist.
    std::fs::write(&lst, "0\t0\ttrain/a.png\n1\t1\ttrain/missing.png\n").expect("lst");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("missing").to_string();
    assert!(err.contains("train.lst, line 2") && err.contains("train/missing.png does not exist"), "{err}");

    // A label out of the classes.json range.
    std::fs::write(&lst, "0\t0\ttrain/a.png\n1\t5\ttrain/b.png\n").expect("lst");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("label").to_string();
    assert!(err.contains("line 2") && err.contains("label 5 is out of range"), "{err}");

    // An image listed twice.
    std::fs::write(&lst, "0\t0\ttrain/a.png\n1\t0\ttrain/a.png\n").expect("lst");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("twice").to_string();
    assert!(err.contains("already listed at") && err.contains("line 1"), "{err}");

    // The same bytes under two classes.
    std::fs::copy(root.join("train/a.png"), root.join("train/b.png")).expect("copy");
    std::fs::write(&lst, "0\t0\ttrain/a.png\n1\t1\ttrain/b.png\n").expect("lst");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("dup").to_string();
    assert!(
        err.contains("the same image as train/a.png") && err.contains("\"bicycle\"") && err.contains("\"motorcycle\""),
        "{err}"
    );

    // A truncated PNG and a file that is not an image.
    let good = std::fs::read(root.join("train/a.png")).expect("read");
    std::fs::write(root.join("train/b.png"), &good[..good.len() / 2]).expect("truncate");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("truncated").to_string();
    assert!(err.contains("train/b.png") && err.contains("cannot decode the png image"), "{err}");
    std::fs::write(root.join("train/b.png"), b"hello").expect("text");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("text").to_string();
    assert!(err.contains("train/b.png") && err.contains("not a PNG or JPEG"), "{err}");
    let zero_by_zero = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zero-by-zero.png");
    std::fs::copy(zero_by_zero, root.join("train/b.png")).expect("0×0 png");
    let err = f.datasets.register_images(request("x", &root, &[&lst])).await.expect_err("0×0").to_string();
    assert!(err.contains("train/b.png") && err.contains("0×0"), "{err}");

    // Without --lst, images must sit in class folders.
    let flat = f.root.join("flat");
    std::fs::create_dir_all(&flat).expect("mkdir");
    std::fs::write(flat.join("a.png"), &good).expect("write");
    let err = f.datasets.register_images(request("x", &flat, &[])).await.expect_err("flat").to_string();
    assert!(err.contains("a.png") && err.contains("sub-folder"), "{err}");

    // Nothing was registered by any of these.
    assert!(!f.datasets.is_image_dataset(&DatasetName::parse("x").expect("name")).await.expect("head"));
    assert!(f.store.list(Some(&ObjectPath::parse("datasets").expect("path"))).await.expect("list").is_empty());
}

#[tokio::test]
async fn one_class_and_tiny_classes_are_refused_at_partition() {
    let f = fixture();
    let root = f.root.join("tiny");
    for (class, n) in [("a", 10u32), ("b", 2)] {
        std::fs::create_dir_all(root.join(class)).expect("mkdir");
        for i in 0..n {
            std::fs::write(root.join(class).join(format!("{i}.png")), png(u8::from(class == "b"), i, false))
                .expect("w");
        }
    }
    f.datasets.register_images(request("tiny", &root, &[])).await.expect("register");
    let name = DatasetName::parse("tiny").expect("name");
    let err = f.datasets.partition_images(&name, PartitionSpec::default(), false).await.expect_err("too small");
    assert!(matches!(err, Error::ClassTooSmall { rows: 2, .. }), "{err}");
    assert!(matches!(f.datasets.open_images(&name).await, Err(Error::NotPartitioned { .. })));
}

//! Integration tests of wb-datasets: the partition-once contract on a local store.

mod gated;
mod images;

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wb_core::{ContentHash, DatasetName, DynObjectStore, LocalStore, ObjectStore, ObjectStoreExt};
use wb_datasets::{Datasets, Error, Manifest, PartitionSpec, RegisterRequest, Split, Task};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    store: DynObjectStore,
    datasets: Datasets,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_owned();
    let store: DynObjectStore = Arc::new(LocalStore::open(&root.join("store")).expect("store"));
    Fixture { datasets: Datasets::new(store.clone()), store, root, _dir: dir }
}

/// A CSV with an id key, a numeric and a categorical feature (with `?`), and an imbalanced
/// three-class target: 70 % a, 25 % b, 5 % c.
fn write_csv(dir: &Path, name: &str, rows: usize) -> PathBuf {
    let mut text = String::from("id,x,colour,label\n");
    for i in 0..rows {
        let label = match i % 20 {
            0 => "c",
            1..=5 => "b",
            _ => "a",
        };
        let colour = if i % 7 == 0 { "?" } else { ["red", "green", "blue"][i % 3] };
        text.push_str(&format!("{i},{},{colour},{label}\n", (i as f64 * 0.37).sin()));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write csv");
    path
}

fn request(name: &str, source: &Path, key: Option<&str>) -> RegisterRequest {
    RegisterRequest {
        name: DatasetName::parse(name).expect("name"),
        source: source.display().to_string(),
        target: "label".into(),
        key: key.map(str::to_owned),
        missing: vec!["?".into(), String::new()],
        new_version: false,
        exclude: Vec::new(),
        optional: Vec::new(),
    }
}

fn name(s: &str) -> DatasetName {
    DatasetName::parse(s).expect("name")
}

/// Every file a manifest references exists and hashes to what the manifest says.
async fn assert_manifest_consistent(store: &dyn ObjectStore, manifest: &Manifest) {
    for file in manifest.files() {
        let got = store.get(&file.path).await.unwrap_or_else(|e| panic!("{} is missing: {e}", file.path));
        assert_eq!(ContentHash::of_bytes(&got.bytes), file.hash, "{} matches its manifest hash", file.path);
        assert_eq!(got.bytes.len() as u64, file.size);
    }
}

#[tokio::test]
async fn partition_has_exact_stratified_counts_and_a_complete_manifest() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 1000);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    let out = f.datasets.partition(&name("d")).await.expect("partition");
    assert!(out.created);
    let m = out.manifest;
    assert_eq!(m.task, Task::Classification { classes: vec!["a".into(), "b".into(), "c".into()] });
    let expected: BTreeMap<Split, [u64; 3]> =
        [(Split::Train, [420, 150, 30]), (Split::Validation, [140, 50, 10]), (Split::Test, [140, 50, 10])].into();
    for (split, counts) in expected {
        let got: Vec<u64> = m.split(split).class_counts.values().copied().collect();
        assert_eq!(got, counts.to_vec(), "{split} class counts are exact");
        assert_eq!(m.split(split).rows, counts.iter().sum::<u64>());
        assert_eq!(m.split(split).files[0].rows, m.split(split).rows);
        assert!(m.split(split).channel_prefix.ends_with(&format!("/channels/{split}/")));
    }
    assert_eq!(m.features.feature_names(), vec!["id".to_owned(), "x".into(), "colour".into()]);
    assert_manifest_consistent(f.store.as_ref(), &m).await;

    // The channel: no header, target (class index) first, one column per feature.
    let channel = f.store.get(&m.split(Split::Train).channel.path).await.expect("channel").bytes;
    let text = std::str::from_utf8(&channel).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 600);
    for line in &lines {
        let fields: Vec<f64> = line.split(',').map(|v| v.parse().expect("numeric channel value")).collect();
        assert_eq!(fields.len(), 4, "target + 3 features: {line}");
        assert!([0.0, 1.0, 2.0].contains(&fields[0]), "class index first: {line}");
    }
}

#[tokio::test]
async fn same_inputs_give_the_same_bytes_and_rerunning_changes_nothing() {
    let a = fixture();
    let b = fixture();
    let csv_a = write_csv(&a.root, "d.csv", 500);
    let csv_b = write_csv(&b.root, "d.csv", 500);
    for (f, csv) in [(&a, &csv_a), (&b, &csv_b)] {
        f.datasets.register(request("d", csv, None)).await.expect("register");
    }
    let ma = a.datasets.partition(&name("d")).await.expect("a").manifest;
    let mb = b.datasets.partition(&name("d")).await.expect("b").manifest;
    assert_eq!(ma.fingerprint, mb.fingerprint);
    let hashes = |m: &Manifest| m.files().map(|f| f.hash).collect::<Vec<_>>();
    assert_eq!(hashes(&ma), hashes(&mb), "identical inputs produce identical files in different stores");

    let before = a.store.list(None).await.expect("list");
    let again = a.datasets.partition(&name("d")).await.expect("again");
    assert!(!again.created, "a re-run with the same inputs reports nothing new");
    assert_eq!(a.store.list(None).await.expect("list"), before, "and touches no object");
}

#[tokio::test]
async fn different_inputs_are_refused_unless_a_new_version_is_asked_for() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 300);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    let first = f.datasets.partition(&name("d")).await.expect("partition").manifest;
    let manifest_path = wb_datasets::layout::manifest_path(&name("d"));
    let stored = f.store.get(&manifest_path).await.expect("manifest").bytes;

    let spec = PartitionSpec { seed: 7, train: 0.7, validation: 0.1, test: 0.2, stratify: true };
    let err = f.datasets.partition(&name("d")).spec(spec).await.expect_err("different seed");
    let msg = err.to_string();
    assert!(matches!(err, Error::PartitionConflict { .. }), "{err:?}");
    assert!(msg.contains("seed 42 vs 7") && msg.contains("0.6/0.2/0.2 vs 0.7/0.1/0.2"), "{msg}");
    assert_eq!(f.store.get(&manifest_path).await.expect("manifest").bytes, stored, "the manifest is unchanged");

    let second = f.datasets.partition(&name("d")).spec(spec).new_version(true).await.expect("new version").manifest;
    assert_eq!(second.version, 2);
    assert_eq!(second.previous, Some(first.fingerprint));
    // Per class (210 a, 75 b, 15 c) × 0.7, each rounded by largest remainder: 147 + 53 + 11.
    let train_counts: Vec<u64> = second.split(Split::Train).class_counts.values().copied().collect();
    assert_eq!(train_counts, vec![147, 53, 11]);
    // The first version's files are still there for models trained on it.
    assert_manifest_consistent(f.store.as_ref(), &first).await;
    assert_manifest_consistent(f.store.as_ref(), &second).await;
}

#[tokio::test]
async fn a_changed_source_is_refused() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 300);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    write_csv(&f.root, "d.csv", 301);
    let err = f.datasets.partition(&name("d")).await.expect_err("changed source");
    assert!(matches!(err, Error::SourceChanged { .. }), "{err:?}");
    assert!(err.to_string().contains("changed since registration"), "{err}");
    assert!(f.datasets.open(&name("d")).await.is_err(), "nothing was partitioned");
    // Registering the changed file again needs an explicit new version.
    let conflict = f.datasets.register(request("d", &csv, None)).await.expect_err("conflict");
    assert!(conflict.to_string().contains("source fingerprint"), "{conflict}");
    let again = f.datasets.register(RegisterRequest { new_version: true, ..request("d", &csv, None) }).await;
    assert_eq!(again.expect("new version").record.version, 2);

    // A file of many pieces (hashed as its chunks are read), changed in place past its middle:
    // same size, same targets, a cell that still decodes.
    let big = write_csv(&f.root, "big.csv", 9000);
    f.datasets.register(request("big", &big, None)).await.expect("register");
    let mut bytes = std::fs::read(&big).expect("read");
    assert!(bytes.len() > 3 * 64 * 1024, "several pieces: {}", bytes.len());
    let at = bytes.len() / 2 + bytes[bytes.len() / 2..].windows(5).position(|w| w == b",red,").expect("a red");
    bytes[at + 3] = b'x';
    std::fs::write(&big, &bytes).expect("write");
    let err = f.datasets.partition(&name("big")).await.expect_err("changed source");
    assert!(matches!(err, Error::SourceChanged { .. }), "{err:?}");
    assert!(f.datasets.open(&name("big")).await.is_err(), "nothing was partitioned");
    // Put back, the same file partitions.
    bytes[at + 3] = b'd';
    std::fs::write(&big, &bytes).expect("write");
    f.datasets.partition(&name("big")).await.expect("the registered bytes");
}

#[tokio::test]
async fn bad_inputs_get_errors_that_name_the_value() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 100);
    let mut req = request("d", &csv, None);
    req.target = "nope".into();
    let e = f.datasets.register(req).await.expect_err("missing target").to_string();
    assert!(e.contains("\"nope\"") && e.contains("id, x, colour, label"), "{e}");

    let e = f.datasets.register(request("d", &f.root.join("absent.csv"), None)).await.expect_err("absent");
    assert!(e.to_string().contains("absent.csv"), "{e}");

    f.datasets.register(request("d", &csv, None)).await.expect("register");
    for (spec, needle) in [
        (PartitionSpec { train: -0.1, validation: 0.6, test: 0.5, ..PartitionSpec::default() }, "train = -0.1"),
        (PartitionSpec { train: 0.5, validation: 0.2, test: 0.2, ..PartitionSpec::default() }, "must be 1"),
    ] {
        let e = f.datasets.partition(&name("d")).spec(spec).await.expect_err("bad spec").to_string();
        assert!(e.contains(needle), "{e}");
    }

    // Class "c" has 2 of 40 rows: too small for three splits.
    let small = write_csv(&f.root, "small.csv", 40);
    f.datasets.register(request("small", &small, None)).await.expect("register");
    let e = f.datasets.partition(&name("small")).await.expect_err("too small");
    assert!(matches!(&e, Error::ClassTooSmall { class, rows: 2, .. } if class == "c"), "{e:?}");
    // Without stratification one split gets no row of "c": refused, with the split's counts.
    let unstratified = PartitionSpec { stratify: false, ..PartitionSpec::default() };
    let e = f.datasets.partition(&name("small")).spec(unstratified).await.expect_err("a split without c");
    assert!(matches!(&e, Error::EmptyClassInSplit { class, .. } if class == "c"), "{e:?}");
    assert!(e.to_string().contains("c: 0") && e.to_string().contains("split"), "{e}");

    // A target with one class is refused at partition time, with its count.
    let one = f.root.join("one.csv");
    std::fs::write(&one, "x,label\n1,a\n2,a\n3,a\n4,a\n5,a\n").expect("write");
    f.datasets.register(request("one", &one, None)).await.expect("register");
    let e = f.datasets.partition(&name("one")).await.expect_err("one class");
    assert!(matches!(&e, Error::TooFewClasses { classes: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("a: 5") && e.to_string().contains("at least two"), "{e}");

    // A missing target value names its line.
    let holes = f.root.join("holes.csv");
    std::fs::write(&holes, "x,label\n1,a\n2,?\n3,b\n").expect("write");
    f.datasets.register(request("holes", &holes, None)).await.expect("register");
    let e = f.datasets.partition(&name("holes")).await.expect_err("missing target value").to_string();
    assert!(e.contains("line 3") && e.contains("label"), "{e}");

    let e = f.datasets.partition(&name("never-registered")).await.expect_err("unknown").to_string();
    assert!(e.contains("not registered"), "{e}");
}

#[tokio::test]
async fn key_decides_the_split_so_shards_agree() {
    let f = fixture();
    let full = write_csv(&f.root, "full.csv", 2000);
    // A shard: every third row of the same data, in another order.
    let text = std::fs::read_to_string(&full).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    let mut shard: Vec<&str> = lines.iter().step_by(3).copied().collect();
    shard.reverse();
    let shard_path = f.root.join("shard.csv");
    std::fs::write(&shard_path, format!("{header}\n{}\n", shard.join("\n"))).expect("write shard");

    for (n, path) in [("full", &full), ("shard", &shard_path)] {
        f.datasets.register(request(n, path, Some("id"))).await.expect("register");
        let m = f.datasets.partition(&name(n)).await.expect("partition").manifest;
        assert_eq!(m.algorithm, "wb-keyhash-v1");
        assert!(!m.features.feature_names().contains(&"id".to_owned()), "the key is not a feature");
    }
    let split_of = |ds: &str| {
        let datasets = f.datasets.clone();
        let ds = name(ds);
        async move {
            let d = datasets.open(&ds).await.expect("open");
            let mut map = BTreeMap::new();
            for (split, data) in [
                (Split::Train, d.train().await),
                (Split::Validation, d.validation().await),
                (Split::Test, d.test_for_evaluation().await),
            ] {
                for batch in data.expect("load").batches() {
                    let ids = arrow::compute::cast(
                        batch.column_by_name("id").expect("id"),
                        &arrow::datatypes::DataType::Int64,
                    )
                    .expect("cast");
                    let ids = ids.as_any().downcast_ref::<arrow::array::Int64Array>().expect("ints");
                    for id in ids.values() {
                        map.insert(*id, split);
                    }
                }
            }
            map
        }
    };
    let full_map = split_of("full").await;
    let shard_map = split_of("shard").await;
    assert_eq!(full_map.len(), 2000);
    assert_eq!(shard_map.len(), 667);
    for (id, split) in &shard_map {
        assert_eq!(full_map[id], *split, "row {id} lands in the same split in the shard and the full data");
    }
}

#[tokio::test]
async fn loaders_give_linfa_datasets_and_detect_corruption() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 500);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    let m = f.datasets.partition(&name("d")).await.expect("partition").manifest;
    let d = f.datasets.open(&name("d")).await.expect("open");
    let train = d.train().await.expect("train").to_linfa_classification().expect("linfa");
    assert_eq!(train.records().dim(), (300, 3));
    assert_eq!(train.feature_names(), vec!["id".to_owned(), "x".into(), "colour".into()]);
    assert!(train.records().iter().all(|v| v.is_finite()), "missing values are imputed");
    assert!(d.train().await.expect("train").to_linfa_regression().is_err(), "task mismatch is refused");
    assert!(d.training_channels().train.ends_with("/channels/train/"));
    assert!(!d.training_channels().validation.contains("test"));

    // Corrupt the stored test file: loading it fails, naming the file.
    let test_file = &m.split(Split::Test).files[0];
    f.store.put(&test_file.path, bytes::Bytes::from_static(b"not parquet")).await.expect("overwrite");
    let e = d.test_for_evaluation().await.expect_err("corrupt").to_string();
    assert!(e.contains("corrupt") && e.contains("part-00000.parquet"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_partitions_never_leave_a_mixed_manifest() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 3000);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    let specs = [
        PartitionSpec { seed: 1, ..PartitionSpec::default() },
        PartitionSpec { seed: 2, ..PartitionSpec::default() },
        PartitionSpec { seed: 1, ..PartitionSpec::default() },
    ];
    let runs =
        futures::future::join_all(specs.iter().map(|s| f.datasets.partition(&name("d")).spec(*s).into_future())).await;
    let manifest = f.datasets.open(&name("d")).await.expect("a manifest was committed").manifest().clone();
    assert_manifest_consistent(f.store.as_ref(), &manifest).await;
    let winners = runs.iter().filter(|r| matches!(r, Ok(o) if o.created)).count();
    assert_eq!(winners, 1, "exactly one run created the manifest: {runs:?}");
    for run in &runs {
        match run {
            Ok(o) => assert_eq!(o.manifest.fingerprint, manifest.fingerprint),
            Err(e) => assert!(matches!(e, Error::PartitionConflict { .. }), "{e:?}"),
        }
    }
}

fn is_current_manifest(p: &str) -> bool {
    p == "datasets/d/manifest.json"
}

fn is_version_manifest(p: &str) -> bool {
    p.starts_with("datasets/d/partitions/") && p.ends_with("/manifest.json")
}

/// A run whose partition calls go through `gates`.
fn gated_run(
    f: &Fixture,
    gates: &[Arc<gated::Gate>],
    spec: PartitionSpec,
    new_version: bool,
) -> wb_datasets::Partition {
    let store: DynObjectStore = Arc::new(gated::Gated { inner: f.store.clone(), gates: gates.to_vec() });
    Datasets::new(store).partition(&name("d")).spec(spec).new_version(new_version)
}

/// Run A (seed 1) uploads its files and stops before its commit; run B (seed 2) commits; run C
/// (seed 1, new version) starts from B's manifest, finds A's files in place and stops before its
/// commit. A then loses and cleans up, and C commits: C's manifest must not point at anything
/// A deleted. Without `delete_gate`, A finishes before C commits; with it, A is held before its
/// last delete until C has committed.
async fn identical_runs_race_a_third(
    delete_gate: bool,
) -> (Fixture, Manifest, wb_datasets::Result<wb_datasets::PartitionOutcome>) {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 300);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    let seed = |seed| PartitionSpec { seed, ..PartitionSpec::default() };

    let a_commit = gated::Gate::new(gated::Op::Put, is_current_manifest);
    let a_cleanup = gated::Gate::new(gated::Op::Delete, is_version_manifest);
    let mut a_gates = vec![a_commit.clone()];
    if delete_gate {
        a_gates.push(a_cleanup.clone());
    }
    let a = tokio::spawn(gated_run(&f, &a_gates, seed(1), false).into_future());
    a_commit.reached().await;

    let b = f.datasets.partition(&name("d")).spec(seed(2)).await.expect("B commits");
    assert!(b.created);

    let c_commit = gated::Gate::new(gated::Op::Put, is_current_manifest);
    let c = tokio::spawn(gated_run(&f, std::slice::from_ref(&c_commit), seed(1), true).into_future());
    c_commit.reached().await;

    a_commit.release();
    let mut a = Some(a);
    let mut a_result = None;
    if delete_gate {
        a_cleanup.reached().await;
    } else {
        a_result = Some(a.take().expect("A").await.expect("A ran"));
    }
    c_commit.release();
    let c = c.await.expect("C ran").expect("C commits a new version");
    assert!(c.created);
    a_cleanup.release();
    if let Some(a) = a {
        a_result = Some(a.await.expect("A ran"));
    }
    let a = a_result.expect("A finished");

    let manifest = f.datasets.open(&name("d")).await.expect("open").manifest().clone();
    assert_eq!(manifest.fingerprint, c.manifest.fingerprint);
    assert_manifest_consistent(f.store.as_ref(), &manifest).await;
    let pid = manifest.fingerprint.short(16);
    let version_path = wb_datasets::layout::partition_prefix(&name("d"), &pid).join("manifest.json").expect("path");
    let (copy, _) = f.store.get_json::<Manifest>(&version_path).await.expect("the per-version copy exists");
    assert_eq!(copy.fingerprint, manifest.fingerprint);
    (f, manifest, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_losing_run_never_deletes_files_an_identical_run_commits() {
    let (_f, _, a) = identical_runs_race_a_third(false).await;
    assert!(matches!(a, Err(Error::PartitionConflict { .. })), "A lost to B: {a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loser_puts_back_files_an_identical_run_committed_while_it_cleaned_up() {
    let (_f, manifest, a) = identical_runs_race_a_third(true).await;
    let a = a.expect("A finds the identical manifest C committed");
    assert!(!a.created);
    assert_eq!(a.manifest.fingerprint, manifest.fingerprint);
}

#[tokio::test]
async fn an_interrupted_run_leaves_no_manifest_and_a_rerun_completes() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 300);
    f.datasets.register(request("d", &csv, None)).await.expect("register");
    // Simulate a run killed after uploading some files: stray objects under a partition prefix.
    let stray = wb_datasets::layout::partition_prefix(&name("d"), "0123456789abcdef")
        .join("train/part-00000.parquet")
        .expect("path");
    f.store.put(&stray, bytes::Bytes::from_static(b"half a file")).await.expect("stray");
    assert!(matches!(f.datasets.open(&name("d")).await, Err(Error::NotPartitioned { .. })));
    let m = f.datasets.partition(&name("d")).await.expect("partition").manifest;
    assert!(m.files().all(|file| file.path != stray), "the manifest never points at the stray file");
    assert_manifest_consistent(f.store.as_ref(), &m).await;
}

#[tokio::test]
async fn parquet_sources_work_like_csv_sources() {
    let f = fixture();
    let csv = write_csv(&f.root, "d.csv", 400);
    let parquet = f.root.join("d.parquet");
    wb_etl::tabular::ingest_csv(&csv, &parquet, &wb_etl::tabular::IngestOptions::default()).expect("ingest");
    f.datasets.register(request("from-csv", &csv, None)).await.expect("register csv");
    f.datasets.register(request("from-parquet", &parquet, None)).await.expect("register parquet");
    let a = f.datasets.partition(&name("from-csv")).await.expect("csv").manifest;
    let b = f.datasets.partition(&name("from-parquet")).await.expect("parquet").manifest;
    for split in Split::ALL {
        assert_eq!(a.split(split).class_counts, b.split(split).class_counts);
        assert_eq!(a.split(split).channel.hash, b.split(split).channel.hash, "{split} channels are identical");
    }
    let listed = f.datasets.list().await.expect("list");
    assert_eq!(listed.iter().map(|d| d.name.to_string()).collect::<Vec<_>>(), vec!["from-csv", "from-parquet"]);
}

/// The rows of `write_csv` with some colours left empty, as one plain file (read in parallel
/// chunks of whole records) and one whose header is quoted (read sequentially: a quote may hide
/// a line end); many more rows than one 16 Ki-row chunk.
fn write_plain_and_quoted(dir: &Path, rows: usize) -> (PathBuf, PathBuf) {
    let plain = write_csv(dir, "plain.csv", rows);
    let text = std::fs::read_to_string(&plain).expect("read");
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        match line.split(',').collect::<Vec<_>>().as_slice() {
            [id, x, _, label] if i % 11 == 5 => out.push_str(&format!("{id},{x},,{label}\n")),
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    std::fs::write(&plain, &out).expect("write plain");
    let quoted = dir.join("quoted.csv");
    std::fs::write(&quoted, out.replacen("id,x,colour,label", "\"id\",x,colour,label", 1)).expect("write quoted");
    (plain, quoted)
}

#[tokio::test]
async fn chunked_and_sequential_reads_give_identical_partitions() {
    let f = fixture();
    let (plain, quoted) = write_plain_and_quoted(&f.root, 140_000);
    // With the empty cell missing (exact token matching in chunks), and without (an empty
    // colour is then a category of its own, and chunks fall back to Arrow's null pattern).
    for (i, missing) in [vec!["?".to_owned(), String::new()], vec!["?".to_owned()]].into_iter().enumerate() {
        let mut manifests = Vec::new();
        for (kind, source) in [("plain", &plain), ("quoted", &quoted)] {
            let dataset = format!("{kind}-{i}");
            let mut r = request(&dataset, source, None);
            r.missing = missing.clone();
            f.datasets.register(r).await.expect("register");
            manifests.push(f.datasets.partition(&name(&dataset)).await.expect("partition").manifest);
        }
        let (a, b) = (&manifests[0], &manifests[1]);
        assert_eq!(a.features, b.features, "the same encoding with missing {missing:?}");
        for split in Split::ALL {
            let (x, y) = (a.split(split), b.split(split));
            assert_eq!(x.rows, y.rows);
            assert_eq!(x.class_counts, y.class_counts);
            assert_eq!(x.files[0].hash, y.files[0].hash, "{split} split files are identical ({missing:?})");
            assert_eq!(x.channel.hash, y.channel.hash, "{split} channels are identical ({missing:?})");
        }
        assert_eq!(a.split(Split::Train).rows + a.split(Split::Validation).rows + a.split(Split::Test).rows, 140_000);
    }
}

/// Registering a plain CSV file keeps its source index (chunks and each row's target), which
/// the partition reads instead of the file's targets; without it, or with a damaged or foreign
/// one, the file is read as before, and the partition is the same, byte for byte.
#[tokio::test]
async fn the_source_index_gives_the_partition_reading_the_file_gives() {
    let f = fixture();
    let (plain, quoted) = write_plain_and_quoted(&f.root, 40_000);
    let index = |d: &str| wb_datasets::layout::source_index_path(&name(d));
    let datasets = ["indexed", "absent", "damaged", "foreign"];
    for d in datasets {
        f.datasets.register(request(d, &plain, None)).await.expect("register");
        let kept = f.store.get(&index(d)).await.expect("a plain CSV file's registration keeps an index").bytes;
        assert!(kept.starts_with(b"wb-source-index 1\n"));
        assert_eq!(kept.len(), 40_000 + 32 + memchr_line(&kept, 2), "a byte per row, a hash, two lines");
    }
    f.store.delete(&index("absent")).await.expect("delete");
    let mut damaged = f.store.get(&index("damaged")).await.expect("get").bytes.to_vec();
    let last_row = damaged.len() - 33;
    damaged[last_row] ^= 1;
    f.store.put(&index("damaged"), damaged.into()).await.expect("put");
    // Another source's index (a valid one) describes other bytes.
    let other = write_csv(&f.root, "other.csv", 40_000);
    f.datasets.register(request("other", &other, None)).await.expect("register");
    let foreign = f.store.get(&index("other")).await.expect("get").bytes;
    f.store.put(&index("foreign"), foreign).await.expect("put");

    let mut manifests = Vec::new();
    for d in datasets {
        manifests.push(f.datasets.partition(&name(d)).await.expect("partition").manifest);
    }
    for m in &manifests[1..] {
        for split in Split::ALL {
            let (x, y) = (manifests[0].split(split), m.split(split));
            assert_eq!(x.class_counts, y.class_counts, "{split}");
            assert_eq!(x.files[0].hash, y.files[0].hash, "{split} split files are identical");
            assert_eq!(x.channel.hash, y.channel.hash, "{split} channels are identical");
        }
    }
    // An index whose bytes hold together but whose targets are not the file's: the rows pass 2
    // reads contradict it, and nothing is stored.
    let mut forged = f.store.get(&index("indexed")).await.expect("get").bytes.to_vec();
    forged.truncate(forged.len() - 32);
    let first_row = memchr_line(&forged, 2);
    assert_eq!(forged[first_row], 0, "row 0's target is the first value");
    forged[first_row] = 1;
    let hash = ContentHash::of_bytes(&forged);
    forged.extend_from_slice(hash.as_bytes());
    f.store.put(&index("indexed"), forged.into()).await.expect("put");
    let spec = PartitionSpec { seed: 7, ..PartitionSpec::default() };
    let e = f.datasets.partition(&name("indexed")).spec(spec).new_version(true).await.expect_err("forged");
    assert!(e.to_string().contains("source index of dataset \"indexed\""), "{e}");
    assert_eq!(f.datasets.open(&name("indexed")).await.expect("open").manifest().spec.seed, 42, "unchanged");
    // A quoted file (read sequentially) and a Parquet file keep no index.
    f.datasets.register(request("quoted", &quoted, None)).await.expect("register");
    assert!(f.store.get(&index("quoted")).await.expect_err("no index").is_not_found());
    // A missing target is found, at its line, from the index as from the file.
    let holes = f.root.join("holes.csv");
    std::fs::write(&holes, "x,label\n1,a\n2,b\n3,?\n4,b\n5,?\n").expect("write");
    for d in ["holes-indexed", "holes-read"] {
        f.datasets.register(request(d, &holes, None)).await.expect("register");
    }
    f.store.delete(&index("holes-read")).await.expect("delete");
    for d in ["holes-indexed", "holes-read"] {
        let e = f.datasets.partition(&name(d)).await.expect_err("missing target value");
        assert!(matches!(&e, Error::MissingValue { location, .. } if location == "line 4"), "{d}: {e:?}");
    }
}

/// The length of the first `lines` lines of `bytes`.
fn memchr_line(bytes: &[u8], lines: usize) -> usize {
    bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(lines - 1).map_or(0, |(i, _)| i + 1)
}

/// The files of one partition, pinned: a change to which rows go where, to the split files or
/// to the channels' bytes fails here. (Hashes from `wb etl synth readmission --rows 5000 --seed
/// 9`, `wb dataset register --target readmitted --missing '?'` and `wb dataset partition` as
/// they were before partitioning read CSV files in parallel chunks.)
#[tokio::test]
async fn a_known_partition_keeps_its_files_byte_for_byte() {
    let f = fixture();
    let source = f.root.join("golden.csv");
    let file = std::io::BufWriter::new(std::fs::File::create(&source).expect("create"));
    wb_etl::synth::write_readmission_csv(file, 5000, 9).expect("synth");
    let mut r = request("golden", &source, None);
    r.target = "readmitted".into();
    r.missing = vec!["?".into()];
    f.datasets.register(r).await.expect("register");
    let m = f.datasets.partition(&name("golden")).await.expect("partition").manifest;
    let expected = [
        (
            Split::Train,
            3000,
            "blake3:a5f69494a457da8bf4f03b70fd5fea2a419398397c3e0c962c53bd590e9b59ea",
            "blake3:8fa0908dd03db33a185c478fea710359544565f5d677cdfda1b17e1720097321",
        ),
        (
            Split::Validation,
            1000,
            "blake3:260201578cc0d0d90c37cbb8c01ecb37d1944ffa7456f4e70e6aa817b488d2da",
            "blake3:d786ae2d1e211c2e8cb69a97853c119cfe91efd4d0c7d885c8cdb3154a848ee2",
        ),
        (
            Split::Test,
            1000,
            "blake3:447979c15affd584c6fb425333132bebb71c158168f210de9738d465807a9007",
            "blake3:ce3484fceab0cafbe26a48130973898422c48669ea6da3354383f8f91a1c095c",
        ),
    ];
    for (split, rows, parquet, channel) in expected {
        let s = m.split(split);
        assert_eq!(s.rows, rows, "{split} rows");
        assert_eq!(s.files[0].hash.to_string(), parquet, "{split} split file");
        assert_eq!(s.channel.hash.to_string(), channel, "{split} channel");
    }
}

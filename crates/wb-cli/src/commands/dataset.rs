//! `wb dataset ...`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use wb_core::{ContentHash, DatasetName};
use wb_datasets::{
    DatasetRecord, Datasets, ImageDatasetRecord, ImageManifest, ImageRegisterRequest, ImageShape, Manifest,
    PartitionSpec, RegisterRequest, Split, Task,
};

use crate::cli::{DatasetCommand, PartitionArgs, RegisterArgs};
use crate::context::Context;
use crate::output::{print_json, spinner};

pub(crate) async fn run(command: DatasetCommand, ctx: &Context, quiet: bool) -> Result<()> {
    let datasets = Datasets::new(ctx.store.clone());
    match command {
        DatasetCommand::Register(args) => register(&datasets, ctx, args).await,
        DatasetCommand::Partition(args) => partition(&datasets, ctx, args, quiet).await,
        DatasetCommand::Show(args) => {
            let name = DatasetName::parse(&args.name)?;
            if datasets.is_image_dataset(&name).await? {
                let record = datasets.image_record(&name).await?;
                let manifest = match datasets.open_images(&name).await {
                    Ok(m) => Some(m),
                    Err(wb_datasets::Error::NotPartitioned { .. }) => None,
                    Err(e) => return Err(e.into()),
                };
                let view = match &manifest {
                    Some(m) => ImageDatasetView::from_manifest(m),
                    None => ImageDatasetView::from_record(&record),
                };
                return if args.json { print_json(&view) } else { print_image_view(&view) };
            }
            let view = view(&datasets, &name).await?;
            if args.json { print_json(&view) } else { print_view(&view) }
        }
        DatasetCommand::List(args) => {
            let list = datasets.list().await?;
            if args.json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no datasets registered (see `wb dataset register --help`)");
            }
            for d in list {
                let rows = d.rows.map_or_else(
                    || "not partitioned".to_owned(),
                    |r| r.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
                );
                if d.kind == "images" {
                    println!("{:<24} images {:<16} {rows}", d.name, "");
                } else {
                    println!("{:<24} target {:<16} {rows}", d.name, d.target);
                }
            }
            Ok(())
        }
    }
}

async fn register(datasets: &Datasets, ctx: &Context, args: RegisterArgs) -> Result<()> {
    if let Some(images) = args.images {
        return register_images(datasets, &args.name, images, args.lst, args.new_version, args.json).await;
    }
    let missing = if args.missing.is_empty() { ctx.config.config.datasets.missing.clone() } else { args.missing };
    let (Some(source), Some(target)) = (args.source, args.target) else {
        anyhow::bail!("a tabular dataset needs --source and --target (or --images for an image dataset)");
    };
    let registration = datasets
        .register(RegisterRequest {
            name: DatasetName::parse(&args.name)?,
            source,
            target,
            key: args.key,
            missing,
            new_version: args.new_version,
            exclude: args.exclude,
            optional: args.optional,
        })
        .await?;
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            created: bool,
            #[serde(flatten)]
            record: &'a DatasetRecord,
        }
        return print_json(&Out { created: registration.created, record: &registration.record });
    }
    let r = &registration.record;
    let verb = if registration.created { "registered" } else { "already registered (unchanged)" };
    println!("{verb} dataset {} (version {})", r.name, r.version);
    println!("source      {} ({} bytes, {})", r.source.uri, r.source.size, r.source.fingerprint);
    println!("target      {}", r.target);
    if let Some(key) = &r.key {
        println!("key         {key}");
    }
    println!("features    {}", r.feature_columns().join(", "));
    if !r.exclude.is_empty() {
        println!("excluded    {}", r.exclude.join(", "));
    }
    if !r.optional.is_empty() {
        println!("optional    {} (JSON instances may leave them out)", r.optional.join(", "));
    }
    Ok(())
}

async fn register_images(
    datasets: &Datasets,
    name: &str,
    images: String,
    lst: Vec<String>,
    new_version: bool,
    json: bool,
) -> Result<()> {
    let registration = datasets
        .register_images(ImageRegisterRequest { name: DatasetName::parse(name)?, images, lst, new_version })
        .await?;
    let r = &registration.record;
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            created: bool,
            #[serde(flatten)]
            view: ImageDatasetView<'a>,
        }
        return print_json(&Out { created: registration.created, view: ImageDatasetView::from_record(r) });
    }
    let verb = if registration.created { "registered" } else { "already registered (unchanged)" };
    println!("{verb} image dataset {} (version {})", r.name, r.version);
    print_image_view(&ImageDatasetView::from_record(r))
}

async fn partition(datasets: &Datasets, ctx: &Context, args: PartitionArgs, quiet: bool) -> Result<()> {
    let defaults = &ctx.config.config.datasets;
    let spec = PartitionSpec {
        train: args.train.unwrap_or(defaults.train),
        validation: args.validation.unwrap_or(defaults.validation),
        test: args.test.unwrap_or(defaults.test),
        seed: args.seed.unwrap_or(defaults.seed),
        stratify: !args.no_stratify,
    };
    let name = DatasetName::parse(&args.name)?;
    let bar = spinner(quiet, format!("partitioning {name}"));
    if datasets.is_image_dataset(&name).await? {
        let outcome = datasets.partition_images(&name, spec, args.new_version).await;
        bar.finish_and_clear();
        let outcome = outcome?;
        let view = ImageDatasetView::from_manifest(&outcome.manifest);
        if args.json {
            #[derive(Serialize)]
            struct Out<'a> {
                created: bool,
                #[serde(flatten)]
                view: ImageDatasetView<'a>,
            }
            return print_json(&Out { created: outcome.created, view });
        }
        if outcome.created {
            println!("partitioned {name} (version {})", outcome.manifest.version);
        } else {
            println!("{name} is already partitioned with these inputs; nothing changed");
        }
        return print_image_view(&view);
    }
    let outcome = datasets.partition(&name).spec(spec).new_version(args.new_version).await;
    bar.finish_and_clear();
    let outcome = outcome?;
    let view = DatasetView::from_manifest(&outcome.manifest);
    if args.json {
        #[derive(Serialize)]
        struct Out {
            created: bool,
            #[serde(flatten)]
            view: DatasetView,
        }
        return print_json(&Out { created: outcome.created, view });
    }
    if outcome.created {
        println!("partitioned {name} (version {})", outcome.manifest.version);
    } else {
        println!("{name} is already partitioned with these inputs; nothing changed");
    }
    print_view(&view)
}

/// What `wb dataset show` prints.
#[derive(Debug, Serialize)]
pub(crate) struct DatasetView {
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) key: Option<String>,
    pub(crate) source: String,
    pub(crate) source_fingerprint: ContentHash,
    pub(crate) partitioned: bool,
    /// The feature columns an invocation row holds, in order.
    pub(crate) features: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) partition: Option<PartitionView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PartitionView {
    pub(crate) version: u32,
    pub(crate) fingerprint: ContentHash,
    pub(crate) algorithm: String,
    pub(crate) seed: u64,
    pub(crate) proportions: BTreeMap<Split, f64>,
    pub(crate) stratified: bool,
    pub(crate) task: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) classes: Option<Vec<String>>,
    pub(crate) splits: BTreeMap<Split, SplitView>,
    pub(crate) created_at: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct SplitView {
    pub(crate) rows: u64,
    pub(crate) class_counts: BTreeMap<String, u64>,
    pub(crate) files: Vec<String>,
    pub(crate) channel: String,
    pub(crate) channel_prefix: String,
}

impl DatasetView {
    fn from_record(r: &DatasetRecord) -> Self {
        Self {
            name: r.name.to_string(),
            target: r.target.clone(),
            key: r.key.clone(),
            source: r.source.uri.clone(),
            source_fingerprint: r.source.fingerprint,
            partitioned: false,
            features: r.feature_columns(),
            partition: None,
        }
    }

    pub(crate) fn from_manifest(m: &Manifest) -> Self {
        let mut view = Self::from_record(&m.registration);
        view.partitioned = true;
        view.features = m.features.feature_names();
        view.partition = Some(PartitionView {
            version: m.version,
            fingerprint: m.fingerprint,
            algorithm: m.algorithm.clone(),
            seed: m.spec.seed,
            proportions: Split::ALL.into_iter().zip(m.spec.proportions()).collect(),
            stratified: m.spec.stratify,
            task: m.task.name().into(),
            classes: match &m.task {
                Task::Classification { classes } => Some(classes.clone()),
                Task::Regression => None,
            },
            splits: m
                .splits
                .iter()
                .map(|(s, sm)| {
                    (
                        *s,
                        SplitView {
                            rows: sm.rows,
                            class_counts: sm.class_counts.clone(),
                            files: sm.files.iter().map(|f| f.uri.clone()).collect(),
                            channel: sm.channel.uri.clone(),
                            channel_prefix: sm.channel_prefix.clone(),
                        },
                    )
                })
                .collect(),
            created_at: m.created_at.clone(),
        });
        view
    }
}

pub(crate) async fn view(datasets: &Datasets, name: &DatasetName) -> Result<DatasetView> {
    match datasets.open(name).await {
        Ok(d) => Ok(DatasetView::from_manifest(d.manifest())),
        Err(wb_datasets::Error::NotPartitioned { .. }) => Ok(DatasetView::from_record(&datasets.record(name).await?)),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn print_view(v: &DatasetView) -> Result<()> {
    println!("dataset     {}", v.name);
    println!("source      {} ({})", v.source, v.source_fingerprint);
    println!("target      {}", v.target);
    if let Some(key) = &v.key {
        println!("key         {key}");
    }
    println!("features    {}", v.features.join(", "));
    let Some(p) = &v.partition else {
        println!("partition   none yet (run `wb dataset partition {}`)", v.name);
        return Ok(());
    };
    println!("fingerprint {}", p.fingerprint);
    println!(
        "partition   version {}, {}, seed {}, {}",
        p.version,
        p.algorithm,
        p.seed,
        if p.stratified { "stratified" } else { "not stratified" }
    );
    if let Some(classes) = &p.classes {
        println!("classes     {}", classes.join(", "));
    }
    for (split, s) in &p.splits {
        let per_class: Vec<String> = s.class_counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        let share = p.proportions.get(split).copied().unwrap_or_default();
        println!(
            "{split:<11} {} rows ({share:?}) {}",
            s.rows,
            if per_class.is_empty() { String::new() } else { format!("[{}]", per_class.join(", ")) }
        );
        for f in &s.files {
            println!("            {f}");
        }
        println!("            channel {}", s.channel_prefix);
    }
    Ok(())
}

/// What `wb dataset show` prints for an image dataset.
#[derive(Debug, Serialize)]
pub(crate) struct ImageDatasetView<'a> {
    name: String,
    kind: &'static str,
    source: &'a str,
    fingerprint: ContentHash,
    images: usize,
    bytes: u64,
    /// The one shape of every image (`channels,height,width`), when they share one.
    shape: Option<ImageShape>,
    /// Shapes and their image counts, when they differ.
    shapes: BTreeMap<String, u64>,
    classes: &'a [String],
    class_counts: BTreeMap<String, u64>,
    partitioned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<ImagePartitionView>,
}

#[derive(Debug, Serialize)]
struct ImagePartitionView {
    version: u32,
    fingerprint: ContentHash,
    algorithm: String,
    seed: u64,
    proportions: BTreeMap<Split, f64>,
    stratified: bool,
    splits: BTreeMap<Split, ImageSplitView>,
    channels: BTreeMap<String, String>,
    created_at: String,
}

#[derive(Debug, Serialize)]
struct ImageSplitView {
    images: u64,
    class_counts: BTreeMap<String, u64>,
    image_prefix: String,
    lst: String,
}

impl<'a> ImageDatasetView<'a> {
    fn from_record(r: &'a ImageDatasetRecord) -> Self {
        let mut shapes: BTreeMap<String, u64> = BTreeMap::new();
        for i in &r.images {
            *shapes.entry(format!("{},{},{}", i.channels, i.height, i.width)).or_default() += 1;
        }
        Self {
            name: r.name.to_string(),
            kind: "images",
            source: &r.source,
            fingerprint: r.fingerprint,
            images: r.images.len(),
            bytes: r.size,
            shape: r.shape,
            shapes,
            classes: &r.classes,
            class_counts: r.class_counts(),
            partitioned: false,
            partition: None,
        }
    }

    fn from_manifest(m: &'a ImageManifest) -> Self {
        let mut view = Self::from_record(&m.registration);
        view.partitioned = true;
        view.partition = Some(ImagePartitionView {
            version: m.version,
            fingerprint: m.fingerprint,
            algorithm: m.algorithm.clone(),
            seed: m.spec.seed,
            proportions: Split::ALL.into_iter().zip(m.spec.proportions()).collect(),
            stratified: m.spec.stratify,
            splits: m
                .splits
                .iter()
                .map(|(s, sm)| {
                    (
                        *s,
                        ImageSplitView {
                            images: sm.images,
                            class_counts: sm.class_counts.clone(),
                            image_prefix: sm.image_prefix_uri.clone(),
                            lst: sm.lst.uri.clone(),
                        },
                    )
                })
                .collect(),
            channels: m.channel_uris(),
            created_at: m.created_at.clone(),
        });
        view
    }
}

fn print_image_view(v: &ImageDatasetView<'_>) -> Result<()> {
    println!("dataset     {} (images)", v.name);
    println!("source      {} ({} images, {} bytes, {})", v.source, v.images, v.bytes, v.fingerprint);
    match &v.shape {
        Some(shape) => println!("shape       {shape} (channels,height,width)"),
        None => {
            println!(
                "shapes      {}",
                v.shapes.iter().map(|(s, n)| format!("{s}: {n}")).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let per_class: Vec<String> = v.class_counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    println!("classes     {} [{}]", v.classes.join(", "), per_class.join(", "));
    let Some(p) = &v.partition else {
        println!("partition   none yet (run `wb dataset partition {}`)", v.name);
        return Ok(());
    };
    println!("fingerprint {}", p.fingerprint);
    println!(
        "partition   version {}, {}, seed {}, {}",
        p.version,
        p.algorithm,
        p.seed,
        if p.stratified { "stratified" } else { "not stratified" }
    );
    for (split, s) in &p.splits {
        let per_class: Vec<String> = s.class_counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        let share = p.proportions.get(split).copied().unwrap_or_default();
        println!("{split:<11} {} images ({share:?}) [{}]", s.images, per_class.join(", "));
        println!("            images {}", s.image_prefix);
        println!("            lst    {}", s.lst);
    }
    println!("channels    {}", p.channels.iter().map(|(c, p)| format!("{c}={p}")).collect::<Vec<_>>().join(" "));
    Ok(())
}

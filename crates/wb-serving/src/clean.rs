//! Clean-up: remove what the project created, in an order that never strands anything.
//!
//! [`plan`] lists, without touching anything: the local server (stopped first, so data capture
//! is flushed before its prefix goes), endpoints, registered models, training jobs and their
//! outputs, captured data, monitoring baselines and reports, workflow executions and their
//! copied inputs (`workflows/<machine>/`), and partition prefixes that no dataset manifest references any more
//! (left by interrupted or superseded partition runs). With `all`, datasets and reports go too.
//! [`execute`] stops the server, then lists again (the server's last capture files included)
//! and deletes; running it again finds nothing and does nothing.
//!
//! With [`CleanOptions::keep_promoted`], the promoted model survives with everything it needs
//! to keep serving and to be audited: its registry entry and the promotion record, its
//! endpoint, training job and captured data, the dataset it was trained on, the comparison
//! report it was promoted on, and the running server.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use wb_core::{DynObjectStore, ObjectPath, ObjectStoreExt};
use wb_models::layout;
use wb_models::registry::{Promotion, Registry};

use crate::error::Result;
use crate::local;

/// What a clean-up spares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanOptions {
    /// Remove datasets and reports too.
    pub all: bool,
    /// Keep the promoted model and what it needs (see the module docs).
    pub keep_promoted: bool,
}

/// One thing to remove.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CleanItem {
    /// `server`, `endpoint`, `promotion`, `model`, `training-job`, `capture`, `monitoring`, `workflow`,
    /// `orphan-partition`, `dataset`, `report`.
    pub kind: &'static str,
    /// Its name (or prefix).
    pub name: String,
    /// The objects that make it up.
    pub objects: Vec<ObjectPath>,
}

/// What a clean-up removes, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CleanPlan {
    /// The items, in removal order.
    pub items: Vec<CleanItem>,
}

impl CleanPlan {
    /// Whether there is nothing to remove.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Objects in the plan.
    #[must_use]
    pub fn object_count(&self) -> usize {
        self.items.iter().map(|i| i.objects.len()).sum()
    }
}

/// Lists what a clean-up would remove.
///
/// # Errors
/// Store errors.
pub async fn plan(store: &DynObjectStore, all: bool) -> Result<CleanPlan> {
    plan_with(store, CleanOptions { all, keep_promoted: false }).await
}

/// Lists what a clean-up with `options` would remove.
///
/// # Errors
/// Store errors.
pub async fn plan_with(store: &DynObjectStore, options: CleanOptions) -> Result<CleanPlan> {
    let kept = if options.keep_promoted { Registry::new(store.clone()).promoted().await? } else { None };
    let mut plan = full_plan(store, options.all).await?;
    if let Some(kept) = &kept {
        plan.items.retain(|item| !spared(kept, item));
    }
    Ok(plan)
}

/// Whether `item` belongs to the promoted model.
fn spared(kept: &Promotion, item: &CleanItem) -> bool {
    let report = kept.report.as_deref().and_then(|r| r.strip_prefix("reports/"));
    match item.kind {
        "server" | "promotion" => true,
        "endpoint" | "capture" | "monitoring" => item.name == kept.endpoint.as_str(),
        "model" => item.name == kept.model.as_str(),
        "training-job" => item.name == kept.job.as_str(),
        "dataset" => item.name == kept.dataset.as_str(),
        "report" => Some(item.name.as_str()) == report,
        _ => false,
    }
}

async fn full_plan(store: &DynObjectStore, all: bool) -> Result<CleanPlan> {
    let mut items = Vec::new();
    if store.exists(&layout::local_server_record()).await? {
        items.push(CleanItem { kind: "server", name: "local".into(), objects: vec![layout::local_server_record()] });
    }
    // Endpoints before what they serve; registry entries before the jobs they name.
    items.extend(grouped(store, &layout::endpoints_root(), "endpoint", 1).await?);
    if store.exists(&layout::promotion_record()).await? {
        items.push(CleanItem { kind: "promotion", name: "promoted".into(), objects: vec![layout::promotion_record()] });
    }
    items.extend(grouped(store, &layout::registry_root(), "model", 2).await?);
    items.extend(grouped(store, &layout::training_root(), "training-job", 1).await?);
    items.extend(grouped(store, &layout::capture_root(), "capture", 1).await?);
    items.extend(grouped(store, &ObjectPath::parse("monitoring")?, "monitoring", 1).await?);
    items.extend(grouped(store, &ObjectPath::parse("workflows")?, "workflow", 1).await?);
    let datasets = ObjectPath::parse("datasets")?;
    if all {
        items.extend(grouped(store, &datasets, "dataset", 1).await?);
        items.extend(grouped(store, &ObjectPath::parse("reports")?, "report", 2).await?);
    } else {
        items.extend(orphan_partitions(store, &datasets).await?);
    }
    Ok(CleanPlan { items })
}

/// What [`execute`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CleanReport {
    /// What was removed, in order.
    pub removed: CleanPlan,
    /// Items removed.
    pub items: usize,
    /// Objects deleted.
    pub objects: usize,
    /// The local server was stopped.
    pub stopped_server: bool,
}

/// Removes what [`plan`] lists: stops the local server first (waiting up to 10 s for it to
/// flush its data capture and exit), then lists again and deletes every object. Objects
/// already gone are skipped.
///
/// # Errors
/// Store errors, or a server that does not stop.
pub async fn execute(store: &DynObjectStore, all: bool) -> Result<CleanReport> {
    execute_with(store, CleanOptions { all, keep_promoted: false }).await
}

/// Removes what [`plan_with`] lists. With `keep_promoted` and a promoted model, the server
/// keeps running (it stops serving the removed endpoints within a second).
///
/// # Errors
/// Store errors, or a server that does not stop.
pub async fn execute_with(store: &DynObjectStore, options: CleanOptions) -> Result<CleanReport> {
    let keeps_server = options.keep_promoted && Registry::new(store.clone()).promoted().await?.is_some();
    let mut report = CleanReport {
        stopped_server: !keeps_server && local::stop(store, Duration::from_secs(10)).await?.is_some(),
        ..CleanReport::default()
    };
    let mut plan = plan_with(store, options).await?;
    if report.stopped_server {
        plan.items.insert(0, CleanItem { kind: "server", name: "local".into(), objects: Vec::new() });
    }
    for item in &plan.items {
        for path in &item.objects {
            match store.delete(path).await {
                Ok(()) => report.objects += 1,
                Err(wb_core::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        report.items += 1;
        tracing::info!(kind = item.kind, name = %item.name, "removed");
    }
    report.removed = plan;
    Ok(report)
}

/// Adds `path` to the last item when it has `name` (listings are sorted, so an item's objects
/// are consecutive), or starts a new item.
fn add_to_group(items: &mut Vec<CleanItem>, kind: &'static str, name: String, path: &ObjectPath) {
    match items.last_mut() {
        Some(last) if last.name == name => last.objects.push(path.clone()),
        _ => items.push(CleanItem { kind, name, objects: vec![path.clone()] }),
    }
}

/// Lists `root` and groups objects by their path's first `depth` segments below it.
async fn grouped(
    store: &DynObjectStore,
    root: &ObjectPath,
    kind: &'static str,
    depth: usize,
) -> Result<Vec<CleanItem>> {
    let mut items: Vec<CleanItem> = Vec::new();
    let skip = root.segments().count();
    for meta in store.list(Some(root)).await? {
        let segments: Vec<&str> = meta.path.segments().skip(skip).take(depth).collect();
        let name = segments.join("/").trim_end_matches(".json").to_owned();
        add_to_group(&mut items, kind, name, &meta.path);
    }
    Ok(items)
}

/// `datasets/<name>/partitions/<pid>/` prefixes that the dataset's manifest does not use.
async fn orphan_partitions(store: &DynObjectStore, datasets: &ObjectPath) -> Result<Vec<CleanItem>> {
    let mut referenced = BTreeSet::new();
    let mut candidates: Vec<CleanItem> = Vec::new();
    let objects = store.list(Some(datasets)).await?;
    for meta in &objects {
        let segments: Vec<&str> = meta.path.segments().collect();
        if segments.len() == 3 && segments[2] == "manifest.json" {
            let (manifest, _): (wb_datasets::Manifest, _) = store.get_json(&meta.path).await?;
            for file in manifest.files() {
                let s: Vec<&str> = file.path.segments().take(4).collect();
                referenced.insert(s.join("/"));
            }
        }
    }
    for meta in &objects {
        let segments: Vec<&str> = meta.path.segments().collect();
        if segments.len() > 4 && segments[2] == "partitions" {
            let prefix = segments[..4].join("/");
            add_to_group(&mut candidates, "orphan-partition", prefix, &meta.path);
        }
    }
    candidates.retain(|c| !referenced.contains(&c.name));
    Ok(candidates)
}

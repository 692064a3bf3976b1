//! Where comparison reports live in the store, and reading and writing them.
//!
//! ```text
//! reports/compare/<id>/report.json   the Report document
//! reports/compare/<id>/report.md     the same, for people and pull requests
//! reports/compare/<id>/index.html    self-contained page with inline SVG charts
//! reports/compare/<id>/*.svg         each chart on its own
//! ```
//!
//! Every file is one atomic put; `report.json` is written last, so a report that is listed is
//! complete.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wb_core::{DynObjectStore, ObjectPath, ObjectStoreExt, PutMode};

use crate::error::{Error, Result};
use crate::report::Report;

/// `reports/compare`.
pub const REPORTS_ROOT: &str = "reports/compare";

/// The file name of the report document.
pub const REPORT_JSON: &str = "report.json";

fn path(p: String) -> Result<ObjectPath> {
    Ok(ObjectPath::parse(p)?)
}

/// `reports/compare/<id>/<file>`.
///
/// # Errors
/// [`Error::UnknownReport`] when `id` cannot be a report id (it is checked before it becomes a
/// path, so a web request cannot name another prefix).
pub fn report_file(id: &str, file: &str) -> Result<ObjectPath> {
    if !is_report_id(id) {
        return Err(Error::UnknownReport { id: id.to_owned() });
    }
    path(format!("{REPORTS_ROOT}/{id}/{file}"))
}

/// Whether `id` has the shape of a report id (letters, digits, `-`; 1–64 characters).
#[must_use]
pub fn is_report_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A new report id: the UTC time and a random suffix, so ids sort by time.
#[must_use]
pub fn new_report_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &suffix[suffix.len() - 6..])
}

/// One line of the report index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    /// The report's id.
    pub id: String,
    /// When it ran.
    pub created_at: String,
    /// The dataset.
    pub dataset: String,
    /// Models scored.
    pub models: usize,
    /// The best model and its primary metric.
    pub best: Option<(String, Option<f64>)>,
    /// The primary metric.
    pub primary_metric: String,
}

impl ReportSummary {
    /// The summary of `report`.
    #[must_use]
    pub fn of(report: &Report) -> Self {
        Self {
            id: report.id.clone(),
            created_at: report.created_at.clone(),
            dataset: report.dataset.to_string(),
            models: report.models.len(),
            best: report.best().map(|b| (b.model.to_string(), b.value)),
            primary_metric: report.primary_metric.clone(),
        }
    }
}

/// Writes `files` (name, bytes) under the report's prefix, then `report.json` last; returns
/// the report's prefix.
///
/// # Errors
/// [`Error::WriteReport`] naming the file that could not be written.
pub async fn write(store: &DynObjectStore, report: &Report, files: Vec<(String, Vec<u8>)>) -> Result<ObjectPath> {
    let write_one = |p: ObjectPath, bytes: Vec<u8>| async move {
        store
            .put_opts(&p, Bytes::from(bytes), PutMode::Overwrite)
            .await
            .map_err(|e| Error::WriteReport { path: format!("{}/{p}", store.uri()), message: e.to_string() })
    };
    for (name, bytes) in files {
        write_one(report_file(&report.id, &name)?, bytes).await?;
    }
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::WriteReport { path: REPORT_JSON.into(), message: e.to_string() })?;
    let document = report_file(&report.id, REPORT_JSON)?;
    write_one(document.clone(), json).await?;
    path(format!("{REPORTS_ROOT}/{}", report.id))
}

/// Reads one report.
///
/// # Errors
/// [`Error::UnknownReport`] when it does not exist; store errors.
pub async fn load(store: &DynObjectStore, id: &str) -> Result<Report> {
    match store.get_json::<Report>(&report_file(id, REPORT_JSON)?).await {
        Ok((report, _)) => Ok(report),
        Err(wb_core::Error::NotFound { .. }) => Err(Error::UnknownReport { id: id.to_owned() }),
        Err(e) => Err(e.into()),
    }
}

/// Reads one file of a report (`index.html`, `roc-<model>.svg`, ...).
///
/// # Errors
/// [`Error::UnknownReport`] when the report or file does not exist.
pub async fn load_file(store: &DynObjectStore, id: &str, file: &str) -> Result<Bytes> {
    if file.is_empty()
        || !file.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        || file.starts_with('.')
    {
        return Err(Error::UnknownReport { id: format!("{id}/{file}") });
    }
    match store.get(&report_file(id, file)?).await {
        Ok(got) => Ok(got.bytes),
        Err(wb_core::Error::NotFound { .. }) => Err(Error::UnknownReport { id: format!("{id}/{file}") }),
        Err(e) => Err(e.into()),
    }
}

/// Every complete report, newest first.
///
/// # Errors
/// Store errors; a report document that does not parse.
pub async fn list(store: &DynObjectStore) -> Result<Vec<ReportSummary>> {
    let root = path(REPORTS_ROOT.into())?;
    let mut ids: Vec<String> = store
        .list(Some(&root))
        .await?
        .into_iter()
        .filter_map(|meta| {
            let segments: Vec<&str> = meta.path.segments().collect();
            (segments.len() == 4 && segments[3] == REPORT_JSON).then(|| segments[2].to_owned())
        })
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(ReportSummary::of(&load(store, &id).await?));
    }
    Ok(out)
}

/// The newest report that scored `model`.
///
/// # Errors
/// Store errors.
pub async fn latest_with(store: &DynObjectStore, model: &str) -> Result<Option<Report>> {
    for summary in list(store).await? {
        let report = load(store, &summary.id).await?;
        if report.model(model).is_some() {
            return Ok(Some(report));
        }
    }
    Ok(None)
}

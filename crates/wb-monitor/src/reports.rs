//! Where monitoring baselines and reports live in the store, and writing, listing and reading
//! reports.
//!
//! ```text
//! monitoring/<endpoint>/baseline/statistics.json           the baseline (Model Monitor format)
//! monitoring/<endpoint>/baseline/constraints.json
//! monitoring/<endpoint>/reports/<id>/statistics.json        the window's statistics
//! monitoring/<endpoint>/reports/<id>/constraint_violations.json
//! monitoring/<endpoint>/reports/<id>/baseline_statistics.json  the baseline the run compared with
//! monitoring/<endpoint>/reports/<id>/report.md
//! monitoring/<endpoint>/reports/<id>/index.html             self-contained, charts inline
//! monitoring/<endpoint>/reports/<id>/*.svg                  each chart on its own
//! monitoring/<endpoint>/reports/<id>/report.json            the MonitoringReport, written last
//! ```
//!
//! Every file is one atomic put and `report.json` is written last, so a listed report is
//! complete. The baseline statistics are copied into the report directory because the
//! per-feature charts need them and the endpoint's baseline may be replaced later.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use wb_core::{DynObjectStore, ObjectPath, ObjectStoreExt, PutMode};

use crate::error::{Error, Result};
use crate::render;
use crate::report::{MonitoringReport, ReadCounts};
use crate::statistics::Statistics;

/// `monitoring`.
pub const MONITORING_ROOT: &str = "monitoring";

/// The report document.
pub const REPORT_JSON: &str = "report.json";

/// The window's statistics (Model Monitor format).
pub const STATISTICS_JSON: &str = "statistics.json";

/// The baseline's constraints (Model Monitor format).
pub const CONSTRAINTS_JSON: &str = "constraints.json";

/// The violations (Model Monitor format, the SDK's spelling).
pub const CONSTRAINT_VIOLATIONS_JSON: &str = "constraint_violations.json";

/// The copy of the baseline statistics a report was compared with.
pub const BASELINE_STATISTICS_JSON: &str = "baseline_statistics.json";

/// Whether `name` can be an endpoint name or report id in a store path: 1–64 ASCII letters,
/// digits and `-` (SageMaker endpoint names and report ids fit; `..` and `/` do not).
#[must_use]
pub fn is_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn check_endpoint(endpoint: &str) -> Result<()> {
    if is_name(endpoint) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!("{endpoint:?} cannot be an endpoint name (1–64 letters, digits and '-')")))
    }
}

fn path(p: String) -> Result<ObjectPath> {
    Ok(ObjectPath::parse(p)?)
}

/// The baseline's record of its columns and source ([`crate::monitor::BaselineSource`]).
pub const BASELINE_SCHEMA_JSON: &str = "schema.json";

/// `monitoring/<endpoint>/baseline`: where the endpoint's baseline files are.
///
/// # Errors
/// [`Error::InvalidInput`] when `endpoint` cannot be an endpoint name.
pub fn baseline_prefix(endpoint: &str) -> Result<ObjectPath> {
    check_endpoint(endpoint)?;
    path(format!("{MONITORING_ROOT}/{endpoint}/baseline"))
}

/// `monitoring/<endpoint>/baseline/<file>` (`file`: [`STATISTICS_JSON`], [`CONSTRAINTS_JSON`]
/// or [`BASELINE_SCHEMA_JSON`]).
///
/// # Errors
/// [`Error::InvalidInput`] when `endpoint` cannot be an endpoint name.
pub fn baseline_file(endpoint: &str, file: &str) -> Result<ObjectPath> {
    Ok(baseline_prefix(endpoint)?.join(file)?)
}

/// `monitoring/<endpoint>/baseline/statistics.json`: the endpoint's baseline statistics.
///
/// # Errors
/// [`Error::InvalidInput`] when `endpoint` cannot be an endpoint name.
pub fn baseline_statistics_path(endpoint: &str) -> Result<ObjectPath> {
    baseline_file(endpoint, STATISTICS_JSON)
}

/// `monitoring/<endpoint>/baseline/constraints.json`: the endpoint's baseline constraints.
///
/// # Errors
/// [`Error::InvalidInput`] when `endpoint` cannot be an endpoint name.
pub fn baseline_constraints_path(endpoint: &str) -> Result<ObjectPath> {
    baseline_file(endpoint, CONSTRAINTS_JSON)
}

/// `monitoring/<endpoint>/reports/<id>`: the directory of one report.
///
/// # Errors
/// [`Error::UnknownReport`] when `endpoint` or `id` cannot be a name (checked before they
/// become a path, so a request cannot name another prefix).
pub fn report_prefix(endpoint: &str, id: &str) -> Result<ObjectPath> {
    if !is_name(endpoint) || !is_name(id) {
        return Err(Error::UnknownReport { endpoint: endpoint.to_owned(), id: id.to_owned() });
    }
    path(format!("{MONITORING_ROOT}/{endpoint}/reports/{id}"))
}

/// `monitoring/<endpoint>/reports/<id>/<file>`.
///
/// # Errors
/// As [`report_prefix`]; [`Error::UnknownReport`] also when `file` is not a plain file name
/// (letters, digits, `-`, `_`, `.`, not starting with `.`).
pub fn report_file(endpoint: &str, id: &str, file: &str) -> Result<ObjectPath> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !plain {
        return Err(Error::UnknownReport { endpoint: endpoint.to_owned(), id: format!("{id}/{file}") });
    }
    path(format!("{}/{file}", report_prefix(endpoint, id)?))
}

/// One line of the list of reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringReportSummary {
    /// The endpoint.
    pub endpoint: String,
    /// The report id.
    pub id: String,
    /// When the run was made.
    pub created: DateTime<Utc>,
    /// What was read.
    pub counts: ReadCounts,
    /// Number of violations.
    pub violations: usize,
    /// Number of drifted columns.
    pub drifted: usize,
}

impl MonitoringReportSummary {
    /// The summary of `report`.
    #[must_use]
    pub fn of(report: &MonitoringReport) -> Self {
        Self {
            endpoint: report.endpoint.clone(),
            id: report.id.clone(),
            created: report.created,
            counts: report.counts.clone(),
            violations: report.violations.violations.len(),
            drifted: report.drift.iter().filter(|d| d.drifted).count(),
        }
    }
}

fn to_json<T: Serialize>(file: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::BadDocument {
        document: file.to_owned(),
        field: String::new(),
        message: e.to_string(),
    })
}

/// The files of a report, in writing order: `statistics.json`, `constraint_violations.json`
/// (Model Monitor's formats), `baseline_statistics.json` (when the report carries its
/// baseline), `report.md`, `index.html`, the charts' SVGs and `report.json` last.
///
/// # Errors
/// A document that cannot be serialized.
pub fn files(report: &MonitoringReport) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (STATISTICS_JSON.into(), to_json(STATISTICS_JSON, &report.statistics)?),
        (CONSTRAINT_VIOLATIONS_JSON.into(), to_json(CONSTRAINT_VIOLATIONS_JSON, &report.violations)?),
    ];
    if let Some(baseline) = &report.baseline {
        files.push((BASELINE_STATISTICS_JSON.into(), to_json(BASELINE_STATISTICS_JSON, baseline)?));
    }
    files.extend(render::files(report));
    files.push((REPORT_JSON.into(), to_json(REPORT_JSON, report)?));
    Ok(files)
}

/// Writes `report` under `monitoring/<endpoint>/reports/<id>/` ([`files`]), each file as one
/// atomic put, `report.json` last (a report is listed once it is complete; an existing report
/// of the same id is overwritten). Returns the prefix.
///
/// # Errors
/// [`Error::UnknownReport`] when the endpoint or id cannot be a path name; store errors.
pub async fn write(store: &DynObjectStore, report: &MonitoringReport) -> Result<ObjectPath> {
    let prefix = report_prefix(&report.endpoint, &report.id)?;
    for (name, bytes) in files(report)? {
        let p = report_file(&report.endpoint, &report.id, &name)?;
        store.put_opts(&p, Bytes::from(bytes), PutMode::Overwrite).await?;
        tracing::debug!(path = %p, "wrote monitoring report file");
    }
    tracing::info!(endpoint = %report.endpoint, id = %report.id, prefix = %prefix, "wrote monitoring report");
    Ok(prefix)
}

/// Reads one report, with the baseline statistics it was compared with when they were stored.
///
/// # Errors
/// [`Error::UnknownReport`] when there is no such report; store errors; a document that does
/// not parse.
pub async fn read(store: &DynObjectStore, endpoint: &str, id: &str) -> Result<MonitoringReport> {
    let mut report: MonitoringReport = match store.get_json(&report_file(endpoint, id, REPORT_JSON)?).await {
        Ok((report, _)) => report,
        Err(wb_core::Error::NotFound { .. }) => {
            return Err(Error::UnknownReport { endpoint: endpoint.to_owned(), id: id.to_owned() });
        }
        Err(e) => return Err(e.into()),
    };
    report.baseline = match store.get_json::<Statistics>(&report_file(endpoint, id, BASELINE_STATISTICS_JSON)?).await {
        Ok((stats, _)) => Some(stats),
        Err(wb_core::Error::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(report)
}

/// Every complete report of every endpoint, newest first (then by endpoint).
///
/// # Errors
/// Store errors; a `report.json` that does not parse.
pub async fn list(store: &DynObjectStore) -> Result<Vec<MonitoringReportSummary>> {
    let root = path(MONITORING_ROOT.into())?;
    let mut found: Vec<(String, String)> = store
        .list(Some(&root))
        .await?
        .into_iter()
        .filter_map(|meta| {
            let s: Vec<&str> = meta.path.segments().collect();
            (s.len() == 5 && s[2] == "reports" && s[4] == REPORT_JSON && is_name(s[1]) && is_name(s[3]))
                .then(|| (s[1].to_owned(), s[3].to_owned()))
        })
        .collect();
    found.sort();
    let mut out = Vec::with_capacity(found.len());
    for (endpoint, id) in found {
        let (report, _) = store.get_json::<MonitoringReport>(&report_file(&endpoint, &id, REPORT_JSON)?).await?;
        out.push(MonitoringReportSummary::of(&report));
    }
    out.sort_by(|a, b| {
        b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)).then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    Ok(out)
}

//! `wb compare serve`: every comparison report and every monitoring report in a store, as a
//! small web app.
//!
//! | Route | Page |
//! | --- | --- |
//! | `GET /` | the newest report's leaderboard, the list of all reports and the list of monitoring reports |
//! | `GET /reports/{id}` | one report: warnings, failures, leaderboard, curves, models |
//! | `GET /reports/{id}/models/{model}` | one model: metrics, curves, confusion, thresholds, ... |
//! | `GET /reports/{id}/pairs` | the models × models matrix of paired tests |
//! | `GET /reports/{id}/files/{file}` | the stored files (`report.json`, `index.html`, SVGs, ...) |
//! | `GET /api/reports` | JSON list of [`ReportSummary`] |
//! | `GET /api/reports/{id}` | one [`Report`] as JSON |
//! | `GET /monitoring/{endpoint}/{id}/` | a monitoring report's stored `index.html` (also without the `/`) |
//! | `GET /monitoring/{endpoint}/{id}/files/{file}` | its stored files (`report.json`, `report.md`, `statistics.json`, SVGs, ...) |
//! | `GET /api/monitoring` | JSON list of [`MonitoringSummary`] |
//!
//! Monitoring reports are written by `wb-monitor` under
//! `monitoring/<endpoint>/reports/<id>/`; this crate does not depend on it and reads their
//! `report.json` generically (a few fields for the list) and serves the stored files as they
//! are — the stored `index.html` is self-contained, its charts inline.
//!
//! Pages are built from the same fragments as `index.html` ([`crate::render`]), need no
//! JavaScript and load nothing from elsewhere; a Content-Security-Policy forbids scripts and
//! foreign resources. Unknown reports and models answer 404 with a page naming what was not
//! found; store errors answer 500 with the error.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use wb_core::DynObjectStore;
use wb_core::{ObjectPath, ObjectStoreExt as _};

use crate::error::{Error, Result};
use crate::render::{self, Links};
use crate::report::Report;
use crate::reports::{self, ReportSummary};

/// Scripts, frames, forms and foreign resources are all refused; styles are inline.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The web app over every report in `store`.
pub fn router(store: DynObjectStore) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/reports/{id}", get(report_page))
        .route("/reports/{id}/models/{model}", get(model_page))
        .route("/reports/{id}/pairs", get(pairs_page))
        .route("/reports/{id}/files/{file}", get(report_file))
        .route("/api/reports", get(api_list))
        .route("/api/reports/{id}", get(api_report))
        .route("/monitoring/{endpoint}/{id}", get(monitoring_page))
        .route("/monitoring/{endpoint}/{id}/", get(monitoring_page))
        .route("/monitoring/{endpoint}/{id}/files/{file}", get(monitoring_file))
        .route("/api/monitoring", get(api_monitoring))
        .fallback(fallback)
        .with_state(store)
}

/// Serves [`router`] on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
///
/// # Errors
/// [`Error::Server`] when the socket fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: DynObjectStore,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, store = %store.uri(), "serving comparison reports");
    }
    axum::serve(listener, router(store))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Server { message: e.to_string() })
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A page that could not be shown.
enum PageError {
    /// 404 with what was not found.
    NotFound(String),
    /// 500 with the error.
    Internal(String),
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        match e {
            Error::UnknownReport { id } => {
                Self::NotFound(format!("There is no comparison report {id:?} in this store."))
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn html_page(status: StatusCode, markup: Markup) -> Response {
    with_security_headers((status, Html(markup.into_string())).into_response())
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            Self::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "The report store could not be read", m),
        };
        let body = html! {
            section.card.error {
                h2 { (status.as_u16()) " — " (heading) }
                p.message { (message) }
                p { a href="/" { "← All reports" } }
            }
        };
        html_page(status, render::page(&format!("{heading} · wb compare"), nav(None), body))
    }
}

/// An API error: `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = if matches!(e, Error::UnknownReport { .. }) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        Self(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

type Page = std::result::Result<Response, PageError>;

// ---------------------------------------------------------------------------------------------
// Fragments

/// The header every page shares; `report` adds the report's own links.
fn nav(report: Option<&Report>) -> Markup {
    html! {
        nav.top {
            a.brand href="/" { "wb compare" }
            a href="/" { "Reports" }
            @if let Some(r) = report {
                span.crumb { "›" }
                a href={ "/reports/" (r.id) } { (r.dataset.as_str()) " · " (r.created_at) }
                a href={ "/reports/" (r.id) "/pairs" } { "Pairs" }
                a href={ "/reports/" (r.id) "/files/index.html" } { "index.html" }
                a href={ "/reports/" (r.id) "/files/report.md" } { "report.md" }
                a href={ "/api/reports/" (r.id) } { "JSON" }
            }
        }
    }
}

fn models_list(report: &Report) -> Markup {
    let links = Links::Web { id: &report.id };
    html! {
        section.card #models {
            h2 { "Models" }
            div.table-wrap { table.models {
                thead { tr { th { "Model" } th { "Algorithm" } th { "Backend" } th { "Description" } } }
                tbody { @for m in &report.models {
                    tr {
                        td.model {
                            span.swatch style={ "background:" (render::colour(report, m.model.as_str())) } {}
                            a href=(links.model(m.model.as_str())) { (m.model.as_str()) }
                            @if m.foreign { span.badge.foreign { "foreign" } }
                        }
                        td { (m.algorithm) }
                        td { (m.backend) }
                        td.wrap.description { (m.description) }
                    }
                } }
            } }
            @if report.models.len() > 1 {
                p { a.pairs-link href={ "/reports/" (report.id) "/pairs" } { "Pairwise comparisons of all " (report.models.len()) " models →" } }
            }
        }
    }
}

fn reports_table(summaries: &[ReportSummary]) -> Markup {
    html! {
        section.card #reports {
            h2 { "All reports (" (summaries.len()) ")" }
            div.table-wrap { table.reports {
                thead { tr {
                    th { "Created" } th { "Dataset" } th.num { "Models" } th { "Best model" } th.num { "Primary metric" } th { "Report" } th { "Files" }
                } }
                tbody { @for s in summaries {
                    tr {
                        td { (s.created_at) }
                        td { (s.dataset) }
                        td.num { (s.models) }
                        td.model { @if let Some((model, _)) = &s.best {
                            a href={ "/reports/" (s.id) "/models/" (model) } { (model) }
                        } @else { "—" } }
                        td.num { (render::metric_label(&s.primary_metric)) " " (render::opt(s.best.as_ref().and_then(|b| b.1))) }
                        td { a.report-link href={ "/reports/" (s.id) } { code { (s.id) } } }
                        td {
                            a href={ "/reports/" (s.id) "/pairs" } { "pairs" } " · "
                            a href={ "/reports/" (s.id) "/files/index.html" } { "html" } " · "
                            a href={ "/reports/" (s.id) "/files/report.md" } { "md" } " · "
                            a href={ "/api/reports/" (s.id) } { "json" }
                        }
                    }
                } }
            } }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn index(State(store): State<DynObjectStore>) -> Page {
    let summaries = reports::list(&store).await?;
    let Some(newest) = summaries.first() else {
        let monitoring = monitoring_reports(&store).await?;
        let body = html! {
            section.card {
                h2 { "No comparison reports yet" }
                p { "Run " code { "wb compare" } " to score every registered model on its dataset's test split; its report appears here." }
                p.note { "Store: " code { (store.uri().to_string()) } }
            }
            (monitoring_table(&monitoring))
        };
        return Ok(html_page(StatusCode::OK, render::page("Reports · wb compare", nav(None), body)));
    };
    let report = reports::load(&store, &newest.id).await?;
    let monitoring = monitoring_reports(&store).await?;
    let body = html! {
        header.title {
            h1 { "Comparison reports" }
            p { "Newest: " a href={ "/reports/" (report.id) } { (report.dataset.as_str()) ", " (report.created_at) }
                " · store " code { (store.uri().to_string()) } }
        }
        (render::warnings(&report))
        (render::leaderboard(&report, Links::Web { id: &report.id }, None))
        (reports_table(&summaries))
        (monitoring_table(&monitoring))
    };
    Ok(html_page(StatusCode::OK, render::page("Reports · wb compare", nav(None), body)))
}

async fn report_page(State(store): State<DynObjectStore>, Path(id): Path<String>) -> Page {
    let report = reports::load(&store, &id).await?;
    let charts = render::Charts::of(&report);
    let body = html! {
        (render::warnings(&report))
        (render::header(&report))
        (render::failures(&report))
        (render::leaderboard(&report, Links::Web { id: &report.id }, charts.leaderboard.as_deref()))
        (models_list(&report))
        (render::curves("Curves", &charts.curves))
        (render::timings(&report))
    };
    let title = format!("{} · {} · wb compare", report.dataset, report.id);
    Ok(html_page(StatusCode::OK, render::page(&title, nav(Some(&report)), body)))
}

async fn model_page(State(store): State<DynObjectStore>, Path((id, model)): Path<(String, String)>) -> Page {
    let report = reports::load(&store, &id).await?;
    let Some(m) = report.model(&model) else {
        let failed = report.failures.iter().find(|f| f.model.as_str() == model);
        return Err(PageError::NotFound(match failed {
            Some(f) => format!("Model {model:?} was not scored in report {id}: {}", f.error),
            None => format!("There is no model {model:?} in report {id}."),
        }));
    };
    let curves = render::curve_charts(&report, &[m]);
    let importance = render::importance_chart(&report, m);
    let body = html! {
        (render::warnings(&report))
        p.crumbs { a href="/" { "Reports" } " › " a href={ "/reports/" (report.id) } { (report.dataset.as_str()) " · " code { (report.id) } }
            " › " (m.model.as_str()) }
        (render::model_detail(&report, m, Some(&curves), importance.as_deref(), &format!("/reports/{}/files/", report.id)))
    };
    let title = format!("{} · {} · wb compare", m.model, report.id);
    Ok(html_page(StatusCode::OK, render::page(&title, nav(Some(&report)), body)))
}

async fn pairs_page(State(store): State<DynObjectStore>, Path(id): Path<String>) -> Page {
    let report = reports::load(&store, &id).await?;
    let links = Links::Web { id: &report.id };
    let body = html! {
        (render::warnings(&report))
        header.title {
            h1 { "Pairwise comparisons" }
            p { (report.dataset.as_str()) " · report " a href={ "/reports/" (report.id) } { code { (report.id) } } }
        }
        @if report.models.is_empty() {
            section.card { p.empty { "No model was scored." } }
        } @else {
            (render::pair_matrix(&report, links))
            (render::pairwise_table(&report, links))
        }
    };
    let title = format!("Pairs · {} · wb compare", report.id);
    Ok(html_page(StatusCode::OK, render::page(&title, nav(Some(&report)), body)))
}

/// The content type of a report file, by extension.
fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

async fn report_file(State(store): State<DynObjectStore>, Path((id, file)): Path<(String, String)>) -> Page {
    let bytes = reports::load_file(&store, &id, &file).await.map_err(|e| match e {
        Error::UnknownReport { .. } => PageError::NotFound(format!("Report {id:?} has no file {file:?}.")),
        other => PageError::from(other),
    })?;
    let response = ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response();
    Ok(with_security_headers(response))
}

async fn api_list(State(store): State<DynObjectStore>) -> std::result::Result<Response, ApiError> {
    Ok(axum::Json(reports::list(&store).await?).into_response())
}

async fn api_report(
    State(store): State<DynObjectStore>,
    Path(id): Path<String>,
) -> std::result::Result<Response, ApiError> {
    Ok(axum::Json(reports::load(&store, &id).await?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Monitoring reports

/// `monitoring`: where `wb-monitor` keeps baselines and reports.
const MONITORING_ROOT: &str = "monitoring";

/// One monitoring report in the list, read from its `report.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringSummary {
    /// The endpoint.
    pub endpoint: String,
    /// The report id (the run's time).
    pub id: String,
    /// When the run was made (RFC 3339).
    pub created: String,
    /// Capture records read.
    pub records: u64,
    /// Records decoded.
    pub decoded: u64,
    /// Records skipped as malformed.
    pub skipped: u64,
    /// Constraint violations.
    pub violations: usize,
    /// Columns that drifted.
    pub drifted: usize,
}

impl MonitoringSummary {
    /// The summary of a `report.json` found at `monitoring/<endpoint>/reports/<id>/`.
    fn of(endpoint: &str, id: &str, doc: &serde_json::Value) -> Self {
        let counts = &doc["counts"];
        let n = |key: &str| counts[key].as_u64().unwrap_or(0);
        Self {
            endpoint: doc["endpoint"].as_str().unwrap_or(endpoint).to_owned(),
            id: doc["id"].as_str().unwrap_or(id).to_owned(),
            created: doc["created"].as_str().unwrap_or("").to_owned(),
            records: n("records"),
            decoded: n("decoded"),
            skipped: n("skipped"),
            violations: doc["violations"]["violations"].as_array().map_or(0, Vec::len),
            drifted: doc["drift"]
                .as_array()
                .map_or(0, |rows| rows.iter().filter(|r| r["drifted"].as_bool() == Some(true)).count()),
        }
    }
}

/// Whether `name` can be an endpoint name, report id or stored file name in a path: ASCII
/// letters, digits, `-`, `_` and `.`, 1–128 characters, not starting with `.`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// `monitoring/<endpoint>/reports/<id>/<file>`, or `None` when a part is not a plain name.
fn monitoring_path(endpoint: &str, id: &str, file: &str) -> Option<ObjectPath> {
    if ![endpoint, id, file].iter().all(|n| is_plain_name(n)) {
        return None;
    }
    ObjectPath::parse(format!("{MONITORING_ROOT}/{endpoint}/reports/{id}/{file}")).ok()
}

/// Every monitoring report whose `report.json` is stored, newest first. A `report.json` that
/// does not parse is left out with a warning, so one broken run does not hide the others.
async fn monitoring_reports(store: &DynObjectStore) -> Result<Vec<MonitoringSummary>> {
    let root = ObjectPath::parse(MONITORING_ROOT)?;
    let mut found: Vec<(String, String, ObjectPath)> = store
        .list(Some(&root))
        .await?
        .into_iter()
        .filter_map(|meta| {
            let s: Vec<&str> = meta.path.segments().collect();
            (s.len() == 5 && s[2] == "reports" && s[4] == "report.json" && is_plain_name(s[1]) && is_plain_name(s[3]))
                .then(|| (s[1].to_owned(), s[3].to_owned(), meta.path.clone()))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut out = Vec::with_capacity(found.len());
    for (endpoint, id, path) in found {
        match store.get_json::<serde_json::Value>(&path).await {
            Ok((doc, _)) => out.push(MonitoringSummary::of(&endpoint, &id, &doc)),
            Err(e) => tracing::warn!(%path, error = %e, "monitoring report left out of the list"),
        }
    }
    out.sort_by(|a, b| {
        b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)).then_with(|| a.endpoint.cmp(&b.endpoint))
    });
    Ok(out)
}

fn monitoring_table(summaries: &[MonitoringSummary]) -> Markup {
    html! {
        section.card #monitoring {
            h2 { "Monitoring reports (" (summaries.len()) ")" }
            @if summaries.is_empty() {
                p.empty { "No monitoring reports yet. Run " code { "wb monitor" } " on an endpoint with data capture; its reports appear here." }
            } @else {
                div.table-wrap { table.monitoring {
                    thead { tr {
                        th { "Created" } th { "Endpoint" } th.num { "Records" } th.num { "Skipped" } th.num { "Violations" } th.num { "Drifted" } th { "Report" } th { "Files" }
                    } }
                    tbody { @for s in summaries {
                        @let base = format!("/monitoring/{}/{}", s.endpoint, s.id);
                        tr {
                            td { (s.created) }
                            td.endpoint { (s.endpoint) }
                            td.num { (render::count(s.records)) }
                            td.num { (render::count(s.skipped)) }
                            td.num.violations {
                                @if s.violations > 0 { span.badge.worse { (s.violations) } } @else { span.badge.same { "0" } }
                            }
                            td.num { (s.drifted) }
                            td { a.monitoring-link href={ (base) "/" } { code { (s.id) } } }
                            td {
                                a href={ (base) "/files/report.md" } { "md" } " · "
                                a href={ (base) "/files/report.json" } { "json" } " · "
                                a href={ (base) "/files/constraint_violations.json" } { "violations" } " · "
                                a href={ (base) "/files/statistics.json" } { "statistics" }
                            }
                        }
                    } }
                } }
            }
        }
    }
}

/// Reads a stored file of a monitoring report; 404 naming the report or file when missing.
async fn monitoring_bytes(
    store: &DynObjectStore,
    endpoint: &str,
    id: &str,
    file: &str,
) -> std::result::Result<bytes::Bytes, PageError> {
    let not_found = || {
        PageError::NotFound(format!(
            "Monitoring report {id:?} of endpoint {endpoint:?} has no file {file:?} in this store."
        ))
    };
    let Some(path) = monitoring_path(endpoint, id, file) else { return Err(not_found()) };
    match store.get(&path).await {
        Ok(got) => Ok(got.bytes),
        Err(wb_core::Error::NotFound { .. }) => {
            // Say whether the report itself is missing or only the file.
            let report = monitoring_path(endpoint, id, "report.json");
            match report {
                Some(p) if file != "report.json" && store.exists(&p).await.unwrap_or(false) => Err(not_found()),
                _ => Err(PageError::NotFound(format!(
                    "There is no monitoring report {id:?} for endpoint {endpoint:?} in this store."
                ))),
            }
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}

async fn monitoring_page(State(store): State<DynObjectStore>, Path((endpoint, id)): Path<(String, String)>) -> Page {
    let bytes = monitoring_bytes(&store, &endpoint, &id, "index.html").await?;
    let response = ([(header::CONTENT_TYPE, content_type("index.html"))], bytes).into_response();
    Ok(with_security_headers(response))
}

async fn monitoring_file(
    State(store): State<DynObjectStore>,
    Path((endpoint, id, file)): Path<(String, String, String)>,
) -> Page {
    let bytes = monitoring_bytes(&store, &endpoint, &id, &file).await?;
    let response = ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response();
    Ok(with_security_headers(response))
}

async fn api_monitoring(State(store): State<DynObjectStore>) -> std::result::Result<Response, ApiError> {
    Ok(axum::Json(monitoring_reports(&store).await?).into_response())
}

async fn fallback(uri: axum::http::Uri) -> Response {
    PageError::NotFound(format!("There is no page at {}.", uri.path())).into_response()
}

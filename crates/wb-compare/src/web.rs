//! `wb compare serve`: every comparison report in a store, as a small web app.
//!
//! | Route | Page |
//! | --- | --- |
//! | `GET /` | the newest report's leaderboard and the list of all reports |
//! | `GET /reports/{id}` | one report: warnings, failures, leaderboard, curves, models |
//! | `GET /reports/{id}/models/{model}` | one model: metrics, curves, confusion, thresholds, ... |
//! | `GET /reports/{id}/pairs` | the models × models matrix of paired tests |
//! | `GET /reports/{id}/files/{file}` | the stored files (`report.json`, `index.html`, SVGs, ...) |
//! | `GET /api/reports` | JSON list of [`ReportSummary`] |
//! | `GET /api/reports/{id}` | one [`Report`] as JSON |
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
use wb_core::DynObjectStore;

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
        let body = html! {
            section.card {
                h2 { "No comparison reports yet" }
                p { "Run " code { "wb compare" } " to score every registered model on its dataset's test split; its report appears here." }
                p.note { "Store: " code { (store.uri().to_string()) } }
            }
        };
        return Ok(html_page(StatusCode::OK, render::page("Reports · wb compare", nav(None), body)));
    };
    let report = reports::load(&store, &newest.id).await?;
    let body = html! {
        header.title {
            h1 { "Comparison reports" }
            p { "Newest: " a href={ "/reports/" (report.id) } { (report.dataset.as_str()) ", " (report.created_at) }
                " · store " code { (store.uri().to_string()) } }
        }
        (render::warnings(&report))
        (render::leaderboard(&report, Links::Web { id: &report.id }, None))
        (reports_table(&summaries))
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

async fn fallback(uri: axum::http::Uri) -> Response {
    PageError::NotFound(format!("There is no page at {}.", uri.path())).into_response()
}

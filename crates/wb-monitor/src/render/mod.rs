//! Rendering a [`MonitoringReport`] for people: `report.md`, a self-contained `index.html` and
//! one SVG file per chart.
//!
//! - [`markdown`]: the summary for terminals and pull requests — endpoint, window, what was
//!   read, problems, violations, every drift distance, confidence per hour;
//! - [`html()`]: one page with inline CSS and the charts as inline SVG, no scripts and nothing
//!   loaded from elsewhere, so it opens from a directory, a download or `wb compare serve`;
//! - [`charts`]: the SVG charts, also written next to `index.html` by
//!   [`crate::reports::write`].
//!
//! The charts read only what Model Monitor's own files hold — the statistics' KLL and
//! categorical buckets and the violations — plus the report's hourly confidence, so statistics
//! written by SageMaker's analyzer render the same way. Every string from the data (feature
//! names, categories, problem messages) is escaped: HTML through maud, SVG and Markdown here.
//! The same report always renders to the same bytes.

use std::fmt::Write as _;

use crate::drift::DriftKind;
use crate::report::{ConfidenceSummary, MonitoringReport};
use crate::statistics::{FeatureStatistics, Statistics};
use crate::violations::CheckType;
pub(crate) use wb_core::text::format_count as count;
pub(crate) use wb_core::text::format_number as num;
pub(crate) use wb_core::text::format_optional as opt;
pub(crate) use wb_core::text::format_p_value as pval;

mod html;
mod markdown;
mod svg;

pub use html::html;
pub use markdown::markdown;

/// The reference project's chart of captured inferences ("Observed Recent Inferences"): one
/// point per inference at its time and highest class probability, red below `threshold`, the
/// threshold as a dashed line. `points` come from [`crate::capture::CaptureReader::confidences`].
#[must_use]
pub fn observed_inferences_svg(points: &[(chrono::DateTime<chrono::Utc>, f64)], threshold: f64) -> String {
    svg::observed_inferences("Observed recent inferences", points, threshold)
}

/// The file name of the Markdown report.
pub const REPORT_MD: &str = "report.md";

/// The file name of the HTML report.
pub const INDEX_HTML: &str = "index.html";

/// The file name of the confidence-per-hour chart.
pub const CONFIDENCE_OVER_TIME_SVG: &str = "confidence-over-time.svg";

/// The file name of the confidence histogram chart.
pub const CONFIDENCE_HISTOGRAM_SVG: &str = "confidence-histogram.svg";

/// Number of categories a categorical chart shows; the rest are summed as "(other)".
const MAX_CATEGORIES: usize = 12;

/// One chart of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    /// Its file name next to `index.html` (`confidence-over-time.svg`, `feature-<name>.svg`).
    pub file: String,
    /// Its title (also the SVG's `<title>`).
    pub title: String,
    /// The feature it shows, for per-feature charts.
    pub feature: Option<String>,
    /// The SVG document.
    pub svg: String,
}

/// Every chart `report` has data for, in page order: confidence over time, the confidence
/// histogram, then one distribution chart per drifted feature.
#[must_use]
pub fn charts(report: &MonitoringReport) -> Vec<Chart> {
    let mut out = Vec::new();
    if let Some(c) = &report.confidence {
        out.extend(confidence_charts(c));
    }
    let mut used: Vec<String> = out.iter().map(|c| c.file.clone()).collect();
    for feature in drifted_features(report) {
        let Some(window) = find(&report.statistics, &feature) else { continue };
        let baseline = report.baseline.as_ref().and_then(|b| find(b, &feature));
        let Some(svg) = feature_chart(&feature, baseline, window) else { continue };
        let file = unique_file(&feature, &used);
        used.push(file.clone());
        out.push(Chart { file, title: feature_title(&feature), feature: Some(feature), svg });
    }
    out
}

/// Everything rendered from `report`, as (file name, bytes): `report.md`, `index.html` and the
/// charts' SVG files.
#[must_use]
pub fn files(report: &MonitoringReport) -> Vec<(String, Vec<u8>)> {
    let charts = charts(report);
    let mut out = vec![
        (REPORT_MD.to_owned(), markdown::markdown_with(report, &charts).into_bytes()),
        (INDEX_HTML.to_owned(), html::html_with(report, &charts).into_bytes()),
    ];
    out.extend(charts.into_iter().map(|c| (c.file, c.svg.into_bytes())));
    out
}

/// Whether the report's window held no record at all.
#[must_use]
pub fn is_empty_window(report: &MonitoringReport) -> bool {
    report.counts.records == 0 && report.statistics.dataset.item_count == 0
}

fn confidence_charts(c: &ConfidenceSummary) -> Vec<Chart> {
    let mut out = Vec::new();
    if !c.hourly.is_empty() {
        let hours: Vec<svg::Hour> = c
            .hourly
            .iter()
            .map(|h| svg::Hour {
                start: h.hour,
                predictions: h.predictions,
                low: h.low_confidence,
                mean: h.mean_confidence,
                min: h.min_confidence,
            })
            .collect();
        let title = "Confidence per hour".to_owned();
        out.push(Chart {
            file: CONFIDENCE_OVER_TIME_SVG.into(),
            svg: svg::confidence_over_time(&title, &hours, c.threshold),
            title,
            feature: None,
        });
    }
    let bins = |h: &[u64]| -> Vec<(f64, f64, f64)> {
        let n = h.len() as f64;
        h.iter().enumerate().map(|(i, &v)| (i as f64 / n, (i + 1) as f64 / n, v as f64)).collect()
    };
    let mut series = Vec::new();
    if c.baseline_histogram.iter().any(|&v| v > 0) {
        series.push(svg::Binned { name: "baseline", colour: svg::BASELINE, bins: bins(&c.baseline_histogram) });
    }
    if c.window_histogram.iter().any(|&v| v > 0) {
        series.push(svg::Binned { name: "window", colour: svg::WINDOW, bins: bins(&c.window_histogram) });
    }
    if !series.is_empty() {
        let title = "Confidence: baseline vs window".to_owned();
        out.push(Chart {
            file: CONFIDENCE_HISTOGRAM_SVG.into(),
            svg: svg::densities(&title, "confidence", &series),
            title,
            feature: None,
        });
    }
    out
}

/// The features to draw: drifted per the drift rows, then any other feature with a
/// `baseline_drift_check` violation (violations written by SageMaker's analyzer), each once.
#[must_use]
pub fn drifted_features(report: &MonitoringReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let drifted = report.drift.iter().filter(|d| d.drifted).map(|d| d.feature.as_str());
    let violated = report
        .violations
        .violations
        .iter()
        .filter(|v| v.constraint_check_type == CheckType::BaselineDriftCheck)
        .map(|v| v.feature_name.as_str());
    for f in drifted.chain(violated) {
        if !out.iter().any(|o| o == f) {
            out.push(f.to_owned());
        }
    }
    out
}

fn find<'a>(stats: &'a Statistics, feature: &str) -> Option<&'a FeatureStatistics> {
    stats.features.iter().find(|f| f.name == feature)
}

fn feature_title(feature: &str) -> String {
    format!("{feature}: baseline vs window")
}

/// `feature-<name>.svg` with the name reduced to letters, digits, `-` and `_`, numbered when
/// two names reduce alike.
fn unique_file(feature: &str, used: &[String]) -> String {
    let slug: String =
        feature.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let slug = if slug.trim_matches('-').is_empty() { "column".to_owned() } else { slug };
    let mut file = format!("feature-{slug}.svg");
    let mut i = 2;
    while used.contains(&file) {
        file = format!("feature-{slug}-{i}.svg");
        i += 1;
    }
    file
}

/// A feature's distribution chart: KLL buckets as densities, or category shares.
fn feature_chart(feature: &str, baseline: Option<&FeatureStatistics>, window: &FeatureStatistics) -> Option<String> {
    let title = feature_title(feature);
    if let Some(w) = &window.numerical_statistics {
        let kll = |f: &FeatureStatistics| -> Option<Vec<(f64, f64, f64)>> {
            f.numerical_statistics
                .as_ref()
                .map(|n| n.distribution.kll.buckets.iter().map(|b| (b.lower_bound, b.upper_bound, b.count)).collect())
        };
        let mut series = Vec::new();
        if let Some(bins) = baseline.and_then(kll) {
            series.push(svg::Binned { name: "baseline", colour: svg::BASELINE, bins });
        }
        let bins = w.distribution.kll.buckets.iter().map(|b| (b.lower_bound, b.upper_bound, b.count)).collect();
        series.push(svg::Binned { name: "window", colour: svg::WINDOW, bins });
        return Some(svg::densities(&title, feature, &series));
    }
    let window = window.string_statistics.as_ref()?;
    let base: Vec<(String, u64)> = baseline
        .and_then(|b| b.string_statistics.as_ref())
        .map(|s| s.distribution.categorical.buckets.iter().map(|b| (b.value.clone(), b.count)).collect())
        .unwrap_or_default();
    let win: Vec<(String, u64)> =
        window.distribution.categorical.buckets.iter().map(|b| (b.value.clone(), b.count)).collect();
    Some(svg::grouped_bars(&title, feature, &category_shares(&base, &win)))
}

/// Category shares of baseline and window: the baseline's categories by count, then the
/// window's new ones by count, at most [`MAX_CATEGORIES`] and the rest as `(other)`.
fn category_shares(base: &[(String, u64)], win: &[(String, u64)]) -> Vec<(String, f64, f64)> {
    let total = |v: &[(String, u64)]| v.iter().map(|b| b.1).sum::<u64>().max(1) as f64;
    let (tb, tw) = (total(base), total(win));
    let mut sorted_base = base.to_vec();
    sorted_base.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut sorted_win = win.to_vec();
    sorted_win.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in sorted_base.iter().chain(&sorted_win) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let share =
        |v: &[(String, u64)], t: f64, name: &str| v.iter().filter(|b| b.0 == name).map(|b| b.1).sum::<u64>() as f64 / t;
    let mut rows: Vec<(String, f64, f64)> =
        names.iter().take(MAX_CATEGORIES).map(|n| ((*n).to_owned(), share(base, tb, n), share(win, tw, n))).collect();
    if names.len() > MAX_CATEGORIES {
        let (b, w) = names[MAX_CATEGORIES..]
            .iter()
            .fold((0.0, 0.0), |(b, w), n| (b + share(base, tb, n), w + share(win, tw, n)));
        rows.push(("(other)".into(), b, w));
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// `part` of `whole` as a percentage with one decimal (`—` when `whole` is 0).
pub(crate) fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "—".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

/// The window as text: `since – until` (open ends say so).
pub(crate) fn window_text(report: &MonitoringReport) -> String {
    let end = |t: Option<chrono::DateTime<chrono::Utc>>, open: &str| {
        t.map_or_else(|| open.to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
    };
    format!("{} – {}", end(report.window.since, "first capture"), end(report.window.until, "last capture"))
}

/// `Numerical` / `Categorical`.
pub(crate) fn kind(k: DriftKind) -> &'static str {
    match k {
        DriftKind::Numerical => "numerical",
        DriftKind::Categorical => "categorical",
    }
}

/// The check type as Model Monitor spells it.
pub(crate) fn check(c: CheckType) -> &'static str {
    match c {
        CheckType::DataTypeCheck => "data_type_check",
        CheckType::CompletenessCheck => "completeness_check",
        CheckType::BaselineDriftCheck => "baseline_drift_check",
        CheckType::MissingColumnCheck => "missing_column_check",
        CheckType::ExtraColumnCheck => "extra_column_check",
        CheckType::CategoricalValuesCheck => "categorical_values_check",
    }
}

/// The one-line headline: counts and violations.
pub(crate) fn headline(report: &MonitoringReport) -> String {
    let mut s = format!(
        "{} records read, {} decoded, {} skipped · {} violation{}",
        count(report.counts.records),
        count(report.counts.decoded),
        count(report.counts.skipped),
        report.violations.violations.len(),
        if report.violations.violations.len() == 1 { "" } else { "s" }
    );
    let drifted = report.drift.iter().filter(|d| d.drifted).count();
    let _ = write!(s, " · {drifted} of {} columns drifted", report.drift.len());
    s
}

//! Rendering a [`Report`] for people: `report.md`, a self-contained `index.html` and one SVG
//! file per chart.
//!
//! - [`markdown`] is the report for terminals and pull requests (tables, warnings first);
//! - [`html()`] is one page with inline CSS and inline SVG, no scripts and no external URLs, so it
//!   opens from a directory, an S3 console download or `wb compare serve` alike;
//! - [`files`] is everything written next to `report.json`.
//!
//! Every string that comes from a user (descriptions, error messages, feature names, slice
//! categories, row ids) is escaped: HTML through maud's `html!`, SVG through the svg module's
//! own escaping, Markdown by neutralising `<`, `>`, `&` and `|`.
//!
//! The web app (`crate::web`) builds its pages from the same fragments, so a served page and
//! `index.html` look alike.

use std::fmt::Write as _;

use crate::report::{Estimate, InputKind, PairwiseComparison, Report};
use crate::stats::Interval;

mod charts;
mod html;
mod markdown;
pub(crate) mod svg;

pub(crate) use charts::{Charts, CurveCharts, curve_charts, importance_chart};
use html::html_with;
pub(crate) use html::{
    Links, curves, failures, header, leaderboard, model_detail, page, pair_matrix, pairwise_table, timings, warnings,
};
use markdown::markdown_with;
pub(crate) use wb_core::text::format_count as count;
pub(crate) use wb_core::text::format_number as num;
pub(crate) use wb_core::text::format_optional as opt;
pub(crate) use wb_core::text::format_p_value as pval;

/// The file name of the Markdown report.
pub const REPORT_MD: &str = "report.md";

/// The file name of the HTML report.
pub const INDEX_HTML: &str = "index.html";

/// Everything rendered from `report`, as (file name, bytes): `report.md`, `index.html` and one
/// SVG per chart that has data (`leaderboard.svg`, `roc.svg`, `pr.svg`, `calibration.svg`,
/// `importance-<model>.svg`).
#[must_use]
pub fn files(report: &Report) -> Vec<(String, Vec<u8>)> {
    let charts = Charts::of(report);
    let mut out = vec![
        (REPORT_MD.to_owned(), markdown_with(report, &charts).into_bytes()),
        (INDEX_HTML.to_owned(), html_with(report, &charts).into_bytes()),
    ];
    out.extend(charts.files().into_iter().map(|(name, svg)| (name, svg.into_bytes())));
    out
}

/// The Markdown report.
#[must_use]
pub fn markdown(report: &Report) -> String {
    markdown_with(report, &Charts::of(report))
}

/// The self-contained HTML report (inline CSS and SVG, no scripts, no external URLs).
#[must_use]
pub fn html(report: &Report) -> String {
    html_with(report, &Charts::of(report))
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// A confidence interval, `[low, high]` (`—` when absent).
pub(crate) fn ci(i: Option<&Interval>) -> String {
    i.map_or_else(|| "—".to_owned(), |i| format!("[{}, {}]", num(i.low), num(i.high)))
}

/// A rate in [0, 1] with 3 decimals (precision, recall in threshold tables).
fn rate(v: f64) -> String {
    if v.is_finite() { format!("{v:.3}") } else { "n/a".into() }
}

/// A decision threshold (`+∞` for the curve's first point).
fn threshold(t: f64) -> String {
    if t >= f64::MAX || t.is_infinite() { "+∞".into() } else { format!("{t:.2}") }
}

fn count_usize(n: usize) -> String {
    count(u64::try_from(n).unwrap_or(u64::MAX))
}

/// Milliseconds as `850 ms`, `12.3 s` or `4 min 05 s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {:02} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// The human name of a metric (`roc_auc` → `ROC AUC`).
pub(crate) fn metric_label(metric: &str) -> &str {
    match metric {
        "accuracy" => "Accuracy",
        "balanced_accuracy" => "Balanced accuracy",
        "macro_precision" => "Macro precision",
        "macro_recall" => "Macro recall",
        "macro_f1" => "Macro F1",
        "roc_auc" => "ROC AUC",
        "pr_auc" => "PR AUC",
        "log_loss" => "Log loss",
        "brier" => "Brier score",
        "rmse" => "RMSE",
        "mae" => "MAE",
        "r2" => "R²",
        "mape" => "MAPE",
        other => other,
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The confidence level as a percentage label (`95%`).
fn level(report: &Report) -> String {
    let pct = report.settings.confidence * 100.0;
    if (pct - pct.round()).abs() < 1e-9 { format!("{pct:.0}%") } else { format!("{pct}%") }
}

fn direction(report: &Report) -> &'static str {
    if report.higher_is_better { "higher is better" } else { "lower is better" }
}

/// The primary-metric difference of a comparison.
fn primary_difference<'a>(report: &Report, c: &'a PairwiseComparison) -> Option<&'a crate::report::MetricDifference> {
    c.differences.iter().find(|d| d.metric == report.primary_metric)
}

/// The colour of a model: its position among the scored models, so every chart agrees.
pub(crate) fn colour(report: &Report, model: &str) -> &'static str {
    let i = report.models.iter().position(|m| m.model.as_str() == model).unwrap_or(report.models.len());
    svg::PALETTE[i % svg::PALETTE.len()]
}

fn settings_line(report: &Report) -> String {
    let s = &report.settings;
    let batch = match report.inputs {
        InputKind::Tabular => format!("batch size {}", s.batch_size),
        InputKind::Images => "one image per invocation".to_owned(),
    };
    let mut line = format!(
        "{batch} · concurrency {} · max attempts {} · {} bootstrap resamples · {} intervals · α = {} (Holm) · importance budget {}",
        s.concurrency,
        s.max_attempts,
        count_usize(s.resamples),
        level(report),
        s.alpha,
        s.importance_budget,
    );
    if s.allow_foreign {
        line.push_str(" · foreign partitions allowed");
    }
    if let Some(col) = &s.slice_by {
        let _ = write!(line, " · sliced by {col}");
    }
    line
}

fn task_line(report: &Report) -> String {
    let mut task = report.task.to_string();
    if report.inputs == InputKind::Images {
        task.push_str(" of images");
    }
    if !report.classes.is_empty() {
        let _ = write!(task, " (classes: {}", report.classes.join(", "));
        if let Some(p) = &report.positive_class {
            let _ = write!(task, "; positive class: {p}");
        }
        task.push(')');
    }
    task
}

/// What identifies a test row: the key column, an image's path, or the row number.
fn row_ids_line(report: &Report) -> &str {
    match (&report.row_id_column, report.inputs) {
        (Some(column), _) => column,
        (None, InputKind::Images) => "image path in the test split",
        (None, InputKind::Tabular) => "row number in the test split",
    }
}

/// An image URI the report may show: a base64 PNG or JPEG `data:` URI, nothing that loads.
fn embeddable(uri: &str) -> bool {
    ["data:image/png;base64,", "data:image/jpeg;base64,"].iter().any(|prefix| {
        uri.strip_prefix(prefix)
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
    })
}

fn class_labels(report: &Report, n: usize) -> Vec<String> {
    (0..n).map(|i| report.classes.get(i).cloned().unwrap_or_else(|| format!("class {i}"))).collect()
}

/// The metric names used by any slice, in first-seen order.
fn slice_metric_names(slices: &[crate::report::SliceRow]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in slices {
        for e in &s.metrics {
            if !names.contains(&e.metric) {
                names.push(e.metric.clone());
            }
        }
    }
    names
}

fn find_metric(metrics: &[Estimate], name: &str) -> Option<f64> {
    metrics.iter().find(|e| e.metric == name).and_then(|e| e.value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A small binary report with user strings that need escaping everywhere.
    fn sample() -> Report {
        let hash = format!("blake3:{}", "ab".repeat(32));
        let foreign_hash = format!("blake3:{}", "cd".repeat(32));
        let curve = |k: f64| -> Vec<serde_json::Value> {
            (0..=10)
                .map(|i| {
                    let x = f64::from(i) / 10.0;
                    json!({ "x": x, "y": 1.0 - (1.0 - x).powf(k), "threshold": 1.0 - x })
                })
                .collect()
        };
        let model = |name: &str, auc: f64, description: &str, foreign: bool, importance: bool| {
            json!({
                "model": name, "endpoint": format!("{name}-ep"), "algorithm": "logistic-regression",
                "backend": "local", "job": format!("{name}-job"), "description": description,
                "foreign": foreign, "trained_on": if foreign { &foreign_hash } else { &hash },
                "metrics": [
                    { "metric": "accuracy", "value": auc - 0.05, "interval": { "low": auc - 0.08, "high": auc - 0.02 } },
                    { "metric": "roc_auc", "value": auc, "interval": { "low": auc - 0.03, "high": auc + 0.03 } },
                    { "metric": "log_loss", "value": null, "interval": null }
                ],
                "per_class": [
                    { "class": "no", "precision": 0.8, "recall": 0.9, "f1": 0.85, "support": 60 },
                    { "class": "yes|<maybe>", "precision": 0.7, "recall": 0.6, "f1": 0.65, "support": 40 }
                ],
                "confusion": [[54, 6], [16, 24]],
                "curves": {
                    "roc": curve(auc / (1.0 - auc)),
                    "precision_recall": curve(2.0),
                    "calibration": [
                        { "lower": 0.0, "upper": 0.5, "mean_predicted": 0.2, "fraction_positive": 0.25, "count": 50 },
                        { "lower": 0.5, "upper": 1.0, "mean_predicted": 0.8, "fraction_positive": 0.7, "count": 50 }
                    ]
                },
                "thresholds": [
                    { "threshold": 0.5, "true_positives": 24, "false_positives": 6, "true_negatives": 54,
                      "false_negatives": 16, "precision": 0.8, "recall": 0.6, "f1": 0.686, "false_positive_rate": 0.1 }
                ],
                "importance": if importance { json!({
                    "rows": 100, "repeats": 3, "invocations": 7, "baseline": auc,
                    "features": [
                        { "feature": "age <years>", "mean": 0.12, "std": 0.01 },
                        { "feature": "income & tax", "mean": -0.004, "std": 0.002 }
                    ]
                }) } else { json!(null) },
                "slices": { "column": "plan", "kind": "categories", "slices": [
                    { "slice": "<gold>", "rows": 30, "metrics": [{ "metric": "accuracy", "value": 0.9, "interval": null }] }
                ] },
                "worst_rows": [
                    { "row_id": "r<17>", "actual": "yes|<maybe>", "predicted": "no", "true_class_probability": 0.02, "loss": 3.91 }
                ],
                "scoring": { "rows": 100, "invocations": 1, "retries": 0, "elapsed_ms": 12 }
            })
        };
        serde_json::from_value(json!({
            "format": 1, "id": "20260101T000000Z-abcdef", "created_at": "2026-01-01T00:00:00Z",
            "dataset": "churn", "fingerprint": hash, "task": "classification",
            "classes": ["no", "yes|<maybe>"], "positive_class": "yes|<maybe>", "test_rows": 100,
            "row_id_column": null,
            "settings": { "batch_size": 50, "concurrency": 2, "max_attempts": 3, "seed": 7, "resamples": 200,
                "confidence": 0.95, "alpha": 0.05, "allow_foreign": true, "slice_by": "plan", "importance_budget": 50 },
            "primary_metric": "roc_auc", "higher_is_better": true,
            "warnings": ["model-b was trained on another partition <foreign> & included"],
            "models": [
                model("model-a", 0.9123, "uses <script>alert(1)</script> & \"quotes\"", false, true),
                model("model-b", 0.8, "plain | piped", true, false)
            ],
            "failures": [{ "model": "model-c", "endpoint": "model-c-ep", "error": "HTTP 500: <html>oops</html>" }],
            "leaderboard": [
                { "rank": 1, "model": "model-a", "value": 0.9123, "interval": { "low": 0.8812, "high": 0.9401 },
                  "p_vs_best": null, "significantly_worse": false, "foreign": false },
                { "rank": 2, "model": "model-b", "value": 0.8, "interval": { "low": 0.77, "high": 0.83 },
                  "p_vs_best": 0.0004, "significantly_worse": true, "foreign": true }
            ],
            "comparisons": [{
                "a": "model-a", "b": "model-b", "rows": 100,
                "mcnemar": { "both_correct": 70, "only_a_correct": 12, "only_b_correct": 3, "both_wrong": 15,
                    "statistic": 4.27, "p_value": 0.0386, "method": "exact" },
                "delong": { "auc_a": 0.9123, "auc_b": 0.8, "difference": 0.1123, "standard_error": 0.03, "z": 3.7, "p_value": 0.0002 },
                "differences": [{ "metric": "roc_auc", "difference": 0.1123, "interval": { "low": 0.05, "high": 0.17 }, "p_value": 0.0004 }],
                "adjusted_p": 0.0004, "significant": true, "better": "model-a"
            }],
            "timings": { "load_ms": 5, "scoring_ms": 1500, "statistics_ms": 65000, "explanations_ms": 80, "total_ms": 66585 }
        }))
        .expect("sample report")
    }

    /// Checks that every element is closed in order (void elements and `/>` aside, `<style>`
    /// content skipped) and that there is one root `html` element; returns the tag names seen.
    fn balanced(doc: &str) -> Vec<String> {
        const VOID: [&str; 13] =
            ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];
        let mut stack: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        let mut roots = 0;
        let mut rest = doc;
        while let Some(start) = rest.find('<') {
            rest = &rest[start..];
            let end = rest.find('>').expect("tag closes");
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('!') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
                assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
                continue;
            }
            let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "tag {tag:?}");
            seen.push(name.clone());
            if stack.is_empty() {
                roots += 1;
            }
            if tag.ends_with('/') || VOID.contains(&name.as_str()) {
                continue;
            }
            if name == "style" {
                let close = rest.find("</style>").expect("style closes");
                rest = &rest[close + "</style>".len()..];
                continue;
            }
            stack.push(name);
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1, "one root element");
        seen
    }

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(num(0.912_345), "0.9123");
        assert_eq!(num(-0.0552), "-0.0552");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(12_345.67), "12345.7");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(opt(None), "—");
        assert_eq!(pval(Some(0.0004)), "<0.001");
        assert_eq!(pval(Some(0.0034)), "0.003");
        assert_eq!(pval(Some(0.5)), "0.500");
        assert_eq!(pval(None), "—");
        assert_eq!(ci(Some(&Interval { low: 0.8812, high: 0.9401 })), "[0.8812, 0.9401]");
        assert_eq!(count(1_234_567_u64), "1,234,567");
        assert_eq!(count(999_u64), "999");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_340), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(threshold(f64::MAX), "+∞");
        assert_eq!(metric_label("roc_auc"), "ROC AUC");
        assert_eq!(metric_label("custom"), "custom");
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(svg::ticks(0.0, 1.0, 5), (vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 1));
        let (t, d) = svg::ticks(0.7, 0.95, 5);
        assert_eq!(d, 2);
        assert!(t.iter().all(|v| (0.7 - 1e-9..=0.95 + 1e-9).contains(v)), "{t:?}");
        assert!(t.len() >= 4, "{t:?}");
    }

    #[test]
    fn markdown_has_warnings_first_leaderboard_rows_and_every_section() {
        let report = sample();
        let md = markdown(&report);
        assert!(md.starts_with("# Model comparison: churn\n"));
        let warning = md.find("trained on another partition &lt;foreign&gt; &amp; included").expect("warning");
        let board = md.find("## Leaderboard").expect("leaderboard");
        assert!(warning < board, "warnings come before the leaderboard");
        assert!(md.contains("| 1 | model-a | 0.9123 [0.8812, 0.9401] | — | — |"), "{md}");
        assert!(md.contains("| 2 | model-b ⚠ foreign | 0.8000 [0.7700, 0.8300] | <0.001 | yes |"), "{md}");
        assert!(md.contains("| model-c | model-c-ep | HTTP 500: &lt;html&gt;oops&lt;/html&gt; |"), "failure row");
        assert!(
            md.contains(
                "| model-a | model-b | 100 | 0.039 | <0.001 | 0.1123 [0.0500, 0.1700] | <0.001 | yes | model-a |"
            ),
            "{md}"
        );
        for section in [
            "| Fingerprint |",
            "| Seed | 7 |",
            "| Settings |",
            "#### Metrics",
            "#### Per class",
            "#### Confusion matrix",
            "#### Thresholds",
            "#### Permutation importance",
            "#### Slices by plan",
            "#### Worst rows",
            "## Timings",
            "![Leaderboard](leaderboard.svg)",
            "![roc.svg](roc.svg)",
            "![Importance](importance-model-a.svg)",
        ] {
            assert!(md.contains(section), "{section} missing:\n{md}");
        }
        assert!(md.contains("uses &lt;script&gt;alert(1)&lt;/script&gt; &amp; \"quotes\""), "description escaped");
        assert!(md.contains("plain \\| piped"), "pipes escaped in tables");
        assert!(md.contains("| **yes\\|&lt;maybe&gt;** | 16 | 24 |"), "confusion row");
        assert!(!md.contains("<script"), "no raw markup");
        assert!(md.contains("1 min 05 s"), "timings");
    }

    #[test]
    fn html_is_one_self_contained_escaped_document() {
        let report = sample();
        let page = html(&report);
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert!(page.ends_with("</html>"));
        let tags = balanced(&page);
        assert_eq!(tags.iter().filter(|t| *t == "html").count(), 1);
        assert_eq!(tags.iter().filter(|t| *t == "body").count(), 1);
        assert!(tags.iter().filter(|t| *t == "svg").count() >= 5, "inline charts");
        assert!(!tags.iter().any(|t| t == "script" || t == "link" || t == "img" || t == "iframe"), "nothing loaded");
        let lower = page.to_ascii_lowercase();
        for attr in ["src=", "href=\"http", "href=\"//", "href='http", "url(", "@import"] {
            assert!(!lower.contains(attr), "external reference {attr}");
        }
        for escaped in [
            "uses &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;",
            "HTTP 500: &lt;html&gt;oops&lt;/html&gt;",
            "&lt;foreign&gt; &amp; included",
            "age &lt;years&gt;",
            "r&lt;17&gt;",
            "&lt;gold&gt;",
        ] {
            assert!(page.contains(escaped), "{escaped} missing");
        }
        // Warnings first, then the leaderboard rows in order, linking to the model sections.
        let warning = page.find("class=\"alert warnings\"").expect("warnings");
        let first = page.find("href=\"#model-model-a\"").expect("row 1");
        let second = page.find("href=\"#model-model-b\"").expect("row 2");
        assert!(warning < first && first < second);
        assert!(page.contains("id=\"model-model-a\"") && page.contains("id=\"model-model-b\""));
        assert_eq!(page.matches("class=\"pair-cell").count(), 4, "2 × 2 matrix");
    }

    #[test]
    fn files_hold_every_chart_with_data_and_each_svg_is_well_formed() {
        let report = sample();
        let files = files(&report);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "report.md",
                "index.html",
                "leaderboard.svg",
                "roc.svg",
                "pr.svg",
                "calibration.svg",
                "importance-model-a.svg"
            ]
        );
        for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with(".svg")) {
            let text = std::str::from_utf8(bytes).expect("utf-8");
            assert!(text.starts_with("<svg"), "{name}");
            let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{name} is not XML: {e}"));
            let root = doc.root_element();
            assert_eq!(root.tag_name().name(), "svg", "{name}");
            assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"), "{name}");
            assert!(root.attribute("viewBox").is_some(), "{name} scales");
            let drawn =
                root.descendants().filter(|n| ["polyline", "path", "rect", "circle"].contains(&n.tag_name().name()));
            assert!(drawn.count() > 2, "{name} draws something");
            let text: String = root.descendants().filter(roxmltree::Node::is_text).filter_map(|n| n.text()).collect();
            assert!(!text.is_empty(), "{name} has labels");
        }
        let roc = std::str::from_utf8(&files[3].1).expect("utf-8");
        assert!(roc.contains("positive class: yes|&lt;maybe&gt;"), "labels escaped");
        assert!(roc.contains("model-a · 0.9123") && roc.contains("model-b · 0.8000"), "legend with AUC");
        assert!(roc.contains(colour(&report, "model-a")) && roc.contains(colour(&report, "model-b")));
        let importance = std::str::from_utf8(&files[6].1).expect("utf-8");
        assert!(importance.contains("age &lt;years&gt;") && importance.contains("income &amp; tax"));
    }

    #[test]
    fn a_regression_report_renders_without_curves() {
        let mut report = sample();
        report.task = wb_datasets::TaskKind::Regression;
        report.classes.clear();
        report.positive_class = None;
        report.primary_metric = "rmse".into();
        report.higher_is_better = false;
        for m in &mut report.models {
            m.metrics = vec![Estimate { metric: "rmse".into(), value: Some(1234.5), interval: None }];
            m.per_class.clear();
            m.confusion.clear();
            m.curves = None;
            m.thresholds.clear();
            m.importance = None;
        }
        report.leaderboard[0].interval = None;
        report.comparisons.clear();
        let files = files(&report);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["report.md", "index.html", "leaderboard.svg"]);
        let page = html(&report);
        balanced(&page);
        assert!(page.contains("RMSE") && page.contains("lower is better"));
        assert!(!page.contains("Thresholds") && !page.contains("Confusion matrix"));
        let md = markdown(&report);
        assert!(md.contains("| RMSE | 1234.5 | — |"), "{md}");
        assert!(!md.contains("## Pairwise"));
    }

    #[test]
    fn an_image_report_shows_a_gallery_of_embedded_worst_images_only() {
        let mut report = sample();
        report.inputs = InputKind::Images;
        report.row_id_column = None;
        let png = "data:image/png;base64,iVBORw0KGgo=";
        for m in &mut report.models {
            m.importance = None;
            m.slices = None;
            m.worst_rows[0].row_id = "cat/<b>1</b>.png".into();
            m.worst_rows[0].image = Some(png.into());
            m.worst_rows[0].predicted_probability = Some(0.98);
        }
        report.models[1].worst_rows[0].image = Some("https://example.com/x.png".into());
        let page = html(&report);
        balanced(&page);
        assert_eq!(page.matches("<img ").count(), 1, "only the data: URI is shown");
        assert!(page.contains(&format!("src=\"{png}\"")), "embedded");
        assert!(!page.contains("example.com"), "nothing that loads");
        assert!(page.contains("Worst images") && !page.contains("Worst rows"));
        assert!(page.contains("cat/&lt;b&gt;1&lt;/b&gt;.png"), "paths escaped");
        assert!(page.contains("not embedded"), "the other model's image is listed by path");
        assert!(page.contains("0.980"), "the predicted class's probability");
        assert!(page.contains("image path in the test split") && page.contains("one image per invocation"));
        let md = markdown(&report);
        assert!(md.contains("#### Worst images") && !md.contains("#### Worst rows"), "{md}");
        assert!(md.contains("| cat/&lt;b&gt;1&lt;/b&gt;.png | yes\\|&lt;maybe&gt; | no | 0.980 | 0.020 |"), "{md}");
        assert!(!md.contains("base64"), "markdown lists paths only");
        assert!(md.contains("classification of images"), "{md}");
        assert!(
            embeddable(png)
                && !embeddable("data:image/svg+xml;base64,PHN2Zz4=")
                && !embeddable("data:image/png;base64,\"x")
        );
    }

    #[test]
    fn an_empty_report_still_renders() {
        let mut report = sample();
        report.models.clear();
        report.leaderboard.clear();
        report.comparisons.clear();
        report.warnings.clear();
        let files = files(&report);
        assert_eq!(files.len(), 2, "no charts without data");
        let page = html(&report);
        balanced(&page);
        assert!(page.contains("No model was scored."));
        assert!(markdown(&report).contains("model-c"), "the failure is still reported");
    }
}

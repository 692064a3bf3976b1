//! Rendering a [`Report`] for people: `report.md`, a self-contained `index.html` and one SVG
//! file per chart.
//!
//! - [`markdown`] is the report for terminals and pull requests (tables, warnings first);
//! - [`html()`] is one page with inline CSS and inline SVG, no scripts and no external URLs, so it
//!   opens from a directory, an S3 console download or `wb compare serve` alike;
//! - [`files`] is everything written next to `report.json`.
//!
//! Every string that comes from a user (descriptions, error messages, feature names, slice
//! categories, row ids) is escaped: HTML through maud's `html!`, SVG through the chart module's
//! own escaping, Markdown by neutralising `<`, `>`, `&` and `|`.
//!
//! The web app (`crate::web`) builds its pages from the same fragments, so a served page and
//! `index.html` look alike.

use std::fmt::Write as _;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::report::{Estimate, LeaderboardEntry, ModelReport, PairwiseComparison, Report};
use crate::stats::Interval;

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

/// A metric value: 4 decimals below 10, fewer for large values (`rmse` of prices).
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "n/a".into()
        } else if v > 0.0 {
            "+∞".into()
        } else {
            "−∞".into()
        };
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// An optional metric value (`—` when undefined).
pub(crate) fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), num)
}

/// A confidence interval, `[low, high]` (`—` when absent).
pub(crate) fn ci(i: Option<&Interval>) -> String {
    i.map_or_else(|| "—".to_owned(), |i| format!("[{}, {}]", num(i.low), num(i.high)))
}

/// A p-value: `<0.001`, otherwise 3 decimals (`—` when absent).
pub(crate) fn pval(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) if p.is_nan() => "n/a".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

/// A rate in [0, 1] with 3 decimals (precision, recall in threshold tables).
fn rate(v: f64) -> String {
    if v.is_finite() { format!("{v:.3}") } else { "n/a".into() }
}

/// A decision threshold (`+∞` for the curve's first point).
fn threshold(t: f64) -> String {
    if t >= f64::MAX || t.is_infinite() { "+∞".into() } else { format!("{t:.2}") }
}

/// An integer with thousands separators.
pub(crate) fn count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    chart::PALETTE[i % chart::PALETTE.len()]
}

// ---------------------------------------------------------------------------------------------
// Charts

/// The SVG charts of a report (each `None` when there is no data for it).
pub(crate) struct Charts {
    pub(crate) leaderboard: Option<String>,
    /// ROC, precision-recall and calibration, every model overlaid.
    pub(crate) curves: CurveCharts,
    /// (model, chart)
    pub(crate) importance: Vec<(String, String)>,
}

impl Charts {
    pub(crate) fn of(report: &Report) -> Self {
        let all: Vec<&ModelReport> = report.models.iter().collect();
        Self {
            leaderboard: leaderboard_chart(report),
            curves: curve_charts(report, &all),
            importance: report
                .models
                .iter()
                .filter_map(|m| importance_chart(report, m).map(|svg| (m.model.to_string(), svg)))
                .collect(),
        }
    }

    fn files(self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let named = [
            ("leaderboard.svg", self.leaderboard),
            ("roc.svg", self.curves.roc),
            ("pr.svg", self.curves.pr),
            ("calibration.svg", self.curves.calibration),
        ];
        for (name, svg) in named {
            if let Some(svg) = svg {
                out.push((name.to_owned(), svg));
            }
        }
        out.extend(self.importance.into_iter().map(|(model, svg)| (format!("importance-{model}.svg"), svg)));
        out
    }
}

/// ROC, precision-recall and calibration charts overlaying `models`.
pub(crate) struct CurveCharts {
    pub(crate) roc: Option<String>,
    pub(crate) pr: Option<String>,
    pub(crate) calibration: Option<String>,
}

pub(crate) fn curve_charts(report: &Report, models: &[&ModelReport]) -> CurveCharts {
    let series = |pick: &dyn Fn(&ModelReport) -> Vec<(f64, f64)>, metric: Option<&str>, markers: bool| {
        models
            .iter()
            .filter_map(|m| {
                let points = pick(m);
                if points.is_empty() {
                    return None;
                }
                let mut name = m.model.to_string();
                if let Some(v) = metric.and_then(|metric| m.metric(metric)).and_then(|e| e.value) {
                    let _ = write!(name, " · {}", num(v));
                }
                Some(chart::Series { name, colour: colour(report, m.model.as_str()), points, markers })
            })
            .collect::<Vec<_>>()
    };
    let roc = series(
        &|m| m.curves.as_ref().map(|c| c.roc.iter().map(|p| (p.x, p.y)).collect()).unwrap_or_default(),
        Some("roc_auc"),
        false,
    );
    let pr = series(
        &|m| m.curves.as_ref().map(|c| c.precision_recall.iter().map(|p| (p.x, p.y)).collect()).unwrap_or_default(),
        Some("pr_auc"),
        false,
    );
    let cal = series(
        &|m| {
            m.curves
                .as_ref()
                .map(|c| c.calibration.iter().map(|b| (b.mean_predicted, b.fraction_positive)).collect())
                .unwrap_or_default()
        },
        Some("brier"),
        true,
    );
    let prevalence = prevalence(report);
    let positive = report.positive_class.as_deref().unwrap_or("positive");
    CurveCharts {
        roc: (!roc.is_empty()).then(|| {
            chart::line_chart(&chart::LineChart {
                title: &format!("ROC curve (positive class: {positive})"),
                x_label: "False positive rate",
                y_label: "True positive rate",
                diagonal: Some("chance"),
                baseline: None,
                legend: chart::Corner::BottomRight,
                legend_title: "model · ROC AUC",
                series: roc,
            })
        }),
        pr: (!pr.is_empty()).then(|| {
            chart::line_chart(&chart::LineChart {
                title: &format!("Precision–recall (positive class: {positive})"),
                x_label: "Recall",
                y_label: "Precision",
                diagonal: None,
                baseline: prevalence.map(|p| (p, format!("prevalence {p:.3}"))),
                legend: chart::Corner::BottomLeft,
                legend_title: "model · PR AUC",
                series: pr,
            })
        }),
        calibration: (!cal.is_empty()).then(|| {
            chart::line_chart(&chart::LineChart {
                title: "Calibration (reliability diagram)",
                x_label: "Mean predicted probability",
                y_label: "Observed fraction positive",
                diagonal: Some("perfectly calibrated"),
                baseline: None,
                legend: chart::Corner::TopLeft,
                legend_title: "model · Brier score",
                series: cal,
            })
        }),
    }
}

/// The share of positive rows in the test split, from any model's per-class support.
fn prevalence(report: &Report) -> Option<f64> {
    let positive = report.positive_class.as_deref()?;
    let model = report.models.iter().find(|m| !m.per_class.is_empty())?;
    let total: u64 = model.per_class.iter().map(|c| c.support).sum();
    let pos = model.per_class.iter().find(|c| c.class == positive)?.support;
    (total > 0).then(|| pos as f64 / total as f64)
}

fn leaderboard_chart(report: &Report) -> Option<String> {
    let rows: Vec<chart::IntervalRow> = report
        .leaderboard
        .iter()
        .filter(|e| e.value.is_some())
        .map(|e| chart::IntervalRow {
            label: format!("{}. {}", e.rank, e.model),
            colour: colour(report, e.model.as_str()),
            value: e.value.unwrap_or_default(),
            interval: e.interval.as_ref().map(|i| (i.low, i.high)),
            note: match &e.interval {
                Some(i) => format!("{} [{}, {}]", opt(e.value), num(i.low), num(i.high)),
                None => opt(e.value),
            },
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let label = metric_label(&report.primary_metric);
    Some(chart::interval_chart(
        &format!("{label} by model ({} CI)", level(report)),
        &format!("{label} ({})", direction(report)),
        &rows,
    ))
}

pub(crate) fn importance_chart(report: &Report, model: &ModelReport) -> Option<String> {
    let importance = model.importance.as_ref()?;
    if importance.features.is_empty() {
        return None;
    }
    let rows: Vec<(String, f64, f64)> =
        importance.features.iter().take(15).map(|f| (f.feature.clone(), f.mean, f.std)).collect();
    Some(chart::bar_chart(
        &format!("Permutation importance: {}", model.model),
        &format!("Drop in {} when shuffled (mean ± sd)", metric_label(&report.primary_metric)),
        colour(report, model.model.as_str()),
        &rows,
    ))
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// Escapes a user string for a Markdown table cell or paragraph.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table.
fn md_table(out: &mut String, header: &[&str], right: &[usize], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let rule: Vec<&str> = (0..header.len()).map(|i| if right.contains(&i) { "---:" } else { "---" }).collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn settings_line(report: &Report) -> String {
    let s = &report.settings;
    let mut line = format!(
        "batch size {} · concurrency {} · max attempts {} · {} bootstrap resamples · {} intervals · α = {} (Holm) · importance budget {}",
        s.batch_size,
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
    let mut task = report.task.clone();
    if !report.classes.is_empty() {
        let _ = write!(task, " (classes: {}", report.classes.join(", "));
        if let Some(p) = &report.positive_class {
            let _ = write!(task, "; positive class: {p}");
        }
        task.push(')');
    }
    task
}

fn markdown_with(report: &Report, charts: &Charts) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Model comparison: {}\n", md(report.dataset.as_str()));
    if !report.warnings.is_empty() {
        out.push_str("> [!WARNING]\n");
        for w in &report.warnings {
            let _ = writeln!(out, "> - **Warning:** {}", md(w));
        }
        out.push('\n');
    }
    md_table(
        &mut out,
        &["", ""],
        &[],
        &[
            vec!["Report".into(), format!("`{}`", report.id)],
            vec!["Created".into(), md(&report.created_at)],
            vec!["Dataset".into(), md(report.dataset.as_str())],
            vec!["Task".into(), md(&task_line(report))],
            vec!["Fingerprint".into(), format!("`{}`", report.fingerprint)],
            vec!["Test rows".into(), count_usize(report.test_rows)],
            vec!["Row ids".into(), md(report.row_id_column.as_deref().unwrap_or("row number in the test split"))],
            vec!["Seed".into(), report.settings.seed.to_string()],
            vec!["Settings".into(), md(&settings_line(report))],
            vec![
                "Primary metric".into(),
                format!("{} ({})", md(metric_label(&report.primary_metric)), direction(report)),
            ],
        ],
    );

    if !report.failures.is_empty() {
        out.push_str("## Failures\n\n");
        let rows: Vec<Vec<String>> =
            report.failures.iter().map(|f| vec![md(f.model.as_str()), md(f.endpoint.as_str()), md(&f.error)]).collect();
        md_table(&mut out, &["Model", "Endpoint", "Error"], &[], &rows);
    }

    let label = metric_label(&report.primary_metric);
    let _ = writeln!(out, "## Leaderboard\n\nRanked by {label} ({}).\n", direction(report));
    let rows: Vec<Vec<String>> = report
        .leaderboard
        .iter()
        .map(|e| {
            let mut model = md(e.model.as_str());
            if e.foreign {
                model.push_str(" ⚠ foreign");
            }
            vec![
                e.rank.to_string(),
                model,
                format!("{} {}", opt(e.value), ci(e.interval.as_ref())),
                pval(e.p_vs_best),
                if e.p_vs_best.is_none() { "—".into() } else { yes_no(e.significantly_worse).into() },
            ]
        })
        .collect();
    md_table(
        &mut out,
        &["Rank", "Model", &format!("{label} [{} CI]", level(report)), "p vs best (Holm)", "Significantly worse"],
        &[0, 2, 3],
        &rows,
    );
    if charts.leaderboard.is_some() {
        out.push_str("![Leaderboard](leaderboard.svg)\n\n");
    }
    let curve_files: Vec<&str> = [
        ("roc.svg", &charts.curves.roc),
        ("pr.svg", &charts.curves.pr),
        ("calibration.svg", &charts.curves.calibration),
    ]
    .into_iter()
    .filter_map(|(f, c)| c.as_ref().map(|_| f))
    .collect();
    if !curve_files.is_empty() {
        out.push_str("## Curves\n\n");
        for f in curve_files {
            let _ = writeln!(out, "![{f}]({f})");
        }
        out.push('\n');
    }

    if !report.comparisons.is_empty() {
        let _ = writeln!(
            out,
            "## Pairwise comparisons\n\nPaired tests on the same test rows; Δ is A − B; adjusted p is Holm-corrected over all pairs (α = {}).\n",
            report.settings.alpha
        );
        let rows: Vec<Vec<String>> = report
            .comparisons
            .iter()
            .map(|c| {
                let d = primary_difference(report, c);
                vec![
                    md(c.a.as_str()),
                    md(c.b.as_str()),
                    count_usize(c.rows),
                    pval(c.mcnemar.as_ref().map(|m| m.p_value)),
                    pval(c.delong.as_ref().map(|d| d.p_value)),
                    format!("{} {}", opt(d.and_then(|d| d.difference)), ci(d.and_then(|d| d.interval.as_ref()))),
                    pval(c.adjusted_p),
                    yes_no(c.significant).into(),
                    c.better.as_ref().map_or_else(|| "tie".into(), |b| md(b.as_str())),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &[
                "A",
                "B",
                "Rows",
                "McNemar p",
                "DeLong p",
                &format!("Δ {label} [{} CI]", level(report)),
                "Adjusted p (Holm)",
                "Significant",
                "Better",
            ],
            &[2, 3, 4, 5, 6],
            &rows,
        );
    }

    out.push_str("## Models\n\n");
    for (i, m) in report.models.iter().enumerate() {
        markdown_model(&mut out, report, i + 1, m, charts);
    }

    let t = &report.timings;
    out.push_str("## Timings\n\n");
    md_table(
        &mut out,
        &["Phase", "Time"],
        &[1],
        &[
            vec!["Load test split".into(), duration(t.load_ms)],
            vec!["Scoring".into(), duration(t.scoring_ms)],
            vec!["Statistics".into(), duration(t.statistics_ms)],
            vec!["Explanations".into(), duration(t.explanations_ms)],
            vec!["**Total**".into(), format!("**{}**", duration(t.total_ms))],
        ],
    );
    out
}

fn markdown_model(out: &mut String, report: &Report, n: usize, m: &ModelReport, charts: &Charts) {
    let _ = writeln!(out, "### {n}. {}\n", md(m.model.as_str()));
    if m.foreign {
        let _ = writeln!(
            out,
            "> **Warning:** trained on another partition ({}) than the one scored.\n",
            m.trained_on.short(12)
        );
    }
    if !m.description.is_empty() {
        let _ = writeln!(out, "{}\n", md(&m.description));
    }
    let _ = writeln!(
        out,
        "Algorithm {} · backend {} · endpoint {} · job {} · trained on `{}`\n",
        md(&m.algorithm),
        md(&m.backend),
        md(m.endpoint.as_str()),
        md(m.job.as_str()),
        m.trained_on.short(12)
    );

    let _ = writeln!(out, "#### Metrics\n");
    let rows: Vec<Vec<String>> =
        m.metrics.iter().map(|e| vec![md(metric_label(&e.metric)), opt(e.value), ci(e.interval.as_ref())]).collect();
    md_table(out, &["Metric", "Value", &format!("{} CI", level(report))], &[1], &rows);

    if !m.per_class.is_empty() {
        let _ = writeln!(out, "#### Per class\n");
        let rows: Vec<Vec<String>> = m
            .per_class
            .iter()
            .map(|c| vec![md(&c.class), rate(c.precision), rate(c.recall), rate(c.f1), count(c.support)])
            .collect();
        md_table(out, &["Class", "Precision", "Recall", "F1", "Support"], &[1, 2, 3, 4], &rows);
    }

    if !m.confusion.is_empty() {
        let _ = writeln!(out, "#### Confusion matrix\n\nRows: actual class; columns: predicted class.\n");
        let labels = class_labels(report, m.confusion.len());
        let mut header: Vec<String> = vec!["actual \\ predicted".into()];
        header.extend(labels.iter().map(|l| md(l)));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = m
            .confusion
            .iter()
            .zip(&labels)
            .map(|(row, l)| std::iter::once(format!("**{}**", md(l))).chain(row.iter().map(|&c| count(c))).collect())
            .collect();
        let right: Vec<usize> = (1..header.len()).collect();
        md_table(out, &header, &right, &rows);
    }

    if !m.thresholds.is_empty() {
        let _ = writeln!(
            out,
            "#### Thresholds\n\nPositive class {}: rows scoring at least the threshold are predicted positive.\n",
            md(report.positive_class.as_deref().unwrap_or("?"))
        );
        let rows: Vec<Vec<String>> = m
            .thresholds
            .iter()
            .map(|t| {
                vec![
                    threshold(t.threshold),
                    count(t.true_positives),
                    count(t.false_positives),
                    count(t.true_negatives),
                    count(t.false_negatives),
                    rate(t.precision),
                    rate(t.recall),
                    rate(t.f1),
                    rate(t.false_positive_rate),
                ]
            })
            .collect();
        md_table(
            out,
            &["Threshold", "TP", "FP", "TN", "FN", "Precision", "Recall", "F1", "FPR"],
            &[0, 1, 2, 3, 4, 5, 6, 7, 8],
            &rows,
        );
    }

    if let Some(imp) = &m.importance {
        let _ = writeln!(
            out,
            "#### Permutation importance\n\n{} rows × {} repeats, {} invocations; baseline {} {}.\n",
            count_usize(imp.rows),
            imp.repeats,
            count_usize(imp.invocations),
            metric_label(&report.primary_metric),
            opt(imp.baseline)
        );
        if charts.importance.iter().any(|(name, _)| name == m.model.as_str()) {
            let _ = writeln!(out, "![Importance](importance-{}.svg)\n", m.model);
        }
        let rows: Vec<Vec<String>> =
            imp.features.iter().map(|f| vec![md(&f.feature), num(f.mean), num(f.std)]).collect();
        md_table(out, &["Feature", "Mean drop", "Std"], &[1, 2], &rows);
    }

    if let Some(slices) = &m.slices {
        let _ = writeln!(out, "#### Slices by {} ({})\n", md(&slices.column), md(&slices.kind));
        let names = slice_metric_names(&slices.slices);
        let mut header: Vec<String> = vec!["Slice".into(), "Rows".into()];
        header.extend(names.iter().map(|n| md(metric_label(n))));
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = slices
            .slices
            .iter()
            .map(|s| {
                let mut row = vec![md(&s.slice), count_usize(s.rows)];
                row.extend(names.iter().map(|n| opt(find_metric(&s.metrics, n))));
                row
            })
            .collect();
        let right: Vec<usize> = (1..header.len()).collect();
        md_table(out, &header, &right, &rows);
    }

    if !m.worst_rows.is_empty() {
        let _ = writeln!(out, "#### Worst rows\n");
        let rows: Vec<Vec<String>> = m
            .worst_rows
            .iter()
            .map(|w| {
                vec![
                    md(&w.row_id),
                    md(&w.actual),
                    md(&w.predicted),
                    w.true_class_probability.map_or_else(|| "—".into(), rate),
                    num(w.loss),
                ]
            })
            .collect();
        md_table(out, &["Row", "Actual", "Predicted", "P(true class)", "Loss"], &[3, 4], &rows);
    }

    let s = &m.scoring;
    let _ = writeln!(
        out,
        "Scoring: {} rows, {} invocations, {} retries, {}.\n",
        count_usize(s.rows),
        count_usize(s.invocations),
        count_usize(s.retries),
        duration(s.elapsed_ms)
    );
    if let Some(file) = &m.predictions_file {
        let _ = writeln!(out, "Predictions for every test row: [{file}]({file}).\n");
    }
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

// ---------------------------------------------------------------------------------------------
// HTML fragments (shared with the web app)

/// Where model links point: anchors inside `index.html`, or pages of the web app.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Links<'a> {
    /// `#model-<name>` inside the one-page report.
    Static,
    /// `/reports/<id>/models/<name>`.
    Web {
        /// The report id.
        id: &'a str,
    },
}

impl Links<'_> {
    pub(crate) fn model(self, model: &str) -> String {
        match self {
            Links::Static => format!("#model-{model}"),
            Links::Web { id } => format!("/reports/{id}/models/{model}"),
        }
    }
}

/// The stylesheet of every page.
const CSS: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--soft:#f6f8fa;--page:#eef1f4;--accent:#0969da;
--good:#1a7f37;--good-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--warn:#9a6700;--warn-bg:#fff8c5}
*{box-sizing:border-box}
html{background:var(--page)}
body{margin:0;color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
nav.top{background:#1f2937;color:#e5e7eb;display:flex;align-items:center;gap:22px;padding:0 28px;height:50px;flex-wrap:wrap}
nav.top a{color:#e5e7eb;font-weight:500}
nav.top a.brand{color:#fff;font-weight:700;font-size:15px;letter-spacing:.2px}
nav.top .crumb{color:#9ca3af}
main{max-width:1240px;margin:0 auto;padding:24px 28px 48px}
header.title h1{font-size:26px;margin:0 0 2px;font-weight:650}
header.title p{margin:0 0 18px;color:var(--muted)}
section.card{background:#fff;border:1px solid var(--border);border-radius:10px;padding:18px 22px;margin:0 0 20px;box-shadow:0 1px 2px rgba(31,35,40,.04)}
section.card>h2{font-size:18px;margin:0 0 12px;padding-bottom:8px;border-bottom:1px solid var(--border);font-weight:650}
h3{font-size:15px;margin:20px 0 8px;font-weight:650}
h3:first-child{margin-top:0}
p.note{color:var(--muted);margin:0 0 10px;font-size:13px}
p.crumbs{color:var(--muted);margin:0 0 14px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:5px 20px;margin:0}
dl.meta dt{color:var(--muted);font-weight:500}
dl.meta dd{margin:0;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;margin:0 0 6px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13.5px}
th,td{padding:6px 12px;border-bottom:1px solid #e6e9ed;text-align:left;vertical-align:middle;white-space:nowrap}
thead th{background:var(--soft);color:var(--muted);font-weight:600;font-size:12.5px;border-bottom:1px solid var(--border)}
tbody tr:hover td{background:#f8fafc}
td.num,th.num{text-align:right}
td.wrap{white-space:normal;max-width:520px}
td.model a,td.model{font-weight:600}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.ci{color:var(--muted);font-size:12.5px;margin-left:6px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:600;line-height:18px;margin-left:6px;vertical-align:1px}
.badge.best{background:var(--good-bg);color:var(--good)}
.badge.worse{background:var(--bad-bg);color:var(--bad)}
.badge.same{background:#eaeef2;color:var(--muted)}
.badge.sig{background:#ddf4ff;color:#0969da}
.badge.foreign{background:var(--warn-bg);color:var(--warn)}
.swatch{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:8px;vertical-align:0}
.alert{border-radius:10px;padding:12px 18px;margin:0 0 20px;border:1px solid}
.alert h2{font-size:15px;margin:0 0 6px}
.alert ul{margin:0;padding-left:20px}
.alert.warnings{background:var(--warn-bg);border-color:#d4a72c;color:#4d3800}
.alert.failures{background:var(--bad-bg);border-color:#ff8182;color:#82071e}
.alert.failures td{border-color:#ffcecb}
.alert.failures thead th{background:transparent}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:16px;align-items:start}
figure{margin:0;background:#fff;border:1px solid #e6e9ed;border-radius:8px;padding:8px}
figure svg{display:block;width:100%;height:auto}
figure.wide{max-width:760px}
.cols{display:flex;flex-wrap:wrap;gap:16px 40px;align-items:flex-start;margin-top:16px}
table.leaderboard,table.models,table.reports,table.pairs,.alert.failures table{width:100%}
table.matrix td.pair-cell{text-align:center;min-width:120px;white-space:normal;line-height:1.35;border:1px solid #e6e9ed}
table.matrix th.row{text-align:right}
table.matrix thead th{text-align:center}
td.pair-cell.better{background:var(--good-bg)}
td.pair-cell.worse{background:var(--bad-bg)}
td.pair-cell.diag{background:#eef1f4;color:var(--muted)}
td.pair-cell .diff{font-weight:650;font-size:14px}
td.pair-cell .sub{color:var(--muted);font-size:11.5px}
table.confusion td.num{min-width:64px}
.modelhead{display:flex;align-items:baseline;gap:10px;flex-wrap:wrap}
.modelhead h2{margin:0}
.desc{margin:6px 0 12px;color:#30363d;overflow-wrap:anywhere}
.empty{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
"#;

/// A whole page: document shell, stylesheet, navigation and `body`.
pub(crate) fn page(title: &str, nav: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (nav)
                main { (body) }
            }
        }
    }
}

/// The report's title and the facts it was computed from.
pub(crate) fn header(report: &Report) -> Markup {
    let s = &report.settings;
    html! {
        header.title {
            h1 { "Model comparison: " (report.dataset.as_str()) }
            p { "Report " code { (report.id) } " · " (report.created_at) " · "
                (report.models.len()) " scored, " (report.failures.len()) " failed" }
        }
        section.card #summary {
            h2 { "Summary" }
            dl.meta {
                dt { "Dataset" } dd { (report.dataset.as_str()) }
                dt { "Task" } dd { (task_line(report)) }
                dt { "Fingerprint" } dd { code { (report.fingerprint.to_string()) } }
                dt { "Test rows" } dd { (count_usize(report.test_rows)) }
                dt { "Row ids" } dd { (report.row_id_column.as_deref().unwrap_or("row number in the test split")) }
                dt { "Seed" } dd { code { (s.seed) } }
                dt { "Primary metric" } dd { (metric_label(&report.primary_metric)) " (" (direction(report)) ")" }
                dt { "Settings" } dd { (settings_line(report)) }
            }
        }
    }
}

/// Warnings, shown before anything else.
pub(crate) fn warnings(report: &Report) -> Markup {
    html! {
        @if !report.warnings.is_empty() {
            div.alert.warnings role="alert" {
                h2 { "⚠ Warnings (" (report.warnings.len()) ")" }
                ul { @for w in &report.warnings { li { (w) } } }
            }
        }
    }
}

/// Models that could not be scored.
pub(crate) fn failures(report: &Report) -> Markup {
    html! {
        @if !report.failures.is_empty() {
            div.alert.failures #failures {
                h2 { "✕ Models that could not be scored (" (report.failures.len()) ")" }
                div.table-wrap { table {
                    thead { tr { th { "Model" } th { "Endpoint" } th { "Error" } } }
                    tbody { @for f in &report.failures {
                        tr.failure { td.model { (f.model.as_str()) } td { code { (f.endpoint.as_str()) } } td.wrap { (f.error) } }
                    } }
                } }
            }
        }
    }
}

fn significance_badge(e: &LeaderboardEntry) -> Markup {
    html! {
        @if e.p_vs_best.is_none() && e.rank == 1 {
            span.badge.best { "best" }
        } @else if e.significantly_worse {
            span.badge.worse { "yes" }
        } @else if e.p_vs_best.is_some() {
            span.badge.same { "no" }
        } @else {
            "—"
        }
    }
}

/// The leaderboard table (and its chart when `chart` is given).
pub(crate) fn leaderboard(report: &Report, links: Links<'_>, chart: Option<&str>) -> Markup {
    let label = metric_label(&report.primary_metric);
    html! {
        section.card #leaderboard {
            h2 { "Leaderboard" }
            p.note { "Ranked by " (label) " (" (direction(report)) "), " (level(report))
                " bootstrap intervals; p-values are paired bootstrap tests against the best model, Holm-corrected (α = "
                (report.settings.alpha) ")." }
            @if report.leaderboard.is_empty() {
                p.empty { "No model was scored." }
            } @else {
                div.table-wrap { table.leaderboard {
                    thead { tr {
                        th.num { "Rank" } th { "Model" } th.num { (label) } th { (level(report)) " CI" }
                        th.num { "p vs best (Holm)" } th { "Significantly worse" }
                    } }
                    tbody { @for e in &report.leaderboard {
                        tr {
                            td.num.rank { (e.rank) }
                            td.model {
                                span.swatch style={ "background:" (colour(report, e.model.as_str())) } {}
                                a href=(links.model(e.model.as_str())) { (e.model.as_str()) }
                                @if e.foreign { span.badge.foreign title="trained on another partition" { "foreign" } }
                            }
                            td.num.value { (opt(e.value)) }
                            td.ci { (ci(e.interval.as_ref())) }
                            td.num { (pval(e.p_vs_best)) }
                            td.sig { (significance_badge(e)) }
                        }
                    } }
                } }
            }
            @if let Some(svg) = chart {
                figure.wide { (PreEscaped(svg)) }
            }
        }
    }
}

/// The overlaid ROC, precision-recall and calibration charts.
pub(crate) fn curves(title: &str, charts: &CurveCharts) -> Markup {
    let present: Vec<&String> = [&charts.roc, &charts.pr, &charts.calibration].into_iter().flatten().collect();
    html! {
        @if !present.is_empty() {
            section.card #curves {
                h2 { (title) }
                div.charts { @for svg in present { figure { (PreEscaped(svg.as_str())) } } }
            }
        }
    }
}

/// The cell of the pairwise matrix for `row` against `col`: (difference row − col, interval,
/// comparison).
fn pair<'a>(
    report: &'a Report,
    row: &str,
    col: &str,
) -> Option<(Option<f64>, Option<Interval>, &'a PairwiseComparison)> {
    report.comparisons.iter().find_map(|c| {
        let d = primary_difference(report, c);
        let diff = d.and_then(|d| d.difference);
        let interval = d.and_then(|d| d.interval);
        if c.a.as_str() == row && c.b.as_str() == col {
            Some((diff, interval, c))
        } else if c.a.as_str() == col && c.b.as_str() == row {
            Some((diff.map(|v| -v), interval.map(|i| Interval { low: -i.high, high: -i.low }), c))
        } else {
            None
        }
    })
}

/// The models × models matrix of primary-metric differences (row − column).
pub(crate) fn pair_matrix(report: &Report, links: Links<'_>) -> Markup {
    let label = metric_label(&report.primary_metric);
    let names: Vec<&str> = report.models.iter().map(|m| m.model.as_str()).collect();
    html! {
        section.card #pairs-matrix {
            h2 { "Pairwise matrix" }
            p.note { "Each cell: Δ " (label) " of the row model minus the column model with its " (level(report))
                " interval, then McNemar and DeLong p-values. Green: the row model is significantly better, red: significantly worse (Holm-adjusted p < "
                (report.settings.alpha) ")." }
            div.table-wrap { table.matrix {
                thead { tr { th { "row − column" } @for n in &names { th { a href=(links.model(n)) { (n) } } } } }
                tbody { @for r in &names {
                    tr {
                        th.row { span.swatch style={ "background:" (colour(report, r)) } {} a href=(links.model(r)) { (r) } }
                        @for c in &names { (pair_cell(report, r, c)) }
                    }
                } }
            } }
        }
    }
}

fn pair_cell(report: &Report, row: &str, col: &str) -> Markup {
    if row == col {
        return html! { td.pair-cell.diag { "—" } };
    }
    let Some((diff, interval, c)) = pair(report, row, col) else {
        return html! { td.pair-cell { span.sub { "not compared" } } };
    };
    let row_better = diff.map(|d| if report.higher_is_better { d > 0.0 } else { d < 0.0 });
    let class = match (c.significant, row_better) {
        (true, Some(true)) => "pair-cell better",
        (true, Some(false)) => "pair-cell worse",
        _ => "pair-cell",
    };
    let sign = |v: Option<f64>| match v {
        Some(v) if v > 0.0 => format!("+{}", num(v)),
        other => opt(other),
    };
    html! {
        td class=(class) title={ (row) " vs " (col) } {
            div.diff { (sign(diff)) }
            div.sub { (ci(interval.as_ref())) }
            div.sub { @if c.significant { "significant" } @else { "not significant" } " · adj. p " (pval(c.adjusted_p)) }
            div.sub { "McNemar " (pval(c.mcnemar.as_ref().map(|m| m.p_value))) " · DeLong " (pval(c.delong.as_ref().map(|d| d.p_value))) }
        }
    }
}

/// Every pairwise comparison as a table.
pub(crate) fn pairwise_table(report: &Report, links: Links<'_>) -> Markup {
    let label = metric_label(&report.primary_metric);
    html! {
        @if !report.comparisons.is_empty() {
            section.card #pairs {
                h2 { "Pairwise comparisons" }
                p.note { "Paired tests on the same test rows; Δ is A − B; adjusted p is Holm-corrected over all pairs." }
                div.table-wrap { table.pairs {
                    thead { tr {
                        th { "A" } th { "B" } th.num { "Rows" } th.num { "McNemar p" } th.num { "DeLong p" }
                        th.num { "Δ " (label) } th { (level(report)) " CI" } th.num { "Adjusted p" } th { "Significant" } th { "Better" }
                    } }
                    tbody { @for c in &report.comparisons {
                        @let d = primary_difference(report, c);
                        tr {
                            td.model { a href=(links.model(c.a.as_str())) { (c.a.as_str()) } }
                            td.model { a href=(links.model(c.b.as_str())) { (c.b.as_str()) } }
                            td.num { (count_usize(c.rows)) }
                            td.num { (pval(c.mcnemar.as_ref().map(|m| m.p_value))) }
                            td.num { (pval(c.delong.as_ref().map(|d| d.p_value))) }
                            td.num { (opt(d.and_then(|d| d.difference))) }
                            td.ci { (ci(d.and_then(|d| d.interval.as_ref()))) }
                            td.num { (pval(c.adjusted_p)) }
                            td { @if c.significant { span.badge.sig { "yes" } } @else { span.badge.same { "no" } } }
                            td { (c.better.as_ref().map_or("tie", |b| b.as_str())) }
                        }
                    } }
                } }
            }
        }
    }
}

/// A model's metrics with intervals.
pub(crate) fn metrics_table(report: &Report, m: &ModelReport) -> Markup {
    html! {
        div.table-wrap { table.metrics {
            thead { tr { th { "Metric" } th.num { "Value" } th { (level(report)) " CI" } } }
            tbody { @for e in &m.metrics {
                tr {
                    td title=(e.metric) {
                        (metric_label(&e.metric))
                        @if e.metric == report.primary_metric { span.badge.same { "primary" } }
                    }
                    td.num.value { (opt(e.value)) }
                    td.ci { (ci(e.interval.as_ref())) }
                }
            } }
        } }
    }
}

/// Everything about one model: identity, metrics, per-class, confusion, thresholds,
/// importance, slices, worst rows and scoring. `curves` are inserted after the metrics;
/// `files` is where the report's files are linked from (`""` beside `index.html`).
pub(crate) fn model_detail(
    report: &Report,
    m: &ModelReport,
    curves: Option<&CurveCharts>,
    importance: Option<&str>,
    files: &str,
) -> Markup {
    let name = m.model.as_str();
    let rank = report.leaderboard.iter().find(|e| e.model.as_str() == name);
    html! {
        section.card.model id={ "model-" (name) } {
            div.modelhead {
                span.swatch style={ "background:" (colour(report, name)) } {}
                h2.model-name { (name) }
                @if let Some(e) = rank {
                    span.badge.same { "rank " (e.rank) }
                    @if e.significantly_worse { span.badge.worse { "significantly worse than best" } }
                    @if e.rank == 1 { span.badge.best { "best" } }
                }
                @if m.foreign { span.badge.foreign { "foreign partition" } }
            }
            @if !m.description.is_empty() { p.desc { (m.description) } }
            dl.meta {
                dt { "Algorithm" } dd { (m.algorithm) }
                dt { "Backend" } dd { (m.backend) }
                dt { "Endpoint" } dd { code { (m.endpoint.as_str()) } }
                dt { "Training job" } dd { code { (m.job.as_str()) } }
                dt { "Trained on" } dd { code title=(m.trained_on.to_string()) { (m.trained_on.short(16)) "…" }
                    @if m.foreign { " — another partition than the one scored" } }
                dt { "Scoring" } dd { (count_usize(m.scoring.rows)) " rows, " (count_usize(m.scoring.invocations)) " invocations, "
                    (count_usize(m.scoring.retries)) " retries, " (duration(m.scoring.elapsed_ms)) }
                @if let Some(file) = &m.predictions_file {
                    dt { "Predictions" } dd { a href={ (files) (file) } { (file) } " (every test row)" }
                }
            }
            div.cols {
                div { h3 { "Metrics" } (metrics_table(report, m)) }
                @if !m.per_class.is_empty() {
                    div { h3 { "Per class" } (per_class(m)) }
                }
                @if !m.confusion.is_empty() {
                    div { h3 { "Confusion matrix" } (confusion(report, m)) }
                }
            }
            @if let Some(c) = curves {
                @let present: Vec<&String> = [&c.roc, &c.pr, &c.calibration].into_iter().flatten().collect();
                @if !present.is_empty() {
                    h3 { "Curves" }
                    div.charts { @for svg in present { figure { (PreEscaped(svg.as_str())) } } }
                }
            }
            @if !m.thresholds.is_empty() { (thresholds(report, m)) }
            (importance_section(report, m, importance))
            (slices(m))
            (worst_rows(m))
        }
    }
}

fn per_class(m: &ModelReport) -> Markup {
    html! {
        div.table-wrap { table.per-class {
            thead { tr { th { "Class" } th.num { "Precision" } th.num { "Recall" } th.num { "F1" } th.num { "Support" } } }
            tbody { @for c in &m.per_class {
                tr { td { (c.class) } td.num { (rate(c.precision)) } td.num { (rate(c.recall)) } td.num { (rate(c.f1)) } td.num { (count(c.support)) } }
            } }
        } }
    }
}

fn confusion(report: &Report, m: &ModelReport) -> Markup {
    let labels = class_labels(report, m.confusion.len());
    html! {
        div.table-wrap { table.confusion {
            thead { tr { th { "actual ↓ / predicted →" } @for l in &labels { th.num { (l) } } } }
            tbody { @for (row, l) in m.confusion.iter().zip(&labels) {
                @let total: u64 = row.iter().sum();
                tr {
                    th { (l) }
                    @for (j, &v) in row.iter().enumerate() {
                        @let share = if total > 0 { v as f64 / total as f64 } else { 0.0 };
                        @let diagonal = labels.get(j) == Some(l);
                        @let tint = if diagonal { format!("background:rgba(26,127,55,{:.2})", 0.08 + 0.35 * share) }
                                    else if v > 0 { format!("background:rgba(207,34,46,{:.2})", 0.06 + 0.35 * share) }
                                    else { String::new() };
                        td.num style=(tint) title={ (format!("{:.1}", share * 100.0)) "% of actual " (l) } { (count(v)) }
                    }
                }
            } }
        } }
    }
}

fn thresholds(report: &Report, m: &ModelReport) -> Markup {
    // The row with the best F1 is highlighted.
    let best = m
        .thresholds
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.f1.partial_cmp(&b.1.f1).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(i, _)| i);
    html! {
        h3 { "Thresholds" }
        p.note { "Positive class " code { (report.positive_class.as_deref().unwrap_or("?")) }
            ": rows scoring at least the threshold are predicted positive. Bold: the best F1." }
        div.table-wrap { table.thresholds {
            thead { tr {
                th.num { "Threshold" } th.num { "TP" } th.num { "FP" } th.num { "TN" } th.num { "FN" }
                th.num { "Precision" } th.num { "Recall" } th.num { "F1" } th.num { "FPR" }
            } }
            tbody { @for (i, t) in m.thresholds.iter().enumerate() {
                tr style=[(Some(i) == best).then_some("font-weight:650")] {
                    td.num { (threshold(t.threshold)) }
                    td.num { (count(t.true_positives)) } td.num { (count(t.false_positives)) }
                    td.num { (count(t.true_negatives)) } td.num { (count(t.false_negatives)) }
                    td.num { (rate(t.precision)) } td.num { (rate(t.recall)) } td.num { (rate(t.f1)) }
                    td.num { (rate(t.false_positive_rate)) }
                }
            } }
        } }
    }
}

fn importance_section(report: &Report, m: &ModelReport, chart: Option<&str>) -> Markup {
    html! {
        @if let Some(imp) = &m.importance {
            h3 { "Permutation importance" }
            p.note { (count_usize(imp.rows)) " rows × " (imp.repeats) " repeats, " (count_usize(imp.invocations))
                " invocations; baseline " (metric_label(&report.primary_metric)) " " (opt(imp.baseline)) "." }
            div.cols {
                @if let Some(svg) = chart { figure.wide style="flex:1 1 520px" { (PreEscaped(svg)) } }
                div.table-wrap { table.importance {
                    thead { tr { th { "Feature" } th.num { "Mean drop" } th.num { "Std" } } }
                    tbody { @for f in &imp.features {
                        tr { td { (f.feature) } td.num { (num(f.mean)) } td.num { (num(f.std)) } }
                    } }
                } }
            }
        }
    }
}

fn slices(m: &ModelReport) -> Markup {
    html! {
        @if let Some(s) = &m.slices {
            @let names = slice_metric_names(&s.slices);
            h3 { "Slices by " code { (s.column) } }
            p.note { "Slices by " (s.kind) "; metrics on each slice's rows, without intervals." }
            div.table-wrap { table.slices {
                thead { tr { th { "Slice" } th.num { "Rows" } @for n in &names { th.num { (metric_label(n)) } } } }
                tbody { @for row in &s.slices {
                    tr { td { (row.slice) } td.num { (count_usize(row.rows)) }
                        @for n in &names { td.num { (opt(find_metric(&row.metrics, n))) } } }
                } }
            } }
        }
    }
}

fn worst_rows(m: &ModelReport) -> Markup {
    html! {
        @if !m.worst_rows.is_empty() {
            h3 { "Worst rows" }
            div.table-wrap { table.worst {
                thead { tr { th { "Row" } th { "Actual" } th { "Predicted" } th.num { "P(true class)" } th.num { "Loss" } } }
                tbody { @for w in &m.worst_rows {
                    tr { td { code { (w.row_id) } } td { (w.actual) } td { (w.predicted) }
                        td.num { (w.true_class_probability.map_or_else(|| "—".to_owned(), rate)) } td.num { (num(w.loss)) } }
                } }
            } }
        }
    }
}

/// Where the time went.
pub(crate) fn timings(report: &Report) -> Markup {
    let t = &report.timings;
    html! {
        section.card #timings {
            h2 { "Timings" }
            div.table-wrap { table.timings {
                tbody {
                    tr { td { "Load test split" } td.num { (duration(t.load_ms)) } }
                    tr { td { "Scoring" } td.num { (duration(t.scoring_ms)) } }
                    tr { td { "Statistics" } td.num { (duration(t.statistics_ms)) } }
                    tr { td { "Explanations" } td.num { (duration(t.explanations_ms)) } }
                    tr { th { "Total" } th.num { (duration(t.total_ms)) } }
                }
            } }
        }
    }
}

fn static_nav(report: &Report, charts: &Charts) -> Markup {
    html! {
        nav.top {
            a.brand href="#summary" { "wb compare" }
            a href="#leaderboard" { "Leaderboard" }
            @if charts.curves.roc.is_some() || charts.curves.pr.is_some() || charts.curves.calibration.is_some() { a href="#curves" { "Curves" } }
            @if !report.comparisons.is_empty() { a href="#pairs-matrix" { "Pairs" } }
            a href="#models" { "Models" }
            a href="#timings" { "Timings" }
            a href="report.json" { "report.json" }
            a href="report.md" { "report.md" }
        }
    }
}

fn html_with(report: &Report, charts: &Charts) -> String {
    let body = html! {
        (warnings(report))
        (header(report))
        (failures(report))
        (leaderboard(report, Links::Static, charts.leaderboard.as_deref()))
        (curves("Curves", &charts.curves))
        @if report.models.len() > 1 { (pair_matrix(report, Links::Static)) }
        (pairwise_table(report, Links::Static))
        div #models {
            @for m in &report.models {
                @let imp = charts.importance.iter().find(|(n, _)| n == m.model.as_str()).map(|(_, s)| s.as_str());
                (model_detail(report, m, None, imp, ""))
            }
        }
        (timings(report))
        footer { "Generated by wb compare from report.json (format " (report.format) ")." }
    };
    page(&format!("Model comparison: {} ({})", report.dataset, report.id), static_nav(report, charts), body)
        .into_string()
}

// ---------------------------------------------------------------------------------------------

/// Hand-written SVG charts.
///
/// Why not plotters: its SVG backend without the `ttf` feature estimates text widths naively,
/// emits fixed pixel sizes, and offers no control over legends inside the plot, titles, error
/// bars or XML escaping of labels; it would also add a dependency tree to every build. The
/// charts here are three simple shapes (lines over a unit square, points with interval bars,
/// horizontal bars), so a few hundred lines of string building give crisp, scalable
/// (`viewBox`) SVG with escaped labels, shared colours and no dependencies.
pub(crate) mod chart {
    use std::fmt::Write as _;

    /// Tableau 10: distinguishable, colour-blind friendlier than the defaults.
    pub(crate) const PALETTE: [&str; 10] =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
    const AXIS: &str = "#8c959f";
    const GRID: &str = "#eaeef2";
    const TEXT: &str = "#1f2328";
    const MUTED: &str = "#59636e";

    /// Escapes text and attribute values.
    pub(crate) fn esc(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
        out
    }

    /// Shortens `s` to `max` characters with an ellipsis.
    fn clip(s: &str, max: usize) -> String {
        if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max - 1).chain(['…']).collect() }
    }

    /// Rough width of `s` at `size` px (average glyph ≈ 0.58 em).
    fn text_width(s: &str, size: f64) -> f64 {
        s.chars().count() as f64 * size * 0.58
    }

    /// One line of a line chart.
    pub(crate) struct Series {
        pub(crate) name: String,
        pub(crate) colour: &'static str,
        pub(crate) points: Vec<(f64, f64)>,
        pub(crate) markers: bool,
    }

    /// Where the legend goes inside the plot.
    #[derive(Clone, Copy)]
    pub(crate) enum Corner {
        TopLeft,
        BottomLeft,
        BottomRight,
    }

    /// A chart over the unit square.
    pub(crate) struct LineChart<'a> {
        pub(crate) title: &'a str,
        pub(crate) x_label: &'a str,
        pub(crate) y_label: &'a str,
        /// A dashed diagonal with this legend label.
        pub(crate) diagonal: Option<&'a str>,
        /// A dashed horizontal line at y with a label.
        pub(crate) baseline: Option<(f64, String)>,
        pub(crate) legend: Corner,
        pub(crate) legend_title: &'a str,
        pub(crate) series: Vec<Series>,
    }

    fn open(out: &mut String, w: f64, h: f64, title: &str) {
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="{FONT}" font-size="12" fill="{TEXT}"><title>{}</title><rect width="{w}" height="{h}" fill="#ffffff"/>"##,
            esc(title)
        );
        let _ = write!(
            out,
            r#"<text x="{}" y="24" text-anchor="middle" font-size="14" font-weight="600">{}</text>"#,
            w / 2.0,
            esc(title)
        );
    }

    /// Nice tick values covering `[lo, hi]`, about `target` of them, with the decimals to show.
    pub(crate) fn ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
        let span = (hi - lo).abs().max(1e-12);
        let raw = span / target.max(1) as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let norm = raw / mag;
        let step = mag * [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|&s| norm <= s + 1e-9).unwrap_or(10.0);
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        let decimals = (0..=6usize)
            .find(|&d| {
                let scaled = step * 10f64.powi(d as i32);
                (scaled - scaled.round()).abs() < 1e-6
            })
            .unwrap_or(6);
        // Rounded to the shown decimals, so 3 × 0.2 is 0.6 and not 0.6000000000000001.
        let scale = 10f64.powi(decimals as i32);
        let values: Vec<f64> = (first..=last).map(|i| (i as f64 * step * scale).round() / scale).collect();
        (values, decimals)
    }

    /// Expands `[lo, hi]` outward to tick multiples.
    fn nice_range(lo: f64, hi: f64, target: usize) -> (f64, f64) {
        let (lo, hi) = if (hi - lo).abs() < 1e-12 {
            (lo - 0.5_f64.max(lo.abs() * 0.1), hi + 0.5_f64.max(hi.abs() * 0.1))
        } else {
            (lo, hi)
        };
        let (t, _) = ticks(lo, hi, target);
        let step = if t.len() >= 2 { t[1] - t[0] } else { (hi - lo) / target.max(1) as f64 };
        ((lo / step).floor() * step, (hi / step).ceil() * step)
    }

    fn legend(
        out: &mut String,
        corner: Corner,
        plot: (f64, f64, f64, f64),
        title: &str,
        entries: &[(String, &str, bool)],
    ) {
        if entries.is_empty() {
            return;
        }
        let (px, py, pw, ph) = plot;
        let row = 17.0;
        let width = entries.iter().map(|(t, _, _)| text_width(t, 11.0)).fold(text_width(title, 10.5), f64::max) + 40.0;
        let width = width.min(pw - 16.0);
        let height = row * entries.len() as f64 + 26.0;
        let x = match corner {
            Corner::TopLeft | Corner::BottomLeft => px + 10.0,
            Corner::BottomRight => px + pw - width - 10.0,
        };
        let y = match corner {
            Corner::TopLeft => py + 10.0,
            Corner::BottomLeft | Corner::BottomRight => py + ph - height - 10.0,
        };
        let _ = write!(
            out,
            r##"<g class="legend"><rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}" rx="4" fill="#ffffff" fill-opacity="0.92" stroke="#d1d9e0"/>"##
        );
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10.5" fill="{MUTED}">{}</text>"#,
            x + 10.0,
            y + 15.0,
            esc(title)
        );
        for (i, (text, colour, dashed)) in entries.iter().enumerate() {
            let cy = y + 30.0 + row * i as f64;
            let dash = if *dashed { r#" stroke-dasharray="4 3""# } else { "" };
            let _ = write!(
                out,
                r#"<line x1="{:.1}" y1="{cy:.1}" x2="{:.1}" y2="{cy:.1}" stroke="{colour}" stroke-width="2.5"{dash}/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
                x + 10.0,
                x + 28.0,
                x + 34.0,
                cy + 4.0,
                esc(text)
            );
        }
        out.push_str("</g>");
    }

    /// A chart of curves over [0, 1] × [0, 1].
    pub(crate) fn line_chart(c: &LineChart<'_>) -> String {
        let (w, h) = (500.0, 440.0);
        let (ml, mr, mt, mb) = (58.0, 18.0, 40.0, 52.0);
        let (pw, ph) = (w - ml - mr, h - mt - mb);
        let sx = |x: f64| ml + x.clamp(0.0, 1.0) * pw;
        let sy = |y: f64| mt + (1.0 - y.clamp(0.0, 1.0)) * ph;
        let mut out = String::with_capacity(8192);
        open(&mut out, w, h, c.title);
        let (ticks, decimals) = ticks(0.0, 1.0, 5);
        for &t in &ticks {
            let (x, y) = (sx(t), sy(t));
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{mt}" x2="{x:.1}" y2="{:.1}" stroke="{GRID}"/><line x1="{ml}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{GRID}"/>"#,
                mt + ph,
                ml + pw
            );
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="11">{t:.decimals$}</text><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{MUTED}" font-size="11">{t:.decimals$}</text>"#,
                mt + ph + 16.0,
                ml - 6.0,
                y + 4.0
            );
        }
        let _ = write!(out, r#"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="{AXIS}"/>"#);
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12.5">{}</text><text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" font-size="12.5">{}</text>"#,
            ml + pw / 2.0,
            h - 14.0,
            esc(c.x_label),
            mt + ph / 2.0,
            esc(c.y_label)
        );
        let mut entries: Vec<(String, &str, bool)> = Vec::new();
        if let Some(label) = c.diagonal {
            let _ = write!(
                out,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{AXIS}" stroke-width="1.2" stroke-dasharray="5 4"/>"#,
                sx(0.0),
                sy(0.0),
                sx(1.0),
                sy(1.0)
            );
            entries.push((label.to_owned(), AXIS, true));
        }
        if let Some((y, label)) = &c.baseline {
            let _ = write!(
                out,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{AXIS}" stroke-width="1.2" stroke-dasharray="5 4"/>"#,
                sx(0.0),
                sy(*y),
                sx(1.0),
                sy(*y)
            );
            entries.push((label.clone(), AXIS, true));
        }
        for s in &c.series {
            let mut points = String::new();
            let mut last = (f64::NAN, f64::NAN);
            for &(x, y) in s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                let p = ((sx(x) * 10.0).round() / 10.0, (sy(y) * 10.0).round() / 10.0);
                if p != last {
                    let _ = write!(points, "{:.1},{:.1} ", p.0, p.1);
                    last = p;
                }
            }
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{}" stroke-width="2.2" stroke-linejoin="round" stroke-linecap="round" points="{}"><title>{}</title></polyline>"#,
                s.colour,
                points.trim_end(),
                esc(&s.name)
            );
            if s.markers {
                for &(x, y) in s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                    let _ = write!(
                        out,
                        r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="#ffffff" stroke-width="1"/>"##,
                        sx(x),
                        sy(y),
                        s.colour
                    );
                }
            }
        }
        entries.extend(c.series.iter().map(|s| (clip(&s.name, 40), s.colour, false)));
        legend(&mut out, c.legend, (ml, mt, pw, ph), c.legend_title, &entries);
        out.push_str("</svg>");
        out
    }

    /// One row of an interval chart.
    pub(crate) struct IntervalRow {
        pub(crate) label: String,
        pub(crate) colour: &'static str,
        pub(crate) value: f64,
        pub(crate) interval: Option<(f64, f64)>,
        pub(crate) note: String,
    }

    /// Points with horizontal interval bars, one row per item (the leaderboard).
    pub(crate) fn interval_chart(title: &str, x_label: &str, rows: &[IntervalRow]) -> String {
        let row_h = 30.0;
        let labels: Vec<String> = rows.iter().map(|r| clip(&r.label, 30)).collect();
        let label_w = labels.iter().map(|l| text_width(l, 12.0)).fold(60.0, f64::max);
        let note_w = rows.iter().map(|r| text_width(&r.note, 11.0)).fold(60.0, f64::max);
        let w = 720.0;
        let (ml, mr, mt, mb) = (label_w + 24.0, note_w + 24.0, 44.0, 50.0);
        let pw = (w - ml - mr).max(160.0);
        let w = ml + pw + mr;
        let h = mt + row_h * rows.len() as f64 + mb;
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for r in rows {
            let (a, b) = r.interval.unwrap_or((r.value, r.value));
            lo = lo.min(a.min(r.value));
            hi = hi.max(b.max(r.value));
        }
        let pad = ((hi - lo) * 0.08).max(1e-3);
        let (lo, hi) = nice_range(lo - pad, hi + pad, 5);
        let sx = |v: f64| ml + (v - lo) / (hi - lo) * pw;
        let mut out = String::with_capacity(4096);
        open(&mut out, w, h, title);
        let bottom = mt + row_h * rows.len() as f64;
        let (ticks, decimals) = ticks(lo, hi, 5);
        for &t in &ticks {
            let x = sx(t);
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{GRID}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="11">{t:.decimals$}</text>"#,
                mt - 6.0,
                bottom + 16.0
            );
        }
        let _ = write!(
            out,
            r#"<line x1="{ml}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="{AXIS}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12.5">{}</text>"#,
            ml + pw,
            ml + pw / 2.0,
            h - 12.0,
            esc(x_label)
        );
        if let Some(best) = rows.first() {
            let x = sx(best.value);
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{AXIS}" stroke-dasharray="4 4"/>"#,
                mt - 6.0
            );
        }
        for (i, (r, label)) in rows.iter().zip(&labels).enumerate() {
            let cy = mt + row_h * (i as f64 + 0.5);
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text>"#,
                ml - 10.0,
                cy + 4.0,
                esc(label)
            );
            if let Some((a, b)) = r.interval {
                let (xa, xb) = (sx(a), sx(b));
                let _ = write!(
                    out,
                    r#"<path d="M{xa:.1} {cy:.1}H{xb:.1}M{xa:.1} {:.1}V{:.1}M{xb:.1} {:.1}V{:.1}" stroke="{}" stroke-width="2" fill="none"/>"#,
                    cy - 6.0,
                    cy + 6.0,
                    cy - 6.0,
                    cy + 6.0,
                    r.colour
                );
            }
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{cy:.1}" r="5.5" fill="{}" stroke="#ffffff" stroke-width="1.5"><title>{}</title></circle>"##,
                sx(r.value),
                r.colour,
                esc(&r.note)
            );
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{MUTED}">{}</text>"#,
                ml + pw + 12.0,
                cy + 4.0,
                esc(&r.note)
            );
        }
        out.push_str("</svg>");
        out
    }

    /// Horizontal bars with ± error whiskers (permutation importance).
    pub(crate) fn bar_chart(title: &str, x_label: &str, colour: &str, rows: &[(String, f64, f64)]) -> String {
        let row_h = 24.0;
        let labels: Vec<String> = rows.iter().map(|r| clip(&r.0, 28)).collect();
        let label_w = labels.iter().map(|l| text_width(l, 12.0)).fold(60.0, f64::max);
        let w = 640.0;
        let (ml, mr, mt, mb) = (label_w + 20.0, 60.0, 44.0, 50.0);
        let pw = (w - ml - mr).max(160.0);
        let w = ml + pw + mr;
        let h = mt + row_h * rows.len() as f64 + mb;
        // The axis covers zero and every whisker, padded a little, without rounding out to a
        // whole tick step (a tiny negative importance must not double the axis).
        let lo = rows.iter().map(|r| r.1 - r.2.max(0.0)).fold(0.0, f64::min);
        let hi = rows.iter().map(|r| r.1 + r.2.max(0.0)).fold(0.0, f64::max);
        let (lo, hi) = if hi - lo < 1e-12 {
            (lo, lo + 1.0)
        } else {
            let pad = (hi - lo) * 0.04;
            (if lo < 0.0 { lo - pad } else { 0.0 }, if hi > 0.0 { hi + pad } else { 0.0 })
        };
        let sx = |v: f64| ml + (v - lo) / (hi - lo) * pw;
        let bottom = mt + row_h * rows.len() as f64;
        let mut out = String::with_capacity(4096);
        open(&mut out, w, h, title);
        let (ticks, decimals) = ticks(lo, hi, 5);
        for &t in &ticks {
            let x = sx(t);
            let _ = write!(
                out,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{GRID}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="11">{t:.decimals$}</text>"#,
                mt - 4.0,
                bottom + 16.0
            );
        }
        for (i, ((label, mean, std), short)) in rows.iter().zip(&labels).enumerate() {
            let top = mt + row_h * i as f64 + 4.0;
            let cy = top + (row_h - 8.0) / 2.0;
            let (x0, x1) = (sx(0.0_f64.min(*mean)), sx(0.0_f64.max(*mean)));
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}<title>{}</title></text>"#,
                ml - 8.0,
                cy + 4.0,
                esc(short),
                esc(label)
            );
            let _ = write!(
                out,
                r#"<rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" rx="2" fill="{colour}" fill-opacity="0.85"><title>{}: {mean:.4} ± {std:.4}</title></rect>"#,
                (x1 - x0).max(0.5),
                row_h - 8.0,
                esc(label)
            );
            if *std > 0.0 {
                let (a, b) = (sx(mean - std), sx(mean + std));
                let _ = write!(
                    out,
                    r##"<path d="M{a:.1} {cy:.1}H{b:.1}M{a:.1} {:.1}V{:.1}M{b:.1} {:.1}V{:.1}" stroke="#30363d" stroke-width="1.2" fill="none"/>"##,
                    cy - 4.0,
                    cy + 4.0,
                    cy - 4.0,
                    cy + 4.0
                );
            }
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="11" fill="{MUTED}">{mean:.3}</text>"#,
                ml + pw + 8.0,
                cy + 4.0
            );
        }
        let zero = sx(0.0);
        let _ = write!(
            out,
            r#"<line x1="{zero:.1}" y1="{:.1}" x2="{zero:.1}" y2="{bottom:.1}" stroke="{AXIS}"/><line x1="{ml}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="{AXIS}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12.5">{}</text>"#,
            mt - 4.0,
            ml + pw,
            ml + pw / 2.0,
            h - 12.0,
            esc(x_label)
        );
        out.push_str("</svg>");
        out
    }
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
        assert_eq!(chart::ticks(0.0, 1.0, 5), (vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 1));
        let (t, d) = chart::ticks(0.7, 0.95, 5);
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
        report.task = "regression".into();
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

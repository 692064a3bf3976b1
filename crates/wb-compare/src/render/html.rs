//! HTML fragments, shared by `index.html` and the web app, and the one-page report.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{
    Charts, CurveCharts, ci, class_labels, colour, count, count_usize, direction, duration, embeddable, find_metric,
    level, metric_label, num, opt, primary_difference, pval, rate, row_ids_line, settings_line, slice_metric_names,
    task_line, threshold,
};
use crate::report::{InputKind, LeaderboardEntry, ModelReport, PairwiseComparison, Report};
use crate::stats::Interval;

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
.gallery{display:flex;flex-wrap:wrap;gap:14px;margin:0 0 6px}
figure.worst-image{margin:0;width:150px;border:1px solid var(--border);border-radius:8px;padding:8px;background:var(--soft)}
figure.worst-image img{display:block;width:132px;height:132px;object-fit:contain;image-rendering:pixelated;background:#fff}
figure.worst-image .no-image{width:132px;height:132px;display:flex;align-items:center;justify-content:center;text-align:center;color:var(--muted);font-size:12px;background:#fff}
figure.worst-image figcaption{display:flex;flex-direction:column;font-size:12px;margin-top:6px;overflow-wrap:anywhere}
figure.worst-image .muted{color:var(--muted)}
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
                dt { "Row ids" } dd { (row_ids_line(report)) }
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
            @if report.inputs == InputKind::Images { (worst_images(m)) } @else { (worst_rows(m)) }
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

/// The gallery of the worst-classified images: each image (when embedded) beside its path,
/// true class, predicted class and the probabilities.
fn worst_images(m: &ModelReport) -> Markup {
    let p = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), rate);
    html! {
        @if !m.worst_rows.is_empty() {
            h3 { "Worst images" }
            p.note { "The test images this model classified worst (largest log loss of the true class), worst first." }
            div.gallery { @for w in &m.worst_rows {
                figure.worst-image {
                    @match w.image.as_deref().filter(|uri| embeddable(uri)) {
                        Some(uri) => { img src=(uri) alt=(w.row_id) title=(w.row_id); }
                        None => { div.no-image { "not embedded (over 64 KiB)" } }
                    }
                    figcaption {
                        code.path { (w.row_id) }
                        span { "true: " b { (w.actual) } }
                        span { "predicted: " b { (w.predicted) } " (" (p(w.predicted_probability)) ")" }
                        span.muted { "P(true class) " (p(w.true_class_probability)) }
                    }
                }
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

pub(super) fn html_with(report: &Report, charts: &Charts) -> String {
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

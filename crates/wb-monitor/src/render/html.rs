//! `index.html`: one self-contained page.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Chart, charts, check, count, headline, is_empty_window, kind, num, opt, pct, pval, window_text};
use crate::report::MonitoringReport;

/// The page's stylesheet (inline; the page loads nothing).
const CSS: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;--soft:#f6f8fa;--accent:#0969da;--bad:#cf222e;--bad-bg:#ffebe9;--good:#1a7f37;--good-bg:#dafbe1;--warn-bg:#fff8c5}
*{box-sizing:border-box}
html{background:#eef1f4}
body{margin:0;color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:24px 28px 48px}
header.title h1{font-size:26px;margin:0 0 2px;font-weight:650}
header.title p{margin:0 0 18px;color:var(--muted)}
section.card{background:#fff;border:1px solid var(--border);border-radius:10px;padding:18px 22px;margin:0 0 20px}
section.card>h2{font-size:18px;margin:0 0 12px;padding-bottom:8px;border-bottom:1px solid var(--border)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:5px 20px;margin:0}
dl.meta dt{color:var(--muted)}
dl.meta dd{margin:0;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13.5px}
th,td{padding:6px 12px;border-bottom:1px solid #e6e9ed;text-align:left;white-space:nowrap}
thead th{background:var(--soft);color:var(--muted);font-weight:600;font-size:12.5px}
td.num,th.num{text-align:right}
td.wrap{white-space:normal;max-width:620px;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:600}
.badge.drifted{background:var(--bad-bg);color:var(--bad)}
.badge.stable{background:var(--good-bg);color:var(--good)}
tr.drifted td{background:#fff5f4}
.alert{border-radius:10px;padding:12px 18px;margin:0 0 20px;border:1px solid #d4a72c;background:var(--warn-bg)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px;align-items:start}
figure{margin:0;background:#fff;border:1px solid #e6e9ed;border-radius:8px;padding:8px}
figure svg{display:block;width:100%;height:auto}
figure.wide{grid-column:1/-1;max-width:900px}
.empty{color:var(--muted);font-style:italic}
"#;

/// The self-contained HTML report: inline CSS, charts as inline SVG, no scripts, nothing
/// loaded from elsewhere.
#[must_use]
pub fn html(report: &MonitoringReport) -> String {
    html_with(report, &charts(report))
}

fn figure(chart: &Chart, wide: bool) -> Markup {
    html! {
        figure class=(if wide { "chart wide" } else { "chart" }) data-file=(chart.file) {
            (PreEscaped(chart.svg.as_str()))
        }
    }
}

pub(super) fn html_with(report: &MonitoringReport, charts: &[Chart]) -> String {
    let c = &report.counts;
    let confidence_charts: Vec<&Chart> = charts.iter().filter(|c| c.feature.is_none()).collect();
    let feature_charts: Vec<&Chart> = charts.iter().filter(|c| c.feature.is_some()).collect();
    let title = format!("Monitoring · {} · {}", report.endpoint, report.id);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { main {
                header.title {
                    h1 { "Monitoring report: " (report.endpoint) }
                    p { "Report " code { (report.id) } " · " (headline(report)) }
                }
                @if is_empty_window(report) {
                    div.alert.empty-window {
                        strong { "No records in this window." }
                        " Nothing was captured between its start and end, so there is nothing to compare with the baseline."
                    }
                }
                section.card #summary {
                    h2 { "Summary" }
                    dl.meta {
                        dt { "Endpoint" } dd { (report.endpoint) }
                        dt { "Created" } dd { (report.created.format("%Y-%m-%d %H:%M:%S UTC").to_string()) }
                        dt { "Window" } dd { (window_text(report)) }
                        dt { "Baseline dataset" } dd { (report.dataset.as_deref().unwrap_or("—")) }
                        dt { "Capture files read" } dd { (count(c.files)) }
                        dt { "Records" } dd { (count(c.records)) " read · " (count(c.decoded)) " decoded · " (count(c.skipped)) " skipped" }
                        dt { "Rows" } dd { (count(c.rows)) }
                    }
                }
                section.card #violations {
                    h2 { "Violations (" (report.violations.violations.len()) ")" }
                    @if report.violations.violations.is_empty() {
                        p.empty { "No violations." }
                    } @else {
                        div.table-wrap { table.violations {
                            thead { tr { th { "Feature" } th { "Check" } th { "Description" } } }
                            tbody { @for v in &report.violations.violations {
                                tr { td.feature { (v.feature_name) } td { code { (check(v.constraint_check_type)) } } td.wrap { (v.description) } }
                            } }
                        } }
                    }
                }
                @if let Some(conf) = &report.confidence {
                    section.card #confidence {
                        h2 { "Confidence" }
                        p { (count(conf.predictions)) " predictions, " (count(conf.low_confidence)) " below the threshold "
                            (format!("{:.2}", conf.threshold)) " (" (pct(conf.low_confidence, conf.predictions)) ")." }
                        @if !confidence_charts.is_empty() {
                            div.charts { @for (i, ch) in confidence_charts.iter().enumerate() { (figure(ch, i == 0)) } }
                        }
                        @if !conf.hourly.is_empty() {
                            h3 { "Per hour" }
                            div.table-wrap { table.hourly {
                                thead { tr { th { "Hour (UTC)" } th.num { "Predictions" } th.num { "Below threshold" } th.num { "Share" } th.num { "Mean" } th.num { "Min" } } }
                                tbody { @for h in &conf.hourly {
                                    tr {
                                        td { (h.hour.format("%Y-%m-%d %H:00").to_string()) }
                                        td.num { (count(h.predictions)) }
                                        td.num { (count(h.low_confidence)) }
                                        td.num { (pct(h.low_confidence, h.predictions)) }
                                        td.num { (format!("{:.3}", h.mean_confidence)) }
                                        td.num { (format!("{:.3}", h.min_confidence)) }
                                    }
                                } }
                            } }
                        }
                    }
                }
                section.card #drift {
                    h2 { "Drift" }
                    @if report.drift.is_empty() {
                        p.empty { "No column was compared." }
                    } @else {
                        div.table-wrap { table.drift {
                            thead { tr {
                                th { "Feature" } th { "Kind" } th.num { "n baseline" } th.num { "n window" }
                                th.num { "L∞ simple" } th.num { "L∞ robust" } th.num { "Distance" } th.num { "PSI" }
                                th.num { "KS" } th.num { "KS p" } th.num { "χ² p" } th.num { "Wasserstein" }
                                th.num { "Jensen–Shannon" } th.num { "Effect size" } th { "" }
                            } }
                            tbody { @for d in &report.drift {
                                tr class=(if d.drifted { "drifted" } else { "stable" }) {
                                    td.feature { (d.feature) } td { (kind(d.kind)) }
                                    td.num { (count(d.n_baseline)) } td.num { (count(d.n_window)) }
                                    td.num { (num(d.linf)) } td.num { (num(d.linf_robust)) } td.num { (num(d.distance)) }
                                    td.num { (num(d.psi)) } td.num { (opt(d.ks_statistic)) } td.num { (pval(d.ks_pvalue)) }
                                    td.num { (pval(d.chi_squared_pvalue)) } td.num { (opt(d.wasserstein)) }
                                    td.num { (num(d.jensen_shannon)) } td.num { (num(d.effect_size)) }
                                    td { @if d.drifted { span.badge.drifted { "drifted" } } @else { span.badge.stable { "stable" } } }
                                }
                            } }
                        } }
                    }
                    @if !feature_charts.is_empty() {
                        h3 { "Distributions of the drifted features" }
                        div.charts { @for ch in &feature_charts { (figure(ch, false)) } }
                    }
                }
                @if !report.problems.is_empty() {
                    section.card #problems {
                        h2 { "Problems (" (report.problems.len()) " shown, " (count(c.skipped)) " records skipped)" }
                        div.table-wrap { table.problems {
                            thead { tr { th { "File" } th.num { "Line" } th { "Problem" } } }
                            tbody { @for p in &report.problems {
                                tr { td { code { (p.file) } } td.num { (p.line) } td.wrap { (p.message) } }
                            } }
                        } }
                    }
                }
            } }
        }
    };
    page.into_string()
}

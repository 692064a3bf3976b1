//! The SVG charts of a report: which there are and what data each draws.

use std::fmt::Write as _;

use super::svg;
use super::{colour, direction, level, metric_label, num, opt};
use crate::report::{ModelReport, Report};

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

    pub(super) fn files(self) -> Vec<(String, String)> {
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
                Some(svg::Series { name, colour: colour(report, m.model.as_str()), points, markers })
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
            svg::line_chart(&svg::LineChart {
                title: &format!("ROC curve (positive class: {positive})"),
                x_label: "False positive rate",
                y_label: "True positive rate",
                diagonal: Some("chance"),
                baseline: None,
                legend: svg::Corner::BottomRight,
                legend_title: "model · ROC AUC",
                series: roc,
            })
        }),
        pr: (!pr.is_empty()).then(|| {
            svg::line_chart(&svg::LineChart {
                title: &format!("Precision–recall (positive class: {positive})"),
                x_label: "Recall",
                y_label: "Precision",
                diagonal: None,
                baseline: prevalence.map(|p| (p, format!("prevalence {p:.3}"))),
                legend: svg::Corner::BottomLeft,
                legend_title: "model · PR AUC",
                series: pr,
            })
        }),
        calibration: (!cal.is_empty()).then(|| {
            svg::line_chart(&svg::LineChart {
                title: "Calibration (reliability diagram)",
                x_label: "Mean predicted probability",
                y_label: "Observed fraction positive",
                diagonal: Some("perfectly calibrated"),
                baseline: None,
                legend: svg::Corner::TopLeft,
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
    let rows: Vec<svg::IntervalRow> = report
        .leaderboard
        .iter()
        .filter(|e| e.value.is_some())
        .map(|e| svg::IntervalRow {
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
    Some(svg::interval_chart(
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
    Some(svg::bar_chart(
        &format!("Permutation importance: {}", model.model),
        &format!("Drop in {} when shuffled (mean ± sd)", metric_label(&report.primary_metric)),
        colour(report, model.model.as_str()),
        &rows,
    ))
}

//! `report.md`.

use std::fmt::Write as _;

use super::{Chart, charts, check, count, headline, is_empty_window, kind, num, opt, pct, pval, window_text};
use crate::report::MonitoringReport;
use wb_core::text::escape_markdown_cell as md;

/// The Markdown report: summary, problems, violations, drift, confidence and charts.
#[must_use]
pub fn markdown(report: &MonitoringReport) -> String {
    markdown_with(report, &charts(report))
}

pub(super) fn markdown_with(report: &MonitoringReport, charts: &[Chart]) -> String {
    let mut out = String::with_capacity(8192);
    let _ = writeln!(out, "# Monitoring report: {}\n", md(&report.endpoint));
    let _ = writeln!(out, "{}\n", headline(report));
    out.push_str("| | |\n| --- | --- |\n");
    let c = &report.counts;
    let rows = [
        ("Endpoint", md(&report.endpoint)),
        ("Report", format!("`{}`", md(&report.id))),
        ("Created", report.created.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        ("Window", window_text(report)),
        ("Baseline dataset", report.dataset.as_deref().map_or_else(|| "—".to_owned(), md)),
        ("Capture files read", count(c.files)),
        ("Records read", count(c.records)),
        ("Records decoded", count(c.decoded)),
        ("Records skipped", count(c.skipped)),
        ("Rows", count(c.rows)),
        ("Rows in statistics", count(report.statistics.dataset.item_count)),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    out.push('\n');
    if is_empty_window(report) {
        out.push_str(
            "> **No records in this window.** Nothing was captured between its start and end, so there is \
             nothing to compare with the baseline.\n\n",
        );
    }

    let v = &report.violations.violations;
    let _ = writeln!(out, "## Violations ({})\n", v.len());
    if v.is_empty() {
        out.push_str("No violations.\n\n");
    } else {
        out.push_str("| Feature | Check | Description |\n| --- | --- | --- |\n");
        for x in v {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md(&x.feature_name),
                check(x.constraint_check_type),
                md(&x.description)
            );
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "## Drift ({} of {} columns drifted)\n",
        report.drift.iter().filter(|d| d.drifted).count(),
        report.drift.len()
    );
    if report.drift.is_empty() {
        out.push_str("No column was compared.\n\n");
    } else {
        out.push_str(
            "| Feature | Kind | n baseline | n window | L∞ (simple) | L∞ (robust) | Distance | PSI | KS | KS p | χ² p | Wasserstein | Jensen–Shannon | Effect size | Drifted |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
        );
        for d in &report.drift {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                md(&d.feature),
                kind(d.kind),
                count(d.n_baseline),
                count(d.n_window),
                num(d.linf),
                num(d.linf_robust),
                num(d.distance),
                num(d.psi),
                opt(d.ks_statistic),
                pval(d.ks_pvalue),
                pval(d.chi_squared_pvalue),
                opt(d.wasserstein),
                num(d.jensen_shannon),
                num(d.effect_size),
                if d.drifted { "**yes**" } else { "no" }
            );
        }
        out.push('\n');
    }

    if let Some(conf) = &report.confidence {
        out.push_str("## Confidence\n\n");
        let _ = writeln!(
            out,
            "{} predictions, {} below the threshold {:.2} ({}).\n",
            count(conf.predictions),
            count(conf.low_confidence),
            conf.threshold,
            pct(conf.low_confidence, conf.predictions)
        );
        if !conf.hourly.is_empty() {
            out.push_str(
                "| Hour (UTC) | Predictions | Below threshold | Share | Mean confidence | Min confidence |\n\
                 | --- | ---: | ---: | ---: | ---: | ---: |\n",
            );
            for h in &conf.hourly {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.3} | {:.3} |",
                    h.hour.format("%Y-%m-%d %H:00"),
                    count(h.predictions),
                    count(h.low_confidence),
                    pct(h.low_confidence, h.predictions),
                    h.mean_confidence,
                    h.min_confidence
                );
            }
            out.push('\n');
        }
    }

    if !charts.is_empty() {
        out.push_str("## Charts\n\n");
        for c in charts {
            let _ = writeln!(out, "![{}]({})\n", md(&c.title), c.file);
        }
    }

    if !report.problems.is_empty() {
        let _ = writeln!(out, "## Problems ({} shown, {} records skipped)\n", report.problems.len(), count(c.skipped));
        out.push_str("| File | Line | Problem |\n| --- | ---: | --- |\n");
        for p in &report.problems {
            let _ = writeln!(out, "| {} | {} | {} |", md(&p.file), p.line, md(&p.message));
        }
        out.push('\n');
    }
    out
}

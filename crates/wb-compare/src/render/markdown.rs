//! The Markdown report (`report.md`).

use std::fmt::Write as _;

use super::{
    Charts, ci, class_labels, count, count_usize, direction, duration, find_metric, level, metric_label, num, opt,
    primary_difference, pval, rate, row_ids_line, settings_line, slice_metric_names, task_line, threshold, yes_no,
};
use crate::report::{InputKind, ModelReport, Report};
use wb_core::text::escape_markdown_cell as md;

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

pub(super) fn markdown_with(report: &Report, charts: &Charts) -> String {
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
            vec!["Row ids".into(), md(row_ids_line(report))],
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

    if !m.worst_rows.is_empty() && report.inputs == InputKind::Images {
        let _ = writeln!(out, "#### Worst images\n");
        let p = |v: Option<f64>| v.map_or_else(|| "—".into(), rate);
        let rows: Vec<Vec<String>> = m
            .worst_rows
            .iter()
            .map(|w| {
                vec![
                    md(&w.row_id),
                    md(&w.actual),
                    md(&w.predicted),
                    p(w.predicted_probability),
                    p(w.true_class_probability),
                    num(w.loss),
                ]
            })
            .collect();
        md_table(out, &["Image", "Actual", "Predicted", "P(predicted)", "P(true class)", "Loss"], &[3, 4, 5], &rows);
    } else if !m.worst_rows.is_empty() {
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

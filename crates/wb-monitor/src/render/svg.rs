//! Hand-written SVG for the monitoring charts.
//!
//! Three shapes: confidence per hour (lines over bars, with a count panel), densities of
//! binned data (overlaid step areas, bins of each series may differ) and grouped bars of
//! category shares. Every number is printed with fixed decimals, so the same input gives the
//! same bytes; every label is escaped; every chart has a `<title>` and a `<desc>` for screen
//! readers and scales through its `viewBox`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use wb_core::text::clip;
pub(crate) use wb_core::text::escape_xml as esc;
pub(crate) use wb_core::text::nice_ticks as ticks;

/// Colour of the baseline series.
pub(crate) const BASELINE: &str = "#4e79a7";
/// Colour of the window series.
pub(crate) const WINDOW: &str = "#f28e2b";
const LOW: &str = "#e15759";
const MIN: &str = "#b07aa1";
const COUNT: &str = "#9fb4cc";
const THRESHOLD: &str = "#59a14f";
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
const AXIS: &str = "#8c959f";
const GRID: &str = "#eaeef2";
const TEXT: &str = "#1f2328";
const MUTED: &str = "#59636e";

fn open(out: &mut String, w: f64, h: f64, title: &str, desc: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img" font-family="{FONT}" font-size="12" fill="{TEXT}"><title>{}</title><desc>{}</desc><rect width="{w:.0}" height="{h:.0}" fill="#ffffff"/><text x="{:.1}" y="22" text-anchor="middle" font-size="14" font-weight="600">{}</text>"##,
        esc(title),
        esc(desc),
        w / 2.0,
        esc(title)
    );
}

/// What a legend entry looks like.
#[derive(Clone, Copy)]
enum Mark {
    Line,
    Dashed,
    Box,
}

/// A row of legend entries starting at (`x`, `y`).
fn legend(out: &mut String, x: f64, y: f64, entries: &[(&str, &str, Mark)]) {
    let mut x = x;
    out.push_str(r#"<g class="legend">"#);
    for (label, colour, mark) in entries {
        match mark {
            Mark::Line | Mark::Dashed => {
                let dash = if matches!(mark, Mark::Dashed) { r#" stroke-dasharray="5 3""# } else { "" };
                let _ = write!(
                    out,
                    r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2.5"{dash}/>"#,
                    x + 18.0
                );
            }
            Mark::Box => {
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{colour}" fill-opacity="0.55" stroke="{colour}"/>"#,
                    y - 5.0
                );
            }
        }
        let _ = write!(out, r#"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#, x + 23.0, y + 4.0, esc(label));
        x += 23.0 + label.chars().count() as f64 * 6.4 + 18.0;
    }
    out.push_str("</g>");
}

/// Horizontal grid lines and labels at `ticks` of the y axis.
fn y_grid(out: &mut String, ticks: &[f64], decimals: usize, sy: impl Fn(f64) -> f64, left: f64, right: f64) {
    for &t in ticks {
        let y = sy(t);
        let _ = write!(
            out,
            r#"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="{GRID}"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{MUTED}" font-size="11">{t:.decimals$}</text>"#,
            left - 6.0,
            y + 4.0
        );
    }
}

fn y_label(out: &mut String, x: f64, y: f64, label: &str) {
    let _ = write!(
        out,
        r#"<text transform="translate({x:.1} {y:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}</text>"#,
        esc(label)
    );
}

/// One hour of the confidence chart.
pub(crate) struct Hour {
    pub(crate) start: DateTime<Utc>,
    pub(crate) predictions: u64,
    pub(crate) low: u64,
    pub(crate) mean: f64,
    pub(crate) min: f64,
}

/// Confidence per hour: mean and minimum as lines, the share below the threshold as bars,
/// the threshold as a dashed line; below, predictions and low-confidence predictions per hour.
pub(crate) fn confidence_over_time(title: &str, hours: &[Hour], threshold: f64) -> String {
    let n = hours.len().max(1);
    let (w, ml, mr) = (780.0, 56.0, 24.0);
    let pw = w - ml - mr;
    let (top, upper_h) = (62.0, 230.0);
    let (lower_top, lower_h) = (top + upper_h + 30.0, 90.0);
    let h = lower_top + lower_h + 48.0;
    let slot = pw / n as f64;
    let cx = |i: usize| ml + (i as f64 + 0.5) * slot;
    let sy = |v: f64| top + (1.0 - v.clamp(0.0, 1.0)) * upper_h;
    let total: u64 = hours.iter().map(|h| h.predictions).sum();
    let low: u64 = hours.iter().map(|h| h.low).sum();
    let desc = format!(
        "{} hours, {total} predictions, {low} below the threshold {threshold:.2}: hourly mean and minimum confidence, share below the threshold, and predictions per hour.",
        hours.len()
    );
    let mut out = String::with_capacity(8192);
    open(&mut out, w, h, title, &desc);
    legend(
        &mut out,
        ml,
        42.0,
        &[
            ("mean confidence", BASELINE, Mark::Line),
            ("min confidence", MIN, Mark::Dashed),
            ("share below threshold", LOW, Mark::Box),
            ("threshold", AXIS, Mark::Dashed),
        ],
    );
    let (t, d) = ticks(0.0, 1.0, 5);
    y_grid(&mut out, &t, d, sy, ml, ml + pw);
    y_label(&mut out, 16.0, top + upper_h / 2.0, "confidence / share");
    let bar = (slot * 0.6).max(1.0);
    for (i, hour) in hours.iter().enumerate() {
        if hour.predictions == 0 {
            continue;
        }
        let share = hour.low as f64 / hour.predictions as f64;
        let y = sy(share);
        let _ = write!(
            out,
            r#"<rect class="low-share" x="{:.1}" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="{LOW}" fill-opacity="0.35"><title>{}: {} of {} below {threshold:.2} ({:.1}%)</title></rect>"#,
            cx(i) - bar / 2.0,
            top + upper_h - y,
            hour.start.format("%Y-%m-%d %H:00 UTC"),
            hour.low,
            hour.predictions,
            share * 100.0
        );
    }
    let ty = sy(threshold);
    let _ = write!(
        out,
        r#"<line class="threshold" x1="{ml:.1}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="{AXIS}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{MUTED}" font-size="11">threshold {threshold:.2}</text>"#,
        ml + pw,
        ml + pw - 4.0,
        ty - 5.0
    );
    for (values, colour, dashed) in [
        (hours.iter().map(|h| h.mean).collect::<Vec<_>>(), BASELINE, false),
        (hours.iter().map(|h| h.min).collect::<Vec<_>>(), MIN, true),
    ] {
        let mut points = String::new();
        for (i, (v, hour)) in values.iter().zip(hours).enumerate() {
            if hour.predictions > 0 && v.is_finite() {
                let _ = write!(points, "{:.1},{:.1} ", cx(i), sy(*v));
            }
        }
        let dash = if dashed { r#" stroke-dasharray="5 3""# } else { "" };
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2.2" stroke-linejoin="round"{dash} points="{}"/>"#,
            points.trim_end()
        );
    }
    for (i, hour) in hours.iter().enumerate().filter(|(_, h)| h.predictions > 0 && h.mean.is_finite()) {
        let _ = write!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{BASELINE}" stroke="#ffffff"><title>{}: {} predictions, mean {:.3}, min {:.3}</title></circle>"##,
            cx(i),
            sy(hour.mean),
            hour.start.format("%Y-%m-%d %H:00 UTC"),
            hour.predictions,
            hour.mean,
            hour.min
        );
    }
    let _ = write!(
        out,
        r#"<rect x="{ml:.1}" y="{top:.1}" width="{pw:.1}" height="{upper_h:.1}" fill="none" stroke="{AXIS}"/>"#
    );

    // Counts per hour.
    let max = hours.iter().map(|h| h.predictions).max().unwrap_or(0).max(1) as f64;
    let (t, d) = ticks(0.0, max, 2);
    let hi = t.last().copied().filter(|&v| v >= max).unwrap_or(max);
    let sc = |v: f64| lower_top + (1.0 - v / hi) * lower_h;
    y_grid(&mut out, &t, d, sc, ml, ml + pw);
    y_label(&mut out, 16.0, lower_top + lower_h / 2.0, "predictions");
    for (i, hour) in hours.iter().enumerate() {
        let x = cx(i) - bar / 2.0;
        for (v, colour, class) in [(hour.predictions, COUNT, "count"), (hour.low, LOW, "low-count")] {
            if v == 0 {
                continue;
            }
            let y = sc(v as f64);
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.8"><title>{}: {v}</title></rect>"#,
                lower_top + lower_h - y,
                hour.start.format("%Y-%m-%d %H:00 UTC")
            );
        }
    }
    let bottom = lower_top + lower_h;
    let _ =
        write!(out, r#"<line x1="{ml:.1}" y1="{bottom:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="{AXIS}"/>"#, ml + pw);
    let every = hours.len().div_ceil(8).max(1);
    for (i, hour) in hours.iter().enumerate().filter(|(i, _)| i.is_multiple_of(every)) {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="10.5">{}</text>"#,
            cx(i),
            bottom + 15.0,
            hour.start.format("%m-%d %H:00")
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">hour (UTC)</text>"#,
        ml + pw / 2.0,
        h - 10.0
    );
    out.push_str("</svg>");
    out
}

/// One captured inference per point, in time order (x is the inference's rank, so a burst
/// within one second still spreads out; the axis labels give the times), y its confidence (the
/// highest class probability), blue at or above `threshold` and red below, the threshold as a
/// dashed line: the reference project's "Observed Recent Inferences", with one threshold for the
/// filter and the chart. The y axis starts at the lower of 0.88 (the reference's) and the lowest
/// point.
pub(crate) fn observed_inferences(title: &str, points: &[(DateTime<Utc>, f64)], threshold: f64) -> String {
    let (w, ml, mr, top, ph) = (780.0, 56.0, 24.0, 62.0, 300.0);
    let pw = w - ml - mr;
    let h = top + ph + 56.0;
    let mut points = points.to_vec();
    points.sort_by_key(|(t, _)| *t);
    let low = points.iter().filter(|(_, c)| *c < threshold).count();
    let lowest = points.iter().map(|(_, c)| *c).fold(threshold, f64::min);
    let floor = (lowest.min(0.88) * 20.0).floor() / 20.0;
    let n = points.len();
    let sx = |i: usize| ml + 12.0 + if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 } * (pw - 24.0);
    let sy = |v: f64| top + (1.0 - (v.clamp(floor, 1.0) - floor) / (1.0 - floor)) * ph;
    let when = |i: usize| points.get(i).map(|(t, _)| *t);
    let desc = match (when(0), when(n.saturating_sub(1))) {
        (Some(first), Some(last)) => format!(
            "{n} inferences from {} to {}, {low} below the threshold {threshold:.2}: each point is one inference's highest class probability, in time order.",
            first.format("%Y-%m-%d %H:%M:%S UTC"),
            last.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        _ => "No inference was captured.".to_owned(),
    };
    let mut out = String::with_capacity(4096 + n * 160);
    open(&mut out, w, h, title, &desc);
    legend(
        &mut out,
        ml,
        42.0,
        &[
            ("confident", BASELINE, Mark::Box),
            ("below threshold", LOW, Mark::Box),
            ("threshold", THRESHOLD, Mark::Dashed),
        ],
    );
    let (t, d) = ticks(floor, 1.0, 5);
    let t: Vec<f64> = t.into_iter().filter(|v| *v >= floor - 1e-9 && *v <= 1.0 + 1e-9).collect();
    y_grid(&mut out, &t, d.max(2), sy, ml, ml + pw);
    y_label(&mut out, 16.0, top + ph / 2.0, "confidence");
    let ty = sy(threshold);
    let _ = write!(
        out,
        r#"<line class="threshold" x1="{ml:.1}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="{THRESHOLD}" stroke-width="1.8" stroke-dasharray="7 4"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{MUTED}" font-size="11">threshold {threshold:.2}</text>"#,
        ml + pw,
        ml + pw - 4.0,
        ty - 5.0
    );
    for (i, (time, confidence)) in points.iter().enumerate() {
        let (class, colour) = if *confidence < threshold { ("low", LOW) } else { ("confident", BASELINE) };
        let _ = write!(
            out,
            r##"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="4" fill="{colour}" fill-opacity="0.8" stroke="#ffffff"><title>{}: {confidence:.4}</title></circle>"##,
            sx(i),
            sy(*confidence),
            time.format("%H:%M:%S%.3f UTC")
        );
    }
    let bottom = top + ph;
    let _ =
        write!(out, r#"<rect x="{ml:.1}" y="{top:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="{AXIS}"/>"#);
    let mut labelled = vec![0, n / 2, n.saturating_sub(1)];
    labelled.dedup();
    for i in labelled.into_iter().filter(|&i| i < n) {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="10.5">{}</text>"#,
            sx(i),
            bottom + 15.0,
            points[i].0.format("%H:%M:%S")
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">inferences in time order (UTC{})</text>"#,
        ml + pw / 2.0,
        h - 10.0,
        when(0).map(|t| t.format(", %Y-%m-%d").to_string()).unwrap_or_default()
    );
    out.push_str("</svg>");
    out
}

/// One binned series: (lower bound, upper bound, count) per bin.
pub(crate) struct Binned<'a> {
    pub(crate) name: &'a str,
    pub(crate) colour: &'static str,
    pub(crate) bins: Vec<(f64, f64, f64)>,
}

/// Overlaid densities of binned series whose bins may differ: each bin's height is its share
/// of the series' total over the bin's width, so areas compare across different bounds.
pub(crate) fn densities(title: &str, x_label: &str, series: &[Binned<'_>]) -> String {
    let (w, h) = (560.0, 340.0);
    let (ml, mr, mt, mb) = (60.0, 20.0, 56.0, 50.0);
    let (pw, ph) = (w - ml - mr, h - mt - mb);
    let finite = |b: &&(f64, f64, f64)| b.0.is_finite() && b.1.is_finite() && b.2.is_finite();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in series {
        for b in s.bins.iter().filter(finite) {
            lo = lo.min(b.0);
            hi = hi.max(b.1);
        }
    }
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let pad = 0.5_f64.max(lo.abs() * 0.1);
        (lo, hi) = (lo - pad, hi + pad);
    }
    // A bin without width (a constant column) is drawn 1/50 of the axis wide.
    let min_width = (hi - lo) / 50.0;
    let shaped: Vec<Vec<(f64, f64, f64)>> = series
        .iter()
        .map(|s| {
            let total: f64 = s.bins.iter().filter(finite).map(|b| b.2.max(0.0)).sum();
            s.bins
                .iter()
                .filter(finite)
                .map(|&(a, b, c)| {
                    let (a, b) = if b - a < min_width {
                        let mid = f64::midpoint(a, b);
                        (mid - min_width / 2.0, mid + min_width / 2.0)
                    } else {
                        (a, b)
                    };
                    let density = if total > 0.0 { c.max(0.0) / total / (b - a) } else { 0.0 };
                    (a, b, density)
                })
                .collect()
        })
        .collect();
    let top = shaped.iter().flatten().map(|b| b.2).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.08 } else { 1.0 };
    let (xlo, xhi) = (
        shaped.iter().flatten().map(|b| b.0).fold(lo, f64::min),
        shaped.iter().flatten().map(|b| b.1).fold(hi, f64::max),
    );
    let sx = |v: f64| ml + (v - xlo) / (xhi - xlo) * pw;
    let sy = |v: f64| mt + (1.0 - v / top) * ph;
    let desc = series
        .iter()
        .map(|s| format!("{}: {} values in {} bins", s.name, fmt_count(s.bins.iter().map(|b| b.2).sum()), s.bins.len()))
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::with_capacity(4096);
    open(&mut out, w, h, title, &desc);
    let entries: Vec<(&str, &str, Mark)> = series.iter().map(|s| (s.name, s.colour, Mark::Box)).collect();
    legend(&mut out, ml, 40.0, &entries);
    let (t, d) = ticks(0.0, top, 4);
    y_grid(&mut out, &t, d, sy, ml, ml + pw);
    y_label(&mut out, 16.0, mt + ph / 2.0, "density");
    let (t, d) = ticks(xlo, xhi, 6);
    for &v in &t {
        let x = sx(v);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{AXIS}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="11">{v:.d$}</text>"#,
            mt + ph,
            mt + ph + 4.0,
            mt + ph + 16.0
        );
    }
    for (s, bins) in series.iter().zip(&shaped) {
        let Some(first) = bins.first() else { continue };
        let base = sy(0.0);
        let mut path = format!("M{:.1} {base:.1}", sx(first.0));
        for &(a, b, dens) in bins {
            let y = sy(dens);
            let _ = write!(path, "L{:.1} {y:.1}L{:.1} {y:.1}", sx(a), sx(b));
        }
        if let Some(last) = bins.last() {
            let _ = write!(path, "L{:.1} {base:.1}Z", sx(last.1));
        }
        let _ = write!(
            out,
            r#"<path class="density" d="{path}" fill="{}" fill-opacity="0.3" stroke="{}" stroke-width="1.8" stroke-linejoin="round"><title>{}</title></path>"#,
            s.colour,
            s.colour,
            esc(s.name)
        );
    }
    let _ =
        write!(out, r#"<rect x="{ml:.1}" y="{mt:.1}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="{AXIS}"/>"#);
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
        ml + pw / 2.0,
        h - 10.0,
        esc(x_label)
    );
    out.push_str("</svg>");
    out
}

/// Grouped bars: per category, the baseline's and the window's share.
pub(crate) fn grouped_bars(title: &str, x_label: &str, rows: &[(String, f64, f64)]) -> String {
    let n = rows.len().max(1);
    let (ml, mr, mt, mb) = (60.0, 20.0, 56.0, 86.0);
    let pw = (n as f64 * 56.0).clamp(480.0, 760.0);
    let (w, ph) = (ml + pw + mr, 220.0);
    let h = mt + ph + mb;
    let slot = pw / n as f64;
    let top = rows.iter().map(|r| r.1.max(r.2)).fold(0.0, f64::max);
    let top = if top > 0.0 { (top * 1.1).min(1.0) } else { 1.0 };
    let sy = |v: f64| mt + (1.0 - v / top) * ph;
    let desc = rows
        .iter()
        .map(|(c, b, win)| format!("{c}: baseline {:.1}%, window {:.1}%", b * 100.0, win * 100.0))
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = String::with_capacity(4096);
    open(&mut out, w, h, title, &desc);
    legend(&mut out, ml, 40.0, &[("baseline", BASELINE, Mark::Box), ("window", WINDOW, Mark::Box)]);
    let (t, d) = ticks(0.0, top, 4);
    y_grid(&mut out, &t, d, sy, ml, ml + pw);
    y_label(&mut out, 16.0, mt + ph / 2.0, "share");
    let bar = (slot * 0.36).min(28.0);
    for (i, (category, base, window)) in rows.iter().enumerate() {
        let centre = ml + (i as f64 + 0.5) * slot;
        for (v, colour, x, who) in [(*base, BASELINE, centre - bar, "baseline"), (*window, WINDOW, centre, "window")] {
            let y = sy(v);
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.85"><title>{} · {who}: {:.1}%</title></rect>"#,
                mt + ph - y,
                esc(category),
                v * 100.0
            );
        }
        let ly = mt + ph + 14.0;
        let _ = write!(
            out,
            r#"<text transform="translate({centre:.1} {ly:.1}) rotate(-35)" text-anchor="end" font-size="11">{}<title>{}</title></text>"#,
            esc(&clip(category, 16)),
            esc(category)
        );
    }
    let _ = write!(
        out,
        r#"<line x1="{ml:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{AXIS}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
        mt + ph,
        ml + pw,
        mt + ph,
        ml + pw / 2.0,
        h - 8.0,
        esc(x_label)
    );
    out.push_str("</svg>");
    out
}

/// A count that may be fractional (KLL bucket counts), rounded for people.
fn fmt_count(v: f64) -> String {
    if v.is_finite() { format!("{:.0}", v.round()) } else { "n/a".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_inferences_are_drawn_in_time_order_red_below_the_threshold() {
        let at = |s: i64| DateTime::from_timestamp(1_765_000_000 + s, 0).expect("time");
        let points = [(at(2), 0.99), (at(0), 0.5), (at(1), 0.93), (at(1), 0.9299)];
        let svg = observed_inferences("t", &points, 0.93);
        assert_eq!(svg.matches(r#"<circle class="low""#).count(), 2);
        assert_eq!(svg.matches(r#"<circle class="confident""#).count(), 2, "at the threshold is confident");
        let first = svg.find("<circle").expect("a point");
        assert!(svg[first..].find("0.5000").expect("the earliest") < svg[first..].find("0.9900").expect("the latest"));
        assert!(svg.contains("y=\"362.0\"") || svg.contains("0.50"), "the axis reaches down to the lowest point");
        assert!(svg.contains("4 inferences") && svg.contains("2 below the threshold 0.93"), "{svg}");
        let empty = observed_inferences("t", &[], 0.93);
        assert!(empty.contains("No inference was captured") && empty.ends_with("</svg>"));
    }
}

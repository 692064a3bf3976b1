//! Hand-written SVG charts.
//!
//! Why not plotters: its SVG backend without the `ttf` feature estimates text widths naively,
//! emits fixed pixel sizes, and offers no control over legends inside the plot, titles, error
//! bars or XML escaping of labels; it would also add a dependency tree to every build. The
//! charts here are three simple shapes (lines over a unit square, points with interval bars,
//! horizontal bars), so a few hundred lines of string building give crisp, scalable
//! (`viewBox`) SVG with escaped labels, shared colours and no dependencies.

use std::fmt::Write as _;
use wb_core::text::clip;
pub(crate) use wb_core::text::escape_xml as esc;
pub(crate) use wb_core::text::nice_ticks as ticks;

/// Tableau 10: distinguishable, colour-blind friendlier than the defaults.
pub(crate) const PALETTE: [&str; 10] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const AXIS: &str = "#8c959f";
const GRID: &str = "#eaeef2";
const TEXT: &str = "#1f2328";
const MUTED: &str = "#59636e";

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

/// Vertical grid lines at `ticks` (placed by `sx`) from `top` to `bottom`, each labelled with
/// its value below the plot.
fn x_grid(out: &mut String, ticks: &[f64], decimals: usize, sx: impl Fn(f64) -> f64, top: f64, bottom: f64) {
    for &t in ticks {
        let x = sx(t);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{GRID}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{MUTED}" font-size="11">{t:.decimals$}</text>"#,
            bottom + 16.0
        );
    }
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

fn legend(out: &mut String, corner: Corner, plot: (f64, f64, f64, f64), title: &str, entries: &[(String, &str, bool)]) {
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
    x_grid(&mut out, &ticks, decimals, sx, mt - 6.0, bottom);
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
    x_grid(&mut out, &ticks, decimals, sx, mt - 4.0, bottom);
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

//! Text for people: the number formats and escapes every report shares (the comparison's and
//! the monitoring's Markdown, HTML and SVG), so a number reads the same everywhere.

/// Escapes `&`, `<`, `>`, `"` and `'` for XML and HTML text and attribute values.
#[must_use]
pub fn escape_xml(s: &str) -> String {
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

/// Escapes a Markdown table cell: HTML's `&`, `<`, `>`, the column bar, and line breaks as
/// spaces.
#[must_use]
pub fn escape_markdown_cell(s: &str) -> String {
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

/// Shortens `s` to at most `max` characters, the last one an ellipsis when cut.
#[must_use]
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max.saturating_sub(1)).chain(['…']).collect() }
}

/// A number as reports print it: four decimals below 10, two below 1000, one above; `n/a`
/// for NaN, `+∞`/`−∞` for infinities.
#[must_use]
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "n/a".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+∞".into() } else { "−∞".into() };
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

/// [`format_number`], or `—` when there is no value.
#[must_use]
pub fn format_optional(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), format_number)
}

/// A p-value: three decimals, `<0.001` below that, `n/a` for NaN, `—` when there is none.
#[must_use]
pub fn format_p_value(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) if p.is_nan() => "n/a".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

/// A count with thousands separators (`12,345`).
#[must_use]
pub fn format_count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// About `target` round axis ticks covering `lo..=hi` (steps of 1, 2, 2.5 or 5 times a power
/// of ten), with the decimals they need; values are rounded to those decimals, so 3 × 0.2 is
/// 0.6 and not 0.6000000000000001.
#[must_use]
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
    let span = (hi - lo).abs().max(1e-12);
    #[expect(clippy::cast_precision_loss, reason = "a handful of ticks")]
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = mag * [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|&s| norm <= s + 1e-9).unwrap_or(10.0);
    #[expect(clippy::cast_possible_truncation, reason = "tick indexes of a chart's range")]
    let (first, last) = ((lo / step - 1e-9).ceil() as i64, (hi / step + 1e-9).floor() as i64);
    let decimals = (0..=6i32)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(6);
    let scale = 10f64.powi(decimals);
    #[expect(clippy::cast_precision_loss, reason = "tick indexes of a chart's range")]
    let values = (first..=last).map(|i| (i as f64 * step * scale).round() / scale).collect();
    #[expect(clippy::cast_sign_loss, reason = "0..=6")]
    (values, decimals as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_counts_and_p_values_read_the_same_in_every_report() {
        assert_eq!(format_number(0.123_456), "0.1235");
        assert_eq!(format_number(12.345), "12.35");
        assert_eq!(format_number(-1234.56), "-1234.6");
        assert_eq!((format_number(f64::NAN), format_number(f64::NEG_INFINITY)), ("n/a".into(), "−∞".into()));
        assert_eq!(format_optional(None), "—");
        assert_eq!(format_p_value(Some(0.0004)), "<0.001");
        assert_eq!(format_p_value(Some(0.0412)), "0.041");
        assert_eq!(format_count(1_234_567_u64), "1,234,567");
        assert_eq!(format_count(999_u32), "999");
    }

    #[test]
    fn escapes_and_clips() {
        assert_eq!(escape_xml(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(escape_markdown_cell("a|b\n<c>&"), "a\\|b &lt;c&gt;&amp;");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), (vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 1));
        assert_eq!(nice_ticks(0.0, 100.0, 4), (vec![0.0, 25.0, 50.0, 75.0, 100.0], 0));
    }
}

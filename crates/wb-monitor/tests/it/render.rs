//! `render`: the Markdown and HTML reports and the SVG charts, from hand-made reports.

use chrono::{DateTime, TimeZone as _, Utc};
use wb_monitor::Window;
use wb_monitor::drift::{DriftKind, FeatureDrift};
use wb_monitor::hourly::HourlyConfidence;
use wb_monitor::render::{self, CONFIDENCE_HISTOGRAM_SVG, CONFIDENCE_OVER_TIME_SVG};
use wb_monitor::report::{ConfidenceSummary, MonitoringReport, Problem, ReadCounts};
use wb_monitor::statistics::{
    CategoricalBucket, CategoricalDistribution, CommonStatistics, DatasetStatistics, FeatureStatistics, InferredType,
    KllBucket, KllDistribution, KllParameters, KllSketchData, NumericalDistribution, NumericalStatistics, Statistics,
    StringDistribution, StringStatistics,
};
use wb_monitor::violations::{CheckType, ConstraintViolations, Violation};

pub(crate) fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).single().expect("valid time")
}

/// A numerical column whose 10 KLL buckets span `[lo, hi]` with `counts`; the sketch holds the
/// bucket midpoints as exact data.
pub(crate) fn numerical(name: &str, lo: f64, hi: f64, counts: [f64; 10]) -> FeatureStatistics {
    let width = (hi - lo) / 10.0;
    let buckets: Vec<KllBucket> = counts
        .iter()
        .enumerate()
        .map(|(i, &count)| KllBucket {
            lower_bound: lo + width * i as f64,
            upper_bound: lo + width * (i + 1) as f64,
            count,
        })
        .collect();
    let data = vec![buckets.iter().map(|b| f64::midpoint(b.lower_bound, b.upper_bound)).collect()];
    let n: f64 = counts.iter().sum();
    FeatureStatistics {
        name: name.to_owned(),
        inferred_type: InferredType::Fractional,
        numerical_statistics: Some(NumericalStatistics {
            common: CommonStatistics { num_present: n as u64, num_missing: 0 },
            mean: f64::midpoint(lo, hi),
            sum: f64::midpoint(lo, hi) * n,
            std_dev: (hi - lo) / 4.0,
            min: lo,
            max: hi,
            distribution: NumericalDistribution {
                kll: KllDistribution {
                    buckets,
                    sketch: KllSketchData { parameters: KllParameters { c: 0.64, k: 2048.0 }, data },
                },
            },
        }),
        string_statistics: None,
    }
}

pub(crate) fn categorical(name: &str, buckets: &[(&str, u64)]) -> FeatureStatistics {
    FeatureStatistics {
        name: name.to_owned(),
        inferred_type: InferredType::String,
        numerical_statistics: None,
        string_statistics: Some(StringStatistics {
            common: CommonStatistics { num_present: buckets.iter().map(|b| b.1).sum(), num_missing: 0 },
            distinct_count: buckets.len() as u64,
            distribution: StringDistribution {
                categorical: CategoricalDistribution {
                    buckets: buckets
                        .iter()
                        .map(|(v, c)| CategoricalBucket { value: (*v).to_owned(), count: *c })
                        .collect(),
                },
            },
        }),
    }
}

fn drift(feature: &str, kind: DriftKind, distance: f64, drifted: bool) -> FeatureDrift {
    let numerical = kind == DriftKind::Numerical;
    FeatureDrift {
        feature: feature.to_owned(),
        kind,
        n_baseline: 5000,
        n_window: 1198,
        linf: distance,
        linf_robust: (distance - 0.06).max(0.0),
        distance,
        psi: 0.8123,
        ks_statistic: numerical.then_some(distance),
        ks_pvalue: numerical.then_some(0.0001),
        chi_squared_pvalue: (!numerical).then_some(0.0123),
        wasserstein: numerical.then_some(12.5),
        jensen_shannon: 0.3,
        effect_size: 1.25,
        drifted,
    }
}

/// A report with a drifted numerical and a drifted categorical feature, hourly confidence
/// (one hour without predictions), problems and user strings that need escaping.
pub(crate) fn sample(endpoint: &str, id: &str, created: DateTime<Utc>) -> MonitoringReport {
    let baseline = Statistics {
        version: 0,
        dataset: DatasetStatistics { item_count: 5000 },
        features: vec![
            numerical("tenure", 0.0, 50.0, [100.0, 400.0, 900.0, 1200.0, 1000.0, 700.0, 400.0, 200.0, 70.0, 30.0]),
            categorical("plan", &[("gold", 2500), ("silver", 2000), ("<bronze>", 500)]),
            numerical("_confidence", 0.5, 1.0, [10.0, 20.0, 30.0, 40.0, 100.0, 300.0, 600.0, 1000.0, 1400.0, 1500.0]),
        ],
    };
    let window = Statistics {
        version: 0,
        dataset: DatasetStatistics { item_count: 1198 },
        features: vec![
            numerical("tenure", 20.0, 70.0, [30.0, 60.0, 100.0, 200.0, 300.0, 250.0, 150.0, 60.0, 30.0, 18.0]),
            categorical("plan", &[("gold", 300), ("silver", 500), ("<bronze>", 98), ("new & shiny", 300)]),
            numerical("_confidence", 0.4, 1.0, [20.0, 20.0, 30.0, 40.0, 80.0, 100.0, 200.0, 200.0, 250.0, 258.0]),
        ],
    };
    let mut window_histogram = vec![0_u64; 20];
    let mut baseline_histogram = vec![0_u64; 20];
    for (i, (w, b)) in window_histogram.iter_mut().zip(&mut baseline_histogram).enumerate() {
        *w = if i >= 8 { (i as u64 - 7) * 9 } else { 1 };
        *b = if i >= 12 { (i as u64 - 11) * 60 } else { 2 };
    }
    MonitoringReport {
        endpoint: endpoint.to_owned(),
        id: id.to_owned(),
        created,
        window: Window { since: Some(at(6, 0)), until: Some(at(10, 0)) },
        dataset: Some("customer-churn".into()),
        counts: ReadCounts { files: 4, records: 1200, decoded: 1198, skipped: 2, rows: 1198 },
        problems: vec![
            Problem { file: "capture/ep/a.jsonl".into(), line: 7, message: "invalid JSON: <eof> & more".into() },
            Problem { file: "capture/ep/b.jsonl".into(), line: 3, message: "no endpointOutput".into() },
        ],
        statistics: window,
        violations: ConstraintViolations {
            violations: vec![
                Violation {
                    feature_name: "tenure".into(),
                    constraint_check_type: CheckType::BaselineDriftCheck,
                    description: "Baseline drift distance: 0.41 exceeds threshold: 0.1".into(),
                },
                Violation {
                    feature_name: "plan".into(),
                    constraint_check_type: CheckType::CategoricalValuesCheck,
                    description: "25% of values are not in the baseline's domain: <new & shiny>".into(),
                },
            ],
        },
        drift: vec![
            drift("tenure", DriftKind::Numerical, 0.41, true),
            drift("plan", DriftKind::Categorical, 0.25, true),
            drift("_confidence", DriftKind::Numerical, 0.05, false),
        ],
        confidence: Some(ConfidenceSummary {
            threshold: 0.93,
            predictions: 1198,
            low_confidence: 133,
            hourly: vec![
                HourlyConfidence {
                    hour: at(6, 0),
                    predictions: 400,
                    low_confidence: 20,
                    mean_confidence: 0.951,
                    min_confidence: 0.61,
                },
                HourlyConfidence {
                    hour: at(7, 0),
                    predictions: 0,
                    low_confidence: 0,
                    mean_confidence: 0.0,
                    min_confidence: 0.0,
                },
                HourlyConfidence {
                    hour: at(8, 0),
                    predictions: 500,
                    low_confidence: 60,
                    mean_confidence: 0.921,
                    min_confidence: 0.42,
                },
                HourlyConfidence {
                    hour: at(9, 0),
                    predictions: 298,
                    low_confidence: 53,
                    mean_confidence: 0.9,
                    min_confidence: 0.45,
                },
            ],
            baseline_histogram,
            window_histogram,
        }),
        baseline: Some(baseline),
    }
}

fn report() -> MonitoringReport {
    sample("churn-ep", "20261206T101500Z", at(10, 15))
}

fn svg_of<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a str {
    let (_, bytes) = files.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} rendered"));
    std::str::from_utf8(bytes).expect("utf-8")
}

/// Parses an SVG, checks it is a titled, described, scalable SVG document, and returns it.
fn parse_svg<'a>(name: &str, text: &'a str) -> roxmltree::Document<'a> {
    let doc = roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{name} is not XML: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{name}");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"), "{name}");
    assert!(root.attribute("viewBox").is_some(), "{name} scales");
    assert_eq!(root.attribute("role"), Some("img"), "{name}");
    let first = root.first_element_child().expect("children");
    assert_eq!(first.tag_name().name(), "title", "{name}: accessible title first");
    assert!(!first.text().unwrap_or("").is_empty(), "{name}: title text");
    assert!(root.children().any(|n| n.tag_name().name() == "desc"), "{name}: description");
    doc
}

fn with_class<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.attribute("class") == Some(class)).collect()
}

#[test]
fn markdown_has_summary_violations_drift_confidence_hourly_and_problem_tables() {
    let md = render::markdown(&report());
    assert!(md.starts_with("# Monitoring report: churn-ep\n"), "{md}");
    for row in [
        "| Endpoint | churn-ep |",
        "| Report | `20261206T101500Z` |",
        "| Window | 2026-12-06 06:00:00 UTC – 2026-12-06 10:00:00 UTC |",
        "| Baseline dataset | customer-churn |",
        "| Records read | 1,200 |",
        "| Records decoded | 1,198 |",
        "| Records skipped | 2 |",
        "## Violations (2)",
        "| tenure | baseline_drift_check | Baseline drift distance: 0.41 exceeds threshold: 0.1 |",
        "| plan | categorical_values_check | 25% of values are not in the baseline's domain: &lt;new &amp; shiny&gt; |",
        "## Drift (2 of 3 columns drifted)",
        "| tenure | numerical | 5,000 | 1,198 | 0.4100 | 0.3500 | 0.4100 | 0.8123 | 0.4100 | <0.001 | — | 12.50 | 0.3000 | 1.2500 | **yes** |",
        "| plan | categorical | 5,000 | 1,198 | 0.2500 | 0.1900 | 0.2500 | 0.8123 | — | — | 0.012 | — | 0.3000 | 1.2500 | **yes** |",
        "| _confidence | numerical | 5,000 | 1,198 | 0.0500 | 0.0000 |",
        "1,198 predictions, 133 below the threshold 0.93 (11.1%).",
        "| 2026-12-06 06:00 | 400 | 20 | 5.0% | 0.951 | 0.610 |",
        "| 2026-12-06 07:00 | 0 | 0 | — | 0.000 | 0.000 |",
        "| 2026-12-06 08:00 | 500 | 60 | 12.0% | 0.921 | 0.420 |",
        "![Confidence per hour](confidence-over-time.svg)",
        "![tenure: baseline vs window](feature-tenure.svg)",
        "![plan: baseline vs window](feature-plan.svg)",
        "| capture/ep/a.jsonl | 7 | invalid JSON: &lt;eof&gt; &amp; more |",
    ] {
        assert!(md.contains(row), "{row:?} missing from:\n{md}");
    }
    assert!(!md.contains("<eof>") && !md.contains("No records in this window"));
    let violations = md.find("## Violations").expect("violations");
    let drift = md.find("## Drift").expect("drift");
    assert!(violations < drift, "violations come before drift");
}

#[test]
fn html_is_one_self_contained_escaped_page_with_inline_charts() {
    let page = render::html(&report());
    assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">") && page.ends_with("</html>"));
    assert!(page.contains("<title>Monitoring · churn-ep · 20261206T101500Z</title>"));
    let lower = page.to_ascii_lowercase();
    for forbidden in ["<script", "<link", "<img", "<iframe", "src=", "href=\"http", "url(", "@import"] {
        assert!(!lower.contains(forbidden), "{forbidden} in the page");
    }
    assert!(page.contains(r#"<table class="violations">"#));
    assert_eq!(page.matches("<td class=\"feature\">tenure</td>").count(), 2, "violation and drift rows");
    assert!(page.contains("&lt;new &amp; shiny&gt;"), "description escaped");
    assert!(page.contains("invalid JSON: &lt;eof&gt; &amp; more"), "problem escaped");
    assert_eq!(page.matches("<svg ").count(), 4, "four inline charts");
    for file in [CONFIDENCE_OVER_TIME_SVG, CONFIDENCE_HISTOGRAM_SVG, "feature-tenure.svg", "feature-plan.svg"] {
        assert!(page.contains(&format!("data-file=\"{file}\"")), "{file} inline");
    }
    assert_eq!(page.matches("<tr class=\"drifted\">").count(), 2);
    assert!(page.contains(r#"<table class="hourly">"#));
    assert!(!page.contains("No records in this window"));
}

#[test]
fn every_chart_is_a_titled_well_formed_svg() {
    let files = render::files(&report());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "report.md",
            "index.html",
            CONFIDENCE_OVER_TIME_SVG,
            CONFIDENCE_HISTOGRAM_SVG,
            "feature-tenure.svg",
            "feature-plan.svg"
        ]
    );
    for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with(".svg")) {
        let text = std::str::from_utf8(bytes).expect("utf-8");
        let doc = parse_svg(name, text);
        let drawn = doc.descendants().filter(|n| ["polyline", "path", "rect", "circle"].contains(&n.tag_name().name()));
        assert!(drawn.count() > 3, "{name} draws something");
    }
}

#[test]
fn confidence_over_time_aggregates_every_hour_with_threshold_and_counts() {
    let files = render::files(&report());
    let text = svg_of(&files, CONFIDENCE_OVER_TIME_SVG);
    let doc = parse_svg(CONFIDENCE_OVER_TIME_SVG, text);
    // One mean marker and one count bar per hour with predictions; the empty hour is a gap.
    let markers = doc.descendants().filter(|n| n.tag_name().name() == "circle").count();
    assert_eq!(markers, 3);
    assert_eq!(with_class(&doc, "count").len(), 3);
    assert_eq!(with_class(&doc, "low-count").len(), 3);
    let shares: Vec<String> = with_class(&doc, "low-share")
        .iter()
        .filter_map(|n| n.first_element_child().and_then(|t| t.text()).map(str::to_owned))
        .collect();
    assert_eq!(
        shares,
        [
            "2026-12-06 06:00 UTC: 20 of 400 below 0.93 (5.0%)",
            "2026-12-06 08:00 UTC: 60 of 500 below 0.93 (12.0%)",
            "2026-12-06 09:00 UTC: 53 of 298 below 0.93 (17.8%)"
        ]
    );
    // The threshold line sits at 0.93 of the confidence axis (plot 62..292 px).
    let threshold = with_class(&doc, "threshold");
    assert_eq!(threshold.len(), 1);
    let y: f64 = threshold[0].attribute("y1").expect("y1").parse().expect("number");
    assert!((y - (62.0 + 0.07 * 230.0)).abs() < 0.11, "threshold at {y}");
    assert!(text.contains("threshold 0.93"));
    // The mean line joins the three hours with predictions.
    let mean = doc
        .descendants()
        .find(|n| n.tag_name().name() == "polyline")
        .and_then(|n| n.attribute("points"))
        .expect("mean line");
    assert_eq!(mean.split(' ').count(), 3, "{mean}");
}

#[test]
fn numerical_feature_chart_overlays_both_kll_distributions_over_both_ranges() {
    let files = render::files(&report());
    let text = svg_of(&files, "feature-tenure.svg");
    let doc = parse_svg("feature-tenure.svg", text);
    let areas = with_class(&doc, "density");
    assert_eq!(areas.len(), 2, "baseline and window");
    let names: Vec<&str> = areas.iter().filter_map(|n| n.first_element_child().and_then(|t| t.text())).collect();
    assert_eq!(names, ["baseline", "window"]);
    // Each area steps through its 10 buckets: two points per bucket plus the ends.
    for a in &areas {
        let d = a.attribute("d").expect("path");
        assert_eq!(d.matches('L').count(), 21, "{d}");
    }
    // The x axis covers both ranges, 0..50 and 20..70: over the 480 px plot from x = 60, the
    // baseline spans 60..402.9 and the window 197.1..540.
    let d: Vec<&str> = areas.iter().filter_map(|n| n.attribute("d")).collect();
    assert!(d[0].starts_with("M60.0 ") && d[0].ends_with("L402.9 290.0Z"), "{}", d[0]);
    assert!(d[1].starts_with("M197.1 ") && d[1].ends_with("L540.0 290.0Z"), "{}", d[1]);
    let labels: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(labels.contains(&"0") && labels.contains(&"60"), "{labels:?}");
    assert!(text.contains("baseline: 5000 values in 10 bins; window: 1198 values in 10 bins"));
}

#[test]
fn categorical_feature_chart_groups_shares_per_category() {
    let files = render::files(&report());
    let text = svg_of(&files, "feature-plan.svg");
    let doc = parse_svg("feature-plan.svg", text);
    let bars: Vec<String> = with_class(&doc, "bar")
        .iter()
        .filter_map(|n| n.first_element_child().and_then(|t| t.text()).map(str::to_owned))
        .collect();
    assert_eq!(
        bars,
        [
            "gold · baseline: 50.0%",
            "gold · window: 25.0%",
            "silver · baseline: 40.0%",
            "silver · window: 41.7%",
            "<bronze> · baseline: 10.0%",
            "<bronze> · window: 8.2%",
            "new & shiny · baseline: 0.0%",
            "new & shiny · window: 25.0%",
        ]
    );
    assert!(text.contains("&lt;bronze&gt;") && text.contains("new &amp; shiny"), "labels escaped");
}

#[test]
fn the_confidence_histogram_compares_baseline_and_window_shares() {
    let files = render::files(&report());
    let doc = parse_svg(CONFIDENCE_HISTOGRAM_SVG, svg_of(&files, CONFIDENCE_HISTOGRAM_SVG));
    let areas = with_class(&doc, "density");
    assert_eq!(areas.len(), 2);
    for a in &areas {
        assert_eq!(a.attribute("d").expect("d").matches('L').count(), 41, "20 bins");
    }
    // Without a baseline histogram only the window is drawn.
    let mut r = report();
    if let Some(c) = r.confidence.as_mut() {
        c.baseline_histogram.clear();
    }
    let files = render::files(&r);
    let doc = parse_svg(CONFIDENCE_HISTOGRAM_SVG, svg_of(&files, CONFIDENCE_HISTOGRAM_SVG));
    assert_eq!(with_class(&doc, "density").len(), 1);
}

#[test]
fn rendering_is_deterministic() {
    let a = render::files(&report());
    let b = render::files(&report());
    assert_eq!(a, b, "same report, same bytes");
    // A report read back from JSON renders the same bytes too.
    let json = serde_json::to_string(&report()).expect("json");
    let mut back: MonitoringReport = serde_json::from_str(&json).expect("parse");
    back.baseline = report().baseline;
    assert_eq!(render::files(&back), a);
}

#[test]
fn an_empty_window_renders_a_report_that_says_so() {
    let mut r = report();
    r.counts = ReadCounts::default();
    r.problems.clear();
    r.statistics = Statistics { version: 0, dataset: DatasetStatistics { item_count: 0 }, features: vec![] };
    r.violations = ConstraintViolations::default();
    r.drift.clear();
    if let Some(c) = r.confidence.as_mut() {
        c.predictions = 0;
        c.low_confidence = 0;
        c.hourly.clear();
        c.window_histogram = vec![0; 20];
    }
    assert!(render::is_empty_window(&r));
    let md = render::markdown(&r);
    assert!(md.contains("**No records in this window.**"), "{md}");
    assert!(md.contains("No violations.") && md.contains("No column was compared."));
    let page = render::html(&r);
    assert!(page.contains("No records in this window."));
    assert!(page.contains("No violations."));
    let names: Vec<String> = render::files(&r).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["report.md", "index.html", CONFIDENCE_HISTOGRAM_SVG], "only the baseline histogram has data");
    // Without confidence monitoring at all there are no charts, still a report.
    r.confidence = None;
    assert_eq!(render::files(&r).len(), 2);
}

/// Statistics and violations as SageMaker's analyzer writes them (pretty-printed, bucket counts
/// as floats, a multi-level sketch, extra fields), with no drift rows of ours.
#[test]
fn statistics_written_by_sagemakers_analyzer_render() {
    let analyzer_statistics = |shift: f64| {
        let buckets: Vec<String> = (0..10)
            .map(|i| {
                let lo = shift + f64::from(i) * 0.5;
                format!(
                    "{{\n        \"lower_bound\" : {lo:?},\n        \"upper_bound\" : {:?},\n        \"count\" : {:?}\n      }}",
                    lo + 0.5,
                    f64::from(10 - (i - 4_i32).abs()) * 3.0
                )
            })
            .collect();
        format!(
            r#"{{
  "version" : 0,
  "dataset" : {{ "item_count" : 240 }},
  "features" : [ {{
    "name" : "alcohol",
    "inferred_type" : "Fractional",
    "numerical_statistics" : {{
      "common" : {{ "num_present" : 240, "num_missing" : 0 }},
      "mean" : 10.42, "sum" : 2500.8, "std_dev" : 1.06, "min" : {shift:?}, "max" : {:?},
      "distribution" : {{ "kll" : {{
        "buckets" : [ {} ],
        "sketch" : {{ "parameters" : {{ "c" : 0.64, "k" : 2048.0 }},
                      "data" : [ [ 9.4, 9.8, 10.0 ], [ 10.5, 11.2 ] ] }}
      }} }}
    }}
  }}, {{
    "name" : "colour",
    "inferred_type" : "String",
    "string_statistics" : {{
      "common" : {{ "num_present" : 240, "num_missing" : 0 }},
      "distinct_count" : 2,
      "distribution" : {{ "categorical" : {{ "buckets" : [ {{ "value" : "red", "count" : 200 }}, {{ "value" : "white", "count" : 40 }} ] }} }}
    }}
  }} ]
}}"#,
            shift + 5.0,
            buckets.join(", ")
        )
    };
    let parse = |text: &str| -> Statistics {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("analyzer statistics parse: {e}\n{text}"))
    };
    let baseline = parse(&analyzer_statistics(8.0));
    let window = parse(&analyzer_statistics(9.5));
    let violations: ConstraintViolations = serde_json::from_str(
        r#"{
  "violations" : [ {
    "feature_name" : "alcohol",
    "constraint_check_type" : "baseline_drift_check",
    "description" : "Baseline drift distance: 0.6 exceeds threshold: 0.1"
  } ]
}"#,
    )
    .expect("analyzer violations parse");
    let mut r = report();
    r.statistics = window;
    r.baseline = Some(baseline);
    r.violations = violations;
    r.drift.clear();
    r.confidence = None;
    let files = render::files(&r);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["report.md", "index.html", "feature-alcohol.svg"], "the violated feature is drawn");
    let doc = parse_svg("feature-alcohol.svg", svg_of(&files, "feature-alcohol.svg"));
    assert_eq!(with_class(&doc, "density").len(), 2);
    let page = render::html(&r);
    assert!(page.contains("Baseline drift distance: 0.6 exceeds threshold: 0.1"));
}

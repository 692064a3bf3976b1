//! The column profiler: type inference, numerically stable moments, merging, determinism and
//! the `statistics.json` format.

use wb_monitor::Value;
use wb_monitor::profile::{ColumnHint, Profiler};
use wb_monitor::statistics::{InferredType, Statistics};

fn n(x: f64) -> Value {
    Value::Number(x)
}

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn types(rows: &[Vec<Value>], hints: Option<&[Option<ColumnHint>]>) -> Vec<InferredType> {
    let cols = ["a", "b", "c", "d"];
    let mut p = match hints {
        Some(h) => Profiler::with_hints(cols, h).expect("hints"),
        None => Profiler::new(cols),
    };
    for r in rows {
        p.observe_row(r);
    }
    p.finish().features.iter().map(|f| f.inferred_type).collect()
}

#[test]
fn types_are_inferred_by_the_documented_rule() {
    let rows = vec![
        vec![n(1.0), n(1.5), t("red"), Value::Missing],
        vec![t("2"), n(2.0), t("blue"), Value::Missing],
        vec![n(3.0), t("oops"), n(7.0), Value::Missing],
    ];
    assert_eq!(
        types(&rows, None),
        [InferredType::Integral, InferredType::Fractional, InferredType::String, InferredType::Unknown]
    );
    let hints = [Some(ColumnHint::Categorical), Some(ColumnHint::Numeric), Some(ColumnHint::Numeric), None];
    assert_eq!(
        types(&rows, Some(&hints)),
        [InferredType::String, InferredType::Fractional, InferredType::Integral, InferredType::Unknown]
    );
}

#[test]
fn text_in_a_numeric_column_is_present_but_outside_the_numbers() {
    let mut p = Profiler::new(["x"]);
    for v in [n(1.0), n(3.0), t("n/a"), Value::Missing, n(f64::NAN)] {
        p.observe_row(&[v]);
    }
    let s = p.finish();
    assert_eq!(s.dataset.item_count, 5);
    let f = &s.features[0];
    assert_eq!(f.inferred_type, InferredType::Integral);
    let num = f.numerical_statistics.as_ref().expect("numerical");
    assert_eq!((num.common.num_present, num.common.num_missing), (3, 2));
    assert_eq!((num.mean, num.sum, num.std_dev, num.min, num.max), (2.0, 4.0, 1.0, 1.0, 3.0));
    let buckets = &num.distribution.kll.buckets;
    assert_eq!(buckets.len(), 10);
    assert_eq!(buckets.iter().map(|b| b.count).sum::<f64>(), 2.0);
    assert_eq!(num.distribution.kll.sketch.data, vec![vec![1.0, 3.0]]);
}

#[test]
fn moments_are_stable_with_a_large_offset() {
    let mut p = Profiler::new(["x"]);
    let values: Vec<f64> = (0..100_000).map(|i| 1e9 + f64::from(i % 7) * 0.1).collect();
    for &v in &values {
        p.observe_row(&[n(v)]);
    }
    let s = p.finish();
    let num = s.features[0].numerical_statistics.as_ref().expect("numerical");
    let mean = values.iter().map(|v| v - 1e9).sum::<f64>() / values.len() as f64 + 1e9;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / values.len() as f64;
    assert!((num.mean - mean).abs() < 1e-6, "{} vs {mean}", num.mean);
    assert!((num.std_dev - var.sqrt()).abs() < 1e-6, "{} vs {}", num.std_dev, var.sqrt());
    assert!((num.sum - mean * values.len() as f64).abs() < 1e-3);
}

#[test]
fn merging_chunks_gives_the_same_counts_and_moments() {
    let rows: Vec<Vec<Value>> = (0..10_000)
        .map(|i| {
            let colour = ["red", "green", "blue"][i % 3];
            vec![n(f64::from(i as u32) * 0.5), t(colour), if i % 10 == 0 { Value::Missing } else { n(1.0) }]
        })
        .collect();
    let mut whole = Profiler::new(["x", "c", "m"]);
    rows.iter().for_each(|r| whole.observe_row(r));
    let mut merged = Profiler::new(["x", "c", "m"]);
    for chunk in rows.chunks(3_333) {
        let mut part = Profiler::new(["x", "c", "m"]);
        chunk.iter().for_each(|r| part.observe_row(r));
        merged.merge(&part).expect("same columns");
    }
    let (a, b) = (whole.finish(), merged.finish());
    assert_eq!(a.dataset, b.dataset);
    for (fa, fb) in a.features.iter().zip(&b.features) {
        assert_eq!(fa.inferred_type, fb.inferred_type);
        assert_eq!(fa.common(), fb.common());
        assert_eq!(fa.string_statistics, fb.string_statistics);
        if let (Some(x), Some(y)) = (&fa.numerical_statistics, &fb.numerical_statistics) {
            assert!((x.mean - y.mean).abs() < 1e-9 && (x.std_dev - y.std_dev).abs() < 1e-9);
            assert_eq!((x.min, x.max, x.sum), (y.min, y.max, y.sum));
        }
    }
    assert!(Profiler::new(["y"]).merge(&Profiler::new(["x"])).is_err());
}

#[test]
fn categorical_buckets_are_sorted_by_count_then_value_and_output_is_deterministic() {
    let build = || {
        let mut p = Profiler::new(["c"]);
        for v in ["b", "a", "c", "a", "b", "d", "a"] {
            p.observe_row(&[t(v)]);
        }
        p.finish()
    };
    let s = build();
    let st = s.features[0].string_statistics.as_ref().expect("string");
    let order: Vec<(&str, u64)> =
        st.distribution.categorical.buckets.iter().map(|b| (b.value.as_str(), b.count)).collect();
    assert_eq!(order, [("a", 3), ("b", 2), ("c", 1), ("d", 1)]);
    assert_eq!(st.distinct_count, 4);
    assert_eq!(s.to_json().expect("json"), build().to_json().expect("json"));
}

#[test]
fn statistics_round_trip_through_model_monitor_json() {
    let mut p = Profiler::new(["x", "c"]);
    for i in 0..5000 {
        p.observe_row(&[n(f64::from(i) / 3.0), t(if i % 2 == 0 { "even" } else { "odd" })]);
    }
    let s = p.finish();
    let json = s.to_json().expect("json");
    let back = Statistics::from_json(&json, "statistics.json").expect("valid");
    assert_eq!(back, s);
    let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(v["version"], 0);
    assert_eq!(v["features"][0]["inferred_type"], "Fractional");
    assert_eq!(v["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]["parameters"]["k"], 2048.0);
    assert_eq!(v["features"][1]["string_statistics"]["distribution"]["categorical"]["buckets"][0]["value"], "even");
}

#[test]
fn sagemaker_style_statistics_are_accepted_and_bad_ones_name_the_field() {
    let doc = br#"{"version": 0.0, "dataset": {"item_count": 2.0}, "extra": 1,
      "features": [{"name": "x", "inferred_type": "Fractional", "unknown": true,
        "numerical_statistics": {"common": {"num_present": 2, "num_missing": 0}, "mean": 1.5, "sum": 3.0,
          "std_dev": 0.5, "min": 1.0, "max": 2.0,
          "distribution": {"kll": {"buckets": [], "sketch": {"parameters": {"c": 0.64, "k": 2048.0},
            "data": [[1.0, 2.0]]}}}}}]}"#;
    let s = Statistics::from_json(doc, "statistics.json").expect("SageMaker's format");
    assert_eq!(s.dataset.item_count, 2);
    let bad = doc.to_vec();
    let bad = String::from_utf8(bad).expect("utf8").replace(r#""mean": 1.5"#, r#""mean": "high""#);
    let err = Statistics::from_json(bad.as_bytes(), "stats.json").expect_err("bad mean");
    assert_eq!(err.to_string(), r#"stats.json: features[0].numerical_statistics.mean: expected a number, got "high""#);
    let negative = String::from_utf8(doc.to_vec()).expect("utf8").replace(r#""std_dev": 0.5"#, r#""std_dev": -0.5"#);
    let err = Statistics::from_json(negative.as_bytes(), "stats.json").expect_err("negative std_dev");
    assert_eq!(
        err.to_string(),
        "stats.json: features[0].numerical_statistics.std_dev: expected a number >= 0, got -0.5"
    );
    let err = Statistics::from_json(b"{", "stats.json").expect_err("not JSON");
    assert!(err.to_string().starts_with("stats.json: line 1 column 1: not valid JSON"), "{err}");
}

#[test]
fn observe_out_of_range_and_mismatched_hints_are_errors() {
    let mut p = Profiler::new(["x"]);
    assert!(p.observe(1, &n(1.0)).is_err());
    assert!(Profiler::with_hints(["x", "y"], &[None]).is_err());
    p.observe_row(&[n(1.0), n(2.0)]);
    p.observe_row(&[]);
    let s = p.finish();
    assert_eq!(s.dataset.item_count, 2);
    assert_eq!(s.features[0].common().num_missing, 1);
}

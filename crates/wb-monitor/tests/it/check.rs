//! Constraint suggestion and loading, and the checks of a window against a baseline.

use wb_monitor::Value;
use wb_monitor::check::check;
use wb_monitor::constraints::{self, Constraints, Toggle};
use wb_monitor::profile::Profiler;
use wb_monitor::statistics::{InferredType, Statistics};
use wb_monitor::violations::CheckType;

fn n(x: f64) -> Value {
    Value::Number(x)
}

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Profiles `rows` of columns `cols`.
fn stats(cols: &[&str], rows: impl IntoIterator<Item = Vec<Value>>) -> Statistics {
    let mut p = Profiler::new(cols.iter().copied());
    for r in rows {
        p.observe_row(&r);
    }
    p.finish()
}

fn baseline() -> Statistics {
    stats(
        &["age", "colour", "score"],
        (0..1000).map(|i| {
            vec![n(f64::from(20 + i % 40)), t(["red", "green", "blue"][(i % 3) as usize]), n(f64::from(i) / 1000.0)]
        }),
    )
}

fn kinds(c: &wb_monitor::check::Check) -> Vec<(String, CheckType)> {
    c.violations.violations.iter().map(|v| (v.feature_name.clone(), v.constraint_check_type)).collect()
}

#[test]
fn suggested_constraints_follow_suggest_baseline() {
    let b = stats(
        &["age", "colour", "id", "neg"],
        (0..500).map(|i| {
            vec![
                if i % 5 == 0 { Value::Missing } else { n(f64::from(i)) },
                t(["red", "green"][(i % 2) as usize]),
                t(&format!("id-{i}")),
                n(f64::from(i) - 10.0),
            ]
        }),
    );
    let c = constraints::suggest(&b);
    assert_eq!(c.features[0].completeness, 0.8);
    assert_eq!(c.features[0].inferred_type, InferredType::Integral);
    assert!(c.features[0].num_constraints.expect("numeric").is_non_negative);
    assert!(!c.features[3].num_constraints.expect("numeric").is_non_negative);
    assert_eq!(c.features[1].string_constraints.as_ref().expect("domain").domains, ["green", "red"]);
    assert!(c.features[2].string_constraints.is_none(), "500 distinct values exceed the domain bound");
    let v: serde_json::Value = serde_json::from_slice(&c.to_json().expect("json")).expect("json");
    assert_eq!(
        v["monitoring_config"],
        serde_json::json!({"evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
            "datatype_check_threshold": 0.1, "domain_content_threshold": 0.1,
            "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                "comparison_method": "Robust", "categorical_drift_method": "LInfinity"}})
    );
    assert_eq!(Constraints::from_json(&c.to_json().expect("json"), "c.json").expect("round trip"), c);
}

#[test]
fn hand_edited_constraints_name_the_bad_field() {
    let ok = r#"{"version": 0.0, "features": [
        {"name": "a", "inferred_type": "Integral", "completeness": 1.0},
        {"name": "b", "inferred_type": "String", "completeness": 1.0, "string_constraints": {"domains": ["x"]}},
        {"name": "c", "inferred_type": "Fractional", "completeness": 0.5, "num_constraints": {"is_non_negative": true},
         "monitoringConfigOverrides": {}}],
      "monitoring_config": {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": 0.1, "domain_content_threshold": 0.1, "something_new": 1,
        "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
          "comparison_method": "Simple"}}}"#;
    let c = Constraints::from_json(ok.as_bytes(), "constraints.json").expect("SageMaker's format");
    assert_eq!(c.features.len(), 3);
    let cases = [
        (
            ok.replace(r#""completeness": 0.5"#, r#""completeness": "high""#),
            r#"constraints.json: features[2].completeness: expected a number between 0 and 1, got "high""#,
        ),
        (
            ok.replace(r#""completeness": 0.5"#, r#""completeness": 1.5"#),
            "constraints.json: features[2].completeness: expected a number between 0 and 1, got 1.5",
        ),
        (
            ok.replace(r#""comparison_threshold": 0.1"#, r#""comparison_threshold": -1"#),
            "constraints.json: monitoring_config.distribution_constraints.comparison_threshold: expected a number \
             >= 0, got -1",
        ),
        (
            ok.replace(r#""evaluate_constraints": "Enabled""#, r#""evaluate_constraints": true"#),
            r#"constraints.json: monitoring_config.evaluate_constraints: expected "Enabled" or "Disabled", got true"#,
        ),
        (
            ok.replace(r#""is_non_negative": true"#, r#""is_non_negative": "yes""#),
            r#"constraints.json: features[2].num_constraints.is_non_negative: expected true or false, got "yes""#,
        ),
    ];
    for (doc, want) in cases {
        let err = Constraints::from_json(doc.as_bytes(), "constraints.json").expect_err(want);
        assert_eq!(err.to_string(), want);
        assert!(matches!(err, wb_monitor::Error::BadDocument { .. }));
    }
}

#[test]
fn the_same_data_gives_no_violation_and_no_drift() {
    let b = baseline();
    let c = constraints::suggest(&b);
    let out = check(&b, &c, &baseline());
    assert!(out.violations.violations.is_empty(), "{:?}", out.violations);
    assert_eq!(out.drift.len(), 3);
    assert!(out.drift.iter().all(|d| !d.drifted && d.distance == 0.0));
}

#[test]
fn every_check_type_fires_in_column_then_check_order() {
    let b = baseline();
    let c = constraints::suggest(&b);
    // age: 20 % text (type) and 10 % missing (completeness); colour: 30 % purple (domain, drift);
    // score: shifted (drift); "extra" is new; nothing is missing.
    let w = stats(
        &["age", "colour", "score", "extra"],
        (0..1000).map(|i| {
            let age = match i % 10 {
                0 => Value::Missing,
                1 | 2 => t("unknown"),
                _ => n(f64::from(20 + i % 40)),
            };
            let colour = if i % 10 < 3 { t("purple") } else { t(["red", "green", "blue"][(i % 3) as usize]) };
            vec![age, colour, n(f64::from(i) / 1000.0 + 0.5), n(1.0)]
        }),
    );
    let out = check(&b, &c, &w);
    assert_eq!(
        kinds(&out),
        [
            ("age".to_owned(), CheckType::DataTypeCheck),
            ("age".to_owned(), CheckType::CompletenessCheck),
            ("colour".to_owned(), CheckType::BaselineDriftCheck),
            ("colour".to_owned(), CheckType::CategoricalValuesCheck),
            ("score".to_owned(), CheckType::BaselineDriftCheck),
            ("extra".to_owned(), CheckType::ExtraColumnCheck),
        ]
    );
    let d = &out.violations.violations;
    assert_eq!(
        d[0].description,
        "Data type match requirement is not met. Expected data type: Integral, Expected match: 90%. Observed: Only \
         77.78% of data is Integral."
    );
    assert_eq!(
        d[1].description,
        "Data completeness requirement is not met. Expected completeness: 100%. Observed: Only 90% of data is present."
    );
    let score = out.drift.iter().find(|x| x.feature == "score").expect("score drift");
    assert_eq!(
        d[4].description,
        format!("Baseline drift distance: {} exceeds threshold: 0.1", (score.distance * 1e4).round() / 1e4)
    );
    assert!(d[3].description.contains("\"purple\""), "{}", d[3].description);

    // A window without "score" reports it missing.
    let w2 = stats(&["age", "colour"], (0..100).map(|i| vec![n(f64::from(20 + i % 40)), t("red")]));
    let out = check(&b, &c, &w2);
    assert!(kinds(&out).contains(&("score".to_owned(), CheckType::MissingColumnCheck)));
}

#[test]
fn toggles_turn_checks_off() {
    let b = baseline();
    let mut c = constraints::suggest(&b);
    let w = stats(&["age", "colour", "score"], (0..500).map(|_| vec![t("x"), t("purple"), n(5.0)]));
    let all = check(&b, &c, &w);
    assert!(all.violations.violations.len() >= 4, "{:?}", kinds(&all));
    c.monitoring_config.evaluate_constraints = Toggle::Disabled;
    let out = check(&b, &c, &w);
    assert!(kinds(&out).iter().all(|(_, k)| *k == CheckType::BaselineDriftCheck), "{:?}", kinds(&out));
    assert!(!out.drift.is_empty());
    c.monitoring_config.distribution_constraints.perform_comparison = Toggle::Disabled;
    let out = check(&b, &c, &w);
    assert!(out.violations.violations.is_empty() && out.drift.is_empty());
}

#[test]
fn an_empty_window_gives_no_drift_and_no_violation() {
    let b = baseline();
    let c = constraints::suggest(&b);
    let empty = stats(&["age", "colour", "score"], std::iter::empty());
    assert_eq!(empty.dataset.item_count, 0);
    let out = check(&b, &c, &empty);
    assert!(out.violations.violations.is_empty() && out.drift.is_empty(), "{out:?}");
}

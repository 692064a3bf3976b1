//! The reference values the metric tests here and wb-compare's statistics tests compare to:
//! computed once with scikit-learn, statsmodels and numpy by
//! `crates/wb-models/tests/fixtures/make_fixtures.py`, kept as JSON.
//!
//! Compiled into this crate's tests and, for other crates' tests, behind the `testkit` feature.

use serde_json::Value;

/// Relative tolerance against the reference values.
pub const REL: f64 = 1e-9;

/// The whole fixture document.
pub fn fixture() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/sklearn_metrics.json")).expect("fixture is valid JSON")
}

/// The case `name` of `section`.
pub fn case<'a>(fx: &'a Value, section: &str, name: &str) -> &'a Value {
    fx[section]
        .as_array()
        .expect("a section")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no fixture case {section}/{name}"))
}

/// A number, with JSON `null` (the reference's NaN or an error) read as NaN.
pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// An array of numbers.
pub fn nums(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array").iter().map(num).collect()
}

/// An array of non-negative integers.
pub fn ints(v: &Value) -> Vec<u64> {
    v.as_array().expect("an array").iter().map(|x| x.as_u64().expect("an integer")).collect()
}

/// An array of indices.
pub fn indices(v: &Value) -> Vec<usize> {
    ints(v).into_iter().map(|x| usize::try_from(x).expect("fits")).collect()
}

/// An array of booleans.
pub fn bools(v: &Value) -> Vec<bool> {
    v.as_array().expect("an array").iter().map(|x| x.as_bool().expect("a bool")).collect()
}

/// `actual` equals `expected` to [`REL`] (NaN equals NaN; differences below 1e-15 pass).
pub fn assert_close(actual: f64, expected: f64, what: &str) {
    let ok = (actual.is_nan() && expected.is_nan())
        || actual == expected
        || (actual - expected).abs() <= REL * actual.abs().max(expected.abs())
        || (actual - expected).abs() <= 1e-15;
    assert!(ok, "{what}: got {actual:e}, reference {expected:e}");
}

/// Every element close, and the lengths equal.
pub fn assert_all_close(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert_close(a, e, &format!("{what}[{i}]"));
    }
}

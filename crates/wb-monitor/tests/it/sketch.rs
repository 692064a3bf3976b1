//! The KLL sketch: exactness below k, the documented rank error on 1M values, determinism and
//! merging.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wb_monitor::sketch::{BUCKETS, DEFAULT_K, KllSketch, RANK_ERROR};

const N: usize = 1_000_000;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn sample(dist: &str, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| match dist {
            "uniform" => rng.r#gen::<f64>(),
            "normal" => normal(&mut rng),
            "lognormal" => normal(&mut rng).exp(),
            "ties" => f64::from(rng.gen_range(0..50_u32)),
            _ => unreachable!("unknown distribution"),
        })
        .collect()
}

fn order(mut values: Vec<f64>, how: &str) -> Vec<f64> {
    match how {
        "random" => values,
        "sorted" => {
            values.sort_by(f64::total_cmp);
            values
        }
        "reversed" => {
            values.sort_by(|a, b| b.total_cmp(a));
            values
        }
        // Adversarial: alternately the smallest and the largest remaining value.
        "zigzag" => {
            values.sort_by(f64::total_cmp);
            let mut out = Vec::with_capacity(values.len());
            let (mut lo, mut hi) = (0, values.len());
            while lo < hi {
                out.push(values[lo]);
                lo += 1;
                if lo < hi {
                    hi -= 1;
                    out.push(values[hi]);
                }
            }
            out
        }
        _ => unreachable!("unknown order"),
    }
}

/// Asserts every 1 % quantile and the CDF at the exact percentiles are within `RANK_ERROR`.
fn assert_within_rank_error(values: &[f64], sketch: &KllSketch, label: &str) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    assert_eq!(sketch.count(), sorted.len() as u64, "{label}: count is exact");
    let mut worst: f64 = 0.0;
    for i in 1..100 {
        let q = f64::from(i) / 100.0;
        let est = sketch.quantile(q).expect("non-empty");
        // The true rank of `est` is any share between #(< est)/n and #(<= est)/n.
        let lo = sorted.partition_point(|&v| v < est) as f64 / n;
        let hi = sorted.partition_point(|&v| v <= est) as f64 / n;
        let err = if q < lo {
            lo - q
        } else if q > hi {
            q - hi
        } else {
            0.0
        };
        worst = worst.max(err);
        let x = sorted[((q * n) as usize).min(sorted.len() - 1)];
        let exact_cdf = sorted.partition_point(|&v| v <= x) as f64 / n;
        let cdf_err = (sketch.cdf(x) - exact_cdf).abs();
        worst = worst.max(cdf_err);
    }
    assert!(worst <= RANK_ERROR, "{label}: worst rank error {worst} exceeds {RANK_ERROR}");
}

#[test]
fn quantiles_of_a_million_values_are_within_the_documented_rank_error() {
    for (dist, how) in [
        ("normal", "random"),
        ("normal", "sorted"),
        ("normal", "reversed"),
        ("normal", "zigzag"),
        ("uniform", "random"),
        ("lognormal", "sorted"),
        ("lognormal", "zigzag"),
        ("ties", "random"),
    ] {
        let values = order(sample(dist, N, 7), how);
        let mut sketch = KllSketch::new();
        for &v in &values {
            sketch.update(v);
        }
        assert!(!sketch.is_exact());
        assert_within_rank_error(&values, &sketch, &format!("{dist}/{how}"));
    }
}

#[test]
fn merged_chunk_sketches_are_within_the_rank_error_of_the_whole() {
    let values = sample("lognormal", N, 11);
    let mut merged = KllSketch::new();
    for chunk in values.chunks(N / 4) {
        let mut part = KllSketch::new();
        for &v in chunk {
            part.update(v);
        }
        merged.merge(&part).expect("same parameters");
    }
    assert_eq!(merged.count(), N as u64);
    assert_within_rank_error(&values, &merged, "merged");
}

#[test]
fn fewer_than_k_values_are_kept_exactly() {
    let values = sample("normal", DEFAULT_K - 1, 3);
    let mut sketch = KllSketch::new();
    for &v in &values {
        sketch.update(v);
    }
    assert!(sketch.is_exact());
    let mut sorted = values.clone();
    sorted.sort_by(f64::total_cmp);
    for (i, &v) in sorted.iter().enumerate() {
        assert_eq!(sketch.rank(v), i as u64 + 1);
    }
    assert_eq!(sketch.quantile(0.0), Some(sorted[0]));
    assert_eq!(sketch.quantile(1.0), sorted.last().copied());
    assert_eq!(sketch.quantile(0.5), Some(sorted[(sorted.len() - 1) / 2]));
    let back = KllSketch::from_data(&sketch.to_data()).expect("valid");
    assert_eq!(back, sketch);
}

#[test]
fn the_same_input_gives_byte_identical_sketches() {
    let values = sample("uniform", 300_000, 5);
    let build = || {
        let mut s = KllSketch::new();
        for &v in &values {
            s.update(v);
        }
        serde_json::to_vec(&s.to_data()).expect("serialisable")
    };
    assert_eq!(build(), build());
}

#[test]
fn buckets_split_min_to_max_in_ten_and_hold_the_count() {
    let mut sketch = KllSketch::new();
    for i in 0..100_000 {
        sketch.update(f64::from(i % 1000));
    }
    let buckets = sketch.buckets();
    assert_eq!(buckets.len(), BUCKETS);
    assert_eq!(buckets[0].lower_bound, 0.0);
    assert_eq!(buckets[9].upper_bound, 999.0);
    let total: f64 = buckets.iter().map(|b| b.count).sum();
    assert_eq!(total, 100_000.0);
    for b in &buckets {
        assert!((b.count - 10_000.0).abs() <= RANK_ERROR * 2.0 * 100_000.0, "{b:?}");
    }
    let mut one = KllSketch::new();
    one.update(4.0);
    one.update(4.0);
    let b = one.buckets();
    assert_eq!((b[0].lower_bound, b[9].upper_bound, b[0].count), (4.0, 4.0, 2.0));
    assert!(KllSketch::new().buckets().is_empty());
}

#[test]
fn invalid_parameters_and_mismatched_merges_are_refused() {
    assert!(KllSketch::with_parameters(1, 0.64).is_err());
    assert!(KllSketch::with_parameters(2048, 0.3).is_err());
    let mut a = KllSketch::new();
    let b = KllSketch::with_parameters(200, 0.64).expect("valid");
    assert!(a.merge(&b).is_err());
    let mut data = a.to_data();
    data.parameters.k = 2.5;
    assert!(KllSketch::from_data(&data).is_err());
}

#[test]
fn nan_is_ignored_and_an_empty_sketch_has_no_quantile() {
    let mut s = KllSketch::new();
    s.update(f64::NAN);
    assert_eq!(s.count(), 0);
    assert_eq!(s.quantile(0.5), None);
    assert_eq!(s.cdf(1.0), 0.0);
}

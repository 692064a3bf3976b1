//! The partition algorithms: which split each row goes to.
//!
//! ## `wb-stratified-v1` (no key column)
//! For each class (or, without stratification, for all rows as one class) with `n` rows, the
//! per-split counts are the proportions times `n`, rounded by the largest-remainder method
//! (ties go to train, then validation, then test), so every count is within one row of
//! `n × proportion`; a split with a positive proportion gets at least one row of every class.
//! A list holding those many `train`, `validation` and `test` labels is shuffled with a
//! Fisher–Yates shuffle driven by ChaCha8 seeded with `seed XOR (class_index ×
//! 0x9E3779B97F4A7C15)`, taking `j = (next_u64 × (i + 1)) >> 64`; the k-th row of the class
//! (in source order) gets the k-th label. Same inputs, same labels, on any platform.
//!
//! ## `wb-keyhash-v1` (with a key column)
//! A row's split depends only on its key, the seed and the proportions: `u` = the first eight
//! bytes (little-endian) of BLAKE3(`seed` as 8 little-endian bytes ‖ the key's UTF-8 text)
//! divided by 2⁶⁴; train if `u < train`, validation if `u < train + validation`, else test.
//! Shards of the data processed on different machines therefore agree without coordination,
//! and appending rows never moves existing rows. Per-class counts follow the proportions in
//! expectation (binomially), not exactly.

use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::spec::Split;

/// Name and version of the exact-count algorithm, recorded in manifests.
pub const STRATIFIED_ALGORITHM: &str = "wb-stratified-v1";
/// Name and version of the key-hash algorithm, recorded in manifests.
pub const KEYHASH_ALGORITHM: &str = "wb-keyhash-v1";

/// Largest-remainder allocation of `n` rows to splits with the given proportions.
///
/// When `n` is at least the number of positive proportions, every split with a positive
/// proportion gets at least one row, taken from the split with the largest surplus over its
/// exact share. Every count is then within one row of `n × proportion`, except when two
/// splits need such a row from one class of only a few rows.
#[must_use]
pub fn allocate(n: u64, proportions: [f64; 3]) -> [u64; 3] {
    let exact: Vec<f64> = proportions.iter().map(|p| p * n as f64).collect();
    let mut counts: [u64; 3] = [0; 3];
    for (c, e) in counts.iter_mut().zip(&exact) {
        *c = e.floor() as u64;
    }
    let mut remaining = n.saturating_sub(counts.iter().sum());
    let mut order: Vec<usize> = (0..3).collect();
    // Largest fractional part first; ties by split order (stable sort).
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for &i in order.iter().cycle() {
        if remaining == 0 {
            break;
        }
        if proportions[i] > 0.0 {
            counts[i] += 1;
            remaining -= 1;
        }
    }
    let positive = proportions.iter().filter(|p| **p > 0.0).count() as u64;
    if n >= positive {
        for i in 0..3 {
            if proportions[i] > 0.0 && counts[i] == 0 {
                // Take the row from the split with the largest surplus over its exact share
                // (never leaving a split with a positive proportion empty), which keeps it
                // within one row of exact.
                let donor = (0..3)
                    .filter(|&j| j != i && counts[j] >= 2)
                    .max_by(|&a, &b| (counts[a] as f64 - exact[a]).total_cmp(&(counts[b] as f64 - exact[b])))
                    .expect("n >= positive splits leaves a split with two rows");
                counts[donor] -= 1;
                counts[i] += 1;
            }
        }
    }
    counts
}

/// Shuffled split labels for one class: `counts[s]` labels of split `s`.
#[must_use]
pub fn shuffled_labels(counts: [u64; 3], seed: u64, class_index: u64) -> Vec<u8> {
    let mut labels: Vec<u8> = Vec::with_capacity(counts.iter().sum::<u64>() as usize);
    for (split, &count) in counts.iter().enumerate() {
        labels.extend(std::iter::repeat_n(split as u8, count as usize));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ class_index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for i in (1..labels.len()).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        labels.swap(i, j);
    }
    labels
}

/// Exact stratified assignment: `classes[row]` is the row's class index (0..`class_count`).
/// Returns one split label per row (0 train, 1 validation, 2 test) and the counts per class.
#[must_use]
pub fn stratified(classes: &[u32], class_count: usize, proportions: [f64; 3], seed: u64) -> Vec<u8> {
    let mut per_class = vec![0u64; class_count];
    for &c in classes {
        per_class[c as usize] += 1;
    }
    let labels: Vec<Vec<u8>> =
        per_class.iter().enumerate().map(|(c, &n)| shuffled_labels(allocate(n, proportions), seed, c as u64)).collect();
    let mut next = vec![0usize; class_count];
    classes
        .iter()
        .map(|&c| {
            let c = c as usize;
            let label = labels[c][next[c]];
            next[c] += 1;
            label
        })
        .collect()
}

/// The key-hash split of one row (see the module docs).
#[must_use]
pub fn split_for_key(key: &str, seed: u64, proportions: [f64; 3]) -> Split {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&seed.to_le_bytes());
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    let u = u64::from_le_bytes(first) as f64 / 18_446_744_073_709_551_616.0;
    if u < proportions[0] {
        Split::Train
    } else if u < proportions[0] + proportions[1] {
        Split::Validation
    } else {
        Split::Test
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allocation_examples() {
        assert_eq!(allocate(10, [0.6, 0.2, 0.2]), [6, 2, 2]);
        assert_eq!(allocate(7, [0.6, 0.2, 0.2]), [4, 2, 1], "remainders .2/.4/.4: validation wins the tie by order");
        assert_eq!(allocate(3, [0.8, 0.1, 0.1]), [1, 1, 1], "small classes reach every split");
        assert_eq!(allocate(0, [0.6, 0.2, 0.2]), [0, 0, 0]);
        assert_eq!(allocate(5, [0.5, 0.0, 0.5]), [3, 0, 2]);
        // Found by proptest: the forced test row comes from train (surplus 0.25), not from the
        // largest split (validation, which would drop to 10 for an exact 11.04).
        assert_eq!(allocate(20, [42.0 / 96.0, 53.0 / 96.0, 1.0 / 96.0]), [8, 11, 1]);
    }

    #[test]
    fn labels_are_seeded_and_deterministic() {
        let a = shuffled_labels([6, 2, 2], 42, 0);
        assert_eq!(a, shuffled_labels([6, 2, 2], 42, 0));
        assert_ne!(a, shuffled_labels([6, 2, 2], 43, 0));
        assert_ne!(a, shuffled_labels([6, 2, 2], 42, 1), "classes get independent permutations");
        // Golden value: the algorithm is part of the manifest's contract; changing it changes
        // every partition and must come with a new algorithm version.
        assert_eq!(shuffled_labels([3, 2, 1], 7, 0), vec![1, 0, 1, 0, 2, 0]);
    }

    #[test]
    fn key_hash_is_a_pure_function_of_key_seed_and_proportions() {
        let p = [0.6, 0.2, 0.2];
        let splits: Vec<Split> = (0..10_000).map(|k| split_for_key(&k.to_string(), 1, p)).collect();
        let again: Vec<Split> = (0..10_000).map(|k| split_for_key(&k.to_string(), 1, p)).collect();
        assert_eq!(splits, again);
        let train = splits.iter().filter(|s| **s == Split::Train).count();
        assert!((5_700..6_300).contains(&train), "about 60 % train, got {train}");
    }

    proptest! {
        #[test]
        fn counts_are_within_one_row_and_sum_to_n(n in 0u64..5_000, a in 1u32..100, b in 0u32..100, c in 1u32..100) {
            let total = f64::from(a + b + c);
            let p = [f64::from(a) / total, f64::from(b) / total, f64::from(c) / total];
            let counts = allocate(n, p);
            prop_assert_eq!(counts.iter().sum::<u64>(), n);
            let positive = p.iter().filter(|x| **x > 0.0).count() as u64;
            let tiny = p.iter().filter(|x| **x > 0.0 && **x * (n as f64) < 1.0).count();
            if n >= positive {
                for i in 0..3 {
                    prop_assert!(p[i] == 0.0 || counts[i] >= 1, "split {} is empty: {:?}", i, counts);
                }
            }
            if tiny <= 1 {
                for i in 0..3 {
                    let exact = p[i] * n as f64;
                    prop_assert!((counts[i] as f64 - exact).abs() < 1.0 + 1e-9, "split {} got {} for exact {}", i, counts[i], exact);
                }
            }
        }

        #[test]
        fn stratified_assignment_matches_allocation_per_class(classes in proptest::collection::vec(0u32..3, 0..400), seed: u64) {
            let labels = stratified(&classes, 3, [0.6, 0.2, 0.2], seed);
            prop_assert_eq!(labels.len(), classes.len());
            for class in 0..3u32 {
                let n = classes.iter().filter(|c| **c == class).count() as u64;
                let mut got = [0u64; 3];
                for (c, l) in classes.iter().zip(&labels) {
                    if *c == class { got[*l as usize] += 1; }
                }
                prop_assert_eq!(got, allocate(n, [0.6, 0.2, 0.2]));
            }
        }
    }
}

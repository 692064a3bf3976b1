//! The histogram trees behind `decision-tree` and `random-forest`, on the same plan as the
//! boosting learner ([`super::gbdt`]) with class counts (classification) or value sums
//! (regression) in place of gradients. What a tree measures is a [`Criterion`]: Gini or
//! entropy over class counts, or scikit-learn's `squared_error` over `[Σw, Σw·y, Σw·y²]`.
//!
//! 1. **Binning** ([`Bins`]): every feature is cut into at most [`MAX_BINS`] bins at quantiles
//!    of its training values (every distinct value its own bin when there are few). The split
//!    after bin `b` has the threshold `t[b]`, the midpoint between the largest training value of
//!    bins `≤ b` and the smallest of bins `> b` (scikit-learn's thresholds when every distinct
//!    value has its bin), and a value's bin is the number of thresholds below it. So `x <= t[b]`
//!    holds exactly when the bin of `x` is at most `b`, for every value and not only the
//!    training ones: the exported [`Tree`] routes rows as the bins did. Unlike the boosting
//!    learner (XGBoost's single-precision cuts, `x < cut`) the thresholds stay in double
//!    precision, as the exported trees compare.
//! 2. **Histograms**: per node and feature, the (bootstrap-weighted) class counts (or weight and
//!    weighted value sums) per bin,
//!    summed over the node's rows (features in parallel on every core for a large node of a
//!    single tree). When every feature is a candidate only the smaller child's histogram is
//!    summed; the larger one is its parent's minus it.
//! 3. **Splits** (scikit-learn's rules): a node is a leaf at `max_depth`, below
//!    `min_samples_split` rows, below `2 × min_samples_leaf` rows or when pure. Otherwise each
//!    candidate feature's bins are scanned left to right for the split with the lowest weighted
//!    child impurity (Gini, entropy, variance) that leaves `min_samples_leaf` rows on each side; the
//!    node splits when the weighted impurity decrease
//!    `N_t/N · (I − N_L/N_t · I_L − N_R/N_t · I_R)` reaches `min_impurity_decrease`. Rows are
//!    partitioned in place (stable), so a node's rows stay contiguous and ascending.
//! 4. **Per-split feature sampling** (random forests): each node draws features without
//!    replacement until `max_features` of them vary among its rows (features constant there do
//!    not count, as in scikit-learn), and only those histograms are summed.
//!
//! Trees grow depth first, so only the histograms of the pending nodes are alive. A node's
//! class fractions (or mean value) are its training rows' (bootstrap duplicates counted).

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::SplitQuality;
use super::gbdt::partition;
use crate::model::{Tree, TreeNode};

/// Most bins per feature.
pub(super) const MAX_BINS: usize = 256;
/// Rows from which a single tree sums a node's histogram on every core.
const PARALLEL_ROWS: usize = 8192;
/// scikit-learn's `EPSILON` in impurity comparisons.
const EPSILON: f64 = f64::EPSILON;

/// Features as bins, feature-major, with the threshold of every split.
pub(super) struct Bins {
    rows: usize,
    /// `features × rows` bin indices.
    bins: Vec<u8>,
    /// Per feature: `thresholds[b]` is the threshold of a split after bin `b`
    /// (`x <= thresholds[b]` ⇔ bin ≤ b).
    thresholds: Vec<Vec<f64>>,
}

impl Bins {
    /// Bins every column of `x` (finite values) into at most `max_bins` (≤ 256) bins.
    pub(super) fn new(x: ArrayView2<'_, f64>, max_bins: usize) -> Self {
        let (rows, features) = x.dim();
        let columns: Vec<(Vec<f64>, Vec<u8>)> = (0..features)
            .into_par_iter()
            .map(|f| {
                let column = x.column(f);
                let mut sorted = column.to_vec();
                sorted.sort_unstable_by(f64::total_cmp);
                let thresholds = thresholds(&sorted, max_bins);
                // At most `max_bins - 1` thresholds, so a bin fits in a byte.
                let bins = column
                    .iter()
                    .map(|&v| u8::try_from(thresholds.partition_point(|&t| t < v)).unwrap_or(u8::MAX))
                    .collect();
                (thresholds, bins)
            })
            .collect();
        let mut bins = Vec::with_capacity(rows * features);
        let mut all_thresholds = Vec::with_capacity(features);
        for (t, column) in columns {
            bins.extend_from_slice(&column);
            all_thresholds.push(t);
        }
        Self { rows, bins, thresholds: all_thresholds }
    }

    /// Number of feature columns.
    pub(super) fn features(&self) -> usize {
        self.thresholds.len()
    }

    /// Number of rows.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    fn column(&self, f: usize) -> &[u8] {
        &self.bins[f * self.rows..(f + 1) * self.rows]
    }

    fn n_bins(&self, f: usize) -> usize {
        self.thresholds[f].len() + 1
    }

    /// The bin of `value` in feature `f` (what [`Bins::new`] assigns).
    #[cfg(test)]
    fn bin_of(&self, f: usize, value: f64) -> usize {
        self.thresholds[f].partition_point(|&t| t < value)
    }
}

/// At most `max_bins - 1` increasing thresholds of sorted values: between every two distinct
/// values when there are at most `max_bins` of them, else after the values at evenly spaced
/// ranks. Each threshold is the midpoint of the values on either side (the lower one when the
/// midpoint rounds up to the upper).
fn thresholds(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let midpoint = |lower: f64, upper: f64| {
        let t = lower + (upper - lower) / 2.0;
        if t < upper { t } else { lower }
    };
    let distinct = super::gbdt::distinct_prefix(sorted, max_bins + 1);
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect();
    }
    let n = sorted.len();
    let mut out: Vec<f64> = Vec::with_capacity(max_bins - 1);
    let mut last_upper = f64::NEG_INFINITY;
    for q in 1..max_bins {
        // The largest value of the q-th rank bucket ends a bin, unless an earlier one did.
        let lower = sorted[q * n / max_bins - 1];
        if lower <= last_upper {
            continue;
        }
        let next = sorted.partition_point(|&v| v <= lower);
        let Some(&upper) = sorted.get(next) else { break };
        out.push(midpoint(lower, upper));
        last_upper = lower;
    }
    out
}

/// How one tree grows.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    /// Deepest level (the root is level 0).
    pub(super) max_depth: usize,
    /// Fewest (weighted) rows a node needs to be split.
    pub(super) min_samples_split: f64,
    /// Fewest (weighted) rows on each side of a split.
    pub(super) min_samples_leaf: f64,
    /// Smallest weighted impurity decrease of a split.
    pub(super) min_impurity_decrease: f64,
    /// Gini or entropy, for classes (values always use squared error: the caller checks
    /// `split_quality` against the target).
    pub(super) quality: SplitQuality,
    /// Features each split draws (`None`: every feature, with histogram subtraction).
    pub(super) max_features: Option<usize>,
    /// Whether large nodes sum their histograms on every core (a single tree; a forest
    /// parallelises across trees instead).
    pub(super) parallel: bool,
}

/// What the trees learn.
#[derive(Clone, Copy)]
pub(super) enum Target<'a> {
    /// A class index per row, in `0..classes` (classification trees).
    Classes { labels: &'a [usize], classes: usize },
    /// A value per row (regression trees, squared error).
    Values(&'a [f64]),
}

/// The training data of the trees: bins and a target per row.
pub(super) struct Rows<'a> {
    pub(super) bins: &'a Bins,
    pub(super) target: Target<'a>,
}

/// What a tree measures of its rows: the cells of a histogram bin, a node's statistics (a
/// fixed number of sums over its weighted rows), their impurity, the score that orders splits
/// and the leaf values.
trait Criterion: Sync {
    /// A histogram cell.
    type Cell: Copy + Default + Send + Sync + Into<f64> + std::ops::SubAssign;
    /// Cells per bin.
    fn cells(&self) -> usize;
    /// Adds row `r` with weight `w` to the cells of its bin, which start at `slot[at]`.
    fn add_to_bin(&self, slot: &mut [Self::Cell], at: usize, r: usize, w: u32);
    /// Sums per node.
    fn width(&self) -> usize;
    /// Adds row `r` with weight `w` to a node's sums.
    fn add_row(&self, sums: &mut [f64], r: usize, w: u32);
    /// Adds a bin's cells to the sums of a split's left side and returns the bin's weight.
    /// Only the sums that [`split_score`](Self::split_score) reads need to be complete.
    fn add_bin(&self, sums: &mut [f64], bin: &[Self::Cell]) -> f64;
    /// The weighted row count of sums.
    fn weight(&self, sums: &[f64]) -> f64;
    /// The impurity of a node's sums (weight > 0).
    fn impurity(&self, sums: &[f64]) -> f64;
    /// A score that orders splits as `-(N_L·I_L + N_R·I_R)` does (higher is better).
    fn split_score(&self, left: &[f64], right: &[f64]) -> f64;
    /// Values per node of the exported tree.
    fn outputs(&self) -> usize;
    /// A node's exported values from its sums.
    fn values(&self, sums: &[f64], out: &mut [f64]);
}

/// Classification: class counts, Gini or entropy; nodes hold their class fractions.
struct ClassCounts<'a> {
    labels: &'a [usize],
    classes: usize,
    quality: SplitQuality,
}

impl Criterion for ClassCounts<'_> {
    type Cell = u32;

    fn cells(&self) -> usize {
        self.classes
    }

    fn add_to_bin(&self, slot: &mut [u32], at: usize, r: usize, w: u32) {
        slot[at + self.labels[r]] += w;
    }

    fn width(&self) -> usize {
        self.classes
    }

    fn add_row(&self, sums: &mut [f64], r: usize, w: u32) {
        sums[self.labels[r]] += f64::from(w);
    }

    fn add_bin(&self, sums: &mut [f64], bin: &[u32]) -> f64 {
        let mut w = 0;
        for (s, &c) in sums.iter_mut().zip(bin) {
            *s += f64::from(c);
            w += c;
        }
        f64::from(w)
    }

    fn weight(&self, sums: &[f64]) -> f64 {
        sums.iter().sum()
    }

    fn impurity(&self, counts: &[f64]) -> f64 {
        let n = self.weight(counts);
        match self.quality {
            SplitQuality::Entropy => {
                -counts.iter().filter(|&&c| c > 0.0).map(|&c| (c / n) * (c / n).log2()).sum::<f64>()
            }
            _ => 1.0 - counts.iter().map(|c| (c / n) * (c / n)).sum::<f64>(),
        }
    }

    fn split_score(&self, left: &[f64], right: &[f64]) -> f64 {
        let (n_left, n_right) = (self.weight(left), self.weight(right));
        match self.quality {
            SplitQuality::Entropy => {
                let part = |counts: &[f64], n: f64| {
                    counts.iter().filter(|&&c| c > 0.0).map(|&c| c * (c / n).ln()).sum::<f64>()
                };
                part(left, n_left) + part(right, n_right)
            }
            _ => left.iter().map(|c| c * c).sum::<f64>() / n_left + right.iter().map(|c| c * c).sum::<f64>() / n_right,
        }
    }

    fn outputs(&self) -> usize {
        self.classes
    }

    fn values(&self, counts: &[f64], out: &mut [f64]) {
        let n = self.weight(counts);
        for (o, &c) in out.iter_mut().zip(counts) {
            *o = if n > 0.0 { c / n } else { 1.0 / self.classes as f64 };
        }
    }
}

/// Regression: scikit-learn's `squared_error`. A node's sums are `[Σw, Σw·y, Σw·y²]`, its
/// impurity the weighted variance `Σw·y²/Σw − (Σw·y/Σw)²`, splits are ordered by
/// `S_L²/N_L + S_R²/N_R` (scikit-learn's proxy), and a node's value is its mean.
struct SquaredError<'a> {
    values: &'a [f64],
}

impl Criterion for SquaredError<'_> {
    type Cell = f64;

    fn cells(&self) -> usize {
        2
    }

    fn add_to_bin(&self, slot: &mut [f64], at: usize, r: usize, w: u32) {
        let w = f64::from(w);
        slot[at] += w;
        slot[at + 1] += w * self.values[r];
    }

    fn width(&self) -> usize {
        3
    }

    fn add_row(&self, sums: &mut [f64], r: usize, w: u32) {
        let (w, y) = (f64::from(w), self.values[r]);
        sums[0] += w;
        sums[1] += w * y;
        sums[2] += w * y * y;
    }

    fn add_bin(&self, sums: &mut [f64], bin: &[f64]) -> f64 {
        sums[0] += bin[0];
        sums[1] += bin[1];
        bin[0]
    }

    fn weight(&self, sums: &[f64]) -> f64 {
        sums[0]
    }

    fn impurity(&self, sums: &[f64]) -> f64 {
        let mean = sums[1] / sums[0];
        // Rounding can leave a constant node a tiny negative variance.
        (sums[2] / sums[0] - mean * mean).max(0.0)
    }

    fn split_score(&self, left: &[f64], right: &[f64]) -> f64 {
        left[1] * left[1] / left[0] + right[1] * right[1] / right[0]
    }

    fn outputs(&self) -> usize {
        1
    }

    fn values(&self, sums: &[f64], out: &mut [f64]) {
        out[0] = if sums[0] > 0.0 { sums[1] / sums[0] } else { 0.0 };
    }
}

/// A node's histogram over some features: `slot(i)` holds the cells of `features[i]`,
/// `bin × cells + cell`.
struct Histogram<T> {
    features: Vec<usize>,
    offsets: Vec<usize>,
    cells: Vec<T>,
}

impl<T> Histogram<T> {
    fn slot(&self, i: usize) -> &[T] {
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.cells.len());
        &self.cells[self.offsets[i]..end]
    }
}

fn build_histogram<C: Criterion>(
    crit: &C,
    bins: &Bins,
    weights: &[u32],
    rows: &[u32],
    features: &[usize],
    parallel: bool,
) -> Histogram<C::Cell> {
    let k = crit.cells();
    let mut offsets = Vec::with_capacity(features.len());
    let mut total = 0;
    for &f in features {
        offsets.push(total);
        total += bins.n_bins(f) * k;
    }
    let mut cells = vec![C::Cell::default(); total];
    let fill = |f: usize, slot: &mut [C::Cell]| {
        let column = bins.column(f);
        for &r in rows {
            let r = r as usize;
            crit.add_to_bin(slot, column[r] as usize * k, r, weights[r]);
        }
    };
    // One mutable slot per feature.
    let mut slots: Vec<&mut [C::Cell]> = Vec::with_capacity(features.len());
    let mut rest = cells.as_mut_slice();
    for &f in features {
        let (slot, tail) = rest.split_at_mut(bins.n_bins(f) * k);
        slots.push(slot);
        rest = tail;
    }
    if parallel && rows.len() >= PARALLEL_ROWS {
        slots.into_par_iter().zip(features.par_iter()).for_each(|(slot, &f)| fill(f, slot));
    } else {
        for (slot, &f) in slots.into_iter().zip(features) {
            fill(f, slot);
        }
    }
    Histogram { features: features.to_vec(), offsets, cells }
}

#[derive(Clone, Copy, Debug)]
struct Split {
    score: f64,
    feature: usize,
    /// The last bin that goes left.
    bin: usize,
}

/// The search for one node's best split.
struct Scan<'a, C> {
    crit: &'a C,
    settings: &'a Settings,
    /// The node's sums and their weight.
    node: &'a [f64],
    n: f64,
    left: Vec<f64>,
    right: Vec<f64>,
    best: Option<Split>,
}

impl<C: Criterion> Scan<'_, C> {
    /// Scans feature `i` of `hist` for its best split, keeping the best so far; returns whether
    /// the feature varies among the node's rows (more than one bin holds rows).
    fn feature(&mut self, hist: &Histogram<C::Cell>, i: usize) -> bool {
        let k = self.crit.cells();
        let slot = hist.slot(i);
        let bins = slot.len() / k;
        self.left.fill(0.0);
        let mut n_left = 0.0;
        let mut occupied = 0;
        for b in 0..bins {
            let cell = &slot[b * k..(b + 1) * k];
            let w = self.crit.add_bin(&mut self.left, cell);
            if w <= 0.0 {
                // The same partition as after the previous occupied bin.
                continue;
            }
            occupied += 1;
            n_left += w;
            let n_right = self.n - n_left;
            if n_right <= 0.0 {
                break;
            }
            if n_left < self.settings.min_samples_leaf || n_right < self.settings.min_samples_leaf {
                continue;
            }
            for ((r, &t), &l) in self.right.iter_mut().zip(self.node).zip(&self.left) {
                *r = t - l;
            }
            let score = self.crit.split_score(&self.left, &self.right);
            if self.best.is_none_or(|s| score > s.score) {
                self.best = Some(Split { score, feature: hist.features[i], bin: b });
            }
        }
        occupied > 1
    }
}

/// A node waiting to be split.
struct Pending<T> {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    /// Its histogram over every feature, when the parent's subtraction gave it.
    hist: Option<Histogram<T>>,
}

/// Grows one tree on `rows` (ascending indices of rows with a positive weight; reordered in
/// place) and exports it with the class fractions (classification) or the mean value
/// (regression) of every node. `rng` draws the features of each split when
/// `settings.max_features` is set.
///
/// # Errors
/// A tree that [`Tree::new`] refuses (it never does for a grown one).
pub(super) fn grow(
    data: &Rows<'_>,
    weights: &[u32],
    rows: &mut [u32],
    settings: &Settings,
    rng: &mut ChaCha8Rng,
) -> Result<Tree, crate::error::Error> {
    match data.target {
        Target::Classes { labels, classes } => {
            let crit = ClassCounts { labels, classes, quality: settings.quality };
            grow_with(&crit, data.bins, weights, rows, settings, rng)
        }
        Target::Values(values) => grow_with(&SquaredError { values }, data.bins, weights, rows, settings, rng),
    }
}

fn grow_with<C: Criterion>(
    crit: &C,
    bins: &Bins,
    weights: &[u32],
    rows: &mut [u32],
    settings: &Settings,
    rng: &mut ChaCha8Rng,
) -> Result<Tree, crate::error::Error> {
    let k = crit.width();
    let n_features = bins.features();
    let mut root = vec![0.0; k];
    for &r in rows.iter() {
        crit.add_row(&mut root, r as usize, weights[r as usize]);
    }
    let total = crit.weight(&root);
    let mut nodes = vec![TreeNode::Leaf];
    let mut sums: Vec<f64> = root;
    let all_features: Vec<usize> = (0..n_features).collect();
    let mut order: Vec<usize> = all_features.clone();
    let mut scratch = Vec::with_capacity(rows.len());
    let (mut left, mut right) = (vec![0.0; k], vec![0.0; k]);
    let splittable = |node: &[f64], depth: usize| {
        let n = crit.weight(node);
        depth < settings.max_depth
            && n >= settings.min_samples_split
            && n >= 2.0 * settings.min_samples_leaf
            && crit.impurity(node) > EPSILON
    };
    let mut stack = vec![Pending { node: 0, start: 0, end: rows.len(), depth: 0, hist: None }];
    while let Some(pending) = stack.pop() {
        let Pending { node: id, start, end, depth, hist } = pending;
        let node = sums[id * k..(id + 1) * k].to_vec();
        if !splittable(&node, depth) {
            continue;
        }
        let n = crit.weight(&node);
        let node_rows = &rows[start..end];
        let mut scan = Scan { crit, settings, node: &node, n, left: vec![0.0; k], right: vec![0.0; k], best: None };
        let full = match settings.max_features {
            None => {
                let hist = hist.unwrap_or_else(|| {
                    build_histogram(crit, bins, weights, node_rows, &all_features, settings.parallel)
                });
                for i in 0..n_features {
                    scan.feature(&hist, i);
                }
                Some(hist)
            }
            Some(max_features) => {
                // Draw features without replacement until `max_features` of them vary here.
                let (mut drawn, mut varying) = (0, 0);
                while varying < max_features && drawn < n_features {
                    let batch = (max_features - varying).min(n_features - drawn);
                    for i in drawn..drawn + batch {
                        let j = rng.gen_range(i..n_features);
                        order.swap(i, j);
                    }
                    let hist = build_histogram(crit, bins, weights, node_rows, &order[drawn..drawn + batch], false);
                    for i in 0..batch {
                        if scan.feature(&hist, i) {
                            varying += 1;
                        }
                    }
                    drawn += batch;
                }
                None
            }
        };
        let Some(split) = scan.best else { continue };
        // The children's sums, from the rows that go left.
        let column = bins.column(split.feature);
        left.fill(0.0);
        for &r in node_rows {
            let r = r as usize;
            if column[r] as usize <= split.bin {
                crit.add_row(&mut left, r, weights[r]);
            }
        }
        for ((r, &t), &l) in right.iter_mut().zip(&node).zip(&left) {
            *r = t - l;
        }
        let (n_left, n_right) = (crit.weight(&left), crit.weight(&right));
        let decrease = n / total
            * (crit.impurity(&node) - n_left / n * crit.impurity(&left) - n_right / n * crit.impurity(&right));
        if decrease + EPSILON < settings.min_impurity_decrease {
            continue;
        }
        let mid = start + partition(&mut rows[start..end], &mut scratch, |r| column[r as usize] as usize <= split.bin);
        let (l, r) = (nodes.len(), nodes.len() + 1);
        nodes.push(TreeNode::Leaf);
        nodes.push(TreeNode::Leaf);
        sums.extend_from_slice(&left);
        sums.extend_from_slice(&right);
        nodes[id] = TreeNode::Split {
            feature: split.feature,
            threshold: bins.thresholds[split.feature][split.bin],
            left: l,
            right: r,
        };
        // Histograms for the children that may split: the smaller summed, the larger by subtraction.
        let (mut hist_left, mut hist_right) = (None, None);
        if let Some(mut parent) = full {
            let wanted = (splittable(&left, depth + 1), splittable(&right, depth + 1));
            if wanted.0 || wanted.1 {
                let left_smaller = mid - start <= end - mid;
                let small_rows = if left_smaller { &rows[start..mid] } else { &rows[mid..end] };
                let small = build_histogram(crit, bins, weights, small_rows, &all_features, settings.parallel);
                for (p, &s) in parent.cells.iter_mut().zip(&small.cells) {
                    *p -= s;
                }
                if left_smaller {
                    (hist_left, hist_right) = (Some(small), Some(parent));
                } else {
                    (hist_left, hist_right) = (Some(parent), Some(small));
                }
            }
        }
        stack.push(Pending { node: r, start: mid, end, depth: depth + 1, hist: hist_right });
        stack.push(Pending { node: l, start, end: mid, depth: depth + 1, hist: hist_left });
    }
    let outputs = crit.outputs();
    let mut values = vec![0.0; nodes.len() * outputs];
    for (out, node) in values.chunks_mut(outputs).zip(sums.chunks(k)) {
        crit.values(node, out);
    }
    Tree::new(n_features, outputs, &nodes, values)
}

/// Fits `trees` trees in parallel (rayon), tree `t` drawing its bootstrap sample of
/// `sample_rows` rows (with replacement) and its split features from
/// `ChaCha8Rng::seed_from_u64(seed)` on stream `t`: the forest depends on the data and the
/// parameters, never on the number of threads.
pub(super) fn forest(
    data: &Rows<'_>,
    trees: usize,
    sample_rows: usize,
    seed: u64,
    settings: &Settings,
) -> Result<Vec<Tree>, crate::error::Error> {
    let n = data.bins.rows();
    (0..trees)
        .into_par_iter()
        .map(|t| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(t as u64);
            let mut weights = vec![0_u32; n];
            for _ in 0..sample_rows {
                weights[rng.gen_range(0..n)] += 1;
            }
            let mut rows: Vec<u32> = (0..n).filter(|&r| weights[r] > 0).map(|r| r as u32).collect();
            grow(data, &weights, &mut rows, settings, &mut rng)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    #[test]
    fn thresholds_route_values_as_their_bins() {
        // Few distinct values: midpoints between neighbours, as scikit-learn's thresholds.
        assert_eq!(thresholds(&[1.0, 1.0, 2.0, 4.0], 256), vec![1.5, 3.0]);
        // Adjacent floats: the midpoint rounds to the upper value, so the lower one is used.
        let next = f64::from_bits(1.0_f64.to_bits() + 1);
        assert_eq!(thresholds(&[1.0, next], 256), vec![1.0]);
        // Many distinct values: quantile bins, every threshold between two training values.
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i % 997) * 0.37 - 50.0).collect();
        let x = Array2::from_shape_vec((values.len(), 1), values.clone()).expect("a column");
        let bins = Bins::new(x.view(), 16);
        assert_eq!(bins.n_bins(0), 16);
        for (r, &v) in values.iter().enumerate() {
            let bin = bins.column(0)[r] as usize;
            assert_eq!(bin, bins.bin_of(0, v));
            for (b, &t) in bins.thresholds[0].iter().enumerate() {
                assert_eq!(v <= t, bin <= b, "value {v}, bin {bin}, threshold {b} = {t}");
            }
        }
    }
}

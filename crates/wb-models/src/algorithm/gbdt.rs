//! The histogram gradient-boosting learner behind `xgboost`: XGBoost's `hist` method.
//!
//! 1. **Binning** ([`Binned`]): every feature, converted to `f32` as XGBoost's `DMatrix` does,
//!    is cut into at most `max_bin` bins at quantiles of its values (every distinct value its own
//!    bin when there are few); a feature with missing values (NaN) gets one more bin for them. A
//!    split after bin `b` is the threshold `x < cut[b]`, so routing by bin and by value agree.
//! 2. **Gradients**: per row and output group, the objective's first and second derivatives of
//!    the loss at the current margin (`scale_pos_weight` weighs the positive rows).
//! 3. **Trees, level by level** ([`grow_tree`]): a node's gradient/hessian histogram is summed
//!    over its rows (in parallel chunks on every core), skipping each feature's most frequent
//!    bin, which is the node's total minus the feature's other bins; of two siblings only the
//!    smaller is summed and the other is its parent's histogram minus it. The rows of the
//!    level's split nodes are partitioned in parallel, reading the split feature's column. The
//!    best split of a node scans each sampled feature's bins both ways — missing values left
//!    and right — and keeps the largest loss reduction
//!    `½[T(G_L)²/(H_L+λ) + T(G_R)²/(H_R+λ) - T(G)²/(G+λ)]` (the factor ½ dropped as XGBoost
//!    drops it), with `T` the L1 soft threshold (`alpha`) and both children's hessians at least
//!    `min_child_weight`. Splits whose reduction is below `gamma` are pruned
//!    bottom-up once the tree is grown; leaves take `-eta·T(G)/(H+λ)`.
//! 4. **Rounds**: every tree adds its leaves to the training margins (through its row ranges)
//!    and to the validation margins; with `early_stopping_rounds` the validation `eval_metric`
//!    stops the boosting and the model keeps the rounds up to the best one.
//!
//! Sampling (`subsample` per tree, `colsample_bytree`, `colsample_bylevel`, `colsample_bynode`)
//! draws from one `ChaCha8Rng` seeded with `seed` on the calling thread, so a model depends on
//! the data and the parameters only, never on the number of threads.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{EvalMetric, XgboostParams};
use crate::boosted::{BoostedTree, BoostedTrees, Objective, sigmoid_f32, softmax_f32};
use crate::metrics;

/// Rows summed by one task when a histogram is built in parallel.
const HISTOGRAM_CHUNK: usize = 8192;
/// XGBoost's smallest loss reduction a split must bring (`kRtEps`).
const MIN_SPLIT_GAIN: f64 = 1e-6;
/// The smallest hessian of a classification row (as XGBoost's `kEps`).
const MIN_HESSIAN: f32 = 1e-16;

/// Features as bins: column-major bin indices, the rows' sparse histogram entries and, per
/// feature, its cut points.
///
/// Most features of a real table have one bin that most rows share (a category's usual level,
/// a count's zero). A row's histogram entries leave out each feature's most frequent real bin,
/// its *default bin*, and a node's histogram fills that bin in from the node's totals
/// (LightGBM's most-frequent-bin skipping): the histograms sum a fraction of the cells (15 of
/// 49 a row on the benchmark's readmission table) and the others' values are the same sums.
pub(super) struct Binned {
    rows: usize,
    features: usize,
    /// `features × rows` bin indices (column-major: a split reads one feature of a node's
    /// ascending rows).
    columns: Vec<u8>,
    /// Row `r`'s histogram cells other than the default bins: `entries[starts[r]..starts[r + 1]]`.
    entries: Cells,
    starts: Vec<usize>,
    /// Per feature: the histogram cell of its default bin (never the missing-value bin).
    default_cell: Vec<usize>,
    /// Per feature: `cut[b]` is the threshold of a split after bin `b` (`x < cut[b]` ⇔ bin ≤ b).
    cuts: Vec<Vec<f32>>,
    /// Per feature: the bin of missing values, when the training rows have some.
    missing: Vec<Option<u8>>,
    /// Per feature: where its bins start in a histogram.
    offsets: Vec<usize>,
    /// Bins of all features.
    total_bins: usize,
}

/// Histogram cell indices, in 16 bits when every cell's index fits.
enum Cells {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

#[cfg(test)]
impl Cells {
    fn len(&self) -> usize {
        match self {
            Self::Narrow(v) => v.len(),
            Self::Wide(v) => v.len(),
        }
    }
}

/// One feature, binned.
struct BinnedColumn {
    cuts: Vec<f32>,
    missing: Option<u8>,
    /// A bin per row.
    bins: Vec<u8>,
    /// The most frequent real bin.
    default_bin: u8,
}

impl Binned {
    /// Bins `x` with at most `max_bin` bins per feature (`2 ≤ max_bin ≤ 256`), missing values
    /// included.
    pub(super) fn new(x: ArrayView2<'_, f64>, max_bin: usize) -> Self {
        let (rows, features) = x.dim();
        let columns: Vec<BinnedColumn> = (0..features)
            .into_par_iter()
            .map(|f| {
                let column = x.column(f);
                let has_missing = column.iter().any(|v| v.is_nan());
                let budget = if has_missing { max_bin - 1 } else { max_bin };
                // XGBoost bins features in single precision.
                let mut values: Vec<f32> = column.iter().filter(|v| !v.is_nan()).map(|&v| v as f32).collect();
                values.sort_unstable_by(f32::total_cmp);
                let cuts = cut_points(&values, budget);
                let missing = has_missing.then(|| u8::try_from(cuts.len() + 1).unwrap_or(u8::MAX));
                let bins: Vec<u8> = column
                    .iter()
                    .map(|&v| {
                        if v.is_nan() {
                            missing.unwrap_or_default()
                        } else {
                            let v = v as f32;
                            // At most `budget - 1` cuts, so the bin fits in a byte.
                            u8::try_from(cuts.partition_point(|&c| c <= v)).unwrap_or(u8::MAX)
                        }
                    })
                    .collect();
                let mut counts = [0_usize; 256];
                for &b in &bins {
                    counts[b as usize] += 1;
                }
                let real = cuts.len() + 1;
                let default_bin = (0..real).max_by_key(|&b| (counts[b], std::cmp::Reverse(b))).unwrap_or(0);
                BinnedColumn { cuts, missing, bins, default_bin: u8::try_from(default_bin).unwrap_or(0) }
            })
            .collect();
        let mut by_column = Vec::with_capacity(rows * features);
        let mut cuts = Vec::with_capacity(features);
        let mut missing = Vec::with_capacity(features);
        let mut offsets = Vec::with_capacity(features);
        let mut defaults = Vec::with_capacity(features);
        let mut total_bins = 0;
        for BinnedColumn { cuts: c, missing: m, bins: column, default_bin } in columns {
            by_column.extend_from_slice(&column);
            offsets.push(total_bins);
            defaults.push(default_bin);
            total_bins += c.len() + 1 + usize::from(m.is_some());
            cuts.push(c);
            missing.push(m);
        }
        // Each row's cells outside the default bins, in row order.
        let mut starts = Vec::with_capacity(rows + 1);
        let mut sparse = |cell: &mut dyn FnMut(usize)| {
            starts.push(0);
            let mut n = 0;
            for r in 0..rows {
                for f in 0..features {
                    let bin = by_column[f * rows + r];
                    if bin != defaults[f] {
                        cell(offsets[f] + bin as usize);
                        n += 1;
                    }
                }
                starts.push(n);
            }
        };
        let entries = if total_bins <= usize::from(u16::MAX) + 1 {
            let mut cells = Vec::new();
            sparse(&mut |c| cells.push(u16::try_from(c).unwrap_or(u16::MAX)));
            Cells::Narrow(cells)
        } else {
            let mut cells = Vec::new();
            sparse(&mut |c| cells.push(u32::try_from(c).unwrap_or(u32::MAX)));
            Cells::Wide(cells)
        };
        let default_cell = offsets.iter().zip(&defaults).map(|(&o, &d)| o + d as usize).collect();
        Self { rows, features, columns: by_column, entries, starts, default_cell, cuts, missing, offsets, total_bins }
    }

    fn column(&self, f: usize) -> &[u8] {
        &self.columns[f * self.rows..(f + 1) * self.rows]
    }

    /// Adds the gradients of `rows` to their cells outside the default bins and returns
    /// their totals.
    fn sum_sparse(&self, hist: &mut [[f64; 2]], grads: &[GradPair], rows: &[u32]) -> [f64; 2] {
        fn sum<T: Copy>(
            hist: &mut [[f64; 2]],
            entries: &[T],
            starts: &[usize],
            grads: &[GradPair],
            rows: &[u32],
            index: impl Fn(T) -> usize,
        ) -> [f64; 2] {
            let mut total = [0.0_f64; 2];
            for &r in rows {
                let r = r as usize;
                let [g, h] = grads[r];
                let (g, h) = (f64::from(g), f64::from(h));
                total[0] += g;
                total[1] += h;
                for &cell in &entries[starts[r]..starts[r + 1]] {
                    let cell = &mut hist[index(cell)];
                    cell[0] += g;
                    cell[1] += h;
                }
            }
            total
        }
        match &self.entries {
            Cells::Narrow(entries) => sum(hist, entries, &self.starts, grads, rows, usize::from),
            Cells::Wide(entries) => sum(hist, entries, &self.starts, grads, rows, |c| c as usize),
        }
    }

    /// Fills each feature's default-bin cell of a histogram whose other cells hold the sums of
    /// rows with total `(Σg, Σh)`: the total minus the feature's other bins.
    fn fill_default_bins(&self, hist: &mut [[f64; 2]], total: [f64; 2]) {
        for f in 0..self.features {
            let (start, end) = (self.offsets[f], self.offsets.get(f + 1).copied().unwrap_or(self.total_bins));
            let cell = self.default_cell[f];
            let [mut g, mut h] = total;
            for (i, c) in hist[start..end].iter().enumerate() {
                if start + i != cell {
                    g -= c[0];
                    h -= c[1];
                }
            }
            hist[cell] = [g, h];
        }
    }

    /// Real (non-missing) bins of feature `f`.
    fn real_bins(&self, f: usize) -> usize {
        self.cuts[f].len() + 1
    }
}

/// At most `budget - 1` increasing cut points of sorted values: every distinct value but the
/// smallest when there are at most `budget` of them, else values at evenly spaced ranks.
fn cut_points(sorted: &[f32], budget: usize) -> Vec<f32> {
    let distinct = distinct_prefix(sorted, budget + 1);
    if distinct.len() <= budget {
        return distinct.into_iter().skip(1).collect();
    }
    let n = sorted.len();
    let mut cuts: Vec<f32> = Vec::with_capacity(budget);
    for q in 1..budget {
        let v = sorted[q * n / budget];
        if v > sorted[0] && cuts.last().is_none_or(|&last| v > last) {
            cuts.push(v);
        }
    }
    cuts
}

/// The first `limit` distinct values of sorted values (all of them when there are fewer).
pub(super) fn distinct_prefix<T: Copy + PartialEq>(sorted: &[T], limit: usize) -> Vec<T> {
    let mut distinct: Vec<T> = Vec::new();
    for &v in sorted {
        if distinct.last() != Some(&v) {
            if distinct.len() == limit {
                break;
            }
            distinct.push(v);
        }
    }
    distinct
}

/// A gradient and hessian per row (of one output group).
type GradPair = [f32; 2];

/// A node's histogram: `(Σg, Σh)` per bin of every feature, flat.
type Histogram = Vec<[f64; 2]>;

fn build_histogram(binned: &Binned, grads: &[GradPair], rows: &[u32]) -> Histogram {
    // The cells outside the default bins, and the rows' totals.
    let sum_chunk = |chunk: &[u32]| {
        let mut hist = vec![[0.0_f64; 2]; binned.total_bins];
        let total = binned.sum_sparse(&mut hist, grads, chunk);
        (hist, total)
    };
    let (mut hist, total) = if rows.len() <= HISTOGRAM_CHUNK {
        sum_chunk(rows)
    } else {
        rows.par_chunks(HISTOGRAM_CHUNK)
            .map(sum_chunk)
            .reduce_with(|(a, ta), (b, tb)| (add_histograms(a, b), [ta[0] + tb[0], ta[1] + tb[1]]))
            .unwrap_or_else(|| (vec![[0.0; 2]; binned.total_bins], [0.0; 2]))
    };
    binned.fill_default_bins(&mut hist, total);
    hist
}

fn add_histograms(mut a: Histogram, b: Histogram) -> Histogram {
    for (x, y) in a.iter_mut().zip(&b) {
        x[0] += y[0];
        x[1] += y[1];
    }
    a
}

fn subtract_histogram(parent: &Histogram, child: &Histogram) -> Histogram {
    parent.iter().zip(child).map(|(p, c)| [p[0] - c[0], p[1] - c[1]]).collect()
}

/// The regularised terms of a split's gain and a leaf's weight.
#[derive(Clone, Copy)]
struct Regularisation {
    lambda: f64,
    alpha: f64,
    min_child_weight: f64,
}

impl Regularisation {
    /// L1 soft threshold of a gradient sum.
    fn threshold(self, g: f64) -> f64 {
        if g > self.alpha {
            g - self.alpha
        } else if g < -self.alpha {
            g + self.alpha
        } else {
            0.0
        }
    }

    fn score(self, g: f64, h: f64) -> f64 {
        let t = self.threshold(g);
        t * t / (h + self.lambda)
    }

    fn weight(self, g: f64, h: f64) -> f64 {
        -self.threshold(g) / (h + self.lambda)
    }
}

#[derive(Clone, Copy, Debug)]
struct Split {
    gain: f64,
    feature: usize,
    /// The last bin that goes left.
    bin: usize,
    default_left: bool,
}

fn best_split(
    binned: &Binned,
    hist: &Histogram,
    sums: [f64; 2],
    features: &[usize],
    reg: Regularisation,
) -> Option<Split> {
    let [g_total, h_total] = sums;
    let parent = reg.score(g_total, h_total);
    let mut best: Option<Split> = None;
    let mut consider = |gain: f64, feature: usize, bin: usize, default_left: bool| {
        if gain > MIN_SPLIT_GAIN && best.is_none_or(|b| gain > b.gain) {
            best = Some(Split { gain, feature, bin, default_left });
        }
    };
    for &f in features {
        let offset = binned.offsets[f];
        let real = binned.real_bins(f);
        let [g_missing, h_missing] = match binned.missing[f] {
            Some(m) => hist[offset + m as usize],
            None => [0.0, 0.0],
        };
        let has_missing = h_missing > 0.0;
        let (mut g_left, mut h_left) = (0.0, 0.0);
        for b in 0..real - 1 {
            let [g, h] = hist[offset + b];
            g_left += g;
            h_left += h;
            // Missing values left (also the choice when this node has none), then right.
            let (gl, hl) = (g_left + g_missing, h_left + h_missing);
            let (gr, hr) = (g_total - gl, h_total - hl);
            if hl >= reg.min_child_weight && hr >= reg.min_child_weight {
                consider(reg.score(gl, hl) + reg.score(gr, hr) - parent, f, b, true);
            }
            if has_missing {
                let (gr, hr) = (g_total - g_left, h_total - h_left);
                if h_left >= reg.min_child_weight && hr >= reg.min_child_weight {
                    consider(reg.score(g_left, h_left) + reg.score(gr, hr) - parent, f, b, false);
                }
            }
        }
    }
    best
}

/// A grown tree before it becomes a [`BoostedTree`]: nodes in creation order.
struct GrownNode {
    sums: [f64; 2],
    split: Option<Split>,
    children: Option<(usize, usize)>,
    /// The node's rows: `rows[start..end]` of the tree's row order.
    start: usize,
    end: usize,
}

/// What growing one tree needs beyond the data.
struct TreeSettings<'a> {
    params: &'a XgboostParams,
    reg: Regularisation,
}

/// Grows one tree on `rows` (sorted row indices; reordered in place so each leaf's rows are
/// contiguous) and returns its nodes.
fn grow_tree(
    binned: &Binned,
    grads: &[GradPair],
    rows: &mut [u32],
    tree_features: &[usize],
    settings: &TreeSettings<'_>,
    rng: &mut ChaCha8Rng,
) -> Vec<GrownNode> {
    let p = settings.params;
    let sums = rows.iter().fold([0.0, 0.0], |[g, h], &r| {
        let [rg, rh] = grads[r as usize];
        [g + f64::from(rg), h + f64::from(rh)]
    });
    let mut nodes = vec![GrownNode { sums, split: None, children: None, start: 0, end: rows.len() }];
    // The level being split: node ids and their histograms.
    let mut level: Vec<(usize, Histogram)> = vec![(0, build_histogram(binned, grads, rows))];
    for _depth in 0..p.max_depth {
        let level_features = sample(tree_features, p.colsample_bylevel, rng);
        let node_features: Vec<Vec<usize>> =
            level.iter().map(|_| sample(&level_features, p.colsample_bynode, rng)).collect();
        let splits: Vec<Option<Split>> = level
            .par_iter()
            .zip(&node_features)
            .map(|((id, hist), features)| best_split(binned, hist, nodes[*id].sums, features, settings.reg))
            .collect();
        // Partition each split node's rows (the level's nodes hold disjoint, ascending ranges of
        // `rows`, partitioned in parallel), then sum the smaller child of each pair.
        let mut parts: Vec<(&mut [u32], Split)> = Vec::new();
        let mut rest: &mut [u32] = &mut *rows;
        let mut consumed = 0;
        for ((id, _), split) in level.iter().zip(&splits) {
            let Some(split) = *split else { continue };
            let (start, end) = (nodes[*id].start, nodes[*id].end);
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - consumed);
            let (node_rows, tail) = tail.split_at_mut(end - start);
            rest = tail;
            consumed = end;
            parts.push((node_rows, split));
        }
        let mids: Vec<usize> = parts
            .into_par_iter()
            .map(|(node_rows, split)| {
                let column = binned.column(split.feature);
                let missing = binned.missing[split.feature];
                let mut scratch = Vec::new();
                partition(node_rows, &mut scratch, |r| {
                    let bin = column[r as usize];
                    if Some(bin) == missing { split.default_left } else { bin as usize <= split.bin }
                })
            })
            .collect();
        let mut pairs: Vec<(Histogram, usize, usize, bool)> = Vec::new();
        let mut mids = mids.into_iter();
        for ((id, hist), split) in level.into_iter().zip(splits) {
            let Some(split) = split else { continue };
            let (start, end) = (nodes[id].start, nodes[id].end);
            let mid = start + mids.next().expect("one partition per split");
            let (left, right) = (nodes.len(), nodes.len() + 1);
            nodes[id].split = Some(split);
            nodes[id].children = Some((left, right));
            for (s, e) in [(start, mid), (mid, end)] {
                nodes.push(GrownNode { sums: [0.0, 0.0], split: None, children: None, start: s, end: e });
            }
            let left_smaller = mid - start <= end - mid;
            pairs.push((hist, left, right, left_smaller));
        }
        if pairs.is_empty() {
            break;
        }
        // Across the level's pairs (and within a large node's rows) on every core.
        let small: Vec<Histogram> = pairs
            .par_iter()
            .map(|&(_, left, right, left_smaller)| {
                let node = &nodes[if left_smaller { left } else { right }];
                build_histogram(binned, grads, &rows[node.start..node.end])
            })
            .collect();
        let mut next = Vec::with_capacity(pairs.len() * 2);
        for ((parent, left, right, left_smaller), small) in pairs.into_iter().zip(small) {
            let large = subtract_histogram(&parent, &small);
            let (small_id, large_id) = if left_smaller { (left, right) } else { (right, left) };
            nodes[small_id].sums = node_sums(binned, &small);
            nodes[large_id].sums = node_sums(binned, &large);
            next.push((left, if left_smaller { small.clone() } else { large.clone() }));
            next.push((right, if left_smaller { large } else { small }));
        }
        level = next;
    }
    prune(&mut nodes, p.gamma);
    nodes
}

/// A node's `(Σg, Σh)` from its histogram (the bins of feature 0 hold every row once).
fn node_sums(binned: &Binned, hist: &Histogram) -> [f64; 2] {
    let end = binned.offsets.get(1).copied().unwrap_or(binned.total_bins);
    hist[..end].iter().fold([0.0, 0.0], |[g, h], c| [g + c[0], h + c[1]])
}

/// Stable partition of `rows` by `left`, returning the number that go left. Branch-free: every
/// row is written to both sides and only the side it belongs to advances.
pub(super) fn partition(rows: &mut [u32], scratch: &mut Vec<u32>, left: impl Fn(u32) -> bool) -> usize {
    scratch.clear();
    scratch.resize(rows.len(), 0);
    let (mut n_left, mut n_right) = (0, 0);
    for i in 0..rows.len() {
        let r = rows[i];
        let goes_left = left(r);
        // `n_left ≤ i`: the slot was read already.
        rows[n_left] = r;
        scratch[n_right] = r;
        n_left += usize::from(goes_left);
        n_right += usize::from(!goes_left);
    }
    rows[n_left..].copy_from_slice(&scratch[..n_right]);
    n_left
}

/// XGBoost's `min_split_loss` pruning: bottom-up, a split whose children are leaves and whose
/// gain is below `gamma` becomes a leaf.
fn prune(nodes: &mut [GrownNode], gamma: f64) {
    for i in (0..nodes.len()).rev() {
        let Some((l, r)) = nodes[i].children else { continue };
        let leaves = nodes[l].children.is_none() && nodes[r].children.is_none();
        if leaves && nodes[i].split.is_some_and(|s| s.gain < gamma) {
            nodes[i].children = None;
            nodes[i].split = None;
        }
    }
}

/// `round(fraction × n)` (at least one) of `features`, in their order, or all of them.
fn sample(features: &[usize], fraction: f64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    if fraction >= 1.0 {
        return features.to_vec();
    }
    // A positive count below n.
    let k = ((fraction * features.len() as f64).round() as usize).clamp(1, features.len());
    let mut picked: Vec<usize> = features.choose_multiple(rng, k).copied().collect();
    picked.sort_unstable();
    picked
}

/// A leaf's value, `eta × weight`, in single precision as XGBoost's: what the exported tree
/// holds and what the training margins add.
fn leaf_value(node: &GrownNode, eta: f64, reg: Regularisation) -> f32 {
    let [g, h] = node.sums;
    (eta * reg.weight(g, h)) as f32
}

/// The grown tree as XGBoost's node arrays, reachable nodes only, with [`leaf_value`]s.
fn export(binned: &Binned, nodes: &[GrownNode], eta: f64, reg: Regularisation) -> BoostedTree {
    let mut left = Vec::new();
    let mut right = Vec::new();
    let mut feature = Vec::new();
    let mut value = Vec::new();
    let mut default_left = Vec::new();
    let mut index = vec![None; nodes.len()];
    // Breadth-first, so children always follow their parent.
    let mut queue = std::collections::VecDeque::from([0_usize]);
    while let Some(id) = queue.pop_front() {
        let i = left.len();
        index[id] = Some(i);
        left.push(-1);
        right.push(-1);
        default_left.push(false);
        match (nodes[id].children, nodes[id].split) {
            (Some((l, r)), Some(split)) => {
                feature.push(u32::try_from(split.feature).unwrap_or(u32::MAX));
                value.push(binned.cuts[split.feature][split.bin]);
                default_left[i] = split.default_left;
                queue.push_back(l);
                queue.push_back(r);
            }
            _ => {
                feature.push(0);
                value.push(leaf_value(&nodes[id], eta, reg));
            }
        }
    }
    // Children's indices, now that every reachable node has one.
    for (id, node) in nodes.iter().enumerate() {
        if let (Some(i), Some((l, r))) = (index[id], node.children) {
            left[i] = index[l].and_then(|v| i32::try_from(v).ok()).unwrap_or(-1);
            right[i] = index[r].and_then(|v| i32::try_from(v).ok()).unwrap_or(-1);
        }
    }
    BoostedTree::new(left, right, feature, value, default_left)
        .expect("a grown tree is a tree: breadth-first order, finite leaves")
}

/// The objective's gradient and hessian for every row of group `group`.
fn gradients(
    objective: Objective,
    margins: &[f32],
    groups: usize,
    targets: &Targets<'_>,
    spw: f32,
    group: usize,
    out: &mut [GradPair],
) {
    match (objective, targets) {
        (Objective::BinaryLogistic, Targets::Classes(labels)) => {
            out.par_iter_mut().zip(margins.par_iter()).zip(labels.par_iter()).for_each(|((o, &m), &y)| {
                let p = sigmoid_f32(m);
                let weight = if y == 1 { spw } else { 1.0 };
                let y = if y == 1 { 1.0 } else { 0.0 };
                *o = [(p - y) * weight, (p * (1.0 - p)).max(MIN_HESSIAN) * weight];
            });
        }
        (Objective::MultiSoftprob | Objective::MultiSoftmax, Targets::Classes(labels)) => {
            out.par_iter_mut().zip(margins.par_chunks(groups)).zip(labels.par_iter()).for_each(|((o, m), &y)| {
                let mut p = [0.0_f32; 64];
                let p = &mut p[..groups.min(64)];
                p.copy_from_slice(&m[..p.len()]);
                softmax_f32(p);
                let pk = p.get(group).copied().unwrap_or(0.0);
                let y = if y == group { 1.0 } else { 0.0 };
                *o = [pk - y, (2.0 * pk * (1.0 - pk)).max(MIN_HESSIAN)];
            });
        }
        (_, Targets::Values(values)) => {
            out.par_iter_mut().zip(margins.par_iter()).zip(values.par_iter()).for_each(|((o, &m), &y)| {
                // Gradients are single precision, as XGBoost's.
                let y = y as f32;
                *o = [m - y, 1.0];
            });
        }
        (_, Targets::Classes(_)) => unreachable!("the objective was checked against the targets"),
    }
}

/// Training or validation targets, borrowed.
pub(super) enum Targets<'a> {
    Classes(&'a [usize]),
    Values(&'a [f64]),
}

/// Rows to learn from or to validate on.
pub(super) struct Rows<'a> {
    pub(super) x: ArrayView2<'a, f64>,
    pub(super) targets: Targets<'a>,
}

/// The metric of the validation margins' predictions (probabilities or values).
fn evaluate(metric: EvalMetric, objective: Objective, groups: usize, margins: &[f32], targets: &Targets<'_>) -> f64 {
    let predictions: Vec<f64> = match objective {
        Objective::BinaryLogistic => margins
            .iter()
            .flat_map(|&m| {
                let p = sigmoid_f32(m);
                [f64::from(1.0 - p), f64::from(p)]
            })
            .collect(),
        Objective::MultiSoftprob | Objective::MultiSoftmax => margins
            .chunks(groups)
            .flat_map(|m| {
                let mut p = m.to_vec();
                softmax_f32(&mut p);
                p.into_iter().map(f64::from).collect::<Vec<_>>()
            })
            .collect(),
        Objective::RegSquaredError => margins.iter().map(|&m| f64::from(m)).collect(),
    };
    match (metric, targets) {
        (EvalMetric::Rmse | EvalMetric::Mae, Targets::Values(y)) => {
            let m = metrics::regression(y, &predictions);
            if metric == EvalMetric::Rmse { m.rmse } else { m.mae }
        }
        (EvalMetric::Rmse | EvalMetric::Mae, Targets::Classes(labels)) => {
            // Of the positive class's probability (binary) against the 0/1 label, as XGBoost.
            let k = predictions.len() / labels.len().max(1);
            let y: Vec<f64> = labels.iter().map(|&l| if l == 1 { 1.0 } else { 0.0 }).collect();
            let p: Vec<f64> = predictions.chunks(k.max(1)).map(|c| c.get(1).copied().unwrap_or(0.0)).collect();
            let m = metrics::regression(&y, &p);
            if metric == EvalMetric::Rmse { m.rmse } else { m.mae }
        }
        (EvalMetric::Auc, Targets::Classes(labels)) => {
            let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
            let scores: Vec<f64> = predictions.chunks(2).map(|c| c[1]).collect();
            metrics::roc_auc(&positive, &scores)
        }
        (EvalMetric::Logloss | EvalMetric::Mlogloss, Targets::Classes(labels)) => {
            metrics::log_loss(labels, &predictions, predictions.len() / labels.len().max(1), 1e-15)
        }
        (EvalMetric::Error | EvalMetric::Merror, Targets::Classes(labels)) => {
            1.0 - metrics::accuracy(labels, &predictions, predictions.len() / labels.len().max(1))
        }
        _ => f64::NAN,
    }
}

/// Boosts `params.num_round` rounds (fewer with early stopping) on `train`, validating on
/// `validation` when given. The parameters, the objective and the targets were checked by the
/// caller.
pub(super) fn boost(
    params: &XgboostParams,
    groups: usize,
    train: &Rows<'_>,
    validation: Option<&Rows<'_>>,
) -> BoostedTrees {
    let objective = params.objective;
    let reg = Regularisation { lambda: params.lambda, alpha: params.alpha, min_child_weight: params.min_child_weight };
    let settings = TreeSettings { params, reg };
    let binned = Binned::new(train.x, params.max_bin);
    let n = binned.rows;
    let base = objective.base_margin(params.base_score).unwrap_or(0.0);
    // Margins are single precision, as XGBoost's.
    let base = base as f32;
    let mut margins = vec![base; n * groups];
    let mut validation_margins = validation.map(|v| vec![base; v.x.nrows() * groups]);
    let mut grads = vec![[0.0_f32; 2]; n];
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let all_features: Vec<usize> = (0..binned.features).collect();
    let mut trees = Vec::new();
    let mut tree_group = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    let higher_is_better = params.eval_metric == EvalMetric::Auc;
    // A weight, single precision as XGBoost's.
    let spw = params.scale_pos_weight as f32;
    let mut validation_row = Vec::new();
    for round in 0..params.num_round {
        for group in 0..groups {
            gradients(objective, &margins, groups, &train.targets, spw, group, &mut grads);
            let mut rows: Vec<u32> = if params.subsample < 1.0 {
                (0..n).filter(|_| rng.gen_bool(params.subsample)).map(|r| r as u32).collect()
            } else {
                (0..n).map(|r| r as u32).collect()
            };
            let tree_features = sample(&all_features, params.colsample_bytree, &mut rng);
            let nodes = grow_tree(&binned, &grads, &mut rows, &tree_features, &settings, &mut rng);
            let tree = export(&binned, &nodes, params.eta, reg);
            // Training margins: leaves' row ranges for the sampled rows, a walk for the others.
            if params.subsample < 1.0 {
                margins.par_chunks_mut(groups).enumerate().for_each(|(r, m)| {
                    m[group] += leaf_by_bins(&binned, &nodes, r, params.eta, reg);
                });
            } else {
                add_leaf_values(&mut margins, groups, group, &rows, &nodes, params.eta, reg);
            }
            if let (Some(v), Some(vm)) = (validation, validation_margins.as_mut()) {
                for (r, m) in vm.chunks_mut(groups).enumerate() {
                    let row = v.x.row(r);
                    let row = crate::model::row_slice(&row, &mut validation_row);
                    m[group] += tree.leaf_value(row);
                }
            }
            trees.push(tree);
            tree_group.push(u32::try_from(group).unwrap_or(u32::MAX));
        }
        if let (Some(v), Some(vm)) = (validation, validation_margins.as_ref()) {
            let score = evaluate(params.eval_metric, objective, groups, vm, &v.targets);
            tracing::trace!(round, metric = params.eval_metric.name(), score, "boosting round");
            let improved = best.is_none_or(|(_, b)| if higher_is_better { score > b } else { score < b });
            if improved {
                best = Some((round, score));
            } else if params.early_stopping_rounds > 0
                && best.is_some_and(|(b, _)| round - b >= params.early_stopping_rounds)
            {
                break;
            }
        }
    }
    if params.early_stopping_rounds > 0
        && let Some((round, score)) = best
    {
        tracing::debug!(best_round = round, score, "early stopping keeps the best round");
        trees.truncate((round + 1) * groups);
        tree_group.truncate((round + 1) * groups);
    }
    BoostedTrees::new(objective, binned.features, vec![base; groups], trees, tree_group)
        .expect("boosted trees of checked parameters are consistent")
}

/// Adds each final leaf's value to the margins of its rows (the leaf's range of `rows`).
fn add_leaf_values(
    margins: &mut [f32],
    groups: usize,
    group: usize,
    rows: &[u32],
    nodes: &[GrownNode],
    eta: f64,
    reg: Regularisation,
) {
    let mut stack = vec![0_usize];
    while let Some(id) = stack.pop() {
        let node = &nodes[id];
        match node.children {
            Some((l, r)) => stack.extend([l, r]),
            None => {
                let value = leaf_value(node, eta, reg);
                for &r in &rows[node.start..node.end] {
                    margins[r as usize * groups + group] += value;
                }
            }
        }
    }
}

/// The leaf value row `r` reaches, routed by its bins.
fn leaf_by_bins(binned: &Binned, nodes: &[GrownNode], r: usize, eta: f64, reg: Regularisation) -> f32 {
    let mut id = 0;
    loop {
        let node = &nodes[id];
        match (node.children, node.split) {
            (Some((l, right)), Some(split)) => {
                let bin = binned.column(split.feature)[r];
                let left = if Some(bin) == binned.missing[split.feature] {
                    split.default_left
                } else {
                    bin as usize <= split.bin
                };
                id = if left { l } else { right };
            }
            _ => return leaf_value(node, eta, reg),
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::Rng;

    use super::*;

    /// A table with a dominant bin in most features (as categorical codes have), a continuous
    /// feature and one with missing values.
    fn table(rows: usize) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        Array2::from_shape_fn((rows, 4), |(_, j)| match j {
            0 => f64::from(u8::from(rng.gen_bool(0.1))),
            1 => rng.gen_range(-3.0..3.0),
            2 => {
                if rng.gen_bool(0.3) {
                    f64::NAN
                } else {
                    f64::from(rng.gen_range(0..5_u8))
                }
            }
            _ => f64::from(rng.gen_range(0..3_u8)) * 0.5,
        })
    }

    #[test]
    fn sparse_histograms_equal_dense_sums() {
        let x = table(20_000);
        let binned = Binned::new(x.view(), 32);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let grads: Vec<GradPair> =
            (0..x.nrows()).map(|_| [rng.gen_range(-1.0..1.0), rng.gen_range(0.0..0.25)]).collect();
        // Every other row, enough for the parallel chunks.
        let rows: Vec<u32> = (0..x.nrows() as u32).step_by(2).collect();
        let hist = build_histogram(&binned, &grads, &rows);
        let mut dense = vec![[0.0_f64; 2]; binned.total_bins];
        for &r in &rows {
            let [g, h] = grads[r as usize];
            for f in 0..binned.features {
                let cell = &mut dense[binned.offsets[f] + binned.column(f)[r as usize] as usize];
                cell[0] += f64::from(g);
                cell[1] += f64::from(h);
            }
        }
        for (i, (ours, exact)) in hist.iter().zip(&dense).enumerate() {
            assert!(
                (ours[0] - exact[0]).abs() < 1e-9 && (ours[1] - exact[1]).abs() < 1e-9,
                "cell {i}: {ours:?} vs {exact:?}"
            );
        }
        // The skipped cells are the features' most frequent real bins, never the missing one.
        assert_eq!(binned.default_cell[0], binned.offsets[0]);
        assert_ne!(Some(binned.default_cell[2] - binned.offsets[2]), binned.missing[2].map(usize::from));
        let skipped = binned.features * x.nrows() - binned.entries.len();
        // Feature 0 alone skips 90 % of the rows.
        assert!(skipped > x.nrows(), "only {skipped} cells skipped");
    }

    #[test]
    fn partition_is_stable_and_counts_the_left_rows() {
        let mut rows: Vec<u32> = (0..1000).collect();
        let mut scratch = Vec::new();
        let n = partition(&mut rows, &mut scratch, |r| r % 3 == 0);
        assert_eq!(n, 334);
        assert!(rows[..n].iter().all(|r| r % 3 == 0) && rows[n..].iter().all(|r| r % 3 != 0));
        assert!(rows[..n].windows(2).all(|w| w[0] < w[1]) && rows[n..].windows(2).all(|w| w[0] < w[1]));
        assert_eq!(partition(&mut rows[..0], &mut scratch, |_| true), 0);
    }
}

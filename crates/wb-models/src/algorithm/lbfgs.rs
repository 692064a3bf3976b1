//! L-BFGS and the logistic regression objective it minimises for `logistic-regression`,
//! scikit-learn's `lbfgs` solver on the same objective.
//!
//! The objective is scikit-learn's, scaled as scikit-learn scales it (by `1/n`):
//! `(1/n)·[Σᵢ log loss(xᵢ) + ½·alpha·‖W‖²]` over the standardized features, with the
//! intercepts unpenalized; binary problems have one score (class 1's), multiclass problems one
//! per class (multinomial, softmax). The features are standardized on the fly (each score's
//! weights are divided by the scales and the means folded into its intercept), so the rows are
//! read as given, once per evaluation, summing loss and gradient in one pass over row chunks on
//! every core; the chunks' sums are added in chunk order, so the result does not depend on the
//! number of threads.
//!
//! [`Lbfgs::minimize`] is the limited-memory BFGS method (ten corrections, as SciPy's
//! L-BFGS-B that scikit-learn calls) with a backtracking Armijo line search (the objective is
//! convex, so curvature pairs with `sᵀy ≤ 0` are simply skipped). It stops as SciPy does: when
//! the largest gradient component is at most `gradient_tolerance` (scikit-learn's `tol`), when
//! the objective's relative decrease is at most `64·ε` (scikit-learn's `ftol`), or after
//! `max_iterations` iterations.

use std::collections::VecDeque;

use rayon::prelude::*;

/// Rows summed by one task in an evaluation.
const CHUNK_ROWS: usize = 4096;
/// The Armijo constant of the line search.
const ARMIJO: f64 = 1e-4;
/// The most function evaluations of one line search (SciPy's `maxls` in scikit-learn).
const MAX_LINE_SEARCH: usize = 50;

/// Settings of an L-BFGS run.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lbfgs {
    /// Corrections kept.
    pub(super) memory: usize,
    /// Most iterations.
    pub(super) max_iterations: usize,
    /// Stop when every gradient component is at most this in absolute value.
    pub(super) gradient_tolerance: f64,
    /// Stop when the relative decrease of the objective is at most this.
    pub(super) ftol: f64,
}

/// Where an L-BFGS run stopped.
#[derive(Clone, Debug)]
pub(super) struct Minimum {
    /// The parameters.
    pub(super) x: Vec<f64>,
    /// The objective there.
    pub(super) value: f64,
    /// Iterations run.
    pub(super) iterations: usize,
    /// Whether a tolerance was met (not the iteration limit or a failed line search).
    pub(super) converged: bool,
}

/// `a · b`, summed in eight independent lanes (so the compiler can vectorise it).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    let pairs = [lanes[0] + lanes[4], lanes[1] + lanes[5], lanes[2] + lanes[6], lanes[3] + lanes[7]];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

impl Lbfgs {
    /// Minimises `f` from `x0`; `f(x, gradient)` returns the objective and writes its gradient.
    pub(super) fn minimize(&self, x0: Vec<f64>, mut f: impl FnMut(&[f64], &mut [f64]) -> f64) -> Minimum {
        let n = x0.len();
        let mut x = x0;
        let mut g = vec![0.0; n];
        let mut fx = f(&x, &mut g);
        let mut history: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(self.memory);
        let (mut x_new, mut g_new, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut alphas = vec![0.0; self.memory];
        if max_abs(&g) <= self.gradient_tolerance {
            return Minimum { x, value: fx, iterations: 0, converged: true };
        }
        for iteration in 1..=self.max_iterations {
            // d = -H·g by the two-loop recursion.
            d.copy_from_slice(&g);
            for (i, (s, y, rho)) in history.iter().enumerate().rev() {
                alphas[i] = rho * dot(s, &d);
                d.iter_mut().zip(y).for_each(|(q, y)| *q -= alphas[i] * y);
            }
            if let Some((s, y, _)) = history.back() {
                let gamma = dot(s, y) / dot(y, y);
                d.iter_mut().for_each(|q| *q *= gamma);
            }
            for (i, (s, y, rho)) in history.iter().enumerate() {
                let beta = rho * dot(y, &d);
                d.iter_mut().zip(s).for_each(|(r, s)| *r += s * (alphas[i] - beta));
            }
            d.iter_mut().for_each(|v| *v = -*v);
            let mut slope = dot(&g, &d);
            if slope >= 0.0 || !slope.is_finite() {
                // Not a descent direction: restart from steepest descent.
                history.clear();
                d.iter_mut().zip(&g).for_each(|(d, g)| *d = -g);
                slope = -dot(&g, &g);
            }
            // SciPy's first step is 1/‖d‖; later ones try the full quasi-Newton step.
            let mut step = if history.is_empty() { (1.0 / dot(&d, &d).sqrt()).min(1.0) } else { 1.0 };
            let mut evaluations = 0;
            let f_new = loop {
                x_new.iter_mut().zip(&x).zip(&d).for_each(|((n, x), d)| *n = x + step * d);
                let value = f(&x_new, &mut g_new);
                evaluations += 1;
                if value.is_finite() && value <= fx + ARMIJO * step * slope {
                    break Some(value);
                }
                if evaluations >= MAX_LINE_SEARCH {
                    break None;
                }
                // The minimum of the quadratic through f(0), f'(0) and f(step), kept in
                // [0.1, 0.5]·step.
                let quadratic = if value.is_finite() {
                    -slope * step * step / (2.0 * (value - fx - slope * step))
                } else {
                    0.1 * step
                };
                step = quadratic.clamp(0.1 * step, 0.5 * step);
            };
            let Some(f_new) = f_new else {
                return Minimum { x, value: fx, iterations: iteration, converged: false };
            };
            let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
            let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &y);
            if sy > f64::EPSILON * dot(&y, &y) {
                if history.len() == self.memory {
                    history.pop_front();
                }
                history.push_back((s, y, 1.0 / sy));
            }
            let decrease = (fx - f_new) / fx.abs().max(f_new.abs()).max(1.0);
            std::mem::swap(&mut x, &mut x_new);
            std::mem::swap(&mut g, &mut g_new);
            fx = f_new;
            if max_abs(&g) <= self.gradient_tolerance || decrease <= self.ftol {
                return Minimum { x, value: fx, iterations: iteration, converged: true };
            }
        }
        Minimum { x, value: fx, iterations: self.max_iterations, converged: false }
    }
}

/// Logistic regression's objective on rows standardized on the fly.
pub(super) struct Logistic<'a> {
    /// Rows × features, row-major.
    pub(super) x: &'a [f64],
    /// Number of features.
    pub(super) features: usize,
    /// Class index per row.
    pub(super) labels: &'a [usize],
    /// Scores: 1 (binary: class 1's) or the number of classes (multinomial).
    pub(super) scores: usize,
    /// Per feature: the mean subtracted before scaling (0 without an intercept).
    pub(super) means: &'a [f64],
    /// Per feature: the scale divided by.
    pub(super) scales: &'a [f64],
    /// The L2 penalty `alpha` (scikit-learn's `1/C`).
    pub(super) alpha: f64,
    /// Whether each score has an (unpenalized) intercept.
    pub(super) intercept: bool,
}

/// Sums of one chunk of rows: the loss, `Σ rᵢₖ·xᵢ` per score and `Σ rᵢₖ` per score.
struct Sums {
    loss: f64,
    rx: Vec<f64>,
    r: Vec<f64>,
}

impl Logistic<'_> {
    /// Parameters per score: its weights, then its intercept when fitted.
    pub(super) fn stride(&self) -> usize {
        self.features + usize::from(self.intercept)
    }

    /// Number of parameters.
    pub(super) fn len(&self) -> usize {
        self.scores * self.stride()
    }

    /// The objective at `theta` (see the module documentation); writes its gradient.
    pub(super) fn evaluate(&self, theta: &[f64], gradient: &mut [f64]) -> f64 {
        let (p, k, stride) = (self.features, self.scores, self.stride());
        let n = self.labels.len();
        // Weights and intercepts on the original scale.
        let mut v = vec![0.0; k * p];
        let mut c = vec![0.0; k];
        for s in 0..k {
            let w = &theta[s * stride..s * stride + p];
            let b = if self.intercept { theta[s * stride + p] } else { 0.0 };
            let vs = &mut v[s * p..(s + 1) * p];
            for j in 0..p {
                vs[j] = w[j] / self.scales[j];
            }
            c[s] = b - dot(vs, self.means);
        }
        let chunks: Vec<Sums> = self
            .x
            .par_chunks(CHUNK_ROWS * p)
            .zip(self.labels.par_chunks(CHUNK_ROWS))
            .map(|(rows, labels)| self.chunk(rows, labels, &v, &c))
            .collect();
        let mut total = Sums { loss: 0.0, rx: vec![0.0; k * p], r: vec![0.0; k] };
        for chunk in chunks {
            total.loss += chunk.loss;
            total.rx.iter_mut().zip(&chunk.rx).for_each(|(a, b)| *a += b);
            total.r.iter_mut().zip(&chunk.r).for_each(|(a, b)| *a += b);
        }
        let inv_n = 1.0 / n as f64;
        let mut penalty = 0.0;
        for s in 0..k {
            for j in 0..p {
                let w = theta[s * stride + j];
                penalty += w * w;
                let centred = total.rx[s * p + j] - self.means[j] * total.r[s];
                gradient[s * stride + j] = (centred / self.scales[j] + self.alpha * w) * inv_n;
            }
            if self.intercept {
                gradient[s * stride + p] = total.r[s] * inv_n;
            }
        }
        (total.loss + 0.5 * self.alpha * penalty) * inv_n
    }

    fn chunk(&self, rows: &[f64], labels: &[usize], v: &[f64], c: &[f64]) -> Sums {
        let (p, k) = (self.features, self.scores);
        let mut sums = Sums { loss: 0.0, rx: vec![0.0; k * p], r: vec![0.0; k] };
        if k == 1 {
            for (row, &label) in rows.chunks_exact(p).zip(labels) {
                let z = c[0] + dot(row, v);
                let y = if label == 1 { 1.0 } else { 0.0 };
                // log(1 + e^z) - y·z, computed without overflow.
                let softplus = if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() };
                sums.loss += softplus - y * z;
                let r = 1.0 / (1.0 + (-z).exp()) - y;
                sums.r[0] += r;
                sums.rx.iter_mut().zip(row).for_each(|(a, x)| *a += r * x);
            }
        } else {
            let mut z = vec![0.0; k];
            for (row, &label) in rows.chunks_exact(p).zip(labels) {
                for (s, zs) in z.iter_mut().enumerate() {
                    *zs = c[s] + dot(row, &v[s * p..(s + 1) * p]);
                }
                let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|zs| (zs - max).exp()).sum();
                let log_sum = max + sum.ln();
                sums.loss += log_sum - z[label];
                for (s, &zs) in z.iter().enumerate() {
                    let r = (zs - log_sum).exp() - if s == label { 1.0 } else { 0.0 };
                    sums.r[s] += r;
                    sums.rx[s * p..(s + 1) * p].iter_mut().zip(row).for_each(|(a, x)| *a += r * x);
                }
            }
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lbfgs_finds_the_minimum_of_rosenbrock() {
        let solver = Lbfgs { memory: 10, max_iterations: 500, gradient_tolerance: 1e-10, ftol: 0.0 };
        let result = solver.minimize(vec![-1.2, 1.0], |x, g| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        });
        assert!(result.converged, "{result:?}");
        assert!((result.x[0] - 1.0).abs() < 1e-6 && (result.x[1] - 1.0).abs() < 1e-6, "{result:?}");
    }

    #[test]
    fn logistic_gradient_matches_finite_differences() {
        let x: Vec<f64> = (0..60).map(|i| f64::from((i * 37 % 17) as u32) * 0.3 - 2.0).collect();
        let labels: Vec<usize> = (0..20).map(|i| (i * 7) % 3).collect();
        for (scores, labels) in [(1, labels.iter().map(|l| usize::from(*l == 1)).collect::<Vec<_>>()), (3, labels)] {
            let problem = Logistic {
                x: &x,
                features: 3,
                labels: &labels,
                scores,
                means: &[0.5, -0.2, 0.1],
                scales: &[1.5, 0.7, 2.0],
                alpha: 0.3,
                intercept: true,
            };
            let theta: Vec<f64> = (0..problem.len()).map(|i| 0.1 * f64::from(i as u32) - 0.4).collect();
            let mut gradient = vec![0.0; theta.len()];
            problem.evaluate(&theta, &mut gradient);
            let mut scratch = vec![0.0; theta.len()];
            for i in 0..theta.len() {
                let h = 1e-6;
                let (mut up, mut down) = (theta.clone(), theta.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (problem.evaluate(&up, &mut scratch) - problem.evaluate(&down, &mut scratch)) / (2.0 * h);
                assert!(
                    (numeric - gradient[i]).abs() < 1e-7,
                    "scores {scores}, parameter {i}: {numeric} vs {}",
                    gradient[i]
                );
            }
        }
    }
}

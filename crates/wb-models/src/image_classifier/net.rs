//! The two networks on candle tensors (CPU, float32), the optimisers and the training loop.

use candle_core::{D, Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::data::ImageSet;
use super::params::{Augmentation, ImageClassifierParams, Optimizer};
use super::{Architecture, EpochMetrics, ImageWeights, Normalisation, WeightTensor};
use crate::schema::ImageInput;

/// Filters of convolution block `i` (32, 64, 128, 256).
pub(crate) const fn filters(block: usize) -> usize {
    32 << block
}

/// Pixels of padding around an image for the `crop` augmentation.
const CROP_PAD: usize = 4;
/// Images per forward pass at evaluation and inference.
pub(crate) const EVAL_BATCH: usize = 128;

/// One parameter tensor: name, shape, fan-in (for initialisation; 0 = zeros).
pub(crate) struct ParamSpec {
    pub(crate) name: String,
    pub(crate) shape: Vec<usize>,
    fan_in: usize,
    relu: bool,
}

/// The parameters of an architecture, in forward order.
pub(crate) fn param_specs(arch: Architecture, shape: ImageInput, classes: usize) -> Vec<ParamSpec> {
    let spec = |name: String, shape: Vec<usize>, fan_in: usize, relu: bool| ParamSpec { name, shape, fan_in, relu };
    let mut specs = Vec::new();
    let (mut c, mut h, mut w) = (shape.channels as usize, shape.height as usize, shape.width as usize);
    match arch {
        Architecture::Cnn { conv_blocks } => {
            for i in 0..conv_blocks as usize {
                let out = filters(i);
                specs.push(spec(format!("conv{i}.weight"), vec![out, c, 3, 3], c * 9, true));
                specs.push(spec(format!("conv{i}.bias"), vec![out], 0, true));
                (c, h, w) = (out, h / 2, w / 2);
            }
            specs.push(spec("fc.weight".into(), vec![classes, c * h * w], c * h * w, false));
            specs.push(spec("fc.bias".into(), vec![classes], 0, false));
        }
        Architecture::PixelLogistic => {
            // Zeros: the loss is convex, and the first step is the same for every seed.
            specs.push(spec("fc.weight".into(), vec![classes, c * h * w], 0, false));
            specs.push(spec("fc.bias".into(), vec![classes], 0, false));
        }
    }
    specs
}

/// Initial weights: He-uniform (`±√(6/fan_in)`) before a ReLU, `±1/√fan_in` for the dense
/// layer, zeros for biases and for the logistic model; drawn from `rng` in parameter order.
fn initial_weights(specs: &[ParamSpec], rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    specs
        .iter()
        .map(|s| {
            let n: usize = s.shape.iter().product();
            if s.fan_in == 0 {
                return vec![0.0; n];
            }
            let bound = if s.relu { (6.0 / s.fan_in as f64).sqrt() } else { 1.0 / (s.fan_in as f64).sqrt() };
            (0..n).map(|_| rng.gen_range(-bound..bound) as f32).collect()
        })
        .collect()
}

/// The forward pass: logits `[batch, classes]` of `x` `[batch, C, H, W]` (normalised).
pub(crate) fn forward(arch: Architecture, params: &[Tensor], x: &Tensor) -> candle_core::Result<Tensor> {
    let mut x = x.clone();
    let mut p = params.iter();
    let mut next = || p.next().ok_or_else(|| candle_core::Error::Msg("too few parameter tensors".into()));
    if let Architecture::Cnn { conv_blocks } = arch {
        for _ in 0..conv_blocks {
            let (w, b) = (next()?, next()?);
            x = super::conv::relu_max_pool(&super::conv::conv3x3(&x, w, b)?)?;
        }
    }
    let (w, b) = (next()?, next()?);
    x.flatten_from(1)?.matmul(&w.t()?)?.broadcast_add(b)
}

/// Log-probabilities of logits (rows).
fn log_softmax(logits: &Tensor) -> candle_core::Result<Tensor> {
    let shifted = logits.broadcast_sub(&logits.max_keepdim(D::Minus1)?.detach())?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&lse)
}

/// Per-channel mean and standard deviation of the pixels (scaled to [0, 1]).
pub(crate) fn normalisation(set: &ImageSet) -> Normalisation {
    let c = set.shape.channels as usize;
    let plane = (set.shape.height * set.shape.width) as usize;
    let mut sum = vec![0.0_f64; c];
    let mut sq = vec![0.0_f64; c];
    for i in 0..set.len() {
        for (ch, values) in set.image(i).chunks_exact(plane).enumerate() {
            for &v in values {
                let v = f64::from(v) / 255.0;
                sum[ch] += v;
                sq[ch] += v * v;
            }
        }
    }
    let n = (set.len() * plane).max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let std = sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| {
            let s = (q / n - m * m).max(0.0).sqrt();
            if s > 1e-6 { s as f32 } else { 1.0 }
        })
        .collect();
    Normalisation { mean: mean.iter().map(|&m| m as f32).collect(), std }
}

/// Writes one image (CHW bytes) normalised into `out`, with the `crop` augmentation when
/// `crop` is `Some((dy, dx, flip))`.
fn put_image(
    image: &[u8],
    shape: ImageInput,
    norm: &Normalisation,
    crop: Option<(usize, usize, bool)>,
    out: &mut Vec<f32>,
) {
    let (h, w) = (shape.height as usize, shape.width as usize);
    for (ch, plane) in image.chunks_exact(h * w).enumerate() {
        let (m, s) = (norm.mean[ch], norm.std[ch]);
        let value = |v: u8| (f32::from(v) / 255.0 - m) / s;
        match crop {
            None => out.extend(plane.iter().map(|&v| value(v))),
            Some((dy, dx, flip)) => {
                for y in 0..h {
                    for x in 0..w {
                        let sx = if flip { w - 1 - x } else { x };
                        let (py, px) = (y + dy, sx + dx);
                        let inside = (CROP_PAD..CROP_PAD + h).contains(&py) && (CROP_PAD..CROP_PAD + w).contains(&px);
                        out.push(if inside { value(plane[(py - CROP_PAD) * w + px - CROP_PAD]) } else { 0.0 });
                    }
                }
            }
        }
    }
}

/// Normalised CHW floats → a `[n, C, H, W]` tensor.
pub(crate) fn batch_tensor(values: Vec<f32>, n: usize, shape: ImageInput) -> candle_core::Result<Tensor> {
    Tensor::from_vec(values, (n, shape.channels as usize, shape.height as usize, shape.width as usize), &Device::Cpu)
}

/// Class probabilities (rows) of a batch tensor.
pub(crate) fn probabilities(arch: Architecture, params: &[Tensor], x: &Tensor) -> candle_core::Result<Vec<Vec<f32>>> {
    log_softmax(&forward(arch, params, x)?)?.exp()?.to_vec2::<f32>()
}

/// Optimiser state of one parameter.
struct Slot {
    var: Var,
    first: Option<Tensor>,
    second: Option<Tensor>,
}

struct Optimiser {
    kind: Optimizer,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    beta_1: f64,
    beta_2: f64,
    eps: f64,
    gamma: f64,
    steps: i32,
    slots: Vec<Slot>,
}

impl Optimiser {
    fn new(p: &ImageClassifierParams, vars: &[Var]) -> Self {
        Self {
            kind: p.optimizer,
            lr: p.learning_rate,
            momentum: p.momentum,
            weight_decay: p.weight_decay,
            beta_1: p.beta_1,
            beta_2: p.beta_2,
            eps: p.eps,
            gamma: p.gamma,
            steps: 0,
            slots: vars.iter().map(|v| Slot { var: v.clone(), first: None, second: None }).collect(),
        }
    }

    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> candle_core::Result<()> {
        self.steps = self.steps.saturating_add(1);
        for slot in &mut self.slots {
            let Some(g) = grads.get(slot.var.as_tensor()) else { continue };
            let w = slot.var.as_tensor();
            let g = if self.weight_decay > 0.0 { (g + w.affine(self.weight_decay, 0.0)?)? } else { g.clone() };
            let zeros = || g.zeros_like();
            let update = match self.kind {
                Optimizer::Sgd | Optimizer::Nag => {
                    let v = match &slot.first {
                        Some(v) => (v.affine(self.momentum, 0.0)? + &g)?,
                        None => g.clone(),
                    };
                    let update =
                        if self.kind == Optimizer::Nag { (&g + v.affine(self.momentum, 0.0)?)? } else { v.clone() };
                    slot.first = Some(v);
                    update.affine(self.lr, 0.0)?
                }
                Optimizer::Adam => {
                    let m = (slot.first.take().map_or_else(zeros, Ok)?.affine(self.beta_1, 0.0)?
                        + g.affine(1.0 - self.beta_1, 0.0)?)?;
                    let v = (slot.second.take().map_or_else(zeros, Ok)?.affine(self.beta_2, 0.0)?
                        + g.sqr()?.affine(1.0 - self.beta_2, 0.0)?)?;
                    let m_hat = m.affine(1.0 / (1.0 - self.beta_1.powi(self.steps)), 0.0)?;
                    let v_hat = v.affine(1.0 / (1.0 - self.beta_2.powi(self.steps)), 0.0)?;
                    slot.first = Some(m);
                    slot.second = Some(v);
                    (m_hat / v_hat.sqrt()?.affine(1.0, self.eps)?)?.affine(self.lr, 0.0)?
                }
                Optimizer::Rmsprop => {
                    let s = (slot.second.take().map_or_else(zeros, Ok)?.affine(self.gamma, 0.0)?
                        + g.sqr()?.affine(1.0 - self.gamma, 0.0)?)?;
                    let update = (&g / s.sqrt()?.affine(1.0, self.eps)?)?.affine(self.lr, 0.0)?;
                    slot.second = Some(s);
                    update
                }
            };
            slot.var.set(&(w - update)?)?;
        }
        Ok(())
    }
}

/// What [`fit`] returns.
pub(crate) struct Fitted {
    pub(crate) weights: ImageWeights,
    pub(crate) history: Vec<EpochMetrics>,
    /// Class probabilities of every validation image under the returned weights.
    pub(crate) validation_probabilities: Vec<Vec<f32>>,
}

/// Trains `arch` on `train`, evaluating on `validation` after every epoch; stops early as
/// SageMaker's `early_stopping*` say. The weights returned are those after the last epoch run.
/// Once `stop` is set, the next mini-batch returns an error instead.
pub(crate) fn fit(
    arch: Architecture,
    params: &ImageClassifierParams,
    train: &ImageSet,
    validation: &ImageSet,
    norm: &Normalisation,
    progress: &mut dyn FnMut(&EpochMetrics),
    stop: &std::sync::atomic::AtomicBool,
) -> candle_core::Result<Fitted> {
    let shape = train.shape;
    let classes = params.num_classes;
    let specs = param_specs(arch, shape, classes);
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let vars = initial_weights(&specs, &mut rng)
        .into_iter()
        .zip(&specs)
        .map(|(values, s)| Var::from_tensor(&Tensor::from_vec(values, s.shape.as_slice(), &Device::Cpu)?))
        .collect::<candle_core::Result<Vec<Var>>>()?;
    let mut optimiser = Optimiser::new(params, &vars);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut history = Vec::new();
    let mut best_accuracy: Option<f64> = None;
    let mut since_best = 0_usize;
    let mut last_probabilities = Vec::new();
    let crop = params.augmentation_type == Augmentation::Crop;
    for epoch in 1..=params.epochs {
        let started = std::time::Instant::now();
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0_f64;
        for chunk in order.chunks(params.mini_batch_size) {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(candle_core::Error::Msg(format!("stopped on request in epoch {epoch}")));
            }
            let mut x = Vec::with_capacity(chunk.len() * shape.len());
            let mut onehot = vec![0.0_f32; chunk.len() * classes];
            for (row, &i) in chunk.iter().enumerate() {
                let augmentation =
                    crop.then(|| (rng.gen_range(0..=2 * CROP_PAD), rng.gen_range(0..=2 * CROP_PAD), rng.gen_bool(0.5)));
                put_image(train.image(i), shape, norm, augmentation, &mut x);
                onehot[row * classes + train.labels[i] as usize] = 1.0;
            }
            let x = batch_tensor(x, chunk.len(), shape)?;
            let onehot = Tensor::from_vec(onehot, (chunk.len(), classes), &Device::Cpu)?;
            let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
            let logp = log_softmax(&forward(arch, &tensors, &x)?)?;
            let loss = (logp * onehot)?.sum_all()?.affine(-1.0 / chunk.len() as f64, 0.0)?;
            let value = f64::from(loss.to_scalar::<f32>()?);
            if !value.is_finite() {
                return Err(candle_core::Error::Msg(format!(
                    "the training loss diverged to {value} in epoch {epoch}; lower learning_rate (now {})",
                    params.learning_rate
                )));
            }
            loss_sum += value * chunk.len() as f64;
            optimiser.step(&loss.backward()?)?;
        }
        let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().detach()).collect();
        let (validation_loss, validation_accuracy, proba) = evaluate(arch, &tensors, validation, norm)?;
        last_probabilities = proba;
        let metrics = EpochMetrics {
            epoch,
            train_loss: loss_sum / train.len().max(1) as f64,
            validation_loss,
            validation_accuracy,
            seconds: started.elapsed().as_secs_f64(),
        };
        tracing::info!(
            epoch,
            train_loss = metrics.train_loss,
            validation_loss,
            validation_accuracy,
            seconds = metrics.seconds,
            "image classifier epoch"
        );
        progress(&metrics);
        history.push(metrics);
        // SageMaker's rule: an epoch improves when the relative gain in validation accuracy
        // over the best so far exceeds early_stopping_tolerance.
        let improved = match best_accuracy {
            None => true,
            Some(best) if best > 0.0 => (validation_accuracy - best) / best > params.early_stopping_tolerance,
            Some(best) => validation_accuracy > best,
        };
        if improved {
            best_accuracy = Some(validation_accuracy);
            since_best = 0;
        } else {
            since_best += 1;
        }
        if params.early_stopping
            && epoch >= params.early_stopping_min_epochs
            && since_best >= params.early_stopping_patience
        {
            tracing::info!(epoch, best_accuracy, "early stopping: validation accuracy stopped improving");
            break;
        }
    }
    let weights = ImageWeights {
        tensors: specs
            .iter()
            .zip(&vars)
            .map(|(s, v)| {
                Ok(WeightTensor {
                    name: s.name.clone(),
                    shape: s.shape.clone(),
                    values: v.as_tensor().flatten_all()?.to_vec1()?,
                })
            })
            .collect::<candle_core::Result<_>>()?,
    };
    let mut weights = weights;
    weights.tensors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Fitted { weights, history, validation_probabilities: last_probabilities })
}

/// Mean cross-entropy, accuracy and the probabilities of every image of `set`.
fn evaluate(
    arch: Architecture,
    params: &[Tensor],
    set: &ImageSet,
    norm: &Normalisation,
) -> candle_core::Result<(f64, f64, Vec<Vec<f32>>)> {
    let mut loss = 0.0_f64;
    let mut correct = 0_usize;
    let mut all = Vec::with_capacity(set.len());
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        let mut x = Vec::with_capacity(chunk.len() * set.shape.len());
        for &i in chunk {
            put_image(set.image(i), set.shape, norm, None, &mut x);
        }
        let proba = probabilities(arch, params, &batch_tensor(x, chunk.len(), set.shape)?)?;
        for (&i, p) in chunk.iter().zip(proba) {
            let label = set.labels[i] as usize;
            loss -= f64::from(p[label]).max(1e-15).ln();
            let predicted = argmax(&p);
            correct += usize::from(predicted == label);
            all.push(p);
        }
    }
    let n = set.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n, all))
}

/// Index of the largest value (the first on ties).
pub(crate) fn argmax(p: &[f32]) -> usize {
    p.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

/// Normalised CHW floats of images already in `shape`'s size and channels.
pub(crate) fn normalised(images: &[Vec<u8>], shape: ImageInput, norm: &Normalisation) -> Vec<f32> {
    let mut out = Vec::with_capacity(images.len() * shape.len());
    for image in images {
        put_image(image, shape, norm, None, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_without_offset_or_flip_is_the_image() {
        let shape = ImageInput { channels: 1, height: 2, width: 3 };
        let norm = Normalisation { mean: vec![0.0], std: vec![1.0] };
        let image = [0, 51, 102, 153, 204, 255];
        let (mut plain, mut cropped, mut flipped) = (Vec::new(), Vec::new(), Vec::new());
        put_image(&image, shape, &norm, None, &mut plain);
        put_image(&image, shape, &norm, Some((CROP_PAD, CROP_PAD, false)), &mut cropped);
        put_image(&image, shape, &norm, Some((CROP_PAD, CROP_PAD, true)), &mut flipped);
        assert_eq!(plain, cropped);
        assert_eq!(flipped, [0.4, 0.2, 0.0, 1.0, 0.8, 0.6]);
        let mut shifted = Vec::new();
        put_image(&image, shape, &norm, Some((CROP_PAD + 1, CROP_PAD, false)), &mut shifted);
        assert_eq!(shifted, [0.6, 0.8, 1.0, 0.0, 0.0, 0.0], "shifted down a row, padded with zeros");
    }
}

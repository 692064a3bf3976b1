//! 3×3 convolutions (stride 1, padding 1) as an unfold (`im2col`) and one matrix product.
//!
//! candle's own `conv2d` backward computes the input gradient with a direct transposed
//! convolution, which took most of a training epoch on this CPU (8.6 s of an epoch over 1,078
//! 32×32 images). Here both gradients are matrix products (candle's `gemm`), and the unfold's
//! backward (`col2im`) is a pass of row additions. The unfold copies whole image rows, so it is
//! quick in debug builds too. The layer's weights keep candle's and PyTorch's `[out, in, 3, 3]`
//! layout, so saved models are unchanged.
//!
//! [`relu_max_pool`] fuses the ReLU and the 2×2 max-pool that follow every convolution: one pass
//! forward, and a backward that routes each gradient to the pixel that won the pool, where
//! candle's `max_pool2d` backward builds four full-size temporaries.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};

/// `[N, C, H, W]` → `[N, C·9 + 1, H·W]`: for image `n`, row `(c, ky, kx)` holds, for every
/// output pixel, the input pixel at offset `(ky − 1, kx − 1)` in channel `c` (zero outside the
/// image); the last row is ones, so the bias is one more column of the weight matrix (a
/// broadcast bias's gradient is a strided reduction that cost an eighth of an epoch).
struct Im2Col;

/// The adjoint of [`Im2Col`]: `[N, C·9 + 1, H·W]` → `[N, C, H, W]`, summing every column entry
/// back into the pixel it was copied from (the ones row has no input).
struct Col2Im {
    dims: (usize, usize, usize, usize),
}

/// The contiguous f32 data of a storage, or an error naming `op`.
fn contiguous_f32<'a>(op: &str, storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        return Err(candle_core::Error::Msg(format!("{op}: only f32 tensors are supported")));
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(candle_core::Error::Msg(format!("{op}: the input must be contiguous")));
    };
    Ok(&data[start..end])
}

/// Visits every pair of rows that the unfold links: `(column row offset, input row offset,
/// kx)` for each channel, kernel offset, image and output row whose source row is inside the
/// image.
fn for_each_row(dims: (usize, usize, usize, usize), mut visit: impl FnMut(usize, usize, usize)) {
    let (n, c, h, w) = dims;
    let hw = h * w;
    for b in 0..n {
        for ci in 0..c {
            for ky in 0..3 {
                for kx in 0..3 {
                    let row = (b * (c * 9 + 1) + ci * 9 + ky * 3 + kx) * hw;
                    for y in 0..h {
                        // Source row y + ky − 1, outside the image (zero padding) at the edges.
                        let Some(sy) = (y + ky).checked_sub(1).filter(|&sy| sy < h) else { continue };
                        visit(row + y * w, ((b * c + ci) * h + sy) * w, kx);
                    }
                }
            }
        }
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "wb-im2col-3x3"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let dims = layout.shape().dims4()?;
        let (n, c, h, w) = dims;
        let x = contiguous_f32(self.name(), storage, layout)?;
        let rows = c * 9 + 1;
        let mut cols = vec![0.0_f32; n * rows * h * w];
        for ones in cols.chunks_exact_mut(rows * h * w) {
            ones[(rows - 1) * h * w..].fill(1.0);
        }
        if w > 0 {
            for_each_row(dims, |dst, src, kx| {
                let (src, dst) = (&x[src..src + w], &mut cols[dst..dst + w]);
                match kx {
                    0 => dst[1..].copy_from_slice(&src[..w - 1]),
                    1 => dst.copy_from_slice(src),
                    _ => dst[..w - 1].copy_from_slice(&src[1..]),
                }
            });
        }
        Ok((CpuStorage::F32(cols), Shape::from((n, rows, h * w))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let dims = arg.dims4()?;
        Ok(Some(grad_res.contiguous()?.apply_op1_no_bwd(&Col2Im { dims })?))
    }
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "wb-col2im-3x3"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = self.dims;
        let cols = contiguous_f32(self.name(), storage, layout)?;
        if layout.shape().dims() != [n, c * 9 + 1, h * w] {
            return Err(candle_core::Error::Msg(format!(
                "{}: expected a [{n}, {}, {}] gradient, got {:?}",
                self.name(),
                c * 9 + 1,
                h * w,
                layout.shape().dims()
            )));
        }
        let mut x = vec![0.0_f32; n * c * h * w];
        let add = |dst: &mut [f32], src: &[f32]| dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        if w > 0 {
            for_each_row(self.dims, |col, row, kx| {
                let (src, dst) = (&cols[col..col + w], &mut x[row..row + w]);
                match kx {
                    0 => add(&mut dst[..w - 1], &src[1..]),
                    1 => add(dst, src),
                    _ => add(&mut dst[1..], &src[..w - 1]),
                }
            });
        }
        Ok((CpuStorage::F32(x), Shape::from(self.dims)))
    }
}

/// ReLU then 2×2 max-pool with stride 2: `[N, C, H, W]` → `[N, C, H/2, W/2]` (an odd last row
/// or column is dropped, as candle's `max_pool2d` does).
struct ReluMaxPool;

/// The backward of [`ReluMaxPool`]: `(input, output, output gradient)` → input gradient.
struct ReluMaxPoolBackward;

impl CustomOp1 for ReluMaxPool {
    fn name(&self) -> &'static str {
        "wb-relu-max-pool-2x2"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        let x = contiguous_f32(self.name(), storage, layout)?;
        let (oh, ow) = (h / 2, w / 2);
        let mut out = Vec::with_capacity(n * c * oh * ow);
        for plane in x.chunks_exact(h * w) {
            for oy in 0..oh {
                let (top, bottom) = (&plane[2 * oy * w..][..w], &plane[(2 * oy + 1) * w..][..w]);
                for ox in 0..ow {
                    let i = 2 * ox;
                    out.push(top[i].max(top[i + 1]).max(bottom[i]).max(bottom[i + 1]).max(0.0));
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((n, c, oh, ow))))
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(arg.contiguous()?.apply_op3_no_bwd(
            &res.contiguous()?,
            &grad_res.contiguous()?,
            &ReluMaxPoolBackward,
        )?))
    }
}

impl CustomOp3 for ReluMaxPoolBackward {
    fn name(&self) -> &'static str {
        "wb-relu-max-pool-2x2-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = l1.shape().dims4()?;
        let (oh, ow) = (h / 2, w / 2);
        if l2.shape().dims() != [n, c, oh, ow] || l3.shape().dims() != [n, c, oh, ow] {
            return Err(candle_core::Error::Msg(format!(
                "{}: expected [{n}, {c}, {oh}, {ow}] outputs and gradients, got {:?} and {:?}",
                self.name(),
                l2.shape().dims(),
                l3.shape().dims()
            )));
        }
        let x = contiguous_f32(self.name(), s1, l1)?;
        let pooled = contiguous_f32(self.name(), s2, l2)?;
        let grad = contiguous_f32(self.name(), s3, l3)?;
        let mut dx = vec![0.0_f32; x.len()];
        for (p, ((plane, out), g)) in
            x.chunks_exact(h * w).zip(pooled.chunks_exact(oh * ow)).zip(grad.chunks_exact(oh * ow)).enumerate()
        {
            let base = p * h * w;
            for oy in 0..oh {
                for ox in 0..ow {
                    let (value, g) = (out[oy * ow + ox], g[oy * ow + ox]);
                    // The ReLU passes no gradient where the pool's winner was not positive.
                    if value <= 0.0 {
                        continue;
                    }
                    // The first of the four pixels that holds the maximum takes the gradient.
                    let (y, x0) = (2 * oy, 2 * ox);
                    let winner = [(y, x0), (y, x0 + 1), (y + 1, x0), (y + 1, x0 + 1)]
                        .into_iter()
                        .map(|(y, x)| y * w + x)
                        .find(|&i| plane[i] == value);
                    if let Some(i) = winner {
                        dx[base + i] += g;
                    }
                }
            }
        }
        Ok((CpuStorage::F32(dx), Shape::from((n, c, h, w))))
    }
}

/// ReLU followed by a 2×2 max-pool with stride 2 of `x` `[N, C, H, W]`: the same values as
/// candle's `x.relu()?.max_pool2d(2)`, with its gradient.
pub(crate) fn relu_max_pool(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(ReluMaxPool)
}

/// A 3×3 convolution with stride 1 and padding 1 plus bias: `x` `[N, C, H, W]`, `weight`
/// `[O, C, 3, 3]`, `bias` `[O]` → `[N, O, H, W]`. Same values as candle's
/// `conv2d(weight, 1, 1, 1, 1)` plus the bias, with gradients for all three.
pub(crate) fn conv3x3(x: &Tensor, weight: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
    let (n, _, h, w) = x.dims4()?;
    let out = weight.dim(0)?;
    let cols = x.contiguous()?.apply_op1(Im2Col)?;
    let weight = Tensor::cat(&[&weight.reshape((out, ()))?, &bias.reshape((out, 1))?], 1)?;
    weight.broadcast_matmul(&cols)?.reshape((n, out, h, w))
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    type TestResult = candle_core::Result<()>;

    fn random(shape: &[usize], rng: &mut ChaCha8Rng) -> candle_core::Result<Tensor> {
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
        Tensor::from_vec(values, shape, &Device::Cpu)
    }

    fn max_abs_difference(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
        assert_eq!(a.dims(), b.dims());
        (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
    }

    fn gradient<'a>(grads: &'a candle_core::backprop::GradStore, var: &Var) -> &'a Tensor {
        grads.get(var.as_tensor()).expect("a gradient for every variable")
    }

    /// `t` `[N, C, H/2, W/2]` repeated 2×2 and padded with zeros to `[N, C, H, W]`.
    fn spread(t: &Tensor, h: usize, w: usize) -> candle_core::Result<Tensor> {
        t.upsample_nearest2d(h / 2 * 2, w / 2 * 2)?.pad_with_zeros(2, 0, h % 2)?.pad_with_zeros(3, 0, w % 2)
    }

    #[test]
    fn values_and_gradients_match_candles_conv2d() -> TestResult {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Odd sizes, a width of 1 and a single pixel exercise the padding at every edge.
        for (n, c, h, w, o) in [(2, 3, 5, 7, 4), (1, 2, 4, 1, 3), (3, 1, 1, 1, 2)] {
            let x = Var::from_tensor(&random(&[n, c, h, w], &mut rng)?)?;
            let weight = Var::from_tensor(&random(&[o, c, 3, 3], &mut rng)?)?;
            let bias = Var::from_tensor(&random(&[o], &mut rng)?)?;
            let upstream = random(&[n, o, h, w], &mut rng)?;

            let ours = conv3x3(&x, &weight, &bias)?;
            let reference = x.conv2d(&weight, 1, 1, 1, 1)?.broadcast_add(&bias.reshape((1, o, 1, 1))?)?;
            assert!(max_abs_difference(&ours, &reference)? < 1e-5, "forward {n}×{c}×{h}×{w}");

            let ours = (ours * &upstream)?.sum_all()?.backward()?;
            let reference = (reference * &upstream)?.sum_all()?.backward()?;
            for (name, var) in [("input", &x), ("weight", &weight), ("bias", &bias)] {
                let difference = max_abs_difference(gradient(&ours, var), gradient(&reference, var))?;
                assert!(difference < 1e-4, "{name} gradient {n}×{c}×{h}×{w}");
            }
        }
        Ok(())
    }

    #[test]
    fn relu_max_pool_matches_candles_values_and_routes_each_gradient_to_the_winner() -> TestResult {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (n, c, h, w) in [(2, 3, 4, 6), (1, 2, 5, 3), (1, 1, 2, 2)] {
            let x = Var::from_tensor(&random(&[n, c, h, w], &mut rng)?)?;
            let upstream = random(&[n, c, h / 2, w / 2], &mut rng)?;
            let ours = relu_max_pool(&x)?;
            let pooled = x.relu()?.max_pool2d(2)?;
            assert!(max_abs_difference(&ours, &pooled)? < 1e-7, "forward {n}×{c}×{h}×{w}");
            let grads = (ours * &upstream)?.sum_all()?.backward()?;
            // The true gradient: the upstream value at the pool's winner when it is positive,
            // zero elsewhere. (candle's own max_pool2d backward scales it by the mean of the
            // window's argmax mask, a quarter when the maximum is unique.)
            let winner = x.relu()?.eq(&spread(&pooled, h, w)?)?.to_dtype(DType::F32)?;
            let positive = x.gt(0.0)?.to_dtype(DType::F32)?;
            let expected = (spread(&upstream, h, w)? * (winner * positive)?)?;
            assert!(max_abs_difference(gradient(&grads, &x), &expected)? < 1e-7, "gradient {n}×{c}×{h}×{w}");
        }
        let x = Var::from_tensor(&Tensor::new(&[[[[1.0_f32, 2.0], [3.0, 4.0]]]], &Device::Cpu)?)?;
        let grads = relu_max_pool(&x)?.sum_all()?.backward()?;
        assert_eq!(gradient(&grads, &x).flatten_all()?.to_vec1::<f32>()?, [0.0, 0.0, 0.0, 1.0]);
        Ok(())
    }

    #[test]
    fn col2im_refuses_a_gradient_of_the_wrong_shape() -> TestResult {
        let grad = Tensor::zeros((5, 4), DType::F32, &Device::Cpu)?;
        let error = grad.apply_op1_no_bwd(&Col2Im { dims: (1, 1, 2, 2) }).expect_err("a [5, 4] gradient is refused");
        assert!(error.to_string().contains("expected a [1, 10, 4] gradient"), "{error}");
        Ok(())
    }
}

/**
 * Weight arithmetic of the ONNX converter on plain arrays: tfjs kernel layouts to ONNX's, BatchNormalization as a
 * per-channel scale and shift and folded into the kernel before it, and TensorFlow's 'same' padding. Folding runs in
 * float64 and rounds once to float32. Internal.
 */

/** `y = x * scale + shift` per channel: an inference-mode BatchNormalization. */
export interface ChannelAffine {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

/** The moving statistics and flags of a BatchNormalization layer, as read from its config and weights. */
export interface BatchNormParams {
  readonly epsilon: number;
  readonly gamma: ArrayLike<number> | undefined;
  readonly beta: ArrayLike<number> | undefined;
  readonly mean: ArrayLike<number>;
  readonly variance: ArrayLike<number>;
}

/** The per-channel scale and shift that an inference-mode BatchNormalization applies. */
export function batchNormAffine(p: BatchNormParams): ChannelAffine {
  const n = p.mean.length;
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = (p.gamma === undefined ? 1 : (p.gamma[i] as number)) / Math.sqrt((p.variance[i] as number) + p.epsilon);
    scale[i] = s;
    shift[i] = (p.beta === undefined ? 0 : (p.beta[i] as number)) - (p.mean[i] as number) * s;
  }
  return { scale, shift };
}

/**
 * Folds `affine` into a kernel whose output channel is its flat index modulo the channel count: true of Conv2D
 * `[kh, kw, in, out]`, DepthwiseConv2D `[kh, kw, in, multiplier]` (channel `c * multiplier + m`) and Dense `[in, out]`.
 * Returns the new kernel (same layout) and bias `bias * scale + shift`.
 */
export function foldAffine(
  kernel: ArrayLike<number>,
  bias: ArrayLike<number> | undefined,
  affine: ChannelAffine,
): { kernel: Float32Array; bias: Float32Array } {
  const channels = affine.scale.length;
  if (kernel.length % channels !== 0 || (bias !== undefined && bias.length !== channels)) {
    throw new Error(`cannot fold ${channels} channels into a kernel of ${kernel.length} values`);
  }
  const outKernel = new Float32Array(kernel.length);
  for (let i = 0; i < kernel.length; i++) outKernel[i] = (kernel[i] as number) * (affine.scale[i % channels] as number);
  const outBias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    outBias[c] = (bias === undefined ? 0 : (bias[c] as number)) * (affine.scale[c] as number) + (affine.shift[c] as number);
  }
  return { kernel: outKernel, bias: outBias };
}

/** A Conv2D kernel `[kh, kw, in, out]` as ONNX's `[out, in, kh, kw]`. */
export function convKernelToOihw(kernel: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(kh * kw * cin * cout);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        const src = ((y * kw + x) * cin + i) * cout;
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = kernel[src + o] as number;
      }
    }
  }
  return out;
}

/** A DepthwiseConv2D kernel `[kh, kw, in, multiplier]` as a grouped ONNX kernel `[in * multiplier, 1, kh, kw]`. */
export function depthwiseKernelToOihw(kernel: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [kh, kw, cin, mult] = shape as [number, number, number, number];
  const channels = cin * mult;
  const out = new Float32Array(kh * kw * channels);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const src = (y * kw + x) * channels;
      for (let o = 0; o < channels; o++) out[(o * kh + y) * kw + x] = kernel[src + o] as number;
    }
  }
  return out;
}

/**
 * TensorFlow's 'same' padding along one axis: the output has `ceil(size / stride)` positions and the padding is split
 * with the extra pixel after (bottom / right), as tfjs and TF compute it.
 */
export function samePadding(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Permutes a row-major array of `shape` by `perm` (like `tf.transpose`). */
export function permute(values: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p] as number);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = (inStrides[i + 1] as number) * (shape[i + 1] as number);
  const out = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let k = 0; k < out.length; k++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (index[d] as number) * (inStrides[perm[d] as number] as number);
    out[k] = values[src] as number;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      if ((index[d] as number) < (outShape[d] as number)) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The arithmetic of the frozen executor: which activations the fused tfjs ops can apply, and how a
 * BatchNormalization in inference mode folds into the kernel and bias of the layer before it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Activations `tf.fused.conv2d`, `tf.fused.depthwiseConv2d` and `tf.fused.matMul` apply in the same kernel. */
export type FusedActivationName = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';

/** A fusable activation with its parameter. */
export interface FusedActivation {
  /** Name as the fused ops take it. */
  readonly name: FusedActivationName;
  /** Slope for `leakyrelu`. */
  readonly leakyreluAlpha?: number;
  /** Per-channel slopes for `prelu` (the PReLU layer's own weight; not owned by the executor). */
  readonly preluWeights?: tf.Tensor;
}

const FUSABLE_BY_NAME: Readonly<Record<string, FusedActivationName>> = {
  linear: 'linear',
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  sigmoid: 'sigmoid',
};

/** A layer's config, or `{}` for a custom layer whose `getConfig` throws (it then runs as itself). */
export function configOf(layer: tfl.layers.Layer): Record<string, unknown> {
  try {
    return layer.getConfig() as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The fused form of an activation given by its tfjs-layers name (`'relu'`, ...), or undefined. */
export function fusedActivationByName(name: unknown): FusedActivation | undefined {
  if (typeof name !== 'string') return undefined;
  const fused = FUSABLE_BY_NAME[name];
  return fused === undefined ? undefined : { name: fused };
}

/**
 * The fused form of an activation layer (ReLU, ReLU(6), Activation('relu6'), LeakyReLU, ELU(1), PReLU), or undefined
 * when the layer is not an activation the fused ops reproduce exactly.
 */
export function fusedActivationOfLayer(layer: tfl.layers.Layer): FusedActivation | undefined {
  const config = configOf(layer);
  switch (layer.getClassName()) {
    case 'Activation':
      return fusedActivationByName(config['activation']);
    case 'ReLU': {
      const maxValue = config['maxValue'];
      if (maxValue === null || maxValue === undefined) return { name: 'relu' };
      return maxValue === 6 ? { name: 'relu6' } : undefined;
    }
    case 'LeakyReLU': {
      const alpha = config['alpha'];
      return typeof alpha === 'number' ? { name: 'leakyrelu', leakyreluAlpha: alpha } : undefined;
    }
    case 'ELU':
      return config['alpha'] === 1 ? { name: 'elu' } : undefined;
    case 'PReLU': {
      const alpha = layer.getWeights()[0];
      return alpha === undefined ? undefined : { name: 'prelu', preluWeights: alpha };
    }
    default:
      return undefined;
  }
}

/** True for a BatchNormalization over the last axis of a tensor of rank `rank`. */
export function isLastAxisBatchNorm(layer: tfl.layers.Layer, rank: number): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const axis = configOf(layer)['axis'];
  return axis === -1 || axis === rank - 1;
}

/**
 * Folds an inference-mode BatchNormalization into a kernel and bias: `bn(conv(x, W) + b)` equals
 * `conv(x, W * s) + (b - mean) * s + beta` with `s = gamma / sqrt(variance + epsilon)` per output channel.
 *
 * @param kernel - Conv2D `[kh, kw, in, out]`, DepthwiseConv2D `[kh, kw, in, multiplier]` or Dense `[in, out]`.
 * @param bias - the layer's bias, or undefined when it has none.
 * @param bn - the BatchNormalization layer that reads the layer's output.
 * @param depthwise - true for a depthwise kernel, whose output channel `c * multiplier + m` is kernel `[.., c, m]`.
 * @returns new kernel and bias tensors, owned by the caller.
 */
export function foldBatchNorm(
  kernel: tf.Tensor,
  bias: tf.Tensor | undefined,
  bn: tfl.layers.Layer,
  depthwise: boolean,
): { kernel: tf.Tensor; bias: tf.Tensor } {
  const config = configOf(bn);
  const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
  const weights = bn.getWeights();
  let index = 0;
  const gamma = config['scale'] === false ? undefined : weights[index++];
  const beta = config['center'] === false ? undefined : weights[index++];
  const mean = weights[index++];
  const variance = weights[index++];
  if (mean === undefined || variance === undefined) {
    throw new Error(`BatchNormalization '${bn.name}' has no moving statistics`);
  }
  return tf.tidy(() => {
    const invStd = tf.rsqrt(tf.add(variance, tf.scalar(epsilon)));
    const scale = gamma === undefined ? invStd : tf.mul(gamma, invStd);
    // Output channels are the last kernel axis, except depthwise kernels where they are (in, multiplier) flattened.
    const kshape = kernel.shape;
    const scaleForKernel = depthwise ? tf.reshape(scale, [kshape[2] as number, kshape[3] as number]) : scale;
    const newKernel = tf.mul(kernel, scaleForKernel);
    const centered = bias === undefined ? tf.neg(mean) : tf.sub(bias, mean);
    const scaled = tf.mul(centered, scale);
    const newBias = beta === undefined ? scaled : tf.add(scaled, beta);
    return { kernel: newKernel, bias: newBias };
  });
}

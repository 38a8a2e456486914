import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { createFrozenExecutor, type FrozenExecutorStats } from '../../src/runtime/executor';
import { withBackend } from '../helpers/backends';
import { functional, randomImages, randomizeWeights, relativeError } from './helpers';

const L = tfl.layers;
const TOLERANCE = 1e-4;

/** Gradient of sum(f(x)^2) with respect to x. */
function inputGradient(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.grad((t: tf.Tensor) => tf.sum(tf.square(f(t))))(x);
}

/**
 * Runs model.predict and the executor on the same batch; returns the largest relative error of the outputs and (on
 * the cpu backend, which has every backprop kernel) of the gradients with respect to the input, and the stats.
 */
function compare(model: tfl.LayersModel, shape: [number, number, number, number] = [2, 9, 9, 3], checkGradients = true) {
  const executor = createFrozenExecutor(model);
  const x = randomImages(shape, 7);
  try {
    const expected = model.predict(x) as tf.Tensor;
    const actual = executor.predict(x) as tf.Tensor;
    expect(actual.shape).toEqual(expected.shape);
    let error = relativeError(actual, expected);
    tf.dispose([expected, actual]);
    if (checkGradients && tf.getBackend() === 'cpu') {
      const first = (y: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(y) ? (y[0] as tf.Tensor) : y);
      const plainGrad = inputGradient((t) => first(model.apply(t, { training: false }) as tf.Tensor), x);
      const fusedGrad = inputGradient((t) => first(executor.predict(t)), x);
      error = Math.max(error, relativeError(fusedGrad, plainGrad));
      tf.dispose([plainGrad, fusedGrad]);
    }
    return { error, stats: executor.stats };
  } finally {
    x.dispose();
    executor.dispose();
  }
}

function expectStats(stats: FrozenExecutorStats, expected: Partial<FrozenExecutorStats>): void {
  expect(stats).toMatchObject(expected);
}

describe('createFrozenExecutor', () => {
  it('folds Conv2D + BatchNorm + ReLU into one fused conv', () => {
    const model = functional([9, 9, 3], (x) => {
      let y = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
      y = L.batchNormalization().apply(y) as tfl.SymbolicTensor;
      return L.reLU().apply(y) as tfl.SymbolicTensor;
    });
    const { error, stats } = compare(model);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { ops: 1, fusedLayers: 1, foldedBatchNorms: 1, fusedActivations: 1 });
  });

  it('folds DepthwiseConv2D + BatchNorm + ReLU(6) and Activation("relu6"), with a depth multiplier', () => {
    const model = functional([9, 9, 3], (x) => {
      let y = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
      y = L.batchNormalization().apply(y) as tfl.SymbolicTensor;
      y = L.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
      y = L.depthwiseConv2d({ kernelSize: 3, strides: 2, useBias: false }).apply(y) as tfl.SymbolicTensor;
      y = L.batchNormalization({ epsilon: 1e-5 }).apply(y) as tfl.SymbolicTensor;
      return L.activation({ activation: 'relu6' }).apply(y) as tfl.SymbolicTensor;
    });
    const { error, stats } = compare(model);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { ops: 2, foldedBatchNorms: 2, fusedActivations: 2 });
  });

  it('folds Dense + BatchNorm (scale-free, as Inception uses) after Flatten', () => {
    const model = functional([4, 4, 3], (x) => {
      let y = L.flatten().apply(x) as tfl.SymbolicTensor;
      y = L.dense({ units: 5 }).apply(y) as tfl.SymbolicTensor;
      y = L.batchNormalization({ scale: false }).apply(y) as tfl.SymbolicTensor;
      return L.activation({ activation: 'sigmoid' }).apply(y) as tfl.SymbolicTensor;
    });
    // No gradient check: tfjs 4.22 cannot record BatchNormalization(scale: false) on a tape (its kernel saves the
    // missing scale), so the plain model has no gradient to compare with.
    const { error, stats } = compare(model, [3, 4, 4, 3], false);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { ops: 2, foldedBatchNorms: 1, fusedActivations: 1 });
  });

  it('turns ZeroPadding2D before a valid Conv2D / DepthwiseConv2D into explicit, asymmetric padding', () => {
    const model = functional([10, 10, 3], (x) => {
      let y = L.zeroPadding2d({ padding: [[0, 1], [0, 1]] }).apply(x) as tfl.SymbolicTensor;
      y = L.conv2d({ filters: 4, kernelSize: 3, strides: 2, useBias: false }).apply(y) as tfl.SymbolicTensor;
      y = L.batchNormalization().apply(y) as tfl.SymbolicTensor;
      y = L.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
      y = L.zeroPadding2d({ padding: [[1, 2], [2, 1]] }).apply(y) as tfl.SymbolicTensor;
      y = L.depthwiseConv2d({ kernelSize: 3, strides: 2 }).apply(y) as tfl.SymbolicTensor;
      return L.batchNormalization().apply(y) as tfl.SymbolicTensor;
    });
    const { error, stats } = compare(model, [2, 10, 10, 3]);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { ops: 2, mergedPaddings: 2, foldedBatchNorms: 2 });
  });

  it('keeps ZeroPadding2D as a layer when it feeds a "same" convolution', () => {
    const model = functional([6, 6, 3], (x) => {
      const y = L.zeroPadding2d({ padding: 1 }).apply(x) as tfl.SymbolicTensor;
      return L.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(y) as tfl.SymbolicTensor;
    });
    const { error, stats } = compare(model, [1, 6, 6, 3]);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { ops: 2, mergedPaddings: 0 });
  });

  it('runs Add and Concatenate branches (a residual block and an Inception-style join)', () => {
    const model = functional([8, 8, 4], (x) => {
      const convBn = (t: tfl.SymbolicTensor, filters: number, k: number): tfl.SymbolicTensor => {
        const c = L.conv2d({ filters, kernelSize: k, padding: 'same', useBias: false }).apply(t) as tfl.SymbolicTensor;
        const b = L.batchNormalization({ scale: false }).apply(c) as tfl.SymbolicTensor;
        return L.activation({ activation: 'relu' }).apply(b) as tfl.SymbolicTensor;
      };
      const a = convBn(x, 4, 1);
      const b = convBn(convBn(x, 3, 1), 4, 3);
      const sum = L.add().apply([a, b, x]) as tfl.SymbolicTensor;
      const pooled = L.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
      return L.concatenate().apply([sum, convBn(pooled, 2, 1)]) as tfl.SymbolicTensor;
    });
    // BatchNormalization(scale: false) again: no plain gradient to compare with (see the Dense test).
    const { error, stats } = compare(model, [2, 8, 8, 4], false);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { fusedLayers: 4, foldedBatchNorms: 4, fusedActivations: 4 });
  });

  it('does not fold a BatchNorm whose convolution output is also read elsewhere, nor one after a non-linear conv', () => {
    const model = functional([6, 6, 3], (x) => {
      const conv = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x) as tfl.SymbolicTensor;
      const bn = L.batchNormalization().apply(conv) as tfl.SymbolicTensor;
      const both = L.add().apply([conv, bn]) as tfl.SymbolicTensor;
      const relu = L.conv2d({ filters: 3, kernelSize: 1, activation: 'relu' }).apply(both) as tfl.SymbolicTensor;
      return L.batchNormalization().apply(relu) as tfl.SymbolicTensor;
    });
    const { error, stats } = compare(model, [2, 6, 6, 3]);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { fusedLayers: 2, foldedBatchNorms: 0, ops: 5 });
  });

  it('expands nested models (a sequential block used twice, a functional block with two outputs)', () => {
    const block = tfl.sequential({
      layers: [
        L.conv2d({ inputShape: [6, 6, 3], filters: 3, kernelSize: 3, padding: 'same', useBias: false }),
        L.batchNormalization(),
        L.leakyReLU({ alpha: 0.2 }),
      ],
    });
    const innerInput = tfl.input({ shape: [6, 6, 3] });
    const innerA = L.depthwiseConv2d({ kernelSize: 3, padding: 'same' }).apply(innerInput) as tfl.SymbolicTensor;
    const innerB = L.elu().apply(L.batchNormalization().apply(innerA) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const twoOutputs = tfl.model({ inputs: innerInput, outputs: [innerA, innerB] });
    const model = functional([6, 6, 3], (x) => {
      const y = block.apply(block.apply(x) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
      const [a, b] = twoOutputs.apply(y) as tfl.SymbolicTensor[];
      return L.concatenate().apply([a as tfl.SymbolicTensor, b as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
    });
    randomizeWeights(model, 3);
    const { error, stats } = compare(model, [2, 6, 6, 3]);
    expect(error).toBeLessThan(TOLERANCE);
    // The shared block folds in both uses; innerA is also a model output of the inner block, so its BN stays.
    expectStats(stats, { foldedBatchNorms: 2, fusedActivations: 2 });
  });

  it('fuses PReLU with per-channel slopes and a Dense layer on a rank-4 input', () => {
    const model = functional([5, 5, 3], (x) => {
      let y = L.conv2d({ filters: 4, kernelSize: 3, useBias: false }).apply(x) as tfl.SymbolicTensor;
      y = L.batchNormalization().apply(y) as tfl.SymbolicTensor;
      y = L.prelu({ sharedAxes: [1, 2] }).apply(y) as tfl.SymbolicTensor;
      return L.dense({ units: 2, activation: 'elu' }).apply(y) as tfl.SymbolicTensor;
    });
    const { error, stats } = compare(model, [2, 5, 5, 3]);
    expect(error).toBeLessThan(TOLERANCE);
    expectStats(stats, { ops: 2, fusedLayers: 2, foldedBatchNorms: 1, fusedActivations: 1 });
  });

  it('runs a model with two outputs like predict and leaks no tensor', () => {
    const model = functional([6, 6, 3], (x) => {
      const c = L.conv2d({ filters: 2, kernelSize: 3, useBias: false }).apply(x) as tfl.SymbolicTensor;
      const b = L.batchNormalization().apply(c) as tfl.SymbolicTensor;
      const p = L.globalAveragePooling2d({}).apply(b) as tfl.SymbolicTensor;
      return [b, L.dropout({ rate: 0.5 }).apply(p) as tfl.SymbolicTensor];
    });
    const x = randomImages([2, 6, 6, 3], 2);
    const before = tf.memory().numTensors;
    const executor = createFrozenExecutor(model);
    const outs = executor.predict(x) as tf.Tensor[];
    const expected = model.predict(x) as tf.Tensor[];
    expect(outs).toHaveLength(2);
    expect(relativeError(outs[0] as tf.Tensor, expected[0] as tf.Tensor)).toBeLessThan(TOLERANCE);
    expect(relativeError(outs[1] as tf.Tensor, expected[1] as tf.Tensor)).toBeLessThan(TOLERANCE);
    tf.dispose([...outs, ...expected]);
    executor.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('gives input gradients (saliency) on wasm, where the layers model itself cannot (no kernel-gradient kernel)', async () => {
    const model = functional([6, 6, 3], (x) => {
      let y = L.conv2d({ filters: 4, kernelSize: 3, useBias: false }).apply(x) as tfl.SymbolicTensor;
      y = L.batchNormalization().apply(y) as tfl.SymbolicTensor;
      y = L.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
      return L.conv2d({ filters: 2, kernelSize: 3 }).apply(y) as tfl.SymbolicTensor;
    });
    const x = randomImages([2, 6, 6, 3], 3);
    // Reference on cpu, which has every backprop kernel.
    const reference = await withBackend('cpu', async () => {
      const g = inputGradient((t) => model.apply(t, { training: false }) as tf.Tensor, x);
      const values = g.dataSync().slice();
      g.dispose();
      return values;
    });
    await withBackend('wasm', async () => {
      const previous = tf.env().getBool('IS_TEST');
      // tfjs's per-kernel leak check (IS_TEST) misfires inside wasm backprop kernels; a user's app runs without it.
      tf.env().set('IS_TEST', false);
      try {
        // tfjs-layers runs Conv2D as a fused op, whose gradient always computes the kernel's too.
        expect(() => inputGradient((t) => model.apply(t, { training: false }) as tf.Tensor, x)).toThrow(/Conv2DBackpropFilter/);
        const executor = createFrozenExecutor(model);
        const fused = inputGradient((t) => executor.predict(t) as tf.Tensor, x);
        const expected = tf.tensor(reference, fused.shape);
        expect(relativeError(fused, expected)).toBeLessThan(TOLERANCE);
        tf.dispose([fused, expected]);
        executor.dispose();
      } finally {
        tf.env().set('IS_TEST', previous);
      }
    });
    x.dispose();
    model.dispose();
  });

  it('rejects what it cannot run with typed errors', () => {
    expect(() => createFrozenExecutor({} as tfl.LayersModel)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: createFrozenExecutor: model must be a tfjs-layers LayersModel, got {}]`,
    );
    const model = functional([4, 4, 3], (x) => L.conv2d({ filters: 2, kernelSize: 1 }).apply(x) as tfl.SymbolicTensor);
    const executor = createFrozenExecutor(model);
    const flat = tf.zeros([4, 3]);
    expect(() => executor.predict(flat)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: FrozenExecutor.predict: inputs[0] must be a tensor of rank 4, got [4, 3]]`,
    );
    const wrongChannels = tf.zeros([1, 4, 4, 5]);
    expect(() => executor.predict(wrongChannels)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: FrozenExecutor.predict: inputs[0] must be a tensor of shape [batch, 4, 4, 3], got [1, 4, 4, 5]]`);
    const gone = tf.zeros([1, 4, 4, 3]);
    gone.dispose();
    expect(() => executor.predict(gone)).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: FrozenExecutor.predict: inputs[0] must be a live tensor (not disposed), got [1, 4, 4, 3]]`);
    wrongChannels.dispose();
    executor.dispose();
    expect(() => executor.predict(flat)).toThrowErrorMatchingInlineSnapshot(
      `[TlKitError: FrozenExecutor.predict: the executor was disposed; build a new one]`,
    );
    flat.dispose();
  });
});

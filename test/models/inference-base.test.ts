import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { describeWrapper } from '../../src/models/wrapper-view';
import { unfreeze } from '../../src/models/unfreeze';
import { Wrapper } from '../../src/models/wrapper';
import { randomImages, tinyConvBnBase } from '../fixtures/bases';
import { relativeError } from '../runtime/helpers';

/** conv -> BN -> ReLU6, twice: tfjs has no gradient for a ReLU6 fused into a convolution. */
function relu6Base(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3] });
  let x: tfl.SymbolicTensor = input;
  for (let i = 0; i < 2; i++) {
    x = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU({ maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
  }
  return tfl.model({ inputs: input, outputs: x });
}

/** Names of the kernels one call ran. */
async function kernelsOf(run: () => tf.Tensor): Promise<Set<string>> {
  const info = await tf.profile(run);
  tf.dispose(info.result as tf.Tensor | tf.Tensor[]);
  return new Set(info.kernels.map((k) => k.name));
}

/** The base's output run layer by layer, pooled and headed: what predict must equal up to rounding. */
function plainPrediction(model: tfl.LayersModel, images: tf.Tensor4D): tf.Tensor {
  const parts = describeWrapper(model)!;
  return tf.tidy(() => parts.runHead(parts.pool(parts.runBase(images)), false));
}

// Gradients through tfjs-layers convolutions need Conv2DBackpropFilter, which the wasm backend lacks: the tests that
// compare with (or train) the layers under a tape run on cpu.
const onWasm = process.env['TLKIT_BACKEND'] === 'wasm';

describe('InferenceBase: predict on the fused executor', () => {
  it('runs the frozen base with BatchNorm folded into fused convolutions, with the plain result', async () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 3 });
    const images = randomImages(4);
    const kernels = await kernelsOf(() => model.predict(images) as tf.Tensor);
    expect(kernels.has('FusedConv2D')).toBe(true);
    expect(kernels.has('FusedBatchNorm')).toBe(false);
    const fused = model.predict(images) as tf.Tensor;
    const plain = plainPrediction(model, images);
    expect(relativeError(fused, plain)).toBeLessThan(1e-5);
    tf.dispose([images, fused, plain]);
    model.dispose();
    base.dispose();
  });

  it('follows the base weights: after a write, predict refolds and matches the plain run again', () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 2 });
    const images = randomImages(4);
    const before = model.predict(images) as tf.Tensor;
    // Shift the first BatchNorm's moving mean, as fine-tuning or setWeights would change it.
    const bn = base.getLayer('bn1');
    const [gamma, beta, mean, variance] = bn.getWeights() as tf.Tensor[];
    const shifted = tf.add(mean as tf.Tensor, 0.5);
    bn.setWeights([gamma as tf.Tensor, beta as tf.Tensor, shifted, variance as tf.Tensor]);
    const after = model.predict(images) as tf.Tensor;
    const plain = plainPrediction(model, images);
    expect(relativeError(after, plain)).toBeLessThan(1e-5);
    expect(relativeError(after, before)).toBeGreaterThan(1e-3);
    tf.dispose([images, before, after, plain, shifted]);
    model.dispose();
    base.dispose();
  });

  it('keeps the tensor count flat across predict calls and weight changes, and frees the folded weights on dispose', () => {
    const start = tf.memory().numTensors;
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 2 });
    const images = randomImages(2);
    const afterBuild = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(model.predict(images) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(afterBuild);
    const conv = base.getLayer('conv1');
    const scaled = conv.getWeights().map((w) => tf.mul(w, 0.9));
    conv.setWeights(scaled);
    tf.dispose(scaled);
    tf.dispose(model.predict(images) as tf.Tensor);
    expect(tf.memory().numTensors).toBe(afterBuild);
    model.dispose();
    base.dispose();
    images.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it.skipIf(onWasm)('stays fused under a gradient tape while the base is frozen, and gradients reach the pixels (saliency)', async () => {
    const base = relu6Base();
    const model = Wrapper(base, { numClasses: 2 });
    const parts = describeWrapper(model)!;
    const images = randomImages(2);
    const saliency = (f: (x: tf.Tensor) => tf.Tensor) => tf.grad((x: tf.Tensor) => tf.sum(f(x)))(images);
    const kernels = await kernelsOf(() => saliency((x) => model.apply(x) as tf.Tensor));
    expect(kernels.has('FusedBatchNorm')).toBe(false);
    const fused = saliency((x) => model.apply(x) as tf.Tensor);
    const plain = saliency((x) => parts.runHead(parts.pool(parts.runBase(x as tf.Tensor4D)), false));
    expect(fused.shape).toEqual([2, 8, 8, 3]);
    expect(tf.max(tf.abs(plain)).dataSync()[0]).toBeGreaterThan(0);
    expect(relativeError(fused, plain)).toBeLessThan(1e-4);
    tf.dispose([images, fused, plain]);
    model.dispose();
    base.dispose();
  });

  it.skipIf(onWasm)('runs an unfrozen base layer by layer under a tape, so the first gradient step already reaches its weights', () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 2 });
    unfreeze(model, { topLayers: 3 });
    const images = randomImages(4);
    // A predict first: the executor is then folded from the current weights, outside any tape.
    tf.dispose(model.predict(images) as tf.Tensor);
    const kernel = base.getLayer('conv2').weights[0]!.read() as tf.Variable;
    const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(images) as tf.Tensor) as tf.Scalar, [kernel]);
    const grad = grads[kernel.name] as tf.Tensor;
    expect(tf.max(tf.abs(grad)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([images, value, grad]);
    model.dispose();
    base.dispose();
  });

  it.skipIf(onWasm)('still trains unfrozen base layers, and predict then uses the trained weights', async () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base, { numClasses: 2 });
    unfreeze(model, { topLayers: 3 });
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    const images = randomImages(8);
    const ys = tf.tensor2d([0, 1, 0, 1, 0, 1, 0, 1], [8, 1]);
    const kernelBefore = base.getLayer('conv2').getWeights()[0]!.dataSync().slice();
    await model.fit(images, ys, { epochs: 2, batchSize: 4, verbose: 0 });
    const kernelAfter = base.getLayer('conv2').getWeights()[0]!.dataSync();
    expect(kernelAfter.some((v, i) => v !== kernelBefore[i])).toBe(true);
    const fused = model.predict(images) as tf.Tensor;
    const plain = plainPrediction(model, images);
    expect(relativeError(fused, plain)).toBeLessThan(1e-5);
    tf.dispose([images, ys, fused, plain]);
    model.dispose();
    base.dispose();
  });
});

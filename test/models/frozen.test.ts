/**
 * "Frozen means frozen": after fit/trainOnBatch every base weight and BatchNorm moving statistic is bit-identical, and
 * the base computes its outputs in inference mode while training (and still after unfreeze).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { unfreeze } from '../../src/models/unfreeze';
import { describeWrapper } from '../../src/models/wrapper-view';
import { randomImages, randomizeBatchNorm, tinyConvBnBase, tinyDagBase, tinyDenseBase } from '../fixtures/bases';

type Snapshot = Map<string, Float32Array>;

function snapshot(layers: readonly tfl.layers.Layer[]): Snapshot {
  const out: Snapshot = new Map();
  for (const layer of layers) {
    layer.weights.forEach((w) => out.set(w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)));
  }
  return out;
}

function changed(before: Snapshot, layers: readonly tfl.layers.Layer[]): string[] {
  const after = snapshot(layers);
  const names: string[] = [];
  for (const [name, values] of before) {
    const now = after.get(name) as Float32Array;
    if (now.length !== values.length || now.some((v, i) => !Object.is(v, values[i]))) names.push(name);
  }
  return names;
}

function labels(n: number): tf.Tensor2D {
  return tf.tensor2d(Array.from({ length: n }, (_, i) => [i % 2]), [n, 1]);
}

describe('frozen base', () => {
  it('keeps every base weight and BN moving statistic bit-identical through model.fit', async () => {
    const base = tinyDagBase();
    const model = Wrapper(base, { hiddenUnits: [4] });
    const baseLayers = describeWrapper(model)!.baseLayers;
    const before = snapshot(baseLayers);
    const head = snapshot([model.getLayer('tlkit_output')]);
    const xs = randomImages(8);
    const ys = labels(8);
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0 });
    expect(changed(before, baseLayers)).toEqual([]);
    expect(changed(head, [model.getLayer('tlkit_output')]).length).toBe(2); // the head did train
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('keeps the base bit-identical through trainOnBatch', async () => {
    const model = Wrapper(tinyConvBnBase(), { numClasses: 3 });
    const baseLayers = describeWrapper(model)!.baseLayers;
    const before = snapshot(baseLayers);
    const xs = randomImages(6);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    await model.trainOnBatch(xs, ys);
    await model.trainOnBatch(xs, ys);
    expect(changed(before, baseLayers)).toEqual([]);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('runs the base in inference mode during a training step (training loss == evaluate loss at lr 0)', async () => {
    const model = Wrapper(tinyConvBnBase(), { seed: 3 });
    const xs = randomImages(8, [8, 8, 3], 11);
    const ys = labels(8);
    model.compile({ optimizer: tf.train.sgd(0), loss: 'binaryCrossentropy' });
    const history = await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    const evaluated = model.evaluate(xs, ys) as tf.Scalar;
    expect(history.history['loss']?.[0]).toBeCloseTo(evaluated.dataSync()[0] as number, 6);
    tf.dispose([xs, ys, evaluated]);
    model.dispose();
  });

  it('control: the plain tfjs recipe (base.trainable = false, applied with training: false) does change BN stats', async () => {
    // Documents the tfjs 4.22 bug tl-kit guards against; if tfjs fixes it, this test tells us.
    const base = tinyConvBnBase();
    base.trainable = false;
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(base.outputs[0] as tfl.SymbolicTensor);
    const out = tfl.layers.dense({ units: 1, activation: 'sigmoid' }).apply(pooled) as tfl.SymbolicTensor;
    const naive = tfl.model({ inputs: base.inputs, outputs: out });
    const before = snapshot(base.layers);
    const xs = randomImages(8);
    const ys = labels(8);
    naive.compile({ optimizer: tf.train.sgd(0.1), loss: 'binaryCrossentropy' });
    await naive.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    expect(changed(before, base.layers)).toEqual(
      expect.arrayContaining([expect.stringContaining('moving_mean'), expect.stringContaining('moving_variance')]),
    );
    tf.dispose([xs, ys]);
    naive.dispose();
  });

  it('also freezes BatchNorm inside a model nested in the base', async () => {
    const inner = tinyConvBnBase();
    const input = tfl.input({ shape: [8, 8, 3] });
    const nested = inner.apply(input) as tfl.SymbolicTensor;
    const top = tfl.layers.batchNormalization({ name: 'bn_top' }).apply(nested) as tfl.SymbolicTensor;
    const base = tfl.model({ inputs: input, outputs: top });
    randomizeBatchNorm(base, 8);
    const model = Wrapper(base);
    const before = snapshot([...inner.layers, base.getLayer('bn_top')]);
    const xs = randomImages(8);
    const ys = labels(8);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 4, verbose: 0 });
    expect(changed(before, [...inner.layers, base.getLayer('bn_top')])).toEqual([]);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('does not leak tensors across fit and predict', async () => {
    const model = Wrapper(tinyConvBnBase());
    const xs = randomImages(4);
    const ys = labels(4);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'binaryCrossentropy' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0 });
    const before = tf.memory().numTensors;
    await model.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0 });
    tf.dispose(model.predict(xs) as tf.Tensor);
    const parts = describeWrapper(model)!;
    tf.dispose(tf.tidy(() => parts.pool(parts.runBase(xs))));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});

describe('unfreeze', () => {
  it('trains an unfrozen BatchNorm (gamma/beta) and the layers above it, never its moving statistics', async () => {
    const model = Wrapper(tinyDenseBase(), { numClasses: 3, seed: 2 });
    const parts = describeWrapper(model)!;
    expect(unfreeze(model, { fromLayer: 'bn1' })).toEqual(['bn1', 'relu1', 'flatten', 'dense', 'logits']);
    const before = snapshot(parts.baseLayers);
    const xs = randomImages(6);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 3, verbose: 0 });
    const moved = changed(before, parts.baseLayers);
    expect(moved).toEqual(expect.arrayContaining([expect.stringContaining('bn1/gamma'), expect.stringContaining('dense/kernel')]));
    expect(moved.filter((n) => n.includes('conv1') || n.includes('moving'))).toEqual([]);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  // The wasm backend has no Conv2DBackpropFilter kernel, so training a convolution needs cpu (or webgl).
  it.skipIf(process.env['TLKIT_BACKEND'] === 'wasm')('trains the top layers of the base while BN stays in inference mode', async () => {
    const model = Wrapper(tinyConvBnBase(), { seed: 5 });
    const parts = describeWrapper(model)!;
    expect(unfreeze(model, { topLayers: 3 })).toEqual(['conv2', 'bn2', 'relu2']);
    expect(parts.isBaseFrozen()).toBe(false);
    const before = snapshot(parts.baseLayers);
    const xs = randomImages(8);
    const ys = labels(8);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 4, verbose: 0 });
    const moved = changed(before, parts.baseLayers);
    expect(moved).toEqual(expect.arrayContaining([expect.stringContaining('conv2/kernel')]));
    expect(moved.filter((n) => n.includes('conv1') || n.includes('bn1') || n.includes('moving'))).toEqual([]);

    // BN in inference mode while unfrozen: at lr 0 the training loss equals the evaluate loss.
    model.compile({ optimizer: tf.train.sgd(0), loss: 'binaryCrossentropy' });
    const history = await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
    const evaluated = model.evaluate(xs, ys) as tf.Scalar;
    expect(history.history['loss']?.[0]).toBeCloseTo(evaluated.dataSync()[0] as number, 6);

    expect(unfreeze(model, { fromLayer: 'bn2' })).toEqual(['bn2', 'relu2']);
    expect(unfreeze(model, { topLayers: 0 })).toEqual([]);
    expect(parts.isBaseFrozen()).toBe(true);
    tf.dispose([xs, ys, evaluated]);
    model.dispose();
  });

  it('refuses bad arguments with typed errors', () => {
    const model = Wrapper(tinyConvBnBase());
    expect(() => unfreeze(model, { fromLayer: 'conv' })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: unfreeze: fromLayer must be the name of a layer of the base (closest: conv1, conv2, bn1, bn2, relu1), got "conv"]`);
    expect(() => unfreeze(model, { topLayers: 9 })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: unfreeze: topLayers must be at most 6, the base's number of layers, got 9]`);
    // An object with no usable string form (null prototype) was a raw TypeError while the message was being written.
    expect(() => unfreeze(model, { fromLayer: Object.create(null) })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: unfreeze: fromLayer must be a non-empty string, got {}]`);
    expect(() => unfreeze(model, {})).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: unfreeze: options must be exactly one of fromLayer and topLayers, got {}]`);
    expect(() => unfreeze(tinyConvBnBase(), { topLayers: 1 })).toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: unfreeze: model must be a model shaped like a Wrapper model (base, pooling, head), got a LayersModel]`);
    model.dispose();
  });
});

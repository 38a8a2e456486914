import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { compareBases } from '../../src/pipeline/compare';
import { fineTune } from '../../src/pipeline/fine-tune';
import { fit } from '../../src/pipeline/fit';
import { tinyConvBnBase, tinyDagBase } from '../fixtures/bases';
import { makeTestSource } from './helpers';

describe('compareBases', () => {
  it('wraps, measures, trains and evaluates each base, leaving the bases intact and no tensors behind', async () => {
    const data = makeTestSource({ perSplit: { train: 16, validation: 8, test: 8 } });
    const b1 = tinyConvBnBase();
    const b2 = tinyDagBase();
    const probe = tf.zeros([1, 8, 8, 3]);
    const out1 = tf.tidy(() => Array.from((b1.predict(probe) as tf.Tensor).dataSync()));
    const before = tf.memory().numTensors;
    const names: string[] = [];
    const rows = await compareBases(
      [
        { name: 'conv-bn', base: b1 },
        { name: 'dag', base: b2, wrapperOptions: { pooling: 'max' } },
      ],
      data,
      { epochs: 2, onBaseBegin: (_i, name) => names.push(name) },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(names).toEqual(['conv-bn', 'dag']);
    expect(rows.map((r) => r.name)).toEqual(['conv-bn', 'dag']);
    for (const r of rows) {
      expect(r.history.epoch).toEqual([0, 1]);
      expect(r.baseline.exampleCount).toBe(8);
      expect(r.evaluation.exampleCount).toBe(8);
      expect(r.trainSeconds).toBeGreaterThan(0);
      expect(r.totalSeconds).toBeGreaterThanOrEqual(r.trainSeconds);
      expect(r.model).toBeUndefined();
    }
    // the caller's base still works and is unchanged
    expect(tf.tidy(() => Array.from((b1.predict(probe) as tf.Tensor).dataSync()))).toEqual(out1);
    probe.dispose();
    b1.dispose();
    b2.dispose();
    data.dispose();
  });

  it("uses an entry's own data (another image size) and refuses one whose labels differ", async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const larger = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 }, imageSize: [12, 12] });
    const threeClasses = makeTestSource({ perSplit: { train: 9, validation: 3, test: 3 }, numClasses: 3 });
    const base = tinyConvBnBase();
    const before = tf.memory().numTensors;
    const [row] = await compareBases([{ name: 'big', base, data: larger }], data, { epochs: 1, keepModels: true });
    expect(row!.model!.inputs[0]!.shape).toEqual([null, 12, 12, 3]);
    row!.model!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(compareBases([{ name: 'x', base, data: threeClasses }], data, { epochs: 1 })).rejects.toThrow(
      /compareBases: entries\[0\]\.data must be a dataset with the labels/,
    );
    base.dispose();
    for (const d of [data, larger, threeClasses]) d.dispose();
  });

  it('keepModels hands the trained models to the caller', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const base = tinyConvBnBase();
    const [row] = await compareBases([{ name: 'a', base }], data, { epochs: 1, keepModels: true });
    expect(row!.model).toBeDefined();
    expect((row!.model!.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor).shape).toEqual([1, 1]);
    row!.model!.dispose();
    base.dispose();
    data.dispose();
  });

  it('frees the models it kept for earlier entries when a later entry fails', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const base = tinyConvBnBase();
    const before = tf.memory().numTensors;
    // The second entry's head does not match the data: its baseline throws after the first model was kept.
    await expect(
      compareBases([{ name: 'a', base }, { name: 'b', base, wrapperOptions: { numClasses: 3, labelMode: 'categorical' } }], data, { epochs: 1, keepModels: true }),
    ).rejects.toThrow(/evaluateBaseline: the model outputs 3 values/);
    expect(tf.memory().numTensors).toBe(before);
    base.dispose();
    data.dispose();
  });

  it("gives a two-class dataset with labelMode 'categorical' a softmax head it can train", async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 }, labelMode: 'categorical' });
    const base = tinyConvBnBase();
    const [row] = await compareBases([{ name: 'a', base }], data, { epochs: 1, keepModels: true });
    expect((row!.model!.outputs[0]!.shape)).toEqual([null, 2]);
    expect(row!.evaluation.labelMode).toBe('categorical');
    row!.model!.dispose();
    base.dispose();
    data.dispose();
  });

  it('rejects bad entries', async () => {
    const data = makeTestSource();
    await expect(compareBases([], data)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: compareBases: entries must be a non-empty array of { name, base }, got []]`);
    const base = tinyConvBnBase();
    await expect(
      compareBases([{ name: 'a', base }, { name: 'a', base }], data),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: compareBases: entries[1].name must be unique among the entries, got "a"]`);
    await expect(compareBases([{ name: 'a', base, data }], null as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: compareBases: data must be an ImageBatchSource (e.g. a DataLoader) with at least 2 classes, got null]`);
    await expect(compareBases([{ name: 'a', base }], data, { keepModels: 'yes' as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: compareBases: keepModels must be a boolean, got "yes"]`);
    await expect(compareBases([{ name: 'a', base }], data, { onBaseBegin: 1 as never })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: compareBases: onBaseBegin must be a function, got 1]`);
    // One optimizer instance would carry one head's moments into the next head's training.
    const shared = tf.train.adam(1e-3);
    await expect(
      compareBases([{ name: 'a', base }, { name: 'b', base }], data, { optimizer: shared }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: compareBases: optimizer must be 'adam', 'tutorial' or omitted when comparing several bases (one optimizer instance would carry a head's state into the next), got a AdamOptimizer]`);
    shared.dispose();
    base.dispose();
    data.dispose();
  });
});

describe('fineTune', () => {
  // wasm has no conv backprop kernels (see the next test).
  it.skipIf(tf.getBackend() === 'wasm' || process.env.TLKIT_BACKEND === 'wasm')('trains the unfrozen top of the base (BN statistics untouched) and restores the trainable flags', async () => {
    const data = makeTestSource({ perSplit: { train: 16, validation: 8, test: 8 } });
    const model = Wrapper(tinyConvBnBase(), { seed: 1 });
    await fit(model, data, { epochs: 1 });
    const parts = describeWrapper(model)!;
    const conv2 = parts.baseLayers.find((l) => l.name === 'conv2')!;
    const conv1 = parts.baseLayers.find((l) => l.name === 'conv1')!;
    const bn2 = parts.baseLayers.find((l) => l.name === 'bn2')!;
    const snap = (l: typeof conv2) => l.getWeights().map((w) => Array.from(w.dataSync()));
    const [c1, c2, b2] = [snap(conv1), snap(conv2), snap(bn2)];
    const history = await fineTune(model, data, { fromLayer: 'conv2', epochs: 2, learningRate: 1e-2 });
    expect(history.epoch).toEqual([0, 1]);
    expect(snap(conv1)).toEqual(c1); // below fromLayer: frozen
    expect(snap(conv2)).not.toEqual(c2); // trained
    const bnNow = snap(bn2);
    expect(bnNow[2]).toEqual(b2[2]); // moving mean
    expect(bnNow[3]).toEqual(b2[3]); // moving variance
    expect(parts.isBaseFrozen()).toBe(true); // flags restored
    // A second run replaces (and frees) the first run's optimizer: the count stays where it was.
    const before = tf.memory().numTensors;
    await fineTune(model, data, { fromLayer: 'conv2', epochs: 1 });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    data.dispose();
  });

  it('refuses convolution backprop on the wasm backend with a clear error', async () => {
    const data = makeTestSource({ perSplit: { train: 8, validation: 4, test: 4 } });
    const model = Wrapper(tinyConvBnBase(), { seed: 1 });
    const previous = tf.getBackend();
    const require = createRequire(import.meta.url);
    setWasmPaths(pathToFileURL(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))).href + '/');
    await tf.setBackend('wasm');
    try {
      await expect(fineTune(model, data, { topLayers: 3 })).rejects.toThrowErrorMatchingInlineSnapshot(`[UnsupportedError: fineTune: the wasm backend cannot train convolution layers (tfjs 4.22 has no wasm kernels for their gradients), and the unfrozen layers include 1 (first: 'conv2'); fine-tune on the cpu, webgl or webgpu backend (tf.setBackend('cpu')), or unfreeze only layers above the last convolution]`);
      expect(describeWrapper(model)!.isBaseFrozen()).toBe(true);
    } finally {
      await tf.setBackend(previous);
    }
    model.dispose();
    data.dispose();
  });

  it('validates its options', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase());
    await expect(fineTune(model, data, { epochs: 1 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fineTune: options must be an object with exactly one of fromLayer and topLayers, got {"epochs":1}]`);
    await expect(fineTune(model, data, { topLayers: 1, epochs: -1 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fineTune: epochs must be a positive integer, got -1]`);
    await expect(fineTune(model, data, { topLayers: 99 })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fineTune: topLayers must be at most 6, the base's number of layers, got 99]`);
    await expect(fineTune(model, data, { fromLayer: 'conv9' })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fineTune: fromLayer must be the name of a layer of the base (closest: conv1, conv2, bn1, bn2, relu1), got "conv9"]`);
    model.dispose();
    data.dispose();
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { IncompatibleModelError, InvalidArgumentError, LoadError, loadKerasWeights } from '../../src/index';
import { fixture, maxDiff, tinyTwin } from './helpers';

// The fixtures were written by Keras 3.15.1 (scripts/keras-parity/make_keras_files.py --fixtures); tiny.keras1.weights.h5
// rewrites the legacy file as Keras 1/2 wrote the published ImageNet files (byte-string names, conv_W_1:0 weights).
const FILES = ['tiny.keras', 'tiny.h5', 'tiny.legacy.weights.h5', 'tiny.keras1.weights.h5'];

describe('loadKerasWeights', () => {
  for (const file of FILES) {
    test(`loads ${file} into a tfjs twin and reproduces Keras's outputs within 1e-4`, async () => {
      const model = tinyTwin();
      try {
        expect(maxDiff(model, 'tiny')).toBeGreaterThan(1e-3); // random init differs: the check can fail
        const before = tf.memory().numTensors;
        const assigned = await loadKerasWeights(model, fixture(file));
        expect(assigned).toBe(10); // conv 2 + bn 4 + depthwise 2 + dense 2
        expect(tf.memory().numTensors).toBe(before);
        expect(maxDiff(model, 'tiny')).toBeLessThanOrEqual(1e-4);
      } finally {
        model.dispose();
      }
    });
  }

  test('accepts bytes and file:// URLs as well as paths', async () => {
    const model = tinyTwin();
    try {
      await loadKerasWeights(model, new Uint8Array(readFileSync(fixture('tiny.h5'))));
      expect(maxDiff(model, 'tiny')).toBeLessThanOrEqual(1e-4);
      await loadKerasWeights(model, new URL(`file://${fixture('tiny.keras')}`));
      expect(maxDiff(model, 'tiny')).toBeLessThanOrEqual(1e-4);
    } finally {
      model.dispose();
    }
  });

  test("'auto' falls back to layer order when the names differ; 'name' refuses", async () => {
    for (const file of FILES) {
      const model = tinyTwin((n) => `other_${n}`);
      try {
        await loadKerasWeights(model, fixture(file));
        expect(maxDiff(model, 'tiny')).toBeLessThanOrEqual(1e-4);
        await expect(loadKerasWeights(model, fixture(file), { match: 'name' })).rejects.toThrowError(
          IncompatibleModelError,
        );
      } finally {
        model.dispose();
      }
    }
    const model = tinyTwin((n) => `other_${n}`);
    try {
      await expect(loadKerasWeights(model, fixture('tiny.h5'), { match: 'name' })).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasWeights: layer 'other_conv' of the model has no weights in the file (matching by name)]`);
    } finally {
      model.dispose();
    }
  });

  test('a shape mismatch names the layer and assigns nothing', async () => {
    const model = tinyTwin((n) => n, 5); // 'probs' has 5 units where the file has 3
    try {
      const before = model.getWeights().map((w) => Array.from(w.dataSync()));
      await expect(loadKerasWeights(model, fixture('tiny.h5'))).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasWeights: weight 'probs/kernel' of layer 'probs' has shape [4, 5], file layer 'probs' has [4, 3]]`);
      // 'conv' comes before 'probs' and matched, yet nothing was assigned.
      model.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(before[i]));
      await expect(loadKerasWeights(model, fixture('tiny_seq.h5'), { match: 'order' })).rejects.toThrowErrorMatchingInlineSnapshot(`[IncompatibleModelError: loadKerasWeights: the model has 4 layers with weights, the file 2 (matching by order)]`);
    } finally {
      model.dispose();
    }
  });

  test('refuses files that are not Keras weights', async () => {
    const model = tinyTwin();
    try {
      await expect(loadKerasWeights(model, new Uint8Array([1, 2, 3, 4]))).rejects.toThrowError(LoadError);
      await expect(loadKerasWeights(model, 'no/such/file.h5')).rejects.toThrowErrorMatchingInlineSnapshot(`[LoadError: loadKerasWeights: could not read "no/such/file.h5" (ENOENT: no such file or directory, open 'no/such/file.h5')]`);
    } finally {
      model.dispose();
    }
  });

  test('validates its arguments', async () => {
    const model = tinyTwin();
    try {
      await expect(loadKerasWeights({} as never, fixture('tiny.h5'))).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadKerasWeights: model must be a tf.LayersModel, got {}]`);
      await expect(loadKerasWeights(model, 42 as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: loadKerasWeights: source must be a path, a URL, an ArrayBuffer or a Uint8Array, got 42]`);
      await expect(loadKerasWeights(model, fixture('tiny.h5'), { match: 'fuzzy' as never })).rejects.toThrowError(
        InvalidArgumentError,
      );
    } finally {
      model.dispose();
    }
  });
});

describe('assignWeights', () => {
  test('a dataset that fails to read leaves no tensor behind and the layer unchanged', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const { assignWeights } = await import('../../src/keras/load-weights');
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3], name: 'fc' })] });
    const kernel = Array.from(model.getWeights()[0]!.dataSync());
    const ok = { kind: 'dataset' as const, shape: [3, 2], read: () => new Float32Array(6).fill(1) };
    const broken = { kind: 'dataset' as const, shape: [2], read: (): Float32Array => { throw new Error('corrupt chunk'); } };
    const file = {
      layout: 'legacy' as const,
      kerasVersion: undefined,
      layers: [{ name: 'fc', path: 'layers/dense', weights: [{ name: 'kernel', dataset: ok }, { name: 'bias', dataset: broken }] }],
    };
    const before = tf.memory().numTensors;
    expect(() => assignWeights('loadKerasWeights', model, file, 'name')).toThrow('corrupt chunk');
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(model.getWeights()[0]!.dataSync())).toEqual(kernel);
    model.dispose();
  });
});

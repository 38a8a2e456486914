/**
 * The browser example's offline parts, in Node on the cpu backend: the generated built-in set and the tiny
 * edge-detector base, trained with the same settings as the app (the e2e test repeats this in Chromium on WebGL).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BUILTIN_LABELS, makeBuiltinSet, seededRandom } from '../../examples/browser/src/builtin-set';
import { tinyBase } from '../../examples/browser/src/tiny-base';
import { DataLoader, Wrapper, evaluate, evaluateBaseline, fit } from '../../src/index';

describe('browser example, offline parts', () => {
  it('generates a balanced, seeded two-class set of RGB pixels', () => {
    const a = makeBuiltinSet(5, 16);
    const b = makeBuiltinSet(5, 16);
    expect(a).toHaveLength(10);
    expect(a.filter((s) => s.label === 1)).toHaveLength(5);
    expect(a[3]?.image).toMatchObject({ width: 16, height: 16, channels: 3 });
    expect(a[3]?.image.data).toHaveLength(16 * 16 * 3);
    expect(a.map((s) => Array.from(s.image.data))).toEqual(b.map((s) => Array.from(s.image.data)));
    expect(BUILTIN_LABELS).toEqual(['horizontal stripes', 'vertical stripes']);
    const r = seededRandom(1);
    expect(Array.from({ length: 3 }, r).every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('tiny base: fixed edge filters in the first layer, 16 feature maps at half resolution', () => {
    const base = tinyBase(32);
    try {
      expect(base.outputs[0]?.shape).toEqual([null, 16, 16, 16]);
      const [kernel] = base.getLayer('edges').getWeights();
      // Horizontal Sobel on each channel, scaled by 1/3: top row negative, bottom row positive.
      const k = kernel as tf.Tensor4D;
      const values = k.arraySync();
      expect(values[0]?.[1]?.[0]?.[0]).toBeCloseTo(-2 / 3);
      expect(values[2]?.[1]?.[0]?.[0]).toBeCloseTo(2 / 3);
    } finally {
      base.dispose();
    }
  });

  it('trains a head on the built-in set well above the untrained baseline (the app settings)', async () => {
    const samples = makeBuiltinSet(60, 64).map(({ image, label }) => ({ source: image, label }));
    const data = await DataLoader.fromSamples(samples, {
      imageSize: 64,
      batchSize: 8,
      splitWeights: [6, 2, 2],
      seed: 42,
      labelNames: [...BUILTIN_LABELS],
      preprocessing: 'tf',
    });
    const base = tinyBase(64);
    const model = Wrapper(base, { numClasses: 2, seed: 3 });
    try {
      const before = await evaluateBaseline(model, data);
      await fit(model, data, { epochs: 12, seed: 42, optimizer: 'adam', learningRate: 0.01 });
      const after = await evaluate(model, data);
      expect(before.accuracy).toBeLessThanOrEqual(0.6);
      expect(after.accuracy).toBeGreaterThanOrEqual(0.9);
    } finally {
      model.dispose();
      base.dispose();
      data.dispose();
    }
  });
});

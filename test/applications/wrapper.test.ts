import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, test } from 'vitest';
import { applications, fit, evaluate, Wrapper } from '../../src/index';
import { makeTestSource } from '../pipeline/helpers';
import { writeLegacyWeights } from './write-h5';

/**
 * Hands the event loop back between the seconds-long steps of a full-size model (build, write, load, predict), so
 * vitest's worker answers its RPC in time however busy the machine is.
 */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('applications bases in the pipeline', () => {
  test('Wrapper(await applications.MobileNetV2({ weights: file })) trains its head in fit and leaves the base untouched', async () => {
    const source = await applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.35 });
    const file = await writeLegacyWeights(source); // a Keras-layout weights file, as a user would pass
    source.dispose();
    const data = makeTestSource({ imageSize: [32, 32], perSplit: { train: 16, validation: 8, test: 8 } });
    const before = tf.memory().numTensors;
    const base = await applications.MobileNetV2({ includeTop: false, inputShape: [32, 32, 3], alpha: 0.35, weights: file });
    const model = Wrapper(base, { numClasses: 2, seed: 1 });
    try {
      const baseBefore = base.getWeights().map((w) => Array.from(w.dataSync()));
      const head = model.trainableWeights[0] as tfl.LayerVariable; // the new Dense kernel: only the head trains
      const headBefore = Array.from(head.read().dataSync());
      const history = await fit(model, data, { epochs: 2, verbose: 0 });
      expect(history.history.loss).toHaveLength(2);
      expect(Array.from(head.read().dataSync())).not.toEqual(headBefore);
      expect(model.trainableWeights).toHaveLength(2);
      const metrics = await evaluate(model, data);
      expect(Number.isFinite(metrics.loss)).toBe(true);
      base.getWeights().forEach((w, i) => expect(Array.from(w.dataSync())).toEqual(baseBefore[i]));
    } finally {
      model.dispose();
      base.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });

  // The tutorial's three bases, at the smallest input each accepts, with weights from a Keras-layout file. On the cpu
  // backend one training step through VGG16 (15M parameters) or ResNet101V2 (42M) costs seconds, several times that on
  // a busy machine, so these check loading and structure only; wrapper.slow.test.ts (`npm run test:slow`) trains them.
  test.each([
    ['VGG16', 32, 512],
    ['InceptionV3', 75, 2048],
    ['ResNet101V2', 32, 2048],
  ] as const)('Wrapper(await applications.%s({ weights: file })) computes what the source did, with only a new head trainable', async (name, size, features) => {
    const build = applications[name] as (o: object) => Promise<tfl.LayersModel>;
    const options = { includeTop: false, inputShape: [size, size, 3] };
    const source = await build(options);
    await breathe();
    const file = await writeLegacyWeights(source);
    await breathe();
    const probe = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 3);
    const sourceOut = tf.tidy(() => Array.from((source.predict(probe) as tf.Tensor).dataSync()));
    const sourceNames = source.layers.map((l) => l.name);
    source.dispose();
    await breathe();
    const before = tf.memory().numTensors;
    const base = await build({ ...options, weights: file });
    await breathe();
    const model = Wrapper(base, { numClasses: 2, seed: 1 });
    try {
      await breathe();
      // the weights file carried every value: the rebuilt base computes what the source did
      const loadedOut = tf.tidy(() => Array.from((base.predict(probe) as tf.Tensor).dataSync()));
      await breathe();
      expect(loadedOut).toHaveLength(sourceOut.length);
      loadedOut.forEach((v, i) => expect(v).toBeCloseTo(sourceOut[i] as number, 4));
      expect(base.layers.map((l) => l.name)).toEqual(sourceNames);
      // only the new head trains: a Dense kernel over the pooled features and its bias
      expect(model.trainableWeights.map((w) => w.shape)).toEqual([[features, 1], [1]]);
      const out = tf.tidy(() => Array.from((model.predict(probe) as tf.Tensor).dataSync()));
      expect(out).toHaveLength(1);
      expect(out[0]).toBeGreaterThan(0);
      expect(out[0]).toBeLessThan(1);
    } finally {
      model.dispose();
      base.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    probe.dispose();
  }, 60_000);
});

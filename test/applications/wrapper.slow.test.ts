/**
 * Slow suite (`npm run test:slow`): the tutorial's three full-size Keras bases train a head in `fit` on the cpu
 * backend. Each costs several seconds of blocking work idle and far more on a busy machine, which is why `npm test`
 * (wrapper.test.ts) checks their loading and structure only.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, test } from 'vitest';
import { applications, fit, Wrapper, type TrainingCallback } from '../../src/index';
import { makeTestSource } from '../pipeline/helpers';
import { writeLegacyWeights } from './write-h5';

/** Hands the event loop back to vitest, so its worker RPC is answered while a big model is built or trains. */
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const yieldToEventLoop: TrainingCallback = { onBatchEnd: breathe };

describe('applications bases in the pipeline (full-size training)', () => {
  // The smallest input each accepts, with weights from a Keras-layout file.
  test.each([
    ['VGG16', 32],
    ['InceptionV3', 75],
    ['ResNet101V2', 32],
  ] as const)('Wrapper(await applications.%s({ weights: file })) trains its head and leaves the base untouched', async (name, size) => {
    const build = applications[name] as (o: object) => Promise<tfl.LayersModel>;
    const options = { includeTop: false, inputShape: [size, size, 3] };
    const source = await build(options);
    await breathe();
    const file = await writeLegacyWeights(source);
    source.dispose();
    await breathe();
    const probe = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 3);
    const data = makeTestSource({ imageSize: [size, size], perSplit: { train: 8, validation: 4, test: 4 } });
    const before = tf.memory().numTensors;
    const base = await build({ ...options, weights: file });
    await breathe();
    const model = Wrapper(base, { numClasses: 2, seed: 1 });
    try {
      await breathe();
      const baseOut = tf.tidy(() => Array.from((base.predict(probe) as tf.Tensor).dataSync()));
      const head = model.trainableWeights[0] as tfl.LayerVariable;
      const headBefore = Array.from(head.read().dataSync());
      const history = await fit(model, data, { epochs: 1, verbose: 0, callbacks: [yieldToEventLoop] });
      expect(history.history.loss).toHaveLength(1);
      expect(Number.isFinite(history.history.loss?.[0] as number)).toBe(true);
      expect(Array.from(head.read().dataSync())).not.toEqual(headBefore);
      // the frozen base (BatchNorm statistics included) computes exactly what it did before training
      const after = tf.tidy(() => Array.from((base.predict(probe) as tf.Tensor).dataSync()));
      expect(after).toEqual(baseOut);
    } finally {
      model.dispose();
      base.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    probe.dispose();
    data.dispose();
  }, 300_000);
});

/**
 * The fused executor on the real nsfwjs MobileNetV2 and InceptionV3 (weights from the npm package, no network):
 * features equal the plain path within 1e-4 of their scale. Small inputs keep the cpu backend fast; the folding does
 * not depend on the input size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeWrapper } from '../../src/models/wrapper-view';
import { Wrapper } from '../../src/models/wrapper';
import { loadNsfwBase, type NsfwBaseName } from '../../src/nsfwjs/index';
import { openBaseRuntime } from '../../src/models/runtime-choice';
import { createFrozenExecutor } from '../../src/runtime/executor';
import { randomImages, relativeError } from './helpers';

async function check(name: NsfwBaseName, size: number, batch: number) {
  const spec = await loadNsfwBase(name);
  const wrapper = Wrapper(spec, { inputShape: [size, size, 3] });
  const parts = describeWrapper(wrapper);
  if (parts?.base.kind !== 'layers') throw new Error('Wrapper made no layers base');
  const x = tf.tidy(() => tf.sub(tf.mul(randomImages([batch, size, size, 3], 5), 2), 1)) as tf.Tensor4D;
  const fused = await openBaseRuntime(parts, { call: 'test', images: batch, workers: 0, engine: 'tfjs' });
  const plain = await openBaseRuntime(parts, { call: 'test', images: batch, workers: 0, fused: false, engine: 'tfjs' });
  const a = await fused.extract(x);
  const b = await plain.extract(x);
  const error = relativeError(a, b);
  const stats = createFrozenExecutor(parts.base.container);
  const result = { error, stats: stats.stats, fused: fused.info.implementation === 'tfjs-fused' };
  stats.dispose();
  tf.dispose([a, b, x]);
  await fused.dispose();
  await plain.dispose();
  wrapper.dispose();
  (spec.model as { dispose(): void }).dispose();
  return result;
}

describe('fused executor on nsfwjs bases', () => {
  it('MobileNetV2: every BN folded, ReLU6 and ZeroPadding fused, features equal', async () => {
    const { error, stats, fused } = await check('mobilenet_v2', 96, 2);
    expect(fused).toBe(true);
    expect(error).toBeLessThan(1e-4);
    expect(stats).toMatchObject({ foldedBatchNorms: 52, mergedPaddings: 5, fusedLayers: 52 });
  });

  it('InceptionV3: every BN folded, ReLU fused, features equal', async () => {
    const { error, stats } = await check('inception_v3', 75, 1);
    expect(error).toBeLessThan(1e-4);
    expect(stats).toMatchObject({ foldedBatchNorms: 94, fusedActivations: 94 });
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getWrapperParts, type WrapperParts } from '../../src/models/parts';
import { Wrapper } from '../../src/models/wrapper';
import { createFeatureExtractor } from '../../src/runtime/extractor';
import { graphLike, tinyConvBnBase, tinyDagBase } from '../fixtures/bases';
import { randomImages, relativeError } from './helpers';

function partsOf(base: Parameters<typeof Wrapper>[0]): WrapperParts {
  const parts = getWrapperParts(Wrapper(base, { numClasses: 3 }));
  if (parts === undefined) throw new Error('Wrapper registered no parts');
  return parts;
}

describe('createFeatureExtractor (this thread)', () => {
  it('gives the same features fused and plain, and the same as the wrapper runs its base', async () => {
    const parts = partsOf(tinyDagBase());
    const x = randomImages([3, 8, 8, 3], 11);
    const fused = await createFeatureExtractor(parts);
    const plain = await createFeatureExtractor(parts, { fused: false });
    expect([fused.fused, plain.fused, fused.workers]).toEqual([true, false, 0]);
    const expected = tf.tidy(() => parts.pool(parts.runBase(x)));
    const a = await fused.extract(x);
    const b = await plain.extract(x);
    expect(a.shape).toEqual([3, parts.featureSize]);
    expect(relativeError(a, expected)).toBeLessThan(1e-4);
    expect(Array.from(b.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([a, b, expected, x]);
    await fused.dispose();
    await plain.dispose();
  });

  it('leaks no tensor across create, extract and dispose', async () => {
    const parts = partsOf(tinyConvBnBase());
    const x = randomImages([2, 8, 8, 3], 3);
    const before = tf.memory().numTensors;
    const extractor = await createFeatureExtractor(parts);
    const features = await extractor.extract(x);
    features.dispose();
    await extractor.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('validates its options and inputs', async () => {
    const parts = partsOf(tinyConvBnBase());
    await expect(createFeatureExtractor(parts, { workers: -1 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: createFeatureExtractor: workers must be a non-negative integer, got -1]`,
    );
    await expect(
      createFeatureExtractor(parts, { fused: 'yes' as unknown as boolean }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: createFeatureExtractor: fused must be a boolean, got "yes"]`,
    );
    await expect(
      createFeatureExtractor(partsOf(graphLike(tinyConvBnBase())), { workers: 2 }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[UnsupportedError: createFeatureExtractor: workers need a frozen LayersModel base (each thread loads a copy), got a GraphModel base; pass workers: 0]`,
    );
    const extractor = await createFeatureExtractor(parts);
    const wrong = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    await expect(extractor.extract(wrong)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: FeatureExtractor.extract: images must be a [batch, 8, 8, 3] tensor, got [1, 4, 4, 3]]`,
    );
    await extractor.dispose();
    await expect(extractor.extract(wrong)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TlKitError: FeatureExtractor.extract: the extractor was disposed]`,
    );
    wrong.dispose();
  });

  it('refuses workers on a backend that already uses the hardware (tfjs-node, webgl, ...)', async () => {
    const parts = partsOf(tinyConvBnBase());
    const previous = tf.getBackend();
    tf.registerBackend('tlkit-test-gpu', () => new MathBackendCPU());
    try {
      await tf.setBackend('tlkit-test-gpu');
      await expect(createFeatureExtractor(parts, { workers: 2 })).rejects.toThrowErrorMatchingInlineSnapshot(
        `[UnsupportedError: createFeatureExtractor: workers need the 'cpu' or 'wasm' backend, the current one is 'tlkit-test-gpu' (tfjs-node and GPU backends already use every core); pass workers: 0]`,
      );
    } finally {
      await tf.setBackend(previous);
      tf.removeBackend('tlkit-test-gpu');
    }
  });
});

describe('createFeatureExtractor (worker threads)', () => {
  let parts: WrapperParts;
  let x: tf.Tensor4D;
  let single: Float32Array;

  beforeAll(async () => {
    parts = partsOf(tinyDagBase({ inputShape: [12, 12, 3] }));
    x = randomImages([5, 12, 12, 3], 21);
    const extractor = await createFeatureExtractor(parts);
    const f = await extractor.extract(x);
    single = f.dataSync() as Float32Array;
    f.dispose();
    await extractor.dispose();
  });
  afterAll(() => x.dispose());

  it('gives results identical to the single-thread path, in batch order, on two threads', async () => {
    const extractor = await createFeatureExtractor(parts, { workers: 2 });
    expect([extractor.workers, extractor.fused]).toEqual([2, true]);
    const before = tf.memory().numTensors;
    const f = await extractor.extract(x);
    // A batch smaller than the thread count still works: the second thread gets nothing.
    const one = tf.slice(x, [4, 0, 0, 0], [1, 12, 12, 3]);
    const g = await extractor.extract(one);
    expect(Array.from(f.dataSync())).toEqual(Array.from(single));
    expect(Array.from(g.dataSync())).toEqual(Array.from(single.slice(4 * parts.featureSize)));
    tf.dispose([f, g, one]);
    expect(tf.memory().numTensors).toBe(before);
    await extractor.dispose();
    await expect(extractor.extract(x)).rejects.toThrow(/disposed/);
  });

  it('runs the plain base in the threads when fused is false', async () => {
    const extractor = await createFeatureExtractor(parts, { workers: 3, fused: false });
    const f = await extractor.extract(x);
    const expected = tf.tidy(() => parts.pool(parts.runBase(x)));
    expect(Array.from(f.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([f, expected]);
    await extractor.dispose();
  });
});

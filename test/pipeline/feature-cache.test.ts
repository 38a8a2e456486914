import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { extractFeatures } from '../../src/pipeline/feature-cache';
import type { FrozenRuntime } from '../../src/runtime/types';
import { makeTestSource } from './helpers';

/** Features = per-image channel means, so rows are easy to check. */
const meanExtractor: FrozenRuntime = {
  info: { engine: 'tfjs', implementation: 'tfjs-layers', backend: 'cpu', threads: 0, summary: 'test' },
  concurrency: 1,
  extract: async (images) => tf.tidy(() => tf.mean(images, [1, 2]) as tf.Tensor2D),
  dispose: async () => {},
};

/** What makeTestSource's binary batches are. */
const batches = { call: 'fit', split: 'train', height: 8, width: 8, targets: 1 };

describe('extractFeatures', () => {
  it('stores the same rows in memory and in a spill file, and frees every tensor', async () => {
    const data = makeTestSource({ perSplit: { train: 10, validation: 2, test: 2 }, batchSize: 4 });
    const before = tf.memory().numTensors;
    const options = { expectedRows: 10, featureSize: 3, split: 'train', batches };
    const mem = await extractFeatures(meanExtractor, data.trainBatches, { ...options, budgetBytes: 1 << 20 });
    const file = await extractFeatures(meanExtractor, data.trainBatches, { ...options, budgetBytes: 0 });
    expect([mem.location, file.location]).toEqual(['memory', 'file']);
    expect([mem.rows, mem.featureSize, mem.targetSize]).toEqual([10, 3, 1]);
    const order = [9, 0, 4, 4];
    const a = await mem.gather(order);
    const b = await file.gather(order);
    const expected = tf.tidy(() => tf.gather(tf.mean(data.split('train').xs, [1, 2]), order));
    expect(Array.from(a.xs.dataSync())).toEqual(Array.from(b.xs.dataSync()));
    Array.from(a.xs.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected.dataSync()[i]!, 5));
    expect(Array.from(a.ys.dataSync())).toEqual(order.map((i) => data.split('train').labels[i]));
    tf.dispose([a.xs, a.ys, b.xs, b.ys, expected]);
    await mem.close();
    await file.close();
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });

  it('wraps a file-system failure of the spill file in a TrainingError that keeps the cause, and frees every tensor', async () => {
    const data = makeTestSource({ perSplit: { train: 4, validation: 2, test: 2 } });
    const before = tf.memory().numTensors;
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/tl-kit-test';
    try {
      const failure = extractFeatures(meanExtractor, data.trainBatches, { expectedRows: 4, featureSize: 3, split: 'train', budgetBytes: 0, batches });
      await expect(failure).rejects.toThrowErrorMatchingInlineSnapshot(`[TrainingError: fit: cannot spill the cached train features to a temporary file in /nonexistent/tl-kit-test (ENOENT); free disk space, point TMPDIR at a writable folder, or raise cacheBudgetBytes]`);
      await expect(failure).rejects.toHaveProperty('cause.code', 'ENOENT');
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });

  it('throws a clear error instead of spilling where there is no file system', async () => {
    const data = makeTestSource({ perSplit: { train: 4, validation: 2, test: 2 } });
    const versions = process.versions;
    Object.defineProperty(process, 'versions', { value: {}, configurable: true });
    try {
      await expect(
        extractFeatures(meanExtractor, data.trainBatches, { expectedRows: 4_000_000, featureSize: 1280, split: 'train', budgetBytes: 2 ** 29, batches }),
      ).rejects.toThrowErrorMatchingInlineSnapshot(`[UnsupportedError: fit: the cached train features need 19531.3 MiB, more than cacheBudgetBytes (512.0 MiB), and a browser has no disk to spill to; pass cacheFeatures: false, raise cacheBudgetBytes, or use a smaller dataset]`);
    } finally {
      Object.defineProperty(process, 'versions', { value: versions, configurable: true });
    }
    data.dispose();
  });
});

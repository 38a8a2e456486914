import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/data/types';
import { forEachExtracted, type BatchIterator } from '../../src/pipeline/extract-stream';
import type { BaseRuntimeInfo, FrozenRuntime } from '../../src/runtime/types';

const info: BaseRuntimeInfo = { engine: 'tfjs', implementation: 'tfjs-layers', backend: 'cpu', threads: 0, summary: 'test' };

/** Batch `i` holds one image whose pixels are all `i`; its target is `[i]`. */
function batches(count: number): BatchIterator {
  let i = 0;
  return {
    next: async () => {
      if (i >= count) return { done: true, value: undefined };
      const value: Batch = { xs: tf.fill([1, 2, 2, 1], i), ys: tf.tensor2d([[i]]) };
      i++;
      return { done: false, value };
    },
  };
}

/**
 * A worker-like extractor: features = the image's mean. Later calls finish first (a delay that shrinks with each call),
 * so results only come back in order if the stream orders them. Records how many calls overlap.
 */
function slowExtractor(workers: number, failOn?: number): FrozenRuntime & { maxOverlap: number } {
  let running = 0;
  let calls = 0;
  const extractor = {
    info: { ...info, threads: workers },
    concurrency: workers > 1 ? 2 : 1,
    maxOverlap: 0,
    extract: async (images: tf.Tensor4D) => {
      const call = calls++;
      const value = tf.tidy(() => tf.reshape(tf.mean(images), [1, 1]) as tf.Tensor2D);
      running++;
      extractor.maxOverlap = Math.max(extractor.maxOverlap, running);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20 - 5 * call)));
      running--;
      if (call === failOn) {
        value.dispose();
        throw new Error(`batch ${call} failed`);
      }
      return value;
    },
    dispose: async () => {},
  };
  return extractor;
}

describe('forEachExtracted', () => {
  it('keeps two batches in flight with worker threads and still hands results over in batch order', async () => {
    const before = tf.memory().numTensors;
    const extractor = slowExtractor(2);
    const seen: [number, number][] = [];
    const handled = await forEachExtracted(extractor, batches(5), undefined, async ({ ys }, features) => {
      seen.push([(await ys.data())[0] as number, (await features.data())[0] as number]);
    });
    expect(handled).toBe(5);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => [i, i]));
    expect(extractor.maxOverlap).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs one batch at a time on this thread and stops after maxBatches', async () => {
    const before = tf.memory().numTensors;
    const extractor = slowExtractor(0);
    const seen: number[] = [];
    const handled = await forEachExtracted(extractor, batches(5), 3, async ({ ys }) => {
      seen.push((await ys.data())[0] as number);
    });
    expect([handled, seen]).toEqual([3, [0, 1, 2]]);
    expect(extractor.maxOverlap).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('propagates a failed batch after freeing the batches still in flight', async () => {
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const run = forEachExtracted(slowExtractor(2, 2), batches(6), undefined, async ({ ys }) => {
      seen.push((await ys.data())[0] as number);
    });
    await expect(run).rejects.toThrow('batch 2 failed');
    expect(seen).toEqual([0, 1]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('propagates an error of the handler after freeing the batches still in flight', async () => {
    const before = tf.memory().numTensors;
    const run = forEachExtracted(slowExtractor(2), batches(6), undefined, async ({ ys }) => {
      if ((await ys.data())[0] === 1) throw new Error('handler failed');
    });
    await expect(run).rejects.toThrow('handler failed');
    expect(tf.memory().numTensors).toBe(before);
  });
});

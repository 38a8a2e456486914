import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWrapper, type WrapperView } from '../../src/models/wrapper-view';
import { Wrapper } from '../../src/models/wrapper';
import { openBaseRuntime, type RuntimeRequest } from '../../src/models/runtime-choice';
import { graphLike, tinyConvBnBase, tinyDagBase } from '../fixtures/bases';
import { randomImages, relativeError } from '../runtime/helpers';
import { runInference } from '../../src/runtime/layers-inference';

/** The base run layer by layer and pooled: what the plain runtime computes, bit for bit. */
const layerByLayer = (view: WrapperView, x: tf.Tensor4D): tf.Tensor =>
  tf.tidy(() => view.pool(runInference(view.base.kind === 'layers' ? view.base.container : (undefined as never), [x])[0]!));

const open = (view: WrapperView, request: Partial<RuntimeRequest> = {}) =>
  openBaseRuntime(view, { call: 'test', images: 8, workers: 0, engine: 'tfjs', ...request });

function partsOf(base: Parameters<typeof Wrapper>[0]): WrapperView {
  const parts = describeWrapper(Wrapper(base, { numClasses: 3 }));
  if (parts === undefined) throw new Error('Wrapper registered no parts');
  return parts;
}

describe('openBaseRuntime (this thread)', () => {
  it('gives the same features fused and plain, and the same as the wrapper runs its base', async () => {
    const parts = partsOf(tinyDagBase());
    const x = randomImages([3, 8, 8, 3], 11);
    const fused = await open(parts);
    const plain = await open(parts, { fused: false });
    expect([fused.info.implementation, plain.info.implementation, fused.info.threads]).toEqual(['tfjs-fused', 'tfjs-layers', 0]);
    expect(fused.info.fused?.foldedBatchNorms).toBe(2);
    const expected = layerByLayer(parts, x);
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
    const extractor = await open(parts);
    const features = await extractor.extract(x);
    features.dispose();
    await extractor.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('validates its options and inputs', async () => {
    const parts = partsOf(tinyConvBnBase());
    await expect(open(parts, { workers: -1 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: test: workers must be an integer in [0, 64], got -1]`,
    );
    await expect(
      open(partsOf(graphLike(tinyConvBnBase())), { workers: 2 }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[UnsupportedError: test: workers need a frozen layers base (each thread loads a copy), got a GraphModel base; pass workers: 0]`,
    );
    const extractor = await open(parts);
    const wrong = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    await expect(extractor.extract(wrong)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: FrozenRuntime.extract: images must be a [batch, 8, 8, 3] tensor, got [1, 4, 4, 3]]`,
    );
    await extractor.dispose();
    await expect(extractor.extract(wrong)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[TlKitError: FrozenRuntime.extract: the frozen-base runtime was disposed; it cannot be used any more (create or load it again)]`,
    );
    wrong.dispose();
  });

  it('refuses workers on a backend that already uses the hardware (tfjs-node, webgl, ...)', async () => {
    const parts = partsOf(tinyConvBnBase());
    const previous = tf.getBackend();
    tf.registerBackend('tlkit-test-gpu', () => new MathBackendCPU());
    try {
      await tf.setBackend('tlkit-test-gpu');
      await expect(open(parts, { workers: 2 })).rejects.toThrowErrorMatchingInlineSnapshot(
        `[UnsupportedError: test: workers need the 'cpu' or 'wasm' backend, the current one is 'tlkit-test-gpu' (tfjs-node and GPU backends already use every core); pass workers: 0]`,
      );
    } finally {
      await tf.setBackend(previous);
      tf.removeBackend('tlkit-test-gpu');
    }
  });
});

describe('openBaseRuntime (worker threads)', () => {
  let parts: WrapperView;
  let x: tf.Tensor4D;
  let single: Float32Array;

  beforeAll(async () => {
    parts = partsOf(tinyDagBase({ inputShape: [12, 12, 3] }));
    x = randomImages([5, 12, 12, 3], 21);
    const extractor = await open(parts);
    const f = await extractor.extract(x);
    single = f.dataSync() as Float32Array;
    f.dispose();
    await extractor.dispose();
  });
  afterAll(() => x.dispose());

  it('gives results identical to the single-thread path, in batch order, on two threads', async () => {
    const extractor = await open(parts, { workers: 2 });
    expect([extractor.info.threads, extractor.info.implementation]).toEqual([2, 'tfjs-fused']);
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

  it('starts no more threads than cores or images, whatever is asked', async () => {
    const { availableParallelism } = await import('node:os');
    const runtime = await open(parts, { workers: 32, images: 3 });
    expect(runtime.info.threads).toBe(Math.min(32, availableParallelism(), 3));
    const f = await runtime.extract(x);
    expect(Array.from(f.dataSync())).toEqual(Array.from(single));
    f.dispose();
    await runtime.dispose();
  });

  it('runs the plain base in the threads when fused is false', async () => {
    const extractor = await open(parts, { workers: 3, fused: false });
    const f = await extractor.extract(x);
    const expected = layerByLayer(parts, x);
    expect(Array.from(f.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([f, expected]);
    await extractor.dispose();
  });
});

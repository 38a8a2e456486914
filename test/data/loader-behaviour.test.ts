import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader } from '../../src';
import type { Batch, Sample } from '../../src';
import { solidPng, tempDir, writeClassFolders } from '../fixtures/images';

async function drain(ds: { forEachAsync(f: (b: Batch) => void): Promise<void> }): Promise<number[]> {
  const firsts: number[] = [];
  await ds.forEachAsync((b) => {
    const first = tf.tidy(() => tf.slice(tf.reshape(b.xs, [b.xs.shape[0], -1]), [0, 0], [-1, 1]));
    firsts.push(...Array.from(first.dataSync()));
    tf.dispose([first, b.xs, b.ys]);
  });
  return firsts;
}

describe('DataLoader epochs, splits and leaks', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    await writeClassFolders(root, { a: 9, b: 9, c: 9 }, 4);
  });
  afterAll(() => cleanup());

  it('iterating every split for two epochs leaves tf.memory().numTensors unchanged, with a new seeded order per epoch', async () => {
    // Pixel values encode the sample index so the order is visible.
    const samples: Sample[] = Array.from({ length: 40 }, (_, i) => ({
      source: { data: new Uint8Array(3).fill(i), width: 1, height: 1, channels: 3 },
      label: i % 2 === 0 ? 'even' : 'odd',
    }));
    const make = (): Promise<DataLoader> => DataLoader.fromSamples(samples, { imageSize: 1, batchSize: 7, preprocessing: 'none', seed: 5 });
    const data = await make();
    const before = tf.memory().numTensors;
    const epochs: number[][] = [];
    for (let e = 0; e < 2; e++) {
      epochs.push(await drain(data.trainBatches));
      expect(await drain(data.validationBatches)).toHaveLength(4);
      expect(await drain(data.testBatches)).toHaveLength(4);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(epochs[0]).toHaveLength(32);
    expect([...epochs[0]!].sort((x, y) => x - y)).toEqual([...epochs[1]!].sort((x, y) => x - y));
    expect(epochs[0]).not.toEqual(epochs[1]);
    // The same seed gives the same epochs on a fresh loader.
    const again = await make();
    expect(await drain(again.trainBatches)).toEqual(epochs[0]);
    expect(await drain(again.trainBatches)).toEqual(epochs[1]);
    expect(again.files('test')).toEqual(data.files('test'));
    // Validation order is fixed.
    expect(await drain(again.validationBatches)).toEqual(await drain(again.validationBatches));
    data.dispose();
    again.dispose();
  });

  it('caches decoded images with cache: memory and still gives the same batches', async () => {
    const plain = await DataLoader.fromDirectory(root, { imageSize: 2, batchSize: 4, preprocessing: 'unit' });
    const cached = await DataLoader.fromDirectory(root, { imageSize: 2, batchSize: 4, preprocessing: 'unit', cache: 'memory' });
    expect(await drain(cached.testBatches)).toEqual(await drain(plain.testBatches));
    expect(await drain(cached.testBatches)).toEqual(await drain(plain.testBatches));
    plain.dispose();
    cached.dispose();
  });

  it('supports tfds slices and the stable split through the loader', async () => {
    const sliced = await DataLoader.fromDirectory(root, { splits: { train: '[:70%]', validation: '[70%:85%]', test: '[85%:]' } });
    // 27 samples: round(18.9) = 19, round(22.95) = 23
    expect(sliced.numExamples).toEqual({ train: 19, validation: 4, test: 4 });
    await expect(DataLoader.fromDirectory(root, { splits: { train: '[:50%]', validation: '[50%:60%]', test: '[70%:]' } })).rejects
      .toThrowErrorMatchingInlineSnapshot(
        `[InvalidArgumentError: DataLoader.fromDirectory: splits must be slices that cover all 27 samples exactly once (samples [16:19] are in no split), got ["[:50%]", "[50%:60%]", "[70%:]"]]`,
      );
    const stable = await DataLoader.fromDirectory(root, { splitMethod: 'stable', splitWeights: [1, 1, 1] });
    const n = stable.numExamples;
    expect(n.train + n.validation + n.test).toBe(27);
    sliced.dispose();
    stable.dispose();
  });

  it('encodes labels as binary, categorical or as overridden', async () => {
    const two = await DataLoader.fromSamples(
      [0, 1, 0, 1, 0, 1].map((label) => ({ source: { data: [9, 9, 9], width: 1, height: 1, channels: 3 as const }, label })),
      { labelNames: ['no', 'yes'], splitWeights: [1, 1, 1], imageSize: 1, labelMode: 'categorical' },
    );
    expect(two.labelMode).toBe('categorical');
    const [batch] = await two.trainBatches.toArray();
    expect(batch!.ys.shape).toEqual([2, 2]);
    tf.dispose([batch!.xs, batch!.ys]);
    two.dispose();
    const three = await DataLoader.fromDirectory(root, { imageSize: 1 }).catch((e: unknown) => e);
    expect((three as DataLoader).labelMode).toBe('categorical');
    (three as DataLoader).dispose();
    await expect(DataLoader.fromDirectory(root, { labelMode: 'binary' })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: labelMode must be 'categorical' for 3 classes ('binary' needs exactly 2), got "binary"]`,
    );
  });

  it('gives raw images at original size that belong to the caller', async () => {
    const data = await DataLoader.fromSamples(
      [
        { source: await solidPng(5, 3, [1, 2, 3]), label: 'x', id: 'x1' },
        { source: await solidPng(6, 4, [4, 5, 6]), label: 'y', id: 'y1' },
        { source: await solidPng(5, 3, [1, 2, 3]), label: 'x', id: 'x2' },
        { source: await solidPng(6, 4, [4, 5, 6]), label: 'y', id: 'y2' },
        { source: new TextEncoder().encode('bad'), label: 'y', id: 'bad' },
      ],
      { splitWeights: [1, 1, 1], stratify: false },
    );
    expect(data.skipped).toEqual([{ path: 'bad', reason: 'not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF or HEIF)' }]);
    const before = tf.memory().numTensors;
    const raw = await data.getRandomRawImages(10);
    expect(raw).toHaveLength(4);
    for (const r of raw) {
      expect(r.image.shape).toEqual(r.labelName === 'x' ? [3, 5, 3] : [4, 6, 3]);
      expect(r.id.startsWith(r.labelName)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before + 4);
    data.dispose();
    expect(raw.every((r) => !r.image.isDisposed)).toBe(true);
    tf.dispose(raw.map((r) => r.image));
    await expect(data.getRandomRawImages(1)).rejects.toThrowErrorMatchingInlineSnapshot(`[TlKitError: DataLoader.getRandomRawImages: the DataLoader was disposed; it cannot be used any more (create or load it again)]`);
  });

  it('pins option errors', async () => {
    await expect(DataLoader.fromDirectory(root, { imageSize: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: imageSize must be a positive integer or [height, width] of positive integers, got 0]`,
    );
    await expect(DataLoader.fromDirectory(root, { batchSize: 2.5 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: batchSize must be a positive integer, got 2.5]`,
    );
    await expect(DataLoader.fromDirectory(root, { splitWeights: [] as never })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: splitWeights must be three positive finite numbers [train, validation, test], got []]`,
    );
    await expect(DataLoader.fromDirectory(root, { splitWeights: [1, Infinity, 1] })).rejects.toThrow(/got \[1, Infinity, 1\]/);
    await expect(DataLoader.fromDirectory(root, { splits: { train: '80%', validation: '[80%:90%]', test: '[90%:]' } })).rejects
      .toThrowErrorMatchingInlineSnapshot(
        `[InvalidArgumentError: DataLoader.fromDirectory: splits.train must be a tfds slice like '[:80%]', '[80%:90%]' or '[100:200]', got "80%"]`,
      );
    await expect(DataLoader.fromDirectory('')).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: root must be a non-empty folder path, got ""]`,
    );
    await expect(DataLoader.fromDirectory(`${root}/missing`)).rejects.toThrow(/does not exist/);
    const xs = tf.zeros([4, 2, 2, 3]) as tf.Tensor4D;
    await expect(DataLoader.fromTensors(xs, [0, 1])).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromTensors: labels must be an array of 4 class indices, got "2 labels"]`,
    );
    await expect(DataLoader.fromTensors(xs, [0, 1, 0, 1], { preprocessing: () => tf.zeros([2]) as never })).rejects.toThrow(
      /preprocessing must be a function returning a Tensor4D/,
    );
    xs.dispose();
  });

  it('fromTensors accepts one-hot labels, copies the tensors and disposes its copy', async () => {
    const before = tf.memory().numTensors;
    const xs = tf.fill([6, 3, 3, 3], 128) as tf.Tensor4D;
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1], 'int32'), 2)) as tf.Tensor2D;
    const data = await DataLoader.fromTensors(xs, ys, { imageSize: [3, 3], splitWeights: [1, 1, 1], labelNames: ['cat', 'dog'] });
    tf.dispose([xs, ys]);
    expect(data.labelNames).toEqual(['cat', 'dog']);
    expect(data.files('train')).toHaveLength(2);
    const batches = await data.trainBatches.toArray();
    tf.dispose(batches.flatMap((b) => [b.xs, b.ys]));
    data.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('decoders in the loader', () => {
  it("the pure-JS fallback gives the same batches as sharp when no resize is needed", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeClassFolders(dir, { a: 3, b: 3 }, 4);
      const viaSharp = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1] });
      const viaJs = await DataLoader.fromDirectory(dir, { imageSize: 4, splitWeights: [1, 1, 1], decoder: 'pure-js' });
      expect(await drain(viaJs.testBatches)).toEqual(await drain(viaSharp.testBatches));
      viaSharp.dispose();
      viaJs.dispose();
    } finally {
      await cleanup();
    }
  });
});

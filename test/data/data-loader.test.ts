import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, DatasetError, InvalidArgumentError } from '../../src';
import type { Batch } from '../../src';
import { tempDir, writeClassFolders } from '../fixtures/images';

async function collect(ds: { forEachAsync(f: (b: Batch) => void): Promise<void> }): Promise<{ shapes: number[][]; ys: number[][] }> {
  const shapes: number[][] = [];
  const ys: number[][] = [];
  await ds.forEachAsync((b) => {
    shapes.push(b.xs.shape);
    ys.push(...(b.ys.arraySync() as number[][]));
    tf.dispose([b.xs, b.ys]);
  });
  return { shapes, ys };
}

describe('DataLoader.fromDirectory', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    await writeClassFolders(root, { dog: 10, cat: 20 }, 6, { cat: [200, 0, 0], dog: [0, 0, 200] });
  });
  afterAll(() => cleanup());

  it('takes labelNames as the order of the class folders (Keras class_names) and refuses names that are not the folders', async () => {
    const data = await DataLoader.fromDirectory(root, { imageSize: 4, labelNames: ['dog', 'cat'], preprocessing: 'unit' });
    expect(data.labelNames).toEqual(['dog', 'cat']);
    // dog images are blue: class 0 is now dog, so every blue image has target 0
    const rows: { blue: boolean; y: number }[] = [];
    await data.testBatches.forEachAsync((b) => {
      const xs = b.xs.arraySync() as number[][][][];
      const ys = b.ys.arraySync() as number[][];
      xs.forEach((img, i) => rows.push({ blue: (img[0]![0]![2] as number) > 0.5, y: ys[i]![0] as number }));
      tf.dispose([b.xs, b.ys]);
    });
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.y).toBe(r.blue ? 0 : 1);
    data.dispose();
    await expect(DataLoader.fromDirectory(root, { labelNames: ['cat', 'bird'] })).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: DataLoader.fromDirectory: labelNames must be the class folder names in the order you want, ["cat","dog"], got ["cat", "bird"]]`);
  });

  it('refuses a misspelt option instead of ignoring it', async () => {
    await expect(DataLoader.fromDirectory(root, { imagesize: 64 } as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: DataLoader.fromDirectory: options must be known option names (did you mean 'imageSize'?), got "imagesize"]`);
  });

  it('sorts class folders, splits exactly by weights per class and streams batches', async () => {
    const data = await DataLoader.fromDirectory(root, { imageSize: 4, batchSize: 4, splitWeights: [8, 1, 1], seed: 1, preprocessing: 'unit' });
    expect(data.labelNames).toEqual(['cat', 'dog']);
    expect(data.getLabelName(1)).toBe('dog');
    expect(data.labelMode).toBe('binary');
    expect(data.imageSize).toEqual([4, 4]);
    expect(data.augmented).toBe(false);
    expect(data.numExamples).toEqual({ train: 24, validation: 3, test: 3 });
    const all = [...data.files('train'), ...data.files('validation'), ...data.files('test')];
    expect(new Set(all).size).toBe(30);
    expect(data.files('test').filter((f) => f.startsWith('cat/'))).toHaveLength(2);
    expect(data.skipped).toEqual([]);

    const before = tf.memory().numTensors;
    const { shapes, ys } = await collect(data.trainBatches);
    expect(shapes).toEqual([...Array(6).fill([4, 4, 4, 3])]);
    expect(ys.filter(([y]) => y === 1)).toHaveLength(8);
    const val = await collect(data.validationBatches);
    expect(val.shapes).toEqual([[3, 4, 4, 3]]);
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });

  it('pins the error for bad split weights', async () => {
    await expect(DataLoader.fromDirectory(root, { splitWeights: [8, 0, -1] })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromDirectory: splitWeights must be three positive finite numbers [train, validation, test], got [8, 0, -1]]`,
    );
    await expect(DataLoader.fromDirectory(root, { batchSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(DataLoader.fromDirectory(`${root}/nope`)).rejects.toBeInstanceOf(DatasetError);
  });
});

describe('DataLoader.fromSamples', () => {
  it('refuses entries that are not { source, label } objects with a typed error', async () => {
    await expect(DataLoader.fromSamples([null, null] as never)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: DataLoader.fromSamples: samples[0] must be an object { source, label }, got null]`);
    await expect(
      DataLoader.fromSamples([{ source: new Uint8Array(4), label: 'a' }, { label: 'b' }] as never),
    ).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: DataLoader.fromSamples: samples[1] must be an object { source, label }, got {"label":"b"}]`);
  });
});

describe('DataLoader.fromTensors', () => {
  it('one-hot encodes three classes and leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const xs = tf.fill([12, 2, 2, 1], 255) as tf.Tensor4D;
    const data = await DataLoader.fromTensors(xs, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], { imageSize: 2, batchSize: 5, splitWeights: [2, 1, 1], preprocessing: 'tf' });
    xs.dispose();
    expect(data.labelMode).toBe('categorical');
    expect(data.numExamples).toEqual({ train: 6, validation: 3, test: 3 });
    const { shapes, ys } = await collect(data.trainBatches);
    expect(shapes).toEqual([[5, 2, 2, 3], [1, 2, 2, 3]]);
    expect(ys.map((r) => r.reduce((a, b) => a + b, 0))).toEqual(Array(6).fill(1));
    const first = await data.testBatches.take(1).toArray();
    expect(Array.from((first[0] as Batch).xs.dataSync()).every((v) => v === 1)).toBe(true);
    tf.dispose(first.flatMap((b) => [b.xs, b.ys]));
    data.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('DataLoader.getRandomRawImages', () => {
  it('throws a DISPOSED error and frees the images it made when the loader is disposed meanwhile', async () => {
    const xs = tf.fill([8, 2, 2, 3], 100) as tf.Tensor4D;
    const data = await DataLoader.fromTensors(xs, [0, 1, 0, 1, 0, 1, 0, 1], { imageSize: 2, splitWeights: [2, 1, 1] });
    xs.dispose();
    const before = tf.memory().numTensors;
    const drawing = data.getRandomRawImages(4);
    data.dispose();
    await expect(drawing).rejects.toThrowErrorMatchingInlineSnapshot(`[TlKitError: DataLoader.getRandomRawImages: the DataLoader was disposed; it cannot be used any more (create or load it again)]`);
    expect(tf.memory().numTensors).toBe(before - 1); // only the loader's own clone is gone
  });

  it('draws from one split when asked: every test image once, nothing from the other splits', async () => {
    const xs = tf.tidy(() => tf.reshape(tf.cast(tf.range(0, 12 * 2 * 2 * 3), 'float32'), [12, 2, 2, 3])) as tf.Tensor4D;
    const data = await DataLoader.fromTensors(xs, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], { imageSize: 2, splitWeights: [2, 1, 1], seed: 5 });
    xs.dispose();
    const before = tf.memory().numTensors;
    const test = await data.getRandomRawImages(100, { split: 'test' });
    expect(test.map((r) => r.id).sort()).toEqual(data.files('test').sort());
    expect(test).toHaveLength(data.numExamples.test);
    const two = await data.getRandomRawImages(2, { split: 'validation' });
    expect(two.every((r) => data.files('validation').includes(r.id))).toBe(true);
    tf.dispose([...test, ...two].map((r) => r.image));
    expect(tf.memory().numTensors).toBe(before);
    await expect(data.getRandomRawImages(1, { split: 'tests' as 'test' })).rejects.toThrow(InvalidArgumentError);
    await expect(data.getRandomRawImages(1, { splits: 'test' } as never)).rejects.toThrow(InvalidArgumentError);
    data.dispose();
  });
});

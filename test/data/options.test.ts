import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DataLoader, decodeImage, prepareImages } from '../../src';
import { solidPng } from '../fixtures/images';

const pixel = { data: new Uint8Array([1, 2, 3]), width: 1, height: 1, channels: 3 as const };
const samples = [0, 1, 0, 1, 0, 1].map((label) => ({ source: pixel, label }));

describe('absurd option values are InvalidArgumentErrors, before anything is allocated', () => {
  it('refuses class indices beyond the class limit without making a name per index', async () => {
    const before = tf.memory().numTensors;
    const xs = tf.zeros([2, 1, 1, 3]) as tf.Tensor4D;
    await expect(DataLoader.fromTensors(xs, [0, 1e9])).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromTensors: label must be an integer class index in [0, 100000) (at most 100000 classes), got 1000000000]`,
    );
    const ys = tf.tensor1d([0, 2 ** 31 - 1], 'int32');
    await expect(DataLoader.fromTensors(xs, ys)).rejects.toThrow(/label must be an integer class index in \[0, 100000\)/);
    await expect(DataLoader.fromSamples([{ source: pixel, label: 0 }, { source: pixel, label: 1e9 }])).rejects.toThrow(
      /label must be an integer class index/,
    );
    tf.dispose([xs, ys]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bounds imageSize, the batch it implies, concurrency and labelNames', async () => {
    await expect(DataLoader.fromSamples(samples, { imageSize: 100000 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromSamples: imageSize must be at most 8192 pixels per side, got 100000]`,
    );
    await expect(DataLoader.fromSamples(samples, { imageSize: [8192, 8192], batchSize: 32 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromSamples: batchSize must be small enough that one batch of 8192 x 8192 x 3 images holds at most 536870912 values, got 32]`,
    );
    await expect(DataLoader.fromSamples(samples, { concurrency: 1e9 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromSamples: concurrency must be an integer in [1, 256], got 1000000000]`,
    );
    const names = Array.from({ length: 100_001 }, (_, i) => `c${i}`);
    await expect(DataLoader.fromSamples(samples, { labelNames: names })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromSamples: labelNames must be at most 100000 class names, got "100001 names"]`,
    );
    const t = tf.zeros([2, 2, 3]) as tf.Tensor3D;
    expect(() => prepareImages(t, { imageSize: 100000 })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: prepareImages: imageSize must be at most 8192 pixels per side, got 100000]`,
    );
    expect(() => prepareImages(Array.from({ length: 40 }, () => t), { imageSize: 4096 })).toThrow(/prepareImages: images must be small enough/);
    t.dispose();
    await expect(decodeImage(await solidPng(2, 2, [1, 2, 3]), { imageSize: 100000 })).rejects.toThrow(/imageSize must be at most 8192/);
  });

  it('refuses null for every option without a documented null, and unknown names on every data call', async () => {
    for (const option of ['imageSize', 'batchSize', 'splitWeights', 'seed', 'preprocessing', 'resize']) {
      await expect(DataLoader.fromSamples(samples, { [option]: null })).rejects.toThrow(
        `DataLoader.fromSamples: ${option} must be left out (or undefined) for its default, or a value; null is not an option value here, got null`,
      );
    }
    const png = await solidPng(2, 2, [1, 2, 3]);
    await expect(decodeImage(png, { imgSize: 3 } as never)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: decodeImage: options must be known option names (did you mean 'imageSize'?), got "imgSize"]`,
    );
    await expect(decodeImage(png, { resize: null } as never)).rejects.toThrow(/decodeImage: resize must be left out/);
    await expect(decodeImage(png, null as never)).rejects.toThrow(/decodeImage: options must be an object or undefined/);
    const t = tf.zeros([2, 2, 3]) as tf.Tensor3D;
    expect(() => prepareImages(t, { resise: 'pad' } as never)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: prepareImages: options must be known option names (did you mean 'resize'?), got "resise"]`,
    );
    expect(() => prepareImages(t, { preprocessing: null } as never)).toThrow(/prepareImages: preprocessing must be left out/);
    t.dispose();
    await expect(
      DataLoader.fromSamples(samples, { splits: { train: '[:50%]', validation: '[50%:75%]', test: '[75%:]', tset: '[:1]' } as never }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromSamples: splits must be an object with the keys train, validation and test only, got "tset"]`,
    );
  });
});

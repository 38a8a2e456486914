import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DataLoader, InvalidArgumentError, TlKitError } from '../../src';
import type { Batch, Sample } from '../../src';

/** The first value of every image in a dataset: the samples below encode their index there. */
async function order(ds: { forEachAsync(f: (b: Batch) => void): Promise<void> }): Promise<number[]> {
  const out: number[] = [];
  await ds.forEachAsync((b) => {
    const values = b.xs.dataSync();
    for (let i = 0; i < b.xs.shape[0]; i++) out.push(values[i * 3] as number);
    tf.dispose([b.xs, b.ys]);
  });
  return out;
}

/** 60 one-pixel samples whose red value is their index; labels alternate. */
const samples: Sample[] = Array.from({ length: 60 }, (_, i) => ({
  source: { data: new Uint8Array([i, 0, 0]), width: 1, height: 1, channels: 3 },
  label: i % 2 === 0 ? 'even' : 'odd',
}));
const base = { imageSize: 1, batchSize: 7, preprocessing: 'none', splitWeights: [4, 1, 1], seed: 9 } as const;

describe('DataLoader shuffleBufferSize', () => {
  it('a buffer of 1 gives the training split in file order every epoch', async () => {
    const data = await DataLoader.fromSamples(samples, { ...base, shuffleBufferSize: 1 });
    const fileOrder = data.files('train').map((id) => Number(id.replace('sample-', '')));
    expect(await order(data.trainBatches)).toEqual(fileOrder);
    expect(await order(data.trainBatches)).toEqual(fileOrder);
    data.dispose();
  });

  it('a small buffer covers every example exactly once per epoch, only mixes nearby files, and is seeded', async () => {
    const make = (): Promise<DataLoader> => DataLoader.fromSamples(samples, { ...base, shuffleBufferSize: 4 });
    const data = await make();
    const fileOrder = data.files('train').map((id) => Number(id.replace('sample-', '')));
    const epochs = [await order(data.trainBatches), await order(data.trainBatches)];
    for (const epoch of epochs) {
      expect([...epoch].sort((a, b) => a - b)).toEqual(fileOrder);
      epoch.forEach((value, step) => expect(step).toBeGreaterThanOrEqual(fileOrder.indexOf(value) - 4 + 1));
      expect(epoch).not.toEqual(fileOrder);
    }
    expect(epochs[0]).not.toEqual(epochs[1]);
    const again = await make();
    expect(await order(again.trainBatches)).toEqual(epochs[0]);
    expect(await order(again.trainBatches)).toEqual(epochs[1]);
    // The buffer orders training batches only: the splits are those of a loader without it.
    const plain = await DataLoader.fromSamples(samples, base);
    for (const split of ['train', 'validation', 'test'] as const) expect(data.files(split)).toEqual(plain.files(split));
    // Left out, every epoch is a full permutation (a buffer as large as the split).
    const full = await DataLoader.fromSamples(samples, { ...base, shuffleBufferSize: 1000 });
    expect(await order(full.trainBatches)).toEqual(await order(plain.trainBatches));
    for (const d of [data, again, plain, full]) d.dispose();
  });

  it('is validated', async () => {
    await expect(DataLoader.fromSamples(samples, { ...base, shuffleBufferSize: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.fromSamples: shuffleBufferSize must be a positive integer, got 0]`,
    );
  });
});

describe('DataLoader after dispose()', () => {
  it('throws DISPOSED from every method and dataset, keeps its properties readable, and a second dispose() does nothing', async () => {
    const xs = tf.zeros([6, 2, 2, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const data = await DataLoader.fromTensors(xs, [0, 1, 0, 1, 0, 1], { imageSize: 2, splitWeights: [1, 1, 1], cache: 'memory' });
    expect(tf.memory().numTensors).toBe(before + 1);
    data.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => data.dispose()).not.toThrow();
    expect(tf.memory().numTensors).toBe(before);

    const calls: [string, () => unknown][] = [
      ['files', () => data.files('train')],
      ['getLabelName', () => data.getLabelName(0)],
      ['getRandomRawImages', () => data.getRandomRawImages(1)],
      ['trainBatches', () => data.trainBatches.toArray()],
      ['validationBatches', () => data.validationBatches.toArray()],
      ['testBatches', () => data.testBatches.toArray()],
    ];
    for (const [name, use] of calls) {
      const err = await (async () => use())().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TlKitError);
      expect((err as TlKitError).code).toBe('DISPOSED');
      expect((err as Error).message).toBe(`DataLoader.${name}: the DataLoader was disposed; it cannot be used any more (create or load it again)`);
    }
    expect(data.labelNames).toEqual(['0', '1']);
    expect(data.numExamples).toEqual({ train: 2, validation: 2, test: 2 });
    expect(data.skipped).toEqual([]);
    xs.dispose();
  });

  it('getRandomRawImages refuses an option it does not know (only split)', async () => {
    const data = await DataLoader.fromSamples(samples, base);
    const call = data.getRandomRawImages as unknown as (n: number, options: unknown) => Promise<unknown>;
    await expect(call.call(data, 2, { imageSize: 8 })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: DataLoader.getRandomRawImages: options must be known option names (did you mean 'split'?), got "imageSize"]`,
    );
    await expect(call.call(data, 2, { imageSize: 8 })).rejects.toBeInstanceOf(InvalidArgumentError);
    data.dispose();
  });
});

import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { describe, expect, it } from 'vitest';
import type { Batch, ImageBatchSource } from '../../src/data/types';
import { DatasetError } from '../../src/errors';
import { fineTune } from '../../src/pipeline/fine-tune';
import { Wrapper } from '../../src/models/wrapper';
import { evaluate } from '../../src/pipeline/evaluate';
import { fit } from '../../src/pipeline/fit';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from './helpers';

describe('checkSource', () => {
  it('refuses a hand-made source without imageSize or counts with the typed error, not a TypeError', async () => {
    const data = makeTestSource();
    const model = Wrapper(tinyConvBnBase());
    const { imageSize: _size, ...noSize } = data;
    await expect(evaluate(model, noSize as unknown as ImageBatchSource)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: evaluate: data must be an ImageBatchSource (e.g. a DataLoader) with at least 2 classes, got {"labelNames":["dark","bright"],"numExamples":{"train":24,"validation":12,"te...]`);
    // Batches that are objects but not datasets were a raw TypeError ("ds.iterator is not a function").
    await expect(evaluate(model, { ...data, testBatches: {} } as unknown as ImageBatchSource)).rejects.toThrow(/^evaluate: data must be an ImageBatchSource/);
    await expect(fit(model, { ...data, numExamples: {} } as unknown as ImageBatchSource)).rejects.toThrowErrorMatchingInlineSnapshot(`[InvalidArgumentError: fit: data must be an ImageBatchSource (e.g. a DataLoader) with at least 2 classes, got {"labelNames":["dark","bright"],"numExamples":{},"imageSize":[8,8],"labelMode...]`);
    model.dispose();
    data.dispose();
  });
});

describe('checkedBatches', () => {
  it("refuses a hand-made source's batch of the wrong dtype or shape with a DatasetError, on every path, and frees it", async () => {
    const data = makeTestSource({ perSplit: { train: 4, validation: 4, test: 4 }, batchSize: 2 });
    // Each was a raw tfjs error half-way through a step ("must be float32 tensor", "could not be broadcast"), and
    // the step's tensors (26 to 31) stayed behind.
    const bad: [string, () => Batch][] = [
      ['int32 images', () => ({ xs: tf.zeros([2, 8, 8, 3], 'int32') as tf.Tensor4D, ys: tf.ones([2, 1]) as tf.Tensor2D })],
      ['targets of another batch size and width', () => ({ xs: tf.zeros([2, 8, 8, 3]) as tf.Tensor4D, ys: tf.ones([3, 7]) as tf.Tensor2D })],
      ['images of another size', () => ({ xs: tf.zeros([2, 5, 5, 3]) as tf.Tensor4D, ys: tf.ones([2, 1]) as tf.Tensor2D })],
      ['not a batch', () => [1, 2] as unknown as Batch],
    ];
    const messages: string[] = [];
    for (const [, make] of bad) {
      const batches = tfd.generator(function* () {
        yield make();
      }) as unknown as tfd.Dataset<Batch>;
      const source: ImageBatchSource = { ...data, trainBatches: batches, validationBatches: batches, testBatches: batches };
      const before = tf.memory().numTensors;
      const base = tinyConvBnBase();
      const model = Wrapper(base, { numClasses: 2 });
      const calls = [
        () => fit(model, source, { epochs: 1, cacheFeatures: false }),
        () => fit(model, source, { epochs: 1, cacheFeatures: true }),
        () => evaluate(model, source),
        () => fineTune(model, source, { topLayers: 1, epochs: 1 }),
      ];
      for (const call of calls) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DatasetError);
        messages.push((err as Error).message);
      }
      model.dispose(); // with the optimizer fit gave it
      base.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect([...new Set(messages)]).toMatchInlineSnapshot(`
      [
        "fit: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: int32 [2, 8, 8, 3], ys: float32 [2, 1] }",
        "evaluate: batch 0 of the test split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: int32 [2, 8, 8, 3], ys: float32 [2, 1] }",
        "fineTune: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: int32 [2, 8, 8, 3], ys: float32 [2, 1] }",
        "fit: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: float32 [2, 8, 8, 3], ys: float32 [3, 7] }",
        "evaluate: batch 0 of the test split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: float32 [2, 8, 8, 3], ys: float32 [3, 7] }",
        "fineTune: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: float32 [2, 8, 8, 3], ys: float32 [3, 7] }",
        "fit: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: float32 [2, 5, 5, 3], ys: float32 [2, 1] }",
        "evaluate: batch 0 of the test split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: float32 [2, 5, 5, 3], ys: float32 [2, 1] }",
        "fineTune: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got { xs: float32 [2, 5, 5, 3], ys: float32 [2, 1] }",
        "fit: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got an array",
        "evaluate: batch 0 of the test split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got an array",
        "fineTune: batch 0 of the train split must be { xs: float32 [n, 8, 8, 3], ys: [n, 1] }, got an array",
      ]
    `);
    data.dispose();
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src';
import { withBackend } from '../helpers/backends';

describe('DataLoader targets', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`are exact one-hot floats for three classes on the ${backend} backend`, async () => {
      await withBackend(backend, async () => {
        const xs = tf.zeros([6, 2, 2, 3]) as tf.Tensor4D;
        const data = await DataLoader.fromTensors(xs, [0, 1, 2, 2, 1, 0], {
          imageSize: 2,
          batchSize: 6,
          splitWeights: [4, 1, 1],
          stratify: false,
          preprocessing: 'none',
        });
        expect(data.labelMode).toBe('categorical');
        const rows: number[][] = [];
        await data.trainBatches.forEachAsync((b) => {
          expect(b.ys.dtype).toBe('float32');
          rows.push(...(b.ys.arraySync() as number[][]));
          tf.dispose([b.xs, b.ys]);
        });
        expect(rows.length).toBe(data.numExamples.train);
        for (const row of rows) {
          expect([...row].sort()).toEqual([0, 0, 1]);
        }
        data.dispose();
        xs.dispose();
      });
    });
  }

  it('are a single 0/1 column for two classes', async () => {
    const xs = tf.zeros([4, 2, 2, 3]) as tf.Tensor4D;
    const data = await DataLoader.fromTensors(xs, [0, 1, 1, 0], { imageSize: 2, batchSize: 4, splitWeights: [2, 1, 1], stratify: false });
    const rows: number[][] = [];
    await data.trainBatches.forEachAsync((b) => {
      rows.push(...(b.ys.arraySync() as number[][]));
      tf.dispose([b.xs, b.ys]);
    });
    expect(rows.every((r) => r.length === 1 && (r[0] === 0 || r[0] === 1))).toBe(true);
    data.dispose();
    xs.dispose();
  });
});

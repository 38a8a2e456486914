import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { Wrapper } from '../../src/models/wrapper';
import { describeWrapper } from '../../src/models/wrapper-view';
import { unfreeze } from '../../src/models/unfreeze';
import { fit } from '../../src/pipeline/fit';
import { AUTO_WORKERS_MAX, AUTO_WORKERS_MIN_IMAGES, defaultWorkers } from '../../src/models/runtime-choice';
import { tinyConvBnBase } from '../fixtures/bases';
import { makeTestSource } from '../pipeline/helpers';

describe('default worker threads', () => {
  it('uses every core (capped) only for enough images on a frozen layers base', async () => {
    const base = tinyConvBnBase();
    const model = Wrapper(base);
    const parts = describeWrapper(model)!;
    const cores = Math.min(availableParallelism(), AUTO_WORKERS_MAX);
    expect(await defaultWorkers(parts, AUTO_WORKERS_MIN_IMAGES - 1)).toBe(0);
    expect(await defaultWorkers(parts, AUTO_WORKERS_MIN_IMAGES)).toBe(cores >= 2 ? cores : 0);
    unfreeze(model, { fromLayer: 'conv2' }); // a base that trains cannot be copied into threads
    expect(await defaultWorkers(parts, 10_000)).toBe(0);
    model.dispose();
    base.dispose();
  });

  it('gives the same training as one thread when fit picks threads by itself', async () => {
    const data = makeTestSource({ perSplit: { train: 256, validation: 16, test: 8 }, batchSize: 32 });
    const run = async (workers: number | undefined): Promise<number[]> => {
      const base = tinyConvBnBase();
      const model = Wrapper(base, { seed: 3 });
      const history = await fit(model, data, { epochs: 2, seed: 5, ...(workers === undefined ? {} : { workers }) });
      model.dispose();
      base.dispose();
      return history.history.loss as number[];
    };
    const before = tf.memory().numTensors;
    const auto = await run(undefined);
    const single = await run(0);
    expect(auto).toEqual(single);
    expect(tf.memory().numTensors).toBe(before);
    data.dispose();
  });
});

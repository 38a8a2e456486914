/**
 * Use after `dispose()` on every call that takes the object: a disposed Wrapper model, a disposed DataLoader, a
 * disposed Classifier (and its model) and a disposed base. With otherwise valid arguments each call fails with code
 * `DISPOSED` before it allocates anything; with hostile other arguments it still keeps the fuzz contract
 * (`harness.ts`). `dispose()` itself stays harmless when called again.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareBases,
  DataLoader,
  evaluate,
  evaluateBaseline,
  fineTune,
  fit,
  loadClassifier,
  loadKerasWeights,
  saveClassifier,
  unfreeze,
  Wrapper,
  type Classifier,
  type ImageBatchSource,
} from '../../src';
import { tinyConvBnBase } from '../fixtures/bases';
import { tempDir } from '../fixtures/images';
import { makeTestSource, type TestSource } from '../pipeline/helpers';
import { caseCount, FuzzRun, makeSharedHostiles, type Fuzzer, type SharedHostiles } from './harness';

let root: string;
let cleanup: () => Promise<void>;
let shared: SharedHostiles;
let data: TestSource;
let loader: DataLoader;
let classifier: Classifier;
let base: tfl.LayersModel;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('tlkit-fuzz-disposed-'));
  shared = makeSharedHostiles(() => tinyConvBnBase(), (b) => Wrapper(b));
  data = makeTestSource({ perSplit: { train: 4, validation: 4, test: 4 }, batchSize: 2 });
  const xs = tf.randomUniform([6, 8, 8, 3], 0, 255) as tf.Tensor4D;
  loader = await DataLoader.fromTensors(xs, [0, 1, 0, 1, 0, 1], { imageSize: 8, batchSize: 2, splitWeights: [1, 1, 1] });
  xs.dispose();
  loader.dispose();
  const own = tinyConvBnBase();
  const model = Wrapper(own, { numClasses: 2 });
  await saveClassifier(model, data, join(root, 'classifier'));
  model.dispose();
  own.dispose();
  classifier = await loadClassifier(join(root, 'classifier'));
  await classifier.dispose();
  base = tinyConvBnBase();
  base.dispose();
});

afterAll(async () => {
  data.dispose();
  await cleanup();
});

/** One call on a disposed object: `valid` gives the other arguments that would make it succeed on a live one. */
interface DisposedCall {
  readonly name: string;
  readonly call: (f: Fuzzer, hostile: boolean) => unknown;
}

/** A live Wrapper model for calls whose disposed argument is not the model (the case frees it). */
const liveModel = (f: Fuzzer): tfl.LayersModel => f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 2 }));

/** The argument, or (when `hostile`) sometimes a hostile value in its place. */
const maybe = <T,>(f: Fuzzer, hostile: boolean, value: T): T => (hostile && f.chance(0.5) ? (f.hostile() as T) : value);

function disposedCalls(): DisposedCall[] {
  const wrapper = shared.disposedWrapper;
  const source = (f: Fuzzer, hostile: boolean) => maybe<ImageBatchSource>(f, hostile, data);
  return [
    // A disposed Wrapper model.
    { name: 'fit(disposed model)', call: (f, h) => fit(wrapper, source(f, h), maybe(f, h, { epochs: 1 })) },
    { name: 'evaluate(disposed model)', call: (f, h) => evaluate(wrapper, source(f, h), maybe(f, h, { split: 'test' })) },
    { name: 'evaluateBaseline(disposed model)', call: (f, h) => evaluateBaseline(wrapper, source(f, h), maybe(f, h, { steps: 1 })) },
    { name: 'fineTune(disposed model)', call: (f, h) => fineTune(wrapper, source(f, h), maybe(f, h, { topLayers: 1, epochs: 1 })) },
    { name: 'saveClassifier(disposed model)', call: (f, h) => saveClassifier(wrapper, source(f, h), maybe(f, h, join(root, 'never'))) },
    { name: 'unfreeze(disposed model)', call: (f, h) => unfreeze(wrapper, maybe(f, h, { topLayers: 1 })) },
    // A disposed DataLoader as the data of every call that reads batches, and its own methods.
    { name: 'fit(disposed loader)', call: (f, h) => fit(liveModel(f), loader, maybe(f, h, { epochs: 1 })) },
    { name: 'evaluate(disposed loader)', call: (f, h) => evaluate(liveModel(f), loader, maybe(f, h, {})) },
    { name: 'evaluateBaseline(disposed loader)', call: (f, h) => evaluateBaseline(liveModel(f), loader, maybe(f, h, {})) },
    { name: 'fineTune(disposed loader)', call: (f, h) => fineTune(liveModel(f), loader, maybe(f, h, { topLayers: 1, epochs: 1 })) },
    { name: 'compareBases(disposed loader)', call: (f, h) => compareBases([{ name: 'tiny', base: f.own(tinyConvBnBase()) }], loader, maybe(f, h, { epochs: 1 })) },
    { name: 'DataLoader.getLabelName', call: (f, h) => loader.getLabelName(maybe(f, h, 0)) },
    { name: 'DataLoader.files', call: (f, h) => loader.files(maybe(f, h, 'train')) },
    { name: 'DataLoader.getRandomRawImages', call: (f, h) => loader.getRandomRawImages(maybe(f, h, 1)) },
    { name: 'DataLoader.batches', call: (f, h) => loader.batches(maybe(f, h, 'test'), maybe(f, h, { shuffle: false })) },
    { name: 'DataLoader.trainBatches', call: () => loader.trainBatches.forEachAsync((b) => tf.dispose([b.xs, b.ys])) },
    // A disposed Classifier and its model.
    { name: 'Classifier.predict', call: (f, h) => classifier.predict(maybe(f, h, f.own(tf.zeros([8, 8, 3], 'int32')) as tf.Tensor3D)) },
    { name: 'evaluate(classifier.model)', call: (f, h) => evaluate(classifier.model, source(f, h)) },
    { name: 'fit(classifier.model)', call: (f, h) => fit(classifier.model, source(f, h), maybe(f, h, { epochs: 1 })) },
    { name: 'saveClassifier(classifier.model)', call: (f, h) => saveClassifier(classifier.model, source(f, h), join(root, 'again')) },
    // A disposed base.
    { name: 'Wrapper(disposed base)', call: (f, h) => Wrapper(base, maybe(f, h, { numClasses: 2 })) },
    { name: 'compareBases(disposed base)', call: (f, h) => compareBases([{ name: 'tiny', base }], data, maybe(f, h, { epochs: 1 })) },
    { name: 'loadKerasWeights(disposed base)', call: (f, h) => loadKerasWeights(base, maybe(f, h, new Uint8Array(8))) },
  ];
}

describe('fuzz: disposed objects', () => {
  it('every call on a disposed model, DataLoader, Classifier or base fails with code DISPOSED; dispose() twice is harmless', async () => {
    const run = new FuzzRun('disposed', shared);
    const codes: Record<string, string> = {};
    for (const { name, call } of disposedCalls()) {
      await run.check(name, async (f) => {
        try {
          await call(f, false);
          codes[name] = 'resolved';
        } catch (err) {
          codes[name] = (err as { code?: string }).code ?? String(err);
          throw err;
        }
      });
    }
    expect(Object.entries(codes).filter(([, code]) => code !== 'DISPOSED')).toEqual([]);
    expect(() => loader.dispose()).not.toThrow();
    await expect(classifier.dispose()).resolves.toBeUndefined();
    expect(() => shared.disposedWrapper.dispose()).not.toThrow();
    const calls = disposedCalls();
    for (let i = 0; i < caseCount(40); i++) {
      const { name, call } = run.fuzzer.pick(calls);
      await run.check(`${name} with hostile arguments`, (f) => call(f, true));
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.codes.DISPOSED).toBeGreaterThanOrEqual(calls.length);
  });
});

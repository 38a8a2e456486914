/**
 * Fuzz of the training and reporting entry points: `evaluate`, `evaluateBaseline`, `fit`, `fineTune`,
 * `compareBases` (on tfjs and on ONNX Runtime), the `earlyStopping` and `progressBar` callbacks, and `writeReport`,
 * with hostile models, hostile datasets (wrong fields, batches of the wrong shape or dtype, NaN, iterators that throw)
 * and hostile option values. The contract is in `harness.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import type * as tfl from '@tensorflow/tfjs-layers';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareBases,
  earlyStopping,
  evaluate,
  evaluateBaseline,
  fineTune,
  fit,
  progressBar,
  Wrapper,
  writeReport,
  type Batch,
  type EvaluationResult,
  type ImageBatchSource,
} from '../../src';
import { tinyConvBnBase } from '../fixtures/bases';
import { tempDir } from '../fixtures/images';
import { makeTestSource, type TestSource } from '../pipeline/helpers';
import { callerFault, caseCount, FuzzRun, makeSharedHostiles, type Fuzzer, type SharedHostiles } from './harness';

let root: string;
let home: string;
let cleanup: () => Promise<void>;
let shared: SharedHostiles;
let binary: TestSource;
let three: TestSource;
let history: tfl.History;
let evaluation: EvaluationResult;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('tlkit-fuzz-pipeline-'));
  home = process.cwd();
  process.chdir(root);
  shared = makeSharedHostiles(() => tinyConvBnBase(), (base) => Wrapper(base));
  const small = { train: 8, validation: 4, test: 4 };
  binary = makeTestSource({ perSplit: small, batchSize: 4 });
  three = makeTestSource({ numClasses: 3, perSplit: { train: 9, validation: 6, test: 6 }, batchSize: 4, seed: 5 });
  const base = tinyConvBnBase();
  const model = Wrapper(base, { numClasses: 3 });
  history = await fit(model, three, { epochs: 2 });
  evaluation = await evaluate(model, three);
  model.dispose();
  base.dispose();
});

afterAll(async () => {
  process.chdir(home);
  binary.dispose();
  three.dispose();
  await cleanup();
});

/** A fresh Wrapper model for the dataset (2 or 3 classes), on tfjs or ONNX Runtime, or a hostile model. */
function someModel(f: Fuzzer, classes: 2 | 3): unknown {
  if (f.chance(0.12)) return f.pick([f.tensorish(), shared.disposedWrapper, f.own(tinyConvBnBase()), f.hostile()]);
  const base = f.own(tinyConvBnBase({ seed: 1 + f.int(3) }));
  const numClasses = f.chance(0.9) ? classes : classes === 2 ? 3 : 2;
  const engine = f.pick(['tfjs', 'tfjs', 'onnxruntime', 'auto'] as const);
  return f.note('model', f.own(Wrapper(base, { numClasses, engine, hiddenUnits: f.chance(0.3) ? [4] : [] })));
}

/** A batch dataset whose batches are hostile: wrong shapes, dtypes or counts, NaN, or an iterator that throws. */
function hostileBatches(f: Fuzzer): tfd.Dataset<Batch> {
  const kind = f.int(7);
  f.note('batches', kind);
  if (kind === 0) return tfd.array([]) as unknown as tfd.Dataset<Batch>;
  const fault = callerFault();
  return tfd.generator(function* () {
    for (let step = 0; step < 2; step++) {
      if (kind === 1) throw fault;
      if (kind === 2) yield { xs: tf.fill([2, 8, 8, 3], NaN), ys: tf.ones([2, 1]) } as Batch;
      else if (kind === 3) yield { xs: tf.zeros([2, 5, 5, 3]), ys: tf.ones([2, 1]) } as Batch;
      else if (kind === 4) yield { xs: tf.zeros([2, 8, 8, 3]), ys: tf.ones([3, 7]) } as Batch;
      else if (kind === 5) yield { xs: tf.zeros([2, 8, 8, 3], 'int32'), ys: tf.tensor2d([[2], [-1]]) } as Batch;
      else yield [1, 2, 3] as unknown as Batch;
    }
  }) as unknown as tfd.Dataset<Batch>;
}

/** The dataset, or a copy with one field made hostile. */
function someSource(f: Fuzzer, valid: ImageBatchSource): unknown {
  const roll = f.int(10);
  if (roll < 6) return valid;
  if (roll === 6) return f.hostile();
  const key = f.pick(['labelNames', 'numExamples', 'imageSize', 'labelMode', 'batchSize', 'preprocessing', 'resize', 'augmented', 'trainBatches', 'validationBatches', 'testBatches']);
  const fields: Record<string, unknown> = {
    labelNames: valid.labelNames,
    numExamples: valid.numExamples,
    imageSize: valid.imageSize,
    labelMode: valid.labelMode,
    batchSize: valid.batchSize,
    preprocessing: valid.preprocessing,
    resize: valid.resize,
    augmented: valid.augmented,
    trainBatches: valid.trainBatches,
    validationBatches: valid.validationBatches,
    testBatches: valid.testBatches,
  };
  fields[key] = key.endsWith('Batches') && f.chance(0.8) ? hostileBatches(f) : key === 'numExamples' ? f.pick([{ train: 0, validation: 0, test: 0 }, { train: 1e9, validation: -1, test: NaN }, {}]) : f.hostile();
  f.note('source', `${key} = ${String(typeof fields[key])}`);
  return fields;
}

const FIT_KEYS = ['epochs', 'callbacks', 'verbose', 'progressStream', 'optimizer', 'learningRate', 'cacheFeatures', 'cacheBudgetBytes', 'shuffle', 'seed', 'classWeight', 'workers', 'validation', 'stopOnNaN'];

/** Option values near valid ones for the training options. */
function fitValue(f: Fuzzer, key: string): unknown {
  switch (key) {
    case 'epochs':
      return f.pick([0, 1, 2, -1, 1.5, NaN, '2']);
    case 'callbacks':
      return f.pick([[earlyStopping({ patience: 0 })], progressBar({ stream: sink() }), [{ onEpochEnd: f.callback('awaited') }], [{ onBatchEnd: () => { throw callerFault(); } }], [f.hostile()], { onTrainBegin: f.callback('awaited') }]);
    case 'verbose':
      return f.pick([0, 1, 2, 3, -1]);
    case 'progressStream':
      return f.pick([sink(), { write: f.callback() }, { write: 'no' }, process]);
    case 'optimizer':
      return f.pick(['adam', 'tutorial', 'sgd', f.own(tf.train.sgd(0.1)), {}, f.own(tf.train.adam(1e9))]);
    case 'learningRate':
      return f.pick([0.01, 1e9, 0, -1, NaN, Infinity]);
    case 'cacheBudgetBytes':
      return f.pick([0, 1, 100, 2 ** 53, -1]);
    case 'classWeight':
      return f.pick([{ 0: 1, 1: 2 }, { 0: -1 }, { 5: 1 }, { red: 2 }, { 0: NaN }, [1, 2], {}]);
    case 'workers':
      return f.pick([0, 1, 2, 65, -1, 0.5]);
    case 'seed':
      return f.pick([1, 2 ** 53, -0, 0.5]);
    default:
      return f.number();
  }
}

/** A progress stream that keeps what it is given. */
function sink(): { write: (text: string) => boolean; text: string } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

/** Keeps a valid mutation cheap: at most 2 epochs. */
function cheap(options: unknown): unknown {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options;
  const epochs = (options as { epochs?: unknown }).epochs;
  return typeof epochs === 'number' && Number.isInteger(epochs) && epochs > 2 ? { ...options, epochs: 2 } : options;
}

describe('fuzz: training and reports', () => {
  it('evaluate and evaluateBaseline with hostile models, datasets and options', async () => {
    const run = new FuzzRun('evaluate', shared);
    await run.control('both engines', async (f) => {
      for (const engine of ['tfjs', 'onnxruntime'] as const) {
        const model = f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 3, engine }));
        await evaluateBaseline(model, three, { steps: 1 });
        await evaluate(model, three, { split: 'validation' });
      }
    });
    for (let i = 0; i < caseCount(30); i++) {
      const which = run.fuzzer.pick(['evaluate', 'evaluateBaseline'] as const);
      await run.check(which, async (f) => {
        const classes = f.pick([2, 3] as const);
        const model = someModel(f, classes);
        const data = someSource(f, classes === 2 ? binary : three);
        if (which === 'evaluate') {
          const options = f.note('options', f.chance(0.4) ? {} : f.options({ split: 'test' }, ['steps', 'split', 'workers'], (k) => (k === 'split' ? f.pick(['test', 'train', 'validation', 'all']) : k === 'workers' ? f.pick([0, 1, 65]) : f.number())));
          await evaluate(model as tfl.LayersModel, data as ImageBatchSource, options as never);
        } else {
          const options = f.note('options', f.chance(0.4) ? {} : f.options({ steps: 1 }, ['steps'], () => f.number()));
          await evaluateBaseline(model as tfl.LayersModel, data as ImageBatchSource, options as never);
        }
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('fit with hostile models, datasets, options and callbacks (earlyStopping, progressBar)', async () => {
    const run = new FuzzRun('fit', shared);
    await run.control('callbacks', async (f) => {
      const model = f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 2 }));
      await fit(model, binary, { epochs: 2, callbacks: [earlyStopping({ patience: 1, restoreBestWeights: true }), progressBar({ stream: sink(), verbose: 2 })] });
    });
    for (let i = 0; i < caseCount(30); i++) {
      await run.check('fit', async (f) => {
        const classes = f.pick([2, 3] as const);
        const model = someModel(f, classes);
        const data = someSource(f, classes === 2 ? binary : three);
        const valid = { epochs: 1, cacheFeatures: f.chance(0.5) };
        const options = f.note('options', cheap(f.chance(0.3) ? valid : f.options(valid, FIT_KEYS, (k) => fitValue(f, k))));
        await fit(model as tfl.LayersModel, data as ImageBatchSource, options as never);
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('earlyStopping and progressBar built from hostile options, then used in a fit', async () => {
    const run = new FuzzRun('callbacks', shared);
    for (let i = 0; i < caseCount(30); i++) {
      const which = run.fuzzer.pick(['earlyStopping', 'progressBar'] as const);
      await run.check(which, async (f) => {
        let callback: unknown;
        if (which === 'earlyStopping') {
          const valid = { monitor: 'val_loss', patience: 1 };
          const options = f.note('options', f.chance(0.2) ? valid : f.options(valid, ['monitor', 'patience', 'minDelta', 'mode', 'restoreBestWeights'], (k) => (k === 'monitor' ? f.pick(['loss', 'acc', 'val_acc', 'nope', '__proto__']) : k === 'mode' ? f.pick(['min', 'max', 'auto', 'up']) : f.number())));
          callback = earlyStopping(options as never);
        } else {
          const valid = { stream: sink(), verbose: 1 };
          const options = f.note('options', f.chance(0.2) ? valid : f.options(valid, ['stream', 'verbose', 'width', 'now'], (k) => (k === 'stream' ? f.pick([sink(), { write: f.callback(), isTTY: true, columns: f.number() }, { write: 1 }]) : k === 'now' ? f.pick([() => NaN, () => -1, f.callback()]) : f.number())));
          callback = progressBar(options as never);
        }
        // A fresh model: fit gives a model its optimizer's slots, which stay until the model is disposed.
        await fit(f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 2 })), binary, { epochs: 2, callbacks: [callback as never] });
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('fineTune with hostile models, datasets and options', async () => {
    const run = new FuzzRun('fineTune', shared);
    await run.control('topLayers', async (f) => {
      await fineTune(f.own(Wrapper(f.own(tinyConvBnBase()), { numClasses: 2 })), binary, { topLayers: 2, epochs: 1 });
    });
    const keys = ['fromLayer', 'topLayers', 'learningRate', 'epochs', 'callbacks', 'verbose', 'optimizer', 'shuffle', 'seed', 'classWeight', 'validation', 'stopOnNaN', 'cacheFeatures', 'workers'];
    for (let i = 0; i < caseCount(20); i++) {
      await run.check('fineTune', async (f) => {
        const classes = f.pick([2, 3] as const);
        const model = someModel(f, classes);
        const data = someSource(f, classes === 2 ? binary : three);
        const valid = f.pick([{ topLayers: 2, epochs: 1 }, { fromLayer: 'conv2', epochs: 1 }]);
        const options = f.note('options', cheap(f.chance(0.3) ? valid : f.options(valid, keys, (k) => (k === 'fromLayer' ? f.pick(['bn2', 'nope', '']) : k === 'topLayers' ? f.pick([0, 1, 99, -1]) : fitValue(f, k)))));
        await fineTune(model as tfl.LayersModel, data as ImageBatchSource, options as never);
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('compareBases with hostile entries, datasets and options', async () => {
    const run = new FuzzRun('compareBases', shared);
    await run.control('two bases', async (f) => {
      const rows = await compareBases(
        [
          { name: 'a', base: f.own(tinyConvBnBase()) },
          { name: 'b', base: f.own(tinyConvBnBase({ seed: 2 })), engine: 'onnxruntime' },
        ],
        three,
        { epochs: 1, keepModels: true },
      );
      rows.forEach((row) => f.own(row.model as tfl.LayersModel));
    });
    const keys = ['baselineSteps', 'evaluateSteps', 'keepModels', 'onBaseBegin', 'epochs', 'callbacks', 'seed', 'cacheFeatures'];
    for (let i = 0; i < caseCount(12); i++) {
      await run.check('compare', async (f) => {
        const entry = (): unknown => {
          if (f.chance(0.1)) return f.hostile();
          const valid = { name: `b${f.int(3)}`, base: f.own(tinyConvBnBase()) };
          return f.chance(0.5) ? valid : f.options(valid, ['name', 'base', 'wrapperOptions', 'engine', 'executionProviders', 'data'], (k) => (k === 'wrapperOptions' ? f.pick([{ numClasses: 2 }, { hiddenUnits: [3] }, { cutAt: 'nope' }]) : k === 'engine' ? f.pick(['tfjs', 'onnxruntime', 'gpu']) : k === 'data' ? someSource(f, three) : f.hostile()));
        };
        const entries = f.note('entries', f.chance(0.9) ? Array.from({ length: f.int(3) }, entry) : f.hostile());
        const data = someSource(f, three);
        const valid = { epochs: 1, keepModels: f.chance(0.5) };
        const options = f.note('options', cheap(f.chance(0.4) ? valid : f.options(valid, keys, (k) => (k === 'onBaseBegin' ? f.callback() : k.endsWith('Steps') ? f.pick([1, 0, -1, 1e9]) : fitValue(f, k)))));
        const rows = await compareBases(entries as never, data as ImageBatchSource, options as never);
        rows.forEach((row) => row.model && f.own(row.model));
      }, { timeoutMs: 10_000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });

  it('writeReport with hostile content, folders and options', async () => {
    const run = new FuzzRun('writeReport', shared);
    const valid = (f: Fuzzer) => ({
      title: 'Fuzz',
      histories: { tiny: history },
      evaluation,
      evaluationName: 'tiny',
      samples: [{ image: f.own(tf.fill([6, 5, 3], 120, 'int32')) as tf.Tensor3D, labelName: 'red', predictedLabelName: 'blue', probability: 0.7, id: 'a.png' }],
    });
    await run.control('full', async (f) => {
      await writeReport(join(root, 'report-ok'), valid(f), { seed: 3 });
    });
    for (let i = 0; i < caseCount(30); i++) {
      await run.check('report', async (f) => {
        const dir = f.note('dir', f.chance(0.85) ? join(root, 'reports', `r${i}`, f.pick(['out', 'é🙂', 'a/b', 'x'.repeat(300)])) : f.hostile());
        const content = ((): unknown => {
          const base = valid(f);
          if (f.chance(0.3)) return base;
          if (f.chance(0.2)) return f.hostile();
          return f.options(base, ['title', 'histories', 'comparison', 'evaluation', 'evaluationName', 'samples'], (k) => {
            if (k === 'histories') return { tiny: { history: f.json(history.history) } };
            if (k === 'evaluation') return f.json(evaluation);
            if (k === 'samples') return [{ image: f.tensorish(), labelName: 'red' }, { image: f.own(tf.zeros([3, 3, 3])), labelName: f.hostile(), probability: f.number() }];
            if (k === 'comparison') return [f.json({ name: 'x', baseline: {}, evaluation, history: { history: history.history } })];
            return f.hostile();
          });
        })();
        f.note('content', content);
        const options = f.note('options', f.chance(0.5) ? {} : f.options({ seed: 1 }, ['seed', 'thumbnailSize'], () => f.number()));
        await writeReport(dir as string, content as never, options as never);
      }, { timeoutMs: 8000 });
    }
    run.report();
    expect(run.failures).toEqual([]);
    expect(run.refused).toBeGreaterThan(0);
  });
});

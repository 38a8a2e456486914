/**
 * The epoch loop shared by `fit` and `fineTune`, and its two batch plans: cached (the head trains on base features
 * extracted once) and naive (every step runs the full model on images).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Batch, ImageBatchSource } from '../data/types';
import { DatasetError, InvalidArgumentError, TrainingError } from '../errors';
import { hashString, shuffled } from '../internal/rng';
import { openBaseRuntime } from '../models/runtime-choice';
import type { WrapperView } from '../models/wrapper-view';
import type { BaseRuntimeInfo } from '../runtime/types';
import {
  CallbackRunner,
  type ExtractionProgress,
  type FitHistory,
  type TrainingCallback,
  type TrainingLogs,
  type TrainingParams,
} from './callbacks';
import { accuracyFunction, ensureOptimizerFits, lossFunction } from './compile';
import { extractFeatures, type FeatureStore } from './feature-cache';
import { addToScore, emptyScore, meanLoss } from './scoring';
import { accuracyOf } from './metrics';
import { batchShape, checkedBatches, type BatchShape } from './checks';

/** One training batch: the input of `forward` and the targets. Both are disposed by the loop. */
interface StepBatch {
  readonly x: tf.Tensor;
  readonly ys: tf.Tensor2D;
}

/** How an epoch gets its batches and how the model runs on them. */
export interface TrainingPlan {
  readonly path: 'cached' | 'naive';
  /** What ran the frozen base for the cached features (undefined on the naive path: the whole model runs). */
  readonly runtime: BaseRuntimeInfo | undefined;
  /** Batches per epoch. */
  readonly steps: number;
  /** Training examples per epoch. */
  readonly samples: number;
  /** Batches of one epoch, in order. */
  batches(epoch: number): AsyncGenerator<StepBatch>;
  /** Predictions for a batch input. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  /** The variables the optimizer updates. */
  readonly variables: () => tf.Variable[];
  /** Regularization penalties of the trained layers, added to the loss (as tfjs's fit does). */
  readonly penalties: () => tf.Scalar[];
  /** Validation batches (inference), or null when there is no validation. */
  validationBatches(): AsyncGenerator<StepBatch> | null;
  /** Frees cached features. */
  close(): Promise<void>;
}

/** Settings the loop needs, already validated. */
export interface LoopSettings {
  readonly call: string;
  readonly epochs: number;
  readonly callbacks: readonly TrainingCallback[];
  readonly verbose: number;
  readonly doValidation: boolean;
  /** Loss weight per class index, or undefined. */
  readonly classWeights: readonly number[] | undefined;
}

/** Iterates a tfjs-data dataset, each batch checked against `shape`, stopping after `maxBatches`. */
async function* datasetBatches(ds: import('@tensorflow/tfjs-data').Dataset<Batch>, shape: BatchShape, maxBatches?: number): AsyncGenerator<StepBatch> {
  const it = checkedBatches(await ds.iterator(), shape);
  let n = 0;
  for (;;) {
    if (maxBatches !== undefined && n >= maxBatches) return;
    const next = await it.next();
    if (next.done) return;
    n++;
    yield { x: next.value.xs, ys: next.value.ys };
  }
}

/** Training batches of `data` in its own order, for `shuffle: false` on the naive path. */
function orderedTrainBatches(call: string, data: ImageBatchSource): import('@tensorflow/tfjs-data').Dataset<Batch> {
  if (typeof data.batches !== 'function') {
    throw new InvalidArgumentError(
      call,
      'shuffle',
      'true or omitted for a data source without batches(split, { shuffle }) (it cannot present images unshuffled)',
      false,
    );
  }
  return data.batches('train', { shuffle: false });
}

/**
 * The naive plan: full images through the model every step. A Wrapper-shaped model runs its base in inference mode
 * (BatchNorm statistics untouched) and its head in training mode; any other model runs as tfjs runs it.
 */
export function naivePlan(
  call: string,
  model: tfl.LayersModel,
  view: WrapperView | undefined,
  data: ImageBatchSource,
  options: { readonly doValidation: boolean; readonly shuffle: boolean },
): TrainingPlan {
  const train = options.shuffle ? data.trainBatches : orderedTrainBatches(call, data);
  return {
    path: 'naive',
    runtime: undefined,
    steps: Math.ceil(data.numExamples.train / data.batchSize),
    samples: data.numExamples.train,
    batches: () => datasetBatches(train, batchShape(call, 'train', data)),
    forward: view
      ? (x, training) => view.runHead(view.pool(view.runBase(x as tf.Tensor4D)), training)
      : (x, training) => model.apply(x, { training }) as tf.Tensor,
    variables: () => model.trainableWeights.map((w) => w.read() as tf.Variable),
    penalties: () => model.calculateLosses(),
    validationBatches: () => (options.doValidation ? datasetBatches(data.validationBatches, batchShape(call, 'validation', data)) : null),
    close: async () => {},
  };
}

/** Options of {@link cachedPlan}. */
export interface CachedPlanOptions {
  readonly budgetBytes: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly workers: number | undefined;
  readonly doValidation: boolean;
  /** Reports extraction progress (to the callbacks). */
  readonly onProgress?: (progress: ExtractionProgress) => void;
}

/** Yields batches of rows of a feature store in the given order. */
async function* storeBatches(store: FeatureStore, order: readonly number[], batchSize: number): AsyncGenerator<StepBatch> {
  for (let start = 0; start < order.length; start += batchSize) {
    const { xs, ys } = await store.gather(order.slice(start, start + batchSize));
    yield { x: xs, ys };
  }
}

/**
 * The cached plan: runs the frozen base once over train (and validation) images through the model's runtime, then
 * trains the head on seeded per-epoch shuffles of the cached rows.
 */
export async function cachedPlan(
  call: string,
  view: WrapperView,
  data: ImageBatchSource,
  options: CachedPlanOptions,
): Promise<TrainingPlan> {
  const images = data.numExamples.train + (options.doValidation ? data.numExamples.validation : 0);
  const runtime = await openBaseRuntime(view, { call, images, workers: options.workers });
  let train: FeatureStore | undefined;
  let validation: FeatureStore | undefined;
  try {
    const common = { budgetBytes: options.budgetBytes, featureSize: view.featureSize };
    train = await extractFeatures(runtime, data.trainBatches, {
      ...common,
      expectedRows: data.numExamples.train,
      split: 'train',
      batches: batchShape(call, 'train', data),
      onBatch: (done) => options.onProgress?.({ split: 'train', done, total: data.numExamples.train, runtime: runtime.info }),
    });
    if (options.doValidation) {
      // The budget is shared: what train used is no longer available to validation.
      const left = Math.max(0, options.budgetBytes - train.rows * view.featureSize * 4);
      validation = await extractFeatures(runtime, data.validationBatches, {
        ...common,
        budgetBytes: train.location === 'memory' ? left : options.budgetBytes,
        expectedRows: data.numExamples.validation,
        split: 'validation',
        batches: batchShape(call, 'validation', data),
        onBatch: (done) => options.onProgress?.({ split: 'validation', done, total: data.numExamples.validation, runtime: runtime.info }),
      });
    }
  } catch (err) {
    await train?.close();
    throw err;
  } finally {
    await runtime.dispose();
  }
  const trainStore = train;
  const rows = Array.from({ length: trainStore.rows }, (_, i) => i);
  return {
    path: 'cached',
    runtime: runtime.info,
    steps: Math.ceil(trainStore.rows / data.batchSize),
    samples: trainStore.rows,
    batches: (epoch) =>
      storeBatches(
        trainStore,
        options.shuffle ? shuffled(rows, hashString(`epoch:${epoch}`, options.seed)) : rows,
        data.batchSize,
      ),
    forward: (x, training) => view.runHead(x, training),
    variables: () => view.headVariables(),
    penalties: () => view.headPenalties(),
    validationBatches: () =>
      validation
        ? storeBatches(validation, Array.from({ length: validation.rows }, (_, i) => i), data.batchSize)
        : null,
    close: async () => {
      await trainStore.close();
      await validation?.close();
    },
  };
}

/** Mean loss and accuracy of a model over batches, in inference mode (one scoring code with `evaluate`). */
export async function scoreBatches(
  batches: AsyncGenerator<StepBatch>,
  forward: (x: tf.Tensor) => tf.Tensor,
  lossFn: (y: tf.Tensor, p: tf.Tensor) => tf.Tensor,
): Promise<{ loss: number; acc: number; count: number }> {
  const score = emptyScore();
  for await (const { x, ys } of batches) {
    let pred: tf.Tensor | undefined;
    try {
      pred = tf.tidy(() => forward(x));
      await addToScore(score, ys, pred, lossFn);
    } finally {
      tf.dispose([x, ys]);
      pred?.dispose();
    }
  }
  return { loss: meanLoss(score), acc: accuracyOf(score.actual, score.predicted), count: score.actual.length };
}

/** Everything one epoch needs. */
interface EpochContext {
  readonly call: string;
  readonly model: tfl.LayersModel;
  readonly plan: TrainingPlan;
  readonly runner: CallbackRunner;
  readonly variables: tf.Variable[];
  readonly lossFn: (y: tf.Tensor, p: tf.Tensor) => tf.Tensor;
  readonly accFn: (y: tf.Tensor, p: tf.Tensor) => tf.Tensor;
  /** Per-class loss weights as a `[k, 1]` column (categorical) or `[2]` (binary), or undefined. */
  readonly classWeights: tf.Tensor | undefined;
}

/** Per-example loss weights of a batch from its targets: `[b]`. */
function exampleWeights(ys: tf.Tensor2D, classWeights: tf.Tensor): tf.Tensor {
  if (ys.shape[1] === 1) {
    // Binary: w0 + y * (w1 - w0).
    const [w0, w1] = tf.split(classWeights, 2);
    return tf.reshape(tf.add(w0 as tf.Tensor, tf.mul(ys, tf.sub(w1 as tf.Tensor, w0 as tf.Tensor))), [-1]);
  }
  return tf.reshape(tf.matMul(ys, classWeights as tf.Tensor2D), [-1]);
}

/** One optimizer step on a batch; returns the batch's loss (penalties included) and accuracy. */
async function trainStep(ctx: EpochContext, x: tf.Tensor, ys: tf.Tensor2D): Promise<[number, number]> {
  let lossT: tf.Scalar | null = null;
  let accT: tf.Tensor | undefined;
  let both: tf.Tensor | undefined;
  try {
    lossT = ctx.model.optimizer.minimize(
      () => {
        const pred = ctx.plan.forward(x, true);
        accT = tf.keep(tf.mean(ctx.accFn(ys, pred)));
        const penalties = ctx.plan.penalties();
        const perExample = ctx.lossFn(ys, pred);
        const weighted = ctx.classWeights ? tf.mul(perExample, exampleWeights(ys, ctx.classWeights)) : perExample;
        const loss = tf.mean(weighted) as tf.Scalar;
        return penalties.length === 0 ? loss : (tf.addN([loss, ...penalties]) as tf.Scalar);
      },
      true,
      ctx.variables,
    );
    const l = lossT as tf.Scalar;
    const a = accT as unknown as tf.Tensor;
    // One download per batch for both numbers.
    both = tf.tidy(() => tf.stack([l, tf.reshape(a, [])]));
    const [loss, acc] = await both.data();
    return [loss as number, acc as number];
  } finally {
    if (lossT) lossT.dispose();
    if (accT) (accT as tf.Tensor).dispose();
    if (both) both.dispose();
  }
}

/** Trains one epoch and validates; returns the epoch's logs. */
async function runEpoch(ctx: EpochContext, epoch: number): Promise<TrainingLogs> {
  const { plan, runner, model } = ctx;
  await runner.epochBegin(epoch, {});
  let sumLoss = 0;
  let sumAcc = 0;
  let seen = 0;
  let batch = 0;
  for await (const { x, ys } of plan.batches(epoch)) {
    try {
      const size = ys.shape[0];
      await runner.batchBegin(batch, { batch, size });
      const [loss, acc] = await trainStep(ctx, x, ys);
      sumLoss += loss * size;
      sumAcc += acc * size;
      seen += size;
      await runner.batchEnd(batch, { batch, size, loss, acc });
    } finally {
      tf.dispose([x, ys]);
    }
    batch++;
    if (model.stopTraining) break;
  }
  if (seen === 0) {
    // A source whose every training image failed to decode while iterating: NaN logs would pass for a result.
    throw new DatasetError(
      `${ctx.call}: the training split yielded no batch in epoch ${epoch + 1}; its images may all have failed to ` +
        'decode (a DataLoader lists them in data.skipped)',
    );
  }
  const logs: TrainingLogs = { loss: sumLoss / seen, acc: sumAcc / seen };
  const val = plan.validationBatches();
  if (val) {
    const r = await scoreBatches(val, (x) => plan.forward(x, false), ctx.lossFn);
    logs.val_loss = r.loss;
    logs.val_acc = r.acc;
  }
  await runner.epochEnd(epoch, logs);
  return logs;
}

/** Runs the epochs of `plan` on `model` with its compiled optimizer; returns a tfjs History. */
export async function runTraining(
  model: tfl.LayersModel,
  data: ImageBatchSource,
  plan: TrainingPlan,
  settings: LoopSettings,
): Promise<FitHistory> {
  const params: TrainingParams = {
    epochs: settings.epochs,
    steps: plan.steps,
    batchSize: data.batchSize,
    samples: plan.samples,
    verbose: settings.verbose,
    doValidation: settings.doValidation,
    metrics: settings.doValidation ? ['loss', 'acc', 'val_loss', 'val_acc'] : ['loss', 'acc'],
    path: plan.path,
    ...(plan.runtime ? { runtime: plan.runtime } : {}),
  };
  const variables = plan.variables();
  if (variables.length === 0) {
    throw new TrainingError(`${settings.call}: the model has no trainable weights; nothing would be trained`);
  }
  ensureOptimizerFits(settings.call, model, data, variables);
  const history = new tfl.History();
  const runner = new CallbackRunner([history as unknown as TrainingCallback, ...settings.callbacks]);
  runner.setup(model, params);
  model.stopTraining = false;
  await runner.trainBegin({});
  // Created after onTrainBegin, whose throw would otherwise leave it behind; freed in the finally below.
  const classWeights = settings.classWeights
    ? data.labelMode === 'binary'
      ? tf.tensor1d(settings.classWeights.slice(0, 2))
      : tf.tensor2d(settings.classWeights.slice(), [settings.classWeights.length, 1])
    : undefined;
  const ctx: EpochContext = {
    call: settings.call,
    model,
    plan,
    runner,
    variables,
    lossFn: lossFunction(model, data),
    accFn: accuracyFunction(data),
    classWeights,
  };
  let lastLogs: TrainingLogs = {};
  try {
    for (let epoch = 0; epoch < settings.epochs && !model.stopTraining; epoch++) lastLogs = await runEpoch(ctx, epoch);
  } catch (err) {
    // Callbacks still get onTrainEnd, so they free what they hold (earlyStopping restores its best weights).
    await runner.trainEnd(lastLogs).catch(() => {});
    throw err;
  } finally {
    classWeights?.dispose();
  }
  await runner.trainEnd(lastLogs);
  (model as unknown as { history: tfl.History }).history = history;
  // What ran the base travels with the history (typed, unlike tfjs's params).
  Object.defineProperty(history, 'runtime', { value: plan.runtime, enumerable: true });
  return history as FitHistory;
}

/**
 * The training code `fit`, `fineTune` and `compareBases` share: their options, the guard around a run, and the
 * choice of the batch plan (cached features or full images).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { DatasetError, InvalidArgumentError, TrainingError } from '../errors';
import {
  checkNonNegativeInteger,
  checkPositiveInteger,
  checkPositiveNumber,
  checkSeed,
  checkWorkers,
} from '../internal/validate';
import { describeWrapper } from '../models/wrapper-view';
import { nanGuard, type FitHistory, type TrainingCallback } from './callbacks';
import { progressBar, type ProgressStream } from './progress-bar';
import { cachedPlan, naivePlan, runTraining, type TrainingPlan } from './training-loop';

/**
 * Options of `fit` (and, where they apply, of `fineTune` and `compareBases`).
 *
 * @category training
 */
export interface FitOptions {
  /**
   * Passes over the training split.
   * @defaultValue `10`
   */
  readonly epochs?: number;
  /**
   * tfjs-compatible callbacks (`tfvis.show.fitCallbacks(...)`, {@link earlyStopping}, {@link progressBar}, ...).
   * @defaultValue `[]`
   */
  readonly callbacks?: TrainingCallback | readonly TrainingCallback[];
  /**
   * Keras's verbosity: `0` is silent; `1` draws a progress bar on `progressStream` when it is a TTY and writes one line
   * per epoch (plus the start and end of feature extraction) when it is not (CI logs, pipes, files); `2` always writes
   * those lines. See {@link progressBar}.
   * @defaultValue `0`
   */
  readonly verbose?: 0 | 1 | 2;
  /**
   * Where `verbose: 1` and `2` write.
   * @defaultValue `process.stderr`
   */
  readonly progressStream?: ProgressStream;
  /**
   * `'adam'` (Adam, 1e-3), `'tutorial'` (RMSprop, 1e-4: the TensorFlow tutorial's settings) or an optimizer. When
   * omitted, a compiled model keeps its optimizer and an uncompiled one gets `'adam'`.
   * @defaultValue the model's optimizer, else `'adam'`
   */
  readonly optimizer?: 'adam' | 'tutorial' | tf.Optimizer;
  /**
   * Learning rate for a named optimizer (recompiles the model with it).
   * @defaultValue the preset's rate
   */
  readonly learningRate?: number;
  /**
   * Train the head on base features extracted once (true) or run the full model every step (false). Caching needs a
   * model made by `Wrapper` with a frozen base and data with `augmented: false`.
   * @defaultValue `true` when caching is possible
   */
  readonly cacheFeatures?: boolean;
  /**
   * Bytes of cached features kept in memory; beyond it Node spills them to a temporary file (deleted afterwards) and
   * a browser throws.
   * @defaultValue `536870912` (512 MiB)
   */
  readonly cacheBudgetBytes?: number;
  /**
   * Present the training examples in a new seeded order every epoch (true) or in the data's order (false), on both
   * paths: cached features are reshuffled from `seed`; image batches come from `data.trainBatches` (a DataLoader
   * reshuffles them from its own seed) or, with false, from `data.batches('train', { shuffle: false })`.
   * @defaultValue `true`
   */
  readonly shuffle?: boolean;
  /**
   * Seed of the per-epoch shuffle of cached feature rows.
   * @defaultValue `42`
   */
  readonly seed?: number;
  /**
   * Weight of each class in the training loss, for imbalanced classes (Keras's and tfjs's `classWeight`): an object
   * from class index (or label name) to a positive weight; classes left out weigh 1. Each example's loss is multiplied
   * by its class's weight; validation losses are not weighted (as in Keras).
   * @defaultValue every class weighs 1
   */
  readonly classWeight?: Readonly<Record<string | number, number>>;
  /**
   * Worker threads for feature extraction (Node, cpu/wasm); 0 runs on this thread. Results are identical either
   * way. By default every core (at most 4) is used when the base is a frozen layers model and there are at least 256
   * images to extract, in Node on the cpu or wasm backend; otherwise this thread. At most as many threads as cores
   * and images start, whatever is asked (at most 64).
   * @defaultValue every core (at most 4) for 256+ images in Node on cpu/wasm, else `0`
   */
  readonly workers?: number;
  /**
   * Evaluate on the validation split after every epoch (`val_loss`, `val_acc`).
   * @defaultValue `true` when the data has validation examples
   */
  readonly validation?: boolean;
  /**
   * Throw {@link TrainingError} as soon as a batch's loss is NaN or infinite.
   * @defaultValue `true`
   */
  readonly stopOnNaN?: boolean;
}

/** Every FitOptions name, so a misspelt one is refused (compareBases and fineTune extend it). */
export const FIT_OPTION_KEYS: Readonly<Record<keyof FitOptions, true>> = { epochs: true, callbacks: true, verbose: true, progressStream: true, optimizer: true, learningRate: true, cacheFeatures: true, cacheBudgetBytes: true, shuffle: true, seed: true, classWeight: true, workers: true, validation: true, stopOnNaN: true };

/** Models currently inside `fit` / `fineTune`. */
const training = new WeakSet<tfl.LayersModel>();

/** Every layer, nested ones included, in pre-order (a parent before its children). */
function allLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  const out: tfl.layers.Layer[] = [];
  const walk = (layer: tfl.layers.Layer): void => {
    out.push(layer);
    const inner = (layer as unknown as { layers?: tfl.layers.Layer[] }).layers;
    if (Array.isArray(inner)) inner.forEach(walk);
  };
  model.layers.forEach(walk);
  return out;
}

/**
 * Runs `body` with `model` marked as training: refuses a concurrent run and restores every layer's `trainable` flag
 * afterwards, also on failure.
 */
export async function withTrainingGuard<T>(call: string, model: tfl.LayersModel, body: () => Promise<T>): Promise<T> {
  if (training.has(model)) {
    throw new TrainingError(`${call}: the model '${model.name}' is already training; wait for that fit to finish`);
  }
  training.add(model);
  const flags = allLayers(model).map((layer) => [layer, layer.trainable] as const);
  try {
    return await body();
  } finally {
    // Pre-order: a container's setter cascades to its children, whose own flags are set after it.
    for (const [layer, flag] of flags) if (layer.trainable !== flag) layer.trainable = flag;
    training.delete(model);
  }
}

/** Validated and defaulted FitOptions. */
export interface ResolvedFit {
  readonly epochs: number;
  readonly callbacks: readonly TrainingCallback[];
  readonly verbose: 0 | 1 | 2;
  readonly doValidation: boolean;
  readonly cacheFeatures: boolean;
  readonly budgetBytes: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly workers: number | undefined;
  /** Loss weight per class index, or undefined when every class weighs 1. */
  readonly classWeights: readonly number[] | undefined;
}

/** Resolves `classWeight` to one weight per class index. */
function resolveClassWeight(call: string, data: ImageBatchSource, value: unknown): readonly number[] | undefined {
  if (value === undefined) return undefined;
  const expected = 'an object from class index or label name to a positive weight';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(call, 'classWeight', expected, value);
  const weights = data.labelNames.map(() => 1);
  for (const [key, weight] of Object.entries(value as Record<string, unknown>)) {
    const byName = data.labelNames.indexOf(key);
    const index = byName >= 0 ? byName : /^\d+$/.test(key) ? Number(key) : -1;
    if (index < 0 || index >= weights.length) {
      throw new InvalidArgumentError(call, 'classWeight', `keys that are class indices 0..${weights.length - 1} or label names ${JSON.stringify(data.labelNames)}`, key);
    }
    checkPositiveNumber(call, `classWeight[${JSON.stringify(key)}]`, weight);
    weights[index] = weight;
  }
  return weights;
}

/** Validates FitOptions shared by fit and fineTune (everything but optimizer and caching). */
export function resolveCommon(call: string, data: ImageBatchSource, options: FitOptions): Omit<ResolvedFit, 'cacheFeatures'> {
  const epochs = options.epochs ?? 10;
  checkPositiveInteger(call, 'epochs', epochs);
  if (data.numExamples.train === 0) throw new DatasetError(`${call}: the training split is empty; nothing to train on`);
  const verbose = options.verbose ?? 0;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new InvalidArgumentError(call, 'verbose', '0, 1 or 2', verbose);
  const raw = options.callbacks ?? [];
  const list = (Array.isArray(raw) ? raw : [raw]) as TrainingCallback[];
  list.forEach((cb, i) => {
    if (typeof cb !== 'object' || cb === null) throw new InvalidArgumentError(call, `callbacks[${i}]`, 'a callback object', cb);
  });
  const budgetBytes = options.cacheBudgetBytes ?? 512 * 2 ** 20;
  checkNonNegativeInteger(call, 'cacheBudgetBytes', budgetBytes);
  const seed = options.seed ?? 42;
  checkSeed(call, seed);
  const workers = options.workers;
  if (workers !== undefined) checkWorkers(call, workers);
  const shuffle = options.shuffle ?? true;
  if (typeof shuffle !== 'boolean') throw new InvalidArgumentError(call, 'shuffle', 'a boolean', shuffle);
  if (options.learningRate !== undefined) checkPositiveNumber(call, 'learningRate', options.learningRate);
  const validation = options.validation ?? data.numExamples.validation > 0;
  if (typeof validation !== 'boolean') throw new InvalidArgumentError(call, 'validation', 'a boolean', validation);
  if (validation && data.numExamples.validation === 0) {
    throw new InvalidArgumentError(call, 'validation', 'false or omitted when the data has no validation examples', true);
  }
  const stopOnNaN = options.stopOnNaN ?? true;
  if (typeof stopOnNaN !== 'boolean') throw new InvalidArgumentError(call, 'stopOnNaN', 'a boolean', stopOnNaN);
  const classWeights = resolveClassWeight(call, data, options.classWeight);
  const callbacks: TrainingCallback[] = [
    ...(stopOnNaN ? [nanGuard(call)] : []),
    ...list,
    ...(verbose === 0 ? [] : [progressBar({ verbose, ...(options.progressStream ? { stream: options.progressStream } : {}) })]),
  ];
  return { epochs, callbacks, verbose, doValidation: validation, budgetBytes, shuffle, seed, workers, classWeights };
}

/** Builds the plan for the resolved options and runs it. */
export async function trainWith(
  call: string,
  model: tfl.LayersModel,
  data: ImageBatchSource,
  resolved: ResolvedFit,
): Promise<FitHistory> {
  const view = describeWrapper(model);
  let plan: TrainingPlan;
  if (resolved.cacheFeatures && view) {
    plan = await cachedPlan(call, view, data, {
      budgetBytes: resolved.budgetBytes,
      shuffle: resolved.shuffle,
      seed: resolved.seed,
      workers: resolved.workers,
      doValidation: resolved.doValidation,
      onProgress: (progress) => {
        for (const cb of resolved.callbacks) cb.onExtractionProgress?.(progress);
      },
    });
  } else {
    plan = naivePlan(call, model, view, data, resolved);
  }
  try {
    return await runTraining(model, data, plan, { call, ...resolved });
  } finally {
    await plan.close();
  }
}

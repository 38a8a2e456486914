/**
 * `fit`: trains a classifier on an {@link ImageBatchSource}. For a model made by `Wrapper` whose base is frozen, and
 * data without random augmentation, the base runs once per image and the head trains on cached features.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { DatasetError, InvalidArgumentError, TrainingError } from '../errors';
import { checkNonNegativeInteger, checkOptionKeys, checkOptionsObject, checkPositiveInteger, checkPositiveNumber, checkSeed } from '../internal/validate';
import { getWrapperParts } from '../models/parts';
import { nanGuard, type TrainingCallback } from './callbacks';
import { checkModelFitsData, ensureCompiled, resolveOptimizer, type OptimizerName } from './compile';
import { progressBar, type ProgressStream } from './progress-bar';
import { checkModel, checkSource } from './checks';
import { cachedPlan, naivePlan, runTraining, type TrainingPlan } from './training-loop';

/** Options of {@link fit}. */
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
   * omitted, a compiled model keeps its optimizer and an uncompiled one gets `'adam'`. See {@link OPTIMIZER_PRESETS}.
   * @defaultValue the model's optimizer, else `'adam'`
   */
  readonly optimizer?: OptimizerName | tf.Optimizer;
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
   * Reshuffle the cached rows every epoch (cached path). The naive path takes batches in the data's own order.
   * @defaultValue `true`
   */
  readonly shuffle?: boolean;
  /**
   * Seed of the per-epoch shuffle of cached rows.
   * @defaultValue `0`
   */
  readonly seed?: number;
  /**
   * Worker threads for feature extraction (Node, cpu/wasm); 0 runs on this thread. Results are identical either
   * way. By default every core (at most 4) is used when the base is a frozen layers model and there are at least 256
   * images to extract, in Node on the cpu or wasm backend; otherwise this thread.
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
export const FIT_OPTION_KEYS: Readonly<Record<keyof FitOptions, true>> = { epochs: true, callbacks: true, verbose: true, progressStream: true, optimizer: true, learningRate: true, cacheFeatures: true, cacheBudgetBytes: true, shuffle: true, seed: true, workers: true, validation: true, stopOnNaN: true };

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
  if (training.has(model) || (model as unknown as { isTraining?: boolean }).isTraining === true) {
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
  const seed = options.seed ?? 0;
  checkSeed(call, seed);
  const workers = options.workers;
  if (workers !== undefined) checkNonNegativeInteger(call, 'workers', workers);
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
  const callbacks: TrainingCallback[] = [
    ...(stopOnNaN ? [nanGuard(call)] : []),
    ...list,
    ...(verbose === 0 ? [] : [progressBar({ verbose, ...(options.progressStream ? { stream: options.progressStream } : {}) })]),
  ];
  return { epochs, callbacks, verbose, doValidation: validation, budgetBytes, shuffle, seed, workers };
}

/** Builds the plan for the resolved options and runs it. */
export async function trainWith(
  call: string,
  model: tfl.LayersModel,
  data: ImageBatchSource,
  resolved: ResolvedFit,
): Promise<tfl.History> {
  const parts = getWrapperParts(model);
  let plan: TrainingPlan;
  if (resolved.cacheFeatures && parts) {
    plan = await cachedPlan(parts, data, {
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
    plan = naivePlan(model, data, resolved.doValidation);
  }
  try {
    return await runTraining(model, data, plan, { call, ...resolved });
  } finally {
    await plan.close();
  }
}

/**
 * Trains `model` on `data`'s training split and validates after each epoch, like `model.fitDataset`, returning a
 * tfjs `History` (`history.history.loss`, `acc`, `val_loss`, `val_acc`).
 *
 * An uncompiled model is compiled with Adam (1e-3) and binary or categorical cross-entropy matching its sigmoid or
 * softmax output. For a `Wrapper` model with a frozen base and unaugmented data, features are extracted once per image
 * (train and validation) and the head trains on them every epoch (`cacheFeatures`); the trained weights end up in
 * `model`. The optimizer `fit` creates belongs to the model (`model.dispose()` frees it); every other tensor `fit`
 * creates is freed before it returns. Layers' `trainable` flags are as before afterwards. When the trainable weights
 * changed since the model's optimizer last trained (after `unfreeze`, or a head-only `fit` after `fineTune`), an
 * optimizer the model owns is replaced by a fresh one with the same settings, since tfjs optimizers keep their state
 * by position in the weight list.
 *
 * @param model - the classifier, e.g. from `Wrapper(base, { numClasses })`.
 * @param data - the dataset, e.g. a `DataLoader`.
 * @param options - see {@link FitOptions}.
 * @returns the training history.
 * @throws {@link InvalidArgumentError} for a bad option.
 * @throws {@link IncompatibleModelError} when the model's output does not match the data's classes.
 * @throws {@link TrainingError} when the model is already training, the loss becomes NaN, cached features cannot be
 *   spilled to a temporary file (the file-system error is the cause), or an optimizer the caller passed in earlier
 *   would now train other weights.
 * @throws {@link UnsupportedError} when cached features exceed the budget in a browser.
 * @throws {@link DatasetError} when the training split is empty or yields no batch (all its images failed to decode).
 * @example
 * ```ts
 * const [h, w] = data.imageSize;
 * const model = Wrapper(base, { numClasses: data.labelNames.length, inputShape: [h, w, 3] });
 * const history = await fit(model, data, { epochs: 10, verbose: 1 });
 * console.log(history.history.val_acc);
 * ```
 */
export async function fit(model: tfl.LayersModel, data: ImageBatchSource, options: FitOptions = {}): Promise<tfl.History> {
  const call = 'fit';
  checkModel(call, model);
  checkSource(call, data);
  checkOptionsObject(call, options);
  checkOptionKeys<FitOptions>(call, options, FIT_OPTION_KEYS);
  const common = resolveCommon(call, data, options);
  const parts = getWrapperParts(model);
  const cachable = parts !== undefined && parts.isBaseFrozen() && !data.augmented;
  const cacheFeatures = options.cacheFeatures ?? cachable;
  if (typeof cacheFeatures !== 'boolean') throw new InvalidArgumentError(call, 'cacheFeatures', 'a boolean', cacheFeatures);
  if (cacheFeatures && !cachable) {
    const why = !parts
      ? 'the model was not made by Wrapper'
      : !parts.isBaseFrozen()
        ? 'the base has trainable layers'
        : 'data.augmented is true (augmented images differ every epoch)';
    throw new InvalidArgumentError(call, 'cacheFeatures', `false or omitted because ${why}`, true);
  }
  checkModelFitsData(call, model, data);
  const optimizer = resolveOptimizer(call, options.optimizer, options.learningRate, 'adam');
  return withTrainingGuard(call, model, async () => {
    ensureCompiled(call, model, data, optimizer, !(options.optimizer !== undefined && typeof options.optimizer !== 'string'));
    return trainWith(call, model, data, { ...common, cacheFeatures });
  });
}

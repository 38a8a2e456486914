/**
 * `compareBases`: the tutorial's last step as one call. Each base is wrapped under a new head, measured before
 * training, trained, and evaluated on the test split, so the bases can be compared on the same data.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { InvalidArgumentError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { isBaseSpec, type BaseSpec, type GraphModelLike } from '../models/base-spec';
import { checkNotDisposed } from '../models/wrapper-view';
import type { OnnxBaseModel } from '../runtime/onnx/base-model';
import type { BaseRuntimeInfo, EngineChoice } from '../runtime/types';
import { Wrapper, type WrapperOptions } from '../models/wrapper';
import { checkSource, checkSteps } from './checks';
import { evaluate, evaluateBaseline, type BaselineResult, type EvaluationResult } from './evaluate';
import type { FitHistory } from './callbacks';
import { fit } from './fit';
import { FIT_OPTION_KEYS, type FitOptions } from './training';

/**
 * One base to compare.
 *
 * @category training
 */
export interface BaseEntry {
  /** Name shown in results and reports, e.g. `'MobileNetV2'`. */
  readonly name: string;
  /** The base: a LayersModel, a GraphModel or a spec from `loadBase`. It stays the caller's. */
  readonly base: tfl.LayersModel | GraphModelLike | OnnxBaseModel | BaseSpec;
  /** Head options for this base; `numClasses`, `labelMode` and `inputShape` default to the data's. */
  readonly wrapperOptions?: WrapperOptions;
  /**
   * The engine this base runs on (`WrapperOptions.engine`): `'auto'`, `'tfjs'` or `'onnxruntime'`.
   * @defaultValue `wrapperOptions.engine`, else 'auto'
   */
  readonly engine?: EngineChoice;
  /**
   * ONNX Runtime execution providers for this base (`WrapperOptions.executionProviders`).
   * @defaultValue `wrapperOptions.executionProviders`, else ['cpu']
   */
  readonly executionProviders?: readonly unknown[];
  /**
   * This base's own view of the dataset, for a base that needs other preprocessing or another input size (VGG16's
   * `'caffe'` next to InceptionV3's `'tf'`): load the same folder with the same seed and weights so the splits are
   * the same. Its label names must equal the shared data's.
   * @defaultValue the `data` passed to {@link compareBases}
   */
  readonly data?: ImageBatchSource;
}

/**
 * Options of {@link compareBases}: every {@link FitOptions} field applies to each base's training.
 *
 * @category training
 */
export interface CompareBasesOptions extends FitOptions {
  /**
   * Validation batches for the baseline.
   * @defaultValue the whole validation split
   */
  readonly baselineSteps?: number;
  /**
   * Test batches for the final evaluation.
   * @defaultValue the whole test split
   */
  readonly evaluateSteps?: number;
  /**
   * Keep the wrapped models and return them in `model`; the caller then disposes them (`model.dispose()` frees the
   * head, the optimizer and a rebuilt base, never the base passed in). When false, each wrapped model is disposed after
   * its evaluation.
   * @defaultValue `false`
   */
  readonly keepModels?: boolean;
  /**
   * Called when a base starts, with its index and name (for progress output).
   * @defaultValue none
   */
  readonly onBaseBegin?: (index: number, name: string) => void;
}

const COMPARE_KEYS: Readonly<Record<keyof CompareBasesOptions, true>> = { ...FIT_OPTION_KEYS, baselineSteps: true, evaluateSteps: true, keepModels: true, onBaseBegin: true };

/**
 * What {@link compareBases} measured for one base.
 *
 * @category training
 */
export interface BaseComparison {
  /** The entry's name. */
  readonly name: string;
  /** Validation loss and accuracy before training. */
  readonly baseline: BaselineResult;
  /** Training history (`loss`, `acc`, `val_loss`, `val_acc` per epoch). */
  readonly history: FitHistory;
  /** Test-split metrics after training. */
  readonly evaluation: EvaluationResult;
  /** Wall time of `fit` in seconds. */
  readonly trainSeconds: number;
  /** Wall time of wrap + baseline + fit + evaluate in seconds. */
  readonly totalSeconds: number;
  /** What ran the frozen base (the engine, and why `'auto'` fell back, if it did). */
  readonly runtime: BaseRuntimeInfo | undefined;
  /** The trained model when `keepModels` is true; undefined otherwise. */
  readonly model?: tfl.LayersModel;
}

function now(): number {
  return performance.now();
}

/**
 * Compares bases on the same data: for each, wraps it under a new head (`Wrapper`), measures the validation
 * baseline, trains with {@link fit}, and evaluates on the test split, timing each step.
 *
 * Ownership: the bases belong to the caller and are never disposed. The wrapped models are freed after their
 * evaluation unless `keepModels` is set, in which case the caller owns them.
 *
 * @param entries - the bases, each with a name and optional head options.
 * @param data - the dataset (its image size must suit every base without its own `data`).
 * @param options - fit options for every base plus {@link CompareBasesOptions}.
 * @returns one {@link BaseComparison} per entry, in order.
 * @throws {@link InvalidArgumentError} for an empty or malformed list, duplicate names or a bad option (an optimizer
 *   instance with several entries).
 * @throws whatever {@link Wrapper}, {@link fit} or {@link evaluate} throw for a base.
 * @example
 * ```ts
 * const table = await compareBases(
 *   [{ name: 'MobileNetV2', base: mobilenet }, { name: 'ResNet50', base: resnet }],
 *   data,
 *   { epochs: 10 },
 * );
 * for (const row of table) console.log(row.name, row.baseline.accuracy, row.evaluation.accuracy, row.trainSeconds);
 * ```
 *
 * @category training
 */
export async function compareBases(
  entries: readonly BaseEntry[],
  data: ImageBatchSource,
  options: CompareBasesOptions = {},
): Promise<BaseComparison[]> {
  const call = 'compareBases';
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new InvalidArgumentError(call, 'entries', 'a non-empty array of { name, base }', entries);
  }
  checkSource(call, data);
  const names = new Set<string>();
  entries.forEach((e, i) => {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || e.name.length === 0 || !e.base) {
      throw new InvalidArgumentError(call, `entries[${i}]`, 'an object { name: string, base }', e);
    }
    if (names.has(e.name)) throw new InvalidArgumentError(call, `entries[${i}].name`, 'unique among the entries', e.name);
    checkOptionKeys<BaseEntry>(call, e, { name: true, base: true, wrapperOptions: true, engine: true, executionProviders: true, data: true });
    for (const key of ['engine', 'executionProviders'] as const) {
      if (e[key] !== undefined && e.wrapperOptions?.[key] !== undefined) {
        throw new InvalidArgumentError(call, `entries[${i}].${key}`, `given once (it is also in wrapperOptions.${key})`, e[key]);
      }
    }
    names.add(e.name);
    const model = isBaseSpec(e.base) ? e.base.model : e.base;
    if (model instanceof tfl.LayersModel) checkNotDisposed(call, model);
    if (e.data !== undefined) {
      checkSource(call, e.data);
      if (e.data.labelNames.join('\u0000') !== data.labelNames.join('\u0000')) {
        throw new InvalidArgumentError(call, `entries[${i}].data`, `a dataset with the labels ${JSON.stringify(data.labelNames)}`, e.data.labelNames);
      }
    }
  });
  checkOptionsObject(call, options);
  checkOptionKeys<CompareBasesOptions>(call, options, COMPARE_KEYS);
  checkSteps(call, options.baselineSteps);
  if (options.evaluateSteps !== undefined) checkSteps(call, options.evaluateSteps);
  const keepModels = options.keepModels ?? false;
  if (typeof keepModels !== 'boolean') throw new InvalidArgumentError(call, 'keepModels', 'a boolean', keepModels);
  if (entries.length > 1 && typeof options.optimizer === 'object' && options.optimizer !== null) {
    throw new InvalidArgumentError(
      call,
      'optimizer',
      "'adam', 'tutorial' or omitted when comparing several bases (one optimizer instance would carry a head's state into the next)",
      options.optimizer,
    );
  }
  if (options.onBaseBegin !== undefined && typeof options.onBaseBegin !== 'function') {
    throw new InvalidArgumentError(call, 'onBaseBegin', 'a function', options.onBaseBegin);
  }
  const { baselineSteps, evaluateSteps, keepModels: _k, onBaseBegin, ...fitOptions } = options;
  const results: BaseComparison[] = [];
  try {
    for (const [index, entry] of entries.entries()) results.push(await compareOne(index, entry));
  } catch (err) {
    // The caller never receives the models kept for earlier entries: free them with the failure.
    for (const row of results) row.model?.dispose();
    throw err;
  }
  return results;

  async function compareOne(index: number, entry: BaseEntry): Promise<BaseComparison> {
    onBaseBegin?.(index, entry.name);
    const start = now();
    const entryData = entry.data ?? data;
    const [h, w] = entryData.imageSize;
    const model = Wrapper(entry.base, {
      numClasses: entryData.labelNames.length,
      labelMode: entryData.labelMode,
      inputShape: [h, w, 3],
      ...entry.wrapperOptions,
      ...(entry.engine !== undefined ? { engine: entry.engine } : {}),
      ...(entry.executionProviders !== undefined ? { executionProviders: entry.executionProviders } : {}),
    });
    let kept = false;
    try {
      const baseline = await evaluateBaseline(model, entryData, baselineSteps === undefined ? {} : { steps: baselineSteps });
      const fitStart = now();
      const history = await fit(model, entryData, fitOptions);
      const trainSeconds = (now() - fitStart) / 1000;
      const evaluation = await evaluate(model, entryData, evaluateSteps === undefined ? {} : { steps: evaluateSteps });
      const row: BaseComparison = {
        name: entry.name,
        baseline,
        history,
        evaluation,
        trainSeconds,
        totalSeconds: (now() - start) / 1000,
        runtime: evaluation.runtime,
      };
      kept = keepModels;
      return keepModels ? { ...row, model } : row;
    } finally {
      // Wrapper's dispose frees the head, a rebuilt base and the optimizer fit created; the base stays the caller's.
      if (!kept) model.dispose();
    }
  }
}

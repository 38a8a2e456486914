/**
 * `evaluateBaseline` and `evaluate`: run a classifier over a split in inference mode and compute loss, accuracy and
 * the classification metrics of {@link ./metrics}.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource, LabelMode, SplitName } from '../data/types';
import { DatasetError } from '../errors';
import { checkOptionKeys, checkOptionsObject, checkWorkers } from '../internal/validate';
import { openBaseRuntime } from '../models/runtime-choice';
import { checkNotDisposed, describeWrapper } from '../models/wrapper-view';
import type { BaseRuntimeInfo, FrozenRuntime } from '../runtime/types';
import { forEachExtracted } from './extract-stream';
import { batchShape, checkedBatches, checkModel, checkSource, checkSplit, checkSteps } from './checks';
import { checkModelFitsData, lossFunction } from './compile';
import { addToScore, emptyScore, meanLoss, type Score } from './scoring';
import {
  accuracyOf,
  confusionMatrixOf,
  macroAverages,
  perClassMetrics,
  rocAucOf,
  type ClassMetrics,
} from './metrics';

/**
 * Options of {@link evaluateBaseline}.
 *
 * @category evaluation
 */
export interface EvaluateBaselineOptions {
  /**
   * Number of validation batches to use.
   * @defaultValue the whole validation split
   */
  readonly steps?: number;
}

/**
 * Loss and accuracy of an untrained (or any) model on the validation split.
 *
 * @category evaluation
 */
export interface BaselineResult {
  /** The split evaluated: always `'validation'`. */
  readonly split: 'validation';
  /** Number of examples evaluated. */
  readonly exampleCount: number;
  /** Mean loss per example. */
  readonly loss: number;
  /** Fraction of examples classified correctly. */
  readonly accuracy: number;
  /** What ran the frozen base; undefined for a model that is not Wrapper-shaped (it runs as a whole). */
  readonly runtime: BaseRuntimeInfo | undefined;
}

/**
 * Options of {@link evaluate}.
 *
 * @category evaluation
 */
export interface EvaluateOptions {
  /**
   * Number of batches to use.
   * @defaultValue the whole split
   */
  readonly steps?: number;
  /**
   * Which split to evaluate.
   * @defaultValue `'test'`
   */
  readonly split?: SplitName;
  /**
   * Worker threads for the frozen base (Node, cpu/wasm); 0 runs on this thread. Results are identical either way.
   * @defaultValue every core (at most 4) for 256+ images in Node on cpu/wasm with a frozen layers base, else `0`
   */
  readonly workers?: number;
}

const EVALUATE_KEYS: Readonly<Record<keyof EvaluateOptions, true>> = { steps: true, split: true, workers: true };
const BASELINE_KEYS: Readonly<Record<keyof EvaluateBaselineOptions, true>> = { steps: true };

/**
 * Unweighted means over classes. A class with no example in the evaluated split that was never predicted is left out
 * of the means (its per-class entry is still listed, with zeros).
 *
 * @category evaluation
 */
export interface MacroAverages {
  /** Mean per-class precision. */
  readonly precision: number;
  /** Mean per-class recall. */
  readonly recall: number;
  /** Mean per-class F1. */
  readonly f1: number;
}

/**
 * Metrics of a classifier on one split. Two-class data also gets `precision`, `recall`, `f1` (of the positive class,
 * `labelNames[1]`) and `rocAuc`; every result has per-class metrics, macro averages and the confusion matrix.
 *
 * @category evaluation
 */
export interface EvaluationResult {
  /** The split evaluated. */
  readonly split: SplitName;
  /** Number of examples evaluated. */
  readonly exampleCount: number;
  /** What ran the frozen base; undefined for a model that is not Wrapper-shaped (it runs as a whole). */
  readonly runtime: BaseRuntimeInfo | undefined;
  /** Mean loss per example. */
  readonly loss: number;
  /** Fraction classified correctly (threshold 0.5 for one sigmoid unit, arg-max otherwise). */
  readonly accuracy: number;
  /** Class names, index = class id. */
  readonly labelNames: readonly string[];
  /** The data's label encoding. */
  readonly labelMode: LabelMode;
  /** `confusionMatrix[actual][predicted]`: counts of examples. */
  readonly confusionMatrix: readonly (readonly number[])[];
  /** Precision, recall, F1 and support per class, in class order. */
  readonly perClass: readonly ClassMetrics[];
  /** Macro averages of the per-class metrics. */
  readonly macro: MacroAverages;
  /** Binary data only: precision of the positive class (`labelNames[1]`). */
  readonly precision?: number;
  /** Binary data only: recall of the positive class. */
  readonly recall?: number;
  /** Binary data only: F1 of the positive class. */
  readonly f1?: number;
  /**
   * Binary data only: area under the ROC curve of the positive-class probability; NaN when a class is absent or the
   * model outputs NaN.
   */
  readonly rocAuc?: number;
}

/** The checks evaluate and evaluateBaseline share: model, data, the options object, its keys and `steps`. */
function checkArguments<T extends EvaluateBaselineOptions>(
  call: string,
  model: tfl.LayersModel,
  data: ImageBatchSource,
  options: T,
  keys: Readonly<Record<keyof T, true>>,
): void {
  checkModel(call, model);
  checkSource(call, data);
  checkOptionsObject(call, options);
  checkOptionKeys<T>(call, options, keys);
  checkSteps(call, options.steps);
  checkNotDisposed(call, model);
}

/**
 * Runs the model over `steps` batches of a split and scores them: a Wrapper-shaped model through its frozen-base
 * runtime and then its head, any other model as a whole.
 */
async function collect(
  call: string,
  model: tfl.LayersModel,
  data: ImageBatchSource,
  split: SplitName,
  steps: number | undefined,
  workers: number | undefined,
): Promise<{ score: Score; runtime: BaseRuntimeInfo | undefined }> {
  const view = describeWrapper(model);
  const lossFn = lossFunction(model, data);
  const score = emptyScore();
  const ds = split === 'train' ? data.trainBatches : split === 'validation' ? data.validationBatches : data.testBatches;
  let runtime: FrozenRuntime | undefined;
  try {
    const it = checkedBatches(await ds.iterator(), batchShape(call, split, data));
    if (view) {
      const images = steps === undefined ? data.numExamples[split] : Math.min(data.numExamples[split], steps * data.batchSize);
      runtime = await openBaseRuntime(view, { call, images, workers });
      await forEachExtracted(runtime, it, steps, async ({ ys }, feats) => {
        const pred = tf.tidy(() => view.runHead(feats, false));
        try {
          await addToScore(score, ys, pred, lossFn);
        } finally {
          pred.dispose();
        }
      });
    } else {
      for (let n = 0; steps === undefined || n < steps; n++) {
        const next = await it.next();
        if (next.done) break;
        const { xs, ys } = next.value;
        let pred: tf.Tensor | undefined;
        try {
          pred = tf.tidy(() => model.apply(xs, { training: false }) as tf.Tensor);
          await addToScore(score, ys, pred, lossFn);
        } finally {
          tf.dispose([xs, ys]);
          pred?.dispose();
        }
      }
    }
  } finally {
    await runtime?.dispose();
  }
  if (score.actual.length === 0) {
    throw new DatasetError(`${call}: the ${split} split has no examples to evaluate`);
  }
  return { score, runtime: runtime?.info };
}

/**
 * Loss and accuracy on the validation split before training: the number to beat (near chance for a new head).
 *
 * @param model - the classifier.
 * @param data - the dataset.
 * @param options - see {@link EvaluateBaselineOptions}.
 * @returns loss, accuracy and the number of examples.
 * @throws {@link InvalidArgumentError} for a bad option.
 * @throws {@link IncompatibleModelError} when the model's output does not match the data's classes.
 * @throws {@link DatasetError} when the validation split is empty.
 * @example
 * ```ts
 * const before = await evaluateBaseline(model, data, { steps: 20 });
 * console.log(before.accuracy); // about 0.5 for two classes
 * ```
 *
 * @category evaluation
 */
export async function evaluateBaseline(
  model: tfl.LayersModel,
  data: ImageBatchSource,
  options: EvaluateBaselineOptions = {},
): Promise<BaselineResult> {
  const call = 'evaluateBaseline';
  checkArguments(call, model, data, options, BASELINE_KEYS);
  checkModelFitsData(call, model, data);
  const { score, runtime } = await collect(call, model, data, 'validation', options.steps, undefined);
  return {
    split: 'validation',
    exampleCount: score.actual.length,
    loss: meanLoss(score),
    accuracy: accuracyOf(score.actual, score.predicted),
    runtime,
  };
}

/**
 * Evaluates a classifier on a split (the test split by default): loss, accuracy, per-class precision / recall / F1,
 * macro averages, the confusion matrix and, for two classes, precision, recall, F1 and ROC AUC of the positive class.
 *
 * @param model - the classifier.
 * @param data - the dataset.
 * @param options - see {@link EvaluateOptions}.
 * @returns the metrics.
 * @throws {@link InvalidArgumentError} for a bad option (e.g. `steps < 1`, an unknown split).
 * @throws {@link IncompatibleModelError} when the model's output does not match the data's classes.
 * @throws {@link DatasetError} when the split is empty.
 * @example
 * ```ts
 * const result = await evaluate(model, data);
 * console.log(result.accuracy, result.confusionMatrix);
 * ```
 *
 * @category evaluation
 */
export async function evaluate(
  model: tfl.LayersModel,
  data: ImageBatchSource,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const call = 'evaluate';
  checkArguments(call, model, data, options, EVALUATE_KEYS);
  const split = options.split ?? 'test';
  checkSplit(call, split);
  const workers = options.workers;
  if (workers !== undefined) checkWorkers(call, workers);
  checkModelFitsData(call, model, data);
  const { score: c, runtime } = await collect(call, model, data, split, options.steps, workers);
  const k = data.labelNames.length;
  const confusionMatrix = confusionMatrixOf(c.actual, c.predicted, k);
  const perClass = perClassMetrics(confusionMatrix, data.labelNames);
  const base: EvaluationResult = {
    split,
    exampleCount: c.actual.length,
    runtime,
    loss: meanLoss(c),
    accuracy: accuracyOf(c.actual, c.predicted),
    labelNames: data.labelNames.slice(),
    labelMode: data.labelMode,
    confusionMatrix,
    perClass,
    macro: macroAverages(perClass, confusionMatrix),
  };
  if (data.labelMode !== 'binary') return base;
  const positive = perClass[1] as ClassMetrics;
  return {
    ...base,
    precision: positive.precision,
    recall: positive.recall,
    f1: positive.f1,
    rocAuc: rocAucOf(c.actual, c.scores),
  };
}

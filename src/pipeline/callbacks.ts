/**
 * Training callbacks. The shape is tfjs's `CustomCallbackArgs` (onTrainBegin / onEpochBegin / onBatchBegin /
 * onBatchEnd / onEpochEnd / onTrainEnd with numeric logs), so `tfvis.show.fitCallbacks(...)` and tfjs's own callback
 * objects (`tf.callbacks.earlyStopping()`) work with tl-kit's `fit` unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, TrainingError } from '../errors';
import { checkNonNegativeInteger, checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import type { BaseRuntimeInfo } from '../runtime/types';

/**
 * Numeric training logs, keyed like tfjs: `loss`, `acc`, `val_loss`, `val_acc`.
 *
 * @category training
 */
export type TrainingLogs = Record<string, number>;

/**
 * Parameters a callback receives before training starts (tfjs's `params`).
 *
 * @category training
 */
export interface TrainingParams {
  /** Number of epochs requested. */
  readonly epochs: number;
  /** Batches per epoch. */
  readonly steps: number;
  /** Examples per batch. */
  readonly batchSize: number;
  /** Training examples per epoch. */
  readonly samples: number;
  /** Verbosity passed to `fit`. */
  readonly verbose: number;
  /** Whether validation runs after each epoch. */
  readonly doValidation: boolean;
  /** Names of the logged values. */
  readonly metrics: readonly string[];
  /** `'cached'` when the head trains on cached base features, `'naive'` when every step runs the full model. */
  readonly path: 'cached' | 'naive';
  /** What ran the frozen base for the cached features (cached path only). */
  readonly runtime?: BaseRuntimeInfo;
}

/**
 * A training callback: any subset of the tfjs hooks. Objects built by `tf.callbacks.*` (which also have `setModel` and
 * `setParams`) are accepted too. A callback stops training by setting `model.stopTraining = true`.
 *
 * @category training
 */
export interface TrainingCallback {
  /** Receives the model being trained before `onTrainBegin`. */
  setModel?(model: tfl.LayersModel): void;
  /** Receives the training parameters before `onTrainBegin`. */
  setParams?(params: TrainingParams): void;
  /** Called once before the first epoch. */
  onTrainBegin?(logs?: TrainingLogs): void | Promise<void>;
  /** Called once after the last epoch, also when training stopped early. */
  onTrainEnd?(logs?: TrainingLogs): void | Promise<void>;
  /** Called at the start of each epoch (0-based). */
  onEpochBegin?(epoch: number, logs?: TrainingLogs): void | Promise<void>;
  /** Called after each epoch with its mean training values and the validation values. */
  onEpochEnd?(epoch: number, logs?: TrainingLogs): void | Promise<void>;
  /** Called before each batch (0-based within the epoch). */
  onBatchBegin?(batch: number, logs?: TrainingLogs): void | Promise<void>;
  /** Called after each batch with `size`, `loss` and `acc` of that batch. */
  onBatchEnd?(batch: number, logs?: TrainingLogs): void | Promise<void>;
  /**
   * tl-kit only: progress of the one-time feature extraction that precedes the epochs on the cached path, called
   * after each extracted batch.
   */
  onExtractionProgress?(progress: ExtractionProgress): void;
}

/**
 * What `fit` and `fineTune` return: tfjs's `History` (`history.history.loss`, `acc`, `val_loss`, `val_acc`, one
 * value per epoch; `epoch`; `params`) plus what ran the frozen base.
 *
 * @example
 * ```ts
 * const history = await fit(model, data, { epochs: 10 });
 * console.log(history.history.val_acc, history.runtime?.summary);
 * ```
 *
 * @category training
 */
export interface FitHistory extends tfl.History {
  /** What ran the frozen base for the cached features; undefined when every step ran the whole model on images. */
  readonly runtime: BaseRuntimeInfo | undefined;
}

/**
 * Progress of the feature extraction on `fit`'s cached path.
 *
 * @category training
 */
export interface ExtractionProgress {
  /** The split being extracted. */
  readonly split: 'train' | 'validation';
  /** Images extracted so far in this split. */
  readonly done: number;
  /** Images in this split. */
  readonly total: number;
  /** What runs the frozen base (the engine, and why `'auto'` fell back, if it did). */
  readonly runtime: BaseRuntimeInfo;
}

/** Runs a list of callbacks in order; internal to the training loop. */
export class CallbackRunner {
  private readonly list: readonly TrainingCallback[];

  constructor(list: readonly TrainingCallback[]) {
    this.list = list;
  }

  /** Hands the model and parameters to every callback that wants them. */
  setup(model: tfl.LayersModel, params: TrainingParams): void {
    for (const cb of this.list) {
      cb.setModel?.(model);
      // tfjs's BaseCallback reads params as a plain record.
      cb.setParams?.({ ...params });
    }
  }

  async trainBegin(logs: TrainingLogs): Promise<void> {
    for (const cb of this.list) await cb.onTrainBegin?.(logs);
  }
  async trainEnd(logs: TrainingLogs): Promise<void> {
    for (const cb of this.list) await cb.onTrainEnd?.(logs);
  }
  async epochBegin(epoch: number, logs: TrainingLogs): Promise<void> {
    for (const cb of this.list) await cb.onEpochBegin?.(epoch, logs);
  }
  async epochEnd(epoch: number, logs: TrainingLogs): Promise<void> {
    for (const cb of this.list) await cb.onEpochEnd?.(epoch, { ...logs });
  }
  async batchBegin(batch: number, logs: TrainingLogs): Promise<void> {
    for (const cb of this.list) await cb.onBatchBegin?.(batch, logs);
  }
  async batchEnd(batch: number, logs: TrainingLogs): Promise<void> {
    for (const cb of this.list) await cb.onBatchEnd?.(batch, { ...logs });
  }
}

/**
 * The callback behind `stopOnNaN`: throws {@link TrainingError} as soon as a batch's loss is NaN or infinite, naming
 * `call`, the epoch and the batch. Internal.
 */
export function nanGuard(call: string): TrainingCallback {
  let epoch = 0;
  return {
    onEpochBegin(e: number) {
      epoch = e;
    },
    onBatchEnd(batch: number, logs?: TrainingLogs) {
      const loss = logs?.loss;
      if (loss !== undefined && !Number.isFinite(loss)) {
        throw new TrainingError(
          `${call}: the loss became ${loss} at epoch ${epoch + 1}, batch ${batch + 1}; ` +
            'lower the learning rate or check the data for invalid values',
        );
      }
    },
  };
}

/**
 * Options of {@link earlyStopping}.
 *
 * @category training
 */
export interface EarlyStoppingOptions {
  /**
   * The logged value to watch.
   * @defaultValue `'val_loss'`
   */
  readonly monitor?: string;
  /**
   * Epochs without improvement after which training stops.
   * @defaultValue `2`
   */
  readonly patience?: number;
  /**
   * Smallest change that counts as an improvement.
   * @defaultValue `0`
   */
  readonly minDelta?: number;
  /**
   * `'min'` when lower is better, `'max'` when higher is better; `'auto'` picks `'max'` for names containing `acc`.
   * @defaultValue `'auto'`
   */
  readonly mode?: 'auto' | 'min' | 'max';
  /**
   * Put back the weights of the best epoch when training ends (also when it ran all epochs).
   * @defaultValue `true`
   */
  readonly restoreBestWeights?: boolean;
}

/**
 * Stops training when a logged value stops improving and, by default, restores the weights of the best epoch. The
 * callback keeps a copy of the best weights while training and frees it in `onTrainEnd`.
 *
 * @param options - see {@link EarlyStoppingOptions}.
 * @returns the callback, for `fit`'s `callbacks`.
 * @throws {@link InvalidArgumentError} for a bad option.
 * @throws {@link TrainingError} when the monitored value is not in the epoch logs.
 * @example
 * ```ts
 * await fit(model, data, { epochs: 50, callbacks: [earlyStopping({ monitor: 'val_acc', patience: 3 })] });
 * ```
 *
 * @category training
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): TrainingCallback {
  const call = 'earlyStopping';
  checkOptionsObject(call, options);
  checkOptionKeys<EarlyStoppingOptions>(call, options, { monitor: true, patience: true, minDelta: true, mode: true, restoreBestWeights: true });
  const monitor = options.monitor ?? 'val_loss';
  const patience = options.patience ?? 2;
  const minDelta = options.minDelta ?? 0;
  const mode = options.mode ?? 'auto';
  const restore = options.restoreBestWeights ?? true;
  if (typeof monitor !== 'string' || monitor.length === 0) {
    throw new InvalidArgumentError(call, 'monitor', 'a non-empty string', monitor);
  }
  checkNonNegativeInteger(call, 'patience', patience);
  if (typeof minDelta !== 'number' || !Number.isFinite(minDelta) || minDelta < 0) {
    throw new InvalidArgumentError(call, 'minDelta', 'a finite number >= 0', minDelta);
  }
  checkOneOf(call, 'mode', mode, ['auto', 'min', 'max']);
  if (typeof restore !== 'boolean') throw new InvalidArgumentError(call, 'restoreBestWeights', 'a boolean', restore);
  const higherIsBetter = mode === 'max' || (mode === 'auto' && monitor.includes('acc'));

  let model: tfl.LayersModel | undefined;
  let best = higherIsBetter ? -Infinity : Infinity;
  let wait = 0;
  let bestWeights: tf.Tensor[] | null = null;
  const dropBest = (): void => {
    if (bestWeights) tf.dispose(bestWeights);
    bestWeights = null;
  };

  return {
    setModel(m: tfl.LayersModel) {
      model = m;
    },
    onTrainBegin() {
      best = higherIsBetter ? -Infinity : Infinity;
      wait = 0;
      dropBest();
    },
    onEpochEnd(epoch: number, logs?: TrainingLogs) {
      const value = logs?.[monitor];
      if (value === undefined) {
        const known = Object.keys(logs ?? {}).join(', ');
        throw new TrainingError(
          `earlyStopping: the logs of epoch ${epoch + 1} have no '${monitor}' (they have: ${known}); ` +
            "pass validation data or monitor 'loss'",
        );
      }
      const improved = higherIsBetter ? value > best + minDelta : value < best - minDelta;
      if (improved) {
        best = value;
        wait = 0;
        if (restore && model) {
          dropBest();
          bestWeights = model.getWeights().map((w) => tf.clone(w));
        }
        return;
      }
      wait++;
      if (wait >= patience && model) model.stopTraining = true;
    },
    onTrainEnd() {
      if (restore && model && bestWeights) model.setWeights(bestWeights);
      dropBest();
    },
  };
}

/**
 * `fit`: trains a classifier on an {@link ImageBatchSource}. For a Wrapper-shaped model whose base is frozen, and
 * data without random augmentation, the base runs once per image and the head trains on cached features.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { InvalidArgumentError, UnsupportedError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkNotDisposed, describeWrapper } from '../models/wrapper-view';
import { checkModel, checkSource } from './checks';
import { checkModelFitsData, ensureCompiled, resolveOptimizer } from './compile';
import type { FitHistory } from './callbacks';
import { FIT_OPTION_KEYS, resolveCommon, trainWith, withTrainingGuard, type FitOptions } from './training';

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
 *
 * @category training
 */
export async function fit(model: tfl.LayersModel, data: ImageBatchSource, options: FitOptions = {}): Promise<FitHistory> {
  const call = 'fit';
  checkModel(call, model);
  checkSource(call, data);
  checkOptionsObject(call, options);
  checkOptionKeys<FitOptions>(call, options, FIT_OPTION_KEYS);
  checkNotDisposed(call, model);
  const common = resolveCommon(call, data, options);
  const view = describeWrapper(model);
  const cachable = view !== undefined && view.isBaseFrozen() && !data.augmented;
  const cacheFeatures = options.cacheFeatures ?? cachable;
  if (typeof cacheFeatures !== 'boolean') throw new InvalidArgumentError(call, 'cacheFeatures', 'a boolean', cacheFeatures);
  if (cacheFeatures && !cachable) {
    const why = !view
      ? 'the model is not shaped like a Wrapper model (base, pooling, head)'
      : !view.isBaseFrozen()
        ? 'the base has trainable layers'
        : 'data.augmented is true (augmented images differ every epoch)';
    throw new InvalidArgumentError(call, 'cacheFeatures', `false or omitted because ${why}`, true);
  }
  if (view?.base.kind === 'onnx' && !cacheFeatures) {
    throw new UnsupportedError(
      `${call}: the base is an ONNX model, which runs on ONNX Runtime only, asynchronously, so fit trains its head on cached features; ` +
        (data.augmented ? 'augmented data (data.augmented is true) would need the base inside every step: use unaugmented data' : 'leave cacheFeatures on'),
    );
  }
  checkModelFitsData(call, model, data);
  const optimizer = resolveOptimizer(call, options.optimizer, options.learningRate, 'adam');
  return withTrainingGuard(call, model, async () => {
    ensureCompiled(call, model, data, optimizer, !(options.optimizer !== undefined && typeof options.optimizer !== 'string'));
    return trainWith(call, model, data, { ...common, cacheFeatures });
  });
}

/**
 * `fineTune`: the second step of the transfer-learning recipe. The top of the base is unfrozen (BatchNormalization
 * stays in inference mode) and the whole model trains on images with a much lower learning rate.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ImageBatchSource } from '../data/types';
import { InvalidArgumentError, UnsupportedError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkNotDisposed, describeWrapper } from '../models/wrapper-view';
import { unfreezeAs } from '../models/unfreeze';
import type { FitHistory } from './callbacks';
import { checkModel, checkSource } from './checks';
import { checkModelFitsData, ensureCompiled, resolveOptimizer } from './compile';
import { FIT_OPTION_KEYS, resolveCommon, trainWith, withTrainingGuard, type FitOptions } from './training';

/**
 * Options of {@link fineTune}: give exactly one of `fromLayer` and `topLayers`.
 *
 * @category training
 */
export interface FineTuneOptions extends Omit<FitOptions, 'cacheFeatures' | 'cacheBudgetBytes' | 'workers'> {
  /**
   * Name of the first base layer to train; it and every layer above it are unfrozen.
   * @defaultValue none: give this or `topLayers`
   */
  readonly fromLayer?: string;
  /**
   * Number of base layers, from the top, to train.
   * @defaultValue none: give this or `fromLayer`
   */
  readonly topLayers?: number;
  /**
   * Learning rate: 100 times lower than the head's default, so the pretrained features move only a little.
   * @defaultValue `1e-5`
   */
  readonly learningRate?: number;
}

const { cacheFeatures: _cached, cacheBudgetBytes: _budget, workers: _workers, ...FIT_KEYS_KEPT } = FIT_OPTION_KEYS;
const FINE_TUNE_KEYS: Readonly<Record<keyof FineTuneOptions, true>> = { ...FIT_KEYS_KEPT, fromLayer: true, topLayers: true, learningRate: true };

/** Layer classes whose backprop the wasm backend of tfjs 4.22 lacks kernels for. */
const CONV_CLASSES = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose', 'Conv1D', 'Conv3D']);

/**
 * Fine-tunes a {@link Wrapper} model whose head is already trained: unfreezes the base from `fromLayer` (or its top
 * `topLayers` layers), recompiles with Adam at `learningRate` (1e-5 by default) and trains the whole model on images
 * (never on cached features, since the base changes). BatchNormalization layers keep using their moving statistics.
 * Afterwards every layer's `trainable` flag is as before (the base is frozen again); the tuned weights stay. The
 * model keeps the fine-tuning optimizer (it owns it).
 *
 * @param model - a model from `Wrapper` (or any model of its shape), after `fit`.
 * @param data - the dataset.
 * @param options - where to unfreeze, and training options; see {@link FineTuneOptions}.
 * @returns the training history.
 * @throws {@link InvalidArgumentError} when the model is not a Wrapper model, for neither or both of `fromLayer` /
 *   `topLayers`, an unknown layer, or a bad option.
 * @throws {@link UnsupportedError} on the wasm backend when unfrozen layers include convolutions (tfjs 4.22's wasm
 *   backend has no kernels for their gradients): use the cpu, webgl or webgpu backend, or unfreeze only dense layers.
 * @throws {@link TrainingError} when the model is already training or the loss becomes NaN.
 * @example
 * ```ts
 * await fit(model, data, { epochs: 10 });
 * const tuned = await fineTune(model, data, { fromLayer: 'block_13_expand', epochs: 10 });
 * ```
 *
 * @category training
 */
export async function fineTune(
  model: tfl.LayersModel,
  data: ImageBatchSource,
  options: FineTuneOptions = {},
): Promise<FitHistory> {
  const call = 'fineTune';
  checkModel(call, model);
  checkSource(call, data);
  checkOptionsObject(call, options);
  checkOptionKeys<FineTuneOptions>(call, options, FINE_TUNE_KEYS);
  const view = describeWrapper(model);
  if (view === undefined) {
    throw new InvalidArgumentError(call, 'model', 'a model shaped like a Wrapper model (base, pooling, head)', model);
  }
  checkNotDisposed(call, model);
  if ((options.fromLayer === undefined) === (options.topLayers === undefined)) {
    throw new InvalidArgumentError(call, 'options', 'an object with exactly one of fromLayer and topLayers', options);
  }
  const common = resolveCommon(call, data, options);
  checkModelFitsData(call, model, data);
  const ownsOptimizer = options.optimizer === undefined || typeof options.optimizer === 'string';
  const where = options.fromLayer !== undefined ? { fromLayer: options.fromLayer } : { topLayers: options.topLayers as number };
  return withTrainingGuard(call, model, async () => {
    const unfrozen = unfreezeAs(call, model, where);
    if (tf.getBackend() === 'wasm' && view.base.kind === 'layers') {
      const convs = view.base.layers.filter((l) => unfrozen.includes(l.name) && CONV_CLASSES.has(l.getClassName()));
      if (convs.length > 0) {
        throw new UnsupportedError(
          `${call}: the wasm backend cannot train convolution layers (tfjs 4.22 has no wasm kernels for their ` +
            `gradients), and the unfrozen layers include ${convs.length} (first: '${convs[0]?.name}'); fine-tune on the ` +
            "cpu, webgl or webgpu backend (tf.setBackend('cpu')), or unfreeze only layers above the last convolution",
        );
      }
    }
    const optimizer = resolveOptimizer(call, options.optimizer, options.learningRate, 'adam', 1e-5);
    ensureCompiled(call, model, data, optimizer, ownsOptimizer);
    return trainWith(call, model, data, { ...common, cacheFeatures: false });
  });
}

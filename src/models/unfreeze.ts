/**
 * `unfreeze`: make the top of a Wrapper's base trainable for fine-tuning, the second step of the Keras
 * transfer-learning recipe.
 *
 * @module
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, UnsupportedError } from '../errors';
import { checkNonEmptyString, checkNonNegativeInteger, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkNotDisposed, describeWrapper } from './wrapper-view';
import { closestNames } from '../internal/suggest';

/**
 * Options of {@link unfreeze}: give exactly one of `fromLayer` and `topLayers`.
 *
 * @category bases
 */
export interface UnfreezeOptions {
  /**
   * Name of the first base layer to make trainable; it and every layer after it become trainable.
   * @defaultValue none: give this or `topLayers`
   */
  readonly fromLayer?: string;
  /**
   * Number of layers at the top of the base to make trainable (0 freezes the whole base again).
   * @defaultValue none: give this or `fromLayer`
   */
  readonly topLayers?: number;
}

const CALL = 'unfreeze';

/**
 * Makes the top layers of a {@link Wrapper} model's base trainable (and the layers below them frozen), for
 * fine-tuning after the head has been trained.
 *
 * BatchNormalization layers keep running in inference mode even when unfrozen, as the Keras fine-tuning guide
 * prescribes: they normalise with their moving statistics and never update them; only their gamma and beta can
 * train. As in Keras, compile the model again after `unfreeze` (tfjs collects the trainable weights at compile time),
 * typically with a much lower learning rate.
 *
 * @param model - a model returned by {@link Wrapper} over a layers-model base, or any model of the same shape (a
 *   nested base model, global pooling, a head), e.g. one loaded with `loadClassifier` or built by hand.
 * @param options - where to start: `{ fromLayer: 'block_16_expand' }` or `{ topLayers: 20 }`.
 * @returns the names of the base layers that are now trainable, bottom to top.
 * @throws {@link InvalidArgumentError} when `model` is not a Wrapper model, neither or both options are given,
 *   `fromLayer` names no base layer (the message lists the closest names) or `topLayers` exceeds the base's layers.
 * @throws {@link UnsupportedError} for a Wrapper over a GraphModel, which has no trainable weights.
 * @example
 * ```ts
 * const model = Wrapper(base, { numClasses: 3 });
 * model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
 * await model.fit(xs, ys, { epochs: 5 });
 * unfreeze(model, { topLayers: 20 });
 * model.compile({ optimizer: tf.train.adam(1e-5), loss: 'categoricalCrossentropy' });
 * await model.fit(xs, ys, { epochs: 2 });
 * ```
 *
 * @category bases
 */
export function unfreeze(model: tfl.LayersModel, options: UnfreezeOptions): string[] {
  return unfreezeAs(CALL, model, options);
}

/** {@link unfreeze} whose errors name `call` (fineTune unfreezes on the caller's behalf). Internal. */
export function unfreezeAs(call: string, model: tfl.LayersModel, options: UnfreezeOptions): string[] {
  const view = typeof model === 'object' && model !== null ? describeWrapper(model) : undefined;
  if (view === undefined) throw new InvalidArgumentError(call, 'model', 'a model shaped like a Wrapper model (base, pooling, head)', model);
  checkNotDisposed(call, model);
  checkOptionsObject(call, options);
  checkOptionKeys<UnfreezeOptions>(call, options, { fromLayer: true, topLayers: true });
  if (options === undefined || (options.fromLayer === undefined) === (options.topLayers === undefined)) {
    throw new InvalidArgumentError(call, 'options', 'exactly one of fromLayer and topLayers', options);
  }
  const base = view.base;
  if (base.kind === 'graph') {
    throw new UnsupportedError(`${call}: the model's base is a GraphModel, which has no trainable weights`);
  }
  if (base.kind === 'onnx') {
    throw new UnsupportedError(
      `${call}: the model's base is an ONNX model, which ONNX Runtime only runs (it does not train); fine-tune a tfjs layers base (loadBase, applications, loadKerasModel)`,
    );
  }
  const layers = base.layers;
  let start: number;
  if (options.fromLayer !== undefined) {
    checkNonEmptyString(call, 'fromLayer', options.fromLayer);
    const names = layers.map((l) => l.name);
    start = names.indexOf(options.fromLayer);
    if (start < 0) {
      const closest = closestNames(options.fromLayer, names).join(', ');
      throw new InvalidArgumentError(call, 'fromLayer', `the name of a layer of the base (closest: ${closest})`, options.fromLayer);
    }
  } else {
    checkNonNegativeInteger(call, 'topLayers', options.topLayers);
    if (options.topLayers > layers.length) {
      throw new InvalidArgumentError(call, 'topLayers', `at most ${layers.length}, the base's number of layers`, options.topLayers);
    }
    start = layers.length - options.topLayers;
  }
  // The container's flag first: tfjs's own setter (a base that is not tl-kit's) cascades to every inner layer.
  base.container.trainable = start < layers.length;
  layers.forEach((layer, i) => {
    layer.trainable = i >= start;
  });
  return layers.slice(start).map((l) => l.name);
}

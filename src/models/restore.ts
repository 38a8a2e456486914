/**
 * `restoreWrapperParts`: after a Wrapper model was saved and loaded again, recover how it decomposes (frozen base,
 * pooling, head), so that the pipeline's fast paths (cached features, fused base) and `unfreeze` work on it.
 *
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import { InvalidArgumentError } from '../errors';
import { assembleParts } from './assemble';
import { InferenceBase, registerTlKitLayers, runInference } from './inference-base';
import { getWrapperParts, registerWrapperParts, type WrapperParts } from './parts';

const POOLING: Readonly<Record<string, 'avg' | 'max'>> = {
  GlobalAveragePooling2D: 'avg',
  GlobalMaxPooling2D: 'max',
  GlobalAveragePooling1D: 'avg',
  GlobalMaxPooling1D: 'max',
};

/** Where the recovered parts came from, for `baseName` / `preprocessing` (read from saved metadata by the caller). */
export interface RestoreWrapperPartsOptions {
  /** Name of the base, as recorded when the model was saved. */
  readonly baseName?: string;
  /** Preprocessing the base expects, as recorded when the model was saved. */
  readonly preprocessing?: PreprocessingMode;
}

/** True when `model` has the layout `Wrapper` gives (an inference-mode base layer named `tlkit_base`). */
export function hasWrapperLayout(model: tfl.LayersModel): boolean {
  registerTlKitLayers();
  return model.layers.some((l) => l.name === 'tlkit_base' && l instanceof InferenceBase);
}

/**
 * Recovers and registers the parts of a model that `Wrapper` built and that was saved and loaded again (the loaded
 * model is a new object, so tl-kit's record of its structure is gone). Returns the existing parts for a model that
 * still has them. Internal to tl-kit (used by the classifier loader).
 *
 * @param model - a loaded model whose layers are `tlkit_input`, `tlkit_base`, [`tlkit_pool`], head layers.
 * @param options - base name and preprocessing to record.
 * @returns the parts, also registered for the model.
 * @throws {@link InvalidArgumentError} when the model does not have the Wrapper layout.
 */
export function restoreWrapperParts(model: tfl.LayersModel, options: RestoreWrapperPartsOptions = {}): WrapperParts {
  const existing = getWrapperParts(model);
  if (existing) return existing;
  registerTlKitLayers();
  const layers = model.layers;
  const core = layers.find((l) => l.name === 'tlkit_base');
  const expected = 'a model built by Wrapper (layers tlkit_input, tlkit_base, [tlkit_pool], head) over a layers base';
  if (!(core instanceof InferenceBase) || model.inputs.length !== 1) {
    throw new InvalidArgumentError('restoreWrapperParts', 'model', expected, model);
  }
  core.prepareFused();
  const coreIndex = layers.indexOf(core);
  const poolLayer = layers[coreIndex + 1]?.name === 'tlkit_pool' ? layers[coreIndex + 1] : undefined;
  const headLayers = layers.slice(coreIndex + (poolLayer ? 2 : 1));
  const output = headLayers[headLayers.length - 1];
  const baseOut = core.outputs[0]?.shape ?? [];
  const featureSize = poolLayer ? baseOut[baseOut.length - 1] : baseOut[1];
  const pooling = poolLayer ? POOLING[poolLayer.getClassName()] : 'avg';
  const units = output?.getConfig()['units'];
  const inputShape = (model.inputs[0] as tfl.SymbolicTensor).shape.slice(1);
  if (
    output?.name !== 'tlkit_output' ||
    typeof featureSize !== 'number' ||
    pooling === undefined ||
    typeof units !== 'number' ||
    inputShape.length !== 3 ||
    inputShape.some((d) => d === null)
  ) {
    throw new InvalidArgumentError('restoreWrapperParts', 'model', expected, model);
  }
  const parts = assembleParts({
    core,
    run: (images: tf.Tensor4D) => runInference(core, [images])[0] as tf.Tensor,
    pooling,
    rank: poolLayer ? baseOut.length : 2,
    headLayers,
    featureSize,
    numClasses: units === 1 ? 2 : units,
    inputShape: inputShape as [number, number, number],
    baseName: options.baseName,
    preprocessing: options.preprocessing,
  });
  registerWrapperParts(model, parts);
  return parts;
}

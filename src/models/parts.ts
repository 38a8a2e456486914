/**
 * Internal contract between the Wrapper (which builds a model), the pipeline (which trains its head on cached
 * features) and the speed module (which runs the frozen base fast). Not exported from the package.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';

/** How a model made by `Wrapper` decomposes into a frozen base, a pooling step and a trainable head. */
export interface WrapperParts {
  /** The base as the wrapper uses it (already cut at `cutAt` / rebuilt for `inputShape`); null for a GraphModel. */
  readonly base: tfl.LayersModel | null;
  /** Runs the base in inference mode (BatchNorm uses moving statistics, nothing is updated). No pooling. */
  readonly runBase: (images: tf.Tensor4D) => tf.Tensor;
  /** Pools the base's output to `[batch, featureSize]` ('avg' / 'max' over space; identity for 2-D outputs). */
  readonly pool: (baseOutput: tf.Tensor) => tf.Tensor2D;
  /** The head as its own model: `[batch, featureSize]` -> predictions. Shares its layers (and weights) with the wrapper. */
  readonly head: tfl.LayersModel;
  /** Length of the pooled feature vector. */
  readonly featureSize: number;
  /** Number of classes the head predicts (2: one sigmoid unit, or two softmax units with labelMode 'categorical'). */
  readonly numClasses: number;
  /** `[height, width, channels]` the wrapper expects. */
  readonly inputShape: readonly [number, number, number];
  /** The layers of the base inside the wrapper (for unfreeze); empty for a GraphModel base. */
  readonly baseLayers: readonly tfl.layers.Layer[];
  /** True while no base weight is trainable: features can then be cached and a fused executor used. */
  isBaseFrozen(): boolean;
  /** Name of the base when it came from a `loadBase` spec (e.g. `'mobilenet_v2'`); undefined for a bare model. */
  readonly baseName?: string | undefined;
  /** Pixel preprocessing the base expects, when it came from a `loadBase` spec; undefined for a bare model. */
  readonly preprocessing?: PreprocessingMode | undefined;
}

const registry = new WeakMap<tfl.LayersModel, WrapperParts>();

/** Records how `model` decomposes. Called by Wrapper. */
export function registerWrapperParts(model: tfl.LayersModel, parts: WrapperParts): void {
  registry.set(model, parts);
}

/** How `model` decomposes, or undefined when it was not made by Wrapper. */
export function getWrapperParts(model: tfl.LayersModel): WrapperParts | undefined {
  return registry.get(model);
}

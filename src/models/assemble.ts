/**
 * Assembles the {@link WrapperParts} of a wrapper model from its pieces; shared by `Wrapper` (a new model) and
 * `restoreWrapperParts` (a reloaded one).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import type { InferenceBase } from './inference-base';
import type { WrapperParts } from './parts';

/** The pieces of a wrapper model. */
export interface PartsInput {
  readonly core: InferenceBase | null;
  readonly run: (images: tf.Tensor4D) => tf.Tensor;
  readonly pooling: 'avg' | 'max';
  /** Rank of the base's output (2: no pooling, 3: 1-D pooling, 4: 2-D pooling). */
  readonly rank: number;
  readonly headLayers: readonly tfl.layers.Layer[];
  readonly featureSize: number;
  readonly numClasses: number;
  readonly inputShape: readonly [number, number, number];
  readonly baseName: string | undefined;
  readonly preprocessing: PreprocessingMode | undefined;
}

/** Builds the parts, including `head`: a model over `[batch, featureSize]` applying the same head layer objects. */
export function assembleParts(input: PartsInput): WrapperParts {
  const headInput = tfl.input({ shape: [input.featureSize], name: 'tlkit_features' });
  const headOutput = input.headLayers.reduce((t, layer) => layer.apply(t) as tfl.SymbolicTensor, headInput);
  const head = tfl.model({ inputs: headInput, outputs: headOutput, name: 'tlkit_head' });
  // The head model is a view of the wrapper's layers: hand its reference back so that disposing the wrapper frees them.
  for (const layer of input.headLayers) releaseReference(layer);
  const { core, pooling } = input;
  const poolAxes = input.rank === 4 ? [1, 2] : [1];
  return {
    base: core,
    runBase: (images) => tf.tidy(() => input.run(images)),
    pool: (baseOutput) =>
      tf.tidy(() => {
        if (baseOutput.rank === 2) return tf.clone(baseOutput) as tf.Tensor2D;
        return (pooling === 'avg' ? tf.mean(baseOutput, poolAxes) : tf.max(baseOutput, poolAxes)) as tf.Tensor2D;
      }),
    head,
    featureSize: input.featureSize,
    numClasses: input.numClasses,
    inputShape: input.inputShape,
    baseLayers: core ? core.layers.filter((l) => l.getClassName() !== 'InputLayer') : [],
    isBaseFrozen: () => (core ? core.trainableWeights.length === 0 : true),
    baseName: input.baseName,
    preprocessing: input.preprocessing,
  };
}

/** Undoes the reference count tfjs adds when a layer is applied to a second input (see tfjs Layer.dispose). */
function releaseReference(layer: tfl.layers.Layer): void {
  const counted = layer as unknown as { _refCount: number | null };
  if (typeof counted._refCount === 'number' && counted._refCount > 1) counted._refCount -= 1;
}

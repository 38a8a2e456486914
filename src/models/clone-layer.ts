/**
 * Copies of layers through tfjs's public serialization map: a layer of the same class and config, with its own
 * weights. Used to write a Wrapper model's head as a standalone standard model, and to rebuild a saved head around a
 * base that is not a layers model, without applying the original layer objects a second time.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError } from '../errors';
import type { WrapperView } from './wrapper-view';

/** A new, unbuilt layer with `layer`'s class and config (and name). */
export function cloneLayer(call: string, layer: tfl.layers.Layer): tfl.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
  if (entry === undefined) {
    throw new IncompatibleModelError(`${call}: layer '${layer.name}' of class ${layer.getClassName()} cannot be copied (its class is not registered with tfjs)`);
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, layer.getConfig() as tf.serialization.ConfigDict) as tfl.layers.Layer;
}

/**
 * The head of `view` as a standalone model `[batch, featureSize] -> predictions` with copies of its layers and
 * weights. The caller disposes it; the original model is untouched.
 */
export function standaloneHead(call: string, view: WrapperView): tfl.LayersModel {
  const clones: tfl.layers.Layer[] = [];
  try {
    const input = tfl.input({ shape: [view.featureSize], name: 'tlkit_features' });
    let t = input;
    for (const layer of view.headLayers) {
      const clone = cloneLayer(call, layer);
      clones.push(clone);
      t = clone.apply(t) as tfl.SymbolicTensor;
      const values = layer.getWeights();
      if (values.length > 0) clone.setWeights(values);
    }
    return tfl.model({ inputs: input, outputs: t, name: 'tlkit_head' });
  } catch (err) {
    for (const clone of clones) if (clone.built) tf.dispose(clone.weights.map((w) => w.read()));
    throw err;
  }
}

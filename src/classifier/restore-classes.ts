/**
 * Saved classifiers hold only tfjs's built-in classes. To get the Wrapper's in-memory form back, the loader renames,
 * in the topology it has just read (never on disk), the outer model to tl-kit's `TlKitWrapperModel` and the nested
 * base to `TlKitInferenceBase`, both registered by `registerTlKitClasses`.
 */

import type * as tf from '@tensorflow/tfjs-core';

type Json = Record<string, unknown>;

const MODEL_CLASSES = new Set(['Model', 'Functional']);

/**
 * A copy of a layers-model topology (Keras JSON as tfjs writes it) with the outer functional model renamed to
 * `TlKitWrapperModel` and the nested model layer `baseLayerName` to `TlKitInferenceBase`. A topology of another shape
 * (a Sequential, a nested base under another name) comes back with only what matches renamed.
 */
export function restoreClasses(
  topology: tf.io.ModelArtifacts['modelTopology'],
  baseLayerName: string | undefined,
): tf.io.ModelArtifacts['modelTopology'] {
  if (typeof topology !== 'object' || topology === null || topology instanceof ArrayBuffer) return topology;
  const copy = JSON.parse(JSON.stringify(topology)) as Json;
  // tfjs writes { model_config: { class_name, config } }; a bare { class_name, config } is accepted too.
  const modelConfig = (copy['model_config'] as Json | undefined) ?? copy;
  if (!MODEL_CLASSES.has(modelConfig['class_name'] as string)) return copy;
  modelConfig['class_name'] = 'TlKitWrapperModel';
  if (baseLayerName === undefined) return copy;
  const layers = (modelConfig['config'] as Json | undefined)?.['layers'];
  if (!Array.isArray(layers)) return copy;
  for (const layer of layers as Json[]) {
    if (layer['name'] === baseLayerName && MODEL_CLASSES.has(layer['class_name'] as string)) layer['class_name'] = 'TlKitInferenceBase';
  }
  return copy;
}

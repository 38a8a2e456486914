/**
 * Loads the convolutional part of nsfwjs's bundled MobileNetV2 and InceptionV3 straight from the npm package files
 * (UMD modules holding the Keras JSON and base64 weight shards), at any input size, for benchmarks.
 * The classifier head is cut off at the last convolutional block and the input layer is rebuilt for `size`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A bundled nsfwjs network and where its convolutional trunk ends. */
export const NSFWJS_BASES = {
  MobileNetV2: { dir: 'mobilenet_v2', shards: 1, cut: 'out_relu' },
  InceptionV3: { dir: 'inception_v3', shards: 6, cut: 'mixed10' },
} as const;

/** Name of a bundled network. */
export type NsfwjsBaseName = keyof typeof NSFWJS_BASES;

interface KerasLayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

/**
 * Loads `name` cut at its last convolutional block, with input `[size, size, 3]`.
 * Weights of the removed head are dropped (`strict: false`).
 */
export async function loadNsfwjsBase(name: NsfwjsBaseName, size: number): Promise<tfl.LayersModel> {
  const spec = NSFWJS_BASES[name];
  // The model files are not in nsfwjs's `exports` map: require them by absolute path from the package's dist folder.
  const root = join(dirname(dirname(require.resolve('nsfwjs'))), 'models', spec.dir);
  const json = require(`${root}/model.min.js`) as {
    modelTopology: { model_config: { config: { layers: KerasLayerJson[]; input_layers: unknown; output_layers: unknown } } };
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const topology = structuredClone(json.modelTopology);
  const config = topology.model_config.config;
  // Keep the cut layer and everything it depends on.
  const byName = new Map(config.layers.map((l) => [l.name, l]));
  const keep = new Set<string>();
  const stack: string[] = [spec.cut];
  while (stack.length > 0) {
    const layerName = stack.pop() as string;
    if (keep.has(layerName)) continue;
    keep.add(layerName);
    for (const node of byName.get(layerName)?.inbound_nodes ?? []) for (const [src] of node) stack.push(src);
  }
  config.layers = config.layers.filter((l) => keep.has(l.name));
  for (const l of config.layers) {
    if (l.class_name === 'InputLayer') l.config['batch_input_shape'] = [null, size, size, 3];
  }
  config.output_layers = [[spec.cut, 0, 0]];
  const buffers: Uint8Array[] = [];
  for (let i = 1; i <= spec.shards; i++) {
    const base64 = require(`${root}/group1-shard${i}of${spec.shards}.min.js`) as string;
    buffers.push(Buffer.from(base64, 'base64'));
  }
  const weightData = new Uint8Array(Buffer.concat(buffers)).buffer;
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs, weightData }), { strict: false });
}

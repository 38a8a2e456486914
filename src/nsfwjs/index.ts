/**
 * `tl-kit/nsfwjs`: offline pretrained photo backbones from the npm package `nsfwjs@4` (MIT), an optional peer.
 *
 * nsfwjs ships three networks as JS modules holding the model JSON and base64 weight shards, so they load with no
 * network at all. They started from ImageNet weights and were then trained by nsfwjs's authors on web photos to
 * classify NSFW content (drawing, hentai, neutral, porn, sexy); their weights are quantised to 8 bits. Cut below their
 * classifier they are general photo feature extractors, which is what tl-kit uses them for. They are not ImageNet
 * models: expect them to be somewhat weaker than the originals on everyday objects, and stronger on people and scenes.
 *
 * This entry reads nsfwjs's `models/*` modules only; it never imports nsfwjs's main entry (which pulls in the whole
 * `@tensorflow/tfjs`).
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, LoadError, TlKitError, UnsupportedError } from '../errors';
import { checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { checkGroupSize, concatBytes, parseModelJson, toArtifacts } from '../io/manifest';
import type { BaseSpec } from '../models/base-spec';
import { checkSpecOptions, modelFromArtifacts, toBaseSpec, type GraphModelLoader } from '../models/load-base';

/**
 * The nsfwjs networks tl-kit can load.
 *
 * @category bases
 */
export type NsfwBaseName = 'mobilenet_v2' | 'mobilenet_v2_mid' | 'inception_v3';

/**
 * Options of {@link loadNsfwBase}.
 *
 * @category bases
 */
export interface NsfwBaseOptions {
  /**
   * Layer to cut a layers model at (its feature map).
   * @defaultValue `'out_relu'` (MobileNetV2, 1280 features) or `'mixed10'` (InceptionV3, 2048 features)
   */
  readonly cutAt?: string;
  /**
   * `[height, width, channels]` recorded in the spec. To run a layers base at another size, pass `inputShape` to
   * `Wrapper`, which rebuilds the cut base with the same weights.
   * @defaultValue [224, 224, 3] for the MobileNetV2s, [299, 299, 3] for InceptionV3
   */
  readonly inputShape?: readonly [number, number, number];
  /**
   * Builds the graph model (`'mobilenet_v2_mid'`) from an IOHandler: pass `loadGraphModel` from
   * `@tensorflow/tfjs-converter` in a browser bundle.
   * @defaultValue tfjs-converter's `loadGraphModel`, imported at run time in Node
   */
  readonly loadGraphModel?: GraphModelLoader;
}

interface NsfwEntry {
  readonly format: 'layers' | 'graph';
  readonly size: number;
  readonly cutAt?: string;
  readonly outputNode?: string;
  readonly importModule: () => Promise<unknown>;
}

/** Feature-vector node of nsfwjs's MobileNetV2 (width 1.4) graph model: TF Hub's feature_vector, 1792 values. */
const MID_FEATURES =
  'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze';

// String literals in import() let bundlers see (and split out) each model's weights.
const ENTRIES: Readonly<Record<NsfwBaseName, NsfwEntry>> = {
  mobilenet_v2: {
    format: 'layers',
    size: 224,
    cutAt: 'out_relu',
    importModule: () => import('nsfwjs/models/mobilenet_v2'),
  },
  mobilenet_v2_mid: {
    format: 'graph',
    size: 224,
    outputNode: MID_FEATURES,
    importModule: () => import('nsfwjs/models/mobilenet_v2_mid'),
  },
  inception_v3: {
    format: 'layers',
    size: 299,
    cutAt: 'mixed10',
    importModule: () => import('nsfwjs/models/inception_v3'),
  },
};

const CALL = 'loadNsfwBase';

/**
 * Loads one of nsfwjs's pretrained networks, offline, as a {@link BaseSpec} for `Wrapper`:
 *
 * - `'mobilenet_v2'`: MobileNetV2 layers model, 224 px, inputs in [0, 1] (`preprocessing: 'unit'`), cut at `out_relu`
 *   (1280 features). Small (3.5 MB) and fast: the default choice.
 * - `'inception_v3'`: InceptionV3 layers model, 299 px, inputs in [0, 1], cut at `mixed10` (2048 features). 22 MB;
 *   fully convolutional up to `mixed10`, so `Wrapper(base, { inputShape: [150, 150, 3] })` runs it smaller.
 * - `'mobilenet_v2_mid'`: MobileNetV2 (width 1.4) graph model built on TF Hub's feature vector, 224 px, inputs in
 *   [0, 1], 1792 features; 5.6 MB. Needs the optional peer `@tensorflow/tfjs-converter`; cannot be cut, rebuilt or
 *   fine-tuned.
 *
 * @param name - which network.
 * @param options - cut layer and recorded input shape.
 * @returns a spec whose `model` belongs to the caller (dispose it when done).
 * @throws `InvalidArgumentError` for an unknown name or bad option; `UnsupportedError` when `nsfwjs` (or,
 *   for the graph model, `@tensorflow/tfjs-converter`) is not installed; `LoadError` / `UnsafeModelError`
 *   when the bundled files are damaged.
 * @example
 * ```ts
 * import { Wrapper } from 'tl-kit';
 * import { loadNsfwBase } from 'tl-kit/nsfwjs';
 * const base = await loadNsfwBase('mobilenet_v2');
 * const model = Wrapper(base, { numClasses: 10 }); // feed it images scaled to [0, 1] (preprocessing 'unit')
 * ```
 *
 * @category bases
 */
export async function loadNsfwBase(name: NsfwBaseName, options: NsfwBaseOptions = {}): Promise<BaseSpec> {
  checkOptionsObject(CALL, options);
  checkOptionKeys<NsfwBaseOptions>(CALL, options, { cutAt: true, inputShape: true, loadGraphModel: true });
  checkSpecOptions(CALL, options);
  const entry = Object.prototype.hasOwnProperty.call(ENTRIES, name) ? ENTRIES[name] : undefined;
  if (entry === undefined) {
    throw new InvalidArgumentError(CALL, 'name', "'mobilenet_v2', 'mobilenet_v2_mid' or 'inception_v3'", name);
  }
  if (options.cutAt !== undefined && entry.format === 'graph') {
    throw new InvalidArgumentError(CALL, 'cutAt', `undefined for '${name}', a graph model`, options.cutAt);
  }
  const where = `nsfwjs/models/${name}`;
  let definition: { modelJson: () => Promise<unknown>; weightBundles: (() => Promise<unknown>)[] };
  try {
    const module = (await entry.importModule()) as Record<string, unknown>;
    definition = Object.values(module).find(
      (v) => typeof v === 'object' && v !== null && 'modelJson' in v && 'weightBundles' in v,
    ) as typeof definition;
    if (definition === undefined) throw new Error(`${where} exports no model definition`);
  } catch (err) {
    throw new UnsupportedError(
      `${CALL}: cannot import ${where}; install the optional peer dependency nsfwjs@4 (npm install nsfwjs@4)`,
      { cause: err },
    );
  }
  let artifacts: tf.io.ModelArtifacts;
  try {
    const json = unwrapDefault(await definition.modelJson());
    const model = parseModelJson(JSON.stringify(json), where);
    const shards = await Promise.all(definition.weightBundles.map(async (load) => decodeBase64(unwrapDefault(await load()))));
    const group = model.weightsManifest[0];
    if (model.weightsManifest.length !== 1 || group === undefined) {
      throw new LoadError(`${where}: expected one weight group, found ${model.weightsManifest.length}`);
    }
    checkGroupSize(group, shards.reduce((n, s) => n + s.byteLength, 0), where);
    artifacts = toArtifacts(model, concatBytes(shards));
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${CALL}: cannot read the bundled files of ${where}`, { cause: err });
  }
  const model = await modelFromArtifacts(artifacts, where, entry.format === 'graph', options.loadGraphModel);
  try {
    return toBaseSpec(
      model,
      {
        name: `nsfwjs_${name}`,
        format: entry.format,
        inputShape: [entry.size, entry.size, 3],
        preprocessing: 'unit',
        ...(entry.cutAt !== undefined ? { cutAt: entry.cutAt } : {}),
      },
      { ...options, ...(entry.outputNode !== undefined ? { outputNode: entry.outputNode } : {}) },
      `nsfwjs_${name}`,
      CALL,
    );
  } catch (err) {
    (model as { dispose?: () => void }).dispose?.();
    throw err;
  }
}

function unwrapDefault(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && 'default' in value) return (value as { default: unknown }).default;
  return value;
}

/** Decodes a base64 weight shard (Node Buffer when available, else atob). */
function decodeBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw new Error(`a weight bundle is not a base64 string (got ${typeof value})`);
  const NodeBuffer = (globalThis as { Buffer?: { from(s: string, e: string): Uint8Array } }).Buffer;
  if (NodeBuffer !== undefined) return new Uint8Array(NodeBuffer.from(value, 'base64'));
  const binary = atob(value);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Builds a tfjs-layers model from {@link tf.io.ModelArtifacts} the way `tf.loadLayersModel` does, but checks every
 * weight against the model's topology before a weight tensor exists and frees everything it made when anything
 * fails. tfjs itself leaks the half-built model and the decoded weights on a failed load, and its errors ("Shape
 * mismatch: [3,3,3,4] vs. [108]") name neither the weight nor the file. Internal: `loadBase`, the Keras loader and
 * `loadClassifier` build their models here.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, LoadError, TlKitError } from '../errors';
import { rootReason } from '../internal/cause';
import { expectedWeightBytes } from '../io/manifest';

/** A Keras/tfjs model topology as JSON (the `modelTopology` of a model.json, without its `model_config` wrapper). */
export type ModelTopologyJson = { [key: string]: unknown };

/** Options of {@link layersModelFromArtifacts}. */
export interface LayersFromArtifactsOptions {
  /**
   * Where the artifacts came from (a path or URL), for error messages.
   * @defaultValue 'the model'
   */
  readonly where?: string;
  /**
   * Rewrites the topology before the model is built (for example to rename a class). It receives a deep copy that
   * it may change in place; its return value is built.
   * @defaultValue none
   */
  readonly transformTopology?: (topology: ModelTopologyJson) => ModelTopologyJson;
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function registeredClasses(): Record<string, unknown> {
  return tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
}

/** Every layer of a topology (nested models included) whose class tfjs has not registered, as `'name' (Class)`. */
export function unknownLayerClasses(topology: ModelTopologyJson): string[] {
  const known = registeredClasses();
  const found: string[] = [];
  const visit = (entry: Json): void => {
    if (!isObject(entry)) return;
    const className = entry.class_name ?? entry.className;
    const config = isObject(entry.config) ? entry.config : {};
    if (typeof className === 'string' && known[className] === undefined) {
      const name = typeof config.name === 'string' ? config.name : typeof entry.name === 'string' ? entry.name : '?';
      found.push(`'${name}' (${className})`);
      return;
    }
    const layers = config.layers;
    if (Array.isArray(layers)) layers.forEach(visit);
  };
  visit(topology);
  return found;
}

/**
 * Builds a model from its topology alone (weights from the initialisers), naming `call` in errors. A layer class
 * tfjs does not know is an {@link IncompatibleModelError} raised before anything is built; any other failure is a
 * {@link LoadError} and frees the variables the half-built model had created.
 */
export async function buildLayersModel(call: string, topology: ModelTopologyJson, where = 'the model'): Promise<tfl.LayersModel> {
  const unknown = unknownLayerClasses(topology);
  if (unknown.length > 0) {
    throw new IncompatibleModelError(
      `${call}: ${where} uses ${unknown.length === 1 ? 'a layer class' : 'layer classes'} tfjs-layers does not know: ${unknown.join(', ')} (register custom layers before loading)`,
    );
  }
  const registry = tf.engine().state.registeredVariables;
  const before = new Set(Object.keys(registry));
  let pending: Promise<tfl.LayersModel>;
  let created: string[];
  try {
    // modelFromJSON deserialises synchronously before its first await, so the variables registered between these
    // two lines are exactly the ones this model created: nothing else can run in between.
    pending = tfl.models.modelFromJSON({ modelTopology: topology as unknown as tf.io.ModelJSON['modelTopology'] } as never);
  } finally {
    created = Object.keys(registry).filter((name) => !before.has(name));
  }
  try {
    return await pending;
  } catch (err) {
    for (const name of created) registry[name]?.dispose();
    throw new LoadError(`${call}: ${where} cannot be built by tfjs-layers (${rootReason(err)})`, { cause: err });
  }
}

/** The model weight each weight spec name resolves to, with tfjs's own naming rules (see Container.loadWeights). */
function pairWeights(
  call: string,
  where: string,
  model: tfl.LayersModel,
  specs: readonly tf.io.WeightsManifestEntry[],
): Array<[tfl.LayerVariable, tf.io.WeightsManifestEntry]> {
  const names = specs.map((s) => s.name);
  const first = names[0]?.split('/');
  // Keras 3 exports name weights `layer/0`, `layer/1`; tfjs then matches them by layer and position.
  const byIndex = first !== undefined && !Number.isNaN(Number.parseInt(first[first.length - 1] ?? '', 10));
  const targets = new Map<string, tfl.LayerVariable>();
  for (const layer of model.layers) {
    layer.weights.forEach((weight, index) => {
      const key = byIndex ? `${weight.name.split('/').slice(0, -1).join('/')}/${index}` : weight.originalName;
      if (targets.has(key)) {
        throw new LoadError(`${call}: ${where} has two weights named '${key}'; the model cannot be loaded unambiguously`);
      }
      targets.set(key, weight);
    });
  }
  const total = targets.size;
  const seen = new Set<string>();
  const pairs: Array<[tfl.LayerVariable, tf.io.WeightsManifestEntry]> = [];
  for (const spec of specs) {
    if (seen.has(spec.name)) throw new LoadError(`${call}: ${where} lists weight '${spec.name}' twice in its weights manifest`);
    seen.add(spec.name);
    let key = spec.name;
    if (!targets.has(key)) {
      // TF 2.2 put a cell name inside RNN weight names (layer/cell/kernel); tfjs drops it.
      const tokens = key.split('/');
      key = [...tokens.slice(0, -2), tokens[tokens.length - 1]].join('/');
    }
    const target = targets.get(key);
    if (target === undefined) {
      throw new LoadError(`${call}: ${where} holds weight '${spec.name}' (${describe(spec.dtype, spec.shape)}), which no layer of its topology has`);
    }
    targets.delete(key);
    if (spec.dtype !== target.dtype || !sameShape(spec.shape, target.shape)) {
      throw new LoadError(
        `${call}: ${where} holds weight '${spec.name}' as ${describe(spec.dtype, spec.shape)}, but its topology needs ${describe(target.dtype, target.shape)}`,
      );
    }
    pairs.push([target, spec]);
  }
  if (targets.size > 0) {
    const missing = [...targets.entries()].slice(0, 5).map(([name, w]) => `'${name}' (${describe(w.dtype, w.shape)})`);
    throw new LoadError(
      `${call}: ${where} lacks ${targets.size} of the ${total} weights its topology needs: ${missing.join(', ')}${targets.size > 5 ? ', ...' : ''}`,
    );
  }
  return pairs;
}

function sameShape(a: readonly unknown[] | undefined, b: readonly unknown[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((d, i) => d === b[i]);
}

function describe(dtype: unknown, shape: unknown): string {
  return `${String(dtype)} [${Array.isArray(shape) ? shape.join(', ') : String(shape)}]`;
}

/**
 * Builds a LayersModel from model artifacts like `tf.loadLayersModel(tf.io.fromMemory(artifacts))`, with three
 * differences: every weight of the manifest is checked against the topology (name, shape, dtype) and the weight data
 * against the manifest (byte size) before a weight tensor is decoded; a mismatch is a {@link LoadError} naming the
 * weight, what the file holds and what the topology needs; and every tensor and variable made along the way is freed
 * when anything fails.
 *
 * @param call - the public call to name in errors, e.g. `loadBase`.
 * @param artifacts - topology, weight specs and weight data, as an IOHandler's `load()` returns them.
 * @param options - where the artifacts came from, and a topology rewrite applied before building.
 * @returns the model, owned by the caller.
 * @throws {@link LoadError} for a missing or binary topology, a build failure, or weights that do not fit the topology.
 * @throws {@link IncompatibleModelError} naming the layers whose classes tfjs-layers does not know.
 */
export async function layersModelFromArtifacts(
  call: string,
  artifacts: tf.io.ModelArtifacts,
  options: LayersFromArtifactsOptions = {},
): Promise<tfl.LayersModel> {
  const where = options.where ?? 'the model';
  const raw = artifacts.modelTopology;
  if (!isObject(raw) || raw instanceof ArrayBuffer) {
    throw new LoadError(`${call}: ${where} has no layers-model topology (a JSON object) in its model.json`);
  }
  const unwrapped = isObject(raw.model_config) ? raw.model_config : raw;
  let topology = structuredClone(unwrapped) as ModelTopologyJson;
  if (options.transformTopology !== undefined) topology = options.transformTopology(topology);
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData === undefined ? undefined : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  if (data === undefined && specs.length > 0) {
    throw new LoadError(`${call}: ${where} lists ${specs.length} weights but carries no weight data`);
  }
  if (data !== undefined) {
    const range = expectedWeightBytes(specs, `${call}: ${where}`);
    if (data.byteLength < range.min || data.byteLength > range.max) {
      throw new LoadError(
        `${call}: ${where} has ${data.byteLength} bytes of weight data but its weight specs need ${range.min === range.max ? range.min : `${range.min} to ${range.max}`}`,
      );
    }
  }
  const model = await buildLayersModel(call, topology, where);
  let decoded: tf.NamedTensorMap | undefined;
  try {
    if (artifacts.trainingConfig != null) model.loadTrainingConfig(artifacts.trainingConfig as never);
    if (artifacts.userDefinedMetadata != null) model.setUserDefinedMetadata(artifacts.userDefinedMetadata);
    if (data === undefined) return model;
    const modelSpecs = specs.filter((s) => s.group !== 'optimizer');
    pairWeights(call, where, model, modelSpecs);
    // tidy frees what decodeWeights made if it throws half-way; on success the map's tensors are kept.
    decoded = tf.tidy(() => tf.io.decodeWeights(data, specs));
    const modelWeights: tf.NamedTensorMap = {};
    for (const spec of modelSpecs) modelWeights[spec.name] = decoded[spec.name] as tf.Tensor;
    model.loadWeights(modelWeights, true);
    const optimizerWeights = specs
      .filter((s) => s.group === 'optimizer')
      .map((s) => ({ name: s.name, tensor: decoded?.[s.name] as tf.Tensor }));
    if (model.optimizer != null && optimizerWeights.length > 0) await model.optimizer.setWeights(optimizerWeights);
    return model;
  } catch (err) {
    model.dispose();
    if (err instanceof TlKitError) throw err;
    throw new LoadError(`${call}: cannot load the weights of ${where} (${rootReason(err)})`, { cause: err });
  } finally {
    if (decoded !== undefined) tf.dispose(Object.values(decoded));
  }
}

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
 * The first layer call of a functional topology (nested models included) that tfjs-layers could never make, as
 * `'layer' (input 'name' node i)`, or undefined. tfjs builds a functional model by calling each layer on its inbound
 * nodes, re-queuing a call whose input does not exist yet and passing over the queue until it is empty: an input that
 * names a missing layer, or a node index that no call creates, makes that loop spin forever, synchronously. This runs
 * the same passes on the names and node counts alone; a pass that calls nothing means tfjs would never stop.
 */
export function unreachableLayerCall(topology: ModelTopologyJson): string | undefined {
  const visit = (entry: Json): string | undefined => {
    const config = isObject(entry) && isObject(entry.config) ? entry.config : undefined;
    const layers = config?.layers;
    if (!Array.isArray(layers)) return undefined;
    for (const layer of layers) {
      const inner = visit(layer);
      if (inner !== undefined) return inner;
    }
    return stuckCall(layers);
  };
  return visit(isObject(topology.config) ? topology : { config: topology });
}

/** {@link unreachableLayerCall} for one functional config's `layers` (tfjs's Container.fromConfig, names only). */
function stuckCall(layers: readonly Json[]): string | undefined {
  const nodeCounts = new Map<string, { readonly name: string; nodes: number }>();
  const queue = new Map<string, Json[][]>();
  for (const [i, data] of layers.entries()) {
    if (!isObject(data)) return undefined; // tfjs throws on it: no loop
    const config = isObject(data.config) ? data.config : {};
    const inbound = data.inbound_nodes ?? data.inboundNodes;
    // tfjs throws on these; any other input entry (even a string or a number) it indexes as [name, node, ...].
    if (!Array.isArray(inbound) || !inbound.every((node) => Array.isArray(node) && node.every((input) => input != null))) return undefined;
    const name = config.name == null ? `\u0000unnamed ${i}` : String(config.name);
    // An InputLayer, and a model used as a layer, make their first node when they are built.
    const className = data.class_name ?? data.className;
    nodeCounts.set(String(data.name), { name, nodes: className === 'InputLayer' || Array.isArray(config.layers) ? 1 : 0 });
    queue.set(name, [...(queue.get(name) ?? []), ...(inbound as Json[][])]);
  }
  for (let pending = true; pending; ) {
    let progress = false;
    let blocked = ''; // the first call of the pass that waits: the earliest layer, where a chain of waits starts
    for (const data of layers as Record<string, Json>[]) {
      const layer = nodeCounts.get(String(data.name)) as { readonly name: string; nodes: number };
      const nodes = queue.get(layer.name) ?? [];
      queue.set(layer.name, []);
      for (const node of nodes) {
        const waiting = (node as Record<number, Json>[]).find((input) => {
          const from = nodeCounts.get(String(input[0]));
          // tfjs's own test, `inboundNodes.length <= nodeIndex`, with JavaScript's coercions.
          return from === undefined || (from.nodes as unknown as string) <= (input[1] as string);
        });
        if (waiting !== undefined && !nodeCounts.has(String(waiting[0])) && String(waiting[0]) in {}) return undefined; // tfjs throws
        if (waiting === undefined) {
          progress = true;
          if (node.length > 0) layer.nodes++;
        } else {
          queue.get(layer.name)?.push(node);
          blocked ||= `'${layer.name}' (input '${String(waiting[0])}' node ${String(waiting[1])})`;
        }
      }
    }
    pending = [...queue.values()].some((nodes) => nodes.length > 0);
    if (pending && !progress) return blocked;
  }
  return undefined;
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
  const stuck = unreachableLayerCall(topology);
  if (stuck !== undefined) {
    throw new LoadError(`${call}: ${where} cannot be built: layer ${stuck} calls a layer or node that the topology never makes`);
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

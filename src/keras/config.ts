/**
 * Translates a Keras model config (Keras 3 `config.json` / `model_config`, or Keras 2) into the Keras 2 topology
 * JSON that tfjs-layers deserialises. Internal.
 *
 * Keras 3 differs from what tfjs reads in: serialized objects carry `module`/`registered_name`, dtypes are
 * `DTypePolicy` objects, `InputLayer` has `batch_shape`, inbound nodes are `{args, kwargs}` with `__keras_tensor__`
 * references, single model inputs/outputs are not wrapped in a list, and the functional class is `Functional`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { IncompatibleModelError, LoadError } from '../errors';
import { rewriteForInference, type WeightsOf } from './preprocessing';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const ACTIVATIONS: Record<string, string> = {
  silu: 'swish',
  hard_sigmoid: 'hardSigmoid',
  log_softmax: 'logSoftmax',
};

/** Layer classes whose Keras 3 name differs from tfjs's. */
const CLASS_ALIASES: Record<string, string> = { Functional: 'Model' };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function registered(className: string): boolean {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
  return map[className] !== undefined;
}

/** Options of {@link translateModelConfig}. */
export interface TranslateOptions {
  /** Values of a layer's weights in the weights file, by layer name (a `Normalization` folds them into its config). */
  readonly weightsOf?: WeightsOf;
  /** Receives the names of the layers whose file weights were folded into the topology. */
  readonly folded?: string[];
}

/** What the translation of one model needs along the way. */
interface Context {
  readonly call: string;
  readonly unsupported: string[];
  readonly weightsOf: WeightsOf;
  readonly folded: string[];
}

/**
 * Translates the whole model config; throws IncompatibleModelError naming every layer tfjs cannot build. Keras
 * preprocessing and augmentation layers become what they compute at inference (see preprocessing.ts).
 */
export function translateModelConfig(call: string, config: unknown, options: TranslateOptions = {}): JsonObject {
  if (!isObject(config) || typeof config.class_name !== 'string' || !isObject(config.config)) {
    throw new LoadError(`${call}: the model config has no class_name/config (not a Keras model config)`);
  }
  const unsupported: string[] = [];
  const context: Context = { call, unsupported, weightsOf: options.weightsOf ?? (() => undefined), folded: options.folded ?? [] };
  const model = translateModel(context, config);
  if (unsupported.length > 0) {
    throw new IncompatibleModelError(
      `${call}: tfjs-layers cannot build ${unsupported.length === 1 ? 'layer' : 'layers'} ${unsupported.join(', ')}`,
    );
  }
  return model;
}

function translateModel(context: Context, entry: JsonObject): JsonObject {
  const { call } = context;
  const className = entry.class_name as string;
  const config = entry.config as JsonObject;
  if (className === 'Sequential') return translateSequential(context, entry);
  if (className !== 'Functional' && className !== 'Model') {
    throw new IncompatibleModelError(`${call}: the model is a ${className}; only Functional and Sequential models load`);
  }
  const layers = (Array.isArray(config.layers) ? config.layers : []).filter(isObject);
  // Keras 2 (and tfjs) give a nested model an extra node 0 of its own, so its first call is node 1; Keras 3 counts
  // from 0. Shift references to nested models written by Keras 3 (whose inbound nodes are {args, kwargs}).
  const keras3 = layers.some((l) => Array.isArray(l.inbound_nodes) && l.inbound_nodes.some((n) => isObject(n)));
  const nested = new Set(
    layers
      .filter((l) => l.class_name === 'Functional' || l.class_name === 'Sequential' || l.class_name === 'Model')
      .map((l) => (isObject(l.config) && typeof l.config.name === 'string' ? l.config.name : l.name)),
  );
  const shift = keras3 ? nested : new Set<Json | undefined>();
  // Layers removed at inference: consumers of their outputs read their inputs instead.
  const removed = new Map<string, Json[]>();
  const kept: JsonObject[] = [];
  for (const layer of layers) {
    const name = layerNameOf(layer);
    const rewrite = rewriteForInference(layer, context.weightsOf);
    if (rewrite.kind === 'drop') {
      removed.set(name, translateInbound(layer.inbound_nodes, shift));
      continue;
    }
    if (rewrite.kind === 'refuse') {
      context.unsupported.push(`'${name}' (${rewrite.reason})`);
      continue;
    }
    if (rewrite.kind === 'replace') {
      if (rewrite.folded) context.folded.push(name);
      kept.push({ class_name: rewrite.className, config: rewrite.config, name, inbound_nodes: translateInbound(layer.inbound_nodes, shift) });
      continue;
    }
    kept.push(translateLayerEntry(context, layer, true, shift));
  }
  const bypass = (ref: Json): Json => bypassRemoved(context, ref, removed, shift);
  for (const layer of kept) {
    if (Array.isArray(layer.inbound_nodes)) {
      layer.inbound_nodes = layer.inbound_nodes.map((node) => (Array.isArray(node) ? node.map(bypass) : node));
    }
  }
  return {
    class_name: 'Model',
    config: {
      name: config.name ?? 'model',
      layers: kept,
      input_layers: listOfRefs(config.input_layers).map((r) => shiftRef(r, shift)),
      output_layers: listOfRefs(config.output_layers).map((r) => bypass(shiftRef(r, shift))),
    },
  };
}

function layerNameOf(entry: JsonObject): string {
  const config = isObject(entry.config) ? entry.config : {};
  return typeof config.name === 'string' ? config.name : typeof entry.name === 'string' ? entry.name : '?';
}

/**
 * A reference `[name, node, tensor, kwargs?]` to the output of a removed layer, replaced by that layer's own input
 * (through chains of removed layers); the consumer's kwargs stay.
 */
function bypassRemoved(context: Context, ref: Json, removed: ReadonlyMap<string, Json[]>, shift: ReadonlySet<Json | undefined>): Json {
  let current = ref;
  for (let depth = 0; depth < 1000; depth++) {
    if (!Array.isArray(current) || typeof current[0] !== 'string') return current;
    const nodes = removed.get(current[0]);
    if (nodes === undefined) return current;
    // References to nested models were shifted by one node; the removed model's own node list was not.
    const index = (current[1] as number) - (shift.has(current[0]) ? 1 : 0);
    const node = nodes[index];
    const input = Array.isArray(node) && node.length === 1 ? node[0] : undefined;
    if (!Array.isArray(input)) {
      context.unsupported.push(`'${current[0]}' (a layer removed at inference whose call has ${Array.isArray(node) ? node.length : 0} inputs)`);
      return current;
    }
    current = [input[0] ?? null, input[1] ?? 0, input[2] ?? 0, ...current.slice(3)];
  }
  return current;
}

/** `[name, nodeIndex, tensorIndex, ...]` with nodeIndex + 1 when `name` is a nested model in `shift`. */
function shiftRef(ref: Json, shift: ReadonlySet<Json | undefined>): Json {
  if (!Array.isArray(ref) || !shift.has(ref[0]) || typeof ref[1] !== 'number') return ref;
  return [ref[0] as Json, ref[1] + 1, ...ref.slice(2)];
}

function translateSequential(context: Context, entry: JsonObject): JsonObject {
  const config = entry.config as JsonObject;
  const raw = (Array.isArray(config.layers) ? config.layers : []).filter(isObject);
  let batchShape: Json | undefined;
  const layers: JsonObject[] = [];
  for (const l of raw) {
    const layerConfig = isObject(l.config) ? l.config : {};
    if (l.class_name === 'InputLayer') {
      batchShape = layerConfig.batch_shape ?? layerConfig.batch_input_shape;
      continue;
    }
    const rewrite = rewriteForInference(l, context.weightsOf);
    let t: JsonObject;
    if (rewrite.kind === 'drop') {
      // A removed first layer may have carried the model's input shape (Keras 2 Sequential without an InputLayer).
      if (layers.length === 0) batchShape ??= layerConfig.batch_shape ?? layerConfig.batch_input_shape;
      continue;
    } else if (rewrite.kind === 'refuse') {
      context.unsupported.push(`'${layerNameOf(l)}' (${rewrite.reason})`);
      continue;
    } else if (rewrite.kind === 'replace') {
      if (rewrite.folded) context.folded.push(layerNameOf(l));
      t = { class_name: rewrite.className, config: { ...rewrite.config } };
    } else {
      t = translateLayerEntry(context, l, false);
    }
    if (layers.length === 0 && batchShape !== undefined && isObject(t.config)) t.config.batch_input_shape = batchShape;
    layers.push(t);
  }
  if (layers.length === 0 && context.unsupported.length === 0) throw new LoadError(`${context.call}: the Sequential model has no layers`);
  const first = layers[0];
  if (first !== undefined && isObject(first.config) && first.config.batch_input_shape === undefined) {
    const build = isObject(config.build_input_shape) ? undefined : config.build_input_shape;
    if (build !== undefined) first.config.batch_input_shape = build;
  }
  return { class_name: 'Sequential', config: { name: config.name ?? 'sequential', layers } };
}

/** `["in", 0, 0]` or `[["in", 0, 0], ...]` -> always the list form. */
function listOfRefs(v: Json | undefined): Json[] {
  if (!Array.isArray(v)) return [];
  if (v.length === 3 && typeof v[0] === 'string') return [v];
  return v;
}

function translateLayerEntry(
  context: Context,
  entry: JsonObject,
  functional: boolean,
  shift: ReadonlySet<Json | undefined> = new Set(),
): JsonObject {
  const { unsupported } = context;
  const rawClass = typeof entry.class_name === 'string' ? entry.class_name : '?';
  const config = isObject(entry.config) ? entry.config : {};
  const layerName = typeof config.name === 'string' ? config.name : typeof entry.name === 'string' ? entry.name : '?';
  if (rawClass === 'Functional' || rawClass === 'Sequential' || rawClass === 'Model') {
    const nested = translateModel(context, entry);
    if (functional) {
      nested.name = layerName;
      nested.inbound_nodes = translateInbound(entry.inbound_nodes, shift);
    }
    return nested;
  }
  const className = CLASS_ALIASES[rawClass] ?? rawClass;
  if (!registered(className)) unsupported.push(`'${layerName}' (${rawClass})`);
  const out: JsonObject = { class_name: className, config: translateLayerConfig(className, layerName, config, unsupported) };
  if (functional) {
    out.name = layerName;
    out.inbound_nodes = translateInbound(entry.inbound_nodes, shift);
  }
  return out;
}

function translateLayerConfig(
  className: string,
  layerName: string,
  config: JsonObject,
  unsupported: string[],
): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.endsWith('_initializer')) continue; // weights come from the file; tfjs defaults suffice
    if (key === 'build_config' || key === 'compile_config' || key === 'shared_object_id') continue;
    if (key === 'dtype') {
      const dtype = policyName(value);
      if (dtype !== 'float32') unsupported.push(`'${layerName}' (dtype ${String(dtype)}; only float32 loads)`);
      out.dtype = 'float32';
      continue;
    }
    if (key === 'batch_shape') {
      out.batch_input_shape = value;
      continue;
    }
    if (key === 'activation') {
      const name = typeof value === 'string' ? value : isObject(value) ? (value.config as Json) : null;
      if (typeof name !== 'string') {
        unsupported.push(`'${layerName}' (custom activation)`);
        continue;
      }
      const mapped = ACTIVATIONS[name] ?? name;
      if (!registered(mapped)) unsupported.push(`'${layerName}' (activation ${name})`);
      out.activation = mapped;
      continue;
    }
    out[key] = translateObject(value);
  }
  if (className === 'ReLU') {
    const slope = config.negative_slope ?? 0;
    const threshold = config.threshold ?? 0;
    if (slope !== 0 || threshold !== 0) unsupported.push(`'${layerName}' (ReLU with negative_slope or threshold)`);
  }
  return out;
}

/** Keras 3 serialized objects (`{module, class_name, config, registered_name}`) -> `{class_name, config}`. */
function translateObject(value: Json): Json {
  if (Array.isArray(value)) return value.map(translateObject);
  if (!isObject(value)) return value;
  if (typeof value.class_name === 'string' && 'config' in value) {
    const cls = value.class_name;
    const cfg = isObject(value.config) ? value.config : {};
    if (cls === 'L2' || cls === 'L1') {
      return { class_name: 'L1L2', config: { l1: cls === 'L1' ? (cfg.l1 ?? 0) : 0, l2: cls === 'L2' ? (cfg.l2 ?? 0) : 0 } };
    }
    return { class_name: cls, config: translateObject(cfg) };
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = translateObject(v);
  return out;
}

function policyName(value: Json | undefined): string | null {
  if (value === undefined || value === null) return 'float32';
  if (typeof value === 'string') return value;
  if (isObject(value) && isObject(value.config) && typeof value.config.name === 'string') return value.config.name;
  return null;
}

/** Keras 3 `{args, kwargs}` nodes -> Keras 2 `[[name, nodeIndex, tensorIndex, {}], ...]`; Keras 2 nodes pass through. */
function translateInbound(nodes: Json | undefined, shift: ReadonlySet<Json | undefined>): Json[] {
  if (!Array.isArray(nodes)) return [];
  return nodes.map((node) => {
    if (Array.isArray(node)) return node;
    const refs: Json[] = [];
    const collect = (v: Json | undefined): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (isObject(v)) {
        if (v.class_name === '__keras_tensor__' && isObject(v.config) && Array.isArray(v.config.keras_history)) {
          const [name, nodeIndex, tensorIndex] = v.config.keras_history;
          refs.push(shiftRef([name ?? null, nodeIndex ?? 0, tensorIndex ?? 0, {}], shift));
        } else {
          Object.values(v).forEach(collect);
        }
      }
    };
    collect(isObject(node) ? node.args : undefined);
    return refs;
  });
}

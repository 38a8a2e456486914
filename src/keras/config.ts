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

/** Translates the whole model config; throws IncompatibleModelError naming every layer tfjs cannot build. */
export function translateModelConfig(call: string, config: unknown): JsonObject {
  if (!isObject(config) || typeof config.class_name !== 'string' || !isObject(config.config)) {
    throw new LoadError(`${call}: the model config has no class_name/config (not a Keras model config)`);
  }
  const unsupported: string[] = [];
  const model = translateModel(call, config, unsupported);
  if (unsupported.length > 0) {
    throw new IncompatibleModelError(
      `${call}: tfjs-layers cannot build ${unsupported.length === 1 ? 'layer' : 'layers'} ${unsupported.join(', ')}`,
    );
  }
  return model;
}

function translateModel(call: string, entry: JsonObject, unsupported: string[]): JsonObject {
  const className = entry.class_name as string;
  const config = entry.config as JsonObject;
  if (className === 'Sequential') return translateSequential(call, entry, unsupported);
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
  return {
    class_name: 'Model',
    config: {
      name: config.name ?? 'model',
      layers: layers.map((l) => translateLayerEntry(call, l, unsupported, true, shift)),
      input_layers: listOfRefs(config.input_layers).map((r) => shiftRef(r, shift)),
      output_layers: listOfRefs(config.output_layers).map((r) => shiftRef(r, shift)),
    },
  };
}

/** `[name, nodeIndex, tensorIndex, ...]` with nodeIndex + 1 when `name` is a nested model in `shift`. */
function shiftRef(ref: Json, shift: ReadonlySet<Json | undefined>): Json {
  if (!Array.isArray(ref) || !shift.has(ref[0]) || typeof ref[1] !== 'number') return ref;
  return [ref[0] as Json, ref[1] + 1, ...ref.slice(2)];
}

function translateSequential(call: string, entry: JsonObject, unsupported: string[]): JsonObject {
  const config = entry.config as JsonObject;
  const raw = (Array.isArray(config.layers) ? config.layers : []).filter(isObject);
  let batchShape: Json | undefined;
  const layers: JsonObject[] = [];
  for (const l of raw) {
    if (l.class_name === 'InputLayer' && isObject(l.config)) {
      batchShape = l.config.batch_shape ?? l.config.batch_input_shape;
      continue;
    }
    const t = translateLayerEntry(call, l, unsupported, false);
    if (layers.length === 0 && batchShape !== undefined && isObject(t.config)) t.config.batch_input_shape = batchShape;
    layers.push(t);
  }
  if (layers.length === 0 && unsupported.length === 0) throw new LoadError(`${call}: the Sequential model has no layers`);
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
  call: string,
  entry: JsonObject,
  unsupported: string[],
  functional: boolean,
  shift: ReadonlySet<Json | undefined> = new Set(),
): JsonObject {
  const rawClass = typeof entry.class_name === 'string' ? entry.class_name : '?';
  const config = isObject(entry.config) ? entry.config : {};
  const layerName = typeof config.name === 'string' ? config.name : typeof entry.name === 'string' ? entry.name : '?';
  if (rawClass === 'Functional' || rawClass === 'Sequential' || rawClass === 'Model') {
    const nested = translateModel(call, entry, unsupported);
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

/**
 * Runs a tfjs-layers graph on concrete tensors with `training: false` passed to every layer, nested models included.
 * tfjs's own `Container.call` would replay the kwargs recorded when the graph was built, and tfjs 4.22's training
 * executor overrides them with `training: true` inside `fit`; this walk never does, so BatchNormalization always
 * normalises with (and never updates) its moving statistics.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type GraphNode = tfl.LayersModel['nodesByDepth'][string][number];

/** The part of a container this walk reads: its symbolic inputs and outputs and its nodes by depth. */
export type InferenceGraph = Pick<tfl.LayersModel, 'inputs' | 'outputs' | 'nodesByDepth' | 'name'>;

/**
 * Runs `container` on `inputs` (one per container input) in inference mode and returns its outputs. Not tidied: the
 * caller tidies. Throws a plain Error when the inputs do not match (callers validate first).
 */
export function runInference(container: InferenceGraph, inputs: readonly tf.Tensor[]): tf.Tensor[] {
  if (inputs.length !== container.inputs.length) {
    throw new Error(`runInference: ${container.name} takes ${container.inputs.length} inputs, got ${inputs.length}`);
  }
  const values = new Map<number, tf.Tensor>();
  container.inputs.forEach((sym, i) => values.set(sym.id, inputs[i] as tf.Tensor));
  const depths = Object.keys(container.nodesByDepth)
    .map((d) => Number(d))
    .sort((a, b) => b - a);
  for (const depth of depths) {
    for (const node of container.nodesByDepth[String(depth)] ?? []) runNode(node, values);
  }
  return container.outputs.map((sym) => {
    const value = values.get(sym.id);
    if (value === undefined) throw new Error(`runInference: output ${sym.name} of ${container.name} was not computed`);
    return value;
  });
}

function runNode(node: GraphNode, values: Map<number, tf.Tensor>): void {
  if (node.inboundLayers.length === 0) return; // an InputLayer: its value was fed
  const layer = node.outboundLayer;
  const ins: tf.Tensor[] = [];
  for (const sym of node.inputTensors) {
    const v = values.get(sym.id);
    if (v === undefined) return; // a branch that does not feed this container's outputs
    ins.push(v);
  }
  if (ins.length === 0) return;
  let outs: tf.Tensor[];
  if (layer instanceof tfl.LayersModel) {
    outs = runInference(layer, ins);
  } else {
    const kwargs: Record<string, unknown> = { ...(node.callArgs ?? {}), training: false };
    delete kwargs['mask'];
    const result = layer.call(ins.length === 1 ? (ins[0] as tf.Tensor) : ins, kwargs);
    outs = Array.isArray(result) ? result : [result];
  }
  node.outputTensors.forEach((sym, i) => {
    const out = outs[i];
    if (out !== undefined) values.set(sym.id, out);
  });
}

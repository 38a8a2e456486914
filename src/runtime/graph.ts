/**
 * Flattens a tfjs-layers model (any DAG, nested models included) into a topologically ordered list of layer calls
 * over numbered value slots. The frozen executor plans its fused ops on this list.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError } from '../errors';

/** A value in the flattened graph: the index of the tensor it holds at run time. */
export type Slot = number;

/** One call of one layer in the flattened graph. */
export interface GraphNode {
  /** The layer called (never a nested model: those are expanded). */
  readonly layer: tfl.layers.Layer;
  /** Keyword arguments recorded when the model was built (e.g. from a functional call). */
  readonly callArgs: Readonly<Record<string, unknown>>;
  /** Slots read, in the layer's input order. */
  readonly inputs: readonly Slot[];
  /** Slots written, in the layer's output order. */
  readonly outputs: readonly Slot[];
  /** Rank of each output (batch axis included). */
  readonly outputRanks: readonly number[];
}

/** A model as a flat list of layer calls. */
export interface FlatGraph {
  /** Slots holding the model inputs, in `model.inputs` order. */
  readonly inputs: readonly Slot[];
  /** Slots holding the model outputs, in `model.outputs` order. */
  readonly outputs: readonly Slot[];
  /** Layer calls in an order where every input slot is written before it is read. */
  readonly nodes: readonly GraphNode[];
  /** Number of slots used. */
  readonly slotCount: number;
}

/** Minimal view of tfjs-layers' symbolic tensors and nodes (public fields of their classes). */
interface SymbolicLike {
  readonly id: number;
  readonly sourceLayer: tfl.layers.Layer;
  readonly nodeIndex: number;
  readonly shape: readonly (number | null)[];
}
interface NodeLike {
  readonly inputTensors: readonly SymbolicLike[];
  readonly outputTensors: readonly SymbolicLike[];
  readonly callArgs?: Record<string, unknown>;
}

/**
 * Flattens `model` into layer calls. Nested models (functional or sequential) are expanded in place, so the result
 * only holds leaf layers.
 *
 * @throws IncompatibleModelError when the model's graph cannot be walked (a layer with no recorded call).
 */
export function flattenModel(model: tfl.LayersModel, call: string): FlatGraph {
  const nodes: GraphNode[] = [];
  let slotCount = 0;
  const newSlot = (): Slot => slotCount++;
  const inputs = model.inputs.map(() => newSlot());
  const outputs = expand(model, inputs);
  return { inputs, outputs, nodes, slotCount };

  function expand(container: tfl.LayersModel, inputSlots: readonly Slot[]): Slot[] {
    // Symbolic tensors are objects of this container's graph: a container used twice gets fresh slots each time.
    const slotOf = new Map<number, Slot>();
    const containerInputs = container.inputs as unknown as SymbolicLike[];
    if (containerInputs.length !== inputSlots.length) {
      throw new IncompatibleModelError(
        `${call}: nested model '${container.name}' takes ${containerInputs.length} inputs but is called with ${inputSlots.length}`,
      );
    }
    containerInputs.forEach((t, i) => slotOf.set(t.id, inputSlots[i] as Slot));
    const visiting = new Set<number>();

    const visit = (t: SymbolicLike): Slot => {
      const known = slotOf.get(t.id);
      if (known !== undefined) return known;
      const layer = t.sourceLayer;
      const node = (layer.inboundNodes as unknown as NodeLike[])[t.nodeIndex];
      if (node === undefined || node.inputTensors.length === 0) {
        throw new IncompatibleModelError(
          `${call}: layer '${layer.name}' produces a tensor of model '${container.name}' that is not one of its inputs`,
        );
      }
      if (visiting.has(t.id)) {
        throw new IncompatibleModelError(`${call}: model '${container.name}' has a cycle at layer '${layer.name}'`);
      }
      visiting.add(t.id);
      const inSlots = node.inputTensors.map(visit);
      let outSlots: Slot[];
      if (layer instanceof tfl.LayersModel) {
        outSlots = expand(layer, inSlots);
      } else {
        outSlots = node.outputTensors.map(() => newSlot());
        nodes.push({
          layer,
          callArgs: node.callArgs ?? {},
          inputs: inSlots,
          outputs: outSlots,
          outputRanks: node.outputTensors.map((o) => o.shape.length),
        });
      }
      node.outputTensors.forEach((o, i) => slotOf.set(o.id, outSlots[i] as Slot));
      visiting.delete(t.id);
      const slot = slotOf.get(t.id);
      if (slot === undefined) {
        throw new IncompatibleModelError(`${call}: layer '${layer.name}' does not produce the tensor the model reads`);
      }
      return slot;
    };
    return (container.outputs as unknown as SymbolicLike[]).map(visit);
  }
}

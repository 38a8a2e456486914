/**
 * A tfjs-converter GraphModel as a layer: lets Wrapper put a graph model under a trainable head and still return a
 * LayersModel. The graph has no trainable weights, so it is frozen by construction; it cannot be serialised.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UnsupportedError } from '../errors';
import type { GraphModelLike } from './base-spec';

type Kwargs = Record<string, unknown>;

/** Runs `graph` on the first input and returns `outputNode` (or the graph's first output). */
export function runGraph(graph: GraphModelLike, images: tf.Tensor, outputNode: string | undefined): tf.Tensor {
  const out = graph.execute(images, outputNode ?? (graph.outputs[0] as { name: string }).name);
  return Array.isArray(out) ? (out[0] as tf.Tensor) : out;
}

/** Layer wrapping a graph model. */
export class GraphBaseLayer extends tfl.layers.Layer {
  /** Serialization name (the layer refuses to serialise; see getConfig). */
  static className = 'TlKitGraphBase';
  private readonly graph: GraphModelLike;
  private readonly outputNode: string | undefined;
  private readonly outShape: (number | null)[];

  constructor(graph: GraphModelLike, outputNode: string | undefined, outputShape: readonly (number | null)[]) {
    super({ name: 'tlkit_graph_base', trainable: false });
    this.graph = graph;
    this.outputNode = outputNode;
    this.outShape = [null, ...outputShape.slice(1)];
  }

  override computeOutputShape(): (number | null)[] {
    return this.outShape.slice();
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => runGraph(this.graph, Array.isArray(inputs) ? (inputs[0] as tf.Tensor) : inputs, this.outputNode));
  }

  override getConfig(): never {
    throw new UnsupportedError(
      'Wrapper: a model over a GraphModel base cannot be serialised as a whole; save its head (the trained layers) and reload the graph base separately',
    );
  }
}

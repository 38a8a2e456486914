/**
 * A tfjs-converter GraphModel as a layer: lets Wrapper put a graph model under a trainable head and still return a
 * LayersModel. The graph has no trainable weights, so it is frozen by construction. It cannot be serialised inside a
 * layers model: `saveClassifier` saves the head as a standard model and the graph beside it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import { UnsupportedError } from '../errors';
import { runGraph } from '../runtime/tfjs-runtimes';
import type { EngineChoice } from '../runtime/types';
import type { GraphModelLike } from './base-spec';

type Kwargs = Record<string, unknown>;

/** Layer wrapping a graph model. */
export class GraphBaseLayer extends tfl.layers.Layer {
  /** Class name (the layer refuses to serialise; see getConfig). */
  static className = 'TlKitGraphBase';
  /** The graph model; it stays the caller's. */
  readonly graph: GraphModelLike;
  /** The graph node used as features, or the graph's first output. */
  readonly outputNode: string | undefined;
  /** Name of the base, when known. */
  baseName: string | undefined;
  /** Pixel preprocessing the base expects, when known. */
  preprocessing: PreprocessingMode | undefined;
  /** The engine the pipeline runs this base on (graph models run on tfjs). */
  engine: EngineChoice = 'auto';
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
      'a Wrapper model over a GraphModel base cannot be serialised as one layers model; saveClassifier saves its head and the graph side by side',
    );
  }
}

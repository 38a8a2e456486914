/**
 * How a Wrapper-shaped model decomposes into a frozen base, global pooling and a trainable head, read from the model
 * itself: its layers and how they connect. A model made by `Wrapper`, one reloaded by `loadClassifier` or plain
 * `tf.loadLayersModel`, and one a user built by hand all qualify when they have that shape:
 *
 * - input -> a nested base model (or a GraphModel base layer) -> [global pooling] -> head layers, in a chain;
 * - or, flat: input -> any layers -> global pooling -> head layers (the base is everything before the pooling).
 *
 * The view owns no tensors: it is cached per model (a WeakMap, nothing more) and never needs disposing.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { PreprocessingMode } from '../data/types';
import { disposedError } from '../errors';
import { runInference } from '../runtime/layers-inference';
import { poolFeatures } from '../runtime/runtime-base';
import { runGraph } from '../runtime/tfjs-runtimes';
import type { EngineChoice, Pooling } from '../runtime/types';
import type { GraphModelLike } from './base-spec';
import type { OnnxBaseModel } from '../runtime/onnx/base-model';
import { GraphBaseLayer } from './graph-base';
import { InferenceBase } from './inference-base';
import { OnnxBaseLayer } from './onnx-base-layer';

/** The frozen base of a Wrapper-shaped model. */
export type ViewBase =
  | {
      readonly kind: 'layers';
      /** The base as a container: the nested model, or a container over the flat model's layers before pooling. */
      readonly container: tfl.LayersModel;
      /** The base's own layers, input layers excluded, in graph order (what `unfreeze` counts). */
      readonly layers: readonly tfl.layers.Layer[];
      /** tl-kit's inference-mode base, when the model has one (it keeps a fused executor current with its weights). */
      readonly inference: InferenceBase | undefined;
    }
  | {
      readonly kind: 'graph';
      readonly graph: GraphModelLike;
      readonly outputNode: string | undefined;
      readonly layer: GraphBaseLayer;
    }
  | {
      readonly kind: 'onnx';
      readonly onnx: OnnxBaseModel;
      readonly layer: OnnxBaseLayer;
    };

/** A Wrapper-shaped model, decomposed. */
export interface WrapperView {
  /** The model described. */
  readonly model: tfl.LayersModel;
  /** The frozen base. */
  readonly base: ViewBase;
  /** Global pooling between base and head (`'none'` when the base outputs feature vectors). */
  readonly pooling: Pooling;
  /** The base's layers (input layers excluded) in graph order; empty for a graph-model base. */
  readonly baseLayers: readonly tfl.layers.Layer[];
  /** The head's layers, from the pooled features to the output, in order. */
  readonly headLayers: readonly tfl.layers.Layer[];
  /** Length of the pooled feature vector. */
  readonly featureSize: number;
  /** Classes the head predicts (2 for one sigmoid unit). */
  readonly numClasses: number;
  /** `[height, width, channels]` the model takes. */
  readonly inputShape: readonly [number, number, number];
  /** Name of the base, when the model knows it. */
  readonly baseName: string | undefined;
  /** Pixel preprocessing the base expects, when the model knows it. */
  readonly preprocessing: PreprocessingMode | undefined;
  /** The engine chosen for the base (`'auto'` unless the Wrapper or loader was told otherwise). */
  readonly engine: EngineChoice;
  /** ONNX Runtime execution providers chosen for the base, when any. */
  readonly executionProviders: readonly unknown[] | undefined;
  /** True while no base weight is trainable: features can then be cached. */
  isBaseFrozen(): boolean;
  /**
   * The base's output in inference mode on concrete images, synchronously (fused where the model keeps an executor;
   * layer by layer under a gradient tape when base weights train). Not tidied.
   */
  runBase(images: tf.Tensor4D): tf.Tensor;
  /** Pools a base output to `[batch, featureSize]`. Not tidied. */
  pool(baseOutput: tf.Tensor): tf.Tensor2D;
  /** The head on pooled features; `training` switches Dropout on. Not tidied. */
  runHead(features: tf.Tensor, training: boolean): tf.Tensor;
  /** The head's trainable variables, in layer order. */
  headVariables(): tf.Variable[];
  /** Regularization penalties of the head's layers. */
  headPenalties(): tf.Scalar[];
}

const POOLING: Readonly<Record<string, 'avg' | 'max'>> = {
  GlobalAveragePooling2D: 'avg',
  GlobalMaxPooling2D: 'max',
  GlobalAveragePooling1D: 'avg',
  GlobalMaxPooling1D: 'max',
};

/** Minimal view of tfjs-layers' symbolic tensors and nodes (public fields of their classes). */
interface SymbolicLike {
  readonly id: number;
  readonly sourceLayer: tfl.layers.Layer;
  readonly nodeIndex: number;
  readonly shape: readonly (number | null)[];
}
interface NodeLike {
  readonly inputTensors: readonly SymbolicLike[];
}

const cache = new WeakMap<tfl.LayersModel, WrapperView | null>();

/**
 * The decomposition of `model`, or undefined when it is not Wrapper-shaped. Cached per model (its structure never
 * changes; trainable flags are read live).
 */
export function describeWrapper(model: tfl.LayersModel): WrapperView | undefined {
  if (!(model instanceof tfl.LayersModel)) return undefined;
  const known = cache.get(model);
  if (known !== undefined) return known ?? undefined;
  const view = decompose(model);
  cache.set(model, view ?? null);
  return view;
}

/** True when any weight of `model` was disposed (`model.dispose()` frees them all). */
export function isModelDisposed(model: tfl.LayersModel): boolean {
  for (const w of model.weights) {
    try {
      if (w.read().isDisposed) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** Throws the `DISPOSED` error when `model` was disposed: before a call allocates anything. */
export function checkNotDisposed(call: string, model: tfl.LayersModel): void {
  if (isModelDisposed(model)) throw disposedError(call, `the model '${model.name}'`);
}

function inboundNode(t: SymbolicLike): NodeLike | undefined {
  return (t.sourceLayer.inboundNodes as unknown as NodeLike[])[t.nodeIndex];
}

function decompose(model: tfl.LayersModel): WrapperView | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const input = model.inputs[0] as unknown as SymbolicLike;
  const inputShape = input.shape.slice(1);
  if (inputShape.length !== 3 || inputShape.some((d) => d === null)) return undefined;
  // Walk back from the output through a chain of single-input layers to the pooling (or the base).
  const head: tfl.layers.Layer[] = [];
  let t = model.outputs[0] as unknown as SymbolicLike;
  let poolLayer: tfl.layers.Layer | undefined;
  for (;;) {
    const layer = t.sourceLayer;
    if (layer === input.sourceLayer) return undefined;
    if (layer instanceof tfl.LayersModel || layer instanceof GraphBaseLayer || layer instanceof OnnxBaseLayer) break;
    const node = inboundNode(t);
    if (node === undefined || node.inputTensors.length !== 1) return undefined;
    if (POOLING[layer.getClassName()] !== undefined) {
      poolLayer = layer;
      t = node.inputTensors[0] as SymbolicLike;
      break;
    }
    head.unshift(layer);
    t = node.inputTensors[0] as SymbolicLike;
  }
  if (head.length === 0) return undefined;
  const base = baseOf(model, t, input, poolLayer !== undefined);
  if (base === undefined) return undefined;
  const baseOut = t.shape;
  const pooling: Pooling = poolLayer ? (POOLING[poolLayer.getClassName()] as 'avg' | 'max') : 'none';
  const featureSize = poolLayer ? baseOut[baseOut.length - 1] : baseOut[1];
  if (typeof featureSize !== 'number' || (!poolLayer && baseOut.length !== 2)) return undefined;
  const outShape = (model.outputs[0] as unknown as SymbolicLike).shape;
  const units = outShape[outShape.length - 1];
  if (outShape.length !== 2 || typeof units !== 'number') return undefined;
  const owner = base.kind === 'layers' ? base.inference : base.layer;
  const isBaseFrozen = (): boolean => (base.kind === 'layers' ? base.container.trainableWeights.length === 0 : true);
  return {
    model,
    base,
    pooling,
    baseLayers: base.kind === 'layers' ? base.layers : [],
    headLayers: head,
    featureSize,
    numClasses: units === 1 ? 2 : units,
    inputShape: inputShape as [number, number, number],
    get baseName() {
      return owner?.baseName;
    },
    get preprocessing() {
      return owner?.preprocessing;
    },
    get engine() {
      return owner?.engine ?? 'auto';
    },
    get executionProviders() {
      return base.kind === 'graph' ? undefined : base.kind === 'layers' ? base.inference?.executionProviders : base.layer.executionProviders;
    },
    isBaseFrozen,
    runBase: (images) => {
      if (base.kind === 'onnx') return base.layer.call();
      if (base.kind === 'graph') return runGraph(base.graph, images, base.outputNode);
      if (base.inference) return base.inference.runFrozen([images])[0] as tf.Tensor;
      return runInference(base.container, [images])[0] as tf.Tensor;
    },
    pool: (out) => poolFeatures(out, pooling),
    runHead: (features, training) => head.reduce((x, layer) => layer.apply(x, { training }) as tf.Tensor, features),
    headVariables: () => head.flatMap((l) => l.trainableWeights).map((w) => w.read() as tf.Variable),
    headPenalties: () => head.flatMap((l) => l.calculateLosses()),
  };
}

/** The base feeding `t`: a nested model or graph layer applied to the input, or the flat layers before pooling. */
function baseOf(model: tfl.LayersModel, t: SymbolicLike, input: SymbolicLike, pooled: boolean): ViewBase | undefined {
  const layer = t.sourceLayer;
  const node = inboundNode(t);
  const fedByInput = node !== undefined && node.inputTensors.length === 1 && node.inputTensors[0]?.id === input.id;
  if (layer instanceof GraphBaseLayer) {
    return fedByInput ? { kind: 'graph', graph: layer.graph, outputNode: layer.outputNode, layer } : undefined;
  }
  if (layer instanceof OnnxBaseLayer) return fedByInput ? { kind: 'onnx', onnx: layer.onnx, layer } : undefined;
  if (layer instanceof tfl.LayersModel && fedByInput && layer.outputs.length === 1) {
    return {
      kind: 'layers',
      container: layer,
      layers: layer.layers.filter((l) => l.getClassName() !== 'InputLayer'),
      inference: layer instanceof InferenceBase ? layer : undefined,
    };
  }
  if (!pooled) return undefined;
  // Flat: everything from the input to the pooling's input is the base. A container over those layers allocates
  // nothing and leaves the layers to the model.
  let container: tfl.LayersModel;
  try {
    container = tfl.model({ inputs: model.inputs, outputs: t as unknown as tfl.SymbolicTensor, name: `${model.name}_base` });
  } catch {
    return undefined;
  }
  return {
    kind: 'layers',
    container,
    layers: container.layers.filter((l) => l.getClassName() !== 'InputLayer'),
    inference: undefined,
  };
}

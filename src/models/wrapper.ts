/**
 * `Wrapper(base)`: a pretrained base, truly frozen, under a new classification head (the Keras transfer-learning
 * recipe: base -> global pooling -> [Dense...] -> [Dropout] -> Dense) as one tfjs LayersModel.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LabelMode, PreprocessingMode } from '../data/types';
import { IncompatibleModelError, InvalidArgumentError } from '../errors';
import {
  checkNumberInRange,
  checkOneOf,
  checkOptionKeys,
  checkOptionsObject,
  checkClassCount,
  checkDenseUnits,
  checkSeed,
  checkWeightSize,
  MAX_HIDDEN_LAYERS,
  MAX_IMAGE_SIDE,
} from '../internal/validate';
import { runGraph } from '../runtime/tfjs-runtimes';
import { cutBase, imageInputShape, rebuildForInput } from './base-core';
import { isBaseSpec, isGraphModelLike, type BaseSpec, type GraphModelLike } from './base-spec';
import { GraphBaseLayer } from './graph-base';
import type { InferenceBase } from './inference-base';
import { OnnxBaseLayer } from './onnx-base-layer';
import { isOnnxBaseModel, type OnnxBaseModel } from '../runtime/onnx/base-model';
import type { EngineChoice } from '../runtime/types';
import { WrapperModel, registerTlKitClasses } from './wrapper-model';
import { checkNotDisposed } from './wrapper-view';

/** Global pooling applied to a base's 4-D feature map. */
type PoolingMode = 'avg' | 'max';

/**
 * Options of {@link Wrapper}.
 *
 * @category bases
 */
export interface WrapperOptions {
  /**
   * Number of classes. 2 gives one sigmoid unit (binary), k > 2 gives k softmax units.
   * @defaultValue 2
   */
  readonly numClasses?: number;
  /**
   * Output encoding, matching the data's `labelMode`: `'binary'` (two classes only) gives one sigmoid unit,
   * `'categorical'` gives one softmax unit per class, also for two classes.
   * @defaultValue `'binary'` for two classes, `'categorical'` otherwise
   */
  readonly labelMode?: LabelMode;
  /**
   * Global pooling of the base's feature map `[batch, h, w, c]` to `[batch, c]`. Ignored when the base already
   * outputs `[batch, features]`.
   * @defaultValue 'avg'
   */
  readonly pooling?: 'avg' | 'max';
  /**
   * Dropout rate in [0, 1) before the output layer; 0 adds no Dropout layer.
   * @defaultValue 0
   */
  readonly dropout?: number;
  /**
   * Units of optional ReLU Dense layers between the pooled features and the output layer (at most 64 layers).
   * @defaultValue []
   */
  readonly hiddenUnits?: readonly number[];
  /**
   * Use a layers-model base only up to (and including) this layer, like Keras `include_top=False`.
   * @defaultValue the spec's `cutAt` for a {@link BaseSpec}, else the base's own output
   */
  readonly cutAt?: string;
  /**
   * `[height, width, channels]` of the images. When it differs from a layers base's own input, the base is rebuilt
   * for it with the same weights (fully convolutional bases only).
   * @defaultValue the base's input shape
   */
  readonly inputShape?: readonly [number, number, number];
  /**
   * Output node of a GraphModel base to use as features.
   * @defaultValue the spec's `outputNode`, else the graph's first output
   */
  readonly outputNode?: string;
  /**
   * Seed of the head's weight initialisers and dropout.
   * @defaultValue 42
   */
  readonly seed?: number;
  /**
   * The engine tl-kit's calls run the frozen base on (`fit`'s feature extraction, `evaluate`, `evaluateBaseline`,
   * `compareBases`, a saved classifier's `predict`): `'auto'` uses ONNX Runtime in Node when `onnxruntime-node` is
   * installed and the base converts, tfjs otherwise (and says why in the results' `runtime.fallback`);
   * `'onnxruntime'` insists (a typed error names the missing package or the layer that does not convert); `'tfjs'`
   * stays on tfjs. `model.predict` always runs tfjs, which is synchronous. An ONNX base runs on ONNX Runtime only.
   * @defaultValue 'auto'
   */
  readonly engine?: EngineChoice;
  /**
   * ONNX Runtime execution providers, passed through as given (e.g. `['cuda', 'cpu']` with a GPU build of
   * onnxruntime-node and its CUDA files). Untested by tl-kit beyond `'cpu'`.
   * @defaultValue ['cpu']
   */
  readonly executionProviders?: readonly unknown[];
}

const CALL = 'Wrapper';

/** Every WrapperOptions name, so a misspelt one is refused. */
const OPTION_KEYS: Readonly<Record<keyof WrapperOptions, true>> = { numClasses: true, labelMode: true, pooling: true, dropout: true, hiddenUnits: true, cutAt: true, inputShape: true, outputNode: true, seed: true, engine: true, executionProviders: true };

/**
 * Puts a new classification head on a pretrained base and returns one `tf.LayersModel`, ready to compile and fit.
 *
 * The base is frozen, and frozen means frozen: its layers always run in inference mode (BatchNormalization uses its
 * moving statistics and never updates them, even inside `fit`, which tfjs 4.22 otherwise gets wrong), and none of
 * its weights are trainable until {@link unfreeze} (Wrapper sets `trainable = false` on the base's layers, as the Keras
 * recipe does). The base's layers are shared with `base`, not copied (unless
 * `inputShape` rebuilds it, or for a GraphModel). `model.dispose()` frees the head and a rebuilt copy of the base;
 * the base you passed stays yours to use and dispose. tl-kit's calls run the frozen base on the engine chosen by
 * `engine` (ONNX Runtime where it can, by default); `model.predict` runs it on tfjs. Saved with `model.save` or
 * `saveClassifier`, the model holds only tfjs-layers' built-in classes.
 *
 * @param base - a `tf.LayersModel`, a tfjs-converter `GraphModel` (any {@link GraphModelLike}), an ONNX base
 *   ({@link OnnxBaseModel}), or a {@link BaseSpec} from `loadBase`, `loadOnnxBase` or `loadNsfwBase`.
 * @param options - head and cut options, see {@link WrapperOptions}.
 * @returns a LayersModel `[batch, h, w, c]` -> `[batch, 1]` (sigmoid) for 2 classes or `[batch, k]` (softmax; also
 *   for 2 classes with `labelMode: 'categorical'`).
 * @throws {@link InvalidArgumentError} for a bad option (numClasses < 2 or over 100,000, unknown cutAt with the
 *   closest layer names, an inputShape the base cannot take, a head too large, an unknown engine).
 * @throws {@link IncompatibleModelError} when the base is not an image model with one input.
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { Wrapper } from 'tl-kit';
 * const base = await tfl.loadLayersModel('https://example.com/mobilenet/model.json');
 * const model = Wrapper(base, { numClasses: 3, cutAt: 'out_relu', dropout: 0.2 });
 * model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
 * ```
 *
 * @category bases
 */
export function Wrapper(base: tfl.LayersModel | GraphModelLike | OnnxBaseModel | BaseSpec, options: WrapperOptions = {}): tfl.LayersModel {
  checkOptionsObject(CALL, options);
  checkOptionKeys<WrapperOptions>(CALL, options, OPTION_KEYS);
  const spec = isBaseSpec(base) ? base : undefined;
  const model = spec ? spec.model : base;
  const isLayers = model instanceof tfl.LayersModel;
  const isOnnx = !isLayers && isOnnxBaseModel(model);
  if (!isLayers && !isOnnx && !isGraphModelLike(model)) {
    throw new InvalidArgumentError(CALL, 'base', 'a tf.LayersModel, a GraphModel, an ONNX base or a BaseSpec from loadBase / loadOnnxBase', base);
  }
  if (isLayers) checkNotDisposed(CALL, model);
  const engine = options.engine ?? (isOnnx ? 'onnxruntime' : 'auto');
  checkOneOf(CALL, 'engine', engine, ['auto', 'tfjs', 'onnxruntime'] as const);
  if (isOnnx && engine === 'tfjs') {
    throw new InvalidArgumentError(CALL, 'engine', "'auto' or 'onnxruntime' for an ONNX base (it runs on ONNX Runtime only)", engine);
  }
  const providers = options.executionProviders;
  if (providers !== undefined && (!Array.isArray(providers) || providers.length === 0 || providers.length > 16)) {
    throw new InvalidArgumentError(CALL, 'executionProviders', "a non-empty list of ONNX Runtime execution providers, e.g. ['cpu']", providers);
  }
  const numClasses = options.numClasses ?? 2;
  const pooling = options.pooling ?? 'avg';
  const dropout = options.dropout ?? 0;
  const hiddenUnits = options.hiddenUnits ?? [];
  const cutAt = options.cutAt ?? spec?.cutAt;
  const outputNode = options.outputNode ?? spec?.outputNode;
  const seed = options.seed ?? 42;
  checkClassCount(CALL, 'numClasses', numClasses);
  const labelMode = options.labelMode ?? (numClasses === 2 ? 'binary' : 'categorical');
  checkOneOf(CALL, 'labelMode', labelMode, ['binary', 'categorical'] as const);
  if (labelMode === 'binary' && numClasses !== 2) {
    throw new InvalidArgumentError(CALL, 'labelMode', `'categorical' for ${numClasses} classes ('binary' needs exactly 2)`, labelMode);
  }
  checkOneOf(CALL, 'pooling', pooling, ['avg', 'max'] as const);
  checkNumberInRange(CALL, 'dropout', dropout, 0, 1, true);
  if (!Array.isArray(hiddenUnits) || hiddenUnits.length > MAX_HIDDEN_LAYERS) {
    throw new InvalidArgumentError(CALL, 'hiddenUnits', `an array of at most ${MAX_HIDDEN_LAYERS} positive integers`, hiddenUnits);
  }
  hiddenUnits.forEach((u, i) => checkDenseUnits(CALL, `hiddenUnits[${i}]`, u));
  if (cutAt !== undefined && (typeof cutAt !== 'string' || cutAt === '')) {
    throw new InvalidArgumentError(CALL, 'cutAt', 'a layer name', cutAt);
  }
  if (outputNode !== undefined && (typeof outputNode !== 'string' || outputNode === '')) {
    throw new InvalidArgumentError(CALL, 'outputNode', 'a graph node name', outputNode);
  }
  if (options.inputShape !== undefined) checkImageShape(options.inputShape);
  checkSeed(CALL, seed);
  registerTlKitClasses();

  const built = isLayers
    ? layersBase(model, cutAt, options.inputShape ?? spec?.inputShape)
    : isOnnx
      ? onnxBase(model as OnnxBaseModel, options.inputShape)
      : graphBase(model as GraphModelLike, outputNode, options.inputShape ?? spec?.inputShape);
  const carrier = built.core ?? (built.layer as GraphBaseLayer | OnnxBaseLayer);
  carrier.engine = engine;
  if (!(carrier instanceof GraphBaseLayer)) carrier.executionProviders = providers;

  const makeHead = (featureSize: number): tfl.layers.Layer[] => {
    // Every kernel's size is known from the feature width: refuse one too big before any is allocated.
    const widths = [featureSize, ...hiddenUnits, labelMode === 'binary' ? 1 : numClasses];
    for (let i = 1; i < widths.length; i++) {
      checkWeightSize(CALL, i < widths.length - 1 ? 'hiddenUnits' : 'numClasses', [widths[i - 1] as number, widths[i] as number], i < widths.length - 1 ? hiddenUnits : numClasses);
    }
    return makeHeadLayers(numClasses, labelMode === 'binary', dropout, hiddenUnits, seed);
  };
  return assembleWrapper(built, pooling, makeHead, {
    baseName: spec?.name,
    preprocessing: spec?.preprocessing,
  });
}

/**
 * Puts `built` under global pooling (for a feature map) and the head layers `makeHead` returns, as one WrapperModel.
 * Internal: Wrapper builds a new head; the classifier loader rebuilds a saved one around a graph or ONNX base.
 * Whatever was made is freed when it fails.
 */
export function assembleWrapper(
  built: BuiltBase,
  pooling: 'avg' | 'max',
  makeHead: (featureSize: number) => tfl.layers.Layer[],
  about: { readonly baseName: string | undefined; readonly preprocessing: PreprocessingMode | undefined },
): tfl.LayersModel {
  const headLayers: tfl.layers.Layer[] = [];
  try {
    const input = tfl.input({ shape: [...built.inputShape], name: 'tlkit_input' });
    const features = built.layer.apply(input) as tfl.SymbolicTensor;
    const rank = features.shape.length;
    if (rank < 2 || rank > 4) {
      throw new IncompatibleModelError(
        `${CALL}: the base's output must be [batch, features] or a feature map, got shape [${features.shape.join(', ')}]`,
      );
    }
    const poolLayer =
      rank === 2
        ? undefined
        : rank === 4
          ? pooling === 'avg'
            ? tfl.layers.globalAveragePooling2d({ name: 'tlkit_pool' })
            : tfl.layers.globalMaxPooling2d({ name: 'tlkit_pool' })
          : pooling === 'avg'
            ? tfl.layers.globalAveragePooling1d({ name: 'tlkit_pool' })
            : tfl.layers.globalMaxPooling1d({ name: 'tlkit_pool' });
    const pooled = poolLayer ? (poolLayer.apply(features) as tfl.SymbolicTensor) : features;
    const featureSize = pooled.shape[1];
    if (typeof featureSize !== 'number') {
      throw new IncompatibleModelError(`${CALL}: the base's feature size is unknown (shape [${pooled.shape.join(', ')}])`);
    }
    headLayers.push(...makeHead(featureSize));
    const output = headLayers.reduce((t, layer) => layer.apply(t) as tfl.SymbolicTensor, pooled);
    // What the base knows about itself travels with it: the pipeline reads it from the model, not from a side table.
    const owner = built.core ?? (built.layer as GraphBaseLayer | OnnxBaseLayer);
    owner.baseName = about.baseName;
    owner.preprocessing = about.preprocessing;
    const wrapper = new WrapperModel({ inputs: input, outputs: output, name: 'tlkit_wrapper' });
    // Fold now, so that the first predict does not pay for it and the model's tensor count stays flat across calls.
    built.core?.fused.current();
    return wrapper;
  } catch (err) {
    // Nothing half-built outlives the failure: the head's weights, and the base's folded or rebuilt copy.
    for (const layer of headLayers) tf.dispose(layer.weights.map((w) => w.read()));
    built.core?.dispose();
    throw err;
  }
}

/** A base made ready for a Wrapper: the layer to apply to the input, and tl-kit's inference base when it has one. */
export interface BuiltBase {
  readonly layer: tfl.layers.Layer;
  readonly core: InferenceBase | null;
  readonly inputShape: readonly [number, number, number];
}

function layersBase(
  model: tfl.LayersModel,
  cutAt: string | undefined,
  wanted: readonly [number, number, number] | undefined,
): BuiltBase {
  const own = imageInputShape(CALL, model);
  let core = cutBase(CALL, model, cutAt);
  let inputShape: readonly [number, number, number];
  if (wanted === undefined) {
    if (own.some((d) => d === null)) {
      throw new InvalidArgumentError(
        CALL,
        'inputShape',
        `given, because the base's input [${own.map((d) => d ?? 'null').join(', ')}] has free dimensions`,
        undefined,
      );
    }
    inputShape = own as [number, number, number];
  } else {
    inputShape = wanted;
    const differs = own.some((d, i) => d !== null && d !== wanted[i]);
    if (differs) core = rebuildForInput(CALL, core, wanted);
  }
  for (const layer of core.layers) layer.trainable = false;
  core.trainable = false;
  return { layer: core, core, inputShape };
}

/** An ONNX model as a Wrapper base: its input size is the model's own (internal: the classifier loader uses it too). */
export function onnxBase(onnx: OnnxBaseModel, wanted: readonly [number, number, number] | undefined): BuiltBase {
  if (wanted !== undefined && wanted.some((d, i) => d !== onnx.inputShape[i])) {
    throw new InvalidArgumentError(CALL, 'inputShape', `the ONNX base's own input shape [${onnx.inputShape.join(', ')}] (load it with loadOnnxBase(..., { inputShape }) for another size)`, [...wanted]);
  }
  const rank = onnx.outputShape.length;
  if (rank < 2 || rank > 4 || onnx.outputShape.slice(1).some((d) => d === null)) {
    throw new IncompatibleModelError(`${CALL}: the ONNX base's output must be [batch, features] or a feature map with known sizes, got [${onnx.outputShape.map((d) => d ?? 'null').join(', ')}]`);
  }
  return { layer: new OnnxBaseLayer(onnx), core: null, inputShape: onnx.inputShape };
}

/** A graph model as a Wrapper base (internal: the classifier loader uses it too). */
export function graphBase(
  graph: GraphModelLike,
  outputNode: string | undefined,
  wanted: readonly [number, number, number] | undefined,
): BuiltBase {
  const info = graph.inputs[0];
  const declared = info?.shape;
  if (graph.inputs.length !== 1 || (declared !== undefined && declared.length !== 4)) {
    throw new IncompatibleModelError(`${CALL}: a GraphModel base must have one image input [batch, h, w, c]`);
  }
  const own = declared ? declared.slice(1).map((d) => (d === null || d < 0 ? null : d)) : [null, null, null];
  const inputShape = wanted ?? (own.every((d) => d !== null) ? (own as [number, number, number]) : undefined);
  if (inputShape === undefined) {
    throw new InvalidArgumentError(CALL, 'inputShape', "given, because the graph's input size is not declared", undefined);
  }
  if (own.some((d, i) => d !== null && d !== inputShape[i])) {
    throw new InvalidArgumentError(
      CALL,
      'inputShape',
      `the graph's own input shape [${own.map((d) => d ?? 'null').join(', ')}] (a GraphModel cannot be rebuilt)`,
      [...inputShape],
    );
  }
  if (outputNode === undefined && graph.outputs.length === 0) {
    throw new IncompatibleModelError(`${CALL}: the GraphModel base declares no outputs; pass outputNode`);
  }
  const outShape = declaredOutputShape(graph, outputNode) ?? probeOutputShape(graph, outputNode, inputShape);
  return {
    layer: new GraphBaseLayer(graph, outputNode, outShape),
    core: null,
    inputShape,
  };
}

/** The output shape the graph declares for the chosen node, when every non-batch dimension is known. */
function declaredOutputShape(graph: GraphModelLike, outputNode: string | undefined): number[] | undefined {
  const info = outputNode === undefined ? graph.outputs[0] : graph.outputs.find((o) => o.name === outputNode);
  const shape = info?.shape;
  if (shape === undefined || shape.length < 2 || shape.slice(1).some((d) => d === null || d < 0)) return undefined;
  return [-1, ...(shape.slice(1) as number[])];
}

/** Runs the graph once on zeros to learn the chosen node's output shape. */
function probeOutputShape(
  graph: GraphModelLike,
  outputNode: string | undefined,
  inputShape: readonly [number, number, number],
): number[] {
  try {
    return tf.tidy(() => runGraph(graph, tf.zeros([1, ...inputShape]), outputNode).shape);
  } catch (err) {
    throw new IncompatibleModelError(
      `${CALL}: the GraphModel base failed on a [1, ${inputShape.join(', ')}] input${outputNode ? ` with outputNode '${outputNode}'` : ''}`,
      { cause: err },
    );
  }
}

function makeHeadLayers(
  numClasses: number,
  binary: boolean,
  dropout: number,
  hiddenUnits: readonly number[],
  seed: number,
): tfl.layers.Layer[] {
  const layers: tfl.layers.Layer[] = hiddenUnits.map((units, i) =>
    tfl.layers.dense({
      units,
      activation: 'relu',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i }),
      name: `tlkit_hidden_${i}`,
    }),
  );
  if (dropout > 0) layers.push(tfl.layers.dropout({ rate: dropout, seed: seed + hiddenUnits.length, name: 'tlkit_dropout' }));
  layers.push(
    tfl.layers.dense({
      units: binary ? 1 : numClasses,
      activation: binary ? 'sigmoid' : 'softmax',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + hiddenUnits.length + 1 }),
      name: 'tlkit_output',
    }),
  );
  return layers;
}

function checkImageShape(shape: unknown): asserts shape is readonly [number, number, number] {
  const ok =
    Array.isArray(shape) &&
    shape.length === 3 &&
    shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0 && d <= MAX_IMAGE_SIDE);
  if (!ok) throw new InvalidArgumentError(CALL, 'inputShape', `[height, width, channels] of integers in [1, ${MAX_IMAGE_SIDE}]`, shape);
}

/**
 * `convertLayersModel`: a frozen tfjs-layers model (any DAG, nested models expanded, any cut) as an ONNX graph in
 * memory, for ONNX Runtime to run. The graph takes tfjs's NHWC float32 images and transposes them to NCHW once (ORT's
 * optimiser pushes that transpose into the first convolution); every BatchNormalization that alone reads a linear
 * convolution or Dense layer is folded into its kernel and bias; a ZeroPadding2D that alone feeds a convolution
 * becomes part of its pads. The output is in tfjs's axis order, or `[batch, features]` after an in-graph global
 * pooling.
 *
 * @module
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, InvalidArgumentError, TlKitError } from '../../errors';
import { checkOptionKeys, checkOptionsObject } from '../../internal/validate';
import { configOf } from '../fold';
import { flattenModel, type GraphNode, type Slot } from '../graph';
import { ACTIVATION_LAYERS } from './activations';
import { GraphBuilder } from './builder';
import { ConversionState, failer, type LayerCall, type LayerConverter, type Shape } from './context';
import { FOLDABLE, PADDABLE, WEIGHTED_LAYERS } from './conv';
import { OnnxConversionError } from './errors';
import { POOLING_LAYERS } from './pooling';
import { loadOnnxProto } from './proto';
import { IDENTITY_CLASSES, pairOfPairs, STRUCTURE_LAYERS } from './structure';

/** Options of {@link convertLayersModel}. */
export interface ConvertLayersModelOptions {
  /**
   * Global pooling of a rank-4 output inside the graph, so that only `[batch, channels]` features leave it:
   * `'avg'` (GlobalAveragePool), `'max'` (GlobalMaxPool), or `'none'` to return the feature map. An output of
   * another rank is returned as it is.
   * @defaultValue 'none'
   */
  readonly pooling?: 'avg' | 'max' | 'none';
  /**
   * ONNX opset of the graph, 13 to 17 (the graph uses only operators whose form is the same across them).
   * @defaultValue 17
   */
  readonly opset?: number;
}

/** What {@link convertLayersModel} did, for reports and tests. */
export interface OnnxConversionStats {
  /** Layer calls in the flattened tfjs graph (nested models expanded, input layers not counted). */
  readonly layers: number;
  /** Nodes of the ONNX graph. */
  readonly nodes: number;
  /** BatchNormalization layers folded into the kernel and bias of the layer before them. */
  readonly foldedBatchNorms: number;
  /** ZeroPadding2D layers merged into the pads of the convolution they feed. */
  readonly mergedPaddings: number;
  /** NHWC <-> NCHW Transpose nodes (the input's included). */
  readonly transposes: number;
  /** Layers that are identities at inference (Dropout, ...), left out of the graph. */
  readonly identities: number;
  /** Bytes of float32 weights in the graph. */
  readonly weightBytes: number;
}

/** An ONNX graph made from a tfjs-layers model. */
export interface OnnxConversion {
  /** The serialised `ModelProto`, ready for `InferenceSession.create(bytes)`. */
  readonly bytes: Uint8Array;
  /** Name of the graph's input: float32 images `[batch, h, w, c]` (NHWC, like tfjs). */
  readonly inputName: string;
  /** Name of the graph's output. */
  readonly outputName: string;
  /** `[h, w, c]` of the input. */
  readonly inputShape: readonly [number, number, number];
  /** Shape of the output in tfjs's axis order, batch first (null). */
  readonly outputShape: readonly (number | null)[];
  /** What the conversion folded, merged and left out. */
  readonly stats: OnnxConversionStats;
}

const CALL = 'convertLayersModel';
const OPTION_KEYS: Readonly<Record<keyof ConvertLayersModelOptions, true>> = { pooling: true, opset: true };
const INPUT_NAME = 'input';
const OUTPUT_NAME = 'features';
/** Protobuf messages cannot exceed 2 GiB; keep a margin for the graph's own structure. */
const MAX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24;

const CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  ...WEIGHTED_LAYERS,
  ...ACTIVATION_LAYERS,
  ...POOLING_LAYERS,
  ...STRUCTURE_LAYERS,
};

/**
 * tfjs-layers classes {@link convertLayersModel} translates, the Dropout-like layers it leaves out included.
 *
 * @example
 * ```ts
 * const missing = model.layers.map((l) => l.getClassName()).filter((c) => !CONVERTIBLE_LAYER_CLASSES.includes(c));
 * ```
 */
export const CONVERTIBLE_LAYER_CLASSES: readonly string[] = [...Object.keys(CONVERTERS), ...IDENTITY_CLASSES].sort();

/**
 * Converts a frozen tfjs-layers model to an ONNX graph, in memory. Its weights are read once, now; BatchNormalization
 * layers use their moving statistics (inference mode). The result runs in ONNX Runtime with outputs equal to
 * `model.predict` up to float rounding.
 *
 * Translated layers: Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, BatchNormalization (folded, or a per-channel
 * scale and shift), the activation layers and every tfjs activation name, Add, Multiply, Average, Maximum,
 * Minimum, Concatenate, Max/AveragePooling2D, GlobalAverage/MaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D,
 * Flatten, Reshape, Permute, Rescaling, and Dropout-like layers (identities). See {@link CONVERTIBLE_LAYER_CLASSES}.
 *
 * @param model - a single-input, single-output model whose input is images `[batch, h, w, c]` of a declared size
 *   (rebuild a model with free dimensions for one size first). It stays the caller's.
 * @param options - in-graph pooling and opset.
 * @returns the serialised graph with its input and output names and shapes, and what was folded.
 * @throws {@link InvalidArgumentError} for a bad option or a `model` that is not a LayersModel.
 * @throws {@link IncompatibleModelError} for a model with several inputs or outputs, or an input without a fixed size;
 *   {@link OnnxConversionError} (a subclass) naming the first layer that has no translation.
 * @throws {@link UnsupportedError} when the onnx-proto package cannot be imported.
 * @example
 * ```ts
 * import * as ort from 'onnxruntime-node';
 * const base = await applications.MobileNetV2({ includeTop: false, inputShape: [160, 160, 3] });
 * const onnx = await convertLayersModel(base, { pooling: 'avg' });
 * const session = await ort.InferenceSession.create(onnx.bytes);
 * const images = new ort.Tensor('float32', new Float32Array(2 * 160 * 160 * 3), [2, 160, 160, 3]);
 * const { [onnx.outputName]: features } = await session.run({ [onnx.inputName]: images }); // [2, 1280]
 * ```
 */
export async function convertLayersModel(
  model: tfl.LayersModel,
  options: ConvertLayersModelOptions = {},
): Promise<OnnxConversion> {
  if (!(model instanceof tfl.LayersModel)) throw new InvalidArgumentError(CALL, 'model', 'a tfjs-layers LayersModel', model);
  checkOptionsObject(CALL, options);
  checkOptionKeys<ConvertLayersModelOptions>(CALL, options, OPTION_KEYS);
  const pooling = options.pooling ?? 'none';
  if (pooling !== 'avg' && pooling !== 'max' && pooling !== 'none') {
    throw new InvalidArgumentError(CALL, 'pooling', "'avg', 'max' or 'none'", pooling);
  }
  const opset = options.opset ?? 17;
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < 13 || opset > 17) {
    throw new InvalidArgumentError(CALL, 'opset', 'an integer from 13 to 17', opset);
  }
  const inputShape = checkModelShape(model);
  const onnx = await loadOnnxProto(CALL);

  const flat = flattenModel(model, CALL);
  const graph = dropIdentities(flat.nodes, flat.outputs);
  const builder = new GraphBuilder();
  const state = new ConversionState(builder);
  const inputSlot = flat.inputs[0] as Slot;
  const outputSlot = graph.outputs[0] as Slot;
  state.setShape(inputSlot, [null, ...inputShape]);
  for (const node of graph.nodes) inferShapes(node, state);
  const plan = planFolds(graph.nodes, graph.outputs);

  state.define(inputSlot, builder.reserve(INPUT_NAME), 'native');
  for (const node of graph.nodes) {
    if (plan.mergedPads.has(node)) {
      state.counters.mergedPaddings++;
      continue;
    }
    if (plan.foldedInto.has(node)) {
      // The layer before it already applied this BatchNormalization: its output is the BN's output.
      const input = node.inputs[0] as Slot;
      const layout = state.layout(input);
      state.define(node.outputs[0] as Slot, state.as(input, layout), layout);
      continue;
    }
    convertNode(node, state, plan);
  }

  const outShape = state.shape(outputSlot);
  let result: string;
  let outputShape: (number | null)[] = [...outShape];
  if (pooling !== 'none' && outShape.length === 4) {
    const op = pooling === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool';
    const pooled = builder.node(op, [state.nchw(outputSlot)], `features_${pooling}pool`);
    result = builder.node('Flatten', [pooled], 'features_flat', { axis: 1 });
    outputShape = [null, outShape[3] as number];
  } else {
    result = state.native(outputSlot);
  }
  builder.nodeTo('Identity', [result], builder.reserve(OUTPUT_NAME));
  if (builder.weightBytes > MAX_WEIGHT_BYTES) {
    throw new IncompatibleModelError(
      `${CALL}: the model holds ${builder.weightBytes} bytes of weights; a single ONNX file holds at most about 2 GiB`,
    );
  }
  const proto = builder.toModel(
    model.name,
    { name: INPUT_NAME, dims: ['batch', ...inputShape] },
    { name: OUTPUT_NAME, dims: ['batch', ...(outputShape.slice(1) as number[])] },
    opset,
    opset >= 15 ? 8 : 7,
  );
  const encoded = onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
  // In Node protobufjs returns a Buffer, which for small models is a view of a shared pool: hand out a plain
  // Uint8Array that owns its memory.
  const bytes =
    encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength
      ? new Uint8Array(encoded.buffer, 0, encoded.byteLength)
      : new Uint8Array(encoded);
  const counters = state.counters;
  return {
    bytes,
    inputName: INPUT_NAME,
    outputName: OUTPUT_NAME,
    inputShape,
    outputShape,
    stats: {
      layers: flat.nodes.filter((n) => n.layer.getClassName() !== 'InputLayer').length,
      nodes: builder.nodeCount,
      foldedBatchNorms: counters.foldedBatchNorms,
      mergedPaddings: counters.mergedPaddings,
      transposes: counters.transposes,
      identities: graph.identities,
      weightBytes: builder.weightBytes,
    },
  };
}

/** `[h, w, c]` of the model's only input; refuses several inputs or outputs and free dimensions. */
function checkModelShape(model: tfl.LayersModel): [number, number, number] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new IncompatibleModelError(
      `${CALL}: the model must have one input and one output, it has ${model.inputs.length} and ${model.outputs.length}`,
    );
  }
  const shape = (model.inputs[0] as tfl.SymbolicTensor).shape;
  const dims = shape.slice(1);
  if (shape.length !== 4 || !dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0)) {
    throw new IncompatibleModelError(
      `${CALL}: the model's input must be images [batch, height, width, channels] of a fixed size, got [${shape.map((d) => d ?? 'null').join(', ')}] (rebuild the model for one input size first)`,
    );
  }
  return dims as [number, number, number];
}

/** Records the static shapes of a node's outputs, as tfjs-layers computes them from its inputs' shapes. */
function inferShapes(node: GraphNode, state: ConversionState): void {
  const layer = node.layer;
  const inputs = node.inputs.map((s) => [...state.shape(s)]);
  let out: unknown;
  try {
    out = layer.computeOutputShape(inputs.length === 1 ? (inputs[0] as (number | null)[]) : inputs);
  } catch (err) {
    throw new OnnxConversionError(CALL, layer.name, layer.getClassName(), 'its output shape cannot be computed', { cause: err });
  }
  const shapes = (node.outputs.length === 1 ? [out] : out) as Shape[];
  if (layer.getClassName() === 'Reshape' && Array.isArray(shapes[0])) shapes[0] = resolveReshape(inputs[0] ?? [], shapes[0]);
  node.outputs.forEach((slot, i) => {
    const shape = shapes[i];
    if (!Array.isArray(shape) || shape.slice(1).some((d) => typeof d !== 'number' || !(d > 0))) {
      throw new OnnxConversionError(
        CALL,
        layer.name,
        layer.getClassName(),
        `its output shape ${JSON.stringify(shape)} is not fully known and positive at input size [${inputs[0]?.slice(1).join(', ') ?? ''}]`,
      );
    }
    state.setShape(slot, [null, ...(shape.slice(1) as number[])]);
  });
}

/**
 * The layer calls without those that are identities at inference (Dropout, Activation('linear'), ...): their readers
 * read their input instead.
 */
function dropIdentities(nodes: readonly GraphNode[], outputs: readonly Slot[]) {
  const alias = new Map<Slot, Slot>();
  const resolve = (slot: Slot): Slot => alias.get(slot) ?? slot;
  const kept: GraphNode[] = [];
  let identities = 0;
  for (const node of nodes) {
    const className = node.layer.getClassName();
    const linear = className === 'Activation' && (configOf(node.layer)['activation'] ?? 'linear') === 'linear';
    if ((IDENTITY_CLASSES.has(className) || linear) && node.inputs.length === 1 && node.outputs.length === 1) {
      alias.set(node.outputs[0] as Slot, resolve(node.inputs[0] as Slot));
      if (className !== 'InputLayer') identities++;
      continue;
    }
    kept.push({ ...node, inputs: node.inputs.map(resolve) });
  }
  return { nodes: kept, outputs: outputs.map(resolve), identities };
}

/** A Reshape's output shape with its one free dimension (tfjs leaves it null when the batch is free) worked out. */
function resolveReshape(input: Shape, output: Shape): Shape {
  const free = output.slice(1).filter((d) => d === null).length;
  const known = input.slice(1);
  if (free !== 1 || known.some((d) => d === null)) return output;
  const total = (known as number[]).reduce((a, b) => a * b, 1);
  const rest = (output.slice(1).filter((d) => d !== null) as number[]).reduce((a, b) => a * b, 1);
  return output.map((d, i) => (i > 0 && d === null ? total / rest : d));
}

interface FoldPlan {
  /** Layer -> the BatchNormalization folded into it. */
  readonly folds: Map<GraphNode, tfl.layers.Layer>;
  /** BatchNormalization calls folded into the layer before them. */
  readonly foldedInto: Set<GraphNode>;
  /** ZeroPadding2D calls merged into the convolution after them. */
  readonly mergedPads: Set<GraphNode>;
  /** Convolution -> the ZeroPadding2D input and pads it takes over. */
  readonly padsOf: Map<GraphNode, { input: Slot; pads: [[number, number], [number, number]] }>;
}

/** Which BatchNormalizations fold and which ZeroPadding2Ds merge, decided on the graph's structure alone. */
function planFolds(nodes: readonly GraphNode[], outputs: readonly Slot[]): FoldPlan {
  const readers = new Map<Slot, GraphNode[]>();
  const producer = new Map<Slot, GraphNode>();
  for (const node of nodes) {
    for (const s of node.inputs) readers.set(s, [...(readers.get(s) ?? []), node]);
    for (const s of node.outputs) producer.set(s, node);
  }
  const outputSet = new Set(outputs);
  const soleReader = (slot: Slot): GraphNode | undefined => {
    const r = readers.get(slot);
    return r !== undefined && r.length === 1 && !outputSet.has(slot) ? r[0] : undefined;
  };
  const plan: FoldPlan = { folds: new Map(), foldedInto: new Set(), mergedPads: new Set(), padsOf: new Map() };
  for (const node of nodes) {
    const className = node.layer.getClassName();
    if (className === 'BatchNormalization' && node.inputs.length === 1) {
      const input = node.inputs[0] as Slot;
      const before = producer.get(input);
      if (before === undefined || !FOLDABLE.has(before.layer.getClassName()) || soleReader(input) !== node) continue;
      const activation = configOf(before.layer)['activation'];
      const axis = configOf(node.layer)['axis'] ?? -1;
      const rank = node.outputRanks[0] ?? 0;
      if ((activation === 'linear' || activation == null) && (axis === -1 || axis === rank - 1)) {
        plan.folds.set(before, node.layer);
        plan.foldedInto.add(node);
      }
    } else if (className === 'ZeroPadding2D' && node.inputs.length === 1) {
      const config = configOf(node.layer);
      const pads = pairOfPairs(config['padding']);
      const reader = soleReader(node.outputs[0] as Slot);
      const channelsLast = config['dataFormat'] === undefined || config['dataFormat'] === 'channelsLast';
      const readerLast = reader !== undefined && (configOf(reader.layer)['dataFormat'] ?? 'channelsLast') === 'channelsLast';
      if (pads !== undefined && channelsLast && reader !== undefined && readerLast && PADDABLE.has(reader.layer.getClassName())) {
        plan.mergedPads.add(node);
        plan.padsOf.set(reader, { input: node.inputs[0] as Slot, pads });
      }
    }
  }
  return plan;
}

function convertNode(node: GraphNode, state: ConversionState, plan: FoldPlan): void {
  const layer = node.layer;
  const className = layer.getClassName();
  const converter = CONVERTERS[className];
  const fail: (reason: string) => never = failer(CALL, layer);
  if (converter === undefined) {
    fail('there is no ONNX translation for this layer class (convertible: see CONVERTIBLE_LAYER_CLASSES)');
  }
  const call: LayerCall = {
    call: CALL,
    node,
    layer,
    className,
    config: configOf(layer),
    state,
    builder: state.builder,
    inputShapes: node.inputs.map((s) => state.shape(s)),
    outputShape: state.shape(node.outputs[0] as Slot),
    foldedBatchNorm: plan.folds.get(node),
    mergedPadding: plan.padsOf.get(node),
    fail,
  };
  try {
    converter(call);
  } catch (err) {
    if (err instanceof TlKitError) throw err;
    throw new OnnxConversionError(CALL, layer.name, className, `its translation failed (${String((err as Error)?.message ?? err)})`, {
      cause: err,
    });
  }
}

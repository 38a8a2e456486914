/**
 * The frozen-base executor: runs a tfjs-layers model for inference with BatchNormalization folded into the
 * convolution before it, bias and activation fused into `tf.fused.*` ops, and ZeroPadding merged into the padding of
 * the convolution it feeds. Every other layer runs as itself, in inference mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { IncompatibleModelError, InvalidArgumentError, TlKitError } from '../errors';
import { flattenModel, type GraphNode, type Slot } from './graph';
import {
  configOf,
  foldBatchNorm,
  fusedActivationByName,
  fusedActivationOfLayer,
  isLastAxisBatchNorm,
  type FusedActivation,
} from './fold';

/** What {@link createFrozenExecutor} changed in the model's graph, for reports and tests. */
export interface FrozenExecutorStats {
  /** Layer calls in the flattened graph (nested models expanded, input layers not counted). */
  readonly layers: number;
  /** Ops the executor runs per call (fused ops plus layers run as themselves). */
  readonly ops: number;
  /** Conv2D, DepthwiseConv2D and Dense layers run as `tf.fused.*` ops. */
  readonly fusedLayers: number;
  /** BatchNormalization layers folded into the kernel and bias before them. */
  readonly foldedBatchNorms: number;
  /** Activation layers (ReLU, ReLU6, ...) applied inside a fused op. */
  readonly fusedActivations: number;
  /** ZeroPadding2D layers turned into the padding of the convolution they feed. */
  readonly mergedPaddings: number;
}

/**
 * An inference-only version of a frozen model. It snapshots the model's weights when built: rebuild it after the
 * model's weights change (after `unfreeze` and training, or `setWeights`).
 */
export interface FrozenExecutor {
  /**
   * Runs the model in inference mode, like `model.predict` (one tensor for a single-output model, an array
   * otherwise). The caller owns the result.
   *
   * @param inputs - one tensor per model input, shaped like `model.inputs` (batch axis first).
   * @returns the model's outputs.
   * @throws InvalidArgumentError when the number or shape of the inputs does not match the model, or an input was
   *   disposed.
   */
  predict(inputs: tf.Tensor | readonly tf.Tensor[]): tf.Tensor | tf.Tensor[];
  /** What the executor fused, folded and merged. */
  readonly stats: FrozenExecutorStats;
  /** Frees the folded weights the executor created. The model and its weights stay with the caller. */
  dispose(): void;
}

type ConvKind = 'conv2d' | 'depthwise' | 'dense';

interface FusedOp {
  readonly kind: ConvKind;
  readonly input: Slot;
  readonly output: Slot;
  readonly kernel: tf.Tensor;
  readonly bias: tf.Tensor | undefined;
  readonly activation: FusedActivation;
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
  readonly name: string;
}

interface LayerOp {
  readonly kind: 'layer';
  readonly layer: tfl.layers.Layer;
  readonly kwargs: Record<string, unknown>;
  readonly inputs: readonly Slot[];
  readonly outputs: readonly Slot[];
}

type Op = FusedOp | LayerOp;

const CALL = 'createFrozenExecutor';

/**
 * Builds an inference-only executor for a frozen tfjs-layers model (any DAG: MobileNet, Inception, ResNet, custom;
 * nested models are expanded). Each BatchNormalization that alone reads a linear Conv2D / DepthwiseConv2D / Dense is
 * folded into that layer's kernel and bias; the bias and a following ReLU, ReLU6, ELU, sigmoid, LeakyReLU or PReLU run
 * inside `tf.fused.conv2d` / `tf.fused.depthwiseConv2d` / `tf.fused.matMul`; a ZeroPadding2D that alone feeds a
 * 'valid' convolution becomes that convolution's explicit padding. Outputs equal `model.predict` up to float rounding.
 *
 * @param model - the model to run; it stays the caller's. Its weights are read once, now.
 * @returns an executor; call `dispose()` to free the folded weights.
 * @throws InvalidArgumentError when `model` is not a tfjs-layers LayersModel.
 * @throws IncompatibleModelError when the model's graph cannot be walked.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { createFrozenExecutor } from 'tl-kit';
 *
 * const input = tfl.input({ shape: [32, 32, 3] });
 * const conv = tfl.layers.conv2d({ filters: 8, kernelSize: 3, useBias: false }).apply(input) as tfl.SymbolicTensor;
 * const bn = tfl.layers.batchNormalization().apply(conv) as tfl.SymbolicTensor;
 * const base = tfl.model({ inputs: input, outputs: tfl.layers.reLU({ maxValue: 6 }).apply(bn) as tfl.SymbolicTensor });
 *
 * const executor = createFrozenExecutor(base); // one fused conv: BN folded, ReLU6 fused
 * const features = executor.predict(tf.zeros([4, 32, 32, 3])) as tf.Tensor;
 * features.dispose();
 * executor.dispose();
 * ```
 */
export function createFrozenExecutor(model: tfl.LayersModel): FrozenExecutor {
  if (!(model instanceof tfl.LayersModel)) {
    throw new InvalidArgumentError(CALL, 'model', 'a tfjs-layers LayersModel', model);
  }
  const graph = flattenModel(model, CALL);
  const owned: tf.Tensor[] = [];
  let ops: Op[];
  let counts = { fusedLayers: 0, foldedBatchNorms: 0, fusedActivations: 0, mergedPaddings: 0 };
  try {
    ({ ops, counts } = planOps(graph.nodes, graph.outputs, owned));
  } catch (err) {
    tf.dispose(owned);
    if (err instanceof IncompatibleModelError) throw err;
    throw new IncompatibleModelError(`${CALL}: cannot plan model '${model.name}': ${String(err)}`, { cause: err });
  }
  // Built inside a caller's tf.tidy (a model's predict builds it on first use), the folded weights must outlive it.
  for (const t of owned) tf.keep(t);
  const releaseAfter = planReleases(ops, graph.inputs, graph.outputs);
  const inputShapes = (model.inputs as unknown as { shape: readonly (number | null)[] }[]).map((t) => t.shape);
  let disposed = false;

  const predict = (inputs: tf.Tensor | readonly tf.Tensor[]): tf.Tensor | tf.Tensor[] => {
    if (disposed) {
      throw new TlKitError('INVALID_ARGUMENT', 'FrozenExecutor.predict: the executor was disposed; build a new one');
    }
    const list = inputs instanceof tf.Tensor ? [inputs] : inputs;
    if (!Array.isArray(list) || list.length !== graph.inputs.length || !list.every((t) => t instanceof tf.Tensor)) {
      throw new InvalidArgumentError('FrozenExecutor.predict', 'inputs', `${graph.inputs.length} tensor(s)`, inputs);
    }
    list.forEach((t, i) => {
      const declared = inputShapes[i] ?? [];
      if (t.isDisposed) {
        throw new InvalidArgumentError('FrozenExecutor.predict', `inputs[${i}]`, 'a live tensor (not disposed)', t.shape);
      }
      if (t.rank !== declared.length) {
        throw new InvalidArgumentError('FrozenExecutor.predict', `inputs[${i}]`, `a tensor of rank ${declared.length}`, t.shape);
      }
      if (declared.some((d, axis) => d !== null && d !== t.shape[axis])) {
        const expected = `[${declared.map((d) => d ?? 'batch').join(', ')}]`;
        throw new InvalidArgumentError('FrozenExecutor.predict', `inputs[${i}]`, `a tensor of shape ${expected}`, t.shape);
      }
    });
    return tf.tidy(() => {
      const values = new Array<tf.Tensor | undefined>(graph.slotCount);
      const holders = new Map<tf.Tensor, number>();
      const hold = (slot: Slot, t: tf.Tensor): void => {
        values[slot] = t;
        holders.set(t, (holders.get(t) ?? 0) + 1);
      };
      graph.inputs.forEach((slot, i) => hold(slot, list[i] as tf.Tensor));
      const callerTensors = new Set<tf.Tensor>(list);
      ops.forEach((op, index) => {
        runOp(op, values, hold);
        // Free intermediates as soon as their last reader ran: tidy alone would keep every activation of the model.
        for (const slot of releaseAfter[index] ?? []) {
          const t = values[slot];
          values[slot] = undefined;
          if (t === undefined) continue;
          const left = (holders.get(t) ?? 1) - 1;
          holders.set(t, left);
          if (left === 0 && !callerTensors.has(t)) t.dispose();
        }
      });
      const outs = graph.outputs.map((slot) => values[slot] as tf.Tensor);
      return outs.length === 1 ? (outs[0] as tf.Tensor) : outs;
    });
  };

  return {
    predict,
    stats: { layers: graph.nodes.filter((n) => n.layer.getClassName() !== 'InputLayer').length, ops: ops.length, ...counts },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      tf.dispose(owned);
      owned.length = 0;
    },
  };
}

/**
 * A fused op as separate primitive ops, for use under a gradient tape. tfjs's fused ops compute every gradient of
 * their inputs eagerly (the kernel's too, whose backprop kernel the wasm backend lacks) even when only the input's
 * is wanted; the primitives compute only what the tape asks for. The folded weights are kept either way.
 */
function runUnfused(op: FusedOp, x: tf.Tensor): tf.Tensor {
  let y: tf.Tensor;
  if (op.kind === 'dense') {
    const inner = op.kernel.shape[0] as number;
    const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inner]);
    const y2 = tf.matMul(x2 as tf.Tensor2D, op.kernel as tf.Tensor2D);
    y = x.rank === 2 ? y2 : tf.reshape(y2, [...x.shape.slice(0, -1), op.kernel.shape[1] as number]);
  } else {
    const conv = op.kind === 'conv2d' ? tf.conv2d : tf.depthwiseConv2d;
    y = conv(x as tf.Tensor4D, op.kernel as tf.Tensor4D, op.strides, op.pad as 'valid', 'NHWC', op.dilations);
  }
  if (op.bias !== undefined) y = tf.add(y, op.bias);
  const act = op.activation;
  switch (act.name) {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'leakyrelu':
      return tf.leakyRelu(y, act.leakyreluAlpha);
    case 'prelu':
      return tf.prelu(y, act.preluWeights as tf.Tensor);
  }
}

function runOp(op: Op, values: (tf.Tensor | undefined)[], hold: (slot: Slot, t: tf.Tensor) => void): void {
  if (op.kind === 'layer') {
    const ins = op.inputs.map((s) => values[s] as tf.Tensor);
    const out = op.layer.apply(ins.length === 1 ? (ins[0] as tf.Tensor) : ins, op.kwargs) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    op.outputs.forEach((slot, i) => hold(slot, outs[i] as tf.Tensor));
    return;
  }
  const x = values[op.input] as tf.Tensor;
  if (tf.engine().state.gradientDepth > 0) {
    hold(op.output, runUnfused(op, x));
    return;
  }
  const act = op.activation;
  let y: tf.Tensor;
  if (op.kind === 'dense') {
    const inner = op.kernel.shape[0] as number;
    const x2 = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inner]);
    const y2 = tf.fused.matMul({
      a: x2 as tf.Tensor2D,
      b: op.kernel as tf.Tensor2D,
      bias: op.bias,
      activation: act.name,
      preluActivationWeights: act.preluWeights,
      leakyreluAlpha: act.leakyreluAlpha,
    });
    y = x.rank === 2 ? y2 : tf.reshape(y2, [...x.shape.slice(0, -1), op.kernel.shape[1] as number]);
  } else {
    const fused = op.kind === 'conv2d' ? tf.fused.conv2d : tf.fused.depthwiseConv2d;
    y = fused({
      x: x as tf.Tensor4D,
      filter: op.kernel as tf.Tensor4D,
      strides: op.strides,
      // Explicit pads are honoured by every backend's depthwise kernel; only the op's type declaration omits them.
      pad: op.pad as 'valid',
      dataFormat: 'NHWC',
      dilations: op.dilations,
      bias: op.bias,
      activation: act.name,
      preluActivationWeights: act.preluWeights,
      leakyreluAlpha: act.leakyreluAlpha,
    });
  }
  hold(op.output, y);
}

/** For each op, the slots whose last reader it is (graph inputs and outputs are never released). */
function planReleases(ops: readonly Op[], inputs: readonly Slot[], outputs: readonly Slot[]): Slot[][] {
  const last = new Map<Slot, number>();
  ops.forEach((op, i) => {
    for (const s of op.kind === 'layer' ? op.inputs : [op.input]) last.set(s, i);
    // An output nobody reads is released right after it is made.
    for (const s of op.kind === 'layer' ? op.outputs : [op.output]) if (!last.has(s)) last.set(s, i);
  });
  const keep = new Set<Slot>([...outputs, ...inputs]);
  const releases: Slot[][] = ops.map(() => []);
  for (const [slot, i] of last) if (!keep.has(slot)) releases[i]?.push(slot);
  return releases;
}

interface Plan {
  ops: Op[];
  counts: { fusedLayers: number; foldedBatchNorms: number; fusedActivations: number; mergedPaddings: number };
}

function planOps(nodes: readonly GraphNode[], outputs: readonly Slot[], owned: tf.Tensor[]): Plan {
  const readers = new Map<Slot, GraphNode[]>();
  for (const node of nodes) for (const s of node.inputs) readers.set(s, [...(readers.get(s) ?? []), node]);
  const outputSet = new Set(outputs);
  // The one node that reads `slot`, when nothing else (no other node, no model output) does.
  const soleReader = (slot: Slot): GraphNode | undefined => {
    const r = readers.get(slot);
    return r !== undefined && r.length === 1 && !outputSet.has(slot) ? r[0] : undefined;
  };
  const absorbed = new Set<GraphNode>();
  const paddingOf = new Map<GraphNode, { input: Slot; pads: [[number, number], [number, number]] }>();
  const counts = { fusedLayers: 0, foldedBatchNorms: 0, fusedActivations: 0, mergedPaddings: 0 };
  const ops: Op[] = [];

  for (const node of nodes) {
    if (absorbed.has(node)) continue;
    const className = node.layer.getClassName();
    if (className === 'InputLayer') continue;
    const config = configOf(node.layer);

    if (className === 'ZeroPadding2D' && config['dataFormat'] === 'channelsLast' && node.inputs.length === 1) {
      const reader = soleReader(node.outputs[0] as Slot);
      const pads = normalisePadding(config['padding']);
      if (reader !== undefined && pads !== undefined && isValidConv(reader)) {
        paddingOf.set(reader, { input: node.inputs[0] as Slot, pads });
        counts.mergedPaddings++;
        continue;
      }
    }

    const kind = convKind(node);
    if (kind !== undefined) {
      const own = fusedActivationByName(config['activation']);
      if (own !== undefined) {
        const weights = node.layer.getWeights();
        let kernel = weights[0] as tf.Tensor;
        let bias = config['useBias'] === false ? undefined : weights[1];
        let activation = own;
        let output = node.outputs[0] as Slot;
        const rank = node.outputRanks[0] as number;
        // BatchNorm folds only after a linear layer whose output nothing else reads.
        const bnNode = own.name === 'linear' ? soleReader(output) : undefined;
        if (bnNode !== undefined && isLastAxisBatchNorm(bnNode.layer, rank)) {
          const folded = foldBatchNorm(kernel, bias, bnNode.layer, kind === 'depthwise');
          owned.push(folded.kernel, folded.bias);
          kernel = folded.kernel;
          bias = folded.bias;
          absorbed.add(bnNode);
          counts.foldedBatchNorms++;
          output = bnNode.outputs[0] as Slot;
        }
        if (activation.name === 'linear') {
          const actNode = soleReader(output);
          const act = actNode === undefined ? undefined : fusedActivationOfLayer(actNode.layer);
          // PReLU fuses only with one slope per channel (shared over space), the form every backend's kernel takes.
          const channels = kind === 'depthwise' ? (kernel.shape[2] as number) * (kernel.shape[3] as number) : (kernel.shape[kernel.rank - 1] as number);
          if (actNode !== undefined && act !== undefined && (act.name !== 'prelu' || act.preluWeights?.size === channels)) {
            activation = act;
            absorbed.add(actNode);
            counts.fusedActivations++;
            output = actNode.outputs[0] as Slot;
          }
        }
        const padding = paddingOf.get(node);
        const strides = pair(config['strides'], 1);
        const dilations = pair(config['dilationRate'], 1);
        const pad: FusedOp['pad'] = padding
          ? [[0, 0], padding.pads[0], padding.pads[1], [0, 0]]
          : config['padding'] === 'same'
            ? 'same'
            : 'valid';
        ops.push({
          kind,
          input: padding ? padding.input : (node.inputs[0] as Slot),
          output,
          kernel,
          bias,
          activation,
          strides,
          dilations,
          pad,
          name: node.layer.name,
        });
        counts.fusedLayers++;
        continue;
      }
    }
    ops.push({
      kind: 'layer',
      layer: node.layer,
      kwargs: { ...node.callArgs, training: false },
      inputs: node.inputs,
      outputs: node.outputs,
    });
  }
  return { ops, counts };
}

/** Which fused op runs `node`, or undefined when it must run as itself. */
function convKind(node: GraphNode): ConvKind | undefined {
  if (node.inputs.length !== 1 || node.outputs.length !== 1) return undefined;
  const config = configOf(node.layer);
  const className = node.layer.getClassName();
  if (className === 'Dense') return 'dense';
  if (config['dataFormat'] !== 'channelsLast') return undefined;
  if (config['padding'] !== 'valid' && config['padding'] !== 'same') return undefined;
  if (className === 'Conv2D') return 'conv2d';
  if (className === 'DepthwiseConv2D') return 'depthwise';
  return undefined;
}

function isValidConv(node: GraphNode): boolean {
  const kind = convKind(node);
  return (kind === 'conv2d' || kind === 'depthwise') && configOf(node.layer)['padding'] === 'valid';
}

function normalisePadding(value: unknown): [[number, number], [number, number]] | undefined {
  if (typeof value === 'number') return [[value, value], [value, value]];
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [h, w] = value as unknown[];
  const side = (v: unknown): [number, number] | undefined =>
    typeof v === 'number'
      ? [v, v]
      : Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')
        ? [v[0] as number, v[1] as number]
        : undefined;
  const hh = side(h);
  const ww = side(w);
  return hh && ww ? [hh, ww] : undefined;
}

function pair(value: unknown, fallback: number): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && typeof value[0] === 'number') {
    return [value[0], typeof value[1] === 'number' ? value[1] : value[0]];
  }
  return [fallback, fallback];
}

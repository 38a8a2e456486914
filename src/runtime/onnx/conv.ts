/**
 * Layers with weights: Conv2D, DepthwiseConv2D (a grouped Conv), SeparableConv2D (depthwise then pointwise Conv),
 * Dense, and BatchNormalization, either folded into the kernel and bias of the layer before it or on its own as a
 * per-channel scale and shift. Internal.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { float } from './builder';
import { layerActivation } from './activations';
import {
  onlyInput,
  onlyOutput,
  onnxAxis,
  pair,
  requireChannelsLast,
  weightValues,
  type LayerCall,
  type LayerConverter,
} from './context';
import { batchNormAffine, convKernelToOihw, depthwiseKernelToOihw, foldAffine, samePadding, type ChannelAffine } from './kernels';
import { configOf } from '../fold';

/** The inference-mode scale and shift of a BatchNormalization layer. */
export function batchNormOf(layer: tfl.layers.Layer): ChannelAffine {
  const config = configOf(layer);
  const weights = weightValues(layer);
  let index = 0;
  const gamma = config['scale'] === false ? undefined : weights[index++]?.values;
  const beta = config['center'] === false ? undefined : weights[index++]?.values;
  const mean = weights[index++]?.values;
  const variance = weights[index++]?.values;
  if (mean === undefined || variance === undefined) throw new Error(`BatchNormalization '${layer.name}' has no moving statistics`);
  const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
  return batchNormAffine({ epsilon, gamma, beta, mean, variance });
}

type Pads = [number, number, number, number];

/** ONNX pads `[top, left, bottom, right]` of a 2-D window over the layer's input, plus a merged ZeroPadding2D. */
function windowPads(c: LayerCall, kernel: [number, number], strides: [number, number], dilations: [number, number]): Pads {
  const shape = c.inputShapes[0] ?? [];
  if (shape.length !== 4) c.fail(`expected a rank-4 input, got rank ${shape.length}`);
  const padding = c.config['padding'] ?? 'valid';
  let pads: Pads = [0, 0, 0, 0];
  if (padding === 'same') {
    const [top, bottom] = samePadding(shape[1] as number, kernel[0], strides[0], dilations[0]);
    const [left, right] = samePadding(shape[2] as number, kernel[1], strides[1], dilations[1]);
    pads = [top, left, bottom, right];
  } else if (padding !== 'valid') {
    c.fail(`padding '${String(padding)}' is not supported ('same' or 'valid')`);
  }
  const merged = c.mergedPadding?.pads;
  if (merged !== undefined) {
    pads = [pads[0] + merged[0][0], pads[1] + merged[1][0], pads[2] + merged[0][1], pads[3] + merged[1][1]];
  }
  return pads;
}

/** The input value of a convolution: the merged ZeroPadding2D's input, else the layer's own, as NCHW. */
function convInput(c: LayerCall): string {
  const slot = c.mergedPadding?.input ?? onlyInput(c);
  return c.state.nchw(slot);
}

function kernelAndBias(c: LayerCall, kernelIndex: number): { kernel: Float32Array; shape: number[]; bias: Float32Array | undefined } {
  const weights = weightValues(c.layer);
  const kernel = weights[kernelIndex];
  if (kernel === undefined) c.fail('it has no kernel weight');
  const useBias = c.config['useBias'] !== false;
  const bias = useBias ? weights[kernelIndex + 1]?.values : undefined;
  if (useBias && bias === undefined) c.fail('it has no bias weight');
  return { kernel: kernel.values, shape: kernel.shape, bias };
}

/** Folds the BatchNormalization that follows (if any) into `kernel` / `bias` (channel = flat index mod channels). */
function withFold(c: LayerCall, kernel: Float32Array, bias: Float32Array | undefined): { kernel: Float32Array; bias: Float32Array | undefined } {
  if (c.foldedBatchNorm === undefined) return { kernel, bias };
  c.state.counters.foldedBatchNorms++;
  return foldAffine(kernel, bias, batchNormOf(c.foldedBatchNorm));
}

function emitConv(
  c: LayerCall,
  x: string,
  weight: Float32Array,
  weightDims: number[],
  bias: Float32Array | undefined,
  attrs: { kernel: [number, number]; strides: [number, number]; dilations: [number, number]; pads: Pads; group: number },
  hint: string,
): string {
  const b = c.builder;
  const inputs = [x, b.floats(`${hint}_W`, weight, weightDims)];
  if (bias !== undefined) inputs.push(b.floats(`${hint}_B`, bias, [bias.length]));
  return b.node('Conv', inputs, hint, {
    kernel_shape: attrs.kernel,
    strides: attrs.strides,
    dilations: attrs.dilations,
    pads: attrs.pads,
    group: attrs.group,
  });
}

function windowConfig(c: LayerCall) {
  requireChannelsLast(c);
  const kernel = pair(c.config['kernelSize'], 1);
  const strides = pair(c.config['strides'], 1);
  const dilations = pair(c.config['dilationRate'], 1);
  return { kernel, strides, dilations, pads: windowPads(c, kernel, strides, dilations) };
}

const conv2d: LayerConverter = (c: LayerCall) => {
  const window = windowConfig(c);
  const weights = kernelAndBias(c, 0);
  const [kh, kw, cinPerGroup, cout] = weights.shape as [number, number, number, number];
  const cin = c.inputShapes[0]?.[3] as number;
  const group = cin / cinPerGroup;
  if (!Number.isInteger(group) || cout % group !== 0) c.fail(`kernel [${weights.shape.join(', ')}] does not fit ${cin} input channels`);
  const { kernel, bias } = withFold(c, weights.kernel, weights.bias);
  const y = emitConv(c, convInput(c), convKernelToOihw(kernel, weights.shape), [cout, cinPerGroup, kh, kw], bias, { ...window, group }, c.layer.name);
  c.state.define(onlyOutput(c), layerActivation(c, y, 1), 'nchw');
};

const depthwiseConv2d: LayerConverter = (c: LayerCall) => {
  const window = windowConfig(c);
  const weights = kernelAndBias(c, 0);
  const [kh, kw, cin, mult] = weights.shape as [number, number, number, number];
  const { kernel, bias } = withFold(c, weights.kernel, weights.bias);
  const w = depthwiseKernelToOihw(kernel, weights.shape);
  const y = emitConv(c, convInput(c), w, [cin * mult, 1, kh, kw], bias, { ...window, group: cin }, c.layer.name);
  c.state.define(onlyOutput(c), layerActivation(c, y, 1), 'nchw');
};

const separableConv2d: LayerConverter = (c: LayerCall) => {
  const window = windowConfig(c);
  const weights = weightValues(c.layer);
  const depthwise = weights[0];
  const pointwise = weights[1];
  if (depthwise === undefined || pointwise === undefined) c.fail('it has no depthwise and pointwise kernels');
  const useBias = c.config['useBias'] !== false;
  const ownBias = useBias ? weights[2]?.values : undefined;
  if (useBias && ownBias === undefined) c.fail('it has no bias weight');
  const [kh, kw, cin, mult] = depthwise.shape as [number, number, number, number];
  const cout = pointwise.shape[3] as number;
  const dw = depthwiseKernelToOihw(depthwise.values, depthwise.shape);
  const mid = emitConv(c, convInput(c), dw, [cin * mult, 1, kh, kw], undefined, { ...window, group: cin }, `${c.layer.name}_depthwise`);
  const { kernel, bias } = withFold(c, pointwise.values, ownBias);
  const pw = convKernelToOihw(kernel, pointwise.shape);
  const one: [number, number] = [1, 1];
  const y = emitConv(c, mid, pw, [cout, cin * mult, 1, 1], bias, { kernel: one, strides: one, dilations: one, pads: [0, 0, 0, 0], group: 1 }, c.layer.name);
  c.state.define(onlyOutput(c), layerActivation(c, y, 1), 'nchw');
};

const dense: LayerConverter = (c: LayerCall) => {
  const input = onlyInput(c);
  const rank = c.state.shape(input).length;
  const weights = kernelAndBias(c, 0);
  const [units] = weights.shape.slice(-1) as [number];
  const { kernel, bias } = withFold(c, weights.kernel, weights.bias);
  const b = c.builder;
  const x = c.state.native(input);
  const w = b.floats(`${c.layer.name}_W`, kernel, weights.shape);
  let y: string;
  if (rank === 2) {
    const inputs = [x, w];
    if (bias !== undefined) inputs.push(b.floats(`${c.layer.name}_B`, bias, [units]));
    y = b.node('Gemm', inputs, c.layer.name, { alpha: float(1), beta: float(1) });
  } else {
    y = b.node('MatMul', [x, w], bias === undefined ? c.layer.name : `${c.layer.name}_matmul`);
    if (bias !== undefined) y = b.node('Add', [y, b.floats(`${c.layer.name}_B`, bias, [units])], c.layer.name);
  }
  c.state.define(onlyOutput(c), layerActivation(c, y, rank - 1), 'native');
};

/** A BatchNormalization not folded into a layer before it: `x * scale + shift` over its axis. */
const batchNormalization: LayerConverter = (c: LayerCall) => {
  const input = onlyInput(c);
  const output = onlyOutput(c);
  if (c.foldedBatchNorm !== undefined) throw new Error('a BatchNormalization cannot absorb another');
  const rank = c.state.shape(input).length;
  const layout = c.state.layout(input);
  const axis = c.config['axis'] ?? -1;
  if (typeof axis !== 'number' || axis === 0 || axis >= rank || axis < -rank) c.fail(`axis ${JSON.stringify(axis)} is not supported`);
  const onnx = onnxAxis(axis, rank, layout);
  const { scale, shift } = batchNormOf(c.layer);
  const dims = [scale.length, ...new Array<number>(rank - 1 - onnx).fill(1)];
  const b = c.builder;
  const scaled = b.node('Mul', [c.state.as(input, layout), b.floats(`${c.layer.name}_scale`, Float32Array.from(scale), dims)], `${c.layer.name}_scaled`);
  c.state.define(output, b.node('Add', [scaled, b.floats(`${c.layer.name}_shift`, Float32Array.from(shift), dims)], c.layer.name), layout);
};

/** Converters of layers with weights, by tfjs class name. */
export const WEIGHTED_LAYERS: Readonly<Record<string, LayerConverter>> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Dense: dense,
  BatchNormalization: batchNormalization,
};

/** Classes whose output a following BatchNormalization can fold into (when their activation is linear). */
export const FOLDABLE = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);

/** Classes that take a ZeroPadding2D that alone feeds them into their own pads (pools: see pooling.ts). */
export const PADDABLE = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'MaxPooling2D', 'AveragePooling2D']);

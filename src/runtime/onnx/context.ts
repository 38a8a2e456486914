/**
 * The state of one conversion: which ONNX value holds each slot of the flattened tfjs graph, in which axis order,
 * and with which (static) shape; plus what one layer call's converter gets to work with. Internal.
 *
 * A rank-4 tfjs tensor `[batch, h, w, c]` is kept as an NCHW ONNX value `[batch, c, h, w]` wherever convolutions and
 * pooling read it; other values keep tfjs's axis order ("native"). Transposes between the two are inserted on demand,
 * once per value and order.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { GraphNode, Slot } from '../graph';
import type { GraphBuilder } from './builder';
import { OnnxConversionError } from './errors';

/** Axis order of an ONNX value: NCHW for a rank-4 image tensor, or tfjs's own order. */
export type Layout = 'nchw' | 'native';

/** A tfjs shape, batch axis first (null); every other dimension is known. */
export type Shape = readonly (number | null)[];

/** NHWC -> NCHW, and its inverse. */
export const TO_NCHW = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1] as const;

/** Counters reported in the conversion's stats. */
export interface Counters {
  foldedBatchNorms: number;
  mergedPaddings: number;
  transposes: number;
}

/** Where each slot lives in the ONNX graph. */
export class ConversionState {
  private readonly names = new Map<Slot, string>();
  private readonly layouts = new Map<Slot, Layout>();
  private readonly shapes = new Map<Slot, Shape>();
  private readonly reordered = new Map<string, string>();
  readonly counters: Counters = { foldedBatchNorms: 0, mergedPaddings: 0, transposes: 0 };

  constructor(readonly builder: GraphBuilder) {}

  /** Records that `slot` is the ONNX value `name` in `layout`. */
  define(slot: Slot, name: string, layout: Layout): void {
    this.names.set(slot, name);
    this.layouts.set(slot, layout);
  }

  setShape(slot: Slot, shape: Shape): void {
    this.shapes.set(slot, shape);
  }

  shape(slot: Slot): Shape {
    const shape = this.shapes.get(slot);
    if (shape === undefined) throw new Error(`slot ${slot} has no shape`);
    return shape;
  }

  layout(slot: Slot): Layout {
    const layout = this.layouts.get(slot);
    if (layout === undefined) throw new Error(`slot ${slot} is read before it is written`);
    return layout;
  }

  /** The value of `slot` in `layout` (a rank-4 value may be transposed; other ranks are always native). */
  as(slot: Slot, layout: Layout): string {
    const name = this.names.get(slot);
    const own = this.layouts.get(slot);
    if (name === undefined || own === undefined) throw new Error(`slot ${slot} is read before it is written`);
    if (own === layout) return name;
    if (this.shape(slot).length !== 4) throw new Error(`slot ${slot} of rank ${this.shape(slot).length} has no NCHW form`);
    const key = `${name}\u0000${layout}`;
    let out = this.reordered.get(key);
    if (out === undefined) {
      const perm = layout === 'nchw' ? TO_NCHW : TO_NHWC;
      out = this.builder.node('Transpose', [name], `${name}_${layout === 'nchw' ? 'nchw' : 'nhwc'}`, { perm: [...perm] });
      this.reordered.set(key, out);
      this.counters.transposes++;
    }
    return out;
  }

  /** The value of `slot` in tfjs's axis order. */
  native(slot: Slot): string {
    return this.as(slot, 'native');
  }

  /** The value of rank-4 `slot` as NCHW. */
  nchw(slot: Slot): string {
    return this.as(slot, 'nchw');
  }
}

/** The ONNX axis of tfjs axis `axis` (negative counts from the end) of a value of `rank` held in `layout`. */
export function onnxAxis(axis: number, rank: number, layout: Layout): number {
  const a = axis < 0 ? axis + rank : axis;
  if (layout === 'native' || rank !== 4) return a;
  return [0, 2, 3, 1][a] as number;
}

/** One call of one layer, as a converter sees it. */
export interface LayerCall {
  readonly call: string;
  readonly node: GraphNode;
  readonly layer: tfl.layers.Layer;
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly state: ConversionState;
  readonly builder: GraphBuilder;
  /** Shapes of the inputs and of the (first) output. */
  readonly inputShapes: readonly Shape[];
  readonly outputShape: Shape;
  /** A BatchNormalization to fold into this layer's kernel and bias (it alone reads this layer's output). */
  readonly foldedBatchNorm: tfl.layers.Layer | undefined;
  /** A ZeroPadding2D merged into this convolution's pads: read `input` instead of the layer's own input. */
  readonly mergedPadding: { readonly input: Slot; readonly pads: readonly [readonly [number, number], readonly [number, number]] } | undefined;
  /** Throws an {@link OnnxConversionError} for this layer. */
  fail(reason: string): never;
}

/** Converts one layer call: reads its input slots from the state and defines its output slot. */
export type LayerConverter = (c: LayerCall) => void;

/** Builds the `fail` of a layer call. */
export function failer(call: string, layer: tfl.layers.Layer): (reason: string) => never {
  return (reason: string): never => {
    throw new OnnxConversionError(call, layer.name, layer.getClassName(), reason);
  };
}

/** The layer's weights as float arrays (views of tfjs's data; never written to). */
export function weightValues(layer: tfl.layers.Layer): { values: Float32Array; shape: number[] }[] {
  return layer.getWeights().map((t) => ({ values: t.dataSync() as Float32Array, shape: t.shape }));
}

/** The only input slot of a single-input layer call. */
export function onlyInput(c: LayerCall): Slot {
  if (c.node.inputs.length !== 1) c.fail(`expected one input, got ${c.node.inputs.length}`);
  return c.node.inputs[0] as Slot;
}

/** The only output slot of a layer call. */
export function onlyOutput(c: LayerCall): Slot {
  if (c.node.outputs.length !== 1) c.fail(`expected one output, got ${c.node.outputs.length}`);
  return c.node.outputs[0] as Slot;
}

/** A `[number, number]` config entry (tfjs stores kernel sizes, strides and dilations as arrays or one number). */
export function pair(value: unknown, fallback: number): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) return [value[0] as number, value[1] as number];
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'number') return [value[0] as number, value[0] as number];
  return [fallback, fallback];
}

/** Refuses channels-first layers: tl-kit bases are channels-last, like tfjs's default. */
export function requireChannelsLast(c: LayerCall): void {
  const format = c.config['dataFormat'];
  if (format !== undefined && format !== null && format !== 'channelsLast') {
    c.fail(`dataFormat '${String(format)}' is not supported (only 'channelsLast')`);
  }
}

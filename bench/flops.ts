/**
 * Counts the arithmetic of a tfjs-layers model's forward pass from its layer shapes: the multiply-adds of every
 * Conv2D, DepthwiseConv2D, SeparableConv2D and Dense call (a layer called twice counts twice; nested models are
 * expanded), and FLOPs = 2 x MACs, the convention of the published figures. BatchNorm, activations, pooling and
 * merges are left out, as in those figures: they add well under 1% on the benchmark's bases.
 */
import * as tfl from '@tensorflow/tfjs-layers';

/** What {@link countMacs} found. */
export interface MacCount {
  /** Multiply-adds per image. */
  readonly macs: number;
  /** Per layer class: calls and multiply-adds per image. */
  readonly byClass: Readonly<Record<string, { readonly calls: number; readonly macs: number }>>;
}

type Shape = readonly (number | null)[];

/** The shape of a weight whose name ends with `suffix` (`kernel`, `depthwise_kernel`, ...), e.g. `[3, 3, 64, 128]`. */
function weightShape(layer: tfl.layers.Layer, suffix: string): readonly number[] {
  const weight = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.originalName === suffix);
  if (weight === undefined) throw new Error(`layer ${layer.name} (${layer.getClassName()}) has no ${suffix} weight`);
  return weight.shape as number[];
}

/** Product of the known dimensions between the batch and the channel axis (NHWC: H x W). */
function positions(shape: Shape): number {
  return shape.slice(1, -1).reduce<number>((a, d) => {
    if (d === null) throw new Error(`output shape ${JSON.stringify(shape)} has an unknown dimension: count a model built for a fixed input size`);
    return a * d;
  }, 1);
}

const product = (dims: readonly number[]): number => dims.reduce((a, d) => a * d, 1);

/** Multiply-adds per image of one call of `layer` whose output has `shape`; undefined for a layer without any. */
function layerMacs(layer: tfl.layers.Layer, shape: Shape): number | undefined {
  switch (layer.getClassName()) {
    case 'Conv2D':
      // [kh, kw, cin, cout]: every output value is a kh x kw x cin dot product.
      return positions(shape) * product(weightShape(layer, 'kernel'));
    case 'DepthwiseConv2D':
      // [kh, kw, cin, multiplier]: every output channel reads one input channel.
      return positions(shape) * product(weightShape(layer, 'depthwise_kernel'));
    case 'SeparableConv2D': {
      const depthwise = weightShape(layer, 'depthwise_kernel');
      const pointwise = weightShape(layer, 'pointwise_kernel');
      return positions(shape) * (product(depthwise) + product(pointwise));
    }
    case 'Dense':
      // [in, units], applied at every position of a rank > 2 input.
      return positions(shape) * product(weightShape(layer, 'kernel'));
    default:
      return undefined;
  }
}

/**
 * Multiply-adds per image of `model`'s forward pass (see the module notes for what counts).
 *
 * @throws Error for a model whose shapes are not fixed (an input size of `null`).
 */
export function countMacs(model: tfl.LayersModel): MacCount {
  const byClass: Record<string, { calls: number; macs: number }> = {};
  let macs = 0;
  const visit = (m: tfl.LayersModel): void => {
    for (const layer of m.layers) {
      if (layer instanceof tfl.LayersModel) {
        visit(layer);
        continue;
      }
      // One inbound node per call of the layer; each node carries its own output shape.
      for (const node of layer.inboundNodes) {
        const shapes = node.outputShapes as unknown as Shape | Shape[];
        const shape = (Array.isArray(shapes[0]) ? shapes[0] : shapes) as Shape;
        const n = layerMacs(layer, shape);
        if (n === undefined) continue;
        const entry = (byClass[layer.getClassName()] ??= { calls: 0, macs: 0 });
        entry.calls += 1;
        entry.macs += n;
        macs += n;
      }
    }
  };
  visit(model);
  return { macs, byClass };
}

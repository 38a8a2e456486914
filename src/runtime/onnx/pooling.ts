/**
 * Pooling: MaxPooling2D and AveragePooling2D (TF 'same' pads, which the average leaves out of its count, as TF does),
 * and GlobalAverage/MaxPooling2D (kept as `[batch, 1, 1, c]` or flattened to `[batch, c]`, as the layer's output
 * shape says). Internal.
 *
 * A ZeroPadding2D that alone feeds a pool is merged into the pool's pads instead of becoming an ONNX Pad node, for
 * correctness: ONNX Runtime's optimiser (PadFusion, 1.30) folds a zero Pad into a following MaxPool or AveragePool as
 * if pool padding were zeros, but MaxPool pads are -infinity and the average may leave them out of its count. The
 * merged pads are exact: a MaxPool window that reaches into the zero padding takes `max(window, 0)` through a constant
 * mask, and an average is rescaled by a constant per output position to count the zero padding as TF does.
 */
import { onlyInput, onlyOutput, pair, requireChannelsLast, type LayerCall, type LayerConverter } from './context';
import { samePadding } from './kernels';

type Pads = [number, number, number, number];

/** Rows (or columns) `[first, last]` of the padded input that output position `i` reads, clipped to the input. */
function span(i: number, stride: number, before: number, kernel: number, size: number): [number, number] {
  const start = i * stride - before;
  return [Math.max(start, 0), Math.min(start + kernel - 1, size - 1)];
}

function pool(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (c: LayerCall) => {
    requireChannelsLast(c);
    const shape = c.inputShapes[0] ?? [];
    if (shape.length !== 4) c.fail(`expected a rank-4 input, got rank ${shape.length}`);
    const [, height, width] = shape as [null, number, number, number];
    const [, outH, outW] = c.outputShape as [null, number, number, number];
    const kernel = pair(c.config['poolSize'], 2);
    const strides = pair(c.config['strides'] ?? c.config['poolSize'], 2);
    const padding = c.config['padding'] ?? 'valid';
    let same: Pads = [0, 0, 0, 0];
    if (padding === 'same') {
      const [top, bottom] = samePadding(height, kernel[0], strides[0], 1);
      const [left, right] = samePadding(width, kernel[1], strides[1], 1);
      same = [top, left, bottom, right];
    } else if (padding !== 'valid') {
      c.fail(`padding '${String(padding)}' is not supported ('same' or 'valid')`);
    }
    const merged = c.mergedPadding?.pads;
    const zero: Pads = merged === undefined ? [0, 0, 0, 0] : [merged[0][0], merged[1][0], merged[0][1], merged[1][1]];
    const pads = same.map((p, i) => p + (zero[i] as number)) as Pads;
    if (pads.some((p, i) => p >= (kernel[i % 2] as number))) {
      c.fail(`its padding [${pads.join(', ')}] (ZeroPadding2D included) is not smaller than its ${kernel.join('x')} window, which ONNX pooling requires`);
    }
    const b = c.builder;
    const x = c.state.nchw(c.mergedPadding?.input ?? onlyInput(c));
    const hasZeros = zero.some((p) => p > 0);
    const hint = hasZeros ? `${c.layer.name}_pool` : c.layer.name;
    let y: string;
    if (op === 'MaxPool') {
      y = b.node('MaxPool', [x], hint, { kernel_shape: kernel, strides, pads });
      if (hasZeros) {
        // Output positions whose window reaches into the zero padding: their max is at least 0.
        const mask = new Float32Array(outH * outW).fill(Number.NEGATIVE_INFINITY);
        const realRows: [number, number] = [zero[0], height - zero[2] - 1];
        const realCols: [number, number] = [zero[1], width - zero[3] - 1];
        for (let i = 0; i < outH; i++) {
          const [r0, r1] = span(i, strides[0], same[0], kernel[0], height);
          for (let j = 0; j < outW; j++) {
            const [c0, c1] = span(j, strides[1], same[1], kernel[1], width);
            if (r0 < realRows[0] || r1 > realRows[1] || c0 < realCols[0] || c1 > realCols[1]) mask[i * outW + j] = 0;
          }
        }
        y = b.node('Max', [y, b.floats(`${c.layer.name}_zero_padding`, mask, [1, 1, outH, outW])], c.layer.name);
      }
    } else if (!hasZeros) {
      // TF averages over the window's pixels inside the input only; count_include_pad = 0 does the same.
      y = b.node('AveragePool', [x], hint, { kernel_shape: kernel, strides, pads, count_include_pad: 0 });
    } else {
      // Sum / window size, rescaled to sum / (pixels of the zero-padded input in the window), as TF counts them.
      y = b.node('AveragePool', [x], hint, { kernel_shape: kernel, strides, pads, count_include_pad: 1 });
      const scale = new Float32Array(outH * outW);
      const area = kernel[0] * kernel[1];
      for (let i = 0; i < outH; i++) {
        const [r0, r1] = span(i, strides[0], same[0], kernel[0], height);
        for (let j = 0; j < outW; j++) {
          const [c0, c1] = span(j, strides[1], same[1], kernel[1], width);
          scale[i * outW + j] = area / ((r1 - r0 + 1) * (c1 - c0 + 1));
        }
      }
      if (scale.some((v) => v !== 1)) y = b.node('Mul', [y, b.floats(`${c.layer.name}_count`, scale, [1, 1, outH, outW])], c.layer.name);
    }
    c.state.define(onlyOutput(c), y, 'nchw');
  };
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (c: LayerCall) => {
    requireChannelsLast(c);
    const input = onlyInput(c);
    if (c.state.shape(input).length !== 4) c.fail(`expected a rank-4 input, got rank ${c.state.shape(input).length}`);
    const keepDims = c.outputShape.length === 4;
    const pooled = c.builder.node(op, [c.state.nchw(input)], keepDims ? c.layer.name : `${c.layer.name}_pool`);
    // [batch, c, 1, 1] is [batch, 1, 1, c] in NCHW; flattening it gives tfjs's [batch, c].
    const out = keepDims ? pooled : c.builder.node('Flatten', [pooled], c.layer.name, { axis: 1 });
    c.state.define(onlyOutput(c), out, keepDims ? 'nchw' : 'native');
  };
}

/** Pooling converters by tfjs class name. */
export const POOLING_LAYERS: Readonly<Record<string, LayerConverter>> = {
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
};


/**
 * Pooling: MaxPooling2D and AveragePooling2D (TF 'same' pads, which the average leaves out of its count, as TF does),
 * and GlobalAverage/MaxPooling2D (kept as `[batch, 1, 1, c]` or flattened to `[batch, c]`, as the layer's output
 * shape says). Internal.
 */
import { onlyInput, onlyOutput, pair, requireChannelsLast, type LayerCall, type LayerConverter } from './context';
import { samePadding } from './kernels';

function pool(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (c: LayerCall) => {
    requireChannelsLast(c);
    const input = onlyInput(c);
    const shape = c.state.shape(input);
    if (shape.length !== 4) c.fail(`expected a rank-4 input, got rank ${shape.length}`);
    const kernel = pair(c.config['poolSize'], 2);
    const strides = pair(c.config['strides'] ?? c.config['poolSize'], 2);
    const padding = c.config['padding'] ?? 'valid';
    let pads = [0, 0, 0, 0];
    if (padding === 'same') {
      const [top, bottom] = samePadding(shape[1] as number, kernel[0], strides[0], 1);
      const [left, right] = samePadding(shape[2] as number, kernel[1], strides[1], 1);
      pads = [top, left, bottom, right];
    } else if (padding !== 'valid') {
      c.fail(`padding '${String(padding)}' is not supported ('same' or 'valid')`);
    }
    const attrs: Record<string, number | number[]> = { kernel_shape: kernel, strides, pads };
    // TF averages over the window's pixels inside the image only; count_include_pad = 0 does the same.
    if (op === 'AveragePool') attrs['count_include_pad'] = 0;
    c.state.define(onlyOutput(c), c.builder.node(op, [c.state.nchw(input)], c.layer.name, attrs), 'nchw');
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

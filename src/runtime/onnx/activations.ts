/**
 * Activations, as the `activation` setting of a layer and as activation layers (Activation, ReLU, LeakyReLU, ELU,
 * PReLU, ThresholdedReLU, Softmax). Each follows tfjs-layers' formula for the same name. Internal.
 */
import type { GraphBuilder } from './builder';
import { float } from './builder';
import { onlyInput, onlyOutput, onnxAxis, weightValues, type LayerCall, type LayerConverter } from './context';
import { permute } from './kernels';

/** tfjs-layers activation names the converter translates (as `getConfig()` spells them). */
export const ACTIVATION_NAMES = [
  'linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'softsign',
  'softmax', 'logSoftmax', 'swish', 'mish', 'gelu', 'gelu_new',
] as const;

// tfjs's selu (tf.selu) constants.
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/**
 * Applies the tfjs activation `name` to ONNX value `x`; `lastAxis` is the ONNX axis of the tensor's last tfjs axis
 * (softmax's axis). Returns the result's name, or undefined for a name the converter does not know.
 */
export function applyActivation(b: GraphBuilder, name: unknown, x: string, hint: string, lastAxis: number): string | undefined {
  const unary = (op: string, attrs = {}): string => b.node(op, [x], hint, attrs);
  switch (name) {
    case undefined:
    case null:
    case 'linear':
      return x;
    case 'relu':
      return unary('Relu');
    case 'relu6':
      return clip(b, x, 0, 6, hint);
    case 'elu':
      return unary('Elu', { alpha: float(1) });
    case 'selu':
      return unary('Selu', { alpha: float(SELU_ALPHA), gamma: float(SELU_SCALE) });
    case 'sigmoid':
      return unary('Sigmoid');
    case 'hardSigmoid':
      // tfjs: clip(0.2 * x + 0.5, 0, 1), which is ONNX HardSigmoid with these parameters.
      return unary('HardSigmoid', { alpha: float(0.2), beta: float(0.5) });
    case 'tanh':
      return unary('Tanh');
    case 'softplus':
      return unary('Softplus');
    case 'softsign':
      return unary('Softsign');
    case 'softmax':
      return unary('Softmax', { axis: lastAxis });
    case 'logSoftmax':
      return unary('LogSoftmax', { axis: lastAxis });
    case 'swish':
      return b.node('Mul', [x, b.node('Sigmoid', [x], `${hint}_sigmoid`)], hint);
    case 'mish': {
      const softplus = b.node('Softplus', [x], `${hint}_softplus`);
      return b.node('Mul', [x, b.node('Tanh', [softplus], `${hint}_tanh`)], hint);
    }
    case 'gelu': {
      // x * 0.5 * (1 + erf(x / sqrt(2)))
      const scaled = b.node('Mul', [x, b.scalar(`${hint}_rsqrt2`, Math.SQRT1_2)], `${hint}_scaled`);
      const erf = b.node('Erf', [scaled], `${hint}_erf`);
      const cdf = b.node('Add', [erf, b.scalar(`${hint}_one`, 1)], `${hint}_cdf`);
      const half = b.node('Mul', [x, b.scalar(`${hint}_half`, 0.5)], `${hint}_halfx`);
      return b.node('Mul', [half, cdf], hint);
    }
    case 'gelu_new': {
      // 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
      const cube = b.node('Mul', [b.node('Mul', [x, x], `${hint}_sq`), x], `${hint}_cube`);
      const inner = b.node('Add', [x, b.node('Mul', [cube, b.scalar(`${hint}_c`, 0.044715)], `${hint}_ccube`)], `${hint}_inner`);
      const arg = b.node('Mul', [inner, b.scalar(`${hint}_k`, Math.sqrt(2 / Math.PI))], `${hint}_arg`);
      const t = b.node('Add', [b.node('Tanh', [arg], `${hint}_tanh`), b.scalar(`${hint}_one`, 1)], `${hint}_t`);
      const half = b.node('Mul', [x, b.scalar(`${hint}_half`, 0.5)], `${hint}_halfx`);
      return b.node('Mul', [half, t], hint);
    }
    default:
      return undefined;
  }
}

/** `min(max(x, lo), hi)` (ONNX Clip with its bounds as inputs, opset 11 and later). */
export function clip(b: GraphBuilder, x: string, lo: number, hi: number, hint: string): string {
  return b.node('Clip', [x, b.scalar(`${hint}_min`, lo), b.scalar(`${hint}_max`, hi)], hint);
}

/**
 * Applies a layer's own `activation` setting to its output `x` (of `rank`, held in the layout whose last tfjs axis is
 * ONNX axis `lastAxis`), failing the layer for an unknown name.
 */
export function layerActivation(c: LayerCall, x: string, lastAxis: number): string {
  const name = c.config['activation'];
  const out = applyActivation(c.builder, name, x, `${c.layer.name}_${String(name)}`, lastAxis);
  if (out === undefined) c.fail(`activation '${String(name)}' has no ONNX translation`);
  return out;
}

/** A unary layer that keeps its input's layout. */
function unaryLayer(build: (c: LayerCall, x: string, lastAxis: number) => string): LayerConverter {
  return (c: LayerCall) => {
    const input = onlyInput(c);
    const layout = c.state.layout(input);
    const rank = c.state.shape(input).length;
    const x = c.state.as(input, layout);
    c.state.define(onlyOutput(c), build(c, x, onnxAxis(-1, rank, layout)), layout);
  };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** Activation-layer converters by tfjs class name. */
export const ACTIVATION_LAYERS: Readonly<Record<string, LayerConverter>> = {
  Activation: unaryLayer((c: LayerCall, x: string, lastAxis: number) => layerActivation(c, x, lastAxis)),
  ReLU: unaryLayer((c: LayerCall, x: string) => {
    const maxValue = c.config['maxValue'];
    const relu = c.builder.node('Relu', [x], c.layer.name);
    return typeof maxValue === 'number' ? clip(c.builder, relu, 0, maxValue, `${c.layer.name}_max`) : relu;
  }),
  LeakyReLU: unaryLayer((c: LayerCall, x: string) => c.builder.node('LeakyRelu', [x], c.layer.name, { alpha: float(numberOr(c.config['alpha'], 0.3)) })),
  ELU: unaryLayer((c: LayerCall, x: string) => c.builder.node('Elu', [x], c.layer.name, { alpha: float(numberOr(c.config['alpha'], 1)) })),
  ThresholdedReLU: unaryLayer((c: LayerCall, x: string) =>
    c.builder.node('ThresholdedRelu', [x], c.layer.name, { alpha: float(numberOr(c.config['theta'], 1)) }),
  ),
  Softmax: unaryLayer((c: LayerCall, x: string) => {
    const axis = c.config['axis'] ?? -1;
    if (typeof axis !== 'number') c.fail(`softmax over axes ${JSON.stringify(axis)} is not supported (one axis only)`);
    const input = c.node.inputs[0] as number;
    const rank = c.state.shape(input).length;
    return c.builder.node('Softmax', [x], c.layer.name, { axis: onnxAxis(axis, rank, c.state.layout(input)) });
  }),
  PReLU: unaryLayer((c: LayerCall, x: string) => {
    const input = c.node.inputs[0] as number;
    const alpha = weightValues(c.layer)[0];
    if (alpha === undefined) c.fail('it has no alpha weight');
    // alpha has the input's shape without the batch axis: reorder it like the value it multiplies.
    const nchw = c.state.layout(input) === 'nchw';
    const values = nchw ? permute(alpha.values, alpha.shape, [2, 0, 1]) : alpha.values;
    const shape = nchw ? [alpha.shape[2], alpha.shape[0], alpha.shape[1]] : alpha.shape;
    return c.builder.node('PRelu', [x, c.builder.floats(`${c.layer.name}_alpha`, values, shape as number[])], c.layer.name);
  }),
};

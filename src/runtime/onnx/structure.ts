/**
 * Layers without weights that combine or reshape values: merges (Add, Multiply, Average, Maximum, Minimum, Concatenate),
 * ZeroPadding2D, Cropping2D, UpSampling2D, Flatten, Reshape, Permute and Rescaling; and the list of layers that are
 * identities at inference (Dropout and its kin). Internal.
 */
import { onlyInput, onlyOutput, onnxAxis, pair, requireChannelsLast, type Layout, type LayerCall, type LayerConverter } from './context';

/** The inputs of a merge layer in one common layout (NCHW when any rank-4 input already is). */
function mergeInputs(c: LayerCall): { names: string[]; layout: Layout; rank: number } {
  const slots = c.node.inputs;
  if (slots.length < 1) c.fail('it has no inputs');
  const ranks = slots.map((s) => c.state.shape(s).length);
  const rank = ranks[0] as number;
  if (ranks.some((r) => r !== rank)) c.fail(`inputs of different ranks [${ranks.join(', ')}] are not supported`);
  const layout: Layout = rank === 4 && slots.some((s) => c.state.layout(s) === 'nchw') ? 'nchw' : 'native';
  return { names: slots.map((s) => c.state.as(s, layout)), layout, rank };
}

/** A merge that folds its inputs left to right with a binary op, as tfjs-layers does. */
function chain(op: string, after?: (c: LayerCall, y: string, count: number) => string): LayerConverter {
  return (c: LayerCall) => {
    const { names, layout } = mergeInputs(c);
    let y = names[0] as string;
    names.slice(1).forEach((name, i) => {
      const last = i === names.length - 2 && after === undefined;
      y = c.builder.node(op, [y, name], last ? c.layer.name : `${c.layer.name}_${i}`);
    });
    if (after !== undefined) y = after(c, y, names.length);
    c.state.define(onlyOutput(c), y, layout);
  };
}

const concatenate: LayerConverter = (c: LayerCall) => {
  const { names, layout, rank } = mergeInputs(c);
  const axis = c.config['axis'] ?? -1;
  if (typeof axis !== 'number') c.fail(`axis ${JSON.stringify(axis)} is not supported`);
  c.state.define(onlyOutput(c), c.builder.node('Concat', names, c.layer.name, { axis: onnxAxis(axis, rank, layout) }), layout);
};

/** `[[top, bottom], [left, right]]` from a ZeroPadding2D / Cropping2D config entry. */
export function pairOfPairs(value: unknown): [[number, number], [number, number]] | undefined {
  if (typeof value === 'number') return [[value, value], [value, value]];
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [h, w] = value as unknown[];
  const side = (v: unknown): [number, number] | undefined =>
    typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n) && n >= 0) ? [v[0], v[1]] : undefined;
  const hh = side(h);
  const ww = side(w);
  return hh !== undefined && ww !== undefined ? [hh, ww] : undefined;
}

const zeroPadding2d: LayerConverter = (c: LayerCall) => {
  requireChannelsLast(c);
  const pads = pairOfPairs(c.config['padding']);
  if (pads === undefined) c.fail(`padding ${JSON.stringify(c.config['padding'])} is not understood`);
  const b = c.builder;
  const onnxPads = b.int64s(`${c.layer.name}_pads`, [0, 0, pads[0][0], pads[1][0], 0, 0, pads[0][1], pads[1][1]]);
  c.state.define(onlyOutput(c), b.node('Pad', [c.state.nchw(onlyInput(c)), onnxPads], c.layer.name, { mode: 'constant' }), 'nchw');
};

const cropping2d: LayerConverter = (c: LayerCall) => {
  requireChannelsLast(c);
  const crop = pairOfPairs(c.config['cropping']);
  if (crop === undefined) c.fail(`cropping ${JSON.stringify(c.config['cropping'])} is not understood`);
  const input = onlyInput(c);
  const [, h, w] = c.state.shape(input) as [null, number, number, number];
  const b = c.builder;
  const starts = b.int64s(`${c.layer.name}_starts`, [crop[0][0], crop[1][0]]);
  const ends = b.int64s(`${c.layer.name}_ends`, [h - crop[0][1], w - crop[1][1]]);
  const axes = b.int64s(`${c.layer.name}_axes`, [2, 3]);
  c.state.define(onlyOutput(c), b.node('Slice', [c.state.nchw(input), starts, ends, axes], c.layer.name), 'nchw');
};

const upSampling2d: LayerConverter = (c: LayerCall) => {
  requireChannelsLast(c);
  const [sh, sw] = pair(c.config['size'], 2);
  const interpolation = c.config['interpolation'] ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') c.fail(`interpolation '${String(interpolation)}' is not supported`);
  const b = c.builder;
  const scales = b.floats(`${c.layer.name}_scales`, Float32Array.of(1, 1, sh, sw), [4]);
  // tfjs resizes with alignCorners = halfPixelCenters = false: source = floor(target / scale), i.e. 'asymmetric'.
  const y = b.node('Resize', [c.state.nchw(onlyInput(c)), '', scales], c.layer.name, {
    mode: interpolation === 'nearest' ? 'nearest' : 'linear',
    coordinate_transformation_mode: 'asymmetric',
    nearest_mode: 'floor',
  });
  c.state.define(onlyOutput(c), y, 'nchw');
};

const flatten: LayerConverter = (c: LayerCall) => {
  requireChannelsLast(c);
  // Flatten in tfjs's (NHWC) order so that a Dense after it sees the features where its kernel expects them.
  c.state.define(onlyOutput(c), c.builder.node('Flatten', [c.state.native(onlyInput(c))], c.layer.name, { axis: 1 }), 'native');
};

const reshape: LayerConverter = (c: LayerCall) => {
  const target = c.outputShape.slice(1);
  if (target.some((d) => d === null)) c.fail('its output shape is not fully known');
  const shape = c.builder.int64s(`${c.layer.name}_shape`, [-1, ...(target as number[])]);
  c.state.define(onlyOutput(c), c.builder.node('Reshape', [c.state.native(onlyInput(c)), shape], c.layer.name), 'native');
};

const permuteLayer: LayerConverter = (c: LayerCall) => {
  const dims = c.config['dims'];
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d))) c.fail(`dims ${JSON.stringify(dims)} are not understood`);
  c.state.define(onlyOutput(c), c.builder.node('Transpose', [c.state.native(onlyInput(c))], c.layer.name, { perm: [0, ...(dims as number[])] }), 'native');
};

const rescaling: LayerConverter = (c: LayerCall) => {
  const scale = c.config['scale'] ?? 1;
  const offset = c.config['offset'] ?? 0;
  if (typeof scale !== 'number' || typeof offset !== 'number') c.fail('only a number scale and offset are supported');
  const input = onlyInput(c);
  const layout = c.state.layout(input);
  const b = c.builder;
  const scaled = b.node('Mul', [c.state.as(input, layout), b.scalar(`${c.layer.name}_scale`, scale)], `${c.layer.name}_scaled`);
  c.state.define(onlyOutput(c), b.node('Add', [scaled, b.scalar(`${c.layer.name}_offset`, offset)], c.layer.name), layout);
};

/**
 * Layer classes that do nothing at inference: they are taken out of the graph before conversion (their readers read
 * their input), so that they never stand between two layers that fold or merge. `Activation('linear')` is one too.
 */
export const IDENTITY_CLASSES = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/** Structure converters by tfjs class name. */
export const STRUCTURE_LAYERS: Readonly<Record<string, LayerConverter>> = {
  Add: chain('Add'),
  Multiply: chain('Mul'),
  Maximum: chain('Max'),
  Minimum: chain('Min'),
  Average: chain('Add', (c, y, count) => c.builder.node('Mul', [y, c.builder.scalar(`${c.layer.name}_inv`, 1 / count)], c.layer.name)),
  Concatenate: concatenate,
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  UpSampling2D: upSampling2d,
  Flatten: flatten,
  Reshape: reshape,
  Permute: permuteLayer,
  Rescaling: rescaling,
};

/**
 * What Keras preprocessing and augmentation layers become in a tfjs model, so that the model computes what Keras
 * computes at inference and only tfjs built-in layers enter it (and any file saved from it). Internal, used by
 * config.ts.
 *
 * - Random augmentations (`RandomFlip`, `RandomRotation`, `RandomZoom`, `RandomTranslation`, `RandomContrast`,
 *   `RandomBrightness` and the other `Random*` image layers, `AugMix`, `RandAugment`) pass their input through at
 *   inference: they are removed and their input wired to their consumers. So is a nested model made only of them
 *   (the Keras guide's `data_augmentation = keras.Sequential([...])`).
 * - `RandomCrop`: at inference Keras 3 returns its input unchanged, although its docs (and Keras 2) resize and
 *   centre-crop to its size, and it declares that size as its output shape. Where its input already has that size
 *   both agree and it is removed; otherwise it is refused, naming the disagreement.
 * - `Resizing`: tfjs-layers' `Resizing` samples with aligned corners, Keras with half-pixel centres (and it ignores
 *   `crop_to_aspect_ratio`), so their outputs differ. Where the input already has the target size Keras's resize is
 *   exactly the identity and the layer is removed; otherwise it is refused.
 * - `CenterCrop`: with a known input at least as large as the target, it is exactly a `Cropping2D` with Keras's
 *   offsets (`(H - h) // 2` on top); otherwise refused (tfjs's `CenterCrop` offsets and resizes differently).
 * - `Normalization` (absent from tfjs): `(x - mean) / max(sqrt(variance), 1e-7)` (or its inverse) becomes a
 *   `Rescaling` with per-channel `scale` and `offset`, from the config's `mean` and `variance` or from the weights
 *   the file holds for it (an adapted layer: mean, variance, count). Equal to Keras up to float32 rounding. One
 *   without such values stays a `Normalization`, which tfjs-layers cannot build (and the loader says so).
 *
 * Input sizes come from what Keras 3 records in the config (`build_config.input_shape`, or the shapes of the input
 * tensors); a layer whose input size is not recorded cannot be checked, and is refused where that matters.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Augmentation layers that Keras 3 applies only in training (checked against Keras 3.15: output === input). */
const IDENTITY_AT_INFERENCE = new Set([
  'RandomFlip',
  'RandomRotation',
  'RandomZoom',
  'RandomTranslation',
  'RandomContrast',
  'RandomBrightness',
  'RandomColorDegeneration',
  'RandomColorJitter',
  'RandomGrayscale',
  'RandomHue',
  'RandomSaturation',
  'RandomSharpness',
  'RandomShear',
  'RandomPerspective',
  'RandomErasing',
  'RandomGaussianBlur',
  'RandomInvert',
  'RandomPosterization',
  'RandomElasticTransform',
  'AugMix',
  'RandAugment',
]);

/** Keras's `backend.epsilon()`, the floor of Normalization's denominator. */
const KERAS_EPSILON = 1e-7;

/** What a Keras layer becomes. */
export type Rewrite =
  | { readonly kind: 'keep' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'replace'; readonly className: string; readonly config: JsonObject; readonly folded: boolean }
  | { readonly kind: 'refuse'; readonly reason: string };

/** Where the values of a layer's weights come from: the weights file, by layer name. */
export type WeightsOf = (layerName: string) => readonly Float32Array[] | undefined;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `[batch, ...]` of a layer's (first) input as Keras 3 recorded it, or undefined. */
function recordedInputShape(entry: JsonObject): (number | null)[] | undefined {
  const asShape = (v: Json | undefined): (number | null)[] | undefined =>
    Array.isArray(v) && v.every((d) => d === null || typeof d === 'number') ? (v as (number | null)[]) : undefined;
  const build = isObject(entry.build_config) ? asShape(entry.build_config.input_shape) : undefined;
  if (build !== undefined) return build;
  let found: (number | null)[] | undefined;
  const visit = (v: Json | undefined): void => {
    if (found !== undefined) return;
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObject(v)) {
      if (v.class_name === '__keras_tensor__' && isObject(v.config)) found = asShape(v.config.shape);
      else Object.values(v).forEach(visit);
    }
  };
  visit(entry.inbound_nodes);
  return found;
}

/** `[height, width]` of a channels-last image input, when Keras recorded both. */
function inputSize(entry: JsonObject): [number, number] | undefined {
  const shape = recordedInputShape(entry);
  if (shape === undefined || shape.length !== 4) return undefined;
  const [, h, w] = shape;
  return typeof h === 'number' && typeof w === 'number' ? [h, w] : undefined;
}

function channelsLast(config: JsonObject): boolean {
  return config.data_format === undefined || config.data_format === null || config.data_format === 'channels_last';
}

function targetSize(config: JsonObject): [number, number] | undefined {
  const { height, width } = config;
  return typeof height === 'number' && typeof width === 'number' ? [height, width] : undefined;
}

const show = (size: readonly number[] | undefined) => (size === undefined ? 'an unrecorded size' : `[${size.join(', ')}]`);

/** True for a nested Sequential or Functional model whose every layer (inputs aside) is removed at inference. */
export function isIdentityModel(entry: JsonObject): boolean {
  const className = entry.class_name;
  if (className !== 'Sequential' && className !== 'Functional' && className !== 'Model') return false;
  const config = isObject(entry.config) ? entry.config : {};
  const layers = (Array.isArray(config.layers) ? config.layers : []).filter(isObject);
  const inner = layers.filter((l) => l.class_name !== 'InputLayer');
  if (inner.length === 0) return false;
  if (className !== 'Sequential') {
    // A functional one must be a plain chain: one input, one output, each layer fed by one tensor.
    const ins = config.input_layers;
    const outs = config.output_layers;
    const single = (v: Json | undefined) => Array.isArray(v) && (typeof v[0] === 'string' || v.length === 1);
    if (!single(ins) || !single(outs)) return false;
  }
  return inner.every((l) => {
    const rewrite = rewriteForInference(l, () => undefined);
    return rewrite.kind === 'drop';
  });
}

/** What `entry` (a Keras layer) becomes at inference; `weightsOf` gives the file's values for folded layers. */
export function rewriteForInference(entry: JsonObject, weightsOf: WeightsOf): Rewrite {
  const className = typeof entry.class_name === 'string' ? entry.class_name : '';
  const config = isObject(entry.config) ? entry.config : {};
  if (IDENTITY_AT_INFERENCE.has(className)) return { kind: 'drop' };
  if (isIdentityModel(entry)) return { kind: 'drop' };
  switch (className) {
    case 'RandomCrop':
      return randomCrop(entry, config);
    case 'Resizing':
      return resizing(entry, config);
    case 'CenterCrop':
      return centerCrop(entry, config);
    case 'Normalization':
      return normalization(entry, config, weightsOf);
    default:
      return { kind: 'keep' };
  }
}

function randomCrop(entry: JsonObject, config: JsonObject): Rewrite {
  const target = targetSize(config);
  const input = inputSize(entry);
  if (target !== undefined && input !== undefined && channelsLast(config) && input[0] === target[0] && input[1] === target[1]) {
    return { kind: 'drop' };
  }
  return {
    kind: 'refuse',
    reason:
      `RandomCrop to ${show(target)} of an input of ${show(input)}: at inference Keras 3 passes the input through ` +
      'unchanged, while its docs (and Keras 2) resize and centre-crop it and its declared output shape is the crop ' +
      'size; tl-kit reproduces neither guess. Crop the images before the model, or give the model inputs of the crop size',
  };
}

function resizing(entry: JsonObject, config: JsonObject): Rewrite {
  const target = targetSize(config);
  const input = inputSize(entry);
  const padded = config.pad_to_aspect_ratio === true;
  if (target !== undefined && input !== undefined && channelsLast(config) && !padded && input[0] === target[0] && input[1] === target[1]) {
    return { kind: 'drop' };
  }
  return {
    kind: 'refuse',
    reason:
      `Resizing from ${show(input)} to ${show(target)}: tfjs-layers' Resizing samples with aligned corners and Keras ` +
      'with half-pixel centres, so the outputs would differ. Resize the images to the target size before the model ' +
      "(tl-kit's DataLoader does, with imageSize) and give the model inputs of that size",
  };
}

function centerCrop(entry: JsonObject, config: JsonObject): Rewrite {
  const target = targetSize(config);
  const input = inputSize(entry);
  if (target === undefined || input === undefined || !channelsLast(config) || input[0] < target[0] || input[1] < target[1]) {
    return {
      kind: 'refuse',
      reason:
        `CenterCrop to ${show(target)} of an input of ${show(input)}: tl-kit builds it exactly only for a recorded ` +
        'channels-last input at least as large as the crop (tfjs-layers\' CenterCrop uses other offsets)',
    };
  }
  if (input[0] === target[0] && input[1] === target[1]) return { kind: 'drop' };
  const top = Math.floor((input[0] - target[0]) / 2);
  const left = Math.floor((input[1] - target[1]) / 2);
  return {
    kind: 'replace',
    className: 'Cropping2D',
    config: {
      name: config.name ?? null,
      trainable: false,
      dtype: 'float32',
      cropping: [
        [top, input[0] - target[0] - top],
        [left, input[1] - target[1] - left],
      ],
      data_format: 'channels_last',
    },
    folded: false,
  };
}

/** A number or list of numbers from a config field, as float32 values. */
function numbers(value: Json | undefined): Float32Array | undefined {
  if (typeof value === 'number') return Float32Array.of(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number')) return Float32Array.from(value as number[]);
  return undefined;
}

function normalization(entry: JsonObject, config: JsonObject, weightsOf: WeightsOf): Rewrite {
  const name = typeof config.name === 'string' ? config.name : '?';
  const axis = Array.isArray(config.axis) ? config.axis : config.axis === null || config.axis === undefined ? [] : [config.axis];
  const rank = recordedInputShape(entry)?.length;
  const lastAxis = axis.length === 0 || (axis.length === 1 && (axis[0] === -1 || (rank !== undefined && axis[0] === rank - 1)));
  let mean = numbers(config.mean);
  let variance = numbers(config.variance);
  let folded = false;
  if (mean === undefined || variance === undefined) {
    // An adapted layer keeps mean and variance (and a count) as weights; Keras 3 and the legacy layout list them in
    // this order.
    const stored = weightsOf(name);
    const adapted = stored?.length === 3 && stored[2]?.length === 1 && stored[0]?.length === stored[1]?.length;
    // Without values of its own it stays a Normalization, which tfjs-layers lacks: the caller names it as such.
    if (stored === undefined || !adapted) return { kind: 'keep' };
    mean = stored[0] as Float32Array;
    variance = stored[1] as Float32Array;
    folded = true;
  }
  if (!lastAxis || mean.length !== variance.length || (axis.length === 0 && mean.length !== 1)) {
    return {
      kind: 'refuse',
      reason: `Normalization over axis ${JSON.stringify(config.axis)} with ${mean.length} means: only per-channel (axis -1) and global normalisation load`,
    };
  }
  const invert = config.invert === true;
  const scale: number[] = [];
  const offset: number[] = [];
  for (let i = 0; i < mean.length; i++) {
    // Keras divides by max(sqrt(variance), epsilon) in float32; scale and offset are rounded to float32 like it.
    const d = Math.max(Math.fround(Math.sqrt(variance[i] as number)), Math.fround(KERAS_EPSILON));
    const m = mean[i] as number;
    scale.push(Math.fround(invert ? d : 1 / d));
    offset.push(Math.fround(invert ? m : -m / d));
  }
  return {
    kind: 'replace',
    className: 'Rescaling',
    config: {
      name,
      trainable: false,
      dtype: 'float32',
      scale: scale.length === 1 ? (scale[0] as number) : scale,
      offset: offset.length === 1 ? (offset[0] as number) : offset,
    },
    folded,
  };
}

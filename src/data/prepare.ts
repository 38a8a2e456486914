/**
 * Resizing and pixel preprocessing on tensors: the one path every batch of a {@link DataLoader} goes through, and
 * what a saved classifier calls to prepare a single image exactly like the training data.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, TlKitError } from '../errors';
import { rootReason } from '../internal/cause';
import { MAX_IMAGE_SIDE, checkBatchElements, checkOneOf, checkOptionKeys, checkOptionsObject } from '../internal/validate';
import { resizePlan } from './resize-plan';
import type { PreprocessingMode, ResizeMode } from './types';

/**
 * Options of {@link prepareImages}.
 *
 * @example
 * ```ts
 * const batch = prepareImages(images, { imageSize: [224, 224], resize: 'center-crop', preprocessing: 'torch' });
 * ```
 *
 * @category data
 */
export interface PrepareImagesOptions {
  /**
   * Output size: one number for square images, or `[height, width]`.
   * @defaultValue 160
   */
  readonly imageSize?: number | readonly [number, number];
  /**
   * How images are brought to `imageSize`.
   * @defaultValue 'stretch'
   */
  readonly resize?: ResizeMode;
  /**
   * Pixel scaling applied after resizing.
   * @defaultValue 'tf'
   */
  readonly preprocessing?: PreprocessingMode;
}

/** Every PrepareImagesOptions name, so a misspelt one is refused. */
const PREPARE_KEYS: Readonly<Record<keyof PrepareImagesOptions, true>> = { imageSize: true, resize: true, preprocessing: true };

/** ImageNet channel means (RGB, 0..255) used by `'caffe'`, and mean/std (0..1) used by `'torch'`. */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

/**
 * A built-in preprocessing mode as a per-channel affine map: output channel `c` is
 * `input[source[c]] * scale[c] + offset[c]`, computed in float32 (multiply, round, add, round). The loader applies it
 * in plain JS while filling a batch and {@link applyPreprocessing} with tfjs ops; both give the same float32 values.
 */
export interface AffinePreprocessing {
  /** Input channel read for each output channel (`[2, 1, 0]` swaps RGB to BGR). */
  readonly source: readonly [number, number, number];
  /** Per-channel factor (already a float32 value). */
  readonly scale: readonly [number, number, number];
  /** Per-channel offset (already a float32 value). */
  readonly offset: readonly [number, number, number];
}

const f32 = (xs: number[]): [number, number, number] => xs.map((x) => Math.fround(x)) as [number, number, number];

/** The affine form of each built-in mode. */
export const AFFINE: Readonly<Record<'tf' | 'caffe' | 'torch' | 'unit' | 'none', AffinePreprocessing>> = {
  tf: { source: [0, 1, 2], scale: f32([1 / 127.5, 1 / 127.5, 1 / 127.5]), offset: f32([-1, -1, -1]) },
  unit: { source: [0, 1, 2], scale: f32([1 / 255, 1 / 255, 1 / 255]), offset: f32([0, 0, 0]) },
  none: { source: [0, 1, 2], scale: f32([1, 1, 1]), offset: f32([0, 0, 0]) },
  caffe: { source: [2, 1, 0], scale: f32([1, 1, 1]), offset: f32(CAFFE_MEAN_BGR.map((m) => -m)) },
  torch: {
    source: [0, 1, 2],
    scale: f32(TORCH_STD.map((s) => 1 / (255 * s))),
    offset: f32(TORCH_MEAN.map((m, i) => -m / (TORCH_STD[i] as number))),
  },
};

/**
 * Writes `bytes` (RGB, 0..255) into `out` from `at` with a built-in mode, in float32 like the tfjs ops: the
 * loader's fast path for images that sharp already brought to the target size.
 */
export function affineInto(out: Float32Array, at: number, bytes: Uint8Array, mode: AffinePreprocessing): void {
  const [s0, s1, s2] = mode.source;
  const [k0, k1, k2] = mode.scale;
  const [o0, o1, o2] = mode.offset;
  for (let i = 0; i < bytes.length; i += 3) {
    out[at + i] = Math.fround(Math.fround((bytes[i + s0] as number) * k0) + o0);
    out[at + i + 1] = Math.fround(Math.fround((bytes[i + s1] as number) * k1) + o1);
    out[at + i + 2] = Math.fround(Math.fround((bytes[i + s2] as number) * k2) + o2);
  }
}

const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'center-crop', 'pad'];
const PREPROCESSING_MODES = ['tf', 'caffe', 'torch', 'unit', 'none'] as const;

/** Validates and normalises `imageSize` to `[height, width]`, each side in `[1, MAX_IMAGE_SIDE]`. */
export function resolveImageSize(call: string, value: unknown): [number, number] {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  let size: [number, number] | undefined;
  if (ok(value)) size = [value, value];
  else if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1])) size = [value[0], value[1]];
  if (size === undefined) {
    throw new InvalidArgumentError(call, 'imageSize', 'a positive integer or [height, width] of positive integers', value);
  }
  if (size[0] > MAX_IMAGE_SIDE || size[1] > MAX_IMAGE_SIDE) {
    throw new InvalidArgumentError(call, 'imageSize', `at most ${MAX_IMAGE_SIDE} pixels per side`, value);
  }
  return size;
}

/** Validates `resize`. */
export function checkResize(call: string, value: unknown): asserts value is ResizeMode {
  checkOneOf(call, 'resize', value, RESIZE_MODES);
}

/** Validates `preprocessing` (a mode name or a function). */
export function checkPreprocessing(call: string, value: unknown): asserts value is PreprocessingMode {
  if (typeof value === 'function') return;
  if (typeof value !== 'string' || !(PREPROCESSING_MODES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      call,
      'preprocessing',
      `one of ${PREPROCESSING_MODES.map((m) => `'${m}'`).join(', ')} or a function`,
      value,
    );
  }
}

/**
 * Applies `mode` to float32 RGB images in 0..255 `[b, h, w, 3]`. Must run inside `tf.tidy`.
 * A function mode must return a float32 Tensor4D with the same batch size; anything else is an error of the call.
 */
export function applyPreprocessing(call: string, images: tf.Tensor4D, mode: PreprocessingMode): tf.Tensor4D {
  if (typeof mode === 'function') {
    let out: unknown;
    try {
      out = mode(images);
    } catch (err) {
      // With tfjs-core alone, chained methods (x.div(255)) do not exist: the usual cause of a failing function here.
      throw new TlKitError(
        'INVALID_ARGUMENT',
        `${call}: the preprocessing function threw (${err instanceof Error ? err.message : rootReason(err)}); write it with tf functions, e.g. (x) => tf.div(x, 255), since chained tensor methods need the full @tensorflow/tfjs`,
        { cause: err },
      );
    }
    if (!(out instanceof tf.Tensor) || out.rank !== 4 || out.shape[0] !== images.shape[0]) {
      throw new InvalidArgumentError(call, 'preprocessing', 'a function returning a Tensor4D with the same batch size', out);
    }
    return out.dtype === 'float32' ? (out as tf.Tensor4D) : tf.cast(out as tf.Tensor4D, 'float32');
  }
  if (mode === 'none') return images;
  const affine = AFFINE[mode];
  const ordered = affine.source[0] === 0 ? images : tf.gather(images, tf.tensor1d([...affine.source], 'int32'), 3);
  return tf.add(tf.mul(ordered, tf.tensor1d([...affine.scale])), tf.tensor1d([...affine.offset]));
}

/**
 * Resizes one image `[h, w, 3]` (any numeric dtype, values 0..255) to `[dstH, dstW, 3]` float32 with `mode`, using
 * bilinear resampling with half-pixel centres. Must run inside `tf.tidy`. An image already at the target size is only
 * cast.
 */
export function resizeImage(image: tf.Tensor3D, dstH: number, dstW: number, mode: ResizeMode): tf.Tensor3D {
  const [srcH, srcW] = image.shape;
  const float = image.dtype === 'float32' ? image : tf.cast(image, 'float32');
  if (srcH === dstH && srcW === dstW) return float;
  const plan = resizePlan(srcH, srcW, dstH, dstW, mode);
  const { crop, scaled, pad } = plan;
  let x: tf.Tensor3D = float;
  if (crop.height !== srcH || crop.width !== srcW) x = tf.slice(x, [crop.top, crop.left, 0], [crop.height, crop.width, 3]);
  if (scaled.height !== crop.height || scaled.width !== crop.width) {
    x = tf.image.resizeBilinear(x, [scaled.height, scaled.width], false, true);
  }
  if (pad.top + pad.bottom + pad.left + pad.right > 0) {
    x = tf.pad(x, [
      [pad.top, pad.bottom],
      [pad.left, pad.right],
      [0, 0],
    ]);
  }
  return x;
}

/** Checks that `t` is an RGB image tensor `[h, w, 3]`. */
function checkImageTensor(call: string, option: string, t: unknown): asserts t is tf.Tensor3D {
  if (!(t instanceof tf.Tensor) || t.rank !== 3 || t.shape[2] !== 3 || t.isDisposed) {
    throw new InvalidArgumentError(call, option, 'a live tf.Tensor3D [height, width, 3]', t instanceof tf.Tensor ? t.shape : t);
  }
}

/**
 * Brings images to `imageSize` with `resize` and applies `preprocessing`, returning one float32 batch: exactly the
 * path a {@link DataLoader}'s batches take after decoding, so a trained model sees the same pixels at inference.
 *
 * Resampling is bilinear with half-pixel centres (`tf.image.resizeBilinear(x, size, false, true)`). The loader in
 * Node with sharp resizes inside sharp instead (see `docs/data.md`); use {@link decodeImage} with `imageSize` to get
 * the same small image from sharp before calling this.
 *
 * @param images - one RGB image `[h, w, 3]` or a list of them (sizes may differ), values 0..255, any numeric dtype.
 *   They stay owned by the caller.
 * @param options - {@link PrepareImagesOptions}.
 * @returns a new float32 `[n, height, width, 3]` tensor, owned by the caller.
 * @throws {@link InvalidArgumentError} for an empty list, a tensor that is not `[h, w, 3]`, or bad options.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { decodeImage, prepareImages } from 'tl-kit';
 * const opts = { imageSize: 224, resize: 'center-crop' } as const;
 * const image = await decodeImage('cat.jpg', opts); // in Node with sharp, resized inside sharp
 * const batch = prepareImages(image, { ...opts, preprocessing: 'tf' });
 * image.dispose();
 * console.log(batch.shape); // [1, 224, 224, 3]
 * batch.dispose();
 * ```
 *
 * @category data
 */
export function prepareImages(images: tf.Tensor3D[] | tf.Tensor3D, options: PrepareImagesOptions = {}): tf.Tensor4D {
  const call = 'prepareImages';
  checkOptionsObject(call, options);
  checkOptionKeys<PrepareImagesOptions>(call, options, PREPARE_KEYS);
  const list = Array.isArray(images) ? images : [images];
  if (list.length === 0) throw new InvalidArgumentError(call, 'images', 'a non-empty list of Tensor3D', list);
  list.forEach((t, i) => checkImageTensor(call, Array.isArray(images) ? `images[${i}]` : 'images', t));
  const [h, w] = resolveImageSize(call, options.imageSize ?? 160);
  const resize = options.resize ?? 'stretch';
  checkResize(call, resize);
  const preprocessing = options.preprocessing ?? 'tf';
  checkPreprocessing(call, preprocessing);
  checkBatchElements(call, 'images', list.length, h, w);
  return prepareBatch(call, list, [h, w], resize, preprocessing);
}

/** {@link prepareImages} without argument checks, for the loader's batches. */
export function prepareBatch(
  call: string,
  list: readonly tf.Tensor3D[],
  size: readonly [number, number],
  resize: ResizeMode,
  preprocessing: PreprocessingMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const resized = list.map((t) => resizeImage(t, size[0], size[1], resize));
    const batch = resized.length === 1 ? tf.expandDims(resized[0] as tf.Tensor3D, 0) : tf.stack(resized);
    return applyPreprocessing(call, batch as tf.Tensor4D, preprocessing);
  });
}

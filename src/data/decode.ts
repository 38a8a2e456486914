/**
 * Decoding one image source to 8-bit RGB, on every platform: sharp (or the pure-JS fallback) in Node, the browser's
 * own decoders elsewhere. {@link decodeImage} is the public entry; the loader uses {@link decodeToPixels}.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { DecodeError, InvalidArgumentError, TlKitError, UnsupportedError } from '../errors';
import { DEFAULT_TIMEOUT_MS, OverLimitError, fetchBytes, resolveTimeout } from '../io/fetch';
import {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_PIXELS,
  MAX_FILE_BYTES,
  checkIntegerInRange,
  checkOneOf,
  checkOptionKeys,
  checkOptionsObject,
} from '../internal/validate';
import { DecodeFailure, decoderReason, errorMessage, overFileLimit } from './decode-error';
import { jsDecode } from './js-decode';
import type { DecodeTarget } from './node-decode';
import { checkDeclaredPixels } from './image-header';
import { NOT_AN_IMAGE, sniffFormat, toRgb, type RgbPixels } from './pixels';
import { checkPreprocessing, checkResize, resolveImageSize } from './prepare';
import { isNode } from '../internal/env';
import { describeSource, isBrowserImage, isPixelData, isUrlString, type ImageSource } from './sources';
import type { PreprocessingMode, ResizeMode } from './types';

/** Which decoder reads encoded bytes in Node (see `DecodeImageOptions.decoder`; internal shorthand). */
export type DecoderChoice = 'auto' | 'sharp' | 'pure-js';

const DECODERS: readonly DecoderChoice[] = ['auto', 'sharp', 'pure-js'];

/**
 * Options of {@link decodeImage}.
 *
 * @example
 * ```ts
 * const image = await decodeImage(bytes, { imageSize: 160, resize: 'pad' });
 * ```
 *
 * @category data
 */
export interface DecodeImageOptions {
  /**
   * Size hint `[height, width]` (or one number): in Node with sharp the image is decoded and resized in one pass with
   * `resize` and comes back at this size; other decoders return the original size. Pass the result to
   * {@link prepareImages} with the same `imageSize`, `resize` and `preprocessing` either way: that is exactly what the
   * loader's batches do. At most 8192 per side.
   * @defaultValue undefined (original size)
   */
  readonly imageSize?: number | readonly [number, number];
  /**
   * Resize mode used with `imageSize`.
   * @defaultValue 'stretch'
   */
  readonly resize?: ResizeMode;
  /**
   * Which decoder reads encoded bytes in Node: `'auto'` uses sharp when it is installed and the pure-JS decoders
   * (jpeg-js, pngjs: JPEG and PNG only) when it is not; `'sharp'` requires sharp; `'pure-js'` never loads sharp.
   * Browsers always use the platform's decoders.
   * @defaultValue 'auto'
   */
  readonly decoder?: 'auto' | 'sharp' | 'pure-js';
  /**
   * Not used for decoding: accepted (and validated) so that one options object, `{ imageSize, resize, preprocessing }`,
   * can go to both `decodeImage` and {@link prepareImages}, as the loader's batches do.
   * @defaultValue 'tf'
   */
  readonly preprocessing?: PreprocessingMode;
  /**
   * Most pixels (width x height, as the image's header declares them) an image may have. The header is read before
   * anything is decoded; an image over the limit is refused (`DecodeError`; in a dataset, a `skipped` entry naming
   * `maxPixels`) by every decoder: sharp (through its `limitInputPixels`), the pure-JS decoders and browsers.
   * @defaultValue 268402689 (sharp's default, 0x3FFF x 0x3FFF)
   */
  readonly maxPixels?: number;
  /**
   * Largest file, download or Blob read, in bytes (at most 4 GiB). Only regular files are read; a FIFO, socket or
   * device is refused without blocking.
   * @defaultValue 268435456 (256 MiB)
   */
  readonly maxFileBytes?: number;
  /**
   * Longest wait, in milliseconds, for an `http(s)` image URL's response and for each chunk of its body; a server that
   * stalls longer fails the image (`DecodeError`; in a dataset, a `skipped` entry naming `timeoutMs`). At most one day.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
}

/** Every DecodeImageOptions name, so a misspelt one is refused. */
const DECODE_KEYS: Readonly<Record<keyof DecodeImageOptions, true>> = {
  imageSize: true,
  resize: true,
  decoder: true,
  preprocessing: true,
  maxPixels: true,
  maxFileBytes: true,
  timeoutMs: true,
};

/** The resource limits of one decode: `maxPixels`, `maxFileBytes` and `timeoutMs`. */
export interface DecodeLimits {
  /** Most pixels an image may declare. */
  readonly maxPixels: number;
  /** Largest file, download or Blob read, in bytes. */
  readonly maxFileBytes: number;
  /** Longest wait for a URL's response and for each chunk of its body, in ms. */
  readonly timeoutMs: number;
}

/** The default limits. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxPixels: DEFAULT_MAX_PIXELS,
  maxFileBytes: DEFAULT_MAX_FILE_BYTES,
  timeoutMs: DEFAULT_TIMEOUT_MS,
};

/** Validates `maxPixels`, `maxFileBytes` and `timeoutMs` (undefined = default). */
export function resolveDecodeLimits(
  call: string,
  options: { readonly maxPixels?: unknown; readonly maxFileBytes?: unknown; readonly timeoutMs?: unknown },
): DecodeLimits {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  checkIntegerInRange(call, 'maxPixels', maxPixels, 1, Number.MAX_SAFE_INTEGER);
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  checkIntegerInRange(call, 'maxFileBytes', maxFileBytes, 1, MAX_FILE_BYTES);
  const timeoutMs = resolveTimeout(call, options.timeoutMs);
  return { maxPixels, maxFileBytes, timeoutMs };
}

/** Validates `decoder`. */
export function checkDecoder(call: string, value: unknown): asserts value is DecoderChoice {
  checkOneOf(call, 'decoder', value, DECODERS);
}

/**
 * Downloads an image URL within the limits: `maxFileBytes` (declared or counted) and `timeoutMs` for the response
 * and each chunk. Every failure is a {@link DecodeFailure} (a skipped sample in a dataset), its reason in one line.
 */
async function downloadImage(url: string | URL, limits: DecodeLimits): Promise<Uint8Array> {
  const href = url instanceof URL ? url.href : url;
  try {
    return await fetchBytes(href, { fetch: (...args) => fetch(...args), timeoutMs: limits.timeoutMs }, limits.maxFileBytes, 'maxFileBytes is');
  } catch (err) {
    if (err instanceof OverLimitError) throw overFileLimit(limits.maxFileBytes, err.declared);
    if (err instanceof TlKitError) {
      const why = err.message.replace(/^(?:cannot download|download of) \S+:? ?/, '').replace(/^\((.*)\)$/, '$1');
      throw new DecodeFailure(`fetch failed: ${why}`, err);
    }
    throw new DecodeFailure(`fetch failed: ${errorMessage(err)}`, err);
  }
}

let nodeDecodeModule: Promise<typeof import('./node-decode')> | undefined;

/**
 * The Node-only decoding module (file reads, sharp), imported once: it stays a dynamic import so that browser bundles
 * leave it out, and a dynamic import per image costs more than decoding a small one.
 */
function nodeDecoding(): Promise<typeof import('./node-decode')> {
  nodeDecodeModule ??= import('./node-decode');
  return nodeDecodeModule;
}

/** Gets the encoded bytes of a byte-like or URL source within `maxFileBytes`; undefined for pixel-like sources. */
async function encodedBytes(source: ImageSource, limits: DecodeLimits): Promise<Uint8Array | undefined> {
  const { maxFileBytes } = limits;
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    if (source.size > maxFileBytes) throw overFileLimit(maxFileBytes, source.size);
    return new Uint8Array(await source.arrayBuffer());
  }
  const url = source instanceof URL ? source : typeof source === 'string' && (isUrlString(source) || !isNode()) ? source : undefined;
  if (url !== undefined) {
    if (url instanceof URL && url.protocol === 'file:' && isNode()) {
      const { fileURLToPath } = await import('node:url');
      const { readImageFile } = await nodeDecoding();
      return readImageFile(fileURLToPath(url), maxFileBytes);
    }
    return downloadImage(url, limits);
  }
  if (typeof source === 'string') {
    const { readImageFile } = await nodeDecoding();
    return readImageFile(source, maxFileBytes);
  }
  return undefined;
}

/** Reads an RGB(A)/gray tensor or a browser image into RGB bytes. */
async function pixelsFromTensor(t: tf.Tensor3D): Promise<RgbPixels> {
  const [h, w, c] = t.shape;
  if (c !== 1 && c !== 3 && c !== 4) throw new DecodeFailure(`a tensor image needs 1, 3 or 4 channels, got shape ${JSON.stringify(t.shape)}`);
  const values = await t.data();
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(values[i] as number)));
  return toRgb(bytes, w, h, c);
}

/** Decodes encoded bytes in a browser with createImageBitmap. */
async function browserDecodeBytes(bytes: Uint8Array): Promise<RgbPixels> {
  if (typeof createImageBitmap !== 'function') throw new DecodeFailure('this platform has no image decoder (createImageBitmap)');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as unknown as BlobPart]));
  } catch (err) {
    throw new DecodeFailure(`corrupt or unsupported image: ${decoderReason(err)}`, err);
  }
  try {
    return await pixelsFromBrowserImage(bitmap);
  } finally {
    bitmap.close();
  }
}

/** Reads a browser image object with tf.browser.fromPixels (4 channels, so alpha can be flattened onto black). */
async function pixelsFromBrowserImage(image: unknown): Promise<RgbPixels> {
  const t = tf.browser.fromPixels(image as ImageData, 4);
  try {
    return await pixelsFromTensor(t);
  } finally {
    t.dispose();
  }
}

/**
 * Decodes any source to 8-bit RGB bytes, resized to `target` inside sharp when sharp decodes it. Throws a
 * {@link DecodeFailure} whose message is the bare reason.
 */
export async function decodeToPixels(
  source: ImageSource,
  target: DecodeTarget | undefined,
  decoder: DecoderChoice,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  bytesOverride?: Uint8Array,
): Promise<RgbPixels> {
  if (source instanceof tf.Tensor) {
    if (source.isDisposed) throw new DecodeFailure('the tensor was disposed');
    if (source.rank !== 3) throw new DecodeFailure(`a tensor image must be [h, w, c], got shape ${JSON.stringify(source.shape)}`);
    return pixelsFromTensor(source as tf.Tensor3D);
  }
  if (isPixelData(source)) {
    const { data, width, height, channels } = source;
    if (![1, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new DecodeFailure(`pixels need positive integer width/height and 1, 3 or 4 channels, got ${width}x${height}x${channels}`);
    }
    if (data.length !== width * height * channels) {
      throw new DecodeFailure(`pixels have ${data.length} values, expected ${width}*${height}*${channels} = ${width * height * channels}`);
    }
    const bytes = data instanceof Uint8Array ? data : Uint8Array.from(data as ArrayLike<number>, (v) => Math.max(0, Math.min(255, Math.round(v))));
    return toRgb(bytes, width, height, channels);
  }
  if (isBrowserImage(source)) return pixelsFromBrowserImage(source);
  const bytes = bytesOverride ?? (await encodedBytes(source, limits));
  if (bytes === undefined) throw new DecodeFailure(`not an image source: ${describeSource(source)}`);
  if (bytes.byteLength === 0) throw new DecodeFailure('empty file (0 bytes)');
  checkDeclaredPixels(bytes, limits.maxPixels);
  if (!isNode()) return browserDecodeBytes(bytes);
  if (sniffFormat(bytes) === undefined) throw new DecodeFailure(NOT_AN_IMAGE);
  const { loadSharp, sharpDecode } = await nodeDecoding();
  const sharp = decoder === 'pure-js' ? undefined : await loadSharp();
  if (sharp) return sharpDecode(sharp, bytes, target, limits.maxPixels);
  if (decoder === 'sharp') throw new UnsupportedError("decoder 'sharp' was requested but the sharp package is not installed");
  return jsDecode(bytes, limits.maxPixels);
}

/**
 * Decodes one image to an 8-bit RGB tensor `[height, width, 3]` (dtype int32, values 0..255), the way the
 * {@link DataLoader} decodes its samples: EXIF orientation applied, gray/CMYK/16-bit converted, alpha flattened onto
 * black.
 *
 * In Node, encoded bytes are decoded with sharp (optional peer dependency, imported lazily); when sharp is not
 * installed, with jpeg-js/pngjs (JPEG and PNG only). A decode error of the image is thrown, never papered over by
 * another decoder. In browsers, URLs, `Blob`s and image elements are decoded by the platform.
 *
 * @param source - a file path (Node), URL, encoded bytes, Blob/File, browser image, {@link PixelData} or Tensor3D.
 * @param options - {@link DecodeImageOptions}; pass the loader's `imageSize` and `resize` to get the loader's pixels.
 * @returns a new tensor owned by the caller (dispose it).
 * @throws {@link DecodeError} when the source cannot be read or decoded; {@link InvalidArgumentError} for bad
 *   options; {@link UnsupportedError} when `decoder: 'sharp'` is asked without sharp installed.
 * @example
 * ```ts
 * import { decodeImage, prepareImages } from 'tl-kit';
 * const opts = { imageSize: 160, resize: 'stretch', preprocessing: 'tf' } as const;
 * const image = await decodeImage('photos/cat.jpg', opts);
 * const batch = prepareImages(image, opts); // [1, 160, 160, 3], same pixels as DataLoader batches
 * image.dispose();
 * ```
 *
 * @category data
 */
export async function decodeImage(source: ImageSource, options: DecodeImageOptions = {}): Promise<tf.Tensor3D> {
  const call = 'decodeImage';
  if (source === undefined || source === null) throw new InvalidArgumentError(call, 'source', 'an image source', source);
  checkOptionsObject(call, options);
  checkOptionKeys<DecodeImageOptions>(call, options, DECODE_KEYS);
  const limits = resolveDecodeLimits(call, options);
  const decoder = options.decoder ?? 'auto';
  checkDecoder(call, decoder);
  if (options.preprocessing !== undefined) checkPreprocessing(call, options.preprocessing);
  let target: DecodeTarget | undefined;
  if (options.imageSize !== undefined) {
    const [height, width] = resolveImageSize(call, options.imageSize);
    const mode = options.resize ?? 'stretch';
    checkResize(call, mode);
    target = { height, width, mode };
  }
  let pixels: RgbPixels;
  try {
    pixels = await decodeToPixels(source, target, decoder, limits);
  } catch (err) {
    if (err instanceof DecodeFailure) {
      throw new DecodeError(`${call}: cannot decode ${describeSource(source)}: ${err.message}`, { cause: err.cause ?? err });
    }
    throw err;
  }
  return tf.tensor3d(pixels.data, [pixels.height, pixels.width, 3], 'int32');
}

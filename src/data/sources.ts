/**
 * What an image can come from, and how each kind is recognised. Types only, plus the guards used by the decoders.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Raw pixels given directly: `height * width * channels` values in 0..255, row-major.
 *
 * @example
 * ```ts
 * const gray: PixelData = { data: new Uint8Array(28 * 28), width: 28, height: 28, channels: 1 };
 * const image = await decodeImage(gray); // [28, 28, 3]
 * ```
 *
 * @category data
 */
export interface PixelData {
  /** Pixel values, row-major, `channels` interleaved values per pixel, 0..255. */
  readonly data: Uint8Array | Uint8ClampedArray | Int32Array | Float32Array | readonly number[];
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** 1 (gray), 3 (RGB) or 4 (RGBA; alpha is flattened onto black). */
  readonly channels: 1 | 3 | 4;
}

/**
 * One image source:
 * - `string`: a file path in Node, or an `http(s):`, `data:` or `blob:` URL (fetched) anywhere;
 * - `URL`: fetched (a `file:` URL is read from disk in Node);
 * - `Uint8Array` / `Buffer` / `ArrayBuffer`: encoded bytes (JPEG, PNG, WebP, GIF, TIFF, ...; content decides);
 * - `Blob` / `File`: encoded bytes;
 * - {@link PixelData}: raw pixels;
 * - `tf.Tensor3D` `[h, w, 1 | 3 | 4]` with values 0..255 (stays owned by the caller);
 * - in a browser: `HTMLImageElement`, `HTMLCanvasElement`, `HTMLVideoElement`, `ImageBitmap`, `ImageData`,
 *   `OffscreenCanvas` (read with `tf.browser.fromPixels`).
 *
 * @example
 * ```ts
 * const sources: ImageSource[] = ['cat.jpg', new URL('https://example.com/dog.png'), bytes, tensor3d];
 * ```
 *
 * @category data
 */
export type ImageSource =
  | string
  | URL
  | Uint8Array
  | ArrayBuffer
  | Blob
  | PixelData
  | tf.Tensor3D
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas;

/**
 * One labelled sample for {@link DataLoader.fromSamples}.
 *
 * @example
 * ```ts
 * const samples: Sample[] = [{ source: 'a.jpg', label: 'cat' }, { source: pngBytes, label: 'dog', id: 'upload-7' }];
 * ```
 *
 * @category data
 */
export interface Sample {
  /** Where the image comes from. */
  readonly source: ImageSource;
  /** Class name, or class index when `labelNames` is given (or indices are used as names). */
  readonly label: string | number;
  /**
   * Stable id of the sample, used by `files()`, `skipped` and `splitMethod: 'stable'`. Defaults to the path or URL
   * for string/URL sources and to `sample-<index>` for the others.
   */
  readonly id?: string;
}


/** True when `s` should be fetched rather than read as a path. */
export function isUrlString(s: string): boolean {
  return /^(https?|data|blob):/i.test(s);
}

/** True for a {@link PixelData} object. */
export function isPixelData(v: unknown): v is PixelData {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Partial<PixelData>;
  return (
    typeof p.width === 'number' &&
    typeof p.height === 'number' &&
    typeof p.channels === 'number' &&
    (ArrayBuffer.isView(p.data) || Array.isArray(p.data))
  );
}

/** True for a browser image object that `tf.browser.fromPixels` reads. */
export function isBrowserImage(v: unknown): boolean {
  const g = globalThis as Record<string, unknown>;
  const isA = (name: string): boolean => typeof g[name] === 'function' && v instanceof (g[name] as new () => unknown);
  return ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'ImageBitmap', 'ImageData', 'OffscreenCanvas'].some(isA);
}

/** A short printable name of a source for messages and default ids. */
export function describeSource(source: unknown): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (source instanceof tf.Tensor) return `a tensor ${JSON.stringify(source.shape)}`;
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return `${source.byteLength} bytes`;
  if (isPixelData(source)) return `pixels ${source.width}x${source.height}x${source.channels}`;
  const name = (source as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  if (typeof name === 'string' && name !== '') return `a ${name}`;
  // An object without a prototype (or with a broken toString) has no string form.
  return typeof source === 'object' && source !== null ? 'an object' : String(source);
}

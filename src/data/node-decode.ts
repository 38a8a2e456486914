/**
 * Node decoding: file reads and sharp (libvips), both imported lazily so that a browser bundle never pulls them in.
 * With a target size, sharp decodes and resizes in one pass (JPEG shrink-on-load included), using the same crop and
 * padding geometry as the tfjs path ({@link resizePlan}).
 *
 * @module
 */
import type sharpFn from 'sharp';
import { DecodeFailure, decoderReason, errorMessage, overFileLimit, overPixelLimit } from './decode-error';
import { NOT_AN_IMAGE, sniffFormat, toRgb, type RgbPixels } from './pixels';
import { resizePlan } from './resize-plan';
import type { ResizeMode } from './types';
import { importOptional, interopDefault, isModuleNotFound } from '../internal/optional-import';
import { FileReadError, readRegularFile } from '../io/read-file';

type SharpFactory = typeof sharpFn;

/** Target of a decode: the loader's image size and resize mode. */
export interface DecodeTarget {
  /** Output height. */
  readonly height: number;
  /** Output width. */
  readonly width: number;
  /** Resize mode. */
  readonly mode: ResizeMode;
}

let sharpPromise: Promise<SharpFactory | undefined> | undefined;

/**
 * Loads sharp once. Resolves undefined only when the package is not installed (module not found); any other load
 * failure (a broken native binary) rejects, so it is never silently replaced by the pure-JS decoder.
 */
export function loadSharp(): Promise<SharpFactory | undefined> {
  sharpPromise ??= importOptional('sharp').then(
    (mod) => interopDefault<SharpFactory>(mod),
    (err: unknown) => {
      if (isModuleNotFound(err)) return undefined;
      throw err;
    },
  );
  return sharpPromise;
}

/** How many leading bytes are read to tell an image from anything else. */
const HEAD_BYTES = 64;

/** The reason for a file-system error when opening or reading a file. */
function fileSystemReason(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ELOOP':
      return 'symlink loop';
    case 'ENOENT':
      return 'file not found (or a broken symlink)';
    case 'EACCES':
    case 'EPERM':
      return 'unreadable: permission denied';
    case 'EISDIR':
      return 'is a folder';
    case 'ENXIO':
      return 'not a regular file (a socket or a device that is not there)';
    default:
      return `unreadable: ${errorMessage(err)}`;
  }
}

/**
 * Reads an image file with bounded memory and without ever blocking on a special file ({@link readRegularFile}):
 * the first {@link HEAD_BYTES} bytes are sniffed, so anything that is not an image is refused without reading the
 * rest, and a file over `maxFileBytes` is refused. `path` may be a Buffer, to open names that are not valid UTF-8.
 * Failures are {@link DecodeFailure}s.
 */
export async function readImageFile(path: string | Uint8Array, maxFileBytes: number): Promise<Uint8Array> {
  try {
    return await readRegularFile(path, maxFileBytes, {
      headBytes: HEAD_BYTES,
      inspectHead: (head) => {
        if (head.length === 0) throw new DecodeFailure('empty file (0 bytes)');
        if (sniffFormat(head) === undefined) throw new DecodeFailure(NOT_AN_IMAGE);
      },
    });
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    const failure = err.failure;
    switch (failure.kind) {
      case 'folder':
        throw new DecodeFailure('is a folder');
      case 'special':
        throw new DecodeFailure(`not a regular file (${failure.what})`);
      case 'too-large':
        throw overFileLimit(maxFileBytes, failure.size);
      case 'fs':
        throw new DecodeFailure(fileSystemReason(failure.error), failure.error);
    }
  }
}

/** A sharp failure as a {@link DecodeFailure}: its pixel-limit error names `maxPixels`. */
function sharpFailure(err: unknown, maxPixels: number): DecodeFailure {
  const message = errorMessage(err);
  if (/exceeds pixel limit/i.test(message)) return new DecodeFailure(overPixelLimit(maxPixels), err);
  return new DecodeFailure(`corrupt or unsupported image: ${decoderReason(err)}`, err);
}

/** Checks that sharp can read the header (`'header'`) or the whole image at a small size (`'decode'`). */
export async function sharpValidate(sharp: SharpFactory, bytes: Uint8Array, level: 'header' | 'decode', maxPixels: number): Promise<void> {
  const options = { failOn: 'error', limitInputPixels: maxPixels } as const;
  try {
    if (level === 'decode') {
      // A small output lets libjpeg decode at 1/8 scale (shrink-on-load) while still reading every entropy-coded
      // byte, so truncation and corruption are detected at a fraction of the cost of a full decode.
      await sharp(bytes, options).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
    } else {
      const meta = await sharp(bytes, options).metadata();
      if (!meta.width || !meta.height) throw new Error('image has no size');
      // metadata() reads the header only and does not apply limitInputPixels: check the size here.
      if (meta.width * meta.height > maxPixels) throw new DecodeFailure(overPixelLimit(maxPixels, meta.width, meta.height));
    }
  } catch (err) {
    if (err instanceof DecodeFailure) throw err;
    throw sharpFailure(err, maxPixels);
  }
}

/**
 * Decodes encoded bytes to 8-bit RGB with sharp: EXIF orientation applied, alpha flattened onto black, gray, CMYK and
 * 16-bit images converted to 8-bit sRGB. With `target`, crops/resizes/pads inside sharp (bilinear kernel).
 */
export async function sharpDecode(sharp: SharpFactory, bytes: Uint8Array, target: DecodeTarget | undefined, maxPixels: number): Promise<RgbPixels> {
  try {
    let pipeline = sharp(bytes, { failOn: 'error', autoOrient: true, limitInputPixels: maxPixels });
    if (target?.mode === 'stretch') {
      // No geometry to work out: skipping the metadata pass saves a second header parse per image.
      pipeline = pipeline.resize(target.width, target.height, { fit: 'fill', kernel: 'linear' });
    } else if (target) {
      const meta = await sharp(bytes, { failOn: 'error', autoOrient: true, limitInputPixels: maxPixels }).metadata();
      const srcW = meta.autoOrient?.width ?? meta.width;
      const srcH = meta.autoOrient?.height ?? meta.height;
      if (!srcW || !srcH) throw new Error('image has no size');
      const { crop, scaled, pad } = resizePlan(srcH, srcW, target.height, target.width, target.mode);
      if (crop.height !== srcH || crop.width !== srcW) pipeline = pipeline.extract(crop);
      if (scaled.height !== crop.height || scaled.width !== crop.width) {
        pipeline = pipeline.resize(scaled.width, scaled.height, { fit: 'fill', kernel: 'linear' });
      }
      if (pad.top + pad.bottom + pad.left + pad.right > 0) {
        pipeline = pipeline.extend({ ...pad, background: { r: 0, g: 0, b: 0, alpha: 1 } });
      }
    }
    const { data, info } = await pipeline
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return toRgb(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height, info.channels);
  } catch (err) {
    throw sharpFailure(err, maxPixels);
  }
}

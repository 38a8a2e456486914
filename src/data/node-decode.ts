/**
 * Node decoding: file reads and sharp (libvips), both imported lazily so that a browser bundle never pulls them in.
 * With a target size, sharp decodes and resizes in one pass (JPEG shrink-on-load included), using the same crop and
 * padding geometry as the tfjs path ({@link resizePlan}).
 *
 * @module
 */
import type sharpFn from 'sharp';
import { DecodeFailure, errorMessage } from './decode-error';
import { toRgb, type RgbPixels } from './pixels';
import { resizePlan } from './resize-plan';
import type { ResizeMode } from './types';
import { importOptional, interopDefault, isModuleNotFound } from '../internal/optional-import';

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

/** Reads a whole file; failures become a {@link DecodeFailure} with the file system's reason. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason =
      code === 'ELOOP'
        ? 'symlink loop'
        : code === 'ENOENT'
          ? 'file not found (or a broken symlink)'
          : code === 'EACCES' || code === 'EPERM'
            ? 'unreadable: permission denied'
            : code === 'EISDIR'
              ? 'is a folder'
              : `unreadable: ${errorMessage(err)}`;
    throw new DecodeFailure(reason, err);
  }
}

/** Checks that sharp can read the header (`'header'`) or the whole image at a small size (`'decode'`). */
export async function sharpValidate(sharp: SharpFactory, bytes: Uint8Array, level: 'header' | 'decode'): Promise<void> {
  try {
    if (level === 'decode') {
      // A small output lets libjpeg decode at 1/8 scale (shrink-on-load) while still reading every entropy-coded
      // byte, so truncation and corruption are detected at a fraction of the cost of a full decode.
      await sharp(bytes, { failOn: 'error' }).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
    } else {
      const meta = await sharp(bytes, { failOn: 'error' }).metadata();
      if (!meta.width || !meta.height) throw new Error('image has no size');
    }
  } catch (err) {
    throw new DecodeFailure(`corrupt or unsupported image: ${errorMessage(err)}`, err);
  }
}

/**
 * Decodes encoded bytes to 8-bit RGB with sharp: EXIF orientation applied, alpha flattened onto black, gray, CMYK and
 * 16-bit images converted to 8-bit sRGB. With `target`, crops/resizes/pads inside sharp (bilinear kernel).
 */
export async function sharpDecode(sharp: SharpFactory, bytes: Uint8Array, target?: DecodeTarget): Promise<RgbPixels> {
  try {
    let pipeline = sharp(bytes, { failOn: 'error', autoOrient: true });
    if (target?.mode === 'stretch') {
      // No geometry to work out: skipping the metadata pass saves a second header parse per image.
      pipeline = pipeline.resize(target.width, target.height, { fit: 'fill', kernel: 'linear' });
    } else if (target) {
      const meta = await sharp(bytes, { failOn: 'error', autoOrient: true }).metadata();
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
    throw new DecodeFailure(`corrupt or unsupported image: ${errorMessage(err)}`, err);
  }
}

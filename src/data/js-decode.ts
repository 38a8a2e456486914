/**
 * The pure-JS decoders (pngjs, jpeg-js), used in Node only when sharp is not installed (or `decoder: 'pure-js'`).
 * PNG and JPEG only; both imported lazily.
 *
 * @module
 */
import { UnsupportedError } from '../errors';
import { importOptional, interopDefault } from '../internal/optional-import';
import { DecodeFailure, errorMessage } from './decode-error';
import { sniffFormat, toRgb, type RgbPixels } from './pixels';

/** Decodes PNG or JPEG bytes to 8-bit RGB (16-bit PNG rescaled to 8 bits, alpha flattened onto black). */
export async function jsDecode(bytes: Uint8Array): Promise<RgbPixels> {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    const { PNG } = await importDecoder<typeof import('pngjs')>('pngjs');
    try {
      // skipRescale keeps 16-bit samples; keeping the high byte matches sharp/libvips (pngjs's own rescale differs).
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
      const raw = png.data as unknown as ArrayLike<number>;
      const data = png.depth === 16 ? Uint8Array.from(raw, (v) => v >> 8) : raw;
      return toRgb(data, png.width, png.height, 4);
    } catch (err) {
      throw new DecodeFailure(`corrupt PNG: ${errorMessage(err)}`, err);
    }
  }
  if (format === 'jpeg') {
    const jpeg = await importDecoder<typeof import('jpeg-js')>('jpeg-js');
    try {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxMemoryUsageInMB: 1024 });
      return toRgb(img.data, img.width, img.height, 3);
    } catch (err) {
      throw new DecodeFailure(`corrupt JPEG: ${errorMessage(err)}`, err);
    }
  }
  throw new DecodeFailure(
    format
      ? `${format} images need sharp (the pure-JS fallback reads PNG and JPEG only)`
      : 'not a supported image (content is not JPEG, PNG, WebP, GIF, TIFF or HEIF)',
  );
}

/** Imports a pure-JS decoder package, turning "not installed" into an {@link UnsupportedError} that says what to add. */
async function importDecoder<T>(name: string): Promise<T> {
  try {
    return interopDefault<T>(await importOptional(name));
  } catch (err) {
    throw new UnsupportedError(
      `no image decoder for this file: the pure-JS decoder needs ${name} (npm i ${name}); sharp (recommended) decodes without it unless decoder is 'pure-js'`,
      { cause: err },
    );
  }
}

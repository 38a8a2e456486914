/**
 * The pure-JS decoders (pngjs, jpeg-js), used in Node only when sharp is not installed (or `decoder: 'pure-js'`).
 * PNG and JPEG only; both imported lazily. They follow sharp's decoding contract (see docs/data.md): the declared
 * size is checked against `maxPixels` before decoding, EXIF orientation is applied, 16-bit PNGs keep their high byte,
 * alpha is flattened onto black, embedded matrix/TRC RGB profiles (Display P3, Adobe RGB, ...) are converted to sRGB,
 * and CMYK / YCCK JPEGs get sharp's colours through a measured table.
 *
 * @module
 */
import { UnsupportedError } from '../errors';
import { importOptional, interopDefault } from '../internal/optional-import';
import { DEFAULT_MAX_PIXELS } from '../internal/validate';
import { CMYK_TABLE_BASE64, CMYK_TABLE_SIZE } from './cmyk-table';
import { DecodeFailure, errorMessage } from './decode-error';
import { convertToSrgb, jpegIccProfile, parseRgbProfile, pngCompressedIccProfile } from './icc';
import { checkDeclaredPixels, jpegComponents, readOrientation } from './image-header';
import { NOT_AN_IMAGE, applyOrientation, sniffFormat, toRgb, type RgbPixels } from './pixels';

/**
 * Decodes PNG or JPEG bytes to upright 8-bit RGB (16-bit PNG rescaled to 8 bits, alpha flattened onto black, CMYK
 * converted like sharp). Throws a {@link DecodeFailure} for an image over `maxPixels`, before decoding it.
 */
export async function jsDecode(bytes: Uint8Array, maxPixels: number = DEFAULT_MAX_PIXELS): Promise<RgbPixels> {
  const format = sniffFormat(bytes);
  if (format === 'png' || format === 'jpeg') checkDeclaredPixels(bytes, maxPixels);
  if (format === 'png') {
    const { PNG } = await importDecoder<typeof import('pngjs')>('pngjs');
    let pixels: RgbPixels;
    try {
      // skipRescale keeps 16-bit samples; keeping the high byte matches sharp/libvips (pngjs's own rescale differs).
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
      const raw = png.data as unknown as ArrayLike<number>;
      const data = png.depth === 16 ? Uint8Array.from(raw, (v) => v >> 8) : raw;
      pixels = toRgb(data, png.width, png.height, 4);
    } catch (err) {
      throw new DecodeFailure(`corrupt PNG: ${errorMessage(err)}`, err);
    }
    const compressed = pngCompressedIccProfile(bytes);
    if (compressed !== undefined) {
      const { inflateSync } = await import('node:zlib');
      let profile: Uint8Array | undefined;
      try {
        profile = inflateSync(compressed, { maxOutputLength: MAX_PROFILE_BYTES });
      } catch {
        profile = undefined; // a broken profile is ignored, as a broken profile would be by a viewer
      }
      const parsed = profile === undefined ? undefined : parseRgbProfile(profile);
      if (parsed !== undefined) pixels = convertToSrgb(pixels, parsed);
    }
    return applyOrientation(pixels, readOrientation(bytes));
  }
  if (format === 'jpeg') {
    const jpeg = await importDecoder<typeof import('jpeg-js')>('jpeg-js');
    let pixels: RgbPixels;
    try {
      const img = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: false,
        tolerantDecoding: false,
        // jpeg-js's own caps (100 megapixels, 512 MB) would refuse images that maxPixels allows; the size was checked
        // above, and jpeg-js needs about 20 bytes per pixel at most (4 components: coefficients, planes, output).
        maxResolutionInMP: Math.ceil(maxPixels / 1e6),
        maxMemoryUsageInMB: Math.ceil((maxPixels * 20) / 2 ** 20) + 64,
      });
      pixels = toRgb(img.data, img.width, img.height, 3);
    } catch (err) {
      throw new DecodeFailure(`corrupt JPEG: ${errorMessage(err)}`, err);
    }
    const components = jpegComponents(bytes);
    if (components === 4) pixels = cmykToSharpColours(pixels);
    else if (components === 3) {
      const profile = jpegIccProfile(bytes);
      const parsed = profile === undefined ? undefined : parseRgbProfile(profile);
      if (parsed !== undefined) pixels = convertToSrgb(pixels, parsed);
    }
    return applyOrientation(pixels, readOrientation(bytes));
  }
  throw new DecodeFailure(format ? `${format} images need sharp (the pure-JS fallback reads PNG and JPEG only)` : NOT_AN_IMAGE);
}

/** Largest inflated ICC profile read from a PNG (real profiles are a few KB; LUT profiles up to a few hundred). */
const MAX_PROFILE_BYTES = 4 * 1024 * 1024;

let cmykTable: Int16Array | undefined;

/**
 * Maps the RGB that jpeg-js gives a CMYK / YCCK JPEG (the device formula) to the sRGB sharp gives it (through a CMYK
 * profile), by trilinear interpolation in the measured table of `cmyk-table.ts`. In place; returns `pixels`.
 */
export function cmykToSharpColours(pixels: RgbPixels): RgbPixels {
  if (cmykTable === undefined) {
    const bytes = Buffer.from(CMYK_TABLE_BASE64, 'base64');
    cmykTable = new Int16Array(bytes.length / 2);
    for (let i = 0; i < cmykTable.length; i++) cmykTable[i] = bytes.readInt16LE(i * 2);
  }
  const table = cmykTable;
  const g = CMYK_TABLE_SIZE;
  const step = (g - 1) / 255;
  const { data } = pixels;
  const cell = (x: number, y: number, z: number, c: number): number => table[((x * g + y) * g + z) * 3 + c] as number;
  for (let p = 0; p < data.length; p += 3) {
    const tr = (data[p] as number) * step;
    const tg = (data[p + 1] as number) * step;
    const tb = (data[p + 2] as number) * step;
    const r0 = Math.min(g - 2, Math.floor(tr));
    const g0 = Math.min(g - 2, Math.floor(tg));
    const b0 = Math.min(g - 2, Math.floor(tb));
    const fr = tr - r0;
    const fg = tg - g0;
    const fb = tb - b0;
    for (let c = 0; c < 3; c++) {
      // Trilinear: along blue, then green, then red.
      const c00 = cell(r0, g0, b0, c) * (1 - fb) + cell(r0, g0, b0 + 1, c) * fb;
      const c01 = cell(r0, g0 + 1, b0, c) * (1 - fb) + cell(r0, g0 + 1, b0 + 1, c) * fb;
      const c10 = cell(r0 + 1, g0, b0, c) * (1 - fb) + cell(r0 + 1, g0, b0 + 1, c) * fb;
      const c11 = cell(r0 + 1, g0 + 1, b0, c) * (1 - fb) + cell(r0 + 1, g0 + 1, b0 + 1, c) * fb;
      const v = (c00 * (1 - fg) + c01 * fg) * (1 - fr) + (c10 * (1 - fg) + c11 * fg) * fr;
      data[p + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return pixels;
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

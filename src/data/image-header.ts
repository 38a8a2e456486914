/**
 * What a decoder would allocate, read from the first bytes of an image before anything is decoded: the declared
 * width and height (to refuse decompression bombs, {@link readImageSize}) and the EXIF orientation (so that the
 * pure-JS path turns photos upright like sharp does, {@link readOrientation}). Plain byte parsing, no dependencies, the
 * same in Node and browsers. Unknown or truncated headers give `undefined`: the decoder then reports them.
 *
 * @module
 */
import { DecodeFailure, overPixelLimit } from './decode-error';
import { sniffFormat } from './pixels';

/** Width and height an image declares in its header. */
export interface ImageSize {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

const u16be = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u16le = (b: Uint8Array, i: number): number => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u24le = (b: Uint8Array, i: number): number => u16le(b, i) | ((b[i + 2] ?? 0) << 16);
const u32be = (b: Uint8Array, i: number): number => u16be(b, i) * 65536 + u16be(b, i + 2);
const ascii = (b: Uint8Array, from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));

/** JPEG start-of-frame markers (SOF0-SOF15 except DHT C4, JPG C8 and DAC CC), which carry the frame size. */
const isStartOfFrame = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/**
 * Calls `visit(marker, start, length)` for each JPEG segment before the first scan, with `start` the first byte after
 * the length field; stops when `visit` returns true, at the scan, or at the end of the bytes.
 */
function forEachJpegSegment(b: Uint8Array, visit: (marker: number, start: number, length: number) => boolean): void {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return; // start of scan / end of image
    const length = u16be(b, i + 2);
    if (length < 2) return;
    if (visit(marker, i + 4, length - 2)) return;
    i += 2 + length;
  }
}

/** Calls `visit(type, start, length)` for each PNG chunk until `visit` returns true or the data ends. */
function forEachPngChunk(b: Uint8Array, visit: (type: string, start: number, length: number) => boolean): void {
  let i = 8;
  while (i + 8 <= b.length) {
    const length = u32be(b, i);
    const type = ascii(b, i + 4, i + 8);
    if (visit(type, i + 8, length) || type === 'IDAT' || type === 'IEND') return;
    i += 12 + length;
  }
}

/**
 * The size an image declares, for the formats tl-kit's decoders read: PNG (IHDR), JPEG (the frame header), GIF (the
 * logical screen) and WebP (VP8, VP8L, VP8X). Undefined for other formats (TIFF, HEIF: sharp enforces the limit
 * itself) and for headers too short to tell.
 */
export function readImageSize(bytes: Uint8Array): ImageSize | undefined {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    if (bytes.length < 24 || ascii(bytes, 12, 16) !== 'IHDR') return undefined;
    return { width: u32be(bytes, 16), height: u32be(bytes, 20) };
  }
  if (format === 'jpeg') {
    let size: ImageSize | undefined;
    forEachJpegSegment(bytes, (marker, start, length) => {
      if (!isStartOfFrame(marker) || length < 5 || start + 5 > bytes.length) return false;
      size = { width: u16be(bytes, start + 3), height: u16be(bytes, start + 1) };
      return true;
    });
    return size;
  }
  if (format === 'gif') {
    return bytes.length < 10 ? undefined : { width: u16le(bytes, 6), height: u16le(bytes, 8) };
  }
  if (format === 'webp' && bytes.length >= 30) {
    const chunk = ascii(bytes, 12, 16);
    if (chunk === 'VP8X') return { width: u24le(bytes, 24) + 1, height: u24le(bytes, 27) + 1 };
    if (chunk === 'VP8 ') return { width: u16le(bytes, 26) & 0x3fff, height: u16le(bytes, 28) & 0x3fff };
    if (chunk === 'VP8L' && bytes[20] === 0x2f) {
      const bits = (bytes[21] as number) | ((bytes[22] as number) << 8) | ((bytes[23] as number) << 16) | ((bytes[24] as number) << 24);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
  }
  return undefined;
}

/** The number of colour components of a JPEG's frame (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK), or undefined. */
export function jpegComponents(bytes: Uint8Array): number | undefined {
  if (sniffFormat(bytes) !== 'jpeg') return undefined;
  let components: number | undefined;
  forEachJpegSegment(bytes, (marker, start, length) => {
    if (!isStartOfFrame(marker) || length < 6 || start + 6 > bytes.length) return false;
    components = bytes[start + 5];
    return true;
  });
  return components;
}

/**
 * Refuses encoded bytes whose header declares more than `maxPixels` pixels, before any decoder allocates for them.
 * Formats whose size {@link readImageSize} cannot read pass (sharp enforces the limit on them itself).
 */
export function checkDeclaredPixels(bytes: Uint8Array, maxPixels: number): void {
  const size = readImageSize(bytes);
  if (size !== undefined && size.width * size.height > maxPixels) {
    throw new DecodeFailure(overPixelLimit(maxPixels, size.width, size.height));
  }
}

/** The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block at `start`, or 1. */
function tiffOrientation(b: Uint8Array, start: number, end: number): number {
  const order = ascii(b, start, start + 2);
  if (order !== 'II' && order !== 'MM') return 1;
  const little = order === 'II';
  const u16 = (i: number): number => (little ? u16le(b, i) : u16be(b, i));
  const u32 = (i: number): number => (little ? u16le(b, i) + u16le(b, i + 2) * 65536 : u32be(b, i));
  const ifd = start + u32(start + 4);
  if (ifd + 2 > end) return 1;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + k * 12;
    if (entry + 12 > end) return 1;
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/**
 * The EXIF orientation (1-8; 1 = upright) of a JPEG (APP1 "Exif" segment) or PNG (eXIf chunk), the tag sharp's
 * `autoOrient` applies. 1 when there is none or it cannot be read.
 */
export function readOrientation(bytes: Uint8Array): number {
  const format = sniffFormat(bytes);
  let orientation = 1;
  if (format === 'jpeg') {
    forEachJpegSegment(bytes, (marker, start, length) => {
      if (marker !== 0xe1 || length < 14 || ascii(bytes, start, start + 6) !== 'Exif\0\0') return false;
      orientation = tiffOrientation(bytes, start + 6, Math.min(bytes.length, start + length));
      return true;
    });
  } else if (format === 'png') {
    forEachPngChunk(bytes, (type, start, length) => {
      if (type !== 'eXIf') return false;
      orientation = tiffOrientation(bytes, start, Math.min(bytes.length, start + length));
      return true;
    });
  }
  return orientation;
}
